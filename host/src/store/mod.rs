//! Run history: the run records and per-block step records the walker
//! writes as a run progresses, behind [`RunStore`] so the embedded sled
//! store ([`SledStore`]) can be swapped for a shared database in
//! multi-node deployments.

mod commit;
mod sled_state;
mod sled_store;
pub mod state;
mod trigger;
mod waiting;

pub use commit::CommitStats;
pub use sled_store::SledStore;
pub use state::{StateEntry, StateError, StateLimits};
pub use trigger::{ChainedBy, Trigger};
pub use waiting::{InputAnswer, WaitingFor};

use crate::guest_log::LogLine;
use crate::outbound_http::HttpCall;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use thiserror::Error;

/// Resolves once the writes made before it was asked for are durable
/// (see [`RunStore::committed`]).
pub type Committed =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send + 'static>>;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("history store: {0}")]
    Backend(String),
    #[error("history store holds an unreadable record {key}: {reason}")]
    Corrupt { key: String, reason: String },
    /// A write did not reach the disk; the store accepts nothing more
    /// (see [`RunStore`]). Servers answer 503: retrying elsewhere or later
    /// is the client's move, and nothing it sent was acknowledged.
    #[error("history store cannot write: {0}")]
    WriteFailed(String),
}

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    Queued,
    Running,
    /// Stopped at an `input` block until a form is submitted through the
    /// API or its timeout passes (see [`RunRecord::waiting_for`]). Not
    /// final, not running: it holds no slot while it waits.
    Paused,
    Finished,
    FinishedWithWarnings,
    Failed,
    Stopped,
}

impl RunStatus {
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            RunStatus::Queued | RunStatus::Running | RunStatus::Paused
        )
    }
}

/// One run of an automation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub automation_id: String,
    pub automation_version: u64,
    pub automation_name: String,
    #[serde(default)]
    pub owner: Option<String>,
    pub trigger: Trigger,
    pub status: RunStatus,
    /// Set by an `update-run-title` block; shown in run lists. Records
    /// written before titles existed have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// The trigger payload (`$.Start`).
    pub input: Value,
    pub output: Value,
    pub error: Option<String>,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Set when the run came back after the server stopped during it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed: Option<Resumed>,
    /// The block a `non_retryable_after_crash` block is running, written
    /// durably before it starts: found at resume, that block is failed
    /// rather than repeated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<InFlight>,
    /// The form of the `input` block a paused run waits at (and, once
    /// answered, the answer its resumed walk takes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<WaitingFor>,
}

/// How a run came back after the server stopped during it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resumed {
    /// How many times it was resumed.
    pub times: u32,
    /// The last step taken over from the history at the latest resume:
    /// every block up to it was not run again. `None`: no block had
    /// finished, the run started from its first block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_step: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_block: Option<String>,
}

/// A block that must not run twice, marked as started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    pub block_id: String,
    /// Loop indexes from the outermost loop in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub iteration: Vec<usize>,
    /// The step number it would be recorded as.
    pub seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    Succeeded,
    /// Failed, and the block's on-error policy stopped the run.
    Failed,
    /// Failed, with on-error "warning": the run went on.
    Warning,
    /// Failed, with on-error "ignore": the run went on.
    Ignored,
}

/// What one block did, once (a block in a loop has a step per iteration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Order within the run, from 0.
    pub seq: u64,
    pub block_id: String,
    /// `connector`, `condition`, `loop`, `variable`, …
    pub block_type: String,
    /// `connector/block` for connector blocks, the called automation's id
    /// for `call_automation` blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub status: StepStatus,
    pub attempts: u32,
    pub started_at: i64,
    pub duration_us: u64,
    /// Loop indexes from the outermost loop in, when inside loops.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub iteration: Vec<usize>,
    /// The resolved input; `None` for censored blocks.
    pub input: Option<Value>,
    /// The output; `None` for censored blocks and failures.
    pub output: Option<Value>,
    pub error: Option<String>,
    pub fuel_used: Option<u64>,
    #[serde(default)]
    pub http_calls: Vec<HttpCall>,
    #[serde(default)]
    pub logs: Vec<LogLine>,
    /// The block was marked `censor`: inputs, outputs, HTTP bodies and
    /// logs were never written, only status, timing and sizes.
    pub censored: bool,
    pub input_bytes: usize,
    pub output_bytes: usize,
    /// The run a `call_automation` block started (absent in records
    /// written before chaining existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_run_id: Option<String>,
    /// The connector version a connector block ran (absent in records
    /// written before versions sat side by side).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_version: Option<String>,
    /// A failed step's kind and the HTTP status it ended with (absent for
    /// steps that succeeded, and in records written before it existed).
    /// Later blocks read them, after `on_error: warning` or `ignore`, as
    /// `{$.Block.error.kind}` and `{$.Block.error.status}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<StepFailure>,
}

/// How a step failed, beyond its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepFailure {
    pub kind: FailureKind,
    /// The status of the last HTTP response the block got, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

/// What kind of failure a step had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// A connector block said its input makes no sense.
    InvalidInput,
    /// A connector block's credentials were missing, wrong or expired.
    Unauthorized,
    /// What a connector block asked for does not exist.
    NotFound,
    /// The remote service asked to slow down (and retries ran out).
    RateLimited,
    /// A passing failure (and retries ran out).
    Transient,
    /// A connector block's failure that retrying cannot fix.
    Fatal,
    /// A connector block hit a sandbox limit (fuel, time, memory, output).
    Limit,
    /// A connector block crashed or returned something that is not JSON.
    Crash,
    /// The connector, its block, its version or its connection was not
    /// available, or the host could not start it.
    Unavailable,
    /// The automation a `call_automation` block called failed, or could
    /// not be called.
    CalledRun,
    /// A standard block failed: a value that could not be built, a limit
    /// of the run, an `error` block.
    Block,
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub automation_id: Option<String>,
    pub limit: Option<usize>,
}

/// Storage for runs and their steps.
///
/// The contract every implementation keeps (the conformance tests in
/// `tests/tests/store_conformance.rs` check it):
/// * **Durable in order.** A crash leaves a prefix of the writes, never a
///   gap.
/// * **Nothing shown before it is durable.** A write may return before it
///   is on disk, but reads see it only once it is; [`RunStore::flush`]
///   (blocking) and [`RunStore::committed`] (a future) wait until all
///   writes made before the call are durable, and fail if any of them
///   failed.
/// * **A failed write is final.** After a write fails to reach the disk,
///   later writes and waits fail too, so nothing is acknowledged that a
///   restart would not find.
pub trait RunStore: Send + Sync + 'static {
    /// Insert or replace a run record.
    fn put_run(&self, run: &RunRecord) -> Result<(), StoreError>;
    fn append_step(&self, run_id: &str, step: &StepRecord) -> Result<(), StoreError>;
    /// Append several steps at once, in order. Stores should write them as
    /// one record: a short run's whole history is then one write, which is
    /// what keeps the API-call trigger fast.
    fn append_steps(&self, run_id: &str, steps: &[StepRecord]) -> Result<(), StoreError> {
        steps.iter().try_for_each(|s| self.append_step(run_id, s))
    }
    fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError>;
    /// Replace a run record only while the stored one has status
    /// `expected`, durably; false (nothing written) otherwise. For moves
    /// two processes sharing the store may race for (a paused run's
    /// answer, timeout or stop). The default reads, compares, writes and
    /// flushes: atomic only among callers of one process that serialize
    /// their moves (as [`crate::input_form`] does); a store shared by
    /// several processes overrides it with one conditional write.
    fn put_run_if(&self, record: &RunRecord, expected: RunStatus) -> Result<bool, StoreError> {
        // Reads show only what is durable: staged writes of this run first.
        self.flush()?;
        match self.get_run(&record.id)? {
            Some(current) if current.status == expected => {}
            _ => return Ok(false),
        }
        self.put_run(record)?;
        self.flush()?;
        Ok(true)
    }
    /// Steps in order.
    fn steps(&self, run_id: &str) -> Result<Vec<StepRecord>, StoreError>;
    /// Newest first.
    fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError>;
    /// Visit runs newest first, starting just after `before` (a run id;
    /// `None` starts at the newest), until `visit` returns false. Paged
    /// listing walks history with this without reading it all: stores
    /// keyed by run id should seek to `before` rather than filter.
    fn scan_runs(
        &self,
        before: Option<&str>,
        visit: &mut dyn FnMut(RunRecord) -> bool,
    ) -> Result<(), StoreError> {
        for run in self.list_runs(&RunFilter::default())? {
            if before.is_some_and(|b| run.id.as_str() >= b) {
                continue;
            }
            if !visit(run) {
                break;
            }
        }
        Ok(())
    }
    /// Remove a run, its steps and sealed copies; false if there was none
    /// (among committed runs). Like every write, the removal is durable
    /// and visible from the next commit.
    fn delete_run(&self, run_id: &str) -> Result<bool, StoreError>;
    /// Keep a run's sealed copy of step `seq`'s output (a censored block's,
    /// or one whose history copy lost secrets to scrubbing): a resumed run
    /// feeds it to the blocks after. Sealed by the host; opaque here.
    fn put_sealed(&self, run_id: &str, seq: u64, sealed: &str) -> Result<(), StoreError>;
    /// A run's sealed outputs by step number.
    fn sealed(&self, run_id: &str) -> Result<BTreeMap<u64, String>, StoreError>;
    /// Drop a run's sealed outputs (it ended: nothing will resume it).
    fn drop_sealed(&self, run_id: &str) -> Result<(), StoreError>;
    /// Wait until every write made so far is durable (and visible).
    fn flush(&self) -> Result<(), StoreError>;
    /// [`RunStore::flush`] without holding a thread: the future resolves
    /// once the writes made before this call are durable. Stores that
    /// write synchronously keep the default.
    fn committed(&self) -> Committed {
        let done = self.flush();
        Box::pin(async move { done })
    }
    /// Group-commit figures, for stores that batch their flushes.
    fn commit_stats(&self) -> Option<CommitStats> {
        None
    }

    // State between runs ([`state`]): a few keys per automation. Every
    // write checks `limits` (key, value, key count), is atomic per key,
    // and returns only once it is durable; reads see durable values only.

    /// One key of `automation`'s state.
    fn state_get(&self, automation: &str, key: &str) -> Result<Option<StateEntry>, StoreError>;
    /// All of `automation`'s state, by key.
    fn state_list(&self, automation: &str) -> Result<Vec<StateEntry>, StoreError>;
    /// Write a key (created if missing).
    fn state_set(
        &self,
        automation: &str,
        key: &str,
        value: &Value,
        limits: &StateLimits,
    ) -> Result<StateEntry, StateError>;
    /// Add `by` to a numeric key (a missing key counts as 0) as one
    /// read-modify-write: concurrent increments of one key never lose one.
    fn state_increment(
        &self,
        automation: &str,
        key: &str,
        by: &serde_json::Number,
        limits: &StateLimits,
    ) -> Result<StateEntry, StateError>;
    /// Remove a key; false if there was none.
    fn state_delete(&self, automation: &str, key: &str) -> Result<bool, StoreError>;
    /// Remove all of `automation`'s state (it was deleted).
    fn state_clear(&self, automation: &str) -> Result<(), StoreError>;
}
