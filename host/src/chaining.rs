//! Chaining: a `call_automation` block runs another automation, waiting
//! for it (its output becomes the block's output) or not (the block's
//! output is `{"run_id": "…"}`).
//!
//! The engine does not know where automations live, so it asks an
//! [`AutomationCaller`] set with
//! [`WeftBuilder::automation_caller`](crate::WeftBuilder::automation_caller):
//! a server resolves ids against its stored automations (owner, enabled
//! flag, queue); [`LocalAutomations`] is the in-process one for embedders
//! and the CLI. Before asking, the walker refuses calls that would close a
//! cycle or make the chain deeper than
//! [`WeftBuilder::max_chain_depth`](crate::WeftBuilder::max_chain_depth)
//! ([`check_call`]). The chain travels in the called run's [`Trigger`]
//! ([`chained_trigger`], read back with [`Trigger::call_stack`]), so it survives
//! queues and restarts.

use crate::automation::Plan;
use crate::store::{ChainedBy, RunStatus, Trigger};
use crate::weft::{WeakWeft, Weft};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Instant;
use thiserror::Error;
use tokio_util::sync::CancellationToken;

/// What [`AutomationCaller::call`] returns.
pub type ChainFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ChainOutcome, ChainError>> + Send + 'a>>;

/// Runs the automations that `call_automation` blocks name.
pub trait AutomationCaller: Send + Sync {
    /// Start `call.automation` with `call.input` as its `$.Start` and the
    /// trigger [`chained_trigger`]`(&call)`. With `call.wait`, run it to the end (stopping it when
    /// `call.cancel` fires, failing it at `call.deadline`) and answer
    /// [`ChainOutcome::Finished`]; otherwise answer
    /// [`ChainOutcome::Queued`] as soon as it is started or queued.
    fn call(&self, call: ChainCall) -> ChainFuture<'_>;
}

/// One `call_automation` block asking for a run.
#[derive(Debug, Clone)]
pub struct ChainCall {
    /// The calling run.
    pub parent_run_id: String,
    /// The calling block's id.
    pub parent_block: String,
    /// The calling run's automation.
    pub caller_automation: String,
    /// Automation ids from the root run's to the caller's, inclusive.
    pub call_stack: Vec<String>,
    /// The automation to run.
    pub automation: String,
    /// Its `$.Start`.
    pub input: Value,
    /// Wait for the run to finish (`sync`) or not (`async`).
    pub wait: bool,
    /// Fires when the calling run is stopped; a waited-for run stops too.
    pub cancel: CancellationToken,
    /// The calling run's deadline; a waited-for run must end by then.
    pub deadline: Option<Instant>,
}

/// How a call went.
#[derive(Debug, Clone, PartialEq)]
pub enum ChainOutcome {
    /// The called run ended (in any final status).
    Finished {
        run_id: String,
        status: RunStatus,
        output: Value,
        error: Option<String>,
    },
    /// The called run was started or queued and goes on by itself.
    Queued { run_id: String },
}

impl ChainOutcome {
    /// The outcome of a waited-for run, from its final record.
    pub fn finished(record: crate::store::RunRecord) -> Self {
        ChainOutcome::Finished {
            run_id: record.id,
            status: record.status,
            output: record.output,
            error: record.error,
        }
    }

    pub fn run_id(&self) -> &str {
        match self {
            ChainOutcome::Finished { run_id, .. } | ChainOutcome::Queued { run_id } => run_id,
        }
    }
}

/// Why a call did not start a run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChainError {
    #[error("no automation has id {0:?}")]
    NotFound(String),
    /// `chain` runs from the root automation to the one called again.
    #[error("calling {:?} would close a cycle: {}", chain.last().map_or("", String::as_str), chain.join(" → "))]
    Cycle { chain: Vec<String> },
    /// `chain` runs from the root automation to the one that would start.
    #[error("the chain {} would be {} automations deep; the limit is {limit}", chain.join(" → "), chain.len())]
    TooDeep { chain: Vec<String>, limit: usize },
    /// The caller may not run it (disabled, another owner, …); the message
    /// says why.
    #[error("{0}")]
    Refused(String),
    #[error("could not start {automation:?}: {reason}")]
    Start { automation: String, reason: String },
}

/// Refuse a call from the automation at the top of `stack` (ids from the
/// root run's, inclusive) to `target` that would close a cycle or make the
/// chain longer than `max_depth` automations.
pub fn check_call(stack: &[String], target: &str, max_depth: usize) -> Result<(), ChainError> {
    let chain = || {
        let mut chain = stack.to_vec();
        chain.push(target.to_string());
        chain
    };
    if stack.iter().any(|id| id == target) {
        return Err(ChainError::Cycle { chain: chain() });
    }
    if stack.len() >= max_depth {
        return Err(ChainError::TooDeep {
            chain: chain(),
            limit: max_depth,
        });
    }
    Ok(())
}

/// The trigger of the run `call` asks for.
pub fn chained_trigger(call: &ChainCall) -> Trigger {
    Trigger::Automation(ChainedBy {
        parent_run_id: call.parent_run_id.clone(),
        parent_block: call.parent_block.clone(),
        call_stack: call.call_stack.clone(),
        wait: call.wait,
    })
}

/// An in-process [`AutomationCaller`]: validated plans by id, run by the
/// [`Weft`] they are attached to, with history like any other run.
///
/// The Weft holds the caller and the caller holds the Weft only weakly
/// (no reference cycle), so build the Weft first and then attach:
///
/// ```no_run
/// # async fn demo(doc_a: serde_json::Value, doc_b: serde_json::Value) -> anyhow::Result<()> {
/// use std::sync::Arc;
/// use weft_host::{Trigger, Weft, chaining::LocalAutomations};
///
/// let automations = Arc::new(LocalAutomations::new());
/// let weft = Weft::builder().automation_caller(automations.clone()).build().await?;
/// automations.attach(&weft);
/// automations.insert(weft.validate(&doc_b)?); // called by doc_a
/// let a = weft.validate(&doc_a)?;
/// let result = weft.run(&a, serde_json::json!({}), Trigger::custom("app")).await?;
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct LocalAutomations {
    plans: RwLock<HashMap<String, Arc<Plan>>>,
    weft: RwLock<Option<WeakWeft>>,
}

impl LocalAutomations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Run called automations on `weft` (kept weakly; a later call
    /// replaces it).
    pub fn attach(&self, weft: &Weft) {
        *self.weft.write().unwrap_or_else(|e| e.into_inner()) = Some(weft.downgrade());
    }

    /// Register (or replace) a plan under its automation id; returns the
    /// one it replaced.
    pub fn insert(&self, plan: impl Into<Arc<Plan>>) -> Option<Arc<Plan>> {
        let plan = plan.into();
        self.plans
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(plan.id.clone(), plan)
    }

    pub fn remove(&self, id: &str) -> Option<Arc<Plan>> {
        self.plans
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id)
    }

    pub fn get(&self, id: &str) -> Option<Arc<Plan>> {
        self.plans
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Registered ids, sorted.
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .plans
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        ids.sort();
        ids
    }

    fn weft(&self, automation: &str) -> Result<Weft, ChainError> {
        self.weft
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .and_then(WeakWeft::upgrade)
            .ok_or_else(|| ChainError::Start {
                automation: automation.to_string(),
                reason: "the local automations are not attached to a running engine \
                         (LocalAutomations::attach)"
                    .into(),
            })
    }
}

impl AutomationCaller for LocalAutomations {
    fn call(&self, call: ChainCall) -> ChainFuture<'_> {
        Box::pin(async move {
            let plan = self
                .get(&call.automation)
                .ok_or_else(|| ChainError::NotFound(call.automation.clone()))?;
            let weft = self.weft(&call.automation)?;
            let start_error = |e: crate::store::StoreError| ChainError::Start {
                automation: call.automation.clone(),
                reason: e.to_string(),
            };
            if !call.wait {
                let handle = weft.start_chained(plan, &call).map_err(start_error)?;
                return Ok(ChainOutcome::Queued {
                    run_id: handle.run_id,
                });
            }
            let result = weft.run_chained(&plan, &call).await.map_err(start_error)?;
            Ok(ChainOutcome::finished(result.record))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_call_stack_round_trips_through_the_trigger() {
        let call = ChainCall {
            parent_run_id: "run-1".into(),
            parent_block: "Call".into(),
            caller_automation: "b".into(),
            call_stack: ids(&["a", "b"]),
            automation: "c".into(),
            input: json!({}),
            wait: true,
            cancel: CancellationToken::new(),
            deadline: None,
        };
        let t = chained_trigger(&call);
        assert_eq!(t.kind(), "automation");
        let stored: Trigger =
            serde_json::from_value(serde_json::to_value(&t).expect("serializes")).expect("parses");
        assert_eq!(stored.call_stack(), ids(&["a", "b"]));
        assert!(stored.is_waited_for());
        let other = Trigger::Custom {
            kind: "api".into(),
            detail: json!({"call_stack": ["x"]}),
        };
        assert!(other.call_stack().is_empty());
    }

    #[test]
    fn cycles_and_depth_are_refused_with_the_chain_named() {
        assert_eq!(check_call(&ids(&["a", "b"]), "c", 3), Ok(()));
        let e = check_call(&ids(&["a", "b"]), "a", 8).unwrap_err();
        assert_eq!(
            e.to_string(),
            "calling \"a\" would close a cycle: a → b → a"
        );
        let e = check_call(&ids(&["a", "b", "c"]), "d", 3).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the chain a → b → c → d would be 4 automations deep; the limit is 3"
        );
    }
}
