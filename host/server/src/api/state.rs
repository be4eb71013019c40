//! An automation's state between runs (what its `state-get`, `state-set`
//! and `state-increment` blocks read and write), visible and editable by
//! its owner and by admins: list every key, read, write and delete one.
//! Writes are durable before they are answered, and the next run sees
//! them. A value is any JSON, bounded by the engine's
//! `[run_limits] state` settings (413 `state_value_too_large`; 422
//! `state_key_too_long` and `state_too_many_keys`; 409 never happens: the
//! last write wins).

use super::{Caller, visible};
use crate::AppState;
use crate::error::ApiError;
use crate::error_layer::OwnLimit;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use weft_host::store::{StateEntry, StateError};

fn view(entry: &StateEntry) -> Value {
    json!({ "key": entry.key, "value": entry.value, "updated_at": entry.updated_at })
}

/// The store's writes wait for the disk: off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)
}

fn state_error(e: StateError) -> ApiError {
    let message = e.to_string();
    match e {
        StateError::Store(e) => e.into(),
        StateError::ValueTooLarge { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "state_value_too_large",
            message,
        ),
        StateError::KeyTooLong { .. } | StateError::EmptyKey => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "state_key_too_long",
            message,
        ),
        StateError::TooManyKeys { .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "state_too_many_keys",
            message,
        ),
        // Not reachable through a plain write; kept distinct all the same.
        StateError::NotANumber { .. } | StateError::Overflow { .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "state_not_a_number",
            message,
        ),
    }
}

pub async fn list_state(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    visible(&state, &caller, &id)?;
    let weft = state.weft.clone();
    let entries = blocking(move || weft.state_list(&id)).await??;
    Ok(Json(
        json!({ "entries": entries.iter().map(view).collect::<Vec<_>>() }),
    ))
}

pub async fn get_state(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((id, key)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    visible(&state, &caller, &id)?;
    let weft = state.weft.clone();
    let (automation, k) = (id.clone(), key.clone());
    match blocking(move || weft.state_get(&automation, &k)).await?? {
        Some(entry) => Ok(Json(view(&entry))),
        None => Err(ApiError::not_found(&format!(
            "state key {key:?} of automation {id:?}"
        ))),
    }
}

/// A 413 naming the state's own limit (not rewritten into the body
/// limit's `payload_too_large` on the way out).
fn too_large(e: StateError) -> Response {
    let mut response = state_error(e).into_response();
    response.extensions_mut().insert(OwnLimit);
    response
}

pub async fn put_state(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((id, key)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, Response> {
    put(&state, &caller, id, key, body).await
}

async fn put(
    state: &AppState,
    caller: &Caller,
    id: String,
    key: String,
    body: Bytes,
) -> Result<Json<Value>, Response> {
    let api = IntoResponse::into_response;
    visible(state, caller, &id).map_err(api)?;
    let limits = state.weft.run_limits().state.clone();
    // Refused before parsing: a value's JSON text is what the limit counts.
    if body.len() > limits.max_value_bytes.saturating_mul(2) {
        return Err(too_large(StateError::ValueTooLarge {
            bytes: body.len(),
            limit: limits.max_value_bytes,
        }));
    }
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        api(ApiError::bad_request(format!(
            "the body must be the JSON value to store (any JSON: a number, text in quotes, an object…): {e}"
        )))
    })?;
    let weft = state.weft.clone();
    let entry = blocking(move || weft.state_set(&id, &key, &value))
        .await
        .map_err(api)?
        .map_err(|e| match e {
            StateError::ValueTooLarge { .. } => too_large(e),
            other => api(state_error(other)),
        })?;
    Ok(Json(view(&entry)))
}

pub async fn delete_state(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((id, key)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    visible(&state, &caller, &id)?;
    let weft = state.weft.clone();
    let (automation, k) = (id.clone(), key.clone());
    match blocking(move || weft.state_delete(&automation, &k)).await?? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::not_found(&format!(
            "state key {key:?} of automation {id:?}"
        ))),
    }
}
