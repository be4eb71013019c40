//! Group commit for the sled store: nothing is shown before it is on disk.
//!
//! A write is *staged* in memory and returns at once. One committer thread
//! takes everything staged so far as a batch, applies it to sled and
//! flushes it, all while holding the write side of [`Committer::gate`];
//! readers hold the read side, so they see a batch only once it is
//! durable. Writes that arrive during a flush form the next batch: under
//! load many runs' writes share one flush, which is what keeps the server
//! fast without showing anything a crash could take back.
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
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};
use tokio::sync::watch;

/// Which tree an operation writes.
#[derive(Debug, Clone, Copy)]
pub(super) enum TreeId {
    Runs,
    Steps,
    Sealed,
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

/// The trees the committer writes.
#[derive(Clone)]
pub(super) struct Trees {
    pub db: sled::Db,
    pub runs: sled::Tree,
    pub steps: sled::Tree,
    pub sealed: sled::Tree,
}

impl Trees {
    fn tree(&self, id: TreeId) -> &sled::Tree {
        match id {
            TreeId::Runs => &self.runs,
            TreeId::Steps => &self.steps,
            TreeId::Sealed => &self.sealed,
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
        // Durable before the gate opens: this is the whole point.
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
    /// Readers hold it shared; the committer holds it while a batch is
    /// applied but not yet flushed.
    gate: RwLock<()>,
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
            gate: RwLock::new(()),
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
        let ticket = self.last_ticket();
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

    /// A future that resolves once everything staged so far is durable.
    pub(super) fn committed(&self) -> super::Committed {
        let ticket = self.last_ticket();
        let mut watch = self.watch.clone();
        Box::pin(async move {
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

    /// Hold while reading: committed data only. After a failed commit
    /// the trees may hold writes that never reached the disk, so reads
    /// fail too.
    pub(super) fn read(&self) -> Result<RwLockReadGuard<'_, ()>, StoreError> {
        let guard = self
            .shared
            .gate
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(reason) = &lock(&self.shared.progress).failed {
            return Err(failed(reason));
        }
        Ok(guard)
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
            (std::mem::take(&mut staged.ops), staged.ticket)
        };
        let count = ops.len() as u64;
        if lock(&shared.progress).failed.is_some() {
            // Staged before the failure was seen: never applied, so
            // nothing after the failure shows up half written.
            continue;
        }
        let result = {
            let _gate = shared.gate.write().unwrap_or_else(PoisonError::into_inner);
            trees.apply(ops)
        };
        let progress = {
            let mut progress = lock(&shared.progress);
            match result {
                Ok(()) => progress.durable = ticket,
                Err(e) => {
                    tracing::error!("history store write failed: {e}");
                    progress.failed.get_or_insert_with(|| e.to_string().into());
                }
            }
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
