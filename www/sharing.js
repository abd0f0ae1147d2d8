// The page's state as a link (fragment only) and the Envoy config for the policy.

import { encodeState } from './share.js';
import { page } from './page.js';
import { $, status } from './dom.js';
import { syncToggles } from './toggles.js';
import { showMode, recompute } from './app.js';
import { policyText, setPolicyText } from './editor.js';
import { loadBaseline } from './compare.js';

export function collectState() {
  return {
    v: 1,
    preset: page.state.preset,
    policy: policyText(),
    mode: page.state.mode,
    claims: $('claims').value,
    token: $('token').value,
    method: $('method').value,
    path: $('path').value,
    headers: $('headers').value,
    now: $('now').value,
    matrixPaths: $('matrix-paths').value,
    matrixMethods: page.state.matrixMethods,
    matrixRows: page.state.matrixRows,
    cases: page.state.cases,
    baseline: $('baseline').value,
    envoy: { wasmPath: $('envoy-wasm-path').value, listenPort: $('envoy-listen-port').value, upstream: $('envoy-upstream').value },
  };
}

export function applyState(s) {
  if (!s || s.v !== 1) throw new Error('unknown link format');
  page.state.preset = s.preset ?? 'pingaccess';
  setPolicyText(s.policy ?? '');
  page.state.mode = ['claims', 'token', 'none'].includes(s.mode) ? s.mode : 'claims';
  $('claims').value = s.claims ?? '';
  $('token').value = s.token ?? '';
  $('method').value = s.method ?? 'GET';
  $('path').value = s.path ?? '/';
  $('headers').value = s.headers ?? '';
  $('now').value = s.now ?? '';
  $('matrix-paths').value = s.matrixPaths ?? '';
  page.state.matrixMethods = Array.isArray(s.matrixMethods) ? s.matrixMethods : page.state.matrixMethods;
  page.state.matrixRows = s.matrixRows === 'credential' ? 'credential' : 'roles';
  page.state.cases = Array.isArray(s.cases) ? s.cases : [];
  $('baseline').value = typeof s.baseline === 'string' ? s.baseline : '';
  if ($('baseline').value) $('compare-details').open = true;
  loadBaseline();
  const envoy = s.envoy ?? {};
  for (const [id, key] of [['envoy-wasm-path', 'wasmPath'], ['envoy-listen-port', 'listenPort'], ['envoy-upstream', 'upstream']]) {
    if (typeof envoy[key] === 'string') $(id).value = envoy[key];
  }
  syncToggles();
  showMode();
  recompute();
}

export async function share() {
  const url = `${location.href.split('#')[0]}#s=${await encodeState(collectState())}`;
  history.replaceState(null, '', url);
  $('share').dataset.url = url;
  try {
    await navigator.clipboard.writeText(url);
    const signing = page.policy?.tokenEndpoint ? ' and the token endpoint\'s signing key' : '';
    status('toolbar-status', `Share link copied (the page address now holds it too). It contains the policy${signing} and credential: do not share real tokens or keys.`);
  } catch {
    status('toolbar-status', 'The page address now holds the share link; copy it from the address bar.');
  }
}

export async function copyEnvoyConfig() {
  if (!page.policy) {
    status('toolbar-status', 'Fix the policy first.', 'error');
    return;
  }
  $('envoy-config-details').open = true;
  // Opened where the person is looking, not below the fold.
  $('envoy-config-details').scrollIntoView({ block: 'nearest' });
  try {
    await navigator.clipboard.writeText($('envoy-config').value);
    status('toolbar-status', 'Envoy configuration copied.');
  } catch {
    $('envoy-config').select();
    status('toolbar-status', 'Select and copy the Envoy configuration below.');
  }
}
