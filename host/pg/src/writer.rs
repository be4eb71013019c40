//! Group commit for [`crate::PgRunStore`]: history writes return at once
//! and are written by one task, many per transaction.
//!
//! A walker writes a run record and a step page per block; a round trip
//! and a commit per write would cap a host at a few thousand writes a
//! second and hold a pool connection per writer. Instead each write is
//! queued with a ticket, in order, and one writer task on the database's
//! runtime takes everything waiting (at most [`MAX_BATCH`] ops), writes
//! it in one transaction of at most five statements (multi-row
//! `unnest` upserts), commits, and only then publishes the batch's last
//! ticket as durable. Under load many runs' writes share one commit.
//!
//! Reads query the database, so they see committed rows only: nothing is
//! shown before it is durable. [`Writer::wait`] (blocking) and
//! [`Writer::committed`] (a future) wait for a ticket.
//!
//! A failed transaction is final: the store cannot tell which of the
//! batch's writes a later reader would miss, so every later write and
//! wait fails with the first error until the host restarts.

use crate::PgError;
use deadpool_postgres::Pool;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use weft_host::store::{CommitStats, Committed, StoreError};

/// Most ops one transaction writes: bounds a statement's arrays and the
/// time a batch holds its row locks.
pub(crate) const MAX_BATCH: usize = 512;

/// One queued history write.
pub(crate) enum Op {
    /// Insert or replace a run (`leased`: it is queued or running, so this
    /// host holds it).
    PutRun {
        id: String,
        automation_id: String,
        status: String,
        created_at: i64,
        record: String,
        leased: bool,
    },
    /// A page of steps (a JSON array) from `first_seq` on.
    Steps {
        run_id: String,
        first_seq: i64,
        steps: String,
    },
    PutSealed {
        run_id: String,
        seq: i64,
        sealed: String,
    },
    DropSealed {
        run_id: String,
    },
    /// The run, its steps and its sealed copies.
    DeleteRun {
        run_id: String,
    },
}

/// How far the writer got.
#[derive(Debug, Clone, Default)]
struct Progress {
    /// Every op with a ticket up to this one is committed.
    durable: u64,
    /// The first failure; nothing commits after it.
    failed: Option<Arc<str>>,
}

struct Queue {
    ops: Vec<Op>,
    /// Tickets handed out so far (one per op).
    ticket: u64,
    /// The store is dropped: write what is left and stop.
    closing: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the writer task when something is queued.
    work: Notify,
    /// Mirror of the watch value for threads that block.
    progress: Mutex<Progress>,
    done: Condvar,
    stats: Mutex<CommitStats>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The queue and its writer task.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    watch: watch::Receiver<Progress>,
}

/// Who writes the lease columns of the runs this host holds.
#[derive(Clone)]
pub(crate) struct LeaseHolder {
    pub host: String,
    pub lease: Duration,
}

impl Writer {
    /// Start the writer task on `db`'s runtime.
    pub(crate) fn start(db: &crate::Database, lease: LeaseHolder) -> Result<Writer, PgError> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                ops: Vec::new(),
                ticket: 0,
                closing: false,
            }),
            work: Notify::new(),
            progress: Mutex::new(Progress::default()),
            done: Condvar::new(),
            stats: Mutex::new(CommitStats::default()),
        });
        let (tx, rx) = watch::channel(Progress::default());
        let pool = db.pool().clone();
        let task_shared = shared.clone();
        db.spawn(async move { write_loop(&task_shared, &pool, &lease, &tx).await })?;
        Ok(Writer { shared, watch: rx })
    }

    fn failed(&self) -> Option<Arc<str>> {
        lock(&self.shared.progress).failed.clone()
    }

    /// Queue `ops` in order; returns the ticket of the last.
    pub(crate) fn stage(&self, ops: impl IntoIterator<Item = Op>) -> Result<u64, StoreError> {
        if let Some(e) = self.failed() {
            return Err(StoreError::WriteFailed(e.to_string()));
        }
        let ticket = {
            let mut q = lock(&self.shared.queue);
            for op in ops {
                q.ops.push(op);
                q.ticket += 1;
            }
            q.ticket
        };
        self.shared.work.notify_one();
        Ok(ticket)
    }

    fn last_ticket(&self) -> u64 {
        lock(&self.shared.queue).ticket
    }

    /// Block until `ticket` is committed.
    pub(crate) fn wait_for(&self, ticket: u64) -> Result<(), StoreError> {
        let mut p = lock(&self.shared.progress);
        loop {
            if let Some(e) = &p.failed {
                return Err(StoreError::WriteFailed(e.to_string()));
            }
            if p.durable >= ticket {
                return Ok(());
            }
            p = self
                .shared
                .done
                .wait(p)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Block until everything queued so far is committed.
    pub(crate) fn wait(&self) -> Result<(), StoreError> {
        self.wait_for(self.last_ticket())
    }

    /// Resolves once everything queued before the call is committed.
    pub(crate) fn committed(&self) -> Committed {
        let ticket = self.last_ticket();
        let mut rx = self.watch.clone();
        Box::pin(async move {
            let p = rx
                .wait_for(|p| p.failed.is_some() || p.durable >= ticket)
                .await
                .map_err(|_| StoreError::WriteFailed("the database writer stopped".into()))?;
            match &p.failed {
                Some(e) => Err(StoreError::WriteFailed(e.to_string())),
                None => Ok(()),
            }
        })
    }

    pub(crate) fn stats(&self) -> CommitStats {
        *lock(&self.shared.stats)
    }
}

impl Drop for Writer {
    /// Writes what is queued (a store dropped after its last write loses
    /// nothing that was not already lost to a failure), then stops.
    fn drop(&mut self) {
        lock(&self.shared.queue).closing = true;
        self.shared.work.notify_one();
        let _ = self.wait();
    }
}

async fn write_loop(
    shared: &Shared,
    pool: &Pool,
    lease: &LeaseHolder,
    tx: &watch::Sender<Progress>,
) {
    loop {
        let (ops, ticket, closing) = {
            let mut q = lock(&shared.queue);
            let n = q.ops.len().min(MAX_BATCH);
            let ops: Vec<Op> = q.ops.drain(..n).collect();
            // Tickets are consecutive: the batch ends where the ops left
            // in the queue begin.
            let ticket = q.ticket - q.ops.len() as u64;
            (ops, ticket, q.closing)
        };
        if ops.is_empty() {
            if closing {
                return;
            }
            // A permit stored by a notify_one since the queue was looked
            // at wakes this at once: no write is missed.
            shared.work.notified().await;
            continue;
        }
        let count = ops.len() as u64;
        let result = write_batch(pool, lease, ops).await;
        let progress = {
            let mut p = lock(&shared.progress);
            match result {
                Ok(()) => p.durable = ticket,
                Err(e) => {
                    tracing::error!(error = %e, "history store: a batch did not commit; refusing further writes");
                    p.failed = Some(Arc::from(e.to_string()));
                }
            }
            p.clone()
        };
        {
            let mut s = lock(&shared.stats);
            s.batches += 1;
            s.writes += count;
            s.largest_batch = s.largest_batch.max(count);
        }
        shared.done.notify_all();
        let stop = progress.failed.is_some();
        tx.send_replace(progress);
        if stop {
            return;
        }
    }
}

/// A batch reduced to at most five statements. Within a batch, a delete
/// (or drop of sealed copies) discards the writes of that run queued
/// before it, and the deletes run first: the writes queued after it then
/// land after it, as they were made. Writes to one key keep the last, so
/// no upsert names a row twice (which PostgreSQL refuses).
#[derive(Default)]
struct Reduced {
    deleted: BTreeSet<String>,
    sealed_dropped: BTreeSet<String>,
    runs: BTreeMap<String, RunRow>,
    steps: BTreeMap<(String, i64), String>,
    sealed: BTreeMap<(String, i64), String>,
}

struct RunRow {
    automation_id: String,
    status: String,
    created_at: i64,
    record: String,
    leased: bool,
}

fn reduce(ops: Vec<Op>) -> Reduced {
    let mut r = Reduced::default();
    for op in ops {
        match op {
            Op::PutRun {
                id,
                automation_id,
                status,
                created_at,
                record,
                leased,
            } => {
                r.runs.insert(
                    id,
                    RunRow {
                        automation_id,
                        status,
                        created_at,
                        record,
                        leased,
                    },
                );
            }
            Op::Steps {
                run_id,
                first_seq,
                steps,
            } => {
                r.steps.insert((run_id, first_seq), steps);
            }
            Op::PutSealed {
                run_id,
                seq,
                sealed,
            } => {
                r.sealed.insert((run_id, seq), sealed);
            }
            Op::DropSealed { run_id } => {
                r.sealed.retain(|(id, _), _| *id != run_id);
                r.sealed_dropped.insert(run_id);
            }
            Op::DeleteRun { run_id } => {
                r.runs.remove(&run_id);
                r.steps.retain(|(id, _), _| *id != run_id);
                r.sealed.retain(|(id, _), _| *id != run_id);
                r.deleted.insert(run_id);
            }
        }
    }
    r
}

async fn write_batch(pool: &Pool, lease: &LeaseHolder, ops: Vec<Op>) -> Result<(), PgError> {
    let r = reduce(ops);
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    if !r.deleted.is_empty() {
        let ids: Vec<&str> = r.deleted.iter().map(String::as_str).collect();
        tx.execute("DELETE FROM run_steps WHERE run_id = ANY($1)", &[&ids])
            .await?;
        tx.execute("DELETE FROM run_sealed WHERE run_id = ANY($1)", &[&ids])
            .await?;
        tx.execute("DELETE FROM runs WHERE id = ANY($1)", &[&ids])
            .await?;
    }
    if !r.sealed_dropped.is_empty() {
        let ids: Vec<&str> = r.sealed_dropped.iter().map(String::as_str).collect();
        tx.execute("DELETE FROM run_sealed WHERE run_id = ANY($1)", &[&ids])
            .await?;
    }
    if !r.runs.is_empty() {
        let ids: Vec<&str> = r.runs.keys().map(String::as_str).collect();
        let automations: Vec<&str> = r.runs.values().map(|v| v.automation_id.as_str()).collect();
        let statuses: Vec<&str> = r.runs.values().map(|v| v.status.as_str()).collect();
        let created: Vec<i64> = r.runs.values().map(|v| v.created_at).collect();
        let records: Vec<&str> = r.runs.values().map(|v| v.record.as_str()).collect();
        let leased: Vec<bool> = r.runs.values().map(|v| v.leased).collect();
        let lease_ms = i64::try_from(lease.lease.as_millis()).unwrap_or(i64::MAX);
        // stop_requested is left alone: a stop asked for on another host
        // must survive this host's next write of the run.
        tx.execute(
            "INSERT INTO runs (id, automation_id, status, created_at, record, lease_owner, lease_until)
             SELECT id, a, s, c, r,
                    CASE WHEN l THEN $7::text END,
                    CASE WHEN l THEN now() + $8::bigint * interval '1 millisecond' END
             FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bool[])
                  AS t(id, a, s, c, r, l)
             ON CONFLICT (id) DO UPDATE SET
                automation_id = EXCLUDED.automation_id,
                status = EXCLUDED.status,
                created_at = EXCLUDED.created_at,
                record = EXCLUDED.record,
                lease_owner = EXCLUDED.lease_owner,
                lease_until = EXCLUDED.lease_until",
            &[
                &ids,
                &automations,
                &statuses,
                &created,
                &records,
                &leased,
                &lease.host,
                &lease_ms,
            ],
        )
        .await?;
    }
    if !r.steps.is_empty() {
        let ids: Vec<&str> = r.steps.keys().map(|(id, _)| id.as_str()).collect();
        let seqs: Vec<i64> = r.steps.keys().map(|(_, s)| *s).collect();
        let pages: Vec<&str> = r.steps.values().map(String::as_str).collect();
        tx.execute(
            "INSERT INTO run_steps (run_id, first_seq, steps)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
             ON CONFLICT (run_id, first_seq) DO UPDATE SET steps = EXCLUDED.steps",
            &[&ids, &seqs, &pages],
        )
        .await?;
    }
    if !r.sealed.is_empty() {
        let ids: Vec<&str> = r.sealed.keys().map(|(id, _)| id.as_str()).collect();
        let seqs: Vec<i64> = r.sealed.keys().map(|(_, s)| *s).collect();
        let texts: Vec<&str> = r.sealed.values().map(String::as_str).collect();
        tx.execute(
            "INSERT INTO run_sealed (run_id, seq, sealed)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
             ON CONFLICT (run_id, seq) DO UPDATE SET sealed = EXCLUDED.sealed",
            &[&ids, &seqs, &texts],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(run: &str, seq: i64) -> Op {
        Op::Steps {
            run_id: run.into(),
            first_seq: seq,
            steps: format!("[{seq}]"),
        }
    }

    #[test]
    fn a_delete_discards_what_came_before_it_and_keeps_what_came_after() {
        let r = reduce(vec![
            steps("a", 0),
            steps("b", 0),
            Op::DeleteRun { run_id: "a".into() },
            steps("a", 1),
            Op::PutSealed {
                run_id: "b".into(),
                seq: 0,
                sealed: "x".into(),
            },
            Op::DropSealed { run_id: "b".into() },
            Op::PutSealed {
                run_id: "b".into(),
                seq: 1,
                sealed: "y".into(),
            },
            steps("b", 0),
        ]);
        assert_eq!(r.deleted.iter().collect::<Vec<_>>(), ["a"]);
        assert_eq!(
            r.steps.keys().cloned().collect::<Vec<_>>(),
            [("a".to_string(), 1), ("b".to_string(), 0)]
        );
        assert_eq!(r.sealed_dropped.iter().collect::<Vec<_>>(), ["b"]);
        assert_eq!(
            r.sealed.into_iter().collect::<Vec<_>>(),
            [(("b".to_string(), 1), "y".to_string())]
        );
    }
}
