//! Redaction for the history log: credentials never reach it, whether the
//! host injected them or a connector put them in a header or query string.
//! The values of credentials the host injected are also scrubbed, wherever
//! they appear, from everything handed back to the guest
//! ([`scrub_secrets`]).

use std::borrow::Cow;

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

/// The secret values the host put on the wire during one invocation, in
/// every form they take there: as given, form-urlencoded (as in a query
/// string) and JSON-escaped (as an echoing API would return them).
#[derive(Debug, Default, Clone)]
pub struct SecretValues {
    /// Longest first, so a secret containing another is replaced whole.
    forms: Vec<Vec<u8>>,
}

impl SecretValues {
    /// Remember `secret` (empty values are ignored: there is nothing to find).
    pub fn add(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let json = serde_json::to_string(secret).unwrap_or_default();
        let json = json
            .strip_prefix('"')
            .and_then(|j| j.strip_suffix('"'))
            .unwrap_or(secret);
        for variant in [secret, form.as_str(), json] {
            let bytes = variant.as_bytes().to_vec();
            if !self.forms.contains(&bytes) {
                self.forms.push(bytes);
            }
        }
        self.forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    }

    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }
}

/// `bytes` with every occurrence of a secret replaced by `[redacted]`.
/// Borrowed (no copy) when nothing matched.
pub fn scrub_secrets<'a>(bytes: &'a [u8], secrets: &SecretValues) -> Cow<'a, [u8]> {
    let found = |at: usize| {
        secrets
            .forms
            .iter()
            .find(|s| bytes[at..].starts_with(s))
            .map(Vec::len)
    };
    let Some(first) = (0..bytes.len()).find(|&i| found(i).is_some()) else {
        return Cow::Borrowed(bytes);
    };
    let mut out = bytes[..first].to_vec();
    let mut i = first;
    while i < bytes.len() {
        match found(i) {
            Some(len) => {
                out.extend_from_slice(REDACTED.as_bytes());
                i += len;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

/// [`scrub_secrets`] for text. A secret is whole UTF-8, so replacing it
/// keeps the text valid.
pub fn scrub_secrets_text(text: &str, secrets: &SecretValues) -> String {
    match scrub_secrets(text.as_bytes(), secrets) {
        Cow::Borrowed(_) => text.to_string(),
        Cow::Owned(bytes) => String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_every_form_of_a_secret() {
        let mut secrets = SecretValues::default();
        secrets.add("s3cr\"t +/");
        secrets.add("s3cr");
        secrets.add("");
        let text = r#"raw=s3cr"t +/ query=s3cr%22t+%2B%2F json="s3cr\"t +/" short=s3cr ok=s3c"#;
        let scrubbed = scrub_secrets_text(text, &secrets);
        assert_eq!(
            scrubbed,
            r#"raw=[redacted] query=[redacted] json="[redacted]" short=[redacted] ok=s3c"#
        );
        // Bytes that are not UTF-8 around a secret survive untouched.
        let bytes = [&[0xff, 0xfe][..], b"s3cr", &[0x80]].concat();
        assert_eq!(
            scrub_secrets(&bytes, &secrets).as_ref(),
            [&[0xff, 0xfe][..], b"[redacted]", &[0x80]]
                .concat()
                .as_slice()
        );
        // Nothing to do: nothing copied.
        assert!(matches!(
            scrub_secrets(b"plain", &secrets),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            scrub_secrets(b"s3cr", &SecretValues::default()),
            Cow::Borrowed(_)
        ));
    }

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
