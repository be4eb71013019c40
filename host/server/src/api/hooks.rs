//! Webhook triggers (secret path and signed) and the webhook secret's rotation.

use super::{Caller, owned, version_conflict};
use crate::AppState;
use crate::automations::StoredAutomation;
use crate::error::ApiError;
use crate::now_ms;
use crate::replay::Claim;
use crate::users::{new_token, token_hash};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use weft_host::Trigger;

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
    accept_webhook(&state, a, &headers, &body, false).await
}

/// Queue a webhook run of `a` with `body` as its `$.Start`.
async fn accept_webhook(
    state: &AppState,
    a: StoredAutomation,
    headers: &HeaderMap,
    body: &[u8],
    signed: bool,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
    let admitted = state
        .admission()?
        .trigger(&a, payload, Trigger::Webhook { signed })
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"run_id": admitted.run_id()})),
    ))
}

/// The associated data that binds a sealed webhook secret to its automation.
pub(crate) fn webhook_aad(id: &str) -> String {
    format!("webhook:{id}")
}

pub(crate) fn seal_webhook_secret(state: &AppState, id: &str, secret: &str) -> String {
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
/// (the scheme Stripe and others use: the secret never travels). A
/// signature is accepted once: the same request sent again while its
/// timestamp is within the five-minute window answers 409
/// `webhook_replayed` (see [`crate::replay`]).
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
    let expires_at = t.saturating_add(SIGNATURE_TOLERANCE_SECS);
    let guard = &state.webhook_signatures;
    if let Claim::Replayed { run_id } = guard.claim(&id, &v1, expires_at, now_ms() / 1000)? {
        let first = run_id
            .as_deref()
            .map(|r| format!(" (it started run {r})"))
            .unwrap_or_default();
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "webhook_replayed",
            format!(
                "this signed request was already accepted{first}; each signature is accepted once. Sign a new request with the current time to trigger another run"
            ),
        )
        .details(json!({"run_id": run_id})));
    }
    match accept_webhook(&state, a, &headers, &body, true).await {
        Ok((status, Json(answer))) => {
            if let Some(run_id) = answer["run_id"].as_str() {
                guard.accepted(&id, &v1, expires_at, run_id)?;
            }
            Ok((status, Json(answer)))
        }
        Err(e) => {
            // Not accepted (disabled, rate-limited, queue full, bad body):
            // the sender may retry this very request.
            guard.release(&id, &v1)?;
            Err(e)
        }
    }
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
