//! `POST /api/v1/users`: admins create users.

use super::{Caller, JsonBody};
use crate::AppState;
use crate::error::ApiError;
use crate::users::Role;
use axum::Json;
use axum::extract::State;
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
