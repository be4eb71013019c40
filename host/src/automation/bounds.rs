//! Bounds on the work the host does for a run when it evaluates templates
//! and formulas: the size and depth of every value produced, the run's
//! deadline and its stop request.
//!
//! Formulas run in the host, not in a sandbox, so they get the sandbox's
//! kind of limits here: each nested `{json: …}` roughly doubles a value,
//! and without a cap a few dozen levels would take the server's memory.
//! Sizes are JSON text sizes, measured without serializing.

use super::nesting::{DEFAULT_MAX_JSON_DEPTH, json_too_deep};
use serde_json::Value;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Largest value a template or formula may produce by default (8 MiB, the
/// default cap on a block's output).
pub const DEFAULT_MAX_VALUE_BYTES: usize = 8 << 20;

/// What one evaluation may use.
#[derive(Debug, Clone)]
pub struct EvalBounds {
    /// Largest value, as JSON text, any step of the evaluation may produce.
    pub max_value_bytes: usize,
    /// Deepest nesting of arrays and objects in a produced value.
    pub max_json_depth: usize,
    /// The run's deadline: evaluation stops when it passes.
    pub deadline: Option<Instant>,
    /// The run's stop request: evaluation stops when it fires.
    pub cancel: Option<CancellationToken>,
}

impl Default for EvalBounds {
    fn default() -> Self {
        EvalBounds {
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
            max_json_depth: DEFAULT_MAX_JSON_DEPTH,
            deadline: None,
            cancel: None,
        }
    }
}

impl EvalBounds {
    /// Whether the run was stopped or passed its deadline; checked before
    /// each formula, the unit of host work.
    pub fn interrupted(&self) -> Result<(), EvalError> {
        if self.cancel.as_ref().is_some_and(|c| c.is_cancelled()) {
            return Err(EvalError::Stopped);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(EvalError::DeadlinePassed);
        }
        Ok(())
    }

    /// Size and depth of `value`, or the limit it breaks.
    pub fn check(&self, value: &Value) -> Result<Measure, String> {
        measure(value, self.max_value_bytes, self.max_json_depth).map_err(|e| e.to_string())
    }

    /// The message for a value larger than the cap.
    pub fn too_large(&self, at_least: usize) -> String {
        too_large(at_least, self.max_value_bytes)
    }
}

/// Why an evaluation produced no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// A reference that does not resolve, a formula that fails, a limit.
    #[error("{0}")]
    Failed(String),
    /// The run was asked to stop.
    #[error("the run was stopped")]
    Stopped,
    /// The run's deadline passed during the evaluation.
    #[error("the run passed its deadline")]
    DeadlinePassed,
}

impl From<String> for EvalError {
    fn from(message: String) -> Self {
        EvalError::Failed(message)
    }
}

/// A value's JSON text size in bytes and its nesting depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Measure {
    pub bytes: usize,
    pub depth: usize,
}

/// Which limit a value broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// Its JSON text is at least this long, more than `limit`.
    Bytes { at_least: usize, limit: usize },
    /// It nests deeper than `limit`.
    Depth { limit: usize },
}

impl std::fmt::Display for Exceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Exceeded::Bytes { at_least, limit } => f.write_str(&too_large(at_least, limit)),
            Exceeded::Depth { limit } => f.write_str(&json_too_deep(limit)),
        }
    }
}

fn too_large(at_least: usize, limit: usize) -> String {
    format!(
        "the value would be at least {at_least} bytes, more than the limit of {limit} bytes (max_value_bytes)"
    )
}

enum Frame<'a> {
    Items(std::slice::Iter<'a, Value>),
    Fields(serde_json::map::Iter<'a>),
}

/// The size of `value` as compact JSON text (exactly what `to_string`
/// would produce) and its depth, stopping as soon as either passes its
/// limit. Iterative, and the stack holds one frame per level.
pub fn measure(value: &Value, max_bytes: usize, max_depth: usize) -> Result<Measure, Exceeded> {
    let mut bytes = 0usize;
    let mut deepest = 0usize;
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut next = Some(value);
    loop {
        if let Some(v) = next.take() {
            match v {
                Value::Array(items) => {
                    bytes += 2 + items.len().saturating_sub(1);
                    stack.push(Frame::Items(items.iter()));
                }
                Value::Object(map) => {
                    bytes += 2 + map.len().saturating_sub(1);
                    stack.push(Frame::Fields(map.iter()));
                }
                scalar => bytes += scalar_len(scalar),
            }
            if stack.len() > max_depth {
                return Err(Exceeded::Depth { limit: max_depth });
            }
            deepest = deepest.max(stack.len());
            if bytes > max_bytes {
                return Err(Exceeded::Bytes {
                    at_least: bytes,
                    limit: max_bytes,
                });
            }
        }
        let Some(top) = stack.last_mut() else {
            return Ok(Measure {
                bytes,
                depth: deepest,
            });
        };
        match top {
            Frame::Items(items) => match items.next() {
                Some(v) => next = Some(v),
                None => {
                    stack.pop();
                }
            },
            Frame::Fields(fields) => match fields.next() {
                Some((k, v)) => {
                    bytes += string_len(k) + 1;
                    next = Some(v);
                }
                None => {
                    stack.pop();
                }
            },
        }
    }
}

fn scalar_len(v: &Value) -> usize {
    match v {
        Value::Null => 4,
        Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => {
            let mut count = Count(0);
            let _ = std::fmt::Write::write_fmt(&mut count, format_args!("{n}"));
            count.0
        }
        Value::String(s) => string_len(s),
        Value::Array(_) | Value::Object(_) => 0,
    }
}

/// Counts the bytes written to it (a number's length without allocating).
struct Count(usize);

impl std::fmt::Write for Count {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// `s` as a JSON string literal, quotes included, as serde_json escapes it.
pub fn string_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_are_exactly_the_json_text() {
        for v in [
            json!(null),
            json!(true),
            json!(false),
            json!(-12.5e-7),
            json!(u64::MAX),
            json!("a\"b\\c\n\u{1}é"),
            json!([]),
            json!({}),
            json!([1, "two", {"three": [3, null], "q\"": {}}]),
        ] {
            let m = measure(&v, usize::MAX, usize::MAX).expect("no limit");
            assert_eq!(m.bytes, v.to_string().len(), "{v}");
        }
        assert_eq!(
            measure(&json!([[1], {"a": [2]}]), 100, 100).map(|m| m.depth),
            Ok(3)
        );
    }

    #[test]
    fn limits_stop_the_walk_early() {
        let big = json!(["x".repeat(100), "y".repeat(100)]);
        assert!(matches!(
            measure(&big, 150, 10),
            Err(Exceeded::Bytes { limit: 150, .. })
        ));
        assert_eq!(
            measure(&json!([[[]]]), 1000, 2),
            Err(Exceeded::Depth { limit: 2 })
        );
    }
}
