// Mutual TLS (RFC 8705) end to end. Certificate-bound access tokens (§3): certificates
// made here with openssl, node-oidc-provider (its mTLS feature, behind an
// HTTPS server that asks for client certificates) binds the tokens it
// issues to the client's certificate, and a real Envoy, configured by
// envoyBootstrap's `tls`, asks the admin API's clients for theirs. The token
// passes on a connection with its certificate; with another certificate, or
// none, it is refused. A second Envoy takes any (self-signed) certificate,
// RFC 8705's self_signed_tls_client_auth: the token's binding decides.
// And PingAccess's third way to authenticate to the token provider (§2):
// rolegate introspects the provider's opaque tokens over a cluster whose
// TLS, from the policy's remote.tls, presents rolegate's client certificate.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, request } from 'node:https';
import { X509Certificate, createHash } from 'node:crypto';
import Provider from 'oidc-provider';
import { mintToken } from '../../pkg/node.js';
import { loadKeys, publicJwk } from '../vectors/runner.mjs';
import { startEnvoy, startUpstream, freePort, rawRequest } from '../envoy/harness.mjs';

const keys = loadKeys();
const SECRET = 'a-client-secret-of-some-length';
const dir = mkdtempSync(join(tmpdir(), 'rolegate-mtls-'));
const file = (name) => join(dir, name);
const read = (name) => readFileSync(file(name));
let providerServer;
let providerPort;
let upstream;
let envoy;
let selfSigned;
let introspecting;
let issuer;
const OPAQUE = 'urn:admin-api:opaque';

/** openssl, quietly. */
function openssl(...args) {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A P-256 key and a certificate for `cn`, signed by the test CA (or by itself). */
function certificate(name, cn, { ca = true, ip = false } = {}) {
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file(`${name}.key`));
  const ext = file(`${name}.ext`);
  writeFileSync(ext, ip ? 'subjectAltName=IP:127.0.0.1\n' : 'extendedKeyUsage=clientAuth\n');
  if (ca) {
    openssl('req', '-new', '-key', file(`${name}.key`), '-subj', `/CN=${cn}`, '-out', file(`${name}.csr`));
    openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-days', '2', '-extfile', ext, '-out', file(`${name}.pem`));
  } else {
    openssl('req', '-x509', '-new', '-key', file(`${name}.key`), '-subj', `/CN=${cn}`, '-days', '2', '-addext', 'extendedKeyUsage=clientAuth', '-out', file(`${name}.pem`));
  }
}

/** A certificate's x5t#S256: base64url of the SHA-256 of its DER. */
const thumbprint = (name) => createHash('sha256').update(new X509Certificate(read(`${name}.pem`)).raw).digest('base64url');

before(async () => {
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file('ca.key'));
  openssl('req', '-x509', '-new', '-key', file('ca.key'), '-subj', '/CN=rolegate test CA', '-days', '2', '-out', file('ca.pem'));
  certificate('server', '127.0.0.1', { ip: true });
  certificate('alice', 'alice');
  certificate('mallory', 'mallory');
  certificate('self', 'self-signed client', { ca: false });
  certificate('rolegate', 'rolegate');

  providerPort = await freePort();
  issuer = `https://127.0.0.1:${providerPort}`;
  const provider = new Provider(issuer, {
    clients: [{ client_id: 'svc', client_secret: SECRET, grant_types: ['client_credentials'], redirect_uris: [], response_types: [],
      token_endpoint_auth_method: 'client_secret_basic', tls_client_certificate_bound_access_tokens: true },
    // rolegate, introspecting with its client certificate (RFC 8705 §2.1).
    { client_id: 'rolegate', grant_types: [], redirect_uris: [], response_types: [],
      token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=rolegate' }],
    jwks: { keys: [{ ...keys['rsa-a'], use: 'sig', alg: 'RS256' }] },
    scopes: ['admin'],
    clientAuthMethods: ['client_secret_basic', 'tls_client_auth'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        tlsClientAuth: true,
        // The CA check is the TLS server's (ca below); the subject names the client.
        certificateAuthorized: (ctx) => ctx.socket.authorized === true,
        certificateSubjectMatches: (ctx, property, expected) => property === 'tls_client_auth_subject_dn'
          && `CN=${ctx.socket.getPeerCertificate().subject?.CN}` === expected,
        // The certificate the TLS socket received, as PEM.
        getCertificate: (ctx) => {
          const raw = ctx.socket.getPeerCertificate?.()?.raw;
          return raw ? new X509Certificate(raw).toString() : undefined;
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:admin-api',
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => ({ scope: 'admin', audience: 'admin-api',
          ...(resource === OPAQUE ? { accessTokenFormat: 'opaque' } : { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }) }),
      },
    },
  });
  providerServer = createServer({ key: read('server.key'), cert: read('server.pem'), ca: read('ca.pem'), requestCert: true, rejectUnauthorized: false }, provider.callback());
  providerServer.listen(providerPort, '127.0.0.1');
  await new Promise((r) => providerServer.once('listening', r));

  upstream = await startUpstream();
  const policy = (iss) => ({
    issuers: [{ issuer: iss, audiences: ['admin-api'], algorithms: ['RS256'], jwks: { keys: [publicJwk(keys['rsa-a'])] } }],
    roles: [{ name: 'service', required_attributes: [{ claim: 'client_id', value: 'svc' }], rules: [{ effect: 'allow', methods: ['*'], paths: ['/**'] }] }],
  });
  const tls = { certificate: file('server.pem'), privateKey: file('server.key') };
  // Client certificates from the CA, asked for but not required (so a
  // request without one reaches rolegate); and any certificate, required.
  envoy = await startEnvoy({ policies: [policy(issuer)], upstreamPort: upstream.port, tls: { ...tls, clientCa: file('ca.pem') } });
  selfSigned = await startEnvoy({ policies: [policy('https://idp.test')], upstreamPort: upstream.port, tls });
  // Introspection over mutual TLS: the clusters come from the policy
  // (discovery's URL and remote.tls), with rolegate's certificate, and
  // with one the provider does not take.
  const introspected = (cluster, client) => ({
    issuers: [{ issuer, audiences: ['admin-api'], algorithms: ['RS256'], discovery: `${issuer}/.well-known/openid-configuration`,
      remote: { cluster, timeout_ms: 3000, tls: { ca: file('ca.pem'), certificate: file(`${client}.pem`), private_key: file(`${client}.key`) } },
      introspection: { client_id: 'rolegate', client_auth: 'tls_client_auth', cache_seconds: 1 } }],
    roles: [{ name: 'service', required_attributes: [{ claim: 'client_id', value: 'svc' }], rules: [{ effect: 'allow', methods: ['*'], paths: ['/**'] }] }],
  });
  introspecting = await startEnvoy({ policies: [introspected('as', 'rolegate'), introspected('as-wrong', 'mallory')], upstreamPort: upstream.port });
});
after(async () => {
  await envoy?.stop();
  await selfSigned?.stop();
  await introspecting?.stop();
  await upstream?.close();
  providerServer?.closeAllConnections?.();
  providerServer?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One HTTPS request; `client` names the certificate the client presents. */
function https(port, { method = 'GET', path = '/x', headers = {}, body, client } = {}) {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, method, path, headers, ca: read('ca.pem'), agent: false,
      ...(client ? { cert: read(`${client}.pem`), key: read(`${client}.key`) } : {}),
    }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer for ${method} ${path}`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function boundToken(client, resource = 'urn:admin-api') {
  const form = new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin', resource }).toString();
  const res = await https(providerPort, {
    method: 'POST', path: '/token', body: form, client,
    headers: { authorization: `Basic ${Buffer.from(`svc:${SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body).access_token;
}

const cause = (res) => JSON.parse(res.body).cause;

test('node-oidc-provider binds a token to the client certificate; rolegate takes it only with that certificate', { timeout: 30_000 }, async () => {
  const token = await boundToken('alice');
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url'));
  assert.equal(claims.cnf?.['x5t#S256'], thumbprint('alice'), 'bound to alice\'s certificate');
  const authorization = `Bearer ${token}`;
  for (let i = 0; i < 3; i++) {
    const res = await https(envoy.ports[0], { headers: { authorization }, client: 'alice' });
    assert.equal(res.status, 200, res.body);
    const echo = JSON.parse(Buffer.from(res.headers['x-echo'], 'base64url'));
    assert.equal(echo.headers['x-rolegate-roles'], 'service');
  }
  // Another client's certificate (from the same CA), or none: refused, each time.
  for (let i = 0; i < 2; i++) {
    const other = await https(envoy.ports[0], { headers: { authorization }, client: 'mallory' });
    assert.equal(other.status, 401, other.body);
    assert.equal(cause(other), 'client_certificate_mismatch');
    const none = await https(envoy.ports[0], { headers: { authorization } });
    assert.equal(none.status, 401, none.body);
    assert.equal(cause(none), 'client_certificate_missing');
    assert.match(none.headers['www-authenticate'], /^Bearer realm="rolegate", error="invalid_token"/);
  }
  // The certificate alone is no credential.
  assert.equal((await https(envoy.ports[0], { client: 'alice' })).status, 401);
  // A token the provider bound to mallory works for mallory only.
  const mallorys = await boundToken('mallory');
  assert.equal((await https(envoy.ports[0], { headers: { authorization: `Bearer ${mallorys}` }, client: 'mallory' })).status, 200);
  assert.equal(cause(await https(envoy.ports[0], { headers: { authorization: `Bearer ${mallorys}` }, client: 'alice' })), 'client_certificate_mismatch');
});

test('with no client CA any certificate is taken, and the token\'s binding decides (self_signed_tls_client_auth)', { timeout: 30_000 }, async () => {
  const token = mintToken({
    key: keys['rsa-a'],
    claims: { iss: 'https://idp.test', aud: 'admin-api', client_id: 'svc', exp: Math.floor(Date.now() / 1000) + 600, cnf: { 'x5t#S256': thumbprint('self') } },
  });
  const authorization = `Bearer ${token}`;
  const res = await https(selfSigned.ports[0], { headers: { authorization }, client: 'self' });
  assert.equal(res.status, 200, res.body);
  assert.equal(cause(await https(selfSigned.ports[0], { headers: { authorization }, client: 'alice' })), 'client_certificate_mismatch');
  // Without a certificate the handshake itself fails: one is required.
  // Without a certificate the connection reaches rolegate, which refuses the token.
  assert.equal(cause(await https(selfSigned.ports[0], { headers: { authorization } })), 'client_certificate_missing');
});

test('the CLI writes the TLS listener and decides with a client certificate file', { timeout: 30_000 }, () => {
  const cli = new URL('../../pkg/cli.mjs', import.meta.url).pathname;
  const run = (...args) => {
    try {
      return { code: 0, out: execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
    } catch (e) {
      return { code: e.status, out: e.stdout, err: e.stderr };
    }
  };
  const policyFile = file('policy.json');
  writeFileSync(policyFile, JSON.stringify({
    issuers: [{ issuer: 'https://idp.test', audiences: ['admin-api'], algorithms: ['RS256'], jwks: { keys: [publicJwk(keys['rsa-a'])] } }],
    roles: [{ name: 'service', required_attributes: [{ claim: 'client_id', value: 'svc' }], rules: [{ effect: 'allow', methods: ['*'], paths: ['/**'] }] }],
  }));
  const yaml = run('envoy-config', policyFile, '--tls-cert', file('server.pem'), '--tls-key', file('server.key'), '--client-ca', file('ca.pem'), '--require-client-cert');
  assert.equal(yaml.code, 0, yaml.err);
  assert.match(yaml.out, /DownstreamTlsContext[\s\S]*require_client_certificate: true[\s\S]*trusted_ca: \{filename: ".*ca\.pem"\}/);
  assert.match(run('envoy-config', policyFile, '--tls-cert', file('server.pem')).err, /--tls-cert and --tls-key go together/);
  const token = mintToken({ key: keys['rsa-a'], claims: { iss: 'https://idp.test', aud: 'admin-api', client_id: 'svc', exp: Math.floor(Date.now() / 1000) + 600, cnf: { 'x5t#S256': thumbprint('alice') } } });
  const decide = (...more) => run('decide', policyFile, '--path', '/x', '--token', token, ...more);
  assert.equal(decide('--client-certificate', file('alice.pem')).code, 0);
  assert.equal(decide('--client-certificate', thumbprint('alice')).code, 0);
  const other = decide('--client-certificate', file('mallory.pem'));
  assert.equal(JSON.parse(other.out).cause, 'client_certificate_mismatch');
  assert.equal(JSON.parse(decide().out).cause, 'client_certificate_missing');
  assert.match(decide('--client-certificate', file('nothing.pem')).err, /neither a PEM file/);
});

test('rolegate introspects over mutual TLS (tls_client_auth): the provider takes its certificate, not another', { timeout: 30_000 }, async () => {
  const token = await boundToken('alice', OPAQUE);
  assert.equal(token.split('.').length, 1, 'opaque');
  // Bound to alice's certificate too: over plain HTTP no connection has one,
  // so the introspected token is refused for that, after introspection said yes.
  const res = await rawRequest(introspecting.ports[0], { path: '/x', headers: [['authorization', `Bearer ${token}`]] });
  assert.equal(res.status, 401, `${res.body}\n${introspecting.log()}`);
  assert.equal(JSON.parse(res.body).cause, 'client_certificate_missing');
  // With another certificate the provider refuses rolegate: 503, and the log says why.
  const refused = await rawRequest(introspecting.ports[1], { path: '/x', headers: [['authorization', `Bearer ${token}`]] });
  assert.equal(refused.status, 503, refused.body);
  assert.equal(JSON.parse(refused.body).cause, 'introspection_unavailable');
  await introspecting.waitForLog(/introspection[^\n]*(401|invalid_client)/);
});
