//! Group commit for the sled store: nothing is shown before it is on disk.
//!
//! A write is *staged* in memory and returns at once. One committer thread
//! takes everything staged so far as a batch, applies it to sled and
//! flushes it. Writes that arrive during a flush form the next batch:
//! under load many runs' writes share one flush, which is what keeps the
//! server fast without showing anything a crash could take back.
//!
//! While a batch is applied but not yet flushed, the runs it touches are
//! *in flight* ([`Visibility`]): a read of such a run waits for the flush,
//! a read of any other run goes ahead (every key in the trees starts with
//! its run's id, so the batch's runs are known before it is applied).
//! Scans over all runs wait for the batch in flight, and the committer
//! lets waiting scans in before it starts the next one, so a busy store
//! cannot starve them. An earlier design held one lock across every
//! flush: each read (the queue loads every run it starts) then waited out
//! an fsync on a runtime worker thread.
//!
//! Whoever must not go on before its writes are durable (the queue before
//! it acknowledges a trigger, the walker before it reports a run ended)
//! waits for the batch holding them: [`Committer::wait`] blocks a thread,
//! [`Committer::committed`] is a future, so a thousand waiting runs cost
//! no threads.
//!
//! A failed apply or flush is final: like a database after a failed
//! fsync, the store cannot know what reached the disk, so it refuses every
//! later write, wait and read with the first error, and the server answers
//! 503 until it is restarted and recovers from what is on disk.

use super::StoreError;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;
use tokio::sync::watch;

/// Which tree an operation writes.
#[derive(Debug, Clone, Copy)]
pub(super) enum TreeId {
    Runs,
    Steps,
    Sealed,
    /// Automations' state between runs ([`super::state`]): keys are the
    /// automation id, a NUL and the state key, so a batch's "runs" are
    /// the automations whose state it writes.
    State,
}

/// One staged change.
pub(super) enum Op {
    Insert {
        tree: TreeId,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    /// Remove every key starting with `prefix` (a run's steps).
    RemovePrefix {
        tree: TreeId,
        prefix: Vec<u8>,
    },
    Remove {
        tree: TreeId,
        key: Vec<u8>,
    },
}

impl Op {
    /// The run the op belongs to: a run record's key is its id, a step's
    /// or sealed output's key is the run id, a NUL and the step number
    /// (run ids never hold a NUL).
    fn run(&self) -> &[u8] {
        let key = match self {
            Op::Insert { key, .. } | Op::Remove { key, .. } => key,
            Op::RemovePrefix { prefix, .. } => prefix,
        };
        key.split(|b| *b == 0).next().unwrap_or(key)
    }
}

/// The trees the committer writes.
#[derive(Clone)]
pub(super) struct Trees {
    pub db: sled::Db,
    pub runs: sled::Tree,
    pub steps: sled::Tree,
    pub sealed: sled::Tree,
    pub state: sled::Tree,
    /// Called between applying a batch and flushing it, so tests can hold
    /// a batch in flight.
    #[cfg(test)]
    pub before_flush: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Trees {
    fn tree(&self, id: TreeId) -> &sled::Tree {
        match id {
            TreeId::Runs => &self.runs,
            TreeId::Steps => &self.steps,
            TreeId::Sealed => &self.sealed,
            TreeId::State => &self.state,
        }
    }

    fn apply(&self, ops: Vec<Op>) -> Result<(), sled::Error> {
        for op in ops {
            match op {
                Op::Insert { tree, key, value } => {
                    self.tree(tree).insert(key, value)?;
                }
                Op::Remove { tree, key } => {
                    self.tree(tree).remove(key)?;
                }
                Op::RemovePrefix { tree, prefix } => {
                    let tree = self.tree(tree);
                    let keys: Vec<sled::IVec> =
                        tree.scan_prefix(&prefix).keys().collect::<Result<_, _>>()?;
                    for k in keys {
                        tree.remove(k)?;
                    }
                }
            }
        }
        #[cfg(test)]
        if let Some(hold) = &self.before_flush {
            hold();
        }
        // Durable before its runs are readable: this is the whole point.
        self.db.flush()?;
        Ok(())
    }
}

/// How far the committer got.
#[derive(Debug, Clone, Default)]
struct Progress {
    /// Every write with a ticket up to this one is durable and visible.
    durable: u64,
    /// The first failure; nothing commits after it.
    failed: Option<Arc<str>>,
}

#[derive(Default)]
struct Staged {
    ops: Vec<Op>,
    /// Tickets handed out so far (one per staged op).
    ticket: u64,
    /// The store is being dropped: commit what is left and stop.
    closing: bool,
}

/// Batches committed and writes in them, for benchmarks and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    pub batches: u64,
    pub writes: u64,
    /// The largest batch so far.
    pub largest_batch: u64,
}

struct Shared {
    staged: Mutex<Staged>,
    /// Wakes the committer when something is staged.
    work: Condvar,
    /// Mirror of the watch value for threads that block.
    progress: Mutex<Progress>,
    done: Condvar,
    stats: Mutex<CommitStats>,
    /// The runs of the batch in flight. Readers hold it shared while they
    /// read; the committer takes it only to publish and to clear a batch.
    visible: RwLock<Visibility>,
    /// Scans waiting for a moment with no batch in flight; the committer
    /// lets them in before it publishes the next batch.
    scans_waiting: Mutex<usize>,
    scans_let_in: Condvar,
    /// Threads and futures waiting for a commit (see [`LINGER`]).
    waiters: AtomicUsize,
}

/// How long the committer waits for more writes before a flush when
/// several runs already wait for it. Each flush costs sled real work (it
/// seals an I/O buffer and wakes its writer threads), so under load
/// fewer, larger batches leave more CPU to the runs; a lone waiter (one
/// client running automations one after another) is never held up.
const LINGER: Duration = Duration::from_micros(1000);

/// How many waiters make the committer linger.
const LINGER_WAITERS: usize = 2;

/// Counts one waiter while alive.
struct Waiting(Arc<Shared>);

impl Waiting {
    fn new(shared: &Arc<Shared>) -> Self {
        shared.waiters.fetch_add(1, Ordering::Relaxed);
        Waiting(shared.clone())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.waiters.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What readers must not see yet.
#[derive(Default)]
pub(super) struct Visibility {
    /// Runs the batch in flight writes.
    runs: HashSet<Vec<u8>>,
    /// The batch's ticket: it is durable once `Progress::durable` reaches it.
    ticket: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Plain data: a panic elsewhere cannot leave it half changed.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The committer thread and the handles to stage and wait.
pub(super) struct Committer {
    shared: Arc<Shared>,
    watch: watch::Receiver<Progress>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn failed(reason: &str) -> StoreError {
    StoreError::WriteFailed(format!(
        "a write to the history store failed earlier ({reason}); nothing is accepted until the server is restarted"
    ))
}

impl Committer {
    pub(super) fn start(trees: Trees) -> Result<Committer, StoreError> {
        let shared = Arc::new(Shared {
            staged: Mutex::default(),
            work: Condvar::new(),
            progress: Mutex::default(),
            done: Condvar::new(),
            stats: Mutex::default(),
            visible: RwLock::default(),
            scans_waiting: Mutex::default(),
            scans_let_in: Condvar::new(),
            waiters: AtomicUsize::new(0),
        });
        let (tx, rx) = watch::channel(Progress::default());
        let inner = shared.clone();
        let thread = std::thread::Builder::new()
            .name("weft-history-commit".into())
            .spawn(move || commit_loop(&inner, &trees, &tx))
            .map_err(|e| StoreError::Backend(format!("cannot start the committer: {e}")))?;
        Ok(Committer {
            shared,
            watch: rx,
            thread: Some(thread),
        })
    }

    /// Stage `ops` to be committed together, in order. Returns their
    /// ticket (the last one).
    pub(super) fn stage(&self, ops: impl IntoIterator<Item = Op>) -> Result<u64, StoreError> {
        if let Some(reason) = &lock(&self.shared.progress).failed {
            return Err(failed(reason));
        }
        let mut staged = lock(&self.shared.staged);
        for op in ops {
            staged.ops.push(op);
            staged.ticket += 1;
        }
        self.shared.work.notify_one();
        Ok(staged.ticket)
    }

    fn last_ticket(&self) -> u64 {
        lock(&self.shared.staged).ticket
    }

    /// Block until everything staged so far is durable.
    pub(super) fn wait(&self) -> Result<(), StoreError> {
        let _waiting = Waiting::new(&self.shared);
        self.wait_for(self.last_ticket())
    }

    /// A future that resolves once everything staged so far is durable.
    pub(super) fn committed(&self) -> super::Committed {
        let waiting = Waiting::new(&self.shared);
        let ticket = self.last_ticket();
        let mut watch = self.watch.clone();
        Box::pin(async move {
            let _waiting = waiting;
            let reached = watch
                .wait_for(|p| p.durable >= ticket || p.failed.is_some())
                .await
                .map_err(|_| StoreError::Backend("the history store was closed".into()))?;
            match (&reached.failed, reached.durable >= ticket) {
                (_, true) => Ok(()),
                (Some(reason), false) => Err(failed(reason)),
                (None, false) => Err(StoreError::Backend("commit ended early".into())),
            }
        })
    }

    /// Hold while reading run `run_id` (its record, steps or sealed
    /// outputs): committed data only. Waits while a batch writing that
    /// run is being flushed; other runs' batches do not hold it up. After
    /// a failed commit the trees may hold writes that never reached the
    /// disk, so reads fail too.
    pub(super) fn read_run(
        &self,
        run_id: &str,
    ) -> Result<RwLockReadGuard<'_, Visibility>, StoreError> {
        loop {
            let visible = self.visible()?;
            if !visible.runs.contains(run_id.as_bytes()) {
                return Ok(visible);
            }
            let ticket = visible.ticket;
            drop(visible);
            self.wait_for(ticket)?;
        }
    }

    /// Hold while scanning every run: waits until no batch is in flight.
    pub(super) fn read_all(&self) -> Result<RwLockReadGuard<'_, Visibility>, StoreError> {
        *lock(&self.shared.scans_waiting) += 1;
        let result = loop {
            let visible = match self.visible() {
                Ok(visible) => visible,
                Err(e) => break Err(e),
            };
            if visible.runs.is_empty() {
                break Ok(visible);
            }
            let ticket = visible.ticket;
            drop(visible);
            if let Err(e) = self.wait_for(ticket) {
                break Err(e);
            }
        };
        *lock(&self.shared.scans_waiting) -= 1;
        self.shared.scans_let_in.notify_all();
        result
    }

    fn visible(&self) -> Result<RwLockReadGuard<'_, Visibility>, StoreError> {
        let visible = self
            .shared
            .visible
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(reason) = &lock(&self.shared.progress).failed {
            return Err(failed(reason));
        }
        Ok(visible)
    }

    /// Block until the batch with `ticket` is durable (or failed).
    /// Durable first: a batch that made it is not undone by a later failure.
    pub(super) fn wait_for(&self, ticket: u64) -> Result<(), StoreError> {
        let mut progress = lock(&self.shared.progress);
        loop {
            if progress.durable >= ticket {
                return Ok(());
            }
            if let Some(reason) = &progress.failed {
                return Err(failed(reason));
            }
            progress = self
                .shared
                .done
                .wait(progress)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    pub(super) fn stats(&self) -> CommitStats {
        *lock(&self.shared.stats)
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        lock(&self.shared.staged).closing = true;
        self.shared.work.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn commit_loop(shared: &Shared, trees: &Trees, tx: &watch::Sender<Progress>) {
    loop {
        let (ops, ticket) = {
            let mut staged = lock(&shared.staged);
            while staged.ops.is_empty() && !staged.closing {
                staged = shared
                    .work
                    .wait(staged)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if staged.ops.is_empty() {
                return;
            }
            if !staged.closing && shared.waiters.load(Ordering::Relaxed) >= LINGER_WAITERS {
                drop(staged);
                std::thread::sleep(LINGER);
                staged = lock(&shared.staged);
            }
            (std::mem::take(&mut staged.ops), staged.ticket)
        };
        let count = ops.len() as u64;
        if lock(&shared.progress).failed.is_some() {
            // Staged before the failure was seen: never applied, so
            // nothing after the failure shows up half written.
            continue;
        }
        publish(shared, &ops, ticket);
        let result = trees.apply(ops);
        let progress = {
            // Both at once, so a reader never finds the batch durable but
            // its runs still in flight (or cleared but not yet failed).
            let mut visible = shared
                .visible
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            let mut progress = lock(&shared.progress);
            match result {
                Ok(()) => progress.durable = ticket,
                Err(e) => {
                    tracing::error!("history store write failed: {e}");
                    progress.failed.get_or_insert_with(|| e.to_string().into());
                }
            }
            visible.runs.clear();
            progress.clone()
        };
        {
            let mut stats = lock(&shared.stats);
            stats.batches += 1;
            stats.writes += count;
            stats.largest_batch = stats.largest_batch.max(count);
        }
        shared.done.notify_all();
        tx.send_replace(progress);
    }
}

/// Mark the runs `ops` write as in flight, once the scans already waiting
/// are through (else a steady stream of batches could keep them out).
fn publish(shared: &Shared, ops: &[Op], ticket: u64) {
    let mut waiting = lock(&shared.scans_waiting);
    while *waiting > 0 {
        waiting = shared
            .scans_let_in
            .wait(waiting)
            .unwrap_or_else(PoisonError::into_inner);
    }
    drop(waiting);
    let mut visible = shared
        .visible
        .write()
        .unwrap_or_else(PoisonError::into_inner);
    visible.runs.extend(ops.iter().map(|op| op.run().to_vec()));
    visible.ticket = ticket;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A committer whose batches wait in flight, between apply and flush,
    /// until the test lets each one go.
    fn held() -> (Committer, Trees, mpsc::Receiver<()>, mpsc::Sender<()>) {
        let db = sled::Config::new().temporary(true).open().expect("sled");
        let (entered_tx, entered) = mpsc::channel();
        let (release, release_rx) = mpsc::channel::<()>();
        let release_rx = Mutex::new(release_rx);
        let trees = Trees {
            runs: db.open_tree("runs").expect("tree"),
            steps: db.open_tree("steps").expect("tree"),
            sealed: db.open_tree("sealed").expect("tree"),
            state: db.open_tree("state").expect("tree"),
            db,
            before_flush: Some(Arc::new(move || {
                let _ = entered_tx.send(());
                let _ = lock(&release_rx).recv();
            })),
        };
        let committer = Committer::start(trees.clone()).expect("committer");
        (committer, trees, entered, release)
    }

    fn put(run: &str, value: &str) -> Op {
        Op::Insert {
            tree: TreeId::Runs,
            key: run.as_bytes().to_vec(),
            value: value.as_bytes().to_vec(),
        }
    }

    fn step(run: &str, seq: u8) -> Op {
        Op::Insert {
            tree: TreeId::Steps,
            key: [run.as_bytes(), &[0, seq]].concat(),
            value: vec![seq],
        }
    }

    #[test]
    fn an_op_belongs_to_the_run_its_key_starts_with() {
        assert_eq!(put("r-1", "x").run(), b"r-1");
        assert_eq!(step("r-1", 7).run(), b"r-1");
        let prefix = Op::RemovePrefix {
            tree: TreeId::Sealed,
            prefix: b"r-1\0".to_vec(),
        };
        assert_eq!(prefix.run(), b"r-1");
    }

    #[test]
    fn a_batch_in_flight_holds_up_reads_of_its_runs_only() {
        let (committer, trees, entered, release) = held();
        committer.stage([put("a", "old")]).expect("stage");
        entered.recv().expect("first batch applied");
        release.send(()).expect("release");
        committer.wait().expect("durable");

        committer
            .stage([put("a", "new"), step("a", 1)])
            .expect("stage");
        entered.recv().expect("second batch applied, not flushed");
        let (read_a, read_a_rx) = mpsc::channel();
        let (scanned, scanned_rx) = mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let _visible = committer.read_run("a").expect("read");
                let value = trees.runs.get("a").expect("get").expect("present");
                let _ = read_a.send(value.to_vec());
            });
            scope.spawn(|| {
                let _visible = committer.read_all().expect("scan");
                let _ = scanned.send(trees.runs.len());
            });
            // Another run is readable while the batch is in flight...
            let other = committer.read_run("b").expect("read another run");
            assert!(trees.runs.get("b").expect("get").is_none());
            drop(other);
            // ...the batch's own run and full scans are not.
            assert!(read_a_rx.recv_timeout(Duration::from_millis(200)).is_err());
            assert!(scanned_rx.recv_timeout(Duration::from_millis(10)).is_err());
            release.send(()).expect("release");
            assert_eq!(
                read_a_rx.recv_timeout(Duration::from_secs(10)),
                Ok(b"new".to_vec()),
                "read once durable, and sees the batch"
            );
            assert_eq!(scanned_rx.recv_timeout(Duration::from_secs(10)), Ok(1));
        });
        // Let any further batch through so the committer can stop.
        drop(release);
    }

    #[test]
    fn a_waiting_scan_goes_before_the_next_batch() {
        let (committer, trees, entered, release) = held();
        committer.stage([put("a", "1")]).expect("stage");
        entered.recv().expect("batch in flight");
        let (scanned, scanned_rx) = mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let _visible = committer.read_all().expect("scan");
                // Held a while: the next batch must not be applied under it.
                std::thread::sleep(Duration::from_millis(50));
                let _ = scanned.send(trees.runs.get("b").expect("get").is_none());
            });
            // Wait until the scan is registered, then queue the next batch.
            while *lock(&committer.shared.scans_waiting) == 0 {
                std::thread::yield_now();
            }
            committer.stage([put("b", "2")]).expect("stage");
            release.send(()).expect("release the first batch");
            assert_eq!(
                scanned_rx.recv_timeout(Duration::from_secs(10)),
                Ok(true),
                "the scan saw the first batch, not the second"
            );
        });
        entered.recv().expect("second batch applied after the scan");
        drop(release);
        committer.wait().expect("durable");
        assert!(trees.runs.get("b").expect("get").is_some());
    }
}
