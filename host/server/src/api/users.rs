//! `POST /api/v1/users`: admins create users.

use super::{Caller, JsonBody};
use crate::AppState;
use crate::error::ApiError;
use crate::users::Role;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

pub async fn create_user(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if !caller.is_admin() {
        return Err(ApiError::forbidden("only admins create users"));
    }
    let name = body["name"].as_str().unwrap_or_default().trim().to_string();
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if !valid {
        return Err(ApiError::bad_request(
            "name: 1-64 letters, digits, '.', '-' or '_'",
        ));
    }
    let role = match body["role"].as_str().unwrap_or("user") {
        "admin" => Role::Admin,
        "user" => Role::User,
        other => {
            return Err(ApiError::bad_request(format!(
                "role: {other:?} is not admin or user"
            )));
        }
    };
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
