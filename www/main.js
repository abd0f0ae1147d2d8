// Starts the preview page: loads the wasm core and the presets, builds the
// method pickers, wires the form, and restores a shared link's state.

import init from './rolegate/web.js';
import { decodeState } from './share.js';
import { page, ALL_METHODS, PRESETS } from './page.js';
import { $, status, whileBusy } from './dom.js';
import { wire, loadPreset } from './app.js';
import { applyState } from './sharing.js';
import { mountPolicyEditor } from './editor.js';

// Busy (index.html starts so) until the first decision is drawn.
await whileBusy(async () => {
  await init();
  mountPolicyEditor($('policy'));
  await Promise.all(Object.entries(PRESETS).map(async ([name, p]) => {
    page.presetDocs[name] = await (await fetch(p.file)).json();
  }));
  for (const m of ALL_METHODS) {
    const label = document.createElement('label');
    label.innerHTML = `<input type="checkbox" value="${m}"> ${m}`;
    $('matrix-methods').append(label);
  }
  wire();
  if (location.hash.startsWith('#s=')) {
    try {
      await applyState(await decodeState(location.hash.slice(3)));
      status('toolbar-status', 'Loaded the shared state from the link.');
    } catch (e) {
      loadPreset('pingaccess');
      status('toolbar-status', `The link could not be read (${e.message}); loaded the PingAccess preset.`, 'error');
    }
  } else {
    loadPreset('pingaccess');
  }
});
// When the first decision is on screen (tests/browser reads it as a figure).
document.body.dataset.firstDecisionMs = String(Math.round(performance.now()));
document.body.dataset.ready = 'true';

