//! `json`: Weft's standard blocks for JSON — parse, stringify, pick a value
//! by path and set a value at a path.
//!
//! Paths are dot/index paths (`customer.address.city`, `lines[0].sku`,
//! `lines.0.sku`); the empty path `""` is the whole value.

use weft_conditions::{PathSegment, get_path, split_path};
use weft_sdk::prelude::*;
use weft_sdk::serde_json::Map;

/// A value out.
#[derive(Serialize, JsonSchema)]
pub struct ValueOutput {
    /// The resulting value.
    pub value: Value,
}

// ----------------------------------------------------------------- parse

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParseInput {
    /// JSON text, e.g. `{"id": 7, "tags": ["a"]}`.
    pub text: String,
}

fn parse(_ctx: &Context, input: ParseInput) -> Result<ValueOutput, BlockError> {
    let value = serde_json::from_str(&input.text).map_err(|e| {
        BlockError::invalid_input(format!("`text` is not valid JSON: {e}")).with_details(json!({
            "path": "text",
            "line": e.line(),
            "column": e.column(),
        }))
    })?;
    Ok(ValueOutput { value })
}

// ------------------------------------------------------------- stringify

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StringifyInput {
    /// Any JSON value.
    pub value: Value,
    /// Indent the text over several lines (two spaces per level) instead
    /// of writing it compactly on one line.
    #[serde(default)]
    pub pretty: bool,
}

#[derive(Serialize, JsonSchema)]
pub struct StringifyOutput {
    /// The value as JSON text.
    pub text: String,
}

fn stringify(_ctx: &Context, input: StringifyInput) -> Result<StringifyOutput, BlockError> {
    let text = if input.pretty {
        serde_json::to_string_pretty(&input.value)?
    } else {
        serde_json::to_string(&input.value)?
    };
    Ok(StringifyOutput { text })
}

// ------------------------------------------------------------------ pick

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PickInput {
    /// The value to look into.
    pub value: Value,
    /// Where to look, e.g. `customer.address.city` or `lines[0].sku`;
    /// empty for the whole value.
    pub path: String,
}

#[derive(Serialize, JsonSchema)]
pub struct PickOutput {
    /// Whether the path leads to a value (a null found there counts).
    pub found: bool,
    /// The value at the path, or null when there is none.
    pub value: Value,
}

fn pick(_ctx: &Context, input: PickInput) -> Result<PickOutput, BlockError> {
    Ok(match get_path(&input.value, &input.path) {
        Some(v) => PickOutput {
            found: true,
            value: v.clone(),
        },
        None => PickOutput {
            found: false,
            value: Value::Null,
        },
    })
}

// -------------------------------------------------------------- set-path

/// How far past the end of a list `set-path` may extend it.
const MAX_EXTEND: usize = 100_000;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPathInput {
    /// The value to change (usually an object).
    pub value: Value,
    /// Where to put `new_value`, e.g. `customer.address.city` or
    /// `lines[2].sku`; empty to replace the whole value. Missing objects
    /// along the way are created (a list where the next step is `[n]`), and
    /// lists are extended with nulls up to an index (at most 100000 past
    /// their end). A null along the way is replaced; any other non-object,
    /// non-list value along the way is an error.
    pub path: String,
    /// The value to set.
    pub new_value: Value,
}

fn set_path(_ctx: &Context, input: SetPathInput) -> Result<ValueOutput, BlockError> {
    let SetPathInput {
        mut value,
        path,
        new_value,
    } = input;
    let segments: Vec<PathSegment<'_>> = split_path(&path).collect();
    let mut current = &mut value;
    for (i, segment) in segments.iter().enumerate() {
        let next_is_index = matches!(segments.get(i + 1), Some(PathSegment::Index(_)));
        if current.is_null() {
            *current = match segment {
                PathSegment::Index(_) => Value::Array(Vec::new()),
                PathSegment::Key(_) => Value::Object(Map::new()),
            };
        }
        let fresh = || {
            if next_is_index {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            }
        };
        let here = describe_prefix(&segments[..i]);
        current = match (current, *segment) {
            (Value::Object(map), PathSegment::Key(k)) => map.entry(k).or_insert_with(fresh),
            (Value::Object(map), PathSegment::Index(n)) => {
                map.entry(n.to_string()).or_insert_with(fresh)
            }
            (Value::Array(items), seg) => {
                let n = match seg {
                    PathSegment::Index(n) => n,
                    PathSegment::Key(k) => k.parse::<usize>().map_err(|_| {
                        invalid_path(
                            &path,
                            format!("{here} is a list, so `{k}` must be an index such as 0"),
                        )
                    })?,
                };
                if n >= items.len() {
                    if n - items.len() >= MAX_EXTEND {
                        return Err(invalid_path(
                            &path,
                            format!(
                                "index {n} is more than {MAX_EXTEND} past the end of {here} ({} items)",
                                items.len()
                            ),
                        ));
                    }
                    items.resize(n, Value::Null);
                    items.push(fresh());
                }
                &mut items[n]
            }
            (other, _) => {
                return Err(invalid_path(
                    &path,
                    format!(
                        "{here} is {}, not an object or a list",
                        match other {
                            Value::Bool(_) => "true/false",
                            Value::Number(_) => "a number",
                            _ => "text",
                        }
                    ),
                ));
            }
        };
    }
    *current = new_value;
    Ok(ValueOutput { value })
}

/// `the value` or `` `a.b[0]` `` for the part of a path walked so far.
fn describe_prefix(segments: &[PathSegment<'_>]) -> String {
    if segments.is_empty() {
        return "the value".to_string();
    }
    let mut out = String::new();
    for segment in segments {
        match segment {
            PathSegment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            PathSegment::Index(n) => out.push_str(&format!("[{n}]")),
        }
    }
    format!("`{out}`")
}

fn invalid_path(path: &str, problem: String) -> BlockError {
    BlockError::invalid_input(format!("`path` {path:?}: {problem}"))
        .with_details(json!({ "path": "path" }))
}

weft_sdk::connector! {
    id: "json",
    name: "JSON",
    description: "Parse and write JSON text, and read or set values by path.",
    hosts: [],
    auth: [Auth::None],
    blocks: [
        parse => ("parse", "Parse JSON", "Turns JSON text into a value."),
        stringify => ("stringify", "Stringify JSON", "Turns a value into JSON text."),
        pick => ("pick", "Pick value", "Reads the value at a path."),
        set_path => ("set-path", "Set value at path", "Sets the value at a path, creating objects and list slots along the way."),
    ],
}
