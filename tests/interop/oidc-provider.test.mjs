// node-oidc-provider (npm oidc-provider) as the authorization server on
// 127.0.0.1, rolegate in a real Envoy validating its tokens remotely: OpenID
// discovery and its jwks_uri, JWT access tokens (RFC 9068) from the
// client-credentials grant with resource indicators in four algorithms, and
// opaque tokens by RFC 7662 introspection (client_secret_basic), revocation
// and the provider going down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Provider from 'oidc-provider';
import { loadKeys } from '../vectors/runner.mjs';
import { startEnvoy, freePort, rawRequest } from '../envoy/harness.mjs';

const keys = loadKeys();
const SECRET = 'a-client-secret-of-some-length';
// One resource per signing algorithm node-oidc-provider uses for its tokens.
const INTROSPECTION_SECRET = 'rolegate-introspects-with-this-secret';
const OPAQUE = 'urn:admin-api:opaque';
const SIGNING = { 'urn:admin-api': 'RS256', 'urn:admin-api:ps': 'PS256', 'urn:admin-api:es': 'ES256', 'urn:admin-api:ed': 'Ed25519' };
let provider;
let server;
let issuer;
let envoy;

/** Stops the provider, dropping Envoy's kept-alive connections to it. */
async function stopProvider() {
  if (!server) return;
  const closed = new Promise((r) => server.close(r));
  server.closeAllConnections();
  await closed;
  server = null;
}

before(async () => {
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  provider = new Provider(issuer, {
    clients: [
      { client_id: 'svc', client_secret: SECRET, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_basic' },
      // rolegate itself, introspecting opaque tokens.
      { client_id: 'rolegate', client_secret: INTROSPECTION_SECRET, grant_types: [], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_basic' },
    ],
    jwks: { keys: [
      { ...keys['rsa-a'], use: 'sig', alg: 'RS256' }, { ...keys['ps-a'], use: 'sig', alg: 'PS256' },
      { ...keys['ec-a'], use: 'sig', alg: 'ES256' }, { ...keys['ed-a'], use: 'sig', alg: 'Ed25519' },
    ] },
    scopes: ['admin'],
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:admin-api',
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => ({
          scope: 'admin',
          audience: 'admin-api',
          ...(resource === OPAQUE
            ? { accessTokenFormat: 'opaque' }
            : { accessTokenFormat: 'jwt', jwt: { sign: { alg: SIGNING[resource] } } }),
        }),
      },
    },
  });
  server = provider.listen(port);
  await new Promise((r) => server.once('listening', r));
  const policy = {
    issuers: [{ issuer, audiences: ['admin-api'], algorithms: ['RS256', 'PS256', 'ES256', 'Ed25519'], token_type: 'at+jwt',
      discovery: `${issuer}/.well-known/openid-configuration`, remote: { cluster: 'as', timeout_ms: 2000 },
      // Opaque tokens go to its introspection endpoint (from discovery).
      introspection: { client_id: 'rolegate', client_auth: 'client_secret_basic', client_secret: INTROSPECTION_SECRET, cache_seconds: 1 } }],
    required_scopes: ['admin'],
    roles: [{ name: 'service', required_attributes: [{ claim: 'client_id', value: 'svc' }], rules: [{ effect: 'allow', methods: ['*'], paths: ['/**'] }] }],
  };
  envoy = await startEnvoy({ policies: [policy], directResponse: true, clusters: [{ name: 'as', port }] });
});
after(async () => {
  await envoy?.stop();
  await stopProvider();
});

async function clientCredentials(resource) {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`svc:${SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin', resource }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.access_token;
}

for (const [resource, alg] of Object.entries(SIGNING)) {
  test(`a node-oidc-provider ${alg} JWT access token is validated through discovery and jwks_uri`, { timeout: 30_000 }, async () => {
    const token = await clientCredentials(resource);
    const [header] = token.split('.');
    assert.equal(JSON.parse(Buffer.from(header, 'base64url')).alg, alg);
    const res = await rawRequest(envoy.ports[0], { path: '/x', headers: [['authorization', `Bearer ${token}`]] });
    assert.equal(res.status, 200, res.body);
    const forged = `${token.slice(0, -4)}AAAA`;
    assert.equal((await rawRequest(envoy.ports[0], { path: '/x', headers: [['authorization', `Bearer ${forged}`]] })).status, 401);
  });
}

test('an opaque node-oidc-provider token is introspected; revoked, it is refused; with the provider down, 503', { timeout: 30_000 }, async () => {
  const token = await clientCredentials(OPAQUE);
  assert.equal(token.split('.').length, 1, 'opaque');
  const ask = () => rawRequest(envoy.ports[0], { path: '/x', headers: [['authorization', `Bearer ${token}`]] });
  const ok = await ask();
  assert.equal(ok.status, 200, ok.body);
  const revoked = await fetch(`${issuer}/token/revocation`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`svc:${SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
  });
  assert.equal(revoked.status, 200);
  await new Promise((r) => setTimeout(r, 1_200)); // past cache_seconds
  const after = await ask();
  assert.equal(after.status, 401, after.body);
  assert.equal(JSON.parse(after.body).cause, 'inactive');
  // The provider goes away: a token nobody has answered for is never let through.
  const another = await clientCredentials(OPAQUE);
  await stopProvider();
  const down = await rawRequest(envoy.ports[0], { path: '/x', headers: [['authorization', `Bearer ${another}`]] });
  assert.equal(down.status, 503, down.body);
});
