// rolegate policy preview. Every verdict on this page comes from the same
// wasm core as the Envoy filter; this file only wires inputs to it and draws
// what it answers.
import init, { Policy, createClient, decodeToken, mintToken, generateKey, envoyConfig, runCases } from './rolegate/web.js';
import { encodeState, decodeState } from './share.js';

const $ = (id) => document.getElementById(id);
const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const SIGNATURE_CAUSES = new Set(['unknown_key', 'key_algorithm_mismatch', 'no_usable_key', 'invalid_signature', 'missing_signature', 'alg_none', 'algorithm_not_allowed']);

const PRESETS = {
  pingaccess: {
    file: './presets/pingaccess.json',
    paths: ['/pa-admin-api/v3/applications', '/pa-admin-api/v3/users/1', '/pa-admin-api/v3/auth/oauth',
      '/pa-admin-api/v3/environment', '/pa-admin-api/v3/config/export', '/pa-admin-api/v3/backup',
      '/pa-admin-api/v3/agent/1', '/pa-admin-api/v3/agent/1/config'],
    path: '/pa-admin-api/v3/config/export',
    claims: (p, now) => ({
      iss: p.issuers[0].issuer, aud: p.issuers[0].audiences[0], sub: 'alice', scope: 'admin',
      group: 'cn=pingaccess-auditors,o=myorg', iat: now, exp: now + 3600,
    }),
  },
  pexip: {
    file: './presets/pexip.json',
    paths: ['/api/admin/configuration/v1/conference/', '/api/admin/configuration/v1/authentication/1/',
      '/api/admin/configuration/v1/system_location/', '/api/admin/status/v1/conference/',
      '/api/admin/command/v1/conference/disconnect/', '/api/admin/history/v1/conference/'],
    path: '/api/admin/configuration/v1/authentication/1/',
    claims: (p, now) => ({
      iss: p.issuers[0].issuer, aud: p.issuers[0].audiences[0], client_id: 'c-admin-1', role: 'administrator',
      jti: 'preview', iat: now, exp: now + 3600,
    }),
  },
};

const state = {
  preset: 'pingaccess',
  mode: 'claims',
  matrixRows: 'roles',
  matrixMethods: ['GET', 'POST', 'PUT', 'DELETE'],
  cases: [],
};
let policy = null;          // the loaded Policy, or null while the text is invalid
let lastDecision = null;
let testKey = null;         // {privateJwk, publicJwk}, made on first mint
let stashedAdminAttributes = null;
const presetDocs = {};

// ---------------------------------------------------------------- inputs

function wire() {
  $('preset-pingaccess').addEventListener('click', () => loadPreset('pingaccess'));
  $('preset-pexip').addEventListener('click', () => loadPreset('pexip'));
  $('policy').addEventListener('input', () => { syncToggles(); schedule(); });
  for (const id of ['claims', 'token', 'path', 'headers', 'now', 'matrix-paths']) $(id).addEventListener('input', schedule);
  $('method').addEventListener('change', schedule);
  for (const radio of document.querySelectorAll('input[name=credential]')) {
    radio.addEventListener('change', () => { state.mode = radio.value; showMode(); schedule(); });
  }
  for (const radio of document.querySelectorAll('input[name=matrix-rows]')) {
    radio.addEventListener('change', () => { state.matrixRows = radio.value; schedule(); });
  }
  $('matrix-methods').addEventListener('change', () => {
    state.matrixMethods = [...$('matrix-methods').querySelectorAll('input:checked')].map((i) => i.value);
    schedule();
  });
  $('toggle-roles').addEventListener('change', applyToggles);
  $('toggle-platform').addEventListener('change', applyToggles);
  $('toggle-auditor').addEventListener('change', applyToggles);
  $('mint').addEventListener('click', mint);
  $('trust-key').addEventListener('click', trustTestKey);
  $('share').addEventListener('click', share);
  $('copy-envoy').addEventListener('click', copyEnvoyConfig);
  $('case-add').addEventListener('click', addCase);
  $('cases-export').addEventListener('click', exportCases);
  $('cases-file').addEventListener('change', importCasesFile);
  $('cases-apply').addEventListener('click', () => importCasesText($('cases-json').value));
  $('cases-clear').addEventListener('click', () => { state.cases = []; recompute(); });
  $('endpoint-add').addEventListener('click', addTokenEndpoint);
  $('client-form').addEventListener('submit', (e) => { e.preventDefault(); createClientFromForm(); });
  $('client-secret-copy').addEventListener('click', copyClientKey);
  $('client-secret-done').addEventListener('click', forgetClientKey);
}

let timer = null;
function schedule() {
  clearTimeout(timer);
  timer = setTimeout(recompute, 120);
}

function loadPreset(name) {
  const doc = presetDocs[name];
  const preset = PRESETS[name];
  const now = Math.floor(Date.now() / 1000);
  state.preset = name;
  stashedAdminAttributes = null;
  $('policy').value = JSON.stringify(doc, null, 2);
  $('claims').value = JSON.stringify(preset.claims(doc, now), null, 2);
  $('path').value = preset.path;
  $('method').value = 'GET';
  $('matrix-paths').value = preset.paths.join('\n');
  state.mode = 'claims';
  syncToggles();
  showMode();
  recompute();
  status('toolbar-status', `Loaded the ${name === 'pexip' ? 'Pexip' : 'PingAccess'} preset.`);
}

function showMode() {
  $(`mode-${state.mode}`).checked = true;
  $('claims-box').hidden = state.mode !== 'claims';
  $('token-box').hidden = state.mode !== 'token';
  for (const box of $('matrix-methods').querySelectorAll('input')) box.checked = state.matrixMethods.includes(box.value);
  for (const radio of document.querySelectorAll('input[name=matrix-rows]')) radio.checked = radio.value === state.matrixRows;
}

// ---------------------------------------------------------------- PingAccess toggles

function policyJson() {
  try { return JSON.parse($('policy').value); } catch { return null; }
}
const roleNamed = (doc, name) => doc?.roles?.find?.((r) => r && r.name === name);

/** Shows the toggles when the policy has the PingAccess roles, reflecting their state. */
function syncToggles() {
  const doc = policyJson();
  const admin = roleNamed(doc, 'administrator');
  const platform = roleNamed(doc, 'platform_administrator');
  const auditor = roleNamed(doc, 'auditor');
  const show = Boolean(admin && platform && auditor);
  $('pingaccess-toggles').hidden = !show;
  if (!show) return;
  const rolesOn = admin.grant !== 'any_valid_token';
  $('toggle-roles').checked = rolesOn;
  // With roles off the two roles are disabled in the policy; their boxes keep
  // what they were, so turning roles back on restores them.
  if (rolesOn) {
    $('toggle-platform').checked = platform.enabled !== false;
    $('toggle-auditor').checked = auditor.enabled !== false;
  }
  $('toggle-platform').disabled = !rolesOn;
  $('toggle-auditor').disabled = !rolesOn;
}

/** PingAccess semantics: with roles disabled every valid token is Administrator. */
function applyToggles() {
  const doc = policyJson();
  if (!doc) return;
  const admin = roleNamed(doc, 'administrator');
  const platform = roleNamed(doc, 'platform_administrator');
  const auditor = roleNamed(doc, 'auditor');
  const rolesOn = $('toggle-roles').checked;
  if (rolesOn) {
    if (admin.grant === 'any_valid_token') {
      delete admin.grant;
      admin.required_attributes = stashedAdminAttributes
        ?? structuredClone(roleNamed(presetDocs.pingaccess, 'administrator').required_attributes);
    }
    platform.enabled = $('toggle-platform').checked;
    auditor.enabled = $('toggle-auditor').checked;
  } else {
    if (admin.grant !== 'any_valid_token') stashedAdminAttributes = admin.required_attributes;
    delete admin.required_attributes;
    admin.grant = 'any_valid_token';
    platform.enabled = false;
    auditor.enabled = false;
  }
  $('policy').value = JSON.stringify(doc, null, 2);
  syncToggles();
  recompute();
}

// ---------------------------------------------------------------- the core

function nowSeconds() {
  const text = $('now').value.trim();
  return text && /^\d+$/.test(text) ? Number(text) : Math.floor(Date.now() / 1000);
}

function extraHeaders() {
  const headers = [];
  for (const line of $('headers').value.split('\n')) {
    const i = line.indexOf(':');
    if (line.trim() && i > 0) headers.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  }
  return headers;
}

/** The decide() request for the current inputs, or {error}. */
function currentRequest() {
  const request = { method: $('method').value, path: $('path').value, headers: extraHeaders(), now: nowSeconds() };
  if (state.mode === 'claims') {
    try {
      const claims = JSON.parse($('claims').value);
      if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw new Error('the claims must be a JSON object');
      request.claims = claims;
      status('claims-status', '');
    } catch (e) {
      status('claims-status', `Claims: ${e.message}`, 'error');
      return { error: 'Fix the claims first.' };
    }
  } else if (state.mode === 'token') {
    const token = $('token').value.trim();
    if (token) request.headers.push(['authorization', `Bearer ${token}`]);
  }
  return { request };
}

function recompute() {
  loadPolicy();
  showToken();
  const { request, error } = currentRequest();
  if (!policy) {
    renderDecision(null, 'Fix the policy first: the decision needs a valid policy.');
  } else if (error) {
    renderDecision(null, error);
  } else {
    try {
      lastDecision = policy.decide(request);
      renderDecision(lastDecision);
    } catch (e) {
      renderDecision(null, `${e.message}`);
    }
  }
  renderSignature();
  renderMatrix();
  renderCases();
  renderClients();
  $('envoy-config').value = policy ? envoyConfig($('policy').value, { wasmPath: '/etc/envoy/rolegate_filter.wasm' }) : '';
}

function loadPolicy() {
  const text = $('policy').value;
  if (policy) policy.free();
  policy = null;
  try {
    policy = Policy.parse(text);
    const roles = policy.roles.map((r) => (r.enabled ? r.name : `${r.name} (disabled)`));
    status('policy-status', `Policy OK: ${roles.length} roles (${roles.join(', ')}), mode ${policy.mode}.`, 'ok');
  } catch (e) {
    const where = e.path ? `<code>${escapeHtml(e.path)}</code>: ` : '';
    const message = e.path && e.message.startsWith(`${e.path}: `) ? e.message.slice(e.path.length + 2) : e.message;
    statusHtml('policy-status', `Policy error (${escapeHtml(e.code ?? 'error')}) at ${where}${escapeHtml(message)}`, 'error');
    $('policy-status').dataset.path = e.path ?? '';
  }
}

// ---------------------------------------------------------------- token

function showToken() {
  const token = $('token').value.trim();
  $('token-header').textContent = '';
  $('token-payload').textContent = '';
  if (state.mode !== 'token') return;
  if (!token) {
    status('token-status', 'Paste a JWT, or mint one from claims.', 'warn');
    return;
  }
  try {
    const { header, payload } = decodeToken(token);
    $('token-header').textContent = JSON.stringify(header, null, 2);
    $('token-payload').textContent = JSON.stringify(payload, null, 2);
  } catch (e) {
    status('token-status', `Not a JWT: ${e.message}`, 'error');
  }
}

/** Marks whether the signature was verified against the policy's keys. */
function renderSignature() {
  if (state.mode !== 'token' || !$('token').value.trim() || !lastDecision || !policy) return;
  const step = lastDecision.trace.find((s) => s.step === 'token.signature');
  const failed = lastDecision.reason === 'invalid_token' && SIGNATURE_CAUSES.has(lastDecision.cause);
  const tokenStep = lastDecision.trace.find((s) => s.step === 'token');
  if (step?.ok) {
    status('token-status', `Signature verified against the policy's keys: ${step.detail}.`, 'ok');
  } else if (failed || tokenStep) {
    status('token-status', `Signature NOT verified: ${tokenStep ? tokenStep.detail : lastDecision.cause}.`, 'error');
  } else {
    status('token-status', 'The signature was not checked (the request was decided before the token).', 'warn');
  }
  $('token-status').dataset.verified = step?.ok ? 'true' : 'false';
}

function mint() {
  let claims;
  try {
    claims = JSON.parse($('claims').value);
  } catch (e) {
    status('claims-status', `Claims: ${e.message}`, 'error');
    return;
  }
  testKey ??= generateKey({ alg: 'ES256', kid: `rolegate-preview-${Math.random().toString(36).slice(2, 10)}` });
  $('token').value = mintToken({ key: testKey.privateJwk, claims });
  state.mode = 'token';
  showMode();
  $('test-key-note').hidden = false;
  $('test-key-text').textContent = `Signed with a generated test key (ES256, kid ${testKey.publicJwk.kid}). `
    + 'A real policy does not trust it; trust it here to preview a verified token.';
  recompute();
}

/** Adds the generated key to the issuer the token names (else the first). */
function trustTestKey() {
  const doc = policyJson();
  if (!doc || !testKey) return;
  let iss;
  try { iss = decodeToken($('token').value.trim()).payload.iss; } catch { iss = undefined; }
  const issuer = doc.issuers.find((i) => i.issuer === iss) ?? doc.issuers[0];
  issuer.jwks ??= { keys: [] };
  if (!issuer.jwks.keys.some((k) => k.kid === testKey.publicJwk.kid)) issuer.jwks.keys.push(testKey.publicJwk);
  if (!issuer.algorithms.includes('ES256')) issuer.algorithms.push('ES256');
  $('policy').value = JSON.stringify(doc, null, 2);
  $('test-key-note').hidden = true;
  recompute();
}

// ---------------------------------------------------------------- decision

function renderDecision(d, message) {
  const verdict = $('verdict');
  const facts = $('decision-facts');
  facts.innerHTML = '';
  $('role-checks').innerHTML = '';
  $('trace').innerHTML = '';
  $('deciding-rule').textContent = '';
  verdict.className = 'verdict';
  if (!d) {
    verdict.textContent = message;
    verdict.dataset.allowed = '';
    return;
  }
  verdict.classList.add(d.allowed ? 'allowed' : 'denied');
  verdict.classList.toggle('dry', d.dry_run);
  verdict.dataset.allowed = String(d.allowed);
  verdict.textContent = `${d.allowed ? 'ALLOWED' : 'DENIED'} ${d.status} ${d.reason}${d.cause ? ` (${d.cause})` : ''}`
    + (d.dry_run && !d.allowed ? ' - dry run: Envoy lets it through and logs it' : '');
  const rows = [
    ['Status', d.status], ['Reason', d.reason], ['Cause', d.cause ?? '-'],
    ['WWW-Authenticate', d.www_authenticate ?? '-'], ['Credential', d.credential],
    ['Issuer', d.issuer ?? '-'], ['Subject', d.subject ?? '-'], ['Client id', d.client_id ?? '-'],
    ['Granted roles', d.roles.join(', ') || '-'], ['Methods judged', d.methods.join(', ') || '-'],
    ['Canonical path', d.path ?? '-'], ['Upstream receives', d.upstream_path ?? '-'],
  ];
  for (const [k, v] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = String(v);
    dd.dataset.field = k;
    facts.append(dt, dd);
  }
  for (const check of d.role_checks) {
    const div = document.createElement('div');
    div.className = `role${check.granted ? ' granted' : ''}`;
    div.dataset.role = check.role;
    const head = `<span class="name">${escapeHtml(check.role)}</span> `
      + `<span class="${check.granted ? 'yes' : 'no'}">${check.granted ? 'granted' : 'not granted'}</span>`
      + (check.enabled ? '' : ' (disabled)')
      + (check.grant === 'any_valid_token' ? ' - any valid token' : '');
    const attrs = check.attributes.map((a) => `<div class="attr" data-matched="${a.matched}">`
      + `<span class="${a.matched ? 'yes' : 'no'}" aria-label="${a.matched ? 'matched' : 'not matched'}">${a.matched ? '✓' : '✗'}</span> `
      + `${escapeHtml(a.claim)} = ${escapeHtml(JSON.stringify(a.value))}`
      + ` <span class="hint">token: ${escapeHtml(a.actual === null ? 'absent' : JSON.stringify(a.actual))}</span></div>`).join('');
    div.innerHTML = head + attrs;
    $('role-checks').append(div);
  }
  if (d.role_checks.length === 0) $('role-checks').textContent = 'Roles were not evaluated (the request was decided before).';
  if (d.rule) {
    const rule = policyJson()?.roles?.find((r) => r.name === d.rule.role)?.rules?.[d.rule.index];
    $('deciding-rule').textContent = `roles["${d.rule.role}"].rules[${d.rule.index}] (${d.rule.effect})\n${rule ? JSON.stringify(rule, null, 2) : ''}`;
  } else {
    $('deciding-rule').textContent = 'none';
  }
  for (const step of d.trace) {
    const li = document.createElement('li');
    li.className = step.ok ? 'ok' : 'fail';
    li.innerHTML = `<span class="step">${escapeHtml(step.step)}</span> ${step.ok ? '' : '<strong>failed</strong>: '}${escapeHtml(step.detail)}`;
    $('trace').append(li);
  }
}

// ---------------------------------------------------------------- matrix

function renderMatrix() {
  const wrap = $('matrix');
  wrap.innerHTML = '';
  if (!policy) return;
  const paths = $('matrix-paths').value.split('\n').map((p) => p.trim()).filter(Boolean);
  const methods = state.matrixMethods;
  if (!paths.length || !methods.length) {
    wrap.textContent = 'List at least one path and choose at least one method.';
    return;
  }
  const request = { paths, methods, now: nowSeconds() };
  if (state.matrixRows === 'credential') {
    const claims = currentClaims();
    if (!claims) {
      wrap.textContent = 'The current credential has no readable claims.';
      return;
    }
    request.claims = claims;
  }
  const matrix = policy.matrix(request);
  const table = document.createElement('table');
  table.className = 'matrix';
  const groupHead = matrix.rows.map((r) => `<th scope="colgroup" colspan="${methods.length}">${escapeHtml(r.name === 'token' ? `token (${r.roles.join(', ') || 'no role'})` : r.name)}${r.enabled ? '' : ' (disabled)'}</th>`).join('');
  const methodHead = matrix.rows.map(() => methods.map((m) => `<th scope="col">${m}</th>`).join('')).join('');
  table.innerHTML = `<caption class="visually-hidden">Allowed (✓) and denied (✗) methods per path</caption>`
    + `<thead><tr><th scope="col" rowspan="2">Path</th>${groupHead}</tr><tr>${methodHead}</tr></thead>`;
  const body = document.createElement('tbody');
  paths.forEach((path, p) => {
    const tr = document.createElement('tr');
    tr.innerHTML = `<th scope="row" class="path">${escapeHtml(path)}</th>`;
    for (const row of matrix.rows) {
      methods.forEach((method, m) => {
        const cell = row.cells[p][m];
        const td = document.createElement('td');
        td.className = `cell ${cell.allowed ? 'allow' : 'deny'}`;
        td.textContent = cell.allowed ? '✓' : '✗';
        td.dataset.row = row.name;
        td.dataset.path = path;
        td.dataset.method = method;
        td.dataset.allowed = String(cell.allowed);
        const why = `${row.name} ${method} ${path}: ${cell.allowed ? 'allowed' : 'denied'} (${cell.reason}${cell.cause ? `, ${cell.cause}` : ''})`
          + (cell.rule ? ` by rule ${cell.rule.index} of ${cell.rule.role}` : '');
        td.title = why;
        td.setAttribute('aria-label', why);
        tr.append(td);
      });
    }
    body.append(tr);
  });
  table.append(body);
  wrap.append(table);
}

function currentClaims() {
  if (state.mode === 'claims') {
    try { return JSON.parse($('claims').value); } catch { return null; }
  }
  if (state.mode === 'token') {
    try { return decodeToken($('token').value.trim()).payload; } catch { return null; }
  }
  return null;
}

// ---------------------------------------------------------------- test cases

function addCase() {
  const { request, error } = currentRequest();
  if (error || !lastDecision) {
    status('cases-summary', 'Nothing to add: the current request has no decision.', 'error');
    return;
  }
  const d = lastDecision;
  state.cases.push({
    name: `${request.method} ${request.path} -> ${d.allowed ? 'allowed' : d.reason}`,
    request,
    expect: { allowed: d.allowed, status: d.status, reason: d.reason, roles: d.roles },
  });
  recompute();
}

function renderCases() {
  $('cases-json').value = JSON.stringify({ cases: state.cases }, null, 2);
  const tbody = $('cases').querySelector('tbody');
  tbody.innerHTML = '';
  if (!state.cases.length) {
    status('cases-summary', 'No cases yet.');
    return;
  }
  if (!policy) {
    status('cases-summary', 'Fix the policy to run the cases.', 'error');
    return;
  }
  let results;
  try {
    results = runCases(policy, { cases: state.cases });
  } catch (e) {
    status('cases-summary', e.message, 'error');
    return;
  }
  results.forEach((r, i) => {
    const c = state.cases[i];
    const tr = document.createElement('tr');
    tr.dataset.result = r.pass ? 'pass' : 'fail';
    const detail = r.pass
      ? `${r.decision.allowed ? 'allowed' : 'denied'} ${r.decision.status} ${r.decision.reason}`
      : r.mismatches.map((m) => `${m.field}: expected ${JSON.stringify(m.expected)}, got ${JSON.stringify(m.actual)}`).join('; ');
    tr.innerHTML = `<td>${escapeHtml(r.name)}</td>`
      + `<td><code>${escapeHtml(`${c.request.method ?? 'GET'} ${c.request.path}`)}</code></td>`
      + `<td><code>${escapeHtml(JSON.stringify(c.expect))}</code></td>`
      + `<td><span class="${r.pass ? 'pass' : 'fail'}">${r.pass ? 'PASS' : 'FAIL'}</span> ${escapeHtml(detail)}</td>`
      + `<td><button type="button" aria-label="Remove case ${escapeHtml(r.name)}">Remove</button></td>`;
    tr.querySelector('button').addEventListener('click', () => { state.cases.splice(i, 1); recompute(); });
    tbody.append(tr);
  });
  const failed = results.filter((r) => !r.pass).length;
  status('cases-summary', `${results.length - failed} passed, ${failed} failed`, failed ? 'error' : 'ok');
}

function exportCases() {
  const text = JSON.stringify({ cases: state.cases }, null, 2);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  a.download = 'rolegate-cases.json';
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  $('cases-json').value = text;
  $('cases-json-details').open = true;
}

async function importCasesFile(event) {
  const file = event.target.files[0];
  if (file) importCasesText(await file.text());
  event.target.value = '';
}

function importCasesText(text) {
  try {
    const doc = JSON.parse(text);
    const list = Array.isArray(doc) ? doc : doc.cases;
    if (!Array.isArray(list)) throw new Error('expected {"cases": [...]} or an array');
    const now = !Array.isArray(doc) && typeof doc.now === 'number' ? doc.now : undefined;
    list.forEach((c, i) => {
      if (!c?.request?.path || !c.expect) throw new Error(`cases[${i}] needs request.path and expect`);
    });
    state.cases = list.map((c) => ({ ...c, request: { now, ...c.request } }));
    status('cases-status', `Imported ${list.length} case(s).`, 'ok');
    recompute();
  } catch (e) {
    status('cases-status', `Cannot import: ${e.message}`, 'error');
  }
}

// ---------------------------------------------------------------- share and copy

function collectState() {
  return {
    v: 1,
    preset: state.preset,
    policy: $('policy').value,
    mode: state.mode,
    claims: $('claims').value,
    token: $('token').value,
    method: $('method').value,
    path: $('path').value,
    headers: $('headers').value,
    now: $('now').value,
    matrixPaths: $('matrix-paths').value,
    matrixMethods: state.matrixMethods,
    matrixRows: state.matrixRows,
    cases: state.cases,
  };
}

function applyState(s) {
  if (!s || s.v !== 1) throw new Error('unknown link format');
  state.preset = s.preset ?? 'pingaccess';
  $('policy').value = s.policy ?? '';
  state.mode = ['claims', 'token', 'none'].includes(s.mode) ? s.mode : 'claims';
  $('claims').value = s.claims ?? '';
  $('token').value = s.token ?? '';
  $('method').value = s.method ?? 'GET';
  $('path').value = s.path ?? '/';
  $('headers').value = s.headers ?? '';
  $('now').value = s.now ?? '';
  $('matrix-paths').value = s.matrixPaths ?? '';
  state.matrixMethods = Array.isArray(s.matrixMethods) ? s.matrixMethods : state.matrixMethods;
  state.matrixRows = s.matrixRows === 'credential' ? 'credential' : 'roles';
  state.cases = Array.isArray(s.cases) ? s.cases : [];
  syncToggles();
  showMode();
  recompute();
}

async function share() {
  const url = `${location.href.split('#')[0]}#s=${await encodeState(collectState())}`;
  history.replaceState(null, '', url);
  $('share').dataset.url = url;
  try {
    await navigator.clipboard.writeText(url);
    const signing = policy?.tokenEndpoint ? ' and the token endpoint\'s signing key' : '';
    status('toolbar-status', `Share link copied (the page address now holds it too). It contains the policy${signing} and credential: do not share real tokens or keys.`);
  } catch {
    status('toolbar-status', 'The page address now holds the share link; copy it from the address bar.');
  }
}

async function copyEnvoyConfig() {
  if (!policy) {
    status('toolbar-status', 'Fix the policy first.', 'error');
    return;
  }
  $('envoy-config-details').open = true;
  try {
    await navigator.clipboard.writeText($('envoy-config').value);
    status('toolbar-status', 'Envoy configuration copied.');
  } catch {
    $('envoy-config').select();
    status('toolbar-status', 'Select and copy the Envoy configuration below.');
  }
}

// ---------------------------------------------------------------- OAuth2 clients (token endpoint)

/** The token endpoint and its clients, as the core compiled them. */
function renderClients() {
  const doc = policyJson();
  const endpoint = policy?.tokenEndpoint ?? null;
  $('endpoint-missing').hidden = !policy || Boolean(endpoint);
  $('endpoint-add').disabled = !doc?.issuers?.length;
  $('client-create').disabled = !endpoint;
  if (!policy) return; // keep showing the last valid state while the text is being fixed
  $('endpoint-box').hidden = !endpoint;
  if (!endpoint) return;
  const facts = [
    ['Issuer', endpoint.issuer],
    ['Token URL', endpoint.url],
    ['Token lifetime', `${endpoint.expiration_seconds} s`],
    ['Active tokens', `GET ${endpoint.active_tokens_path} (role ${endpoint.active_tokens_role})`],
  ];
  $('endpoint-facts').innerHTML = facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('');
  $('clients').querySelector('tbody').innerHTML = endpoint.clients.length
    ? endpoint.clients.map((c) => `<tr><td><code>${escapeHtml(c.client_id)}</code></td><td>${escapeHtml(c.name)}</td>`
      + `<td>${escapeHtml(c.role)}</td><td>${escapeHtml(c.alg ?? '')}</td></tr>`).join('')
    : '<tr><td colspan="4">No clients yet.</td></tr>';
  const select = $('client-role');
  const current = select.value;
  const names = policy.roles.map((r) => r.name);
  select.innerHTML = names.map((n) => `<option>${escapeHtml(n)}</option>`).join('');
  if (names.includes(current)) select.value = current;
}

/**
 * Pexip's model: the management node issues the tokens. The first issuer
 * becomes the token endpoint (same name and audience) with a fresh signing key.
 */
function addTokenEndpoint() {
  const doc = policyJson();
  const [first, ...rest] = doc?.issuers ?? [];
  if (!first) return;
  const roles = (policy?.roles ?? []).map((r) => r.name);
  doc.token_endpoint = {
    issuer: first.issuer,
    audience: first.audiences?.[0] ?? 'admin-api',
    signing_key: generateKey({ alg: 'ES256', kid: `token-endpoint-${Math.random().toString(36).slice(2, 10)}` }).privateJwk,
    access_token_expiration_seconds: 3600,
    active_tokens_role: roles.includes('administrator') ? 'administrator' : roles[0],
  };
  doc.issuers = rest;
  $('policy').value = JSON.stringify(doc, null, 2);
  status('client-status', `The filter now issues the tokens of ${first.issuer}, signed by a new key (in the policy).`, 'ok');
  recompute();
}

function createClientFromForm() {
  const name = $('client-name').value.trim();
  let created;
  try {
    created = createClient($('policy').value, { name, role: $('client-role').value, alg: $('client-alg').value });
  } catch (e) {
    status('client-status', e.message, 'error');
    return;
  }
  $('policy').value = JSON.stringify(created.policy, null, 2);
  $('client-secret-id').textContent = created.clientId;
  $('client-secret-url').textContent = created.tokenUrl;
  $('client-secret-key').value = JSON.stringify(created.privateJwk, null, 2);
  $('client-secret').hidden = false;
  $('client-name').value = '';
  status('client-status', `Client ${name} added to the policy.`, 'ok');
  recompute();
  $('client-secret-key').focus();
  $('client-secret-key').setSelectionRange(0, 0);
  $('client-secret-key').scrollTop = 0;
}

async function copyClientKey() {
  try {
    await navigator.clipboard.writeText($('client-secret-key').value);
    status('client-status', 'Private key copied.', 'ok');
  } catch {
    $('client-secret-key').select();
    status('client-status', 'Select and copy the private key.', 'warn');
  }
}

function forgetClientKey() {
  $('client-secret-key').value = '';
  $('client-secret-id').textContent = '';
  $('client-secret-url').textContent = '';
  $('client-secret').hidden = true;
  status('client-status', 'The private key is gone from this page.');
}

// ---------------------------------------------------------------- helpers

function status(id, text, kind = '') {
  const el = $(id);
  el.textContent = text;
  el.className = `status ${kind}`.trim();
}

function statusHtml(id, html, kind) {
  const el = $(id);
  el.innerHTML = html;
  el.className = `status ${kind}`;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

// ---------------------------------------------------------------- startup (last: every
// function and constant above is initialised by now)

await init();
await Promise.all(Object.entries(PRESETS).map(async ([name, p]) => {
  presetDocs[name] = await (await fetch(p.file)).json();
}));
for (const m of ALL_METHODS) {
  const label = document.createElement('label');
  label.innerHTML = `<input type="checkbox" value="${m}"> ${m}`;
  $('matrix-methods').append(label);
}
wire();
if (location.hash.startsWith('#s=')) {
  try {
    applyState(await decodeState(location.hash.slice(3)));
    status('toolbar-status', 'Loaded the shared state from the link.');
  } catch (e) {
    loadPreset('pingaccess');
    status('toolbar-status', `The link could not be read (${e.message}); loaded the PingAccess preset.`, 'error');
  }
} else {
  loadPreset('pingaccess');
}
document.body.dataset.ready = 'true';
