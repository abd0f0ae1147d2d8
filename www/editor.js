// The policy editor: CodeMirror 6 with JSON highlighting, line numbers,
// folding, search and undo. The page parses the text with the core once per
// change (app.js loadPolicy) and shows the core's error here: the failing
// JSON path's value, or the syntax error's place, is underlined and marked
// in the gutter.

import { basicSetup, EditorView, EditorState, json, lintGutter, setDiagnostics } from './vendor/codemirror.js';

let view = null;
let settingText = false;
const listeners = [];

/** Puts the editor into `host`; `label` names it for screen readers. */
export function mountPolicyEditor(host) {
  view = new EditorView({
    parent: host,
    state: EditorState.create({
      doc: '',
      extensions: [
        basicSetup,
        json(),
        lintGutter(),
        EditorView.contentAttributes.of({ 'aria-labelledby': 'policy-label', 'aria-describedby': 'policy-status', spellcheck: 'false' }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged && !settingText) for (const listener of listeners) listener();
        }),
      ],
    }),
  });
}

/** Calls `listener` when a person edits the text (not on setPolicyText). */
export function onPolicyEdit(listener) {
  listeners.push(listener);
}

export function policyText() {
  return view.state.doc.toString();
}

/** Replaces the whole text (an edit the page made); Ctrl-Z undoes it. */
export function setPolicyText(text) {
  if (text === policyText()) return;
  settingText = true;
  try {
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
  } finally {
    settingText = false;
  }
}

/** The core's error (from Policy.parse: from, to, message, code), or null. */
export function showPolicyError(error) {
  const diagnostics = [];
  if (error) {
    const length = view.state.doc.length;
    let from = Math.min(error.from ?? 0, length);
    let to = Math.min(Math.max(error.to ?? from, from), length);
    // A syntax error is a point: mark the character there (at the end, the last one).
    if (to === from) {
      if (from === length) from = Math.max(0, length - 1);
      to = Math.min(from + 1, length);
    }
    diagnostics.push({ from, to, severity: 'error', source: error.code, message: error.message });
  }
  view.dispatch(setDiagnostics(view.state, diagnostics));
}

/** Selects `from..to`, scrolls it into view and focuses the editor. */
export function revealPolicyRange(from, to) {
  view.dispatch({ selection: { anchor: from, head: to }, scrollIntoView: true });
  view.focus();
}
