//! The walker's share of the host-side limits ([`crate::RunLimits`]):
//! templates evaluated within the value cap, the run's deadline and its
//! stop request, and the run's memory budget.

use super::{Halt, Walk};
use crate::automation::bounds::{EvalBounds, EvalError, Measure, measure};
use crate::automation::template::Template;
use serde_json::Value;
use std::collections::HashMap;

impl Walk<'_> {
    /// The bounds for evaluating one of this run's templates.
    pub(super) fn bounds(&self) -> EvalBounds {
        EvalBounds {
            max_value_bytes: self.limits.max_value_bytes,
            max_json_depth: self.limits.nesting.max_json_depth,
            deadline: Some(self.deadline),
            cancel: Some(self.cancel.clone()),
        }
    }

    /// Evaluate `template` (the block's `field`). The inner error is the
    /// block's, prefixed with the field; a stop or the deadline ends the
    /// run instead.
    pub(super) fn eval(
        &self,
        template: &Template,
        field: &str,
    ) -> Result<Result<(Value, Measure), String>, Halt> {
        match template.eval_bounded(self, &self.bounds()) {
            Ok(v) => Ok(Ok(v)),
            Err(EvalError::Failed(e)) => Ok(Err(format!("{field}: {e}"))),
            Err(EvalError::Stopped) => Err(Halt::Stopped),
            Err(EvalError::DeadlinePassed) => Err(Halt::Failed(format!(
                "the run passed {} while evaluating {field}",
                self.deadline_name()
            ))),
        }
    }
}

/// What a run holds at once, by slot, in approximate JSON bytes, against
/// `max_run_memory_bytes`.
pub(super) struct RunMemory {
    limit: usize,
    used: usize,
    slots: HashMap<Slot, usize>,
}

/// Where a run keeps a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Slot {
    /// A block's output (a loop's current item, for a loop).
    Output(String),
    /// A variable.
    Variable(String),
    /// The run's output.
    RunOutput,
    /// The list a loop walks, while it walks it.
    LoopList(String),
    /// Steps kept in memory for the run's result, which only grow.
    History,
}

impl RunMemory {
    pub(super) fn new(limit: usize) -> Self {
        RunMemory {
            limit,
            used: 0,
            slots: HashMap::new(),
        }
    }

    /// Room for `bytes` in `slot` (replacing what it held), or the error
    /// that names the budget.
    pub(super) fn set(&mut self, slot: Slot, bytes: usize) -> Result<(), String> {
        let old = self.slots.get(&slot).copied().unwrap_or(0);
        let used = self.used - old + bytes;
        if used > self.limit {
            return Err(self.over(used));
        }
        self.used = used;
        self.slots.insert(slot, bytes);
        Ok(())
    }

    /// Measure `value` (no further than the budget allows) and hold it in
    /// `slot`.
    pub(super) fn set_value(&mut self, slot: Slot, value: &Value) -> Result<(), String> {
        let old = self.slots.get(&slot).copied().unwrap_or(0);
        let room = self.limit - (self.used - old);
        match measure(value, room, usize::MAX) {
            Ok(m) => self.set(slot, m.bytes),
            Err(_) => Err(self.over(self.used - old + room + 1)),
        }
    }

    /// What `slot` holds now.
    pub(super) fn held(&self, slot: &Slot) -> usize {
        self.slots.get(slot).copied().unwrap_or(0)
    }

    pub(super) fn release(&mut self, slot: &Slot) {
        if let Some(old) = self.slots.remove(slot) {
            self.used -= old;
        }
    }

    /// Add to what the run's kept steps hold.
    pub(super) fn add_history(&mut self, bytes: usize) -> Result<(), String> {
        let held = self.held(&Slot::History);
        self.set(Slot::History, held.saturating_add(bytes))
    }

    fn over(&self, wanted: usize) -> String {
        format!(
            "the run would hold at least {wanted} bytes in block outputs, variables, its output, loop lists and step records, more than its memory budget of {} bytes (max_run_memory_bytes)",
            self.limit
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn slots_replace_and_the_budget_holds() {
        let mut m = RunMemory::new(100);
        m.set(Slot::Variable("a".into()), 60).expect("fits");
        m.set(Slot::Variable("a".into()), 90).expect("replaces");
        let err = m.set(Slot::RunOutput, 20).expect_err("over budget");
        assert!(err.contains("max_run_memory_bytes"), "{err}");
        m.release(&Slot::Variable("a".into()));
        m.set_value(Slot::RunOutput, &json!("x".repeat(50)))
            .expect("fits after release");
        assert!(m.set_value(Slot::History, &json!("x".repeat(60))).is_err());
    }
}
