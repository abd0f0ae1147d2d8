// The request the upstream acts on is the request rolegate decided. Each
// test puts a real upstream stack behind the generated Envoy config and
// sends what that stack reads differently from a plain reading: a
// lower-case method over HTTP/2 (Flask upper-cases it), `?_method=`
// (Express's method-override), a preflight or GET whose body a keep-alive
// http.server reads as a second request, `%3A` (wsgiref decodes it), a token
// request on an Istio-shaped chain, a fractional `exp`. Each asserts what
// rolegate answered and that the upstream ran nothing it did not decide.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect as http2Connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { createServer } from 'node:http';
import { mintToken } from '../../pkg/node.js';
import { loadKeys, publicJwk } from '../vectors/runner.mjs';
import { startEnvoy, rawRequest, freePort, spawnTracked } from './harness.mjs';
import { startExpressUpstream } from './upstreams/express.mjs';

const keys = loadKeys();
const now = () => Math.floor(Date.now() / 1000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const IDP = 'https://idp.test';
const PYTHON = fileURLToPath(new URL('../../target/interop-venv/bin/python', import.meta.url));

// An operator may do anything but DELETE or PUT users, and nothing on the
// export and on @me; an auditor may read.
const policy = {
  issuers: [{ issuer: IDP, audiences: ['api'], jwks: { keys: [publicJwk(keys['rsa-a'])] }, algorithms: ['RS256'] }],
  bypass_cors_preflight: true,
  roles: [
    {
      name: 'operator', required_attributes: [{ claim: 'role', value: 'operator' }],
      rules: [
        { effect: 'allow', methods: ['*'], paths: ['/**'] },
        { effect: 'deny', methods: ['DELETE', 'PUT'], paths: ['/users/**'] },
        { effect: 'deny', methods: ['*'], paths: ['/v1/config:export', '/users/@me/**'] },
      ],
    },
    { name: 'auditor', required_attributes: [{ claim: 'role', value: 'auditor' }], rules: [{ effect: 'allow', methods: ['read'], paths: ['/**'] }] },
  ],
};
const token = (role, claims = {}) => mintToken({
  key: keys['rsa-a'],
  claims: { iss: IDP, aud: 'api', sub: 'olive', iat: now() - 5, exp: now() + 600, role, ...claims },
});
const bearer = (t) => ['authorization', `Bearer ${t}`];

/** A Python upstream from tests/envoy/upstreams, on a free port. */
async function startPython(script, t) {
  const port = await freePort();
  const file = fileURLToPath(new URL(`./upstreams/${script}`, import.meta.url));
  const child = spawnTracked(PYTHON, [file, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`${script} exited ${code}`)));
  });
  // What the upstream ran since the last call (its own /_ran, asked directly).
  const ran = async () => (await fetch(`http://127.0.0.1:${port}/_ran`)).json();
  return { port, ran };
}

/** One HTTP/2 request (prior knowledge, as `curl --http2-prior-knowledge`). */
function h2Request(port, headers, body) {
  return new Promise((resolve, reject) => {
    const session = http2Connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const stream = session.request(headers, { endStream: body === undefined });
    let status;
    let text = '';
    stream.on('response', (h) => { status = h[':status']; });
    stream.on('data', (d) => { text += d; });
    stream.on('end', () => { session.close(); resolve({ status, body: text }); });
    stream.on('error', (e) => { session.close(); reject(e); });
    if (body !== undefined) stream.end(body);
  });
}

test('a lower-case method over HTTP/2 is refused; Flask never runs it as DELETE', async (t) => {
  const flask = await startPython('flask_app.py', t);
  const envoy = await startEnvoy({ policies: [policy], upstreamPort: flask.port });
  t.after(() => envoy.stop());
  const operator = token('operator');
  const h2 = (method, path) => h2Request(envoy.ports[0], { ':method': method, ':path': path, authorization: `Bearer ${operator}` });
  for (const method of ['delete', 'Delete', 'put']) {
    const res = await h2(method, '/users/1');
    assert.equal(res.status, 400, `${method}: ${res.body}`);
    assert.equal(JSON.parse(res.body).cause, 'lower_case_method', method);
  }
  const upper = await h2('DELETE', '/users/1');
  assert.equal(upper.status, 403, upper.body);
  assert.deepEqual(await flask.ran(), [], 'Flask ran nothing');
  // A lower-case override header is refused too; an allowed request runs.
  const override = await h2Request(envoy.ports[0], { ':method': 'POST', ':path': '/users/1', authorization: `Bearer ${operator}`, 'x-http-method-override': 'delete' });
  assert.equal(override.status, 400, override.body);
  const ok = await h2('POST', '/users/1');
  assert.equal(ok.status, 200, ok.body);
  assert.deepEqual(await flask.ran(), [{ method: 'POST', path: '/users/1', roles: 'operator' }]);
});

test("?_method= in any case or encoding is judged, and form bodies refused: Express's method-override runs nothing denied", async (t) => {
  const express = await startExpressUpstream();
  const envoy = await startEnvoy({ policies: [policy, { ...policy, form_posts: 'allow' }], upstreamPort: express.port }).catch(async (e) => { await express.close(); throw e; });
  // Envoy first: Express's close waits for Envoy's kept connections.
  t.after(async () => { await envoy.stop(); await express.close(); });
  const operator = [bearer(token('operator')), ['content-length', '0']];
  for (const [path, status, cause] of [
    ['/users/1?_method=DELETE', 403, null],
    ['/users/1?_method=PUT', 403, null],
    ['/users/1?_%6Dethod=DELETE', 403, null],
    ['/users/1?x=1&_METHOD=DELETE', 403, null],
    ['/users/1?_method=put', 400, 'lower_case_method_override'],
    ['/users/1?_method=delete', 400, 'lower_case_method_override'],
  ]) {
    const before = express.hits.length;
    const res = await rawRequest(envoy.ports[0], { method: 'POST', path, headers: operator });
    assert.equal(res.status, status, `${path}: ${res.body}`);
    if (cause) assert.equal(JSON.parse(res.body).cause, cause, path);
    assert.equal(express.hits.length, before, `${path} ran ${JSON.stringify(express.hits.at(-1))}`);
  }
  // Where the role may run the override, Express runs it as decided.
  const res = await rawRequest(envoy.ports[0], { method: 'POST', path: '/things/1?_method=DELETE', headers: operator });
  assert.equal(res.status, 200, res.body);
  assert.equal(express.hits.at(-1).method, 'DELETE');

  // A form body's _method is not read by rolegate: such a POST is refused.
  const formPost = (port) => {
    const body = '_method=DELETE';
    return rawRequest(port, { method: 'POST', path: '/users/1', headers: [bearer(token('operator')), ['content-type', 'application/x-www-form-urlencoded'], ['content-length', String(body.length)]], body });
  };
  const before = express.hits.length;
  const refused = await formPost(envoy.ports[0]);
  assert.equal(refused.status, 400, refused.body);
  assert.equal(JSON.parse(refused.body).cause, 'form_post');
  assert.equal(express.hits.length, before, 'Express ran nothing');
  // Why that is the default: with form_posts allow, Express runs the DELETE
  // the operator may not.
  const allowed = await formPost(envoy.ports[1]);
  assert.equal(allowed.status, 200, allowed.body);
  assert.deepEqual([express.hits.at(-1).method, express.hits.at(-1).path], ['DELETE', '/users/1']);
});

test('no body reaches a keep-alive upstream on a preflight or a GET, where it would be read as a second request', async (t) => {
  const server = await startPython('keepalive_server.py', t);
  const envoy = await startEnvoy({ policies: [policy], upstreamPort: server.port });
  t.after(() => envoy.stop());
  const smuggled = 'DELETE /users/1 HTTP/1.1\r\nhost: x\r\nx-rolegate-roles: operator\r\ncontent-length: 0\r\n\r\n';
  const preflight = [['origin', 'https://console.example.com'], ['access-control-request-method', 'DELETE']];
  // Without a token, with a body: no preflight, so 401.
  for (const extra of [[['content-length', String(smuggled.length)]], [['content-type', 'text/plain'], ['content-length', String(smuggled.length)]]]) {
    const res = await rawRequest(envoy.ports[0], { method: 'OPTIONS', path: '/users/1', headers: [...preflight, ...extra], body: smuggled });
    assert.equal(res.status, 401, res.body);
  }
  // Over HTTP/2 the body needs no header to announce it.
  const h2 = await h2Request(envoy.ports[0], { ':method': 'OPTIONS', ':path': '/users/1', origin: 'https://console.example.com', 'access-control-request-method': 'DELETE' }, smuggled);
  assert.equal(h2.status, 401, h2.body);
  // An auditor's GET with a body: refused (read_bodies defaults to refuse).
  const get = await rawRequest(envoy.ports[0], { method: 'GET', path: '/users/1', headers: [bearer(token('auditor')), ['content-length', String(smuggled.length)]], body: smuggled });
  assert.equal(get.status, 400, get.body);
  assert.equal(JSON.parse(get.body).cause, 'body_on_read');
  await sleep(200);
  assert.deepEqual(await server.ran(), [], 'the upstream parsed no request at all');
  // A genuine preflight still passes, and is all the upstream sees.
  const genuine = await rawRequest(envoy.ports[0], { method: 'OPTIONS', path: '/users/1', headers: preflight });
  assert.equal(genuine.status, 200, genuine.body);
  assert.deepEqual(await server.ran(), [{ method: 'OPTIONS', path: '/users/1', roles: null }]);
});

test('a deny on config:export or @me holds for %3A and %40 in front of wsgiref, which decodes them', async (t) => {
  const wsgi = await startPython('wsgi_echo.py', t);
  const envoy = await startEnvoy({ policies: [policy], upstreamPort: wsgi.port });
  t.after(() => envoy.stop());
  const operator = [bearer(token('operator'))];
  for (const path of ['/v1/config%3Aexport', '/v1/config%3aexport', '/users/%40me/keys', '/users/%40me/../%40me/keys']) {
    const res = await rawRequest(envoy.ports[0], { path, headers: operator });
    assert.equal(res.status, 403, `${path}: ${res.body}`);
    assert.equal(JSON.parse(res.body).reason, 'denied_by_rule', path);
  }
  // What is allowed goes upstream in the one spelling rolegate judged.
  const res = await rawRequest(envoy.ports[0], { path: '/v1/jobs%3Arun?x=%3A', headers: operator });
  assert.equal(res.status, 200, res.body);
  assert.equal(JSON.parse(res.body).PATH_INFO, '/v1/jobs:run');
});

// The Pexip preset with rolegate's token endpoint.
const PEXIP_ISSUER = 'https://pexip-manager.test';
const TOKEN_URL = `${PEXIP_ISSUER}/oauth/token/`;
const pexip = {
  ...JSON.parse(readFileSync(new URL('../../examples/pexip.json', import.meta.url), 'utf8')),
  issuers: [],
  token_endpoint: { issuer: PEXIP_ISSUER, audience: 'pexip-management-api', signing_key: keys['pexip-node'], active_tokens_role: 'administrator' },
  oauth2_clients: [
    { client_id: 'c-admin', name: 'automation', role: 'administrator', jwk: publicJwk(keys['ec-a']) },
    { client_id: 'c-bulk', name: 'bulk', role: 'read_only', jwk: publicJwk(keys['ed-a']) },
  ],
};
const FORM = 'application/x-www-form-urlencoded';
const form = (assertion) => `grant_type=client_credentials&client_assertion_type=${encodeURIComponent('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')}&client_assertion=${assertion}`;
const tokenRequest = (port, assertion) => {
  const body = form(assertion);
  return rawRequest(port, { method: 'POST', path: '/oauth/token/', headers: [['content-type', FORM], ['content-length', String(body.length)]], body });
};

/** The generated config as an Istio sidecar has it: no rolegate routes, no buffer filter. */
function istioShaped(yaml) {
  const withoutRoutes = yaml.replace(/ {14}- match: \{path: "[^"]+"\}\n {16}direct_response: \{status: 404\}\n/g, '');
  const withoutBufferOff = withoutRoutes.replace(/\n {16}typed_per_filter_config:\n {18}envoy\.filters\.http\.buffer:\n[^\n]*\n[^\n]*disabled: true/g, '');
  const withoutBuffer = withoutBufferOff.replace(/ {10}- name: envoy\.filters\.http\.buffer\n {12}typed_config:\n[^\n]*\n[^\n]*max_request_bytes: \d+\n/g, '');
  assert.ok(!withoutBuffer.includes('buffer') && !withoutBuffer.includes('direct_response'), 'the transform removed rolegate routes and the buffer filter');
  return withoutBuffer;
}

test('on a chain shaped like an Istio sidecar, a token request never reaches the upstream', async (t) => {
  const express = await startExpressUpstream();
  const envoy = await startEnvoy({ policies: [pexip], upstreamPort: express.port, configTransform: istioShaped }).catch(async (e) => { await express.close(); throw e; });
  // Envoy first: Express's close waits for Envoy's kept connections.
  t.after(async () => { await envoy.stop(); await express.close(); });
  const assertion = mintToken({ key: keys['ec-a'], claims: { iss: 'c-admin', sub: 'c-admin', aud: TOKEN_URL, iat: now(), exp: now() + 60, jti: `i-${Date.now()}` } });
  const res = await tokenRequest(envoy.ports[0], assertion);
  assert.equal(res.status, 503, res.body);
  // A declared body that never comes: answered at once, still not forwarded.
  const withheld = await new Promise((resolve, reject) => {
    const socket = netConnect(envoy.ports[0], '127.0.0.1', () => {
      socket.write(`PUT /oauth/token/ HTTP/1.1\r\nhost: x\r\ncontent-type: ${FORM}\r\ncontent-length: 500\r\n\r\n`);
    });
    let text = '';
    socket.on('data', (d) => { text += d; if (text.includes('\r\n\r\n')) { socket.destroy(); resolve(text); } });
    socket.on('error', reject);
    setTimeout(() => { socket.destroy(); resolve(text); }, 5_000);
  });
  assert.match(withheld, /^HTTP\/1\.1 503/, withheld);
  assert.equal(express.hits.length, 0, `the upstream ran ${JSON.stringify(express.hits)}`);
  await envoy.waitForLog(/would get the request before rolegate answers it/);
});

test("an assertion with a fractional exp buys one token, also in its last valid second", async (t) => {
  const envoy = await startEnvoy({ policies: [pexip], directResponse: true });
  t.after(() => envoy.stop());
  // Start just after a second begins, so each request lands in the second meant.
  await sleep(1_000 - (Date.now() % 1_000) + 30);
  // exp = X.9 (as PyJWT writes time.time() + n): valid through second X + 60.
  const x = now() - 59;
  const assertion = mintToken({ key: keys['ec-a'], claims: { iss: 'c-admin', sub: 'c-admin', aud: TOKEN_URL, iat: x - 30, exp: x + 0.9, jti: `frac-${Date.now()}` } });
  const first = await tokenRequest(envoy.ports[0], assertion);
  assert.equal(first.status, 200, `second X + 59: ${first.body}`);
  await sleep(1_000 - (Date.now() % 1_000) + 30);
  assert.equal(now(), x + 60, 'the replay is sent in second X + 60');
  const replay = await tokenRequest(envoy.ports[0], assertion);
  assert.equal(replay.status, 401, `second X + 60: ${replay.body}`);
  assert.match(JSON.parse(replay.body).error_description, /jti replayed/);
});

test("one client's long assertion ids are stored as digests and cost another client nothing", async (t) => {
  // Shares large enough that every assertion below is spent, not refused.
  const roomy = { ...pexip, token_endpoint: { ...pexip.token_endpoint, client_limits: { active_tokens: 1000, tokens_per_minute: 1000 } } };
  const envoy = await startEnvoy({ policies: [roomy], directResponse: true, concurrency: 2 });
  t.after(() => envoy.stop());
  const long = (client, key, i) => mintToken({ key: keys[key], claims: { iss: client, sub: client, aud: TOKEN_URL, iat: now(), exp: now() + 60, jti: `${'j'.repeat(8_000)}-${Date.now()}-${i}` } });
  const sent = [];
  for (let i = 0; i < 40; i++) {
    const a = long('c-bulk', 'ed-a', i);
    sent.push(a);
    const res = await tokenRequest(envoy.ports[0], a);
    assert.equal(res.status, 200, res.body);
  }
  // Replays of long ids are still found.
  const replay = await tokenRequest(envoy.ports[0], sent[0]);
  assert.equal(replay.status, 401, replay.body);
  assert.match(JSON.parse(replay.body).error_description, /jti replayed/);
  // The administrator's client gets its tokens, on either worker.
  for (let i = 0; i < 4; i++) {
    const res = await tokenRequest(envoy.ports[0], long('c-admin', 'ec-a', i));
    assert.equal(res.status, 200, res.body);
  }
});

test('request trailers never reach the upstream, even where Envoy is set to pass them on', async (t) => {
  // A Node upstream that records the trailers it receives.
  const seen = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({ method: req.method, trailers: req.trailers });
      res.end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  // A hand-written config that lets HTTP/1 trailers through both ways.
  const withTrailers = (yaml) => yaml
    .replace(/( {10})stat_prefix: (\S+)\n/, '$1stat_prefix: $2\n$1http_protocol_options: {enable_trailers: true}\n')
    .replace(/( {4})connect_timeout: 2s\n/, `$1connect_timeout: 2s
$1typed_extension_protocol_options:
$1  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
$1    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
$1    explicit_http_config:
$1      http_protocol_options: {enable_trailers: true}
`);
  const envoy = await startEnvoy({ policies: [policy], upstreamPort: server.address().port, configTransform: withTrailers });
  t.after(async () => { await envoy.stop(); server.closeAllConnections(); await new Promise((r) => server.close(r)); });
  const answer = await new Promise((resolve, reject) => {
    const socket = netConnect(envoy.ports[0], '127.0.0.1', () => {
      socket.write([
        'POST /things HTTP/1.1', 'host: x', `authorization: Bearer ${token('operator')}`,
        'content-type: application/json', 'transfer-encoding: chunked', 'connection: close', '',
        '2', '{}', '0', 'x-rolegate-roles: operator', 'x-http-method-override: DELETE', 'x-custom: 1', '', '',
      ].join('\r\n'));
    });
    let text = '';
    socket.on('data', (d) => { text += d; });
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    setTimeout(() => { socket.destroy(); resolve(text); }, 5_000);
  });
  assert.match(answer, /^HTTP\/1\.1 200/, answer);
  // Over HTTP/2 too.
  const h2 = await new Promise((resolve, reject) => {
    const session = http2Connect(`http://127.0.0.1:${envoy.ports[0]}`);
    const stream = session.request({ ':method': 'POST', ':path': '/things', authorization: `Bearer ${token('operator')}`, 'content-type': 'application/json' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'x-rolegate-roles': 'operator', 'x-http-method-override': 'DELETE' }));
    let status;
    stream.on('response', (h) => { status = h[':status']; });
    stream.on('data', () => {});
    stream.on('end', () => { session.close(); resolve(status); });
    stream.on('error', (e) => { session.close(); reject(e); });
    stream.end('{}');
  });
  assert.equal(h2, 200);
  assert.equal(seen.length, 2, JSON.stringify(seen));
  for (const request of seen) assert.deepEqual(request.trailers, {}, 'no trailer reached the upstream');
});
