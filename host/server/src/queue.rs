//! The durable run queue. A triggered run is first written to the history
//! store as `queued` (and flushed) — only then is the trigger acknowledged —
//! and a dispatcher starts it when its automation is below its concurrency
//! limit (default 1; the rest wait in order) and a global slot is free.
//!
//! On start the server re-queues what it finds `queued` and resumes what
//! it finds `running` (the server stopped mid-run): the resumed run starts
//! over, keeps the earlier steps in its history and records a warning,
//! since blocks before the stop may run twice. A finished run is never
//! touched again.

use crate::AppState;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use tokio::sync::{Semaphore, mpsc};
use weft_host::store::{RunFilter, RunStatus, StoreError};
use weft_host::{CancellationToken, RunRecord, RunStore};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

enum Event {
    Enqueued {
        run_id: String,
        automation_id: String,
    },
    Finished {
        automation_id: String,
    },
}

/// Handle to the dispatcher task.
#[derive(Clone)]
pub struct Queue {
    tx: mpsc::UnboundedSender<Event>,
    /// Cancellation for each run in progress.
    running: Arc<Mutex<HashMap<String, CancellationToken>>>,
}

/// What [`Queue::stop`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum StopOutcome {
    /// The run was in progress and is stopping at its next block boundary.
    Stopping,
    /// The run had not started; it is marked stopped and will not start.
    StoppedBeforeStart,
    /// The run had already ended.
    AlreadyFinished,
}

#[derive(Default)]
struct Lane {
    running: usize,
    waiting: VecDeque<String>,
}

impl Queue {
    /// Start the dispatcher. It holds only a weak reference to the state,
    /// so it ends with the server.
    pub fn start(state: Weak<AppState>, per_automation: usize, global: usize) -> Queue {
        let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
        let running = Arc::new(Mutex::new(HashMap::new()));
        let queue = Queue {
            tx: tx.clone(),
            running: running.clone(),
        };
        let slots = Arc::new(Semaphore::new(global.max(1)));
        tokio::spawn(async move {
            let mut lanes: HashMap<String, Lane> = HashMap::new();
            while let Some(event) = rx.recv().await {
                let automation_id = match event {
                    Event::Enqueued {
                        run_id,
                        automation_id,
                    } => {
                        let lane = lanes.entry(automation_id.clone()).or_default();
                        lane.waiting.push_back(run_id);
                        automation_id
                    }
                    Event::Finished { automation_id } => {
                        if let Some(lane) = lanes.get_mut(&automation_id) {
                            lane.running = lane.running.saturating_sub(1);
                        }
                        automation_id
                    }
                };
                let Some(lane) = lanes.get_mut(&automation_id) else {
                    continue;
                };
                while lane.running < per_automation.max(1) {
                    let Some(run_id) = lane.waiting.pop_front() else {
                        break;
                    };
                    lane.running += 1;
                    let (state, slots, tx, automation_id, running) = (
                        state.clone(),
                        slots.clone(),
                        tx.clone(),
                        automation_id.clone(),
                        running.clone(),
                    );
                    tokio::spawn(async move {
                        if let Ok(_permit) = slots.acquire_owned().await
                            && let Some(state) = state.upgrade()
                        {
                            let cancel = CancellationToken::new();
                            lock(&running).insert(run_id.clone(), cancel.clone());
                            execute(&state, &run_id, cancel).await;
                            lock(&running).remove(&run_id);
                            state
                                .metrics
                                .queue_depth
                                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        let _ = tx.send(Event::Finished { automation_id });
                    });
                }
                if lane.running == 0 && lane.waiting.is_empty() {
                    lanes.remove(&automation_id);
                }
            }
        });
        queue
    }

    /// Store `record` as queued, durably, then hand it to the dispatcher.
    pub fn enqueue(&self, store: &dyn RunStore, record: &RunRecord) -> Result<(), StoreError> {
        store.put_run(record)?;
        store.flush()?;
        let _ = self.tx.send(Event::Enqueued {
            run_id: record.id.clone(),
            automation_id: record.automation_id.clone(),
        });
        Ok(())
    }

    /// Stop a run: cancel it if it is in progress, or mark it stopped if it
    /// is still waiting.
    pub fn stop(&self, store: &dyn RunStore, run_id: &str) -> Result<StopOutcome, StoreError> {
        if let Some(cancel) = lock(&self.running).get(run_id) {
            cancel.cancel();
            return Ok(StopOutcome::Stopping);
        }
        match store.get_run(run_id)? {
            Some(mut record) if record.status == RunStatus::Queued => {
                record.status = RunStatus::Stopped;
                record.error = Some("stopped on request before it started".into());
                record.finished_at = Some(crate::now_ms());
                store.put_run(&record)?;
                Ok(StopOutcome::StoppedBeforeStart)
            }
            _ => Ok(StopOutcome::AlreadyFinished),
        }
    }

    /// Re-queue queued runs and resume interrupted ones, oldest first.
    pub fn recover(&self, store: &dyn RunStore) -> Result<usize, StoreError> {
        let mut pending: Vec<RunRecord> = store
            .list_runs(&RunFilter::default())?
            .into_iter()
            .filter(|r| matches!(r.status, RunStatus::Queued | RunStatus::Running))
            .collect();
        pending.sort_by_key(|r| r.created_at);
        for record in &mut pending {
            if record.status == RunStatus::Running {
                record.status = RunStatus::Queued;
                record.warnings.push(
                    "resumed after the server stopped during this run; it started over, so blocks before the stop may have run twice".into(),
                );
            }
            self.enqueue(store, record)?;
        }
        Ok(pending.len())
    }
}

/// Run one queued record to the end (or fail it with a reason).
async fn execute(state: &AppState, run_id: &str, cancel: CancellationToken) {
    let store = state.weft.store();
    let record = match store.get_run(run_id) {
        Ok(Some(r)) if r.status == RunStatus::Queued => r,
        // Gone, or already finished: never run a finished run again.
        Ok(_) => return,
        Err(e) => {
            tracing::error!(run_id, "cannot load queued run: {e}");
            return;
        }
    };
    let fail = |mut record: RunRecord, reason: String| {
        record.status = RunStatus::Failed;
        record.error = Some(reason);
        record.finished_at = Some(crate::now_ms());
        if let Err(e) = store.put_run(&record) {
            tracing::error!(run_id = %record.id, "cannot record failure: {e}");
        }
    };
    let automation = match state.automations.get(&record.automation_id) {
        Ok(Some(a)) => a,
        _ => {
            return fail(
                record,
                "the automation was deleted before this run started".into(),
            );
        }
    };
    if !automation.enabled {
        return fail(
            record,
            "the automation was disabled before this run started".into(),
        );
    }
    let plan = match state.plan(&automation) {
        Ok(p) => p,
        Err(e) => return fail(record, e.message),
    };
    match state.weft.run_record(&plan, record, cancel).await {
        Ok(result) => state.metrics.record_run(&result),
        Err(e) => tracing::error!(run_id, "run could not be recorded: {e}"),
    }
}
