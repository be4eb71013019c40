//! A script's result as JSON. Follows `JSON.stringify` where it is
//! harmless (`toJSON` is used, so a `Date` becomes its ISO text; an
//! object property whose value is `undefined` is left out; whole numbers
//! are integers) and refuses, with the path of the offending value, what
//! `JSON.stringify` would silently turn into `null` or drop: `undefined`
//! as the result or in a list, `NaN` and the infinities, functions,
//! symbols, BigInts and cycles.

use boa_engine::object::JsObject;
use boa_engine::{Context, JsResult, JsValue, Source, js_string};
use std::fmt;
use weft_sdk::prelude::*;
use weft_sdk::serde_json::{Map, Number};

/// Deepest nesting of lists and objects in a result. Deeper values are
/// refused rather than walked, so the walk's own stack stays small.
const MAX_DEPTH: usize = 128;

/// Largest integer a double holds exactly (2^53).
const MAX_SAFE: f64 = 9_007_199_254_740_992.0;

/// A value JSON cannot hold, and where it is (`result.items[2].total`).
#[derive(Debug)]
pub struct NotJson {
    pub path: String,
    pub problem: String,
}

impl fmt::Display for NotJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is {}", self.path, self.problem)
    }
}

/// The original `Object.keys`, taken before the user's code runs.
pub struct ObjectKeys(JsObject);

impl ObjectKeys {
    pub fn capture(context: &mut Context) -> JsResult<Self> {
        let keys = context.eval(Source::from_bytes("Object.keys"))?;
        keys.as_object().map(ObjectKeys).ok_or_else(|| {
            boa_engine::JsNativeError::typ()
                .with_message("no Object.keys")
                .into()
        })
    }
}

/// `value` as JSON, or the first part of it that JSON cannot hold.
pub fn convert(
    value: &JsValue,
    keys: &ObjectKeys,
    context: &mut Context,
) -> Result<Value, NotJson> {
    if value.is_undefined() {
        return Err(NotJson {
            path: "result".into(),
            problem: "undefined (did the code `return` a value?)".into(),
        });
    }
    let mut walk = Walk {
        keys,
        ancestors: Vec::new(),
        context,
    };
    walk.value(value, "result".into(), &JsValue::from(js_string!("")))
}

struct Walk<'a> {
    keys: &'a ObjectKeys,
    /// The objects between the result and the value being converted, to
    /// spot cycles.
    ancestors: Vec<JsObject>,
    context: &'a mut Context,
}

impl Walk<'_> {
    /// `value`, found at `path` under property `key` (what `toJSON` is
    /// called with).
    fn value(&mut self, value: &JsValue, path: String, key: &JsValue) -> Result<Value, NotJson> {
        let fail = |problem: &str| NotJson {
            path: path.clone(),
            problem: problem.to_string(),
        };
        if value.is_null() {
            return Ok(Value::Null);
        }
        if value.is_undefined() {
            return Err(fail("undefined"));
        }
        if let Some(b) = value.as_boolean() {
            return Ok(Value::Bool(b));
        }
        if let Some(s) = value.as_string() {
            return Ok(Value::String(s.to_std_string_escaped()));
        }
        if let Some(n) = value.as_number() {
            return number(n).ok_or_else(|| fail(&format!("{n}, which JSON cannot hold")));
        }
        if value.is_bigint() {
            return Err(fail("a BigInt (convert it with Number() or String())"));
        }
        if value.is_symbol() {
            return Err(fail("a symbol"));
        }
        let Some(object) = value.as_object() else {
            return Err(fail(&format!("a {}", value.type_of())));
        };
        if object.is_callable() {
            return Err(fail("a function"));
        }
        if self.ancestors.iter().any(|a| JsObject::equals(a, &object)) {
            return Err(fail("the object it is inside (a cycle)"));
        }
        if self.ancestors.len() >= MAX_DEPTH {
            return Err(fail(&format!("nested more than {MAX_DEPTH} levels deep")));
        }
        let thrown = |e: boa_engine::JsError| NotJson {
            path: path.clone(),
            problem: format!("unreadable: {e}"),
        };
        // A `toJSON` method (a Date's, or the code's own) says what the
        // object stands for.
        let to_json = object
            .get(js_string!("toJSON"), self.context)
            .map_err(thrown)?;
        if let Some(method) = to_json.as_callable() {
            let replaced = method
                .call(value, std::slice::from_ref(key), self.context)
                .map_err(thrown)?;
            self.ancestors.push(object.clone());
            let out = self.value(&replaced, path.clone(), key);
            self.ancestors.pop();
            return out;
        }

        self.ancestors.push(object.clone());
        let out = if object.is_array() {
            self.array(&object, &path)
        } else {
            self.object(value, &object, &path)
        };
        self.ancestors.pop();
        out
    }

    fn array(&mut self, array: &JsObject, path: &str) -> Result<Value, NotJson> {
        let length = array
            .get(js_string!("length"), self.context)
            .ok()
            .and_then(|l| l.as_number())
            .unwrap_or(0.0);
        // Arrays hold at most 2^32 - 1 items; the memory limit stops a
        // huge one long before this loop gets far.
        let length = length.clamp(0.0, f64::from(u32::MAX)) as u32;
        let mut items = Vec::new();
        for i in 0..length {
            let item = array.get(i, self.context).map_err(|e| NotJson {
                path: format!("{path}[{i}]"),
                problem: format!("unreadable: {e}"),
            })?;
            items.push(self.value(&item, format!("{path}[{i}]"), &JsValue::from(i))?);
        }
        Ok(Value::Array(items))
    }

    fn object(&mut self, value: &JsValue, object: &JsObject, path: &str) -> Result<Value, NotJson> {
        let unreadable = |e: boa_engine::JsError| NotJson {
            path: path.to_string(),
            problem: format!("unreadable: {e}"),
        };
        let names = self
            .keys
            .0
            .call(
                &JsValue::undefined(),
                std::slice::from_ref(value),
                self.context,
            )
            .map_err(unreadable)?;
        let names = names.as_object().ok_or_else(|| NotJson {
            path: path.to_string(),
            problem: "an object without keys".into(),
        })?;
        let count = names
            .get(js_string!("length"), self.context)
            .map_err(unreadable)?
            .as_number()
            .unwrap_or(0.0) as u32;
        let mut map = Map::new();
        for i in 0..count {
            let name = names.get(i, self.context).map_err(unreadable)?;
            let Some(name) = name.as_string() else {
                continue;
            };
            let key = name.to_std_string_escaped();
            let child_path = format!("{path}.{key}");
            let item = object
                .get(name.clone(), self.context)
                .map_err(|e| NotJson {
                    path: child_path.clone(),
                    problem: format!("unreadable: {e}"),
                })?;
            // As in JSON.stringify: a property set to undefined is absent.
            if item.is_undefined() {
                continue;
            }
            let converted = self.value(&item, child_path, &JsValue::from(name))?;
            map.insert(key, converted);
        }
        Ok(Value::Object(map))
    }
}

/// A JavaScript number as a JSON number: whole numbers (up to 2^53) as
/// integers, as JavaScript itself prints them (`3`, not `3.0`); `None` for
/// NaN and the infinities.
fn number(n: f64) -> Option<Value> {
    if !n.is_finite() {
        return None;
    }
    if n.fract() == 0.0 && n.abs() <= MAX_SAFE {
        return Some(Value::Number(Number::from(n as i64)));
    }
    Number::from_f64(n).map(Value::Number)
}
