// node-oidc-provider (npm oidc-provider) as the authorization server on
// 127.0.0.1, rolegate in a real Envoy validating its tokens remotely: OpenID
// discovery and its jwks_uri, JWT access tokens (RFC 9068) from the
// client-credentials grant with resource indicators in four algorithms, and
// opaque tokens by RFC 7662 introspection (client_secret_basic and
// private_key_jwt), key rotation (a new kid is fetched when first seen),
// revocation and the provider going down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Provider from 'oidc-provider';
import { loadKeys, publicJwk } from '../vectors/runner.mjs';
import { startEnvoy, freePort, rawRequest } from '../envoy/harness.mjs';

const keys = loadKeys();
const SECRET = 'a-client-secret-of-some-length';
// One resource per signing algorithm node-oidc-provider uses for its tokens.
const INTROSPECTION_SECRET = 'rolegate-introspects-with-this-secret';
const OPAQUE = 'urn:admin-api:opaque';
const SIGNING = { 'urn:admin-api': 'RS256', 'urn:admin-api:ps': 'PS256', 'urn:admin-api:es': 'ES256', 'urn:admin-api:ed': 'Ed25519' };
let provider;
let providerPort;
let seen = [];
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

/** The provider's own configuration; `rsa` is the RS256 signing key (rotated by a test). */
function providerConfig(rsa) {
  return {
    clients: [
      { client_id: 'svc', client_secret: SECRET, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_basic' },
      // rolegate itself, introspecting opaque tokens: with a secret on one
      // listener, with a signed assertion (RFC 7523) on the other.
      { client_id: 'rolegate', client_secret: INTROSPECTION_SECRET, grant_types: [], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_basic' },
      { client_id: 'rolegate-pkjwt', grant_types: [], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [publicJwk(keys['ec-a'])] } },
    ],
    jwks: { keys: [
      { ...keys[rsa], use: 'sig', alg: 'RS256' }, { ...keys['ps-a'], use: 'sig', alg: 'PS256' },
      { ...keys['ec-a'], use: 'sig', alg: 'ES256' }, { ...keys['ed-a'], use: 'sig', alg: 'Ed25519' },
    ] },
    scopes: ['admin'],
    features: {
      devInteractions: { enabled: false },
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
  };
}

/** Starts node-oidc-provider on `port` (again, after a stop: a restart with new keys). */
async function startProvider(port, rsa) {
  provider = new Provider(issuer, providerConfig(rsa));
  // What the provider was asked, and by which authenticated client.
  provider.use(async (ctx, next) => {
    await next();
    seen.push({ path: ctx.path, status: ctx.status, client: ctx.oidc?.client?.clientId });
  });
  server = provider.listen(port);
  await new Promise((r) => server.once('listening', r));
}

before(async () => {
  providerPort = await freePort();
  issuer = `http://127.0.0.1:${providerPort}`;
  await startProvider(providerPort, 'rsa-a');
  const issuerPolicy = (introspection) => ({
    issuers: [{ issuer, audiences: ['admin-api'], algorithms: ['RS256', 'PS256', 'ES256', 'Ed25519'], token_type: 'at+jwt',
      discovery: `${issuer}/.well-known/openid-configuration`,
      // A kid not seen before is looked up again after a second at most.
      remote: { cluster: 'as', timeout_ms: 2000, min_refetch_seconds: 1 },
      // Opaque tokens go to its introspection endpoint (from discovery).
      introspection: { ...introspection, cache_seconds: 1 } }],
    required_scopes: ['admin'],
    roles: [{ name: 'service', required_attributes: [{ claim: 'client_id', value: 'svc' }], rules: [{ effect: 'allow', methods: ['*'], paths: ['/**'] }] }],
  });
  const policies = [
    issuerPolicy({ client_id: 'rolegate', client_auth: 'client_secret_basic', client_secret: INTROSPECTION_SECRET }),
    issuerPolicy({ client_id: 'rolegate-pkjwt', client_auth: 'private_key_jwt', private_key: keys['ec-a'] }),
  ];
  envoy = await startEnvoy({ policies, directResponse: true, clusters: [{ name: 'as', port: providerPort }] });
});
after(async () => {
  await envoy?.stop();
  await stopProvider();
});

/** Asks the provider for a token; a fresh connection each time, so a restarted provider is reached. */
async function clientCredentials(resource) {
  const form = new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin', resource }).toString();
  const res = await rawRequest(providerPort, {
    method: 'POST', path: '/token', body: form,
    headers: [['authorization', `Basic ${Buffer.from(`svc:${SECRET}`).toString('base64')}`],
      ['content-type', 'application/x-www-form-urlencoded'], ['content-length', String(Buffer.byteLength(form))]],
  });
  const body = JSON.parse(res.body);
  assert.equal(res.status, 200, res.body);
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const bearer = (port, token) => rawRequest(port, { path: '/x', headers: [['authorization', `Bearer ${token}`]] });

test('an opaque token is introspected with private_key_jwt client authentication (RFC 7523)', { timeout: 30_000 }, async () => {
  const token = await clientCredentials(OPAQUE);
  seen = [];
  const res = await bearer(envoy.ports[1], token);
  assert.equal(res.status, 200, res.body);
  // The provider authenticated rolegate as the client that may only use a signed assertion.
  const asked = seen.filter((s) => s.path === '/token/introspection');
  assert.deepEqual(asked, [{ path: '/token/introspection', status: 200, client: 'rolegate-pkjwt' }]);
});

test('key rotation: a token under a new kid is validated after one JWKS refetch', { timeout: 30_000 }, async () => {
  const old = await clientCredentials('urn:admin-api');
  assert.equal((await bearer(envoy.ports[0], old)).status, 200);
  // The provider restarts with a new RS256 key; the old one is no longer published.
  await stopProvider();
  await startProvider(providerPort, 'rsa-b');
  const rotated = await clientCredentials('urn:admin-api');
  assert.equal(JSON.parse(Buffer.from(rotated.split('.')[0], 'base64url')).kid, keys['rsa-b'].kid);
  await sleep(1_100); // past min_refetch_seconds since the keys were loaded
  seen = [];
  const res = await bearer(envoy.ports[0], rotated);
  assert.equal(res.status, 200, res.body);
  assert.equal(seen.filter((s) => s.path === '/jwks').length, 1, 'one JWKS refetch for the unknown kid');
  // A kid nobody published is refused without another fetch within the interval.
  const unknown = rotated.replace(/^[^.]+/, Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: 'nobody' })).toString('base64url'));
  seen = [];
  assert.equal((await bearer(envoy.ports[0], unknown)).status, 401);
  assert.equal(seen.filter((s) => s.path === '/jwks').length, 0, 'refetches are rate-limited');
});

test('an opaque node-oidc-provider token is introspected; revoked, it is refused; with the provider down, 503', { timeout: 30_000 }, async () => {
  const token = await clientCredentials(OPAQUE);
  assert.equal(token.split('.').length, 1, 'opaque');
  const ask = () => rawRequest(envoy.ports[0], { path: '/x', headers: [['authorization', `Bearer ${token}`]] });
  const ok = await ask();
  assert.equal(ok.status, 200, ok.body);
  const form = new URLSearchParams({ token, token_type_hint: 'access_token' }).toString();
  const revoked = await rawRequest(providerPort, {
    method: 'POST', path: '/token/revocation', body: form,
    headers: [['authorization', `Basic ${Buffer.from(`svc:${SECRET}`).toString('base64')}`],
      ['content-type', 'application/x-www-form-urlencoded'], ['content-length', String(Buffer.byteLength(form))]],
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
