//! What a reference into a connector block's output may name, read from
//! the block's declared output schema: `{$.Sum.reslt}` against a schema
//! that lists `result` and allows nothing else is a validation error naming
//! the valid names; against one that lists names but allows others, a
//! warning; where the schema says nothing (`body` of an HTTP response is
//! any JSON), nothing to check.

use serde_json::Value;
use weft_conditions::{PathSegment, split_path};

/// How far a path got through a schema.
#[derive(Debug, PartialEq)]
pub(super) enum PathCheck {
    /// The schema declares every step, or stops saying what is inside.
    Fits,
    /// A key the schema does not list.
    Unknown {
        /// The path up to and including the unknown key (`body.reslt`).
        at: String,
        /// The names the schema lists there, sorted.
        known: Vec<String>,
        /// The schema allows no other names: the reference can never
        /// resolve.
        closed: bool,
    },
}

/// Steps through `$ref`s at most this many times per path, so a schema
/// whose definitions refer to each other cannot loop.
const MAX_REFS: usize = 64;

/// Check `path` (`result`, `items[0].name`) against `schema`, the block's
/// whole output schema (definitions under `$defs` or `definitions`).
pub(super) fn check_path(schema: &Value, path: &str) -> PathCheck {
    let mut node = schema;
    let mut walked = String::new();
    let mut refs = 0;
    for segment in split_path(path) {
        let Some(resolved) = resolve(schema, node, &mut refs) else {
            return PathCheck::Fits;
        };
        node = resolved;
        match segment {
            PathSegment::Index(i) => {
                walked.push_str(&format!("[{i}]"));
                match node.get("items") {
                    Some(items) if items.is_object() => node = items,
                    _ => return PathCheck::Fits,
                }
            }
            PathSegment::Key(key) => {
                if !walked.is_empty() {
                    walked.push('.');
                }
                walked.push_str(key);
                let Some(properties) = node.get("properties").and_then(Value::as_object) else {
                    return PathCheck::Fits;
                };
                match properties.get(key) {
                    Some(inner) => node = inner,
                    None => {
                        let mut known: Vec<String> = properties.keys().cloned().collect();
                        known.sort();
                        return PathCheck::Unknown {
                            at: walked,
                            known,
                            closed: node.get("additionalProperties") == Some(&Value::Bool(false)),
                        };
                    }
                }
            }
        }
    }
    PathCheck::Fits
}

/// The schema `node` stands for: `$ref`s followed, a single `allOf`
/// unwrapped, an optional value's non-null alternative taken. `None` when
/// it cannot tell (several real alternatives, a reference it cannot
/// follow).
fn resolve<'s>(root: &'s Value, mut node: &'s Value, refs: &mut usize) -> Option<&'s Value> {
    loop {
        if let Some(target) = node.get("$ref").and_then(Value::as_str) {
            *refs += 1;
            if *refs > MAX_REFS {
                return None;
            }
            node = root.pointer(target.strip_prefix('#')?)?;
            continue;
        }
        let alternatives = ["allOf", "anyOf", "oneOf"]
            .iter()
            .find_map(|k| node.get(*k).and_then(Value::as_array));
        if let Some(alternatives) = alternatives {
            let mut real = alternatives
                .iter()
                .filter(|a| a.get("type") != Some(&Value::String("null".into())));
            match (real.next(), real.next()) {
                (Some(only), None) => {
                    node = only;
                    continue;
                }
                _ => return None,
            }
        }
        return Some(node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn closed() -> Value {
        json!({
            "type": "object",
            "properties": {
                "result": {"type": "number"},
                "rows": {"type": "array", "items": {"$ref": "#/$defs/Row"}},
                "maybe": {"anyOf": [{"$ref": "#/$defs/Row"}, {"type": "null"}]},
                "body": true
            },
            "additionalProperties": false,
            "$defs": {"Row": {"type": "object", "properties": {"id": {}},
                              "additionalProperties": false}}
        })
    }

    #[test]
    fn declared_paths_fit_and_unknown_keys_name_the_valid_ones() {
        let s = closed();
        for fits in [
            "result",
            "rows",
            "rows[3].id",
            "maybe.id",
            "body.anything.at[0]",
            "",
        ] {
            assert_eq!(check_path(&s, fits), PathCheck::Fits, "{fits}");
        }
        assert_eq!(
            check_path(&s, "reslt"),
            PathCheck::Unknown {
                at: "reslt".into(),
                known: vec![
                    "body".into(),
                    "maybe".into(),
                    "result".into(),
                    "rows".into()
                ],
                closed: true
            }
        );
        assert_eq!(
            check_path(&s, "rows[0].nme"),
            PathCheck::Unknown {
                at: "rows[0].nme".into(),
                known: vec!["id".into()],
                closed: true
            }
        );
    }

    #[test]
    fn open_objects_are_not_closed_and_loops_of_refs_stop() {
        let open = json!({"type": "object", "properties": {"a": {}}});
        assert!(matches!(
            check_path(&open, "b"),
            PathCheck::Unknown { closed: false, .. }
        ));
        let looping = json!({"$ref": "#/$defs/A", "$defs": {"A": {"$ref": "#/$defs/A"}}});
        assert_eq!(check_path(&looping, "x"), PathCheck::Fits);
    }
}
