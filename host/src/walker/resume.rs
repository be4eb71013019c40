//! The resume rule: how a run interrupted by a crash continues at its last
//! durably finished block.
//!
//! A walk is deterministic once the outputs of the blocks that reach
//! outside the run are fixed: connector, `call_automation` and state
//! blocks (and `sleep`, which only waits). The history of an interrupted run is a
//! prefix of the steps its walk writes, so a resumed run walks the plan
//! again from its Start block with a cursor over that prefix ([`Replay`]):
//!
//! * blocks that reach outside are **not run again**: their recorded
//!   output is used (a sealed copy where the history has none — a
//!   censored block — or a scrubbed one; see [`crate::output_seal`]);
//! * every other block (condition, loop, variable, output, error) is
//!   **evaluated again**, which is cheap and rebuilds variables, loop
//!   positions and the run's output exactly as they were;
//! * no step is written for the prefix: it is in the history already;
//! * past the prefix the walk goes on as usual. The first block it runs
//!   is the one that was in progress at the crash, the only one that may
//!   run twice (connectors get the same idempotency key both times); a
//!   block marked `non_retryable_after_crash` is failed instead.
//!
//! A step that does not match (another block, another loop iteration,
//! another status) means the automation or its data changed since: the
//! run is failed with an error naming the step, never resumed into a
//! history that mixes two walks.

use super::{Flow, Halt, Outcome};
use crate::output_seal::{self, OutputSeal};
use crate::scrub::SecretValues;
use crate::store::{InFlight, StepRecord, StepStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// What a resumed run takes over from its history.
pub(crate) struct Replay {
    steps: Vec<StepRecord>,
    /// Sealed copies of outputs by step number.
    sealed: BTreeMap<u64, String>,
    /// The next step to take over.
    next: usize,
    /// A `non_retryable_after_crash` block marked as started.
    in_flight: Option<InFlight>,
}

/// The plaintext of a sealed copy.
#[derive(Serialize, Deserialize)]
pub(super) struct SealedOutput {
    pub output: Value,
    /// Every secret the run had injected by then: a resumed run scrubs
    /// them from what comes after, as the first walk did.
    #[serde(default)]
    pub secrets: Vec<String>,
}

impl Replay {
    pub(crate) fn new(
        steps: Vec<StepRecord>,
        sealed: BTreeMap<u64, String>,
        in_flight: Option<InFlight>,
    ) -> Replay {
        Replay {
            steps,
            sealed,
            next: 0,
            in_flight,
        }
    }

    /// Steps are still being taken over.
    pub(super) fn active(&self) -> bool {
        self.next < self.steps.len()
    }

    /// The last step taken over, once all are.
    pub(super) fn last(&self) -> Option<&StepRecord> {
        self.steps.last()
    }

    /// The next recorded step, checked against the block about to run.
    fn peek(&self, block_id: &str, iteration: &[usize]) -> Result<Option<&StepRecord>, Halt> {
        let Some(step) = self.steps.get(self.next) else {
            return Ok(None);
        };
        if step.block_id != block_id || step.iteration != iteration {
            return Err(diverged(step, block_id, iteration));
        }
        Ok(Some(step))
    }

    /// The recorded outcome of a block that reaches outside the run, in
    /// place of running it again; `None` past the prefix.
    pub(super) fn outcome(
        &self,
        run_id: &str,
        block_id: &str,
        iteration: &[usize],
        seal: Option<&dyn OutputSeal>,
        secrets: &mut SecretValues,
    ) -> Result<Option<Outcome>, Halt> {
        let Some(step) = self.peek(block_id, iteration)? else {
            return Ok(None);
        };
        let result = match step.status {
            StepStatus::Succeeded => Ok(self.output_of(run_id, step, seal, secrets)?),
            _ => Err(step
                .error
                .clone()
                .unwrap_or_else(|| "failed (no error recorded)".into())),
        };
        Ok(Some(Outcome {
            result,
            input: step.input.clone(),
            attempts: step.attempts,
            fuel_used: step.fuel_used,
            http_calls: Vec::new(),
            logs: Vec::new(),
            flow: Flow::Continue,
            child_run: step.child_run_id.clone(),
            connector_version: step.connector_version.clone(),
            failure: step.failure,
        }))
    }

    fn output_of(
        &self,
        run_id: &str,
        step: &StepRecord,
        seal: Option<&dyn OutputSeal>,
        secrets: &mut SecretValues,
    ) -> Result<Value, Halt> {
        let Some(sealed) = self.sealed.get(&step.seq) else {
            return match (&step.output, step.censored) {
                (Some(v), false) => Ok(v.clone()),
                _ => Err(Halt::Failed(format!(
                    "cannot resume: block {:?} (step {}) finished before the server stopped, but its output was censored and no sealed copy was kept (the engine has no output seal configured); the run was not resumed",
                    step.block_id, step.seq
                ))),
            };
        };
        let seal = seal.ok_or_else(|| {
            Halt::Failed(format!(
                "cannot resume: the output of block {:?} (step {}) is sealed, but the engine has no output seal configured to open it",
                step.block_id, step.seq
            ))
        })?;
        let plain = seal
            .open(&output_seal::context(run_id, step.seq), sealed)
            .map_err(|e| {
                Halt::Failed(format!(
                    "cannot resume: the sealed output of block {:?} (step {}) does not open: {e}",
                    step.block_id, step.seq
                ))
            })?;
        let copy: SealedOutput = serde_json::from_slice(&plain).map_err(|e| {
            Halt::Failed(format!(
                "cannot resume: the sealed output of block {:?} (step {}) is unreadable: {e}",
                step.block_id, step.seq
            ))
        })?;
        for s in &copy.secrets {
            secrets.add(s);
        }
        Ok(copy.output)
    }

    /// Take over the next step for the block just evaluated: checks it is
    /// the same block with the same status, and returns it.
    pub(super) fn consume(
        &mut self,
        block_id: &str,
        iteration: &[usize],
        status: StepStatus,
    ) -> Result<&StepRecord, Halt> {
        let index = self.next;
        let step = self.peek(block_id, iteration)?.ok_or_else(|| {
            Halt::Failed("resume: no recorded step left to take over".to_string())
        })?;
        if step.status != status {
            return Err(Halt::Failed(format!(
                "cannot resume: block {:?} (step {}) now ends {status:?} where the history says {:?}; the automation's data changed since, so the run was not resumed",
                step.block_id, step.seq, step.status
            )));
        }
        self.next += 1;
        Ok(&self.steps[index])
    }

    /// Whether `block_id` at `iteration`, about to be recorded as `seq`,
    /// is the block that was marked in progress at the crash.
    pub(super) fn was_in_flight(&self, block_id: &str, iteration: &[usize], seq: u64) -> bool {
        !self.active()
            && self
                .in_flight
                .as_ref()
                .is_some_and(|f| f.block_id == block_id && f.iteration == iteration && f.seq == seq)
    }
}

fn diverged(step: &StepRecord, block_id: &str, iteration: &[usize]) -> Halt {
    Halt::Failed(format!(
        "cannot resume: the history shows block {:?}{} at step {}, where the automation now runs block {block_id:?}{}; it changed since the run started, so the run was not resumed",
        step.block_id,
        at(&step.iteration),
        step.seq,
        at(iteration)
    ))
}

fn at(iteration: &[usize]) -> String {
    match iteration {
        [] => String::new(),
        i => format!(
            " (loop iteration {})",
            i.iter().map(usize::to_string).collect::<Vec<_>>().join(".")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn step(seq: u64, block: &str, iteration: Vec<usize>, status: StepStatus) -> StepRecord {
        StepRecord {
            seq,
            block_id: block.into(),
            block_type: "connector".into(),
            target: None,
            status,
            attempts: 1,
            started_at: 0,
            duration_us: 0,
            iteration,
            input: Some(json!({"in": seq})),
            output: Some(json!({"out": seq})),
            error: None,
            fuel_used: None,
            http_calls: vec![],
            logs: vec![],
            censored: false,
            input_bytes: 0,
            output_bytes: 0,
            child_run_id: None,
            connector_version: None,
            failure: None,
        }
    }

    fn message(h: Halt) -> String {
        match h {
            Halt::Failed(m) => m,
            _ => "not a failure".into(),
        }
    }

    #[test]
    fn takes_over_matching_steps_in_order_then_stops() {
        let mut r = Replay::new(
            vec![
                step(0, "Start", vec![], StepStatus::Succeeded),
                step(1, "Call", vec![3], StepStatus::Succeeded),
            ],
            BTreeMap::new(),
            None,
        );
        let mut secrets = SecretValues::default();
        assert!(r.active());
        let s = r.consume("Start", &[], StepStatus::Succeeded).ok();
        assert_eq!(s.map(|s| s.seq), Some(0));
        let o = r
            .outcome("run", "Call", &[3], None, &mut secrets)
            .ok()
            .flatten()
            .expect("recorded");
        assert_eq!(o.result, Ok(json!({"out": 1})));
        assert!(r.consume("Call", &[3], StepStatus::Succeeded).is_ok());
        assert!(!r.active());
        assert!(matches!(
            r.outcome("run", "Call", &[4], None, &mut secrets),
            Ok(None)
        ));
    }

    #[test]
    fn another_block_or_iteration_or_status_is_a_divergence() {
        let r = || {
            Replay::new(
                vec![step(0, "Call", vec![1, 2], StepStatus::Succeeded)],
                BTreeMap::new(),
                None,
            )
        };
        let mut secrets = SecretValues::default();
        let e = r()
            .outcome("run", "Other", &[1, 2], None, &mut secrets)
            .err()
            .map(message);
        assert!(
            e.as_deref().is_some_and(|e| e.contains(
                "history shows block \"Call\" (loop iteration 1.2) at step 0, where the automation now runs block \"Other\""
            )),
            "{e:?}"
        );
        assert!(
            r().outcome("run", "Call", &[1, 3], None, &mut secrets)
                .is_err()
        );
        let e = r()
            .consume("Call", &[1, 2], StepStatus::Failed)
            .err()
            .map(message);
        assert!(e.is_some_and(|e| e.contains("now ends Failed")));
    }

    #[test]
    fn a_censored_output_without_a_sealed_copy_cannot_be_taken_over() {
        let mut censored = step(0, "Secret", vec![], StepStatus::Succeeded);
        censored.censored = true;
        censored.output = None;
        let r = Replay::new(vec![censored], BTreeMap::new(), None);
        let e = r
            .outcome("run", "Secret", &[], None, &mut SecretValues::default())
            .err()
            .map(message);
        assert!(
            e.is_some_and(|e| e.contains("no sealed copy was kept")),
            "a censored block must not resume with a missing value"
        );
    }

    #[test]
    fn a_failed_step_is_taken_over_as_its_error() {
        let mut warned = step(0, "Call", vec![], StepStatus::Warning);
        warned.error = Some("upstream said no".into());
        warned.output = None;
        let r = Replay::new(vec![warned], BTreeMap::new(), None);
        let o = r
            .outcome("run", "Call", &[], None, &mut SecretValues::default())
            .ok()
            .flatten()
            .expect("recorded");
        assert_eq!(o.result, Err("upstream said no".to_string()));
    }

    #[test]
    fn the_in_flight_mark_matches_only_past_the_prefix_and_exactly() {
        let mark = InFlight {
            block_id: "Pay".into(),
            iteration: vec![2],
            seq: 5,
        };
        let mut r = Replay::new(
            vec![step(4, "Before", vec![], StepStatus::Succeeded)],
            BTreeMap::new(),
            Some(mark),
        );
        assert!(
            !r.was_in_flight("Pay", &[2], 5),
            "prefix not taken over yet"
        );
        assert!(r.consume("Before", &[], StepStatus::Succeeded).is_ok());
        assert!(r.was_in_flight("Pay", &[2], 5));
        assert!(!r.was_in_flight("Pay", &[3], 5));
        assert!(!r.was_in_flight("Pay", &[2], 6));
    }
}
