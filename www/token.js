// The token pane: decode a pasted token (unverified, for reading), mint a
// test token, and say whether the core verified its signature.

import { decodeToken, trustKey } from './rolegate/web.js';
import { testing } from './testing.js';
import { page } from './page.js';
import { $, status } from './dom.js';
import { showMode, recompute } from './app.js';
import { pastedToken, tokenClaims } from './request.js';
import { policyText, setPolicyText } from './editor.js';

export function showToken() {
  const token = pastedToken();
  $('token-header').textContent = '';
  $('token-payload').textContent = '';
  if (page.state.mode !== 'token') return;
  if (!token) {
    status('token-status', 'Paste a JWT, or mint one from claims.', 'warn');
    return;
  }
  try {
    const { header, payload } = decodeToken(token);
    $('token-header').textContent = JSON.stringify(header, null, 2);
    $('token-payload').textContent = JSON.stringify(payload, null, 2);
    showBinding(payload?.cnf);
  } catch (e) {
    status('token-status', `Not a JWT: ${e.message}`, 'error');
  }
}

/** A bound token opens the binding fields and says what it needs. */
function showBinding(cnf) {
  if (!cnf || typeof cnf !== 'object') return;
  const needs = [];
  if (typeof cnf.jkt === 'string') needs.push(`a DPoP proof by the key with thumbprint ${cnf.jkt} (cnf.jkt)`);
  if (typeof cnf['x5t#S256'] === 'string') needs.push(`the client certificate ${cnf['x5t#S256']} (cnf.x5t#S256) on the connection`);
  $('binding-box').open = true;
  $('binding-hint').textContent = needs.length
    ? `This token is bound to its client: it needs ${needs.join(' and ')}.`
    : 'This token names a binding (cnf) rolegate does not verify: it is refused.';
}

/** Marks whether the signature was verified against the policy's keys. */
export function renderSignature() {
  if (page.state.mode !== 'token' || !pastedToken() || !page.lastDecision || !page.policy) return;
  const step = page.lastDecision.trace.find((s) => s.step === 'token.signature');
  const tokenStep = page.lastDecision.trace.find((s) => s.step === 'token');
  if (step?.ok) {
    status('token-status', `Signature verified against the policy's keys: ${step.detail}.`, 'ok');
  } else if (tokenStep) {
    // The core's own steps say it: `token.signature` when it verified,
    // `token` when the token failed (before or at the signature).
    status('token-status', `Signature NOT verified: ${tokenStep ? tokenStep.detail : page.lastDecision.cause}.`, 'error');
  } else {
    status('token-status', 'The signature was not checked (the request was decided before the token).', 'warn');
  }
  $('token-status').dataset.verified = step?.ok ? 'true' : 'false';
}

export async function mint() {
  let claims;
  try {
    claims = JSON.parse($('claims').value);
  } catch (e) {
    status('claims-status', `Claims: ${e.message}`, 'error');
    return;
  }
  const { generateKey, mintToken } = await testing();
  page.testKey ??= generateKey({ alg: 'ES256', kid: `rolegate-preview-${Math.random().toString(36).slice(2, 10)}` });
  $('token').value = mintToken({ key: page.testKey.privateJwk, claims });
  page.state.mode = 'token';
  showMode();
  $('test-key-note').hidden = false;
  $('test-key-text').textContent = `Signed with a generated test key (ES256, kid ${page.testKey.publicJwk.kid}). `
    + 'A real policy does not trust it; trust it here to preview a verified token.';
  recompute();
}

/** Adds the generated key to the issuer the token names (else the first). */
export function trustTestKey() {
  if (!page.testKey) return;
  const iss = tokenClaims($('token').value)?.iss;
  try {
    setPolicyText(JSON.stringify(trustKey(policyText(), page.testKey.publicJwk, iss), null, 2));
  } catch (e) {
    status('token-status', `Cannot trust the key: ${e.message}`, 'error');
    return;
  }
  $('test-key-note').hidden = true;
  recompute();
}
