//! `/api/v1/session`: browser sign-in with a name and password, the
//! current session, sign-out (see [`crate::sessions`]).

use super::JsonBody;
use crate::AppState;
use crate::error::ApiError;
use crate::now_ms;
use crate::sessions::{self, Session};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// Sign-in attempts per minute per user name (unknown names share one
/// budget, so made-up names cannot grow the limiter's table).
pub const SIGN_IN_ATTEMPTS_PER_MINUTE: u32 = 10;

#[derive(Deserialize)]
pub struct SignInBody {
    name: String,
    password: String,
}

/// `POST /api/v1/session`: sign in; sets the session cookie and answers
/// the user and the CSRF token that cookie-authenticated writes send.
pub async fn sign_in(
    State(state): State<Arc<AppState>>,
    JsonBody(body): JsonBody<SignInBody>,
) -> Result<Response, ApiError> {
    let user = state.users.get(&body.name)?;
    let bucket = match &user {
        Some(u) => format!("user:{}", u.name),
        None => "unknown".to_string(),
    };
    if let Err(wait) = state
        .sign_in_limits
        .check(&bucket, SIGN_IN_ATTEMPTS_PER_MINUTE)
    {
        let secs = wait.as_secs().max(1);
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "too many sign-in attempts for this name ({SIGN_IN_ATTEMPTS_PER_MINUTE} a minute); retry in {secs} s"
            ),
        )
        .retry_after(secs));
    }
    // Verified even for unknown names: the answer takes as long.
    let verified = state.sessions.verify(&body.name, &body.password)?;
    let Some(user) = user.filter(|_| verified) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "the name or the password is wrong (an admin sets passwords: `weft user set-password NAME`, or POST /api/v1/users/{name}/actions/set-password)",
        ));
    };
    // Abandoned sessions are dropped here rather than by a timer: sign-ins
    // are rate-limited, and each one pays for the sessions it could add.
    state.sessions.sweep(now_ms())?;
    let (id, session) = state.sessions.create(&user.name, now_ms())?;
    let cookie = sessions::set_cookie(&id, state.sessions.ttl_secs(), state.secure_cookies());
    let body = answer(&state, &session)?;
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// `GET /api/v1/session`: who is signed in with this cookie, and the CSRF
/// token (a reloaded console gets it here).
pub async fn current(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let session = session_of(&state, &headers)?.ok_or_else(not_signed_in)?;
    Ok(Json(answer(&state, &session)?))
}

/// `DELETE /api/v1/session`: sign out (with the CSRF token, like every
/// cookie-authenticated write).
pub async fn sign_out(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = cookie_of(&headers).ok_or_else(not_signed_in)?;
    let session = state
        .sessions
        .get(id, now_ms())?
        .ok_or_else(not_signed_in)?;
    super::check_csrf(&headers, &session)?;
    state.sessions.remove(id)?;
    let cookie = sessions::clear_cookie(state.secure_cookies());
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

fn not_signed_in() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "not signed in: POST /api/v1/session with a name and password",
    )
}

fn answer(state: &AppState, session: &Session) -> Result<serde_json::Value, ApiError> {
    let user = state.users.get(&session.user)?.ok_or_else(not_signed_in)?;
    Ok(json!({
        "user": {"name": user.name, "role": user.role},
        "csrf_token": session.csrf_token,
        "expires_at": session.expires_at,
    }))
}

/// The session cookie's value, if the request has one.
pub(crate) fn cookie_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(sessions::cookie_value)
}

/// The live session behind the request's cookie, if any.
pub(crate) fn session_of(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Session>, ApiError> {
    match cookie_of(headers) {
        Some(id) => Ok(state.sessions.get(id, now_ms())?),
        None => Ok(None),
    }
}
