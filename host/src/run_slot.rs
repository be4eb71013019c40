//! [`RunSlot`]: a run's share of its host's capacity, handed back while
//! the run only waits.
//!
//! A host that runs a bounded number of runs at once (the server's global
//! concurrency) gives each run a slot. A block that is retried after a
//! rate limit waits — up to `max_retry_wait` — and holding the slot all
//! that time would let a handful of rate-limited runs starve every other
//! run. The walker therefore waits through [`RunSlot::wait_released`]:
//! the host lets the slot go for the wait and takes one again before the
//! block is invoked once more.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// What a run holds while it runs; see the module docs.
pub trait RunSlot: Send + Sync {
    /// Wait `delay` without holding the slot; return once the delay has
    /// passed and a slot is held again (which may take longer when the
    /// host is busy). Dropped midway (the run was stopped), the slot need
    /// not be taken again.
    fn wait_released<'a>(
        &'a self,
        delay: Duration,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}
