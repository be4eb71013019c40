//! What variable and output blocks do to the values they change.

use crate::automation::document::{OutputMode, VariableAction};
use crate::automation::formula::json_number;
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
            // Numeric text counts as a number, as it does in conditions.
            let number = weft_conditions::as_number;
            let by = if value.is_null() {
                1.0
            } else {
                number(&value)
                    .ok_or_else(|| format!("increment by {} is not a number", kind_of(&value)))?
            };
            let now = if current.is_null() {
                0.0
            } else {
                number(&current).ok_or_else(|| format!("cannot increment {}", kind_of(&current)))?
            };
            json_number(now + by)
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
