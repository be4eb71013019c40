//! Depth limits for everything in an automation that can nest: formulas
//! inside formulas, blocks inside conditions and loops, JSON inside JSON.
//!
//! The parser, the validator, template evaluation and the walker all
//! recurse on these structures, and Rust's native stack is small (2 MiB on
//! a tokio worker). Validation therefore refuses anything deeper than these
//! limits — far below any depth that could hurt the process — and every
//! recursive path checks the depth *before* it recurses, so a document
//! that is deeper than allowed is an error naming its block and field, never
//! a crash of the server.

use serde_json::Value;

/// Most formulas nested inside each other by default: `{json: {json: …}}`.
pub const DEFAULT_MAX_FORMULA_DEPTH: usize = 32;
/// Most conditions and loops nested inside each other along one path.
pub const DEFAULT_MAX_BLOCK_DEPTH: usize = 32;
/// Most levels of arrays and objects inside each other in a literal input,
/// a variable's initial value, or a value a template produces at run time.
pub const DEFAULT_MAX_JSON_DEPTH: usize = 64;

/// The depth limits validation and evaluation apply (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Nesting {
    /// Formulas inside formulas (`max_formula_depth`).
    pub max_formula_depth: usize,
    /// Conditions and loops inside each other along a path (`max_block_depth`).
    pub max_block_depth: usize,
    /// Arrays and objects inside each other (`max_json_depth`).
    pub max_json_depth: usize,
}

impl Default for Nesting {
    fn default() -> Self {
        Nesting {
            max_formula_depth: DEFAULT_MAX_FORMULA_DEPTH,
            max_block_depth: DEFAULT_MAX_BLOCK_DEPTH,
            max_json_depth: DEFAULT_MAX_JSON_DEPTH,
        }
    }
}

/// How deep `value` nests (a scalar is 0, `[]` is 1, `[[1]]` is 2), or
/// `None` as soon as it is found to be deeper than `max`. Iterative: the
/// value may be deeper than the native stack could recurse.
pub fn json_depth_within(value: &Value, max: usize) -> Option<usize> {
    super::bounds::measure(value, usize::MAX, max)
        .ok()
        .map(|m| m.depth)
}

/// The message for a value nested deeper than `max` levels.
pub fn json_too_deep(max: usize) -> String {
    format!("arrays and objects are nested more than {max} levels deep (the limit, max_json_depth)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn depth_is_counted_without_recursion() {
        assert_eq!(json_depth_within(&json!(1), 0), Some(0));
        assert_eq!(json_depth_within(&json!([]), 1), Some(1));
        // object > array > object > array: four levels.
        assert_eq!(json_depth_within(&json!({"a": [1, {"b": []}]}), 4), Some(4));
        assert_eq!(json_depth_within(&json!({"a": [1, {"b": []}]}), 3), None);
        // Far deeper than a recursive walk could go on a small stack.
        let mut deep = json!(0);
        for _ in 0..100_000 {
            deep = Value::Array(vec![deep]);
        }
        assert_eq!(json_depth_within(&deep, 64), None);
        // serde_json drops values recursively: take it apart by hand.
        while let Value::Array(mut items) = deep {
            deep = items.pop().unwrap_or(Value::Null);
        }
    }
}
