//! Answering a paused run's form: the moves that take a run waiting at an
//! `input` block (status `paused`, see [`crate::store::WaitingFor`]) back
//! to `queued` with an answer — values submitted through the API, checked
//! against the form's schema, or the timeout — and stopping one that
//! waits. The caller then runs the record again (a server re-queues it;
//! an embedder calls [`Weft::run_record`]): the walk takes over the
//! history before the block and takes the answer as the block's outcome.
//!
//! Every move reads the record, checks it is still paused, and writes it
//! back durably under one lock, so a submission, a timeout and a stop that
//! meet cannot both win; the write itself is conditional on the stored
//! record still being paused ([`crate::RunStore::put_run_if`]), which
//! keeps that true between processes sharing one store.

use crate::automation::plan::{FormError, check_form_values};
use crate::store::{InputAnswer, RunRecord, RunStatus, StoreError};
use crate::weft::Weft;
use serde_json::Value;
use std::sync::Mutex;

/// Held across a move's read, check and durable write.
static MOVES: Mutex<()> = Mutex::new(());

/// Why a form could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("no run {0:?}")]
    NotFound(String),
    /// The run is not waiting for a form (any more).
    #[error("run {run_id:?} is {status:?}, not paused at an input block")]
    NotPaused { run_id: String, status: RunStatus },
    /// The form's time was up: the timeout was applied instead (the
    /// record returned is queued to go on with it).
    #[error("the form of run {:?} expired before it was submitted", .0.id)]
    Expired(Box<RunRecord>),
    /// The values do not satisfy the form's schema.
    #[error("the values do not satisfy the form: {}", list(.0))]
    Invalid(Vec<FormError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn list(errors: &[FormError]) -> String {
    errors
        .iter()
        .map(|e| match e.field.as_str() {
            "" => e.message.clone(),
            f => format!("{f}: {}", e.message),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Weft {
    /// Answer the form run `run_id` waits for with `values` (checked
    /// against its schema), submitted by `user`, as of `now_ms`. Returns
    /// the record, now durably `queued` with the answer: run it again to
    /// go on. A form whose time is up takes its timeout instead
    /// ([`InputError::Expired`]).
    pub fn submit_input(
        &self,
        run_id: &str,
        values: Value,
        user: Option<&str>,
        now_ms: i64,
    ) -> Result<RunRecord, InputError> {
        let _move = MOVES.lock().unwrap_or_else(|p| p.into_inner());
        let mut record = self.paused(run_id)?;
        let waiting = record.waiting_for.as_mut().ok_or(InputError::NotPaused {
            run_id: run_id.to_string(),
            status: RunStatus::Paused,
        })?;
        if now_ms >= waiting.expires_at {
            waiting.answer = Some(InputAnswer::TimedOut { at: now_ms });
            record.status = RunStatus::Queued;
            self.write(&record).map_err(|e| e.into_input(run_id))?;
            return Err(InputError::Expired(Box::new(record)));
        }
        check_form_values(&waiting.schema, &values).map_err(InputError::Invalid)?;
        waiting.answer = Some(InputAnswer::Submitted {
            values,
            submitted_by: user.map(str::to_string),
            submitted_at: now_ms,
        });
        record.status = RunStatus::Queued;
        self.write(&record).map_err(|e| e.into_input(run_id))?;
        Ok(record)
    }

    /// Apply the timeout of the form run `run_id` waits for, if it passed
    /// by `now_ms`. Returns the record, durably `queued` to go on with the
    /// timeout; `None` when the run is not paused or its time is not up.
    pub fn time_out_input(
        &self,
        run_id: &str,
        now_ms: i64,
    ) -> Result<Option<RunRecord>, StoreError> {
        let _move = MOVES.lock().unwrap_or_else(|p| p.into_inner());
        let Some(mut record) = self.store().get_run(run_id)? else {
            return Ok(None);
        };
        let Some(waiting) = record
            .waiting_for
            .as_mut()
            .filter(|w| record.status == RunStatus::Paused && now_ms >= w.expires_at)
        else {
            return Ok(None);
        };
        waiting.answer = Some(InputAnswer::TimedOut { at: now_ms });
        record.status = RunStatus::Queued;
        match self.write(&record) {
            Ok(()) => Ok(Some(record)),
            Err(MoveError::Moved) => Ok(None),
            Err(MoveError::Store(e)) => Err(e),
        }
    }

    /// Stop run `run_id` if it is paused (it ends `stopped`, its form
    /// unanswered). `None` when it is not paused.
    pub fn stop_paused(&self, run_id: &str, now_ms: i64) -> Result<Option<RunRecord>, StoreError> {
        let _move = MOVES.lock().unwrap_or_else(|p| p.into_inner());
        let Some(mut record) = self
            .store()
            .get_run(run_id)?
            .filter(|r| r.status == RunStatus::Paused)
        else {
            return Ok(None);
        };
        record.status = RunStatus::Stopped;
        record.error = Some("stopped on request while it waited for input".into());
        record.finished_at = Some(now_ms);
        record.waiting_for = None;
        match self.write(&record) {
            Ok(()) => {}
            Err(MoveError::Moved) => return Ok(None),
            Err(MoveError::Store(e)) => return Err(e),
        }
        self.store().drop_sealed(run_id)?;
        Ok(Some(record))
    }

    fn paused(&self, run_id: &str) -> Result<RunRecord, InputError> {
        let record = self
            .store()
            .get_run(run_id)?
            .ok_or_else(|| InputError::NotFound(run_id.to_string()))?;
        match record.status {
            RunStatus::Paused => Ok(record),
            status => Err(InputError::NotPaused {
                run_id: run_id.to_string(),
                status,
            }),
        }
    }

    /// Durable before the move is acknowledged (and before the next move
    /// reads it: the store shows only what is durable), and only if the run
    /// is still paused: another process may have moved it meanwhile.
    fn write(&self, record: &RunRecord) -> Result<(), MoveError> {
        if self.store().put_run_if(record, RunStatus::Paused)? {
            Ok(())
        } else {
            Err(MoveError::Moved)
        }
    }
}

/// Why a move's write did not happen.
enum MoveError {
    /// Another process moved the run first (it is no longer paused).
    Moved,
    Store(StoreError),
}

impl From<StoreError> for MoveError {
    fn from(e: StoreError) -> Self {
        MoveError::Store(e)
    }
}

impl MoveError {
    fn into_input(self, run_id: &str) -> InputError {
        match self {
            // Answered, timed out or stopped elsewhere just now.
            MoveError::Moved => InputError::NotPaused {
                run_id: run_id.to_string(),
                status: RunStatus::Queued,
            },
            MoveError::Store(e) => InputError::Store(e),
        }
    }
}
