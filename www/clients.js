// The token endpoint's OAuth2 clients (Pexip): listed as the core compiled
// them, created by the package's createClient.

import { grantByRoleClaim } from './rolegate/web.js';
import { testing } from './testing.js';
import { page } from './page.js';
import { $, status, escapeHtml } from './dom.js';
import { policyJson } from './toggles.js';
import { recompute } from './app.js';
import { policyText, setPolicyText } from './editor.js';
import { edit } from './form.js';

/** The token endpoint and its clients, as the core compiled them. */
export function renderClients() {
  const doc = policyJson();
  const endpoint = page.policy?.tokenEndpoint ?? null;
  $('endpoint-missing').hidden = !page.policy || Boolean(endpoint);
  $('endpoint-add').disabled = !doc?.issuers?.length;
  $('client-create').disabled = !endpoint;
  if (!page.policy) return; // keep showing the last valid state while the text is being fixed
  $('endpoint-box').hidden = !endpoint;
  if (!endpoint) return;
  const facts = [
    ['Issuer', endpoint.issuer],
    ['Token URL', endpoint.url],
    ['Token lifetime', `${endpoint.expiration_seconds} s`],
    ['Active tokens', `GET ${endpoint.active_tokens_path} (role ${endpoint.active_tokens_role})`],
  ];
  $('endpoint-facts').innerHTML = facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('');
  const roles = page.policy.roles.map((r) => r.name);
  // Pexip: each client is bound to one role; change it here, or remove the client.
  $('clients').querySelector('tbody').innerHTML = endpoint.clients.length
    ? endpoint.clients.map((c, i) => `<tr><td><code>${escapeHtml(c.client_id)}</code></td><td>${escapeHtml(c.name)}</td>`
      + `<td><select data-client-role="${i}" aria-label="Role of client ${escapeHtml(c.name)}">${roles.map((n) => `<option${n === c.role ? ' selected' : ''}>${escapeHtml(n)}</option>`).join('')}</select></td>`
      + `<td>${escapeHtml(c.alg ?? '')}</td>`
      + `<td><button type="button" data-remove-client="${i}" aria-label="Remove client ${escapeHtml(c.name)}">Remove</button></td></tr>`).join('')
    : '<tr><td colspan="5">No clients yet.</td></tr>';
  const select = $('client-role');
  const current = select.value;
  const names = page.policy.roles.map((r) => r.name);
  select.innerHTML = names.map((n) => `<option>${escapeHtml(n)}</option>`).join('');
  if (names.includes(current)) select.value = current;
}

/** A client's role changed or the client removed, in the clients table. */
export function wireClientTable() {
  const body = $('clients').querySelector('tbody');
  body.addEventListener('change', (e) => {
    const i = e.target.dataset.clientRole;
    if (i !== undefined) edit((doc) => { doc.oauth2_clients[Number(i)].role = e.target.value; });
  });
  body.addEventListener('click', (e) => {
    const i = e.target.dataset.removeClient;
    if (i === undefined) return;
    edit((doc) => {
      doc.oauth2_clients.splice(Number(i), 1);
      if (!doc.oauth2_clients.length) delete doc.oauth2_clients;
    });
  });
}

/**
 * Pexip's model: the management node issues the tokens. The first issuer
 * becomes the token endpoint (same name and audience) with a fresh signing key.
 */
export async function addTokenEndpoint() {
  const { addTokenEndpoint: addTokenEndpointTo } = await testing();
  let doc;
  try {
    doc = addTokenEndpointTo(policyText());
  } catch (e) {
    status('client-status', e.message, 'error');
    return;
  }
  setPolicyText(JSON.stringify(doc, null, 2));
  status('client-status', `The filter now issues the tokens of ${doc.token_endpoint.issuer}, signed by a new key (in the policy).`, 'ok');
  recompute();
}

export async function createClientFromForm() {
  const { createClient } = await testing();
  const name = $('client-name').value.trim();
  const role = $('client-role').value;
  let created;
  $('client-fix').hidden = true;
  try {
    created = createClient(policyText(), { name, role, alg: $('client-alg').value });
  } catch (e) {
    status('client-status', e.message, 'error');
    // The role needs attributes issued tokens never carry: offer the fix
    // the message describes, done by the core.
    if (/^oauth2_clients\[\d+\]\.role$/.test(e.path ?? '') && /grant the role by/.test(e.message)) {
      $('client-fix').textContent = `Grant ${role} by role = "${role}" (replaces its required attributes) and create the client`;
      $('client-fix').dataset.role = role;
      $('client-fix').hidden = false;
    }
    return;
  }
  setPolicyText(JSON.stringify(created.policy, null, 2));
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

export async function copyClientKey() {
  try {
    await navigator.clipboard.writeText($('client-secret-key').value);
    status('client-status', 'Private key copied.', 'ok');
  } catch {
    $('client-secret-key').select();
    status('client-status', 'Select and copy the private key.', 'warn');
  }
}

export function forgetClientKey() {
  $('client-secret-key').value = '';
  $('client-secret-id').textContent = '';
  $('client-secret-url').textContent = '';
  $('client-secret').hidden = true;
  status('client-status', 'The private key is gone from this page.');
}

/** Applies the fix a refused client was offered, then creates the client. */
export function grantRoleAndCreate() {
  try {
    setPolicyText(JSON.stringify(grantByRoleClaim(policyText(), $('client-fix').dataset.role), null, 2));
  } catch (e) {
    status('client-status', e.message, 'error');
    return;
  }
  recompute();
  return createClientFromForm();
}
