// The shared vectors through the npm package: each case must meet its
// expectations AND equal the Rust core's decision field for field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { Policy, mintToken } from '../../pkg/node.js';
import {
  loadVectorFiles, loadKeys, casePolicy, buildRequest, caseFailures, RUST_DECISIONS,
} from '../vectors/runner.mjs';

const keys = loadKeys();
const rust = existsSync(RUST_DECISIONS) ? JSON.parse(readFileSync(RUST_DECISIONS, 'utf8')) : null;

for (const { file, doc } of loadVectorFiles()) {
  test(file, () => {
    const failures = [];
    let compared = 0;
    for (const c of doc.cases) {
      const name = `${file}: ${c.name}`;
      let outcome;
      try {
        const policy = c.policy_json !== undefined ? Policy.parse(c.policy_json) : Policy.parse(casePolicy(doc, c, keys));
        if (c.expect_error) {
          outcome = { decision: null };
        } else {
          outcome = { decision: policy.decide(buildRequest(doc, c, keys, mintToken)) };
          compared += rust ? 1 : 0;
        }
        policy.free();
      } catch (e) {
        assert.ok(e instanceof Error, `${name}: not an Error`);
        outcome = { error: { code: e.code, path: e.path, message: e.message } };
      }
      failures.push(...caseFailures(name, c, outcome, rust));
    }
    assert.deepEqual(failures, []);
    if (!rust) console.log(`note: ${RUST_DECISIONS} is missing; run cargo test first to compare with Rust`);
    else assert.ok(compared > 0);
  });
}

test('the Rust decisions exist (cargo test ran first)', () => {
  assert.ok(rust, `${RUST_DECISIONS} is missing: run cargo test --test vectors before the Node tests`);
});
