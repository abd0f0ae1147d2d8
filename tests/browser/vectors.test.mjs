// The shared vectors through the browser's policy module (the one the
// preview page loads first) in headless Chromium: each case must meet its
// expectations AND equal the Rust core's decision field for field, as in
// Node and Envoy. Tokens are minted in Node; the browser verifies them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchChromium } from './chromium.mjs';
import { serveStatic } from '../../scripts/static-server.mjs';
import { mintToken } from '../../pkg/node.js';
import {
  loadVectorFiles, loadKeys, casePolicy, buildRequest, caseFailures, RUST_DECISIONS,
} from '../vectors/runner.mjs';

const root = fileURLToPath(new URL('../../www/', import.meta.url));
let server;
let browser;

before(async () => {
  server = await serveStatic(root);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('every shared vector decides in Chromium as in Rust', async () => {
  assert.ok(existsSync(RUST_DECISIONS), `${RUST_DECISIONS} is missing: run cargo test --test vectors first`);
  const rust = JSON.parse(readFileSync(RUST_DECISIONS, 'utf8'));
  const keys = loadKeys();
  const cases = [];
  for (const { file, doc } of loadVectorFiles()) {
    for (const c of doc.cases) {
      cases.push({
        name: `${file}: ${c.name}`,
        c,
        policy: c.policy_json ?? JSON.stringify(casePolicy(doc, c, keys)),
        request: c.expect_error ? null : buildRequest(doc, c, keys, mintToken),
      });
    }
  }
  const page = await browser.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // A page of the server's origin that loads nothing itself.
  await page.goto(`http://127.0.0.1:${server.port}/presets/pingaccess.json`);
  const outcomes = await page.evaluate(async (cases) => {
    const rolegate = await import('/rolegate/web.js');
    await rolegate.default();
    return cases.map(({ policy, request }) => {
      let loaded;
      try {
        loaded = rolegate.Policy.parse(policy);
      } catch (e) {
        return { error: { code: e.code, path: e.path, message: e.message } };
      }
      try {
        return { decision: request ? loaded.decide(request) : null };
      } finally {
        loaded.free();
      }
    });
  }, cases.map(({ policy, request }) => ({ policy, request })));
  await page.close();
  assert.deepEqual(errors, []);
  const failures = cases.flatMap(({ name, c }, i) => caseFailures(name, c, outcomes[i], rust));
  assert.deepEqual(failures, []);
  const decided = outcomes.filter((o) => o.decision).length;
  assert.ok(decided > 250, `only ${decided} decisions`);
});
