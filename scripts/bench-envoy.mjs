#!/usr/bin/env node
// Envoy benchmark (figures, not a test): rolegate against Envoy's native
// jwt_authn + RBAC doing the same work on the same RS256 token, one Envoy
// worker each (--concurrency 1, pinned to CPU 0; wrk on CPU 1), interleaved
// over several rounds; prints medians and ratios.
//
//   node scripts/bench-envoy.mjs [--rounds 12] [--seconds 2] [--connections 16] [--cold-tokens 20000]
//   node scripts/bench-envoy.mjs --instructions
//   node scripts/bench-envoy.mjs --check-only
//
// Every run first checks that each setup that decides (rolegate and native)
// makes rolegate's decisions on a set of probe requests (PROBES), and stops
// if one does not; --check-only does only that (tests/envoy/bench.test.mjs).
//
// --instructions counts the machine instructions Envoy executes per request
// for each hot-path setup, under valgrind's callgrind (a few minutes): unlike
// req/s on a shared VM, the count repeats to within about 0.3% from run to run.
// Callgrind also simulates the CPU's caches and counts the L1 instruction and
// data cache misses per request, which instructions alone do not show.
//
// Run through scripts/bench-envoy.sh, which builds the filter first.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, existsSync, readFileSync, readdirSync, unlinkSync } from 'node:fs';
import { createHash, createPrivateKey, randomUUID, sign } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Policy, envoyBootstrap, generateKey, mintToken } from '../pkg/node.js';
// The tests' harness: its processes are stopped when this script stops.
import { freePort, rawRequest, spawnTracked } from '../tests/envoy/harness.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'target', 'bench');
mkdirSync(out, { recursive: true });
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROUNDS = arg('rounds', 12);
const SECONDS = arg('seconds', 2);
const CONNECTIONS = arg('connections', 16);
const COLD_TOKENS = arg('cold-tokens', 20000);
const ISSUER = 'https://idp.bench';
const PATH = '/pa-admin-api/v3/applications/42';
const wasmPath = join(root, 'target', 'envoy', 'rolegate_filter.wasm');

// ------------------------------------------------------------ keys and tokens

const keyFile = join(out, 'rs256-key.json');
if (!existsSync(keyFile)) writeFileSync(keyFile, JSON.stringify(generateKey({ alg: 'RS256', kid: 'bench' }).privateJwk));
const privateJwk = JSON.parse(readFileSync(keyFile, 'utf8'));
const { d, p, q, dp, dq, qi, ...publicJwk } = privateJwk;
const now = Math.floor(Date.now() / 1000);
const claims = { iss: ISSUER, aud: 'api', sub: 'bench', scope: 'admin', group: 'auditors', iat: now, exp: now + 6 * 3600 };
const hotToken = mintToken({ key: privateJwk, claims });
const claimsFile = join(out, 'claims.json');
writeFileSync(claimsFile, JSON.stringify(claims));
const coldFile = join(out, 'cold-tokens.txt');
const CHECK_ONLY = process.argv.includes('--check-only');
if (!CHECK_ONLY) {
  console.log(`minting ${COLD_TOKENS} distinct RS256 tokens for the cold path...`);
  writeFileSync(coldFile, execFileSync('cargo', ['run', '--quiet', '--release', '--example', 'mint_tokens', '--', keyFile, claimsFile, String(COLD_TOKENS)],
    { cwd: root, maxBuffer: 1 << 30 }));
}

// DPoP (RFC 9449): a token bound to an ES256 key, and a fresh proof for
// every request (each is accepted once). Proofs are made once each Envoy
// is up, so none is older than the policy's max_age_seconds when sent.
const DPOP_PROOFS = arg('dpop-proofs', 20000);
const DPOP_ORIGIN = 'http://bench';
const dpopKey = generateKey({ alg: 'ES256' }).privateJwk;
const dpopJkt = createHash('sha256').update(JSON.stringify({ crv: dpopKey.crv, kty: dpopKey.kty, x: dpopKey.x, y: dpopKey.y })).digest('base64url');
const dpopToken = mintToken({ key: privateJwk, claims: { ...claims, cnf: { jkt: dpopJkt } } });
const dpopFile = join(out, 'dpop-proofs.txt');
function makeDpopProofs() {
  const { d, ...jwk } = dpopKey;
  // Node's own signer: the package's (a test tool) takes ~2 ms a proof.
  const key = createPrivateKey({ key: dpopKey, format: 'jwk' });
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const header = b64({ typ: 'dpop+jwt', alg: 'ES256', jwk });
  const ath = createHash('sha256').update(dpopToken).digest('base64url');
  const iat = Math.floor(Date.now() / 1000);
  const lines = [];
  for (let i = 0; i < DPOP_PROOFS; i++) {
    const input = `${header}.${b64({ jti: randomUUID(), htm: 'GET', htu: `${DPOP_ORIGIN}${PATH}`, iat, ath })}`;
    lines.push(`${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`);
  }
  writeFileSync(dpopFile, `${lines.join('\n')}\n`);
}

// ------------------------------------------------------------ configurations

const rolegatePolicy = {
  issuers: [{ issuer: ISSUER, audiences: ['api'], jwks: { keys: [publicJwk] }, algorithms: ['RS256'] }],
  path_prefix: '/pa-admin-api/v3',
  required_scopes: ['admin'],
  roles: [{ name: 'auditor', required_attributes: [{ claim: 'group', value: 'auditors' }],
    rules: [{ effect: 'allow', methods: ['read'], paths: ['/**'] },
      { effect: 'deny', methods: ['*'], paths: ['/config/**', '/backup/**', '/agent/*/config/**'] }] }],
  envoy: { audit_log: false },
};

/** jwt_authn + RBAC making rolegate's decisions under `rolegatePolicy`
 * (checked on `PROBES` before any timing). Rolegate canonicalises the path
 * itself; native needs Envoy to do it first (`NATIVE_PATHS`), then RBAC
 * rules for what normalisation leaves alone: `;` and `%3B` (path parameters,
 * which a Java upstream strips: `/config;x/a` is `/config/a` there), control bytes,
 * overlong UTF-8, the token in the query, method overrides, and the scope
 * as a whole word. `identity`: also the identity forwarding rolegate does
 * (the client's identity headers removed, subject and group claims set as
 * headers; native cannot compute roles). */
function nativeFilters(cache, identity = false) {
  const jwks = JSON.stringify({ keys: [publicJwk] });
  const strip = `
          - name: envoy.filters.http.header_mutation
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation
              mutations:
                request_mutations:
                - remove: x-rolegate-subject
                - remove: x-rolegate-roles
                - remove: x-rolegate-client-id`;
  const claimHeaders = `                  claim_to_headers:
                  - {header_name: x-rolegate-subject, claim_name: sub}
                  - {header_name: x-rolegate-roles, claim_name: group}
`;
  const prefix = '/pa-admin-api/v3';
  // The method an override header asks for must be a read too.
  const override = (name) => `
                        - or_rules:
                            rules:
                            - not_rule: {header: {name: ${name}, present_match: true}}
                            - header: {name: ${name}, string_match: {exact: GET}}
                            - header: {name: ${name}, string_match: {exact: HEAD}}`;
  // A principal on a claim of the verified payload, as a YAML list item at `indent`.
  const claim = (name, match, indent) => {
    const pad = ' '.repeat(indent);
    return `
${pad}- metadata:
${pad}    filter: envoy.filters.http.jwt_authn
${pad}    path: [{key: jwt_payload}, {key: ${name}}]
${pad}    value: ${match}`;
  };
  const scopeWord = ['exact: admin', 'prefix: "admin "', 'suffix: " admin"', 'contains: " admin "']
    .map((m) => `{string_match: {${m}}}`).join(', ');
  return `${identity ? strip : ''}
          - name: envoy.filters.http.jwt_authn
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
              providers:
                bench:
                  issuer: ${ISSUER}
                  audiences: [api]
                  local_jwks: {inline_string: ${JSON.stringify(jwks)}}
                  payload_in_metadata: jwt_payload
                  require_expiration: true
                  # Never from the query (jwt_authn's default also reads access_token there).
                  from_headers:
                  - {name: Authorization, value_prefix: "Bearer "}
                  - {name: Authorization, value_prefix: "bearer "}
${cache ? '                  jwt_cache_config: {jwt_cache_size: 100}\n' : ''}${identity ? claimHeaders : ''}              rules:
              - match: {prefix: /}
                requires: {provider_name: bench}
          - name: envoy.filters.http.rbac
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
              rules:
                action: ALLOW
                policies:
                  auditor-read:
                    permissions:
                    - and_rules:
                        rules:
                        - or_rules:
                            rules:
                            - header: {name: ":method", string_match: {exact: GET}}
                            - header: {name: ":method", string_match: {exact: HEAD}}
                        - or_rules:
                            rules:
                            - url_path: {path: {exact: ${prefix}}}
                            - url_path: {path: {prefix: ${prefix}/}}
                        - not_rule:
                            or_rules:
                              rules:
                              - url_path: {path: {exact: ${prefix}/config}}
                              - url_path: {path: {prefix: ${prefix}/config/}}
                              - url_path: {path: {exact: ${prefix}/backup}}
                              - url_path: {path: {prefix: ${prefix}/backup/}}
                              - url_path: {path: {safe_regex: {regex: "${prefix}/agent/[^/]+/config(/.*)?"}}}
                        - not_rule:
                            header:
                              name: ":path"
                              string_match: {safe_regex: {regex: "[^?]*(;|%(3[Bb]|[01][0-9A-Fa-f]|7[Ff]|[Cc][01]|[Ff][5-9A-Fa-f])).*|[^?]*[?](.*&)?access_token=.*"}}${override('x-http-method-override')}${override('x-http-method')}${override('x-method-override')}
                    principals:
                    - and_ids:
                        ids:${claim('group', '{or_match: {value_matchers: [{string_match: {exact: auditors}}, {list_match: {one_of: {string_match: {exact: auditors}}}}]}}', 24)}
                        - or_ids:
                            ids:${claim('scope', `{or_match: {value_matchers: [${scopeWord}]}}`, 28)}${claim('scp', '{list_match: {one_of: {string_match: {exact: admin}}}}', 28)}
`;
}

/** Native's RBAC matches the path Envoy hands it: canonical, as rolegate's
 * (dot segments, unreserved escapes, repeated slashes; %2F and %5C refused). */
const NATIVE_PATHS = `
          normalize_path: true
          merge_slashes: true
          path_with_escaped_slashes_action: REJECT_REQUEST`;

function plainBootstrap(port, adminPort, filters, options = '') {
  return `admin:
  address: {socket_address: {address: 127.0.0.1, port_value: ${adminPort}}}
static_resources:
  listeners:
  - name: bench
    address: {socket_address: {address: 127.0.0.1, port_value: ${port}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: bench${options}
          route_config:
            virtual_hosts:
            - name: bench
              domains: ["*"]
              routes:
              - match: {prefix: "/"}
                direct_response: {status: 200, body: {inline_string: "ok"}}
          http_filters:${filters}
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters: []
`;
}

/** A wasm filter with a string configuration, as Envoy loads rolegate. */
const wasmFilter = (file, configuration = '') => `
          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: floor
                root_id: floor
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: "${configuration}"
                vm_config:
                  vm_id: floor
                  runtime: envoy.wasm.runtime.v8
                  code: {local: {filename: ${file}}}`;
const floorWasm = join(root, 'target', 'envoy', 'envoy_floor.wasm');
/** Envoy with the rolegate filter under `policy`, answering 200 itself. */
const rolegateConfig = (policy) => (port, adminPort) => envoyBootstrap({
  // No access log: the native setups write none either.
  listeners: [{ policy, listenPort: port, name: 'bench' }], wasmPath, adminPort, directResponse: true, accessLog: null,
});

// `decides`: whose decisions a setup makes ('native' or 'rolegate'); each is
// checked against rolegate's core before timing. The floors decide nothing.
const SETUPS = {
  'no auth filter': { config: (p, a) => plainBootstrap(p, a, ''), token: 'hot' },
  'proxy-wasm floor (rolegate\'s host calls, no decision)': { config: (p, a) => plainBootstrap(p, a, wasmFilter(floorWasm)), token: 'hot' },
  // The floor under 'rolegate, forward_identity off': no identity headers added.
  'proxy-wasm floor, forward_identity off': { config: (p, a) => plainBootstrap(p, a, wasmFilter(floorWasm, 'forward_identity off')), token: 'hot' },
  'native jwt_authn + cache + RBAC': { decides: 'native', config: (p, a) => plainBootstrap(p, a, nativeFilters(true), NATIVE_PATHS), token: 'hot' },
  'native, also forwarding identity (header_mutation + claim_to_headers)': { decides: 'native', config: (p, a) => plainBootstrap(p, a, nativeFilters(true, true), NATIVE_PATHS), token: 'hot' },
  rolegate: { decides: 'rolegate', config: rolegateConfig(rolegatePolicy), token: 'hot' },
  // Native's work exactly: the token checked and removed, no identity sent on.
  'rolegate, forward_identity off': {
    decides: 'rolegate',
    config: rolegateConfig({ ...rolegatePolicy, envoy: { ...rolegatePolicy.envoy, forward_identity: false } }),
    token: 'hot',
  },
  // What the access log's filter state (nine property writes) costs.
  'rolegate, access_log_state off': {
    decides: 'rolegate',
    config: rolegateConfig({ ...rolegatePolicy, envoy: { ...rolegatePolicy.envoy, access_log_state: false } }),
    token: 'hot',
  },
  'native jwt_authn, no cache + RBAC (cold)': { decides: 'native', config: (p, a) => plainBootstrap(p, a, nativeFilters(false), NATIVE_PATHS), token: 'cold' },
  'rolegate (cold: a new token each request)': { decides: 'rolegate', config: rolegateConfig(rolegatePolicy), token: 'cold' },
  // One more signature check per request (the proof's), never a kept decision.
  'rolegate, DPoP (a new proof each request)': {
    decides: 'rolegate',
    config: rolegateConfig({ ...rolegatePolicy, dpop: { origins: [DPOP_ORIGIN], max_proofs_per_client: 50000 } }),
    token: 'dpop',
    // Fresh proofs once Envoy is up (a minute old at most when sent).
    prepare: makeDpopProofs,
  },
};

// ------------------------------------------------------------ running

const luaHot = join(out, 'hot.lua');
writeFileSync(luaHot, `wrk.headers["Authorization"] = "Bearer ${hotToken}"\n`);
const luaCold = join(out, 'cold.lua');
writeFileSync(luaCold, `
local tokens = {}
for line in io.lines("${coldFile}") do tokens[#tokens + 1] = "Bearer " .. line end
local i = 0
-- Each run goes on where the last one stopped, so no token is sent twice
-- within a cycle of all of them (the cache is smaller than the cycle).
init = function(args) i = tonumber(args[1]) or 0 end
request = function()
  i = i % #tokens + 1
  wrk.headers["Authorization"] = tokens[i]
  return wrk.format("GET", "${PATH}")
end
`);

const luaDpop = join(out, 'dpop.lua');
writeFileSync(luaDpop, `
local proofs = {}
for line in io.lines("${dpopFile}") do proofs[#proofs + 1] = line end
local i = 0
init = function(args) i = tonumber(args[1]) or 0 end
request = function()
  i = i + 1
  wrk.headers["Authorization"] = "DPoP ${dpopToken}"
  wrk.headers["DPoP"] = proofs[i]
  return wrk.format("GET", "${PATH}")
end
`);
const SCRIPTS = { hot: luaHot, cold: luaCold, dpop: luaDpop };

async function startEnvoy(name, setup) {
  const port = await freePort();
  const adminPort = await freePort();
  const file = join(out, `${name.replace(/[^a-z0-9]+/gi, '-')}.yaml`);
  writeFileSync(file, setup.config(port, adminPort));
  const child = spawnTracked('taskset', ['-c', '0', 'envoy', '-c', file, '--concurrency', '1', '--use-dynamic-base-id', '--log-level', 'error'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (x) => { log += x; });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      if ((await (await fetch(`http://127.0.0.1:${adminPort}/ready`)).text()).trim() === 'LIVE') {
        const probe = await fetch(`http://127.0.0.1:${port}${PATH}`, { headers: { authorization: `Bearer ${hotToken}` } });
        if (probe.status !== 200) throw new Error(`${name}: the token is refused (${probe.status} ${await probe.text()})`);
        return { port, pid: child.pid, stop: () => new Promise((r) => { child.on('exit', r); child.kill('SIGTERM'); }) };
      }
    } catch (e) {
      if (e.message.includes('refused (')) { child.kill('SIGKILL'); throw e; }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`${name}: envoy did not start:\n${log}`);
}

/** Envoy's CPU time so far (user + system), in µs. Steal time from other
 * tenants is not in it, so CPU µs per request is steadier than req/s. */
function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * (1e6 / 100);
}

/** One wrk run: {rps, cpu (Envoy CPU µs per request)}. */
function wrk(envoy, token, seconds) {
  const script = SCRIPTS[token];
  const before = cpuMicros(envoy.pid);
  envoy.sent ??= 0;
  const text = execFileSync('taskset', ['-c', '1', 'wrk', '-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '-s', script, `http://127.0.0.1:${envoy.port}${PATH}`, '--', String(token === 'dpop' ? envoy.sent : envoy.sent % COLD_TOKENS)], { encoding: 'utf8' });
  const cpu = cpuMicros(envoy.pid) - before;
  const rps = Number(text.match(/Requests\/sec:\s+([\d.]+)/)[1]);
  const requests = Number(text.match(/(\d+) requests in/)[1]);
  envoy.sent += requests + CONNECTIONS; // and at most one in flight per connection
  const non2xx = Number(text.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  if (non2xx) throw new Error(`${non2xx} requests were refused:\n${text}`);
  return { rps, cpu: cpu / requests };
}

// ------------------------------------------------------------ equivalence

// Ratios mean something only if every setup that decides makes rolegate's
// decisions. Before any timing, each is sent these requests (raw bytes, as
// a client may send them) and must forward exactly those rolegate's core
// allows under `rolegatePolicy`. A native setup that lets more through is
// doing less work than rolegate, not the same work faster.
const token = (changes) => {
  const c = { ...claims, ...changes };
  for (const [k, v] of Object.entries(changes)) if (v === undefined) delete c[k];
  return mintToken({ key: privateJwk, claims: c });
};
const PROBES = [
  ...['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS', 'TRACE'].map((method) => ({ method, path: PATH })),
  ...['/pa-admin-api/v3', '/pa-admin-api/v3/', '/pa-admin-api/v3x', '/other', '/',
    '/pa-admin-api/v3/config', '/pa-admin-api/v3/config/', '/pa-admin-api/v3/config/x', '/pa-admin-api/v3/configuration',
    '/pa-admin-api/v3/backup/1', '/pa-admin-api/v3/agent/7/config', '/pa-admin-api/v3/agent/7/config/a',
    '/pa-admin-api/v3/agent/7/configs', '/pa-admin-api/v3/agent/config',
    '/pa-admin-api/v3/applications/../config/x', '/pa-admin-api/v3/./config', '/pa-admin-api/v3//config/x',
    '/pa-admin-api/v3/%63onfig/x', '/pa-admin-api/v3/%2e%2e/v3/config', '/pa-admin-api/v3/%2E/config',
    '/pa-admin-api/v3/../../etc', '/pa-admin-api/v3/agent/7/%2e%2e/7/config',
    '/pa-admin-api/v3/applications%2F42', '/pa-admin-api/v3/applications%5C42',
    '/pa-admin-api/v3/applications;x=1', '/pa-admin-api/v3/applications%3Bx=1', '/pa-admin-api/v3/a%00b', '/pa-admin-api/v3/a%1Fb',
    '/pa-admin-api/v3/%C0%AE%C0%AE/config', '/pa-admin-api/v3/caf%C3%A9',
    `${PATH}?x=1`, `${PATH}?access_token=${hotToken}`].map((path) => ({ method: 'GET', path })),
  // Envoy turns a raw backslash into a slash before any filter sees the
  // path: native decides on (and forwards) `/applications/42`, rolegate
  // refuses it. Both decide on what the upstream gets; native cannot do otherwise.
  { method: 'GET', path: '/pa-admin-api/v3/applications\\42', nativeDiffers: true },
  ...['DELETE', 'GET', 'HEAD'].flatMap((value) => ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override']
    .map((name) => ({ method: 'GET', path: PATH, headers: [[name, value]] }))),
  { method: 'GET', path: PATH, auth: [] },
  { method: 'GET', path: `${PATH}?access_token=${hotToken}`, auth: [] },
  { method: 'GET', path: PATH, auth: [`bearer ${hotToken}`] },
  { method: 'GET', path: PATH, auth: [`Bearer ${hotToken}`, `Bearer ${hotToken}`] },
  { method: 'GET', path: PATH, auth: ['Basic YWRtaW46YWRtaW4='] },
  ...Object.entries({
    scopeLast: { scope: 'read admin' }, scopeFirst: { scope: 'admin read' }, scopeMiddle: { scope: 'read admin write' },
    scopeOther: { scope: 'read' }, scopeLonger: { scope: 'administrator' }, scpArray: { scope: undefined, scp: ['admin'] },
    groupArray: { group: ['ops', 'auditors'] }, groupOther: { group: 'ops' }, noGroup: { group: undefined },
    expiredInLeeway: { exp: now - 30 }, expired: { exp: now - 120 }, noExp: { exp: undefined },
    futureNbf: { nbf: now + 600 }, wrongAudience: { aud: 'other' }, audienceList: { aud: ['other', 'api'] },
    wrongIssuer: { iss: 'https://elsewhere' },
  }).map(([name, changes]) => ({ method: 'GET', path: PATH, auth: [`Bearer ${token(changes)}`], name })),
].map((p) => ({ auth: [`Bearer ${hotToken}`], headers: [], ...p }));

/** The probes on which `envoy` (a started setup; `native`: one of native's)
 * decides otherwise than rolegate's core, and how many were checked. */
async function mismatches(envoy, native) {
  const policy = Policy.parse(rolegatePolicy);
  const found = [];
  let checked = 0;
  for (const probe of PROBES) {
    if (native && probe.nativeDiffers) continue;
    checked++;
    const headers = [...probe.auth.map((a) => ['authorization', a]), ...probe.headers];
    const expected = policy.decide({ method: probe.method, path: probe.path, headers, now: Math.floor(Date.now() / 1000) });
    // Raw bytes, so that odd paths reach Envoy exactly as written.
    const { status } = await rawRequest(envoy.port, { method: probe.method, path: probe.path, headers });
    if ((status === 200) !== expected.allowed) {
      found.push(`${probe.method} ${probe.path.slice(0, 80)}${probe.name ? ` (token: ${probe.name})` : ''}`
        + `${probe.headers.length ? ` ${probe.headers.map((h) => h.join(': '))}` : ''}${probe.auth.length === 1 ? '' : ` auth ${JSON.stringify(probe.auth.map((a) => a.slice(0, 12)))}`}`
        + `: Envoy ${status}, rolegate ${expected.status} ${expected.reason}`);
    }
  }
  return { found, checked };
}

// --only a,b runs the setups whose names contain a or b (and the native reference).
const onlyIndex = process.argv.indexOf('--only');
if (onlyIndex > 0) {
  const wanted = process.argv[onlyIndex + 1].split(',');
  for (const name of Object.keys(SETUPS)) {
    if (!name.startsWith('native') && !wanted.some((w) => name.includes(w))) delete SETUPS[name];
  }
}
/** The Envoy executable itself (the `envoy` on PATH may be a wrapper script). */
function envoyBinary() {
  const dir = execFileSync('python3', ['-c', 'import envoy, os; print(os.path.dirname(envoy.__file__))'], { encoding: 'utf8' }).trim();
  const bin = join(dir, '_bin', 'envoy');
  return existsSync(bin) ? bin : 'envoy';
}

/** Instructions Envoy executes per request in `setup`, counted by callgrind
 * over a fixed load after a warm-up (JIT, caches and pools settled). */
async function instructionsPerRequest(name, setup) {
  const port = await freePort();
  const adminPort = await freePort();
  const slug = name.replace(/[^a-z0-9]+/gi, '-');
  const file = join(out, `${slug}.yaml`);
  writeFileSync(file, setup.config(port, adminPort));
  const prefix = join(out, `callgrind-${slug}`);
  for (const f of readdirSync(out)) if (f.startsWith(`callgrind-${slug}.`)) unlinkSync(join(out, f));
  const child = spawnTracked('valgrind', ['--tool=callgrind', '--cache-sim=yes', '--smc-check=all-non-file', '--dump-instr=no', `--callgrind-out-file=${prefix}.%p`,
    envoyBinary(), '-c', file, '--concurrency', '1', '--use-dynamic-base-id', '--log-level', 'error'], { stdio: 'ignore' });
  try {
    const deadline = Date.now() + 300_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`${name}: envoy did not start under valgrind`);
      try {
        if ((await (await fetch(`http://127.0.0.1:${adminPort}/ready`)).text()).trim() === 'LIVE') break;
      } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 500));
    }
    setup.prepare?.();
    let sent = 0;
    const load = (seconds) => {
      const text = execFileSync('wrk', ['-t1', '-c4', `-d${seconds}s`, '-s', SCRIPTS[setup.token], `http://127.0.0.1:${port}${PATH}`, '--', String(sent)], { encoding: 'utf8' });
      sent += Number(text.match(/(\d+) requests in/)[1]) + 4;
      return text;
    };
    load(8);
    execFileSync('callgrind_control', ['-z', String(child.pid)], { stdio: 'ignore' });
    const text = load(15);
    execFileSync('callgrind_control', ['-d', String(child.pid)], { stdio: 'ignore' });
    const requests = Number(text.match(/(\d+) requests in/)[1]);
    const non2xx = Number(text.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
    if (non2xx) throw new Error(`${name}: ${non2xx} requests were refused`);
    // The dump holds everything since the zeroing: exactly the measured load.
    // Events (Ir = instructions, I1mr / D1mr / D1mw = L1 misses) summed over the dump's parts.
    const events = {};
    for (const f of readdirSync(out).filter((f) => f.startsWith(`callgrind-${slug}.${child.pid}.`))) {
      const dump = readFileSync(join(out, f), 'utf8');
      const names = dump.match(/^events: (.*)$/m)[1].split(' ');
      const values = dump.match(/^summary: (.*)$/m)[1].split(' ').map(Number);
      names.forEach((event, i) => { events[event] = (events[event] ?? 0) + (values[i] ?? 0); });
    }
    return {
      requests,
      perRequest: events.Ir / requests,
      l1InstructionMisses: events.I1mr / requests,
      l1DataMisses: (events.D1mr + events.D1mw) / requests,
    };
  } finally {
    await new Promise((r) => { child.on('exit', r); child.kill('SIGTERM'); });
  }
}

{
  let failed = false;
  for (const [name, setup] of Object.entries(SETUPS)) {
    if (!setup.decides) continue;
    const envoy = await startEnvoy(name, setup);
    try {
      const { found, checked } = await mismatches(envoy, setup.decides === 'native');
      console.log(`${name}: ${found.length ? `${found.length} of ${checked} probes decided otherwise than rolegate:` : `decides as rolegate on all ${checked} probes`}`);
      for (const line of found) console.log(`  ${line}`);
      failed ||= found.length > 0;
    } finally {
      await envoy.stop();
    }
  }
  if (failed && !process.argv.includes('--no-check')) {
    console.error('setups that decide otherwise would not measure the same work (--no-check runs anyway)');
    process.exit(1);
  }
}
if (CHECK_ONLY) process.exit(0);

if (process.argv.includes('--instructions')) {
  const counts = {};
  for (const [name, setup] of Object.entries(SETUPS)) {
    if (setup.token === 'cold') continue;
    counts[name] = await instructionsPerRequest(name, setup);
    const c = counts[name];
    console.log(`${name}: ${c.perRequest.toFixed(0)} instructions, ${c.l1InstructionMisses.toFixed(0)} L1 i-cache and ${c.l1DataMisses.toFixed(0)} d-cache misses per request (${c.requests} requests)`);
  }
  const native = counts['native jwt_authn + cache + RBAC'].perRequest;
  const nativeIdentity = counts['native, also forwarding identity (header_mutation + claim_to_headers)'].perRequest;
  const cpuModel = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown CPU';
  console.log(`\nEnvoy instructions and simulated L1 cache misses per hot request (callgrind, --concurrency 1, wrk -c4), ${cpuModel}\n`);
  console.log('| setup | instructions | native ÷ this | native forwarding identity ÷ this | L1 i-cache misses | L1 d-cache misses |');
  console.log('|---|---|---|---|---|---|');
  for (const [name, c] of Object.entries(counts)) {
    console.log(`| ${name} | ${c.perRequest.toFixed(0)} | ${(native / c.perRequest).toFixed(2)}x | ${(nativeIdentity / c.perRequest).toFixed(2)}x | ${c.l1InstructionMisses.toFixed(0)} | ${c.l1DataMisses.toFixed(0)} |`);
  }
  writeFileSync(join(out, 'instructions.json'), JSON.stringify(counts, null, 2));
  process.exit(0);
}

// Each round starts a fresh Envoy per setup: the same setup varies by about
// 10% from one process to the next (where its memory and code land), more
// than the differences measured here, so every round draws a new process.
// Setups take turns within a round, and each round's ratios compare runs
// seconds apart, as neighbours on a shared machine come and go.
const results = Object.fromEntries(Object.keys(SETUPS).map((k) => [k, []]));
for (let round = 1; round <= ROUNDS; round++) {
  for (const [name, setup] of Object.entries(SETUPS)) {
    const envoy = await startEnvoy(name, setup);
    try {
      setup.prepare?.();
      wrk(envoy, setup.token, 1); // warm-up: caches fill
      const last = wrk(envoy, setup.token, SECONDS);
      results[name].push(last);
      console.log(`round ${round}: ${name}: ${last.rps.toFixed(0)} req/s, ${last.cpu.toFixed(1)} CPU µs/req`);
    } finally {
      await envoy.stop();
    }
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const m = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, { rps: median(v.map((x) => x.rps)), cpu: median(v.map((x) => x.cpu)) }]));
const NATIVE = 'native jwt_authn + cache + RBAC';
const NATIVE_COLD = 'native jwt_authn, no cache + RBAC (cold)';
// Ratios are taken within each round (setups that ran a minute apart share
// the machine's mood) and then the median is reported.
const NATIVE_IDENTITY = 'native, also forwarding identity (header_mutation + claim_to_headers)';
/** The median of `xs` with a 95% bootstrap interval for it: how far the
 * median of this many rounds can be trusted on a noisy machine. */
function medianInterval(xs) {
  let seed = 0x2545f491;
  const random = () => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const medians = [];
  for (let b = 0; b < 2000; b++) medians.push(median(xs.map(() => xs[Math.floor(random() * xs.length)])));
  medians.sort((a, b) => a - b);
  return { median: median(xs), low: medians[50], high: medians[1949] };
}
const ratio = (name, field, invert, reference) => {
  const ref = results[reference ?? (SETUPS[name].token === 'cold' ? NATIVE_COLD : NATIVE)];
  if (!ref) return '-';
  if (ref === results[name]) return '1.00x';
  const rs = results[name].map((x, i) => (invert ? ref[i][field] / x[field] : x[field] / ref[i][field]));
  const { median: m, low, high } = medianInterval(rs);
  return `${m.toFixed(2)}x (${low.toFixed(2)}-${high.toFixed(2)})`;
};
const cpuModel = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown CPU';
const envoyVersion = execFileSync('envoy', ['--version'], { encoding: 'utf8' }).match(/version: [0-9a-f]+\/(\d+\.\d+\.\d+)\//)?.[1];
console.log(`\nEnvoy ${envoyVersion}, --concurrency 1, wrk -c${CONNECTIONS} ${SECONDS}s, median of ${ROUNDS} rounds, ${cpuModel}\n`);
console.log('Ratios are medians of the per-round ratios, with a 95% bootstrap interval for the median.\n');
// Rolegate forwards the identity by default, so native doing that too is
// the same work; the hot setups are also compared with it.
console.log('| setup | req/s | Envoy CPU µs/req | req/s vs native | CPU vs native | req/s vs native forwarding identity |');
console.log('|---|---|---|---|---|---|');
for (const [name, r] of Object.entries(m)) {
  const same = SETUPS[name].token === 'hot' ? ratio(name, 'rps', false, NATIVE_IDENTITY) : '-';
  console.log(`| ${name} | ${r.rps.toFixed(0)} | ${r.cpu.toFixed(1)} | ${ratio(name, 'rps', false)} | ${ratio(name, 'cpu', true)} | ${same} |`);
}
writeFileSync(join(out, 'results.json'), JSON.stringify({ cpu: cpuModel, envoy: envoyVersion, rounds: ROUNDS, seconds: SECONDS, results, medians: m }, null, 2));
