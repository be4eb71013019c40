//! Conditionals and type conversion.
//!
//! `if`, `default` and `coalesce` take a reference to a missing value as
//! `null` (see [`Formula::missing_is_null`]), so `{default: $.x.y, 0}`
//! works when `x` has no `y`; every other formula fails on a missing
//! value with the path that was missing.

use super::{Formula, Limits, excerpt_json, json_number, json_size, text};
use serde_json::Value;
use weft_conditions::{as_number, is_empty};

pub const FORMULAS: &[Formula] = &[
    Formula {
        name: "if",
        aliases: &[],
        min: 2,
        max: 3,
        args: "condition, then, else?",
        description: "`then` when the condition is true, else `else` (null by default). False are: false, null, 0, \"\", \"0\", \"false\", [] and {}.",
        examples: &[
            ("[true, \"yes\", \"no\"]", "\"yes\""),
            ("[\"false\", 1, 2]", "2"),
            ("[0, 1]", "null"),
        ],
        missing_is_null: true,
        eval: |a, _| {
            Ok(if truthy(&a[0]) {
                a[1].clone()
            } else {
                a.get(2).cloned().unwrap_or(Value::Null)
            })
        },
    },
    Formula {
        name: "coalesce",
        aliases: &[],
        min: 1,
        max: 16,
        args: "value, value, …",
        description: "The first value that is not null (or missing).",
        examples: &[("[null, \"\", \"x\"]", "\"\"")],
        missing_is_null: true,
        eval: |a, _| {
            Ok(a.iter()
                .find(|v| !v.is_null())
                .cloned()
                .unwrap_or(Value::Null))
        },
    },
    Formula {
        name: "default",
        aliases: &["ifempty"],
        min: 2,
        max: 16,
        args: "value, value, …",
        description: "The first value that is not empty (null, missing, \"\", [] or {}).",
        examples: &[("[\"\", [], 0]", "0"), ("[null, \"n/a\"]", "\"n/a\"")],
        missing_is_null: true,
        eval: |a, _| {
            Ok(a.iter()
                .find(|v| !is_empty(v))
                .cloned()
                .unwrap_or(Value::Null))
        },
    },
    Formula {
        name: "equals",
        aliases: &[],
        min: 2,
        max: 2,
        args: "value, value",
        description: "Whether the values are equal, as the `=` condition compares (`\"2\"` equals `2`).",
        examples: &[("[\"2\", 2]", "true"), ("[\"a\", \"A\"]", "false")],
        missing_is_null: false,
        eval: |a, _| {
            Ok(Value::Bool(weft_conditions::compare(
                &a[0],
                weft_conditions::Operator::Eq,
                &a[1],
            )))
        },
    },
    Formula {
        name: "not",
        aliases: &[],
        min: 1,
        max: 1,
        args: "condition",
        description: "True when the condition is false (see `if`), false otherwise.",
        examples: &[("[\"\"]", "true")],
        missing_is_null: false,
        eval: |a, _| Ok(Value::Bool(!truthy(&a[0]))),
    },
    Formula {
        name: "text",
        aliases: &["tostring"],
        min: 1,
        max: 1,
        args: "value",
        description: "The value as text: texts unchanged, null as \"\", anything else as JSON.",
        examples: &[
            ("[12.5]", "\"12.5\""),
            ("[[1, \"a\"]]", "\"[1,\\\"a\\\"]\""),
        ],
        missing_is_null: false,
        eval: to_text,
    },
    Formula {
        name: "number",
        aliases: &["tonumber"],
        min: 1,
        max: 1,
        args: "value",
        description: "A number or numeric text as a number; anything else is an error.",
        examples: &[("[\" 2.50 \"]", "2.5"), ("[\"14\"]", "14")],
        missing_is_null: false,
        eval: to_number,
    },
    Formula {
        name: "boolean",
        aliases: &["tobool"],
        min: 1,
        max: 1,
        args: "value",
        description: "true/false, 1/0 and the texts \"true\", \"false\", \"yes\", \"no\", \"1\", \"0\" (any case) as a boolean; anything else is an error.",
        examples: &[("[\"Yes\"]", "true"), ("[0]", "false")],
        missing_is_null: false,
        eval: to_bool,
    },
    Formula {
        name: "json",
        aliases: &["jsonencode", "json_encode"],
        min: 1,
        max: 1,
        args: "value",
        description: "The value as JSON text.",
        examples: &[("[{\"a\": [1, \"x\"]}]", "\"{\\\"a\\\":[1,\\\"x\\\"]}\"")],
        missing_is_null: false,
        eval: to_json,
    },
    Formula {
        name: "jsonparse",
        aliases: &["jsondecode", "json_decode", "parsejson"],
        min: 1,
        max: 1,
        args: "text",
        description: "JSON text read as a value; an error naming the position when it is not JSON.",
        examples: &[("[\"{\\\"a\\\": [1, true]}\"]", "{\"a\": [1, true]}")],
        missing_is_null: false,
        eval: parse_json,
    },
    Formula {
        name: "type",
        aliases: &["typeof"],
        min: 1,
        max: 1,
        args: "value",
        description: "The value's type: \"null\", \"boolean\", \"number\", \"text\", \"list\" or \"object\".",
        examples: &[("[[1]]", "\"list\"")],
        missing_is_null: true,
        eval: |a, _| {
            Ok(Value::from(match &a[0] {
                Value::Null => "null",
                Value::Bool(_) => "boolean",
                Value::Number(_) => "number",
                Value::String(_) => "text",
                Value::Array(_) => "list",
                Value::Object(_) => "object",
            }))
        },
    },
];

/// What `if` and `not` take as false: false, null, 0, "", "0", "false"
/// (any case), [] and {}; everything else is true.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::String(s) => {
            let s = s.trim();
            !(s.is_empty() || s == "0" || s.eq_ignore_ascii_case("false"))
        }
        other => !is_empty(other),
    }
}

fn to_text(args: &[Value], limits: &Limits) -> Result<Value, String> {
    if !args[0].is_string() {
        // Written as JSON inside a JSON string: at least its own size.
        limits.allow(json_size(&args[0], limits)?.saturating_add(2))?;
    }
    Ok(Value::String(text(&args[0])))
}

fn to_number(args: &[Value], _: &Limits) -> Result<Value, String> {
    let a = &args[0];
    // Integers as written (no precision lost past 2^53).
    if let Value::Number(n) = a
        && !n.is_f64()
    {
        return Ok(a.clone());
    }
    as_number(a)
        .map(json_number)
        .ok_or_else(|| format!("{} is not a number", excerpt_json(a)))
}

fn to_bool(args: &[Value], _: &Limits) -> Result<Value, String> {
    let a = &args[0];
    let b = match a {
        Value::Bool(b) => Some(*b),
        Value::Number(n) if n.as_f64() == Some(1.0) => Some(true),
        Value::Number(n) if n.as_f64() == Some(0.0) => Some(false),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    };
    b.map(Value::Bool)
        .ok_or_else(|| format!("{} is not a boolean", excerpt_json(a)))
}

fn to_json(args: &[Value], limits: &Limits) -> Result<Value, String> {
    // Quoting can double the text; the JSON text itself is checked here,
    // the quoted result by the caller.
    json_size(&args[0], limits)?;
    Ok(Value::String(args[0].to_string()))
}

fn parse_json(args: &[Value], _: &Limits) -> Result<Value, String> {
    let s = text(&args[0]);
    serde_json::from_str(&s).map_err(|e| format!("the text is not JSON: {e}"))
}
