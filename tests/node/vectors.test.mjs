// The shared vectors through the npm package: each case must meet its
// expectations AND equal the Rust core's decision field for field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { Policy, mintToken } from '../../pkg/node.js';
import {
  loadVectorFiles, loadKeys, casePolicy, buildRequest, mismatches, RUST_DECISIONS,
} from '../vectors/runner.mjs';

const keys = loadKeys();
const rust = existsSync(RUST_DECISIONS) ? JSON.parse(readFileSync(RUST_DECISIONS, 'utf8')) : null;

for (const { file, doc } of loadVectorFiles()) {
  test(file, () => {
    const failures = [];
    let compared = 0;
    for (const c of doc.cases) {
      const name = `${file}: ${c.name}`;
      let policy;
      try {
        policy = c.policy_json !== undefined ? Policy.parse(c.policy_json) : Policy.parse(casePolicy(doc, c, keys));
      } catch (e) {
        if (!c.expect_error) {
          failures.push(`${name}: policy failed to load: ${e.message}`);
          continue;
        }
        assert.ok(e instanceof Error, `${name}: not an Error`);
        const got = { code: e.code, path: e.path };
        for (const [k, v] of Object.entries(c.expect_error)) {
          if (k === 'message_contains') {
            if (!e.message.includes(v)) failures.push(`${name}: message ${JSON.stringify(e.message)} lacks ${JSON.stringify(v)}`);
          } else if (got[k] !== v) {
            failures.push(`${name}: ${k} expected ${JSON.stringify(v)}, got ${JSON.stringify(got[k])}`);
          }
        }
        continue;
      }
      if (c.expect_error) {
        failures.push(`${name}: the policy loaded but should fail`);
        continue;
      }
      const decision = policy.decide(buildRequest(doc, c, keys, mintToken));
      policy.free();
      for (const m of mismatches(c.expect, decision)) {
        failures.push(`${name}: ${m.field} expected ${JSON.stringify(m.expected)}, got ${JSON.stringify(m.actual)}`);
      }
      if (rust) {
        assert.ok(Object.hasOwn(rust, name), `${name}: no Rust decision (rerun cargo test)`);
        try {
          assert.deepStrictEqual(decision, rust[name]);
          compared++;
        } catch (e) {
          failures.push(`${name}: differs from the Rust decision:\n${e.message}`);
        }
      }
    }
    assert.deepEqual(failures, []);
    if (!rust) console.log(`note: ${RUST_DECISIONS} is missing; run cargo test first to compare with Rust`);
    else assert.ok(compared > 0);
  });
}

test('the Rust decisions exist (cargo test ran first)', () => {
  assert.ok(rust, `${RUST_DECISIONS} is missing: run cargo test --test vectors before the Node tests`);
});
