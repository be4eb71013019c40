//! `/api/v1/connectors`: what connectors (and which versions) the server
//! runs, installing and removing versions, their grants and limits; and
//! `/api/v1/audit`, the record of those changes.
//!
//! Everyone signed in may list connectors (the console's palette is built
//! from the listing); grants are shown to admins only, and only admins
//! change anything.

use super::{Caller, JsonBody};
use crate::AppState;
use crate::connectors::Origin;
use crate::error::ApiError;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use weft_host::signing::Signature;
use weft_host::{Connector, ConnectorPolicy};

/// The request header that carries a component's signature: the
/// signature file (`FILE.wasm.sig`), base64.
pub const SIGNATURE_HEADER: &str = "weft-component-signature";

fn admin_only(caller: &Caller, what: &str) -> Result<(), ApiError> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("only admins {what}")))
    }
}

/// One version as listings show it.
fn version_view(state: &AppState, c: &Connector) -> Value {
    let m = c.manifest();
    let origin = state.connectors.origin(&m.id, &m.version);
    let (source, publisher, signed, sha256, installed_by, installed_at) = match origin {
        Some(Origin {
            source,
            publisher,
            signed,
            sha256,
            installed_by,
            installed_at,
            ..
        }) => (
            json!(source),
            publisher,
            signed,
            sha256,
            installed_by,
            installed_at,
        ),
        None => (Value::Null, None, false, None, None, None),
    };
    json!({
        "version": m.version,
        "contract": c.contract_version(),
        "source": source,
        "publisher": publisher,
        "signed": signed,
        "sha256": sha256,
        "installed_by": installed_by,
        "installed_at": installed_at,
    })
}

/// A connector: its newest version's manifest, every version, and (for
/// admins) its grants.
fn connector_view(
    state: &AppState,
    caller: &Caller,
    id: &str,
    with_manifests: bool,
) -> Option<Value> {
    let set = state.weft.connectors();
    let newest = set.newest(id)?;
    let m = newest.manifest();
    let versions: Vec<Value> = set
        .versions(id)
        .rev()
        .map(|c| {
            let mut v = version_view(state, c);
            if with_manifests {
                v["manifest"] = json!(c.manifest());
            }
            v
        })
        .collect();
    let mut view = json!({
        "id": m.id,
        "display_name": m.display_name,
        "description": m.description,
        "newest": m.version,
        "contract": newest.contract_version(),
        "publisher": versions.first().map(|v| v["publisher"].clone()),
        "blocks": m.blocks,
        "hosts": m.hosts.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "auth": m.auth,
        "versions": versions,
    });
    if caller.is_admin() {
        view["grants"] = json!(state.weft.connector_policy(id));
    }
    Some(view)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    cursor: Option<String>,
}

/// `GET /api/v1/connectors`: by id, in pages.
pub async fn list_connectors(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = crate::paging::limit(q.limit)?;
    let after: Option<String> = q.cursor.as_deref().map(crate::paging::decode).transpose()?;
    let set = state.weft.connectors();
    let mut ids: Vec<&str> = set
        .ids()
        .filter(|id| after.as_deref().is_none_or(|a| *id > a))
        .collect();
    let more = ids.len() > limit;
    ids.truncate(limit);
    let next_cursor = more
        .then(|| ids.last().map(crate::paging::encode))
        .flatten();
    let items: Vec<Value> = ids
        .iter()
        .filter_map(|id| connector_view(&state, &caller, id, false))
        .collect();
    Ok(Json(
        json!({"items": items, "limit": limit, "next_cursor": next_cursor}),
    ))
}

/// `GET /api/v1/connectors/{id}`: every version with its full manifest.
pub async fn get_connector(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    connector_view(&state, &caller, &id, true)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(&format!("connector {id:?}")))
}

/// The signature sent with a component, if any.
fn signature(headers: &HeaderMap) -> Result<Option<Signature>, ApiError> {
    let Some(value) = headers.get(SIGNATURE_HEADER) else {
        return Ok(None);
    };
    let bad = |why: String| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_signature",
            format!("{SIGNATURE_HEADER}: {why}; send the signature file base64-encoded"),
        )
    };
    let text = value.to_str().map_err(|e| bad(e.to_string()))?;
    let json = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| bad(format!("not base64: {e}")))?;
    serde_json::from_slice(&json)
        .map(Some)
        .map_err(|e| bad(format!("not a signature file: {e}")))
}

/// `POST /api/v1/connectors`: the component's bytes as the body, its
/// signature in the `Weft-Component-Signature` header.
pub async fn install_connector(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    admin_only(&caller, "install connectors")?;
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "the body must be the component's bytes (a .wasm file), e.g. curl --data-binary @my_connector.wasm",
        ));
    }
    let signature = signature(&headers)?;
    let installed = state
        .connectors
        .install(
            &state.weft,
            &state.audit,
            &body,
            signature.as_ref(),
            &caller.0.name,
        )
        .await?;
    let m = installed.manifest();
    let mut view = connector_view(&state, &caller, &m.id, false).unwrap_or(Value::Null);
    view["installed"] = version_view(&state, &installed);
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveQuery {
    #[serde(default)]
    force: Option<bool>,
}

/// `DELETE /api/v1/connectors/{id}/versions/{version}`.
pub async fn remove_connector_version(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((id, version)): Path<(String, String)>,
    Query(q): Query<RemoveQuery>,
) -> Result<Json<Value>, ApiError> {
    admin_only(&caller, "remove connectors")?;
    let outcome = state
        .connectors
        .remove(
            &state.weft,
            &state.automations,
            &state.audit,
            &id,
            &version,
            q.force.unwrap_or(false),
            &caller.0.name,
        )
        .await?;
    Ok(Json(json!({
        "removed": format!("{id}@{version}"),
        "disabled_automations": outcome.disabled,
    })))
}

/// `PUT /api/v1/connectors/{id}/grants`: the hosts it may reach and its
/// limits, for every version, from the next invocation on.
pub async fn put_connector_grants(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    admin_only(&caller, "change grants")?;
    let policy: ConnectorPolicy = super::settings_from(body)?;
    if !state.weft.connectors().contains(&id) {
        return Err(ApiError::not_found(&format!("connector {id:?}")));
    }
    state
        .connectors
        .set_policy(&state.weft, &state.audit, &id, policy, &caller.0.name)
        .await?;
    Ok(Json(
        json!({"id": id, "grants": state.weft.connector_policy(&id)}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    cursor: Option<String>,
}

/// `GET /api/v1/audit`: newest first, in pages.
pub async fn list_audit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    admin_only(&caller, "read the audit log")?;
    let limit = crate::paging::limit(q.limit)?;
    let before: Option<String> = q.cursor.as_deref().map(crate::paging::decode).transpose()?;
    let (items, more) = state.audit.page(before.as_deref(), limit)?;
    let next_cursor = more
        .then(|| items.last().map(|e| crate::paging::encode(&e.id)))
        .flatten();
    Ok(Json(
        json!({"items": items, "limit": limit, "next_cursor": next_cursor}),
    ))
}
