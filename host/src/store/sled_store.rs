//! The embedded default store on sled.
//!
//! Trees: `runs` maps run id → run record (JSON); `steps` maps
//! run id ‖ 0x00 ‖ big-endian seq → step record, so a prefix scan returns a
//! run's steps in order. Run ids are UUIDv7 (time-ordered), so iterating
//! `runs` backwards lists newest first.

use super::{RunFilter, RunRecord, RunStore, StepRecord, StoreError};
use std::path::Path;

pub struct SledStore {
    db: sled::Db,
    runs: sled::Tree,
    steps: sled::Tree,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Page cache for run history.
const CACHE_BYTES: u64 = 4 << 20;

impl SledStore {
    /// Open (or create) the store in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir.as_ref())
            .flush_every_ms(Some(200))
            // History is written far more than it is read back; sled's
            // default (LowSpace) rewrites pages eagerly to stay compact.
            .mode(sled::Mode::HighThroughput)
            // The default cache is 1 GiB; runs are read back rarely, so a
            // small cache keeps the server's memory flat.
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(|e| {
                StoreError::Backend(format!("cannot open {}: {e}", dir.as_ref().display()))
            })?;
        let runs = db.open_tree("runs").map_err(backend)?;
        let steps = db.open_tree("steps").map_err(backend)?;
        Ok(SledStore { db, runs, steps })
    }

    /// A throwaway store in a temporary location, removed on drop.
    pub fn temporary() -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .temporary(true)
            .open()
            .map_err(backend)?;
        let runs = db.open_tree("runs").map_err(backend)?;
        let steps = db.open_tree("steps").map_err(backend)?;
        Ok(SledStore { db, runs, steps })
    }

    fn step_key(run_id: &str, seq: u64) -> Vec<u8> {
        let mut key = Vec::with_capacity(run_id.len() + 9);
        key.extend_from_slice(run_id.as_bytes());
        key.push(0);
        key.extend_from_slice(&seq.to_be_bytes());
        key
    }

    fn step_prefix(run_id: &str) -> Vec<u8> {
        let mut key = run_id.as_bytes().to_vec();
        key.push(0);
        key
    }
}

fn decode<T: serde::de::DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

impl RunStore for SledStore {
    fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(run).map_err(backend)?;
        self.runs
            .insert(run.id.as_bytes(), bytes)
            .map_err(backend)?;
        Ok(())
    }

    fn append_step(&self, run_id: &str, step: &StepRecord) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(step).map_err(backend)?;
        self.steps
            .insert(Self::step_key(run_id, step.seq), bytes)
            .map_err(backend)?;
        Ok(())
    }

    /// One value holding a JSON array of the steps, keyed by the first
    /// step's sequence number; [`RunStore::steps`] reads both shapes.
    fn append_steps(&self, run_id: &str, steps: &[StepRecord]) -> Result<(), StoreError> {
        let Some(first) = steps.first() else {
            return Ok(());
        };
        let bytes = serde_json::to_vec(steps).map_err(backend)?;
        self.steps
            .insert(Self::step_key(run_id, first.seq), bytes)
            .map_err(backend)?;
        Ok(())
    }

    fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        match self.runs.get(run_id.as_bytes()).map_err(backend)? {
            Some(bytes) => decode(run_id.as_bytes(), &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn steps(&self, run_id: &str) -> Result<Vec<StepRecord>, StoreError> {
        let mut steps = Vec::new();
        for item in self.steps.scan_prefix(Self::step_prefix(run_id)) {
            let (k, v) = item.map_err(backend)?;
            if v.first() == Some(&b'[') {
                steps.extend(decode::<Vec<StepRecord>>(&k, &v)?);
            } else {
                steps.push(decode(&k, &v)?);
            }
        }
        Ok(steps)
    }

    fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        let limit = filter.limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        for item in self.runs.iter().rev() {
            if out.len() >= limit {
                break;
            }
            let (k, v) = item.map_err(backend)?;
            let run: RunRecord = decode(&k, &v)?;
            if filter
                .automation_id
                .as_deref()
                .is_none_or(|a| a == run.automation_id)
            {
                out.push(run);
            }
        }
        Ok(out)
    }

    /// Seeks to `before`: run ids are UUIDv7, so key order is time order.
    fn scan_runs(
        &self,
        before: Option<&str>,
        visit: &mut dyn FnMut(RunRecord) -> bool,
    ) -> Result<(), StoreError> {
        let range = match before {
            Some(b) => self.runs.range(..b.as_bytes()),
            None => self.runs.iter(),
        };
        for item in range.rev() {
            let (k, v) = item.map_err(backend)?;
            if !visit(decode(&k, &v)?) {
                break;
            }
        }
        Ok(())
    }

    fn delete_run(&self, run_id: &str) -> Result<bool, StoreError> {
        let existed = self
            .runs
            .remove(run_id.as_bytes())
            .map_err(backend)?
            .is_some();
        let keys: Vec<sled::IVec> = self
            .steps
            .scan_prefix(Self::step_prefix(run_id))
            .keys()
            .collect::<Result<_, _>>()
            .map_err(backend)?;
        for k in keys {
            self.steps.remove(k).map_err(backend)?;
        }
        Ok(existed)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(backend)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RunStatus, StepStatus, Trigger};
    use serde_json::json;

    fn run(id: &str, automation: &str) -> RunRecord {
        RunRecord {
            id: id.into(),
            automation_id: automation.into(),
            automation_version: 1,
            automation_name: automation.into(),
            owner: None,
            trigger: Trigger {
                kind: "cli".into(),
                detail: json!(null),
            },
            status: RunStatus::Running,
            created_at: 1,
            started_at: Some(1),
            finished_at: None,
            input: json!({}),
            output: json!(null),
            error: None,
            warnings: vec![],
        }
    }

    fn step(seq: u64) -> StepRecord {
        StepRecord {
            seq,
            block_id: format!("b{seq}"),
            block_type: "variable".into(),
            target: None,
            status: StepStatus::Succeeded,
            attempts: 1,
            started_at: 1,
            duration_us: 5,
            iteration: vec![],
            input: Some(json!(seq)),
            output: None,
            error: None,
            fuel_used: None,
            http_calls: vec![],
            logs: vec![],
            censored: false,
            input_bytes: 1,
            output_bytes: 0,
            child_run_id: None,
            connector_version: None,
        }
    }

    #[test]
    fn steps_written_before_chaining_still_load() {
        let mut old = serde_json::to_value(step(0)).expect("json");
        assert!(old.get("child_run_id").is_none(), "not written when absent");
        old.as_object_mut().expect("object").remove("child_run_id");
        let back: StepRecord = serde_json::from_value(old).expect("old step loads");
        assert_eq!(back, step(0));
    }

    #[test]
    fn step_pages_and_single_steps_read_back_in_order() {
        let store = SledStore::temporary().expect("store");
        store
            .append_steps("r", &[step(0), step(1), step(2)])
            .expect("page");
        store.append_step("r", &step(3)).expect("single");
        store.append_steps("r", &[]).expect("empty page is nothing");
        store.append_steps("r", &[step(4), step(5)]).expect("page");
        let seqs: Vec<u64> = store
            .steps("r")
            .expect("steps")
            .iter()
            .map(|s| s.seq)
            .collect();
        assert_eq!(seqs, [0, 1, 2, 3, 4, 5]);
        assert!(store.delete_run("r").is_ok());
        assert!(store.steps("r").expect("steps").is_empty());
    }

    #[test]
    fn runs_and_steps_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = SledStore::open(dir.path()).expect("open");
            store.put_run(&run("01-a", "x")).expect("put");
            store.put_run(&run("02-b", "y")).expect("put");
            // Seq 256 after 2 checks big-endian ordering.
            for seq in [0, 1, 2, 256] {
                store.append_step("01-a", &step(seq)).expect("step");
            }
            store
                .append_step("01-ab", &step(0))
                .expect("a run id that extends another");
            let mut done = run("01-a", "x");
            done.status = RunStatus::Finished;
            store.put_run(&done).expect("update");
            store.flush().expect("flush");
        }
        let store = SledStore::open(dir.path()).expect("reopen");
        let r = store.get_run("01-a").expect("get").expect("present");
        assert_eq!(r.status, RunStatus::Finished);
        let seqs: Vec<u64> = store
            .steps("01-a")
            .expect("steps")
            .iter()
            .map(|s| s.seq)
            .collect();
        assert_eq!(seqs, [0, 1, 2, 256]);
        let all = store.list_runs(&RunFilter::default()).expect("list");
        assert_eq!(
            all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["02-b", "01-a"]
        );
        let only_x = store
            .list_runs(&RunFilter {
                automation_id: Some("x".into()),
                limit: None,
            })
            .expect("list");
        assert_eq!(only_x.len(), 1);
        assert!(store.delete_run("01-a").expect("delete"));
        assert!(store.steps("01-a").expect("steps").is_empty());
        assert_eq!(store.steps("01-ab").expect("steps").len(), 1);
        assert!(!store.delete_run("01-a").expect("delete again"));
    }
}
