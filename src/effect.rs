//! What an HTTP proxy does with a decision: the headers it changes before
//! forwarding, the response it sends instead, the audit line and the metric.
//! Hosts apply these verbatim, so no proxy decides anything itself.

use crate::authorize::decision::{Credential, Decision, Reason};
use crate::policy::{EnvoySettings, Policy};
use crate::request::header_map::{self, HeaderMapError};
use crate::request::method::OVERRIDE_HEADERS;
use crate::request::{same_header_name, Request, RequestView, READ_HEADERS};
use serde::Serialize;
use smallvec::SmallVec;
use std::borrow::Cow;

/// What telling a CORS preflight from a request reads (only with
/// `bypass_cors_preflight`).
const CORS_PREFLIGHT_HEADERS: [&str; 3] = ["origin", "access-control-request-method", "cookie"];

/// What checking a DPoP proof reads: the proof, and the host the request
/// was addressed to (its `htu`) unless the policy names `dpop.origins`
/// (`:scheme` and `:authority` are always kept: `RequestView::origin`).
const DPOP_HEADERS: [&str; 2] = ["dpop", "host"];

/// Request-header edits before forwarding upstream. Borrowed from the
/// decision and the settings where it can be, and held inline (each list
/// has room for the most edits a decision makes): this is made per request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderChanges<'a> {
    /// Removed first, every value (identity headers a client may have
    /// sent, the bearer token).
    pub remove: SmallVec<[Cow<'a, str>; 4]>,
    /// Then replaced: the canonical `:path`.
    pub replace: SmallVec<[(&'a str, Cow<'a, str>); 1]>,
    /// Then added: the identity headers, none of which is present any more.
    /// Envoy adds a header for about half of what a replace costs.
    pub add: SmallVec<[(&'a str, Cow<'a, str>); 3]>,
}

/// An HTTP response a host sends as it is, instead of forwarding: a
/// decision's denial, one of rolegate's endpoints answering, or the host
/// failing closed. The only response type; hosts copy it out verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(&'static str, String)>,
    /// A small JSON body; never a token.
    pub body: String,
}

impl Response {
    /// A JSON response no cache may keep.
    pub fn json(status: u16, body: String) -> Response {
        Response {
            status,
            headers: vec![
                ("content-type", "application/json".to_owned()),
                ("cache-control", "no-store".to_owned()),
            ],
            body,
        }
    }

    /// What a host answers when it cannot carry out the core's answer (a
    /// failed host call): 503, never forwarding.
    pub fn unavailable() -> Response {
        Response::json(503, r#"{"status":503,"reason":"unavailable"}"#.to_owned())
    }
}

/// The request trailers a proxy removes before they reach the upstream: all
/// of them. A decision is made on the headers, before any trailer exists,
/// so a trailer could tell an upstream that merges trailers into headers
/// what no decision saw (an identity header, a method override).
pub fn trailers_to_remove<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    names.into_iter().collect()
}

impl Policy {
    /// Whether decisions under this policy read request header `name`
    /// (the identity headers included: they are removed when present).
    pub fn reads_header(&self, name: &[u8]) -> bool {
        let settings = self.envoy_settings();
        READ_HEADERS
            .iter()
            .chain(&OVERRIDE_HEADERS)
            .chain([
                &settings.subject_header.as_str(),
                &settings.roles_header.as_str(),
                &settings.client_id_header.as_str(),
            ])
            .chain(if self.bypass_cors_preflight {
                &CORS_PREFLIGHT_HEADERS[..]
            } else {
                &[]
            })
            .chain(
                match (self.verifies_bound_tokens(), self.dpop.origins.is_empty()) {
                    (false, _) => &[][..],
                    (true, false) => &DPOP_HEADERS[..1],
                    (true, true) => &DPOP_HEADERS[..],
                },
            )
            .any(|read| same_header_name(read.as_bytes(), name))
    }

    /// The request a proxy-wasm header block describes (see
    /// `request::header_map`), with only the headers this policy reads: each
    /// header kept costs two allocations per request, and a proxy's request
    /// carries many this policy never looks at.
    pub fn request_from_header_map(
        &self,
        block: &[u8],
        now: u64,
    ) -> Result<Request, HeaderMapError> {
        let mut request = Request::default();
        self.refill_request_from_header_map(&mut request, block, now)?;
        Ok(request)
    }

    /// [`Policy::request_from_header_map`] into `request`, reusing its
    /// buffers. On an error `request` is left as it was.
    pub fn refill_request_from_header_map(
        &self,
        request: &mut Request,
        block: &[u8],
        now: u64,
    ) -> Result<(), HeaderMapError> {
        request.refill_from_view(&self.view_header_map(block, now)?);
        Ok(())
    }

    /// The request a proxy-wasm header block describes, borrowed from the
    /// block: nothing copied or checked. With it a proxy finds a kept
    /// decision ([`Policy::kept_decision`]) and its header edits
    /// ([`Decision::upstream_headers`]) without building a [`Request`].
    /// Keeps the headers [`Policy::request_from_header_map`] keeps.
    pub fn view_header_map<'b>(
        &self,
        block: &'b [u8],
        now: u64,
    ) -> Result<RequestView<'b>, HeaderMapError> {
        // One pass: a malformed block stops it and is reported.
        let mut malformed = None;
        let pairs = header_map::Pairs::new(block)?
            .map_while(|pair| pair.map_err(|e| malformed = Some(e)).ok());
        let view = RequestView::from_header_pairs(pairs, now, |name| self.reads_header(name));
        malformed.map_or(Ok(view), Err)
    }
}

impl EnvoySettings {
    /// Adds the removal of every identity header the client sent, under
    /// every spelling of its name (`x_rolegate_roles` too): whatever else
    /// happens to a request, none reaches the upstream.
    pub fn strip_identity<'a>(&'a self, request: &RequestView, changes: &mut HeaderChanges<'a>) {
        for name in [
            &self.subject_header,
            &self.roles_header,
            &self.client_id_header,
        ] {
            for spelling in request.header_spellings(name) {
                // The configured spelling (nearly always) is not copied.
                changes.remove.push(if spelling == name.as_str() {
                    Cow::Borrowed(name.as_str())
                } else {
                    Cow::Owned(spelling.to_owned())
                });
            }
        }
    }
}

impl Reason {
    /// The counter this reason increments: `allowed`, `outside_prefix`,
    /// `basic_auth_pass_through`, or `denied_<reason>`.
    pub fn metric_name(self) -> String {
        if self.is_allowed() {
            self.as_str().to_owned()
        } else {
            format!("denied_{}", self.as_str())
        }
    }
}

impl Decision {
    /// The edits to `request` before a proxy forwards it (call when
    /// [`Decision::forward`]).
    ///
    /// Identity headers the client sent are always removed, so the upstream
    /// can trust them. The canonical path replaces `:path` when it differs.
    /// Identity is added when a token was validated (unless
    /// `forward_identity` is off). The bearer token is
    /// removed when an enforced request is allowed and `forward_authorization`
    /// is off; in dry run the upstream's own authentication still needs it.
    /// Only edits that change something are listed: each is a host call.
    pub fn upstream_headers<'a>(
        &'a self,
        settings: &'a EnvoySettings,
        request: &RequestView,
    ) -> HeaderChanges<'a> {
        let present = |name: &str| request.header_values(name).next().is_some();
        let mut changes = HeaderChanges::default();
        settings.strip_identity(request, &mut changes);
        let bearer = matches!(self.credential, Credential::Bearer | Credential::Dpop);
        if bearer && self.allowed && !self.dry_run && !settings.forward_authorization {
            // A DPoP proof goes with its token: the upstream needs neither.
            for name in ["authorization", "dpop"] {
                if present(name) {
                    changes.remove.push(Cow::Borrowed(name));
                }
            }
        }
        if let Some(path) = &self.upstream_path {
            if path.as_bytes() != request.path {
                changes.replace.push((":path", Cow::Borrowed(path)));
            }
        }
        let identity = bearer && self.issuer.is_some() && self.reason != Reason::InvalidToken;
        if identity && settings.forward_identity {
            if let Some(subject) = &self.subject {
                changes
                    .add
                    .push((&settings.subject_header, header_safe(subject)));
            }
            let roles = match self.roles.as_slice() {
                [] => None,
                // Most tokens are granted one role: no copy then.
                [one] => Some(Cow::Borrowed(one.as_str())),
                all => Some(Cow::Owned(all.join(","))),
            };
            if let Some(roles) = roles {
                changes.add.push((&settings.roles_header, roles));
            }
            if let Some(client_id) = &self.client_id {
                changes
                    .add
                    .push((&settings.client_id_header, header_safe(client_id)));
            }
        }
        changes
    }

    /// The response to send when the request is not forwarded.
    pub fn denial(&self) -> Response {
        #[derive(Serialize)]
        struct Body<'a> {
            status: u16,
            reason: &'a str,
            cause: Option<&'a str>,
        }
        let body = serde_json::to_string(&Body {
            status: self.status,
            reason: self.reason.as_str(),
            cause: self.cause,
        })
        .unwrap_or_else(|_| format!("{{\"status\":{}}}", self.status));
        let mut response = Response::json(self.status, body);
        if let Some(challenge) = &self.www_authenticate {
            response
                .headers
                .push(("www-authenticate", challenge.clone()));
        }
        if let Some(nonce) = &self.dpop_nonce {
            response.headers.push(("dpop-nonce", nonce.clone()));
        }
        response
    }

    /// One JSON line for the audit log, and the value a proxy leaves for its
    /// access log: who, what, and the verdict. Never the token or the query
    /// (which may hold one).
    pub fn audit_line(&self) -> String {
        #[derive(Serialize)]
        struct Audit<'a> {
            rolegate: &'static str,
            allowed: bool,
            dry_run: bool,
            forwarded: bool,
            status: u16,
            reason: &'a str,
            cause: Option<&'a str>,
            methods: &'a [String],
            path: Option<&'a str>,
            issuer: Option<&'a str>,
            subject: Option<&'a str>,
            client_id: Option<&'a str>,
            roles: &'a [String],
            rule: Option<String>,
            /// Only for bound tokens: the binding the request had to prove.
            #[serde(skip_serializing_if = "Option::is_none")]
            binding: Option<crate::authorize::decision::Binding>,
        }
        serde_json::to_string(&Audit {
            rolegate: "decision",
            allowed: self.allowed,
            dry_run: self.dry_run,
            forwarded: self.forward(),
            status: self.status,
            reason: self.reason.as_str(),
            cause: self.cause,
            methods: &self.methods,
            path: self.path.as_deref(),
            issuer: self.issuer.as_deref(),
            subject: self.subject.as_deref(),
            client_id: self.client_id.as_deref(),
            roles: &self.roles,
            rule: self.rule.as_ref().map(|r| r.label.clone()),
            binding: self.binding,
        })
        .unwrap_or_default()
    }
}

/// A claim value made safe for a header: bytes outside visible ASCII, and
/// `%` itself, are percent-encoded, so no value can smuggle a line break or
/// a second header.
pub fn header_safe(value: &str) -> Cow<'_, str> {
    let safe = |b: u8| (0x21..=0x7e).contains(&b) && b != b'%';
    if value.bytes().all(safe) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for b in value.bytes() {
        if safe(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trailer_goes() {
        let trailers = [
            "x-rolegate-roles",
            "x-http-method-override",
            "grpc-status",
            "x",
        ];
        assert_eq!(trailers_to_remove(trailers), trailers);
    }

    #[test]
    fn a_header_block_keeps_only_the_headers_decisions_read() {
        let policy = Policy::from_json(
            r#"{"issuers": [{"issuer": "https://idp", "audiences": ["a"], "algorithms": ["HS256"],
                               "secrets": [{"k": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE"}]}],
                "roles": [{"name": "r", "required_attributes": [{"claim": "g", "value": "x"}],
                           "rules": [{"effect": "allow", "methods": ["read"], "paths": ["/**"]}]}],
                "envoy": {"subject_header": "x-who"}}"#,
        )
        .unwrap();
        let block = header_map::serialize(&[
            (":method", "POST"),
            (":path", "/x"),
            (":authority", "admin"),
            ("authorization", "Bearer a.b.c"),
            ("X-Who", "mallory"),
            ("x-rolegate-roles", "admin"),
            ("X-HTTP-Method-Override", "DELETE"),
            ("content-type", "application/json"),
            ("user-agent", "curl"),
            ("x-rolegate-subject", "not the configured name"),
        ]);
        let request = policy.request_from_header_map(&block, 7).unwrap();
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("POST", "/x")
        );
        let names: Vec<&str> = request.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "authorization",
                "X-Who",
                "x-rolegate-roles",
                "X-HTTP-Method-Override",
                "content-type",
                // The origin a DPoP proof names, always kept.
                ":authority"
            ]
        );
        // The view borrows exactly what the request holds.
        let view = policy.view_header_map(&block, 7).unwrap();
        assert_eq!(view, request.view());
        // Read in one pass: a block cut anywhere is refused, also after the
        // headers before the cut were taken, and a request refilled from it
        // is left as it was.
        for cut in 1..block.len() {
            let err = policy
                .request_from_header_map(&block[..cut], 7)
                .unwrap_err();
            assert!(err.to_string().contains("malformed header block"), "{err}");
            let mut refilled = request.clone();
            assert!(policy
                .refill_request_from_header_map(&mut refilled, &block[..cut], 8)
                .is_err());
            assert_eq!(refilled, request);
        }
    }

    #[test]
    fn header_values_cannot_break_lines() {
        assert_eq!(header_safe("alice"), "alice");
        // Safe values (nearly all) are not copied.
        assert!(matches!(header_safe("alice@example"), Cow::Borrowed(_)));
        assert_eq!(header_safe("a\r\nx-admin: 1"), "a%0D%0Ax-admin:%201");
        assert_eq!(header_safe("jürgen"), "j%C3%BCrgen");
        assert_eq!(header_safe("100%"), "100%25");
    }

    #[test]
    fn metric_names() {
        assert_eq!(Reason::Allowed.metric_name(), "allowed");
        assert_eq!(Reason::InvalidToken.metric_name(), "denied_invalid_token");
        assert_eq!(
            Reason::BasicAuthPassThrough.metric_name(),
            "basic_auth_pass_through"
        );
    }
}
