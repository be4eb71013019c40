//! History retention: runs older than the retention period (30 days by
//! default) and runs beyond a per-automation cap (5,000 by default, newest
//! kept) are deleted with their steps. [`sweep`] takes the current time as
//! an argument, so tests drive it with a clock of their own; the server
//! runs it hourly with the real one.

use std::collections::HashMap;
use std::time::Duration;
use weft_host::RunStore;
use weft_host::store::{RunFilter, StoreError};

#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub max_age: Duration,
    pub max_runs_per_automation: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            max_age: Duration::from_secs(30 * 24 * 3600),
            max_runs_per_automation: 5000,
        }
    }
}

/// Delete what `policy` no longer keeps, as of `now_ms`. Runs still queued
/// or running are never deleted. Returns how many runs were removed.
pub fn sweep(store: &dyn RunStore, policy: Retention, now_ms: i64) -> Result<usize, StoreError> {
    let cutoff = now_ms - i64::try_from(policy.max_age.as_millis()).unwrap_or(i64::MAX);
    let mut kept_per_automation: HashMap<String, usize> = HashMap::new();
    let mut removed = 0;
    // Newest first, so the cap keeps the newest runs.
    for run in store.list_runs(&RunFilter::default())? {
        if !run.status.is_final() {
            continue;
        }
        let kept = kept_per_automation
            .entry(run.automation_id.clone())
            .or_default();
        let too_old = run.created_at < cutoff;
        if too_old || *kept >= policy.max_runs_per_automation {
            store.delete_run(&run.id)?;
            removed += 1;
        } else {
            *kept += 1;
        }
    }
    if removed > 0 {
        // One commit for the whole sweep, not one per run.
        store.flush()?;
    }
    Ok(removed)
}

/// Sweep every `every` with the system clock until the engine is gone.
pub fn start(weft: weft_host::WeakWeft, policy: Retention, every: Duration) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        loop {
            interval.tick().await;
            let Some(weft) = weft.upgrade() else { return };
            match sweep(weft.store(), policy, crate::now_ms()) {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "retention removed old runs"),
                Err(e) => tracing::error!("retention: {e}"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use weft_host::SledStore;
    use weft_host::store::{RunRecord, RunStatus, StepRecord, StepStatus, Trigger};

    const DAY: i64 = 24 * 3600 * 1000;

    fn run(id: &str, automation: &str, created_at: i64, status: RunStatus) -> RunRecord {
        RunRecord {
            id: id.into(),
            automation_id: automation.into(),
            automation_version: 1,
            automation_name: automation.into(),
            owner: None,
            trigger: Trigger::custom("test"),
            status,
            created_at,
            started_at: None,
            finished_at: None,
            input: json!({}),
            output: json!(null),
            error: None,
            warnings: vec![],
            resumed: None,
            title: None,
            in_flight: None,
            waiting_for: None,
        }
    }

    fn step() -> StepRecord {
        StepRecord {
            seq: 0,
            block_id: "Start".into(),
            block_type: "start".into(),
            target: None,
            status: StepStatus::Succeeded,
            attempts: 1,
            started_at: 0,
            duration_us: 1,
            iteration: vec![],
            input: None,
            output: None,
            error: None,
            fuel_used: None,
            http_calls: vec![],
            logs: vec![],
            censored: false,
            input_bytes: 0,
            output_bytes: 0,
            child_run_id: None,
            connector_version: None,
            failure: None,
        }
    }

    #[test]
    fn old_runs_and_runs_over_the_cap_go_with_their_steps() {
        let store = SledStore::temporary().expect("store");
        let now = 100 * DAY;
        // Ids sort by time, as UUIDv7 ids do.
        let runs = [
            run("a1", "a", now - 40 * DAY, RunStatus::Finished),
            run("a2", "a", now - 31 * DAY, RunStatus::Failed),
            run("a3", "a", now - 29 * DAY, RunStatus::Finished),
            run("a4", "a", now - 2 * DAY, RunStatus::Finished),
            run("a5", "a", now - DAY, RunStatus::Finished),
            run("a6", "a", now - 50 * DAY, RunStatus::Queued),
            run("b1", "b", now - DAY, RunStatus::Finished),
        ];
        for r in &runs {
            store.put_run(r).expect("put");
            store.append_step(&r.id, &step()).expect("step");
        }
        store.flush().expect("commit");
        let policy = Retention {
            max_age: Duration::from_secs(30 * 24 * 3600),
            max_runs_per_automation: 2,
        };
        let removed = sweep(&store, policy, now).expect("sweep");
        // a1, a2 too old; a3 over the cap of 2 (a5, a4 kept); a6 still queued.
        assert_eq!(removed, 3);
        let mut left: Vec<String> = store
            .list_runs(&RunFilter::default())
            .expect("list")
            .into_iter()
            .map(|r| r.id)
            .collect();
        left.sort();
        assert_eq!(left, ["a4", "a5", "a6", "b1"]);
        assert!(store.steps("a1").expect("steps").is_empty());
        assert_eq!(store.steps("a4").expect("steps").len(), 1);
        // A later clock ages out more; nothing is deleted twice.
        assert_eq!(sweep(&store, policy, now + 30 * DAY).expect("sweep"), 3);
        assert_eq!(sweep(&store, policy, now + 30 * DAY).expect("sweep"), 0);
    }
}
