//! Every error answer is the API's JSON error, whatever layer produced it.
//!
//! Handlers answer with [`ApiError`], but some answers are made before a
//! handler runs or by axum itself: a path or query string that does not
//! parse, a body over its size limit, a route that does not exist (404), a
//! method a route does not serve (405). Those come as plain text or with
//! no body at all. [`json_errors`] wraps the whole router and rewrites any
//! error answer that is not already JSON into
//! `{"error": {"code", "message", "details"}}` with a stable code, keeping
//! the status and headers (`Allow` on 405). A 413 always names the limit
//! that was exceeded, in bytes, in `details.limit_bytes`.

use crate::error::ApiError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Largest request body on `/api/v1` routes (axum's default, made explicit
/// so the 413 answer can name it).
pub const API_BODY_LIMIT: usize = 2 << 20;

/// How much of a non-JSON error body is kept as the message.
const MESSAGE_LIMIT: usize = 1024;

/// Marks a 413 that names a limit other than the body's (a state value's
/// `max_value_bytes`): kept as the handler wrote it.
#[derive(Debug, Clone, Copy)]
pub struct OwnLimit;

/// The body limits in force, to name the one a 413 answer exceeded.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// `/hooks/…` routes (`--max-webhook-bytes`).
    pub webhook: usize,
    /// `POST /api/v1/connectors` (`--max-component-bytes`).
    pub component: usize,
    /// Every other route.
    pub api: usize,
}

impl BodyLimits {
    fn for_path(&self, path: &str) -> usize {
        if path.starts_with("/hooks/") {
            self.webhook
        } else if path == "/api/v1/connectors" {
            self.component
        } else {
            self.api
        }
    }
}

/// The middleware: see the module documentation.
pub async fn json_errors(
    State(limits): State<BodyLimits>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    // Our own 413s come from extractors that do not know the route's
    // limit; rewrite them too so every 413 names it — except those that
    // name a limit of their own ([`OwnLimit`]).
    if is_json
        && (status != StatusCode::PAYLOAD_TOO_LARGE
            || response.extensions().get::<OwnLimit>().is_some())
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MESSAGE_LIMIT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            let limit = limits.for_path(&path);
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body is larger than this route's limit of {limit} bytes"),
            )
            .details(json!({ "limit_bytes": limit }))
        }
        StatusCode::NOT_FOUND => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no route {path}; GET /api/v1/openapi.json lists every route"),
        ),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed: Vec<String> = parts
                .headers
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .split(',')
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty())
                .collect();
            let answers = if allowed.is_empty() {
                "GET /api/v1/openapi.json lists what it answers".to_string()
            } else {
                format!("it answers {}", allowed.join(", "))
            };
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{path} does not answer {method}; {answers}"),
            )
            .details(json!({ "allowed": allowed }))
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            non_empty(text, "send the body as application/json"),
        ),
        s if s.is_server_error() => ApiError::internal(non_empty(text, s.as_str())),
        // A path or query string that did not parse, and any other 4xx a
        // layer made: the layer's own words are the message.
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            non_empty(text, "the request is not valid"),
        ),
    };
    let mut rewritten = error.into_response();
    // Keep the layer's status (a 4xx other than the ones named above keeps
    // its own number) and its headers (`Allow`), but not its body's.
    *rewritten.status_mut() = status;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    let (new_parts, new_body) = rewritten.into_parts();
    parts.headers.extend(new_parts.headers);
    parts.status = status;
    Response::from_parts(parts, Body::new(new_body))
}

fn non_empty(text: String, otherwise: &str) -> String {
    if text.is_empty() {
        otherwise.to_string()
    } else {
        text
    }
}
