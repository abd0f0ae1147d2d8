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

impl Url {
    pub fn parse(text: &str) -> Result<Url, String> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("\"{text}\" is not an absolute URL; write https://host/path"))?;
        if scheme != "https" && scheme != "http" {
            return Err(format!("scheme \"{scheme}\" is not http or https"));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (
                rest.get(..i).unwrap_or_default(),
                rest.get(i..).unwrap_or("/"),
            ),
            None => (rest, "/"),
        };
        let authority_ok = !authority.is_empty()
            && authority
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b));
        if !authority_ok {
            return Err(format!(
                "\"{authority}\" is not a host name (with an optional port)"
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
    }
}
