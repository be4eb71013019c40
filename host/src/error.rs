//! Typed errors of the engine library. Every message names the connector
//! and block involved, and what to do about it where that is knowable.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use thiserror::Error;

/// Why a component could not be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("not a valid WebAssembly component: {0}")]
    Compile(String),
    #[error(
        "the component imports something Weft does not provide (connectors may import only weft:connector/http, weft:connector/log and WASI): {0}"
    )]
    Link(String),
    #[error(
        "the component does not export a supported weft:connector contract (found {found:?}; this host supports {supported:?}); rebuild it with a matching weft-sdk"
    )]
    UnsupportedContract {
        found: Option<String>,
        supported: Vec<String>,
    },
    #[error("describe() failed: {0}")]
    Describe(String),
    #[error("invalid manifest: {field}: {reason}")]
    Manifest { field: String, reason: String },
    #[error("compilation cache: {0}")]
    Cache(String),
    #[error("invalid runtime setting: {0}")]
    Config(String),
}

/// Error kinds a block may return, from the contract's `block-error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BlockErrorKind {
    InvalidInput,
    Unauthorized,
    NotFound,
    RateLimited,
    Transient,
    Fatal,
}

impl BlockErrorKind {
    /// Whether retrying can help.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            BlockErrorKind::RateLimited | BlockErrorKind::Transient
        )
    }
}

/// A typed error the block itself returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockFailure {
    pub kind: BlockErrorKind,
    pub message: String,
    pub details: Option<serde_json::Value>,
    #[serde(with = "crate::limits::opt_duration_ms", default)]
    pub retry_after: Option<Duration>,
}

/// Which sandbox limit an invocation hit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LimitExceeded {
    /// Ran out of fuel (instructions).
    Fuel { limit: u64 },
    /// Ran past its wall-clock deadline.
    WallClock { limit_ms: u64 },
    /// Tried to grow linear memory past the cap.
    Memory {
        limit_bytes: usize,
        requested_bytes: usize,
    },
    /// Returned more output than allowed.
    Output {
        limit_bytes: usize,
        actual_bytes: usize,
    },
    /// Exhausted the WebAssembly stack (runaway recursion).
    Stack,
}

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitExceeded::Fuel { limit } => write!(f, "fuel limit of {limit} units exhausted"),
            LimitExceeded::WallClock { limit_ms } => {
                write!(f, "wall-clock limit of {limit_ms} ms exceeded")
            }
            LimitExceeded::Memory {
                limit_bytes,
                requested_bytes,
            } => write!(
                f,
                "memory limit of {limit_bytes} bytes exceeded (asked for {requested_bytes})"
            ),
            LimitExceeded::Output {
                limit_bytes,
                actual_bytes,
            } => write!(
                f,
                "output limit of {limit_bytes} bytes exceeded ({actual_bytes} bytes returned)"
            ),
            LimitExceeded::Stack => write!(f, "stack exhausted (runaway recursion)"),
        }
    }
}

/// Why an invocation produced no output. Serializable, so it can be kept in
/// the run history as it is.
#[derive(Debug, Clone, PartialEq, Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "kebab-case")]
pub enum InvokeError {
    #[error("connector {connector:?} has no block {block:?} (it has: {})", available.join(", "))]
    UnknownBlock {
        connector: String,
        block: String,
        available: Vec<String>,
    },
    #[error("block {connector}/{block} failed ({:?}): {}", failure.kind, failure.message)]
    Block {
        connector: String,
        block: String,
        failure: BlockFailure,
    },
    #[error("block {connector}/{block} stopped: {limit}")]
    Limit {
        connector: String,
        block: String,
        limit: LimitExceeded,
    },
    #[error("block {connector}/{block} crashed: {message}")]
    Trap {
        connector: String,
        block: String,
        message: String,
    },
    #[error("block {connector}/{block} returned output that is not JSON: {reason}")]
    InvalidOutput {
        connector: String,
        block: String,
        reason: String,
    },
    #[error("block {connector}/{block} could not be started: {message}")]
    Host {
        connector: String,
        block: String,
        message: String,
    },
    /// No instance slot came free within the block's deadline: every one
    /// of the runtime's `max_concurrent_instances` was in use. The server's
    /// capacity, not a fault of the block; retryable.
    #[error("block {connector}/{block} could not start: {message}")]
    Capacity {
        connector: String,
        block: String,
        message: String,
    },
    /// The connection's credential source failed (see
    /// [`crate::credentials`]); this replaces whatever the block returned.
    /// Not retryable: with `needs_authorization` a person must reconnect
    /// the account first.
    #[error(
        "connector {connector} block {block}: {}: {message}",
        connection_problem(*needs_authorization)
    )]
    Connection {
        connector: String,
        block: String,
        needs_authorization: bool,
        message: String,
    },
}

fn connection_problem(needs_authorization: bool) -> &'static str {
    if needs_authorization {
        "the connection needs authorization"
    } else {
        "the connection's credentials are not available"
    }
}

impl InvokeError {
    /// Whether retrying the same invocation can help.
    pub fn is_retryable(&self) -> bool {
        match self {
            InvokeError::Block { failure, .. } => failure.kind.is_retryable(),
            InvokeError::Capacity { .. } => true,
            _ => false,
        }
    }

    /// The delay the block asked for before a retry, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            InvokeError::Block { failure, .. } => failure.retry_after,
            _ => None,
        }
    }
}
