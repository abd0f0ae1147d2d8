// rolegate policy preview. Every verdict on this page comes from the same
// wasm core as the Envoy filter; these modules only wire inputs to it and
// draw what it answers. This one wires the form to the panes (one module
// each, see the imports) and recomputes on every change; main.js starts it.

import { Policy, envoyConfig } from './rolegate/web.js';
import { splitHostPort } from './rolegate/envoy-config.js';
import { page, PRESETS } from './page.js';
import { $, status, statusHtml, escapeHtml, markBusy, whileBusy, busyHandler } from './dom.js';
import { syncToggles, applyToggles } from './toggles.js';
import { currentRequest } from './request.js';
import { showToken, renderSignature, mint, trustTestKey } from './token.js';
import { renderDecision } from './decision.js';
import { renderMatrix } from './matrix.js';
import { addCase, renderCases, exportCases, importCasesFile, importCasesText } from './test-cases.js';
import { share, copyEnvoyConfig } from './sharing.js';
import { wireCompare } from './compare.js';
import { wireForm, renderForm } from './form.js';
import { onPolicyEdit, policyText, setPolicyText, showPolicyError, revealPolicyRange } from './editor.js';
import { renderClients, wireClientTable, addTokenEndpoint, createClientFromForm, copyClientKey, forgetClientKey, grantRoleAndCreate } from './clients.js';

export function wire() {
  $('preset-pingaccess').addEventListener('click', () => loadPreset('pingaccess'));
  $('preset-pexip').addEventListener('click', () => loadPreset('pexip'));
  onPolicyEdit(() => { syncToggles(); schedule(); });
  $('policy-status').addEventListener('click', (e) => {
    const at = e.target.closest('[data-from]');
    if (at) revealPolicyRange(Number(at.dataset.from), Number(at.dataset.to));
  });
  for (const id of ['claims', 'token', 'path', 'headers', 'now', 'matrix-paths', 'dpop-proof', 'dpop-origin', 'client-cert']) $(id).addEventListener('input', schedule);
  for (const id of ['envoy-wasm-path', 'envoy-listen-port', 'envoy-upstream']) $(id).addEventListener('input', renderEnvoyConfig);
  $('method').addEventListener('change', schedule);
  for (const radio of document.querySelectorAll('input[name=credential]')) {
    radio.addEventListener('change', () => { page.state.mode = radio.value; showMode(); schedule(); });
  }
  for (const radio of document.querySelectorAll('input[name=matrix-rows]')) {
    radio.addEventListener('change', () => { page.state.matrixRows = radio.value; schedule(); });
  }
  $('matrix-methods').addEventListener('change', () => {
    page.state.matrixMethods = [...$('matrix-methods').querySelectorAll('input:checked')].map((i) => i.value);
    schedule();
  });
  $('toggle-roles').addEventListener('change', applyToggles);
  $('toggle-platform').addEventListener('change', applyToggles);
  $('toggle-auditor').addEventListener('change', applyToggles);
  $('mint').addEventListener('click', busyHandler(mint));
  $('trust-key').addEventListener('click', trustTestKey);
  $('share').addEventListener('click', busyHandler(share));
  $('copy-envoy').addEventListener('click', busyHandler(copyEnvoyConfig));
  $('case-add').addEventListener('click', addCase);
  $('cases-export').addEventListener('click', exportCases);
  $('cases-file').addEventListener('change', busyHandler(importCasesFile));
  $('cases-apply').addEventListener('click', () => importCasesText($('cases-json').value));
  $('cases-clear').addEventListener('click', () => { page.state.cases = []; recompute(); });
  $('endpoint-add').addEventListener('click', busyHandler(addTokenEndpoint));
  $('client-form').addEventListener('submit', (e) => { e.preventDefault(); whileBusy(createClientFromForm); });
  $('client-fix').addEventListener('click', busyHandler(grantRoleAndCreate));
  $('client-secret-copy').addEventListener('click', busyHandler(copyClientKey));
  $('client-secret-done').addEventListener('click', forgetClientKey);
  wireCompare();
  wireForm();
  wireClientTable();
}

let timer = null; // the pending recompute, which keeps the page busy
export function schedule() {
  if (timer === null) markBusy(1);
  clearTimeout(timer);
  timer = setTimeout(() => {
    timer = null;
    try {
      recompute();
    } finally {
      markBusy(-1);
    }
  }, 120);
}

export function loadPreset(name) {
  const doc = page.presetDocs[name];
  const preset = PRESETS[name];
  const now = Math.floor(Date.now() / 1000);
  page.state.preset = name;
  page.stashedAdminAttributes = null;
  setPolicyText(JSON.stringify(doc, null, 2));
  $('claims').value = JSON.stringify(preset.claims(doc, now), null, 2);
  $('path').value = preset.path;
  $('method').value = 'GET';
  $('matrix-paths').value = preset.paths.join('\n');
  page.state.mode = 'claims';
  syncToggles();
  showMode();
  recompute();
  status('toolbar-status', `Loaded the ${name === 'pexip' ? 'Pexip' : 'PingAccess'} preset.`);
}

export function showMode() {
  $(`mode-${page.state.mode}`).checked = true;
  $('claims-box').hidden = page.state.mode !== 'claims';
  $('token-box').hidden = page.state.mode !== 'token';
  for (const box of $('matrix-methods').querySelectorAll('input')) box.checked = page.state.matrixMethods.includes(box.value);
  for (const radio of document.querySelectorAll('input[name=matrix-rows]')) radio.checked = radio.value === page.state.matrixRows;
}

export function recompute() {
  loadPolicy();
  showToken();
  const { request, error } = currentRequest();
  if (!page.policy) {
    renderDecision(null, 'Fix the policy first: the decision needs a valid policy.');
  } else if (error) {
    renderDecision(null, error);
  } else {
    try {
      page.lastDecision = page.policy.decide(request);
      renderDecision(page.lastDecision);
    } catch (e) {
      renderDecision(null, `${e.message}`);
    }
  }
  renderSignature();
  renderMatrix();
  renderCases();
  renderClients();
  renderForm();
  renderEnvoyConfig();
}

/** The Envoy bootstrap for the policy and the options in the form; a bad option says which. */
export function renderEnvoyConfig() {
  $('envoy-config').value = '';
  if (!page.policy) {
    status('envoy-status', 'Fix the policy first.', 'error');
    return;
  }
  const port = $('envoy-listen-port').value.trim();
  const upstream = splitHostPort($('envoy-upstream').value.trim());
  if (!/^\d+$/.test(port)) return status('envoy-status', `Listen port: a number from 1 to 65535, not "${port}".`, 'error');
  if (!upstream) return status('envoy-status', 'Upstream: write host:port, e.g. 127.0.0.1:9000.', 'error');
  try {
    $('envoy-config').value = envoyConfig(policyText(), {
      wasmPath: $('envoy-wasm-path').value.trim(),
      listenPort: Number(port),
      upstreamHost: upstream.host,
      upstreamPort: Number(upstream.port),
    });
    status('envoy-status', '');
  } catch (e) {
    status('envoy-status', e.message, 'error');
  }
}

export function loadPolicy() {
  const text = policyText();
  if (page.policy) page.policy.free();
  page.policy = null;
  try {
    page.policy = Policy.parse(text);
    const roles = page.policy.roles.map((r) => (r.enabled ? r.name : `${r.name} (disabled)`));
    status('policy-status', `Policy OK: ${roles.length} roles (${roles.join(', ')}), mode ${page.policy.mode}.`, 'ok');
    $('policy-status').dataset.path = '';
    showPolicyError(null);
  } catch (e) {
    const where = e.path ? `<code>${escapeHtml(e.path)}</code>: ` : '';
    const message = e.path && e.message.startsWith(`${e.path}: `) ? e.message.slice(e.path.length + 2) : e.message;
    const place = e.line ? ` <button type="button" class="link" data-from="${e.from}" data-to="${e.to}">line ${e.line}, column ${e.column}</button>` : '';
    statusHtml('policy-status', `Policy error (${escapeHtml(e.code ?? 'error')}) at ${where}${escapeHtml(message)}${place}`, 'error');
    $('policy-status').dataset.path = e.path ?? '';
    showPolicyError(e);
  }
}
