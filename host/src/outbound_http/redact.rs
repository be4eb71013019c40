//! Redaction by name for the history log: headers and query parameters
//! that look like credentials are never recorded, whoever set them. The
//! values the host injected are scrubbed by meaning, wherever and however
//! they appear, by [`crate::scrub`].

/// Header names whose values are always replaced.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "apikey",
    "x-auth-token",
    "x-access-token",
    "x-amz-security-token",
];

/// Fragments that mark a header or query parameter name as secret.
const SECRET_FRAGMENTS: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "api-key",
    "api_key",
    "apikey",
    "signature",
    "session",
    "auth",
];

pub const REDACTED: &str = "[redacted]";

/// Is a header or query parameter with this name secret?
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_HEADERS.contains(&lower.as_str())
        || SECRET_FRAGMENTS.iter().any(|f| lower.contains(f))
        || lower == "key"
        || lower == "sig"
        || lower == "code"
}

pub fn headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            let v = if is_secret_name(n) {
                REDACTED.to_string()
            } else {
                v.clone()
            };
            (n.clone(), v)
        })
        .collect()
}

/// The URL with user info removed and secret query values replaced.
pub fn url(url: &url::Url) -> String {
    let mut out = url.clone();
    let _ = out.set_username("");
    let _ = out.set_password(None);
    if out.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_name(&k) {
                    REDACTED.to_string()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        out.query_pairs_mut().clear().extend_pairs(pairs);
    }
    out.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_credentials() {
        let h = headers(&[
            ("Authorization".into(), "Bearer s3cret".into()),
            ("X-Api-Key".into(), "k".into()),
            ("Set-Cookie".into(), "a=b".into()),
            ("X-Custom-Token".into(), "t".into()),
            ("Accept".into(), "application/json".into()),
        ]);
        assert!(h[..4].iter().all(|(_, v)| v == REDACTED));
        assert_eq!(h[4].1, "application/json");
        let u = url::Url::parse("https://u:p@api.io/x?api_key=abc&q=weft&access_token=zz")
            .expect("test URL");
        let r = url(&u);
        assert!(
            !r.contains("abc") && !r.contains("zz") && !r.contains("u:p"),
            "{r}"
        );
        assert!(r.contains("q=weft"));
    }
}
