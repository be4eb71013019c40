//! What variable and output blocks do to the values they change.

use crate::automation::document::{OutputMode, VariableAction};
use crate::automation::formula::math::Num;
use serde_json::Value;

pub(super) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

pub(super) fn apply_variable(
    action: VariableAction,
    current: Value,
    value: Value,
) -> Result<Value, String> {
    Ok(match action {
        VariableAction::Set => value,
        VariableAction::Append => match current {
            Value::Null => Value::Array(vec![value]),
            Value::Array(mut items) => {
                items.push(value);
                Value::Array(items)
            }
            other => {
                return Err(format!(
                    "cannot append to a variable holding {}",
                    kind_of(&other)
                ));
            }
        },
        VariableAction::AppendAll => match (current, value) {
            (Value::Null, Value::Array(v)) => Value::Array(v),
            (Value::Array(mut items), Value::Array(v)) => {
                items.extend(v);
                Value::Array(items)
            }
            (Value::Array(_), v) => {
                return Err(format!(
                    "append-all needs a list as the value, got {} (use append to add one item)",
                    kind_of(&v)
                ));
            }
            (other, _) => {
                return Err(format!(
                    "cannot append to a variable holding {}",
                    kind_of(&other)
                ));
            }
        },
        VariableAction::Merge => match (current, value) {
            (Value::Null, Value::Object(v)) => Value::Object(v),
            (Value::Object(mut c), Value::Object(v)) => {
                c.extend(v);
                Value::Object(c)
            }
            (c, v) => {
                return Err(format!(
                    "merge needs objects; the variable holds {} and the value is {}",
                    kind_of(&c),
                    kind_of(&v)
                ));
            }
        },
        VariableAction::Increment => {
            // Decimal, like the arithmetic formulas (0.1 + 0.2 is 0.3);
            // numeric text counts as a number, as it does in conditions.
            let by = if value.is_null() {
                Num::read(&Value::from(1), "")?
            } else {
                Num::read(&value, "")
                    .map_err(|_| format!("increment by {} is not a number", kind_of(&value)))?
            };
            let now = if current.is_null() {
                Num::read(&Value::from(0), "")?
            } else {
                Num::read(&current, "")
                    .map_err(|_| format!("cannot increment {}", kind_of(&current)))?
            };
            now.plus(by).value()?
        }
    })
}

/// On error the previous output comes back untouched.
pub(super) fn apply_output(
    mode: OutputMode,
    current: Value,
    value: Value,
) -> Result<Value, (Value, String)> {
    match mode {
        OutputMode::Set => Ok(value),
        OutputMode::Add => match current {
            Value::Null => Ok(Value::Array(vec![value])),
            Value::Array(mut items) => {
                items.push(value);
                Ok(Value::Array(items))
            }
            other => {
                let msg = format!(
                    "cannot add to an output that holds {} (set earlier)",
                    kind_of(&other)
                );
                Err((other, msg))
            }
        },
        OutputMode::Merge => match (current, value) {
            (Value::Null, Value::Object(v)) => Ok(Value::Object(v)),
            (Value::Object(mut c), Value::Object(v)) => {
                c.extend(v);
                Ok(Value::Object(c))
            }
            (c, v) => {
                let msg = format!("merge needs an object, got {}", kind_of(&v));
                Err((c, msg))
            }
        },
    }
}
