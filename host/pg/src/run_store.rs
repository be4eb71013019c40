//! Run history on PostgreSQL: [`PgRunStore`], the [`RunStore`] several
//! hosts share.
//!
//! Tables `runs`, `run_steps` (one row per append: a JSON array of steps
//! from `first_seq` on), `run_sealed` and `automation_state`
//! (`migrations/0001_init.sql`). Records are kept as the serde_json text
//! the API shows, so their key order survives.
//!
//! Writes are queued and committed in groups by one writer task
//! ([`crate::writer`]); reads query the database, and so see committed
//! rows only, which is the trait's "nothing shown before it is durable".
//! Every `put_run` of a queued or running record also writes this host's
//! lease on it (`lease_owner`, `lease_until = now() + lease`); a paused or
//! final record clears it. Renewing and taking over leases is another
//! module's work.

use crate::writer::{LeaseHolder, Op, Writer};
use crate::{Database, PgError};
use serde_json::{Number, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use weft_host::store::{
    CommitStats, Committed, RunFilter, RunRecord, RunStatus, RunStore, StateEntry, StateError,
    StateLimits, StepRecord, StoreError,
};

/// How many runs [`RunStore::scan_runs`] reads per query.
const SCAN_PAGE: i64 = 200;

/// The history store on a shared PostgreSQL database.
pub struct PgRunStore {
    // Dropped first: its drop writes what is still queued, which needs
    // the database's runtime alive.
    writer: Writer,
    db: Database,
    /// This host and its lease, for the conditional writes that bypass
    /// the writer ([`RunStore::put_run_if`]).
    holder: (String, Duration),
}

pub(crate) fn backend(e: PgError) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn corrupt(key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: key.to_string(),
        reason: e.to_string(),
    }
}

fn encode(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(e.to_string()))
}

/// The status column: `RunStatus` as serde writes it (kebab case).
fn status_text(status: RunStatus) -> Result<String, StoreError> {
    match serde_json::to_value(status) {
        Ok(Value::String(s)) => Ok(s),
        Ok(other) => Err(StoreError::Backend(format!(
            "a run status serialized as {other}, not text"
        ))),
        Err(e) => Err(StoreError::Backend(e.to_string())),
    }
}

fn seq_i64(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::Backend(format!("step number {seq} is too large")))
}

impl PgRunStore {
    /// The store on `db` (migrated: see [`crate::migrate()`]), writing
    /// leases as `host` for `lease` at a time. Checks the database answers
    /// (within the pool's connect timeout) and starts the writer task.
    pub fn new(db: Database, host: String, lease: Duration) -> Result<PgRunStore, PgError> {
        db.ping()?;
        let writer = Writer::start(
            &db,
            LeaseHolder {
                host: host.clone(),
                lease,
            },
        )?;
        Ok(PgRunStore {
            writer,
            db,
            holder: (host, lease),
        })
    }

    /// The database this store writes.
    pub fn database(&self) -> &Database {
        &self.db
    }

    pub(crate) fn writer(&self) -> &Writer {
        &self.writer
    }

    /// Group-commit figures so far: transactions and the writes in them.
    pub fn commit_stats(&self) -> CommitStats {
        self.writer.stats()
    }

    fn runs_page(
        &self,
        automation: Option<&str>,
        before: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let pool = self.db.pool().clone();
        let (a, b) = (automation.map(str::to_string), before.map(str::to_string));
        let rows = self
            .db
            .block_on(async move {
                let rows = pool
                    .get()
                    .await?
                    .query(
                        "SELECT id, record FROM runs
                         WHERE ($1::text IS NULL OR automation_id = $1)
                           AND ($2::text IS NULL OR id < $2)
                         ORDER BY id DESC LIMIT $3",
                        &[&a, &b, &limit],
                    )
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
                    .collect::<Vec<_>>())
            })
            .map_err(backend)?;
        rows.iter()
            .map(|(id, text)| serde_json::from_str(text).map_err(|e| corrupt(id, e)))
            .collect()
    }
}

impl RunStore for PgRunStore {
    fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let op = Op::PutRun {
            id: run.id.clone(),
            automation_id: run.automation_id.clone(),
            status: status_text(run.status)?,
            created_at: run.created_at,
            record: encode(run)?,
            leased: matches!(run.status, RunStatus::Queued | RunStatus::Running),
        };
        self.writer.stage([op]).map(|_| ())
    }

    /// One conditional `UPDATE`, after the writes staged before it are
    /// committed (so it applies after them, as a staged write would).
    fn put_run_if(&self, run: &RunRecord, expected: RunStatus) -> Result<bool, StoreError> {
        self.flush()?;
        let pool = self.db.pool().clone();
        let (id, record) = (run.id.clone(), encode(run)?);
        let (status, expected) = (status_text(run.status)?, status_text(expected)?);
        let leased = matches!(run.status, RunStatus::Queued | RunStatus::Running);
        let host = leased.then(|| self.holder.0.clone());
        let lease_ms = self.holder.1.as_secs_f64() * 1000.0;
        self.db
            .block_on(async move {
                let n = pool
                    .get()
                    .await?
                    .execute(
                        "UPDATE runs SET record = $2, status = $3, lease_owner = $4,
                             lease_until = CASE WHEN $4::text IS NULL THEN NULL
                                 ELSE now() + make_interval(secs => $5::float8 / 1000) END
                         WHERE id = $1 AND status = $6",
                        &[&id, &record, &status, &host, &lease_ms, &expected],
                    )
                    .await?;
                Ok(n == 1)
            })
            .map_err(backend)
    }

    fn append_step(&self, run_id: &str, step: &StepRecord) -> Result<(), StoreError> {
        self.append_steps(run_id, std::slice::from_ref(step))
    }

    /// One row per call: a JSON array of the steps, keyed by the first
    /// step's number.
    fn append_steps(&self, run_id: &str, steps: &[StepRecord]) -> Result<(), StoreError> {
        let Some(first) = steps.first() else {
            return Ok(());
        };
        let op = Op::Steps {
            run_id: run_id.to_string(),
            first_seq: seq_i64(first.seq)?,
            steps: encode(&steps)?,
        };
        self.writer.stage([op]).map(|_| ())
    }

    fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        let pool = self.db.pool().clone();
        let id = run_id.to_string();
        let text = self
            .db
            .block_on(async move {
                let row = pool
                    .get()
                    .await?
                    .query_opt("SELECT record FROM runs WHERE id = $1", &[&id])
                    .await?;
                Ok(row.map(|r| r.get::<_, String>(0)))
            })
            .map_err(backend)?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| corrupt(run_id, e)))
            .transpose()
    }

    fn steps(&self, run_id: &str) -> Result<Vec<StepRecord>, StoreError> {
        let pool = self.db.pool().clone();
        let id = run_id.to_string();
        let pages = self
            .db
            .block_on(async move {
                let rows = pool
                    .get()
                    .await?
                    .query(
                        "SELECT first_seq, steps FROM run_steps WHERE run_id = $1 ORDER BY first_seq",
                        &[&id],
                    )
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)))
                    .collect::<Vec<_>>())
            })
            .map_err(backend)?;
        let mut steps = Vec::new();
        for (first, text) in pages {
            let page: Vec<StepRecord> = serde_json::from_str(&text)
                .map_err(|e| corrupt(&format!("{run_id} step {first}"), e))?;
            steps.extend(page);
        }
        Ok(steps)
    }

    fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        let limit = filter.limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
        self.runs_page(filter.automation_id.as_deref(), None, limit)
    }

    /// Pages through `runs` by id (the primary key, byte-ordered), newest
    /// first: never more than a page in memory.
    fn scan_runs(
        &self,
        before: Option<&str>,
        visit: &mut dyn FnMut(RunRecord) -> bool,
    ) -> Result<(), StoreError> {
        let mut before = before.map(str::to_string);
        loop {
            let page = self.runs_page(None, before.as_deref(), Some(SCAN_PAGE))?;
            let full = page.len() as i64 == SCAN_PAGE;
            for run in page {
                before = Some(run.id.clone());
                if !visit(run) {
                    return Ok(());
                }
            }
            if !full {
                return Ok(());
            }
        }
    }

    fn delete_run(&self, run_id: &str) -> Result<bool, StoreError> {
        let existed = self.get_run(run_id)?.is_some();
        self.writer.stage([Op::DeleteRun {
            run_id: run_id.to_string(),
        }])?;
        Ok(existed)
    }

    fn put_sealed(&self, run_id: &str, seq: u64, sealed: &str) -> Result<(), StoreError> {
        self.writer.stage([Op::PutSealed {
            run_id: run_id.to_string(),
            seq: seq_i64(seq)?,
            sealed: sealed.to_string(),
        }])?;
        Ok(())
    }

    fn sealed(&self, run_id: &str) -> Result<BTreeMap<u64, String>, StoreError> {
        let pool = self.db.pool().clone();
        let id = run_id.to_string();
        let rows = self
            .db
            .block_on(async move {
                let rows = pool
                    .get()
                    .await?
                    .query(
                        "SELECT seq, sealed FROM run_sealed WHERE run_id = $1",
                        &[&id],
                    )
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1)))
                    .collect::<Vec<_>>())
            })
            .map_err(backend)?;
        rows.into_iter()
            .map(|(seq, text)| {
                u64::try_from(seq)
                    .map(|seq| (seq, text))
                    .map_err(|e| corrupt(&format!("{run_id} sealed {seq}"), e))
            })
            .collect()
    }

    fn drop_sealed(&self, run_id: &str) -> Result<(), StoreError> {
        self.writer.stage([Op::DropSealed {
            run_id: run_id.to_string(),
        }])?;
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.writer.wait()
    }

    fn committed(&self) -> Committed {
        self.writer.committed()
    }

    fn commit_stats(&self) -> Option<CommitStats> {
        Some(self.writer.stats())
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
        self.state_set_impl(automation, key, value, limits)
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
