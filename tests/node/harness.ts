// A sample test harness, type-checked by types.test.mjs (tsc --noEmit) against pkg/index.d.ts.
import { Policy, mintToken, generateKey, decodeToken, runCases, envoyConfig, createClient } from 'rolegate';
import type { Decision, Matrix, MatrixDiff, RolegateError, CaseResult, NewClient } from 'rolegate';

const { privateJwk, publicJwk } = generateKey({ alg: 'ES256', kid: 'test' });
const policy = Policy.parse({
  issuers: [{ issuer: 'https://idp.test', audiences: ['api'], jwks: { keys: [publicJwk] }, algorithms: ['ES256'] }],
  roles: [{ name: 'auditor', required_attributes: [{ claim: 'group', value: 'auditors' }],
            rules: [{ effect: 'allow', methods: ['read'], paths: ['/**'] }] }],
});
const now = Math.floor(Date.now() / 1000);
const token: string = mintToken({ key: privateJwk, claims: { iss: 'https://idp.test', aud: 'api', exp: now + 60, group: 'auditors' } });
const decision: Decision = policy.decide({ method: 'GET', path: '/users', headers: { authorization: `Bearer ${token}` }, now });
const status: number = decision.status;
const firstRule: number | undefined = decision.rule?.index;
const attribute: boolean | undefined = decision.role_checks[0]?.attributes[0]?.matched;
const matrix: Matrix = policy.matrix({ paths: ['/users'], methods: ['GET', 'POST'] });
const cell: boolean | undefined = matrix.rows[0]?.cells[0]?.[1]?.allowed;
const diff: MatrixDiff = policy.diff(policy);
const grows: boolean = diff.rows[0]?.cells[0]?.[0]?.change === 'grows' && diff.grown > 0;
const header = decodeToken(token).header;
const results: CaseResult[] = runCases(policy, [{ request: { path: '/users', claims: { group: 'auditors' } }, expect: { allowed: false } }]);
const yaml: string = envoyConfig(policy.roles.length > 0 ? { a: 1 } : '{}', { listenPort: 8080 });
const created: NewClient = createClient({ token_endpoint: {}, roles: [] }, { name: 'report', role: 'auditor', alg: 'EdDSA' });
const clientKey: string | undefined = created.privateJwk.kid;
try {
  Policy.parse('{}');
} catch (e) {
  const err = e as RolegateError;
  console.log(err.code, err.path, err.message);
}

// Mistakes the types must catch:
// @ts-expect-error: the decision field is www_authenticate
decision.wwwAuthenticate;
// @ts-expect-error: alg must be a supported algorithm
generateKey({ alg: 'ES512' });
// @ts-expect-error: path is required
policy.decide({ method: 'GET' });
// @ts-expect-error: a client key is never an HMAC secret
createClient('{}', { name: 'n', role: 'r', alg: 'HS256' });
// @ts-expect-error: reasons are a closed set
const reason: typeof decision.reason = 'maybe';

console.log(clientKey, status, firstRule, attribute, cell, grows, header, results, yaml, reason);
