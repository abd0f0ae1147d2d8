// The README's and the package README's Node examples are run as written: a copy of it in a temporary
// project with the checkout's package as `rolegate` and the PingAccess preset
// as policy.json must pass under node:test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, symlinkSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The first ```js block after `heading` in a README. */
function example(heading, file = 'README.md') {
  const readme = readFileSync(join(root, file), 'utf8');
  const at = readme.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, `README has a "${heading}" section`);
  const block = readme.slice(at).match(/```js\n([\s\S]*?)```/);
  assert.ok(block, `"${heading}" has a js example`);
  return block[1];
}

for (const [file, heading] of [['README.md', '## In Node'], ['pkg/README.md', '## A test harness']]) {
test(`the ${file} example under "${heading}" passes as written`, { timeout: 30_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rolegate-readme-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(join(root, 'pkg'), join(dir, 'node_modules', 'rolegate'), 'dir');
    copyFileSync(join(root, 'examples', 'pingaccess.json'), join(dir, 'policy.json'));
    const code = example(heading, file);
    // An example that checks only the status can pass for the wrong reason
    // (a token that matches no role is 403 too): it must check the reason.
    assert.match(code, /d\.reason/, `the ${file} example asserts the decision's reason`);
    assert.match(code, /d\.roles/, `the ${file} example asserts the granted roles`);
    writeFileSync(join(dir, 'example.test.mjs'), code);
    // A test runner of its own (not reporting into this one's).
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const run = spawnSync(process.execPath, ['--test', 'example.test.mjs'], { cwd: dir, env, encoding: 'utf8', timeout: 25_000 });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /# pass 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
}
