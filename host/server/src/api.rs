//! The REST API under `/api/v1` and the API-call trigger.

use crate::automations::StoredAutomation;
use crate::error::ApiError;
use crate::users::{Role, User, new_token, token_hash};
use crate::{AppState, now_ms};
use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use weft_host::automation::Plan;
use weft_host::{RunStatus, Trigger};

/// A JSON request body, read whatever the Content-Type says (so
/// `curl -d @file.json` works), with errors in the API's own format.
pub struct JsonBody<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), "bad_request", e.body_text()))?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(&mut de)
            .map(JsonBody)
            .map_err(|e| {
                let path = e.path().to_string();
                let at = if path == "." || path == "?" {
                    String::new()
                } else {
                    format!(" (at {path})")
                };
                ApiError::bad_request(format!(
                    "the body is not the expected JSON: {}{at}",
                    e.inner()
                ))
            })
    }
}

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::OptionalFromRequest<S>
    for JsonBody<T>
{
    type Rejection = ApiError;

    async fn from_request(
        req: axum::extract::Request,
        state: &S,
    ) -> Result<Option<Self>, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), "bad_request", e.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&bytes)
            .map(|v| Some(JsonBody(v)))
            .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))
    }
}

/// The authenticated caller.
pub struct Caller(pub User);

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(ApiError::unauthorized)?;
        match state.users.authenticate(token.trim())? {
            Some(user) => Ok(Caller(user)),
            None => Err(ApiError::unauthorized()),
        }
    }
}

impl Caller {
    pub(crate) fn is_admin(&self) -> bool {
        self.0.role == Role::Admin
    }
}

/// Load an automation the caller may see: its owner, or an admin.
/// Others get 404, so existence does not leak.
fn visible(state: &AppState, caller: &Caller, id: &str) -> Result<StoredAutomation, ApiError> {
    match state.automations.get(id)? {
        Some(a) if a.owner == caller.0.name || caller.is_admin() => Ok(a),
        _ => Err(ApiError::not_found(&format!("automation {id:?}"))),
    }
}

fn owned(state: &AppState, caller: &Caller, id: &str) -> Result<StoredAutomation, ApiError> {
    let a = visible(state, caller, id)?;
    if a.owner != caller.0.name {
        return Err(ApiError::forbidden(
            "only the owner can change or run an automation; admins can enable, disable, reassign and delete it",
        ));
    }
    Ok(a)
}

/// Validate a document for `owner` (the owner field is the server's to set).
fn validate(state: &AppState, mut document: Value, owner: &str) -> Result<(Value, Plan), ApiError> {
    if !document.is_object() {
        return Err(ApiError::bad_request(
            "the body must be an automation document (a JSON object)",
        ));
    }
    document["owner"] = Value::String(owner.to_string());
    if let Ok(weft_host::automation::document::RunMode::Schedule {
        schedule, timezone, ..
    }) = serde_json::from_value(document["run_mode"].clone())
        && let Ok(parsed) =
            weft_host::automation::schedule::Schedule::parse(&schedule, timezone.as_deref())
        && parsed
            .min_interval()
            .is_some_and(|gap| gap < state.config.min_schedule_interval)
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_automation",
            format!(
                "run_mode.schedule: {schedule:?} fires more often than every {} s, the shortest interval this server allows",
                state.config.min_schedule_interval.as_secs()
            ),
        ));
    }
    let plan = state.weft.validate(&document).map_err(|errors| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_automation",
            errors.to_string(),
        )
        .details(json!(errors.0))
    })?;
    check_connections(state, &document, owner)?;
    Ok((document, plan))
}

/// Every `connection` a block names must be one of the owner's, made for
/// that block's connector.
fn check_connections(state: &AppState, document: &Value, owner: &str) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    for block in document["blocks"].as_array().into_iter().flatten() {
        let Some(id) = block["connection"].as_str() else {
            continue;
        };
        let connector = block["connector"].as_str().unwrap_or_default();
        let problem = match state.connections.connections.get(id)? {
            Some(c) if c.owner == owner && c.connector == connector => continue,
            Some(c) if c.owner == owner => format!(
                "connection {id:?} is for connector {:?}, not {connector:?}",
                c.connector
            ),
            _ => format!(
                "no connection {id:?} of yours; create one with POST /api/v1/connections (an automation can use only its owner's connections)"
            ),
        };
        problems.push(json!({
            "block": block["id"],
            "field": "connection",
            "message": problem,
        }));
    }
    if problems.is_empty() {
        return Ok(());
    }
    let summary = problems
        .iter()
        .map(|p| {
            format!(
                "block {}: connection: {}",
                p["block"],
                p["message"].as_str().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_automation",
        summary,
    )
    .details(json!(problems)))
}

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

pub async fn create_automation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(document): JsonBody<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let created = create(&state, document, &caller.0.name)?;
    Ok((StatusCode::CREATED, Json(created.view())))
}

/// A newly created automation with its one-time secrets.
pub struct Created {
    pub stored: StoredAutomation,
    pub execution_token: String,
    pub webhook_secret: String,
}

impl Created {
    /// The API view plus the secrets, shown this once: only their hashes
    /// are stored.
    pub fn view(&self) -> Value {
        let mut view = self.stored.view();
        view["execution_token"] = Value::String(self.execution_token.clone());
        view["webhook_path"] = Value::String(self.webhook_path());
        view
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
}

pub async fn list_automations(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let mut items: Vec<StoredAutomation> = state
        .automations
        .list()?
        .into_iter()
        .filter(|a| caller.is_admin() || a.owner == caller.0.name)
        .filter(|a| q.enabled.is_none_or(|e| a.enabled == e))
        .filter(|a| q.owner.as_deref().is_none_or(|o| a.owner == o))
        .collect();
    let name = |a: &StoredAutomation| {
        a.document["name"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
    };
    match q.sort.as_deref().unwrap_or("name") {
        "name" => items.sort_by_key(name),
        "-name" => items.sort_by_key(|a| std::cmp::Reverse(name(a))),
        "updated_at" => items.sort_by_key(|a| a.updated_at),
        "-updated_at" => items.sort_by_key(|a| std::cmp::Reverse(a.updated_at)),
        "owner" => items.sort_by(|a, b| a.owner.cmp(&b.owner)),
        "enabled" => items.sort_by_key(|a| !a.enabled),
        other => {
            return Err(ApiError::bad_request(format!(
                "sort: {other:?} is not one of name, -name, updated_at, -updated_at, owner, enabled"
            )));
        }
    }
    let total = items.len();
    let offset = q.offset.unwrap_or(0);
    let limit = q.limit.unwrap_or(50).min(500);
    let page: Vec<Value> = items
        .iter()
        .skip(offset)
        .take(limit)
        .map(StoredAutomation::view)
        .collect();
    Ok(Json(
        json!({"items": page, "total": total, "offset": offset, "limit": limit}),
    ))
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
    version: u64,
    document: Value,
}

pub async fn update_automation(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateBody>,
) -> Result<Json<Value>, ApiError> {
    let current = owned(&state, &caller, &id)?;
    if body.version != current.version {
        return Err(version_conflict(&current));
    }
    let (document, plan) = validate(&state, body.document, &current.owner)?;
    if plan.id != id {
        return Err(ApiError::bad_request(format!(
            "document id {:?} does not match {id:?}",
            plan.id
        )));
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
    Ok(Json(next.view()))
}

fn version_conflict(current: &StoredAutomation) -> ApiError {
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
    }
    if let Some(limit) = body.get("rate_limit_per_minute") {
        next.rate_limit_per_minute = match limit {
            Value::Null => None,
            v => Some(
                v.as_u64()
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
                v.as_u64()
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
        state.rate_limits.reset(&id);
    }
    if let Some(owner) = body.get("owner") {
        if !caller.is_admin() {
            return Err(ApiError::forbidden(
                "only admins change an automation's owner",
            ));
        }
        let owner = owner.as_str().unwrap_or_default();
        if state.users.get(owner)?.is_none() {
            return Err(ApiError::bad_request(format!("owner: no user {owner:?}")));
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
    state.forget_plan(&id);
    Ok(StatusCode::NO_CONTENT)
}

/// May this automation be triggered now? Enabled, and within its rate limit.
pub(crate) fn runnable(state: &AppState, a: &StoredAutomation) -> Result<(), ApiError> {
    if !a.enabled {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "automation_disabled",
            format!(
                "automation {:?} is disabled; enable it (PATCH enabled=true) to run it",
                a.id
            ),
        ));
    }
    let per_minute = a
        .rate_limit_per_minute
        .unwrap_or(state.config.rate_limit_per_minute);
    if let Err(wait) = state.rate_limits.check(&a.id, per_minute) {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "automation {:?} accepts {per_minute} triggers per minute; retry in {secs} s",
                a.id
            ),
        )
        .retry_after(secs));
    }
    Ok(())
}

pub async fn start_run(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Option<JsonBody<Value>>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let a = owned(&state, &caller, &id)?;
    runnable(&state, &a)?;
    let plan = state.plan(&a)?;
    let input = body.map(|JsonBody(v)| v).unwrap_or(Value::Null);
    let input = input.get("input").cloned().unwrap_or(json!({}));
    let record = weft_host::new_record(
        &plan,
        input,
        Trigger {
            kind: "manual".into(),
            detail: json!({"user": caller.0.name}),
        },
    );
    state.enqueue(&record, &a)?;
    Ok((StatusCode::ACCEPTED, Json(json!({"run_id": record.id}))))
}

/// `POST /hooks/{id}/{secret}`: the webhook trigger. The payload is stored
/// with the queued run before the 202 answer.
pub async fn webhook(
    State(state): State<Arc<AppState>>,
    Path((id, secret)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let a = state
        .automations
        .get(&id)?
        .filter(|a| {
            !a.webhook_secret_hash.is_empty() && a.webhook_secret_hash == token_hash(&secret)
        })
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    accept_webhook(&state, a, &headers, &body)
}

/// Queue a webhook run of `a` with `body` as its `$.Start`.
fn accept_webhook(
    state: &AppState,
    a: StoredAutomation,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(StatusCode, Json<Value>), ApiError> {
    runnable(state, &a)?;
    let plan = state.plan(&a)?;
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    let payload = if body.is_empty() {
        json!({})
    } else if is_json {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?
    } else {
        json!({ "body": String::from_utf8_lossy(body) })
    };
    let record = weft_host::new_record(
        &plan,
        payload,
        Trigger {
            kind: "webhook".into(),
            detail: Value::Null,
        },
    );
    state.enqueue(&record, &a)?;
    Ok((StatusCode::ACCEPTED, Json(json!({"run_id": record.id}))))
}

/// The associated data that binds a sealed webhook secret to its automation.
pub(crate) fn webhook_aad(id: &str) -> String {
    format!("webhook:{id}")
}

fn seal_webhook_secret(state: &AppState, id: &str, secret: &str) -> String {
    state
        .connections
        .connections
        .keyring()
        .seal(&webhook_aad(id), secret.as_bytes())
}

/// How old a signed webhook's timestamp may be.
const SIGNATURE_TOLERANCE_SECS: i64 = 300;

/// `POST /hooks/{id}` with `X-Weft-Signature: t=UNIX_SECONDS,v1=HEX`, where
/// HEX is HMAC-SHA256 over `"{t}.{body}"` keyed with the webhook secret
/// (the scheme Stripe and others use: the secret never travels, and the
/// timestamp bounds replays to five minutes).
pub async fn signed_webhook(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let bad = |why: &str| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "signature_invalid",
            format!(
                "X-Weft-Signature: {why}; send t=UNIX_SECONDS,v1=hex(HMAC-SHA256(secret, \"{{t}}.{{body}}\"))"
            ),
        )
    };
    let header = headers
        .get("x-weft-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| bad("missing"))?;
    let (mut t, mut v1) = (None, None);
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(bad("expected t=…,v1=…"));
    };
    if (now_ms() / 1000).abs_diff(t) > SIGNATURE_TOLERANCE_SECS.unsigned_abs() {
        return Err(bad("the timestamp is more than five minutes off"));
    }
    // Unknown automations and bad signatures answer alike.
    let a = state
        .automations
        .get(&id)?
        .ok_or_else(|| bad("does not match"))?;
    let secret = a
        .webhook_secret_sealed
        .as_deref()
        .and_then(|sealed| {
            state
                .connections
                .connections
                .keyring()
                .open(&webhook_aad(&id), sealed)
                .ok()
        })
        .ok_or_else(|| {
            bad("this automation has no signing secret yet; rotate its webhook secret")
        })?;
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&secret)
        .map_err(|_| ApiError::internal("HMAC key"))?;
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(&body);
    mac.verify_slice(&v1).map_err(|_| bad("does not match"))?;
    accept_webhook(&state, a, &headers, &body)
}

pub async fn rotate_webhook_secret(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let current = owned(&state, &caller, &id)?;
    let secret = new_token();
    let next = StoredAutomation {
        webhook_secret_hash: token_hash(&secret),
        webhook_secret_sealed: Some(seal_webhook_secret(&state, &id, &secret)),
        version: current.version + 1,
        updated_at: now_ms(),
        ..current.clone()
    };
    if !state.automations.replace(&current, &next)? {
        return Err(version_conflict(&current));
    }
    Ok(Json(
        json!({"webhook_path": format!("/hooks/{id}/{secret}"), "version": next.version}),
    ))
}

pub async fn get_run(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let Some(record) = state.weft.store().get_run(&id)? else {
        return Err(ApiError::not_found(&format!("run {id:?}")));
    };
    let owner = record.owner.clone().unwrap_or_default();
    if owner == caller.0.name {
        let steps = state.weft.store().steps(&id)?;
        return Ok(Json(json!({"run": record, "steps": steps})));
    }
    if caller.is_admin() {
        // Admins govern every run's status but never read another user's
        // run log (inputs, outputs, steps).
        return Ok(Json(json!({"run": {
            "id": record.id, "automation_id": record.automation_id, "owner": record.owner,
            "status": record.status, "created_at": record.created_at,
            "started_at": record.started_at, "finished_at": record.finished_at,
        }})));
    }
    Err(ApiError::not_found(&format!("run {id:?}")))
}

#[derive(Deserialize)]
pub struct ExecuteQuery {
    #[serde(default)]
    token: Option<String>,
    #[serde(default, rename = "async")]
    run_async: bool,
}

/// `POST /api/v1/automations/{id}/actions/execute`: the API-call trigger.
pub async fn execute(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(q): Query<ExecuteQuery>,
    headers: HeaderMap,
    body: Option<JsonBody<Value>>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let token = headers
        .get("x-execution-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or(q.token)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "execution_token_required",
                "send the automation's execution token in X-Execution-Token (or ?token=)",
            )
        })?;
    let a = state
        .automations
        .get(&id)?
        .filter(|a| a.execution_token_hash == token_hash(&token))
        .ok_or_else(|| {
            ApiError::not_found(&format!("automation {id:?} (or the token does not match)"))
        })?;
    runnable(&state, &a)?;
    let plan = state.plan(&a)?;
    let input = body.map(|JsonBody(v)| v).unwrap_or(json!({}));
    if q.run_async {
        let record = weft_host::new_record(
            &plan,
            input,
            Trigger {
                kind: "api".into(),
                detail: json!({"sync": false}),
            },
        );
        state.enqueue(&record, &a)?;
        return Ok((StatusCode::ACCEPTED, Json(json!({"run_id": record.id}))));
    }
    let record = weft_host::new_record(&plan, input, crate::queue::sync_call_trigger());
    let run_id = record.id.clone();
    let waiter = state.enqueue_sync(record, plan, &a)?;
    match tokio::time::timeout(state.config.execute_timeout, waiter).await {
        Err(_) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({
                "run_id": run_id,
                "message": format!("still running after {} s; poll GET /api/v1/runs/{run_id}", state.config.execute_timeout.as_secs()),
            })),
        )),
        Ok(Err(_)) => Err(ApiError::internal(format!(
            "run {run_id} ended without a result; see GET /api/v1/runs/{run_id}"
        ))),
        Ok(Ok(result)) => execute_answer(result, run_id),
    }
}

fn execute_answer(
    result: weft_host::RunResult,
    run_id: String,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    match result.record.status {
        RunStatus::Finished | RunStatus::FinishedWithWarnings => {
            Ok((StatusCode::OK, Json(result.record.output)))
        }
        _ => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "run_failed",
            result
                .record
                .error
                .unwrap_or_else(|| "the run did not finish".into()),
        )
        .details(json!({"run_id": run_id}))),
    }
}

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn metrics(
    State(state): State<Arc<AppState>>,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(),
    )
}

#[derive(Deserialize)]
pub struct RunsQuery {
    #[serde(default)]
    automation: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /api/v1/runs`: newest first. Owners see their runs in full
/// summary; admins see every run's status.
pub async fn list_runs(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<RunsQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(50).min(500);
    let filter = weft_host::store::RunFilter {
        automation_id: q.automation,
        limit: None,
    };
    let items: Vec<Value> = state
        .weft
        .store()
        .list_runs(&filter)?
        .into_iter()
        .filter(|r| caller.is_admin() || r.owner.as_deref() == Some(caller.0.name.as_str()))
        .take(limit)
        .map(|r| {
            json!({
                "id": r.id, "automation_id": r.automation_id, "owner": r.owner,
                "status": r.status, "trigger": r.trigger.kind, "created_at": r.created_at,
                "started_at": r.started_at, "finished_at": r.finished_at,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

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
        obj.remove("owner");
        if refs.is_empty() {
            obj.remove("connections");
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
    let mine: Vec<crate::connections::Connection> = state
        .connections
        .connections
        .list()?
        .into_iter()
        .filter(|c| c.owner == caller.0.name)
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
        obj.remove("connections");
    }
    let created = create(&state, document, &caller.0.name)?;
    let mut view = created.view();
    view["connections_mapped"] = Value::Object(mapped);
    Ok((StatusCode::CREATED, Json(view)))
}

/// `POST /api/v1/runs/{id}/stop`: the owner or an admin stops a run.
pub async fn stop_run(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let record = state
        .weft
        .store()
        .get_run(&id)?
        .filter(|r| caller.is_admin() || r.owner.as_deref() == Some(caller.0.name.as_str()))
        .ok_or_else(|| ApiError::not_found(&format!("run {id:?}")))?;
    match state.queue()?.stop(state.weft.store(), &record.id)? {
        crate::queue::StopOutcome::Stopping => Ok((
            StatusCode::ACCEPTED,
            Json(json!({"run_id": id, "status": "stopping"})),
        )),
        crate::queue::StopOutcome::StoppedBeforeStart => Ok((
            StatusCode::OK,
            Json(json!({"run_id": id, "status": "stopped"})),
        )),
        crate::queue::StopOutcome::AlreadyFinished => Err(ApiError::new(
            StatusCode::CONFLICT,
            "run_finished",
            format!("run {id:?} has already ended; nothing to stop"),
        )),
    }
}
