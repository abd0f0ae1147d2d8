// The rolegate filter as an Istio WasmPlugin: Istio pulls the module (an OCI
// image from scripts/build-oci.sh, or http(s)/file) and hands `pluginConfig`
// to the filter as JSON, which is the policy.
import { Policy } from './dist/rolegate.js';

const OPTIONS = ['image', 'name', 'namespace', 'selector', 'imagePullPolicy'];
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/; // a Kubernetes object name (RFC 1123 label)

/**
 * A WasmPlugin (extensions.istio.io/v1alpha1) running rolegate with this
 * policy, failing closed, in the AUTHN phase.
 *
 * @param {object|string} policy  the policy document (object or JSON text)
 * @param {object} options
 * @param {string} options.image  where Istio gets the module: oci://REGISTRY/rolegate/filter:TAG
 *   (or @sha256:DIGEST), https://…/rolegate_filter.wasm or file:///…
 * @param {string} [options.name]  default rolegate
 * @param {string} [options.namespace]  omitted when not set (then: kubectl's namespace)
 * @param {Record<string, string>} [options.selector]  workload labels, e.g. {app: 'admin-api'}; none: every workload of the namespace
 * @param {'IfNotPresent'|'Always'} [options.imagePullPolicy]
 * @returns {string}
 */
export function istioWasmPlugin(policy, options = {}) {
  if (!options || typeof options !== 'object') throw new TypeError('istioWasmPlugin: options must be an object');
  for (const key of Object.keys(options)) {
    if (!OPTIONS.includes(key)) throw new TypeError(`istioWasmPlugin: unknown option ${JSON.stringify(key)}; options are ${OPTIONS.join(', ')}`);
  }
  const { image, name = 'rolegate', namespace, selector, imagePullPolicy } = options;
  if (typeof image !== 'string' || !/^(oci|https?|file):\/\/\S+$/.test(image)) {
    throw new TypeError(`istioWasmPlugin: image must be an oci://, https://, http:// or file:// URL (scripts/build-oci.sh builds the image), not ${JSON.stringify(image)}`);
  }
  for (const [what, value] of [['name', name], ['namespace', namespace]]) {
    if (value !== undefined && !(typeof value === 'string' && NAME.test(value) && value.length <= 63)) {
      throw new TypeError(`istioWasmPlugin: ${what} must be a Kubernetes name (lower-case letters, digits and '-'), not ${JSON.stringify(value)}`);
    }
  }
  if (selector !== undefined && !(selector && typeof selector === 'object' && Object.values(selector).every((v) => typeof v === 'string'))) {
    throw new TypeError('istioWasmPlugin: selector must be an object of label names to string values');
  }
  if (imagePullPolicy !== undefined && !['IfNotPresent', 'Always'].includes(imagePullPolicy)) {
    throw new TypeError(`istioWasmPlugin: imagePullPolicy must be IfNotPresent or Always, not ${JSON.stringify(imagePullPolicy)}`);
  }
  const text = typeof policy === 'string' ? policy : JSON.stringify(policy);
  // The filter would refuse an invalid policy; refuse it here, with its JSON path.
  const parsed = Policy.parse(text);
  const endpoint = parsed.tokenEndpoint;
  const remote = parsed.remoteClusters;
  parsed.free();
  // A token request's body reaches a proxy-wasm filter only after its
  // headers go on, which on a sidecar's routes means to the application:
  // the filter answers such requests 503, so no working endpoint can be had.
  if (endpoint) {
    throw new TypeError(`istioWasmPlugin: the policy has a token_endpoint (${endpoint.path}), which needs routes a WasmPlugin cannot add: its paths answered by a direct_response behind Envoy's buffer filter. On an Istio sidecar the filter answers token requests 503. Run the token endpoint on an Envoy from \`rolegate envoy-config\` and point the sidecar's policy at its issuer instead`);
  }
  // JSON is YAML: the policy goes in as it is, indented under pluginConfig.
  const config = JSON.stringify(JSON.parse(text), null, 2).split('\n').map((line, i) => (i ? `    ${line}` : line)).join('\n');
  const q = JSON.stringify;
  const labels = selector && Object.keys(selector).length
    ? `  selector:\n    matchLabels:\n${Object.entries(selector).map(([k, v]) => `      ${q(k)}: ${q(v)}`).join('\n')}\n`
    : '';
  const egress = remote.map((c) => egressYaml(c, name, namespace)).join('');
  return `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: ${name}
${namespace ? `  namespace: ${namespace}\n` : ''}spec:
${labels}  url: ${q(image)}
${imagePullPolicy ? `  imagePullPolicy: ${imagePullPolicy}\n` : ''}  # Before Istio's own authentication filters; a module that cannot load refuses every request.
  phase: AUTHN
  failStrategy: FAIL_CLOSE
  pluginName: rolegate
  pluginConfig: ${config}
${egress}`;
}

/**
 * What a remote issuer's calls need in the mesh: the authorization server as
 * a ServiceEntry, and for https a DestinationRule whose sidecar originates
 * the TLS — verifying the server with the policy's CA and, for mutual TLS,
 * presenting rolegate's client certificate (files the sidecar must mount).
 * The filter calls Istio's cluster for it, `outbound|PORT||HOST`, so the
 * policy's `remote.cluster` must be that name.
 */
function egressYaml(cluster, name, namespace) {
  const { host, port, tls } = cluster;
  const istioName = `outbound|${port}||${host}`;
  if (/^[0-9.]+$|:/.test(host)) {
    throw new TypeError(`istioWasmPlugin: remote.cluster ${JSON.stringify(cluster.name)} reaches ${host}, an IP address; in Istio a ServiceEntry names a host name`);
  }
  if (cluster.name !== istioName) {
    throw new TypeError(`istioWasmPlugin: in Istio the filter calls the mesh's cluster for the authorization server: set remote.cluster to ${JSON.stringify(istioName)} (not ${JSON.stringify(cluster.name)})`);
  }
  const q = JSON.stringify;
  const slug = host.replace(/[^a-z0-9-]+/gi, '-').toLowerCase().replace(/^-+|-+$/g, '').slice(0, 40);
  const meta = (kind) => `metadata:
  name: ${name}-${kind}-${slug}
${namespace ? `  namespace: ${namespace}
` : ''}`;
  const entry = `---
# The authorization server rolegate calls (${tls ? 'TLS originated by the sidecar, below' : 'plain HTTP'}).
apiVersion: networking.istio.io/v1
kind: ServiceEntry
${meta('as')}spec:
  hosts: [${q(host)}]
  location: MESH_EXTERNAL
  resolution: DNS
  ports:
  - {number: ${port}, name: http-${port}, protocol: HTTP}
`;
  if (!tls) return entry;
  const client = tls.certificate
    ? `
        clientCertificate: ${q(tls.certificate)}
        privateKey: ${q(tls.private_key)}`
    : '';
  return `${entry}---
# The sidecar's TLS to it: the server checked against the policy's CA${tls.certificate ? ', rolegate\'s client certificate presented (mount the files into the sidecar)' : ''}.
apiVersion: networking.istio.io/v1
kind: DestinationRule
${meta('tls')}spec:
  host: ${q(host)}
  trafficPolicy:
    portLevelSettings:
    - port: {number: ${port}}
      tls:
        mode: ${tls.certificate ? 'MUTUAL' : 'SIMPLE'}
        sni: ${q(host)}
        caCertificates: ${q(tls.ca)}${client}
`;
}
