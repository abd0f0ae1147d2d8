// The benchmark compares rolegate with native jwt_authn + RBAC on "an
// equivalent policy": its probe check must pass, or its ratios compare
// different work. It also sends rolegate in Envoy raw requests (backslashes,
// `;`, control escapes, tokens in the query, override headers, claim
// variants) that must be decided exactly as the core decides them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('every benchmark setup that decides makes rolegate\'s decisions on the probes', { timeout: 300_000 }, async () => {
  const script = fileURLToPath(new URL('../../scripts/bench-envoy.mjs', import.meta.url));
  const child = spawn(process.execPath, [script, '--check-only'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  // SIGTERM lets the script stop the Envoy it is probing.
  const timer = setTimeout(() => child.kill('SIGTERM'), 280_000);
  const code = await new Promise((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  assert.equal(code, 0, output);
  for (const setup of ['native jwt_authn + cache + RBAC', 'native, also forwarding identity', 'native jwt_authn, no cache', 'rolegate', 'rolegate, forward_identity off', 'rolegate (cold']) {
    assert.match(output, new RegExp(`^${setup.replace(/[()+]/g, '\\$&')}.*: decides as rolegate on all \\d+ probes$`, 'm'), output);
  }
});
