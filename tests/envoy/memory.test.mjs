// The verified-token cache is bounded in bytes, not only in tokens: a flood
// of distinct valid tokens, each used on eight 7 KiB paths (each kept
// decision holds the path three times), leaves the Envoy process within a
// stated bound. Unbounded, this flood kept ~176 MiB per worker VM.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mintToken } from '../../pkg/node.js';
import { startEnvoy, rawRequest } from './harness.mjs';

const SECRET = Buffer.alloc(32, 7).toString('base64url');
const ISSUER = 'https://idp.test';
const TOKENS = Number(process.env.ROLEGATE_MEMORY_TOKENS ?? 1000);
const PATHS_PER_TOKEN = 8;
const CACHE_BYTES = 16 * 1024 * 1024;
// What the process may grow by: the cache's bound, plus the allocator's and
// V8's slack (measured: the growth levels off near 1.5x the bound).
const GROWTH_BOUND = 2 * CACHE_BYTES + 16 * 1024 * 1024;

const policy = {
  issuers: [{ issuer: ISSUER, audiences: ['api'], secrets: [{ kid: 'hs', k: SECRET }], algorithms: ['HS256'] }],
  roles: [{ name: 'reader', required_attributes: [{ claim: 'role', value: 'reader' }], rules: [{ effect: 'allow', methods: ['read'], paths: ['/**'] }] }],
  envoy: { audit_log: false, cache_bytes: CACHE_BYTES },
};
const now = () => Math.floor(Date.now() / 1000);
const token = (i) => mintToken({ alg: 'HS256', key: { kty: 'oct', kid: 'hs', k: SECRET }, claims: { iss: ISSUER, aud: 'api', sub: `user-${i}`, role: 'reader', iat: now() - 5, exp: now() + 600 } });
const rssBytes = (pid) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/)[1]) * 1024;
const MiB = (n) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

let envoy;
before(async () => { envoy = await startEnvoy({ policies: [policy], directResponse: true }); });
after(() => envoy?.stop());

/** Runs `count` requests from `make(i)`, `parallel` at a time; all must be 200. */
async function flood(count, make, parallel = 16) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const res = await rawRequest(envoy.ports[0], make(i), 20_000);
      assert.equal(res.status, 200, res.body);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

test('a flood of distinct tokens on long paths stays within the cache bound', { timeout: 240_000 }, async () => {
  const long = 'p'.repeat(7 * 1024);
  const request = (t, j) => ({ path: `/${long}/${j}`, headers: [['authorization', `Bearer ${t}`]] });
  // Warm up: VM, allocator and connection handling at their working size.
  const warm = token(-1);
  await flood(200, (i) => request(warm, i % PATHS_PER_TOKEN));
  const base = rssBytes(envoy.pid);
  const tokens = Array.from({ length: TOKENS }, (_, i) => token(i));
  await flood(TOKENS * PATHS_PER_TOKEN, (i) => request(tokens[Math.floor(i / PATHS_PER_TOKEN)], i % PATHS_PER_TOKEN));
  const grown = rssBytes(envoy.pid) - base;
  console.log(`# ${TOKENS} tokens x ${PATHS_PER_TOKEN} paths of 7 KiB: Envoy grew by ${MiB(grown)} (cache_bytes ${MiB(CACHE_BYTES)}, bound ${MiB(GROWTH_BOUND)})`);
  assert.ok(grown < GROWTH_BOUND, `Envoy grew by ${MiB(grown)}, more than ${MiB(GROWTH_BOUND)}`);
  // Still deciding, and still from the cache for recent tokens.
  const res = await rawRequest(envoy.ports[0], request(tokens.at(-1), 0));
  assert.equal(res.status, 200);
});
