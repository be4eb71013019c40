//! Runs: manual starts, the API-call trigger, listing, reading and stopping.

use super::{Caller, JsonBody, owned};
use crate::AppState;
use crate::admission::Admitted;
use crate::error::ApiError;
use crate::users::token_hash;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use weft_host::{RunStatus, Trigger};

pub async fn start_run(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Option<JsonBody<Value>>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let a = owned(&state, &caller, &id)?;
    // The body is optional, but when there is one it is an object
    // (`{"input": …}`); anything else is a client mistake, not "no input".
    let input = match body.map(|JsonBody(v)| v) {
        None => json!({}),
        Some(Value::Object(mut fields)) => fields.remove("input").unwrap_or(json!({})),
        Some(_) => {
            return Err(ApiError::bad_request(
                "the body must be an object, {\"input\": …}, or empty",
            ));
        }
    };
    let trigger = Trigger::Manual {
        user: caller.0.name.clone(),
    };
    let admitted = state.admission()?.trigger(&a, input, trigger).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"run_id": admitted.run_id()})),
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
        return Ok(Json(json!({ "run": status_only(&record) })));
    }
    Err(ApiError::not_found(&format!("run {id:?}")))
}

/// What an admin who does not own a run may see of it: its status, never
/// its contents.
pub(crate) fn status_only(r: &weft_host::RunRecord) -> Value {
    json!({
        "id": r.id, "automation_id": r.automation_id, "owner": r.owner,
        "status": r.status, "created_at": r.created_at,
        "started_at": r.started_at, "finished_at": r.finished_at,
    })
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
    let input = body.map(|JsonBody(v)| v).unwrap_or(json!({}));
    let trigger = Trigger::Api { sync: !q.run_async };
    let (run_id, waiter) = match state.admission()?.trigger(&a, input, trigger).await? {
        Admitted::Queued { run_id } => {
            return Ok((StatusCode::ACCEPTED, Json(json!({"run_id": run_id}))));
        }
        Admitted::Waiting { run_id, result } => (run_id, result),
    };
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunsQuery {
    #[serde(default)]
    automation: Option<String>,
    /// Comma-separated run statuses.
    #[serde(default)]
    status: Option<String>,
    /// A trigger kind: `manual`, `api`, `webhook`, `schedule`, …
    #[serde(default)]
    trigger: Option<String>,
    /// Created at or after (ms since the epoch, or RFC 3339).
    #[serde(default)]
    since: Option<String>,
    /// Created before (ms since the epoch, or RFC 3339).
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    cursor: Option<String>,
}

/// How many stored runs one page may read before it answers with what it
/// found: a filter that matches little must not make one request read all
/// history. The page then holds fewer than `limit` items but still has a
/// `next_cursor` to go on from.
const MAX_SCANNED_PER_PAGE: usize = 20_000;

/// Run ids are UUIDv7 and `created_at` is taken from the same clock a
/// moment apart; this slack keeps `since` from stopping the walk early
/// on a run whose id and timestamp straddle a millisecond.
const SINCE_SLACK_MS: i64 = 60_000;

/// Whether `value` is milliseconds as the document spells them: an
/// optional `-` and 1 to 18 digits (`str::parse` alone would also take a
/// `+` and 19 digits).
fn is_millis(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    (1..=18).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A time bound: milliseconds since the epoch, or RFC 3339 as the document
/// spells it (`T` and `Z` in capitals; chrono alone would also take a
/// space and lower case, which the document does not promise).
fn time_bound(field: &str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(value) = value else {
        return Ok(None);
    };
    if is_millis(value)
        && let Ok(ms) = value.parse::<i64>()
    {
        return Ok(Some(ms));
    }
    let strict = value.as_bytes().get(10) == Some(&b'T') && !value.contains(['t', 'z', ' ']);
    strict
        .then(|| chrono::DateTime::parse_from_rfc3339(value).ok())
        .flatten()
        .map(|t| Some(t.timestamp_millis()))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{field}: {value:?} is neither milliseconds since the epoch nor an RFC 3339 time (e.g. 2026-01-31T12:00:00Z)"
            ))
        })
}

/// `GET /api/v1/runs`: newest first, in pages. Owners see their runs in
/// full summary; admins see every run's status.
pub async fn list_runs(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<RunsQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = crate::paging::limit(q.limit)?;
    let automation = crate::paging::filter("automation", q.automation)?;
    let trigger = crate::paging::filter("trigger", q.trigger)?;
    let statuses: Option<Vec<RunStatus>> = q
        .status
        .as_deref()
        .map(|list| {
            list.split(',')
                .map(|s| {
                    serde_json::from_value(Value::String(s.trim().to_string())).map_err(|_| {
                        ApiError::bad_request(format!(
                            "status: {s:?} is not one of queued, running, paused, finished, finished-with-warnings, failed, stopped"
                        ))
                    })
                })
                .collect()
        })
        .transpose()?;
    let since = time_bound("since", q.since.as_deref())?;
    let until = time_bound("until", q.until.as_deref())?;
    let before: Option<String> = q.cursor.as_deref().map(crate::paging::decode).transpose()?;
    let mut items = Vec::new();
    let mut scanned = 0usize;
    let mut last_seen: Option<String> = None;
    let mut more = false;
    state.weft.store().scan_runs(before.as_deref(), &mut |r| {
        if items.len() == limit || scanned == MAX_SCANNED_PER_PAGE {
            more = true;
            return false;
        }
        if since.is_some_and(|s| r.created_at < s.saturating_sub(SINCE_SLACK_MS)) {
            return false;
        }
        scanned += 1;
        last_seen = Some(r.id.clone());
        let wanted = (caller.is_admin() || r.owner.as_deref() == Some(caller.0.name.as_str()))
            && automation.as_deref().is_none_or(|a| a == r.automation_id)
            && statuses.as_ref().is_none_or(|s| s.contains(&r.status))
            && trigger.as_deref().is_none_or(|t| t == r.trigger.kind())
            && since.is_none_or(|s| r.created_at >= s)
            && until.is_none_or(|u| r.created_at < u);
        if wanted {
            let mut item = json!({
                "id": r.id, "automation_id": r.automation_id, "owner": r.owner,
                "status": r.status, "trigger": r.trigger.kind(), "created_at": r.created_at,
                "started_at": r.started_at, "finished_at": r.finished_at,
            });
            // A title is made from the run's data (an `update-run-title`
            // block): its owner sees it, an admin governing the run does
            // not, as with the rest of its log.
            if let (Some(title), true) =
                (&r.title, r.owner.as_deref() == Some(caller.0.name.as_str()))
                && let Some(fields) = item.as_object_mut()
            {
                fields.insert("title".into(), Value::String(title.clone()));
            }
            items.push(item);
        }
        true
    })?;
    let next_cursor = if more {
        last_seen.as_ref().map(crate::paging::encode)
    } else {
        None
    };
    Ok(Json(
        json!({ "items": items, "limit": limit, "next_cursor": next_cursor }),
    ))
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
    if record.status == RunStatus::Paused {
        let weft = state.weft.clone();
        let run_id = id.clone();
        let stopped =
            tokio::task::spawn_blocking(move || weft.stop_paused(&run_id, crate::now_ms()))
                .await
                .map_err(|e| ApiError::internal(format!("stopping the run stopped: {e}")))?;
        if stopped?.is_some() {
            state.admission()?.paused().forget(&id);
            return Ok((
                StatusCode::OK,
                Json(json!({"run_id": id, "status": "stopped"})),
            ));
        }
    }
    let admission = state.admission()?;
    match admission
        .queue()
        .stop(state.weft.store(), admission.coordination(), &record.id)?
    {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServerConfig;
    use crate::users::{Role, User};

    fn query() -> RunsQuery {
        RunsQuery {
            automation: None,
            status: None,
            trigger: None,
            since: None,
            until: None,
            limit: None,
            cursor: None,
        }
    }

    /// A run's title (set by an `update-run-title` block) is in the list
    /// its owner sees, and not in an admin's governing view of it.
    #[tokio::test]
    async fn titles_are_listed_for_the_runs_owner_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let weft = weft_host::Weft::builder()
            .sled(dir.path().join("history"))
            .build()
            .await
            .expect("weft");
        let plan = weft
            .validate(&json!({
                "weft": "automation/v1", "id": "titled", "name": "titled",
                "blocks": [
                    {"id": "Start", "type": "start"},
                    {"id": "Title", "type": "update-run-title", "title": "Order {$.Start.n}"}
                ],
                "edges": [{"from": "Start", "to": "Title"}]
            }))
            .expect("valid");
        let mut record = weft_host::new_record(&plan, json!({"n": 7}), Trigger::custom("test"));
        record.owner = Some("alice".into());
        let ran = weft
            .run_record(&plan, record, weft_host::CancellationToken::new())
            .await
            .expect("run");
        assert_eq!(ran.record.title.as_deref(), Some("Order 7"));
        let state = Arc::new(
            AppState::open(weft, &dir.path().join("server"), ServerConfig::default())
                .expect("state"),
        );
        let list = |name: &str, role: Role| {
            let caller = Caller(User {
                name: name.into(),
                role,
            });
            list_runs(State(state.clone()), caller, Query(query()))
        };
        let Json(owned) = list("alice", Role::User).await.expect("list");
        assert_eq!(owned["items"][0]["title"], json!("Order 7"));
        let Json(governed) = list("root", Role::Admin).await.expect("list");
        assert_eq!(governed["items"][0]["id"], owned["items"][0]["id"]);
        assert!(governed["items"][0].get("title").is_none(), "{governed}");
    }
}
