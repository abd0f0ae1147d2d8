// Istio: the WasmPlugin `rolegate istio-config` prints (parsed as YAML, it
// carries the policy the filter loads) and the OCI image scripts/build-oci.sh
// builds (well-formed as Debian's skopeo reads it, every blob matching its
// digest, the layer holding exactly the filter as plugin.wasm).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { Policy, istioWasmPlugin } from '../../pkg/node.js';
import { loadKeys } from '../vectors/runner.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'pkg/cli.mjs');
const preset = join(root, 'examples/pingaccess.json');
const filter = join(root, 'pkg/filter/rolegate_filter.wasm');
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

test('istio-config prints a WasmPlugin that fails closed in the AUTHN phase and carries the policy', () => {
  const yaml = execFileSync(process.execPath, [cli, 'istio-config', preset, '--image', 'oci://registry.example.com/rolegate/filter:0.1.0',
    '--namespace', 'admin', '--selector', 'app=admin-api', '--selector', 'tier=api'], { encoding: 'utf8' });
  const plugin = parse(yaml);
  assert.equal(plugin.apiVersion, 'extensions.istio.io/v1alpha1');
  assert.equal(plugin.kind, 'WasmPlugin');
  assert.deepEqual(plugin.metadata, { name: 'rolegate', namespace: 'admin' });
  assert.deepEqual(plugin.spec.selector, { matchLabels: { app: 'admin-api', tier: 'api' } });
  assert.equal(plugin.spec.url, 'oci://registry.example.com/rolegate/filter:0.1.0');
  assert.equal(plugin.spec.phase, 'AUTHN');
  assert.equal(plugin.spec.failStrategy, 'FAIL_CLOSE');
  // Istio hands pluginConfig to the filter as JSON: it is the policy, and it loads.
  assert.deepEqual(plugin.spec.pluginConfig, JSON.parse(readFileSync(preset, 'utf8')));
  const policy = Policy.parse(JSON.stringify(plugin.spec.pluginConfig));
  assert.deepEqual(policy.roles.map((r) => r.name), ['administrator', 'platform_administrator', 'auditor']);
});

test('istioWasmPlugin refuses an invalid policy, a missing image and options it does not know', () => {
  const doc = JSON.parse(readFileSync(preset, 'utf8'));
  const image = 'oci://r.example/rolegate/filter@sha256:' + 'a'.repeat(64);
  assert.match(istioWasmPlugin(doc, { image }), /url: "oci:\/\/r\.example\/rolegate\/filter@sha256:a{64}"/);
  assert.doesNotMatch(istioWasmPlugin(doc, { image }), /selector|namespace/);
  assert.throws(() => istioWasmPlugin({ roles: [] }, { image }), (e) => e.code === 'missing_field' && e.path === 'issuers');
  assert.throws(() => istioWasmPlugin(doc, {}), /image must be an oci:\/\/, https:\/\/, http:\/\/ or file:\/\/ URL/);
  assert.throws(() => istioWasmPlugin(doc, { image, selectr: {} }), /unknown option "selectr"/);
  assert.throws(() => istioWasmPlugin(doc, { image, name: 'Role Gate' }), /name must be a Kubernetes name/);
  // A token endpoint cannot work on a sidecar's routes: refused with why.
  const withEndpoint = {
    ...JSON.parse(readFileSync(join(root, 'examples/pexip.json'), 'utf8')),
    issuers: [],
    token_endpoint: { issuer: 'https://pexip-manager.test', audience: 'pexip-management-api', signing_key: loadKeys()['pexip-node'], active_tokens_role: 'administrator' },
  };
  assert.throws(() => istioWasmPlugin(withEndpoint, { image }), /has a token_endpoint \(\/oauth\/token\/\), which needs routes a WasmPlugin cannot add/);
  const r = (...args) => { try { execFileSync(process.execPath, [cli, 'istio-config', preset, ...args], { stdio: 'pipe' }); return 0; } catch (e) { return [e.status, String(e.stderr)]; } };
  assert.deepEqual(r('--image', image, '--selector', 'app')[0], 2);
  assert.match(r()[1], /--image is required/);
});

test('a remote issuer behind mutual TLS gets its ServiceEntry and the DestinationRule that presents rolegate\'s certificate', () => {
  const doc = JSON.parse(readFileSync(preset, 'utf8'));
  const issuer = (cluster) => ({ issuer: 'https://idp.example.com', audiences: ['a'], algorithms: ['RS256'],
    discovery: 'https://idp.example.com/.well-known/openid-configuration',
    remote: { cluster, tls: { ca: '/etc/rolegate/idp-ca.pem', certificate: '/etc/rolegate/client.pem', private_key: '/etc/rolegate/client.key' } },
    introspection: { client_id: 'rolegate', client_auth: 'tls_client_auth' } });
  const image = 'oci://r.example/rolegate/filter:0.1.0';
  const docs = parseAllDocuments(istioWasmPlugin({ ...doc, issuers: [issuer('outbound|443||idp.example.com')] }, { image, namespace: 'admin' })).map((d) => d.toJS());
  assert.deepEqual(docs.map((d) => d.kind), ['WasmPlugin', 'ServiceEntry', 'DestinationRule']);
  const [, entry, rule] = docs;
  assert.deepEqual(entry.spec, { hosts: ['idp.example.com'], location: 'MESH_EXTERNAL', resolution: 'DNS', ports: [{ number: 443, name: 'http-443', protocol: 'HTTP' }] });
  assert.equal(entry.metadata.namespace, 'admin');
  assert.deepEqual(rule.spec, { host: 'idp.example.com', trafficPolicy: { portLevelSettings: [{ port: { number: 443 },
    tls: { mode: 'MUTUAL', sni: 'idp.example.com', caCertificates: '/etc/rolegate/idp-ca.pem', clientCertificate: '/etc/rolegate/client.pem', privateKey: '/etc/rolegate/client.key' } }] } });
  // The filter calls Istio's cluster: any other name would find none.
  assert.throws(() => istioWasmPlugin({ ...doc, issuers: [issuer('idp')] }, { image }), /set remote.cluster to "outbound\|443\|\|idp\.example\.com"/);
});

test('build-oci.sh makes a reproducible OCI image that skopeo reads, holding the filter as plugin.wasm', () => {
  const build = () => execFileSync(join(root, 'scripts/build-oci.sh'), ['--wasm', filter, '--tag', 'test'], { cwd: root, encoding: 'utf8' });
  const first = build();
  const digest = first.match(/sha256:([0-9a-f]{64})/)[1];
  assert.equal(build().match(/sha256:([0-9a-f]{64})/)[1], digest, 'the same filter gives the same image');
  const layout = join(root, 'target/oci/rolegate-filter');
  // Every blob is named by its digest.
  for (const name of readdirSync(join(layout, 'blobs/sha256'))) {
    assert.equal(sha256(readFileSync(join(layout, 'blobs/sha256', name))), name, `blob ${name}`);
  }
  const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${layout}:test`], { encoding: 'utf8' }));
  assert.equal(inspect.Digest, `sha256:${digest}`);
  assert.equal(inspect.Layers.length, 1, 'Istio\'s compat variant: one layer');
  const archive = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${join(root, 'target/oci/rolegate-filter.tar')}:test`], { encoding: 'utf8' }));
  assert.equal(archive.Digest, inspect.Digest, 'the tarball is the same image');
  const manifest = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', `oci:${layout}:test`], { encoding: 'utf8' }));
  assert.equal(sha256(JSON.stringify(manifest)), digest);
  assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(manifest.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  // A copy through skopeo keeps the layer; the layer is a tar with plugin.wasm, byte for byte the filter.
  const out = mkdtempSync(join(tmpdir(), 'rolegate-oci-'));
  try {
    execFileSync('skopeo', ['copy', '--quiet', `oci:${layout}:test`, `dir:${out}`]);
    const layer = readFileSync(join(out, manifest.layers[0].digest.slice('sha256:'.length)));
    const tar = gunzipSync(layer);
    assert.equal(tar.subarray(0, 100).toString('utf8').replace(/\0.*$/s, ''), 'plugin.wasm');
    const size = parseInt(tar.subarray(124, 136).toString('utf8').trim(), 8);
    assert.deepEqual(tar.subarray(512, 512 + size), readFileSync(filter));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
