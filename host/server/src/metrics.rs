//! `/metrics` in the Prometheus text format: runs by status, block
//! invocations, fuel used, outbound HTTP calls by connector and status,
//! the run queue's depth, and the history store's group commits.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use weft_host::RunResult;

#[derive(Default)]
pub struct Metrics {
    runs: Mutex<BTreeMap<String, u64>>,
    block_invocations: AtomicU64,
    fuel_used: AtomicU64,
    /// (connector, status) → calls.
    http_calls: Mutex<BTreeMap<(String, String), u64>>,
    /// Runs queued or running.
    pub queue_depth: AtomicI64,
}

impl Metrics {
    /// Count a finished run and everything its steps did.
    pub fn record_run(&self, result: &RunResult) {
        let status = serde_json::to_value(result.record.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *self
            .runs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(status)
            .or_default() += 1;
        let mut calls = self.http_calls.lock().unwrap_or_else(|p| p.into_inner());
        for step in &result.steps {
            let Some(target) = &step.target else { continue };
            self.block_invocations
                .fetch_add(u64::from(step.attempts), Ordering::Relaxed);
            self.fuel_used
                .fetch_add(step.fuel_used.unwrap_or(0), Ordering::Relaxed);
            let connector = target.split('/').next().unwrap_or_default().to_string();
            for call in &step.http_calls {
                let status = call
                    .status
                    .map_or_else(|| "error".to_string(), |s| s.to_string());
                *calls.entry((connector.clone(), status)).or_default() += 1;
            }
        }
    }

    /// `commits`: the history store's group-commit figures, if it batches.
    pub fn render(&self, commits: Option<weft_host::store::CommitStats>) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP weft_runs_total Finished runs by final status.\n# TYPE weft_runs_total counter"
        );
        for (status, n) in self.runs.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(out, "weft_runs_total{{status=\"{status}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP weft_block_invocations_total Connector and standard block invocations (retries included).\n# TYPE weft_block_invocations_total counter\nweft_block_invocations_total {}",
            self.block_invocations.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP weft_fuel_used_total Fuel consumed by blocks.\n# TYPE weft_fuel_used_total counter\nweft_fuel_used_total {}",
            self.fuel_used.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP weft_http_calls_total Outbound HTTP calls by connector and status.\n# TYPE weft_http_calls_total counter"
        );
        for ((connector, status), n) in self
            .http_calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "weft_http_calls_total{{connector=\"{connector}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP weft_queue_depth Runs queued or running.\n# TYPE weft_queue_depth gauge\nweft_queue_depth {}",
            self.queue_depth.load(Ordering::Relaxed).max(0)
        );
        if let Some(c) = commits {
            let _ = writeln!(
                out,
                "# HELP weft_history_commits_total Group commits of the history store (one flush each).\n# TYPE weft_history_commits_total counter\nweft_history_commits_total {}",
                c.batches
            );
            let _ = writeln!(
                out,
                "# HELP weft_history_commit_writes_total Writes made durable by group commits.\n# TYPE weft_history_commit_writes_total counter\nweft_history_commit_writes_total {}",
                c.writes
            );
            let _ = writeln!(
                out,
                "# HELP weft_history_commit_largest_batch Most writes one group commit has flushed.\n# TYPE weft_history_commit_largest_batch gauge\nweft_history_commit_largest_batch {}",
                c.largest_batch
            );
        }
        out
    }
}
