// Small DOM helpers: find an element, say something in a status line.


export const $ = (id) => document.getElementById(id);

// Work in flight (a scheduled recompute, a module loading, a file read):
// <main> is aria-busy until it is done, so assistive technology waits for
// the whole update, and so can a test.
let pending = 0;
/** One more (+1) or one fewer (-1) piece of work in flight. */
export function markBusy(delta) {
  pending += delta;
  document.querySelector('main').setAttribute('aria-busy', String(pending > 0));
}

/** Runs `work` (sync or async) with the page marked busy until it ends. */
export async function whileBusy(work) {
  markBusy(1);
  try {
    return await work();
  } finally {
    markBusy(-1);
  }
}

/** An event handler that keeps the page busy while it runs. */
export const busyHandler = (handler) => (event) => whileBusy(() => handler(event));

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

/** A rule by its one label (its name, or role#index, as in the trace and
 * the logs), with what it does and where it is in the policy. */
export function ruleLabel(rule) {
  return `${rule.label} (${rule.effect}; roles["${rule.role}"].rules[${rule.index}])`;
}
