//! `call_automation` blocks on the server: the called automation must
//! belong to the caller's owner, be enabled and be within its rate limit,
//! as for any trigger. A synchronous call runs in the calling run's task:
//! it cannot deadlock waiting for a slot its caller holds, and for the
//! same reason it does not wait for the callee's own concurrency limit (a
//! callee set to one run at a time can still run beside a call from
//! another automation). An asynchronous call goes through the durable
//! queue like any trigger, limits included.

use crate::admission::{Admission, AdmitError};
use std::sync::{OnceLock, Weak};
use weft_host::chaining::{
    AutomationCaller, ChainCall, ChainError, ChainFuture, ChainOutcome, chained_trigger,
};

/// The server's [`AutomationCaller`]. It is given to the engine before the
/// admission service exists, so that is attached afterwards.
#[derive(Default)]
pub struct ServerCaller {
    admission: OnceLock<Weak<Admission>>,
}

impl ServerCaller {
    pub fn attach(&self, admission: Weak<Admission>) {
        let _ = self.admission.set(admission);
    }
}

impl AutomationCaller for ServerCaller {
    fn call(&self, call: ChainCall) -> ChainFuture<'_> {
        Box::pin(async move {
            let admission = self
                .admission
                .get()
                .and_then(Weak::upgrade)
                .ok_or_else(|| ChainError::Refused("the server is shutting down".into()))?;
            let lookup = |id: &str| {
                admission
                    .automations()
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
            let refused = |e: AdmitError| match e {
                AdmitError::Store(e) => ChainError::Start {
                    automation: target.id.clone(),
                    reason: e.to_string(),
                },
                other => ChainError::Refused(other.to_string()),
            };
            if !call.wait {
                let admitted = admission
                    .trigger(&target, call.input.clone(), chained_trigger(&call))
                    .await
                    .map_err(refused)?;
                return Ok(ChainOutcome::Queued {
                    run_id: admitted.run_id().to_string(),
                });
            }
            let result = admission
                .call_and_wait(&target, &call)
                .await
                .map_err(refused)?;
            Ok(ChainOutcome::finished(result.record))
        })
    }
}
