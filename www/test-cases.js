// Decision test cases: added from the current request, run by the package's
// runCases (the `rolegate test` runner), imported and exported as JSON.

import { normaliseCases, runCases } from './rolegate/web.js';
import { caseFailure, decisionSummary } from './rolegate/cases.js';
import { readJson } from './rolegate/input.js';
import { page } from './page.js';
import { $, status, escapeHtml } from './dom.js';
import { currentRequest } from './request.js';
import { recompute } from './app.js';
import { withoutSignature } from './sharing.js';

export function addCase() {
  const { request, error } = currentRequest();
  if (error || !page.lastDecision) {
    status('cases-summary', 'Nothing to add: the current request has no decision.', 'error');
    return;
  }
  const d = page.lastDecision;
  page.state.cases.push({
    name: `${request.method} ${request.path} -> ${d.allowed ? 'allowed' : d.reason}`,
    // A case keeps the token's claims, never its signature: cases are
    // exported and shared, and a claims preview decides the same.
    request: withoutSignature(request),
    expect: { allowed: d.allowed, status: d.status, reason: d.reason, roles: d.roles },
  });
  recompute();
}

export function renderCases() {
  $('cases-json').value = JSON.stringify({ cases: page.state.cases }, null, 2);
  const tbody = $('cases').querySelector('tbody');
  tbody.innerHTML = '';
  if (!page.state.cases.length) {
    status('cases-summary', 'No cases yet.');
    return;
  }
  if (!page.policy) {
    status('cases-summary', 'Fix the policy to run the cases.', 'error');
    return;
  }
  let results;
  try {
    results = runCases(page.policy, { cases: page.state.cases });
  } catch (e) {
    status('cases-summary', e.message, 'error');
    return;
  }
  results.forEach((r, i) => {
    const c = page.state.cases[i];
    const tr = document.createElement('tr');
    tr.dataset.result = r.pass ? 'pass' : 'fail';
    // What `rolegate test` says of it, word for word.
    const detail = r.pass ? decisionSummary(r.decision) : caseFailure(r).join('; ');
    tr.innerHTML = `<td>${escapeHtml(r.name)}</td>`
      + `<td><code>${escapeHtml(`${c.request.method ?? 'GET'} ${c.request.path}`)}</code></td>`
      + `<td><code>${escapeHtml(JSON.stringify(c.expect))}</code></td>`
      + `<td><span class="${r.pass ? 'pass' : 'fail'}">${r.pass ? 'PASS' : 'FAIL'}</span> ${escapeHtml(detail)}</td>`
      + `<td><button type="button" aria-label="Remove case ${escapeHtml(r.name)}">Remove</button></td>`;
    tr.querySelector('button').addEventListener('click', () => { page.state.cases.splice(i, 1); recompute(); });
    tbody.append(tr);
  });
  const failed = results.filter((r) => !r.pass).length;
  status('cases-summary', `${results.length - failed} passed, ${failed} failed`, failed ? 'error' : 'ok');
}

export function exportCases() {
  const text = JSON.stringify({ cases: page.state.cases }, null, 2);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  a.download = 'rolegate-cases.json';
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  $('cases-json').value = text;
  $('cases-json-details').open = true;
}

export async function importCasesFile(event) {
  const file = event.target.files[0];
  if (file) importCasesText(await file.text());
  event.target.value = '';
}

export function importCasesText(text) {
  try {
    const doc = readJson(text, 'the cases file');
    // The package's own reading of a cases file (the one `rolegate test` uses).
    const list = normaliseCases(doc);
    const now = !Array.isArray(doc) && typeof doc.now === 'number' ? doc.now : undefined;
    page.state.cases = list.map((c) => ({ ...c, request: { now, ...c.request } }));
    status('cases-status', `Imported ${list.length} case(s).`, 'ok');
    recompute();
  } catch (e) {
    status('cases-status', `Cannot import: ${e.message}`, 'error');
  }
}
