// npm openid-client (oauth4webapi underneath) against rolegate's token
// endpoint in a real Envoy: discovery() of the OpenID configuration the
// filter serves, then the client-credentials grant with PrivateKeyJwt for
// ES256, RS256 and Ed25519 keys (oauth4webapi signs the fully-specified
// "Ed25519" of RFC 9864), and each token used on the admin API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import * as client from 'openid-client';
import { loadKeys, publicJwk } from '../vectors/runner.mjs';
import { startEnvoy, startUpstream, freePort, rawRequest } from '../envoy/harness.mjs';

const keys = loadKeys();
const preset = JSON.parse(readFileSync(new URL('../../examples/pexip.json', import.meta.url), 'utf8'));

let upstream;
let envoy;
let issuer;
before(async () => {
  upstream = await startUpstream();
  // The issuer is Envoy's own address: discovery checks that they agree.
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  const policy = {
    ...preset,
    issuers: [],
    token_endpoint: { issuer, audience: 'pexip-management-api', signing_key: keys['pexip-node'], active_tokens_role: 'administrator' },
    oauth2_clients: [
      { client_id: 'c-ec', name: 'automation', role: 'administrator', jwk: publicJwk(keys['ec-a']) },
      { client_id: 'c-rsa', name: 'provisioning', role: 'provisioning', jwk: publicJwk(keys['rsa-a']) },
      { client_id: 'c-ed', name: 'dashboard', role: 'read_only', jwk: publicJwk(keys['ed-a']) },
    ],
  };
  envoy = await startEnvoy({ policies: [policy], upstreamPort: upstream.port, listenPorts: [port] });
});
after(async () => {
  await envoy?.stop();
  await upstream?.close();
});

const ALGORITHMS = {
  EC: { name: 'ECDSA', namedCurve: 'P-256' },
  RSA: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  OKP: { name: 'Ed25519' },
};

async function privateKey(jwk) {
  const { kid, alg, use, key_ops, ...material } = jwk;
  return webcrypto.subtle.importKey('jwk', material, ALGORITHMS[jwk.kty], false, ['sign']);
}

for (const [clientId, key] of [['c-ec', 'ec-a'], ['c-rsa', 'rsa-a'], ['c-ed', 'ed-a']]) {
  test(`openid-client discovery() and PrivateKeyJwt (${key})`, { timeout: 30_000 }, async () => {
    const config = await client.discovery(
      new URL(issuer), clientId, undefined,
      client.PrivateKeyJwt(await privateKey(keys[key])),
      { execute: [client.allowInsecureRequests] },
    );
    assert.equal(config.serverMetadata().token_endpoint, `${issuer}/oauth/token/`);
    const tokens = await client.clientCredentialsGrant(config);
    assert.equal(tokens.token_type, 'bearer');
    assert.ok(tokens.expires_in > 0);
    const res = await rawRequest(envoy.ports[0], { path: '/api/admin/configuration/v1/conference/', headers: [['authorization', `Bearer ${tokens.access_token}`]] });
    assert.equal(res.status, 200, res.body);
    const echo = JSON.parse(Buffer.from(res.headers['x-echo'][0], 'base64url'));
    assert.equal(echo.headers['x-rolegate-client-id'], clientId);
  });
}

test('openid-client with a DPoP key gets a DPoP-bound token from rolegate\'s token endpoint and uses it', { timeout: 30_000 }, async () => {
  const config = await client.discovery(
    new URL(issuer), 'c-ec', undefined,
    client.PrivateKeyJwt(await privateKey(keys['ec-a'])),
    { execute: [client.allowInsecureRequests] },
  );
  const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
  const tokens = await client.clientCredentialsGrant(config, undefined, { DPoP });
  assert.equal(tokens.token_type.toLowerCase(), 'dpop');
  const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url'));
  assert.ok(claims.cnf?.jkt, 'bound to the DPoP key');
  const url = new URL(`${issuer}/api/admin/configuration/v1/conference/`);
  const res = await client.fetchProtectedResource(config, tokens.access_token, url, 'GET', undefined, undefined, { DPoP });
  assert.equal(res.status, 200, await res.text());
  // Not as a bearer token.
  const bearer = await rawRequest(envoy.ports[0], { path: url.pathname, headers: [['authorization', `Bearer ${tokens.access_token}`]] });
  assert.equal(bearer.status, 401);
  assert.equal(JSON.parse(bearer.body).cause, 'dpop_bound_token');
  // Pexip's own clients, without a proof, still get bearer tokens.
  const plain = await client.clientCredentialsGrant(config);
  assert.equal(plain.token_type, 'bearer');
});
