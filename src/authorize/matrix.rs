//! The access matrix: for each role (or one token's claims), which methods on
//! which paths are allowed. Built from the same pieces as `decide`.

use crate::authorize::decision::{Reason, RuleRef};
use crate::authorize::evaluate::outside_prefix_reason;
use crate::authorize::rules::{
    judge, never_allowed, place, protected_path, MethodVerdict, Placement,
};
use crate::policy::{Policy, Role};
use crate::request::method::is_token;
use serde::Serialize;
use serde_json::{Map, Value};

/// What to tabulate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MatrixRequest {
    /// Paths to tabulate (with the policy's prefix, as requests carry them).
    pub paths: Vec<String>,
    /// Methods to tabulate.
    pub methods: Vec<String>,
    /// When set, one row for these claims (a claims-only preview) instead of
    /// one row per role.
    pub claims: Option<Map<String, Value>>,
    /// The time the claims are judged at (seconds since the epoch).
    pub now: u64,
}

/// Allowed or denied per role (or claims) x path x method.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Matrix {
    /// The paths, as asked.
    pub paths: Vec<String>,
    /// The methods, as asked.
    pub methods: Vec<String>,
    /// One row per role, or one for the claims.
    pub rows: Vec<MatrixRow>,
}

/// One row of a [`Matrix`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct MatrixRow {
    /// The role's name, or `"token"` for a claims row.
    pub name: String,
    /// `"role"` or `"token"`.
    #[cfg_attr(test, ts(type = "'role' | 'token'"))]
    pub kind: &'static str,
    /// For a role row: whether the role is enabled (a disabled role allows nothing).
    pub enabled: bool,
    /// The roles behind the row (for a token row: those its claims are granted).
    pub roles: Vec<String>,
    /// `cells[path][method]`.
    pub cells: Vec<Vec<MatrixCell>>,
}

/// What one role (or the claims) gets for one path and method.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct MatrixCell {
    /// Whether it is allowed.
    pub allowed: bool,
    /// Why.
    pub reason: Reason,
    /// The precise check behind `reason`.
    pub cause: Option<&'static str>,
    /// The rule that decided, if one did.
    pub rule: Option<RuleRef>,
}

impl MatrixCell {
    fn new(reason: Reason, cause: Option<&'static str>, rule: Option<RuleRef>) -> Self {
        MatrixCell {
            allowed: reason.is_allowed(),
            reason,
            cause,
            rule,
        }
    }
}

/// One row to compute: its label and the roles behind it (or why there are none).
struct RowSpec<'p> {
    name: String,
    kind: &'static str,
    enabled: bool,
    granted: Result<Vec<&'p Role>, MatrixCell>,
}

impl Policy {
    /// Tabulates the policy: what each role (or the given claims) may do.
    pub fn matrix(&self, request: &MatrixRequest) -> Matrix {
        let rows: Vec<RowSpec> = match &request.claims {
            Some(claims) => vec![RowSpec {
                name: "token".to_owned(),
                kind: "token",
                enabled: true,
                granted: self
                    .roles_for_claims(claims, request.now)
                    .map_err(|(reason, cause)| MatrixCell::new(reason, cause, None)),
            }],
            None => self
                .roles
                .iter()
                .map(|role| RowSpec {
                    name: role.name.clone(),
                    kind: "role",
                    enabled: role.enabled,
                    granted: if role.enabled {
                        Ok(vec![role])
                    } else {
                        Err(MatrixCell::new(Reason::NoRole, Some("role_disabled"), None))
                    },
                })
                .collect(),
        };
        // Paths are canonicalised once, not once per row and method.
        let canonical: Vec<_> = request
            .paths
            .iter()
            .map(|p| self.canonical_path(p))
            .collect();
        let rows = rows
            .into_iter()
            .map(
                |RowSpec {
                     name,
                     kind,
                     enabled,
                     granted,
                 }| MatrixRow {
                    roles: granted
                        .as_ref()
                        .map(|g| g.iter().map(|r| r.name.clone()).collect())
                        .unwrap_or_default(),
                    cells: canonical
                        .iter()
                        .map(|path| {
                            request
                                .methods
                                .iter()
                                .map(|method| match path {
                                    Err(err) => {
                                        MatrixCell::new(Reason::InvalidPath, Some(err.code()), None)
                                    }
                                    Ok(path) => self.cell(&granted, method, path),
                                })
                                .collect()
                        })
                        .collect(),
                    name,
                    kind,
                    enabled,
                },
            )
            .collect();
        Matrix {
            paths: request.paths.clone(),
            methods: request.methods.clone(),
            rows,
        }
    }

    /// One cell, checked in the order `decide` checks a request.
    fn cell(
        &self,
        granted: &Result<Vec<&Role>, MatrixCell>,
        method: &str,
        path: &crate::request::path::CanonicalPath,
    ) -> MatrixCell {
        if !is_token(method) {
            return MatrixCell::new(Reason::InvalidRequest, Some("invalid_method"), None);
        }
        let methods = [method.to_owned()];
        if never_allowed(&methods).is_some() {
            return MatrixCell::new(Reason::ForbiddenMethod, None, None);
        }
        let segments = match place(self, path) {
            Placement::Inside(segments) => segments,
            Placement::Outside => return MatrixCell::new(outside_prefix_reason(self), None, None),
        };
        let granted = match granted {
            Ok(roles) => roles,
            Err(cell) => return cell.clone(),
        };
        match judge(granted, method, &segments) {
            MethodVerdict::Allowed(rule) => {
                if protected_path(self, &methods, &segments).is_some() {
                    MatrixCell::new(Reason::AuthenticationConfigProtected, None, Some(rule))
                } else {
                    MatrixCell::new(Reason::Allowed, None, Some(rule))
                }
            }
            MethodVerdict::Denied(rule) => MatrixCell::new(Reason::DeniedByRule, None, Some(rule)),
            MethodVerdict::NotPermitted => MatrixCell::new(Reason::NotPermitted, None, None),
        }
    }
}
