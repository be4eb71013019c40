//! Runs paused at an `input` block, and the sweep that applies their
//! forms' timeouts.
//!
//! A paused run holds no slot and no task: it is only a record
//! (`paused`, with the form it waits for). This index keeps the deadlines
//! of the paused runs in memory — filled from the history at start and
//! by each walk that ends paused — and a sweep checks it every
//! [`SWEEP_EVERY`]: a form whose time is up gets its timeout answer
//! ([`weft_host::Weft::time_out_input`]) and its run is queued again to go
//! on from the block. A timeout that passed while the server was down is
//! applied by the first sweep after start.

use crate::admission::Admission;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError, Weak};
use std::time::Duration;
use weft_host::store::{RunFilter, StoreError};
use weft_host::{RunStatus, RunStore};

/// How often the sweep looks for forms whose time is up: a timeout is
/// applied at most this late.
pub const SWEEP_EVERY: Duration = Duration::from_millis(500);

/// Paused runs and when their forms expire (ms since the epoch).
#[derive(Default)]
pub struct PausedRuns {
    due: Mutex<HashMap<String, i64>>,
}

impl PausedRuns {
    fn due(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.due.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Watch `run_id`'s form until `expires_at`.
    pub fn watch(&self, run_id: &str, expires_at: i64) {
        self.due().insert(run_id.to_string(), expires_at);
    }

    /// Stop watching `run_id` (answered, stopped, or deleted).
    pub fn forget(&self, run_id: &str) {
        self.due().remove(run_id);
    }

    /// Watch every paused run in `store` (at start). Returns how many.
    pub fn load(&self, store: &dyn RunStore) -> Result<usize, StoreError> {
        let mut found = 0;
        for run in store.list_runs(&RunFilter::default())? {
            if let (RunStatus::Paused, Some(waiting)) = (run.status, &run.waiting_for) {
                self.watch(&run.id, waiting.expires_at);
                found += 1;
            }
        }
        Ok(found)
    }

    /// The runs whose forms expired by `now_ms`.
    fn expired(&self, now_ms: i64) -> Vec<String> {
        self.due()
            .iter()
            .filter(|(_, at)| **at <= now_ms)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

/// Apply the timeouts that are due as of `now_ms` and queue their runs
/// again. Returns how many runs went on.
pub fn sweep(admission: &Admission, now_ms: i64) -> usize {
    let paused = admission.paused();
    let mut resumed = 0;
    for run_id in paused.expired(now_ms) {
        match admission.weft().time_out_input(&run_id, now_ms) {
            Ok(Some(record)) => {
                paused.forget(&run_id);
                admission.resume(&record);
                resumed += 1;
            }
            // Answered, stopped or deleted meanwhile.
            Ok(None) => paused.forget(&run_id),
            // Kept: the next sweep tries again.
            Err(e) => tracing::warn!(run_id, "cannot apply the form's timeout: {e}"),
        }
    }
    resumed
}

/// Sweep every [`SWEEP_EVERY`] until the server is gone.
pub fn start(admission: Weak<Admission>) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(SWEEP_EVERY);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let Some(admission) = admission.upgrade() else {
                return;
            };
            // Each timeout is a durable write: off the runtime's workers.
            let swept =
                tokio::task::spawn_blocking(move || sweep(&admission, crate::now_ms())).await;
            if let Err(e) = swept {
                tracing::error!("the form timeout sweep stopped: {e}");
            }
        }
    });
}
