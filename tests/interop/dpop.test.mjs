// DPoP (RFC 9449) end to end, with software nobody here wrote: node-oidc-
// provider issues DPoP-bound JWT access tokens (its dPoP feature) to
// openid-client, which makes its proofs (getDPoPHandle) and calls the admin
// API through a real Envoy running rolegate with two workers. A bound
// token with a valid proof passes; the same token as a bearer token, or
// with a proof for another method or URI, by another key, too old, replayed
// (on either worker) or for another token, is refused. rolegate's own
// server nonces are taken up by openid-client's retry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID, webcrypto } from 'node:crypto';
import Provider from 'oidc-provider';
import * as client from 'openid-client';
import { loadKeys } from '../vectors/runner.mjs';
import { startEnvoy, startUpstream, freePort, rawRequest } from '../envoy/harness.mjs';

const keys = loadKeys();
const SECRET = 'a-client-secret-of-some-length';
let providerServer;
let issuer;
let upstream;
let envoy;
let config;
let api;

before(async () => {
  const providerPort = await freePort();
  issuer = `http://127.0.0.1:${providerPort}`;
  const provider = new Provider(issuer, {
    clients: [{ client_id: 'svc', client_secret: SECRET, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_basic' }],
    jwks: { keys: [{ ...keys['rsa-a'], use: 'sig', alg: 'RS256' }] },
    scopes: ['admin'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      dPoP: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:admin-api',
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: 'admin', audience: 'admin-api', accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
      },
    },
  });
  providerServer = provider.listen(providerPort);
  await new Promise((r) => providerServer.once('listening', r));
  upstream = await startUpstream();
  const policy = (extra) => ({
    issuers: [{ issuer, audiences: ['admin-api'], algorithms: ['RS256'], token_type: 'at+jwt',
      discovery: `${issuer}/.well-known/openid-configuration`, remote: { cluster: 'as', timeout_ms: 2000 } }],
    required_scopes: ['admin'],
    roles: [{ name: 'service', required_attributes: [{ claim: 'client_id', value: 'svc' }], rules: [{ effect: 'allow', methods: ['read', 'POST'], paths: ['/**'] }] }],
    ...extra,
  });
  // Listener 0: proofs name the origin Envoy sees (the default); listener
  // 1: rolegate hands out nonces too.
  envoy = await startEnvoy({
    policies: [policy({}), policy({ dpop: { nonce_secret: 'interop-test nonce secret, 32+ bytes' } })],
    upstreamPort: upstream.port, clusters: [{ name: 'as', port: providerPort }], concurrency: 2,
  });
  api = (i, path = '/x') => new URL(`http://127.0.0.1:${envoy.ports[i]}${path}`);
  config = await client.discovery(new URL(issuer), 'svc', SECRET, undefined, { execute: [client.allowInsecureRequests] });
});
after(async () => {
  await envoy?.stop();
  await upstream?.close();
  providerServer?.closeAllConnections();
  providerServer?.close();
});

/** A DPoP-bound token from node-oidc-provider, with openid-client's handle and key pair. */
async function boundToken() {
  const keyPair = await client.randomDPoPKeyPair('ES256');
  const DPoP = client.getDPoPHandle(config, keyPair);
  const tokens = await client.clientCredentialsGrant(config, { scope: 'admin', resource: 'urn:admin-api' }, { DPoP });
  return { token: tokens.access_token, tokenType: tokens.token_type, keyPair, DPoP };
}

const b64url = (bytes) => Buffer.from(bytes).toString('base64url');

/** A proof made by hand (ES256 over the key pair), so each field can be wrong on purpose. */
async function proof(keyPair, claims) {
  const jwk = await webcrypto.subtle.exportKey('jwk', keyPair.publicKey);
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keyPair.privateKey, Buffer.from(input));
  return `${input}.${b64url(new Uint8Array(signature))}`;
}

// What a client that addressed Envoy as rawRequest does (Host: rolegate.test) names in htu.
const addressed = (path = '/x') => `http://rolegate.test${path}`;
const ath = (token) => createHash('sha256').update(token).digest('base64url');
const now = () => Math.floor(Date.now() / 1000);

async function send(port, { method = 'GET', path = '/x', token, proofs = [], scheme = 'DPoP' }) {
  const headers = [['authorization', `${scheme} ${token}`], ...proofs.map((p) => ['dpop', p])];
  return rawRequest(port, { method, path, headers });
}

test('openid-client calls the admin API with a node-oidc-provider DPoP-bound token', { timeout: 30_000 }, async () => {
  const { token, tokenType, DPoP } = await boundToken();
  assert.equal(tokenType.toLowerCase(), 'dpop');
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url'));
  assert.ok(claims.cnf?.jkt, 'the provider bound the token to the key');
  for (let i = 0; i < 3; i++) {
    const res = await client.fetchProtectedResource(config, token, api(0), 'GET', undefined, undefined, { DPoP });
    assert.equal(res.status, 200, await res.text());
    const echo = JSON.parse(Buffer.from(res.headers.get('x-echo'), 'base64url'));
    // The upstream gets the identity, not the token or the proof.
    assert.equal(echo.headers['x-rolegate-roles'], 'service');
    assert.equal(echo.headers.authorization, undefined);
    assert.equal(echo.headers.dpop, undefined);
  }
  const posted = await client.fetchProtectedResource(config, token, api(0, '/items?page=2'), 'POST', 'x=1', new Headers({ 'content-type': 'text/plain' }), { DPoP });
  assert.equal(posted.status, 200, await posted.text());
});

test('rolegate\'s server nonce: openid-client retries with it and gets through', { timeout: 30_000 }, async () => {
  const { token, DPoP } = await boundToken();
  const res = await client.fetchProtectedResource(config, token, api(1), 'GET', undefined, undefined, { DPoP });
  assert.equal(res.status, 200, await res.text());
  // By hand: without a nonce the answer is use_dpop_nonce with one to
  // use, which the next proof names.
  const bound = await boundToken();
  const claims = () => ({ jti: randomUUID(), htm: 'GET', htu: addressed(), iat: now(), ath: ath(bound.token) });
  const first = await send(envoy.ports[1], { token: bound.token, proofs: [await proof(bound.keyPair, claims())] });
  assert.equal(first.status, 401);
  assert.match(first.headers['www-authenticate'][0], /^DPoP .*error="use_dpop_nonce"/);
  const nonce = first.headers['dpop-nonce']?.[0];
  assert.ok(nonce, 'a DPoP-Nonce header');
  const second = await send(envoy.ports[1], { token: bound.token, proofs: [await proof(bound.keyPair, { ...claims(), nonce })] });
  assert.equal(second.status, 200, second.body);
});

test('a DPoP-bound token is refused as a bearer token and with any proof that is not its own', { timeout: 60_000 }, async () => {
  const { token, keyPair } = await boundToken();
  const good = { jti: randomUUID(), htm: 'GET', htu: addressed(), iat: now(), ath: ath(token) };
  const cases = [
    ['as a bearer token', { scheme: 'Bearer', proofs: [] }, 'dpop_bound_token'],
    ['without a proof', { proofs: [] }, 'dpop_proof_missing'],
    ['with a proof for another method', { proofs: [await proof(keyPair, { ...good, jti: randomUUID(), htm: 'DELETE' })] }, 'dpop_htm_mismatch'],
    ['with a proof for another URI', { proofs: [await proof(keyPair, { ...good, jti: randomUUID(), htu: addressed('/other') })] }, 'dpop_htu_mismatch'],
    ['with a proof for another host', { proofs: [await proof(keyPair, { ...good, jti: randomUUID(), htu: 'http://admin.example/x' })] }, 'dpop_htu_mismatch'],
    ['with an old proof', { proofs: [await proof(keyPair, { ...good, jti: randomUUID(), iat: now() - 300 })] }, 'dpop_proof_expired'],
    ['with a proof for another token', { proofs: [await proof(keyPair, { ...good, jti: randomUUID(), ath: ath('another token') })] }, 'dpop_ath_mismatch'],
    ['with a proof by another key', { proofs: [await proof(await client.randomDPoPKeyPair('ES256'), { ...good, jti: randomUUID() })] }, 'dpop_key_mismatch'],
  ];
  for (const [what, request, cause] of cases) {
    const res = await send(envoy.ports[0], { token, ...request });
    assert.equal(res.status, 401, `${what}: ${res.body}`);
    assert.equal(JSON.parse(res.body).cause, cause, what);
    assert.match(res.headers['www-authenticate'][0], /^DPoP realm="rolegate", algs="[^"]*ES256/, what);
  }
  // The good proof passes once; replayed, on either worker, it is refused.
  const once = await proof(keyPair, good);
  assert.equal((await send(envoy.ports[0], { token, proofs: [once] })).status, 200);
  for (let i = 0; i < 6; i++) {
    const again = await send(envoy.ports[0], { token, proofs: [once] });
    assert.equal(again.status, 401, again.body);
    assert.equal(JSON.parse(again.body).cause, 'dpop_proof_replayed');
  }
  // A token the provider did not bind is not a DPoP token.
  const form = new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin', resource: 'urn:admin-api' }).toString();
  const plain = await rawRequest(Number(new URL(issuer).port), {
    method: 'POST', path: '/token', body: form,
    headers: [['authorization', `Basic ${Buffer.from(`svc:${SECRET}`).toString('base64')}`],
      ['content-type', 'application/x-www-form-urlencoded'], ['content-length', String(Buffer.byteLength(form))]],
  });
  const unbound = JSON.parse(plain.body).access_token;
  assert.equal((await send(envoy.ports[0], { token: unbound, scheme: 'Bearer' })).status, 200);
  const res = await send(envoy.ports[0], { token: unbound, proofs: [await proof(keyPair, { ...good, jti: randomUUID(), ath: ath(unbound) })] });
  assert.equal(JSON.parse(res.body).cause, 'token_not_dpop_bound');
});
