//! The fields of a block's input schema as `weft connector describe` prints
//! them for people: type, required or not, allowed values of an enum, the
//! default, and the whole doc comment (schemars puts a field's `///` text
//! in `description`, an enum's values in `enum`/`oneOf` behind a `$ref`).

use serde_json::Value;

/// One input field, resolved through `$ref`s and `Option` wrappers.
#[derive(Debug, PartialEq)]
pub struct Field {
    pub name: String,
    pub ty: String,
    pub required: bool,
    /// The allowed values of an enum field, as JSON text.
    pub one_of: Vec<String>,
    /// The default value, as JSON text.
    pub default: Option<String>,
    pub doc: String,
}

/// The fields of an object schema, in the schema's order.
pub fn fields(schema: &Value) -> Vec<Field> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = schema["properties"].as_object() else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(name, prop)| {
            let target = resolve(schema, prop);
            // The field's own doc wins over its type's doc.
            let doc = prop["description"]
                .as_str()
                .or_else(|| target["description"].as_str())
                .unwrap_or_default()
                .trim()
                .to_string();
            let default = prop
                .get("default")
                .or_else(|| target.get("default"))
                // `Option` fields default to null: nothing worth saying.
                .filter(|d| !d.is_null())
                .map(Value::to_string);
            Field {
                name: name.clone(),
                ty: type_name(schema, target),
                required: required.contains(&name.as_str()),
                one_of: enum_values(schema, target),
                default,
                doc,
            }
        })
        .collect()
}

/// Follow a local `$ref` (`#/$defs/X`), and unwrap `anyOf`/`oneOf` of one
/// schema and `null` (how schemars writes `Option<T>`).
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    let mut current = schema;
    for _ in 0..8 {
        if let Some(r) = current["$ref"].as_str() {
            let Some(name) = r
                .strip_prefix("#/$defs/")
                .or_else(|| r.strip_prefix("#/definitions/"))
            else {
                return current;
            };
            let defs = if root["$defs"].is_object() {
                &root["$defs"]
            } else {
                &root["definitions"]
            };
            match defs.get(name) {
                Some(d) => current = d,
                None => return current,
            }
            continue;
        }
        let alternatives = current["anyOf"]
            .as_array()
            .or_else(|| current["oneOf"].as_array());
        if let Some(alts) = alternatives {
            let non_null: Vec<&Value> = alts.iter().filter(|a| a["type"] != "null").collect();
            if non_null.len() == 1 && alts.len() == 2 {
                current = non_null[0];
                continue;
            }
        }
        return current;
    }
    current
}

fn type_name(root: &Value, schema: &Value) -> String {
    match &schema["type"] {
        Value::String(t) if t == "array" => {
            let item = resolve(root, &schema["items"]);
            match &item["type"] {
                Value::String(i) => format!("{i}[]"),
                _ => "array".into(),
            }
        }
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join("|"),
        _ if !enum_values(root, schema).is_empty() => "enum".into(),
        _ => "any".into(),
    }
}

/// `enum: [...]`, or `oneOf` of `const`/one-value `enum` schemas (how
/// schemars writes an enum whose variants have doc comments).
fn enum_values(root: &Value, schema: &Value) -> Vec<String> {
    if let Some(values) = schema["enum"].as_array() {
        return values.iter().map(Value::to_string).collect();
    }
    let alternatives = schema["oneOf"]
        .as_array()
        .or_else(|| schema["anyOf"].as_array());
    let Some(alts) = alternatives else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for alt in alts {
        let alt = resolve(root, alt);
        if let Some(c) = alt.get("const") {
            out.push(c.to_string());
        } else if let Some(values) = alt["enum"].as_array() {
            out.extend(values.iter().map(Value::to_string));
        } else {
            // Not a plain enum (e.g. a tagged union): say nothing rather
            // than a partial list.
            return Vec::new();
        }
    }
    out
}

/// Print the fields, indented under their block.
pub fn print_fields(schema: &Value) {
    const PAD: &str = "                                             ";
    for f in fields(schema) {
        let req = if f.required { "required" } else { "optional" };
        let mut doc_lines = f.doc.lines();
        println!(
            "      {:<22} {:<10} {req:<9} {}",
            f.name,
            f.ty,
            doc_lines.next().unwrap_or_default()
        );
        for line in doc_lines {
            println!("{PAD}{}", line.trim_end());
        }
        let mut facts = Vec::new();
        if !f.one_of.is_empty() {
            facts.push(format!("one of: {}", f.one_of.join(", ")));
        }
        if let Some(d) = &f.default {
            facts.push(format!("default: {d}"));
        }
        if !facts.is_empty() {
            println!("{PAD}{}", facts.join(" · "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn enums_behind_refs_and_options_defaults_and_long_docs() {
        let schema = json!({
            "type": "object",
            "required": ["title"],
            "properties": {
                "title": {"type": "string", "description": "What needs doing.\nKeep it short."},
                "status": {"anyOf": [{"$ref": "#/$defs/Status"}, {"type": "null"}],
                           "description": "Only this status."},
                "order": {"$ref": "#/$defs/Order", "default": "asc"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "limit": {"type": ["integer", "null"], "default": 50}
            },
            "$defs": {
                "Status": {"type": "string", "enum": ["open", "done"]},
                "Order": {"oneOf": [
                    {"const": "asc", "description": "Oldest first."},
                    {"type": "string", "enum": ["desc"]}
                ]}
            }
        });
        let f = fields(&schema);
        let by = |n: &str| f.iter().find(|x| x.name == n).expect("field");
        assert_eq!(by("title").doc, "What needs doing.\nKeep it short.");
        assert!(by("title").required);
        assert_eq!(by("status").ty, "string");
        assert_eq!(by("status").one_of, ["\"open\"", "\"done\""]);
        assert_eq!(by("status").doc, "Only this status.");
        assert_eq!(by("order").ty, "enum");
        assert_eq!(by("order").one_of, ["\"asc\"", "\"desc\""]);
        assert_eq!(by("order").default.as_deref(), Some("\"asc\""));
        assert_eq!(by("tags").ty, "string[]");
        assert_eq!(by("limit").ty, "integer");
        assert_eq!(by("limit").default.as_deref(), Some("50"));
    }
}
