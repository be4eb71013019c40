//! How often each queued run has been started, kept durably so that a run
//! which takes the server down (by exhausting it, say) cannot do so at
//! every restart.
//!
//! The queue marks a run started — and flushes the mark — just before it
//! walks it, and forgets the mark when the walk ends. A run found unfinished
//! at start whose marks say it was started N times was in progress at N
//! stops of the server (a run still `queued` may have been started: the
//! history shows it `running` only after its first 100 ms). Once N reaches
//! `max_run_interruptions` the run is failed instead of resumed.

/// Default for `max_run_interruptions`: a run in progress at two stops of
/// the server is not started a third time.
pub const DEFAULT_MAX_RUN_INTERRUPTIONS: u32 = 2;

/// The `run_starts` tree: run id → times started (u32, big-endian).
#[derive(Clone)]
pub struct RunStarts {
    tree: sled::Tree,
}

impl RunStarts {
    pub fn open(db: &sled::Db) -> Result<Self, sled::Error> {
        Ok(RunStarts {
            tree: db.open_tree("run_starts")?,
        })
    }

    /// Times `run_id` was started and did not finish.
    pub fn count(&self, run_id: &str) -> Result<u32, sled::Error> {
        Ok(self.tree.get(run_id)?.map_or(0, |v| decode(&v)))
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
        Ok(next)
    }

    /// The run ended (any way): its marks are no longer needed. Not
    /// flushed: a mark that survives a crash belongs to a finished run,
    /// which recovery never looks at.
    pub fn forget(&self, run_id: &str) {
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
    format!(
        "the server stopped {interruptions} times while this run was in progress; it was not retried"
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
            assert_eq!(starts.count("r1").expect("count"), 0);
            assert_eq!(starts.mark("r1").expect("mark"), 1);
            assert_eq!(starts.mark("r1").expect("mark"), 2);
            starts.mark("r2").expect("mark");
            starts.forget("r2");
        }
        let db = sled::open(dir.path()).expect("reopen");
        let starts = RunStarts::open(&db).expect("tree");
        assert_eq!(starts.count("r1").expect("count"), 2);
        assert_eq!(starts.count("r2").expect("count"), 0);
    }
}
