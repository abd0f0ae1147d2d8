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

/** Every `npx --no -- rolegate …` the docs show, as written (continuation
 * lines joined, a trailing `# comment` and a pipe into another tool cut). */
function documentedCommands() {
  const commands = [];
  for (const doc of ['README.md', 'pkg/README.md', 'docs/envoy.md', 'docs/node.md', 'docs/testing.md', 'docs/policy.md']) {
    const text = readFileSync(here(`../../${doc}`), 'utf8');
    // In code blocks: whole lines; in prose: `inline code`.
    const lines = text.replace(/\\\n\s*/g, ' ').split('\n').filter((l) => l.startsWith('npx --no'));
    // (`npx --no -- rolegate …` names the form, not a command.)
    const inline = [...text.matchAll(/`(npx --no[^`]*)`/g)].map((m) => m[1].replace(/\s+/g, ' ')).filter((c) => !c.endsWith('…'));
    for (const line of [...lines, ...inline]) {
      const command = line.replace(/\s+#.*$/, '').split(' | ')[0].trim();
      commands.push({ doc, command });
    }
  }
  return commands;
}

test('every documented `npx --no -- rolegate …` runs rolegate as written', () => {
  const commands = documentedCommands();
  assert.ok(commands.length >= 15, `found ${commands.length} documented commands`);
  for (const { doc, command } of commands) {
    // npx reads flags before the package name as its own: `npx --no rolegate --version` is npm's version.
    assert.match(command, /^npx --no -- rolegate /, `${doc}: "${command}" needs "--" before rolegate`);
  }
  // The files the documented commands name, in a project with the package installed.
  const preset = JSON.parse(readFileSync(here('../../examples/pingaccess.json'), 'utf8'));
  const write = (name, value) => writeFileSync(join(project, name), typeof value === 'string' ? value : JSON.stringify(value));
  const key = JSON.parse(run('npx', ['--no', '--', 'rolegate', 'keygen', '--alg', 'ES256', '--kid', 'docs']));
  preset.issuers[0].jwks = { keys: [key.publicJwk] };
  for (const name of ['policy.json', 'old.json', 'new.json']) write(name, preset);
  execFileSync('mkdir', ['-p', join(project, 'more')]);
  write('more/pexip.json', readFileSync(here('../../examples/pexip.json'), 'utf8'));
  write('cases.json', { cases: [{ name: 'no token', request: { method: 'GET', path: '/pa-admin-api/v3/users' }, expect: { status: 401 } }] });
  write('key.json', key);
  write('claims.json', { iss: preset.issuers[0].issuer, aud: 'pingaccess-admin-api', exp: 4102444800, scope: 'admin', group: 'cn=pingaccess-auditors,o=myorg' });
  // add-client needs a policy with a token endpoint and the role it names.
  const withEndpoint = mkdtempSync(join(tmpdir(), 'rolegate-docs-te-'));
  try {
    execFileSync('ln', ['-s', join(project, 'node_modules'), join(withEndpoint, 'node_modules')]);
    writeFileSync(join(withEndpoint, 'package.json'), '{"private": true}');
    writeFileSync(join(withEndpoint, 'policy.json'), JSON.stringify({
      ...JSON.parse(readFileSync(here('../../examples/pexip.json'), 'utf8')), issuers: [],
      token_endpoint: { issuer: 'https://pexip.test', audience: 'pexip-management-api', signing_key: key.privateJwk, active_tokens_role: 'administrator' },
    }));
    const token = run('npx', ['--no', '--', 'rolegate', 'mint', '--key', 'key.json', '--claims', 'claims.json']).trim();
    for (const { doc, command } of commands) {
      const cwd = command.includes('add-client') ? withEndpoint : project;
      // add-client never overwrites a private key: each documented run writes a new one.
      const keyOut = command.match(/--key-out (\S+)/)?.[1];
      if (keyOut) rmSync(join(cwd, keyOut), { force: true });
      let out = '';
      let code = 0;
      try {
        out = execFileSync('sh', ['-c', command], { cwd, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TOKEN: token } });
      } catch (e) {
        ({ status: code } = e);
        out = `${e.stdout}${e.stderr}`;
      }
      // 0, or 1 where a command reports a denial or growth; never a usage error.
      assert.ok(code === 0 || code === 1, `${doc}: "${command}" exited ${code}:\n${out}`);
      assert.doesNotMatch(out, /^\d+\.\d+\.\d+\s*$|npm <command>|Usage:\s*\n\s*npm/, `${doc}: "${command}" ran npm, not rolegate`);
    }
  } finally {
    rmSync(withEndpoint, { recursive: true, force: true });
  }
  // The two that npm would take for its own.
  assert.match(run('npx', ['--no', '--', 'rolegate', '--version']), /^rolegate 0\.1\.0/);
  assert.match(run('npx', ['--no', '--', 'rolegate', '--help']), /rolegate decide <policy\.json>/);
});
