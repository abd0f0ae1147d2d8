// Real Python OAuth clients (PyJWT + requests, authlib's OAuth2Session with
// PrivateKeyJWT at its defaults) obtain tokens from rolegate's token endpoint
// in a real Envoy and use them on the admin API. Installed from PyPI by
// scripts/setup.sh interop (tests/interop/requirements.txt).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadKeys, publicJwk } from '../vectors/runner.mjs';
import { startEnvoy, startUpstream, spawnTracked } from '../envoy/harness.mjs';

const keys = loadKeys();
const PYTHON = fileURLToPath(new URL('../../target/interop-venv/bin/python', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./python_clients.py', import.meta.url));
const ISSUER = 'https://pexip-manager.test';
const preset = JSON.parse(readFileSync(new URL('../../examples/pexip.json', import.meta.url), 'utf8'));
const policy = {
  ...preset,
  issuers: [],
  token_endpoint: { issuer: ISSUER, audience: 'pexip-management-api', signing_key: keys['pexip-node'], active_tokens_role: 'administrator' },
  oauth2_clients: [
    { client_id: 'c-admin', name: 'automation', role: 'administrator', jwk: publicJwk(keys['ec-a']) },
    { client_id: 'c-prov', name: 'provisioning', role: 'provisioning', jwk: publicJwk(keys['rsa-a']) },
    { client_id: 'c-ro', name: 'dashboard', role: 'read_only', jwk: publicJwk(keys['ed-a']) },
  ],
};

let upstream;
let envoy;
before(async () => {
  assert.ok(existsSync(PYTHON), `${PYTHON} is missing: run scripts/setup.sh interop`);
  upstream = await startUpstream();
  envoy = await startEnvoy({ policies: [policy], upstreamPort: upstream.port });
});
after(async () => {
  await envoy?.stop();
  await upstream?.close();
});

function runClients(clients) {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(PYTHON, [SCRIPT, `http://127.0.0.1:${envoy.ports[0]}`, `${ISSUER}/oauth/token/`, JSON.stringify(clients)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => { // 'close': all output read
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out));
      else reject(new Error(`python_clients.py exited ${code}: ${err}`));
    });
  });
}

test('PyJWT scripts (float times) and authlib at its defaults get tokens and use them', { timeout: 90_000 }, async () => {
  const conf = '/api/admin/configuration/v1/conference/';
  const results = await runClients([
    { name: 'pyjwt ES256', flow: 'pyjwt', client_id: 'c-admin', jwk: keys['ec-a'], alg: 'ES256', api_path: conf },
    { name: 'pyjwt EdDSA', flow: 'pyjwt', client_id: 'c-ro', jwk: keys['ed-a'], alg: 'EdDSA', api_path: conf },
    { name: 'authlib RS256 defaults', flow: 'authlib', client_id: 'c-prov', jwk: keys['rsa-a'], alg: 'RS256', api_path: conf },
    { name: 'authlib ES256', flow: 'authlib', client_id: 'c-admin', jwk: keys['ec-a'], alg: 'ES256', api_path: conf },
    { name: 'authlib Ed25519', flow: 'authlib', client_id: 'c-ro', jwk: keys['ed-a'], alg: 'EdDSA', api_path: conf },
    { name: 'authlib with the wrong key', flow: 'authlib', client_id: 'c-admin', jwk: keys['attacker-ec'], alg: 'ES256', api_path: conf },
  ]);
  for (const name of ['pyjwt ES256', 'pyjwt EdDSA', 'authlib RS256 defaults', 'authlib ES256', 'authlib Ed25519']) {
    assert.deepEqual(results[name], { token_status: 200, api_status: 200 }, `${name}: ${JSON.stringify(results[name])}`);
  }
  assert.notEqual(results['authlib with the wrong key'].token_status, 200);
  assert.match(results['authlib with the wrong key'].error, /invalid_client/);
});

test("PyJWT scripts written as Pexip's clients write them: aud is the management node's host name", { timeout: 90_000 }, async () => {
  const conf = '/api/admin/configuration/v1/conference/';
  const results = await runClients([
    { name: 'host name', flow: 'pyjwt', client_id: 'c-admin', jwk: keys['ec-a'], alg: 'ES256', api_path: conf, aud: 'pexip-manager.test' },
    { name: 'issuer', flow: 'pyjwt', client_id: 'c-admin', jwk: keys['ec-a'], alg: 'ES256', api_path: conf, aud: ISSUER },
    { name: 'another host', flow: 'pyjwt', client_id: 'c-admin', jwk: keys['ec-a'], alg: 'ES256', api_path: conf, aud: 'pexmgr.elsewhere.test' },
  ]);
  assert.deepEqual(results['host name'], { token_status: 200, api_status: 200 }, JSON.stringify(results['host name']));
  assert.deepEqual(results.issuer, { token_status: 200, api_status: 200 }, JSON.stringify(results.issuer));
  // Refused, saying which claim is wrong and what it may name.
  assert.equal(results['another host'].token_status, 401);
  const error = JSON.parse(results['another host'].error);
  assert.equal(error.error, 'invalid_client');
  assert.match(error.error_description, /invalid aud: .*"pexip-manager\.test"/);
});
