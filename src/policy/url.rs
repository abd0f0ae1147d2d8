//! Absolute http(s) URLs of the policy (remote key sets, discovery,
//! introspection, the token endpoint's issuer), split as an HTTP call needs.

/// An absolute http(s) URL split the way an HTTP call needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub scheme: String,
    pub authority: String,
    /// Path and query, starting with `/`.
    pub path: String,
}

/// An absolute URL's scheme, authority and path (with what follows it;
/// `/` when there is none), as written: `None` without `://`. Each caller
/// checks the parts as it must.
pub(crate) fn split_absolute(text: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = text.split_once("://")?;
    Some(match rest.find('/') {
        Some(i) => (
            scheme,
            rest.get(..i).unwrap_or_default(),
            rest.get(i..).unwrap_or("/"),
        ),
        None => (scheme, rest, "/"),
    })
}

impl Url {
    pub fn parse(text: &str) -> Result<Url, String> {
        let (scheme, authority, path) = split_absolute(text)
            .ok_or_else(|| format!("\"{text}\" is not an absolute URL; write https://host/path"))?;
        if scheme != "https" && scheme != "http" {
            return Err(format!("scheme \"{scheme}\" is not http or https"));
        }
        // One grammar for every host[:port] a policy names.
        if host_and_port(authority).is_none() {
            return Err(format!(
                "\"{authority}\" is not a host name with an optional port (1-65535)"
            ));
        }
        if path.contains('#') || path.bytes().any(|b| b <= 0x20 || b == 0x7f) {
            return Err(
                "the path may not hold spaces, control characters or a fragment".to_owned(),
            );
        }
        Ok(Url {
            scheme: scheme.to_owned(),
            authority: authority.to_owned(),
            path: path.to_owned(),
        })
    }

    pub fn to_text(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.path)
    }
}

/// `scheme://host[:port]` in the form two spellings of one origin share
/// (RFC 3986 §6.2.2-3: lower-case scheme and host, no default port), or
/// `None` when `text` is not an http(s) origin without path, user or query.
pub(crate) fn normal_origin(text: &str) -> Option<String> {
    let (scheme, authority) = text.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let authority = authority.strip_suffix('/').unwrap_or(authority);
    normal_authority(authority, default_port).map(|a| format!("{scheme}://{a}"))
}

/// An authority's host (an IPv6 literal keeps its brackets) and port, when
/// it is a host name or IP literal with an optional port from 1 to 65535;
/// `None` for anything else (user info, a path, an empty or bad port).
/// The one host[:port] grammar of the policy's URLs and origins.
pub(crate) fn host_and_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = match authority.rsplit_once(':') {
        // An IPv6 literal's colons are inside its brackets.
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (authority, None),
    };
    let host_ok = !host.is_empty()
        && (host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            || (host.starts_with('[')
                && host.ends_with(']')
                && host
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b"[]:.".contains(&b))));
    if !host_ok {
        return None;
    }
    let port = match port {
        None => None,
        Some(port) => {
            if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some(port.parse::<u16>().ok().filter(|n| *n != 0)?)
        }
    };
    Some((host, port))
}

/// A host with an optional port, lower case, without the scheme's default
/// port (see [`host_and_port`]).
pub(crate) fn normal_authority(authority: &str, default_port: u16) -> Option<String> {
    let (host, port) = host_and_port(authority)?;
    let host = host.to_ascii_lowercase();
    Some(match port {
        Some(port) if port != default_port => format!("{host}:{port}"),
        _ => host,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse("https://idp.example.com:8443/oauth/jwks?x=1").unwrap();
        assert_eq!(u.authority, "idp.example.com:8443");
        assert_eq!(u.path, "/oauth/jwks?x=1");
        assert_eq!(Url::parse("https://idp").unwrap().path, "/");
        assert!(Url::parse("idp/jwks").is_err());
        assert!(Url::parse("ftp://idp/jwks").is_err());
        assert!(Url::parse("https:///jwks").is_err());
        assert!(Url::parse("https://idp/a b").is_err());
        assert!(Url::parse("https://user@idp/").is_err());
        assert!(Url::parse("https://a:b:c/").is_err());
        assert!(Url::parse("https://idp:0/").is_err());
        assert!(Url::parse("https://[::1]:8443/x").is_ok());
    }

    #[test]
    fn origins_have_one_spelling() {
        assert_eq!(
            normal_origin("HTTPS://Admin.Example.com:443").as_deref(),
            Some("https://admin.example.com")
        );
        assert_eq!(
            normal_origin("http://a:8080/").as_deref(),
            Some("http://a:8080")
        );
        assert_eq!(normal_origin("http://a:80").as_deref(), Some("http://a"));
        assert_eq!(
            normal_origin("https://[::1]:8443").as_deref(),
            Some("https://[::1]:8443")
        );
        assert_eq!(
            normal_origin("https://a:08443").as_deref(),
            Some("https://a:8443")
        );
        for bad in [
            "admin.example.com",
            "ftp://a",
            "https://a/b",
            "https://u@a",
            "https://a:b:c",
            "https://a:",
            "https://a:70000",
            "https://",
            "https://a?x",
        ] {
            assert_eq!(normal_origin(bad), None, "{bad}");
        }
    }
}
