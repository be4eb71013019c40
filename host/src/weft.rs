//! [`Weft`]: the engine as an embedding program uses it — connectors
//! loaded and granted, a history store, and runs of validated automations.

use crate::automation::plan::{self, Plan, ValidationErrors};
use crate::chaining::{AutomationCaller, ChainCall, chained_trigger};
use crate::connections::ConnectionResolver;
use crate::connector_set::{
    ConnectorPolicy, ConnectorSet, ConnectorSetError, InstallError, SharedConnectors,
};
use crate::error::LoadError;
use crate::outbound_http::allow_list::PatternError;
use crate::output_seal::OutputSeal;
use crate::run_limits::RunLimits;
use crate::run_slot::RunSlot;
use crate::runtime::{Connector, Runtime};
use crate::store::{RunRecord, RunStatus, RunStore, SledStore, StepRecord, StoreError, Trigger};
pub use crate::walker::StepObserver;
use crate::walker::resume::Replay;
use crate::walker::{Walk, now_ms};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Instant;
use thiserror::Error;
use tokio_util::sync::CancellationToken;

mod state;

#[derive(Debug, Error)]
pub enum WeftError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("grant for connector {connector:?}: {reason}")]
    Grant { connector: String, reason: String },
    #[error("two components both call themselves {0:?} with the same version")]
    DuplicateConnector(String),
    #[error(transparent)]
    Connectors(#[from] ConnectorSetError),
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
}

/// How deep chains of `call_automation` blocks may go by default.
pub const DEFAULT_MAX_CHAIN_DEPTH: usize = 8;

/// Configures a [`Weft`].
pub struct WeftBuilder {
    runtime: Option<Runtime>,
    store: Option<Arc<dyn RunStore>>,
    sled_dir: Option<PathBuf>,
    components: Vec<Vec<u8>>,
    loaded: Vec<Connector>,
    grants: HashMap<String, Vec<String>>,
    caller: Option<Arc<dyn AutomationCaller>>,
    max_chain_depth: usize,
    connections: Option<Arc<dyn ConnectionResolver>>,
    run_limits: RunLimits,
}

impl Default for WeftBuilder {
    fn default() -> Self {
        WeftBuilder {
            runtime: None,
            store: None,
            sled_dir: None,
            components: Vec::new(),
            loaded: Vec::new(),
            grants: HashMap::new(),
            caller: None,
            max_chain_depth: DEFAULT_MAX_CHAIN_DEPTH,
            connections: None,
            run_limits: RunLimits::default(),
        }
    }
}

impl WeftBuilder {
    /// Use this runtime (limits, cache, DNS overrides) instead of a default one.
    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.runtime = Some(runtime);
        self
    }
    /// Keep history in this store.
    pub fn store(mut self, store: impl RunStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }
    /// Keep history in a sled database in `dir` (the embedded default).
    pub fn sled(mut self, dir: impl Into<PathBuf>) -> Self {
        self.sled_dir = Some(dir.into());
        self
    }
    /// Add a connector component.
    pub fn component(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.components.push(bytes.into());
        self
    }
    /// Add a connector already loaded (with [`Runtime::load`] on the same
    /// runtime), e.g. to report which file a load error came from.
    pub fn connector(mut self, connector: Connector) -> Self {
        self.loaded.push(connector);
        self
    }
    /// Grant a connector outbound hosts (`scheme://host[:port]`).
    pub fn grant<S: AsRef<str>>(mut self, connector: &str, entries: &[S]) -> Self {
        self.grants
            .entry(connector.to_string())
            .or_default()
            .extend(entries.iter().map(|e| e.as_ref().to_string()));
        self
    }

    /// Run the automations that `call_automation` blocks name with this
    /// caller (see [`crate::chaining`]); without one such blocks fail.
    pub fn automation_caller(mut self, caller: Arc<dyn AutomationCaller>) -> Self {
        self.caller = Some(caller);
        self
    }
    /// How many automations a chain of calls may hold, the root run's
    /// included (default [`DEFAULT_MAX_CHAIN_DEPTH`]): a run whose chain is
    /// already this long cannot call another.
    /// Who resolves connector blocks' `connection` references (see
    /// [`crate::connections`]); without one such blocks fail.
    pub fn connections(mut self, resolver: Arc<dyn ConnectionResolver>) -> Self {
        self.connections = Some(resolver);
        self
    }

    pub fn max_chain_depth(mut self, depth: usize) -> Self {
        self.max_chain_depth = depth;
        self
    }

    /// Host-side limits of every run: nesting depths checked at
    /// validation, the size of values templates produce, a run's memory
    /// budget, the longest retry wait, the longest error kept (see
    /// [`RunLimits`]; the defaults are safe for a shared server).
    pub fn run_limits(mut self, limits: RunLimits) -> Self {
        self.run_limits = limits;
        self
    }

    pub async fn build(self) -> Result<Weft, WeftError> {
        let runtime = match self.runtime {
            Some(r) => r,
            None => Runtime::builder().build()?,
        };
        let store: Arc<dyn RunStore> = match (self.store, self.sled_dir) {
            (Some(s), _) => s,
            (None, Some(dir)) => Arc::new(SledStore::open(dir)?),
            (None, None) => Arc::new(SledStore::temporary()?),
        };
        let mut set = ConnectorSet::new();
        let mut policies = HashMap::new();
        for (id, entries) in self.grants {
            policies.insert(
                id,
                ConnectorPolicy {
                    allow: entries,
                    limits: None,
                },
            );
        }
        let mut loaded = self.loaded;
        for bytes in &self.components {
            loaded.push(runtime.load(bytes).await?);
        }
        for c in loaded {
            let id = c.manifest().id.clone();
            let c = match policies.get(&id) {
                Some(policy) => policy.apply(&c).map_err(|e| WeftError::Grant {
                    connector: id.clone(),
                    reason: e.to_string(),
                })?,
                None => c,
            };
            set.insert(c).map_err(|e| match e {
                ConnectorSetError::VersionExists { id, .. } => WeftError::DuplicateConnector(id),
                other => WeftError::Connectors(other),
            })?;
        }
        for connector in policies.keys() {
            if !set.contains(connector) {
                return Err(WeftError::Grant {
                    connector: connector.clone(),
                    reason: "no such connector is loaded".into(),
                });
            }
        }
        Ok(Weft {
            inner: Arc::new(Inner {
                runtime,
                store,
                connectors: SharedConnectors::new(set, policies),
                caller: self.caller,
                max_chain_depth: self.max_chain_depth,
                connections: self.connections,
                run_limits: self.run_limits,
                output_seal: std::sync::RwLock::new(None),
            }),
        })
    }
}

/// The engine: validate automations and run them, with history. Cheap to
/// clone.
#[derive(Clone)]
pub struct Weft {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: Runtime,
    store: Arc<dyn RunStore>,
    connectors: SharedConnectors,
    caller: Option<Arc<dyn AutomationCaller>>,
    max_chain_depth: usize,
    connections: Option<Arc<dyn ConnectionResolver>>,
    run_limits: RunLimits,
    /// Seals the private output copies resumable runs keep (set by the
    /// embedding program, which holds the key).
    output_seal: std::sync::RwLock<Option<Arc<dyn OutputSeal>>>,
}

/// A [`Weft`] held without keeping it alive (for callers the Weft itself
/// holds, such as [`crate::chaining::LocalAutomations`]).
#[derive(Clone)]
pub struct WeakWeft(Weak<Inner>);

impl WeakWeft {
    /// The Weft, unless it has been dropped.
    pub fn upgrade(&self) -> Option<Weft> {
        self.0.upgrade().map(|inner| Weft { inner })
    }
}

/// A finished run: its record and, in order, its steps.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub record: RunRecord,
    pub steps: Vec<StepRecord>,
}

/// A run started in the background.
pub struct RunHandle {
    pub run_id: String,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<Result<RunResult, StoreError>>,
}

impl RunHandle {
    /// Ask the run to stop; it ends with status `stopped` at the next block
    /// boundary, sleep or invocation.
    pub fn stop(&self) {
        self.cancel.cancel();
    }

    pub async fn wait(self) -> Result<RunResult, StoreError> {
        self.task
            .await
            .map_err(|e| StoreError::Backend(format!("run task: {e}")))?
    }
}

impl Weft {
    pub fn builder() -> WeftBuilder {
        WeftBuilder::default()
    }

    pub fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }

    pub fn store(&self) -> &dyn RunStore {
        self.inner.store.as_ref()
    }

    /// The newest installed version of connector `id`.
    pub fn connector(&self, id: &str) -> Option<Connector> {
        self.inner.connectors.snapshot().newest(id).cloned()
    }

    /// Every connector, every version, as installed now.
    pub fn connectors(&self) -> Arc<ConnectorSet> {
        self.inner.connectors.snapshot()
    }

    /// Counts changes to the connectors (installs, removals, grants): a
    /// cache of what was validated against them is current while this is
    /// unchanged. Read it before validating.
    pub fn connectors_generation(&self) -> u64 {
        self.inner.connectors.generation()
    }

    /// Add a connector version at run time (configured by its id's
    /// policy); runs started after this see it.
    pub fn install(&self, connector: Connector) -> Result<Connector, InstallError> {
        self.inner.connectors.install(connector)
    }

    /// Remove one version of a connector. A run already going that
    /// resolved a block to it fails that block ("removed while it was in
    /// progress"); it is never switched to another version.
    pub fn uninstall(
        &self,
        id: &str,
        version: &semver::Version,
    ) -> Result<Connector, ConnectorSetError> {
        self.inner.connectors.remove(id, version)
    }

    /// The operator's policy for connector `id`.
    pub fn connector_policy(&self, id: &str) -> ConnectorPolicy {
        self.inner.connectors.policy(id)
    }

    /// Replace connector `id`'s grant and limits, for every version; the
    /// next invocation uses them.
    pub fn set_connector_policy(
        &self,
        id: &str,
        policy: ConnectorPolicy,
    ) -> Result<(), PatternError> {
        self.inner.connectors.set_policy(id, policy)
    }

    /// The host-side limits runs get (see [`WeftBuilder::run_limits`]).
    pub fn run_limits(&self) -> &RunLimits {
        &self.inner.run_limits
    }

    /// A handle that does not keep this Weft alive.
    pub fn downgrade(&self) -> WeakWeft {
        WeakWeft(Arc::downgrade(&self.inner))
    }

    /// Validate an automation document (JSON) against the loaded connectors.
    pub fn validate(&self, document: &Value) -> Result<Plan, ValidationErrors> {
        plan::compile_json_with(
            document,
            self.inner.connectors.snapshot().as_ref(),
            &self.inner.run_limits.nesting,
        )
    }

    /// Run a validated automation to the end.
    pub async fn run(
        &self,
        plan: &Plan,
        input: Value,
        trigger: Trigger,
    ) -> Result<RunResult, StoreError> {
        let record = new_record(plan, input, trigger);
        self.walk(plan, record, CancellationToken::new(), Walking::default())
            .await
    }

    /// Run to the end, calling `observer` with each block's step as soon
    /// as it is written (for live progress).
    pub async fn run_observed(
        &self,
        plan: &Plan,
        input: Value,
        trigger: Trigger,
        observer: &StepObserver<'_>,
    ) -> Result<RunResult, StoreError> {
        let record = new_record(plan, input, trigger);
        let how = Walking {
            observer: Some(observer),
            ..Walking::default()
        };
        self.walk(plan, record, CancellationToken::new(), how).await
    }

    /// Run an existing record (queued, or interrupted mid-run) so that a
    /// crash cannot lose or repeat its finished blocks. Used by queues
    /// that store a run before they start it.
    ///
    /// A record with steps in the history resumes: it takes over those
    /// steps (finished blocks are not run again, their outputs feed the
    /// rest) and goes on from the block that was in progress — the resume
    /// rule in the walker's `resume` module and `docs/architecture.md`.
    /// Blocks that reach outside the run (connectors, called automations)
    /// start only once every step before them is durable, so the block in
    /// progress at a crash is the only one that can run twice.
    /// `cancel` stops the run as [`RunHandle::stop`] does.
    pub async fn run_record(
        &self,
        plan: &Plan,
        record: RunRecord,
        cancel: CancellationToken,
    ) -> Result<RunResult, StoreError> {
        self.run_record_in(plan, record, cancel, None).await
    }

    /// [`Weft::run_record`] for a host that bounds how many runs go at
    /// once: `slot` is handed back while a block waits to be retried (see
    /// [`crate::run_slot`]).
    pub async fn run_record_in(
        &self,
        plan: &Plan,
        record: RunRecord,
        cancel: CancellationToken,
        slot: Option<Arc<dyn RunSlot>>,
    ) -> Result<RunResult, StoreError> {
        let store = &self.inner.store;
        let steps = store.steps(&record.id)?;
        let replay = match (steps.is_empty(), &record.in_flight) {
            (true, None) => None,
            _ => Some(Replay::new(
                steps,
                store.sealed(&record.id)?,
                record.in_flight.clone(),
            )),
        };
        let how = Walking {
            slot,
            resume: Some(replay),
            ..Walking::default()
        };
        self.walk(plan, record, cancel, how).await
    }

    /// Run a record someone waits for (a synchronous API call): it is not
    /// resumed after a crash, since its caller got no answer and may have
    /// retried, so its steps are written behind rather than each made
    /// durable before the next block. Its end is still durable before it
    /// returns.
    pub async fn run_waited_in(
        &self,
        plan: &Plan,
        record: RunRecord,
        cancel: CancellationToken,
        slot: Option<Arc<dyn RunSlot>>,
    ) -> Result<RunResult, StoreError> {
        let how = Walking {
            slot,
            ..Walking::default()
        };
        self.walk(plan, record, cancel, how).await
    }

    /// Hand the engine the seal for the private output copies resumable
    /// runs keep (see [`crate::output_seal`]); the server passes the key
    /// that encrypts its connection secrets.
    pub fn set_output_seal(&self, seal: Arc<dyn OutputSeal>) {
        let mut slot = self
            .inner
            .output_seal
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Some(seal);
    }

    /// Start a run in the background; the handle can stop it.
    pub fn start(&self, plan: Arc<Plan>, input: Value, trigger: Trigger) -> RunHandle {
        let record = new_record(&plan, input, trigger);
        self.spawn(plan, record)
    }

    /// Walk `record` in a task of its own; the handle can stop it.
    fn spawn(&self, plan: Arc<Plan>, record: RunRecord) -> RunHandle {
        let run_id = record.id.clone();
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        let weft = self.clone();
        let task =
            tokio::spawn(async move { weft.walk(&plan, record, token, Walking::default()).await });
        RunHandle {
            run_id,
            cancel,
            task,
        }
    }

    /// Run `plan` to the end as the run `call` asks for (for
    /// [`AutomationCaller`]s): trigger [`chained_trigger`], input
    /// `call.input`, stopped when `call.cancel` fires and failed at
    /// `call.deadline` if its own deadline is later.
    pub async fn run_chained(
        &self,
        plan: &Plan,
        call: &ChainCall,
    ) -> Result<RunResult, StoreError> {
        // Waited for by its caller (`call.wait`): after a crash it is not
        // run again on its own (the resumed caller calls it anew).
        let record = new_record(plan, call.input.clone(), chained_trigger(call));
        let how = Walking {
            deadline: call.deadline,
            ..Walking::default()
        };
        self.walk(plan, record, call.cancel.child_token(), how)
            .await
    }

    /// Start `plan` in the background as the run `call` asks for, detached
    /// from the caller (its cancellation and deadline do not apply). The
    /// run is stored (`queued`) before this returns, so its id can be
    /// looked up at once.
    pub fn start_chained(
        &self,
        plan: Arc<Plan>,
        call: &ChainCall,
    ) -> Result<RunHandle, StoreError> {
        let record = new_record(&plan, call.input.clone(), chained_trigger(call));
        self.inner.store.put_run(&record)?;
        Ok(self.spawn(plan, record))
    }

    async fn walk(
        &self,
        plan: &Plan,
        record: RunRecord,
        cancel: CancellationToken,
        how: Walking<'_>,
    ) -> Result<RunResult, StoreError> {
        let Walking {
            observer,
            deadline,
            slot,
            resume,
        } = how;
        let seal = self
            .inner
            .output_seal
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let walk = Walk::new(
            plan,
            &self.inner.connectors,
            self.inner.store.as_ref(),
            cancel,
            record,
            observer,
        )
        .deadline_at_most(deadline)
        .chaining(self.inner.caller.as_deref(), self.inner.max_chain_depth)
        .connections(self.inner.connections.as_deref())
        .limits(&self.inner.run_limits)
        .slot(slot);
        let walk = match resume {
            Some(replay) => walk.resumable(replay, seal.as_deref()),
            None => walk,
        };
        let (record, steps) = walk.run().await?;
        Ok(RunResult { record, steps })
    }
}

/// How a run is walked besides its plan, record and cancellation.
#[derive(Default)]
struct Walking<'o> {
    /// Called with each step as it is written.
    observer: Option<&'o StepObserver<'o>>,
    /// A deadline earlier than the run's own (a calling run's).
    deadline: Option<Instant>,
    /// The host's slot, handed back while a block waits to be retried.
    slot: Option<Arc<dyn RunSlot>>,
    /// Resumable (with the history to take over, if any): see
    /// [`Weft::run_record_in`].
    resume: Option<Option<Replay>>,
}

/// A queued run record for `plan`, not yet stored (see [`Weft::run_record`]).
pub fn new_record(plan: &Plan, input: Value, trigger: Trigger) -> RunRecord {
    RunRecord {
        id: uuid::Uuid::now_v7().to_string(),
        automation_id: plan.id.clone(),
        automation_version: plan.version,
        automation_name: plan.name.clone(),
        owner: plan.owner.clone(),
        trigger,
        status: RunStatus::Queued,
        created_at: now_ms(),
        started_at: None,
        finished_at: None,
        input,
        output: Value::Null,
        error: None,
        warnings: Vec::new(),
        resumed: None,
        title: None,
        in_flight: None,
        waiting_for: None,
    }
}
