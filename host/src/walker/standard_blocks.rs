//! The standard blocks the host runs itself, one method each: Start,
//! variable, output, error, sleep and update-run-title. (Blocks that pick
//! a branch are in [`super::branches`], loops in [`super::loops`],
//! connector and `call_automation` blocks have modules of their own.)

use super::bounded::Slot;
use super::values::{apply_output, apply_variable};
use super::{Flow, Halt, Outcome, Walk};
use crate::automation::document::{ErrorMode, OutputMode, VariableAction};
use crate::automation::plan::{MAX_TITLE_CHARS, NodeId};
use crate::automation::template::{Template, stringify};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// What a block that may walk further produced.
pub(super) enum Walked {
    /// The block's outcome, to be recorded by the caller (boxed: most
    /// blocks that walk further end as a `Chain`).
    Block(Box<Outcome>),
    /// The block recorded itself and walked its branch or body.
    Chain(Flow),
}

impl Walked {
    pub(super) fn block(outcome: Outcome) -> Walked {
        Walked::Block(Box::new(outcome))
    }
}

impl Walk<'_> {
    /// The Start block: the run's input, held to the depth and memory
    /// limits like every other value.
    pub(super) fn start_block(&mut self, n: NodeId) -> Outcome {
        let plan = self.plan;
        let node = &plan.nodes[n];
        // The input may come from an embedder as a value of any
        // shape: held to the depth and memory limits like the rest.
        let fits = crate::automation::nesting::json_depth_within(
            &self.run.input,
            self.limits.nesting.max_json_depth,
        )
        .ok_or_else(|| {
            format!(
                "input: {}",
                crate::automation::nesting::json_too_deep(self.limits.nesting.max_json_depth)
            )
        })
        .and_then(|_| {
            self.memory
                .set_value(Slot::Output(node.id.clone()), &self.run.input)
                .map_err(|e| format!("input: {e}"))
        });
        match fits {
            Ok(()) => {
                let input = self.run.input.clone();
                self.outputs.insert(node.id.clone(), input.clone());
                Outcome::plain(Ok(input), None)
            }
            Err(e) => Outcome::plain(Err(e), None),
        }
    }

    /// A variable block: set, append to, merge into or increment a
    /// variable, held to the run's memory budget.
    pub(super) fn variable(
        &mut self,
        name: &String,
        action: &VariableAction,
        value: &Template,
    ) -> Result<Outcome, Halt> {
        Ok({
            let slot = Slot::Variable(name.clone());
            let result = self.eval(value, "value")?.and_then(|(v, m)| {
                // The new size from the old one, without measuring the
                // whole variable again on every append.
                let held = self.memory.held(&slot);
                let projected = match action {
                    VariableAction::Set => m.bytes,
                    VariableAction::Append => held + m.bytes + 1,
                    VariableAction::AppendAll => held + m.bytes,
                    VariableAction::Merge => held + m.bytes,
                    VariableAction::Increment => 24,
                };
                self.memory
                    .set(slot.clone(), projected)
                    .map_err(|e| format!("value: {e}"))?;
                let current = self.vars.get(name).cloned().unwrap_or(Value::Null);
                let next =
                    apply_variable(*action, current, v.clone()).map_err(|e| format!("value: {e}"));
                let next = match next {
                    Ok(next) => next,
                    Err(e) => {
                        self.memory.set(slot.clone(), held)?;
                        return Err(e);
                    }
                };
                self.vars.insert(name.clone(), next.clone());
                Ok((v, next))
            });
            match result {
                Ok((input, next)) => Outcome::plain(Ok(next), Some(input)),
                Err(e) => Outcome::plain(Err(e), None),
            }
        })
    }

    /// An output block: set, add to or merge into the run's output.
    pub(super) fn output_block(
        &mut self,
        mode: &OutputMode,
        value: &Template,
    ) -> Result<Outcome, Halt> {
        Ok({
            let held = self.memory.held(&Slot::RunOutput);
            let checked = self.eval(value, "value")?.and_then(|(v, m)| {
                let projected = match mode {
                    OutputMode::Set => m.bytes,
                    OutputMode::Add => held + m.bytes + 1,
                    OutputMode::Merge => held + m.bytes,
                };
                self.memory
                    .set(Slot::RunOutput, projected)
                    .map_err(|e| format!("value: {e}"))?;
                Ok(v)
            });
            match checked {
                Ok(v) => match apply_output(*mode, std::mem::take(&mut self.output), v.clone()) {
                    Ok(next) => {
                        self.output = next;
                        Outcome::plain(Ok(v.clone()), Some(v))
                    }
                    Err((previous, e)) => {
                        self.output = previous;
                        self.memory.set(Slot::RunOutput, held).ok();
                        Outcome::plain(Err(format!("value: {e}")), Some(v))
                    }
                },
                Err(e) => Outcome::plain(Err(e), None),
            }
        })
    }

    /// An error block: fail the run, or add a warning and go on.
    pub(super) fn error_block(
        &mut self,
        n: NodeId,
        mode: &ErrorMode,
        message: &Template,
    ) -> Result<Outcome, Halt> {
        let plan = self.plan;
        let node = &plan.nodes[n];
        Ok({
            let text = self
                .eval(message, "message")?
                .map(|(v, _)| crate::automation::template::stringify(&v))
                .unwrap_or_else(|e| format!("(message could not be built: {e})"));
            match mode {
                ErrorMode::Fail => Outcome::plain(Err(text.clone()), Some(Value::String(text))),
                ErrorMode::Warn => {
                    self.run.warnings.push(format!("{}: {text}", node.id));
                    Outcome::plain(Ok(Value::String(text.clone())), Some(Value::String(text)))
                }
            }
        })
    }

    /// A sleep block: wait, within the run's deadline, stoppable.
    pub(super) async fn sleep(&mut self, n: NodeId, ms: &Template) -> Result<Outcome, Halt> {
        let plan = self.plan;
        let node = &plan.nodes[n];
        Ok(match self.eval(ms, "ms")?.map(|(v, _)| v) {
            Ok(v) => match v.as_u64() {
                Some(ms) => {
                    let wanted = Duration::from_millis(ms);
                    let left = self.deadline.saturating_duration_since(Instant::now());
                    tokio::select! {
                        _ = tokio::time::sleep(wanted.min(left)) => {}
                        _ = self.cancel.cancelled() => return Err(Halt::Stopped),
                    }
                    if wanted > left {
                        return Err(Halt::Failed(format!(
                            "the run reached {} while block {:?} slept",
                            self.deadline_name(),
                            node.id
                        )));
                    }
                    Outcome::plain(Ok(json!({ "slept_ms": ms })), Some(v))
                }
                None => Outcome::plain(Err(format!("ms: expected milliseconds, got {v}")), Some(v)),
            },
            Err(e) => Outcome::plain(Err(e), None),
        })
    }

    /// An update-run-title block: the run's title, shown in run lists
    /// (text; anything else as JSON text; null clears it), cut to
    /// [`MAX_TITLE_CHARS`] characters.
    pub(super) fn run_title(&mut self, title: &Template) -> Result<Outcome, Halt> {
        Ok(match self.eval(title, "title")? {
            Ok((v, _)) => {
                let text = match &v {
                    Value::Null => None,
                    other => Some(stringify(other)),
                };
                // Longer text keeps its first characters and an ellipsis,
                // within the limit.
                let text = text.map(|t| match t.char_indices().nth(MAX_TITLE_CHARS) {
                    Some(_) => {
                        let end = t
                            .char_indices()
                            .nth(MAX_TITLE_CHARS - 1)
                            .map_or(t.len(), |(end, _)| end);
                        format!("{}…", &t[..end])
                    }
                    None => t,
                });
                self.run.title.clone_from(&text);
                Outcome::plain(Ok(json!({ "title": text })), Some(v))
            }
            Err(e) => Outcome::plain(Err(e), None),
        })
    }
}
