//! Connection references in an automation document, mapped to the
//! importing user's own connections — the one rule import
//! (`POST /api/v1/automations/import`) and `weft serve --load` share.
//!
//! An exported automation names its connections by reference (with the
//! connector, auth kind and name of each, but never a secret). A
//! reference is mapped, in order, to: the connection `map` names for it;
//! the user's connection with that very id; the user's connection of the
//! same connector with the same name; the user's only connection of that
//! connector. References left unmapped are a 422 `connections_required`
//! listing each with its candidates, and nothing is stored.

use crate::AppState;
use crate::error::ApiError;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// Rewrite `document`'s connection references to `owner`'s connections
/// (see the module docs) and drop its `connections` description. Returns
/// the mapping used (reference → connection id).
pub fn map(
    state: &AppState,
    document: &mut Value,
    map: &Value,
    owner: &str,
) -> Result<serde_json::Map<String, Value>, ApiError> {
    let mine: Vec<crate::connections::Connection> = state
        .connections
        .connections
        .list()?
        .into_iter()
        .filter(|c| c.owner == owner)
        .collect();
    let described: Vec<Value> = document["connections"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut missing = Vec::new();
    let mut mapped = serde_json::Map::new();
    let blocks = document["blocks"].as_array().cloned().unwrap_or_default();
    for block in &blocks {
        let Some(reference) = block["connection"].as_str() else {
            continue;
        };
        if mapped.contains_key(reference) || missing.iter().any(|m: &Value| m["ref"] == reference) {
            continue;
        }
        let connector = block["connector"].as_str().unwrap_or_default();
        let about = described.iter().find(|d| d["ref"] == reference);
        let name = about.and_then(|d| d["name"].as_str()).unwrap_or_default();
        let usable = |id: &str| mine.iter().any(|c| c.id == id && c.connector == connector);
        let for_connector: Vec<&crate::connections::Connection> =
            mine.iter().filter(|c| c.connector == connector).collect();
        let chosen = if let Some(id) = map.get(reference).and_then(Value::as_str) {
            if !usable(id) {
                return Err(ApiError::bad_request(format!(
                    "connections.{reference}: {id:?} is not one of your {connector} connections"
                )));
            }
            Some(id.to_string())
        } else if usable(reference) {
            Some(reference.to_string())
        } else if let Some(c) = for_connector
            .iter()
            .find(|c| !name.is_empty() && c.name == name)
        {
            Some(c.id.clone())
        } else if for_connector.len() == 1 {
            Some(for_connector[0].id.clone())
        } else {
            None
        };
        match chosen {
            Some(id) => {
                mapped.insert(reference.to_string(), Value::String(id));
            }
            None => missing.push(json!({
                "ref": reference,
                "connector": connector,
                "auth_kind": about.map(|d| d["auth_kind"].clone()).unwrap_or(Value::Null),
                "name": name,
                "candidates": for_connector.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
            })),
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "connections_required",
            format!(
                "{} connection(s) must be created (POST /api/v1/connections, then authorize OAuth2 ones) or mapped in \"connections\": {{\"ref\": \"your-connection-id\"}} before this automation can be imported",
                missing.len()
            ),
        )
        .details(json!({ "missing": missing })));
    }
    if let Some(blocks) = document["blocks"].as_array_mut() {
        for block in blocks {
            if let Some(new) = block["connection"]
                .as_str()
                .and_then(|r| mapped.get(r))
                .cloned()
            {
                block["connection"] = new;
            }
        }
    }
    if let Some(obj) = document.as_object_mut() {
        obj.shift_remove("connections");
    }
    Ok(mapped)
}
