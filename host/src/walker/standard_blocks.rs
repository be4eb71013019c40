//! The standard blocks the host runs itself, one method each: Start,
//! condition, loop, variable, output, error and sleep. (Connector and
//! `call_automation` blocks have modules of their own.) Each returns what
//! the block produced; conditions and loops also walk their branch or
//! body, so they return how that walk ended.

use super::bounded::Slot;
use super::values::{apply_output, apply_variable, kind_of};
use super::{Flow, Halt, Outcome, Walk};
use crate::automation::document::{ErrorMode, OutputMode, VariableAction};
use crate::automation::plan::NodeId;
use crate::automation::template::Template;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use weft_conditions::{Combine, Operator, combine, compare};

/// What a block that may walk further produced.
pub(super) enum Walked {
    /// The block's outcome, to be recorded by the caller.
    Block(Outcome),
    /// The block recorded itself and walked its branch or body.
    Chain(Flow),
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

    /// A condition: evaluate the clauses, record the result, walk the
    /// branch it picks.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn condition(
        &mut self,
        n: NodeId,
        (started, started_at): (Instant, i64),
        mode: &Combine,
        clauses: &[(Template, Operator, Template)],
        yes: &[NodeId],
        no: &[NodeId],
    ) -> Result<Walked, Halt> {
        let outcome = {
            let mut results = Vec::with_capacity(clauses.len());
            let mut failure = None;
            for (i, (left, op, right)) in clauses.iter().enumerate() {
                let l = self
                    .eval(left, &format!("condition.clauses[{i}].left"))?
                    .map(|(v, _)| v);
                let r = self
                    .eval(right, &format!("condition.clauses[{i}].right"))?
                    .map(|(v, _)| v);
                match (l, r) {
                    (Ok(l), Ok(r)) => results.push(compare(&l, *op, &r)),
                    (Err(e), _) | (_, Err(e)) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            match failure {
                Some(e) => Outcome::plain(Err(e), None),
                None => {
                    let holds = combine(*mode, results.into_iter());
                    self.record(
                        n,
                        started,
                        started_at,
                        Outcome::plain(Ok(json!({ "result": holds })), None),
                    )?;
                    let branch = if holds { yes } else { no };
                    return self.chain(branch).await.map(Walked::Chain);
                }
            }
        };
        Ok(Walked::Block(outcome))
    }

    /// A loop: record the count, then walk the body once per item.
    pub(super) async fn loop_block(
        &mut self,
        n: NodeId,
        (started, started_at): (Instant, i64),
        over: &Template,
        body: &[NodeId],
    ) -> Result<Walked, Halt> {
        let plan = self.plan;
        let node = &plan.nodes[n];
        let outcome = {
            let list = Slot::LoopList(node.id.clone());
            let over = self.eval(over, "over")?.and_then(|(v, m)| {
                self.memory
                    .set(list.clone(), m.bytes)
                    .map_err(|e| format!("over: {e}"))?;
                Ok(v)
            });
            match over {
                Ok(Value::Array(items)) => {
                    let count = items.len();
                    self.record(
                        n,
                        started,
                        started_at,
                        Outcome::plain(Ok(json!({ "count": count })), None),
                    )?;
                    self.loops.push((node.id.clone(), 0));
                    let mut flow = Flow::Continue;
                    for (index, item) in items.into_iter().enumerate() {
                        if let Some(top) = self.loops.last_mut() {
                            top.1 = index;
                        }
                        // The item is part of the list, already held.
                        self.memory.release(&Slot::Output(node.id.clone()));
                        self.outputs.insert(
                            node.id.clone(),
                            json!({ "item": item, "index": index, "count": count }),
                        );
                        match self.chain(body).await {
                            Ok(Flow::Continue) => {}
                            Ok(Flow::ExitLoop) => break,
                            Ok(Flow::Stop) => {
                                flow = Flow::Stop;
                                break;
                            }
                            Err(h) => {
                                self.loops.pop();
                                return Err(h);
                            }
                        }
                    }
                    self.loops.pop();
                    // `$.Loop` keeps the last item: count it as the
                    // list's share that stays.
                    let kept = self.outputs.get(&node.id).cloned().unwrap_or(Value::Null);
                    self.memory.release(&list);
                    if let Err(e) = self.memory.set_value(Slot::Output(node.id.clone()), &kept) {
                        return Err(Halt::Failed(format!("block {:?}: {e}", node.id)));
                    }
                    // After the loop `$.Loop` keeps the last item and
                    // the count; an empty loop still has its count.
                    if count == 0 {
                        self.outputs.insert(node.id.clone(), json!({ "count": 0 }));
                    }
                    return Ok(Walked::Chain(flow));
                }
                Ok(other) => {
                    self.memory.release(&list);
                    Outcome::plain(
                        Err(format!(
                            "over: expected a list to loop over, got {}",
                            kind_of(&other)
                        )),
                        None,
                    )
                }
                Err(e) => Outcome::plain(Err(e), None),
            }
        };
        Ok(Walked::Block(outcome))
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
}
