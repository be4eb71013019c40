//! A client of a running `weft serve`'s REST API, for the commands that
//! manage a server (`weft connection …`, `weft connector install …`): the
//! address from `--server` / `WEFT_SERVER`, the token from `--token` /
//! `WEFT_TOKEN`, the API's JSON errors turned into [`Failure`]s that say
//! what to do next.

use crate::exit::{Failure, USAGE};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use std::time::Duration;

/// The server answered with an API error (4xx).
pub const REFUSED: u8 = 5;
/// The server could not be reached, failed (5xx) or is not `weft serve`.
pub const UNREACHABLE: u8 = 6;

/// Where to find a token, for every refusal that is about one.
pub const TOKEN_HINT: &str = "set WEFT_TOKEN to your API token (or pass --token); the first admin's \
    token is printed when `weft serve` first starts, and admins create users and their tokens \
    with POST /api/v1/users";

/// Extra advice for an API error, by status.
pub type Hint<'a> = &'a dyn Fn(StatusCode) -> Option<String>;

/// Extra advice for an API error, by status and the error's `code` (e.g.
/// `connector_in_use`), for refusals one status does not tell apart.
pub type CodeHint<'a> = &'a dyn Fn(StatusCode, &str) -> Option<String>;

/// How long a request may take, unless it says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// One resource of one server's API (`/api/v1/{resource}`), as one user.
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: String,
    resource: &'static str,
    /// Advice for refusals, by status, before the generic ones.
    hints: fn(StatusCode) -> Option<String>,
}

impl Client {
    pub fn new(
        server: &str,
        token: Option<String>,
        resource: &'static str,
        hints: fn(StatusCode) -> Option<String>,
    ) -> Result<Self, Failure> {
        let base = Url::parse(server)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| {
                Failure::new(USAGE, format!("--server {server:?} is not an http(s) URL"))
                    .hint("e.g. --server http://127.0.0.1:8080 (or set WEFT_SERVER)")
            })?;
        let token = token
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Failure::new(USAGE, "no API token").hint(TOKEN_HINT))?;
        let http = reqwest::Client::builder()
            .timeout(DEFAULT_TIMEOUT)
            .build()
            .map_err(|e| Failure::new(crate::exit::INTERNAL, format!("HTTP client: {e}")))?;
        Ok(Client {
            http,
            base,
            token,
            resource,
            hints,
        })
    }

    /// `/api/v1/{resource}/{segments…}` on the server.
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.set_query(None);
        url.set_fragment(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty()
                .extend(["api", "v1", self.resource])
                .extend(segments);
        }
        url
    }

    /// Send a request; the answer's JSON body (`None` for 204), or the
    /// API's error as a [`Failure`] with a hint.
    pub async fn call(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<Value>,
        hint: Hint<'_>,
    ) -> Result<Option<Value>, Failure> {
        self.call_with_query(method, segments, &[], body, hint)
            .await
    }

    /// [`Client::call`] with a query string.
    pub async fn call_with_query(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<Value>,
        hint: Hint<'_>,
    ) -> Result<Option<Value>, Failure> {
        self.call_coded(method, segments, query, body, &|status, _| hint(status))
            .await
    }

    /// [`Client::call_with_query`] with advice by the error's code too.
    pub async fn call_coded(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<Value>,
        hint: CodeHint<'_>,
    ) -> Result<Option<Value>, Failure> {
        let mut url = self.url(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = self
            .http
            .request(method, url.clone())
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request, url, DEFAULT_TIMEOUT, hint).await
    }

    /// POST raw bytes (a component) with extra headers, allowing the
    /// whole exchange `timeout` (a large upload, and the server compiling
    /// it before it answers, can take longer than other calls).
    pub async fn post_bytes(
        &self,
        segments: &[&str],
        bytes: Vec<u8>,
        headers: &[(&str, String)],
        timeout: Duration,
        hint: CodeHint<'_>,
    ) -> Result<Option<Value>, Failure> {
        let url = self.url(segments);
        let mut request = self
            .http
            .post(url.clone())
            .timeout(timeout)
            .bearer_auth(&self.token)
            .header("content-type", "application/wasm")
            .body(bytes);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        self.send(request, url, timeout, hint).await
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        url: Url,
        timeout: Duration,
        hint: CodeHint<'_>,
    ) -> Result<Option<Value>, Failure> {
        let timed_out = || format!("no answer within {} s", timeout.as_secs());
        let response = request.send().await.map_err(|e| {
            let why = if e.is_timeout() {
                timed_out()
            } else {
                root_cause(&e)
            };
            Failure::new(
                UNREACHABLE,
                format!("could not reach the server at {}: {why}", self.base),
            )
            .hint("is `weft serve` running there? Set WEFT_SERVER (or --server) to its address")
        })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| {
            let why = if e.is_timeout() {
                timed_out()
            } else {
                root_cause(&e)
            };
            Failure::new(UNREACHABLE, format!("reading the server's answer: {why}"))
        })?;
        if status.is_success() {
            if text.trim().is_empty() {
                return Ok(None);
            }
            return serde_json::from_str(&text).map(Some).map_err(|_| {
                Failure::new(
                    UNREACHABLE,
                    format!("{url} answered {status} with something that is not JSON"),
                )
                .hint("is --server (WEFT_SERVER) the address of `weft serve`?")
            });
        }
        let hints = self.hints;
        Err(api_failure(status, &text, &url, &|s, code| {
            hint(s, code).or_else(|| hints(s))
        }))
    }
}

/// An error answer as a [`Failure`]: the API's code and message, and what
/// to do about it.
fn api_failure(status: StatusCode, text: &str, url: &Url, hint: CodeHint<'_>) -> Failure {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let Some(code) = body["error"]["code"].as_str() else {
        let excerpt: String = text.trim().chars().take(200).collect();
        return Failure::new(
            UNREACHABLE,
            format!("{url} answered {status} without a Weft error: {excerpt}"),
        )
        .hint("is --server (WEFT_SERVER) the address of `weft serve`?");
    };
    let mut message = format!(
        "{code} (HTTP {}): {}",
        status.as_u16(),
        body["error"]["message"].as_str().unwrap_or_default()
    );
    let details = &body["error"]["details"];
    if !details.is_null() {
        message.push_str(&format!("\ndetails: {details}"));
    }
    let exit = if status.is_server_error() {
        UNREACHABLE
    } else {
        REFUSED
    };
    let failure = Failure::new(exit, message);
    let hint = hint(status, code).or_else(|| match status {
        StatusCode::UNAUTHORIZED => Some(TOKEN_HINT.to_string()),
        s if s.is_server_error() => Some("see the server's log".into()),
        _ => None,
    });
    match hint {
        Some(h) => failure.hint(h),
        None => failure,
    }
}

/// The innermost cause of an error, e.g. "Connection refused (os error 111)".
fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cause = e;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}
