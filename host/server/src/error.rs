//! API errors: an HTTP status, a stable machine-readable code, and a
//! message that says what to do next. Serialized as
//! `{"error": {"code": "...", "message": "...", "details": ...}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable across releases; clients branch on it.
    pub code: &'static str,
    pub message: String,
    /// Boxed: most errors have none, and a `Value` inline would make
    /// every `Result<_, ApiError>` twice the size.
    pub details: Option<Box<Value>>,
    /// Seconds for a `Retry-After` header (429 answers).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }
    pub fn details(mut self, details: Value) -> Self {
        self.details = (!details.is_null()).then(|| Box::new(details));
        self
    }
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send an API token as `Authorization: Bearer <token>`, or sign in (POST /api/v1/session)",
        )
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    pub fn internal(message: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {message}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let Some(details) = self.details {
            body["details"] = *details;
        }
        let mut response = (self.status, Json(json!({ "error": body }))).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        response
    }
}

impl From<crate::kv::KvError> for ApiError {
    fn from(e: crate::kv::KvError) -> Self {
        if e.is_unavailable() {
            // The shared database is down or unreachable: nothing was
            // done, and the same request may succeed once it is back.
            tracing::error!("server store unavailable: {e}");
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the server's database cannot be reached, so nothing was done; send it again later",
            )
            .retry_after(30);
        }
        ApiError::internal(e)
    }
}

impl From<weft_host::store::StoreError> for ApiError {
    fn from(e: weft_host::store::StoreError) -> Self {
        match e {
            weft_host::store::StoreError::WriteFailed(reason) => {
                tracing::error!("history store cannot write: {reason}");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "the run history cannot be written, so nothing was accepted; send it again later (the server needs a restart once its disk is healthy)",
                )
                .retry_after(30)
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<crate::plans::PlanError> for ApiError {
    fn from(e: crate::plans::PlanError) -> Self {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_automation",
            e.to_string(),
        )
    }
}

/// Each reason a trigger is refused has its status and stable code.
impl From<crate::admission::AdmitError> for ApiError {
    fn from(e: crate::admission::AdmitError) -> Self {
        use crate::admission::AdmitError;
        let message = e.to_string();
        match e {
            AdmitError::Disabled { .. } => {
                ApiError::new(StatusCode::CONFLICT, "automation_disabled", message)
            }
            AdmitError::RateLimited {
                retry_after_secs, ..
            } => ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
                .retry_after(retry_after_secs),
            AdmitError::QueueFull { .. } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "queue_full", message).retry_after(1)
            }
            AdmitError::Invalid(e) => e.into(),
            AdmitError::Store(e) => e.into(),
        }
    }
}

impl From<crate::sessions::SessionError> for ApiError {
    fn from(e: crate::sessions::SessionError) -> Self {
        match e {
            crate::sessions::SessionError::Password(e) => ApiError::bad_request(e.to_string())
                .details(serde_json::json!({"field": "password"})),
            other => ApiError::internal(other),
        }
    }
}
