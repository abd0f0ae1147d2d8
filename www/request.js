// The request to decide, as the form describes it.

import { decodeToken } from './rolegate/web.js';
import { page } from './page.js';
import { $, status } from './dom.js';

export function nowSeconds() {
  const text = $('now').value.trim();
  return text && /^\d+$/.test(text) ? Number(text) : Math.floor(Date.now() / 1000);
}

export function extraHeaders() {
  const headers = [];
  for (const line of $('headers').value.split('\n')) {
    const i = line.indexOf(':');
    if (line.trim() && i > 0) headers.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  }
  return headers;
}

/** The decide() request for the current inputs, or {error}. */
export function currentRequest() {
  const request = { method: $('method').value, path: $('path').value, headers: extraHeaders(), now: nowSeconds() };
  if (page.state.mode === 'claims') {
    try {
      const claims = JSON.parse($('claims').value);
      if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw new Error('the claims must be a JSON object');
      request.claims = claims;
      status('claims-status', '');
    } catch (e) {
      status('claims-status', `Claims: ${e.message}`, 'error');
      return { error: 'Fix the claims first.' };
    }
  } else if (page.state.mode === 'token') {
    const token = pastedToken();
    if (token) request.headers.push(['authorization', `Bearer ${token}`]);
  }
  return { request };
}

export function currentClaims() {
  if (page.state.mode === 'claims') {
    try { return JSON.parse($('claims').value); } catch { return null; }
  }
  if (page.state.mode === 'token') {
    try { return decodeToken(pastedToken()).payload; } catch { return null; }
  }
  return null;
}

/**
 * The token as a person pastes it: a `Bearer ` prefix (any case) and line
 * breaks or spaces from wrapping are not part of a JWT.
 */
export function pastedToken() {
  return $('token').value.replace(/^\s*bearer\s+/i, '').replace(/\s+/g, '');
}
