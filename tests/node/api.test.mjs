// The package's API: errors, tokens, keys, headers, matrix, cases.
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { Policy, createClient, decodeToken, mintToken, generateKey, envoyConfig, runCases, trustKey, addTokenEndpoint } from '../../pkg/node.js';

const NOW = 1_800_000_000;
const issuer = 'https://idp.test';

function policyFor(publicJwks, extra = {}) {
  return Policy.parse({
    issuers: [{ issuer, audiences: ['api'], jwks: { keys: publicJwks }, algorithms: ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'] }],
    roles: [
      { name: 'admin', required_attributes: [{ claim: 'role', value: 'admin' }], rules: [{ effect: 'allow', methods: ['*'], paths: ['/**'] }] },
      { name: 'reader', required_attributes: [{ claim: 'role', value: 'reader' }], rules: [{ effect: 'allow', methods: ['read'], paths: ['/**'] }] },
    ],
    ...extra,
  });
}

const claims = (extra = {}) => ({ iss: issuer, aud: 'api', sub: 'alice', iat: NOW - 10, exp: NOW + 600, role: 'admin', ...extra });

test('errors are Error objects with code, path and message', () => {
  const cases = [
    [{ issuers: [], roles: [] }, 'invalid_value', 'issuers'],
    ['{"issuers": [', 'invalid_json', ''],
    ['{"a": 1, "a": 2}', 'duplicate_key', ''],
    [{ issuers: [{ issuer, audiences: ['api'], algorithms: ['none'], secrets: [] }], roles: [] }, 'invalid_value', 'issuers[0].algorithms[0]'],
  ];
  for (const [doc, code, path] of cases) {
    assert.throws(() => Policy.parse(doc), (e) => {
      assert.ok(e instanceof Error);
      assert.equal(e.code, code, e.message);
      assert.equal(e.path, path);
      assert.ok(e.message.length > 10);
      if (path) assert.ok(e.message.startsWith(`${path}: `), e.message);
      return true;
    });
  }
  assert.throws(() => Policy.parse(42), (e) => e instanceof Error && typeof e.code === 'string');
  const p = policyFor([generateKey({ alg: 'ES256' }).publicJwk]);
  assert.throws(() => p.decide({ method: 'GET' }), (e) => e instanceof Error && e.code === 'invalid_argument' && /path/.test(e.message));
  assert.throws(() => p.decide({ path: '/', header: {} }), (e) => e.code === 'invalid_argument' && e.path === 'request.header' && /headers/.test(e.message));
  assert.throws(() => mintToken({ key: {}, claim: {} }), (e) => e.path === 'options.claim');
  assert.throws(() => decodeToken('abc'), (e) => e.code === 'malformed_token' && e.path === 'token');
  assert.throws(() => mintToken({ claims: {} }), (e) => e.code === 'invalid_key' && e.path === 'key');
  assert.throws(() => generateKey({ alg: 'none' }), (e) => e.code === 'invalid_argument' && e.path === 'alg');
});

// RSA key generation takes most of a second in wasm: make two and reuse them.
const rsaKeys = [generateKey({ alg: 'RS256' }), generateKey({ alg: 'RS256' })];
function keyPairFor(alg, kid, which = 0) {
  if (!alg.startsWith('RS') && !alg.startsWith('PS')) return generateKey({ alg, kid });
  const { privateJwk, publicJwk } = rsaKeys[which];
  return { privateJwk: { ...privateJwk, kid, alg }, publicJwk: { ...publicJwk, kid, alg } };
}

test('mintToken signs HS, RS, PS, ES and EdDSA tokens that decide() verifies', () => {
  for (const alg of ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA']) {
    const pair = keyPairFor(alg, `k-${alg}`);
    assert.equal(pair.privateJwk.kid, `k-${alg}`);
    assert.equal(pair.publicJwk.d, undefined, `${alg} public half has no private member`);
    const policy = policyFor([pair.publicJwk]);
    const token = mintToken({ key: pair.privateJwk, claims: claims() });
    assert.equal(decodeToken(token).header.alg, alg);
    const d = policy.decide({ method: 'DELETE', path: '/x', headers: { authorization: `Bearer ${token}` }, now: NOW });
    assert.equal(d.allowed, true, `${alg}: ${d.reason} ${d.cause}`);
    const forger = keyPairFor(alg, `k-${alg}`, 1);
    const forged = mintToken({ key: forger.privateJwk, claims: claims() });
    const f = policy.decide({ path: '/x', headers: { authorization: `Bearer ${forged}` }, now: NOW });
    assert.equal(f.cause, 'invalid_signature', alg);
    policy.free();
  }
  const hs = generateKey({ alg: 'HS512', kid: 'h' });
  assert.equal(Buffer.from(hs.privateJwk.k, 'base64url').length, 64);
  const hsPolicy = Policy.parse({
    issuers: [{ issuer, audiences: ['api'], secrets: [{ kid: 'h', k: hs.privateJwk.k }], algorithms: ['HS512'] }],
    roles: [{ name: 'admin', required_attributes: [{ claim: 'role', value: 'admin' }], rules: [{ effect: 'allow', methods: ['*'], paths: ['/**'] }] }],
  });
  const token = mintToken({ key: hs.privateJwk, claims: claims() });
  assert.equal(hsPolicy.decide({ path: '/x', headers: [['Authorization', `Bearer ${token}`]], now: NOW }).allowed, true);
});

test('mintToken makes the odd tokens negative tests need', () => {
  const pair = generateKey({ alg: 'ES256', kid: 'e' });
  const policy = policyFor([pair.publicJwk]);
  const ask = (token) => policy.decide({ path: '/x', headers: { authorization: `Bearer ${token}` }, now: NOW });
  assert.equal(ask(mintToken({ alg: 'none', claims: claims() })).cause, 'alg_none');
  assert.equal(ask(mintToken({ key: pair.privateJwk, claims: claims(), header: { kid: null } })).allowed, true);
  assert.equal(ask(mintToken({ key: pair.privateJwk, claims: claims(), header: { crit: ['x'] } })).cause, 'unknown_critical_header');
  const dup = JSON.stringify(claims()).replace(/}$/, ',"role":"reader"}');
  assert.equal(ask(mintToken({ key: pair.privateJwk, payloadJson: dup })).cause, 'duplicate_json_key');
  assert.throws(() => mintToken({ key: pair.privateJwk, alg: 'RS256', claims: {} }), /needs an RSA key/);
});

test('decide takes headers as an object or pairs, repeated values, and a default now', () => {
  const pair = generateKey({ alg: 'ES256', kid: 'e' });
  const policy = policyFor([pair.publicJwk]);
  const t = mintToken({ key: pair.privateJwk, claims: claims() });
  const twice = policy.decide({ path: '/x', headers: { authorization: [`Bearer ${t}`, `Bearer ${t}`] }, now: NOW });
  assert.equal(twice.cause, 'multiple_authorization_headers');
  const pairs = policy.decide({ path: '/x', headers: [['authorization', `Bearer ${t}`], ['Authorization', 'Basic x']], now: NOW });
  assert.equal(pairs.status, 400);
  // Without `now`, the current clock is used: a token valid now is accepted.
  const nowSeconds = Math.floor(Date.now() / 1000);
  const fresh = mintToken({ key: pair.privateJwk, claims: claims({ iat: nowSeconds, exp: nowSeconds + 60 }) });
  assert.equal(policy.decide({ path: '/x', headers: { authorization: `Bearer ${fresh}` } }).allowed, true);
  assert.equal(policy.decide({ method: 'POST', path: '/x', headers: { authorization: `Bearer ${t}` }, now: NOW }).roles[0], 'admin');
});

test('claims-only previews report role checks', () => {
  const policy = policyFor([generateKey({ alg: 'ES256' }).publicJwk]);
  const d = policy.decide({ method: 'POST', path: '/x', claims: claims({ role: ['reader'] }), now: NOW });
  assert.equal(d.credential, 'claims');
  assert.equal(d.reason, 'not_permitted');
  assert.deepEqual(d.roles, ['reader']);
  assert.deepEqual(d.role_checks.map((r) => [r.role, r.granted, r.attributes[0].matched]), [['admin', false, false], ['reader', true, true]]);
  assert.deepEqual(d.role_checks[1].attributes[0].actual, ['reader']);
  assert.equal(d.trace.at(-1).step, 'decision');
});

test('matrix tabulates roles x paths x methods and a token row', () => {
  const policy = policyFor([generateKey({ alg: 'ES256' }).publicJwk]);
  assert.deepEqual(policy.roles, [{ name: 'admin', enabled: true }, { name: 'reader', enabled: true }]);
  assert.equal(policy.mode, 'enforce');
  const m = policy.matrix({ paths: ['/a', '/a%2F'], methods: ['GET', 'DELETE', 'TRACE'], now: NOW });
  assert.deepEqual(m.rows.map((r) => r.name), ['admin', 'reader']);
  const grid = (row) => row.cells.map((p) => p.map((c) => (c.allowed ? 'Y' : c.reason)));
  assert.deepEqual(grid(m.rows[0]), [['Y', 'Y', 'forbidden_method'], ['invalid_path', 'invalid_path', 'invalid_path']]);
  assert.deepEqual(grid(m.rows[1]), [['Y', 'not_permitted', 'forbidden_method'], ['invalid_path', 'invalid_path', 'invalid_path']]);
  const t = policy.matrix({ paths: ['/a'], methods: ['GET', 'DELETE'], claims: claims({ role: 'reader' }), now: NOW });
  assert.equal(t.rows.length, 1);
  assert.equal(t.rows[0].kind, 'token');
  assert.deepEqual(t.rows[0].roles, ['reader']);
  assert.deepEqual(grid(t.rows[0]), [['Y', 'not_permitted']]);
});

test('a policy error says where in the text it is: line, column and the range of the value', () => {
  const jwk = JSON.stringify(generateKey({ alg: 'ES256' }).publicJwk);
  const text = `{\n  "issuers": [{"issuer": "i", "audiences": ["a"], "algorithms": ["ES256"], "jwks": {"keys": [${jwk}]}}],\n`
    + '  "description": "é",\n  "roles": [{"name": "r", "grant": "any_valid_token", "rules": [{"effect": "allow", "methods": ["GET"], "paths": ["/ok", "x**"]}]}]\n}';
  const error = (t) => { try { Policy.parse(t); } catch (e) { return e; } return assert.fail('parsed'); };
  const e = error(text);
  assert.equal(e.path, 'roles[0].rules[0].paths[1]');
  assert.equal(text.slice(e.from, e.to), '"x**"');
  assert.equal(e.line, 4);
  assert.equal(text.split('\n')[3].slice(e.column - 1, e.column + 4), '"x**"');
  const syntax = error('{\n  "roles": [,]\n}');
  assert.deepEqual([syntax.code, syntax.line, syntax.column, syntax.from, syntax.to], ['invalid_json', 2, 13, 14, 14]);
});

test('diff compares two policies cell by cell, on their own sample paths by default', () => {
  const keys = [generateKey({ alg: 'ES256' }).publicJwk];
  const before = policyFor(keys);
  const after = Policy.parse({
    issuers: [{ issuer, audiences: ['api'], jwks: { keys }, algorithms: ['ES256'] }],
    roles: [
      { name: 'reader', required_attributes: [{ claim: 'role', value: 'reader' }], rules: [{ effect: 'allow', methods: ['read', 'DELETE'], paths: ['/**'] }] },
    ],
  });
  const d = before.diff(after);
  assert.deepEqual(d.paths, ['/', '/x']);
  assert.deepEqual(d.methods, ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
  assert.deepEqual(d.rows.map((r) => [r.name, r.presence]), [['admin', 'removed'], ['reader', 'both']]);
  const reader = d.rows[1].cells[0];
  assert.deepEqual(reader.map((c) => c.change), ['same', 'same', 'same', 'same', 'same', 'grows']);
  assert.equal(reader[5].before.reason, 'not_permitted');
  assert.equal(reader[5].after.rule.role, 'reader');
  assert.equal(d.rows[0].cells[0][0].after, null);
  assert.deepEqual([d.grown, d.shrunk], [2, 12]);
  const narrow = before.diff(after, { paths: ['/only'], methods: ['DELETE'], now: NOW });
  assert.deepEqual([narrow.paths, narrow.grown, narrow.shrunk], [['/only'], 1, 1]);
  assert.throws(() => before.diff(after, { path: ['/x'] }), (e) => e.code === 'invalid_argument' && /unknown member `path`; expected one of paths/.test(e.message));
  assert.throws(() => before.diff({}, {}), /Policy/);
});

test('the matrix for 10 roles x 50 paths x 5 methods is quick', () => {
  const roles = Array.from({ length: 10 }, (_, i) => ({
    name: `role${i}`,
    required_attributes: [{ claim: 'role', value: `r${i}` }],
    rules: [
      { effect: 'allow', methods: ['read'], paths: ['/**'] },
      { effect: 'allow', methods: ['write'], paths: [`/area${i}/**`, '/shared/*/items/**'] },
      { effect: 'deny', methods: ['*'], paths: [`/area${(i + 1) % 10}/secret/**`] },
    ],
  }));
  const policy = Policy.parse({ issuers: [{ issuer, audiences: ['api'], secrets: [{ k: Buffer.alloc(32, 7).toString('base64url') }], algorithms: ['HS256'] }], roles });
  const paths = Array.from({ length: 50 }, (_, i) => `/area${i % 12}/x/${i}/../secret/${i}`);
  const methods = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'];
  policy.matrix({ paths, methods, now: NOW });
  const runs = 20;
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) policy.matrix({ paths, methods, now: NOW });
  const ms = (performance.now() - t0) / runs;
  console.log(`matrix 10x50x5: ${ms.toFixed(2)} ms`);
  assert.equal(policy.matrix({ paths, methods, now: NOW }).rows.length, 10);
});

test('runCases compares expectations and reports mismatches', () => {
  const policy = policyFor([generateKey({ alg: 'ES256' }).publicJwk]);
  const results = runCases(policy, {
    now: NOW,
    cases: [
      { name: 'reader reads', request: { path: '/x', claims: claims({ role: 'reader' }) }, expect: { allowed: true, roles: ['reader'] } },
      { name: 'wrong on purpose', request: { method: 'DELETE', path: '/x', claims: claims({ role: 'reader' }) }, expect: { allowed: true } },
    ],
  });
  assert.deepEqual(results.map((r) => r.pass), [true, false]);
  assert.deepEqual(results[1].mismatches, [{ field: 'allowed', expected: true, actual: false }]);
  assert.throws(() => runCases(policy, { cases: [{ request: {} }] }), (e) => e.path === 'cases[0].request.path');
});

test('envoyConfig embeds the policy as a JSON string', () => {
  const doc = JSON.parse(readFileSync(new URL('../../examples/pingaccess.json', import.meta.url), 'utf8'));
  doc.roles[0].description = 'quote " and \\ and ünicode';
  const yaml = envoyConfig(doc, { wasmPath: '/x/f.wasm', listenPort: 1234 });
  assert.match(yaml, /port_value: 1234/);
  assert.match(yaml, /filename: "\/x\/f.wasm"/);
  assert.match(yaml, /failure_policy: FAIL_CLOSED/);
  // A literal block a person can read: the policy as written, indented.
  const lines = yaml.split('\n');
  const at = lines.findIndex((l) => l.trim() === 'value: |');
  assert.ok(at > 0, 'the policy is a literal block');
  const block = [];
  for (const l of lines.slice(at + 1)) {
    if (l && !l.startsWith(' '.repeat(20))) break;
    block.push(l.slice(20));
  }
  assert.ok(block.length > 10, 'one member per line');
  const embedded = JSON.parse(block.join('\n'));
  assert.equal(embedded.roles[0].description, 'quote " and \\ and ünicode');
});

test('envoyConfig refuses an invalid policy and options it does not know', () => {
  const doc = JSON.parse(readFileSync(new URL('../../examples/pingaccess.json', import.meta.url), 'utf8'));
  assert.throws(() => envoyConfig({ roles: [] }), (e) => e.code === 'missing_field' && e.path === 'issuers');
  assert.throws(() => envoyConfig(doc, { wasm: '/x.wasm' }), /unknown option "wasm"; options are listenPort, wasmPath/);
  assert.throws(() => envoyConfig(doc, { listenPort: NaN }), /listenPort must be a port number/);
  assert.throws(() => envoyConfig(doc, { upstreamPort: 70000 }), /upstreamPort must be a port number/);
  assert.throws(() => envoyConfig(doc, { upstreamHost: 'admin api:80' }), /upstreamHost must be an IP address or a host name, not "admin api:80"/);
  // An IP address is a STATIC cluster; a name is resolved by Envoy.
  assert.match(envoyConfig(doc, { upstreamHost: '10.0.0.7' }), /type: STATIC\n/);
  assert.match(envoyConfig(doc, { upstreamHost: 'admin-api.internal' }), /type: STRICT_DNS\n {4}dns_lookup_family: V4_PREFERRED\n[^]*address: admin-api\.internal, port_value: 9000/);
  assert.match(envoyConfig(doc, { upstreamHost: '[::1]' }), /type: STATIC\n[^]*address: ::1, port_value/);
});

test('envoyConfig defines the clusters remote issuers call, with their TLS and rolegate\'s client certificate', () => {
  const doc = JSON.parse(readFileSync(new URL('../../examples/pingaccess.json', import.meta.url), 'utf8'));
  doc.issuers = [{ issuer: 'https://idp.example.com', audiences: ['a'], algorithms: ['RS256'],
    discovery: 'https://idp.example.com:8443/.well-known/openid-configuration',
    remote: { cluster: 'idp', tls: { ca: '/etc/envoy/idp-ca.pem', certificate: '/etc/envoy/rolegate.pem', private_key: '/etc/envoy/rolegate.key' } },
    introspection: { client_id: 'rolegate', client_auth: 'tls_client_auth' } }];
  assert.deepEqual(Policy.parse(doc).remoteClusters, [{ name: 'idp', host: 'idp.example.com', port: 8443,
    tls: { ca: '/etc/envoy/idp-ca.pem', certificate: '/etc/envoy/rolegate.pem', private_key: '/etc/envoy/rolegate.key' } }]);
  const yaml = envoyConfig(doc);
  const cluster = yaml.slice(yaml.indexOf('  - name: idp'));
  assert.match(cluster, /type: STRICT_DNS[^]*address: idp\.example\.com, port_value: 8443/);
  assert.match(cluster, /UpstreamTlsContext\n {8}sni: "idp\.example\.com"/);
  assert.match(cluster, /trusted_ca: \{filename: "\/etc\/envoy\/idp-ca\.pem"\}\n {12}match_typed_subject_alt_names:\n {12}- san_type: DNS\n {14}matcher: \{exact: "idp\.example\.com"\}/);
  assert.match(cluster, /common_tls_context:[^]*\n {10}tls_certificates:\n {10}- certificate_chain: \{filename: "\/etc\/envoy\/rolegate\.pem"\}\n {12}private_key: \{filename: "\/etc\/envoy\/rolegate\.key"\}/);
  // A cluster the caller defines keeps its address and gets the policy's TLS.
  const given = envoyConfig(doc, { clusters: [{ name: 'idp', host: '10.0.0.9', port: 9443 }] });
  assert.equal(given.match(/- name: idp\n/g).length, 1);
  assert.match(given.slice(given.indexOf('  - name: idp')), /address: 10\.0\.0\.9, port_value: 9443[^]*UpstreamTlsContext/);
});

test('createClient adds a Pexip-style OAuth2 client and hands out its private key once', () => {
  const signing = generateKey({ alg: 'ES256', kid: 'node-1' }).privateJwk;
  const doc = {
    description: 'token endpoint in front of an admin API',
    token_endpoint: { issuer: 'https://manager.test', audience: 'admin-api', signing_key: signing, active_tokens_role: 'admin' },
    roles: [
      { name: 'admin', required_attributes: [{ claim: 'role', value: 'admin' }], rules: [{ effect: 'allow', methods: ['*'], paths: ['/**'] }] },
      { name: 'reader', required_attributes: [{ claim: 'role', value: 'reader' }], rules: [{ effect: 'allow', methods: ['read'], paths: ['/**'] }] },
    ],
  };
  const created = createClient(JSON.stringify(doc), { name: 'dashboard', role: 'reader' });
  assert.equal(created.tokenUrl, 'https://manager.test/oauth/token/');
  assert.deepEqual(Object.keys(created.policy), [...Object.keys(doc), 'oauth2_clients'], 'member order is kept');
  assert.deepEqual(created.policy.oauth2_clients, [created.entry]);
  assert.deepEqual(created.entry, { client_id: created.clientId, name: 'dashboard', role: 'reader', jwk: created.entry.jwk });
  assert.equal(created.entry.jwk.d, undefined, 'the policy holds the public key only');
  assert.equal(created.privateJwk.kty, 'EC');
  assert.ok(created.privateJwk.d);
  const parsed = Policy.parse(created.policy);
  assert.deepEqual(parsed.roles.map((r) => r.name), ['admin', 'reader']);
  assert.deepEqual(parsed.tokenEndpoint, {
    issuer: 'https://manager.test', audience: 'admin-api', path: '/oauth/token/', url: 'https://manager.test/oauth/token/',
    expiration_seconds: 3600, active_tokens_path: '/oauth/tokens/', active_tokens_role: 'admin', forward_to_cluster: null,
    jwks_path: '/oauth/jwks/', metadata_paths: ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'],
    clients: [{ client_id: created.clientId, name: 'dashboard', role: 'reader', alg: 'ES256' }],
  });
  assert.equal(policyFor([generateKey({ alg: 'ES256' }).publicJwk]).tokenEndpoint, null);

  // The private key is the pair of the public one in the policy: an assertion
  // it signs verifies against the entry's key.
  const assertion = mintToken({ key: created.privateJwk, claims: { iss: created.clientId, sub: created.clientId, aud: created.tokenUrl, exp: NOW + 60, jti: 'j1' } });
  const trusting = Policy.parse({
    issuers: [{ issuer: created.clientId, audiences: [created.tokenUrl], jwks: { keys: [created.entry.jwk] }, algorithms: ['ES256'] }],
    roles: [{ name: 'any', grant: 'any_valid_token', rules: [{ effect: 'allow', methods: ['*'], paths: ['/**'] }] }],
  });
  assert.equal(trusting.decide({ path: '/x', headers: { authorization: `Bearer ${assertion}` }, now: NOW }).allowed, true);

  // Objects in, a second client appended; other algorithms.
  const second = createClient(created.policy, { name: 'deploy', role: 'admin', alg: 'RS256' });
  assert.equal(second.policy.oauth2_clients.length, 2);
  assert.equal(second.privateJwk.kty, 'RSA');
  assert.notEqual(second.clientId, created.clientId);
  assert.equal(created.policy.oauth2_clients.length, 1, 'the input is not modified');

  const fails = (policy, options, code, path) =>
    assert.throws(() => createClient(policy, options), (e) => {
      assert.equal(e.code, code, e.message);
      assert.equal(e.path, path, e.message);
      return true;
    });
  fails(doc, { name: 'x', role: 'ghost' }, 'invalid_value', 'oauth2_clients[0].role');
  fails(doc, { name: 'x', role: 'admin', alg: 'HS256' }, 'invalid_value', 'oauth2_clients[0].jwk.alg');
  fails(doc, { name: 'x', role: 'admin', colour: 'red' }, 'invalid_argument', 'options.colour');
  const { token_endpoint, ...noEndpoint } = doc;
  fails({ ...noEndpoint, issuers: [{ issuer, audiences: ['api'], jwks: { keys: [generateKey({ alg: 'ES256' }).publicJwk] }, algorithms: ['ES256'] }] },
    { name: 'x', role: 'admin' }, 'missing_field', 'token_endpoint');
  assert.ok(token_endpoint);

  // Envoy config: the token paths are held by the buffer filter and never routed upstream.
  const yaml = envoyConfig(second.policy);
  assert.match(yaml, /- match: \{path: "\/oauth\/token\/"\}\n\s+direct_response: \{status: 404\}/);
  assert.match(yaml, /- match: \{path: "\/oauth\/tokens\/"\}\n\s+direct_response: \{status: 404\}/);
  assert.match(yaml, /envoy\.filters\.http\.wasm[\s\S]*envoy\.filters\.http\.buffer[\s\S]*envoy\.filters\.http\.router/);
  assert.match(yaml, /prefix: "\/"\}\n\s+route: \{cluster: admin_api\}\n\s+typed_per_filter_config:[\s\S]*BufferPerRoute\n\s+disabled: true/);
  const external = { ...noEndpoint, issuers: [{ issuer, audiences: ['api'], jwks: { keys: [generateKey({ alg: 'ES256' }).publicJwk] }, algorithms: ['ES256'] }] };
  assert.doesNotMatch(envoyConfig(external), /buffer|direct_response/);
});

test('the token endpoint is routed as Envoy routes it: its exact path is answered, every other spelling decided', () => {
  const signing = generateKey({ alg: 'ES256', kid: 'node-1' }).privateJwk;
  const policy = Policy.parse({
    token_endpoint: { issuer: 'https://manager.test', audience: 'admin-api', signing_key: signing, active_tokens_role: 'admin' },
    roles: [{ name: 'admin', required_attributes: [{ claim: 'role', value: 'admin' }], rules: [{ effect: 'allow', methods: ['*'], paths: ['/**'] }] }],
  });
  for (const path of ['/oauth/token/', '/oauth/token/?x=1', '/oauth/tokens/']) {
    const d = policy.decide({ method: 'POST', path, headers: {}, now: NOW });
    assert.equal(d.reason, 'token_endpoint', path);
    assert.equal(d.allowed, false, path);
    assert.ok(d.trace.some((s) => s.step === 'route'), path);
  }
  for (const path of ['//oauth/token/', '/oauth/./token/', '/%6Fauth/token/', '/x/../oauth/token/']) {
    const d = policy.decide({ method: 'POST', path, headers: { 'x-rolegate-roles': 'admin' }, now: NOW });
    assert.equal(d.reason, 'missing_credentials', path);
    assert.equal(d.status, 401, path);
  }
});

test('a pasted JWKS with an encryption key loads, and the policy says what it skipped', () => {
  const signing = generateKey({ alg: 'RS256', kid: 'sig-1' }).publicJwk;
  const encryption = { ...generateKey({ alg: 'RS256', kid: 'enc-1' }).publicJwk, use: 'enc', alg: 'RSA-OAEP' };
  const p = policyFor([encryption, { ...signing, x5c: ['MIIC'], x5t: 'abc', 'x5t#S256': 'def', issuer: 'https://idp.test' }]);
  assert.deepEqual(p.notices, ['issuers[0].jwks.keys[0]: skipped: an encryption key (use: enc)']);
  assert.deepEqual(policyFor([signing]).notices, []);
});

test('a time that is no time is an error, never "the epoch"', () => {
  const p = Policy.parse(readFileSync(new URL('../../examples/pingaccess.json', import.meta.url), 'utf8'));
  const claims = { iss: 'https://idp.example.com', aud: 'pingaccess-admin-api', scope: 'admin', exp: 1_800_000_000, group: 'cn=pingaccess-auditors,o=myorg' };
  for (const now of [NaN, -1, Infinity]) {
    assert.throws(() => p.decide({ path: '/pa-admin-api/v3/users', claims, now }), (e) => e.code === 'invalid_argument' && e.path === 'now', String(now));
    assert.throws(() => p.matrix({ paths: ['/pa-admin-api/v3/users'], methods: ['GET'], now }), (e) => e.code === 'invalid_argument', String(now));
  }
  // Fractions of a second are times (Date.now() / 1000): floored (60 s leeway).
  assert.equal(p.decide({ path: '/pa-admin-api/v3/users', claims, now: 1_800_000_060.5 }).cause, 'expired');
  assert.equal(p.decide({ path: '/pa-admin-api/v3/users', claims, now: 1_800_000_059.9 }).allowed, true);
});

test('trustKey and addTokenEndpoint edit the policy in the core, keeping its member order', () => {
  const text = readFileSync(new URL('../../examples/pingaccess.json', import.meta.url), 'utf8');
  const doc = JSON.parse(text);
  const { privateJwk, publicJwk } = generateKey({ alg: 'EdDSA', kid: 'preview' });
  const trusted = trustKey(text, publicJwk, doc.issuers[0].issuer);
  assert.deepEqual(Object.keys(trusted), Object.keys(doc), 'members stay in the order written');
  assert.ok(trusted.issuers[0].jwks.keys.some((k) => k.kid === 'preview'));
  assert.ok(trusted.issuers[0].algorithms.includes('EdDSA'));
  const now = 1_800_000_000;
  const token = mintToken({ key: privateJwk, claims: { iss: doc.issuers[0].issuer, aud: doc.issuers[0].audiences[0], exp: now + 60, scope: 'admin', group: 'cn=pingaccess-auditors,o=myorg' } });
  const d = Policy.parse(trusted).decide({ path: '/pa-admin-api/v3/users', headers: { authorization: `Bearer ${token}` }, now });
  assert.equal(d.allowed, true, JSON.stringify(d.trace));
  assert.throws(() => trustKey(text, generateKey({ alg: 'HS256' }).privateJwk), (e) => e.path === 'jwk');

  const issuing = addTokenEndpoint(text);
  assert.equal(issuing.token_endpoint.issuer, doc.issuers[0].issuer);
  assert.equal(issuing.token_endpoint.active_tokens_role, 'administrator');
  assert.equal(Policy.parse(issuing).tokenEndpoint.issuer, doc.issuers[0].issuer);
  assert.throws(() => addTokenEndpoint(issuing), (e) => e.code === 'conflict' && e.path === 'token_endpoint');
});

test('arguments of the wrong shape say what was expected, where', () => {
  const p = Policy.parse(readFileSync(new URL('../../examples/pingaccess.json', import.meta.url), 'utf8'));
  for (const [request, says] of [
    [{ path: '/x', claims: 'x' }, /^request\.claims: expected an object of claims, e\.g\. \{sub: 'alice'\}, not the string "x"$/],
    [{ path: '/x', headers: 'authorization: Bearer x' }, /^request\.headers: expected an object like \{authorization: 'Bearer …'\} or a list of \[name, value\] pairs, not the string/],
    [{ path: 7 }, /^request\.path: expected a string, not the number 7$/],
    ['GET /x', /^request: expected an object with method, path, headers, claims, now, body, client_certificate, not the string "GET \/x"$/],
  ]) {
    assert.throws(() => p.decide(request), (e) => e.code === 'invalid_argument' && says.test(e.message), JSON.stringify(request));
  }
  assert.throws(() => p.matrix({ paths: '/x', methods: ['GET'] }), (e) => e.path === 'request.paths' && /expected a list of strings/.test(e.message));
  assert.throws(() => Policy.parse({ issuers: [{ issuer: 'i', audiences: 'x', algorithms: ['RS256'] }], roles: [] }),
    (e) => e.path === 'issuers[0].audiences' && /expected a list \(a JSON array/.test(e.message) && !/sequence/.test(e.message));
});

test('the page and the CLI read times and pasted tokens alike (pkg/input.js)', async () => {
  const { readTime, readToken } = await import('../../pkg/input.js');
  assert.equal(readTime('1800000000'), 1800000000);
  assert.equal(readTime('1800000000.9'), 1800000000);
  assert.equal(readTime('2027-01-15T08:00:00Z'), Date.UTC(2027, 0, 15, 8) / 1000);
  for (const bad of ['abc', '-5', '15/01/2027', '']) {
    assert.throws(() => readTime(bad, '--now'), /^Error: --now ".*": give seconds since the epoch/, bad);
  }
  assert.equal(readToken('Bearer a.b.c'), 'a.b.c');
  assert.equal(readToken('  bearer   a.b\n.c '), 'a.b.c');
  assert.equal(readToken('a.b.c'), 'a.b.c');
  const { isoTime } = await import('../../pkg/input.js');
  assert.equal(isoTime(1800000000), '2027-01-15T08:00:00Z');
});

test('a cases file that is not JSON, or a case with a misspelt member, says where and what was meant', async () => {
  const { readJson } = await import('../../pkg/input.js');
  assert.throws(() => readJson('{"cases": [\n  {"request": {"path": "/x"}},\n]}', 'cases.json'), (e) => e.line === 3 && e.column === 1 && /^cases\.json:3:1: not JSON/.test(e.message));
  assert.deepEqual(readJson('{"a": [1, {"b": null}]}', 'x'), { a: [1, { b: null }] });
  const { normaliseCases } = await import('../../pkg/cases.js');
  assert.throws(() => normaliseCases({ cases: [{ request: { path: '/x' }, expected: { status: 200 } }] }),
    (e) => e.path === 'cases[0].expected' && /did you mean "expect"\?/.test(e.message));
});
