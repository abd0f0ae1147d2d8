// The package as a user gets it: packed (npm pack of pkg/, as scripts/pack.sh
// does), installed from the tarball into a fresh project with no registry,
// imported as ESM, type-checked with tsc, and its CLI run from
// node_modules/.bin, with the Envoy filter it ships.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const pkg = here('../../pkg/');
let dir;
let project;

const run = (cmd, args, options = {}) => execFileSync(cmd, args, { cwd: project, encoding: 'utf8', timeout: 120_000, ...options });

before(() => {
  assert.ok(existsSync(join(pkg, 'filter/rolegate_filter.wasm')), 'pkg/filter/ holds the filter (scripts/build-filter.sh)');
  dir = mkdtempSync(join(tmpdir(), 'rolegate-package-'));
  cpSync(here('../../LICENSE'), join(pkg, 'LICENSE'));
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: pkg, encoding: 'utf8' }).trim();
  project = join(dir, 'project');
  execFileSync('mkdir', [project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'harness', private: true, type: 'module' }));
  // --offline: the package has no dependencies, so nothing may come from a registry.
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', join(dir, tarball)]);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the tarball holds what the package needs, and nothing from the repository besides', () => {
  const installed = join(project, 'node_modules/rolegate');
  for (const file of ['package.json', 'README.md', 'LICENSE', 'node.js', 'web.js', 'cli.mjs', 'index.d.ts', 'generated.d.ts',
    'envoy-config.js', 'cases.js', 'diff.js', 'dist/rolegate.js', 'dist/rolegate_bg.wasm', 'filter/rolegate_filter.wasm']) {
    assert.ok(existsSync(join(installed, file)), `${file} is in the package`);
  }
  const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8'));
  assert.match(lock.packages['node_modules/rolegate'].resolved, /^file:/, 'installed from the tarball, not a registry');
  // The filter shipped is the one the build made.
  assert.deepEqual(readFileSync(join(installed, 'filter/rolegate_filter.wasm')), readFileSync(join(pkg, 'filter/rolegate_filter.wasm')));
});

// Browsers download the policy module before they can show one decision:
// its budget (issue 27) is 200 KB with gzip -9. The testing module (key
// generation, signing) is loaded only on use and has no budget.
test('the policy module a browser loads first is at most 200 KB gzip', () => {
  const wasm = readFileSync(join(project, 'node_modules/rolegate/dist/rolegate_bg.wasm'));
  const gzipped = gzipSync(wasm, { level: 9 }).length;
  assert.ok(gzipped <= 200_000, `dist/rolegate_bg.wasm is ${gzipped} bytes with gzip -9; the budget is 200 000`);
});

test('an ES module imports it and decides; the Node entry points at the filter it ships', () => {
  writeFileSync(join(project, 'decide.mjs'), `
    import { Policy, generateKey, mintToken, envoyConfig, filterPath } from 'rolegate';
    import { existsSync } from 'node:fs';
    const { privateJwk, publicJwk } = generateKey({ alg: 'ES256' });
    const policyDoc = { issuers: [{ issuer: 'i', audiences: ['a'], jwks: { keys: [publicJwk] }, algorithms: ['ES256'] }],
      roles: [{ name: 'r', required_attributes: [{ claim: 'g', value: 'x' }], rules: [{ effect: 'allow', methods: ['read'], paths: ['/**'] }] }] };
    const policy = Policy.parse(policyDoc);
    const now = Math.floor(Date.now() / 1000);
    const token = mintToken({ key: privateJwk, claims: { iss: 'i', aud: 'a', exp: now + 60, g: 'x' } });
    const d = policy.decide({ path: '/x', headers: { authorization: 'Bearer ' + token } });
    const yaml = envoyConfig(policyDoc);
    console.log(JSON.stringify({ status: d.status, filterPath, exists: existsSync(filterPath), inConfig: yaml.includes(JSON.stringify(filterPath)) }));
  `);
  const out = JSON.parse(run(process.execPath, ['decide.mjs']));
  assert.equal(out.status, 200);
  assert.equal(out.filterPath, join(project, 'node_modules/rolegate/filter/rolegate_filter.wasm'));
  assert.equal(out.exists, true);
  assert.equal(out.inConfig, true, 'envoyConfig names the packaged filter by default');
});

test('its types check with tsc in the installing project', () => {
  writeFileSync(join(project, 'harness.ts'), `
    import { Policy, filterPath, envoyConfig } from 'rolegate';
    import type { Decision, MatrixDiff } from 'rolegate';
    const policy = Policy.parse('{}');
    const d: Decision = policy.decide({ path: '/x' });
    const diff: MatrixDiff = policy.diff(policy);
    const path: string | null = filterPath;
    const yaml: string = envoyConfig('{}', { accessLog: null, wasmPath: path ?? undefined });
    // @ts-expect-error a status is a number
    const wrong: string = d.status;
    console.log(d, diff, yaml, wrong);
  `);
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true }, files: ['harness.ts'] }));
  const tsc = here('../../node_modules/typescript/bin/tsc');
  try {
    run(process.execPath, [tsc, '-p', 'tsconfig.json']);
  } catch (e) {
    assert.fail(`tsc failed:\n${e.stdout}${e.stderr}`);
  }
});

test('the CLI runs from node_modules/.bin, and envoy-config uses the packaged filter', () => {
  const bin = join(project, 'node_modules/.bin/rolegate');
  assert.match(run(bin, ['--version']), /^rolegate 0\.1\.0/);
  cpSync(here('../../examples/pexip.json'), join(project, 'pexip.json'));
  assert.match(run(bin, ['check', 'pexip.json']), /pexip\.json: ok \(3 roles/);
  const yaml = run(bin, ['envoy-config', 'pexip.json']);
  assert.ok(yaml.includes(`filename: ${JSON.stringify(join(project, 'node_modules/rolegate/filter/rolegate_filter.wasm'))}`));
  // `npx --no` runs the installed bin and never fetches one.
  assert.match(run('npx', ['--no', 'rolegate', 'check', 'pexip.json']), /pexip\.json: ok/);
  // Where it is not installed, `npx --no` refuses instead of running the registry's "rolegate".
  const elsewhere = mkdtempSync(join(tmpdir(), 'rolegate-no-package-'));
  try {
    assert.throws(() => run('npx', ['--no', 'rolegate', 'check', 'x.json'], { cwd: elsewhere, stdio: 'pipe', env: { ...process.env, npm_config_offline: 'true' } }), /canceled|missing|ENOTCACHED|could not determine/i);
  } finally {
    rmSync(elsewhere, { recursive: true, force: true });
  }
});
