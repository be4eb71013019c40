//! `call_automation` blocks: another automation run as one step.

use super::{Halt, Outcome, Walk};
use crate::automation::document::CallMode;
use crate::automation::template::Template;
use crate::chaining::{ChainCall, ChainOutcome, check_call};
use crate::store::RunStatus;
use serde_json::json;

impl Walk<'_> {
    /// Run another automation through the configured caller. Not retried:
    /// a called run that failed has already had its own retries.
    pub(super) async fn call_automation(
        &mut self,
        step: &str,
        target: &str,
        mode: CallMode,
        inputs: &Template,
    ) -> Result<Outcome, Halt> {
        let input = match self.eval(inputs, "inputs")? {
            Ok((v, _)) => v,
            Err(e) => return Ok(Outcome::plain(Err(e), None)),
        };
        let Some(caller) = self.caller else {
            return Ok(Outcome::plain(
                Err(format!(
                    "cannot call automation {target:?}: chaining is not configured \
                     (this engine has no automation caller; see WeftBuilder::automation_caller)"
                )),
                Some(input),
            ));
        };
        let mut stack = self.run.trigger.call_stack().to_vec();
        stack.push(self.plan.id.clone());
        if let Err(e) = check_call(&stack, target, self.max_chain_depth) {
            return Ok(Outcome::plain(Err(e.to_string()), Some(input)));
        }
        let call = ChainCall {
            parent_run_id: self.run.id.clone(),
            parent_block: step.to_string(),
            caller_automation: self.plan.id.clone(),
            call_stack: stack,
            automation: target.to_string(),
            input: input.clone(),
            wait: mode == CallMode::Sync,
            cancel: self.cancel.clone(),
            deadline: Some(self.deadline),
        };
        // Not raced against cancellation: the caller stops a waited-for run
        // itself, and dropping the call midway would leave that run
        // recorded as running forever.
        let answer = caller.call(call).await;
        if self.cancel.is_cancelled() {
            return Err(Halt::Stopped);
        }
        let (result, child_run) = match (mode, answer) {
            (_, Err(e)) => (Err(e.to_string()), None),
            (CallMode::Async, Ok(outcome)) => {
                let run_id = outcome.run_id().to_string();
                (Ok(json!({ "run_id": run_id })), Some(run_id))
            }
            (CallMode::Sync, Ok(ChainOutcome::Queued { run_id })) => (
                Err(format!(
                    "automation {target:?} was only queued (run {run_id}), not run to the end"
                )),
                Some(run_id),
            ),
            (
                CallMode::Sync,
                Ok(ChainOutcome::Finished {
                    run_id,
                    status,
                    output,
                    error,
                }),
            ) => {
                let ended = match status {
                    RunStatus::Finished | RunStatus::FinishedWithWarnings => None,
                    RunStatus::Failed => Some("failed"),
                    RunStatus::Stopped => Some("was stopped"),
                    RunStatus::Queued | RunStatus::Running | RunStatus::Paused => {
                        Some("did not finish")
                    }
                };
                let result = match ended {
                    None => Ok(output),
                    Some(ended) => Err(format!(
                        "automation {target:?} {ended} (run {run_id}): {}",
                        error.as_deref().unwrap_or("no error given")
                    )),
                };
                (result, Some(run_id))
            }
        };
        let mut outcome = Outcome::plain(result, Some(input));
        outcome.child_run = child_run;
        Ok(outcome)
    }
}
