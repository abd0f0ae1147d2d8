// Several Envoys, one token instance: proxy B forwards token requests and the
// active-token list to instance A (token_endpoint.forward_to_cluster), so A's
// replay store and token list see every client, whichever proxy it called.
// Without forwarding, each instance keeps its own (the documented limit).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { envoyBootstrap, mintToken } from '../../pkg/node.js';
import { loadKeys, publicJwk } from '../vectors/runner.mjs';
import { startEnvoy, startUpstream, rawRequest, freePort } from './harness.mjs';

const keys = loadKeys();
const now = () => Math.floor(Date.now() / 1000);
const ISSUER = 'https://pexip-manager.test';
const preset = JSON.parse(readFileSync(new URL('../../examples/pexip.json', import.meta.url), 'utf8'));
const policy = (extra = {}) => ({
  ...preset,
  issuers: [],
  token_endpoint: { issuer: ISSUER, audience: 'pexip-management-api', signing_key: keys['pexip-node'], active_tokens_role: 'administrator', ...extra },
  oauth2_clients: [{ client_id: 'c-admin', name: 'automation', role: 'administrator', jwk: publicJwk(keys['ec-a']) }],
});
const CLUSTER = 'rolegate_token_instance';

let upstream;
let a; // the token instance
let b; // a proxy that forwards to it
let lone; // a second instance without forwarding: its own records
before(async () => {
  upstream = await startUpstream();
  a = await startEnvoy({ policies: [policy()], upstreamPort: upstream.port });
  b = await startEnvoy({ policies: [policy({ forward_to_cluster: CLUSTER })], upstreamPort: upstream.port, clusters: [{ name: CLUSTER, host: '127.0.0.1', port: a.ports[0] }] });
  lone = await startEnvoy({ policies: [policy()], upstreamPort: upstream.port });
});
after(async () => {
  await Promise.all([a?.stop(), b?.stop(), lone?.stop()]);
  await upstream?.close();
});

let seq = 0;
const assertion = () => mintToken({ key: keys['ec-a'], claims: { iss: 'c-admin', sub: 'c-admin', aud: `${ISSUER}/oauth/token/`, iat: now(), exp: now() + 60, jti: `fleet-${Date.now()}-${seq++}` } });
const body = (x) => `grant_type=client_credentials&client_assertion_type=${encodeURIComponent('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')}&client_assertion=${x}`;
const tokenRequest = (envoy, x) => rawRequest(envoy.ports[0], { method: 'POST', path: '/oauth/token/', headers: [['content-type', 'application/x-www-form-urlencoded'], ['content-length', String(Buffer.byteLength(body(x)))], ['x-rolegate-subject', 'spoofed']], body: body(x) });
const get = (envoy, path, token) => rawRequest(envoy.ports[0], { path, headers: token ? [['authorization', `Bearer ${token}`]] : [] });

test('a token requested through the proxy is issued by the token instance and works on both', async () => {
  const res = await tokenRequest(b, assertion());
  assert.equal(res.status, 200, res.body);
  const token = JSON.parse(res.body).access_token;
  for (const envoy of [a, b]) assert.equal((await get(envoy, '/api/admin/status/v1/conference/', token)).status, 200);
  // A lists it: the list is the fleet's, whichever proxy the client called.
  const list = await get(a, '/oauth/tokens/', token);
  assert.equal(list.status, 200, list.body);
  const listed = JSON.parse(list.body);
  const jtis = (listed.tokens ?? listed).map((t) => t.jti);
  const { jti } = JSON.parse(Buffer.from(token.split('.')[1], 'base64url'));
  assert.ok(jtis.includes(jti), 'the token instance lists the token issued through the proxy');
  // The list through the proxy is the same list.
  assert.deepEqual(JSON.parse((await get(b, '/oauth/tokens/', token)).body), listed);
  // Nothing of this reached the admin API.
  assert.equal(upstream.seen.filter((r) => r.path.startsWith('/oauth/')).length, 0);
});

test('an assertion used through the proxy cannot be replayed at the token instance, nor the other way', async () => {
  const first = assertion();
  assert.equal((await tokenRequest(b, first)).status, 200);
  assert.equal((await tokenRequest(a, first)).status, 401);
  const second = assertion();
  assert.equal((await tokenRequest(a, second)).status, 200);
  assert.equal((await tokenRequest(b, second)).status, 401);
});

test('without forwarding, another instance accepts the replay (why the fleet needs one token instance)', async () => {
  const replayed = assertion();
  assert.equal((await tokenRequest(a, replayed)).status, 200);
  assert.equal((await tokenRequest(lone, replayed)).status, 200, 'a separate instance has its own replay store');
});

test('a proxy whose route sends the token path elsewhere refuses it (503), never forwards it undecided', async () => {
  // The generated config routes the token path and the list to the token instance, the rest to 404.
  const yaml = envoyBootstrap({
    listeners: [{ policy: policy({ forward_to_cluster: CLUSTER }), listenPort: 8080 }],
    clusters: [{ name: CLUSTER, host: '127.0.0.1', port: a.ports[0] }],
    accessLog: null,
  });
  assert.match(yaml, /match: \{path: "\/oauth\/token\/"\}\n\s+route: \{cluster: rolegate_token_instance\}/);
  assert.match(yaml, /match: \{path: "\/oauth\/tokens\/"\}\n\s+route: \{cluster: rolegate_token_instance\}/);
  assert.match(yaml, /match: \{path: "\/oauth\/jwks\/"\}\n\s+direct_response: \{status: 404\}/);
  assert.throws(() => envoyBootstrap({ listeners: [{ policy: policy({ forward_to_cluster: CLUSTER }) }] }), /forward_to_cluster is "rolegate_token_instance": add \{name: "rolegate_token_instance", host, port\}/);
  // Pointed at the admin API by hand:
  const misrouted = await startEnvoy({ policies: [policy({ forward_to_cluster: CLUSTER })], upstreamPort: upstream.port, clusters: [{ name: CLUSTER, host: '127.0.0.1', port: a.ports[0] }], configTransform: (y) => y.replace(`route: {cluster: ${CLUSTER}}`, 'route: {cluster: admin_api}') });
  try {
    const before = upstream.seen.length;
    const res = await tokenRequest(misrouted, assertion());
    assert.equal(res.status, 503);
    assert.equal(upstream.seen.length, before, 'the admin API saw nothing');
    const misroute = /forward_to_cluster is \\"rolegate_token_instance\\", but the route goes to \\"admin_api\\"/;
    assert.match(await misrouted.waitForLog(misroute), misroute);
  } finally {
    await misrouted.stop();
  }
});
