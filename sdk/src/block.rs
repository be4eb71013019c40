//! Blocks: the invocation context, typed block errors, and the glue that
//! decodes an input, calls the author's function and encodes its output.

use crate::bindings::weft::connector::types as wit;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::time::Duration;

/// What the host tells a block about the invocation it is part of.
#[derive(Debug, Clone)]
pub struct Context {
    /// The run this invocation belongs to.
    pub run_id: String,
    /// The id of this block instance inside the automation.
    pub step_id: String,
    /// 1 on the first try, 2 on the first retry, ...
    pub attempt: u32,
    /// Non-secret fields of the block's connection (e.g. a tenant name);
    /// an empty object when the block has no connection.
    pub connection: serde_json::Value,
    /// Stable per (run, block, loop iteration, attempt): the same when the
    /// host resumes a run interrupted by a crash and repeats this
    /// invocation, different for every other one. Send it with
    /// [`Request::idempotency_key`](crate::http::Request::idempotency_key)
    /// so a service that honours `Idempotency-Key` drops the duplicate.
    /// Empty when the block is invoked outside a run.
    pub idempotency_key: String,
}

impl Context {
    /// A non-secret connection field as text, if present.
    pub fn connection_field(&self, name: &str) -> Option<&str> {
        self.connection.get(name).and_then(|v| v.as_str())
    }

    fn from_wit(ctx: wit::InvokeContext) -> Self {
        let connection = serde_json::from_str(&ctx.connection)
            .unwrap_or_else(|_| serde_json::Value::Object(Default::default()));
        Context {
            run_id: ctx.run_id,
            step_id: ctx.step_id,
            attempt: ctx.attempt,
            connection,
            idempotency_key: ctx.idempotency_key,
        }
    }
}

/// The kind of a [`BlockError`]; the host retries `Transient` and
/// `RateLimited` errors when the automation's retry policy allows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input does not make sense; fix the automation.
    InvalidInput,
    /// Credentials were missing, wrong or expired.
    Unauthorized,
    /// The thing asked for does not exist.
    NotFound,
    /// The remote service asked us to slow down.
    RateLimited,
    /// A passing failure; trying again may succeed.
    Transient,
    /// Anything else that will not go away by retrying.
    Fatal,
}

/// Why a block failed: a kind, a message for the run log, and optional
/// structured details.
#[derive(Debug, Clone)]
pub struct BlockError {
    pub kind: ErrorKind,
    pub message: String,
    pub details: Option<serde_json::Value>,
    /// Only meaningful for [`ErrorKind::RateLimited`].
    pub retry_after: Option<Duration>,
}

impl BlockError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        BlockError {
            kind,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub fn rate_limited(message: impl Into<String>, retry_after: Option<Duration>) -> Self {
        BlockError {
            retry_after,
            ..Self::new(ErrorKind::RateLimited, message)
        }
    }
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Transient, message)
    }
    pub fn fatal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Fatal, message)
    }
    /// Attach structured details (shown in the run log).
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub(crate) fn into_wit(self) -> wit::BlockError {
        let details = self.details.map(|d| d.to_string());
        let info = wit::ErrorInfo {
            message: self.message,
            details,
        };
        match self.kind {
            ErrorKind::InvalidInput => wit::BlockError::InvalidInput(info),
            ErrorKind::Unauthorized => wit::BlockError::Unauthorized(info),
            ErrorKind::NotFound => wit::BlockError::NotFound(info),
            ErrorKind::Transient => wit::BlockError::Transient(info),
            ErrorKind::Fatal => wit::BlockError::Fatal(info),
            ErrorKind::RateLimited => wit::BlockError::RateLimited(wit::RateLimitInfo {
                message: info.message,
                details: info.details,
                retry_after_ms: self
                    .retry_after
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            }),
        }
    }
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for BlockError {}

impl From<serde_json::Error> for BlockError {
    fn from(err: serde_json::Error) -> Self {
        BlockError::fatal(format!("JSON error: {err}"))
    }
}

/// Decode `input`, run `f`, encode the output. Used by [`crate::connector!`].
pub fn run_block<I, O, F>(
    f: F,
    input: &str,
    ctx: wit::InvokeContext,
) -> Result<String, wit::BlockError>
where
    I: DeserializeOwned,
    O: Serialize,
    F: Fn(&Context, I) -> Result<O, BlockError>,
{
    crate::retry::mark_invocation_start();
    let mut de = serde_json::Deserializer::from_str(input);
    let input: I = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let message = if path == "." {
            format!("input does not match the block's schema: {}", e.inner())
        } else {
            format!("input field `{path}`: {}", e.inner())
        };
        BlockError::invalid_input(message)
            .with_details(serde_json::json!({ "path": path }))
            .into_wit()
    })?;
    let ctx = Context::from_wit(ctx);
    let output = f(&ctx, input).map_err(BlockError::into_wit)?;
    serde_json::to_string(&output)
        .map_err(|e| BlockError::fatal(format!("could not encode output: {e}")).into_wit())
}
