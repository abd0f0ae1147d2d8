// Remote validation in real Envoy against a local authorization-server stub on
// 127.0.0.1: JWKS URL, OpenID discovery, RFC 7662 introspection (client
// secret and private_key_jwt), and faults: down, slow, garbage, oversized,
// key rotation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { Policy, mintToken } from '../../pkg/node.js';
import { loadKeys, publicJwk } from '../vectors/runner.mjs';
import { startEnvoy, rawRequest } from './harness.mjs';

const keys = loadKeys();
const now = () => Math.floor(Date.now() / 1000);

// ------------------------------------------------------------ the stub

/** Per-tenant behaviour: each test uses its own path prefix. */
const tenants = {};
const hits = {};
let stub;
let base;

function tenant(name, setup) {
  tenants[name] = { mode: 'ok', jwks: [], active: {}, ...setup };
  hits[name] = { jwks: 0, discovery: 0, introspect: 0 };
  return tenants[name];
}

async function handle(req, res) {
  const [, name, what] = req.url.split('/');
  const t = tenants[name];
  if (!t) return res.writeHead(404).end();
  hits[name][what] = (hits[name][what] ?? 0) + 1;
  const body = await new Promise((r) => { let b = ''; req.on('data', (d) => { b += d; }); req.on('end', () => r(b)); });
  const mode = typeof t.mode === 'function' ? t.mode(what) : t.mode;
  if (mode === 'down') return res.writeHead(503).end('down');
  if (mode === 'slow') await new Promise((r) => setTimeout(r, 1500));
  if (mode === 'garbage') return res.writeHead(200, { 'content-type': 'application/json' }).end('<html>not json');
  if (mode === 'huge') return res.writeHead(200, { 'content-type': 'application/json' }).end(`{"keys": [], "pad": "${'x'.repeat(400_000)}"}`);
  const json = (value) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  if (what === 'discovery') return json({ issuer: t.issuer, jwks_uri: `${base}/${name}/jwks`, introspection_endpoint: `${base}/${name}/introspect` });
  if (what === 'jwks') return json({ keys: t.jwks.map((k) => publicJwk(keys[k])) });
  if (what === 'introspect') {
    const form = new URLSearchParams(body);
    if (!t.authorize(req, form)) return res.writeHead(401).end('{"error":"invalid_client"}');
    const answer = t.active[form.get('token')];
    return json(answer ?? { active: false });
  }
  return res.writeHead(404).end();
}

before(async () => {
  stub = createServer((req, res) => { handle(req, res).catch(() => res.destroy()); });
  await new Promise((r) => stub.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${stub.address().port}`;
});
after(() => new Promise((r) => stub.close(r)));

const ROLES = [{ name: 'reader', required_attributes: [{ claim: 'group', value: 'readers' }], rules: [{ effect: 'allow', methods: ['read'], paths: ['/**'] }] }];
const REMOTE = (extra = {}) => ({ cluster: 'as', timeout_ms: 800, min_refetch_seconds: 2, refresh_seconds: 10, ...extra });
const bearer = (t) => [['authorization', `Bearer ${t}`]];
const jwt = (key, iss, extra = {}) => mintToken({ key: keys[key], claims: { iss, aud: 'api', sub: 'alice', group: 'readers', iat: now() - 5, exp: now() + 600, ...extra } });

async function envoyWith(policies) {
  return startEnvoy({ policies, directResponse: true, clusters: [{ name: 'as', port: Number(new URL(base).port) }] });
}

// ------------------------------------------------------------ tests

test('JWKS URL: loaded on start, rotation, rate-limited refetch, stale keys when down, fail closed', { timeout: 120_000 }, async (t) => {
  const a = tenant('a', { issuer: 'https://a.test', jwks: ['rsa-a'] });
  const cold = tenant('cold', { issuer: 'https://cold.test', mode: 'down' });
  const envoy = await envoyWith([
    { issuers: [{ issuer: 'https://a.test', audiences: ['api'], algorithms: ['RS256'], jwks_uri: `${base}/a/jwks`, remote: REMOTE() }], roles: ROLES },
    { issuers: [{ issuer: 'https://cold.test', audiences: ['api'], algorithms: ['RS256'], jwks_uri: `${base}/cold/jwks`, remote: REMOTE() }], roles: ROLES },
  ]);
  t.after(() => envoy.stop());
  const [port, coldPort] = envoy.ports;

  assert.equal((await rawRequest(port, { path: '/x', headers: bearer(jwt('rsa-a', a.issuer)) })).status, 200);

  // Rotation: a token from a new key makes one refetch while it waits.
  a.jwks = ['rsa-a', 'rsa-b'];
  const before = hits.a.jwks;
  await new Promise((r) => setTimeout(r, 2_100));
  assert.equal((await rawRequest(port, { path: '/x', headers: bearer(jwt('rsa-b', a.issuer)) })).status, 200);
  assert.equal(hits.a.jwks, before + 1);

  // Unknown kids in a burst: at most one refetch per min_refetch_seconds.
  await new Promise((r) => setTimeout(r, 2_100));
  const stranger = jwt('attacker-rsa', a.issuer);
  const burst = await Promise.all(Array.from({ length: 5 }, () => rawRequest(port, { path: '/x', headers: bearer(stranger) })));
  for (const res of burst) {
    assert.equal(res.status, 401);
    assert.equal(JSON.parse(res.body).cause, 'unknown_key');
  }
  assert.ok(hits.a.jwks <= before + 2, `refetches: ${hits.a.jwks - before}`);

  // The server goes down: the keys already loaded keep serving.
  a.mode = 'down';
  await new Promise((r) => setTimeout(r, 2_100));
  assert.equal((await rawRequest(port, { path: '/x', headers: bearer(jwt('rsa-b', a.issuer, { sub: 'stale' })) })).status, 200);

  // An issuer whose server never answered: 503, with a reason, never an allow.
  const res = await rawRequest(coldPort, { path: '/x', headers: bearer(jwt('rsa-a', cold.issuer)) });
  assert.equal(res.status, 503);
  assert.deepEqual(JSON.parse(res.body), { status: 503, reason: 'keys_unavailable', cause: 'keys_unavailable' });
  const flushed = (s) => s['wasmcustom.rolegate_denied_keys_unavailable'] >= 1 && s['wasmcustom.rolegate_remote_fetch_failed'] >= 1;
  const stats = await envoy.statsWhen(flushed);
  assert.ok(stats['wasmcustom.rolegate_denied_keys_unavailable'] >= 1);
  assert.ok(stats['wasmcustom.rolegate_remote_fetch_failed'] >= 1);
  assert.ok(stats['wasmcustom.rolegate_remote_fetch_ok'] >= 2);
  assert.equal(envoy.exited(), null);
});

test('discovery, and bad answers: slow, garbage, oversized', { timeout: 120_000 }, async (t) => {
  const d = tenant('d', { issuer: 'https://d.test', jwks: ['ec-a'] });
  const slow = tenant('slow', { issuer: 'https://slow.test', jwks: ['ec-a'], mode: 'slow' });
  const garbage = tenant('garbage', { issuer: 'https://garbage.test', mode: 'garbage' });
  const huge = tenant('huge', { issuer: 'https://huge.test', mode: 'huge' });
  const issuer = (tn, extra) => ({ issuer: tn.issuer, audiences: ['api'], algorithms: ['ES256'], remote: REMOTE(), ...extra });
  const envoy = await envoyWith([
    { issuers: [issuer(d, { discovery: `${base}/d/discovery` })], roles: ROLES },
    { issuers: [issuer(slow, { jwks_uri: `${base}/slow/jwks` })], roles: ROLES },
    { issuers: [issuer(garbage, { jwks_uri: `${base}/garbage/jwks` })], roles: ROLES },
    { issuers: [issuer(huge, { jwks_uri: `${base}/huge/jwks`, remote: REMOTE({ max_response_bytes: 100_000 }) })], roles: ROLES },
  ]);
  t.after(() => envoy.stop());
  const res = await rawRequest(envoy.ports[0], { path: '/x', headers: bearer(jwt('ec-a', d.issuer)) });
  assert.equal(res.status, 200, res.body);
  assert.ok(hits.d.discovery >= 1 && hits.d.jwks >= 1);
  for (const [i, tn] of [[1, slow], [2, garbage], [3, huge]]) {
    const r = await rawRequest(envoy.ports[i], { path: '/x', headers: bearer(jwt('ec-a', tn.issuer)) }, 15_000);
    assert.equal(r.status, 503, `${tn.issuer}: ${r.body}`);
    assert.equal(JSON.parse(r.body).reason, 'keys_unavailable');
  }
});

test('introspection with client_secret_basic: active, inactive, down, slow, garbage', { timeout: 120_000 }, async (t) => {
  const auth = (req) => req.headers.authorization === `Basic ${Buffer.from('rolegate:s3cret').toString('base64')}`;
  const i = tenant('i', { issuer: 'https://i.test', authorize: auth });
  i.active['opaque-good'] = { active: true, sub: 'bob', client_id: 'app-1', aud: 'api', group: 'readers', exp: now() + 600, scope: 'read' };
  i.active['opaque-other-aud'] = { active: true, sub: 'eve', aud: 'elsewhere', group: 'readers', exp: now() + 600 };
  const policy = (name, extra = {}) => ({
    issuers: [{ issuer: 'https://i.test', audiences: ['api'], algorithms: [], remote: REMOTE(),
      introspection: { endpoint: `${base}/${name}/introspect`, client_id: 'rolegate', client_auth: 'client_secret_basic', client_secret: 's3cret', cache_seconds: 60, ...extra } }],
    roles: ROLES,
  });
  tenant('idown', { issuer: 'https://i.test', mode: 'down', authorize: auth });
  tenant('islow', { issuer: 'https://i.test', mode: 'slow', authorize: auth });
  tenant('igarbage', { issuer: 'https://i.test', mode: 'garbage', authorize: auth });
  const envoy = await envoyWith([policy('i'), policy('idown'), policy('islow'), policy('igarbage')]);
  t.after(() => envoy.stop());
  const port = envoy.ports[0];

  const ok = await rawRequest(port, { path: '/x', headers: bearer('opaque-good') });
  assert.equal(ok.status, 200, ok.body);
  assert.equal(hits.i.introspect, 1);
  // Cached: no second call for the same token.
  assert.equal((await rawRequest(port, { path: '/x', headers: bearer('opaque-good') })).status, 200);
  assert.equal(hits.i.introspect, 1);
  const inactive = await rawRequest(port, { path: '/x', headers: bearer('opaque-unknown') });
  assert.equal(inactive.status, 401);
  assert.equal(JSON.parse(inactive.body).cause, 'inactive');
  assert.equal(hits.i.introspect, 2);
  // A flood of a revoked token costs one call: it is remembered as refused.
  for (let n = 0; n < 5; n++) {
    const again = await rawRequest(port, { path: '/x', headers: bearer('opaque-unknown') });
    assert.equal(JSON.parse(again.body).cause, 'inactive');
  }
  assert.equal(hits.i.introspect, 2, 'no call for a token refused a moment ago');
  assert.equal(JSON.parse((await rawRequest(port, { path: '/x', headers: bearer('opaque-other-aud') })).body).cause, 'wrong_audience');
  for (const [index, name] of [[1, 'down'], [2, 'slow'], [3, 'garbage']]) {
    const res = await rawRequest(envoy.ports[index], { path: '/x', headers: bearer('opaque-good') }, 15_000);
    assert.equal(res.status, 503, `${name}: ${res.body}`);
    assert.equal(JSON.parse(res.body).reason, 'introspection_unavailable');
  }
  const stats = await envoy.statsWhen((s) => s['wasmcustom.rolegate_introspection_ok'] >= 2 && s['wasmcustom.rolegate_introspection_failed'] >= 3);
  assert.ok(stats['wasmcustom.rolegate_introspection_ok'] >= 2);
  assert.ok(stats['wasmcustom.rolegate_introspection_failed'] >= 3);
});

test('introspection with private_key_jwt (RFC 7523), every JWT of the issuer', { timeout: 120_000 }, async (t) => {
  const seen = new Set();
  // The stub checks the client assertion with the client's public key.
  const verifier = Policy.parse({
    issuers: [{ issuer: 'rolegate-client', audiences: [`${base}/p/introspect`], jwks: { keys: [publicJwk(keys['ec-a'])] }, algorithms: ['ES256'] }],
    roles: [{ name: 'c', grant: 'any_valid_token', rules: [{ effect: 'allow', methods: ['*'], paths: ['/**'] }] }],
  });
  t.after(() => verifier.free());
  const authorize = (req, form) => {
    const assertion = form.get('client_assertion');
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' || !assertion) return false;
    const d = verifier.decide({ path: '/', headers: { authorization: `Bearer ${assertion}` } });
    const jti = JSON.parse(Buffer.from(assertion.split('.')[1], 'base64url')).jti;
    if (!d.allowed || d.subject !== 'rolegate-client' || seen.has(jti)) return false;
    seen.add(jti);
    return true;
  };
  const p = tenant('p', { issuer: 'https://p.test', authorize });
  const token = jwt('rsa-a', 'https://p.test', { sub: 'jwt-user' });
  p.active[token] = { active: true, sub: 'jwt-user', aud: 'api', group: 'readers', exp: now() + 600 };
  const envoy = await envoyWith([{
    issuers: [{ issuer: 'https://p.test', audiences: ['api'], algorithms: ['RS256'], jwks_uri: `${base}/p/jwks`, remote: REMOTE(),
      introspection: { endpoint: `${base}/p/introspect`, client_id: 'rolegate-client', client_auth: 'private_key_jwt', private_key: keys['ec-a'], tokens: 'all' } }],
    roles: ROLES,
  }]);
  t.after(() => envoy.stop());
  const res = await rawRequest(envoy.ports[0], { path: '/x', headers: bearer(token) });
  assert.equal(res.status, 200, res.body);
  assert.equal(hits.p.introspect, 1);
  assert.equal(seen.size, 1, 'the assertion verified and its jti was fresh');
  // A JWT the server does not know is inactive, whatever its signature.
  const other = jwt('rsa-a', 'https://p.test', { sub: 'unknown' });
  const denied = await rawRequest(envoy.ports[0], { path: '/x', headers: bearer(other) });
  assert.equal(denied.status, 401);
  assert.equal(seen.size, 2, 'each call has a new jti');
});

test('requests that arrive while discovery and the JWKS load wait, then are decided; no fetch per request', { timeout: 60_000 }, async (t) => {
  const iss = 'https://slow.test';
  tenant('slow', { issuer: iss, jwks: ['rsa-a'], mode: 'slow' });
  const envoy = await envoyWith([{ issuers: [{ issuer: iss, audiences: ['api'], algorithms: ['RS256'],
    discovery: `${base}/slow/discovery`, remote: REMOTE({ timeout_ms: 4000 }) }], roles: ROLES }]);
  t.after(() => envoy.stop());
  const token = jwt('rsa-a', iss);
  // Discovery answers after 1.5 s and the JWKS 1.5 s later: these all wait.
  const answers = await Promise.all(Array.from({ length: 6 }, () => rawRequest(envoy.ports[0], { path: '/x', headers: bearer(token) })));
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 200]);
  // One fetch per Envoy VM (the main thread's and the worker's), however
  // many requests wait: none of them starts its own.
  assert.ok(hits.slow.discovery <= 2 && hits.slow.jwks <= 2, JSON.stringify(hits.slow));
});
