// Types of the rolegate package. tests/node/types.test.mjs checks that every
// interface here lists exactly the fields the real objects carry.

// The types of what the core returns are derived from its Rust types
// (generated.d.ts, checked by `cargo test`); the rest of this file is the
// package's own surface.
import type {
  Decision, Reason, Credential, RuleRef, RoleCheck, AttributeCheck, TraceStep,
  Matrix, MatrixRow, MatrixCell, MatrixDiff, DiffRow, DiffCell, Change, Presence, RoleSummary, EndpointSummary, ClientSummary, DecodedToken, JsonValue,
  Binding, RemoteCluster, ClusterTls,
} from './generated.js';
export type {
  Decision, Reason, Credential, RuleRef, RoleCheck, AttributeCheck, TraceStep,
  Matrix, MatrixRow, MatrixCell, MatrixDiff, DiffRow, DiffCell, Change, Presence, RoleSummary, EndpointSummary, ClientSummary, DecodedToken, JsonValue,
  Binding, RemoteCluster, ClusterTls,
};
/** The token endpoint as `policy.tokenEndpoint` reports it. */
export type TokenEndpointSummary = EndpointSummary;

/** A JWS algorithm rolegate accepts. `none` is never accepted. */
export type Alg =
  | 'HS256' | 'HS384' | 'HS512'
  | 'RS256' | 'RS384' | 'RS512'
  | 'PS256' | 'PS384' | 'PS512'
  | 'ES256' | 'ES384' | 'EdDSA' | 'Ed25519';

/** A JSON object, as claims and JWKs are. */
export type JsonObject = { [key: string]: unknown };

/** A JSON Web Key (RFC 7517). */
export interface Jwk extends JsonObject {
  kty: 'RSA' | 'EC' | 'OKP' | 'oct';
  kid?: string;
  alg?: string;
  use?: string;
}

/** Headers as an object (a value may repeat as an array) or as [name, value] pairs. */
export type Headers = Record<string, string | string[]> | Array<[string, string]>;

export interface DecideRequest {
  /** Default `GET`. An upper-case token: `delete` is refused (400 `lower_case_method`). */
  method?: string;
  /** The raw request target: path and optional query. */
  path: string;
  headers?: Headers;
  /** Claims-only preview: skip the signature, apply every other check. */
  claims?: JsonObject;
  /** Seconds since the epoch; default: the current time. */
  now?: number;
  /** A body follows the headers though no header announces it (HTTP/2); default false. */
  body?: boolean;
  /**
   * The connection's client certificate as a certificate-bound token names it
   * (`x5t#S256`: base64url of the SHA-256 of its DER), for tokens with
   * `cnf.x5t#S256` (RFC 8705). A DPoP proof goes in the `dpop` header.
   */
  client_certificate?: string;
}

export interface MatrixRequest {
  paths: string[];
  methods: string[];
  /** One row for these claims instead of one row per role. */
  claims?: JsonObject;
  now?: number;
}

/** What `policy.diff` compares; each member defaults as described. */
export interface DiffRequest {
  /** Default: the sample paths of both policies (each rule pattern, `*` as `x`). */
  paths?: string[];
  /** Default: GET, HEAD, POST, PUT, PATCH, DELETE. */
  methods?: string[];
  now?: number;
}

/** The Error every rolegate function throws. */
export interface RolegateError extends Error {
  /** e.g. `unknown_field`, `invalid_value`, `invalid_key`, `malformed_token`. */
  code: string;
  /** JSON path of the offending value, e.g. `roles[2].rules[0].paths[1]`. */
  path: string;
  /** `Policy.parse` only: where the offending value (or JSON syntax error) is, line and column from 1. */
  line?: number;
  column?: number;
  /** `Policy.parse` only: the offending value's range as string offsets (`text.slice(from, to)`). */
  from?: number;
  to?: number;
}

/** A loaded, checked policy. */
export class Policy {
  private constructor();
  /** Loads a policy document (JSON text or object). Throws a RolegateError. */
  static parse(document: string | JsonObject): Policy;
  decide(request: DecideRequest): Decision;
  matrix(request: MatrixRequest): Matrix;
  /** Compares this (older) policy with `newer`, role x path x method. */
  diff(newer: Policy, request?: DiffRequest): MatrixDiff;
  readonly roles: RoleSummary[];
  readonly mode: 'enforce' | 'dry_run';
  /** What loading skipped (e.g. a JWKS's encryption keys), each naming its JSON path. */
  readonly notices: string[];
  /** The token endpoint (`token_endpoint`) and its clients; null without one. */
  readonly tokenEndpoint: TokenEndpointSummary | null;
  /** The clusters its remote issuers call (`remote.cluster`), as a generated Envoy config defines them. */
  readonly remoteClusters: RemoteCluster[];
  /** Releases the wasm memory now instead of at garbage collection. */
  free(): void;
}

/** A token's header and payload, NOT verified. Throws on malformed tokens. */
export function decodeToken(token: string): DecodedToken;

export interface MintOptions {
  /** Default: the key's `alg`, else RS256/ES256/ES384/EdDSA/HS256 by key type. `none` makes an unsigned token. */
  alg?: Alg | 'none';
  /** A private JWK (for HMAC: `{kty: 'oct', k}`). */
  key?: Jwk;
  claims?: JsonObject;
  /** Merged over `{alg, typ: 'JWT', kid}`; a null member removes one. */
  header?: JsonObject;
  /** Raw header text, signed as given (negative tests). */
  headerJson?: string;
  /** Raw payload text, signed as given (negative tests). */
  payloadJson?: string;
}

/** Signs a test token. */
/** Browsers import mintToken, generateKey, createClient and addTokenEndpoint from 'rolegate/testing' (a module loaded on use). */
export function mintToken(options: MintOptions): string;

export interface KeyPair {
  /** The private key; for HMAC, the secret itself. */
  privateJwk: Jwk;
  /** What verifiers trust; `null` for an HMAC secret, which has no public half. */
  publicJwk: Jwk | null;
}

/** A fresh key pair (RSA 2048, P-256, P-384, Ed25519, or an HMAC secret). */
export function generateKey(options: { alg: Alg; kid?: string }): KeyPair;

/** An `oauth2_clients` entry of a policy with a `token_endpoint`. */
export interface OAuthClientEntry {
  client_id: string;
  name: string;
  /** The role its tokens carry (a role of the policy). */
  role: string;
  /** The client's public key. */
  jwk: Jwk;
}

export interface NewClient {
  clientId: string;
  entry: OAuthClientEntry;
  /** The policy document with `entry` appended to `oauth2_clients`. */
  policy: JsonObject;
  /** The client's private key: nothing keeps it, show it once. */
  privateJwk: Jwk;
  /** Where the client posts its assertion; also the assertion's `aud`. */
  tokenUrl: string;
}

/**
 * Pexip's "add OAuth2 client": a fresh key pair (ES256 by default) and client
 * id for a client bound to `role`. Throws a RolegateError when the policy has
 * no `token_endpoint` or the role is unknown.
 */
export function createClient(
  policy: string | JsonObject,
  options: { name: string; role: string; alg?: Exclude<Alg, 'HS256' | 'HS384' | 'HS512'> },
): NewClient;

export interface EnvoyConfigOptions {
  /** The filter on the Envoy host. In Node: default `filterPath` (the package's own); in browsers /etc/envoy/rolegate_filter.wasm. */
  wasmPath?: string;
  listenAddress?: string;
  listenPort?: number;
  upstreamHost?: string;
  upstreamPort?: number;
  adminPort?: number;
  directResponse?: boolean;
  /** More clusters, e.g. the authorization server remote validation calls. */
  clusters?: { name: string; host?: string; port: number }[];
  /**
   * What Envoy does with request header names that contain '_' (default
   * 'reject': 400). CGI/WSGI upstreams read `x_rolegate_roles` as `x-rolegate-roles`.
   */
  underscoreHeaders?: 'reject' | 'drop' | 'allow';
  /** Where Envoy writes one JSON line per request with rolegate's decision: 'stdout' (default), a file path, or null for none. */
  accessLog?: string | null;
}

export interface IstioWasmPluginOptions {
  /** Where Istio gets the module: oci://REGISTRY/rolegate/filter:TAG (scripts/build-oci.sh), https://… or file:///… */
  image: string;
  /** Default `rolegate`. */
  name?: string;
  namespace?: string;
  /** Workload labels, e.g. `{app: 'admin-api'}`; none: every workload of the namespace. */
  selector?: Record<string, string>;
  imagePullPolicy?: 'IfNotPresent' | 'Always';
}

/** An Istio WasmPlugin (YAML) running the filter with this policy: phase AUTHN, failStrategy FAIL_CLOSE. Throws for an invalid policy or option. */
export function istioWasmPlugin(policy: string | JsonObject, options: IstioWasmPluginOptions): string;

/** Node: the path of the Envoy filter (rolegate_filter.wasm) inside this package; null in browsers or when it was not built in. */
export const filterPath: string | null;

/** An Envoy bootstrap (YAML) with the rolegate filter in front of one upstream. */
export function envoyConfig(policy: string | JsonObject, options?: EnvoyConfigOptions): string;

export interface EnvoyListener {
  policy: string | JsonObject;
  listenPort?: number;
  name?: string;
}

/** An Envoy bootstrap with one listener (and filter policy) per entry. */
export function envoyBootstrap(options: Omit<EnvoyConfigOptions, 'listenPort'> & { listeners: EnvoyListener[] }): string;

/** Browser: fetches and instantiates the wasm. Node: a no-op (already initialised). */
export default function init(input?: unknown): Promise<unknown>;
export function initSync(input: unknown): unknown;

export interface DecisionCase {
  name?: string;
  request: DecideRequest;
  /** Decision fields that must be equal, e.g. `{allowed: true, roles: ['auditor']}`. */
  expect: Partial<Decision>;
}

export interface CaseResult {
  name: string;
  pass: boolean;
  mismatches: { field: string; expected: unknown; actual: unknown }[];
  decision: Decision;
}

/** Runs decision cases (`{now?, cases: [...]}` or an array): the `rolegate test` format. */
export function runCases(policy: Policy, cases: { now?: number; cases: DecisionCase[] } | DecisionCase[]): CaseResult[];

/** Reads a cases file as `runCases` does: each case with its name, request and expectation; throws an `Error` with `code` `invalid_cases` and the `path` at fault. */
export function normaliseCases(cases: { now?: number; cases: DecisionCase[] } | DecisionCase[]): { name: string; request: DecideRequest; expect: Partial<Decision> }[];

/** Trusts a public JWK for the issuer named `issuer` (else the first): the policy again, with the key in that issuer's `jwks` and its algorithm in `algorithms`. Throws a `RolegateError` if the result would not load. */
export function trustKey(policy: string | JsonObject, jwk: Jwk, issuer?: string): JsonObject;

/** Pexip's model: the policy's first issuer becomes rolegate's own token endpoint (same issuer and audience, a fresh P-256 signing key, one-hour tokens). The policy again. */
export function addTokenEndpoint(policy: string | JsonObject): JsonObject;

/** Grants role `name` by the claim the token endpoint issues (`role` = its name), replacing its required attributes: the fix `createClient` proposes when a role needs attributes issued tokens never carry. The policy again. */
export function grantByRoleClaim(policy: string | JsonObject, name: string): JsonObject;
