// The Pexip-style token endpoint in real Envoy (two workers): a client
// obtains a token with its private key, calls the admin API with it, gets 403
// where its role forbids, cannot replay its assertion, and watches the token
// expire; administrators list active tokens across workers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mintToken, Policy } from '../../pkg/node.js';
import { loadKeys, publicJwk } from '../vectors/runner.mjs';
import { startEnvoy, startUpstream, rawRequest } from './harness.mjs';

const keys = loadKeys();
const now = () => Math.floor(Date.now() / 1000);
const ISSUER = 'https://pexip-manager.test';
const URL_ = `${ISSUER}/oauth/token/`;
const preset = JSON.parse(readFileSync(new URL('../../examples/pexip.json', import.meta.url), 'utf8'));
const policy = {
  ...preset,
  issuers: [],
  token_endpoint: { issuer: ISSUER, audience: 'pexip-management-api', signing_key: keys['pexip-node'], active_tokens_role: 'administrator', access_token_expiration_seconds: 3 },
  oauth2_clients: [
    { client_id: 'c-admin', name: 'automation', role: 'administrator', jwk: publicJwk(keys['ec-a']) },
    { client_id: 'c-prov', name: 'provisioning bot', role: 'provisioning', jwk: publicJwk(keys['rsa-a']) },
  ],
};

let upstream;
let envoy;
before(async () => {
  upstream = await startUpstream();
  envoy = await startEnvoy({ policies: [policy], upstreamPort: upstream.port, concurrency: 2 });
});
after(async () => {
  await envoy?.stop();
  await upstream?.close();
});

let seq = 0;
function assertion(key, client, extra = {}) {
  return mintToken({ key: keys[key], claims: { iss: client, sub: client, aud: URL_, iat: now(), exp: now() + 60, jti: `t-${Date.now()}-${seq++}`, ...extra } });
}
const FORM = 'application/x-www-form-urlencoded';
function tokenRequest(body) {
  return rawRequest(envoy.ports[0], { method: 'POST', path: '/oauth/token/', headers: [['content-type', FORM], ['content-length', String(Buffer.byteLength(body))]], body });
}
const clientCredentials = (a) => `grant_type=client_credentials&client_assertion_type=${encodeURIComponent('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')}&client_assertion=${a}`;
const api = (method, path, token) => rawRequest(envoy.ports[0], { method, path, headers: [['authorization', `Bearer ${token}`]] });

// First, while the shared records do not exist yet: creating them is a race too.
test('copies of one assertion racing on both workers: exactly one gets a token', async () => {
  for (const round of [1, 2]) {
    const raced = assertion('ec-a', 'c-admin');
    const statuses = (await Promise.all(Array.from({ length: 8 }, () => tokenRequest(clientCredentials(raced))))).map((r) => r.status);
    assert.deepEqual(statuses.sort(), [200, 401, 401, 401, 401, 401, 401, 401], `round ${round}`);
  }
});

test('a client obtains a token, uses it, and its role decides', async () => {
  const res = await tokenRequest(clientCredentials(assertion('ec-a', 'c-admin')));
  assert.equal(res.status, 200, res.body);
  assert.equal(res.headers['cache-control'][0], 'no-store');
  const body = JSON.parse(res.body);
  assert.equal(body.token_type, 'bearer');
  assert.equal(body.expires_in, 3);
  const ok = await api('GET', '/api/admin/configuration/v1/conference/', body.access_token);
  assert.equal(ok.status, 200);
  const echo = JSON.parse(Buffer.from(ok.headers['x-echo'][0], 'base64url'));
  assert.equal(echo.headers['x-rolegate-client-id'], 'c-admin');
  assert.equal(echo.headers['x-rolegate-roles'], 'administrator');
  const guarded = await api('PATCH', '/api/admin/configuration/v1/authentication/1/', body.access_token);
  assert.equal(guarded.status, 403);
  assert.equal(JSON.parse(guarded.body).reason, 'authentication_config_protected');

  const prov = JSON.parse((await tokenRequest(clientCredentials(assertion('rsa-a', 'c-prov')))).body).access_token;
  assert.equal((await api('POST', '/api/admin/configuration/v1/conference/', prov)).status, 200);
  const forbidden = await api('POST', '/api/admin/configuration/v1/system_location/', prov);
  assert.equal(forbidden.status, 403);
  assert.equal(JSON.parse(forbidden.body).reason, 'not_permitted');

  // The token expires after access_token_expiration_seconds.
  await new Promise((r) => setTimeout(r, 4_200));
  const expired = await api('GET', '/api/admin/configuration/v1/conference/', body.access_token);
  assert.equal(expired.status, 401);
  assert.equal(JSON.parse(expired.body).cause, 'expired');
});

test('bad requests get RFC 6749 errors with the right status', async () => {
  const once = assertion('ec-a', 'c-admin');
  assert.equal((await tokenRequest(clientCredentials(once))).status, 200);
  const replay = await tokenRequest(clientCredentials(once));
  assert.equal(replay.status, 401);
  assert.equal(JSON.parse(replay.body).error, 'invalid_client');
  for (const [body, status, error] of [
    [clientCredentials(assertion('attacker-ec', 'c-admin')), 401, 'invalid_client'],
    [clientCredentials(assertion('ec-a', 'c-admin', { exp: now() - 120, iat: now() - 300 })), 401, 'invalid_client'],
    [clientCredentials(assertion('ec-a', 'c-admin', { aud: 'https://elsewhere/token' })), 401, 'invalid_client'],
    ['grant_type=password&username=a&password=b', 400, 'unsupported_grant_type'],
    [`grant_type=${encodeURIComponent('urn:ietf:params:oauth:grant-type:jwt-bearer')}&assertion=a.b.c`, 400, 'invalid_grant'],
    ['client_assertion=x', 400, 'invalid_request'],
    // `%+A` is no escape (a lenient decoder read it as 0x0A).
    [`${clientCredentials(assertion('ec-a', 'c-admin'))}&x=%+A`, 400, 'invalid_request'],
  ]) {
    const res = await tokenRequest(body);
    assert.equal(res.status, status, res.body);
    assert.equal(JSON.parse(res.body).error, error);
  }
  const get = await rawRequest(envoy.ports[0], { path: '/oauth/token/' });
  assert.equal(get.status, 405);
  // A body over the core's cap (16 KiB) is refused as soon as it is seen.
  const huge = await tokenRequest(`${clientCredentials(once)}&pad=${'x'.repeat(20_000)}`);
  assert.equal(huge.status, 413, huge.body);
  assert.equal(JSON.parse(huge.body).error, 'invalid_request');
  // No body at all: the form is empty.
  const empty = await rawRequest(envoy.ports[0], { method: 'POST', path: '/oauth/token/', headers: [['content-type', FORM], ['content-length', '0']] });
  assert.equal(empty.status, 400, empty.body);
  // Token requests are answered by the filter; the admin API never sees one.
  assert.deepEqual(upstream.seen.filter((r) => r.path.startsWith('/oauth/')), []);
});

test('administrators list active tokens, shared by every worker', async () => {
  const tokens = [];
  for (let i = 0; i < 6; i++) {
    const [key, client] = i % 2 ? ['rsa-a', 'c-prov'] : ['ec-a', 'c-admin'];
    tokens.push(JSON.parse((await tokenRequest(clientCredentials(assertion(key, client)))).body).access_token);
  }
  const admin = tokens[0];
  // Several connections, so both workers answer some of them.
  const lists = await Promise.all(Array.from({ length: 6 }, () => api('GET', '/oauth/tokens/', admin)));
  for (const res of lists) {
    assert.equal(res.status, 200, res.body);
    const listed = JSON.parse(res.body).tokens;
    assert.ok(listed.length >= 6, `${listed.length} tokens listed`);
    assert.ok(listed.some((t) => t.client_id === 'c-prov' && t.role === 'provisioning' && t.name === 'provisioning bot'));
    assert.ok(listed.every((t) => t.expires_at > now() - 1 && !('access_token' in t)));
  }
  assert.equal((await api('GET', '/oauth/tokens/', tokens[1])).status, 403);
  assert.equal((await rawRequest(envoy.ports[0], { path: '/oauth/tokens/' })).status, 401);
});

test('discovery metadata and the public keys are served, and the keys validate issued tokens', async () => {
  for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    const res = await rawRequest(envoy.ports[0], { path });
    assert.equal(res.status, 200, `${path}: ${res.body}`);
    const meta = JSON.parse(res.body);
    assert.equal(meta.issuer, ISSUER);
    assert.equal(meta.token_endpoint, URL_);
    assert.equal(meta.jwks_uri, `${ISSUER}/oauth/jwks/`);
    assert.deepEqual(meta.token_endpoint_auth_methods_supported, ['private_key_jwt']);
    assert.ok(meta.token_endpoint_auth_signing_alg_values_supported.includes('Ed25519'));
  }
  const jwksRes = await rawRequest(envoy.ports[0], { path: '/oauth/jwks/' });
  assert.equal(jwksRes.status, 200);
  assert.equal(jwksRes.headers['content-type'][0], 'application/jwk-set+json');
  const jwks = JSON.parse(jwksRes.body);
  assert.equal(jwks.keys[0].d, undefined, 'the public half only');
  const res = await tokenRequest(clientCredentials(assertion('ec-a', 'c-admin')));
  assert.equal(res.status, 200, res.body);
  const other = Policy.parse({
    issuers: [{ issuer: ISSUER, audiences: ['pexip-management-api'], jwks, algorithms: ['ES256'] }],
    roles: [{ name: 'any', grant: 'any_valid_token', rules: [{ effect: 'allow', methods: ['*'], paths: ['/**'] }] }],
  });
  const d = other.decide({ method: 'GET', path: '/x', headers: { authorization: `Bearer ${JSON.parse(res.body).access_token}` }, now: now() });
  assert.equal(d.reason, 'allowed', JSON.stringify(d.trace));
  // Spelt otherwise, the paths are decided (and here denied: outside /api/admin).
  const odd = await rawRequest(envoy.ports[0], { path: '/.well-known/./openid-configuration' });
  assert.equal(odd.status, 403);
});
