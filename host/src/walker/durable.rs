//! What a resumable run does on top of a plain walk: blocks that reach
//! outside the run are taken over from the history when it resumes
//! ([`super::resume`]), and run only once everything before them is on
//! disk, so the only block a crash can repeat is the one in progress.

use super::resume::SealedOutput;
use super::{Halt, Outcome, Walk};
use crate::automation::plan::{NodeId, NodeKind};
use crate::output_seal;
use crate::store::{InFlight, StepRecord};

impl Walk<'_> {
    fn iteration(&self) -> Vec<usize> {
        self.loops.iter().map(|(_, i)| *i).collect()
    }

    /// The recorded outcome of block `n` while a resumed run takes over
    /// its history; `None` when the block runs.
    pub(super) fn replayed(&mut self, n: NodeId) -> Result<Option<Outcome>, Halt> {
        let Some(replay) = self.replay.as_ref().filter(|r| r.active()) else {
            return Ok(None);
        };
        let iteration = self.iteration();
        replay.outcome(
            &self.run.id,
            &self.plan.nodes[n].id,
            &iteration,
            self.seal,
            &mut self.secrets,
        )
    }

    /// Before block `n` reaches outside the run: wait until every step
    /// before it is durable (a crash from here on repeats only this
    /// block), and mark a `non_retryable_after_crash` block as started.
    /// Returns the block's failure instead when it is such a block and
    /// was already started when the server stopped.
    pub(super) async fn before_call_out(&mut self, n: NodeId) -> Result<Option<Outcome>, Halt> {
        let node = &self.plan.nodes[n];
        if !self.durable || !(node.non_retryable_after_crash || self.reaches_outside(n)) {
            return Ok(None);
        }
        let iteration = self.iteration();
        if node.non_retryable_after_crash {
            if self
                .replay
                .as_ref()
                .is_some_and(|r| r.was_in_flight(&node.id, &iteration, self.seq))
            {
                return Ok(Some(Outcome::plain(
                    Err(format!(
                        "block {:?} was in progress when the server stopped, and it is marked non_retryable_after_crash, so it was not run again; check whether it took effect before running it by hand",
                        node.id
                    )),
                    None,
                )));
            }
            self.run.in_flight = Some(InFlight {
                block_id: node.id.clone(),
                iteration,
                seq: self.seq,
            });
            self.store.put_run(&self.run)?;
        }
        self.store.committed().await?;
        Ok(None)
    }

    /// Whether block `n` can change anything outside the run: a called
    /// automation can, and a connector can if it may make HTTP requests
    /// (a grant) or holds a connection. A connector with neither runs
    /// sealed off from the world (the standard blocks: lists, text, JSON,
    /// math, dates), so running it twice is harmless and waiting for the
    /// disk before it would only slow the run.
    fn reaches_outside(&self, n: NodeId) -> bool {
        match &self.plan.nodes[n].kind {
            NodeKind::Connector {
                connector,
                connection,
                ..
            } => connection.is_some() || !self.connectors.policy(connector).allow.is_empty(),
            _ => true,
        }
    }

    /// The output to keep sealed for a resume, taken before the secrets
    /// are scrubbed from it: only where the history copy will not do (a
    /// censored block, or a run that handles secrets).
    pub(super) fn needs_sealed_copy(&self, n: NodeId) -> bool {
        let node = &self.plan.nodes[n];
        self.durable
            && self.seal.is_some()
            && matches!(
                node.kind,
                NodeKind::Connector { .. }
                    | NodeKind::CallAutomation { .. }
                    | NodeKind::Input { .. }
            )
            && (node.censor || !self.secrets.is_empty())
    }

    /// Stage the sealed copy of `step`'s output.
    pub(super) fn keep_sealed_copy(
        &self,
        step: &StepRecord,
        output: serde_json::Value,
    ) -> Result<(), Halt> {
        let Some(seal) = self.seal else {
            return Ok(());
        };
        let copy = SealedOutput {
            output,
            secrets: self.secrets.iter().map(str::to_string).collect(),
        };
        let plain = serde_json::to_vec(&copy)
            .map_err(|e| Halt::Failed(format!("block {:?}: {e}", step.block_id)))?;
        let sealed = seal.seal(&output_seal::context(&self.run.id, step.seq), &plain);
        self.store.put_sealed(&self.run.id, step.seq, &sealed)?;
        Ok(())
    }
}
