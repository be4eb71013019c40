//! Run admission: the one way into a run, for every trigger.
//!
//! ```text
//!  manual ─┐
//!  API call (async) ─┤                 ┌──────────── Admission ─────────────┐
//!  webhook, signed ──┤── Trigger ──▶  │ check: enabled, rate limit          │
//!  schedule ─────────┤                 │ plan: validated, cached per version │
//!  call (async) ─────┘                 │ admit: queue cap per automation     │──▶ Queue ──▶ Runner
//!  API call (sync) ──── waiter ◀────  │ record: stored + group-committed    │    lanes     walk
//!  call (sync) ──── runs inline ◀──   └─────────────────────────────────────┘              metrics
//!  recovery (start) ──────────── re-admitted, whatever the cap ─────────────▶ Queue
//! ```
//!
//! Every trigger becomes a typed [`Trigger`] and goes through
//! [`Admission::trigger`] (or [`Admission::call_and_wait`] for a
//! `call_automation` block that waits, which runs in its caller's task so
//! it cannot deadlock on a slot the caller holds). What can refuse a
//! trigger is an [`AdmitError`]: a domain error the HTTP layer maps to
//! its status and stable code, and the scheduler and chaining turn into
//! log lines and block errors. The queue gets a narrow [`Runner`] — the
//! engine, the plans, the start marks and the metrics — not the server.

use crate::automations::{Automations, StoredAutomation};
use crate::metrics::Metrics;
use crate::plans::{PlanCache, PlanError};
use crate::queue::{Queue, QueueRunner, Waiter};
use crate::rate_limit::RateLimiter;
use crate::recovery::RunStarts;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use weft_host::automation::Plan;
use weft_host::chaining::ChainCall;
use weft_host::store::StoreError;
use weft_host::{RunResult, Trigger, Weft};

/// Why a trigger did not become a run.
#[derive(Debug, thiserror::Error)]
pub enum AdmitError {
    #[error("automation {automation:?} is disabled{}; enable it (PATCH enabled=true) to run it", .reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Disabled {
        automation: String,
        reason: Option<String>,
    },
    #[error(
        "automation {automation:?} accepts {per_minute} triggers per minute; retry in {retry_after_secs} s"
    )]
    RateLimited {
        automation: String,
        per_minute: u32,
        retry_after_secs: u64,
    },
    #[error(
        "automation {automation:?} already has the most runs waiting that this server holds; retry shortly, or raise its concurrency"
    )]
    QueueFull { automation: String },
    #[error(transparent)]
    Invalid(#[from] PlanError),
    /// The run could not be stored: nothing was accepted.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an admitted trigger became.
pub enum Admitted {
    /// Stored durably as queued; it starts when its lane has room.
    Queued { run_id: String },
    /// A synchronous call: the result arrives on `result`.
    Waiting { run_id: String, result: Waiter },
}

impl Admitted {
    pub fn run_id(&self) -> &str {
        match self {
            Admitted::Queued { run_id } | Admitted::Waiting { run_id, .. } => run_id,
        }
    }
}

/// The admission service (see the module docs).
pub struct Admission {
    automations: Automations,
    runner: Arc<Runner>,
    queue: Queue,
    rate_limits: RateLimiter,
    /// Triggers per minute per automation unless it sets its own.
    default_rate_per_minute: u32,
    /// Recovery's limits (`max_run_interruptions`, `max_run_resumes`),
    /// kept for runs taken over later.
    limits: std::sync::OnceLock<(u32, u32)>,
}

impl Admission {
    /// Start the queue's dispatcher over `runner`.
    pub fn start(
        automations: Automations,
        runner: Arc<Runner>,
        settings: &crate::ServerConfig,
    ) -> Self {
        let queue = Queue::start(
            Arc::downgrade(&runner) as std::sync::Weak<dyn QueueRunner>,
            settings.per_automation_concurrency,
            settings.global_concurrency,
            settings.max_queued_per_automation,
        );
        Admission {
            automations,
            runner,
            queue,
            rate_limits: RateLimiter::default(),
            default_rate_per_minute: settings.rate_limit_per_minute,
            limits: std::sync::OnceLock::new(),
        }
    }

    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    pub fn automations(&self) -> &Automations {
        &self.automations
    }

    /// The plan for `a`'s current version.
    pub fn plan(&self, a: &StoredAutomation) -> Result<Arc<Plan>, PlanError> {
        self.runner.plans.plan(a)
    }

    /// Start `id`'s rate-limit window afresh (its limit changed, or it
    /// was deleted).
    pub fn reset_rate_limit(&self, id: &str) {
        self.rate_limits.reset(id);
    }

    /// May `a` be triggered now? Enabled, and within its rate limit (the
    /// check takes one of its tokens).
    pub fn check(&self, a: &StoredAutomation) -> Result<(), AdmitError> {
        if !a.enabled {
            return Err(AdmitError::Disabled {
                automation: a.id.clone(),
                reason: a.disabled_reason.clone(),
            });
        }
        let per_minute = a
            .rate_limit_per_minute
            .unwrap_or(self.default_rate_per_minute);
        if let Err(wait) = self.rate_limits.check(&a.id, per_minute) {
            return Err(AdmitError::RateLimited {
                automation: a.id.clone(),
                per_minute,
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            });
        }
        Ok(())
    }

    /// Admit a run of `a` with `input` as its `$.Start`. A synchronous API
    /// call ([`Trigger::is_waited_for`]) comes back as
    /// [`Admitted::Waiting`]; every other trigger is stored durably as
    /// queued (group commit) before this returns.
    pub async fn trigger(
        &self,
        a: &StoredAutomation,
        input: Value,
        trigger: Trigger,
    ) -> Result<Admitted, AdmitError> {
        self.check(a)?;
        let plan = self.plan(a)?;
        let waited = trigger.is_waited_for();
        let record = weft_host::new_record(&plan, input, trigger);
        let run_id = record.id.clone();
        if !self.queue.try_admit(&a.id) {
            return Err(AdmitError::QueueFull {
                automation: a.id.clone(),
            });
        }
        self.runner
            .metrics
            .queue_depth
            .fetch_add(1, Ordering::Relaxed);
        if waited {
            let result = self.queue.enqueue_sync(record, plan, a.concurrency_limit());
            return Ok(Admitted::Waiting { run_id, result });
        }
        // In a task of its own: a client that hangs up while the commit is
        // under way drops this future, but the record is already staged
        // and will be on disk, so it must still reach the dispatcher (or
        // give its admission back) rather than sit queued until a restart.
        let (queue, runner) = (self.queue.clone(), self.runner.clone());
        let (automation, limit) = (a.id.clone(), a.concurrency_limit());
        let stored = tokio::spawn(async move {
            let result = queue.enqueue(runner.weft.store(), &record, limit).await;
            if result.is_err() {
                queue.release(&automation);
                runner.metrics.queue_depth.fetch_sub(1, Ordering::Relaxed);
            }
            result
        });
        match stored.await {
            Ok(Ok(())) => Ok(Admitted::Queued { run_id }),
            Ok(Err(e)) => Err(e.into()),
            Err(panicked) => Err(AdmitError::Store(StoreError::Backend(format!(
                "storing the queued run failed: {panicked}"
            )))),
        }
    }

    /// A `call_automation` block waiting for `a`: checked like any
    /// trigger, then run in the caller's task (see the module docs).
    pub async fn call_and_wait(
        &self,
        a: &StoredAutomation,
        call: &ChainCall,
    ) -> Result<RunResult, AdmitError> {
        self.check(a)?;
        let plan = self.plan(a)?;
        let result = self.runner.weft.run_chained(&plan, call).await?;
        self.runner.metrics.record_run(&result);
        Ok(result)
    }

    /// The engine runs are walked by.
    pub fn weft(&self) -> &Weft {
        &self.runner.weft
    }

    /// The runs paused at an `input` block (see [`crate::paused_runs`]).
    pub fn paused(&self) -> &crate::paused_runs::PausedRuns {
        &self.runner.paused
    }

    /// Queue again a run whose form was just answered (durably queued by
    /// [`weft_host::input_form`]): it was accepted before, so it is
    /// admitted whatever the cap, and goes on from its `input` block.
    pub fn resume(&self, record: &weft_host::RunRecord) {
        self.runner.paused.forget(&record.id);
        let limit = self.limit_of(&record.automation_id);
        self.runner
            .metrics
            .queue_depth
            .fetch_add(1, Ordering::Relaxed);
        self.queue.resume(record, limit);
    }

    /// How this host shares runs with others ([`crate::cluster`]).
    pub fn coordination(&self) -> &crate::cluster::Coordination {
        &self.runner.coordination
    }

    /// Re-admit what a previous process left queued or running (see
    /// [`Queue::recover`]), and watch the forms of paused runs (they stay
    /// paused). Returns how many runs were re-admitted. A host sharing its
    /// database leaves that to [`Admission::take_over`]: the runs it
    /// finds may be other live hosts'.
    pub fn recover(&self, limits: (u32, u32)) -> Result<usize, StoreError> {
        self.runner.paused.load(self.runner.weft.store())?;
        self.limits.set(limits).ok();
        if self.runner.coordination.is_shared() {
            return Ok(0);
        }
        let recovered = self.queue.recover(
            self.runner.weft.store(),
            &self.runner.starts,
            limits,
            |id| self.limit_of(id),
        )?;
        self.count_readmitted(recovered);
        Ok(recovered)
    }

    /// Re-admit the runs `ids`, taken over from hosts that died, by the
    /// rules of [`Admission::recover`]. Blocks on the store.
    pub fn take_over(&self, ids: &[String]) -> Result<usize, StoreError> {
        let limits = self.limits.get().copied().unwrap_or((
            crate::recovery::DEFAULT_MAX_RUN_INTERRUPTIONS,
            crate::recovery::DEFAULT_MAX_RUN_RESUMES,
        ));
        let taken = self.queue.take_over(
            self.runner.weft.store(),
            &self.runner.starts,
            limits,
            |id| self.limit_of(id),
            ids,
        )?;
        self.count_readmitted(taken);
        Ok(taken)
    }

    /// An automation's own concurrency limit, if it sets one (`None` also
    /// when it cannot be read: the queue's default applies).
    fn limit_of(&self, id: &str) -> Option<usize> {
        self.automations
            .get(id)
            .ok()
            .flatten()
            .and_then(|a| a.concurrency_limit())
    }

    /// Runs re-admitted by recovery or a take-over join the queue gauge.
    fn count_readmitted(&self, n: usize) {
        self.runner
            .metrics
            .queue_depth
            .fetch_add(i64::try_from(n).unwrap_or(i64::MAX), Ordering::Relaxed);
    }
}

/// What the queue needs to run what it dispatches, and nothing more.
pub struct Runner {
    pub(crate) weft: Weft,
    pub(crate) automations: Automations,
    pub(crate) plans: Arc<PlanCache>,
    pub(crate) starts: RunStarts,
    pub(crate) metrics: Arc<Metrics>,
    /// Runs paused at an `input` block, watched for their timeouts.
    pub(crate) paused: crate::paused_runs::PausedRuns,
    /// Alone, or sharing runs with other hosts.
    pub(crate) coordination: Arc<crate::cluster::Coordination>,
}

impl QueueRunner for Runner {
    fn weft(&self) -> &Weft {
        &self.weft
    }

    fn starts(&self) -> &RunStarts {
        &self.starts
    }

    fn current_plan(&self, automation_id: &str) -> Result<Arc<Plan>, String> {
        let automation = match self.automations.get(automation_id) {
            Ok(Some(a)) => a,
            _ => return Err("the automation was deleted before this run started".into()),
        };
        if !automation.enabled {
            return Err("the automation was disabled before this run started".into());
        }
        self.plans.plan(&automation).map_err(|e| e.to_string())
    }

    fn ran(&self, result: &RunResult) {
        if let (weft_host::RunStatus::Paused, Some(waiting)) =
            (result.record.status, &result.record.waiting_for)
        {
            self.paused.watch(&result.record.id, waiting.expires_at);
        }
        self.metrics.record_run(result);
    }

    fn left_queue(&self) {
        self.metrics.queue_depth.fetch_sub(1, Ordering::Relaxed);
    }

    fn coordination(&self) -> &crate::cluster::Coordination {
        &self.coordination
    }
}
