// The page's state as a link (fragment only) and the Envoy config for the policy.

import { encodeState } from './share.js';
import { testing } from './testing.js';
import { tokenClaims } from './request.js';
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

/** JWK members that are private (RSA, EC, OKP and symmetric keys). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** A request's bearer token as a claims preview: the claims, no signature. */
export function withoutSignature(request) {
  const headers = Array.isArray(request.headers) ? request.headers : Object.entries(request.headers ?? {});
  const bearer = headers.find(([name, value]) => /^authorization$/i.test(name) && /^\s*bearer\s/i.test(String(value)));
  if (!bearer) return request;
  const claims = tokenClaims(String(bearer[1])) ?? {};
  return { ...request, headers: headers.filter((h) => h !== bearer), claims };
}

/**
 * The state a share link carries. Unless `secrets`, it carries neither the
 * token endpoint's private signing key (the recipient's page makes a new
 * one) nor a token signature (the token becomes its claims, a claims-only
 * preview that decides the same but for the signature). `withheld` says
 * what was left out, `included` what a link with secrets holds.
 */
export function shareableState(state, secrets) {
  const out = { ...state };
  const withheld = [];
  const included = [];
  let doc = null;
  try {
    doc = JSON.parse(state.policy);
  } catch { /* a policy being edited: shared as it is */ }
  const signing = doc?.token_endpoint?.signing_key;
  if (signing && typeof signing === 'object' && PRIVATE_MEMBERS.some((m) => m in signing)) {
    if (secrets) {
      included.push('the token endpoint\'s private signing key');
    } else {
      const publicPart = Object.fromEntries(Object.entries(signing).filter(([m]) => !PRIVATE_MEMBERS.includes(m)));
      out.policy = JSON.stringify({ ...doc, token_endpoint: { ...doc.token_endpoint, signing_key: publicPart } }, null, 2);
      out.signingKeyWithheld = true;
      withheld.push('the token endpoint\'s private signing key');
    }
  }
  if (state.token.trim()) {
    if (secrets) {
      included.push('the bearer token, signature and all');
    } else {
      const claims = tokenClaims(state.token);
      out.token = '';
      if (state.mode === 'token') out.mode = 'claims';
      if (claims && state.mode === 'token') out.claims = JSON.stringify(claims, null, 2);
      withheld.push('the token\'s signature (the link holds its claims)');
    }
  }
  if (!secrets) out.cases = state.cases.map((c) => ({ ...c, request: withoutSignature(c.request ?? {}) }));
  return { state: out, withheld, included };
}

export async function applyState(s) {
  if (!s || s.v !== 1) throw new Error('unknown link format');
  page.state.preset = s.preset ?? 'pingaccess';
  let policy = s.policy ?? '';
  if (s.signingKeyWithheld) {
    // The link left the signing key out: this page signs with a new one.
    try {
      const doc = JSON.parse(policy);
      const { generateKey } = await testing();
      doc.token_endpoint.signing_key = generateKey({ alg: 'ES256', kid: doc.token_endpoint.signing_key?.kid ?? 'preview-node' }).privateJwk;
      policy = JSON.stringify(doc, null, 2);
    } catch { /* shown as it came: the policy check says what is wrong */ }
  }
  setPolicyText(policy);
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
  const secrets = $('share-secrets').checked;
  const { state, withheld, included } = shareableState(collectState(), secrets);
  const url = `${location.href.split('#')[0]}#s=${await encodeState(state)}`;
  history.replaceState(null, '', url);
  $('share').dataset.url = url;
  // Says what the link holds: secrets only when asked for, by name.
  const holds = included.length
    ? ` WARNING: it holds ${included.join(' and ')}: anyone with the link can use ${included.length > 1 ? 'them' : 'it'}.`
    : '';
  const left = withheld.length ? ` Left out: ${withheld.join('; ')}.` : '';
  try {
    await navigator.clipboard.writeText(url);
    status('toolbar-status', `Share link copied (the page address now holds it too).${left}${holds}`, included.length ? 'error' : undefined);
  } catch {
    status('toolbar-status', `The page address now holds the share link; copy it from the address bar.${left}${holds}`, included.length ? 'error' : undefined);
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
