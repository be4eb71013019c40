//! Sharing the work with the other hosts on one database — or not.
//!
//! On sled a host is alone ([`Coordination::Solo`]): its queue's lanes
//! are the whole truth, and recovery at start takes back everything left
//! unfinished. On PostgreSQL ([`Coordination::Shared`], over
//! [`weft_pg::Cluster`]) several hosts share the runs:
//!
//! * a run is held by the host that admitted it, under a lease this host
//!   renews ([`start`] runs the loops); a host that dies stops renewing,
//!   and another takes its runs over and resumes them like recovery does
//!   at start (the walker's resume rule) — so at start a shared host does
//!   not sweep the whole history, it takes what has no live holder;
//! * before a run starts it claims one of its automation's slots counted
//!   over every host (the per-automation concurrency); the global limit
//!   stays per host: it measures one host's capacity, and the fleet's is
//!   that times the hosts;
//! * each schedule tick is fired by exactly one host;
//! * a stop asked on any host reaches the holder within
//!   [`STOP_POLL`].
//!
//! The per-automation rate limit stays per host (its token buckets are in
//! memory): a database write per trigger would cost more than the limit
//! protects, and with N hosts behind a balancer the fleet admits up to N
//! times the rate. That is documented in the operator guide.

use crate::admission::Admission;
use std::sync::Weak;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use weft_host::RunRecord;
pub use weft_pg::SlotClaim;

/// How often a host looks for stop requests of the runs it holds.
pub const STOP_POLL: Duration = Duration::from_millis(500);

/// Default run lease: a dead host's runs are resumed elsewhere within
/// about this long.
pub const DEFAULT_RUN_LEASE: Duration = Duration::from_secs(10);

/// Most runs one look takes over from dead hosts.
const TAKE_OVER_BATCH: i64 = 64;

/// How a host coordinates (see the module docs).
pub enum Coordination {
    Solo,
    Shared(Shared),
}

/// A host on a shared database.
pub struct Shared {
    cluster: weft_pg::Cluster,
    /// Queue-wide figures from the last heartbeat, for `/metrics`.
    figures: Figures,
}

#[derive(Default)]
struct Figures {
    hosts_alive: AtomicI64,
    runs_queued: AtomicI64,
    runs_running: AtomicI64,
    runs_orphaned: AtomicI64,
    held: AtomicI64,
}

/// Why coordination with the other hosts failed.
#[derive(Debug, thiserror::Error)]
#[error("coordinating with the other hosts through the database: {0}")]
pub struct CoordinationError(#[from] weft_pg::PgError);

impl Coordination {
    pub fn shared(cluster: weft_pg::Cluster) -> Coordination {
        Coordination::Shared(Shared {
            cluster,
            figures: Figures::default(),
        })
    }

    pub fn is_shared(&self) -> bool {
        matches!(self, Coordination::Shared(_))
    }

    /// Claim one of `record`'s automation's `limit` slots (see
    /// [`weft_pg::Cluster::claim_slot`]). Alone, the queue's lane is the
    /// limit and this always succeeds.
    pub async fn claim_slot(
        &self,
        record: &RunRecord,
        limit: usize,
    ) -> Result<SlotClaim, CoordinationError> {
        match self {
            Coordination::Solo => Ok(SlotClaim::Claimed),
            Coordination::Shared(s) => Ok(s.cluster.claim_slot(record, limit).await?),
        }
    }

    /// Fire `automation`'s tick due at `due_ms` on this host? Exactly one
    /// host gets true.
    pub async fn claim_tick(
        &self,
        automation: &str,
        due_ms: i64,
    ) -> Result<bool, CoordinationError> {
        match self {
            Coordination::Solo => Ok(true),
            Coordination::Shared(s) => Ok(s.cluster.claim_tick(automation, due_ms).await?),
        }
    }

    /// Ask whoever holds `run_id` to stop it; false alone, or when it is
    /// not queued or running.
    pub fn request_stop(&self, run_id: &str) -> Result<bool, CoordinationError> {
        match self {
            Coordination::Solo => Ok(false),
            Coordination::Shared(s) => Ok(s.cluster.request_stop(run_id)?),
        }
    }

    /// An orderly stop: hand this host's runs to the others now rather
    /// than after the lease. Returns how many.
    pub async fn release_all(&self) -> Result<u64, CoordinationError> {
        match self {
            Coordination::Solo => Ok(0),
            Coordination::Shared(s) => Ok(s.cluster.release_all().await?),
        }
    }

    /// Prometheus lines for the queue-wide figures (empty alone).
    pub fn render_metrics(&self) -> String {
        let Coordination::Shared(s) = self else {
            return String::new();
        };
        let f = &s.figures;
        let line = |name: &str, help: &str, v: &AtomicI64| {
            format!(
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}\n",
                v.load(Ordering::Relaxed)
            )
        };
        [
            line(
                "weft_cluster_hosts_alive",
                "Hosts on this database that renewed within one lease.",
                &f.hosts_alive,
            ),
            line(
                "weft_cluster_runs_queued",
                "Runs queued, over every host.",
                &f.runs_queued,
            ),
            line(
                "weft_cluster_runs_running",
                "Runs running, over every host.",
                &f.runs_running,
            ),
            line(
                "weft_cluster_runs_orphaned",
                "Queued or running runs whose holder's lease ran out (to be taken over).",
                &f.runs_orphaned,
            ),
            line(
                "weft_host_runs_held",
                "Queued or running runs this host holds a lease on.",
                &f.held,
            ),
        ]
        .concat()
    }
}

/// Start the loops of a shared host: lease renewal (every quarter lease),
/// stop requests ([`STOP_POLL`]) and taking over dead hosts' runs (every
/// half lease, and at once at start). They end with the admission service.
pub fn start(admission: Weak<Admission>, address: Option<String>) {
    let Some(strong) = admission.upgrade() else {
        return;
    };
    let Coordination::Shared(shared) = strong.coordination() else {
        return;
    };
    let lease = shared.cluster.lease();
    let cluster = shared.cluster.clone();
    drop(strong);
    tokio::spawn(async move {
        if let Err(e) = cluster.register(address).await {
            tracing::warn!("cannot register this host: {e}");
        }
    });
    let renew_every = (lease / 4).max(Duration::from_millis(50));
    let take_over_every = (lease / 2).max(Duration::from_millis(100));
    spawn_every(admission.clone(), renew_every, |admission| async move {
        let Coordination::Shared(s) = admission.coordination() else {
            return;
        };
        match s.cluster.renew().await {
            Ok(held) => s
                .figures
                .held
                .store(i64::try_from(held).unwrap_or(i64::MAX), Ordering::Relaxed),
            Err(e) => tracing::warn!("cannot renew this host's run leases: {e}"),
        }
        match s.cluster.figures().await {
            Ok(f) => {
                s.figures
                    .hosts_alive
                    .store(f.hosts_alive, Ordering::Relaxed);
                s.figures
                    .runs_queued
                    .store(f.runs_queued, Ordering::Relaxed);
                s.figures
                    .runs_running
                    .store(f.runs_running, Ordering::Relaxed);
                s.figures
                    .runs_orphaned
                    .store(f.runs_orphaned, Ordering::Relaxed);
            }
            Err(e) => tracing::debug!("cannot read the queue-wide figures: {e}"),
        }
    });
    spawn_every(admission.clone(), STOP_POLL, |admission| async move {
        let Coordination::Shared(s) = admission.coordination() else {
            return;
        };
        match s.cluster.stop_requests().await {
            Ok(ids) => {
                for id in ids {
                    admission.queue().cancel_here(&id);
                }
            }
            Err(e) => tracing::warn!("cannot look for stop requests: {e}"),
        }
    });
    spawn_every(admission, take_over_every, |admission| async move {
        let Coordination::Shared(s) = admission.coordination() else {
            return;
        };
        match s.cluster.take_over_expired(TAKE_OVER_BATCH).await {
            Ok(ids) if ids.is_empty() => {}
            Ok(ids) => {
                tracing::info!(
                    runs = ids.len(),
                    "taking over runs whose host stopped renewing their leases"
                );
                let admission = admission.clone();
                // Reading the records blocks on the database.
                let taken = tokio::task::spawn_blocking(move || admission.take_over(&ids)).await;
                match taken {
                    Ok(Err(e)) => tracing::error!("cannot resume taken-over runs: {e}"),
                    Err(e) => tracing::error!("taking over runs stopped: {e}"),
                    Ok(Ok(_)) => {}
                }
            }
            Err(e) => tracing::warn!("cannot look for runs of dead hosts: {e}"),
        }
    });
}

/// Run `work` now and then every `period` while the admission service lives.
fn spawn_every<F, Fut>(admission: Weak<Admission>, period: Duration, work: F)
where
    F: Fn(std::sync::Arc<Admission>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let Some(admission) = admission.upgrade() else {
                return;
            };
            work(admission).await;
        }
    });
}
