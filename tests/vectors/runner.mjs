// The shared vector format (README.md here) for JavaScript hosts: the Node
// package tests and the Envoy end-to-end tests both use these helpers.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { createHash } from 'node:crypto';

export const VECTORS_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = join(VECTORS_DIR, '..', '..');

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** Every vector file except keys.json: [{file, doc}]. */
export function loadVectorFiles() {
  return readdirSync(VECTORS_DIR)
    .filter((f) => f.endsWith('.json') && f !== 'keys.json')
    .sort()
    .map((file) => ({ file, doc: readJson(join(VECTORS_DIR, file)) }));
}

export function loadKeys() {
  return readJson(join(VECTORS_DIR, 'keys.json')).keys;
}

const PRIVATE = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth']);
export function publicJwk(jwk) {
  if (jwk.kty === 'oct') return { ...jwk };
  return Object.fromEntries(Object.entries(jwk).filter(([k]) => !PRIVATE.has(k)));
}

/** Sets the value at a path like `roles[1].enabled`, creating objects on the way. */
function setPath(doc, path, value) {
  const parts = [];
  for (const part of path.split('.')) {
    const m = part.match(/^([^[]*)((?:\[\d+\])*)$/);
    if (m[1]) parts.push(m[1]);
    for (const idx of m[2].matchAll(/\[(\d+)\]/g)) parts.push(Number(idx[1]));
  }
  let node = doc;
  for (const p of parts.slice(0, -1)) node = node[p] ??= {};
  node[parts.at(-1)] = value;
}

/** Resolves `$extends`, `$set`, `$test_jwks`, `$test_secrets`. */
export function resolvePolicy(policy, keys) {
  let doc = structuredClone(policy);
  if (doc.$extends) {
    const base = readJson(join(REPO_ROOT, doc.$extends));
    const { $extends, ...overrides } = doc;
    doc = { ...base, ...overrides };
  }
  if (doc.$set) {
    const sets = doc.$set;
    delete doc.$set;
    for (const [path, value] of sets) setPath(doc, path, structuredClone(value));
  }
  for (const issuer of doc.issuers ?? []) {
    if (issuer.$test_jwks) {
      issuer.jwks = { keys: issuer.$test_jwks.map((n) => publicJwk(keys[n])) };
      delete issuer.$test_jwks;
    }
    if (issuer.$test_secrets) {
      issuer.secrets = issuer.$test_secrets.map((n) => ({ kid: keys[n].kid, k: keys[n].k }));
      delete issuer.$test_secrets;
    }
  }
  return doc;
}

/** The case's policy document (named in the file, or inline). */
export function casePolicy(doc, c, keys) {
  const policy = typeof c.policy === 'string' ? doc.policies[c.policy] : c.policy;
  return resolvePolicy(policy, keys);
}

const TIME_CLAIMS = ['exp', 'nbf', 'iat'];

/** Moves exp/nbf/iat by `shift` seconds (for hosts with a real clock). */
function shiftClaims(claims, shift) {
  if (!shift || !claims) return claims;
  const out = { ...claims };
  for (const k of TIME_CLAIMS) if (typeof out[k] === 'number') out[k] += shift;
  return out;
}

/** Shifts time claims inside raw JSON text, keeping everything else (such as
 * duplicate members) byte for byte. */
function shiftText(json, shift) {
  if (!shift) return json;
  // Any JSON number (fractions and exponent notation too); written back plain.
  return json.replace(/("(?:exp|nbf|iat)"\s*:\s*)(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g, (_, key, n) => `${key}${Number(n) + shift}`);
}

function b64url(text) {
  return Buffer.from(text).toString('base64url');
}

/** Mints the token a description asks for, with the package's mintToken. */
export function mintFromDescription(desc, keys, mintToken, shift = 0) {
  if (desc.raw !== undefined) return desc.raw;
  const claims = shiftClaims(desc.claims ?? {}, shift);
  let key = desc.key ? keys[desc.key] : undefined;
  if (desc.hmac_secret_of) {
    const secret = JSON.stringify(publicJwk(keys[desc.hmac_secret_of]));
    key = { kty: 'oct', k: b64url(secret), kid: desc.hmac_secret_of };
  }
  const options = { alg: desc.alg, key, claims, header: desc.header ?? {} };
  if (desc.header_json !== undefined) options.headerJson = desc.header_json;
  if (desc.payload_json !== undefined) options.payloadJson = shiftText(desc.payload_json, shift);
  let token = mintToken(options);
  if (desc.tamper_claims) {
    const [h, , s] = token.split('.');
    token = `${h}.${b64url(JSON.stringify({ ...claims, ...desc.tamper_claims }))}.${s}`;
  }
  if (desc.tamper_signature) {
    const dot = token.lastIndexOf('.');
    const mid = dot + 1 + Math.floor((token.length - dot - 1) / 2);
    token = token.slice(0, mid) + (token[mid] === 'A' ? 'B' : 'A') + token.slice(mid + 1);
  }
  return token;
}

/** Headers as [name, value] pairs (repeated headers stay separate). */
export function requestHeaders(req, keys, mintToken, shift = 0) {
  const headers = [];
  for (const [name, value] of Object.entries(req.headers ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) headers.push([name, v]);
  }
  let token;
  if (req.token) {
    token = mintFromDescription(req.token, keys, mintToken, shift);
    const template = req.authorization ?? 'Bearer {token}';
    headers.push(['authorization', template.replace('{token}', token)]);
  } else if (req.authorization !== undefined) {
    headers.push(['authorization', req.authorization]);
  }
  if (req.dpop) {
    headers.push(['dpop', mintFromDescription(dpopDescription(req.dpop, token, keys), keys, mintToken, shift)]);
  }
  return headers;
}

/** A DPoP proof's description as a token's (README.md: `dpop`): header
 * `typ: dpop+jwt` and its key's public `jwk` under the given header, and
 * `"{ath}"` in the claims replaced by the access token's hash. */
export function dpopDescription(desc, token, keys) {
  const header = { typ: 'dpop+jwt', kid: null, ...(desc.key ? { jwk: publicJwk(keys[desc.key]) } : {}), ...desc.header };
  const claims = { ...desc.claims };
  if (claims.ath === '{ath}' && token !== undefined) {
    claims.ath = createHash('sha256').update(token).digest('base64url');
  }
  return { ...desc, header, claims };
}

/** The `decide()` request for a case. */
export function buildRequest(doc, c, keys, mintToken) {
  const req = c.request;
  const request = {
    method: req.method ?? 'GET',
    path: req.path,
    headers: requestHeaders(req, keys, mintToken),
    now: c.now ?? doc.now,
  };
  if (req.claims) request.claims = req.claims;
  if (req.client_certificate) request.client_certificate = req.client_certificate;
  return request;
}

/** Fields of `expect` that differ in `actual`: [{field, expected, actual}]. */
export function mismatches(expect, actual, fields = Object.keys(expect)) {
  return fields
    .filter((f) => Object.hasOwn(expect, f))
    .filter((f) => !isDeepStrictEqual(actual[f] ?? null, expect[f]))
    .map((f) => ({ field: f, expected: expect[f], actual: actual[f] ?? null }));
}

/** Where the Rust run of the vectors leaves its full decisions, for other hosts to compare. */
export const RUST_DECISIONS = join(REPO_ROOT, 'target', 'rolegate-vectors', 'decisions.json');

/** What a proxy must do with each Rust decision: {forward, remove, set, denial}. */
export const PROXY_EFFECTS = join(REPO_ROOT, 'target', 'rolegate-vectors', 'proxy.json');

/**
 * What is wrong with one case's outcome in a JavaScript host: `outcome` is
 * `{error: {code, path, message}}` when the policy did not load, else
 * `{decision}`. Checks the case's expectations and, given the Rust
 * decisions, that the decision equals Rust's field for field.
 */
export function caseFailures(name, c, outcome, rust) {
  if (outcome.error) {
    if (!c.expect_error) return [`${name}: policy failed to load: ${outcome.error.message}`];
    const failures = [];
    for (const [k, v] of Object.entries(c.expect_error)) {
      if (k === 'message_contains') {
        if (!outcome.error.message.includes(v)) failures.push(`${name}: message ${JSON.stringify(outcome.error.message)} lacks ${JSON.stringify(v)}`);
      } else if (outcome.error[k] !== v) {
        failures.push(`${name}: ${k} expected ${JSON.stringify(v)}, got ${JSON.stringify(outcome.error[k])}`);
      }
    }
    return failures;
  }
  if (c.expect_error) return [`${name}: the policy loaded but should fail`];
  const failures = mismatches(c.expect, outcome.decision)
    .map((m) => `${name}: ${m.field} expected ${JSON.stringify(m.expected)}, got ${JSON.stringify(m.actual)}`);
  if (rust) {
    if (!Object.hasOwn(rust, name)) failures.push(`${name}: no Rust decision (rerun cargo test)`);
    else if (!isDeepStrictEqual(outcome.decision, rust[name])) {
      failures.push(`${name}: differs from the Rust decision:\n${JSON.stringify(outcome.decision)}\n${JSON.stringify(rust[name])}`);
    }
  }
  return failures;
}
