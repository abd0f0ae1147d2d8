// The baseline a policy is compared with: snapshot of the editor, a file or
// pasted text. The core compares (Policy.diff); matrix.js draws the result.

import { Policy } from './rolegate/web.js';
import { changedSettings } from './rolegate/diff.js';
import { page } from './page.js';
import { $, status, busyHandler } from './dom.js';
import { policyText } from './editor.js';
import { schedule } from './app.js';

/** Loads the baseline from the textarea (empty: no comparison). */
export function loadBaseline() {
  page.baseline?.policy.free();
  page.baseline = null;
  const text = $('baseline').value;
  if (!text.trim()) {
    status('baseline-status', 'No baseline: the matrix shows the policy alone.');
    return;
  }
  try {
    page.baseline = { policy: Policy.parse(text), doc: JSON.parse(text) };
    status('baseline-status', 'Baseline OK: the matrix shows what changes from it.', 'ok');
  } catch (e) {
    status('baseline-status', `The baseline is not a valid policy: ${e.message}`, 'error');
  }
}

/** Top-level settings that differ from the baseline (their effect shows in no cell). */
export function settingsChanged() {
  if (!page.baseline) return [];
  try {
    return changedSettings(page.baseline.doc, JSON.parse(policyText()));
  } catch {
    return [];
  }
}

function setBaseline(text) {
  $('baseline').value = text;
  $('compare-details').open = true;
  loadBaseline();
  schedule();
}

export function wireCompare() {
  $('baseline').addEventListener('input', () => { loadBaseline(); schedule(); });
  $('baseline-snapshot').addEventListener('click', () => setBaseline(policyText()));
  $('baseline-clear').addEventListener('click', () => setBaseline(''));
  $('baseline-file').addEventListener('change', busyHandler(async (e) => {
    const file = e.target.files[0];
    if (file) setBaseline(await file.text());
    e.target.value = '';
  }));
}
