// PingAccess's toggles (Platform Administrator, Auditor), kept in sync with
// the policy text: they edit the JSON the core then loads.

import { page } from './page.js';
import { $ } from './dom.js';
import { edit } from './form.js';
import { policyText } from './editor.js';

export function policyJson() {
  try { return JSON.parse(policyText()); } catch { return null; }
}

export const roleNamed = (doc, name) => doc?.roles?.find?.((r) => r && r.name === name);

/** Shows the toggles when the policy has the PingAccess roles, reflecting their state. */
export function syncToggles() {
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
export function applyToggles() {
  edit((doc) => {
    const admin = roleNamed(doc, 'administrator');
    const platform = roleNamed(doc, 'platform_administrator');
    const auditor = roleNamed(doc, 'auditor');
    if ($('toggle-roles').checked) {
      if (admin.grant === 'any_valid_token') {
        delete admin.grant;
        admin.required_attributes = page.stashedAdminAttributes
          ?? structuredClone(roleNamed(page.presetDocs.pingaccess, 'administrator').required_attributes);
      }
      platform.enabled = $('toggle-platform').checked;
      auditor.enabled = $('toggle-auditor').checked;
    } else {
      if (admin.grant !== 'any_valid_token') page.stashedAdminAttributes = admin.required_attributes;
      delete admin.required_attributes;
      admin.grant = 'any_valid_token';
      platform.enabled = false;
      auditor.enabled = false;
    }
  });
}
