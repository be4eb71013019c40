//! How often each queued run was cut short by the server stopping without
//! shutting down in order, kept durably so that a run which takes the
//! server down (by exhausting it, say) cannot do so again at the restart.
//!
//! The queue marks a run started — and flushes the mark — just before it
//! walks it, and forgets the mark when the walk ends. A `weft serve` that
//! shuts down in order (SIGTERM, Ctrl-C) starts no run any more and counts
//! the runs it was walking as cut short by an orderly stop rather than a
//! crash ([`RunStarts::stopped_in_order`]). A run found unfinished at start
//! was in progress at that many crashes (or kills) and orderly stops of the
//! server (a run still `queued` may have been started: the history shows
//! it `running` only after its first 100 ms). Once the crashes reach
//! `max_run_interruptions`, or the orderly stops `max_run_resumes`, the run
//! is failed instead of resumed.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

/// Default for `max_run_interruptions`: a run in progress at one crash
/// resumes at its last finished block (a kill or a power cut is rarely
/// the run's fault); one in progress at a second crash is failed, so no
/// run can keep taking the server down.
pub const DEFAULT_MAX_RUN_INTERRUPTIONS: u32 = 2;

/// How many times a run was cut short, by kind of stop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Marks {
    /// Stops not in order (a crash, a kill): the run may have been the
    /// cause.
    pub crashes: u32,
    /// Orderly stops (SIGTERM, Ctrl-C) while it was walked.
    pub orderly: u32,
}

impl Marks {
    fn encode(self) -> Vec<u8> {
        let mut bytes = self.crashes.to_be_bytes().to_vec();
        bytes.extend_from_slice(&self.orderly.to_be_bytes());
        bytes
    }

    /// Eight bytes (crashes, orderly stops); four from builds that counted
    /// only starts.
    fn decode(bytes: &[u8]) -> Marks {
        let word = |b: &[u8]| <[u8; 4]>::try_from(b).map_or(0, u32::from_be_bytes);
        match bytes.len() {
            8 => Marks {
                crashes: word(&bytes[..4]),
                orderly: word(&bytes[4..]),
            },
            _ => Marks {
                crashes: word(bytes),
                orderly: 0,
            },
        }
    }
}

/// Default for `max_run_resumes`: a run cut short by this many orderly
/// stops is failed at the next start. A supervisor that restarts a server
/// the run wedged (exhausting memory or every slot) stops it in order, so
/// orderly stops cannot be forgiven without end either.
pub const DEFAULT_MAX_RUN_RESUMES: u32 = 3;

/// Why start marks could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("run start marks: {0}")]
pub struct MarkError(pub String);

impl From<crate::kv::KvError> for MarkError {
    fn from(e: crate::kv::KvError) -> Self {
        MarkError(e.to_string())
    }
}

/// Where start marks are kept — the queue's own durable state beside the
/// queued records in the [`weft_host::RunStore`]. The backend is
/// [`KvMarks`]; a shared database implements the same trait, and
/// `weft_tests::queue_conformance` holds every backend to it.
pub trait StartMarkStore: Send + Sync {
    /// `run_id`'s marks; `None` when it has none.
    fn get(&self, run_id: &str) -> Result<Option<Marks>, MarkError>;
    /// Count one more start of `run_id` as a crash until taken back and
    /// return the new marks. Applied at once, durable after [`Self::flush`].
    fn add_start(&self, run_id: &str) -> Result<Marks, MarkError>;
    /// Turn one start counted as a crash into an orderly stop (no-op
    /// without marks). Durable after [`Self::flush`].
    fn to_orderly(&self, run_id: &str) -> Result<(), MarkError>;
    /// Drop `run_id`'s marks (it ended); need not be durable.
    fn remove(&self, run_id: &str) -> Result<(), MarkError>;
    /// Make every change made before it durable.
    fn flush(&self) -> Result<(), MarkError>;
}

/// Start marks in the `run_starts` table (sled tree or PostgreSQL `kv`
/// rows): run id → [`Marks`].
pub struct KvMarks {
    tree: crate::kv::Tree,
}

impl KvMarks {
    pub fn open(db: &crate::kv::Tables) -> Result<Self, crate::kv::KvError> {
        Ok(KvMarks {
            tree: db.open_tree("run_starts")?,
        })
    }
}

impl StartMarkStore for KvMarks {
    fn get(&self, run_id: &str) -> Result<Option<Marks>, MarkError> {
        Ok(self.tree.get(run_id)?.map(|v| Marks::decode(&v)))
    }

    fn add_start(&self, run_id: &str) -> Result<Marks, MarkError> {
        Ok(self
            .tree
            .update_and_fetch(run_id, |old| {
                let m = old.map(Marks::decode).unwrap_or_default();
                Some(
                    Marks {
                        crashes: m.crashes.saturating_add(1),
                        ..m
                    }
                    .encode(),
                )
            })?
            .map(|v| Marks::decode(&v))
            .unwrap_or_default())
    }

    fn to_orderly(&self, run_id: &str) -> Result<(), MarkError> {
        self.tree.update_and_fetch(run_id, |old| {
            old.map(|v| {
                let m = Marks::decode(v);
                Marks {
                    crashes: m.crashes.saturating_sub(1),
                    orderly: m.orderly.saturating_add(1),
                }
                .encode()
            })
        })?;
        Ok(())
    }

    fn remove(&self, run_id: &str) -> Result<(), MarkError> {
        self.tree.remove(run_id)?;
        Ok(())
    }

    fn flush(&self) -> Result<(), MarkError> {
        self.tree.flush()?;
        Ok(())
    }
}

/// The start marks of queued runs, over a [`StartMarkStore`], and the
/// runs this process is walking.
#[derive(Clone)]
pub struct RunStarts {
    marks: Arc<dyn StartMarkStore>,
    state: Arc<Mutex<Walking>>,
}

#[derive(Default)]
struct Walking {
    /// The runs this process marked and is walking now.
    ids: HashSet<String>,
    /// The server is shutting down: no run starts any more.
    closing: bool,
}

impl RunStarts {
    /// Over the embedded store's `run_starts` tree.
    pub fn open(db: &crate::kv::Tables) -> Result<Self, crate::kv::KvError> {
        Ok(Self::new(Arc::new(KvMarks::open(db)?)))
    }

    pub fn new(marks: Arc<dyn StartMarkStore>) -> Self {
        RunStarts {
            marks,
            state: Arc::default(),
        }
    }

    /// How often `run_id` was cut short; `None` when it has no marks at
    /// all (a run from before marks were kept, or never started).
    pub fn count(&self, run_id: &str) -> Result<Option<Marks>, MarkError> {
        self.marks.get(run_id)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Walking> {
        // A set of ids and a flag: a panic elsewhere cannot leave them
        // half changed.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The server is shutting down in order: no run starts from now on,
    /// and the runs it is walking did not bring it down, so their start in
    /// this process is counted as an orderly stop instead of a crash
    /// (durably). Returns how many.
    pub fn stopped_in_order(&self) -> Result<usize, MarkError> {
        let ids: Vec<String> = {
            let mut state = self.state();
            state.closing = true;
            state.ids.drain().collect()
        };
        for id in &ids {
            self.marks.to_orderly(id)?;
        }
        self.marks.flush()?;
        Ok(ids.len())
    }

    /// Record one more start of `run_id`, durably, before it runs (as a
    /// crash until the run ends or the server stops in order). `None`:
    /// the server is shutting down, so the run must not start (it stays
    /// queued for the next start).
    pub fn mark(&self, run_id: &str) -> Result<Option<Marks>, MarkError> {
        // Held across the in-memory update (not the flush) so a shutdown
        // cannot slip in between the check, the count and the run joining
        // the walked set: its take-back always follows this count.
        let mut state = self.state();
        if state.closing {
            return Ok(None);
        }
        let next = self.marks.add_start(run_id)?;
        state.ids.insert(run_id.to_string());
        drop(state);
        // Flushed unlocked: concurrent starts share the backend's flushes
        // instead of queueing for the lock one at a time.
        self.marks.flush()?;
        Ok(Some(next))
    }

    /// The run ended (any way): its marks are no longer needed. Not
    /// flushed: a mark that survives a crash belongs to a finished run,
    /// which recovery never looks at.
    pub fn forget(&self, run_id: &str) {
        self.state().ids.remove(run_id);
        if let Err(e) = self.marks.remove(run_id) {
            tracing::warn!(run_id, "cannot forget the run's start marks: {e}");
        }
    }
}

/// The message of a run failed because the server kept stopping under it.
pub fn not_retried(marks: Marks, max_interruptions: u32) -> String {
    let times = |n: u32| match n {
        1 => "once".to_string(),
        n => format!("{n} times"),
    };
    if marks.crashes >= max_interruptions {
        format!(
            "the server stopped without shutting down in order {} while this run was in progress (the run may have been the cause); it was not retried (max_run_interruptions)",
            times(marks.crashes)
        )
    } else {
        format!(
            "the server was stopped {} while this run was in progress; it was not resumed again (max_run_resumes)",
            times(marks.orderly)
        )
    }
}
