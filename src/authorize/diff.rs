//! What changes between two policies, cell by cell: for each role (of
//! either), method and path, whether the newer policy allows what the older
//! denied ("grows") or denies what it allowed ("shrinks"). Built on the
//! matrix, so a diff shows exactly what the filter would decide differently.

use crate::authorize::matrix::{MatrixCell, MatrixRequest, MatrixRow};
use crate::policy::Policy;
use serde::Serialize;
use std::collections::BTreeSet;

/// Whether one cell's access changed, and which way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Change {
    /// Allowed in both or denied in both.
    Same,
    /// Denied before, allowed now: access grows.
    Grows,
    /// Allowed before, denied now.
    Shrinks,
}

/// Whether a role is in the older policy, the newer, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum Presence {
    /// In both policies.
    Both,
    /// Only in the newer policy.
    Added,
    /// Only in the older policy.
    Removed,
}

/// Role x path x method, before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct MatrixDiff {
    /// The paths compared.
    pub paths: Vec<String>,
    /// The methods compared.
    pub methods: Vec<String>,
    /// The older policy's roles in its order, then the roles only the newer has.
    pub rows: Vec<DiffRow>,
    /// How many cells are allowed now that were denied.
    pub grown: usize,
    /// How many cells are denied now that were allowed.
    pub shrunk: usize,
}

/// One role's cells in a [`MatrixDiff`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DiffRow {
    /// The role's name.
    pub name: String,
    /// Which policies have the role.
    pub presence: Presence,
    /// `cells[path][method]`.
    pub cells: Vec<Vec<DiffCell>>,
}

/// One role, path and method, before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DiffCell {
    /// Which way access changed.
    pub change: Change,
    /// The older policy's cell (`null` when it has no such role).
    pub before: Option<MatrixCell>,
    /// The newer policy's cell (`null` when it has no such role).
    pub after: Option<MatrixCell>,
}

impl DiffCell {
    fn new(before: Option<MatrixCell>, after: Option<MatrixCell>) -> Self {
        let allowed = |cell: &Option<MatrixCell>| cell.as_ref().is_some_and(|c| c.allowed);
        let change = match (allowed(&before), allowed(&after)) {
            (false, true) => Change::Grows,
            (true, false) => Change::Shrinks,
            _ => Change::Same,
        };
        DiffCell {
            change,
            before,
            after,
        }
    }
}

/// The methods a diff compares unless told otherwise.
pub const DIFF_METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

impl MatrixRequest {
    /// What a diff of `older` and `newer` compares by default: the sample
    /// paths of both ([`Policy::sample_paths`]) and GET, HEAD, POST, PUT,
    /// PATCH and DELETE.
    pub fn for_diff(older: &Policy, newer: &Policy) -> MatrixRequest {
        let mut paths = older.sample_paths();
        paths.extend(newer.sample_paths());
        paths.sort();
        paths.dedup();
        MatrixRequest {
            paths,
            methods: DIFF_METHODS.iter().map(|m| m.to_string()).collect(),
            claims: None,
            now: 0,
        }
    }
}

impl Policy {
    /// Paths that exercise the policy's rules: each rule's and each
    /// `authentication_paths` pattern under the prefix, with `x` for a `*`
    /// or `**` segment, and a `/**` pattern's base. Sorted, without repeats.
    pub fn sample_paths(&self) -> Vec<String> {
        let prefix = self.prefix.as_deref().unwrap_or("");
        let patterns = self
            .roles
            .iter()
            .flat_map(|role| role.rules.iter())
            .flat_map(|rule| rule.paths.iter())
            .chain(self.authentication_paths.iter())
            .map(|p| p.as_str());
        let mut out = BTreeSet::new();
        for pattern in patterns {
            let sample = |p: &str| {
                let path = format!("{prefix}{}", p.replace("**", "x").replace('*', "x"));
                if path.is_empty() {
                    "/".to_owned()
                } else {
                    path
                }
            };
            out.insert(sample(pattern));
            if let Some(base) = pattern.strip_suffix("/**") {
                out.insert(sample(base));
            }
        }
        out.into_iter().collect()
    }

    /// Compares this (older) policy with `newer` on the request's paths and
    /// methods; its claims, if any, are ignored (a diff compares roles).
    pub fn diff(&self, newer: &Policy, request: &MatrixRequest) -> MatrixDiff {
        let roles_only = MatrixRequest {
            claims: None,
            ..request.clone()
        };
        let before = self.matrix(&roles_only);
        let after = newer.matrix(&roles_only);
        fn cells_of<'m>(rows: &'m [MatrixRow], name: &str) -> Option<&'m Vec<Vec<MatrixCell>>> {
            rows.iter().find(|r| r.name == name).map(|r| &r.cells)
        }
        let mut names: Vec<&str> = before.rows.iter().map(|r| r.name.as_str()).collect();
        for row in &after.rows {
            if !names.contains(&row.name.as_str()) {
                names.push(&row.name);
            }
        }
        let rows: Vec<DiffRow> = names
            .into_iter()
            .map(|name| {
                let old = cells_of(&before.rows, name);
                let new = cells_of(&after.rows, name);
                let presence = match (&old, &new) {
                    (Some(_), None) => Presence::Removed,
                    (None, Some(_)) => Presence::Added,
                    _ => Presence::Both,
                };
                let cells = (0..request.paths.len())
                    .map(|p| {
                        (0..request.methods.len())
                            .map(|m| {
                                // Both matrices were built from one request, so
                                // every row has a cell here.
                                let pick = |c: Option<&Vec<Vec<MatrixCell>>>| {
                                    c.and_then(|c| c.get(p)?.get(m).cloned())
                                };
                                DiffCell::new(pick(old), pick(new))
                            })
                            .collect()
                    })
                    .collect();
                DiffRow {
                    name: name.to_owned(),
                    presence,
                    cells,
                }
            })
            .collect();
        let count = |change| {
            rows.iter()
                .flat_map(|r| r.cells.iter().flatten())
                .filter(|c| c.change == change)
                .count()
        };
        MatrixDiff {
            grown: count(Change::Grows),
            shrunk: count(Change::Shrinks),
            paths: request.paths.clone(),
            methods: request.methods.clone(),
            rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(rules: &str, extra: &str) -> Policy {
        let text = format!(
            r#"{{"issuers": [{{"issuer": "https://idp", "audiences": ["api"],
                "jwks": {{"keys": [{{"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA", "alg": "HS256"}}]}}, "algorithms": ["HS256"]}}],
                "path_prefix": "/admin"{extra},
                "roles": [{rules}]}}"#
        );
        Policy::from_json(&text).unwrap()
    }

    fn request(policy: &Policy, methods: &[&str]) -> MatrixRequest {
        MatrixRequest {
            methods: methods.iter().map(|m| m.to_string()).collect(),
            ..MatrixRequest::for_diff(policy, policy)
        }
    }

    const AUDITOR: &str = r#"{"name": "auditor", "required_attributes": [{"claim": "roles", "value": "a"}],
        "rules": [{"effect": "allow", "methods": ["GET"], "paths": ["/status/**"]}]}"#;

    #[test]
    fn sample_paths_cover_each_pattern_and_a_globs_base() {
        let p = policy(AUDITOR, r#", "authentication_paths": ["/auth/*"]"#);
        assert_eq!(
            p.sample_paths(),
            ["/admin/auth/x", "/admin/status", "/admin/status/x"]
        );
    }

    #[test]
    fn an_added_method_grows_and_a_removed_path_shrinks() {
        let old = policy(AUDITOR, "");
        let new = policy(
            r#"{"name": "auditor", "required_attributes": [{"claim": "roles", "value": "a"}],
                "rules": [{"effect": "allow", "methods": ["GET", "DELETE"], "paths": ["/status"]}]}"#,
            "",
        );
        let diff = old.diff(&new, &request(&old, &["GET", "DELETE"]));
        assert_eq!(diff.paths, ["/admin/status", "/admin/status/x"]);
        let row = &diff.rows[0];
        assert_eq!(row.presence, Presence::Both);
        // /admin/status: GET same, DELETE grows; /admin/status/x: GET shrinks.
        assert_eq!(row.cells[0][0].change, Change::Same);
        assert_eq!(row.cells[0][1].change, Change::Grows);
        assert_eq!(row.cells[1][0].change, Change::Shrinks);
        assert_eq!((diff.grown, diff.shrunk), (1, 1));
    }

    #[test]
    fn a_role_only_one_policy_has_is_added_or_removed() {
        let old = policy(AUDITOR, "");
        let new = policy(
            r#"{"name": "admin", "required_attributes": [{"claim": "roles", "value": "b"}],
                "rules": [{"effect": "allow", "methods": ["GET"], "paths": ["/status/**"]}]}"#,
            "",
        );
        let diff = old.diff(&new, &request(&old, &["GET"]));
        let presence: Vec<_> = diff
            .rows
            .iter()
            .map(|r| (r.name.as_str(), r.presence))
            .collect();
        assert_eq!(
            presence,
            [("auditor", Presence::Removed), ("admin", Presence::Added)]
        );
        assert!(diff.rows[0].cells[0][0].after.is_none());
        assert_eq!((diff.grown, diff.shrunk), (2, 2));
    }

    #[test]
    fn by_default_a_diff_compares_the_paths_of_both_policies() {
        let old = policy(AUDITOR, "");
        let new = policy(AUDITOR, r#", "authentication_paths": ["/auth"]"#);
        let request = MatrixRequest::for_diff(&old, &new);
        assert_eq!(
            request.paths,
            ["/admin/auth", "/admin/status", "/admin/status/x"]
        );
        assert_eq!(request.methods, DIFF_METHODS);
    }

    #[test]
    fn identical_policies_have_no_change() {
        let old = policy(AUDITOR, "");
        let diff = old.diff(&policy(AUDITOR, ""), &request(&old, &["GET", "PUT"]));
        assert_eq!((diff.grown, diff.shrunk), (0, 0));
    }
}
