// The README's "In Envoy" as a user runs it: the packed package installed in
// a fresh project (no registry), `npx --no rolegate envoy-config` writing the
// bootstrap, and a real Envoy running the filter the package ships.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mintToken } from '../../pkg/node.js';
import { loadKeys, publicJwk } from '../vectors/runner.mjs';
import { freePort, rawRequest, spawnTracked, startUpstream } from './harness.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const keys = loadKeys();
let dir;
let project;
let upstream;
let envoy;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rolegate-envoy-package-'));
  cpSync(join(root, 'LICENSE'), join(root, 'pkg/LICENSE'));
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: join(root, 'pkg'), encoding: 'utf8' }).trim();
  project = join(dir, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'gateway', private: true }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', join(dir, tarball)], { cwd: project });
  upstream = await startUpstream();
});

after(async () => {
  if (envoy && envoy.exitCode === null) {
    envoy.kill('SIGTERM');
    await new Promise((r) => envoy.on('exit', r));
  }
  await upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('npx --no rolegate envoy-config runs in Envoy with the packaged filter', { timeout: 90_000 }, async () => {
  const policy = {
    issuers: [{ issuer: 'https://idp.test', audiences: ['api'], jwks: { keys: [publicJwk(keys['ec-a'])] }, algorithms: ['ES256'] }],
    roles: [{ name: 'reader', required_attributes: [{ claim: 'role', value: 'reader' }], rules: [{ effect: 'allow', methods: ['read'], paths: ['/**'] }] }],
  };
  writeFileSync(join(project, 'policy.json'), JSON.stringify(policy, null, 2));
  const port = await freePort();
  const yaml = execFileSync('npx', ['--no', 'rolegate', 'envoy-config', 'policy.json', '--port', String(port), '--upstream', `127.0.0.1:${upstream.port}`, '--access-log', 'none'],
    { cwd: project, encoding: 'utf8' });
  assert.ok(yaml.includes(join(project, 'node_modules/rolegate/filter/rolegate_filter.wasm')), 'the config names the packaged filter');
  writeFileSync(join(project, 'envoy.yaml'), yaml);
  envoy = spawnTracked('envoy', ['-c', 'envoy.yaml', '--concurrency', '1', '--use-dynamic-base-id', '--log-level', 'warn'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  envoy.stdout.on('data', (d) => { log += d; });
  envoy.stderr.on('data', (d) => { log += d; });
  // Ready when the listener answers (this bootstrap has no admin port).
  let first;
  for (let i = 0; i < 300 && !first; i++) {
    assert.equal(envoy.exitCode, null, `envoy exited:\n${log}`);
    first = await rawRequest(port, { path: '/things' }, 1_000).catch(() => null);
    if (!first) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(first, `envoy did not answer:\n${log}`);
  assert.equal(first.status, 401);
  const now = Math.floor(Date.now() / 1000);
  const token = mintToken({ key: keys['ec-a'], claims: { iss: 'https://idp.test', aud: 'api', sub: 'ci', exp: now + 60, role: 'reader' } });
  const ok = await rawRequest(port, { path: '/things', headers: [['authorization', `Bearer ${token}`]] });
  assert.equal(ok.status, 200);
  const denied = await rawRequest(port, { method: 'DELETE', path: '/things', headers: [['authorization', `Bearer ${token}`]] });
  assert.equal(denied.status, 403);
});
