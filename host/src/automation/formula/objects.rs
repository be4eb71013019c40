//! Object formulas. Keys come out in the object's own order.
//!
//! Bounds: `merge` computes its result's exact size before copying; `keys`, `values`, `pick` and `omit` return parts of
//! their argument.

use super::{Formula, Limits, excerpt_json, json_size, text};
use crate::automation::bounds::string_len;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use weft_conditions::get_path;

pub const FORMULAS: &[Formula] = &[
    Formula {
        name: "keys",
        aliases: &[],
        min: 1,
        max: 1,
        args: "object",
        description: "The object's keys, as a list of texts.",
        examples: &[("[{\"a\": 1, \"b\": 2}]", "[\"a\", \"b\"]")],
        missing_is_null: false,
        eval: |a, _| {
            Ok(Value::Array(
                object(&a[0])?.keys().cloned().map(Value::String).collect(),
            ))
        },
    },
    Formula {
        name: "values",
        aliases: &[],
        min: 1,
        max: 1,
        args: "object",
        description: "The object's values, as a list.",
        examples: &[("[{\"a\": 1, \"b\": [2]}]", "[1, [2]]")],
        missing_is_null: false,
        eval: |a, _| Ok(Value::Array(object(&a[0])?.values().cloned().collect())),
    },
    Formula {
        name: "merge",
        aliases: &[],
        min: 1,
        max: 16,
        args: "object, object, …",
        description: "One object with every key of the arguments; a later argument's value wins (shallow: nested objects are replaced, not merged). Null arguments are skipped.",
        examples: &[(
            "[{\"a\": 1, \"b\": 1}, {\"b\": 2}, null]",
            "{\"a\": 1, \"b\": 2}",
        )],
        missing_is_null: false,
        eval: merge,
    },
    Formula {
        name: "pick",
        aliases: &[],
        min: 2,
        max: 16,
        args: "object, key, … | object, list of keys",
        description: "The object with only the given keys (those it has).",
        examples: &[
            (
                "[{\"a\": 1, \"b\": 2, \"c\": 3}, \"a\", \"c\"]",
                "{\"a\": 1, \"c\": 3}",
            ),
            ("[{\"a\": 1, \"b\": 2}, [\"b\", \"z\"]]", "{\"b\": 2}"),
        ],
        missing_is_null: false,
        eval: |a, _| select(a, true),
    },
    Formula {
        name: "omit",
        aliases: &[],
        min: 2,
        max: 16,
        args: "object, key, … | object, list of keys",
        description: "The object without the given keys.",
        examples: &[(
            "[{\"a\": 1, \"b\": 2, \"c\": 3}, \"b\"]",
            "{\"a\": 1, \"c\": 3}",
        )],
        missing_is_null: false,
        eval: |a, _| select(a, false),
    },
    Formula {
        name: "get",
        aliases: &[],
        min: 2,
        max: 3,
        args: "value, path, default?",
        description: "The value at `path` (`a.b[0]`) inside a value, or `default` (null) when there is none: for paths that are themselves data.",
        examples: &[
            ("[{\"a\": {\"b\": [5, 6]}}, \"a.b[1]\"]", "6"),
            ("[{\"a\": 1}, \"x.y\", \"none\"]", "\"none\""),
        ],
        missing_is_null: false,
        eval: |a, _| {
            Ok(get_path(&a[0], &text(&a[1]))
                .or(a.get(2))
                .cloned()
                .unwrap_or(Value::Null))
        },
    },
];

fn object(v: &Value) -> Result<&Map<String, Value>, String> {
    v.as_object()
        .ok_or_else(|| format!("the argument must be an object, got {}", excerpt_json(v)))
}

fn merge(args: &[Value], limits: &Limits) -> Result<Value, String> {
    // Which value each key ends with, borrowed: the result's exact size
    // is known before anything is copied.
    let mut last: Vec<(&String, &Value)> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for (i, a) in args.iter().enumerate() {
        match a {
            Value::Null => {}
            Value::Object(m) => {
                for (k, v) in m {
                    match at.get(k.as_str()) {
                        Some(&slot) => last[slot] = (k, v),
                        None => {
                            at.insert(k, last.len());
                            last.push((k, v));
                        }
                    }
                }
            }
            other => {
                return Err(format!(
                    "argument {} must be an object, got {}",
                    i + 1,
                    excerpt_json(other)
                ));
            }
        }
    }
    let mut size = 2 + last.len().saturating_sub(1);
    for (k, v) in &last {
        size = size.saturating_add(string_len(k) + 1);
        limits.allow(size)?;
        size = size.saturating_add(json_size(v, limits)?);
        limits.allow(size)?;
    }
    Ok(Value::Object(
        last.into_iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    ))
}

fn select(args: &[Value], keep: bool) -> Result<Value, String> {
    let obj = object(&args[0])?;
    let names: HashSet<String> = match &args[1..] {
        [Value::Array(list)] => list.iter().map(text).collect(),
        keys => keys.iter().map(text).collect(),
    };
    Ok(Value::Object(
        obj.iter()
            .filter(|(k, _)| names.contains(k.as_str()) == keep)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    ))
}
