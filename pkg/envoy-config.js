// Envoy configuration for the rolegate filter: used by the preview page
// ("copy Envoy config"), the CLI, the demo and the Envoy tests, so the
// documented config is the tested config.
import { Policy } from './dist/rolegate.js';

/**
 * An Envoy bootstrap (YAML) with one listener per entry, each running the
 * rolegate filter with its own policy in front of the upstream.
 *
 * @param {object} options
 * @param {{policy: object|string, listenPort?: number, name?: string}[]} options.listeners
 * @param {string} [options.wasmPath]       path of rolegate_filter.wasm on the Envoy host
 * @param {string} [options.listenAddress]  default 127.0.0.1
 * @param {string} [options.upstreamHost]   default 127.0.0.1
 * @param {number} [options.upstreamPort]   default 9000
 * @param {number} [options.adminPort]      Envoy admin port on 127.0.0.1; omitted when not set
 * @param {boolean} [options.directResponse]  answer 200 from Envoy itself (benchmarks)
 * @param {{name: string, host: string, port: number}[]} [options.clusters]  more clusters,
 *   e.g. the authorization server that remote validation calls (plain HTTP; add TLS for https)
 * @param {'reject'|'drop'|'allow'} [options.underscoreHeaders]  what Envoy does with request
 *   header names that contain '_' (default 'reject': 400). CGI/WSGI upstreams read
 *   `x_rolegate_roles` as `x-rolegate-roles`; the filter strips and judges such spellings of
 *   the headers it knows, and 'reject' keeps every other one from the upstream too.
 * @param {string|null} [options.accessLog]  where Envoy writes one JSON line per request with
 *   rolegate's decision: 'stdout' (default), a file path, or null for no access log
 * @param {{certificate: string, privateKey: string, clientCa?: string, requireClientCertificate?: boolean}} [options.tls]
 *   HTTPS on every listener (PEM file paths on the Envoy host), asking clients for a certificate:
 *   what certificate-bound tokens (RFC 8705, `cnf.x5t#S256`) are checked against. With
 *   `clientCa`, client certificates must chain to it (and with `requireClientCertificate` a
 *   connection without one is refused); without, any certificate is taken (RFC 8705
 *   `self_signed_tls_client_auth`: the token's binding is what authenticates). Either way a
 *   certificate-bound token on a connection without its certificate is refused by rolegate.
 * @returns {string}
 */
const BOOTSTRAP_OPTIONS = ['listeners', 'wasmPath', 'listenAddress', 'upstreamHost', 'upstreamPort', 'adminPort', 'directResponse', 'clusters', 'underscoreHeaders', 'accessLog', 'tls'];

/** Throws for an option nobody reads (a misspelt `wasm` would silently keep the default). */
function checkOptions(options, known, what) {
  if (!options || typeof options !== 'object') throw new TypeError(`${what}: options must be an object`);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new TypeError(`${what}: unknown option ${JSON.stringify(key)}; options are ${known.join(', ')}`);
  }
}

/** Throws unless `value` (when given) is a TCP port. */
function checkPort(value, what) {
  if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= 65535)) {
    throw new TypeError(`${what} must be a port number from 1 to 65535, not ${JSON.stringify(value)}`);
  }
}

/** `host:port` (a name, an IPv4 address or a bracketed IPv6 one) as {host, port text}, or null. */
export function splitHostPort(text) {
  const at = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d+)$/.exec(text);
  return at ? { host: at[1], port: at[2] } : null;
}

const isIpAddress = (host) => /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || /^\[?[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]?$/.test(host);

function checkHost(value, what) {
  if (typeof value !== 'string' || !(isIpAddress(value) || /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(value))) {
    throw new TypeError(`${what} must be an IP address or a host name, not ${JSON.stringify(value)}`);
  }
}

export function envoyBootstrap(options) {
  checkOptions(options, BOOTSTRAP_OPTIONS, 'envoyBootstrap');
  const {
    listeners,
    wasmPath = '/etc/envoy/rolegate_filter.wasm',
    listenAddress = '127.0.0.1',
    upstreamHost = '127.0.0.1',
    upstreamPort = 9000,
    adminPort,
    directResponse = false,
    clusters: extraClusters = [],
    underscoreHeaders = 'reject',
    accessLog = 'stdout',
    tls,
  } = options;
  const transport = tls === undefined ? '' : tlsYaml(tls);
  checkPort(upstreamPort, 'upstreamPort');
  checkHost(upstreamHost, 'upstreamHost');
  for (const [i, c] of extraClusters.entries()) {
    checkHost(c.host ?? '127.0.0.1', `clusters[${i}].host`);
    checkPort(c.port, `clusters[${i}].port`);
  }
  checkPort(adminPort, 'adminPort');
  // Envoy listens on an IP address only; quoted below, it cannot break the YAML.
  if (typeof listenAddress !== 'string' || !isIpAddress(listenAddress.replace(/^\[(.*)\]$/, '$1'))) {
    throw new TypeError(`listenAddress must be an IP address to listen on (127.0.0.1, 0.0.0.0, ::), not ${JSON.stringify(listenAddress)}`);
  }
  for (const [i, l] of listeners.entries()) checkPort(l.listenPort, `listeners[${i}].listenPort`);
  const underscoreAction = UNDERSCORE_ACTIONS[underscoreHeaders];
  if (!underscoreAction) {
    throw new TypeError(`underscoreHeaders must be one of ${Object.keys(UNDERSCORE_ACTIONS).join(', ')}, not ${JSON.stringify(underscoreHeaders)}`);
  }
  const admin = adminPort === undefined
    ? ''
    : `admin:\n  address: {socket_address: {address: 127.0.0.1, port_value: ${adminPort}}}\n`;
  // An IP address is used as it is; a host name is resolved by Envoy
  // (STRICT_DNS: a STATIC cluster refuses names, and Envoy would not start).
  const cluster = (name, host, port) => `  - name: ${name}
    type: ${isIpAddress(host) ? 'STATIC' : 'STRICT_DNS'}${isIpAddress(host) ? '' : '\n    dns_lookup_family: V4_PREFERRED'}
    connect_timeout: 2s
    load_assignment:
      cluster_name: ${name}
      endpoints:
      - lb_endpoints:
        - endpoint:
            address: {socket_address: {address: ${host.replace(/^\[(.*)\]$/, '$1')}, port_value: ${port}}}`;
  // Text is passed as given (the filter reports what is wrong with it).
  const policyTexts = listeners.map((l) => (typeof l.policy === 'string' ? l.policy : JSON.stringify(l.policy, null, 2)));
  const facts = policyTexts.map(policyFacts);
  const endpoints = facts.map((f) => f.endpoint);
  // The clusters remote issuers call, from their URLs (and `remote.tls`),
  // unless the caller defines one of that name; a caller's cluster for an
  // https issuer still gets the policy's TLS.
  const remote = new Map();
  for (const f of facts) for (const c of f.remoteClusters) if (!remote.has(c.name)) remote.set(c.name, c);
  const tlsOf = (name) => (remote.get(name)?.tls ? upstreamTlsYaml(remote.get(name).host, remote.get(name).tls) : '');
  const all = [
    ...(directResponse ? [] : [cluster('admin_api', upstreamHost, upstreamPort)]),
    ...extraClusters.map((c) => cluster(c.name, c.host ?? '127.0.0.1', c.port) + tlsOf(c.name)),
    ...[...remote.values()].filter((c) => !extraClusters.some((e) => e.name === c.name))
      .map((c) => cluster(c.name, c.host, c.port) + tlsOf(c.name)),
  ];
  for (const [i, endpoint] of endpoints.entries()) {
    const forward = endpoint?.forward_to_cluster;
    if (forward && !extraClusters.some((c) => c.name === forward)) {
      throw new TypeError(`listeners[${i}]: the policy's token_endpoint.forward_to_cluster is ${JSON.stringify(forward)}: add {name: ${JSON.stringify(forward)}, host, port} (the token instance) to clusters`);
    }
  }
  const clusters = all.length ? `  clusters:\n${all.join('\n')}` : '  clusters: []';
  const blocks = listeners.map((l, i) => listenerYaml({
    name: l.name ?? (listeners.length === 1 ? 'admin_api' : `admin_api_${i}`),
    policyText: policyTexts[i],
    endpoint: endpoints[i],
    port: l.listenPort ?? 8080 + i,
    listenAddress,
    wasmPath,
    directResponse,
    underscoreAction,
    accessLog,
    transport,
  }));
  return `${admin}static_resources:\n  listeners:\n${blocks.join('')}${clusters}\n`;
}

const UNDERSCORE_ACTIONS = { reject: 'REJECT_REQUEST', drop: 'DROP_HEADER', allow: 'ALLOW' };

/** The listener's TLS (see envoyBootstrap's `tls`), as a filter chain's transport socket. */
function tlsYaml(tls) {
  checkOptions(tls, ['certificate', 'privateKey', 'clientCa', 'requireClientCertificate'], 'tls');
  for (const name of ['certificate', 'privateKey']) {
    if (typeof tls[name] !== 'string' || !tls[name]) throw new TypeError(`tls.${name} must be the path of a PEM file`);
  }
  if (tls.clientCa !== undefined && (typeof tls.clientCa !== 'string' || !tls.clientCa)) {
    throw new TypeError('tls.clientCa must be the path of a PEM file of CA certificates');
  }
  if (tls.clientCa === undefined && tls.requireClientCertificate) {
    throw new TypeError('tls.requireClientCertificate needs tls.clientCa: without a CA any certificate is taken, and the token\'s binding decides');
  }
  const require = Boolean(tls.requireClientCertificate);
  // Without a CA Envoy still asks for a certificate and keeps any it gets.
  const validation = tls.clientCa === undefined
    ? 'trust_chain_verification: ACCEPT_UNTRUSTED'
    : `trusted_ca: {filename: ${JSON.stringify(tls.clientCa)}}`;
  return `      transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          # Certificate-bound tokens (RFC 8705) are checked against the client's certificate.
          require_client_certificate: ${require}
          common_tls_context:
            tls_certificates:
            - certificate_chain: {filename: ${JSON.stringify(tls.certificate)}}
              private_key: {filename: ${JSON.stringify(tls.privateKey)}}
            validation_context:
              ${validation}
`;
}

function listenerYaml({ name, policyText, endpoint, port, listenAddress, wasmPath, directResponse, underscoreAction, accessLog, transport = '' }) {
  const route = directResponse
    ? 'direct_response: {status: 200, body: {inline_string: "ok"}}'
    : 'route: {cluster: admin_api}';
  // The filter answers its token endpoint itself. Proxy-wasm hands a filter
  // the request body only once its headers have gone on, so for those paths
  // Envoy's buffer filter (after rolegate, before the router) holds the
  // headers back until rolegate has answered; everywhere else it is off.
  const own = endpoint ? [endpoint.path, endpoint.active_tokens_path, endpoint.jwks_path, ...endpoint.metadata_paths] : [];
  // Several proxies, one token instance: token requests and the active-token
  // list go to its cluster (the filter forwards them only on that route).
  const forwarded = endpoint?.forward_to_cluster ? [endpoint.path, endpoint.active_tokens_path] : [];
  // The other routes never reach the upstream: if rolegate did not answer, Envoy does (404).
  const ownRoutes = own.map((p) => `              - match: {path: ${JSON.stringify(p)}}
                ${forwarded.includes(p) ? `route: {cluster: ${endpoint.forward_to_cluster}}` : 'direct_response: {status: 404}'}
`).join('');
  const bufferOff = own.length
    ? `
                typed_per_filter_config:
                  envoy.filters.http.buffer:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute
                    disabled: true`
    : '';
  const bufferFilter = own.length
    ? `          - name: envoy.filters.http.buffer
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer
              max_request_bytes: 65536
`
    : '';
  // A JSON string is also a valid YAML double-quoted scalar.
  return `  - name: ${name}
    address: {socket_address: {address: ${JSON.stringify(listenAddress.replace(/^\[(.*)\]$/, '$1'))}, port_value: ${port}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ${name}
          # rolegate canonicalises the path itself and forwards the canonical
          # form; Envoy must hand it the path exactly as received.
          normalize_path: false
          merge_slashes: false
          path_with_escaped_slashes_action: KEEP_UNCHANGED
          # Upstreams built on CGI/WSGI read '_' in a header name as '-':
          # x_rolegate_roles would arrive as the identity header.
          common_http_protocol_options:
            headers_with_underscores_action: ${underscoreAction}
${accessLogYaml(accessLog)}          route_config:
            virtual_hosts:
            - name: ${name}
              domains: ["*"]
              routes:
${ownRoutes}              - match: {prefix: "/"}
                ${route}${bufferOff}
          http_filters:
          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: ${name}
                root_id: rolegate
                # Fail closed: if the VM is missing or broken, requests are refused.
                failure_policy: FAIL_CLOSED
                vm_config:
                  vm_id: ${name}
                  runtime: envoy.wasm.runtime.v8
                  code: {local: {filename: ${JSON.stringify(wasmPath)}}}
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: ${policyBlock(policyText, ' '.repeat(20))}
${bufferFilter}          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
${transport}`;
}

/**
 * One JSON line per request: Envoy's own fields and rolegate's decision
 * (filter state `wasm.rolegate`: the audit line's JSON, as a string). The
 * query is left out, as in rolegate's audit line: it may hold secrets.
 */
function accessLogYaml(path) {
  if (path === null) return '';
  // Envoy's stdout logger writes to whatever stdout is (a pipe, a socket);
  // a file logger opening /dev/stdout fails on a socket.
  const logger = path === 'stdout'
    ? `envoy.access_loggers.stdout
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog`
    : `envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: ${JSON.stringify(path)}`;
  return `          access_log:
          - name: ${logger}
              log_format:
                formatters:
                - name: envoy.formatter.req_without_query
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery
                json_format:
                  start_time: "%START_TIME%"
                  request_id: "%REQ(X-REQUEST-ID)%"
                  client_address: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"
                  method: "%REQ(:METHOD)%"
                  path: "%REQ_WITHOUT_QUERY(:PATH)%"
                  response_code: "%RESPONSE_CODE%"
                  duration_ms: "%DURATION%"
                  upstream_host: "%UPSTREAM_HOST%"
                  rolegate: "%FILTER_STATE(wasm.rolegate:PLAIN)%"
`;
}

/**
 * The policy as YAML a person can read and edit: its text as written (a
 * string policy is never re-serialised, so what the filter gets is exactly
 * it, duplicate keys and all) in a literal block. Leading blank space is not
 * JSON and would confuse YAML's indentation, so it goes.
 */
function policyBlock(text, indent) {
  const lines = text.replace(/^\s+/, '').replace(/\s+$/, '').split(/\r?\n/);
  return `|\n${lines.map((line) => (line ? `${indent}${line}` : '')).join('\n')}`;
}

/** What the core reads of a policy for its config: the token endpoint's paths and the remote
 * issuers' clusters; nothing for a policy the filter will refuse anyway. */
function policyFacts(policyText) {
  let policy;
  try {
    policy = Policy.parse(policyText);
  } catch {
    return { endpoint: null, remoteClusters: [] };
  }
  try {
    return { endpoint: policy.tokenEndpoint, remoteClusters: policy.remoteClusters };
  } finally {
    policy.free();
  }
}

/** A cluster's upstream TLS (the policy's `remote.tls`): the server's CAs, and a client certificate for mutual TLS. */
function upstreamTlsYaml(host, tls) {
  const isIp = isIpAddress(host);
  const clientCertificate = tls.certificate
    ? `
          tls_certificates:
          - certificate_chain: {filename: ${JSON.stringify(tls.certificate)}}
            private_key: {filename: ${JSON.stringify(tls.private_key)}}`
    : '';
  return `
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext${isIp ? '' : `
        sni: ${JSON.stringify(host)}`}
        common_tls_context:
          validation_context:
            trusted_ca: {filename: ${JSON.stringify(tls.ca)}}${isIp ? '' : `
            match_typed_subject_alt_names:
            - san_type: DNS
              matcher: {exact: ${JSON.stringify(host)}}`}${clientCertificate}`;
}

/**
 * An Envoy bootstrap with the rolegate filter in front of one upstream.
 * @param {object|string} policy  the policy document (object or JSON text)
 * @param {object} [options]  as for envoyBootstrap, plus `listenPort` (default 8080)
 * @returns {string}
 */
export function envoyConfig(policy, options = {}) {
  checkOptions(options, ['listenPort', ...BOOTSTRAP_OPTIONS.filter((o) => o !== 'listeners')], 'envoyConfig');
  // A config Envoy would start with a plugin that refuses to load is no
  // config: the policy's error (with its JSON path) is thrown here instead.
  Policy.parse(typeof policy === 'string' ? policy : JSON.stringify(policy)).free();
  const { listenPort = 8080, ...rest } = options;
  return envoyBootstrap({ ...rest, listeners: [{ policy, listenPort }] });
}
