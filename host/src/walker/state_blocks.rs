//! The state blocks (`state-get`, `state-set`, `state-increment`): read
//! and write the automation's state between runs in the run store
//! ([`crate::store::state`]).
//!
//! Writes take effect at once, not when the run ends: a run started after
//! a `state-set` sees the new value even if the run that wrote it fails
//! later (the semantics of Qlik's and most tools' pointers). Like
//! connector blocks they reach outside the run, so a resumed run takes
//! their recorded outcome over instead of repeating them (see
//! [`super::resume`]); a resumable run commits its history before each
//! one. The block that was in progress when the server stopped may run
//! again, as a connector may — for `state-increment`, that can count once
//! more.

use super::values::kind_of;
use super::{Halt, Outcome, Walk};
use crate::automation::plan::StateOp;
use crate::store::StateError;
use serde_json::{Number, Value, json};

/// Run `f`, which waits for the disk, without stalling the other tasks on
/// this worker thread where the runtime allows it.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

impl Walk<'_> {
    pub(super) fn state_block(&mut self, op: &StateOp) -> Result<Outcome, Halt> {
        let key = match self.eval(op.key(), "key")? {
            Ok((Value::String(key), _)) => key,
            Ok((other, _)) => {
                return Ok(Outcome::plain(
                    Err(format!("key: must be text, not {}", kind_of(&other))),
                    None,
                ));
            }
            Err(e) => return Ok(Outcome::plain(Err(e), None)),
        };
        let automation = self.run.automation_id.clone();
        let limits = self.limits.state.clone();
        let store = self.store;
        Ok(match op {
            StateOp::Get { default, .. } => {
                let input = json!({ "key": key });
                let found = blocking(|| store.state_get(&automation, &key))?;
                match (found, default) {
                    (Some(entry), _) => Outcome::plain(Ok(entry.value), Some(input)),
                    (None, None) => Outcome::plain(Ok(Value::Null), Some(input)),
                    (None, Some(default)) => match self.eval(default, "default")? {
                        Ok((v, _)) => Outcome::plain(Ok(v), Some(input)),
                        Err(e) => Outcome::plain(Err(e), Some(input)),
                    },
                }
            }
            StateOp::Set { value, .. } => {
                let value = match self.eval(value, "value")? {
                    Ok((v, _)) => v,
                    Err(e) => return Ok(Outcome::plain(Err(e), Some(json!({ "key": key })))),
                };
                let input = json!({ "key": key, "value": value });
                let written = blocking(|| store.state_set(&automation, &key, &value, &limits));
                written_outcome(written, input)?
            }
            StateOp::Increment { by, .. } => {
                let by = match by {
                    None => Ok(Number::from(1)),
                    Some(t) => match self.eval(t, "by")? {
                        Ok((Value::Number(n), _)) => Ok(n),
                        Ok((other, _)) => {
                            Err(format!("by: must be a number, not {}", kind_of(&other)))
                        }
                        Err(e) => Err(e),
                    },
                };
                let by = match by {
                    Ok(by) => by,
                    Err(e) => return Ok(Outcome::plain(Err(e), Some(json!({ "key": key })))),
                };
                let input = json!({ "key": key, "by": by });
                let written = blocking(|| store.state_increment(&automation, &key, &by, &limits));
                written_outcome(written, input)?
            }
        })
    }
}

/// A write's outcome: the value stored, or the block's failure naming
/// the field and limit. A store that cannot write ends the run, as for
/// the history.
fn written_outcome(
    written: Result<crate::store::StateEntry, StateError>,
    input: Value,
) -> Result<Outcome, Halt> {
    let field = |e: &StateError| match e {
        StateError::ValueTooLarge { .. } => "value",
        StateError::Overflow { .. } => "by",
        _ => "key",
    };
    match written {
        Ok(entry) => Ok(Outcome::plain(Ok(entry.value), Some(input))),
        Err(StateError::Store(e)) => Err(Halt::Store(e)),
        Err(e) => Ok(Outcome::plain(
            Err(format!("{}: {e}", field(&e))),
            Some(input),
        )),
    }
}
