//! What a paused run waits for: the form of the `input` block it stopped
//! at, and — once a form is submitted or its time is up — the answer the
//! resumed walk takes (see `host/src/input_form.rs` and the walker's
//! `input_block` module).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The form a paused run waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitingFor {
    /// The `input` block's id.
    pub block: String,
    /// Loop indexes from the outermost loop in, when inside loops.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub iteration: Vec<usize>,
    /// The step number the block will be recorded as.
    pub seq: u64,
    /// The JSON Schema the submitted values must satisfy.
    pub schema: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the run paused (ms since the epoch).
    pub since: i64,
    /// When the form stops taking submissions (ms since the epoch).
    pub expires_at: i64,
    /// Set by a submission or a timeout; the resumed walk takes it and
    /// clears the whole `waiting_for`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<InputAnswer>,
}

/// How the wait ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum InputAnswer {
    /// A form was submitted (values already checked against the schema).
    Submitted {
        values: Value,
        submitted_by: Option<String>,
        submitted_at: i64,
    },
    /// Nobody submitted the form before `expires_at`.
    TimedOut { at: i64 },
}
