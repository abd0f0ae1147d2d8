// The harness's own guarantees, which every Envoy test relies on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from './harness.mjs';

test('freePort never gives a port twice (an Envoy with two listeners on one port does not start)', async () => {
  const ports = [];
  for (let i = 0; i < 200; i++) ports.push(await freePort());
  assert.equal(new Set(ports).size, ports.length);
});
