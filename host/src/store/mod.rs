//! Run history: the run records and per-block step records the walker
//! writes as a run progresses, behind [`RunStore`] so the embedded sled
//! store ([`SledStore`]) can be swapped for a shared database in
//! multi-node deployments.

mod sled_store;

pub use sled_store::SledStore;

use crate::guest_log::LogLine;
use crate::outbound_http::HttpCall;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("history store: {0}")]
    Backend(String),
    #[error("history store holds an unreadable record {key}: {reason}")]
    Corrupt { key: String, reason: String },
}

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    Queued,
    Running,
    Finished,
    FinishedWithWarnings,
    Failed,
    Stopped,
}

impl RunStatus {
    pub fn is_final(self) -> bool {
        !matches!(self, RunStatus::Queued | RunStatus::Running)
    }
}

/// What started a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    /// `manual`, `cli`, `api`, `schedule`, `webhook`, `embedded`, …
    pub kind: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub detail: Value,
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
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub automation_id: Option<String>,
    pub limit: Option<usize>,
}

/// Storage for runs and their steps. Implementations must make each write
/// durable in order (a crash leaves a prefix of the steps, never a gap).
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
    /// Remove a run and its steps; false if there was none.
    fn delete_run(&self, run_id: &str) -> Result<bool, StoreError>;
    /// Make everything written so far durable.
    fn flush(&self) -> Result<(), StoreError>;
}
