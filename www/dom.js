// Small DOM helpers: find an element, say something in a status line.


export const $ = (id) => document.getElementById(id);

export function status(id, text, kind = '') {
  const el = $(id);
  el.textContent = text;
  el.className = `status ${kind}`.trim();
}

export function statusHtml(id, html, kind) {
  const el = $(id);
  el.innerHTML = html;
  el.className = `status ${kind}`;
}

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

/** A rule as people count it (one-based), with where it is in the policy. */
export function ruleLabel(rule) {
  return `${rule.role} rule ${rule.index + 1} (${rule.effect}; roles["${rule.role}"].rules[${rule.index}])`;
}
