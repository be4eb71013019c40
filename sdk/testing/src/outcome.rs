//! What one invocation produced, read from `weft connector invoke --json`:
//! the output or a typed [`Failure`], the HTTP calls as the run history
//! records them, and the block's log lines.

use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// The kinds of error a block returns (`BlockError::...` in the SDK).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    InvalidInput,
    Unauthorized,
    NotFound,
    RateLimited,
    Transient,
    Fatal,
}

impl ErrorKind {
    /// Whether the engine would retry it (when the automation allows).
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::RateLimited | ErrorKind::Transient)
    }
}

/// Why an invocation produced no output.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The block returned an error.
    Block {
        kind: ErrorKind,
        /// The block's own message (`BlockError::message`).
        message: String,
        details: Option<Value>,
        /// Only for [`ErrorKind::RateLimited`]: how long to wait.
        retry_after: Option<Duration>,
    },
    /// The sandbox stopped the block at a limit: `limit` is `fuel`,
    /// `wall-clock`, `memory`, `output` or `stack`.
    Limit { limit: String, message: String },
    /// Anything else the engine reports: `trap` (a panic), `unknown-block`,
    /// `invalid-output`, `connection`, `host`.
    Other { error: String, message: String },
}

impl Failure {
    /// The block error's kind; `None` for limits and crashes.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Failure::Block { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Failure::Block { message, .. }
            | Failure::Limit { message, .. }
            | Failure::Other { message, .. } => message,
        }
    }

    pub fn details(&self) -> Option<&Value> {
        match self {
            Failure::Block { details, .. } => details.as_ref(),
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Failure::Block { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Read the `error` object of `weft connector invoke --json`:
    /// `{"message": "...", "detail": <the engine's InvokeError>}`.
    pub(crate) fn from_report(error: &Value) -> Failure {
        let detail = &error["detail"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let full_message = text(&error["message"]);
        match detail["error"].as_str() {
            Some("block") => {
                let failure = &detail["failure"];
                match serde_json::from_value::<ErrorKind>(failure["kind"].clone()) {
                    Ok(kind) => Failure::Block {
                        kind,
                        message: text(&failure["message"]),
                        details: Some(failure["details"].clone()).filter(|d| !d.is_null()),
                        retry_after: failure["retry_after"].as_u64().map(Duration::from_millis),
                    },
                    Err(_) => Failure::Other {
                        error: "block".into(),
                        message: full_message,
                    },
                }
            }
            Some("limit") => Failure::Limit {
                limit: text(&detail["limit"]["kind"]),
                message: full_message,
            },
            other => Failure::Other {
                error: other.unwrap_or("unknown").to_string(),
                message: full_message,
            },
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Block { kind, message, .. } => write!(f, "{kind:?}: {message}"),
            Failure::Limit { message, .. } | Failure::Other { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for Failure {}

/// One HTTP request (one redirect hop) as the run history records it:
/// URL redacted, credentials never shown.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HttpCall {
    pub method: String,
    pub url: String,
    pub status: Option<u16>,
    /// Set when the host refused or could not complete the request.
    pub error: Option<String>,
    pub duration_us: u64,
    pub request_headers: Vec<(String, String)>,
    pub response_headers: Vec<(String, String)>,
}

/// A line the block logged with `weft_sdk::log`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LogLine {
    /// `trace`, `debug`, `info`, `warn` or `error`.
    pub level: String,
    pub message: String,
}

/// Everything one invocation produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub output: Result<Value, Failure>,
    pub http_calls: Vec<HttpCall>,
    pub logs: Vec<LogLine>,
    pub duration: Duration,
    /// Instructions used (roughly).
    pub fuel_used: Option<u64>,
}

impl Outcome {
    /// Read the JSON report `weft connector invoke --json` prints.
    pub(crate) fn from_report(report: &Value) -> Result<Outcome, String> {
        let output = if report["ok"].as_bool() == Some(true) {
            Ok(report["output"].clone())
        } else {
            Err(Failure::from_report(&report["error"]))
        };
        let http_calls = serde_json::from_value(report["http_calls"].clone())
            .map_err(|e| format!("http_calls: {e}"))?;
        let logs =
            serde_json::from_value(report["logs"].clone()).map_err(|e| format!("logs: {e}"))?;
        Ok(Outcome {
            output,
            http_calls,
            logs,
            duration: Duration::from_micros(report["duration_us"].as_u64().unwrap_or(0)),
            fuel_used: report["fuel_used"].as_u64(),
        })
    }

    /// The output; panics with the failure when the block failed.
    #[track_caller]
    pub fn expect_ok(self) -> Value {
        match self.output {
            Ok(v) => v,
            Err(f) => panic!("expected the block to succeed, it failed: {f}"),
        }
    }

    /// The failure; panics with the output when the block succeeded.
    #[track_caller]
    pub fn expect_failure(self) -> Failure {
        match self.output {
            Ok(v) => panic!("expected the block to fail, it returned {v}"),
            Err(f) => f,
        }
    }
}
