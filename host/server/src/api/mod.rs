//! The REST API under `/api/v1`, one module per resource; this module holds
//! what they share: the JSON body and caller extractors, access checks and
//! document validation.

use crate::AppState;
use crate::automations::StoredAutomation;
use crate::error::ApiError;
use crate::users::{Role, User};
use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use weft_host::automation::Plan;

mod automations;
mod connectors;
mod events;
mod hooks;
mod input;
mod runs;
mod session;
mod state;
mod transfer;
mod users;
pub use automations::*;
pub use connectors::*;
pub use events::*;
pub use hooks::*;
pub use input::*;
pub use runs::*;
pub use session::*;
pub use state::*;
pub use transfer::*;
pub use users::*;

/// A JSON request body, read whatever the Content-Type says (so
/// `curl -d @file.json` works), with errors in the API's own format.
pub struct JsonBody<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), "bad_request", e.body_text()))?;
        // Every required body is a JSON object. Checked first because
        // serde's derived structs would also take an array of their
        // fields in order, and a `Value` takes anything.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::bad_request(
                "the body must be a JSON object ({…})",
            ));
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(&mut de)
            .map(JsonBody)
            .map_err(body_error)
    }
}

/// A body that does not fit its type: the serde message and where in the
/// body it went wrong.
fn body_error<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> ApiError {
    let path = e.path().to_string();
    let at = if path == "." || path == "?" {
        String::new()
    } else {
        format!(" (at {path})")
    };
    ApiError::bad_request(format!(
        "the body is not the expected JSON: {}{at}",
        e.inner()
    ))
}

/// A settings body (numbers that are counts and sizes) read from JSON:
/// a whole number written with a fraction (`4096.0`) is the integer JSON
/// Schema says it is, so it fills an integer field instead of being
/// refused. Only for settings: data passing through automations keeps its
/// written form.
pub fn settings_from<T: serde::de::DeserializeOwned>(mut body: Value) -> Result<T, ApiError> {
    fn whole_numbers(v: &mut Value) {
        match v {
            Value::Number(n) => {
                if let Some(f) = n
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && !n.is_i64() && !n.is_u64())
                {
                    if f >= 0.0 && f < u64::MAX as f64 {
                        *v = Value::from(f as u64);
                    } else if f < 0.0 && f >= i64::MIN as f64 {
                        *v = Value::from(f as i64);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(whole_numbers),
            Value::Object(map) => map.values_mut().for_each(whole_numbers),
            _ => {}
        }
    }
    whole_numbers(&mut body);
    serde_path_to_error::deserialize(body).map_err(body_error)
}

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::OptionalFromRequest<S>
    for JsonBody<T>
{
    type Rejection = ApiError;

    async fn from_request(
        req: axum::extract::Request,
        state: &S,
    ) -> Result<Option<Self>, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), "bad_request", e.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&bytes)
            .map(|v| Some(JsonBody(v)))
            .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))
    }
}

/// A JSON number that is a whole number as JSON Schema's `integer` means
/// it: `3` and `3.0` alike (clients whose language has one number type may
/// send the latter), never `3.5` or a negative number.
pub(crate) fn whole_number(value: &Value) -> Option<u64> {
    if let Some(n) = value.as_u64() {
        return Some(n);
    }
    let f = value.as_f64()?;
    // 2^64 is the first float above u64::MAX; below it the cast is exact
    // for every float with no fraction.
    (f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&f)).then_some(f as u64)
}

/// Serde's side of [`whole_number`], for typed request bodies.
pub(crate) fn whole_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let value = <Value as serde::Deserialize>::deserialize(d)?;
    whole_number(&value).ok_or_else(|| {
        serde::de::Error::custom(format!("{value} is not a whole number of 0 or more"))
    })
}

/// For an optional field of a typed body: absent is `None`, but an explicit
/// `null` is refused like any other value of the wrong type (serde would
/// read it as absent, and the document does not allow it).
pub(crate) fn not_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// The authenticated caller.
pub struct Caller(pub User);

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    /// A bearer token (scripts), or else the console's session cookie —
    /// whose writes must carry the session's CSRF token.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let bearer = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(token) = bearer {
            return match state.users.authenticate(token.trim())? {
                Some(user) => Ok(Caller(user)),
                None => Err(ApiError::unauthorized()),
            };
        }
        let session =
            session::session_of(state, &parts.headers)?.ok_or_else(ApiError::unauthorized)?;
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            check_csrf(&parts.headers, &session)?;
        }
        match state.users.get(&session.user)? {
            Some(user) => Ok(Caller(user)),
            None => Err(ApiError::unauthorized()),
        }
    }
}

/// A cookie-authenticated write must echo its session's CSRF token.
pub(crate) fn check_csrf(
    headers: &axum::http::HeaderMap,
    session: &crate::sessions::Session,
) -> Result<(), ApiError> {
    let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    if sent.is_some_and(|t| crate::sessions::same_secret(t, &session.csrf_token)) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf_failed",
        "a write signed in by cookie must send the session's CSRF token in X-CSRF-Token (it is in the answer of POST or GET /api/v1/session)",
    ))
}

impl Caller {
    pub(crate) fn is_admin(&self) -> bool {
        self.0.role == Role::Admin
    }
}

/// Load an automation the caller may see: its owner, or an admin.
/// Others get 404, so existence does not leak.
pub(crate) fn visible(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<StoredAutomation, ApiError> {
    match state.automations.get(id)? {
        Some(a) if a.owner == caller.0.name || caller.is_admin() => Ok(a),
        _ => Err(ApiError::not_found(&format!("automation {id:?}"))),
    }
}

pub(crate) fn owned(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<StoredAutomation, ApiError> {
    let a = visible(state, caller, id)?;
    if a.owner != caller.0.name {
        return Err(ApiError::forbidden(
            "only the owner can change or run an automation; admins can enable, disable, reassign and delete it",
        ));
    }
    Ok(a)
}

/// Validate a document for `owner` (the owner field is the server's to set).
pub(crate) fn validate(
    state: &AppState,
    mut document: Value,
    owner: &str,
) -> Result<(Value, Plan), ApiError> {
    if !document.is_object() {
        return Err(ApiError::bad_request(
            "the body must be an automation document (a JSON object)",
        ));
    }
    document["owner"] = Value::String(owner.to_string());
    if let Ok(weft_host::automation::document::RunMode::Schedule {
        schedule, timezone, ..
    }) = serde_json::from_value(document["run_mode"].clone())
        && let Ok(parsed) =
            weft_host::automation::schedule::Schedule::parse(&schedule, timezone.as_deref())
        && parsed
            .min_interval()
            .is_some_and(|gap| gap < state.config.min_schedule_interval)
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_automation",
            format!(
                "run_mode.schedule: {schedule:?} fires more often than every {} s, the shortest interval this server allows",
                state.config.min_schedule_interval.as_secs()
            ),
        ));
    }
    let plan = state.weft.validate(&document).map_err(|errors| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_automation",
            errors.to_string(),
        )
        .details(json!(errors.0))
    })?;
    check_connections(state, &document, owner)?;
    Ok((document, plan))
}

/// Every `connection` a block names must be one of the owner's, made for
/// that block's connector.
fn check_connections(state: &AppState, document: &Value, owner: &str) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    for block in document["blocks"].as_array().into_iter().flatten() {
        let Some(id) = block["connection"].as_str() else {
            continue;
        };
        let connector = block["connector"].as_str().unwrap_or_default();
        let problem = match state.connections.connections.get(id)? {
            Some(c) if c.owner == owner && c.connector == connector => continue,
            Some(c) if c.owner == owner => format!(
                "connection {id:?} is for connector {:?}, not {connector:?}",
                c.connector
            ),
            _ => format!(
                "no connection {id:?} of yours; create one with POST /api/v1/connections (an automation can use only its owner's connections)"
            ),
        };
        problems.push(json!({
            "block": block["id"],
            "field": "connection",
            "message": problem,
        }));
    }
    if problems.is_empty() {
        return Ok(());
    }
    let summary = problems
        .iter()
        .map(|p| {
            format!(
                "block {}: connection: {}",
                p["block"],
                p["message"].as_str().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_automation",
        summary,
    )
    .details(json!(problems)))
}

/// Liveness; on PostgreSQL also whether the database answers, so a load
/// balancer takes a host that lost it out of rotation.
pub async fn healthz(State(state): State<Arc<AppState>>) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let Some(db) = &state.database
        && let Err(e) = db.ping_async().await
    {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "unavailable",
                "database": db.target(),
                "error": e.to_string(),
            })),
        )
            .into_response();
    }
    Json(json!({"status": "ok"})).into_response()
}

pub async fn metrics(
    State(state): State<Arc<AppState>>,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(state.weft.store().commit_stats())
            + &state.coordination().render_metrics(),
    )
}

#[cfg(test)]
mod tests {
    use super::settings_from;
    use serde_json::json;

    #[test]
    fn settings_take_whole_numbers_written_with_a_fraction() {
        let limits: weft_host::Limits =
            settings_from(json!({"output_bytes": 4096.0, "memory_bytes": 1})).expect("whole");
        assert_eq!(limits.output_bytes, 4096);
        let err = settings_from::<weft_host::Limits>(json!({"output_bytes": 1.5}))
            .expect_err("a fraction is refused");
        assert!(err.message.contains("output_bytes"), "{}", err.message);
        // 2^64 does not fit: refused, not saturated to u64::MAX.
        let too_big: serde_json::Value =
            serde_json::from_str(r#"{"output_bytes": 18446744073709551616}"#).expect("json");
        assert!(settings_from::<weft_host::Limits>(too_big).is_err());
    }
}
