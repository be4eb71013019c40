//! The durable run queue. A triggered run is first written to the history
//! store as `queued` (and flushed) — only then is the trigger acknowledged —
//! and a dispatcher starts it when its automation is below its concurrency
//! limit (default 1; the rest wait in order) and a global slot is free.
//!
//! Runs come in through [`crate::admission`], the one way into a run.
//!
//! Synchronous API calls go through the same lanes, so they share the
//! automation's concurrency limit, but their record is not flushed before
//! they start and a waiter gets the result in memory: the caller holds the
//! connection, and an fsync per call would cap the API at the disk's pace.
//!
//! On start the server re-queues what it finds `queued` and resumes what
//! it finds `running` (the server stopped mid-run): the resumed run takes
//! over its history and goes on from its last durably finished block (the
//! walker's resume rule), says so in its record (`resumed`) and records a
//! warning. Every start of a queued run is first recorded durably
//! ([`crate::recovery`]): a run that was in progress at
//! `max_run_interruptions` stops of the server that were not in order (a
//! crash, a kill; default 2) is failed rather than resumed again, so a
//! run that brings the server down cannot keep doing it. Synchronous calls
//! are the exception: their caller got no answer and may have retried, so
//! they are marked failed with that reason rather than run again. A
//! finished run is never touched again: nothing is shown or counted as
//! finished before it is on disk (the store's group commit).

use crate::cluster::{Coordination, SlotClaim};
use crate::global_slot::GlobalSlot;
use crate::recovery::RunStarts;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use tokio::sync::oneshot;
use tokio::sync::{Semaphore, mpsc};
use weft_host::automation::Plan;
use weft_host::store::{RunFilter, RunStatus, StoreError};
use weft_host::{CancellationToken, RunRecord, RunResult, RunStore, Weft};

/// What the queue needs from the server to run what it dispatches: a
/// narrow handle (implemented by [`crate::admission::Runner`]), held
/// weakly so the dispatcher ends with the server.
pub trait QueueRunner: Send + Sync {
    fn weft(&self) -> &Weft;
    /// The durable start marks of queued runs.
    fn starts(&self) -> &RunStarts;
    /// The current plan of an automation, or why its queued run cannot
    /// start (deleted, disabled, no longer valid).
    fn current_plan(&self, automation_id: &str) -> Result<Arc<Plan>, String>;
    /// A run ended (for metrics).
    fn ran(&self, result: &RunResult);
    /// A run left the queue, run or not (for the queue depth gauge).
    fn left_queue(&self);
    /// How this host shares runs with others (slots over every host).
    fn coordination(&self) -> &Coordination;
}

/// Receives the result of a synchronous run.
pub type Waiter = oneshot::Receiver<RunResult>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

enum Event {
    Enqueued {
        run_id: String,
        automation_id: String,
        /// The automation's own concurrency limit, if it sets one.
        limit: Option<usize>,
        /// For synchronous calls: the record (not read back from the
        /// store) and where to send the result.
        waiter: Option<SyncJob>,
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
    /// Runs admitted but not started, per automation.
    waiting: Arc<Mutex<HashMap<String, usize>>>,
    /// Most runs one automation may have waiting.
    max_waiting: usize,
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

/// A synchronous call: the record and plan in memory, and where the result goes.
struct SyncJob {
    record: Box<RunRecord>,
    /// Written to the store as queued: only once it has to wait.
    stored: bool,
    plan: std::sync::Arc<weft_host::automation::Plan>,
    reply: oneshot::Sender<RunResult>,
}

impl SyncJob {
    /// Write the record as queued (once), so a call that has to wait can
    /// be seen and stopped.
    fn show_queued(&mut self, runner: &dyn QueueRunner) {
        if self.stored {
            return;
        }
        self.stored = true;
        if let Err(e) = runner.weft().store().put_run(&self.record) {
            tracing::error!(run_id = %self.record.id, "cannot record queued run: {e}");
        }
    }
}

type Job = (String, Option<SyncJob>);

#[derive(Default)]
struct Lane {
    running: usize,
    limit: Option<usize>,
    waiting: VecDeque<Job>,
}

impl Queue {
    /// Start the dispatcher. It holds only a weak reference to its runner,
    /// so it ends with the server.
    pub fn start(
        runner: Weak<dyn QueueRunner>,
        per_automation: usize,
        global: usize,
        max_waiting: usize,
    ) -> Queue {
        let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
        let running = Arc::new(Mutex::new(HashMap::new()));
        let waiting = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
        let queue = Queue {
            tx: tx.clone(),
            running: running.clone(),
            waiting: waiting.clone(),
            max_waiting: max_waiting.max(1),
        };
        let slots = Arc::new(Semaphore::new(global.max(1)));
        tokio::spawn(async move {
            let mut lanes: HashMap<String, Lane> = HashMap::new();
            while let Some(event) = rx.recv().await {
                let automation_id = match event {
                    Event::Enqueued {
                        run_id,
                        automation_id,
                        limit,
                        waiter,
                    } => {
                        // The latest trigger carries the automation's
                        // current setting (`None`: the server default).
                        let lane = lanes.entry(automation_id.clone()).or_default();
                        lane.limit = limit;
                        lane.waiting.push_back((run_id, waiter));
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
                while lane.running < lane.limit.unwrap_or(per_automation).max(1) {
                    let Some((run_id, waiter)) = lane.waiting.pop_front() else {
                        break;
                    };
                    release(&waiting, &automation_id);
                    lane.running += 1;
                    let limit = lane.limit.unwrap_or(per_automation).max(1);
                    let (runner, slots, tx, automation_id, running) = (
                        runner.clone(),
                        slots.clone(),
                        tx.clone(),
                        automation_id.clone(),
                        running.clone(),
                    );
                    tokio::spawn(async move {
                        let mut waiter = waiter;
                        let permit = match slots.clone().try_acquire_owned() {
                            Ok(permit) => Ok(permit),
                            Err(_) => {
                                // Waiting for a global slot: a synchronous
                                // call becomes visible as queued meanwhile.
                                if let (Some(job), Some(runner)) =
                                    (waiter.as_mut(), runner.upgrade())
                                {
                                    job.show_queued(&*runner);
                                }
                                slots.clone().acquire_owned().await
                            }
                        };
                        if let Ok(permit) = permit
                            && let Some(runner) = runner.upgrade()
                        {
                            let cancel = CancellationToken::new();
                            lock(&running).insert(run_id.clone(), cancel.clone());
                            let slot = Arc::new(GlobalSlot::new(slots.clone(), permit));
                            execute(&*runner, &run_id, waiter, cancel, slot, limit).await;
                            lock(&running).remove(&run_id);
                            runner.left_queue();
                        }
                        let _ = tx.send(Event::Finished { automation_id });
                    });
                }
                // Synchronous calls that must wait become visible as queued.
                if let Some(runner) = runner.upgrade() {
                    for (_, job) in lane.waiting.iter_mut().rev() {
                        match job {
                            Some(job) if !job.stored => job.show_queued(&*runner),
                            Some(_) => break,
                            None => {}
                        }
                    }
                }
                if lane.running == 0 && lane.waiting.is_empty() {
                    lanes.remove(&automation_id);
                }
            }
        });
        queue
    }

    /// Admit one more waiting run of `automation_id`, unless it already has
    /// as many waiting as allowed (the caller answers 429). Every admitted
    /// run must then be enqueued or [`Queue::release`]d.
    pub fn try_admit(&self, automation_id: &str) -> bool {
        let mut waiting = lock(&self.waiting);
        let n = waiting.entry(automation_id.to_string()).or_default();
        if *n >= self.max_waiting {
            return false;
        }
        *n += 1;
        true
    }

    /// Give back an admission that was not enqueued after all.
    pub fn release(&self, automation_id: &str) {
        release(&self.waiting, automation_id);
    }

    /// Store `record` as queued, durably, then hand it to the dispatcher.
    /// `limit` is the automation's own concurrency limit, if it has one.
    /// Waits for the store's group commit: many triggers share one flush.
    pub async fn enqueue(
        &self,
        store: &dyn RunStore,
        record: &RunRecord,
        limit: Option<usize>,
    ) -> Result<(), StoreError> {
        store.put_run(record)?;
        store.committed().await?;
        self.dispatch(record, limit);
        Ok(())
    }

    /// Queue again a durably queued run that was accepted before (a
    /// paused run whose form was answered): admitted whatever the cap.
    pub fn resume(&self, record: &RunRecord, limit: Option<usize>) {
        *lock(&self.waiting)
            .entry(record.automation_id.clone())
            .or_default() += 1;
        self.dispatch(record, limit);
    }

    /// Hand a durably queued record to the dispatcher.
    fn dispatch(&self, record: &RunRecord, limit: Option<usize>) {
        let _ = self.tx.send(Event::Enqueued {
            run_id: record.id.clone(),
            automation_id: record.automation_id.clone(),
            limit,
            waiter: None,
        });
    }

    /// Queue a synchronous run. If it has to wait for a free slot it is
    /// recorded as queued (so it can be looked up and stopped), never
    /// flushed; the result comes back through the returned waiter.
    pub fn enqueue_sync(
        &self,
        record: RunRecord,
        plan: std::sync::Arc<weft_host::automation::Plan>,
        limit: Option<usize>,
    ) -> Waiter {
        let (tx, rx) = oneshot::channel();
        let _ = self.tx.send(Event::Enqueued {
            run_id: record.id.clone(),
            automation_id: record.automation_id.clone(),
            limit,
            waiter: Some(SyncJob {
                record: Box::new(record),
                stored: false,
                plan,
                reply: tx,
            }),
        });
        rx
    }

    /// Cancel `run_id` if this host is walking it (a stop asked on another
    /// host, see [`crate::cluster`]).
    pub fn cancel_here(&self, run_id: &str) {
        if let Some(cancel) = lock(&self.running).get(run_id) {
            cancel.cancel();
        }
    }

    /// Stop a run: cancel it if it is in progress here, ask its holder to
    /// if it is in progress on another host, or mark it stopped if it is
    /// still waiting.
    pub fn stop(
        &self,
        store: &dyn RunStore,
        coordination: &Coordination,
        run_id: &str,
    ) -> Result<StopOutcome, StoreError> {
        let ask_holder = |run_id: &str| {
            coordination
                .request_stop(run_id)
                .map_err(|e| StoreError::Backend(e.to_string()))
        };
        // Held until the record is marked: a run that starts meanwhile
        // registers itself only after, then reads `stopped` and never runs.
        let running = lock(&self.running);
        if let Some(cancel) = running.get(run_id) {
            cancel.cancel();
            return Ok(StopOutcome::Stopping);
        }
        match store.get_run(run_id)? {
            Some(mut record) if record.status == RunStatus::Queued => {
                record.status = RunStatus::Stopped;
                record.error = Some("stopped on request before it started".into());
                record.finished_at = Some(crate::now_ms());
                store.put_run(&record)?;
                // Durable (and visible) before the dispatcher could read it.
                store.flush()?;
                // Another host may have claimed it just now: it stops it.
                ask_holder(run_id)?;
                Ok(StopOutcome::StoppedBeforeStart)
            }
            Some(record) if record.status == RunStatus::Running && ask_holder(run_id)? => {
                Ok(StopOutcome::Stopping)
            }
            _ => Ok(StopOutcome::AlreadyFinished),
        }
    }

    /// Re-queue queued runs and resume interrupted ones, oldest first;
    /// fail those `starts` shows were in progress at `max_interruptions`
    /// stops of the server. `limit_of` gives an automation's own
    /// concurrency limit.
    pub fn recover(
        &self,
        store: &dyn RunStore,
        starts: &RunStarts,
        limits: (u32, u32),
        limit_of: impl Fn(&str) -> Option<usize>,
    ) -> Result<usize, StoreError> {
        let pending: Vec<RunRecord> = store
            .list_runs(&RunFilter::default())?
            .into_iter()
            .filter(|r| matches!(r.status, RunStatus::Queued | RunStatus::Running))
            .collect();
        self.requeue(store, starts, limits, limit_of, pending)
    }

    /// [`Queue::recover`] for the runs `ids` only: runs of a host that
    /// died, taken over from the shared database ([`crate::cluster`]).
    pub fn take_over(
        &self,
        store: &dyn RunStore,
        starts: &RunStarts,
        limits: (u32, u32),
        limit_of: impl Fn(&str) -> Option<usize>,
        ids: &[String],
    ) -> Result<usize, StoreError> {
        let mut pending = Vec::with_capacity(ids.len());
        for id in ids {
            match store.get_run(id)? {
                Some(r) if matches!(r.status, RunStatus::Queued | RunStatus::Running) => {
                    pending.push(r)
                }
                _ => {}
            }
        }
        self.requeue(store, starts, limits, limit_of, pending)
    }

    /// Re-queue or fail unfinished runs by the recovery rules.
    fn requeue(
        &self,
        store: &dyn RunStore,
        starts: &RunStarts,
        (max_interruptions, max_resumes): (u32, u32),
        limit_of: impl Fn(&str) -> Option<usize>,
        mut pending: Vec<RunRecord>,
    ) -> Result<usize, StoreError> {
        pending.sort_by_key(|r| r.created_at);
        let mut requeued = Vec::new();
        for record in &mut pending {
            if record.trigger.is_waited_for() {
                record.status = RunStatus::Failed;
                record.error = Some("the server stopped before this run finished; whoever waited for it (an API caller or a calling automation) got no answer, so it was not run again on its own".into());
                record.finished_at = Some(crate::now_ms());
                store.put_run(record)?;
                continue;
            }
            // Each recorded start that did not finish was cut short by a
            // stop; a run shown running predates the marks or lost one.
            let started = starts
                .count(&record.id)
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            let marks = started.unwrap_or(crate::recovery::Marks {
                crashes: u32::from(record.status == RunStatus::Running),
                orderly: 0,
            });
            let max_interruptions = max_interruptions.max(1);
            if marks.crashes >= max_interruptions || marks.orderly >= max_resumes.max(1) {
                record.status = RunStatus::Failed;
                record.error = Some(crate::recovery::not_retried(marks, max_interruptions));
                record.finished_at = Some(crate::now_ms());
                store.put_run(record)?;
                starts.forget(&record.id);
                continue;
            }
            // Marked at all: it was started, so blocks may have run. It
            // resumes at its last durably finished block (the walker's
            // resume rule): only the block in progress may run again.
            if started.is_some() || record.status == RunStatus::Running {
                record.status = RunStatus::Queued;
                let resumed = record.resumed.get_or_insert(weft_host::store::Resumed {
                    times: 0,
                    after_step: None,
                    after_block: None,
                });
                resumed.times += 1;
                record.warnings.push(
                    "resumed after the server stopped during this run: blocks that had finished were not run again; the block in progress at the stop (if any) ran again".into(),
                );
            }
            store.put_run(record)?;
            requeued.push((record.clone(), limit_of(&record.automation_id)));
        }
        // One flush for all of them, before any starts.
        store.flush()?;
        for (record, limit) in &requeued {
            // Recovered runs were accepted before: admitted whatever the cap.
            *lock(&self.waiting)
                .entry(record.automation_id.clone())
                .or_default() += 1;
            self.dispatch(record, *limit);
        }
        Ok(requeued.len())
    }
}

fn release(waiting: &Mutex<HashMap<String, usize>>, automation_id: &str) {
    let mut waiting = lock(waiting);
    if let Some(n) = waiting.get_mut(automation_id) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            waiting.remove(automation_id);
        }
    }
}

/// Run one queued record to the end (or fail it with a reason).
async fn execute(
    runner: &dyn QueueRunner,
    run_id: &str,
    waiter: Option<SyncJob>,
    cancel: CancellationToken,
    slot: Arc<GlobalSlot>,
    limit: usize,
) {
    let store = runner.weft().store();
    let (record, plan, reply) = match waiter {
        Some(SyncJob {
            record,
            stored,
            plan,
            reply,
        }) => {
            // A stop request may have landed while it waited.
            match stored.then(|| store.get_run(run_id)) {
                Some(Ok(Some(r))) if r.status != RunStatus::Queued => {
                    let _ = reply.send(RunResult {
                        record: r,
                        steps: Vec::new(),
                    });
                    return;
                }
                _ => (*record, Some(plan), Some(reply)),
            }
        }
        None => match store.get_run(run_id) {
            Ok(Some(r)) if r.status == RunStatus::Queued => (r, None, None),
            // Gone, or already finished: never run a finished run again.
            Ok(_) => return,
            Err(e) => {
                tracing::error!(run_id, "cannot load queued run: {e}");
                return;
            }
        },
    };
    let plan = match plan {
        Some(plan) => Ok(plan),
        None => runner.current_plan(&record.automation_id),
    };
    let plan = match plan {
        Ok(plan) => plan,
        Err(reason) => {
            let mut record = record;
            record.status = RunStatus::Failed;
            record.error = Some(reason);
            record.finished_at = Some(crate::now_ms());
            if let Err(e) = store.put_run(&record) {
                tracing::error!(run_id = %record.id, "cannot record failure: {e}");
            }
            if let Some(reply) = reply {
                let _ = reply.send(RunResult {
                    record,
                    steps: Vec::new(),
                });
            }
            return;
        }
    };
    let record = match claim_slot(runner, record, limit, &cancel).await {
        Ok(record) => record,
        Err(answer) => {
            if let (Some(reply), Some(record)) = (reply, answer) {
                let _ = reply.send(RunResult {
                    record,
                    steps: Vec::new(),
                });
            }
            return;
        }
    };
    // Durable runs are marked started, on disk, before they run: if this
    // run takes the process down, the next start knows (see `recover`).
    let marked = match reply {
        Some(_) => Ok(Some(Default::default())),
        // The mark's flush blocks on the disk: on the blocking pool, not
        // a runtime worker (with two workers, two marks in flight would
        // stall every other run and request for a whole fsync).
        None => {
            let (starts, id) = (runner.starts().clone(), record.id.clone());
            tokio::task::spawn_blocking(move || starts.mark(&id))
                .await
                .unwrap_or_else(|e| {
                    Err(crate::recovery::MarkError(format!(
                        "marking the run started stopped: {e}"
                    )))
                })
        }
    };
    if let Ok(None) = marked {
        // The server is shutting down: the run stays queued, durably, and
        // starts at the next start.
        return;
    }
    if let Err(e) = marked {
        let mut record = record;
        record.status = RunStatus::Failed;
        record.error = Some(format!(
            "the run's start could not be recorded, so it was not started: {e}"
        ));
        record.finished_at = Some(crate::now_ms());
        if let Err(e) = store.put_run(&record) {
            tracing::error!(run_id = %record.id, "cannot record failure: {e}");
        }
        return;
    }
    let result = match reply {
        // Someone waits for it: not resumed after a crash (see `recover`).
        Some(_) => {
            runner
                .weft()
                .run_waited_in(&plan, record, cancel, Some(slot))
                .await
        }
        None => {
            runner
                .weft()
                .run_record_in(&plan, record, cancel, Some(slot))
                .await
        }
    };
    if reply.is_none() {
        runner.starts().forget(run_id);
    }
    match result {
        Ok(result) => {
            runner.ran(&result);
            if let Some(reply) = reply {
                let _ = reply.send(result);
            }
        }
        Err(e) => tracing::error!(run_id, "run could not be recorded: {e}"),
    }
}

/// How long a run waits before asking again for a slot its automation
/// has none of on any host.
const CLAIM_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

/// How long a run keeps trying when the database cannot be asked for a
/// slot, before it is failed.
const CLAIM_ERRORS_FOR: std::time::Duration = std::time::Duration::from_secs(30);

/// Wait for one of the automation's `limit` slots over every host (at
/// once on a host alone). `Err`: the run must not start here — stopped
/// while it waited, claimed by another host, or the database could not
/// be asked — with the record to answer a waiting caller with, if any.
async fn claim_slot(
    runner: &dyn QueueRunner,
    mut record: RunRecord,
    limit: usize,
    cancel: &CancellationToken,
) -> Result<RunRecord, Option<RunRecord>> {
    let store = runner.weft().store();
    let mut failing_since: Option<std::time::Instant> = None;
    loop {
        let reason = match runner.coordination().claim_slot(&record, limit).await {
            Ok(SlotClaim::Claimed) => return Ok(record),
            Ok(SlotClaim::NotQueued) => return Err(store.get_run(&record.id).ok().flatten()),
            Ok(SlotClaim::Full) if cancel.is_cancelled() => {
                "stopped on request before it started".to_string()
            }
            Ok(SlotClaim::Full) => {
                failing_since = None;
                tokio::time::sleep(CLAIM_RETRY).await;
                continue;
            }
            Err(e) => {
                let since = *failing_since.get_or_insert_with(std::time::Instant::now);
                if since.elapsed() < CLAIM_ERRORS_FOR && !cancel.is_cancelled() {
                    tracing::warn!(run_id = %record.id, "cannot claim a slot, retrying: {e}");
                    tokio::time::sleep(CLAIM_RETRY * 10).await;
                    continue;
                }
                format!(
                    "the run could not claim a slot of its automation, so it was not started: {e}"
                )
            }
        };
        record.status = if cancel.is_cancelled() {
            RunStatus::Stopped
        } else {
            RunStatus::Failed
        };
        record.error = Some(reason);
        record.finished_at = Some(crate::now_ms());
        if let Err(e) = store.put_run(&record) {
            tracing::error!(run_id = %record.id, "cannot record that the run did not start: {e}");
        }
        return Err(Some(record));
    }
}
