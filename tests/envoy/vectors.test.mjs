// The shared vectors over HTTP through a real Envoy running the filter. Each
// case must have exactly the HTTP effect of the Rust core's decision: the
// denial response (status, WWW-Authenticate, JSON body), or the forwarded
// request (canonical path, identity headers set, spoofed ones removed).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mintToken } from '../../pkg/node.js';
import {
  loadVectorFiles, loadKeys, casePolicy, requestHeaders, PROXY_EFFECTS,
} from '../vectors/runner.mjs';
import { startEnvoy, startUpstream, rawRequest } from './harness.mjs';

const keys = loadKeys();
const effects = JSON.parse(readFileSync(PROXY_EFFECTS, 'utf8'));
const upstream = await startUpstream();
after(() => upstream.close());

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Why a case cannot run over HTTP/1.1 in Envoy, or null. */
function unsendable(c) {
  if (c.expect_error || c.policy_json !== undefined) return 'a policy-loading case';
  if (c.request.claims) return 'a claims-only preview';
  if (c.not_in?.envoy) return c.not_in.envoy;
  if (!TOKEN.test(c.request.method ?? 'GET')) return 'the method is not an HTTP/1.1 token';
  return null;
}

for (const { file, doc } of loadVectorFiles()) {
  const cases = doc.cases.filter((c) => !unsendable(c));
  const skipped = doc.cases.filter((c) => c.not_in?.envoy).map((c) => `${c.name}: ${c.not_in.envoy}`);
  if (cases.length === 0) continue;
  test(`${file} through Envoy`, { timeout: 300_000 }, async (t) => {
    // One listener per distinct policy, all in one Envoy.
    const policyOf = (c) => JSON.stringify(casePolicy(doc, c, keys));
    const names = [...new Set(cases.map(policyOf))];
    // Underscore header names reach the filter (as under a hand-written
    // config), so the filter's own handling of them is what is tested.
    const envoy = await startEnvoy({ policies: names.map((n) => JSON.parse(n)), upstreamPort: upstream.port, underscoreHeaders: 'allow' });
    t.after(() => envoy.stop());
    const failures = [];
    const refusedByEnvoy = [];
    for (const c of cases) {
      const name = `${file}: ${c.name}`;
      const want = effects[name];
      assert.ok(want, `${name}: no Rust result (run cargo test first)`);
      // Envoy reads the real clock: move the token's times to match.
      const shift = Math.floor(Date.now() / 1000) - (c.now ?? doc.now);
      const headers = requestHeaders(c.request, keys, mintToken, shift);
      const port = envoy.ports[names.indexOf(policyOf(c))];
      const res = await rawRequest(port, { method: c.request.method ?? 'GET', path: c.request.path, headers });
      const problem = compare(res, want, c.request.path);
      if (problem === 'refused-by-envoy') refusedByEnvoy.push(`${name} (${res.status})`);
      else if (problem) failures.push(`${name}: ${problem}`);
    }
    if (skipped.length) t.diagnostic(`skipped: ${skipped.join('; ')}`);
    if (refusedByEnvoy.length) t.diagnostic(`refused by Envoy before the filter (still denied): ${refusedByEnvoy.join('; ')}`);
    assert.deepEqual(failures, []);
    assert.equal(envoy.exited(), null, 'Envoy kept running');
  });
}

/** null when the response is what the decision requires, else what differs. */
function compare(res, want, path) {
  if (want.forward) {
    if (res.status !== 200 || res.headers['x-upstream']?.[0] !== 'echo') {
      return `expected the request forwarded, got ${res.status} ${res.body}`;
    }
    const echo = JSON.parse(Buffer.from(res.headers['x-echo'][0], 'base64url').toString('utf8'));
    const set = new Map(want.set);
    for (const [name, value] of set) {
      const got = name === ':path' ? echo.path : echo.headers[name];
      if (got !== value) return `upstream ${name}: expected ${JSON.stringify(value)}, got ${JSON.stringify(got)}`;
    }
    if (!set.has(':path') && echo.path !== path) return `upstream :path: expected ${JSON.stringify(path)} unchanged, got ${JSON.stringify(echo.path)}`;
    for (const name of want.remove) {
      if (!set.has(name) && echo.headers[name] !== undefined) return `upstream still got ${name}: ${echo.headers[name]}`;
    }
    return null;
  }
  const denial = want.denial;
  let body;
  try {
    body = JSON.parse(res.body);
  } catch {
    body = null;
  }
  if (!body || body.reason === undefined) {
    // Envoy's HTTP codec refuses some requests itself (a malformed request
    // target); acceptable only where the core denies too.
    return res.status === 400 ? 'refused-by-envoy' : `expected ${denial.status}, got ${res.status} ${JSON.stringify(res.body)}`;
  }
  if (res.status !== denial.status) return `status: expected ${denial.status}, got ${res.status} ${res.body}`;
  if (JSON.stringify(body) !== denial.body) return `body: expected ${denial.body}, got ${res.body}`;
  for (const [name, value] of denial.headers) {
    const got = res.headers[name];
    if (!got || got.length !== 1 || got[0] !== value) return `${name}: expected ${JSON.stringify(value)}, got ${JSON.stringify(got)}`;
  }
  if (!denial.headers.some(([n]) => n === 'www-authenticate') && res.headers['www-authenticate']) {
    return `unexpected www-authenticate ${res.headers['www-authenticate']}`;
  }
  return null;
}
