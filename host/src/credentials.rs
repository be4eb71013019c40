//! Credentials: the secrets a connection authenticates with, which the host
//! adds to a connector's requests and which never enter the sandbox.
//!
//! A caller hands an invocation a [`CredentialSource`] through
//! [`InvokeContext::credentials`](crate::InvokeContext::credentials). The
//! host's HTTP capability ([`crate::outbound_http`]) asks it for the
//! [`Credential`] once per invocation and puts it on every request (and
//! redirect hop) that passes the declared ∩ granted check — as a header, a
//! query parameter, or an `Authorization: Bearer`/`Basic` header, replacing
//! whatever the guest set there. On a 401 it asks the source once to
//! refresh and retries that request; a source that cannot provide a usable
//! credential ends the invocation with
//! [`InvokeError::Connection`](crate::InvokeError::Connection).
//!
//! Every secret value put on the wire is scrubbed from what the guest gets
//! back (response headers and body, error messages) and from the recorded
//! [`HttpCall`](crate::HttpCall)s, so neither the connector nor the run
//! history ever holds it.
//!
//! ```
//! use std::sync::Arc;
//! use weft_host::InvokeContext;
//! use weft_host::credentials::{Credential, Secret, StaticCredential};
//!
//! let ctx = InvokeContext {
//!     credentials: Some(StaticCredential::new(Credential::Bearer(Secret::new("xoxb-…")))),
//!     ..InvokeContext::default()
//! };
//! assert_eq!(format!("{:?}", Secret::new("hunter2")), "[redacted]");
//! # let _ = ctx;
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A secret string. `Debug` and `Display` print `[redacted]`; it is not
/// serializable; read it only with [`Secret::expose`], where it goes on the
/// wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself. Call it only to put the value on a request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::outbound_http::redact::REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::outbound_http::redact::REDACTED)
    }
}

/// What goes on a request (the `Debug` output shows names, never secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// Nothing is added.
    None,
    /// `name: value`, replacing any header of that name the guest set.
    ApiKeyHeader { name: String, value: Secret },
    /// `?name=value`, replacing any query parameter of that name.
    ApiKeyQuery { name: String, value: Secret },
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `Authorization: Basic base64(username:password)`.
    Basic { username: String, password: Secret },
}

impl Credential {
    /// Whether this credential adds anything to a request.
    pub fn is_none(&self) -> bool {
        matches!(self, Credential::None)
    }

    /// The values that go on the wire and must be scrubbed from whatever
    /// comes back: the raw secret and, for `Basic`, also the encoded pair.
    pub(crate) fn secret_values(&self) -> Vec<String> {
        match self {
            Credential::None => Vec::new(),
            Credential::ApiKeyHeader { value, .. }
            | Credential::ApiKeyQuery { value, .. }
            | Credential::Bearer(value) => vec![value.expose().to_string()],
            Credential::Basic { username, password } => vec![
                password.expose().to_string(),
                basic_pair(username, password),
            ],
        }
    }

    /// Put the credential on a request, replacing the guest's header or
    /// query parameter of the same name (header names case-insensitively;
    /// any `Authorization` for `Bearer` and `Basic`).
    pub(crate) fn apply(&self, url: &mut url::Url, headers: &mut Vec<(String, String)>) {
        let mut set_header = |name: &str, value: String| {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name.to_string(), value));
        };
        match self {
            Credential::None => {}
            Credential::ApiKeyHeader { name, value } => {
                set_header(name, value.expose().to_string());
            }
            Credential::Bearer(token) => {
                set_header("Authorization", format!("Bearer {}", token.expose()));
            }
            Credential::Basic { username, password } => {
                let pair = basic_pair(username, password);
                set_header("Authorization", format!("Basic {pair}"));
            }
            Credential::ApiKeyQuery { name, value } => {
                if url.query_pairs().any(|(k, _)| k == name.as_str()) {
                    let kept: Vec<(String, String)> = url
                        .query_pairs()
                        .filter(|(k, _)| k != name.as_str())
                        .map(|(k, v)| (k.into_owned(), v.into_owned()))
                        .collect();
                    url.query_pairs_mut().clear().extend_pairs(kept);
                }
                url.query_pairs_mut().append_pair(name, value.expose());
            }
        }
    }
}

fn basic_pair(username: &str, password: &Secret) -> String {
    base64(format!("{username}:{}", password.expose()).as_bytes())
}

/// Standard base64 with padding (RFC 4648 §4), as HTTP Basic uses.
fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Why a source has no usable credential. `needs_authorization` means a
/// person must (re)connect the account, e.g. an OAuth2 refresh token was
/// revoked; otherwise the problem may pass (e.g. the token endpoint is
/// down). The message must not contain secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CredentialError {
    pub needs_authorization: bool,
    pub message: String,
}

impl CredentialError {
    /// The connection must be authorized (again) by a person.
    pub fn needs_authorization(message: impl Into<String>) -> Self {
        CredentialError {
            needs_authorization: true,
            message: message.into(),
        }
    }

    /// The credential could not be obtained right now.
    pub fn unavailable(message: impl Into<String>) -> Self {
        CredentialError {
            needs_authorization: false,
            message: message.into(),
        }
    }
}

/// A boxed future returned by [`CredentialSource`] methods.
pub type CredentialFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where an invocation's credential comes from: a fixed value, or e.g. an
/// OAuth2 token store that refreshes.
pub trait CredentialSource: Send + Sync {
    /// The credential for the next request (an OAuth2 source refreshes here
    /// when its token is near expiry).
    fn current(&self) -> CredentialFuture<'_, Result<Credential, CredentialError>>;

    /// The API answered 401 to a request carrying the current credential:
    /// refresh if this kind can and return the credential to retry once
    /// with; `Ok(None)` when it cannot refresh (e.g. a static API key).
    fn refresh_after_unauthorized(
        &self,
    ) -> CredentialFuture<'_, Result<Option<Credential>, CredentialError>>;
}

/// A fixed credential (API key, bearer token, basic pair) that cannot be
/// refreshed.
#[derive(Debug, Clone)]
pub struct StaticCredential(Credential);

impl StaticCredential {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(credential: Credential) -> Arc<dyn CredentialSource> {
        Arc::new(StaticCredential(credential))
    }
}

impl CredentialSource for StaticCredential {
    fn current(&self) -> CredentialFuture<'_, Result<Credential, CredentialError>> {
        let credential = self.0.clone();
        Box::pin(async move { Ok(credential) })
    }

    fn refresh_after_unauthorized(
        &self,
    ) -> CredentialFuture<'_, Result<Option<Credential>, CredentialError>> {
        Box::pin(async { Ok(None) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let c = Credential::Basic {
            username: "ada".into(),
            password: Secret::new("hunter2"),
        };
        let shown = format!("{c:?} {}", Secret::new("hunter2"));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("ada") && shown.contains("[redacted]"),
            "{shown}"
        );
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("Aladdin:open sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
    }

    #[test]
    fn apply_replaces_the_guests_values() {
        let mut url = url::Url::parse("https://api.io/x?key=guest&q=1").expect("url");
        let mut headers = vec![
            ("authorization".to_string(), "Bearer guest".to_string()),
            ("X-Key".to_string(), "guest".to_string()),
            ("Accept".to_string(), "*/*".to_string()),
        ];
        Credential::Bearer(Secret::new("t0k")).apply(&mut url, &mut headers);
        Credential::ApiKeyHeader {
            name: "x-key".into(),
            value: Secret::new("k3y"),
        }
        .apply(&mut url, &mut headers);
        Credential::ApiKeyQuery {
            name: "key".into(),
            value: Secret::new("a b&c"),
        }
        .apply(&mut url, &mut headers);
        assert_eq!(
            headers,
            vec![
                ("Accept".to_string(), "*/*".to_string()),
                ("Authorization".to_string(), "Bearer t0k".to_string()),
                ("x-key".to_string(), "k3y".to_string()),
            ]
        );
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            vec![("q".into(), "1".into()), ("key".into(), "a b&c".into())]
        );

        let basic = Credential::Basic {
            username: "Aladdin".into(),
            password: Secret::new("open sesame"),
        };
        basic.apply(&mut url, &mut headers);
        assert!(headers.contains(&(
            "Authorization".to_string(),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==".to_string()
        )));
        assert_eq!(
            basic.secret_values(),
            vec!["open sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="]
        );
    }
}
