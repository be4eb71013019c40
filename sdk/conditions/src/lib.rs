//! # weft-conditions — the condition operators of Weft
//!
//! One implementation of the comparison operators users know from Qlik
//! Application Automation, shared by the engine's condition block and the
//! standard list blocks (filter), so both always agree.
//!
//! ```
//! use serde_json::json;
//! use weft_conditions::{Operator, compare};
//!
//! assert!(compare(&json!(8), Operator::Gt, &json!(5)));
//! assert!(compare(&json!("Weft engine"), Operator::Contains, &json!("engine")));
//! assert!(compare(&json!("b"), Operator::InList, &json!(["a", "b"])));
//! assert!(compare(&json!([]), Operator::Empty, &json!(null)));
//! ```

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cmp::Ordering;

/// A comparison operator, written in automations as its symbol or words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Operator {
    #[serde(rename = "=")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "empty")]
    Empty,
    #[serde(rename = "not empty")]
    NotEmpty,
    #[serde(rename = "contains")]
    Contains,
    #[serde(rename = "does not contain")]
    DoesNotContain,
    #[serde(rename = "in list")]
    InList,
    #[serde(rename = "not in list")]
    NotInList,
    #[serde(rename = "is number")]
    IsNumber,
    #[serde(rename = "is text")]
    IsText,
    #[serde(rename = "is list")]
    IsList,
    #[serde(rename = "is object")]
    IsObject,
    #[serde(rename = "is true")]
    IsTrue,
    #[serde(rename = "is false")]
    IsFalse,
}

impl Operator {
    /// Whether the operator looks at a right-hand value at all.
    pub fn takes_right(self) -> bool {
        !matches!(
            self,
            Operator::Empty
                | Operator::NotEmpty
                | Operator::IsNumber
                | Operator::IsText
                | Operator::IsList
                | Operator::IsObject
                | Operator::IsTrue
                | Operator::IsFalse
        )
    }
}

/// Evaluate `left <op> right`.
///
/// Equality and ordering compare numbers numerically, also when one side is
/// numeric text (`"8" > 5`), since values mapped from APIs are often text;
/// otherwise text compares as text and other values by JSON equality.
/// `contains` works on text (substring), lists (element) and objects (key).
pub fn compare(left: &Value, op: Operator, right: &Value) -> bool {
    match op {
        Operator::Eq => loosely_equal(left, right),
        Operator::Ne => !loosely_equal(left, right),
        Operator::Gt => order(left, right) == Some(Ordering::Greater),
        Operator::Ge => matches!(
            order(left, right),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        Operator::Lt => order(left, right) == Some(Ordering::Less),
        Operator::Le => matches!(order(left, right), Some(Ordering::Less | Ordering::Equal)),
        Operator::Empty => is_empty(left),
        Operator::NotEmpty => !is_empty(left),
        Operator::Contains => contains(left, right),
        Operator::DoesNotContain => !contains(left, right),
        Operator::InList => in_list(left, right),
        Operator::NotInList => !in_list(left, right),
        Operator::IsNumber => left.is_number(),
        Operator::IsText => left.is_string(),
        Operator::IsList => left.is_array(),
        Operator::IsObject => left.is_object(),
        Operator::IsTrue => left == &Value::Bool(true),
        Operator::IsFalse => left == &Value::Bool(false),
    }
}

/// A number, or numeric text, as `f64` (what `=` and `<` compare with).
pub fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

fn loosely_equal(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (Value::Number(_), Value::String(_)) | (Value::String(_), Value::Number(_)) => {
            matches!((as_number(a), as_number(b)), (Some(x), Some(y)) if x == y)
        }
        (Value::Number(_), Value::Number(_)) => as_number(a) == as_number(b),
        _ => false,
    }
}

fn order(a: &Value, b: &Value) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (as_number(a), as_number(b))
        && (a.is_number() || b.is_number() || (a.is_string() && b.is_string()))
    {
        // Two numeric texts compare as numbers too ("10" > "9").
        return x.partial_cmp(&y);
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// What the `empty` operator means: null, "", [] or {}.
pub fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn contains(haystack: &Value, needle: &Value) -> bool {
    match haystack {
        Value::String(s) => match needle {
            Value::String(n) => s.contains(n.as_str()),
            Value::Number(n) => s.contains(&n.to_string()),
            _ => false,
        },
        Value::Array(items) => items.iter().any(|i| loosely_equal(i, needle)),
        Value::Object(map) => needle.as_str().is_some_and(|k| map.contains_key(k)),
        _ => false,
    }
}

fn in_list(value: &Value, list: &Value) -> bool {
    match list {
        Value::Array(items) => items.iter().any(|i| loosely_equal(value, i)),
        // A comma-separated text list, as users type it in a form.
        Value::String(s) => {
            let v = match value {
                Value::String(v) => v.clone(),
                other => other.to_string(),
            };
            s.split(',').any(|part| part.trim() == v)
        }
        _ => false,
    }
}

/// How clauses combine: `all` must hold, or at least `some` one must.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Combine {
    #[default]
    All,
    Some,
}

/// Combine already-evaluated clause results.
pub fn combine(mode: Combine, mut results: impl Iterator<Item = bool>) -> bool {
    match mode {
        Combine::All => results.all(|r| r),
        Combine::Some => results.any(|r| r),
    }
}

/// Follow a dot/index path (`a.b[2].c`, `items.0.name`) into a value.
/// An empty path is the value itself.
pub fn get_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = value;
    for segment in split_path(path) {
        current = match (current, segment) {
            (Value::Object(map), PathSegment::Key(k)) => map.get(k)?,
            (Value::Array(items), PathSegment::Index(i)) => items.get(i)?,
            (Value::Array(items), PathSegment::Key(k)) => items.get(k.parse::<usize>().ok()?)?,
            (Value::Object(map), PathSegment::Index(i)) => map.get(&i.to_string())?,
            _ => return None,
        };
    }
    Some(current)
}

/// One step of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathSegment<'a> {
    Key(&'a str),
    Index(usize),
}

/// Split `a.b[2].c` into segments; `[n]` is an index, other parts keys.
pub fn split_path(path: &str) -> impl Iterator<Item = PathSegment<'_>> {
    path.split('.').filter(|s| !s.is_empty()).flat_map(|part| {
        let mut segments = Vec::new();
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            segments.push(PathSegment::Key(key));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let Some(end) = stripped.find(']') else {
                segments.push(PathSegment::Key(rest));
                break;
            };
            match stripped[..end].parse::<usize>() {
                Ok(i) => segments.push(PathSegment::Index(i)),
                Err(_) => segments.push(PathSegment::Key(&stripped[..end])),
            }
            rest = &stripped[end + 1..];
        }
        segments
    })
}

/// A canonical JSON text of a value: objects' members sorted by name, so
/// values equal as JSON (objects keep their members in the order they
/// arrived) have one text, to key a hash set or order lists and objects.
pub fn canonical_text(value: &Value) -> String {
    fn write(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (i, (k, v)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    write(v, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(v, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_ignores_member_order_only() {
        let a = serde_json::json!({"b": [1, {"y": 2, "x": 1}], "a": "t"});
        let b = serde_json::json!({"a": "t", "b": [1, {"x": 1, "y": 2}]});
        assert_eq!(canonical_text(&a), canonical_text(&b));
        assert_eq!(canonical_text(&a), r#"{"a":"t","b":[1,{"x":1,"y":2}]}"#);
        assert_ne!(
            canonical_text(&serde_json::json!([1, 2])),
            canonical_text(&serde_json::json!([2, 1]))
        );
    }
    use serde_json::json;

    #[test]
    fn equality_and_order_are_numeric_where_they_can_be() {
        assert!(compare(&json!("8"), Operator::Eq, &json!(8)));
        assert!(compare(&json!(8.0), Operator::Eq, &json!(8)));
        assert!(compare(&json!("10"), Operator::Gt, &json!("9")));
        assert!(compare(&json!("b"), Operator::Gt, &json!("a")));
        assert!(compare(&json!(5), Operator::Le, &json!(5)));
        assert!(!compare(&json!("x"), Operator::Gt, &json!(1)));
        assert!(!compare(&json!(null), Operator::Lt, &json!(1)));
        assert!(compare(&json!({"a": 1}), Operator::Eq, &json!({"a": 1})));
        assert!(compare(&json!("a"), Operator::Ne, &json!("b")));
    }

    #[test]
    fn emptiness_containment_and_lists() {
        for empty in [json!(null), json!(""), json!([]), json!({})] {
            assert!(compare(&empty, Operator::Empty, &Value::Null));
        }
        assert!(compare(&json!(0), Operator::NotEmpty, &Value::Null));
        assert!(compare(&json!("weft"), Operator::Contains, &json!("ef")));
        assert!(compare(&json!([1, 2]), Operator::Contains, &json!("2")));
        assert!(compare(&json!({"k": 1}), Operator::Contains, &json!("k")));
        assert!(compare(&json!("x"), Operator::DoesNotContain, &json!("y")));
        assert!(compare(&json!(3), Operator::InList, &json!([1, 2, 3])));
        assert!(compare(&json!("b"), Operator::InList, &json!("a, b, c")));
        assert!(compare(&json!("z"), Operator::NotInList, &json!(["a"])));
    }

    #[test]
    fn type_tests() {
        assert!(compare(&json!(1.5), Operator::IsNumber, &Value::Null));
        assert!(!compare(&json!("1.5"), Operator::IsNumber, &Value::Null));
        assert!(compare(&json!("t"), Operator::IsText, &Value::Null));
        assert!(compare(&json!([]), Operator::IsList, &Value::Null));
        assert!(compare(&json!({}), Operator::IsObject, &Value::Null));
        assert!(compare(&json!(true), Operator::IsTrue, &Value::Null));
        assert!(compare(&json!(false), Operator::IsFalse, &Value::Null));
        assert!(!compare(&json!("true"), Operator::IsTrue, &Value::Null));
    }

    #[test]
    fn operators_read_as_users_write_them() {
        let ops: Vec<Operator> = serde_json::from_value(json!([
            "=",
            ">=",
            "does not contain",
            "in list",
            "is object"
        ]))
        .expect("operators");
        assert_eq!(
            ops,
            [
                Operator::Eq,
                Operator::Ge,
                Operator::DoesNotContain,
                Operator::InList,
                Operator::IsObject
            ]
        );
        assert!(serde_json::from_value::<Operator>(json!("~=")).is_err());
    }

    #[test]
    fn paths() {
        let v = json!({"a": {"b": [10, {"c": "deep"}]}, "list": [1, 2]});
        assert_eq!(get_path(&v, "a.b[1].c"), Some(&json!("deep")));
        assert_eq!(get_path(&v, "a.b.0"), Some(&json!(10)));
        assert_eq!(get_path(&v, "list[1]"), Some(&json!(2)));
        assert_eq!(get_path(&v, ""), Some(&v));
        assert_eq!(get_path(&v, "a.missing"), None);
        assert_eq!(get_path(&v, "list[9]"), None);
    }

    #[test]
    fn combining() {
        assert!(combine(Combine::All, [true, true].into_iter()));
        assert!(!combine(Combine::All, [true, false].into_iter()));
        assert!(combine(Combine::Some, [false, true].into_iter()));
        assert!(!combine(Combine::Some, std::iter::empty()));
        assert!(combine(Combine::All, std::iter::empty()));
    }
}
