//! Likely mistakes in a valid policy, said as notices (`rolegate check`
//! prints them, `--strict` makes them errors, the filter logs them at load):
//! a method that differs from a keyword only by case matches nothing a
//! person meant (`"READ"` is the method named READ, not GET and HEAD).

use super::document::RoleDocument;
use crate::jose::json::JsonPath;

/// Methods of HTTP (RFC 9110), WebDAV and caches that admin APIs see.
const KNOWN_METHODS: [&str; 19] = [
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "PATCH",
    "DELETE",
    "OPTIONS",
    "TRACE",
    "CONNECT",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "REPORT",
    "SEARCH",
    "PURGE",
];

/// Notices for the rules' `methods` of `roles`.
pub(crate) fn method_notices(roles: &[RoleDocument], notices: &mut Vec<String>) {
    for (r, role) in roles.iter().enumerate() {
        for (i, rule) in role.rules.iter().enumerate() {
            for (m, method) in rule.methods.iter().enumerate() {
                let at = JsonPath::root()
                    .field("roles")
                    .index(r)
                    .field("rules")
                    .index(i)
                    .field("methods")
                    .index(m);
                if let Some(why) = method_notice(method) {
                    notices.push(format!("{at}: {why}"));
                }
            }
        }
    }
}

/// What is likely wrong with one `methods` entry, if anything.
fn method_notice(method: &str) -> Option<String> {
    for keyword in ["read", "write"] {
        if method != keyword && method.eq_ignore_ascii_case(keyword) {
            return Some(format!(
                "\"{method}\" is the method named {method}, not the keyword \"{keyword}\" ({}); \
                 write \"{keyword}\"",
                if keyword == "read" {
                    "GET and HEAD"
                } else {
                    "every other method"
                }
            ));
        }
    }
    let name_like = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
    if !name_like || KNOWN_METHODS.contains(&method) {
        return None;
    }
    let near = KNOWN_METHODS
        .iter()
        .find(|known| edit_distance(known, method) <= 2)
        .map(|known| format!(" (did you mean {known}?)"))
        .unwrap_or_default();
    Some(format!(
        "\"{method}\" is no standard HTTP method{near}; it matches only requests with that very method"
    ))
}

/// Levenshtein distance of two short ASCII words.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut previous = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != *cb);
            let (Some(&left), Some(&up)) = (row.get(j), row.get(j + 1)) else {
                break;
            };
            previous = up;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = substitute.min(left + 1).min(up + 1);
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_lookalikes_and_typos_are_noticed() {
        assert!(method_notice("READ").unwrap().contains("write \"read\""));
        assert!(method_notice("Write").unwrap().contains("write \"write\""));
        assert!(method_notice("DELET")
            .unwrap()
            .contains("did you mean DELETE?"));
        assert!(method_notice("FROB")
            .unwrap()
            .contains("no standard HTTP method"));
        for fine in ["read", "write", "*", "GET", "PROPFIND", "PURGE"] {
            assert_eq!(method_notice(fine), None, "{fine}");
        }
        assert_eq!(edit_distance("DELETE", "DELET"), 1);
        assert_eq!(edit_distance("GET", "GET"), 0);
    }
}
