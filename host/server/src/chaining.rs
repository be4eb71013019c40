//! `call_automation` blocks on the server: the called automation must
//! belong to the caller's owner, be enabled and be within its rate limit,
//! as for any trigger. A synchronous call runs in the calling run's task:
//! it cannot deadlock waiting for a slot its caller holds, and for the
//! same reason it does not wait for the callee's own concurrency limit (a
//! callee set to one run at a time can still run beside a call from
//! another automation). An asynchronous call goes through the durable
//! queue like any trigger, limits included.

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
            // Enabled and within its rate limit, as for any other trigger
            // (a call inside a loop must not flood the callee).
            crate::api::runnable(&state, &target).map_err(|e| ChainError::Refused(e.message))?;
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
                    .await
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
