//! The loop blocks: `loop` (over a list), `loop-range` (over whole
//! numbers), `loop-while` (while or until a condition holds, capped) and
//! `loop-batch` (over a list in chunks).
//!
//! Every kind records its step first, then walks its body once per
//! iteration through [`Walk::walk_iteration`], which keeps the `loops` stack of
//! iteration indexes that step records, idempotency keys and a resume are
//! keyed by: a resumed run evaluates the loop again and reaches the
//! iteration in progress the same way the first walk did. Each iteration
//! checks the stop request and the run's deadline, also when the body is
//! empty, so no loop outlives the run's limits; lists are held against
//! the run's memory budget while the loop walks them.

use super::bounded::Slot;
use super::standard_blocks::Walked;
use super::values::kind_of;
use super::{Flow, Halt, Outcome, Walk};
use crate::automation::document::WhileMode;
use crate::automation::plan::NodeId;
use crate::automation::template::Template;
use serde_json::{Value, json};
use std::time::Instant;
use weft_conditions::{Combine, Operator};

/// When a block started: for its step record.
pub(super) type Started = (Instant, i64);

impl Walk<'_> {
    /// Walk `body` once as iteration `index` of loop `n`, with `state` as
    /// the loop's output (`$.Loop`). `Some(flow)` when the loop must end
    /// here: `Continue` after an `exit-loop` that leaves this loop, or
    /// the flow (`Stop`, an `exit-loop` for an outer loop) to pass on.
    async fn walk_iteration(
        &mut self,
        n: NodeId,
        index: usize,
        state: Value,
        body: &[NodeId],
    ) -> Result<Option<Flow>, Halt> {
        let plan = self.plan;
        let id = &plan.nodes[n].id;
        // A loop with an empty body (or one of blocks that never wait)
        // is still held to the stop request and the deadline.
        self.pace(|| format!("in loop {id:?} (iteration {index})"))
            .await?;
        if let Some(top) = self.loops.last_mut() {
            top.1 = index;
        }
        // The state is small or part of the list, already held.
        self.memory.release(&Slot::Output(id.clone()));
        self.outputs.insert(id.clone(), state);
        Ok(match self.chain(body).await? {
            Flow::Continue => None,
            Flow::ExitLoop(None) => Some(Flow::Continue),
            Flow::ExitLoop(Some(target)) if target == *id => Some(Flow::Continue),
            other => Some(other),
        })
    }

    /// After a loop: `$.Loop` keeps its last state (or `empty` when the
    /// body never ran), held against the memory budget.
    fn loop_done(&mut self, n: NodeId, ran: bool, empty: Value) -> Result<(), Halt> {
        let id = self.plan.nodes[n].id.clone();
        if !ran {
            self.outputs.insert(id.clone(), empty);
        }
        let kept = self.outputs.get(&id).cloned().unwrap_or(Value::Null);
        self.memory
            .set_value(Slot::Output(id.clone()), &kept)
            .map_err(|e| Halt::Failed(format!("block {id:?}: {e}")))
    }

    /// Walk the iterations `states` yields, with the loop on the stack.
    async fn iterate(
        &mut self,
        n: NodeId,
        body: &[NodeId],
        states: impl Iterator<Item = Value>,
    ) -> Result<(Flow, bool), Halt> {
        self.loops.push((self.plan.nodes[n].id.clone(), 0));
        let mut ran = false;
        let mut flow = Flow::Continue;
        let mut failed = None;
        for (index, state) in states.enumerate() {
            ran = true;
            match self.walk_iteration(n, index, state, body).await {
                Ok(None) => {}
                Ok(Some(f)) => {
                    flow = f;
                    break;
                }
                Err(h) => {
                    failed = Some(h);
                    break;
                }
            }
        }
        self.loops.pop();
        match failed {
            Some(h) => Err(h),
            None => Ok((flow, ran)),
        }
    }

    /// A loop over a list: record the count, then walk the body once per
    /// item.
    pub(super) async fn loop_block(
        &mut self,
        n: NodeId,
        started: Started,
        over: &Template,
        body: &[NodeId],
    ) -> Result<Walked, Halt> {
        let items = match self.loop_list(n, over)? {
            Ok(items) => items,
            Err(e) => return Ok(Walked::block(Outcome::plain(Err(e), None))),
        };
        let count = items.len();
        self.record(
            n,
            started.0,
            started.1,
            Outcome::plain(Ok(json!({ "count": count })), None),
        )?;
        let states = items
            .into_iter()
            .enumerate()
            .map(|(index, item)| json!({ "item": item, "index": index, "count": count }));
        let (flow, ran) = self.iterate(n, body, states).await?;
        self.memory
            .release(&Slot::LoopList(self.plan.nodes[n].id.clone()));
        self.loop_done(n, ran, json!({ "count": 0 }))?;
        Ok(Walked::Chain(flow))
    }

    /// A loop over a list in chunks of `size`; the item is the chunk.
    pub(super) async fn loop_batch(
        &mut self,
        n: NodeId,
        started: Started,
        (over, size): (&Template, &Template),
        body: &[NodeId],
    ) -> Result<Walked, Halt> {
        let size = match self.eval(size, "size")?.map(|(v, _)| v) {
            Ok(v) => match whole_number(&v).filter(|s| *s >= 1) {
                Some(s) => usize::try_from(s).unwrap_or(usize::MAX),
                None => {
                    let e = format!("size: expected a whole number of at least 1, got {v}");
                    return Ok(Walked::block(Outcome::plain(Err(e), None)));
                }
            },
            Err(e) => return Ok(Walked::block(Outcome::plain(Err(e), None))),
        };
        let items = match self.loop_list(n, over)? {
            Ok(items) => items,
            Err(e) => return Ok(Walked::block(Outcome::plain(Err(e), None))),
        };
        let total = items.len();
        let count = total.div_ceil(size);
        self.record(
            n,
            started.0,
            started.1,
            Outcome::plain(Ok(json!({ "count": count, "items": total })), None),
        )?;
        // Chunks are moved out of the list, not copied: the list is
        // already held against the memory budget.
        let mut rest = items.into_iter();
        let states = (0..count).map(move |index| {
            let chunk: Vec<Value> = rest.by_ref().take(size).collect();
            json!({ "item": chunk, "index": index, "count": count })
        });
        let (flow, ran) = self.iterate(n, body, states).await?;
        self.memory
            .release(&Slot::LoopList(self.plan.nodes[n].id.clone()));
        self.loop_done(n, ran, json!({ "count": 0 }))?;
        Ok(Walked::Chain(flow))
    }

    /// The list a `loop` or `loop-batch` walks, held against the memory
    /// budget until the loop ends.
    fn loop_list(
        &mut self,
        n: NodeId,
        over: &Template,
    ) -> Result<Result<Vec<Value>, String>, Halt> {
        let list = Slot::LoopList(self.plan.nodes[n].id.clone());
        let over = self.eval(over, "over")?.and_then(|(v, m)| {
            self.memory
                .set(list.clone(), m.bytes)
                .map_err(|e| format!("over: {e}"))?;
            Ok(v)
        });
        Ok(match over {
            Ok(Value::Array(items)) => Ok(items),
            Ok(other) => {
                self.memory.release(&list);
                Err(format!(
                    "over: expected a list to loop over, got {}",
                    kind_of(&other)
                ))
            }
            Err(e) => Err(e),
        })
    }

    /// A loop over whole numbers from `from` to `to` (inclusive) by `step`.
    pub(super) async fn loop_range(
        &mut self,
        n: NodeId,
        started: Started,
        (from, to, step): (&Template, &Template, Option<&Template>),
        body: &[NodeId],
    ) -> Result<Walked, Halt> {
        let mut bounds = [0i64; 3];
        let fields: [(&str, Option<&Template>); 3] =
            [("from", Some(from)), ("to", Some(to)), ("step", step)];
        for (slot, (field, t)) in bounds.iter_mut().zip(fields) {
            let Some(t) = t else {
                *slot = 1;
                continue;
            };
            match self.eval(t, field)?.map(|(v, _)| v) {
                Ok(v) => match whole_number(&v) {
                    Some(x) => *slot = x,
                    None => {
                        let e = format!("{field}: expected a whole number, got {v}");
                        return Ok(Walked::block(Outcome::plain(Err(e), None)));
                    }
                },
                Err(e) => return Ok(Walked::block(Outcome::plain(Err(e), None))),
            }
        }
        let [first, last, by] = bounds;
        if by == 0 {
            let e = "step: must not be 0 (the loop would never end)".to_string();
            return Ok(Walked::block(Outcome::plain(Err(e), None)));
        }
        // In i128: no overflow for any pair of i64 bounds.
        let span = i128::from(last) - i128::from(first);
        let count: u64 = if span == 0 || (span > 0) == (by > 0) {
            u64::try_from(span / i128::from(by) + 1).unwrap_or(u64::MAX)
        } else {
            0
        };
        let limit = self.limits.max_loop_iterations;
        if count > limit {
            let e = format!(
                "from {first} to {last} by {by} is {count} iterations, more than the limit of {limit} (max_loop_iterations)"
            );
            return Ok(Walked::block(Outcome::plain(Err(e), None)));
        }
        self.record(
            n,
            started.0,
            started.1,
            Outcome::plain(
                Ok(json!({ "count": count })),
                Some(json!({ "from": first, "to": last, "step": by })),
            ),
        )?;
        let states = (0..count).map(move |i| {
            let item = i128::from(first) + i128::from(i) * i128::from(by);
            json!({ "item": i64::try_from(item).unwrap_or(last), "index": i, "count": count })
        });
        let (flow, ran) = self.iterate(n, body, states).await?;
        self.loop_done(n, ran, json!({ "count": 0 }))?;
        Ok(Walked::Chain(flow))
    }

    /// A loop that runs while (or until) its condition holds, failing the
    /// run if it would go past `max_iterations`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn loop_while(
        &mut self,
        n: NodeId,
        started: Started,
        when: WhileMode,
        (mode, clauses): (Combine, &[(Template, Operator, Template)]),
        max_iterations: u64,
        body: &[NodeId],
    ) -> Result<Walked, Halt> {
        let limit = self.limits.max_loop_iterations;
        if max_iterations > limit {
            let e = format!(
                "max_iterations: {max_iterations} is more than the limit of {limit} (max_loop_iterations)"
            );
            return Ok(Walked::block(Outcome::plain(Err(e), None)));
        }
        let id = self.plan.nodes[n].id.clone();
        // The condition may look at `$.Loop.index`: the iteration about
        // to run (`while`) or just run (`until`).
        self.outputs.insert(id.clone(), json!({ "index": 0 }));
        // A condition that cannot be evaluated before the first iteration
        // is the block's failure, under its on_error policy.
        let first = match when {
            WhileMode::While => match self.clauses_hold(mode, clauses)? {
                Ok(holds) => Some(holds),
                Err(e) => {
                    self.outputs.remove(&id);
                    return Ok(Walked::block(Outcome::plain(Err(e), None)));
                }
            },
            WhileMode::Until => None,
        };
        self.record(
            n,
            started.0,
            started.1,
            Outcome::plain(Ok(json!({ "max_iterations": max_iterations })), None),
        )?;
        self.loops.push((id.clone(), 0));
        let result = self
            .while_iterations(n, when, first, (mode, clauses), max_iterations, body)
            .await;
        self.loops.pop();
        let (flow, done) = result?;
        match done {
            0 => self.loop_done(n, false, json!({ "count": 0 }))?,
            done => {
                self.outputs
                    .insert(id, json!({ "index": done - 1, "count": done }));
                self.loop_done(n, true, Value::Null)?;
            }
        }
        Ok(Walked::Chain(flow))
    }

    /// The iterations of a `loop-while`; returns how the walk ended and
    /// how many iterations ran.
    async fn while_iterations(
        &mut self,
        n: NodeId,
        when: WhileMode,
        mut first: Option<bool>,
        (mode, clauses): (Combine, &[(Template, Operator, Template)]),
        max_iterations: u64,
        body: &[NodeId],
    ) -> Result<(Flow, u64), Halt> {
        let id = self.plan.nodes[n].id.clone();
        let failed = |e: String| Halt::Failed(format!("block {id:?} failed: {e}"));
        let mut done: u64 = 0;
        loop {
            if when == WhileMode::While {
                let holds = match first.take() {
                    Some(holds) => holds,
                    None => {
                        self.outputs.insert(id.clone(), json!({ "index": done }));
                        self.clauses_hold(mode, clauses)?.map_err(failed)?
                    }
                };
                if !holds {
                    return Ok((Flow::Continue, done));
                }
            }
            if done == max_iterations {
                return Err(failed(format!(
                    "the loop ran max_iterations ({max_iterations}) times and its condition still {}; raise max_iterations or check the condition",
                    match when {
                        WhileMode::While => "holds",
                        WhileMode::Until => "does not hold",
                    }
                )));
            }
            let index = usize::try_from(done).unwrap_or(usize::MAX);
            let state = json!({ "index": done });
            if let Some(flow) = self.walk_iteration(n, index, state, body).await? {
                return Ok((flow, done + 1));
            }
            done += 1;
            if when == WhileMode::Until && self.clauses_hold(mode, clauses)?.map_err(failed)? {
                return Ok((Flow::Continue, done));
            }
        }
    }
}

/// A whole number: an integer, a float with no fraction, or numeric text
/// (values mapped from APIs often are), as conditions read numbers.
pub(super) fn whole_number(v: &Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    let f = weft_conditions::as_number(v)?;
    // Within i64's range: -2^63 and 2^63 are exact as f64, and the cast
    // below is then exact too.
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    (f.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(&f)).then_some(f as i64)
}

#[cfg(test)]
mod tests {
    use super::whole_number;
    use serde_json::json;

    #[test]
    fn whole_numbers_from_numbers_and_text() {
        assert_eq!(whole_number(&json!(7)), Some(7));
        assert_eq!(whole_number(&json!(-3.0)), Some(-3));
        assert_eq!(whole_number(&json!("12")), Some(12));
        assert_eq!(whole_number(&json!(2.5)), None);
        assert_eq!(whole_number(&json!("x")), None);
        assert_eq!(whole_number(&json!(1e300)), None);
        assert_eq!(whole_number(&json!(null)), None);
    }
}
