// The benchmark compares rolegate with native jwt_authn + RBAC on "an
// equivalent policy": its probe check must pass, or its ratios compare
// different work. It also sends rolegate in Envoy raw requests (backslashes,
// `;`, control escapes, tokens in the query, override headers, claim
// variants) that must be decided exactly as the core decides them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runNodeScript } from './harness.mjs';

test('every benchmark setup that decides makes rolegate\'s decisions on the probes', { timeout: 300_000 }, async () => {
  const script = fileURLToPath(new URL('../../scripts/bench-envoy.mjs', import.meta.url));
  const { code, output } = await runNodeScript(script, ['--check-only'], { timeoutMs: 280_000 });
  assert.equal(code, 0, output);
  for (const setup of ['native jwt_authn + cache + RBAC', 'native, also forwarding identity', 'native jwt_authn, no cache', 'rolegate', 'rolegate, forward_identity off', 'rolegate (cold']) {
    assert.match(output, new RegExp(`^${setup.replace(/[()+]/g, '\\$&')}.*: decides as rolegate on all \\d+ probes$`, 'm'), output);
  }
});
