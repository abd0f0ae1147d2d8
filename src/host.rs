//! What an HTTP proxy does with a decision: the headers it changes before
//! forwarding, the response it sends instead, the audit line and the metric.
//! Hosts apply these verbatim, so no proxy decides anything itself.

use crate::decision::{Credential, Decision, Reason};
use crate::policy::EnvoySettings;
use crate::request::Request;
use serde::Serialize;
use std::borrow::Cow;

/// Request-header edits before forwarding upstream. Borrowed from the
/// decision and the settings where it can be: this is made per request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderChanges<'a> {
    /// Removed first (identity headers a client may have sent, the bearer token).
    pub remove: Vec<&'a str>,
    /// Then set (replacing): the canonical `:path` and the identity headers.
    pub set: Vec<(&'a str, Cow<'a, str>)>,
}

/// The response sent instead of forwarding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    /// A small JSON body with the reason; never the token.
    pub body: String,
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
    /// Identity is set when a token was validated. The bearer token is
    /// removed when an enforced request is allowed and `forward_authorization`
    /// is off; in dry run the upstream's own authentication still needs it.
    /// Only edits that change something are listed: each is a host call.
    pub fn upstream_headers<'a>(
        &'a self,
        settings: &'a EnvoySettings,
        request: &Request,
    ) -> HeaderChanges<'a> {
        let present = |name: &str| request.header_values(name).next().is_some();
        let mut changes = HeaderChanges::default();
        for name in [
            &settings.subject_header,
            &settings.roles_header,
            &settings.client_id_header,
        ] {
            if present(name) {
                changes.remove.push(name);
            }
        }
        let bearer = matches!(self.credential, Credential::Bearer);
        if bearer
            && self.allowed
            && !self.dry_run
            && !settings.forward_authorization
            && present("authorization")
        {
            changes.remove.push("authorization");
        }
        if let Some(path) = &self.upstream_path {
            if *path != request.path {
                changes.set.push((":path", Cow::Borrowed(path)));
            }
        }
        if bearer && self.issuer.is_some() && self.reason != Reason::InvalidToken {
            if let Some(subject) = &self.subject {
                changes
                    .set
                    .push((&settings.subject_header, header_safe(subject)));
            }
            if !self.roles.is_empty() {
                changes
                    .set
                    .push((&settings.roles_header, Cow::Owned(self.roles.join(","))));
            }
            if let Some(client_id) = &self.client_id {
                changes
                    .set
                    .push((&settings.client_id_header, header_safe(client_id)));
            }
        }
        changes
    }

    /// The response to send when the request is not forwarded.
    pub fn denial(&self) -> Denial {
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
        let mut headers = vec![
            ("content-type", "application/json".to_owned()),
            ("cache-control", "no-store".to_owned()),
        ];
        if let Some(challenge) = &self.www_authenticate {
            headers.push(("www-authenticate", challenge.clone()));
        }
        Denial {
            status: self.status,
            headers,
            body,
        }
    }

    /// One JSON line for the audit log: who, what, and the verdict. Never
    /// the token or the query (which may hold one).
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
            rule: self
                .rule
                .as_ref()
                .map(|r| format!("{}#{}", r.role, r.index)),
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
