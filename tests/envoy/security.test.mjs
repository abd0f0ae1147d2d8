// Attacks on the generated Envoy config with real upstream stacks behind it
// (Express 4, which routes case-insensitively; Python's wsgiref, which reads
// '_' in header names as '-'). Every request an attacker can send is decided
// before anything reaches the upstream, and the upstream never runs a
// route the policy denies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect as http2Connect } from 'node:http2';
import { mintToken } from '../../pkg/node.js';
import { loadKeys, publicJwk } from '../vectors/runner.mjs';
import { startEnvoy, rawRequest, freePort, spawnTracked } from './harness.mjs';
import { startExpressUpstream } from './upstreams/express.mjs';

const keys = loadKeys();
const now = () => Math.floor(Date.now() / 1000);
const readJson = (p) => JSON.parse(readFileSync(new URL(p, import.meta.url), 'utf8'));
const IDP = 'https://idp.test';

// PingAccess preset, Platform Administrator on, trusting the test keys.
const pingaccess = (extra = {}) => ({
  ...readJson('../../examples/pingaccess.json'),
  issuers: [{ issuer: IDP, audiences: ['pingaccess-admin-api'], jwks: { keys: [publicJwk(keys['rsa-a'])] }, algorithms: ['RS256'] }],
  ...extra,
});
const PEXIP_ISSUER = 'https://pexip-manager.test';
const TOKEN_URL = `${PEXIP_ISSUER}/oauth/token/`;
// Pexip preset with rolegate's own token endpoint, small per-client shares.
const pexip = {
  ...readJson('../../examples/pexip.json'),
  issuers: [],
  token_endpoint: {
    issuer: PEXIP_ISSUER, audience: 'pexip-management-api', signing_key: keys['pexip-node'],
    active_tokens_role: 'administrator', client_limits: { active_tokens: 5, tokens_per_minute: 1000 },
  },
  oauth2_clients: [
    { client_id: 'c-admin', name: 'automation', role: 'administrator', jwk: publicJwk(keys['ec-a']) },
    { client_id: 'c-ro', name: 'dashboard', role: 'read_only', jwk: publicJwk(keys['ed-a']) },
    { client_id: 'c-ec', name: 'monitoring', role: 'read_only', jwk: publicJwk(keys['attacker-ec']) },
  ],
};

const paToken = (group, claims = {}) => mintToken({
  key: keys['rsa-a'],
  claims: { iss: IDP, aud: 'pingaccess-admin-api', sub: 'audrey', scope: 'admin', iat: now() - 5, exp: now() + 600, group, ...claims },
});
const AUDITOR = 'cn=pingaccess-auditors,o=myorg';
const ADMIN = 'cn=pingaccess-admins,o=myorg';
const bearer = (t) => ['authorization', `Bearer ${t}`];
const spoofed = [['x-rolegate-roles', 'administrator'], ['x-rolegate-subject', 'mallory'], ['x-rolegate-client-id', 'c-admin']];

let express;
let envoy;
// Listeners: 0 Pexip with token endpoint, 1 PingAccess, 2 PingAccess with an
// upstream declared exact, all in front of Express.
before(async () => {
  express = await startExpressUpstream();
  envoy = await startEnvoy({
    policies: [pexip, pingaccess(), pingaccess({ upstream_paths: { case_insensitive: false, format_suffixes: false, trims_dots_and_spaces: false, folds_unicode: false } })],
    upstreamPort: express.port,
    concurrency: 2,
  });
});
after(async () => {
  await envoy?.stop();
  await express?.close();
});

/** Sends `request` and asserts the upstream ran nothing for it. */
async function notForwarded(port, request) {
  const before = express.hits.length;
  const res = await rawRequest(port, request);
  assert.equal(express.hits.length, before, `${request.method ?? 'GET'} ${request.path} reached the upstream (${res.status}): ${JSON.stringify(express.hits.at(-1))}`);
  return res;
}

test('a token-endpoint path spelt differently is decided, never forwarded undecided', async () => {
  for (const path of [
    '/api/admin/configuration/v1/conference/1/../../../../../../oauth/token/',
    '//oauth/token/',
    '/oauth//token/',
    '/oauth/./token/',
    '/%6Fauth/token/',
    '/x/%2e%2e/oauth/token/',
    '/oauth/x/%2E%2E/token/',
    '/api/admin/../oauth/tokens/',
  ]) {
    const res = await notForwarded(envoy.ports[0], { method: 'DELETE', path, headers: [['content-length', '1'], ...spoofed], body: 'x' });
    // Decided like any other path: /oauth/... is outside /api/admin.
    assert.equal(res.status, 403, `${path}: ${res.body}`);
    assert.equal(JSON.parse(res.body).reason, 'outside_prefix_denied', path);
  }
  // With a token the same spellings are still only decided.
  const ro = await obtain('ed-a', 'c-ro');
  const res = await notForwarded(envoy.ports[0], { method: 'POST', path: '/api/admin/x/../../../oauth/token/', headers: [bearer(ro), ['content-length', '1']], body: 'x' });
  assert.equal(res.status, 403, res.body);
});

test('the token endpoint on its exact path is answered by rolegate, its body never forwarded', async () => {
  for (const path of ['/oauth/token/', '/oauth/token/?x=1']) {
    const body = 'grant_type=client_credentials';
    const res = await notForwarded(envoy.ports[0], { method: 'POST', path, headers: [['content-type', FORM], ['content-length', String(body.length)], ...spoofed], body });
    assert.equal(res.status, 401, res.body);
    assert.equal(JSON.parse(res.body).error, 'invalid_client');
  }
});

test('case variants of denied paths are denied in front of a case-insensitive upstream', async () => {
  const auditor = paToken(AUDITOR);
  for (const path of ['/pa-admin-api/v3/Config', '/pa-admin-api/v3/CONFIG', '/pa-admin-api/v3/%43onfig', '/pa-admin-api/v3/Backup', '/pa-admin-api/v3/agent/1/Config', '/PA-ADMIN-API/v3/config']) {
    const res = await notForwarded(envoy.ports[1], { path, headers: [bearer(auditor)] });
    assert.equal(res.status, 403, `${path}: ${res.body}`);
    assert.equal(JSON.parse(res.body).reason, 'denied_by_rule', path);
  }
  const admin = paToken(ADMIN);
  for (const [method, path] of [['PUT', '/pa-admin-api/v3/Users/1'], ['POST', '/pa-admin-api/v3/AUTH/x'], ['DELETE', '/pa-admin-api/v3/uSeRs/2']]) {
    const res = await notForwarded(envoy.ports[1], { method, path, headers: [bearer(admin), ['content-length', '0']] });
    assert.equal(res.status, 403, `${method} ${path}: ${res.body}`);
  }
  // What the role does allow still reaches Express.
  const ok = await rawRequest(envoy.ports[1], { path: '/pa-admin-api/v3/Users/1', headers: [bearer(auditor)] });
  assert.equal(ok.status, 200, ok.body);
  assert.equal(JSON.parse(ok.body).route, 'user');
});

test('spellings upstreams fold onto denied resources are refused or denied', async () => {
  const auditor = paToken(AUDITOR);
  for (const [path, status, cause] of [
    ['/pa-admin-api/v3/config.', 400, 'trailing_dot_or_space'],
    ['/pa-admin-api/v3/config%20', 400, 'trailing_dot_or_space'],
    ['/pa-admin-api/v3/backup..', 400, 'trailing_dot_or_space'],
    ['/pa-admin-api/v3/%EF%BD%83%EF%BD%8F%EF%BD%8E%EF%BD%86%EF%BD%89%EF%BD%87', 400, 'unicode_lookalike'],
    ['/pa-admin-api/v3/bac%E2%84%AAup', 400, 'unicode_lookalike'],
    ['/pa-admin-api/v3/conf%C4%B1g', 400, 'unicode_lookalike'],
    ['/pa-admin-api/v3/config.json', 403, null],
    ['/pa-admin-api/v3/agent/1/config.xml', 403, null],
  ]) {
    const res = await notForwarded(envoy.ports[1], { path, headers: [bearer(auditor)] });
    assert.equal(res.status, status, `${path}: ${res.body}`);
    if (cause) assert.equal(JSON.parse(res.body).cause, cause, path);
  }
});

test('an upstream declared exact gets exactly what it asked for', async () => {
  // upstream_paths all false: /Config is another resource to rolegate, and
  // Express (case-insensitive) shows why the default assumes otherwise.
  const res = await rawRequest(envoy.ports[2], { path: '/pa-admin-api/v3/Config', headers: [bearer(paToken(AUDITOR))] });
  assert.equal(res.status, 200, res.body);
  assert.equal(JSON.parse(res.body).route, 'config');
  const exact = await rawRequest(envoy.ports[2], { path: '/pa-admin-api/v3/config', headers: [bearer(paToken(AUDITOR))] });
  assert.equal(exact.status, 403);
});

const FORM = 'application/x-www-form-urlencoded';
let seq = 0;
function tokenRequest(key, client) {
  const assertion = mintToken({ key: keys[key], claims: { iss: client, sub: client, aud: TOKEN_URL, iat: now(), exp: now() + 60, jti: `s-${Date.now()}-${seq++}` } });
  const body = `grant_type=client_credentials&client_assertion_type=${encodeURIComponent('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')}&client_assertion=${assertion}`;
  return rawRequest(envoy.ports[0], { method: 'POST', path: '/oauth/token/', headers: [['content-type', FORM], ['content-length', String(body.length)]], body });
}
async function obtain(key, client) {
  const res = await tokenRequest(key, client);
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body).access_token;
}

test('one client flooding the token endpoint exhausts only its own share', async () => {
  // test 1 already holds one read_only token; its share is 5.
  const statuses = [];
  for (let i = 0; i < 24; i++) {
    const res = await tokenRequest('ed-a', 'c-ro');
    statuses.push(res.status);
    if (res.status === 429) {
      assert.match(JSON.parse(res.body).error_description, /c-ro holds 5 active tokens/);
      assert.ok(Number(res.headers['retry-after'][0]) > 0);
    }
  }
  assert.equal(statuses.filter((s) => s === 200).length, 4, statuses.join(' '));
  assert.equal(statuses.filter((s) => s === 429).length, 20, statuses.join(' '));
  // The administrator's client is not affected, on either worker.
  for (let i = 0; i < 4; i++) await obtain('ec-a', 'c-admin');
});

// Underscore spellings against a WSGI app.
test('underscore spellings of identity and override headers never reach a WSGI app', async (t) => {
  const port = await freePort();
  const script = fileURLToPath(new URL('./upstreams/wsgi_echo.py', import.meta.url));
  const wsgi = spawnTracked('python3', [script, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => wsgi.kill('SIGKILL'));
  await new Promise((resolve, reject) => {
    wsgi.stdout.once('data', resolve);
    wsgi.once('exit', (code) => reject(new Error(`wsgi_echo exited ${code}`)));
  });
  const policy = {
    issuers: [{ issuer: IDP, audiences: ['api'], jwks: { keys: [publicJwk(keys['rsa-a'])] }, algorithms: ['RS256'] }],
    roles: [
      { name: 'reader', required_attributes: [{ claim: 'role', value: 'reader' }], rules: [{ effect: 'allow', methods: ['read'], paths: ['/**'] }] },
      { name: 'admin', required_attributes: [{ claim: 'role', value: 'admin' }], rules: [{ effect: 'allow', methods: ['*'], paths: ['/**'] }] },
    ],
  };
  // The generated config (underscores rejected) and a hand-written one that lets them in.
  const generated = await startEnvoy({ policies: [policy], upstreamPort: port });
  const handWritten = await startEnvoy({ policies: [policy], upstreamPort: port, underscoreHeaders: 'allow' });
  t.after(async () => { await generated.stop(); await handWritten.stop(); });
  const reader = mintToken({ key: keys['rsa-a'], claims: { iss: IDP, aud: 'api', sub: 'alice', role: 'reader', iat: now() - 5, exp: now() + 600 } });
  const forged = [['x_rolegate_roles', 'admin'], ['X_Rolegate_Subject', 'mallory'], ['x_rolegate_client_id', 'evil']];

  const refused = await rawRequest(generated.ports[0], { path: '/things', headers: [bearer(reader), ...forged] });
  assert.equal(refused.status, 400, 'the generated config rejects underscore header names');

  const res = await rawRequest(handWritten.ports[0], { path: '/things', headers: [bearer(reader), ...forged] });
  assert.equal(res.status, 200, res.body);
  const env = JSON.parse(res.body);
  assert.equal(env.HTTP_X_ROLEGATE_ROLES, 'reader');
  assert.equal(env.HTTP_X_ROLEGATE_SUBJECT, 'alice');
  assert.equal(env.HTTP_X_ROLEGATE_CLIENT_ID, undefined);
  assert.equal(env.HTTP_AUTHORIZATION, undefined);

  // An underscore spelling of a method override is judged like the dashed one.
  for (const name of ['x_http_method_override', 'X_HTTP_METHOD', 'x_method_override']) {
    const overridden = await rawRequest(handWritten.ports[0], { path: '/things', headers: [bearer(reader), [name, 'DELETE']] });
    assert.equal(overridden.status, 403, `${name}: ${overridden.body}`);
    assert.equal(JSON.parse(overridden.body).reason, 'not_permitted');
  }

  // HTTP/2 too.
  const session = http2Connect(`http://127.0.0.1:${handWritten.ports[0]}`);
  t.after(() => session.close());
  const h2 = (headers) => new Promise((resolve, reject) => {
    const stream = session.request({ ':path': '/things', authorization: `Bearer ${reader}`, ...headers });
    let status;
    let body = '';
    stream.on('response', (h) => { status = h[':status']; });
    stream.on('data', (d) => { body += d; });
    stream.on('end', () => resolve({ status, body }));
    stream.on('error', reject);
    stream.end();
  });
  const viaH2 = await h2({ x_rolegate_roles: 'admin' });
  assert.equal(viaH2.status, 200, viaH2.body);
  assert.equal(JSON.parse(viaH2.body).HTTP_X_ROLEGATE_ROLES, 'reader');
  const overrideH2 = await h2({ x_http_method_override: 'DELETE' });
  assert.equal(overrideH2.status, 403, overrideH2.body);
});

test('replay protection does not depend on the signature bytes (ECDSA high-S twin)', async () => {
  const N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551n;
  const assertion = mintToken({ key: keys['attacker-ec'], claims: { iss: 'c-ec', sub: 'c-ec', aud: TOKEN_URL, iat: now(), exp: now() + 60, jti: `twin-${Date.now()}` } });
  const [head, payload, signature] = assertion.split('.');
  const raw = Buffer.from(signature, 'base64url');
  const s = BigInt(`0x${raw.subarray(32).toString('hex')}`);
  const twinS = Buffer.from((N - s).toString(16).padStart(64, '0'), 'hex');
  const twin = `${head}.${payload}.${Buffer.concat([raw.subarray(0, 32), twinS]).toString('base64url')}`;
  const send = (a) => {
    const body = `grant_type=client_credentials&client_assertion_type=${encodeURIComponent('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')}&client_assertion=${a}`;
    return rawRequest(envoy.ports[0], { method: 'POST', path: '/oauth/token/', headers: [['content-type', FORM], ['content-length', String(body.length)]], body });
  };
  assert.equal((await send(assertion)).status, 200);
  const replayed = await send(twin);
  assert.equal(replayed.status, 401, replayed.body);
  assert.match(JSON.parse(replayed.body).error_description, /jti replayed/);
});
