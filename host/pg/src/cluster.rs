//! How hosts sharing one database divide the work between them, all of it
//! through rows (no consensus of our own: PostgreSQL's row locks and
//! unique keys are the coordination engine).
//!
//! * **Leases.** A host holds each queued or running run it admitted or
//!   took over: `runs.lease_owner` names it, `runs.lease_until` says until
//!   when (written with the run, see the run store). [`Cluster::renew`]
//!   pushes every lease of this host forward in one statement; a host
//!   that dies stops renewing, and once its leases run out
//!   [`Cluster::take_over_expired`] hands its runs to whoever asks first
//!   (`FOR UPDATE SKIP LOCKED`: hosts asking together split them, none
//!   waits on another's rows).
//! * **Slots.** [`Cluster::claim_slot`] counts an automation's running
//!   runs with a live lease under a transaction-scoped advisory lock on
//!   the automation, so two hosts cannot both take its last slot.
//! * **Ticks.** [`Cluster::claim_tick`] inserts one row per automation and
//!   schedule tick; the host whose insert wins fires it. A unique row
//!   rather than a leader: no election, no failover delay, and a tick is
//!   fired by whichever host sees it due first.
//! * **Stops.** [`Cluster::request_stop`] flags a run; its holder finds it
//!   in [`Cluster::stop_requests`] (polled twice a second) and stops it.

use crate::{Database, PgError};
use std::time::Duration;
use weft_host::RunRecord;

/// Claims one of an automation's slots for a run (see
/// [`Cluster::claim_slot`]): inserted or updated only while fewer of the
/// automation's runs are running under a live lease than its limit, and
/// only if the run is still queued or already this host's.
const CLAIM: &str = "INSERT INTO runs (id, automation_id, status, created_at, record,
         lease_owner, lease_until)
     SELECT $1, $2, 'running', $3, $4, $5,
         now() + make_interval(secs => $6::float8 / 1000)
     WHERE (SELECT count(*) FROM runs WHERE automation_id = $2
         AND status = 'running' AND lease_until > now() AND id <> $1) < $7
     ON CONFLICT (id) DO UPDATE SET status = 'running',
         lease_owner = $5, lease_until = EXCLUDED.lease_until
     WHERE runs.status = 'queued'
         OR (runs.status = 'running' AND runs.lease_owner = $5)";

/// This host's handle on the shared work.
#[derive(Clone, Debug)]
pub struct Cluster {
    db: Database,
    host: String,
    lease: Duration,
}

/// What [`Cluster::claim_slot`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotClaim {
    /// The run is now running, held by this host.
    Claimed,
    /// The automation already runs as many as its limit allows.
    Full,
    /// The run is no longer queued: stopped meanwhile, final, or
    /// claimed by another host first.
    NotQueued,
}

/// Queue-wide figures for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClusterFigures {
    /// Hosts that renewed their registration within three lease renewals.
    pub hosts_alive: i64,
    pub runs_queued: i64,
    pub runs_running: i64,
    /// Queued or running runs whose holder's lease ran out.
    pub runs_orphaned: i64,
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Cluster {
    /// `host` names this process among the others (unique per process:
    /// a restarted host is a new one, and its old runs are taken over
    /// like any dead host's). `lease`: how long a run stays this host's
    /// without a renewal.
    pub fn new(db: Database, host: impl Into<String>, lease: Duration) -> Cluster {
        Cluster {
            db,
            host: host.into(),
            lease,
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn lease(&self) -> Duration {
        self.lease
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Say this host lives (`hosts` row), with the address it serves on.
    pub async fn register(&self, address: Option<String>) -> Result<(), PgError> {
        let (pool, host) = (self.db.pool().clone(), self.host.clone());
        self.db
            .run(async move {
                pool.get()
                    .await?
                    .execute(
                        "INSERT INTO hosts (id, address) VALUES ($1, $2)
                         ON CONFLICT (id) DO UPDATE SET address = $2, heartbeat_at = now()",
                        &[&host, &address],
                    )
                    .await?;
                Ok(())
            })
            .await
    }

    /// Renew every lease this host holds, and its `hosts` row. Returns how
    /// many runs it holds.
    pub async fn renew(&self) -> Result<u64, PgError> {
        let (pool, host, lease) = (
            self.db.pool().clone(),
            self.host.clone(),
            millis(self.lease),
        );
        self.db
            .run(async move {
                let client = pool.get().await?;
                let held = client
                    .execute(
                        "UPDATE runs SET lease_until = now() + make_interval(secs => $2::float8 / 1000)
                         WHERE lease_owner = $1 AND status IN ('queued', 'running')",
                        &[&host, &lease],
                    )
                    .await?;
                client
                    .execute(
                        "UPDATE hosts SET heartbeat_at = now() WHERE id = $1",
                        &[&host],
                    )
                    .await?;
                Ok(held)
            })
            .await
    }

    /// Give up every lease at once (an orderly stop): other hosts take the
    /// runs over at their next look instead of after the lease.
    pub async fn release_all(&self) -> Result<u64, PgError> {
        let (pool, host) = (self.db.pool().clone(), self.host.clone());
        self.db
            .run(async move {
                let client = pool.get().await?;
                let released = client
                    .execute(
                        "UPDATE runs SET lease_until = now() - interval '1 second'
                         WHERE lease_owner = $1 AND status IN ('queued', 'running')",
                        &[&host],
                    )
                    .await?;
                client
                    .execute("DELETE FROM hosts WHERE id = $1", &[&host])
                    .await?;
                Ok(released)
            })
            .await
    }

    /// Take up to `limit` runs whose holder's lease ran out (oldest
    /// first); they are this host's from now on. Returns their ids.
    pub async fn take_over_expired(&self, limit: i64) -> Result<Vec<String>, PgError> {
        let (pool, host, lease) = (
            self.db.pool().clone(),
            self.host.clone(),
            millis(self.lease),
        );
        self.db
            .run(async move {
                let rows = pool
                    .get()
                    .await?
                    .query(
                        "UPDATE runs SET lease_owner = $1,
                             lease_until = now() + make_interval(secs => $2::float8 / 1000)
                         WHERE id IN (
                             SELECT id FROM runs
                             WHERE status IN ('queued', 'running') AND lease_until < now()
                             ORDER BY created_at
                             LIMIT $3
                             FOR UPDATE SKIP LOCKED)
                         RETURNING id",
                        &[&host, &lease, &limit],
                    )
                    .await?;
                Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
            })
            .await
    }

    /// Take one of `record`'s automation's `limit` slots for it: counted
    /// over every host, under a lock on the automation for the length of
    /// the transaction. A run not stored yet (a synchronous call) is
    /// stored as running; a stored one must still be queued, or running
    /// under this host's lease (taken over): two hosts never both claim
    /// one run.
    pub async fn claim_slot(&self, record: &RunRecord, limit: usize) -> Result<SlotClaim, PgError> {
        let text = serde_json::to_string(record).map_err(|e| PgError::Query(e.to_string()))?;
        let (pool, host, lease) = (
            self.db.pool().clone(),
            self.host.clone(),
            millis(self.lease),
        );
        let (id, automation, created) = (
            record.id.clone(),
            record.automation_id.clone(),
            record.created_at,
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .run(async move {
                let mut client = pool.get().await?;
                let tx = client.transaction().await?;
                let lock_params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&automation];
                let claim_params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] =
                    [&id, &automation, &created, &text, &host, &lease, &limit];
                // Three statements in one round trip (pipelined), in this
                // order: the insert's snapshot is taken once the lock is
                // held, so it counts every claim committed before.
                // Prepared once per connection: a statement given as text
                // costs a round trip of its own every time.
                let lock = tx
                    .prepare_cached("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))")
                    .await?;
                let claim = tx.prepare_cached(CLAIM).await?;
                let (no_sync, locked, claimed) = tokio::join!(
                    // Nothing is acknowledged on this commit: losing it to
                    // a database crash only frees the slot again.
                    tx.batch_execute("SET LOCAL synchronous_commit TO off"),
                    tx.execute(&lock, &lock_params),
                    tx.execute(&claim, &claim_params,),
                );
                no_sync?;
                locked?;
                if claimed? == 1 {
                    tx.commit().await?;
                    return Ok(SlotClaim::Claimed);
                }
                // Refused: taken by another host or no longer queued, or
                // no room.
                let held = tx
                    .query_opt(
                        "SELECT 1 FROM runs WHERE id = $1 AND NOT (status = 'queued'
                             OR (status = 'running' AND lease_owner = $2))",
                        &[&id, &host],
                    )
                    .await?;
                tx.rollback().await?;
                Ok(if held.is_some() {
                    SlotClaim::NotQueued
                } else {
                    SlotClaim::Full
                })
            })
            .await
    }

    /// Fire `automation`'s tick due at `tick_ms` here? True for exactly
    /// one caller over all hosts, ever.
    pub async fn claim_tick(&self, automation: &str, tick_ms: i64) -> Result<bool, PgError> {
        let (pool, host, automation) = (
            self.db.pool().clone(),
            self.host.clone(),
            automation.to_string(),
        );
        self.db
            .run(async move {
                let inserted = pool
                    .get()
                    .await?
                    .execute(
                        "INSERT INTO schedule_fires (automation_id, tick, host) VALUES ($1, $2, $3)
                         ON CONFLICT DO NOTHING",
                        &[&automation, &tick_ms, &host],
                    )
                    .await?;
                Ok(inserted == 1)
            })
            .await
    }

    /// Ask whoever holds `run_id` to stop it. False when it is not queued
    /// or running.
    pub fn request_stop(&self, run_id: &str) -> Result<bool, PgError> {
        let (pool, run_id) = (self.db.pool().clone(), run_id.to_string());
        self.db.block_on(async move {
            let n = pool
                .get()
                .await?
                .execute(
                    "UPDATE runs SET stop_requested = true
                     WHERE id = $1 AND status IN ('queued', 'running')",
                    &[&run_id],
                )
                .await?;
            Ok(n == 1)
        })
    }

    /// The runs this host holds that someone asked to stop.
    pub async fn stop_requests(&self) -> Result<Vec<String>, PgError> {
        let (pool, host) = (self.db.pool().clone(), self.host.clone());
        self.db
            .run(async move {
                let rows = pool
                    .get()
                    .await?
                    .query(
                        "SELECT id FROM runs WHERE stop_requested AND lease_owner = $1
                         AND status IN ('queued', 'running')",
                        &[&host],
                    )
                    .await?;
                Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
            })
            .await
    }

    /// Queue-wide figures.
    pub async fn figures(&self) -> Result<ClusterFigures, PgError> {
        let (pool, lease) = (self.db.pool().clone(), millis(self.lease));
        self.db
            .run(async move {
                let client = pool.get().await?;
                let hosts: i64 = client
                    .query_one(
                        "SELECT count(*) FROM hosts
                         WHERE heartbeat_at > now() - make_interval(secs => $1::float8 / 1000)",
                        &[&lease],
                    )
                    .await?
                    .get(0);
                let row = client
                    .query_one(
                        "SELECT count(*) FILTER (WHERE status = 'queued'),
                                count(*) FILTER (WHERE status = 'running'),
                                count(*) FILTER (WHERE lease_until < now())
                         FROM runs WHERE status IN ('queued', 'running')",
                        &[],
                    )
                    .await?;
                Ok(ClusterFigures {
                    hosts_alive: hosts,
                    runs_queued: row.get(0),
                    runs_running: row.get(1),
                    runs_orphaned: row.get(2),
                })
            })
            .await
    }
}
