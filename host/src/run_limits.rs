//! Limits on what a run makes the *host* do, as [`crate::Limits`] bounds
//! what a block does in its sandbox: how deep documents may nest, how
//! large a value a template or formula may produce, how much a run may
//! hold in variables, outputs, loop lists and its in-memory history, and
//! how long the engine waits before a retry. Set with
//! [`crate::WeftBuilder::run_limits`]; the defaults are safe for a shared
//! server.

use crate::automation::bounds::DEFAULT_MAX_VALUE_BYTES;
use crate::automation::nesting::Nesting;
use crate::store::StateLimits;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::time::Duration;

/// Default run-wide memory budget: 256 MiB.
pub const DEFAULT_MAX_RUN_MEMORY_BYTES: usize = 256 << 20;
/// Default longest wait before a retry: 5 minutes.
pub const DEFAULT_MAX_RETRY_WAIT: Duration = Duration::from_secs(300);
/// Default cap on an error message kept for a step or a run: 8 KiB.
pub const DEFAULT_MAX_ERROR_BYTES: usize = 8 << 10;
/// Default cap on the iterations of one `loop-range`, and on the
/// `max_iterations` a `loop-while` may ask for: one million.
pub const DEFAULT_MAX_LOOP_ITERATIONS: u64 = 1_000_000;

/// Host-side limits of a run (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunLimits {
    /// Depth limits checked at validation and during evaluation.
    pub nesting: Nesting,
    /// Largest value (as JSON text) a template or formula may produce,
    /// and any step of producing it (`max_value_bytes`).
    pub max_value_bytes: usize,
    /// Approximate JSON size of everything a run holds at once: block
    /// outputs, variables, its output, the lists its loops walk and the
    /// inputs and outputs of the steps it keeps (`max_run_memory_bytes`).
    pub max_run_memory_bytes: usize,
    /// Longest wait before retrying a block (`max_retry_wait`). A block
    /// whose rate limit (a 429's `Retry-After`, a `rate-limited` error's
    /// `retry_after_ms`) asks for more fails instead: the run keeps its
    /// automation's concurrency while it waits (it gives back only the
    /// host's global slot, see [`crate::run_slot`]).
    #[serde(with = "crate::limits::duration_ms")]
    pub max_retry_wait: Duration,
    /// Longest error message a step or a run keeps (`max_error_bytes`);
    /// the rest is cut with a note saying how much.
    pub max_error_bytes: usize,
    /// Most iterations one `loop-range` may make, and most a `loop-while`
    /// may ask for in `max_iterations` (`max_loop_iterations`). A list
    /// loop is bounded by its list's size instead; without this, a range
    /// whose bounds come from data could keep a host busy until the run's
    /// deadline.
    pub max_loop_iterations: u64,
    /// Bounds on each automation's state between runs (`state`: key
    /// length, value size, number of keys; see [`crate::store::state`]).
    pub state: StateLimits,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            nesting: Nesting::default(),
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
            max_run_memory_bytes: DEFAULT_MAX_RUN_MEMORY_BYTES,
            max_retry_wait: DEFAULT_MAX_RETRY_WAIT,
            max_error_bytes: DEFAULT_MAX_ERROR_BYTES,
            max_loop_iterations: DEFAULT_MAX_LOOP_ITERATIONS,
            state: StateLimits::default(),
        }
    }
}

/// `text` cut to at most `max` bytes (at a character boundary), with a
/// note of how many bytes were cut; unchanged when it fits.
pub fn cut_text(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!(
        "{}… [{} more bytes cut; the limit is {max} bytes]",
        &text[..end],
        text.len() - end
    ))
}

/// Cut `text` in place (see [`cut_text`]).
pub fn cut_string(text: &mut String, max: usize) {
    if let Cow::Owned(cut) = cut_text(text, max) {
        *text = cut;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutting_says_how_much_was_cut() {
        assert_eq!(cut_text("short", 10), "short");
        let cut = cut_text("ééééé", 5);
        assert_eq!(cut, "éé… [6 more bytes cut; the limit is 5 bytes]");
    }
}
