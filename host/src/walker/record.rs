//! The one path that turns a finished block into its step record:
//! status from the on-error policy, censoring, sizes against the run's
//! memory, secret scrubbing, the journal, and the sealed copy a resume
//! needs.

use super::{Finished, Halt, Outcome, Walk};
use crate::automation::document::OnError;
use crate::automation::plan::{NodeId, NodeKind};
use crate::run_limits::cut_string;
use crate::scrub;
use crate::store::{StepRecord, StepStatus};
use serde_json::Value;
use std::time::Instant;

impl Walk<'_> {
    /// Write the step of a block that keeps no sealed copy; returns the
    /// status it was given.
    pub(super) fn record(
        &mut self,
        n: NodeId,
        started: Instant,
        started_at: i64,
        outcome: Outcome,
    ) -> Result<StepStatus, Halt> {
        let finished = Finished {
            outcome,
            sealed_copy: None,
        };
        self.record_finished(n, started, started_at, finished)
    }

    /// Write the step (and the sealed copy of its output, if it keeps
    /// one); returns the status it was given. While a resumed run takes
    /// over its history nothing is written: the step is checked against
    /// the recorded one instead.
    pub(super) fn record_finished(
        &mut self,
        n: NodeId,
        started: Instant,
        started_at: i64,
        finished: Finished,
    ) -> Result<StepStatus, Halt> {
        let Finished {
            outcome: o,
            sealed_copy,
        } = finished;
        let node = &self.plan.nodes[n];
        let status = match (&o.result, node.on_error) {
            (Ok(_), _) => StepStatus::Succeeded,
            (Err(_), OnError::Stop) => StepStatus::Failed,
            (Err(_), OnError::Warning) => StepStatus::Warning,
            (Err(_), OnError::Ignore) => StepStatus::Ignored,
        };
        if let Some(replay) = self.replay.as_mut().filter(|r| r.active()) {
            let iteration: Vec<usize> = self.loops.iter().map(|(_, i)| *i).collect();
            let taken_over = replay.consume(&node.id, &iteration, status)?;
            self.seq = taken_over.seq + 1;
            return Ok(status);
        }
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
            failure: o.failure,
        };
        scrub::record::step(&mut step, &self.secrets);
        self.seq += 1;
        if let Some(observe) = self.observer {
            observe(&step);
        }
        if let Some(output) = sealed_copy {
            self.keep_sealed_copy(&step, output)?;
        }
        self.steps.push(self.store, &self.run.id, step)?;
        Ok(status)
    }
}
