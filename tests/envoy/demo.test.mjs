// The README's run command: the demo starts Envoy with the filter in front of
// the demo admin API, and every curl example it prints behaves as printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { freePort, runNodeScript } from './harness.mjs';

test('the demo self-test passes', { timeout: 120_000 }, async () => {
  const env = { ...process.env };
  for (const name of ['ROLEGATE_PORT', 'ROLEGATE_PEXIP_PORT', 'ROLEGATE_UPSTREAM_PORT', 'ROLEGATE_PAGE_PORT', 'ROLEGATE_ADMIN_PORT']) {
    env[name] = String(await freePort());
  }
  const demo = fileURLToPath(new URL('../../scripts/demo.mjs', import.meta.url));
  const { code, output } = await runNodeScript(demo, ['--self-test'], { env, timeoutMs: 110_000 });
  assert.equal(code, 0, output);
  assert.match(output, /self-test: all examples behave as printed/);
  assert.match(output, /export TOKEN_AUDITOR=ey/);
  assert.match(output, new RegExp(`curl -i -X PUT -H "Authorization: Bearer \\$TOKEN_ADMINISTRATOR" http://127.0.0.1:${env.ROLEGATE_PORT}/pa-admin-api/v3/users/1`));
  assert.match(output, new RegExp(`preview page: +http://127.0.0.1:${env.ROLEGATE_PAGE_PORT}/ \\(this run's policy and the auditor's token: http://127.0.0.1:${env.ROLEGATE_PAGE_PORT}/#s=[A-Za-z0-9_-]+\\)`));
  // The page link's policy decides every printed example as Envoy did.
  assert.match(output, /ok {3}the page decides auditor GET \/users as Envoy: 200/);
  assert.match(output, /ok {3}the page decides anonymous GET \/users as Envoy: 401/);
  // The OAuth2 flow signs a new assertion for each exchange (the self-test
  // runs the same CLI command), for the address the user posts to, so it can
  // be run again and again.
  const tokenUrl = `http://127.0.0.1:${env.ROLEGATE_PEXIP_PORT}/oauth/token/`;
  assert.match(output, /^rolegate\(\) \{ node \S+\/pkg\/cli\.mjs "\$@"; \}$/m);
  assert.match(output, new RegExp(`export TOKEN_DASHBOARD=\\$\\(curl -s -d "\\$\\(rolegate client-assertion --key \\S+/client-dashboard\\.json --client-id [\\w-]+ --token-url ${tokenUrl} --form\\)" ${tokenUrl} \\| sed -n `));
  assert.doesNotMatch(output, /export ASSERTION_/, 'no pre-signed single-use assertion is printed');
  assert.match(output, /ok {3}an assertion is single use/);
  assert.match(output, /ok {3}the flow runs again with a new assertion/);
  assert.match(output, /ok {3}the administrator client lists the active tokens/);
});
