//! Waiting inside a block: sleep for a `Retry-After` only while the block
//! stays well inside its wall-clock limit, otherwise hand the wait to the
//! engine.
//!
//! The host stops a block at its wall-clock limit (60 s by default;
//! operators may set less, per connector or block), sleeping included, and
//! a block stopped there loses its work and is not retried. The contract
//! does not tell a block its limit, so these helpers measure time from the
//! start of the invocation against a **budget** you choose, default
//! [`DEFAULT_BUDGET`] (a third of the default limit). When a wait would
//! end past the budget they do not sleep: they return the rate-limited
//! error, with its `retry_after`, and the engine's retry policy waits
//! outside the sandbox — no instance held, no limit at risk.
//!
//! ```ignore
//! // Retries a 429/503 twice at most, sleeping for its Retry-After while
//! // the block has used less than 20 s.
//! let resp = retry::send_patiently(request, retry::DEFAULT_BUDGET)?.error_for_status()?;
//! ```

use crate::block::BlockError;
use crate::http::{Request, Response};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The default time a block may have used, waits included, before the
/// helpers stop sleeping: a third of the host's default 60 s wall-clock
/// limit, leaving room for the work after the wait.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(20);

/// Retries [`send_patiently`] makes after the first request.
pub const MAX_RETRIES: u32 = 2;

/// When the invocation started. Every invocation runs in a fresh instance,
/// so this static is set once per invocation (by the `connector!` glue,
/// before your block runs).
static STARTED: OnceLock<Instant> = OnceLock::new();

pub(crate) fn mark_invocation_start() {
    let _ = STARTED.set(Instant::now());
}

/// Time since the invocation started.
pub fn elapsed() -> Duration {
    STARTED.get_or_init(Instant::now).elapsed()
}

/// Sleep for `wait` if the invocation will then have used at most
/// `budget`; otherwise don't sleep and return `false`.
pub fn sleep_within(wait: Duration, budget: Duration) -> bool {
    if elapsed().saturating_add(wait) > budget {
        return false;
    }
    std::thread::sleep(wait);
    true
}

/// Send `request`; when the answer is 429 or 503 with a `Retry-After`
/// (seconds or HTTP date) that [`sleep_within`] `budget` allows, sleep and
/// send it again, at most [`MAX_RETRIES`] times. Returns the last answer
/// as it is — call `error_for_status()` on it, which turns a 429 into a
/// rate-limited error carrying the `Retry-After` for the engine.
pub fn send_patiently(request: Request, budget: Duration) -> Result<Response, BlockError> {
    let mut attempt = 0;
    loop {
        let response = request.clone().send()?;
        let limited = matches!(response.status, 429 | 503);
        let wait = response.retry_after().filter(|_| limited);
        match wait {
            Some(wait) if attempt < MAX_RETRIES && sleep_within(wait, budget) => {
                attempt += 1;
                crate::log::debug(format!(
                    "HTTP {} with Retry-After {:.1} s: waited, sending again",
                    response.status,
                    wait.as_secs_f64()
                ));
            }
            _ => return Ok(response),
        }
    }
}
