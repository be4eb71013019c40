//! `/api/v1/users`: admins list and create users, change roles, set
//! passwords and replace API tokens; users set their own password.

use super::{Caller, JsonBody};
use crate::AppState;
use crate::error::ApiError;
use crate::users::Role;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// The request body. Typed, so that a `role` that is not one of the
/// role names (`{}`, `1`, `null`) is refused by deserialization instead of
/// quietly becoming the default role. Other fields are ignored, as the
/// document allows.
#[derive(Deserialize)]
pub struct CreateUserBody {
    name: String,
    #[serde(default = "default_role")]
    role: Role,
}

/// Users are created as plain users unless `role` says otherwise.
fn default_role() -> Role {
    Role::User
}

pub async fn create_user(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateUserBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !caller.is_admin() {
        return Err(ApiError::forbidden("only admins create users"));
    }
    // Checked as sent, not trimmed: the document's pattern has no room for
    // surrounding whitespace, and a name that is accepted must be the name
    // that was asked for.
    let name = body.name;
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if !valid {
        return Err(
            ApiError::bad_request("name: 1-64 letters, digits, '.', '-' or '_'")
                .details(json!({"field": "name"})),
        );
    }
    let role = body.role;
    match state.users.create(&name, role, None)? {
        Some(token) => Ok((
            StatusCode::CREATED,
            Json(json!({"name": name, "role": role, "token": token})),
        )),
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_exists",
            format!("user {name:?} exists"),
        )),
    }
}

/// `GET /api/v1/users` (admins): every user, with whether they can sign
/// in to the console.
pub async fn list_users(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    if !caller.is_admin() {
        return Err(ApiError::forbidden("only admins list users"));
    }
    let mut items = Vec::new();
    for user in state.users.list()? {
        let has_password = state.sessions.has_password(&user.name)?;
        items.push(json!({"name": user.name, "role": user.role, "has_password": has_password}));
    }
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize)]
pub struct PatchUserBody {
    role: Role,
}

/// `PATCH /api/v1/users/{name}` (admins): change a user's role. An admin
/// cannot demote themselves (someone must remain to govern).
pub async fn patch_user(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<PatchUserBody>,
) -> Result<Json<Value>, ApiError> {
    if !caller.is_admin() {
        return Err(ApiError::forbidden("only admins change roles"));
    }
    if name == caller.0.name && body.role != Role::Admin {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "last_admin",
            "you cannot take your own admin role; have another admin do it",
        ));
    }
    if !state.users.set_role(&name, body.role)? {
        return Err(ApiError::not_found(&format!("user {name:?}")));
    }
    Ok(Json(json!({"name": name, "role": body.role})))
}

#[derive(Deserialize)]
pub struct SetPasswordBody {
    password: String,
}

/// `POST /api/v1/users/{name}/actions/set-password`: admins set anyone's
/// console password, users their own. The user's other sessions end.
pub async fn set_password(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<SetPasswordBody>,
) -> Result<StatusCode, ApiError> {
    if name != caller.0.name && !caller.is_admin() {
        return Err(ApiError::forbidden(
            "only admins set other users' passwords",
        ));
    }
    known_user(&state, &name)?;
    state.sessions.set_password(&name, &body.password)?;
    state.sessions.end_all(&name)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/users/{name}/actions/revoke-tokens` (admins): revoke every
/// API token and console session of the user; answers a new token, shown
/// once.
pub async fn revoke_tokens(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if !caller.is_admin() {
        return Err(ApiError::forbidden("only admins revoke tokens"));
    }
    known_user(&state, &name)?;
    let (revoked, token) = state.users.replace_tokens(&name)?;
    let sessions = state.sessions.end_all(&name)?;
    Ok(Json(json!({
        "name": name, "revoked_tokens": revoked, "ended_sessions": sessions, "token": token
    })))
}

/// 404 unless `name` is a user.
fn known_user(state: &AppState, name: &str) -> Result<(), ApiError> {
    match state.users.get(name)? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found(&format!("user {name:?}"))),
    }
}
