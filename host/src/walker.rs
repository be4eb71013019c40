//! The graph walker: runs a [`Plan`] block by block, applying on-error and
//! retry policies, the run's deadline and fuel budget, and writing each
//! step to the history store as it completes.

use crate::automation::document::{ErrorMode, OnError, OutputMode, VariableAction};
use crate::automation::plan::{NodeId, NodeKind, Plan};
use crate::automation::template::Scope;
use crate::chaining::AutomationCaller;
use crate::connections::ConnectionResolver;
use crate::connector_set::{ConnectorSet, SharedConnectors};
use crate::run_limits::{RunLimits, cut_string};
use crate::run_slot::RunSlot;
use crate::scrub::{self, SecretValues};
use crate::store::{RunRecord, RunStatus, RunStore, StepRecord, StepStatus, StoreError};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;
use weft_conditions::{combine, compare};

mod bounded;
mod call_block;
mod connector_block;
mod idempotency;
mod journal;
mod values;
use bounded::{RunMemory, Slot};
use journal::Journal;
use values::{apply_output, apply_variable, kind_of};

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
    ExitLoop,
    Stop,
}

/// Why the run ended early.
enum Halt {
    Failed(String),
    Stopped,
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
            run,
        }
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

    /// Number steps from `seq` (a resumed run keeps its earlier steps).
    pub fn starting_at(mut self, seq: u64) -> Self {
        self.seq = seq;
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
        self.run.started_at = Some(now_ms());
        let store = self.store;
        let running = self.run.clone();
        let journal = self.steps.clone();
        let root = self.plan.root.clone();
        let result = {
            let chain = self.chain(&root);
            tokio::pin!(chain);
            let visible = tokio::time::sleep(WRITE_BEHIND);
            tokio::pin!(visible);
            let mut shown = false;
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
        self.store.put_run(&self.run)?;
        Ok((self.run, steps))
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
                // Blocks that never wait (conditions, variables, loops over
                // long lists) would otherwise keep this worker thread.
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
                        "the run passed {} before block {:?}",
                        self.deadline_name(),
                        self.plan.nodes[n].id
                    )));
                }
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
            NodeKind::Start => {
                // The input may come from an embedder as a value of any
                // shape: held to the depth and memory limits like the rest.
                let fits = crate::automation::nesting::json_depth_within(
                    &self.run.input,
                    self.limits.nesting.max_json_depth,
                )
                .ok_or_else(|| {
                    format!(
                        "input: {}",
                        crate::automation::nesting::json_too_deep(
                            self.limits.nesting.max_json_depth
                        )
                    )
                })
                .and_then(|_| {
                    self.memory
                        .set_value(Slot::Output(node.id.clone()), &self.run.input)
                        .map_err(|e| format!("input: {e}"))
                });
                match fits {
                    Ok(()) => {
                        let input = self.run.input.clone();
                        self.outputs.insert(node.id.clone(), input.clone());
                        Outcome::plain(Ok(input), None)
                    }
                    Err(e) => Outcome::plain(Err(e), None),
                }
            }
            NodeKind::Condition {
                mode,
                clauses,
                yes,
                no,
            } => {
                let mut results = Vec::with_capacity(clauses.len());
                let mut failure = None;
                for (i, (left, op, right)) in clauses.iter().enumerate() {
                    let l = self
                        .eval(left, &format!("condition.clauses[{i}].left"))?
                        .map(|(v, _)| v);
                    let r = self
                        .eval(right, &format!("condition.clauses[{i}].right"))?
                        .map(|(v, _)| v);
                    match (l, r) {
                        (Ok(l), Ok(r)) => results.push(compare(&l, *op, &r)),
                        (Err(e), _) | (_, Err(e)) => {
                            failure = Some(e);
                            break;
                        }
                    }
                }
                match failure {
                    Some(e) => Outcome::plain(Err(e), None),
                    None => {
                        let holds = combine(*mode, results.into_iter());
                        self.record(
                            n,
                            started,
                            started_at,
                            Outcome::plain(Ok(json!({ "result": holds })), None),
                        )
                        .await?;
                        let branch = if holds { yes } else { no };
                        return self.chain(branch).await;
                    }
                }
            }
            NodeKind::Loop { over, body } => {
                let list = Slot::LoopList(node.id.clone());
                let over = self.eval(over, "over")?.and_then(|(v, m)| {
                    self.memory
                        .set(list.clone(), m.bytes)
                        .map_err(|e| format!("over: {e}"))?;
                    Ok(v)
                });
                match over {
                    Ok(Value::Array(items)) => {
                        let count = items.len();
                        self.record(
                            n,
                            started,
                            started_at,
                            Outcome::plain(Ok(json!({ "count": count })), None),
                        )
                        .await?;
                        self.loops.push((node.id.clone(), 0));
                        let mut flow = Flow::Continue;
                        for (index, item) in items.into_iter().enumerate() {
                            if let Some(top) = self.loops.last_mut() {
                                top.1 = index;
                            }
                            // The item is part of the list, already held.
                            self.memory.release(&Slot::Output(node.id.clone()));
                            self.outputs.insert(
                                node.id.clone(),
                                json!({ "item": item, "index": index, "count": count }),
                            );
                            match self.chain(body).await {
                                Ok(Flow::Continue) => {}
                                Ok(Flow::ExitLoop) => break,
                                Ok(Flow::Stop) => {
                                    flow = Flow::Stop;
                                    break;
                                }
                                Err(h) => {
                                    self.loops.pop();
                                    return Err(h);
                                }
                            }
                        }
                        self.loops.pop();
                        // `$.Loop` keeps the last item: count it as the
                        // list's share that stays.
                        let kept = self.outputs.get(&node.id).cloned().unwrap_or(Value::Null);
                        self.memory.release(&list);
                        if let Err(e) = self.memory.set_value(Slot::Output(node.id.clone()), &kept)
                        {
                            return Err(Halt::Failed(format!("block {:?}: {e}", node.id)));
                        }
                        // After the loop `$.Loop` keeps the last item and
                        // the count; an empty loop still has its count.
                        if count == 0 {
                            self.outputs.insert(node.id.clone(), json!({ "count": 0 }));
                        }
                        return Ok(flow);
                    }
                    Ok(other) => {
                        self.memory.release(&list);
                        Outcome::plain(
                            Err(format!(
                                "over: expected a list to loop over, got {}",
                                kind_of(&other)
                            )),
                            None,
                        )
                    }
                    Err(e) => Outcome::plain(Err(e), None),
                }
            }
            NodeKind::ExitLoop => {
                let mut o = Outcome::plain(Ok(Value::Null), None);
                o.flow = Flow::ExitLoop;
                o
            }
            NodeKind::Stop => {
                let mut o = Outcome::plain(Ok(Value::Null), None);
                o.flow = Flow::Stop;
                o
            }
            NodeKind::Variable {
                name,
                action,
                value,
            } => {
                let slot = Slot::Variable(name.clone());
                let result = self.eval(value, "value")?.and_then(|(v, m)| {
                    // The new size from the old one, without measuring the
                    // whole variable again on every append.
                    let held = self.memory.held(&slot);
                    let projected = match action {
                        VariableAction::Set => m.bytes,
                        VariableAction::Append => held + m.bytes + 1,
                        VariableAction::Merge => held + m.bytes,
                        VariableAction::Increment => 24,
                    };
                    self.memory
                        .set(slot.clone(), projected)
                        .map_err(|e| format!("value: {e}"))?;
                    let current = self.vars.get(name).cloned().unwrap_or(Value::Null);
                    let next = apply_variable(*action, current, v.clone())
                        .map_err(|e| format!("value: {e}"));
                    let next = match next {
                        Ok(next) => next,
                        Err(e) => {
                            self.memory.set(slot.clone(), held)?;
                            return Err(e);
                        }
                    };
                    self.vars.insert(name.clone(), next.clone());
                    Ok((v, next))
                });
                match result {
                    Ok((input, next)) => Outcome::plain(Ok(next), Some(input)),
                    Err(e) => Outcome::plain(Err(e), None),
                }
            }
            NodeKind::Output { mode, value } => {
                let held = self.memory.held(&Slot::RunOutput);
                let checked = self.eval(value, "value")?.and_then(|(v, m)| {
                    let projected = match mode {
                        OutputMode::Set => m.bytes,
                        OutputMode::Add => held + m.bytes + 1,
                        OutputMode::Merge => held + m.bytes,
                    };
                    self.memory
                        .set(Slot::RunOutput, projected)
                        .map_err(|e| format!("value: {e}"))?;
                    Ok(v)
                });
                match checked {
                    Ok(v) => match apply_output(*mode, std::mem::take(&mut self.output), v.clone())
                    {
                        Ok(next) => {
                            self.output = next;
                            Outcome::plain(Ok(v.clone()), Some(v))
                        }
                        Err((previous, e)) => {
                            self.output = previous;
                            self.memory.set(Slot::RunOutput, held).ok();
                            Outcome::plain(Err(format!("value: {e}")), Some(v))
                        }
                    },
                    Err(e) => Outcome::plain(Err(e), None),
                }
            }
            NodeKind::Error { mode, message } => {
                let text = self
                    .eval(message, "message")?
                    .map(|(v, _)| crate::automation::template::stringify(&v))
                    .unwrap_or_else(|e| format!("(message could not be built: {e})"));
                match mode {
                    ErrorMode::Fail => Outcome::plain(Err(text.clone()), Some(Value::String(text))),
                    ErrorMode::Warn => {
                        self.run.warnings.push(format!("{}: {text}", node.id));
                        Outcome::plain(Ok(Value::String(text.clone())), Some(Value::String(text)))
                    }
                }
            }
            NodeKind::Sleep { ms } => match self.eval(ms, "ms")?.map(|(v, _)| v) {
                Ok(v) => match v.as_u64() {
                    Some(ms) => {
                        let wanted = Duration::from_millis(ms);
                        let left = self.deadline.saturating_duration_since(Instant::now());
                        tokio::select! {
                            _ = tokio::time::sleep(wanted.min(left)) => {}
                            _ = self.cancel.cancelled() => return Err(Halt::Stopped),
                        }
                        if wanted > left {
                            return Err(Halt::Failed(format!(
                                "the run reached {} while block {:?} slept",
                                self.deadline_name(),
                                node.id
                            )));
                        }
                        Outcome::plain(Ok(json!({ "slept_ms": ms })), Some(v))
                    }
                    None => {
                        Outcome::plain(Err(format!("ms: expected milliseconds, got {v}")), Some(v))
                    }
                },
                Err(e) => Outcome::plain(Err(e), None),
            },
            NodeKind::Connector {
                connector,
                block,
                inputs,
                connection,
                version,
            } => {
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
            NodeKind::CallAutomation {
                automation,
                mode,
                inputs,
            } => {
                self.call_automation(&node.id, automation, *mode, inputs)
                    .await?
            }
        };
        let flow_after = std::mem::replace(&mut outcome.flow, Flow::Continue);
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
        let status = self.record(n, started, started_at, outcome).await?;
        if let Some(message) = failed {
            match status {
                StepStatus::Failed => {
                    return Err(Halt::Failed(format!(
                        "block {:?} failed: {message}",
                        node.id
                    )));
                }
                StepStatus::Warning => {
                    self.run.warnings.push(format!("{}: {message}", node.id));
                    self.memory.release(&Slot::Output(node.id.clone()));
                    self.outputs.insert(node.id.clone(), Value::Null);
                }
                _ => {
                    self.memory.release(&Slot::Output(node.id.clone()));
                    self.outputs.insert(node.id.clone(), Value::Null);
                }
            }
        }
        Ok(flow_after)
    }

    /// Write the step; returns the status it was given.
    async fn record(
        &mut self,
        n: NodeId,
        started: Instant,
        started_at: i64,
        o: Outcome,
    ) -> Result<StepStatus, Halt> {
        let node = &self.plan.nodes[n];
        let status = match (&o.result, node.on_error) {
            (Ok(_), _) => StepStatus::Succeeded,
            (Err(_), OnError::Stop) => StepStatus::Failed,
            (Err(_), OnError::Warning) => StepStatus::Warning,
            (Err(_), OnError::Ignore) => StepStatus::Ignored,
        };
        let size = |v: &Option<Value>| {
            v.as_ref().map_or(0, |v| {
                crate::automation::bounds::measure(v, usize::MAX, usize::MAX).map_or(0, |m| m.bytes)
            })
        };
        let output = o.result.as_ref().ok().cloned();
        let (input_bytes, output_bytes) = (size(&o.input), size(&output));
        let mut http_calls = o.http_calls;
        let (input, output, logs, error) = if node.censor {
            for call in &mut http_calls {
                call.request_body = None;
                call.response_body = None;
            }
            // The error text may quote the data; keep only its kind.
            let error = o
                .result
                .as_ref()
                .err()
                .map(|_| "failed (details censored)".to_string());
            (None, None, Vec::new(), error)
        } else {
            let error = o.result.err().map(|mut e| {
                cut_string(&mut e, self.limits.max_error_bytes);
                e
            });
            (o.input, output, o.logs, error)
        };
        // The journal keeps every step until the run ends.
        if !node.censor
            && let Err(e) = self.memory.add_history(input_bytes + output_bytes)
        {
            return Err(Halt::Failed(format!("block {:?}: {e}", node.id)));
        }
        let target = match &node.kind {
            NodeKind::Connector {
                connector, block, ..
            } => Some(format!("{connector}/{block}")),
            NodeKind::CallAutomation { automation, .. } => Some(automation.clone()),
            _ => None,
        };
        let mut step = StepRecord {
            seq: self.seq,
            block_id: node.id.clone(),
            block_type: node.kind.type_name().to_string(),
            target,
            status,
            attempts: o.attempts,
            started_at,
            duration_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            iteration: self.loops.iter().map(|(_, i)| *i).collect(),
            input,
            output,
            error,
            fuel_used: o.fuel_used,
            http_calls,
            logs,
            censored: node.censor,
            input_bytes,
            output_bytes,
            child_run_id: o.child_run,
            connector_version: o.connector_version,
        };
        scrub::record::step(&mut step, &self.secrets);
        self.seq += 1;
        if let Some(observe) = self.observer {
            observe(&step);
        }
        self.steps.push(self.store, &self.run.id, step)?;
        Ok(status)
    }
}
