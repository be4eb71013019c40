//! Export and import of automation documents between users and servers.

use super::{Caller, JsonBody, create, visible};
use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

/// `GET /api/v1/automations/{id}/export`: the document alone — no owner,
/// no tokens, no secrets — ready to import elsewhere.
pub async fn export_automation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let a = visible(&state, &caller, &id)?;
    let mut document = a.document;
    let refs = connection_refs(&state, &document, &a.owner)?;
    if let Some(obj) = document.as_object_mut() {
        obj.shift_remove("owner");
        if refs.is_empty() {
            obj.shift_remove("connections");
        } else {
            obj.insert("connections".into(), Value::Array(refs));
        }
    }
    Ok(Json(document))
}

/// The connections a document's blocks reference, described without
/// secrets: `{ref, connector, auth_kind, name}`.
fn connection_refs(
    state: &AppState,
    document: &Value,
    owner: &str,
) -> Result<Vec<Value>, ApiError> {
    let mut refs: Vec<Value> = Vec::new();
    for block in document["blocks"].as_array().into_iter().flatten() {
        let Some(reference) = block["connection"].as_str() else {
            continue;
        };
        if refs.iter().any(|r| r["ref"] == reference) {
            continue;
        }
        let known = state
            .connections
            .connections
            .get(reference)?
            .filter(|c| c.owner == owner);
        refs.push(json!({
            "ref": reference,
            "connector": block["connector"],
            "auth_kind": known.as_ref().map(|c| c.auth.kind()).unwrap_or_default(),
            "name": known.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
        }));
    }
    Ok(refs)
}

/// `POST /api/v1/automations/import`: an exported document (or
/// `{"automation": doc, "connections": {"ref": "your-connection-id"}}`)
/// becomes the caller's automation. Each referenced connection is mapped
/// onto one of the caller's: as the map says, else the same id, else the
/// caller's only connection for that connector (preferring the same name).
/// If any stays unmapped nothing is created and the answer lists what to
/// create and authorize first.
pub async fn import_automation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (mut document, map) = match body.get("automation") {
        Some(doc) => (
            doc.clone(),
            body.get("connections").cloned().unwrap_or(json!({})),
        ),
        None => (body, json!({})),
    };
    if !document.is_object() || !map.is_object() {
        return Err(ApiError::bad_request(
            "the body must be an exported automation (a JSON object), or {\"automation\": {…}, \"connections\": {\"ref\": \"your-connection-id\"}}",
        ));
    }
    let mapped = crate::connection_map::map(&state, &mut document, &map, &caller.0.name)?;
    // No connector removal between validating and storing.
    let _steady = state.connectors.steady().await;
    let created = create(&state, document, &caller.0.name)?;
    let mut view = created.view();
    view["connections_mapped"] = Value::Object(mapped);
    Ok((StatusCode::CREATED, Json(view)))
}
