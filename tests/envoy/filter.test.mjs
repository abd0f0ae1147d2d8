// What the Envoy filter adds around the core: header hygiene, identity
// forwarding, dry run, metrics, audit log, the token cache, fail-closed
// configuration.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mintToken } from '../../pkg/node.js';
import { loadKeys, publicJwk } from '../vectors/runner.mjs';
import { readFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEnvoy, startUpstream, rawRequest, readUntil, FILTER_WASM } from './harness.mjs';

const keys = loadKeys();
const ISSUER = 'https://idp.test';
const now = () => Math.floor(Date.now() / 1000);

const basePolicy = (extra = {}) => ({
  issuers: [{ issuer: ISSUER, audiences: ['api'], jwks: { keys: [publicJwk(keys['ec-a'])] }, algorithms: ['ES256'], leeway_seconds: 0 }],
  path_prefix: '/api',
  roles: [
    { name: 'admin', required_attributes: [{ claim: 'role', value: 'admin' }], rules: [{ effect: 'allow', methods: ['*'], paths: ['/**'] }] },
    { name: 'reader', required_attributes: [{ claim: 'role', value: 'reader' }], rules: [{ effect: 'allow', methods: ['read'], paths: ['/**'] }] },
  ],
  ...extra,
});

const token = (claims = {}) => mintToken({
  key: keys['ec-a'],
  claims: { iss: ISSUER, aud: 'api', sub: 'alice', client_id: 'cli-1', iat: now() - 5, exp: now() + 600, role: 'reader', ...claims },
});
const bearer = (t) => ['authorization', `Bearer ${t}`];
const echoOf = (res) => JSON.parse(Buffer.from(res.headers['x-echo'][0], 'base64url').toString('utf8'));

let upstream;
let envoy;
// Listener order: enforce (default settings), dry run, custom envoy settings,
// Basic pass-through with outside_prefix allow, no identity forwarded.
const POLICIES = [
  basePolicy(),
  basePolicy({ mode: 'dry_run' }),
  basePolicy({ envoy: { subject_header: 'x-admin-subject', roles_header: 'x-admin-roles', client_id_header: 'x-admin-client', stat_prefix: 'custom', forward_authorization: true, audit_log: false } }),
  basePolicy({ basic_auth: 'pass_through', outside_prefix: 'allow' }),
  basePolicy({ envoy: { forward_identity: false, stat_prefix: 'noidentity' } }),
  basePolicy({ bypass_cors_preflight: true, envoy: { stat_prefix: 'cors' } }),
];
const port = (i) => envoy.ports[i];
// Identity headers a client might send to impersonate someone.
const spoof = [['x-rolegate-subject', 'root'], ['x-rolegate-subject', 'root2'], ['x-rolegate-roles', 'admin'], ['x-rolegate-client-id', 'evil']];

before(async () => {
  upstream = await startUpstream();
  envoy = await startEnvoy({ policies: POLICIES, upstreamPort: upstream.port });
});
after(async () => {
  await envoy?.stop();
  await upstream?.close();
});

test('with bypass_cors_preflight, only a genuine preflight reaches the upstream, without identity', async () => {
  const preflight = [['origin', 'https://console.example.com'], ['access-control-request-method', 'DELETE'], ['access-control-request-headers', 'authorization']];
  const res = await rawRequest(port(5), { method: 'OPTIONS', path: '/api/users/1', headers: [...preflight, ...spoof] });
  assert.equal(res.status, 200);
  const echo = echoOf(res);
  assert.equal(echo.method, 'OPTIONS');
  assert.equal(echo.headers.origin, 'https://console.example.com');
  for (const name of ['x-rolegate-subject', 'x-rolegate-roles', 'x-rolegate-client-id']) assert.equal(echo.headers[name], undefined, `${name} is stripped`);
  // Not a preflight, or not only one: decided like any request.
  const withToken = await rawRequest(port(5), { method: 'OPTIONS', path: '/api/users/1', headers: [...preflight, bearer('x.y.z')] });
  assert.equal(withToken.status, 401);
  const bare = await rawRequest(port(5), { method: 'OPTIONS', path: '/api/users/1', headers: [['origin', 'https://console.example.com']] });
  assert.equal(bare.status, 401);
  const off = await rawRequest(port(0), { method: 'OPTIONS', path: '/api/users/1', headers: preflight });
  assert.equal(off.status, 401);
  // A real preflight from the browser's side: its token-carrying request after it is decided.
  const after = await rawRequest(port(5), { method: 'DELETE', path: '/api/users/1', headers: [['origin', 'https://console.example.com'], bearer(token())] });
  assert.equal(after.status, 403);
});

test('identity headers from the client never reach the upstream', async () => {
  const res = await rawRequest(port(0), { path: '/api/things', headers: [...spoof, bearer(token())] });
  assert.equal(res.status, 200);
  const echo = echoOf(res);
  assert.equal(echo.headers['x-rolegate-subject'], 'alice');
  assert.equal(echo.headers['x-rolegate-roles'], 'reader');
  assert.equal(echo.headers['x-rolegate-client-id'], 'cli-1');
  // Not forwarded with Basic pass-through or outside the prefix either.
  for (const path of ['/api/things', '/health']) {
    const r = await rawRequest(port(3), { path, headers: [...spoof, ['authorization', 'Basic YTpi']] });
    assert.equal(r.status, 200, path);
    const e = echoOf(r);
    for (const [name] of spoof) assert.equal(e.headers[name], undefined, `${path} ${name}`);
    assert.equal(e.headers.authorization, 'Basic YTpi', 'Basic credentials go to the upstream');
  }
});

test('forward_identity off: no identity upstream, and none from the client either', async () => {
  const res = await rawRequest(port(4), { path: '/api/things', headers: [...spoof, bearer(token())] });
  assert.equal(res.status, 200);
  const echo = echoOf(res);
  for (const [name] of spoof) assert.equal(echo.headers[name], undefined, name);
  assert.equal(echo.headers.authorization, undefined);
});

test('identity values are made header-safe', async () => {
  const res = await rawRequest(port(0), { path: '/api/x', headers: [bearer(token({ sub: 'jürgen\r\nx-evil: 1' }))] });
  assert.equal(res.status, 200);
  const echo = echoOf(res);
  assert.equal(echo.headers['x-rolegate-subject'], 'j%C3%BCrgen%0D%0Ax-evil:%201');
  assert.equal(echo.headers['x-evil'], undefined);
});

test('the bearer token is removed upstream unless forward_authorization is set', async () => {
  const t = token();
  assert.equal(echoOf(await rawRequest(port(0), { path: '/api/x', headers: [bearer(t)] })).headers.authorization, undefined);
  const custom = echoOf(await rawRequest(port(2), { path: '/api/x', headers: [bearer(t), ['x-admin-subject', 'root']] }));
  assert.equal(custom.headers.authorization, `Bearer ${t}`);
  assert.equal(custom.headers['x-admin-subject'], 'alice');
  assert.equal(custom.headers['x-admin-roles'], 'reader');
  assert.equal(custom.headers['x-admin-client'], 'cli-1');
});

test('the upstream gets the canonical path and the original query', async () => {
  const res = await rawRequest(port(0), { path: '/api//a/./b/../%63?q=%2F..&x=1', headers: [bearer(token())] });
  assert.equal(res.status, 200);
  assert.equal(echoOf(res).path, '/api/a/c?q=%2F..&x=1');
});

test('denials carry RFC 6750 challenges and a JSON reason, never the token', async () => {
  const expired = token({ exp: now() - 30, iat: now() - 600 });
  const res = await rawRequest(port(0), { path: '/api/x', headers: [bearer(expired)] });
  assert.equal(res.status, 401);
  assert.equal(res.headers['www-authenticate'][0], 'Bearer realm="rolegate", error="invalid_token", error_description="The access token expired"');
  assert.equal(res.headers['content-type'][0], 'application/json');
  assert.deepEqual(JSON.parse(res.body), { status: 401, reason: 'invalid_token', cause: 'expired' });
  assert.ok(!res.body.includes(expired.split('.')[1]));
  const three = await rawRequest(port(0), { path: '/api/x', headers: [bearer('a'), bearer('b'), bearer('c')] });
  assert.equal(three.status, 400);
  assert.equal(JSON.parse(three.body).cause, 'multiple_authorization_headers');
  const none = await rawRequest(port(0), { path: '/api/x' });
  assert.equal(none.status, 401);
  assert.equal(none.headers['www-authenticate'][0], 'Bearer realm="rolegate"');
  const forbidden = await rawRequest(port(0), { method: 'DELETE', path: '/api/x', headers: [bearer(token())] });
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.headers['www-authenticate'], undefined);
});

test('dry run forwards what it would deny, and counts and logs it', async () => {
  const before = await envoy.settledStats();
  const res = await rawRequest(port(1), { method: 'DELETE', path: '/api/x', headers: [bearer(token())] });
  assert.equal(res.status, 200, 'forwarded in dry run');
  const forged = await rawRequest(port(1), { path: '/api/x', headers: [bearer(`${token()}x`)] });
  assert.equal(forged.status, 200);
  assert.equal(echoOf(forged).headers['x-rolegate-subject'], undefined, 'no identity from an invalid token');
  assert.ok(echoOf(res).headers.authorization, 'dry run leaves the token for the upstream');
  const after = await envoy.settledStats();
  const delta = (name) => (after[`wasmcustom.${name}`] ?? 0) - (before[`wasmcustom.${name}`] ?? 0);
  assert.equal(delta('rolegate_denied_not_permitted'), 1);
  assert.equal(delta('rolegate_denied_invalid_token'), 1);
  assert.equal(delta('rolegate_dry_run_let_through'), 2);
  const lines = auditLines().filter((l) => l.dry_run && l.reason === 'not_permitted');
  assert.ok(lines.length >= 1);
  assert.equal(lines.at(-1).forwarded, true);
  assert.deepEqual(lines.at(-1).methods, ['DELETE']);
});

test('metrics count each reason and the cache', async () => {
  const t = token({ role: 'admin', sub: `cache-${Date.now()}` });
  const before = await envoy.settledStats();
  for (let i = 0; i < 5; i++) assert.equal((await rawRequest(port(0), { path: '/api/x', headers: [bearer(t)] })).status, 200);
  await rawRequest(port(0), { path: '/api/x' });
  const after = await envoy.settledStats();
  const delta = (name) => (after[`wasmcustom.${name}`] ?? 0) - (before[`wasmcustom.${name}`] ?? 0);
  assert.equal(delta('rolegate_allowed'), 5);
  assert.equal(delta('rolegate_cache_misses'), 1);
  assert.equal(delta('rolegate_cache_hits'), 4);
  assert.equal(delta('rolegate_denied_missing_credentials'), 1);
  // The custom stat prefix of listener 2.
  await rawRequest(port(2), { path: '/api/x' });
  const custom = 'wasmcustom.custom_denied_missing_credentials';
  assert.ok((await envoy.statsWhen((s) => s[custom] >= 1))[custom] >= 1);
});

test('a cached token stops working when it expires', async () => {
  const t = token({ exp: now() + 2, sub: `short-${Date.now()}` });
  assert.equal((await rawRequest(port(0), { path: '/api/x', headers: [bearer(t)] })).status, 200);
  assert.equal((await rawRequest(port(0), { path: '/api/x', headers: [bearer(t)] })).status, 200);
  await new Promise((r) => setTimeout(r, 3_200));
  const res = await rawRequest(port(0), { path: '/api/x', headers: [bearer(t)] });
  assert.equal(res.status, 401);
  assert.equal(JSON.parse(res.body).cause, 'expired');
});

test('the audit log has one line per decision and never a token', async () => {
  const sub = `audit-${Date.now()}`;
  const t = token({ sub });
  await rawRequest(port(0), { path: '/api/audited?access_token=secret-in-query', headers: [bearer(t)] });
  await rawRequest(port(0), { path: '/api/audited', headers: [bearer(t)] });
  const log = await envoy.waitForLog(new RegExp(`"subject":"${sub}"`));
  assert.ok(!log.includes(t.split('.')[2]), 'no signature in the log');
  assert.ok(!log.includes('secret-in-query'), 'no query in the log');
  const lines = auditLines().filter((l) => l.path === '/api/audited');
  assert.ok(lines.length >= 2);
  assert.deepEqual(lines.map((l) => l.reason).slice(-2), ['invalid_request', 'allowed']);
  assert.equal(lines.at(-1).subject, sub);
  assert.deepEqual(lines.at(-1).roles, ['reader']);
});

function auditLines() {
  return envoy.log().split('\n')
    .map((line) => line.match(/(\{"rolegate":"decision".*\})\s*$/))
    .filter(Boolean)
    .map((m) => JSON.parse(m[1]));
}

test('an invalid policy stops Envoy from starting, naming the field', async () => {
  const bad = basePolicy();
  bad.roles[1].rules[0].paths = ['/a**'];
  await assert.rejects(startEnvoy({ policies: [bad], upstreamPort: upstream.port, timeoutMs: 30_000 }), (e) => {
    assert.match(e.message, /rolegate: invalid configuration \(line \d+, column \d+\): roles\[1\]\.rules\[0\]\.paths\[0\]: '\*\*' may only be a whole segment \[invalid_value\]/);
    return true;
  });
  await assert.rejects(startEnvoy({ policies: ['{"issuers": ['], upstreamPort: upstream.port, timeoutMs: 30_000 }), /rolegate: invalid configuration \(line \d+, column \d+\): .*\[invalid_json\]/);
});

test('the access log shows each decision: allowed, status, reason, cause, subject, client, roles, rule (one filter-state value)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rolegate-access-'));
  const file = join(dir, 'access.log');
  const logged = await startEnvoy({ policies: [basePolicy()], upstreamPort: upstream.port, accessLog: file, timeoutMs: 30_000 });
  try {
    const ok = await rawRequest(logged.ports[0], { path: '/api/things?secret=1', headers: [bearer(token())] });
    const denied = await rawRequest(logged.ports[0], { method: 'DELETE', path: '/api/things', headers: [bearer(token())] });
    const missing = await rawRequest(logged.ports[0], { path: '/api/things' });
    const bad = await rawRequest(logged.ports[0], { path: '/api/things', headers: [bearer(`${token()}x`)] });
    assert.deepEqual([ok.status, denied.status, missing.status, bad.status], [200, 403, 401, 401]);
    // Envoy writes the access log when a stream ends, buffered: wait for all four lines.
    const readLines = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
    const lines = await readUntil(readLines, (read) => read.length >= 4, { waitMs: 10_000 });
    assert.equal(lines.length, 4, 'one access-log line per request');
    // rolegate's part is one value, the audit line's JSON.
    const [a, d, m, b] = lines.map((l) => ({ ...l, decision: JSON.parse(l.rolegate) }));
    assert.deepEqual([a.response_code, a.path, a.method], [200, '/api/things', 'GET']);
    // Who asked, and the id that ties the line to the upstream's own logs.
    for (const line of lines) {
      assert.equal(line.client_address, '127.0.0.1');
      assert.match(line.request_id, /^[0-9a-f-]{36}$/);
    }
    assert.equal(new Set(lines.map((l) => l.request_id)).size, 4, 'each request its own id');
    assert.deepEqual(
      (({ allowed, forwarded, status, reason, cause, subject, client_id: client, roles, rule }) => ({ allowed, forwarded, status, reason, cause, subject, client, roles, rule }))(a.decision),
      { allowed: true, forwarded: true, status: 200, reason: 'allowed', cause: null, subject: 'alice', client: 'cli-1', roles: ['reader'], rule: 'reader#0' },
    );
    assert.deepEqual([d.response_code, d.method, d.decision.reason, d.decision.roles, d.decision.forwarded], [403, 'DELETE', 'not_permitted', ['reader'], false]);
    assert.deepEqual([m.response_code, m.decision.reason, m.decision.subject], [401, 'missing_credentials', null]);
    assert.deepEqual([b.decision.reason, b.decision.cause], ['invalid_token', 'invalid_signature']);
    assert.ok(lines.every((l) => !JSON.stringify(l).includes('secret=1')), 'the query is not logged');
  } finally {
    await logged.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an upstream named by a host name is resolved by Envoy (generated config)', async () => {
  const named = await startEnvoy({ policies: [basePolicy()], upstreamPort: upstream.port, upstreamHost: 'localhost', timeoutMs: 30_000 });
  try {
    const res = await rawRequest(named.ports[0], { path: '/api/things', headers: [bearer(token())] });
    assert.equal(res.status, 200);
    assert.equal(echoOf(res).headers['x-rolegate-subject'], 'alice');
  } finally {
    await named.stop();
  }
});

test('oversized tokens and headers are refused, never forwarded', async () => {
  // Over the default max_token_bytes (32 KiB), within Envoy's header limit.
  const big = token({ pad: 'x'.repeat(30_000) });
  const res = await rawRequest(port(0), { path: '/api/x', headers: [bearer(big)] });
  assert.equal(res.status, 401);
  assert.equal(JSON.parse(res.body).cause, 'token_too_large');
  // An Entra ID token with 200 groups (~11 KB) is within it.
  const groups = Array.from({ length: 200 }, (_, i) => `${String(i).padStart(8, '0')}-1c2d-4e5f-8a9b-0c1d2e3f4a5b`);
  const entra = await rawRequest(port(0), { path: '/api/x', headers: [bearer(token({ groups }))] });
  assert.equal(entra.status, 200, entra.body);
  // Past Envoy's own header limit (60 KiB) Envoy answers before the filter.
  const huge = await rawRequest(port(0), { path: '/api/x', headers: [bearer(token()), ['x-filler', 'y'.repeat(100_000)]] });
  assert.ok(huge.status === 431 || huge.status === 400, `got ${huge.status}`);
  const longPath = await rawRequest(port(0), { path: `/api/${'a/'.repeat(5_000)}`, headers: [bearer(token())] });
  assert.equal(longPath.status, 400);
  assert.equal(JSON.parse(longPath.body).cause, 'path_too_long');
});

test('the filter exports only the callbacks it implements', async () => {
  // Envoy calls every exported callback on every request (scripts/build-filter.sh);
  // the trailers callback only for requests that have trailers, which it removes.
  const module = new WebAssembly.Module(readFileSync(FILTER_WASM));
  const exported = WebAssembly.Module.exports(module).map((e) => e.name).sort();
  assert.deepEqual(exported, [
    '_initialize', 'memory', 'proxy_abi_version_0_2_1', 'proxy_on_configure', 'proxy_on_context_create',
    'proxy_on_delete', 'proxy_on_http_call_response', 'proxy_on_memory_allocate', 'proxy_on_request_body',
    'proxy_on_request_headers', 'proxy_on_request_trailers', 'proxy_on_tick', 'proxy_on_vm_start',
  ]);
});
