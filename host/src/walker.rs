//! The graph walker: runs a [`Plan`] block by block, applying on-error and
//! retry policies, the run's deadline and fuel budget, and writing each
//! step to the history store as it completes.

use crate::automation::plan::{NodeId, NodeKind, Plan};
use crate::automation::template::Scope;
use crate::chaining::AutomationCaller;
use crate::connections::ConnectionResolver;
use crate::connector_set::{ConnectorSet, SharedConnectors};
use crate::output_seal::OutputSeal;
use crate::run_limits::{RunLimits, cut_string};
use crate::run_slot::RunSlot;
use crate::scrub::{self, SecretValues};
use crate::store::{
    FailureKind, RunRecord, RunStatus, RunStore, StepFailure, StepRecord, StepStatus, StoreError,
};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

mod bounded;
mod branches;
mod call_block;
mod connector_block;
mod durable;
mod idempotency;
mod input_block;
mod journal;
mod loops;
mod record;
pub(crate) mod resume;
mod standard_blocks;
mod state_blocks;
mod values;
use bounded::{RunMemory, Slot};
use journal::Journal;
use resume::Replay;
use standard_blocks::Walked;

/// A run's record and steps are written together when it ends; a run
/// still going after this long is written as running and its steps as
/// they finish. Short runs (most API calls) then cost two store writes
/// instead of two plus one per block, and a run of any length is visible
/// in the history within this time.
const WRITE_BEHIND: Duration = Duration::from_millis(100);

/// Blocks a walk runs between yields to the executor.
const YIELD_EVERY: u32 = 64;

/// A callback that sees each step as soon as it is written.
pub type StepObserver<'o> = dyn Fn(&StepRecord) + Send + Sync + 'o;

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// How a chain ended.
enum Flow {
    Continue,
    /// Leave the loop named (the innermost when `None`).
    ExitLoop(Option<String>),
    Stop,
}

/// Why the run ended early.
enum Halt {
    Failed(String),
    Stopped,
    /// Stopped at an `input` block to wait for a form: the run is
    /// recorded `paused` and resumes when it is answered.
    Paused(Box<crate::store::WaitingFor>),
    Store(StoreError),
}

impl From<StoreError> for Halt {
    fn from(e: StoreError) -> Self {
        Halt::Store(e)
    }
}

pub(crate) struct Walk<'a> {
    pub plan: &'a Plan,
    pub connectors: &'a SharedConnectors,
    /// The connectors as they were when the run started: every block's
    /// version is resolved here, so a version installed or removed
    /// meanwhile cannot switch the run to another one halfway.
    started_with: Arc<ConnectorSet>,
    /// Handed back while a block waits to be retried.
    slot: Option<Arc<dyn RunSlot>>,
    pub store: &'a dyn RunStore,
    pub cancel: CancellationToken,
    pub run: RunRecord,
    steps: Arc<Journal>,
    /// Called with each step as it finishes (live progress).
    pub observer: Option<&'a StepObserver<'a>>,
    outputs: HashMap<String, Value>,
    vars: Map<String, Value>,
    loops: Vec<(String, usize)>,
    output: Value,
    deadline: Instant,
    /// The deadline is the calling run's (earlier than this run's own).
    deadline_inherited: bool,
    fuel_left: Option<u64>,
    seq: u64,
    caller: Option<&'a dyn AutomationCaller>,
    max_chain_depth: usize,
    connections: Option<&'a dyn ConnectionResolver>,
    /// Every secret the host injected so far in this run: scrubbed from
    /// each block's result and from everything the run records.
    secrets: SecretValues,
    /// Host-side limits: nesting, value sizes, memory, retry waits.
    limits: RunLimits,
    /// What the run holds, against `limits.max_run_memory_bytes`.
    memory: RunMemory,
    /// Chains open around the current block (conditions and loops).
    depth: usize,
    /// Blocks run since the walk last yielded to the executor.
    since_yield: u32,
    /// The run resumes after a crash if the server stops during it:
    /// blocks that reach outside run only once what came before is on
    /// disk (see [`durable`]).
    durable: bool,
    /// The history this resumed run takes over ([`resume`]).
    replay: Option<Replay>,
    /// Seals the private copies of outputs a resume needs.
    seal: Option<&'a dyn OutputSeal>,
}

impl Scope for Walk<'_> {
    fn named(&self, name: &str) -> Result<&Value, String> {
        if name == "Start" {
            return Ok(&self.run.input);
        }
        if let Some(v) = self.outputs.get(name) {
            return Ok(v);
        }
        if let Some(v) = self.vars.get(name) {
            return Ok(v);
        }
        Err(format!("block {name:?} has not run on this path"))
    }

    fn item(&self) -> Result<&Value, String> {
        let (loop_id, _) = self.loops.last().ok_or("not inside a loop")?;
        self.outputs
            .get(loop_id)
            .and_then(|v| v.get("item"))
            .ok_or_else(|| "the loop has no current item".to_string())
    }
}

/// A block's result before the on-error policy is applied.
struct Outcome {
    result: Result<Value, String>,
    input: Option<Value>,
    attempts: u32,
    fuel_used: Option<u64>,
    http_calls: Vec<crate::outbound_http::HttpCall>,
    logs: Vec<crate::guest_log::LogLine>,
    flow: Flow,
    /// The run a `call_automation` block started.
    child_run: Option<String>,
    /// The connector version a connector block ran.
    connector_version: Option<String>,
    /// How it failed, where the block knows more than its message (a
    /// connector's error kind, its last HTTP status).
    failure: Option<StepFailure>,
}

/// What a block produced, and the unscrubbed output to keep sealed for a
/// resume (see [`durable`]).
struct Finished {
    outcome: Outcome,
    sealed_copy: Option<Value>,
}

impl Outcome {
    fn plain(result: Result<Value, String>, input: Option<Value>) -> Self {
        Outcome {
            result,
            input,
            attempts: 1,
            fuel_used: None,
            http_calls: Vec::new(),
            logs: Vec::new(),
            flow: Flow::Continue,
            child_run: None,
            connector_version: None,
            failure: None,
        }
    }
}

impl<'a> Walk<'a> {
    pub fn new(
        plan: &'a Plan,
        connectors: &'a SharedConnectors,
        store: &'a dyn RunStore,
        cancel: CancellationToken,
        run: RunRecord,
        observer: Option<&'a StepObserver<'a>>,
    ) -> Self {
        let deadline = Instant::now()
            + plan
                .settings
                .deadline_ms
                .map_or(Duration::from_secs(24 * 3600), Duration::from_millis);
        Walk {
            plan,
            started_with: connectors.snapshot(),
            slot: None,
            connectors,
            store,
            cancel,
            steps: Arc::default(),
            observer,
            outputs: HashMap::new(),
            vars: plan.variables.clone(),
            loops: Vec::new(),
            output: Value::Null,
            deadline,
            deadline_inherited: false,
            fuel_left: plan.settings.fuel_budget,
            seq: 0,
            caller: None,
            max_chain_depth: 0,
            connections: None,
            secrets: SecretValues::default(),
            memory: RunMemory::new(RunLimits::default().max_run_memory_bytes),
            limits: RunLimits::default(),
            depth: 0,
            since_yield: 0,
            durable: false,
            replay: None,
            seal: None,
            run,
        }
    }

    /// Make the run resumable: it takes over `replay` (the history of an
    /// earlier, interrupted walk, if any), and its blocks that reach
    /// outside run only once everything before them is durable.
    pub fn resumable(mut self, replay: Option<Replay>, seal: Option<&'a dyn OutputSeal>) -> Self {
        self.durable = true;
        self.replay = replay;
        self.seal = seal;
        self
    }

    /// Apply these host-side limits (default [`RunLimits::default`]).
    pub fn limits(mut self, limits: &RunLimits) -> Self {
        self.memory = RunMemory::new(limits.max_run_memory_bytes);
        self.limits = limits.clone();
        self
    }

    /// The host's slot for this run, handed back while a block waits to be
    /// retried (see [`crate::run_slot`]).
    pub fn slot(mut self, slot: Option<Arc<dyn RunSlot>>) -> Self {
        self.slot = slot;
        self
    }

    /// Who resolves connector blocks' `connection` references.
    pub fn connections(mut self, resolver: Option<&'a dyn ConnectionResolver>) -> Self {
        self.connections = resolver;
        self
    }

    /// End by `deadline` at the latest (a called run, by its caller's).
    pub fn deadline_at_most(mut self, deadline: Option<Instant>) -> Self {
        if let Some(d) = deadline
            && d < self.deadline
        {
            self.deadline = d;
            self.deadline_inherited = true;
        }
        self
    }

    /// Who runs the automations `call_automation` blocks name, and how
    /// many automations a chain of calls may hold.
    pub fn chaining(mut self, caller: Option<&'a dyn AutomationCaller>, max_depth: usize) -> Self {
        self.caller = caller;
        self.max_chain_depth = max_depth;
        self
    }

    /// Between blocks and loop iterations: yield to the executor every
    /// [`YIELD_EVERY`] times (blocks that never wait — conditions,
    /// variables, loops over long lists — would otherwise keep this worker
    /// thread), and halt on a stop request or a passed deadline; `place`
    /// says where, for the deadline's message.
    async fn pace(&mut self, place: impl FnOnce() -> String) -> Result<(), Halt> {
        self.since_yield += 1;
        if self.since_yield >= YIELD_EVERY {
            self.since_yield = 0;
            tokio::task::yield_now().await;
        }
        if self.cancel.is_cancelled() {
            return Err(Halt::Stopped);
        }
        if Instant::now() >= self.deadline {
            return Err(Halt::Failed(format!(
                "the run passed {} {}",
                self.deadline_name(),
                place()
            )));
        }
        Ok(())
    }

    /// The deadline, as error messages name it.
    fn deadline_name(&self) -> String {
        match self.deadline_inherited {
            true => "the deadline of the run that called it".to_string(),
            false => format!(
                "its deadline of {} ms",
                self.plan.settings.deadline_ms.unwrap_or_default()
            ),
        }
    }

    /// Run to the end and write the final record. Returns it.
    pub async fn run(mut self) -> Result<(RunRecord, Vec<StepRecord>), StoreError> {
        self.run.status = RunStatus::Running;
        self.run.started_at.get_or_insert_with(now_ms);
        let resume_refused = self.take_over_history();
        let store = self.store;
        if self.durable {
            // Shown running (and its steps written) from the start: a
            // resumable run's history is what a resume walks.
            store.put_run(&self.run)?;
            self.steps.go_live(store, &self.run.id)?;
        }
        let running = self.run.clone();
        let journal = self.steps.clone();
        let root = self.plan.root.clone();
        let durable = self.durable;
        let result = if let Some(refused) = resume_refused {
            Err(Halt::Failed(refused))
        } else {
            let chain = self.chain(&root);
            tokio::pin!(chain);
            let visible = tokio::time::sleep(WRITE_BEHIND);
            tokio::pin!(visible);
            let mut shown = durable;
            let mut write_failed = None;
            let result = loop {
                tokio::select! {
                    r = &mut chain => break r,
                    _ = &mut visible, if !shown => {
                        shown = true;
                        // Not fatal here: dropping the chain would abandon a
                        // block mid-call. The run ends failed instead.
                        if let Err(e) = store
                            .put_run(&running)
                            .and_then(|()| journal.go_live(store, &running.id))
                        {
                            write_failed = Some(e);
                        }
                    }
                }
            };
            match (result, write_failed) {
                (Ok(_), Some(e)) => Err(Halt::Store(e)),
                (result, _) => result,
            }
        };
        let (steps, written) = self.steps.finish(store, &self.run.id);
        let result = match (result, written) {
            (Ok(_), Err(e)) => Err(Halt::Store(e)),
            (result, _) => result,
        };
        self.run.finished_at = Some(now_ms());
        self.run.output = std::mem::take(&mut self.output);
        match result {
            Err(Halt::Paused(waiting)) => {
                self.run.status = RunStatus::Paused;
                self.run.finished_at = None;
                self.run.waiting_for = Some(*waiting);
            }
            Ok(_) => {
                self.run.status = if self.run.warnings.is_empty() {
                    RunStatus::Finished
                } else {
                    RunStatus::FinishedWithWarnings
                };
            }
            Err(Halt::Failed(mut message)) => {
                cut_string(&mut message, self.limits.max_error_bytes);
                self.run.status = RunStatus::Failed;
                self.run.error = Some(message);
            }
            Err(Halt::Stopped) => {
                self.run.status = RunStatus::Stopped;
                self.run.error = Some("stopped on request".into());
            }
            Err(Halt::Store(e)) => {
                self.run.status = RunStatus::Failed;
                self.run.error = Some(format!("history could not be written: {e}"));
            }
        }
        scrub::record::run(&mut self.run, &self.secrets);
        self.run.in_flight = None;
        self.store.put_run(&self.run)?;
        if self.durable && self.run.status.is_final() {
            // Ended: nothing will resume it.
            self.store.drop_sealed(&self.run.id)?;
        }
        // Never reported ended (to a caller, a queue, the API) before the
        // history says so on disk.
        self.store.committed().await?;
        Ok((self.run, steps))
    }

    /// Check a resumed run can take over its history, and say in its
    /// record from where it resumes. Returns why it cannot.
    fn take_over_history(&mut self) -> Option<String> {
        let replay = self.replay.as_ref()?;
        if let Some(last) = replay.last()
            && self.run.automation_version != self.plan.version
        {
            return Some(format!(
                "cannot resume: the automation was changed (version {} to {}) while this run was interrupted; blocks up to {:?} (step {}) had finished, so it was not resumed on the new version",
                self.run.automation_version, self.plan.version, last.block_id, last.seq
            ));
        }
        // Resumed with a form's answer, not after a stop of the server.
        if self
            .run
            .waiting_for
            .as_ref()
            .is_some_and(|w| w.answer.is_some())
        {
            return None;
        }
        let resumed = self.run.resumed.get_or_insert(crate::store::Resumed {
            times: 1,
            after_step: None,
            after_block: None,
        });
        resumed.after_step = replay.last().map(|s| s.seq);
        resumed.after_block = replay.last().map(|s| s.block_id.clone());
        None
    }

    fn chain<'s>(
        &'s mut self,
        chain: &'s [NodeId],
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Flow, Halt>> + Send + 's>>
    where
        'a: 's,
    {
        Box::pin(async move {
            // Validation bounds nesting; a plan built by hand is held to
            // the same bound here, before the recursion goes deeper.
            // (`depth` counts the root chain too, and an empty branch of
            // the deepest block allowed is one level below it.)
            if self.depth > self.limits.nesting.max_block_depth + 1 {
                return Err(Halt::Failed(format!(
                    "blocks are nested more than {} levels deep (max_block_depth)",
                    self.limits.nesting.max_block_depth
                )));
            }
            self.depth += 1;
            let flow = self.chain_inner(chain).await;
            self.depth -= 1;
            flow
        })
    }

    async fn chain_inner(&mut self, chain: &[NodeId]) -> Result<Flow, Halt> {
        {
            for &n in chain {
                self.pace(|| format!("before block {:?}", self.plan.nodes[n].id))
                    .await?;
                match self.node(n).await? {
                    Flow::Continue => {}
                    other => return Ok(other),
                }
            }
            Ok(Flow::Continue)
        }
    }

    async fn node(&mut self, n: NodeId) -> Result<Flow, Halt> {
        let plan = self.plan;
        let node = &plan.nodes[n];
        let started = Instant::now();
        let started_at = now_ms();
        let mut outcome = match &node.kind {
            NodeKind::Start => self.start_block(n),
            NodeKind::Condition {
                mode,
                clauses,
                yes,
                no,
            } => match self
                .condition(n, (started, started_at), (*mode, clauses), yes, no)
                .await?
            {
                Walked::Block(outcome) => *outcome,
                Walked::Chain(flow) => return Ok(flow),
            },
            NodeKind::Case {
                value,
                cases,
                default,
            } => match self
                .case(n, (started, started_at), value, cases, default)
                .await?
            {
                Walked::Block(outcome) => *outcome,
                Walked::Chain(flow) => return Ok(flow),
            },
            NodeKind::Loop { over, body } => {
                match self
                    .loop_block(n, (started, started_at), over, body)
                    .await?
                {
                    Walked::Block(outcome) => *outcome,
                    Walked::Chain(flow) => return Ok(flow),
                }
            }
            NodeKind::LoopRange {
                from,
                to,
                step,
                body,
            } => match self
                .loop_range(n, (started, started_at), (from, to, step.as_ref()), body)
                .await?
            {
                Walked::Block(outcome) => *outcome,
                Walked::Chain(flow) => return Ok(flow),
            },
            NodeKind::LoopWhile {
                when,
                mode,
                clauses,
                max_iterations,
                body,
            } => match self
                .loop_while(
                    n,
                    (started, started_at),
                    *when,
                    (*mode, clauses),
                    *max_iterations,
                    body,
                )
                .await?
            {
                Walked::Block(outcome) => *outcome,
                Walked::Chain(flow) => return Ok(flow),
            },
            NodeKind::LoopBatch { over, size, body } => match self
                .loop_batch(n, (started, started_at), (over, size), body)
                .await?
            {
                Walked::Block(outcome) => *outcome,
                Walked::Chain(flow) => return Ok(flow),
            },
            NodeKind::ExitLoop { target } => {
                let mut o = Outcome::plain(Ok(Value::Null), None);
                o.flow = Flow::ExitLoop(target.clone());
                o
            }
            NodeKind::UpdateRunTitle { title } => self.run_title(title)?,
            NodeKind::State(op) => match self.replayed(n)? {
                Some(taken_over) => taken_over,
                None => match self.before_call_out(n).await? {
                    Some(refused) => refused,
                    None => self.state_block(op)?,
                },
            },
            NodeKind::Input {
                schema,
                title,
                message,
                timeout_ms,
                timeout_values,
            } => self.input_block(
                n,
                input_block::Form {
                    schema,
                    title: title.as_ref(),
                    message: message.as_ref(),
                    timeout_ms: *timeout_ms,
                    timeout_values: timeout_values.as_ref(),
                },
            )?,
            NodeKind::Stop => {
                let mut o = Outcome::plain(Ok(Value::Null), None);
                o.flow = Flow::Stop;
                o
            }
            NodeKind::Variable {
                name,
                action,
                value,
            } => self.variable(name, action, value)?,
            NodeKind::Output { mode, value } => self.output_block(mode, value)?,
            NodeKind::Error { mode, message } => self.error_block(n, mode, message)?,
            NodeKind::Sleep { .. } if self.replay.as_ref().is_some_and(|r| r.active()) => self
                .replayed(n)?
                .unwrap_or_else(|| Outcome::plain(Ok(Value::Null), None)),
            NodeKind::Sleep { ms } => self.sleep(n, ms).await?,
            NodeKind::Connector {
                connector,
                block,
                inputs,
                connection,
                version,
            } => match self.replayed(n)? {
                Some(taken_over) => taken_over,
                None => match self.before_call_out(n).await? {
                    Some(refused) => refused,
                    None => {
                        self.connector(
                            &node.id,
                            (connector, version.as_ref()),
                            block,
                            inputs,
                            connection.as_deref(),
                            node.retry.as_ref(),
                        )
                        .await?
                    }
                },
            },
            NodeKind::CallAutomation {
                automation,
                mode,
                inputs,
            } => match self.replayed(n)? {
                Some(taken_over) => taken_over,
                None => match self.before_call_out(n).await? {
                    Some(refused) => refused,
                    None => {
                        self.call_automation(&node.id, automation, *mode, inputs)
                            .await?
                    }
                },
            },
        };
        let flow_after = std::mem::replace(&mut outcome.flow, Flow::Continue);
        let sealed_copy = match self.needs_sealed_copy(n) {
            true => outcome.result.as_ref().ok().cloned(),
            false => None,
        };
        // Whatever block produced it (one that decoded an echo, say), an
        // injected secret goes no further: not to later blocks, not to the
        // run's output, not to the history.
        if !self.secrets.is_empty() {
            match &mut outcome.result {
                Ok(v) => {
                    scrub::scrub_json(v, &self.secrets);
                }
                Err(e) => *e = scrub::scrub_text(e, &self.secrets).into_owned(),
            }
        }
        // A censored block's error text may quote the data it handled (an
        // API's error body, say): the run record gets no more than the step.
        let failed = outcome
            .result
            .as_ref()
            .err()
            .map(|message| match node.censor {
                true => "failed (details censored)".to_string(),
                false => {
                    crate::run_limits::cut_text(message, self.limits.max_error_bytes).into_owned()
                }
            });
        // Held against the run's memory budget before it is kept (the
        // Start block's input was counted when it ran).
        if let Ok(v) = &outcome.result
            && !matches!(node.kind, NodeKind::Start)
            && let Err(e) = self.memory.set_value(Slot::Output(node.id.clone()), v)
        {
            outcome.result = Err(e);
        }
        let output = outcome.result.as_ref().ok().cloned();
        if let Some(v) = output
            && !matches!(node.kind, NodeKind::Start)
        {
            self.outputs.insert(node.id.clone(), v);
        }
        if outcome.result.is_err() {
            let kind = match node.kind {
                NodeKind::CallAutomation { .. } => FailureKind::CalledRun,
                _ => FailureKind::Block,
            };
            if outcome.failure.is_none() {
                outcome.failure = Some(StepFailure { kind, status: None });
            }
        } else {
            outcome.failure = None;
        }
        let (failure, attempts) = (outcome.failure, outcome.attempts);
        let finished = Finished {
            outcome,
            sealed_copy,
        };
        let status = self.record_finished(n, started, started_at, finished)?;
        if let Some(message) = failed {
            if status == StepStatus::Failed {
                return Err(Halt::Failed(format!(
                    "block {:?} failed: {message}",
                    node.id
                )));
            }
            if status == StepStatus::Warning {
                self.run.warnings.push(format!("{}: {message}", node.id));
            }
            // The run goes on: later blocks read what went wrong as
            // `{$.Block.error.message}` (and `kind`, `status`, `attempts`).
            let error = failure_output(failure, message, attempts);
            if let Err(e) = self.memory.set_value(Slot::Output(node.id.clone()), &error) {
                return Err(Halt::Failed(format!("block {:?}: {e}", node.id)));
            }
            self.outputs.insert(node.id.clone(), error);
        }
        Ok(flow_after)
    }
}

/// What a block that failed under `on_error: warning` or `ignore` leaves
/// as its output for later blocks.
fn failure_output(failure: Option<StepFailure>, message: String, attempts: u32) -> Value {
    let kind = failure.map_or(FailureKind::Block, |f| f.kind);
    serde_json::json!({
        "error": {
            "kind": kind,
            "message": message,
            "status": failure.and_then(|f| f.status),
            "attempts": attempts,
        }
    })
}
