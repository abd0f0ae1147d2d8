// Generated from the Rust types by src/typescript.rs; do not edit.
// ROLEGATE_WRITE_TYPES=1 cargo test --lib typescript rewrites it.

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;

/**
 * The answer to one request.
 */
export type Decision = { 
/**
 * What enforcement does (in dry run: what it would do).
 */
allowed: boolean, 
/**
 * The HTTP status: 200, or 400/401/403/429/503 for a refusal.
 */
status: number, 
/**
 * Why, as a stable code.
 */
reason: Reason, 
/**
 * The precise check behind `reason`, e.g. `expired` or `encoded_slash`.
 */
cause: string | null, 
/**
 * The `WWW-Authenticate` value to send (RFC 6750 §3), if any.
 */
www_authenticate: string | null, 
/**
 * How the request presented itself.
 */
credential: Credential, 
/**
 * The token's issuer, when it was verified.
 */
issuer: string | null, 
/**
 * The subject for audit logs (the policy's `subject_claim`).
 */
subject: string | null, 
/**
 * The client id (the policy's `client_id_claim`).
 */
client_id: string | null, 
/**
 * Granted role names, in policy order.
 */
roles: Array<string>, 
/**
 * The rule that decided, if one did.
 */
rule: RuleRef | null, 
/**
 * The canonical path (without query), when the path could be canonicalised.
 */
path: string | null, 
/**
 * What the upstream should receive as `:path`: canonical path plus query.
 */
upstream_path: string | null, 
/**
 * Methods judged: the request method, then any override.
 */
methods: Array<string>, 
/**
 * The token's `exp`, for caches.
 */
expires_at: number | null, 
/**
 * The binding the token carries (`cnf`), which every request must
 * prove: an allowed decision proved it, a refusal's `cause` says what
 * failed. A decision with one is never reused.
 */
binding: Binding | null, 
/**
 * A fresh server nonce for the `DPoP-Nonce` header, when a proof
 * lacked a valid one (`use_dpop_nonce`).
 */
dpop_nonce: string | null, 
/**
 * Per-role attribute evaluation (empty unless explaining).
 */
role_checks: Array<RoleCheck>, 
/**
 * Ordered steps (empty unless explaining).
 */
trace: Array<TraceStep>, 
/**
 * Whether the policy is in dry run (everything is forwarded).
 */
dry_run: boolean, };

/**
 * Why a request was allowed or denied. Each reason has one status.
 */
export type Reason = "allowed" | "outside_prefix" | "outside_prefix_denied" | "missing_credentials" | "unsupported_scheme" | "invalid_request" | "invalid_token" | "insufficient_scope" | "no_role" | "denied_by_rule" | "not_permitted" | "forbidden_method" | "authentication_config_protected" | "basic_auth_disabled" | "basic_auth_pass_through" | "invalid_path" | "keys_unavailable" | "introspection_unavailable" | "token_endpoint" | "cors_preflight" | "too_many_proofs" | "replay_check_unavailable";

/**
 * How the request presented itself.
 */
export type Credential = "none" | "bearer" | "dpop" | "basic" | "claims" | "other";

/**
 * How a token bound to its client (`cnf`) showed the request is the
 * client's.
 */
export type Binding = "dpop" | "certificate" | "dpop_and_certificate";

/**
 * A cluster the policy's remote issuers call, as a generated Envoy config
 * defines it.
 */
export type RemoteCluster = { 
/**
 * The cluster's name (`remote.cluster`).
 */
name: string, 
/**
 * The host and port the issuer's URLs name (port from the scheme when
 * they name none).
 */
host: string, port: number, 
/**
 * TLS, for https URLs.
 */
tls: ClusterTls | null, };

/**
 * The TLS of a remote issuer's cluster (files on the Envoy host), which
 * the generated Envoy config sets up; the filter never sees it.
 */
export type ClusterTls = { 
/**
 * PEM file of the CAs that sign the server's certificate.
 */
ca: string, 
/**
 * PEM files of the client certificate and its key (mutual TLS).
 */
certificate: string | null, private_key: string | null, };

/**
 * The rule that decided: `roles[role].rules[index]`.
 */
export type RuleRef = { 
/**
 * What the rule is called everywhere: its `name`, or `role#index`.
 */
label: string, 
/**
 * The role's name.
 */
role: string, 
/**
 * The rule's index in the role's `rules` (zero-based).
 */
index: number, 
/**
 * Whether the rule allows or denies.
 */
effect: Effect, };

export type Effect = "allow" | "deny";

/**
 * How one role was evaluated against the token's claims.
 */
export type RoleCheck = { 
/**
 * The role's name.
 */
role: string, 
/**
 * Whether the role is enabled.
 */
enabled: boolean, 
/**
 * Whether the token was granted the role.
 */
granted: boolean, 
/**
 * `"attributes"` or `"any_valid_token"`.
 */
grant: 'attributes' | 'any_valid_token', 
/**
 * Each required attribute, matched or not.
 */
attributes: Array<AttributeCheck>, };

/**
 * How one required attribute compared with the token's claims.
 */
export type AttributeCheck = { 
/**
 * The claim's name or path.
 */
claim: string, 
/**
 * The value the role requires.
 */
value: string, 
/**
 * Whether the token carries it.
 */
matched: boolean, 
/**
 * The token's value of the claim, if it has one.
 */
actual: JsonValue | null, };

/**
 * One step of the evaluation, in order.
 */
export type TraceStep = { 
/**
 * The step's name (`path`, `token.signature`, `scope`, ...).
 */
step: string, 
/**
 * Whether the step passed.
 */
ok: boolean, 
/**
 * What was checked, for people.
 */
detail: string, };

/**
 * Allowed or denied per role (or claims) x path x method.
 */
export type Matrix = { 
/**
 * The paths, as asked.
 */
paths: Array<string>, 
/**
 * The methods, as asked.
 */
methods: Array<string>, 
/**
 * One row per role, or one for the claims.
 */
rows: Array<MatrixRow>, };

/**
 * One row of a [`Matrix`].
 */
export type MatrixRow = { 
/**
 * The role's name, or `"token"` for a claims row.
 */
name: string, 
/**
 * `"role"` or `"token"`.
 */
kind: 'role' | 'token', 
/**
 * For a role row: whether the role is enabled (a disabled role allows nothing).
 */
enabled: boolean, 
/**
 * The roles behind the row (for a token row: those its claims are granted).
 */
roles: Array<string>, 
/**
 * `cells[path][method]`.
 */
cells: Array<Array<MatrixCell>>, };

/**
 * What one role (or the claims) gets for one path and method.
 */
export type MatrixCell = { 
/**
 * Whether it is allowed.
 */
allowed: boolean, 
/**
 * Why.
 */
reason: Reason, 
/**
 * The precise check behind `reason`.
 */
cause: string | null, 
/**
 * The rule that decided, if one did.
 */
rule: RuleRef | null, };

/**
 * Role x path x method, before and after.
 */
export type MatrixDiff = { 
/**
 * The paths compared.
 */
paths: Array<string>, 
/**
 * The methods compared.
 */
methods: Array<string>, 
/**
 * The older policy's roles in its order, then the roles only the newer has.
 */
rows: Array<DiffRow>, 
/**
 * How many cells are allowed now that were denied.
 */
grown: number, 
/**
 * How many cells are denied now that were allowed.
 */
shrunk: number, };

/**
 * One role's cells in a [`MatrixDiff`].
 */
export type DiffRow = { 
/**
 * The role's name.
 */
name: string, 
/**
 * Which policies have the role.
 */
presence: Presence, 
/**
 * `cells[path][method]`.
 */
cells: Array<Array<DiffCell>>, };

/**
 * One role, path and method, before and after.
 */
export type DiffCell = { 
/**
 * Which way access changed.
 */
change: Change, 
/**
 * The older policy's cell (`null` when it has no such role).
 */
before: MatrixCell | null, 
/**
 * The newer policy's cell (`null` when it has no such role).
 */
after: MatrixCell | null, };

/**
 * Whether one cell's access changed, and which way.
 */
export type Change = "same" | "grows" | "shrinks";

/**
 * Whether a role is in the older policy, the newer, or both.
 */
export type Presence = "both" | "added" | "removed";

/**
 * A role's name and state, for hosts that list roles.
 */
export type RoleSummary = { 
/**
 * The role's name.
 */
name: string, 
/**
 * Whether the role is enabled.
 */
enabled: boolean, };

export type Mode = "enforce" | "dry_run";

/**
 * What a host shows of the token endpoint (no key material).
 */
export type EndpointSummary = { issuer: string, audience: string, path: string, url: string, expiration_seconds: number, active_tokens_path: string, active_tokens_role: string, jwks_path: string, metadata_paths: Array<string>, clients: Array<ClientSummary>, 
/**
 * The Envoy cluster of the instance that answers token requests and
 * the active-token list, when this proxy is not it.
 */
forward_to_cluster: string | null, };

export type ClientSummary = { client_id: string, name: string, role: string, alg: string | null, };

/**
 * A token's header and payload, as [`decode_unverified`] returns them.
 */
export type DecodedToken = { 
/**
 * The header, as sent.
 */
header: { [key in string]?: JsonValue }, 
/**
 * The payload, as sent.
 */
payload: { [key in string]?: JsonValue }, };

