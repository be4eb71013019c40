//! The embedded default store on sled.
//!
//! Trees: `runs` maps run id → run record (JSON); `steps` maps
//! run id ‖ 0x00 ‖ big-endian seq → step record, so a prefix scan returns a
//! run's steps in order; `sealed` maps the same keys to the sealed outputs
//! a resumed run needs. Run ids are UUIDv7 (time-ordered), so iterating
//! `runs` backwards lists newest first.
//!
//! Writes go through group commit ([`super::commit`]): they are staged,
//! and become visible to reads only once a batch holding them is on disk.

use super::commit::{CommitStats, Committer, Op, TreeId, Trees};
use super::state::{StateEntry, StateError, StateLimits};
use super::{Committed, RunFilter, RunRecord, RunStore, StepRecord, StoreError};
use serde_json::{Number, Value};
use std::collections::BTreeMap;
use std::path::Path;

pub struct SledStore {
    pub(super) trees: Trees,
    pub(super) committer: Committer,
    /// Held across a state write's read, write and commit, so that
    /// concurrent increments never read the same old value
    /// ([`super::sled_state`]).
    pub(super) state_lock: std::sync::Mutex<()>,
}

pub(super) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Page cache for run history.
const CACHE_BYTES: u64 = 4 << 20;

impl SledStore {
    /// Open (or create) the store in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir.as_ref())
            // The committer flushes every batch before showing it; a
            // timer flush on top would only add disk work.
            .flush_every_ms(None)
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
        Self::on(db)
    }

    /// A throwaway store in a temporary location, removed on drop.
    pub fn temporary() -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .temporary(true)
            .open()
            .map_err(backend)?;
        Self::on(db)
    }

    fn on(db: sled::Db) -> Result<Self, StoreError> {
        let trees = Trees {
            runs: db.open_tree("runs").map_err(backend)?,
            steps: db.open_tree("steps").map_err(backend)?,
            sealed: db.open_tree("sealed").map_err(backend)?,
            state: db.open_tree("state").map_err(backend)?,
            db,
            #[cfg(test)]
            before_flush: None,
        };
        let committer = Committer::start(trees.clone())?;
        Ok(SledStore {
            trees,
            committer,
            state_lock: std::sync::Mutex::new(()),
        })
    }

    /// Group-commit figures so far.
    pub fn commit_stats(&self) -> CommitStats {
        self.committer.stats()
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

pub(super) fn decode<T: serde::de::DeserializeOwned>(
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

impl RunStore for SledStore {
    fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let value = serde_json::to_vec(run).map_err(backend)?;
        self.committer.stage([Op::Insert {
            tree: TreeId::Runs,
            key: run.id.as_bytes().to_vec(),
            value,
        }])?;
        Ok(())
    }

    fn append_step(&self, run_id: &str, step: &StepRecord) -> Result<(), StoreError> {
        let value = serde_json::to_vec(step).map_err(backend)?;
        self.committer.stage([Op::Insert {
            tree: TreeId::Steps,
            key: Self::step_key(run_id, step.seq),
            value,
        }])?;
        Ok(())
    }

    /// One value holding a JSON array of the steps, keyed by the first
    /// step's sequence number; [`RunStore::steps`] reads both shapes.
    fn append_steps(&self, run_id: &str, steps: &[StepRecord]) -> Result<(), StoreError> {
        let Some(first) = steps.first() else {
            return Ok(());
        };
        let value = serde_json::to_vec(steps).map_err(backend)?;
        self.committer.stage([Op::Insert {
            tree: TreeId::Steps,
            key: Self::step_key(run_id, first.seq),
            value,
        }])?;
        Ok(())
    }

    fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        let _committed = self.committer.read_run(run_id)?;
        match self.trees.runs.get(run_id.as_bytes()).map_err(backend)? {
            Some(bytes) => decode(run_id.as_bytes(), &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn steps(&self, run_id: &str) -> Result<Vec<StepRecord>, StoreError> {
        let _committed = self.committer.read_run(run_id)?;
        let mut steps = Vec::new();
        for item in self.trees.steps.scan_prefix(Self::step_prefix(run_id)) {
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
        let _committed = self.committer.read_all()?;
        let limit = filter.limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        for item in self.trees.runs.iter().rev() {
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
        let _committed = self.committer.read_all()?;
        let range = match before {
            Some(b) => self.trees.runs.range(..b.as_bytes()),
            None => self.trees.runs.iter(),
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
        let existed = self.get_run(run_id)?.is_some();
        self.committer.stage([
            Op::Remove {
                tree: TreeId::Runs,
                key: run_id.as_bytes().to_vec(),
            },
            Op::RemovePrefix {
                tree: TreeId::Steps,
                prefix: Self::step_prefix(run_id),
            },
            Op::RemovePrefix {
                tree: TreeId::Sealed,
                prefix: Self::step_prefix(run_id),
            },
        ])?;
        Ok(existed)
    }

    fn put_sealed(&self, run_id: &str, seq: u64, sealed: &str) -> Result<(), StoreError> {
        self.committer.stage([Op::Insert {
            tree: TreeId::Sealed,
            key: Self::step_key(run_id, seq),
            value: sealed.as_bytes().to_vec(),
        }])?;
        Ok(())
    }

    fn sealed(&self, run_id: &str) -> Result<BTreeMap<u64, String>, StoreError> {
        let _committed = self.committer.read_run(run_id)?;
        let prefix = Self::step_prefix(run_id);
        let mut out = BTreeMap::new();
        for item in self.trees.sealed.scan_prefix(&prefix) {
            let (k, v) = item.map_err(backend)?;
            let seq = <[u8; 8]>::try_from(&k[prefix.len()..])
                .map(u64::from_be_bytes)
                .map_err(|_| StoreError::Corrupt {
                    key: String::from_utf8_lossy(&k).into_owned(),
                    reason: "not a run id and step number".into(),
                })?;
            let text = String::from_utf8(v.to_vec()).map_err(|e| StoreError::Corrupt {
                key: String::from_utf8_lossy(&k).into_owned(),
                reason: e.to_string(),
            })?;
            out.insert(seq, text);
        }
        Ok(out)
    }

    fn drop_sealed(&self, run_id: &str) -> Result<(), StoreError> {
        self.committer.stage([Op::RemovePrefix {
            tree: TreeId::Sealed,
            prefix: Self::step_prefix(run_id),
        }])?;
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.committer.wait()
    }

    fn committed(&self) -> Committed {
        self.committer.committed()
    }

    fn commit_stats(&self) -> Option<CommitStats> {
        Some(self.committer.stats())
    }

    fn state_get(&self, automation: &str, key: &str) -> Result<Option<StateEntry>, StoreError> {
        self.state_get_impl(automation, key)
    }

    fn state_list(&self, automation: &str) -> Result<Vec<StateEntry>, StoreError> {
        self.state_list_impl(automation)
    }

    fn state_set(
        &self,
        automation: &str,
        key: &str,
        value: &Value,
        limits: &StateLimits,
    ) -> Result<StateEntry, StateError> {
        self.state_write(automation, key, limits, |_| Ok(value.clone()))
    }

    fn state_increment(
        &self,
        automation: &str,
        key: &str,
        by: &Number,
        limits: &StateLimits,
    ) -> Result<StateEntry, StateError> {
        self.state_increment_impl(automation, key, by, limits)
    }

    fn state_delete(&self, automation: &str, key: &str) -> Result<bool, StoreError> {
        self.state_remove(automation, Some(key))
    }

    fn state_clear(&self, automation: &str) -> Result<(), StoreError> {
        self.state_remove(automation, None).map(|_| ())
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
            trigger: Trigger::Cli,
            status: RunStatus::Running,
            created_at: 1,
            started_at: Some(1),
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
            failure: None,
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
        assert!(
            store.steps("r").is_ok(),
            "reads never block on staged writes"
        );
        store.flush().expect("commit");
        let seqs: Vec<u64> = store
            .steps("r")
            .expect("steps")
            .iter()
            .map(|s| s.seq)
            .collect();
        assert_eq!(seqs, [0, 1, 2, 3, 4, 5]);
        assert!(store.delete_run("r").is_ok());
        store.flush().expect("commit");
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
        store.flush().expect("commit");
        assert!(store.steps("01-a").expect("steps").is_empty());
        assert_eq!(store.steps("01-ab").expect("steps").len(), 1);
        assert!(!store.delete_run("01-a").expect("delete again"));
    }
}
