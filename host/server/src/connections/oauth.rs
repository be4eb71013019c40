//! OAuth2 for connections, on the `oauth2` crate (RFC 6749 + PKCE, the
//! maintained standard in Rust): the authorization-code flow with PKCE
//! (authorize URL → `/oauth/callback` → code exchange), client credentials,
//! and refresh. Token requests go through the runtime's operator routes so
//! a staging setup that routes `https://slack.com` to a mock routes its
//! token endpoint too; redirects are never followed (SSRF).

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Tokens from a token endpoint.
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: Option<Duration>,
}

/// Why a token request failed. `rejected` means the endpoint refused the
/// grant (bad code, revoked refresh token): the owner must authorize again.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct TokenError {
    pub rejected: bool,
    pub message: String,
}

/// An authorization in progress, kept until the callback comes (by state).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub connection_id: String,
    pub verifier: String,
    pub redirect_uri: String,
    pub created_at: i64,
}

/// How long an authorize URL stays valid.
pub const PENDING_TTL_MS: i64 = 10 * 60 * 1000;

/// The authorize URL for a connection, its CSRF state and PKCE verifier.
pub fn authorize_url(
    client_id: &str,
    authorize_url: &str,
    token_url: &str,
    scopes: &[String],
    redirect_uri: &str,
) -> Result<(String, String, String), String> {
    let client = BasicClient::new(ClientId::new(client_id.to_string()))
        .set_auth_uri(AuthUrl::new(authorize_url.to_string()).map_err(|e| e.to_string())?)
        .set_token_uri(TokenUrl::new(token_url.to_string()).map_err(|e| e.to_string())?)
        .set_redirect_uri(RedirectUrl::new(redirect_uri.to_string()).map_err(|e| e.to_string())?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(scopes.iter().map(|s| Scope::new(s.clone())))
        .set_pkce_challenge(challenge)
        .url();
    Ok((
        url.to_string(),
        state.secret().clone(),
        verifier.secret().clone(),
    ))
}

/// Token responses are small; anything bigger is refused.
const MAX_TOKEN_RESPONSE: usize = 64 << 10;

/// Sends the token requests: reqwest without redirects, through `route`.
#[derive(Clone)]
pub struct TokenHttp {
    client: reqwest::Client,
    route: std::sync::Arc<dyn Fn(&url::Url) -> url::Url + Send + Sync>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

impl TokenHttp {
    pub fn new(
        route: std::sync::Arc<dyn Fn(&url::Url) -> url::Url + Send + Sync>,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot build the token HTTP client: {e}"))?;
        Ok(TokenHttp { client, route })
    }

    async fn send(&self, req: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, HttpError> {
        let url = url::Url::parse(&req.uri().to_string())
            .map_err(|e| HttpError(format!("token URL: {e}")))?;
        let target = (self.route)(&url);
        let mut builder = self
            .client
            .request(req.method().clone(), target.as_str())
            .body(req.body().clone());
        for (name, value) in req.headers() {
            builder = builder.header(name, value);
        }
        let resp = builder
            .send()
            .await
            .map_err(|e| HttpError(format!("token endpoint unreachable: {e}")))?;
        let mut out = oauth2::http::Response::builder().status(resp.status().as_u16());
        for (name, value) in resp.headers() {
            out = out.header(name.as_str(), value.as_bytes());
        }
        let mut resp = resp;
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| HttpError(format!("token endpoint: {e}")))?
        {
            if body.len() + chunk.len() > MAX_TOKEN_RESPONSE {
                return Err(HttpError(format!(
                    "the token endpoint's answer exceeds {MAX_TOKEN_RESPONSE} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        out.body(body)
            .map_err(|e| HttpError(format!("token endpoint: {e}")))
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for TokenHttp {
    type Error = HttpError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send + 'c>,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

fn client(
    client_id: &str,
    client_secret: Option<&str>,
    token_url: &str,
) -> Result<
    BasicClient<
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    TokenError,
> {
    let mut client = BasicClient::new(ClientId::new(client_id.to_string())).set_token_uri(
        TokenUrl::new(token_url.to_string()).map_err(|e| TokenError {
            rejected: true,
            message: format!("token URL {token_url:?}: {e}"),
        })?,
    );
    if let Some(secret) = client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.to_string()));
    }
    Ok(client)
}

fn tokens(response: oauth2::basic::BasicTokenResponse) -> Tokens {
    Tokens {
        access_token: response.access_token().secret().clone(),
        refresh_token: response.refresh_token().map(|t| t.secret().clone()),
        expires_in: response.expires_in(),
    }
}

/// Error codes by which a token endpoint refuses the grant itself (the
/// owner must authorize again). RFC 6749's, plus Slack's own names. Any
/// other failure — a 5xx page, `temporarily_unavailable`, rate limiting —
/// is temporary and must not cost the connection its authorization.
const REFUSALS: &[&str] = &[
    "invalid_grant",
    "invalid_client",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_refresh_token",
    "invalid_code",
    "invalid_client_id",
    "bad_client_secret",
    "invalid_code_verifier",
    "bad_redirect_uri",
    "token_revoked",
    "token_expired",
    "app_deleted",
];

fn refused(what: &str, code: &str) -> TokenError {
    TokenError {
        rejected: REFUSALS.contains(&code),
        message: format!("{what} refused by the token endpoint: {code}"),
    }
}

fn token_error<E: std::error::Error + 'static>(
    what: &str,
    e: RequestTokenError<E, oauth2::basic::BasicErrorResponse>,
) -> TokenError {
    match e {
        RequestTokenError::ServerResponse(r) => refused(what, r.error().as_ref()),
        RequestTokenError::Request(e) => TokenError {
            rejected: false,
            message: format!("{what} failed: {e}"),
        },
        // Some providers (Slack) answer 200 with {"ok":false,"error":...};
        // a gateway's HTML error page lands here too.
        RequestTokenError::Parse(_, body) => {
            let code = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string));
            match code {
                Some(code) => refused(what, &code),
                None => TokenError {
                    rejected: false,
                    message: format!("{what}: the token endpoint's answer is not a token response"),
                },
            }
        }
        RequestTokenError::Other(m) => TokenError {
            rejected: false,
            message: format!("{what} failed: {m}"),
        },
    }
}

/// Exchange an authorization code (with its PKCE verifier) for tokens.
pub async fn exchange_code(
    http: &TokenHttp,
    client_id: &str,
    client_secret: Option<&str>,
    token_url: &str,
    redirect_uri: &str,
    code: &str,
    verifier: &str,
) -> Result<Tokens, TokenError> {
    let redirect = RedirectUrl::new(redirect_uri.to_string()).map_err(|e| TokenError {
        rejected: true,
        message: format!("redirect URI: {e}"),
    })?;
    let client = client(client_id, client_secret, token_url)?.set_redirect_uri(redirect);
    client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
        .request_async(http)
        .await
        .map(tokens)
        .map_err(|e| token_error("the code exchange", e))
}

/// Trade a refresh token for new tokens.
pub async fn refresh(
    http: &TokenHttp,
    client_id: &str,
    client_secret: Option<&str>,
    token_url: &str,
    refresh_token: &str,
) -> Result<Tokens, TokenError> {
    let client = client(client_id, client_secret, token_url)?;
    client
        .exchange_refresh_token(&RefreshToken::new(refresh_token.to_string()))
        .request_async(http)
        .await
        .map(tokens)
        .map_err(|e| token_error("the token refresh", e))
}

/// The client-credentials grant.
pub async fn client_credentials(
    http: &TokenHttp,
    client_id: &str,
    client_secret: Option<&str>,
    token_url: &str,
    scopes: &[String],
) -> Result<Tokens, TokenError> {
    let client = client(client_id, client_secret, token_url)?;
    client
        .exchange_client_credentials()
        .add_scopes(scopes.iter().map(|s| Scope::new(s.clone())))
        .request_async(http)
        .await
        .map(tokens)
        .map_err(|e| token_error("the client-credentials grant", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use axum::routing::post;
    use std::sync::Arc;

    /// A token endpoint on 127.0.0.1 that answers by the form's `scope`:
    /// `ok` → a token (after checking the grant and the client's Basic
    /// credentials), `refuse` → 401 invalid_client, `down` → a 503 page.
    async fn token_endpoint() -> String {
        let app = Router::new().route(
            "/token",
            post(|headers: HeaderMap, body: String| async move {
                let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
                    .into_owned()
                    .collect();
                let get = |k: &str| {
                    form.iter()
                        .find(|(n, _)| n == k)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                let basic = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                match get("scope").as_str() {
                    "ok" if get("grant_type") == "client_credentials"
                        // base64("cid:csecret")
                        && basic == "Basic Y2lkOmNzZWNyZXQ=" =>
                    {
                        axum::Json(serde_json::json!({
                            "access_token": "at-1", "token_type": "bearer", "expires_in": 3600
                        }))
                        .into_response()
                    }
                    "down" => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "<html>upstream down</html>",
                    )
                        .into_response(),
                    _ => (
                        StatusCode::UNAUTHORIZED,
                        axum::Json(serde_json::json!({"error": "invalid_client"})),
                    )
                        .into_response(),
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}/token")
    }

    #[tokio::test]
    async fn client_credentials_get_a_token_and_only_refusals_are_rejections() {
        let url = token_endpoint().await;
        let http = TokenHttp::new(Arc::new(|u: &url::Url| u.clone())).expect("client");
        let scopes = |s: &str| vec![s.to_string()];
        let tokens = client_credentials(&http, "cid", Some("csecret"), &url, &scopes("ok"))
            .await
            .unwrap_or_else(|e| panic!("token: {}", e.message));
        assert_eq!(tokens.access_token, "at-1");
        assert_eq!(tokens.expires_in, Some(Duration::from_secs(3600)));

        let refused = client_credentials(&http, "cid", Some("wrong"), &url, &scopes("ok"))
            .await
            .err()
            .expect("refused");
        assert!(refused.rejected, "{}", refused.message);
        assert!(
            refused.message.contains("invalid_client"),
            "{}",
            refused.message
        );
        assert!(
            !refused.message.contains("wrong"),
            "no secret in the message"
        );

        let down = client_credentials(&http, "cid", Some("csecret"), &url, &scopes("down"))
            .await
            .err()
            .expect("down");
        assert!(
            !down.rejected,
            "an outage is not a refusal: {}",
            down.message
        );
    }
}
