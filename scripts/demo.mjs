#!/usr/bin/env node
// The rolegate demo: Envoy with the filter (PingAccess preset, a freshly
// generated issuer key) in front of a small demo admin API, plus the
// preview page. Prints curl commands with fresh tokens for each role. A
// second listener plays Pexip's management node: OAuth2 clients exchange a
// signed assertion at /oauth/token/ for a one-hour token.
//
//   node scripts/demo.mjs               run until Ctrl-C
//   node scripts/demo.mjs --self-test   start, run the printed examples, check them, stop
//
// Ports (127.0.0.1): ROLEGATE_PORT (8080), ROLEGATE_PEXIP_PORT (8081), ROLEGATE_UPSTREAM_PORT (9000),
// ROLEGATE_PAGE_PORT (8000), ROLEGATE_ADMIN_PORT (9901); a busy port is
// replaced by a free one.
import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createClient, envoyBootstrap, generateKey, mintToken, Policy } from '../pkg/node.js';
import { serveStatic } from './static-server.mjs';
import { encodeState, decodeState } from '../www/share.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'target', 'demo');
const selfTest = process.argv.includes('--self-test');
const ISSUER = 'https://demo-idp.rolegate.local';
const AUDIENCE = 'pingaccess-admin-api';
const PREFIX = '/pa-admin-api/v3';

const children = new Set();
const closers = [];
let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(closers.map((c) => c().catch(() => {})));
  process.exit(code);
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
process.on('exit', () => { for (const child of children) child.kill('SIGKILL'); });

async function port(envName, preferred) {
  const wanted = Number(process.env[envName] ?? preferred);
  const tryListen = (p) => new Promise((resolve) => {
    const s = createTcpServer();
    s.once('error', () => resolve(null));
    s.listen(p, '127.0.0.1', () => { const got = s.address().port; s.close(() => resolve(got)); });
  });
  return (await tryListen(wanted)) ?? tryListen(0);
}

// ------------------------------------------------------------ the demo admin API

/** A stand-in for an admin API: answers what it was asked and who asked. */
function startAdminApi(listenPort) {
  const server = createServer((req, res) => {
    const body = {
      api: `rolegate demo admin API (a stand-in for ${req.url.startsWith('/api/admin/') ? 'Pexip Infinity' : 'PingAccess'})`,
      method: req.method,
      path: req.url,
      subject: req.headers['x-rolegate-subject'] ?? null,
      roles: req.headers['x-rolegate-roles']?.split(',') ?? [],
      authorization_forwarded: Boolean(req.headers.authorization),
    };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`${JSON.stringify(body, null, 2)}\n`);
  });
  return new Promise((resolve) => server.listen(listenPort, '127.0.0.1', () => {
    closers.push(() => new Promise((r) => server.close(r)));
    resolve(server);
  }));
}

// ------------------------------------------------------------ Envoy

async function startEnvoy(configPath, adminPort, listenPort) {
  // Envoy stays the child of this process, which stays alive: Envoy 1.40
  // gets SIGTERM when the process that launched it exits.
  const child = spawn('envoy', ['-c', configPath, '--concurrency', '1', '--use-dynamic-base-id',
    '--log-level', 'warn', '--component-log-level', 'wasm:info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let log = '';
  const logFile = join(out, 'envoy.log');
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; writeFileSync(logFile, log); });
  let exited = false;
  child.on('exit', (code) => {
    exited = true;
    children.delete(child);
    if (!stopping) {
      console.error(`envoy exited (${code}); its log:\n${log}`);
      stop(1);
    }
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !exited) {
    try {
      const ready = await (await fetch(`http://127.0.0.1:${adminPort}/ready`)).text();
      if (ready.trim() === 'LIVE') {
        await fetch(`http://127.0.0.1:${listenPort}/`).catch(() => null);
        return child;
      }
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`envoy did not become ready:\n${log}`);
}

// ------------------------------------------------------------ main

mkdirSync(out, { recursive: true });
const wasmPath = join(root, 'target', 'envoy', 'rolegate_filter.wasm');
if (!existsSync(wasmPath)) throw new Error(`${wasmPath} is missing: run scripts/run.sh (it builds it)`);

const key = generateKey({ alg: 'ES256', kid: 'demo-idp-key' });
const preset = JSON.parse(readFileSync(join(root, 'examples', 'pingaccess.json'), 'utf8'));
const policy = {
  ...preset,
  description: 'The demo: the PingAccess preset, trusting a key generated for this run only.',
  issuers: [{ issuer: ISSUER, audiences: [AUDIENCE], jwks: { keys: [key.publicJwk] }, algorithms: ['ES256'] }],
};
Policy.parse(policy).free(); // refuse to start with a policy Envoy would reject
writeFileSync(join(out, 'policy.json'), `${JSON.stringify(policy, null, 2)}\n`);

// Pexip-style: the filter issues the tokens itself, for two OAuth2 clients.
const PEXIP_ISSUER = 'https://demo-pexip.rolegate.local';
const pexipPreset = JSON.parse(readFileSync(join(root, 'examples', 'pexip.json'), 'utf8'));
let pexipPolicy = {
  ...pexipPreset,
  description: 'The demo: the Pexip preset, with rolegate as the token endpoint (a signing key generated for this run only).',
  issuers: [],
  token_endpoint: {
    issuer: PEXIP_ISSUER,
    audience: 'pexip-management-api',
    signing_key: generateKey({ alg: 'ES256', kid: 'demo-pexip-node' }).privateJwk,
    access_token_expiration_seconds: 3600,
    active_tokens_role: 'administrator',
  },
};
const clients = {};
for (const [name, role] of [['automation', 'administrator'], ['dashboard', 'read_only']]) {
  const created = createClient(pexipPolicy, { name, role });
  pexipPolicy = created.policy;
  clients[name] = created;
  writeFileSync(join(out, `client-${name}.json`), `${JSON.stringify(created.privateJwk, null, 2)}\n`, { mode: 0o600 });
}
const ports = {
  envoy: await port('ROLEGATE_PORT', 8080),
  pexip: await port('ROLEGATE_PEXIP_PORT', 8081),
  upstream: await port('ROLEGATE_UPSTREAM_PORT', 9000),
  page: await port('ROLEGATE_PAGE_PORT', 8000),
  admin: await port('ROLEGATE_ADMIN_PORT', 9901),
};
// Clients post to this address, so their assertions name it as `aud`.
const pexip = `http://127.0.0.1:${ports.pexip}`;
const TOKEN_URL = `${pexip}/oauth/token/`;
pexipPolicy.token_endpoint.url = TOKEN_URL;
writeFileSync(join(out, 'pexip-policy.json'), `${JSON.stringify(pexipPolicy, null, 2)}\n`);
await startAdminApi(ports.upstream);
const configPath = join(out, 'envoy.yaml');
writeFileSync(configPath, envoyBootstrap({
  listeners: [
    { policy, listenPort: ports.envoy, name: 'admin_api' },
    { policy: pexipPolicy, listenPort: ports.pexip, name: 'pexip_admin_api' },
  ],
  wasmPath, upstreamPort: ports.upstream, adminPort: ports.admin,
}));
await startEnvoy(configPath, ports.admin, ports.envoy);
let page = null;
if (existsSync(join(root, 'www', 'rolegate', 'web.js'))) {
  page = await serveStatic(join(root, 'www'), ports.page);
  closers.push(page.close);
}

const now = Math.floor(Date.now() / 1000);
const tokenFor = (sub, group) => mintToken({
  key: key.privateJwk,
  claims: { iss: ISSUER, aud: AUDIENCE, sub, scope: 'admin', group, iat: now, exp: now + 3600 },
});
const tokens = {
  administrator: tokenFor('ada', 'cn=pingaccess-admins,o=myorg'),
  platform_administrator: tokenFor('pat', 'cn=pingaccess-platform-admins,o=myorg'),
  auditor: tokenFor('audrey', 'cn=pingaccess-auditors,o=myorg'),
  no_role: tokenFor('nobody', 'cn=staff,o=myorg'),
};
writeFileSync(join(out, 'tokens.json'), `${JSON.stringify(tokens, null, 2)}\n`);

const base = `http://127.0.0.1:${ports.envoy}${PREFIX}`;
// The page opens on this run's own policy (which trusts this run's issuer
// key) with the auditor's token: every printed token decides there as here.
const pageLink = page ? `http://127.0.0.1:${page.port}/#s=${await encodeState({
  v: 1, preset: 'pingaccess', policy: JSON.stringify(policy, null, 2), mode: 'token', claims: '',
  token: tokens.auditor, method: 'GET', path: `${PREFIX}/users`, headers: '', now: '',
  matrixPaths: ['/users', '/config', '/applications/1', '/users/1'].map((p) => `${PREFIX}${p}`).join('\n'),
  matrixMethods: ['GET', 'POST', 'PUT', 'DELETE'], matrixRows: 'roles', cases: [],
})}` : null;
const examples = [
  ['auditor', 'GET', '/users', 200, 'auditors read everything else'],
  ['auditor', 'GET', '/config', 403, 'but have no access to /config'],
  ['auditor', 'POST', '/applications', 403, 'and never write'],
  ['administrator', 'PUT', '/applications/1', 200, 'administrators write most things'],
  ['administrator', 'PUT', '/users/1', 403, 'but only read /users while Platform Administrator is enabled'],
  ['platform_administrator', 'PUT', '/users/1', 200, 'platform administrators write everything'],
  ['no_role', 'GET', '/users', 403, 'a valid token without a matching group gets no role'],
  [null, 'GET', '/users', 401, 'no token: 401 with WWW-Authenticate'],
];
// Client assertions (RFC 7523) are single use: a client signs a new one for
// each token request, as `rolegate client-assertion` does (printed below,
// and run by the self-test exactly so).
const cli = join(root, 'pkg', 'cli.mjs');
const assertionArgs = (name) => ['client-assertion', '--key', join(out, `client-${name}.json`), '--client-id', clients[name].clientId, '--token-url', TOKEN_URL, '--form'];
const tokenForm = (name) => execFileSync(process.execPath, [cli, ...assertionArgs(name)], { encoding: 'utf8' }).trim();
const shellWords = (args) => args.map((a) => (/^[\w./:=-]+$/.test(a) ? a : `'${a}'`)).join(' ');
const curl = ([who, method, path, status, why]) => `# ${why} (expect ${status})\n`
  + `curl -i ${method === 'GET' ? '' : `-X ${method} `}${who ? `-H "Authorization: Bearer $TOKEN_${who.toUpperCase()}" ` : ''}${base}${path}`;

console.log(`
rolegate demo is running.

  Envoy with the filter:  http://127.0.0.1:${ports.envoy}${PREFIX}/...   (admin: http://127.0.0.1:${ports.admin}/stats?filter=wasmcustom)
  demo admin API:         http://127.0.0.1:${ports.upstream}/ (behind Envoy)
  ${page ? `preview page:           http://127.0.0.1:${page.port}/ (this run's policy and the auditor's token: ${pageLink})` : 'preview page:           not built (run scripts/build-pkg.sh)'}
  policy:                 ${join(out, 'policy.json')}
  Envoy config and log:   ${configPath}, ${join(out, 'envoy.log')}

Tokens (valid one hour, signed by this run's demo issuer key):
${Object.entries(tokens).map(([who, t]) => `export TOKEN_${who.toUpperCase()}=${t}`).join('\n')}

${examples.map(curl).join('\n\n')}

Pexip-style token endpoint on http://127.0.0.1:${ports.pexip} (policy ${join(out, 'pexip-policy.json')}).
OAuth2 clients: ${Object.entries(clients).map(([n, c]) => `${n} (${c.clientId}, role ${c.entry.role}, private key ${join(out, `client-${n}.json`)})`).join('; ')}.
A client signs a new single-use assertion for each token request (run these as often as you like):
rolegate() { node ${cli} "$@"; }

# the dashboard client signs an assertion for ${TOKEN_URL} and exchanges it for a one-hour token (expect 200)
export TOKEN_DASHBOARD=$(curl -s -d "$(rolegate ${shellWords(assertionArgs('dashboard'))})" ${TOKEN_URL} | sed -n 's/.*"access_token":"\\([^"]*\\)".*/\\1/p')
# its read_only role reads status (expect 200)
curl -i -H "Authorization: Bearer $TOKEN_DASHBOARD" ${pexip}/api/admin/status/v1/conference/
# but cannot create a conference (expect 403)
curl -i -X POST -H "Authorization: Bearer $TOKEN_DASHBOARD" ${pexip}/api/admin/configuration/v1/conference/
# an assertion is single use: the first exchange gets a token, the second 401 invalid_client
ASSERTION_FORM=$(rolegate ${shellWords(assertionArgs('dashboard'))})
curl -s -o /dev/null -w '%{http_code}\\n' -d "$ASSERTION_FORM" ${TOKEN_URL}
curl -i -d "$ASSERTION_FORM" ${TOKEN_URL}
# the administrator client lists active tokens (expect 200)
export TOKEN_AUTOMATION=$(curl -s -d "$(rolegate ${shellWords(assertionArgs('automation'))})" ${TOKEN_URL} | sed -n 's/.*"access_token":"\\([^"]*\\)".*/\\1/p')
curl -i -H "Authorization: Bearer $TOKEN_AUTOMATION" ${pexip}/oauth/tokens/

Press Ctrl-C to stop.
`);

if (selfTest) {
  let failed = 0;
  for (const [who, method, path, status, why] of examples) {
    const res = await fetch(`${base}${path}`, { method, headers: who ? { authorization: `Bearer ${tokens[who]}` } : {} });
    const body = await res.text();
    const ok = res.status === status && (status !== 401 || res.headers.get('www-authenticate') === 'Bearer realm="rolegate"');
    if (!ok) failed++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${who ?? 'anonymous'} ${method} ${path}: ${res.status} (expected ${status}; ${why}) ${ok ? '' : body}`);
    if (status === 200) {
      const echoed = JSON.parse(body);
      if (echoed.subject === null || echoed.authorization_forwarded) {
        failed++;
        console.log(`FAIL upstream identity: ${body}`);
      }
    }
  }
  // The Pexip-style endpoint, step by step as printed.
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const check = (ok, what, detail) => {
    if (!ok) failed++;
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok ? '' : `: ${detail}`}`);
  };
  // Each exchange with a new assertion from the CLI, as printed; `body`
  // sends one again.
  const exchange = async (name, body = tokenForm(name)) => {
    const res = await fetch(TOKEN_URL, { method: 'POST', headers: form, body });
    return { status: res.status, body: await res.json().catch(() => null), sent: body };
  };
  const dashboard = await exchange('dashboard');
  check(dashboard.status === 200 && dashboard.body?.token_type === 'bearer' && dashboard.body?.expires_in === 3600,
    'dashboard client gets a one-hour token', JSON.stringify(dashboard));
  const asDashboard = (method, path) => fetch(`${pexip}${path}`, { method, headers: { authorization: `Bearer ${dashboard.body?.access_token}` } });
  const read = await asDashboard('GET', '/api/admin/status/v1/conference/');
  check(read.status === 200, 'its read_only role reads status', read.status);
  const write = await asDashboard('POST', '/api/admin/configuration/v1/conference/');
  check(write.status === 403, 'but cannot create a conference', write.status);
  const replay = await exchange('dashboard', dashboard.sent);
  check(replay.status === 401 && replay.body?.error === 'invalid_client', 'an assertion is single use', JSON.stringify(replay));
  // Run twice, as a person does: a new assertion gets a new token.
  const again = await exchange('dashboard');
  check(again.status === 200, 'the flow runs again with a new assertion', JSON.stringify(again));
  const automation = await exchange('automation');
  const list = await fetch(`${pexip}/oauth/tokens/`, { headers: { authorization: `Bearer ${automation.body?.access_token}` } });
  const listed = await list.json().catch(() => null);
  check(list.status === 200 && listed?.tokens?.length === 3, 'the administrator client lists the active tokens', JSON.stringify(listed));

  if (page) {
    const html = await (await fetch(`http://127.0.0.1:${page.port}/`)).text();
    if (!html.includes('rolegate')) { failed++; console.log('FAIL the preview page is not served'); }
    // The page's link carries this run's policy: the core the page runs
    // decides each printed example as Envoy did.
    const linked = await decodeState(pageLink.split('#s=')[1]);
    const onPage = Policy.parse(linked.policy);
    for (const [who, method, path, status] of examples) {
      const headers = who ? { authorization: `Bearer ${tokens[who]}` } : {};
      const d = onPage.decide({ method, path: `${PREFIX}${path}`, headers });
      check(d.status === status, `the page decides ${who ?? 'anonymous'} ${method} ${path} as Envoy: ${d.status}`, JSON.stringify(d.trace));
    }
  }
  await new Promise((r) => setTimeout(r, 1_300)); // counters reach Envoy once a second
  const stats = await (await fetch(`http://127.0.0.1:${ports.admin}/stats?filter=wasmcustom`)).text();
  if (!/wasmcustom\.rolegate_allowed: [1-9]/.test(stats)) { failed++; console.log(`FAIL stats: ${stats}`); }
  console.log(failed ? `self-test: ${failed} failure(s)` : 'self-test: all examples behave as printed');
  await stop(failed ? 1 : 0);
}
