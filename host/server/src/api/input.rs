//! `POST /api/v1/runs/{id}/input`: answer the form a paused run waits
//! for. The values are checked against the `input` block's schema, stored
//! durably with the run, and the run is queued again to go on from the
//! block (see `weft_host::input_form`).

use super::{Caller, JsonBody};
use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;
use weft_host::input_form::InputError;

pub async fn submit_input(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(values): JsonBody<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    // The same access as the run's other routes: its owner or an admin.
    state
        .weft
        .store()
        .get_run(&id)?
        .filter(|r| caller.is_admin() || r.owner.as_deref() == Some(caller.0.name.as_str()))
        .ok_or_else(|| ApiError::not_found(&format!("run {id:?}")))?;
    let admission = state.admission()?;
    let weft = state.weft.clone();
    let (run_id, user) = (id.clone(), caller.0.name.clone());
    // A durable write (and the schema check): off the runtime's workers.
    let answered = tokio::task::spawn_blocking(move || {
        weft.submit_input(&run_id, values, Some(&user), crate::now_ms())
    })
    .await
    .map_err(|e| ApiError::internal(format!("submitting the form stopped: {e}")))?;
    match answered {
        Ok(record) => {
            admission.resume(&record);
            Ok((
                StatusCode::ACCEPTED,
                Json(json!({"run_id": id, "status": record.status, "resumed": true})),
            ))
        }
        Err(InputError::Invalid(errors)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
            format!(
                "the values do not satisfy the form of run {id:?}: {}",
                errors
                    .iter()
                    .map(|e| match e.field.as_str() {
                        "" => e.message.clone(),
                        field => format!("{field}: {}", e.message),
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )
        .details(json!({ "errors": errors }))),
        Err(InputError::Expired(record)) => {
            admission.resume(&record);
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "input_expired",
                format!(
                    "the form of run {id:?} expired before it was submitted; the run goes on with the block's timeout"
                ),
            ))
        }
        Err(InputError::NotPaused { status, .. }) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "run_not_paused",
            format!(
                "run {id:?} is not waiting for input (it is {})",
                status_name(status)
            ),
        )
        .details(json!({ "status": status }))),
        Err(InputError::NotFound(_)) => Err(ApiError::not_found(&format!("run {id:?}"))),
        Err(InputError::Store(e)) => Err(e.into()),
    }
}

fn status_name(status: weft_host::RunStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
