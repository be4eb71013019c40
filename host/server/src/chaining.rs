//! `call_automation` blocks on the server: the called automation must
//! belong to the caller's owner and be enabled. A synchronous call runs
//! in the calling run's task (so it is not counted against concurrency
//! twice and cannot deadlock waiting for a slot its caller holds); an
//! asynchronous call goes through the durable queue like any trigger.

use crate::AppState;
use std::sync::{OnceLock, Weak};
use weft_host::chaining::{
    AutomationCaller, ChainCall, ChainError, ChainFuture, ChainOutcome, chained_trigger,
};

/// The server's [`AutomationCaller`]. It is given to the engine before the
/// state exists, so the state is attached afterwards.
#[derive(Default)]
pub struct ServerCaller {
    state: OnceLock<Weak<AppState>>,
}

impl ServerCaller {
    pub fn attach(&self, state: Weak<AppState>) {
        let _ = self.state.set(state);
    }
}

impl AutomationCaller for ServerCaller {
    fn call(&self, call: ChainCall) -> ChainFuture<'_> {
        Box::pin(async move {
            let state = self
                .state
                .get()
                .and_then(Weak::upgrade)
                .ok_or_else(|| ChainError::Refused("the server is shutting down".into()))?;
            let lookup = |id: &str| {
                state
                    .automations
                    .get(id)
                    .ok()
                    .flatten()
                    .ok_or_else(|| ChainError::NotFound(id.to_string()))
            };
            let target = lookup(&call.automation)?;
            let caller = lookup(&call.caller_automation)?;
            if target.owner != caller.owner {
                // Existence of other users' automations does not leak.
                return Err(ChainError::NotFound(call.automation.clone()));
            }
            if !target.enabled {
                return Err(ChainError::Refused(format!(
                    "automation {:?} is disabled",
                    target.id
                )));
            }
            let plan = state
                .plan(&target)
                .map_err(|e| ChainError::Refused(e.message))?;
            if !call.wait {
                let record = weft_host::new_record(
                    &plan,
                    call.input.clone(),
                    chained_trigger(&call.parent_run_id, &call.parent_block, &call.call_stack),
                );
                state
                    .enqueue(&record, &target)
                    .map_err(|e| ChainError::Start {
                        automation: target.id.clone(),
                        reason: e.message,
                    })?;
                return Ok(ChainOutcome::Queued { run_id: record.id });
            }
            let result =
                state
                    .weft
                    .run_chained(&plan, &call)
                    .await
                    .map_err(|e| ChainError::Start {
                        automation: target.id.clone(),
                        reason: e.to_string(),
                    })?;
            state.metrics.record_run(&result);
            Ok(ChainOutcome::finished(result.record))
        })
    }
}
