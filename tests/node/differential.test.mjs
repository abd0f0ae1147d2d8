// Differential fuzzing, wasm side: every mutated request the Rust run wrote
// (tests/differential.rs) must get exactly the Rust decision from the wasm build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Policy } from '../../pkg/node.js';
import { REPO_ROOT } from '../vectors/runner.mjs';

const file = join(REPO_ROOT, 'target', 'rolegate-vectors', 'differential.json');

test('the wasm build decides every mutated request like the native build', () => {
  assert.ok(existsSync(file), `${file} is missing: run cargo test --test differential first`);
  const entries = JSON.parse(readFileSync(file, 'utf8'));
  const policies = new Map();
  const mismatches = [];
  for (const { policy, request, decision } of entries) {
    const key = JSON.stringify(policy);
    if (!policies.has(key)) policies.set(key, Policy.parse(policy));
    const req = { method: request.method, path: request.path, headers: request.headers, now: request.now };
    if (request.claims) req.claims = request.claims;
    if (request.body) req.body = true;
    if (request.client_certificate) req.client_certificate = request.client_certificate;
    const got = policies.get(key).decide(req);
    try {
      assert.deepStrictEqual(got, decision);
    } catch (e) {
      mismatches.push(`${request.method} ${request.path}: ${e.message.slice(0, 600)}`);
    }
  }
  for (const p of policies.values()) p.free();
  assert.ok(entries.length > 1000);
  assert.deepEqual(mismatches.slice(0, 5), []);
});
