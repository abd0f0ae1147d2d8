// Load: a bounded run (ROLEGATE_LOAD_SECONDS, default 60) of mixed requests at
// saturation through real Envoy with the filter: valid, expired, forged and
// wrong-role tokens, thousands of distinct tokens (cache churn), bad paths.
// Every response must be exactly the expected status, none 5xx, and Envoy's
// memory must stay within a bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { mintToken } from '../../pkg/node.js';
import { loadKeys, publicJwk } from '../vectors/runner.mjs';
import { startEnvoy } from './harness.mjs';

const SECONDS = Number(process.env.ROLEGATE_LOAD_SECONDS ?? 60);
const CONCURRENCY = 32;
const DISTINCT_TOKENS = 5000;
const CACHE_SIZE = 1000;
const MEMORY_GROWTH_BOUND_MB = 64;

const keys = loadKeys();
const now = () => Math.floor(Date.now() / 1000);
const policy = {
  issuers: [
    { issuer: 'https://idp.test', audiences: ['api'], jwks: { keys: [publicJwk(keys['rsa-a']), publicJwk(keys['ec-a'])] }, algorithms: ['RS256', 'ES256'] },
    { issuer: 'https://hmac.test', audiences: ['api'], secrets: [{ kid: 'hs-a', k: keys['hs-a'].k }], algorithms: ['HS256'] },
  ],
  path_prefix: '/api',
  roles: [{ name: 'auditor', required_attributes: [{ claim: 'group', value: 'auditors' }],
    rules: [{ effect: 'allow', methods: ['read'], paths: ['/**'] }, { effect: 'deny', methods: ['*'], paths: ['/config/**'] }] }],
  envoy: { cache_size: CACHE_SIZE, audit_log: false },
};

function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(status.match(/VmRSS:\s+(\d+)/)[1]) / 1024;
}

test(`mixed load for ${SECONDS}s: exact statuses, no 5xx, bounded memory`, { timeout: (SECONDS + 120) * 1000 }, async (t) => {
  const t0 = now();
  const claims = (extra = {}) => ({ iss: 'https://idp.test', aud: 'api', sub: 'load', group: 'auditors', iat: t0 - 10, exp: t0 + 3600, ...extra });
  const rsa = mintToken({ key: keys['rsa-a'], claims: claims() });
  const es = mintToken({ key: keys['ec-a'], claims: claims() });
  const expired = mintToken({ key: keys['rsa-a'], claims: claims({ iat: t0 - 7200, exp: t0 - 3600 }) });
  const forged = mintToken({ key: keys['attacker-rsa'], claims: claims(), header: { kid: 'rsa-a' } });
  const wrongRole = mintToken({ key: keys['ec-a'], claims: claims({ group: 'staff' }) });
  const distinct = Array.from({ length: DISTINCT_TOKENS }, (_, i) => mintToken({
    key: keys['hs-a'], claims: { ...claims({ iss: 'https://hmac.test' }), jti: `load-${i}` },
  }));
  const kinds = [
    { path: '/api/users', token: rsa, status: 200 },
    { path: '/api/users', token: es, status: 200 },
    { path: '/api/config', token: rsa, status: 403 },
    { path: '/api/users', method: 'DELETE', token: es, status: 403 },
    { path: '/api/users', token: expired, status: 401 },
    { path: '/api/users', token: forged, status: 401 },
    { path: '/api/users', token: wrongRole, status: 403 },
    { path: '/api/users', status: 401 },
    { path: '/api/a%2fb', token: rsa, status: 400 },
    { path: '/api/users/../config', token: rsa, status: 403 },
    { path: '/api/users', distinct: true, status: 200 },
    { path: '/api/users', distinct: true, status: 200 },
  ];

  const envoy = await startEnvoy({ policies: [policy], directResponse: true });
  t.after(() => envoy.stop());
  const port = envoy.ports[0];
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  t.after(() => agent.destroy());

  const counts = { total: 0, byStatus: {} };
  const wrong = [];
  let next = 0;
  let stop = false;
  function once() {
    const i = next++;
    const kind = kinds[i % kinds.length];
    const token = kind.distinct ? distinct[i % distinct.length] : kind.token;
    const headers = token ? { authorization: `Bearer ${token}` } : {};
    return new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, path: kind.path, method: kind.method ?? 'GET', headers, agent }, (res) => {
        res.resume();
        res.on('end', () => {
          counts.total++;
          counts.byStatus[res.statusCode] = (counts.byStatus[res.statusCode] ?? 0) + 1;
          if (res.statusCode !== kind.status && wrong.length < 20) wrong.push(`${kind.method ?? 'GET'} ${kind.path} (${kind.distinct ? 'distinct' : 'fixed'} token): ${res.statusCode}, expected ${kind.status}`);
          resolve();
        });
      });
      req.on('error', (e) => { wrong.push(`request error: ${e.message}`); resolve(); });
      req.end();
    });
  }
  async function worker() {
    while (!stop) await once();
  }

  const workers = Array.from({ length: CONCURRENCY }, worker);
  await new Promise((r) => setTimeout(r, Math.min(5, SECONDS / 4) * 1000));
  const rssStart = rssMb(envoy.pid);
  await new Promise((r) => setTimeout(r, (SECONDS - Math.min(5, SECONDS / 4)) * 1000));
  stop = true;
  await Promise.all(workers);
  const rssEnd = rssMb(envoy.pid);

  t.diagnostic(`${counts.total} requests (${(counts.total / SECONDS).toFixed(0)}/s): ${JSON.stringify(counts.byStatus)}; Envoy RSS ${rssStart.toFixed(1)} -> ${rssEnd.toFixed(1)} MB`);
  assert.deepEqual(wrong, [], 'every response has the expected status');
  assert.equal(Object.keys(counts.byStatus).filter((s) => s >= 500).length, 0, 'no 5xx');
  assert.ok(counts.total > SECONDS * 200, `the run reached load (${counts.total} requests)`);
  assert.ok(rssEnd - rssStart < MEMORY_GROWTH_BOUND_MB, `Envoy memory grew ${(rssEnd - rssStart).toFixed(1)} MB (bound ${MEMORY_GROWTH_BOUND_MB} MB)`);
  assert.equal(envoy.exited(), null, 'Envoy is still running');
});
