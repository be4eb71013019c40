//! How often each queued run was cut short by the server stopping without
//! shutting down in order, kept durably so that a run which takes the
//! server down (by exhausting it, say) cannot do so again at the restart.
//!
//! The queue marks a run started — and flushes the mark — just before it
//! walks it, and forgets the mark when the walk ends. A `weft serve` that
//! shuts down in order (SIGTERM, Ctrl-C) takes back the marks of the runs
//! it was walking ([`RunStarts::stopped_in_order`]): those runs did not
//! bring it down. A run found unfinished at start whose marks say N is
//! therefore one in progress at N crashes (or kills) of the server (a run
//! still `queued` may have been started: the history shows it `running`
//! only after its first 100 ms). Once N reaches `max_run_interruptions`
//! the run is failed instead of resumed.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

/// Default for `max_run_interruptions`: a run in progress when the server
/// crashed is not started again, so no run can take it down twice.
pub const DEFAULT_MAX_RUN_INTERRUPTIONS: u32 = 1;

/// The `run_starts` tree: run id → times started (u32, big-endian).
#[derive(Clone)]
pub struct RunStarts {
    tree: sled::Tree,
    /// The runs this process marked and is walking now.
    walking: Arc<Mutex<HashSet<String>>>,
}

impl RunStarts {
    pub fn open(db: &sled::Db) -> Result<Self, sled::Error> {
        Ok(RunStarts {
            tree: db.open_tree("run_starts")?,
            walking: Arc::default(),
        })
    }

    /// Times `run_id` was started and cut short by a stop that was not in
    /// order; `None` when it has no marks at all (a run from before marks
    /// were kept, or never started).
    pub fn count(&self, run_id: &str) -> Result<Option<u32>, sled::Error> {
        Ok(self.tree.get(run_id)?.map(|v| decode(&v)))
    }

    fn walking(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A set of ids: a panic elsewhere cannot leave it half changed.
        self.walking.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The server is shutting down in order: the runs it is walking did
    /// not bring it down, so their starts in this process are taken back
    /// (durably). They resume at the next start as if never started here.
    /// Returns how many.
    pub fn stopped_in_order(&self) -> Result<usize, sled::Error> {
        let ids: Vec<String> = self.walking().drain().collect();
        for id in &ids {
            self.tree.update_and_fetch(id.as_str(), |old| {
                old.map(|v| decode(v).saturating_sub(1).to_be_bytes().to_vec())
            })?;
        }
        self.tree.flush()?;
        Ok(ids.len())
    }

    /// Record one more start of `run_id`, durably, before it runs.
    pub fn mark(&self, run_id: &str) -> Result<u32, sled::Error> {
        let next = self
            .tree
            .update_and_fetch(run_id, |old| {
                Some(
                    old.map_or(0, decode)
                        .saturating_add(1)
                        .to_be_bytes()
                        .to_vec(),
                )
            })?
            .map_or(1, |v| decode(&v));
        self.tree.flush()?;
        self.walking().insert(run_id.to_string());
        Ok(next)
    }

    /// The run ended (any way): its marks are no longer needed. Not
    /// flushed: a mark that survives a crash belongs to a finished run,
    /// which recovery never looks at.
    pub fn forget(&self, run_id: &str) {
        self.walking().remove(run_id);
        if let Err(e) = self.tree.remove(run_id) {
            tracing::warn!(run_id, "cannot forget the run's start marks: {e}");
        }
    }
}

fn decode(bytes: &[u8]) -> u32 {
    <[u8; 4]>::try_from(bytes).map_or(0, u32::from_be_bytes)
}

/// The message of a run failed because the server kept stopping under it.
pub fn not_retried(interruptions: u32) -> String {
    let times = match interruptions {
        1 => "once".to_string(),
        n => format!("{n} times"),
    };
    format!(
        "the server stopped without shutting down in order {times} while this run was in progress (the run may have been the cause); it was not retried (max_run_interruptions)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_count_and_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let db = sled::open(dir.path()).expect("open");
            let starts = RunStarts::open(&db).expect("tree");
            assert_eq!(starts.count("r1").expect("count"), None);
            assert_eq!(starts.mark("r1").expect("mark"), 1);
            assert_eq!(starts.mark("r1").expect("mark"), 2);
            starts.mark("r2").expect("mark");
            starts.forget("r2");
        }
        let db = sled::open(dir.path()).expect("reopen");
        let starts = RunStarts::open(&db).expect("tree");
        assert_eq!(starts.count("r1").expect("count"), Some(2));
        assert_eq!(starts.count("r2").expect("count"), None);
    }

    #[test]
    fn a_stop_in_order_takes_back_the_starts_of_the_runs_being_walked() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let db = sled::open(dir.path()).expect("open");
            let starts = RunStarts::open(&db).expect("tree");
            starts.mark("walking").expect("mark");
            starts.mark("crashed-before").expect("mark");
            starts.forget("crashed-before");
            assert_eq!(starts.stopped_in_order().expect("stop"), 1);
        }
        let db = sled::open(dir.path()).expect("reopen");
        let starts = RunStarts::open(&db).expect("tree");
        assert_eq!(starts.count("walking").expect("count"), Some(0));
        assert_eq!(starts.count("crashed-before").expect("count"), None);
    }
}
