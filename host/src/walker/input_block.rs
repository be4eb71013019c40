//! The `input` block: where a walk pauses for a person.
//!
//! Reached with no answer, a resumable walk ends with [`Halt::Paused`]:
//! the run is recorded `paused` with the form it waits for
//! ([`WaitingFor`], holding the step number and loop position the block
//! will have). A submission or a timeout (`crate::input_form`) writes the
//! answer into that record and queues the run again; the new walk takes
//! over the history before the block (the resume rule, [`super::resume`]),
//! reaches the block at the same step and position, and takes the answer
//! as the block's outcome. A walk that cannot resume later (no history
//! it could take over: `weft run`, a synchronous API call, a called
//! automation) cannot pause either, so the run fails at the block.

use super::{Halt, Outcome, Walk};
use crate::automation::plan::NodeId;
use crate::automation::template::{Template, stringify};
use crate::store::{InputAnswer, WaitingFor};
use serde_json::{Value, json};
use std::sync::Arc;

/// An `input` block's fields, as the plan holds them.
pub(super) struct Form<'p> {
    pub schema: &'p Arc<Value>,
    pub title: Option<&'p Template>,
    pub message: Option<&'p Template>,
    pub timeout_ms: u64,
    pub timeout_values: Option<&'p Value>,
}

impl Walk<'_> {
    /// The `input` block `n`: its recorded outcome while a resumed run
    /// takes over its history, the answer the run was resumed with, or a
    /// pause.
    pub(super) fn input_block(&mut self, n: NodeId, form: Form<'_>) -> Result<Outcome, Halt> {
        if let Some(taken_over) = self.replayed(n)? {
            return Ok(taken_over);
        }
        let plan = self.plan;
        let id = &plan.nodes[n].id;
        let iteration: Vec<usize> = self.loops.iter().map(|(_, i)| *i).collect();
        let seq = self.seq;
        let answered = self
            .run
            .waiting_for
            .take_if(|w| {
                w.block == *id && w.iteration == iteration && w.seq == seq && w.answer.is_some()
            })
            .and_then(|w| w.answer);
        match answered {
            Some(InputAnswer::Submitted {
                values,
                submitted_by,
                submitted_at,
            }) => {
                return Ok(Outcome::plain(
                    Ok(json!({
                        "values": values,
                        "submitted_by": submitted_by,
                        "submitted_at": submitted_at,
                        "timed_out": false,
                    })),
                    None,
                ));
            }
            Some(InputAnswer::TimedOut { .. }) => {
                return Ok(Outcome::plain(
                    match form.timeout_values {
                        Some(values) => Ok(json!({
                            "values": values,
                            "submitted_by": null,
                            "submitted_at": null,
                            "timed_out": true,
                        })),
                        None => Err(format!(
                            "no form was submitted within {} ms (timeout_ms)",
                            form.timeout_ms
                        )),
                    },
                    None,
                ));
            }
            None => {}
        }
        if !self.durable {
            return Err(Halt::Failed(format!(
                "block {id:?} is an input block: it pauses the run until a form is submitted through a Weft server's API (POST /api/v1/runs/{{id}}/input), and this run cannot pause (one-shot `weft run`, a synchronous API call, or a called automation); start it on a server as a queued run instead"
            )));
        }
        // A text that cannot be made fails the block (its on_error applies).
        let text = |template: Option<&Template>, field: &str| -> Result<_, Halt> {
            Ok(match template {
                None => Ok(None),
                Some(t) => match self.eval(t, field)? {
                    Ok((Value::Null, _)) => Ok(None),
                    Ok((v, _)) => Ok(Some(stringify(&v))),
                    Err(e) => Err(e),
                },
            })
        };
        let (title, message) = match (text(form.title, "title")?, text(form.message, "message")?) {
            (Ok(title), Ok(message)) => (title, message),
            (Err(e), _) | (_, Err(e)) => return Ok(Outcome::plain(Err(e), None)),
        };
        let since = super::now_ms();
        let expires_at = since.saturating_add(i64::try_from(form.timeout_ms).unwrap_or(i64::MAX));
        Err(Halt::Paused(Box::new(WaitingFor {
            block: id.clone(),
            iteration,
            seq,
            schema: form.schema.as_ref().clone(),
            title,
            message,
            since,
            expires_at,
            answer: None,
        })))
    }
}
