//! List formulas. A `field` argument is a path into each item (`price`,
//! `customer.name`, `tags[0]`), as in references; an item without it
//! counts as null (skipped by the aggregates, like a blank cell).
//!
//! Bounds: `chunk` adds brackets per chunk and is checked before it is
//! built; the others return at most what they were given (`flatten`
//! removes brackets, `unique` and `pluck` keep parts of items), and the
//! caller measures every result. `unique` and `sort` are O(n log n) or
//! better, never quadratic, so a list at the size cap stays fast.

use super::math::{self, Num};
use super::{Formula, Limits, integer, json_size, list, text};
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::HashSet;
use weft_conditions::{Operator, canonical_text as canonical, compare, get_path};

pub const FORMULAS: &[Formula] = &[
    Formula {
        name: "count",
        aliases: &[],
        min: 1,
        max: 1,
        args: "list | object | text",
        description: "Items in a list, keys in an object, characters in a text; 0 for null, 1 for anything else.",
        examples: &[("[[\"a\", \"b\"]]", "2"), ("[null]", "0")],
        missing_is_null: false,
        eval: count,
    },
    Formula {
        name: "pluck",
        aliases: &[],
        min: 2,
        max: 2,
        args: "list, field",
        description: "Each item's `field` (null where an item has none).",
        examples: &[(
            "[[{\"id\": 1, \"user\": {\"name\": \"ada\"}}, {\"id\": 2}], \"user.name\"]",
            "[\"ada\", null]",
        )],
        missing_is_null: false,
        eval: pluck,
    },
    Formula {
        name: "sum",
        aliases: &[],
        min: 1,
        max: 2,
        args: "list, field?",
        description: "The decimal sum of the items (or of each item's `field`); 0 for an empty list.",
        examples: &[
            ("[[{\"p\": 0.1}, {\"p\": 0.2}, {\"q\": 5}], \"p\"]", "0.3"),
            ("[[1, 2, 3.5]]", "6.5"),
        ],
        missing_is_null: false,
        eval: sum,
    },
    Formula {
        name: "avg",
        aliases: &["average"],
        min: 1,
        max: 2,
        args: "list, field?",
        description: "The mean of the items (or of each item's `field`); null for an empty list.",
        examples: &[
            ("[[{\"p\": 1}, {\"p\": 2}], \"p\"]", "1.5"),
            ("[[]]", "null"),
        ],
        missing_is_null: false,
        eval: avg,
    },
    Formula {
        name: "unique",
        aliases: &["distinct"],
        min: 1,
        max: 2,
        args: "list, field?",
        description: "The items without repeats (by whole item, or by `field`), first one kept, order unchanged. Objects with the same members in another order are repeats.",
        examples: &[
            ("[[\"b\", \"a\", \"b\", 1, 1]]", "[\"b\", \"a\", 1]"),
            (
                "[[{\"a\": 1, \"b\": 2}, {\"b\": 2, \"a\": 1}]]",
                "[{\"a\": 1, \"b\": 2}]",
            ),
            (
                "[[{\"k\": 1, \"v\": \"x\"}, {\"k\": 1, \"v\": \"y\"}], \"k\"]",
                "[{\"k\": 1, \"v\": \"x\"}]",
            ),
        ],
        missing_is_null: false,
        eval: unique,
    },
    Formula {
        name: "sort",
        aliases: &["sortby"],
        min: 1,
        max: 3,
        args: "list, field?, order?",
        description: "The items sorted by value (or by `field`): numbers by size, texts by code point, `order` `asc` (default) or `desc`; equal items keep their order.",
        examples: &[
            ("[[10, 9, 100]]", "[9, 10, 100]"),
            (
                "[[{\"n\": \"b\", \"p\": 2}, {\"n\": \"a\", \"p\": 3}], \"p\", \"desc\"]",
                "[{\"n\": \"a\", \"p\": 3}, {\"n\": \"b\", \"p\": 2}]",
            ),
        ],
        missing_is_null: false,
        eval: sort,
    },
    Formula {
        name: "first",
        aliases: &[],
        min: 1,
        max: 1,
        args: "list",
        description: "The first item, or null for an empty list.",
        examples: &[("[[\"a\", \"b\"]]", "\"a\"")],
        missing_is_null: false,
        eval: |a, _| {
            Ok(list(&a[0], "the argument")?
                .first()
                .cloned()
                .unwrap_or(Value::Null))
        },
    },
    Formula {
        name: "last",
        aliases: &[],
        min: 1,
        max: 1,
        args: "list",
        description: "The last item, or null for an empty list.",
        examples: &[("[[\"a\", \"b\"]]", "\"b\"")],
        missing_is_null: false,
        eval: |a, _| {
            Ok(list(&a[0], "the argument")?
                .last()
                .cloned()
                .unwrap_or(Value::Null))
        },
    },
    Formula {
        name: "flatten",
        aliases: &[],
        min: 1,
        max: 2,
        args: "list, depth?",
        description: "Lists inside the list replaced by their items, `depth` levels down (1 by default).",
        examples: &[
            ("[[1, [2, [3]], []]]", "[1, 2, [3]]"),
            ("[[1, [2, [3]]], 5]", "[1, 2, 3]"),
        ],
        missing_is_null: false,
        eval: flatten,
    },
    Formula {
        name: "chunk",
        aliases: &[],
        min: 2,
        max: 2,
        args: "list, size",
        description: "The items in lists of `size` (the last one may be shorter).",
        examples: &[("[[1, 2, 3, 4, 5], 2]", "[[1, 2], [3, 4], [5]]")],
        missing_is_null: false,
        eval: chunk,
    },
    Formula {
        name: "indexof",
        aliases: &["index_of"],
        min: 2,
        max: 2,
        args: "list | text, value",
        description: "The position (0-based) of the first item equal to `value`, or of the text `value` in a text (in characters); -1 when absent.",
        examples: &[
            ("[[\"a\", \"b\"], \"b\"]", "1"),
            ("[\"héllo\", \"llo\"]", "2"),
            ("[[1], 2]", "-1"),
        ],
        missing_is_null: false,
        eval: index_of,
    },
    Formula {
        name: "contains",
        aliases: &["in_array"],
        min: 2,
        max: 2,
        args: "list | text | object, value",
        description: "Whether a list has an item equal to `value` (`\"2\"` equals `2`), a text contains it, or an object has it as a key.",
        examples: &[
            ("[[1, 2], \"2\"]", "true"),
            ("[\"invoice\", \"voice\"]", "true"),
            ("[{\"a\": 1}, \"b\"]", "false"),
        ],
        missing_is_null: false,
        eval: |a, _| Ok(Value::Bool(compare(&a[0], Operator::Contains, &a[1]))),
    },
];

fn count(args: &[Value], _: &Limits) -> Result<Value, String> {
    Ok(Value::from(match &args[0] {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        Value::String(s) => s.chars().count(),
        Value::Null => 0,
        _ => 1,
    }))
}

/// Each item's `field`, or the item itself without one.
fn key<'a>(item: &'a Value, field: Option<&str>) -> &'a Value {
    match field {
        Some(f) => get_path(item, f).unwrap_or(&Value::Null),
        None => item,
    }
}

fn pluck(args: &[Value], _: &Limits) -> Result<Value, String> {
    let field = text(&args[1]);
    Ok(Value::Array(
        list(&args[0], "the first argument")?
            .iter()
            .map(|item| key(item, Some(&field)).clone())
            .collect(),
    ))
}

fn list_args(args: &[Value]) -> Result<(), String> {
    list(&args[0], "the first argument").map(|_| ())
}

fn sum(args: &[Value], _: &Limits) -> Result<Value, String> {
    list_args(args)?;
    math::sum(args)?.value()
}

fn avg(args: &[Value], _: &Limits) -> Result<Value, String> {
    list_args(args)?;
    math::avg(args)?.map_or(Ok(Value::Null), Num::value)
}

fn unique(args: &[Value], _: &Limits) -> Result<Value, String> {
    let field = args.get(1).map(text);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for item in list(&args[0], "the first argument")? {
        // Canonical JSON text as the identity: equal values (objects with
        // the same members in any order) have equal text.
        if seen.insert(canonical(key(item, field.as_deref()))) {
            out.push(item.clone());
        }
    }
    Ok(Value::Array(out))
}

/// A total order over JSON values: null, booleans, numbers, texts, then
/// lists and objects by their JSON text.
fn order(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
        }
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(_), Value::Number(_)) => match (Num::read(a, "a"), Num::read(b, "b")) {
            (Ok(x), Ok(y)) => x.cmp(y),
            _ => Ordering::Equal,
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Array(_), Value::Array(_)) | (Value::Object(_), Value::Object(_)) => {
            canonical(a).cmp(&canonical(b))
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

fn sort(args: &[Value], _: &Limits) -> Result<Value, String> {
    let field = args.get(1).filter(|f| !f.is_null()).map(text);
    let desc = match args.get(2).map(|o| text(o).to_ascii_lowercase()) {
        None => false,
        Some(o) if o == "asc" || o.is_empty() => false,
        Some(o) if o == "desc" => true,
        Some(o) => return Err(format!("the order is \"asc\" or \"desc\", not {o:?}")),
    };
    let mut items = list(&args[0], "the first argument")?.to_vec();
    items.sort_by(|a, b| {
        let o = order(key(a, field.as_deref()), key(b, field.as_deref()));
        if desc { o.reverse() } else { o }
    });
    Ok(Value::Array(items))
}

fn flatten(args: &[Value], _: &Limits) -> Result<Value, String> {
    let depth = match args.get(1) {
        Some(d) => integer(d, "depth")?.max(0) as usize,
        None => 1,
    };
    let mut out = Vec::new();
    flatten_into(list(&args[0], "the first argument")?, depth, &mut out);
    Ok(Value::Array(out))
}

/// Recursion is bounded by the value's nesting, which the caller measured
/// against `max_json_depth`, whatever `depth` says.
fn flatten_into(items: &[Value], depth: usize, out: &mut Vec<Value>) {
    for item in items {
        match item {
            Value::Array(inner) if depth > 0 => flatten_into(inner, depth - 1, out),
            other => out.push(other.clone()),
        }
    }
}

fn chunk(args: &[Value], limits: &Limits) -> Result<Value, String> {
    let items = list(&args[0], "the first argument")?;
    let size = integer(&args[1], "the size")?;
    if size < 1 {
        return Err(format!("the size must be at least 1, got {size}"));
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    // Each chunk adds a pair of brackets to the list's JSON text.
    let chunks = items.len().div_ceil(size);
    limits.allow(json_size(&args[0], limits)?.saturating_add(2 * chunks))?;
    Ok(Value::Array(
        items
            .chunks(size)
            .map(|c| Value::Array(c.to_vec()))
            .collect(),
    ))
}

fn index_of(args: &[Value], _: &Limits) -> Result<Value, String> {
    let found = match &args[0] {
        Value::Array(items) => items
            .iter()
            .position(|i| compare(i, Operator::Eq, &args[1])),
        Value::String(s) => {
            let needle = text(&args[1]);
            s.find(needle.as_str()).map(|at| s[..at].chars().count())
        }
        other => {
            return Err(format!(
                "the first argument must be a list or a text, got {}",
                super::excerpt_json(other)
            ));
        }
    };
    Ok(found.map_or(Value::from(-1), Value::from))
}
