#!/usr/bin/env node
// rolegate command line: check a policy, run decision cases in CI, decide one
// request, print the Envoy config, make keys and test tokens.
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { X509Certificate, createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Policy, createClient, decodeToken, envoyConfig, generateKey, istioWasmPlugin, mintToken, runCases } from './node.js';
import { caseFailure as failure, decisionSummary as summary, nearest, normaliseCases } from './cases.js';
import { changedSettings } from './diff.js';
import { splitHostPort } from './envoy-config.js';
import { readJson as readJsonText, readTime, readToken } from './input.js';

const USAGE = `usage:
  rolegate check <policy.json | dir>... [--strict]
                  validate policies (each .json of a directory); --strict
                  makes notes of likely mistakes errors
  rolegate test <policy.json> <cases.json>     run decision cases; exit 1 on a failure
                  [--format text|json|junit|tap] [--coverage] [--fail-under PERCENT]
                  [--run PATTERN]
  rolegate diff <old.json> <new.json>          which role x method x path cells change;
                  exit 1 when access grows [--paths paths.txt] [--methods M,...]
  rolegate decide <policy.json> --path P [--method M] [--token T | --claims claims.json]
                  [--header 'Name: value']... [--now SECONDS|2026-12-04T09:30:00Z]
                  [--client-certificate client.pem | X5T#S256]  (certificate-bound tokens;
                  a DPoP token: --header 'Authorization: DPoP …' --header 'DPoP: <proof>')
  rolegate envoy-config <policy.json> [--wasm PATH] [--port N] [--upstream HOST:PORT] [--access-log stdout|PATH|none]
                  [--listen ADDRESS (default 127.0.0.1)] [--admin-port N (Envoy's /stats, on 127.0.0.1)]
                  [--underscore-headers reject|drop|allow]
                  [--token-instance HOST:PORT]  (a proxy of a fleet: see docs/envoy.md)
                  [--tls-cert server.pem --tls-key server.key [--client-ca ca.pem [--require-client-cert]]]
                  HTTPS that asks clients for certificates (certificate-bound tokens, RFC 8705)
                  (default --wasm: the filter this package ships)
  rolegate istio-config <policy.json> --image oci://REGISTRY/rolegate/filter:TAG
                  [--name N] [--namespace NS] [--selector label=value]...
                  an Istio WasmPlugin (phase AUTHN, failStrategy FAIL_CLOSE);
                  scripts/build-oci.sh builds the image
  rolegate add-client <policy.json> --name N --role R --key-out client-key.json [--alg ES256]
                  add an OAuth2 client to the policy's token endpoint; its
                  private key is written once, to --key-out (mode 600)
  rolegate keygen --alg ES256 [--kid K]        print a new key pair (JWKs)
  rolegate mint --key private.json --claims claims.json [--alg A]
  rolegate client-assertion --key client-key.json --client-id ID --token-url URL [--form]
                  a fresh single-use client assertion (RFC 7523, 60 s) for a
                  token request; --form: the whole request body
  rolegate decode <token>
  rolegate <command> --help                    one command's usage
  rolegate --version`;

class UsageError extends Error {}

/**
 * Reads `argv` as `spec` declares it: `spec.flags` maps each flag to
 * 'value' (last one wins), 'list' (repeatable) or 'switch' (no value);
 * `spec.args` is [min, max] positional arguments. Anything else is an error.
 */
function parseArgs(argv, spec) {
  const positional = [];
  const flags = {};
  const known = Object.keys(spec.flags);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--') || a === '--') {
      positional.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2);
    const kind = spec.flags[name];
    if (!kind) {
      const near = nearest(name, known);
      const hint = near ? ` (did you mean --${near}?)` : '';
      throw new UsageError(`unknown flag --${name}${hint}; ${known.length ? `flags: ${known.map((k) => `--${k}`).join(', ')}` : 'this command takes no flags'}`);
    }
    if (kind === 'switch') {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      flags[name] = [true];
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    (flags[name] ??= []).push(value);
  }
  const [min, max] = spec.args;
  if (positional.length < min) throw new UsageError(`expected ${spec.argNames}`);
  if (positional.length > max) throw new UsageError(`unexpected argument ${JSON.stringify(positional[max])}; expected ${spec.argNames}`);
  return { positional, flag: (n) => flags[n]?.at(-1), flags: (n) => flags[n] ?? [] };
}

/** Seconds since the epoch from `--now`, read as the page reads its Time field. */
function seconds(text) {
  try {
    return readTime(text, '--now');
  } catch (e) {
    throw new UsageError(e.message);
  }
}

/** A TCP port from `--port` or a HOST:PORT. */
function port(text, what) {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw new UsageError(`${what} ${JSON.stringify(text)}: a port is a number from 1 to 65535`);
  return Number(text);
}

/** The policy files `check` is given: files, and the .json files of directories. */
function policyFiles(names) {
  return names.flatMap((name) => {
    let stat;
    try {
      stat = statSync(name);
    } catch (e) {
      throw new UsageError(`cannot read ${name}: ${e.message}`);
    }
    if (!stat.isDirectory()) return [name];
    const found = readdirSync(name).filter((f) => f.endsWith('.json')).sort().map((f) => join(name, f));
    if (!found.length) throw new UsageError(`${name}: no .json files in this directory`);
    return found;
  });
}

function readJson(file, what) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${file}: ${e.message}`);
  }
  try {
    // Read as the page reads an imported file: an error says line:column.
    return readJsonText(text, file);
  } catch (e) {
    throw new UsageError(e.message);
  }
}

const xml = (text) => String(text).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' }[c]));


/**
 * Which rules and roles the cases exercised: a rule when it decided some
 * case, a role when some case was granted it. `doc` is the policy document.
 */
function coverage(doc, results) {
  // Each rule by its one label: its name, or role#index.
  const rules = (doc.roles ?? []).flatMap((role) => (role.rules ?? []).map((rule, i) => rule.name ?? `${role.name}#${i}`));
  const roles = (doc.roles ?? []).map((role) => role.name);
  const decided = new Set(results.filter((r) => r.decision.rule).map((r) => r.decision.rule.label));
  const granted = new Set(results.flatMap((r) => r.decision.roles));
  const percent = rules.length ? Math.floor((100 * rules.filter((k) => decided.has(k)).length) / rules.length) : 100;
  return {
    rules: { total: rules.length, covered: rules.filter((k) => decided.has(k)).length, percent, missed: rules.filter((k) => !decided.has(k)) },
    roles: { total: roles.length, covered: roles.filter((k) => granted.has(k)).length, missed: roles.filter((k) => !granted.has(k)) },
  };
}

/** A policy file's text, read once; the document and the loaded Policy from it. */
function readPolicy(file) {
  if (!file) throw new UsageError('name the policy file');
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read policy ${file}: ${e.message}`);
  }
  const policy = Policy.parse(text);
  return { text, policy, doc: JSON.parse(text) };
}

function loadPolicy(file) {
  return readPolicy(file).policy;
}

function pad(s, n) {
  s = String(s);
  return s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n);
}


const commands = {
  check(args) {
    let failed = 0;
    for (const file of policyFiles(args.positional)) {
      let policy;
      try {
        policy = loadPolicy(file);
      } catch (e) {
        if (!(e && typeof e.code === 'string')) throw e;
        // file:line:column, as compilers print it, so an editor can jump there.
        console.error(`${file}${e.line ? `:${e.line}:${e.column}` : ''}: ${e.message} [${e.code}]`);
        failed++;
        continue;
      }
      const roles = policy.roles;
      console.log(`${file}: ok (${roles.length} roles: ${roles.map((r) => (r.enabled ? r.name : `${r.name} [disabled]`)).join(', ')}; mode ${policy.mode})`);
      for (const notice of policy.notices) console.log(`${file}: note: ${notice}`);
      // --strict: a likely mistake fails the check as an error does.
      if (args.flag('strict') && policy.notices.length) failed++;
    }
    return failed ? 2 : 0;
  },

  test(args) {
    const [policyFile, casesFile] = args.positional;
    const { policy, doc: policyDoc } = readPolicy(policyFile);
    const doc = readJson(casesFile, 'cases');
    const format = args.flag('format') ?? 'text';
    if (!['text', 'json', 'junit', 'tap'].includes(format)) throw new UsageError(`--format ${JSON.stringify(format)}: one of text, json, junit, tap`);
    const failUnder = args.flag('fail-under');
    if (failUnder !== undefined && !/^\d+$/.test(failUnder)) throw new UsageError(`--fail-under ${JSON.stringify(failUnder)}: a percentage of rules, 0 to 100`);
    let cases = normaliseCases(doc);
    const pattern = args.flag('run');
    if (pattern !== undefined) {
      let match;
      try {
        match = new RegExp(pattern);
      } catch (e) {
        throw new UsageError(`--run ${JSON.stringify(pattern)}: ${e.message}`);
      }
      cases = cases.filter((c) => match.test(c.name));
      if (!cases.length) throw new UsageError(`--run ${JSON.stringify(pattern)} matches no case's name`);
    }
    const now = !Array.isArray(doc) && typeof doc.now === 'number' ? doc.now : undefined;
    const results = runCases(policy, { now, cases });
    const failed = results.filter((r) => !r.pass).length;
    const covered = args.flag('coverage') || failUnder !== undefined ? coverage(policyDoc, results) : null;
    const short = (r) => ({ name: r.name, pass: r.pass, mismatches: r.mismatches,
      decision: (({ allowed, status, reason, cause, rule, roles }) => ({ allowed, status, reason, cause, rule, roles }))(r.decision) });
    if (format === 'json') {
      console.log(JSON.stringify({ passed: results.length - failed, failed, cases: results.map(short), coverage: covered ?? undefined }, null, 2));
    } else if (format === 'junit') {
      console.log('<?xml version="1.0" encoding="UTF-8"?>');
      console.log(`<testsuites><testsuite name="${xml(policyFile)}" tests="${results.length}" failures="${failed}">`);
      for (const r of results) {
        const body = r.pass ? '' : `<failure message="${xml(r.mismatches.map((m) => m.field).join(', '))} differ">${xml(failure(r).join('\n'))}</failure>`;
        console.log(`  <testcase classname="${xml(casesFile)}" name="${xml(r.name)}">${body}</testcase>`);
      }
      console.log('</testsuite></testsuites>');
    } else if (format === 'tap') {
      console.log(`TAP version 13\n1..${results.length}`);
      results.forEach((r, i) => {
        console.log(`${r.pass ? 'ok' : 'not ok'} ${i + 1} - ${r.name}`);
        if (!r.pass) console.log(['  ---', ...failure(r).map((l) => `  # ${l}`), '  ...'].join('\n'));
      });
    } else {
      const width = Math.min(48, Math.max(4, ...results.map((r) => r.name.length)));
      console.log(` ${pad('#', 4)} ${pad('result', 6)} ${pad('case', width)} detail`);
      results.forEach((r, i) => {
        const [first, ...more] = r.pass ? [summary(r.decision)] : failure(r);
        console.log(` ${pad(i + 1, 4)} ${pad(r.pass ? 'PASS' : 'FAIL', 6)} ${pad(r.name, width)} ${first}`);
        for (const line of more) console.log(` ${' '.repeat(4 + 6 + width + 2)} ${line}`);
      });
      console.log(`\n${results.length - failed} passed, ${failed} failed`);
    }
    let low = false;
    if (covered) {
      const { rules, roles } = covered;
      const lines = [`coverage: ${rules.covered} of ${rules.total} rules (${rules.percent}%), ${roles.covered} of ${roles.total} roles`];
      if (rules.missed.length) lines.push(`  rules no case was decided by: ${rules.missed.join(', ')}`);
      if (roles.missed.length) lines.push(`  roles no case was granted: ${roles.missed.join(', ')}`);
      low = failUnder !== undefined && rules.percent < Number(failUnder);
      if (low) lines.push(`  below --fail-under ${failUnder}%`);
      // Machine formats keep stdout to themselves.
      (format === 'text' ? console.log : console.error)(lines.join('\n'));
    }
    return failed === 0 && !low ? 0 : 1;
  },

  diff(args) {
    const [old, next] = args.positional.map((file) => readPolicy(file));
    const [before, after] = [old.policy, next.policy];
    const request = {};
    if (args.flag('methods')) request.methods = args.flag('methods').split(',').map((m) => m.trim()).filter(Boolean);
    if (args.flag('paths')) request.paths = readFileSync(args.flag('paths'), 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
    const diff = before.diff(after, request);
    const changes = diff.rows.flatMap((row) => diff.paths.flatMap((path, p) => diff.methods.map((method, m) => ({ role: row.name, method, path, change: row.cells[p][m].change }))))
      .filter((c) => c.change !== 'same')
      .sort((x, y) => `${x.role}\t${x.method}\t${x.path}`.localeCompare(`${y.role}\t${y.method}\t${y.path}`));
    for (const { role, method, path, change } of changes) {
      console.log(`${change === 'grows' ? '+' : '-'} ${role} ${method} ${path}${change === 'grows' ? '  (now allowed)' : '  (now denied)'}`);
    }
    for (const row of diff.rows.filter((r) => r.presence !== 'both')) console.log(`  role ${row.name} ${row.presence}`);
    const settings = changedSettings(old.doc, next.doc);
    // Settings change access in ways no cell shows (who may call at all).
    if (settings.length) console.log(`  settings changed: ${settings.join(', ')} (review them: the cells assume a token that passes authentication)`);
    console.log(`${changes.length ? '' : 'no change; '}${diff.grown} cell(s) allowed that were denied, ${diff.shrunk} denied that were allowed (${diff.paths.length} paths x ${diff.methods.length} methods)`);
    // Review gate: access that grows, or may grow, needs a person's yes.
    return diff.grown || settings.length ? 1 : 0;
  },

  decide(args) {
    const policy = loadPolicy(args.positional[0]);
    const path = args.flag('path');
    if (!path) throw new UsageError('--path is required');
    const headers = args.flags('header').map((h) => {
      const i = h.indexOf(':');
      if (i < 1) throw new UsageError(`--header ${JSON.stringify(h)}: write 'Name: value'`);
      return [h.slice(0, i).trim(), h.slice(i + 1).trim()];
    });
    // Read as the page reads a pasted token: `Bearer ` and wrapping go.
    if (args.flag('token')) headers.push(['authorization', `Bearer ${readToken(args.flag('token'))}`]);
    const request = { method: args.flag('method') ?? 'GET', path, headers };
    if (args.flag('claims')) request.claims = readJson(args.flag('claims'), 'claims');
    if (args.flag('now') !== undefined) request.now = seconds(args.flag('now'));
    const certificate = args.flag('client-certificate');
    if (certificate !== undefined) request.client_certificate = certificateThumbprint(certificate);
    const decision = policy.decide(request);
    console.log(JSON.stringify(decision, null, 2));
    return decision.allowed ? 0 : 1;
  },

  'envoy-config'(args) {
    // HTTPS asking for client certificates: both files, or neither.
    function tls(a) {
      const [certificate, privateKey, clientCa] = [a.flag('tls-cert'), a.flag('tls-key'), a.flag('client-ca')];
      if (certificate === undefined && privateKey === undefined) {
        if (clientCa !== undefined || a.flag('require-client-cert')) throw new UsageError('--client-ca and --require-client-cert need --tls-cert and --tls-key');
        return {};
      }
      if (certificate === undefined || privateKey === undefined) throw new UsageError('--tls-cert and --tls-key go together: the listener\'s certificate and its private key');
      return { tls: { certificate, privateKey, ...(clientCa === undefined ? {} : { clientCa }), ...(a.flag('require-client-cert') ? { requireClientCertificate: true } : {}) } };
    }
    // A proxy of a fleet: the token instance's cluster, named by the policy.
    function tokenInstance(policy, where) {
      if (where === undefined) return {};
      const at = splitHostPort(where);
      if (!at) throw new UsageError(`--token-instance ${JSON.stringify(where)}: write HOST:PORT of the Envoy that answers the token endpoint`);
      const name = policy.tokenEndpoint?.forward_to_cluster;
      if (!name) throw new UsageError('--token-instance needs token_endpoint.forward_to_cluster in the policy (the cluster name to route token requests to)');
      return { clusters: [{ name, host: at.host, port: port(at.port, '--token-instance port') }] };
    }
    const file = args.positional[0];
    const { text, policy } = readPolicy(file); // refuse to print a config Envoy would reject
    const upstream = args.flag('upstream') ?? '127.0.0.1:9000';
    const at = splitHostPort(upstream);
    if (!at) throw new UsageError(`--upstream ${JSON.stringify(upstream)}: write HOST:PORT, e.g. 127.0.0.1:9000`);
    let yaml;
    try {
      yaml = envoyConfig(text, {
        wasmPath: args.flag('wasm'),
        listenPort: args.flag('port') === undefined ? undefined : port(args.flag('port'), '--port'),
        ...(args.flag('listen') === undefined ? {} : { listenAddress: args.flag('listen') }),
        ...(args.flag('admin-port') === undefined ? {} : { adminPort: port(args.flag('admin-port'), '--admin-port') }),
        upstreamHost: at.host,
        upstreamPort: port(at.port, '--upstream port'),
        underscoreHeaders: args.flag('underscore-headers'),
        ...tokenInstance(policy, args.flag('token-instance')),
        ...tls(args),
        ...(args.flag('access-log') === undefined ? {} : { accessLog: args.flag('access-log') === 'none' ? null : args.flag('access-log') }),
      });
    } catch (e) {
      // The options' own checks (an address to listen on, ...) are usage errors here.
      if (e instanceof TypeError) throw new UsageError(e.message);
      throw e;
    }
    process.stdout.write(yaml);
    return 0;
  },

  'istio-config'(args) {
    const { text } = readPolicy(args.positional[0]);
    const selector = {};
    for (const pair of args.flags('selector')) {
      const at = pair.match(/^([^=]+)=(.*)$/);
      if (!at) throw new UsageError(`--selector ${JSON.stringify(pair)}: write label=value, e.g. app=admin-api`);
      selector[at[1]] = at[2];
    }
    if (!args.flag('image')) throw new UsageError('--image is required: where Istio pulls the filter, e.g. oci://registry.example.com/rolegate/filter:0.1.0 (scripts/build-oci.sh builds it)');
    try {
      process.stdout.write(istioWasmPlugin(text, {
        image: args.flag('image'),
        name: args.flag('name'),
        namespace: args.flag('namespace'),
        ...(Object.keys(selector).length ? { selector } : {}),
      }));
    } catch (e) {
      if (e instanceof TypeError) throw new UsageError(e.message.replace(/^istioWasmPlugin: /, '--'));
      throw e;
    }
    return 0;
  },

  'add-client'(args) {
    const file = args.positional[0];
    if (!file) throw new UsageError('name the policy file');
    const name = args.flag('name');
    const role = args.flag('role');
    const keyOut = args.flag('key-out');
    if (!name || !role) throw new UsageError('--name and --role are required');
    if (!keyOut) throw new UsageError('--key-out is required: the private key is shown only once');
    const text = readFileSync(file, 'utf8');
    const created = createClient(text, { name, role, alg: args.flag('alg') });
    try {
      // 'wx': never overwrite another client's key.
      writeFileSync(keyOut, `${JSON.stringify(created.privateJwk, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      throw new UsageError(`cannot write the private key to ${keyOut}: ${e.message}`);
    }
    writeFileSync(file, `${JSON.stringify(created.policy, null, 2)}\n`);
    console.log(`client ${created.clientId} (${name}, role ${role}) added to ${file}
private key: ${keyOut} (not kept anywhere else)
token endpoint: ${created.tokenUrl}
get a token (a new single-use assertion each time):
  curl -d "$(rolegate client-assertion --key ${keyOut} --client-id ${created.clientId} --token-url ${created.tokenUrl} --form)" ${created.tokenUrl}`);
    return 0;
  },

  keygen(args) {
    const alg = args.flag('alg');
    if (!alg) throw new UsageError('--alg is required (e.g. ES256)');
    console.log(JSON.stringify(generateKey({ alg, kid: args.flag('kid') }), null, 2));
    return 0;
  },

  mint(args) {
    const keyFile = args.flag('key');
    if (!keyFile) throw new UsageError('--key is required (a private JWK file)');
    let key = readJson(keyFile, 'key');
    if (key.privateJwk) key = key.privateJwk; // accept keygen's output as is
    const claims = args.flag('claims') ? readJson(args.flag('claims'), 'claims') : {};
    console.log(mintToken({ key, claims, alg: args.flag('alg') }));
    return 0;
  },

  'client-assertion'(args) {
    // What a client script does before each token request (RFC 7523): a
    // fresh, single-use assertion for the URL it posts to.
    const keyFile = args.flag('key');
    const clientId = args.flag('client-id');
    const tokenUrl = args.flag('token-url');
    if (!keyFile || !clientId || !tokenUrl) throw new UsageError('--key, --client-id and --token-url are required');
    if (!/^https?:\/\/[^/\s]+\/\S*$/.test(tokenUrl)) throw new UsageError(`--token-url ${JSON.stringify(tokenUrl)}: the URL the client posts to, e.g. https://pexmgr.example.com/oauth/token/`);
    const lifetime = args.flag('lifetime') === undefined ? 60 : Number(args.flag('lifetime'));
    if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 3600) throw new UsageError(`--lifetime ${JSON.stringify(args.flag('lifetime'))}: seconds from 1 to 3600`);
    let key = readJson(keyFile, 'key');
    if (key.privateJwk) key = key.privateJwk;
    const now = Math.floor(Date.now() / 1000);
    const assertion = mintToken({ key, claims: { iss: clientId, sub: clientId, aud: tokenUrl, iat: now, exp: now + lifetime, jti: randomUUID() } });
    if (args.flag('form')) {
      console.log(`grant_type=client_credentials&client_assertion_type=${encodeURIComponent('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')}&client_assertion=${assertion}`);
    } else {
      console.log(assertion);
    }
    return 0;
  },

  decode(args) {
    if (!args.positional[0]) throw new UsageError('give the token');
    console.log(JSON.stringify(decodeToken(readToken(args.positional[0])), null, 2));
    return 0;
  },
};


/** What each command takes: its usage line, positional arguments and flags. */
const SPECS = {
  check: { usage: 'rolegate check <policy.json | directory>... [--strict]', argNames: 'one or more policy files or directories', args: [1, Infinity], flags: { strict: 'switch' } },
  test: { usage: 'rolegate test <policy.json> <cases.json> [--format text|json|junit|tap] [--coverage] [--fail-under PERCENT] [--run PATTERN]', argNames: 'the policy file and the cases file', args: [2, 2], flags: { format: 'value', coverage: 'switch', 'fail-under': 'value', run: 'value' } },
  diff: { usage: 'rolegate diff <old.json> <new.json> [--paths paths.txt] [--methods GET,POST,...]', argNames: 'the old and the new policy file', args: [2, 2], flags: { paths: 'value', methods: 'value' } },
  decide: { usage: "rolegate decide <policy.json> --path P [--method M] [--token T | --claims claims.json] [--header 'Name: value']... [--now SECONDS|ISO-8601] [--client-certificate client.pem|X5T#S256]", argNames: 'the policy file', args: [1, 1], flags: { path: 'value', method: 'value', token: 'value', claims: 'value', header: 'list', now: 'value', 'client-certificate': 'value' } },
  'istio-config': { usage: 'rolegate istio-config <policy.json> --image URL [--name N] [--namespace NS] [--selector label=value]...', argNames: 'the policy file', args: [1, 1], flags: { image: 'value', name: 'value', namespace: 'value', selector: 'list' } },
  'envoy-config': { usage: 'rolegate envoy-config <policy.json> [--wasm PATH] [--listen ADDRESS] [--port N] [--admin-port N] [--upstream HOST:PORT] [--underscore-headers reject|drop|allow] [--access-log stdout|PATH|none] [--token-instance HOST:PORT] [--tls-cert PEM --tls-key PEM [--client-ca PEM [--require-client-cert]]]', argNames: 'the policy file', args: [1, 1], flags: { wasm: 'value', listen: 'value', port: 'value', 'admin-port': 'value', upstream: 'value', 'underscore-headers': 'value', 'access-log': 'value', 'token-instance': 'value', 'tls-cert': 'value', 'tls-key': 'value', 'client-ca': 'value', 'require-client-cert': 'switch' } },
  'add-client': { usage: 'rolegate add-client <policy.json> --name N --role R --key-out client-key.json [--alg ES256]', argNames: 'the policy file', args: [1, 1], flags: { name: 'value', role: 'value', 'key-out': 'value', alg: 'value' } },
  keygen: { usage: 'rolegate keygen --alg ES256 [--kid K]', argNames: 'no arguments', args: [0, 0], flags: { alg: 'value', kid: 'value' } },
  mint: { usage: 'rolegate mint --key private.json [--claims claims.json] [--alg A]', argNames: 'no arguments', args: [0, 0], flags: { key: 'value', claims: 'value', alg: 'value' } },
  'client-assertion': { usage: 'rolegate client-assertion --key client-key.json --client-id ID --token-url URL [--lifetime SECONDS (default 60)] [--form]', argNames: 'no arguments', args: [0, 0], flags: { key: 'value', 'client-id': 'value', 'token-url': 'value', lifetime: 'value', form: 'switch' } },
  decode: { usage: 'rolegate decode <token>', argNames: 'the token', args: [1, 1], flags: {} },
};

/** A client certificate as a certificate-bound token names it (x5t#S256): from a PEM file, or given as such. */
function certificateThumbprint(value) {
  if (/^[A-Za-z0-9_-]{43}$/.test(value)) return value;
  let pem;
  try {
    pem = readFileSync(value);
  } catch (e) {
    throw new UsageError(`--client-certificate ${JSON.stringify(value)}: neither a PEM file (${e.code}) nor an x5t#S256 thumbprint (43 base64url characters)`);
  }
  try {
    return createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url');
  } catch (e) {
    throw new UsageError(`--client-certificate ${value}: not a PEM certificate (${e.message})`);
  }
}

function version() {
  return JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')).version;
}

function main(argv) {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (command === '--version' || command === '-V') {
    console.log(`rolegate ${version()}`);
    return 0;
  }
  const run = commands[command];
  if (!run) {
    console.error(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
    return 2;
  }
  const spec = SPECS[command];
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`usage: ${spec.usage}`);
    return 0;
  }
  try {
    return run(parseArgs(rest, spec));
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`rolegate ${command}: ${e.message}\nusage: ${spec.usage}`);
      return 2;
    }
    if (e && typeof e.code === 'string') {
      console.error(`rolegate ${command}: ${e.message} [${e.code}]`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = main(process.argv.slice(2));
