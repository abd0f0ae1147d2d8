// `rolegate` command line: exit codes and output a CI job relies on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../pkg/cli.mjs', import.meta.url));
const preset = fileURLToPath(new URL('../../examples/pingaccess.json', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rolegate-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function run(...args) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
function file(name, value) {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

const NOW = 1_800_000_000;
const auditor = { iss: 'https://idp.example.com', aud: 'pingaccess-admin-api', scope: 'admin', exp: NOW + 600, group: 'cn=pingaccess-auditors,o=myorg' };

test('check accepts the presets and names the bad field', () => {
  const ok = run('check', preset);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /ok \(3 roles: administrator, platform_administrator, auditor; mode enforce\)/);
  const bad = run('check', file('bad.json', { issuers: [], roles: [], colour: 1 }));
  assert.equal(bad.code, 2);
  assert.match(bad.err, /bad\.json:1:35: colour: unknown field `colour`.*\[unknown_field\]/);
  assert.equal(run('check', join(dir, 'missing.json')).code, 2);
  assert.equal(run('check').code, 2);
});

test('test prints a table and fails the run on a failed case', () => {
  const cases = {
    now: NOW,
    cases: [
      { name: 'auditor reads users', request: { path: '/pa-admin-api/v3/users', claims: auditor }, expect: { allowed: true, roles: ['auditor'] } },
      { name: 'auditor cannot read config', request: { path: '/pa-admin-api/v3/config', claims: auditor }, expect: { allowed: false, reason: 'denied_by_rule' } },
    ],
  };
  const pass = run('test', preset, file('pass.json', cases));
  assert.equal(pass.code, 0, pass.out + pass.err);
  assert.match(pass.out, /PASS\s+auditor reads users\s+allowed 200 allowed/);
  assert.match(pass.out, /2 passed, 0 failed/);
  cases.cases[1].expect.reason = 'not_permitted';
  const fail = run('test', preset, file('fail.json', cases));
  assert.equal(fail.code, 1);
  assert.match(fail.out, /FAIL\s+auditor cannot read config\s+reason: expected "not_permitted", got "denied_by_rule"/);
  assert.match(fail.out, /1 passed, 1 failed/);
  const malformed = run('test', preset, file('malformed.json', { cases: [{ expect: {} }] }));
  assert.equal(malformed.code, 2);
  assert.match(malformed.err, /cases\[0\]\.request\.path/);
});

test('keygen, mint, decode and decide work together', () => {
  const pair = JSON.parse(run('keygen', '--alg', 'ES256', '--kid', 'cli').out);
  assert.equal(pair.publicJwk.kid, 'cli');
  const policy = file('p.json', {
    issuers: [{ issuer: 'i', audiences: ['a'], jwks: { keys: [pair.publicJwk] }, algorithms: ['ES256'] }],
    roles: [{ name: 'r', grant: 'any_valid_token', rules: [{ effect: 'allow', methods: ['read'], paths: ['/**'] }] }],
  });
  const token = run('mint', '--key', file('k.json', pair), '--claims', file('c.json', { iss: 'i', aud: 'a', exp: NOW + 60 })).out.trim();
  assert.equal(JSON.parse(run('decode', token).out).header.kid, 'cli');
  const allowed = run('decide', policy, '--path', '/x', '--token', token, '--now', String(NOW));
  assert.equal(allowed.code, 0, allowed.err);
  assert.equal(JSON.parse(allowed.out).reason, 'allowed');
  const denied = run('decide', policy, '--method', 'DELETE', '--path', '/x', '--header', `Authorization: Bearer ${token}`, '--now', String(NOW));
  assert.equal(denied.code, 1);
  assert.equal(JSON.parse(denied.out).reason, 'not_permitted');
  // Read as the page reads them: a pasted `Bearer ` token, wrapped over
  // lines; a time in ISO 8601.
  const iso = new Date(NOW * 1000).toISOString();
  const pasted = run('decide', policy, '--path', '/x', '--token', `Bearer ${token.slice(0, 40)}\n${token.slice(40)}`, '--now', iso);
  assert.equal(pasted.code, 0, pasted.err);
  assert.equal(JSON.parse(pasted.out).reason, 'allowed');
  assert.equal(JSON.parse(run('decode', `bearer ${token}`).out).header.kid, 'cli');
  // After the token's exp, by date: expired.
  const later = run('decide', policy, '--path', '/x', '--token', token, '--now', new Date((NOW + 3600) * 1000).toISOString());
  assert.equal(JSON.parse(later.out).cause, 'expired');
});

test('add-client adds a client to the policy and writes its private key once', () => {
  const signing = JSON.parse(run('keygen', '--alg', 'ES256').out).privateJwk;
  const policy = file('te.json', {
    token_endpoint: { issuer: 'https://manager.test', audience: 'api', signing_key: signing, active_tokens_role: 'admin' },
    roles: [{ name: 'admin', required_attributes: [{ claim: 'role', value: 'admin' }], rules: [{ effect: 'allow', methods: ['*'], paths: ['/**'] }] }],
  });
  const keyOut = join(dir, 'client-key.json');
  const r = run('add-client', policy, '--name', 'automation', '--role', 'admin', '--key-out', keyOut);
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(readFileSync(policy, 'utf8'));
  const [client] = doc.oauth2_clients;
  assert.equal(client.name, 'automation');
  assert.match(r.out, new RegExp(`client ${client.client_id} \\(automation, role admin\\)`));
  assert.match(r.out, /token endpoint: https:\/\/manager.test\/oauth\/token\//);
  const key = JSON.parse(readFileSync(keyOut, 'utf8'));
  assert.equal(key.x, client.jwk.x);
  assert.ok(key.d && !client.jwk.d);
  assert.equal(statSync(keyOut).mode & 0o777, 0o600);
  assert.equal(run('check', policy).code, 0);
  // The key file is never overwritten; the policy is left as it was.
  const again = run('add-client', policy, '--name', 'other', '--role', 'admin', '--key-out', keyOut);
  assert.equal(again.code, 2);
  assert.match(again.err, /cannot write the private key/);
  assert.equal(JSON.parse(readFileSync(policy, 'utf8')).oauth2_clients.length, 1);
  const ghost = run('add-client', policy, '--name', 'x', '--role', 'ghost', '--key-out', join(dir, 'k2.json'));
  assert.equal(ghost.code, 2);
  assert.match(ghost.err, /oauth2_clients\[1\]\.role/);
  assert.equal(run('add-client', policy, '--name', 'x', '--role', 'admin').code, 2);
});

test('envoy-config prints a fail-closed filter config', () => {
  const r = run('envoy-config', preset, '--wasm', '/opt/rolegate.wasm', '--port', '9090');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /failure_policy: FAIL_CLOSED/);
  assert.match(r.out, /port_value: 9090/);
  // One JSON access-log line per request with the decision, to stdout unless told.
  assert.match(r.out, /envoy\.access_loggers\.stdout[^]*rolegate: "%FILTER_STATE\(wasm\.rolegate:PLAIN\)%"/);
  assert.match(run('envoy-config', preset, '--access-log', '/var/log/envoy/admin.log').out, /path: "\/var\/log\/envoy\/admin\.log"/);
  assert.doesNotMatch(run('envoy-config', preset, '--access-log', 'none').out, /access_log:/);
  assert.match(run('envoy-config', preset, '--upstream', 'localhost:9000').out, /type: STRICT_DNS[^]*address: localhost, port_value: 9000/);
  // For a real deployment: listen beyond loopback, with Envoy's admin (/stats) on loopback.
  const deployed = run('envoy-config', preset, '--listen', '0.0.0.0', '--admin-port', '9901');
  assert.equal(deployed.code, 0, deployed.err);
  assert.match(deployed.out, /^admin:\n  address: \{socket_address: \{address: 127\.0\.0\.1, port_value: 9901\}\}/);
  assert.match(deployed.out, /address: \{socket_address: \{address: "0\.0\.0\.0", port_value: 8080\}\}/);
  assert.match(run('envoy-config', preset, '--listen', '::').out, /address: "::", port_value/);
  assert.doesNotMatch(run('envoy-config', preset).out, /^admin:/m, 'no admin listener unless asked');
  for (const [flag, value, says] of [['--listen', 'evil}, x: {', /listenAddress must be an IP address/], ['--listen', 'example.com', /listenAddress must be an IP address/], ['--admin-port', 'abc', /--admin-port "abc": a port is a number/]]) {
    const bad = run('envoy-config', preset, flag, value);
    assert.equal(bad.code, 2, `${flag} ${value}`);
    assert.match(bad.err, says);
  }
});

test('envoy-config --token-instance routes a fleet proxy\'s token requests to the token instance', () => {
  const keys = JSON.parse(readFileSync(new URL('../vectors/keys.json', import.meta.url), 'utf8')).keys;
  const pexip = JSON.parse(readFileSync(new URL('../../examples/pexip.json', import.meta.url), 'utf8'));
  const endpoint = { issuer: 'https://pexip.test', audience: 'pexip-management-api', signing_key: keys['pexip-node'], active_tokens_role: 'administrator' };
  const proxy = file('fleet-proxy.json', { ...pexip, issuers: [], token_endpoint: { ...endpoint, forward_to_cluster: 'token_instance' } });
  const r = run('envoy-config', proxy, '--token-instance', '10.0.0.5:8080');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /match: \{path: "\/oauth\/token\/"\}\n\s+route: \{cluster: token_instance\}/);
  assert.match(r.out, /- name: token_instance[^]*address: 10\.0\.0\.5, port_value: 8080/);
  // The policy names the cluster; without the instance's address the config would route nowhere.
  assert.match(run('envoy-config', proxy).err, /forward_to_cluster is "token_instance": add/);
  const instance = file('fleet-instance.json', { ...pexip, issuers: [], token_endpoint: endpoint });
  assert.match(run('envoy-config', instance, '--token-instance', '10.0.0.5:8080').err, /--token-instance needs token_endpoint\.forward_to_cluster/);
});

test('unknown commands and --help', () => {
  assert.equal(run('frobnicate').code, 2);
  const help = run('--help');
  assert.equal(help.code, 0);
  assert.match(help.out, /rolegate test <policy.json> <cases.json>/);
});

test('mistakes on the command line are errors, never ignored', () => {
  const expired = { ...auditor, exp: NOW - 600 };
  const claims = file('expired-claims.json', expired);
  for (const [args, says] of [
    [['decide', preset, '--path', '/pa-admin-api/v3/users', '--tokn', 'x'], /unknown flag --tokn \(did you mean --token\?\)/],
    [['decide', preset, '--path', '/pa-admin-api/v3/users', '--claims', claims, '--now', 'abc'], /--now "abc": give seconds since the epoch/],
    [['decide', preset, '--path', '/pa-admin-api/v3/users', '--now', '-5'], /--now "-5"/],
    [['decide', preset, 'extra', '--path', '/x'], /unexpected argument "extra"/],
    [['envoy-config', preset, '--wsam', 'x'], /unknown flag --wsam \(did you mean --wasm\?\)/],
    [['envoy-config', preset, '--port', 'abc'], /--port "abc": a port is a number from 1 to 65535/],
    [['envoy-config', preset, '--upstream', 'localhost'], /--upstream "localhost": write HOST:PORT/],
    [['test', preset, preset, '--format', 'xml'], /--format "xml": one of text, json, junit, tap/],
    [['keygen', '--alg'], /--alg needs a value/],
  ]) {
    const r = run(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}`);
    assert.match(r.err, says, args.join(' '));
    assert.equal(r.out, '', `${args.join(' ')} printed a result`);
  }
});

test('every command has --help, and the CLI has --version', () => {
  for (const command of ['check', 'test', 'decide', 'envoy-config', 'add-client', 'keygen', 'mint', 'decode']) {
    const r = run(command, '--help');
    assert.equal(r.code, 0, `${command} --help: ${r.err}`);
    assert.match(r.out, new RegExp(`^usage: rolegate ${command}`), command);
  }
  const version = JSON.parse(readFileSync(new URL('../../pkg/package.json', import.meta.url), 'utf8')).version;
  assert.equal(run('--version').out.trim(), `rolegate ${version}`);
});

test('check takes several files and directories and reports each', () => {
  const sub = join(dir, 'policies');
  rmSync(sub, { recursive: true, force: true });
  writeFileSync(join(dir, 'bad-policy.json'), '{"roles": 1}');
  const good = run('check', preset, join(dir, '..', dir.split('/').at(-1), 'bad-policy.json'));
  assert.equal(good.code, 2);
  assert.match(good.out, /pingaccess\.json: ok/);
  assert.match(good.err, /bad-policy\.json:1:11: roles/);
  const presets = fileURLToPath(new URL('../../examples/', import.meta.url));
  const all = run('check', presets);
  assert.equal(all.code, 0, all.err);
  assert.match(all.out, /pexip\.json: ok/);
  assert.match(all.out, /pingaccess\.json: ok/);
});

test('a decision at an explicit time uses that time', () => {
  const claims = file('late-claims.json', { ...auditor, exp: NOW - 600 });
  const r = run('decide', preset, '--path', '/pa-admin-api/v3/users', '--claims', claims, '--now', String(NOW));
  assert.equal(r.code, 1);
  assert.equal(JSON.parse(r.out).cause, 'expired');
});

test('keygen --alg HS256 gives a secret, not a "public" key', () => {
  const pair = JSON.parse(run('keygen', '--alg', 'HS256').out);
  assert.equal(pair.privateJwk.kty, 'oct');
  assert.equal(pair.publicJwk, null);
});

test('check notes a method that differs from a keyword only by case; --strict fails on it', () => {
  const doc = JSON.parse(readFileSync(preset, 'utf8'));
  doc.roles[2].rules[0].methods = ['READ'];
  const typo = file('read-typo.json', doc);
  const lenient = run('check', typo);
  assert.equal(lenient.code, 0, lenient.err);
  assert.match(lenient.out, /roles\[2\]\.rules\[0\]\.methods\[0\]: "READ" is the method named READ, not the keyword "read"/);
  const strict = run('check', typo, '--strict');
  assert.equal(strict.code, 2);
  assert.equal(run('check', preset, '--strict').code, 0);
});

test('rolegate test: CI formats, coverage, --run, and cases that prove nothing are errors', () => {
  const cases = file('ci-cases.json', { now: NOW, cases: [
    { name: 'auditors read users', request: { path: '/pa-admin-api/v3/users', claims: auditor }, expect: { allowed: true } },
    { name: 'auditors write config', request: { method: 'PUT', path: '/pa-admin-api/v3/config', claims: auditor }, expect: { allowed: true } },
  ] });
  const text = run('test', preset, cases);
  assert.equal(text.code, 1);
  assert.match(text.out, /FAIL\s+auditors write config\s+allowed: expected true, got false/);
  assert.match(text.out, /decided: denied 403 \S+/);
  assert.match(text.out, /trace: /);
  const junit = run('test', preset, cases, '--format', 'junit');
  assert.equal(junit.code, 1);
  assert.match(junit.out, /<testsuite name="[^"]+" tests="2" failures="1">/);
  assert.match(junit.out, /<testcase classname="[^"]+" name="auditors write config"><failure message="allowed differ">/);
  const tap = run('test', preset, cases, '--format', 'tap');
  assert.match(tap.out, /^TAP version 13\n1\.\.2\nok 1 - auditors read users\nnot ok 2 - auditors write config/);
  const json = JSON.parse(run('test', preset, cases, '--format', 'json', '--coverage').out);
  assert.deepEqual([json.passed, json.failed], [1, 1]);
  assert.ok(json.coverage.rules.total > json.coverage.rules.covered);
  assert.ok(json.coverage.roles.missed.includes('administrator'));
  const covered = run('test', preset, cases, '--run', 'read', '--coverage');
  assert.equal(covered.code, 0, covered.out);
  assert.match(covered.out, /1 passed, 0 failed/);
  assert.match(covered.out, /coverage: \d+ of \d+ rules \(\d+%\), 1 of 3 roles\n  rules no case was decided by: administrator#0/);
  assert.equal(run('test', preset, cases, '--run', 'read', '--fail-under', '100').code, 1);
  assert.equal(run('test', preset, cases, '--run', 'read', '--fail-under', '0').code, 0);
  for (const [doc, says] of [
    [{ cases: [] }, /there are no cases/],
    [{ cases: [{ request: { path: '/x' }, expect: {} }] }, /cases\[0\]\.expect: say what to expect/],
    [{ cases: [{ request: { path: '/x' }, expect: { alowed: true } }] }, /cases\[0\]\.expect\.alowed: a decision has no field "alowed" \(did you mean "allowed"\?\)/],
  ]) {
    const r = run('test', preset, file('bad-cases.json', doc));
    assert.equal(r.code, 2, JSON.stringify(doc));
    assert.match(r.err, says);
  }
  const syntax = run('test', preset, file('syntax.json', '{"cases": [\n  {"name": "x",}\n]}'));
  assert.equal(syntax.code, 2);
  assert.match(syntax.err, /syntax\.json:2:\d+: not JSON/);
  assert.match(run('test', preset, cases, '--run', 'nothing-like-this').err, /matches no case's name/);
});

test('rolegate diff lists the cells that change and exits 1 when access grows', () => {
  const doc = JSON.parse(readFileSync(preset, 'utf8'));
  doc.roles[2].rules[0].methods = ['*'];
  const grown = file('grown.json', doc);
  const more = run('diff', preset, grown);
  assert.equal(more.code, 1, more.err);
  assert.match(more.out, /^\+ auditor PUT \/pa-admin-api\/v3\/users {2}\(now allowed\)$/m);
  assert.doesNotMatch(more.out, /^- /m);
  const less = run('diff', grown, preset);
  assert.equal(less.code, 0, less.err);
  assert.match(less.out, /^- auditor PUT \/pa-admin-api\/v3\/users {2}\(now denied\)$/m);
  const same = run('diff', preset, preset);
  assert.equal(same.code, 0);
  assert.match(same.out, /^no change;/);
  const paths = file('diff-paths.txt', '/pa-admin-api/v3/users\n');
  const narrow = run('diff', preset, grown, '--paths', paths, '--methods', 'GET,DELETE');
  assert.match(narrow.out, /1 paths x 2 methods/);
  assert.equal(narrow.code, 1);
  // A settings change shows no cell but still needs review.
  const unscoped = JSON.parse(readFileSync(preset, 'utf8'));
  unscoped.required_scopes = [];
  const settings = run('diff', preset, file('unscoped.json', unscoped));
  assert.equal(settings.code, 1);
  assert.match(settings.out, /settings changed: required_scopes/);
  // A role only one policy has: its cells grow or shrink, and it is named.
  const renamed = JSON.parse(readFileSync(preset, 'utf8'));
  renamed.roles[2].name = 'reader';
  const roles = run('diff', preset, file('renamed.json', renamed));
  assert.match(roles.out, /^ {2}role auditor removed$/m);
  assert.match(roles.out, /^ {2}role reader added$/m);
  assert.match(roles.out, /^\+ reader GET /m);
});

test('client-assertion makes what a client script sends: a fresh single-use assertion for the URL it posts to', () => {
  const keys = JSON.parse(readFileSync(new URL('../vectors/keys.json', import.meta.url), 'utf8')).keys;
  const key = file('client-key.json', keys['ec-a']);
  const url = 'https://pexmgr.example.com/oauth/token/';
  const one = run('client-assertion', '--key', key, '--client-id', 'c-1', '--token-url', url);
  assert.equal(one.code, 0, one.err);
  const { header, payload } = JSON.parse(run('decode', one.out.trim()).out);
  assert.equal(header.alg, 'ES256');
  assert.deepEqual([payload.iss, payload.sub, payload.aud], ['c-1', 'c-1', url]);
  assert.equal(payload.exp - payload.iat, 60);
  const two = run('client-assertion', '--key', key, '--client-id', 'c-1', '--token-url', url);
  assert.notEqual(JSON.parse(run('decode', two.out.trim()).out).payload.jti, payload.jti, 'each run a new jti');
  const form = run('client-assertion', '--key', key, '--client-id', 'c-1', '--token-url', url, '--form').out.trim();
  assert.match(form, /^grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=[\w-]+\.[\w-]+\.[\w-]+$/);
  for (const [args, says] of [
    [['--key', key, '--client-id', 'c-1'], /--key, --client-id and --token-url are required/],
    [['--key', key, '--client-id', 'c-1', '--token-url', 'pexmgr'], /--token-url "pexmgr": the URL the client posts to/],
    [['--key', key, '--client-id', 'c-1', '--token-url', url, '--lifetime', '99999'], /--lifetime "99999": seconds from 1 to 3600/],
  ]) {
    const r = run('client-assertion', ...args);
    assert.equal(r.code, 2);
    assert.match(r.err, says);
  }
});
