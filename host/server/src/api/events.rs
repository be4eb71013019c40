//! `GET /api/v1/runs/{id}/events`: a run's progress as server-sent events,
//! for the console's live view.
//!
//! The stream reads the history as the walker writes it — so it shows
//! exactly what `GET /api/v1/runs/{id}` would, durable steps only — every
//! [`POLL`], and sends `step` (a new step record), `run` (the record, when
//! its status changed) and a last `end` once the run is final. Bounded:
//! at most [`MAX_STREAMS`] at once (more answer 503 `too_many_streams`),
//! each for at most [`MAX_STREAM`] (the console reconnects), and steps
//! only to the run's owner (an admin watching another user's run gets its
//! status, never its contents, as everywhere in the API).

use super::Caller;
use super::runs::status_only;
use crate::AppState;
use crate::error::ApiError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How often the history is read.
pub const POLL: Duration = Duration::from_millis(200);
/// Longest a stream stays open.
pub const MAX_STREAM: Duration = Duration::from_secs(600);
/// Streams open at once across the server.
pub const MAX_STREAMS: usize = 64;

static OPEN: AtomicUsize = AtomicUsize::new(0);

/// Counts an open stream; released when the stream is dropped.
struct Slot;

impl Slot {
    fn take() -> Option<Slot> {
        let taken = OPEN.fetch_add(1, Ordering::SeqCst);
        if taken >= MAX_STREAMS {
            OPEN.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::SeqCst);
    }
}

pub async fn run_events(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let not_found = || ApiError::not_found(&format!("run {id:?}"));
    let record = state.weft.store().get_run(&id)?.ok_or_else(not_found)?;
    let owner = record.owner.as_deref() == Some(caller.0.name.as_str());
    if !owner && !caller.is_admin() {
        return Err(not_found());
    }
    let slot = Slot::take().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_streams",
            format!("the server already streams {MAX_STREAMS} runs' events; poll GET /api/v1/runs/{id} instead, or retry shortly"),
        )
        .retry_after(5)
    })?;
    // A small buffer: a slow reader holds the poller back rather than
    // letting events pile up in memory.
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(16);
    tokio::spawn(watch(state, id, owner, slot, tx));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Poll run `id`'s history and send what is new, until the run is final,
/// the reader is gone or [`MAX_STREAM`] has passed.
async fn watch(
    state: Arc<AppState>,
    id: String,
    owner: bool,
    _slot: Slot,
    tx: tokio::sync::mpsc::Sender<Event>,
) {
    let started = Instant::now();
    let mut sent_steps = 0usize;
    let mut last_status = None;
    loop {
        let store = state.weft.store();
        // Gone (deleted by retention) or unreadable: the stream ends.
        let Ok(Some(record)) = store.get_run(&id) else {
            break;
        };
        if owner && let Ok(steps) = store.steps(&id) {
            for step in steps.iter().skip(sent_steps) {
                let Ok(event) = Event::default().event("step").json_data(step) else {
                    continue;
                };
                if tx.send(event).await.is_err() {
                    return;
                }
            }
            sent_steps = sent_steps.max(steps.len());
        }
        if last_status != Some(record.status) {
            last_status = Some(record.status);
            let body = if owner {
                serde_json::to_value(&record).unwrap_or_default()
            } else {
                status_only(&record)
            };
            if let Ok(event) = Event::default().event("run").json_data(body)
                && tx.send(event).await.is_err()
            {
                return;
            }
        }
        if record.status.is_final() || started.elapsed() > MAX_STREAM {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let _ = tx.send(Event::default().event("end").data("{}")).await;
}
