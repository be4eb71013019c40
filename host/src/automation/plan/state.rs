//! The checking pass for the state blocks (`state-get`, `state-set`,
//! `state-increment`; see [`crate::store::state`]): a missing key or
//! value, a literal key that is not text or is empty, a literal `by` that
//! is not a number are errors here, naming block and field. Limits on key
//! and value sizes are the host's settings, checked when the block runs.

use super::checker::Checker;
use super::*;

/// A compiled state block.
#[derive(Debug, Clone)]
pub enum StateOp {
    /// The key's value, or `default` (null when `None`) if it is missing.
    Get {
        key: Template,
        default: Option<Template>,
    },
    /// Store `value` under the key.
    Set { key: Template, value: Template },
    /// Add `by` (`None`: 1) to the key's number.
    Increment { key: Template, by: Option<Template> },
}

impl StateOp {
    pub fn type_name(&self) -> &'static str {
        match self {
            StateOp::Get { .. } => "state-get",
            StateOp::Set { .. } => "state-set",
            StateOp::Increment { .. } => "state-increment",
        }
    }

    /// The key's template.
    pub fn key(&self) -> &Template {
        match self {
            StateOp::Get { key, .. }
            | StateOp::Set { key, .. }
            | StateOp::Increment { key, .. } => key,
        }
    }
}

impl Checker<'_> {
    pub(super) fn state_block(&mut self, id: &str, kind: &BlockKind) -> NodeKind {
        let op = match kind {
            BlockKind::StateGet { key, default } => StateOp::Get {
                key: self.state_key(id, key),
                default: default.as_ref().map(|d| self.template(id, "default", d)),
            },
            BlockKind::StateSet { key, value } => {
                let key = self.state_key(id, key);
                if value.is_null() {
                    self.errors.push(
                        Some(id),
                        "value",
                        "a state-set block needs a value (to remove a key, use the API's DELETE)",
                    );
                }
                StateOp::Set {
                    key,
                    value: self.template(id, "value", value),
                }
            }
            BlockKind::StateIncrement { key, by } => {
                let key = self.state_key(id, key);
                let by = by.as_ref().map(|b| {
                    let t = self.template(id, "by", b);
                    if let Template::Literal(v) = &t
                        && !v.is_number()
                    {
                        self.errors
                            .push(Some(id), "by", format!("must be a number, not {v}"));
                    }
                    t
                });
                StateOp::Increment { key, by }
            }
            _ => unreachable!("state_block is called for state blocks only"),
        };
        NodeKind::State(op)
    }

    fn state_key(&mut self, id: &str, key: &Value) -> Template {
        if key.is_null() {
            self.errors.push(
                Some(id),
                "key",
                "a state block needs a key (text, templates allowed)",
            );
        }
        let t = self.template(id, "key", key);
        if let Template::Literal(v) = &t
            && !key.is_null()
        {
            match v.as_str() {
                None => self
                    .errors
                    .push(Some(id), "key", format!("must be text, not {v}")),
                Some("") => self.errors.push(Some(id), "key", "must not be empty"),
                Some(_) => {}
            }
        }
        t
    }
}
