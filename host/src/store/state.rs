//! State between runs: a small key-value store per automation (a pointer
//! such as "synced up to", a counter), kept in the run store beside the
//! history so "everything changed since the last run" needs no external
//! service. `state-get`, `state-set` and `state-increment` blocks use it
//! (see [`crate::walker`]), the engine exposes it to embedders
//! ([`crate::Weft::state_get`] and friends), and the server to the
//! automation's owner (`/api/v1/automations/{id}/state`).
//!
//! This module holds what every store implementation shares: the entry,
//! the limits (checked by [`StateLimits::check_key`] and
//! [`StateLimits::check_value`], called by each store before it writes),
//! the errors, and the arithmetic of an increment.

use super::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};
use thiserror::Error;

/// Default longest key: 256 bytes.
pub const DEFAULT_MAX_STATE_KEY_BYTES: usize = 256;
/// Default largest value, as JSON text: 64 KiB.
pub const DEFAULT_MAX_STATE_VALUE_BYTES: usize = 64 << 10;
/// Default most keys one automation may hold: 1000.
pub const DEFAULT_MAX_STATE_KEYS: usize = 1000;

/// One key of an automation's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateEntry {
    pub key: String,
    pub value: Value,
    /// When it was last written, Unix milliseconds.
    pub updated_at: i64,
}

/// Bounds on an automation's state (`[run_limits] state = {…}`). A write
/// past one fails naming the limit; nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StateLimits {
    /// Longest key, in bytes (`max_key_bytes`). Keys are never empty.
    pub max_key_bytes: usize,
    /// Largest value, as JSON text (`max_value_bytes`).
    pub max_value_bytes: usize,
    /// Most keys one automation may hold (`max_keys`): writing a new key
    /// past it fails; existing keys can still be changed.
    pub max_keys: usize,
}

impl Default for StateLimits {
    fn default() -> Self {
        StateLimits {
            max_key_bytes: DEFAULT_MAX_STATE_KEY_BYTES,
            max_value_bytes: DEFAULT_MAX_STATE_VALUE_BYTES,
            max_keys: DEFAULT_MAX_STATE_KEYS,
        }
    }
}

/// Why a state write was refused.
#[derive(Debug, Error)]
pub enum StateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a state key is never empty")]
    EmptyKey,
    #[error("the key is {bytes} bytes, more than the limit of {limit} (max_key_bytes)")]
    KeyTooLong { bytes: usize, limit: usize },
    #[error("the value is {bytes} bytes as JSON, more than the limit of {limit} (max_value_bytes)")]
    ValueTooLarge { bytes: usize, limit: usize },
    #[error(
        "the automation holds {limit} state keys already, the limit (max_keys); delete one or change an existing key"
    )]
    TooManyKeys { limit: usize },
    #[error("the key {key:?} holds {found}, not a number, so it cannot be incremented")]
    NotANumber { key: String, found: &'static str },
    #[error("incrementing {key:?} does not give a finite number")]
    Overflow { key: String },
}

impl StateLimits {
    /// A key fits: not empty, at most `max_key_bytes`.
    pub fn check_key(&self, key: &str) -> Result<(), StateError> {
        if key.is_empty() {
            return Err(StateError::EmptyKey);
        }
        if key.len() > self.max_key_bytes {
            return Err(StateError::KeyTooLong {
                bytes: key.len(),
                limit: self.max_key_bytes,
            });
        }
        Ok(())
    }

    /// A value fits: at most `max_value_bytes` as JSON text. Returns the
    /// text, which is what stores keep.
    pub fn check_value(&self, value: &Value) -> Result<Vec<u8>, StateError> {
        let text = serde_json::to_vec(value).map_err(|e| StoreError::Backend(e.to_string()))?;
        if text.len() > self.max_value_bytes {
            return Err(StateError::ValueTooLarge {
                bytes: text.len(),
                limit: self.max_value_bytes,
            });
        }
        Ok(text)
    }
}

/// `current + by` for an increment: a missing key counts as 0; whole
/// numbers stay whole while they fit in 64 bits, otherwise the sum is a
/// float.
pub fn add(key: &str, current: Option<&Value>, by: &Number) -> Result<Value, StateError> {
    let current = match current {
        None => Number::from(0),
        Some(Value::Number(n)) => n.clone(),
        Some(other) => {
            return Err(StateError::NotANumber {
                key: key.to_string(),
                found: kind_of(other),
            });
        }
    };
    if let (Some(a), Some(b)) = (current.as_i64(), by.as_i64())
        && let Some(sum) = a.checked_add(b)
    {
        return Ok(Value::from(sum));
    }
    let sum = current.as_f64().unwrap_or(0.0) + by.as_f64().unwrap_or(0.0);
    Number::from_f64(sum)
        .map(Value::Number)
        .ok_or_else(|| StateError::Overflow {
            key: key.to_string(),
        })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn increments_keep_whole_numbers_whole() {
        assert_eq!(add("k", None, &Number::from(1)).ok(), Some(json!(1)));
        assert_eq!(
            add("k", Some(&json!(41)), &Number::from(1)).ok(),
            Some(json!(42))
        );
        let half = Number::from_f64(0.5).expect("finite");
        assert_eq!(add("k", Some(&json!(1)), &half).ok(), Some(json!(1.5)));
        assert_eq!(
            add("k", Some(&json!(i64::MAX)), &Number::from(1)).ok(),
            Some(json!(9.223372036854776e18))
        );
        assert!(matches!(
            add("k", Some(&json!("x")), &Number::from(1)),
            Err(StateError::NotANumber { found: "text", .. })
        ));
    }

    #[test]
    fn limits_name_themselves() {
        let limits = StateLimits {
            max_key_bytes: 3,
            max_value_bytes: 4,
            max_keys: 1,
        };
        assert!(limits.check_key("abc").is_ok());
        assert_eq!(
            limits.check_key("abcd").map_err(|e| e.to_string()).err(),
            Some("the key is 4 bytes, more than the limit of 3 (max_key_bytes)".into())
        );
        assert!(matches!(limits.check_key(""), Err(StateError::EmptyKey)));
        assert!(limits.check_value(&json!(1234)).is_ok());
        assert_eq!(
            limits
                .check_value(&json!("abc"))
                .map_err(|e| e.to_string())
                .err(),
            Some("the value is 5 bytes as JSON, more than the limit of 4 (max_value_bytes)".into())
        );
    }
}
