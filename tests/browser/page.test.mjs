// The policy-preview page in headless Chromium (Debian's, driven by
// playwright-core): presets and toggles, a token, a decision, the matrix,
// test cases, a shared URL and the Envoy config. Screenshots go to
// test-artifacts/browser/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';
import { serveStatic } from '../../scripts/static-server.mjs';

const root = fileURLToPath(new URL('../../www/', import.meta.url));
const artifacts = fileURLToPath(new URL('../../test-artifacts/browser/', import.meta.url));
mkdirSync(artifacts, { recursive: true });

let server;
let context;
let page;
let browser;
const errors = [];
const requests = [];

before(async () => {
  server = await serveStatic(root);
  browser = await launchChromium({
    viewport: { width: 1400, height: 1000 },
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  context = browser.context;
  page = await open(`http://127.0.0.1:${server.port}/`);
});

after(async () => {
  await browser?.close();
  await server?.close();
  assert.deepEqual(errors, [], 'the page logged no errors');
  // Offline-capable: every resource comes from the page's own server.
  const foreign = requests.filter((u) => !u.startsWith(`http://127.0.0.1:${server.port}/`) && !u.startsWith('blob:') && !u.startsWith('data:'));
  assert.deepEqual(foreign, [], 'no request leaves the page\'s own origin');
});

async function open(url) {
  const p = await context.newPage();
  p.on('request', (r) => requests.push(r.url()));
  p.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  p.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  await p.goto(url);
  await p.waitForSelector('body[data-ready=true]', { state: 'attached', timeout: 30_000 });
  await settle(p);
  return p;
}

/** Lets an input's update land: a moment for events, then until <main> is no longer aria-busy. */
const settle = async (p = page) => {
  await p.waitForTimeout(300);
  await p.waitForSelector('main[aria-busy=false]', { state: 'attached', timeout: 30_000 });
};
const shot = (name, p = page) => p.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
const verdict = () => page.textContent('#verdict');
/** The policy editor's text (CodeMirror holds it, not a form field). */
const policyText = (p = page) => p.evaluate(async () => (await import('/editor.js')).policyText());
const policyDoc = async () => JSON.parse(await policyText());
const showForm = (open) => page.$eval('#form-details', (d, o) => { d.open = o; }, open);
/** Replaces the policy as a person does: select all in the editor, paste. */
async function typePolicy(text, p = page) {
  await p.focus('#policy .cm-content');
  await p.keyboard.press('Control+A');
  await p.keyboard.insertText(text);
  await settle(p);
}
async function setClaims(claims) {
  await page.fill('#claims', JSON.stringify(claims, null, 2));
  await settle();
}
async function auditorClaims(extra = {}) {
  const doc = await policyDoc();
  return { iss: doc.issuers[0].issuer, aud: doc.issuers[0].audiences[0], scope: 'admin', sub: 'audrey',
    group: 'cn=pingaccess-auditors,o=myorg', exp: Math.floor(Date.now() / 1000) + 600, ...extra };
}

test('every form control has a label', async () => {
  const unlabelled = await page.$$eval('input, textarea, select', (els) => els
    .filter((el) => el.type !== 'file' || true)
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
    .map((el) => el.id || el.outerHTML.slice(0, 60)));
  assert.deepEqual(unlabelled, []);
});

test('the PingAccess preset decides: an auditor may not read config', async () => {
  assert.match(await page.textContent('#policy-status'), /Policy OK: 3 roles/);
  assert.match(await verdict(), /DENIED 403 denied_by_rule/);
  assert.equal(await page.getAttribute('#verdict', 'data-allowed'), 'false');
  assert.equal(await page.getAttribute('.role[data-role=auditor] .attr', 'data-matched'), 'true');
  assert.equal(await page.getAttribute('.role[data-role=administrator] .attr', 'data-matched'), 'false');
  assert.match(await page.textContent('#deciding-rule'), /auditor#1 \(deny; roles\["auditor"\]\.rules\[1\]\)/);
  assert.match(await page.textContent('#trace'), /rules failed: GET \/pa-admin-api\/v3\/config\/export: denied by rule auditor#1 \(role auditor\)/);
  await page.fill('#path', '/pa-admin-api/v3/users/../applications');
  await settle();
  assert.match(await verdict(), /ALLOWED 200 allowed/);
  assert.equal(await page.textContent('#decision-facts dd[data-field="Canonical path"]'), '/pa-admin-api/v3/applications');
  // Times as tokens carry them and as people read them.
  assert.match(await page.textContent('#decision-facts dd[data-field="Token expires"]'), /^\d+ \(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\)$/);
  assert.match(await page.textContent('#trace'), /valid until \d+ \(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\) \(now \d+ \(\d{4}-/);
  await shot('decision');
});

test('the role toggles follow PingAccess semantics', async () => {
  await setClaims(await auditorClaims({ group: 'cn=pingaccess-admins,o=myorg' }));
  await page.selectOption('#method', 'PUT');
  await page.fill('#path', '/pa-admin-api/v3/users/1');
  await settle();
  assert.match(await verdict(), /DENIED 403 denied_by_rule/, 'Administrator is read-only on /users while Platform Administrator is on');
  await page.uncheck('#toggle-platform');
  await settle();
  assert.equal((await policyDoc()).roles[1].enabled, false);
  assert.match(await verdict(), /ALLOWED 200/);
  await page.check('#toggle-platform');
  await page.uncheck('#toggle-roles');
  await settle();
  const off = await policyDoc();
  assert.equal(off.roles[0].grant, 'any_valid_token');
  assert.equal(await page.isDisabled('#toggle-auditor'), true);
  await setClaims(await auditorClaims({ group: 'cn=nobody' }));
  assert.match(await verdict(), /ALLOWED 200/, 'with roles off any valid token is Administrator');
  await page.check('#toggle-roles');
  await settle();
  const on = await policyDoc();
  assert.deepEqual(on.roles[0].required_attributes, [{ claim: 'group', value: 'cn=pingaccess-admins,o=myorg' }]);
  assert.deepEqual(on.roles.map((r) => r.enabled !== false), [true, true, true], 'the other roles come back as they were');
  assert.match(await verdict(), /DENIED 403 no_role/);
  await page.selectOption('#method', 'GET');
});

test('policy errors appear next to the editor with their JSON path', async () => {
  const good = await policyText();
  const doc = JSON.parse(good);
  doc.roles[2].rules[1].paths[0] = '/config**';
  const bad = JSON.stringify(doc, null, 2);
  await typePolicy(bad);
  const statusText = await page.textContent('#policy-status');
  assert.match(statusText, /Policy error \(invalid_value\) at roles\[2\]\.rules\[1\]\.paths\[0\]: '\*\*' may only be a whole segment/);
  assert.equal(await page.getAttribute('#policy-status', 'data-path'), 'roles[2].rules[1].paths[0]');
  assert.match(await verdict(), /Fix the policy first/);
  // The editor underlines exactly the value the core names, and the status
  // links to its line and column.
  await page.waitForSelector('#policy .cm-lintRange-error');
  const marked = await page.$$eval('#policy .cm-lintRange-error', (els) => els.map((e) => e.textContent).join(''));
  assert.equal(marked, '"/config**"');
  assert.equal(await page.locator('#policy .cm-gutter-lint .cm-lint-marker-error').count(), 1);
  const line = bad.split('\n').findIndex((l) => l.includes('"/config**"')) + 1;
  const place = page.locator('#policy-status button[data-from]');
  assert.match(await place.textContent(), new RegExp(`^line ${line}, column \\d+$`));
  await place.click();
  const selected = await page.evaluate(() => getSelection().toString());
  assert.equal(selected, '"/config**"');
  await shot('policy-error');
  // A syntax error is marked where the parser stopped.
  await typePolicy(good.replace('"roles": [', '"roles": [,'));
  assert.match(await page.textContent('#policy-status'), /Policy error \(invalid_json\).*line \d+, column \d+/);
  assert.equal(await page.locator('#policy .cm-lintRange-error').count(), 1);
  await shot('policy-syntax-error');
  // Typing goes through the editor like any edit: undo restores the text.
  await page.keyboard.press('Control+Z');
  await settle();
  assert.equal(await policyText(), bad);
  await typePolicy(good);
  assert.match(await page.textContent('#policy-status'), /Policy OK/);
  assert.equal(await page.locator('#policy .cm-lintRange-error').count(), 0);
});

test('a minted token is decoded, and verified once its key is trusted', async () => {
  await setClaims(await auditorClaims());
  await page.fill('#path', '/pa-admin-api/v3/users');
  await page.click('#mint');
  await settle();
  assert.equal(await page.isChecked('#mode-token'), true);
  const token = await page.inputValue('#token');
  assert.equal(token.split('.').length, 3);
  assert.match(await page.textContent('#token-header'), /"alg": "ES256"/);
  assert.match(await page.textContent('#token-payload'), /"sub": "audrey"/);
  assert.equal(await page.getAttribute('#token-status', 'data-verified'), 'false');
  assert.match(await page.textContent('#token-status'), /Signature NOT verified: unknown_key/);
  assert.match(await verdict(), /DENIED 401 invalid_token \(unknown_key\)/);
  await page.click('#trust-key');
  await settle();
  assert.equal(await page.getAttribute('#token-status', 'data-verified'), 'true');
  assert.match(await page.textContent('#token-status'), /Signature verified against the policy's keys/);
  assert.match(await verdict(), /ALLOWED 200 allowed/);
  // Pasted as people paste it: with its scheme, wrapped over lines.
  await page.fill('#token', `Bearer ${token.slice(0, 40)}\n${token.slice(40)}\n`);
  await settle();
  assert.match(await verdict(), /ALLOWED 200 allowed/);
  assert.match(await page.textContent('#token-header'), /"alg": "ES256"/);
  assert.equal(await page.getAttribute('#token-status', 'data-verified'), 'true');
  // A case added from it, and a share link, keep its claims, never its signature.
  const signature = token.split('.')[2];
  await page.click('#case-add');
  await settle();
  const cases = await page.inputValue('#cases-json');
  assert.ok(!cases.includes(signature), 'no token signature in the cases');
  assert.match(cases, /"sub": "audrey"/);
  assert.match(await page.textContent('#cases-summary'), /1 passed, 0 failed/);
  await page.click('#share');
  await settle();
  const shared = await page.evaluate(async (url) => {
    const { decodeState } = await import('./share.js');
    return decodeState(url.split('#s=')[1]);
  }, await page.getAttribute('#share', 'data-url'));
  assert.ok(!JSON.stringify(shared).includes(signature), 'no token signature in the share link');
  assert.equal(shared.mode, 'claims');
  assert.equal(JSON.parse(shared.claims).sub, 'audrey');
  assert.match(await page.textContent('#toolbar-status'), /Left out: the token's signature \(the link holds its claims\)/);
  const recipient = await open(await page.getAttribute('#share', 'data-url'));
  assert.match(await recipient.textContent('#verdict'), /ALLOWED 200 allowed/);
  await recipient.close();
  await page.click('#cases tbody button');
  await settle();
  // A pasted token whose signature is broken is clearly marked.
  await page.fill('#token', `${token.slice(0, -4)}AAAA`);
  await settle();
  assert.match(await page.textContent('#token-status'), /Signature NOT verified/);
  await shot('token');
});

test('the matrix shows each role and recomputes with the policy', async () => {
  const cell = (row, method, path) => page.getAttribute(`td.cell[data-row="${row}"][data-method="${method}"][data-path="${path}"]`, 'data-allowed');
  assert.equal(await cell('auditor', 'GET', '/pa-admin-api/v3/config/export'), 'false');
  assert.equal(await cell('auditor', 'GET', '/pa-admin-api/v3/applications'), 'true');
  assert.equal(await cell('administrator', 'PUT', '/pa-admin-api/v3/users/1'), 'false');
  assert.equal(await cell('platform_administrator', 'PUT', '/pa-admin-api/v3/users/1'), 'true');
  await page.uncheck('#toggle-platform');
  await settle();
  assert.equal(await cell('administrator', 'PUT', '/pa-admin-api/v3/users/1'), 'true');
  await page.check('#toggle-platform');
  await page.check('input[name=matrix-rows][value=credential]');
  await settle();
  assert.equal(await page.$$eval('#matrix thead th[scope=colgroup]', (ths) => ths.map((t) => t.textContent).join()), 'token (auditor)');
  await page.check('input[name=matrix-rows][value=roles]');
  await settle();
  await shot('matrix');
});

test('compared with a baseline, the matrix marks the cells that change, as rolegate diff does', async () => {
  const change = (row, method, path) => page.getAttribute(`td.cell[data-row="${row}"][data-method="${method}"][data-path="${path}"]`, 'data-change');
  await page.click('#compare-details summary');
  await page.click('#baseline-snapshot');
  await settle();
  assert.match(await page.textContent('#baseline-status'), /Baseline OK/);
  assert.match(await page.textContent('#diff-summary'), /0 cell\(s\) allowed that were denied, 0 denied that were allowed\.$/);
  // PingAccess: without the Platform Administrator role, administrators may write users again.
  await page.uncheck('#toggle-platform');
  await settle();
  assert.equal(await change('administrator', 'PUT', '/pa-admin-api/v3/users/1'), 'grows');
  assert.equal(await change('platform_administrator', 'PUT', '/pa-admin-api/v3/users/1'), 'shrinks');
  assert.equal(await change('auditor', 'GET', '/pa-admin-api/v3/applications'), 'same');
  const title = await page.getAttribute('td.cell[data-row="administrator"][data-method="PUT"][data-path="/pa-admin-api/v3/users/1"]', 'title');
  assert.match(title, /now allowed; before denied \(denied_by_rule\) by administrator#1 .*, now allowed \(allowed\) by administrator#0/);
  // The counts are the core's: the same Policy.diff as the CLI, on the matrix's paths and methods.
  const counts = await page.evaluate(async () => {
    const { Policy } = await import('/rolegate/web.js');
    const { policyText } = await import('/editor.js');
    const paths = document.getElementById('matrix-paths').value.split('\n').filter(Boolean);
    const methods = [...document.querySelectorAll('#matrix-methods input:checked')].map((i) => i.value);
    const d = Policy.parse(document.getElementById('baseline').value).diff(Policy.parse(policyText()), { paths, methods });
    return [d.grown, d.shrunk];
  });
  const summary = page.locator('#diff-summary');
  assert.deepEqual([Number(await summary.getAttribute('data-grown')), Number(await summary.getAttribute('data-shrunk'))], counts);
  assert.ok(counts[0] > 0 && counts[1] > 0);
  await shot('matrix-diff');
  // A settings change shows in no cell, so the summary names it.
  const doc = await policyDoc();
  doc.required_scopes = [];
  await typePolicy(JSON.stringify(doc, null, 2));
  assert.match(await page.textContent('#diff-summary'), /settings changed: required_scopes/);
  // A baseline that is no policy says so; the matrix stays as it was.
  await page.fill('#baseline', '{"roles": 1}');
  await settle();
  assert.match(await page.textContent('#baseline-status'), /not a valid policy: roles: /);
  await page.click('#baseline-clear');
  await settle();
  assert.equal(await page.locator('#diff-summary').count(), 0);
  doc.required_scopes = ['admin'];
  await typePolicy(JSON.stringify(doc, null, 2));
  await page.check('#toggle-platform');
  await settle();
  assert.equal(await page.locator('td.cell[data-change]').count(), 0);
});

test('test cases run, export and import', async () => {
  await page.click('#mode-claims');
  await setClaims(await auditorClaims());
  await page.fill('#path', '/pa-admin-api/v3/backup');
  await settle();
  await page.click('#case-add');
  await page.fill('#path', '/pa-admin-api/v3/applications');
  await settle();
  await page.click('#case-add');
  await settle();
  assert.equal(await page.textContent('#cases-summary'), '2 passed, 0 failed');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#cases-export')]);
  assert.equal(download.suggestedFilename(), 'rolegate-cases.json');
  const exported = JSON.parse(await page.inputValue('#cases-json'));
  assert.equal(exported.cases.length, 2);
  assert.equal(exported.cases[0].expect.reason, 'denied_by_rule');
  exported.cases[1].expect.allowed = false;
  await page.fill('#cases-json', JSON.stringify(exported));
  await page.click('#cases-apply');
  await settle();
  assert.equal(await page.textContent('#cases-summary'), '1 passed, 1 failed');
  // As `rolegate test` says it: the mismatch, the decision and its rule.
  const failing = await page.textContent('#cases tbody tr[data-result=fail]');
  assert.match(failing, /allowed: expected false, got true; decided: allowed 200 allowed by rule \S+ \(allow\)/);
  await page.setInputFiles('#cases-file', { name: 'cases.json', mimeType: 'application/json', buffer: Buffer.from('{"oops": 1}') });
  await settle();
  assert.match(await page.textContent('#cases-status'), /Cannot import/);
  // A trailing comma says where; a misspelt member says what was meant.
  await page.setInputFiles('#cases-file', { name: 'cases.json', mimeType: 'application/json', buffer: Buffer.from('{"cases": [\n  {"request": {"path": "/x"}, "expect": {"status": 200}},\n]}') });
  await settle();
  assert.match(await page.textContent('#cases-status'), /Cannot import: the cases file:3:1: not JSON/);
  await page.setInputFiles('#cases-file', { name: 'cases.json', mimeType: 'application/json', buffer: Buffer.from('{"cases": [{"request": {"path": "/x"}, "expected": {"status": 200}}]}') });
  await settle();
  assert.match(await page.textContent('#cases-status'), /cases\[0\]\.expected: a case has no member "expected" \(did you mean "expect"\?\)/);
  await shot('cases');
});

test('the Envoy config for the current policy is one click away', async () => {
  await page.click('#copy-envoy');
  await settle();
  const yaml = await page.inputValue('#envoy-config');
  assert.match(yaml, /failure_policy: FAIL_CLOSED/);
  assert.match(yaml, /envoy\.filters\.http\.wasm/);
  assert.ok(yaml.includes('pingaccess-admin-api'));
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), yaml);
  // The policy is a block a person can read and edit, one member per line.
  assert.match(yaml, /value: \|\n {20}\{\n {22}"description"/);
  const box = await page.$eval('#envoy-config-details', (el) => { const r = el.getBoundingClientRect(); return r.top < innerHeight && r.bottom > 0; });
  assert.ok(box, 'the opened config is in view');
  // Where the filter is on the Envoy host, the listen port and the upstream are the person's.
  await page.fill('#envoy-wasm-path', '/opt/rolegate/filter.wasm');
  await page.fill('#envoy-listen-port', '10000');
  await page.fill('#envoy-upstream', 'admin-api.internal:8443');
  const custom = await page.inputValue('#envoy-config');
  assert.match(custom, /filename: "\/opt\/rolegate\/filter\.wasm"/);
  assert.match(custom, /port_value: 10000/);
  assert.match(custom, /type: STRICT_DNS[^]*address: admin-api\.internal, port_value: 8443/);
  await page.fill('#envoy-listen-port', 'eighty');
  assert.match(await page.textContent('#envoy-status'), /Listen port: a number from 1 to 65535, not "eighty"/);
  assert.equal(await page.inputValue('#envoy-config'), '');
  await page.fill('#envoy-listen-port', '99999');
  assert.match(await page.textContent('#envoy-status'), /listenPort must be a port number from 1 to 65535/);
  await page.fill('#envoy-listen-port', '8080');
  await page.fill('#envoy-upstream', '127.0.0.1:9000');
  assert.equal(await page.textContent('#envoy-status'), '');
});

test('a shared URL restores the whole state in a new page', async () => {
  await page.uncheck('#toggle-auditor');
  await page.selectOption('#method', 'DELETE');
  await page.fill('#path', '/pa-admin-api/v3/shared');
  await page.fill('#envoy-wasm-path', '/srv/shared.wasm');
  await page.fill('#baseline', await policyText());
  await settle();
  const before = await verdict();
  await page.click('#share');
  await settle();
  const url = await page.getAttribute('#share', 'data-url');
  assert.match(url, /#s=[A-Za-z0-9_-]+$/);
  const other = await open(url);
  assert.equal(await other.inputValue('#path'), '/pa-admin-api/v3/shared');
  assert.equal(await other.inputValue('#method'), 'DELETE');
  assert.equal(await other.isChecked('#toggle-auditor'), false);
  assert.equal(await other.textContent('#verdict'), before);
  assert.equal(await other.$$eval('#cases tbody tr', (rows) => rows.length), 2);
  assert.equal(await policyText(other), await policyText());
  assert.match(await other.inputValue('#envoy-config'), /filename: "\/srv\/shared\.wasm"/);
  assert.match(await other.textContent('#diff-summary'), /^Compared with the baseline: 0 cell/);
  await shot('shared', other);
  await other.close();
  await page.fill('#envoy-wasm-path', '/etc/envoy/rolegate_filter.wasm');
  await page.click('#baseline-clear');
  await settle();
});

test('the Pexip preset guards authentication configuration', async () => {
  await page.click('#preset-pexip');
  await settle();
  assert.equal(await page.isHidden('#pingaccess-toggles'), true);
  assert.match(await policyText(), /pexip-management-api/);
  await page.selectOption('#method', 'PATCH');
  await settle();
  assert.match(await verdict(), /DENIED 403 authentication_config_protected/);
  // The guard decided, not the rule that allowed: the page says so.
  const deciding = await page.textContent('#deciding-rule');
  assert.match(deciding, /^the authentication-configuration guard \(allow_all_permissions is off\)/);
  assert.doesNotMatch(deciding, /allow;/);
  // Keyboard: the preset buttons are reachable and work with Enter.
  await page.focus('#preset-pingaccess');
  await page.keyboard.press('Enter');
  await settle();
  assert.match(await policyText(), /pingaccess-admin-api/);
  await shot('pexip-then-pingaccess');
});

test('an OAuth2 client is created on the Pexip preset and its private key is shown once', async () => {
  await page.click('#preset-pexip');
  await settle();
  assert.equal(await page.isVisible('#endpoint-missing'), true);
  assert.equal(await page.isHidden('#endpoint-box'), true);
  await page.click('#endpoint-add');
  await settle();
  let doc = await policyDoc();
  assert.equal(doc.token_endpoint.issuer, 'https://pexip-manager.example.com');
  assert.deepEqual(doc.issuers, [], 'the management node issues the tokens now');
  assert.match(await page.textContent('#policy-status'), /Policy OK/);
  assert.match(await page.textContent('#endpoint-facts'), /https:\/\/pexip-manager\.example\.com\/oauth\/token\/.*3600 s/s);
  assert.match(await page.textContent('#clients tbody'), /No clients yet/);

  // Keyboard and labels: fill the form, submit with Enter.
  await page.fill('#client-name', 'dashboard');
  await page.selectOption('#client-role', 'read_only');
  await page.focus('#client-name');
  await page.keyboard.press('Enter');
  await settle();
  const clientId = await page.textContent('#client-secret-id');
  assert.match(clientId, /^[A-Za-z0-9_-]{16,}$/);
  const privateJwk = JSON.parse(await page.inputValue('#client-secret-key'));
  assert.equal(privateJwk.kty, 'EC');
  assert.ok(privateJwk.d);
  doc = await policyDoc();
  assert.equal(doc.oauth2_clients.length, 1);
  assert.equal(doc.oauth2_clients[0].client_id, clientId);
  assert.equal(doc.oauth2_clients[0].jwk.d, undefined, 'the policy holds the public key only');
  assert.equal(doc.oauth2_clients[0].jwk.x, privateJwk.x);
  assert.match(await page.textContent('#clients tbody'), new RegExp(`${clientId}\\s*dashboard`));
  assert.equal(await page.getByLabel('Role of client dashboard').inputValue(), 'read_only');
  assert.equal(await page.textContent('#client-secret-url'), 'https://pexip-manager.example.com/oauth/token/');
  await shot('oauth2-client-created');
  await page.locator('#clients-panel').screenshot({ path: join(artifacts, 'oauth2-clients-panel.png') });

  // A share link carries the policy but never the private key.
  await page.click('#share');
  await settle();
  const shared = await page.evaluate(async (url) => {
    const { decodeState } = await import('./share.js');
    return JSON.stringify(await decodeState(url.split('#s=')[1]));
  }, await page.getAttribute('#share', 'data-url'));
  assert.ok(shared.includes(clientId));
  assert.ok(!shared.includes(privateJwk.d), 'no private key in the share link');

  // Nor the token endpoint's private signing key, unless asked for: the
  // recipient's page signs with a new one, and the policy still loads.
  const signing = (await policyDoc()).token_endpoint.signing_key;
  assert.ok(signing.d, 'the page holds a private signing key');
  const sharedState = async () => page.evaluate(async (url) => {
    const { decodeState } = await import('./share.js');
    return decodeState(url.split('#s=')[1]);
  }, await page.getAttribute('#share', 'data-url'));
  let state = await sharedState();
  assert.ok(!JSON.stringify(state).includes(signing.d), 'no private signing key in the share link');
  assert.equal(state.signingKeyWithheld, true);
  assert.match(await page.textContent('#toolbar-status'), /Left out: the token endpoint's private signing key/);
  assert.doesNotMatch(await page.textContent('#toolbar-status'), /WARNING/);
  const recipient = await open(await page.getAttribute('#share', 'data-url'));
  assert.match(await recipient.textContent('#policy-status'), /Policy OK/);
  const theirs = JSON.parse(await policyText(recipient)).token_endpoint.signing_key;
  assert.ok(theirs.d && theirs.d !== signing.d, 'the recipient signs with a key of its own');
  await recipient.close();
  // Asked for explicitly: included, with a warning that names it.
  await page.check('#share-secrets');
  await page.click('#share');
  await settle();
  state = await sharedState();
  assert.ok(JSON.stringify(state).includes(signing.d));
  assert.match(await page.textContent('#toolbar-status'), /WARNING: it holds the token endpoint's private signing key/);
  await page.uncheck('#share-secrets');

  await page.click('#client-secret-done');
  assert.equal(await page.isHidden('#client-secret'), true);
  assert.equal(await page.inputValue('#client-secret-key'), '');

  // An error names the field: a client needs a name.
  await page.fill('#client-name', '');
  await page.click('#client-create');
  await settle();
  assert.match(await page.textContent('#client-status'), /oauth2_clients\[1\]\.name/);
});

test('figure: the matrix for 10 roles x 50 paths x 5 methods in the browser build', async (t) => {
  const ms = await page.evaluate(async () => {
    const { Policy } = await import('./rolegate/web.js');
    const roles = Array.from({ length: 10 }, (_, i) => ({
      name: `role${i}`,
      required_attributes: [{ claim: 'role', value: `r${i}` }],
      rules: [{ effect: 'allow', methods: ['read'], paths: ['/**'] },
        { effect: 'allow', methods: ['write'], paths: [`/area${i}/**`, '/shared/*/items/**'] },
        { effect: 'deny', methods: ['*'], paths: [`/area${(i + 1) % 10}/secret/**`] }],
    }));
    const policy = Policy.parse({ issuers: [{ issuer: 'i', audiences: ['a'], secrets: [{ k: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }], algorithms: ['HS256'] }], roles });
    const request = { paths: Array.from({ length: 50 }, (_, i) => `/area${i % 12}/x/${i}/../secret/${i}`), methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'], now: 1800000000 };
    policy.matrix(request);
    const start = performance.now();
    for (let i = 0; i < 20; i++) policy.matrix(request);
    const elapsed = (performance.now() - start) / 20;
    policy.free();
    return elapsed;
  });
  t.diagnostic(`matrix 10 roles x 50 paths x 5 methods in Chromium: ${ms.toFixed(2)} ms (goal 16 ms)`);
  assert.ok(ms > 0);
});

test('times, header lines and links people get wrong are said, never guessed', async () => {
  await page.click('#preset-pingaccess');
  await settle();
  await page.click('#mode-claims');
  await setClaims(await auditorClaims({ exp: Date.parse('2026-06-01T00:00:00Z') / 1000 }));
  await page.fill('#path', '/pa-admin-api/v3/users');
  // A date and time is a time; before the token's exp it is allowed, after it expired.
  await page.fill('#now', '2026-05-31T23:00:00Z');
  await settle();
  assert.match(await verdict(), /ALLOWED 200/);
  await page.fill('#now', '2026-06-02T00:00:00Z');
  await settle();
  assert.match(await verdict(), /DENIED 401 invalid_token \(expired\)/);
  // "yesterday" is no time: said, and nothing is decided at some other time.
  await page.fill('#now', 'yesterday');
  await settle();
  assert.match(await page.textContent('#request-status'), /Time: "yesterday": give seconds since the epoch \(1800000000\) or a date and time like 2026-12-04T09:30:00Z/);
  assert.doesNotMatch(await verdict(), /ALLOWED|DENIED/);
  await page.fill('#now', '');
  // A header line without a colon is no header.
  await page.fill('#headers', 'X-HTTP-Method-Override DELETE');
  await settle();
  assert.match(await page.textContent('#request-status'), /Extra headers, line 1: "X-HTTP-Method-Override DELETE" is no header/);
  await page.fill('#headers', '');
  await settle();
  assert.equal(await page.textContent('#request-status'), '');
  // The trace says the method once.
  assert.doesNotMatch(await page.textContent('#trace'), /method method/);
  // A damaged link says so.
  const broken = await open(`${page.url().split('#')[0]}#s=garbage`);
  assert.match(await broken.textContent('#toolbar-status'), /the link is damaged or cut short/);
  assert.doesNotMatch(await broken.textContent('#toolbar-status'), /Failed to fetch/);
  await broken.close();
});

test('only the verdict is announced, not the whole decision section, and not while the page is updating', async () => {
  assert.equal(await page.getAttribute('#decision-panel', 'aria-live'), null);
  assert.equal(await page.getAttribute('#verdict', 'aria-live'), 'polite');
  // Between an edit and its decision, <main> is aria-busy (screen readers
  // wait for the whole update).
  assert.equal(await page.getAttribute('main', 'aria-busy'), 'false');
  const path = await page.inputValue('#path');
  // Typed and read in one task, so no timer can run in between.
  const busyAfterTyping = await page.evaluate(() => {
    const input = document.getElementById('path');
    input.value += 'x';
    input.dispatchEvent(new Event('input'));
    return document.querySelector('main').getAttribute('aria-busy');
  });
  assert.equal(busyAfterTyping, 'true');
  await settle();
  assert.equal(await page.getAttribute('main', 'aria-busy'), 'false');
  assert.equal(await page.inputValue('#path'), `${path}x`);
  await page.fill('#path', path);
  await settle();
});

test('a 390 px phone shows the page without sideways scrolling', async () => {
  const phone = await open(page.url().split('#')[0]);
  await phone.setViewportSize({ width: 390, height: 844 });
  await settle(phone);
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  await shot('phone', phone);
  assert.ok(overflow <= 0, `the page is ${overflow} px wider than the phone`);
  // The verdict comes first, above the policy editor.
  const top = (sel) => phone.locator(sel).evaluate((el) => el.getBoundingClientRect().top);
  assert.ok(await top('#verdict') < await top('#policy-panel'), 'the verdict is above the policy on a phone');
  // The matrix scrolls sideways under a path column that stays in view.
  const wrap = phone.locator('#matrix');
  const left = () => phone.locator('#matrix th.path').first().evaluate((el) => el.getBoundingClientRect().left);
  const before = await left();
  await wrap.evaluate((el) => { el.scrollLeft = 300; });
  assert.ok(await wrap.evaluate((el) => el.scrollLeft) > 0, 'the matrix is wider than a phone');
  // (Within a border's width: the sticky cell's collapsed border.)
  assert.ok(Math.abs(await left() - before) <= 2, `the path column stays in view (${before} -> ${await left()})`);
  await shot('phone-matrix-scrolled', phone);
  await phone.close();
});

test('the longest Pexip path fits its box', async () => {
  await page.click('#preset-pexip');
  await settle();
  await page.fill('#path', '/api/admin/configuration/v1/authentication/1/');
  const [scroll, client] = await page.$eval('#path', (el) => [el.scrollWidth, el.clientWidth]);
  assert.ok(scroll <= client, `the path needs ${scroll} px in a ${client} px box`);
  await page.click('#preset-pingaccess');
  await settle();
});

test('on the PingAccess preset, a client for a group-granted role is offered the fix the error describes', async () => {
  await page.click('#preset-pingaccess');
  await settle();
  await page.click('#endpoint-add');
  await settle();
  await page.fill('#client-name', 'ci');
  await page.selectOption('#client-role', 'auditor');
  await page.click('#client-create');
  await settle();
  assert.match(await page.textContent('#client-status'), /grant the role by/);
  assert.equal(await page.isVisible('#client-fix'), true);
  assert.match(await page.textContent('#client-fix'), /Grant auditor by role = "auditor"/);
  await page.click('#client-fix');
  await settle();
  const doc = await policyDoc();
  assert.deepEqual(doc.roles.find((r) => r.name === 'auditor').required_attributes, [{ claim: 'role', value: 'auditor' }]);
  assert.equal(doc.oauth2_clients.length, 1);
  assert.equal(doc.oauth2_clients[0].role, 'auditor');
  assert.equal(await page.isHidden('#client-fix'), true);
  assert.match(await page.textContent('#client-secret-id'), /^[A-Za-z0-9_-]{16,}$/);
  await page.click('#client-secret-done');
  await page.click('#preset-pingaccess');
  await settle();
});

test('the PingAccess Roles form edits required attributes and enable switches, in sync with the JSON', async () => {
  await page.click('#preset-pingaccess');
  await page.click('#mode-claims');
  await setClaims(await auditorClaims());
  await page.fill('#path', '/pa-admin-api/v3/applications');
  await settle();
  await showForm(true);
  assert.match(await verdict(), /ALLOWED 200/);
  const value = page.getByLabel('auditor: attribute 1 value');
  assert.equal(await page.getByLabel('auditor: attribute 1 name').inputValue(), 'group');
  assert.equal(await value.inputValue(), 'cn=pingaccess-auditors,o=myorg');
  // Typing in the form edits the JSON keystroke by keystroke, and the focus stays in the box.
  await value.click();
  await page.keyboard.press('End');
  await page.keyboard.type('-x');
  await settle();
  assert.equal((await policyDoc()).roles[2].required_attributes[0].value, 'cn=pingaccess-auditors,o=myorg-x');
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'auditor: attribute 1 value');
  assert.match(await verdict(), /DENIED 403 no_role/);
  await page.keyboard.press('Backspace');
  await page.keyboard.press('Backspace');
  await settle();
  assert.match(await verdict(), /ALLOWED 200/);
  // Add Required Attribute: ALL attributes must match, so a second one the token lacks denies it.
  await page.locator('[data-role-index="2"]').getByRole('button', { name: 'Add Required Attribute' }).click();
  // An empty row is a row being edited: the policy stays valid, the row says what it needs.
  await settle();
  assert.match(await page.textContent('#policy-status'), /Policy OK/);
  assert.equal((await policyDoc()).roles[2].required_attributes.length, 1);
  await page.keyboard.type('department');
  await settle();
  assert.match(await page.textContent('#policy-status'), /Policy OK/);
  assert.match(await page.locator('[data-role-index="2"] [data-pending]').textContent(), /Needs a value/);
  await shot('form-attribute-being-typed');
  await page.getByLabel('auditor: attribute 2 value').fill('audit');
  await settle();
  assert.deepEqual((await policyDoc()).roles[2].required_attributes[1], { claim: 'department', value: 'audit' });
  assert.match(await verdict(), /DENIED 403 no_role/);
  await setClaims(await auditorClaims({ department: 'audit' }));
  assert.match(await verdict(), /ALLOWED 200/);
  await shot('form-roles');
  await page.getByRole('button', { name: 'Remove auditor attribute 2' }).click();
  await settle();
  assert.equal((await policyDoc()).roles[2].required_attributes.length, 1);
  // The enable switch is the JSON's `enabled`, and the PingAccess toggle follows it.
  await page.locator('[data-role-index="2"]').getByLabel('Enabled').uncheck();
  await settle();
  assert.equal((await policyDoc()).roles[2].enabled, false);
  assert.equal(await page.isChecked('#toggle-auditor'), false);
  await page.check('#toggle-auditor');
  await settle();
  assert.equal(await page.locator('[data-role-index="2"]').getByLabel('Enabled').isChecked(), true);
  // JSON -> form: an edit in the editor shows in the form.
  const doc = await policyDoc();
  doc.roles[0].required_attributes[0].value = 'cn=admins-edited';
  await typePolicy(JSON.stringify(doc, null, 2));
  assert.equal(await page.getByLabel('administrator: attribute 1 value', { exact: true }).inputValue(), 'cn=admins-edited');
  await showForm(false);
});

test('the Pexip settings form: Basic authentication, all permissions, token expiration and client roles', async () => {
  await page.click('#preset-pexip');
  await settle();
  await showForm(true);
  const claims = await policyDoc();
  await setClaims({ iss: claims.issuers[0].issuer, aud: claims.issuers[0].audiences[0], client_id: 'c1', role: 'administrator', jti: 'form', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600 });
  await page.fill('#path', '/api/admin/configuration/v1/authentication/1/');
  await page.selectOption('#method', 'PATCH');
  await settle();
  assert.match(await verdict(), /DENIED 403 authentication_config_protected/);
  // Allow all permissions: OAuth2 clients may then modify authentication configuration.
  await page.getByLabel('Allow all permissions').check();
  await settle();
  assert.equal((await policyDoc()).allow_all_permissions, true);
  assert.match(await verdict(), /ALLOWED 200/);
  await page.getByLabel('Allow all permissions').uncheck();
  await settle();
  // Disable Basic authentication: unchecked, Basic credentials go to the upstream.
  assert.equal(await page.getByLabel('Disable Basic authentication').isChecked(), true);
  await page.click('#mode-none');
  await page.fill('#headers', 'Authorization: Basic YWRtaW46YWRtaW4=');
  await settle();
  assert.match(await verdict(), /DENIED 401/);
  await page.getByLabel('Disable Basic authentication').uncheck();
  await settle();
  assert.equal((await policyDoc()).basic_auth, 'pass_through');
  assert.match(await verdict(), /ALLOWED 200 basic_pass_through|ALLOWED 200/);
  await page.getByLabel('Disable Basic authentication').check();
  await page.fill('#headers', '');
  await page.click('#mode-claims');
  await settle();
  // Token expiration is the token endpoint's; the form offers it once there is one.
  assert.equal(await page.getByLabel('Access token expiration (seconds)').count(), 0);
  await page.click('#endpoint-add');
  await settle();
  const expiration = page.getByLabel('Access token expiration (seconds)');
  assert.equal(await expiration.inputValue(), '3600');
  await expiration.fill('600');
  await settle();
  assert.equal((await policyDoc()).token_endpoint.access_token_expiration_seconds, 600);
  assert.match(await page.textContent('#endpoint-facts'), /600 s/);
  await expiration.fill('ten');
  await settle();
  assert.match(await page.textContent('#form-status'), /Access token expiration: a whole number of seconds, not "ten"/);
  assert.equal((await policyDoc()).token_endpoint.access_token_expiration_seconds, 600, 'a bad value is not written');
  // Each OAuth2 client's role, and removing a client.
  await page.fill('#client-name', 'dashboard');
  await page.selectOption('#client-role', 'read_only');
  await page.click('#client-create');
  await settle();
  await page.click('#client-secret-done');
  await page.getByLabel('Role of client dashboard').selectOption('provisioning');
  await settle();
  assert.equal((await policyDoc()).oauth2_clients[0].role, 'provisioning');
  assert.equal(await page.getByLabel('Role of client dashboard').inputValue(), 'provisioning');
  await shot('form-pexip');
  await page.getByRole('button', { name: 'Remove client dashboard' }).click();
  await settle();
  assert.equal((await policyDoc()).oauth2_clients, undefined);
  await showForm(false);
  await page.click('#preset-pingaccess');
  await settle();
});

// Time to first decision: from navigation to the first verdict, cold
// (no HTTP cache), on 127.0.0.1 and on a throttled link (10 Mbit/s down,
// 40 ms latency), where the download of the policy module shows. Figures,
// printed; never asserted.
const THROTTLED = { offline: false, latency: 40, downloadThroughput: 10_000_000 / 8, uploadThroughput: 5_000_000 / 8 };

test('the page decides without the testing module, and loads it once, when a token is minted', async (t) => {
  const timings = { local: [], throttled: [] };
  let fetched;
  for (let run = 0; run < 6; run++) {
    const throttled = run >= 3;
    const p = await context.newPage();
    const cdp = await context.newCDPSession(p);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    if (throttled) await cdp.send('Network.emulateNetworkConditions', THROTTLED);
    fetched = [];
    p.on('request', (r) => fetched.push(new URL(r.url()).pathname));
    p.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await p.goto(`http://127.0.0.1:${server.port}/`);
    await p.waitForSelector('body[data-ready=true]', { state: 'attached', timeout: 60_000 });
    timings[throttled ? 'throttled' : 'local'].push(Number(await p.getAttribute('body', 'data-first-decision-ms')));
    assert.match(await p.textContent('#verdict'), /DENIED 403|ALLOWED 200/);
    assert.ok(fetched.includes('/rolegate/dist/rolegate_bg.wasm'));
    assert.ok(!fetched.some((f) => f.includes('rolegate_testing')), `no testing module at load: ${fetched.join(' ')}`);
    if (run === 2) {
      await p.click('#mint');
      await p.waitForFunction(() => document.getElementById('token').value.split('.').length === 3);
      assert.equal(fetched.filter((f) => f === '/rolegate/dist/rolegate_testing_bg.wasm').length, 1);
      await p.click('#mode-claims');
      await p.click('#mint');
      await p.waitForTimeout(300);
      assert.equal(fetched.filter((f) => f === '/rolegate/dist/rolegate_testing_bg.wasm').length, 1, 'loaded once');
      assert.match(await p.textContent('#verdict'), /DENIED 401 invalid_token \(unknown_key\)/);
    }
    await p.close();
  }
  const { statSync, readFileSync } = await import('node:fs');
  const { gzipSync } = await import('node:zlib');
  const size = (f) => {
    const bytes = readFileSync(join(root, 'rolegate/dist', f));
    return `${(statSync(join(root, 'rolegate/dist', f)).size / 1024).toFixed(0)} KiB, ${(gzipSync(bytes, { level: 9 }).length / 1024).toFixed(0)} KiB gzip`;
  };
  const median = (list) => [...list].sort((a, b) => a - b)[1];
  t.diagnostic(`time to first decision in Chromium, cold: 127.0.0.1 median ${median(timings.local)} ms (${timings.local.join(', ')}); `
    + `10 Mbit/s, 40 ms latency median ${median(timings.throttled)} ms (${timings.throttled.join(', ')}); `
    + `rolegate_bg.wasm ${size('rolegate_bg.wasm')}, rolegate_testing_bg.wasm ${size('rolegate_testing_bg.wasm')} (loaded on use)`);
});

test('a bound token is decided with its DPoP proof or client certificate, and the page says which binding passed', async () => {
  const { mintToken } = await import('../../pkg/node.js');
  const { loadKeys, publicJwk } = await import('../vectors/runner.mjs');
  const { createHash } = await import('node:crypto');
  const keys = loadKeys();
  const thumbprint = (jwk) => createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })).digest('base64url');
  await typePolicy(JSON.stringify({
    issuers: [{ issuer: 'https://idp.test', audiences: ['api'], algorithms: ['RS256'], jwks: { keys: [publicJwk(keys['rsa-a'])] } }],
    roles: [{ name: 'admin', required_attributes: [{ claim: 'role', value: 'admin' }], rules: [{ effect: 'allow', methods: ['GET'], paths: ['/**'] }] }],
  }, null, 2));
  const now = Math.floor(Date.now() / 1000);
  const token = (cnf) => mintToken({ key: keys['rsa-a'], claims: { iss: 'https://idp.test', aud: 'api', role: 'admin', exp: now + 600, cnf } });
  const dpopToken = token({ jkt: thumbprint(keys['ec-a']) });
  const proof = mintToken({
    key: keys['ec-a'],
    header: { typ: 'dpop+jwt', kid: null, jwk: publicJwk(keys['ec-a']) },
    claims: { jti: 'page-proof-1', htm: 'GET', htu: 'https://admin.test/x', iat: now, ath: createHash('sha256').update(dpopToken).digest('base64url') },
  });
  await page.check('#mode-token');
  await page.fill('#path', '/x');
  await page.selectOption('#method', 'GET');
  await page.fill('#token', dpopToken);
  await settle();
  assert.match(await verdict(), /DENIED 401 invalid_token \(dpop_bound_token\)/);
  assert.equal(await page.$eval('#binding-box', (d) => d.open), true);
  assert.match(await page.textContent('#binding-hint'), /needs a DPoP proof by the key with thumbprint/);
  await page.fill('#dpop-proof', proof);
  await settle();
  // The page does not know where the client sent it: the proof's htu cannot be matched.
  assert.match(await verdict(), /DENIED 401 invalid_token \(dpop_htu_mismatch\)/);
  assert.match(await page.textContent('#trace'), /set dpop.origins/);
  await page.fill('#dpop-origin', 'https://admin.test');
  await settle();
  assert.match(await verdict(), /ALLOWED 200 allowed/);
  assert.equal(await page.textContent('[data-field="Token binding"]'), 'dpop');
  assert.equal(await page.textContent('[data-field="Credential"]'), 'dpop');
  assert.match(await page.textContent('#trace'), /DPoP proof verified: ES256 by the token's key/);
  await shot('dpop-allowed');
  await page.selectOption('#method', 'HEAD');
  await settle();
  assert.match(await verdict(), /DENIED 401 invalid_token \(dpop_htm_mismatch\)/);
  // A certificate-bound token: decided by the certificate given.
  await page.fill('#dpop-proof', '');
  await page.selectOption('#method', 'GET');
  await page.fill('#token', token({ 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg8' }));
  await settle();
  assert.match(await verdict(), /DENIED 401 invalid_token \(client_certificate_missing\)/);
  await page.fill('#client-cert', 'A4DtL2JmUMhAsvJj5tKyn64SqzmuXbMrJa0n761y5v0');
  await settle();
  assert.match(await verdict(), /\(client_certificate_mismatch\)/);
  await page.fill('#client-cert', 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg8');
  await settle();
  assert.match(await verdict(), /ALLOWED 200 allowed/);
  assert.equal(await page.textContent('[data-field="Token binding"]'), 'certificate');
  await page.fill('#client-cert', '');
  await page.fill('#dpop-origin', 'not an origin');
  await settle();
  assert.match(await page.textContent('#request-status'), /Origin: "not an origin" is no origin/);
  await page.fill('#dpop-origin', '');
  await settle();
});
