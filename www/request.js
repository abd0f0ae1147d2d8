// The request to decide, as the form describes it.

import { decodeToken } from './rolegate/web.js';
import { readTime, readToken } from './rolegate/input.js';
import { page } from './page.js';
import { $, status } from './dom.js';

/**
 * The Time field: empty for now, seconds since the epoch, or a date and
 * time (ISO 8601). Anything else throws: a time nobody meant is no time.
 */
export function nowSeconds() {
  const text = $('now').value.trim();
  if (!text) return Math.floor(Date.now() / 1000);
  return readTime(text, 'Time:');
}

/** The extra header lines; a line that is no `Name: value` throws. */
export function extraHeaders() {
  const headers = [];
  $('headers').value.split('\n').forEach((line, n) => {
    if (!line.trim()) return;
    const i = line.indexOf(':');
    if (i < 1) throw new Error(`Extra headers, line ${n + 1}: "${line.trim()}" is no header; write Name: value`);
    headers.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  });
  return headers;
}

/** The decide() request for the current inputs, or {error}. */
export function currentRequest() {
  let request;
  try {
    request = { method: $('method').value, path: $('path').value, headers: extraHeaders(), now: nowSeconds() };
    status('request-status', '');
  } catch (e) {
    status('request-status', e.message, 'error');
    return { error: e.message };
  }
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
    try {
      Object.assign(request, boundRequest(request, token));
    } catch (e) {
      status('request-status', e.message, 'error');
      return { error: e.message };
    }
  }
  return { request };
}

/**
 * The token's Authorization header, and what shows a bound token is the
 * client's: the DPoP proof (then the scheme is DPoP) with the origin the
 * client addressed, and the connection's certificate.
 */
function boundRequest(request, token) {
  const proof = $('dpop-proof').value.replace(/\s+/g, '');
  const headers = [...request.headers];
  if (token) headers.push(['authorization', `${proof ? 'DPoP' : 'Bearer'} ${token}`]);
  if (proof) headers.push(['dpop', proof]);
  const origin = $('dpop-origin').value.trim();
  if (origin) {
    const m = origin.match(/^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#\s]+)\/?$/);
    if (!m) throw new Error(`Origin: "${origin}" is no origin; write the scheme and host, like https://admin.example.com`);
    headers.push([':scheme', m[1]], [':authority', m[2]]);
  }
  const certificate = $('client-cert').value.trim();
  return { headers, ...(certificate ? { client_certificate: certificate } : {}) };
}

export function currentClaims() {
  if (page.state.mode === 'claims') {
    try { return JSON.parse($('claims').value); } catch { return null; }
  }
  if (page.state.mode === 'token') return tokenClaims($('token').value);
  return null;
}

/** The claims of a token as a person pastes it (NOT verified), or null. */
export function tokenClaims(text) {
  try { return decodeToken(readToken(text)).payload; } catch { return null; }
}

/**
 * The token as a person pastes it: a `Bearer ` prefix (any case) and line
 * breaks or spaces from wrapping are not part of a JWT.
 */
export function pastedToken() {
  return readToken($('token').value);
}
