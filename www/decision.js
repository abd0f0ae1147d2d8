// The decision the core made, drawn with its trace and role checks.

import { isoTime } from './rolegate/input.js';
import { $, escapeHtml, ruleLabel } from './dom.js';
import { policyJson } from './toggles.js';

export function renderDecision(d, message) {
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
    ['Token binding', d.binding ?? '-'],
    ['Issuer', d.issuer ?? '-'], ['Subject', d.subject ?? '-'], ['Client id', d.client_id ?? '-'],
    ['Granted roles', d.roles.join(', ') || '-'], ['Methods judged', d.methods.join(', ') || '-'],
    ['Canonical path', d.path ?? '-'], ['Upstream receives', d.upstream_path ?? '-'],
    // Epoch seconds as tokens carry them, and the date people read.
    ['Token expires', d.expires_at == null ? '-' : `${d.expires_at} (${isoTime(d.expires_at)})`],
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
    $('deciding-rule').textContent = `${ruleLabel(d.rule)}\n${rule ? JSON.stringify(rule, null, 2) : ''}`;
  } else if (d.reason === 'authentication_config_protected') {
    // Pexip: the guard decided, whatever a role allows.
    const guard = d.trace.find((s) => s.step === 'allow_all_permissions');
    $('deciding-rule').textContent = `the authentication-configuration guard (allow_all_permissions is off)\n${guard ? guard.detail : ''}`;
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
