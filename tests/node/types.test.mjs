// pkg/index.d.ts must match the real objects: a sample harness type-checks
// with tsc, and every interface lists exactly the fields the objects carry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { Policy, createClient, decodeToken, generateKey, mintToken, runCases } from '../../pkg/node.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

test('a sample harness type-checks against index.d.ts (tsc --noEmit)', () => {
  const tsc = here('../../node_modules/typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', here('./tsconfig.json')], { encoding: 'utf8' });
  } catch (e) {
    assert.fail(`tsc failed:\n${e.stdout}${e.stderr}`);
  }
});

/**
 * Type name -> member names, read with the TypeScript parser from index.d.ts
 * (interfaces) and generated.d.ts (object types derived from the Rust types).
 */
function declaredInterfaces() {
  const out = {};
  for (const name of ['index.d.ts', 'generated.d.ts']) {
    const file = here(`../../pkg/${name}`);
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    source.forEachChild((node) => {
      const members = ts.isInterfaceDeclaration(node) ? node.members
        : ts.isTypeAliasDeclaration(node) && ts.isTypeLiteralNode(node.type) ? node.type.members : null;
      if (members) out[node.name.text] = members.filter(ts.isPropertySignature).map((m) => m.name.getText(source)).sort();
    });
  }
  return out;
}

test('every interface lists exactly the fields of the real objects', () => {
  const declared = declaredInterfaces();
  const { privateJwk, publicJwk } = generateKey({ alg: 'ES256', kid: 'k' });
  const policy = Policy.parse({
    issuers: [{ issuer: 'i', audiences: ['a'], jwks: { keys: [publicJwk] }, algorithms: ['ES256'] }],
    roles: [{ name: 'r', required_attributes: [{ claim: 'g', value: 'x' }], rules: [{ effect: 'allow', methods: ['*'], paths: ['/**'] }] }],
  });
  const now = 1_800_000_000;
  const claims = { iss: 'i', aud: 'a', exp: now + 10, g: 'x' };
  const decision = policy.decide({ path: '/p', claims, now });
  const matrix = policy.matrix({ paths: ['/p'], methods: ['GET'], now });
  const token = mintToken({ key: privateJwk, claims });
  const diff = policy.diff(policy, { paths: ['/p'], methods: ['GET'] });
  const objects = {
    Decision: decision,
    RuleRef: decision.rule,
    RoleCheck: decision.role_checks[0],
    AttributeCheck: decision.role_checks[0].attributes[0],
    TraceStep: decision.trace[0],
    Matrix: matrix,
    MatrixRow: matrix.rows[0],
    MatrixCell: matrix.rows[0].cells[0][0],
    MatrixDiff: diff,
    DiffRow: diff.rows[0],
    DiffCell: diff.rows[0].cells[0][0],
    DiffRequest: { paths: [], methods: [], now: 0 },
    RoleSummary: policy.roles[0],
    KeyPair: generateKey({ alg: 'HS256' }),
    DecodedToken: decodeToken(token),
    CaseResult: runCases(policy, [{ request: { path: '/p', claims, now }, expect: { allowed: true } }])[0],
  };
  const created = createClient(
    { token_endpoint: { issuer: 'i', audience: 'a', signing_key: privateJwk, active_tokens_role: 'r' },
      roles: [{ name: 'r', required_attributes: [{ claim: 'role', value: 'r' }], rules: [{ effect: 'allow', methods: ['read'], paths: ['/**'] }] }] },
    { name: 'n', role: 'r' },
  );
  objects.NewClient = created;
  objects.OAuthClientEntry = created.entry;
  objects.EndpointSummary = Policy.parse(created.policy).tokenEndpoint;
  objects.ClientSummary = objects.EndpointSummary.clients[0];
  for (const [name, object] of Object.entries(objects)) {
    assert.ok(declared[name], `index.d.ts and generated.d.ts declare no ${name}`);
    assert.ok(object && typeof object === 'object', `${name}: no sample object`);
    assert.deepEqual(Object.keys(object).sort(), declared[name], `interface ${name} drifted from the real object`);
  }
  let error;
  try { Policy.parse('{}'); } catch (e) { error = e; }
  for (const field of declared.RolegateError) assert.ok(field in error, `RolegateError.${field}`);
});
