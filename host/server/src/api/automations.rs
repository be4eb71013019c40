//! Automations: create, list, read, replace, patch, delete, and whether
//! one may be triggered now.

use super::hooks::seal_webhook_secret;
use super::{Caller, JsonBody, owned, validate, visible};
use crate::automations::StoredAutomation;
use crate::error::ApiError;
use crate::users::{new_token, token_hash};
use crate::{AppState, now_ms};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub async fn create_automation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(document): JsonBody<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    // No connector removal between validating and storing.
    let _steady = state.connectors.steady().await;
    let created = create(&state, document, &caller.0.name)?;
    Ok((StatusCode::CREATED, Json(created.view())))
}

/// A newly created automation with its one-time secrets.
pub struct Created {
    pub stored: StoredAutomation,
    pub execution_token: String,
    pub webhook_secret: String,
    /// What validation found worth a look (see [`with_warnings`]).
    pub warnings: Vec<weft_host::automation::plan::ValidationError>,
}

/// `view` with the validator's warnings, when it has any: a reference to a
/// field an open output schema does not list is allowed, and said.
fn with_warnings(
    mut view: Value,
    warnings: &[weft_host::automation::plan::ValidationError],
) -> Value {
    if !warnings.is_empty() {
        view["warnings"] = json!(warnings);
    }
    view
}

impl Created {
    /// The API view plus the secrets, shown this once: only their hashes
    /// are stored.
    pub fn view(&self) -> Value {
        let mut view = self.stored.view();
        view["execution_token"] = Value::String(self.execution_token.clone());
        view["webhook_path"] = Value::String(self.webhook_path());
        with_warnings(view, &self.warnings)
    }

    pub fn webhook_path(&self) -> String {
        format!("/hooks/{}/{}", self.stored.id, self.webhook_secret)
    }
}

/// Validate and store a new automation owned by `owner`.
pub(crate) fn create(state: &AppState, document: Value, owner: &str) -> Result<Created, ApiError> {
    let (document, plan) = validate(state, document, owner)?;
    let token = new_token();
    let secret = new_token();
    let now = now_ms();
    let stored = StoredAutomation {
        id: plan.id.clone(),
        owner: owner.to_string(),
        enabled: true,
        version: 1,
        created_at: now,
        updated_at: now,
        execution_token_hash: token_hash(&token),
        webhook_secret_hash: token_hash(&secret),
        rate_limit_per_minute: None,
        concurrency: None,
        disabled_reason: None,
        webhook_secret_sealed: Some(seal_webhook_secret(state, &plan.id, &secret)),
        document,
    };
    if !state.automations.create(&stored)? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_exists",
            format!(
                "an automation with id {:?} exists; choose another id or PUT to update it",
                stored.id
            ),
        ));
    }
    Ok(Created {
        stored,
        execution_token: token,
        webhook_secret: secret,
        warnings: plan.warnings,
    })
}

/// Replace the document of a stored automation (validated), keeping its
/// tokens and settings. Returns the new version, or `None` if another
/// change got there first.
pub(crate) fn replace_document(
    state: &AppState,
    current: &StoredAutomation,
    document: Value,
) -> Result<Option<StoredAutomation>, ApiError> {
    let (document, _) = validate(state, document, &current.owner)?;
    let mut next = current.clone();
    next.document = document;
    next.version += 1;
    next.updated_at = now_ms();
    Ok(state.automations.replace(current, &next)?.then_some(next))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    offset: Option<usize>,
    #[serde(default)]
    cursor: Option<String>,
}

/// Where an automation sits in a sorted list: its sort key, then its id
/// (unique) to break ties, so a cursor names one place in the order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, Deserialize)]
enum SortKey {
    Text(String),
    Number(i64),
}

/// What an automations cursor holds: the sort it was made for and the
/// last item's position.
#[derive(serde::Serialize, Deserialize)]
struct ListPosition {
    sort: String,
    key: SortKey,
    id: String,
}

pub async fn list_automations(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = crate::paging::limit(q.limit)?;
    let owner = crate::paging::filter("owner", q.owner)?;
    let sort = q.sort.as_deref().unwrap_or("name");
    let (field, descending) = match sort.strip_prefix('-') {
        Some(field) => (field, true),
        None => (sort, false),
    };
    let key: fn(&StoredAutomation) -> SortKey = match field {
        "name" => |a| {
            SortKey::Text(
                a.document["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_lowercase(),
            )
        },
        "updated_at" => |a| SortKey::Number(a.updated_at),
        "created_at" => |a| SortKey::Number(a.created_at),
        "owner" => |a| SortKey::Text(a.owner.clone()),
        "enabled" => |a| SortKey::Number(i64::from(!a.enabled)),
        "id" => |_| SortKey::Number(0),
        _ => {
            return Err(ApiError::bad_request(format!(
                "sort: {sort:?} is not one of name, updated_at, created_at, owner, enabled, id (prefix - to reverse)"
            )));
        }
    };
    let mut items: Vec<(SortKey, StoredAutomation)> = state
        .automations
        .list()?
        .into_iter()
        .filter(|a| caller.is_admin() || a.owner == caller.0.name)
        .filter(|a| q.enabled.is_none_or(|e| a.enabled == e))
        .filter(|a| owner.as_deref().is_none_or(|o| a.owner == o))
        .map(|a| (key(&a), a))
        .collect();
    let order = |a: (&SortKey, &str), b: (&SortKey, &str)| {
        let o = a.cmp(&b);
        if descending { o.reverse() } else { o }
    };
    items.sort_by(|a, b| order((&a.0, &a.1.id), (&b.0, &b.1.id)));
    let total = items.len();
    // Where the page starts: after the cursor's position (or at the top),
    // then `offset` items further. `offset` predates cursors and is kept
    // for the clients that use it; with a cursor it counts from the
    // cursor, so every combination the document allows means something.
    let from = match &q.cursor {
        Some(cursor) => {
            let at: ListPosition = crate::paging::decode(cursor)?;
            if at.sort != sort {
                return Err(crate::paging::invalid_cursor());
            }
            items.partition_point(|(k, a)| {
                order((k, &a.id), (&at.key, &at.id)) != std::cmp::Ordering::Greater
            })
        }
        None => 0,
    };
    let start = from.saturating_add(q.offset.unwrap_or(0));
    let page: Vec<&(SortKey, StoredAutomation)> = items.iter().skip(start).take(limit).collect();
    let next_cursor = match page.last() {
        Some((k, a)) if start.saturating_add(page.len()) < total => {
            Some(crate::paging::encode(&ListPosition {
                sort: sort.to_string(),
                key: k.clone(),
                id: a.id.clone(),
            }))
        }
        _ => None,
    };
    let page: Vec<Value> = page.iter().map(|(_, a)| a.view()).collect();
    Ok(Json(json!({
        "items": page, "total": total, "offset": q.offset.unwrap_or(0),
        "limit": limit, "next_cursor": next_cursor,
    })))
}

pub async fn get_automation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(visible(&state, &caller, &id)?.view()))
}

#[derive(Deserialize)]
pub struct UpdateBody {
    /// The version being replaced (optimistic concurrency).
    #[serde(deserialize_with = "super::whole_u64")]
    version: u64,
    document: Value,
}

pub async fn update_automation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateBody>,
) -> Result<Json<Value>, ApiError> {
    // No connector removal between validating and storing.
    let _steady = state.connectors.steady().await;
    let current = owned(&state, &caller, &id)?;
    if body.version != current.version {
        return Err(version_conflict(&current));
    }
    let (document, plan) = validate(&state, body.document, &current.owner)?;
    if plan.id != id {
        // A document problem like any other the validator finds (and
        // answered the same way): the request is well formed, the
        // document does not fit where it is sent.
        let message = format!(
            "id: the document's id \"{}\" is not \"{}\", the automation being replaced; an id cannot change",
            plan.id,
            weft_host::automation::ident::shown(&id)
        );
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_automation",
            message.clone(),
        )
        .details(json!([{"block": null, "field": "id", "message": message}])));
    }
    let next = StoredAutomation {
        version: current.version + 1,
        updated_at: now_ms(),
        document,
        ..current.clone()
    };
    if !state.automations.replace(&current, &next)? {
        return Err(version_conflict(&current));
    }
    Ok(Json(with_warnings(next.view(), &plan.warnings)))
}

pub(crate) fn version_conflict(current: &StoredAutomation) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "version_conflict",
        format!("the automation changed (now version {}); fetch it, reapply your change and send that version", current.version),
    )
    .details(json!({"current_version": current.version}))
}

pub async fn patch_automation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let current = visible(&state, &caller, &id)?;
    let mut next = current.clone();
    if let Some(enabled) = body.get("enabled") {
        next.enabled = enabled
            .as_bool()
            .ok_or_else(|| ApiError::bad_request("enabled: true or false"))?;
        if next.enabled {
            next.disabled_reason = None;
        }
    }
    if let Some(limit) = body.get("rate_limit_per_minute") {
        next.rate_limit_per_minute = match limit {
            Value::Null => None,
            v => Some(
                super::whole_number(v)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "rate_limit_per_minute: a whole number, or null for the server default",
                        )
                    })?,
            ),
        };
    }
    if let Some(limit) = body.get("concurrency") {
        next.concurrency = match limit {
            Value::Null => None,
            v => Some(
                super::whole_number(v)
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| (1..=1024).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "concurrency: a whole number from 1 to 1024, or null for the server default",
                        )
                    })?,
            ),
        };
    }
    if next.rate_limit_per_minute != current.rate_limit_per_minute {
        state.admission()?.reset_rate_limit(&id);
    }
    if let Some(owner) = body.get("owner") {
        if !caller.is_admin() {
            return Err(ApiError::forbidden(
                "only admins change an automation's owner",
            ));
        }
        let owner = owner.as_str().unwrap_or_default();
        if state.users.get(owner)?.is_none() {
            // Well formed, but naming a user this server does not have:
            // 422, as a document naming a connection that does not exist.
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_user",
                format!(
                    "owner: no user \"{}\"",
                    weft_host::automation::ident::shown(owner)
                ),
            )
            .details(json!({"field": "owner"})));
        }
        next.owner = owner.to_string();
        next.document["owner"] = Value::String(owner.to_string());
    }
    next.version += 1;
    next.updated_at = now_ms();
    if !state.automations.replace(&current, &next)? {
        return Err(version_conflict(&current));
    }
    Ok(Json(next.view()))
}

pub async fn delete_automation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    visible(&state, &caller, &id)?;
    state.automations.delete(&id)?;
    state.forget_automation(&id);
    // Its state between runs goes with it: a new automation given this
    // id later starts empty.
    let weft = state.weft.clone();
    tokio::task::spawn_blocking(move || weft.state_clear(&id))
        .await
        .map_err(ApiError::internal)??;
    Ok(StatusCode::NO_CONTENT)
}
