// Envoy configuration for the rolegate filter: one function used by the
// preview page ("copy Envoy config"), the demo and the Envoy tests, so the
// documented config is the tested config.

/**
 * Returns an Envoy bootstrap (YAML) that puts the rolegate filter in front of
 * one upstream.
 *
 * @param {object|string} policy  the policy document (object or JSON text)
 * @param {object} [options]
 * @param {string} [options.wasmPath]      path of rolegate_filter.wasm on the Envoy host
 * @param {number} [options.listenPort]    port Envoy listens on (127.0.0.1)
 * @param {string} [options.upstreamHost]  upstream address
 * @param {number} [options.upstreamPort]  upstream port
 * @param {number} [options.adminPort]     Envoy admin port (127.0.0.1); omitted when not set
 * @param {boolean} [options.directResponse]  answer 200 from Envoy instead of an upstream (benchmarks)
 * @returns {string}
 */
export function envoyConfig(policy, options = {}) {
  const {
    wasmPath = '/etc/envoy/rolegate_filter.wasm',
    listenPort = 8080,
    listenAddress = '127.0.0.1',
    upstreamHost = '127.0.0.1',
    upstreamPort = 9000,
    adminPort,
    directResponse = false,
  } = options;
  const policyText = typeof policy === 'string' ? JSON.stringify(JSON.parse(policy)) : JSON.stringify(policy);
  // A JSON string is a valid YAML double-quoted scalar.
  const quoted = JSON.stringify(policyText);
  const route = directResponse
    ? `                direct_response: {status: 200, body: {inline_string: "ok"}}`
    : `                route: {cluster: admin_api}`;
  const admin = adminPort === undefined ? '' : `admin:
  address: {socket_address: {address: 127.0.0.1, port_value: ${adminPort}}}
`;
  const cluster = directResponse ? '  clusters: []' : `  clusters:
  - name: admin_api
    type: STATIC
    connect_timeout: 2s
    load_assignment:
      cluster_name: admin_api
      endpoints:
      - lb_endpoints:
        - endpoint:
            address: {socket_address: {address: ${upstreamHost}, port_value: ${upstreamPort}}}`;
  return `${admin}static_resources:
  listeners:
  - name: admin_api
    address: {socket_address: {address: ${listenAddress}, port_value: ${listenPort}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: admin_api
          # rolegate canonicalises the path itself and forwards the canonical
          # form; Envoy must hand it the path exactly as received.
          normalize_path: false
          merge_slashes: false
          path_with_escaped_slashes_action: KEEP_UNCHANGED
          route_config:
            virtual_hosts:
            - name: admin_api
              domains: ["*"]
              routes:
              - match: {prefix: "/"}
${route}
          http_filters:
          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: rolegate
                root_id: rolegate
                # Fail closed: if the VM is missing or broken, requests are refused.
                failure_policy: FAIL_CLOSED
                vm_config:
                  vm_id: rolegate
                  runtime: envoy.wasm.runtime.v8
                  code: {local: {filename: ${JSON.stringify(wasmPath)}}}
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: ${quoted}
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
${cluster}
`;
}
