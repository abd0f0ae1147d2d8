// A form over the policy document, in the products' own words: PingAccess's
// Roles tab (per role, "Add Required Attribute" rows of attribute name and
// value, an enable switch) and Pexip's settings (Disable Basic
// authentication, Allow all permissions, token expiration; each OAuth2
// client's role is edited in the clients table, clients.js). Every control edits the JSON in the editor, and the form
// is redrawn from the JSON after every change, so the two never disagree;
// the core then loads the JSON as it loads any edit.

import { $, status, escapeHtml } from './dom.js';
import { policyJson, syncToggles } from './toggles.js';
import { recompute } from './app.js';
import { setPolicyText } from './editor.js';

const DEFAULT_EXPIRATION = 3600;

/**
 * Attribute rows being typed, by role index: a row joins the JSON once it
 * has both a name and a value, so an empty new row is a row being edited,
 * not a policy error.
 */
const pending = new Map();
const pendingOf = (i) => pending.get(i) ?? [];

/** Applies `change` to the policy document and reloads everything from the JSON. */
export function edit(change) {
  const doc = policyJson();
  if (!doc) return;
  if (change(doc) === false) return;
  setPolicyText(JSON.stringify(doc, null, 2));
  syncToggles();
  recompute();
}

const attr = (value) => escapeHtml(value ?? '');

function settingsHtml(doc) {
  const endpoint = doc.token_endpoint && typeof doc.token_endpoint === 'object' ? doc.token_endpoint : null;
  const scopes = Array.isArray(doc.required_scopes) ? doc.required_scopes.join(' ') : '';
  return `<fieldset class="form-settings"><legend>Authentication</legend>
    <label><input type="checkbox" data-key="basic_auth" ${doc.basic_auth === 'pass_through' ? '' : 'checked'}> Disable Basic authentication</label>
    <label><input type="checkbox" data-key="allow_all_permissions" ${doc.allow_all_permissions === true ? 'checked' : ''}> Allow all permissions
      <span class="hint">(without it, OAuth2 clients may never modify authentication configuration, whatever their role allows)</span></label>
    <label>Required scopes (space-separated)
      <input type="text" data-key="required_scopes" value="${attr(scopes)}" spellcheck="false" autocomplete="off"></label>
    <label>Subject attribute name (for audit logs)
      <input type="text" data-key="subject_claim" value="${attr(doc.subject_claim ?? 'sub')}" spellcheck="false" autocomplete="off"></label>
    ${endpoint ? `<label>Access token expiration (seconds)
      <input type="text" inputmode="numeric" data-key="access_token_expiration_seconds" value="${attr(String(endpoint.access_token_expiration_seconds ?? DEFAULT_EXPIRATION))}" autocomplete="off"></label>` : ''}
  </fieldset>`;
}

function roleHtml(role, i) {
  const name = typeof role?.name === 'string' ? role.name : `roles[${i}]`;
  const attributes = Array.isArray(role?.required_attributes) ? role.required_attributes : [];
  const rows = attributes.map((a, j) => `<div class="attr-row" data-attribute="${j}">
      <input type="text" data-key="role.${i}.attr.${j}.claim" value="${attr(a?.claim)}" aria-label="${attr(name)}: attribute ${j + 1} name" placeholder="Attribute name" spellcheck="false" autocomplete="off">
      <input type="text" data-key="role.${i}.attr.${j}.value" value="${attr(a?.value)}" aria-label="${attr(name)}: attribute ${j + 1} value" placeholder="Attribute value" spellcheck="false" autocomplete="off">
      <button type="button" data-remove-attribute="${i}.${j}" aria-label="Remove ${attr(name)} attribute ${j + 1}">Remove</button>
    </div>`).join('');
  const typing = pendingOf(i).map((a, k) => {
    const n = attributes.length + k + 1;
    return `<div class="attr-row" data-pending="${k}">
      <input type="text" data-pending-key="${i}.${k}.claim" value="${attr(a.claim)}" aria-label="${attr(name)}: attribute ${n} name" placeholder="Attribute name" spellcheck="false" autocomplete="off">
      <input type="text" data-pending-key="${i}.${k}.value" value="${attr(a.value)}" aria-label="${attr(name)}: attribute ${n} value" placeholder="Attribute value" spellcheck="false" autocomplete="off">
      <button type="button" data-remove-pending="${i}.${k}" aria-label="Remove ${attr(name)} attribute ${n}">Remove</button>
      <span class="hint" data-pending-hint>${pendingHint(a)}</span>
    </div>`;
  }).join('');
  const grant = role?.grant === 'any_valid_token'
    ? '<p class="hint">Granted to every valid token (no required attributes).</p>'
    : `${rows || typing ? rows : '<p class="hint">No required attributes: this role is granted to no token. Add one.</p>'}${typing}
      <button type="button" data-add-attribute="${i}">Add Required Attribute</button>`;
  return `<fieldset class="role-form" data-role-index="${i}"><legend>${escapeHtml(name)}</legend>
    <label><input type="checkbox" data-key="role.${i}.enabled" ${role?.enabled === false ? '' : 'checked'}> Enabled</label>
    ${grant}
  </fieldset>`;
}

/** What a row being typed still needs, said at the row. */
function pendingHint(a) {
  if (!a.claim.trim() && !a.value.trim()) return 'New attribute: name and value';
  if (!a.claim.trim()) return 'Needs an attribute name';
  if (!a.value) return 'Needs a value (compared exactly)';
  return '';
}

/** Redraws the form from the JSON, keeping the focused control and its caret. */
export function renderForm() {
  const doc = policyJson();
  const box = $('policy-form');
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    box.innerHTML = '<p class="hint">The form shows once the JSON parses.</p>';
    return;
  }
  const active = document.activeElement?.closest?.('#policy-form') ? document.activeElement : null;
  const key = active?.dataset.key ?? active?.dataset.pendingKey ?? active?.dataset.addAttribute;
  const caret = active && typeof active.selectionStart === 'number' ? [active.selectionStart, active.selectionEnd] : null;
  box.innerHTML = settingsHtml(doc)
    + `<h3>Roles</h3>${(Array.isArray(doc.roles) ? doc.roles : []).map(roleHtml).join('')}`;
  if (key) {
    const again = box.querySelector(`[data-key="${CSS.escape(key)}"], [data-pending-key="${CSS.escape(key)}"], [data-add-attribute="${CSS.escape(key)}"]`);
    if (again) {
      again.focus();
      if (caret && typeof again.setSelectionRange === 'function') again.setSelectionRange(...caret);
    }
  }
}

/** What one control's new value does to the document (false: nothing to write). */
function applyControl(doc, el) {
  const key = el.dataset.key;
  const parts = key.split('.');
  switch (parts[0]) {
    case 'basic_auth':
      doc.basic_auth = el.checked ? 'deny' : 'pass_through';
      return true;
    case 'allow_all_permissions':
      doc.allow_all_permissions = el.checked;
      return true;
    case 'required_scopes': {
      const scopes = el.value.split(/[\s,]+/).filter(Boolean);
      if (scopes.length) doc.required_scopes = scopes;
      else delete doc.required_scopes;
      return true;
    }
    case 'subject_claim':
      if (!el.value.trim()) return formError('Subject attribute name: name a claim, e.g. sub.');
      doc.subject_claim = el.value.trim();
      return true;
    case 'access_token_expiration_seconds': {
      const text = el.value.trim();
      if (!/^\d+$/.test(text) || Number(text) < 1) return formError(`Access token expiration: a whole number of seconds, not "${text}".`);
      doc.token_endpoint.access_token_expiration_seconds = Number(text);
      return true;
    }
    case 'role': {
      const role = doc.roles[Number(parts[1])];
      if (parts[2] === 'enabled') {
        if (el.checked) delete role.enabled; // enabled is the default
        else role.enabled = false;
        return true;
      }
      role.required_attributes[Number(parts[3])][parts[4]] = el.value;
      return true;
    }
    default:
      return false;
  }
}

/** A keystroke in a row being typed: complete, it moves into the JSON. */
function typePending(el) {
  const [i, k, part] = el.dataset.pendingKey.split('.');
  const rows = pendingOf(Number(i));
  const row = rows[Number(k)];
  if (!row) return;
  row[part] = el.value;
  if (row.claim.trim() && row.value) {
    pending.set(Number(i), rows.filter((r) => r !== row));
    edit((doc) => {
      const role = doc.roles[Number(i)];
      role.required_attributes = [...(role.required_attributes ?? []), { claim: row.claim.trim(), value: row.value }];
    });
    // Keep typing where the person was: the row is a JSON row now.
    const n = (policyJson()?.roles?.[Number(i)]?.required_attributes?.length ?? 1) - 1;
    const box = $('policy-form');
    const moved = box.querySelector(`[data-key="role.${i}.attr.${n}.${part}"]`);
    moved?.focus();
    if (moved && typeof moved.setSelectionRange === 'function') moved.setSelectionRange(moved.value.length, moved.value.length);
  } else {
    el.closest('.attr-row').querySelector('[data-pending-hint]').textContent = pendingHint(row);
  }
}

function formError(message) {
  status('form-status', message, 'error');
  return false;
}

export function wireForm() {
  const box = $('policy-form');
  const onChange = (e) => {
    if (e.target.dataset.pendingKey) return typePending(e.target);
    if (!e.target.dataset.key) return;
    status('form-status', '');
    edit((doc) => applyControl(doc, e.target));
  };
  // Text follows each keystroke; boxes and selects their change.
  box.addEventListener('input', (e) => { if (e.target.type === 'text') onChange(e); });
  box.addEventListener('change', (e) => { if (e.target.type !== 'text') onChange(e); });
  box.addEventListener('click', (e) => {
    const add = e.target.dataset.addAttribute;
    const remove = e.target.dataset.removeAttribute;
    const removePending = e.target.dataset.removePending;
    if (add !== undefined) {
      // A row being edited: it joins the JSON once it has a name and a value.
      pending.set(Number(add), [...pendingOf(Number(add)), { claim: '', value: '' }]);
      renderForm();
      // The new row's name box, ready to type into.
      box.querySelector(`[data-role-index="${add}"] .attr-row:last-of-type input`)?.focus();
    } else if (removePending !== undefined) {
      const [i, k] = removePending.split('.').map(Number);
      pending.set(i, pendingOf(i).filter((_, n) => n !== k));
      renderForm();
    } else if (remove !== undefined) {
      const [i, j] = remove.split('.').map(Number);
      edit((doc) => { doc.roles[i].required_attributes.splice(j, 1); });
    }
  });
}
