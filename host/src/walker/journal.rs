//! The run's step journal: steps written behind until the run becomes
//! visible, then as each finishes.

use crate::store::{RunStore, StepRecord, StoreError};

/// The run's steps, shared between the walk and the timer that makes a
/// longer run visible: written behind until then, as they finish after.
#[derive(Default)]
pub(super) struct Journal {
    inner: std::sync::Mutex<JournalInner>,
}

#[derive(Default)]
pub(super) struct JournalInner {
    steps: Vec<StepRecord>,
    /// Steps before this index are in the store.
    written: usize,
    /// Past [`WRITE_BEHIND`]: write each step as it comes.
    live: bool,
}

impl Journal {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, JournalInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn push(
        &self,
        store: &dyn RunStore,
        run_id: &str,
        step: StepRecord,
    ) -> Result<(), StoreError> {
        let mut j = self.lock();
        j.steps.push(step);
        if j.live {
            Self::write(&mut j, store, run_id)?;
        }
        Ok(())
    }

    /// Write what is pending, and from now on each step as it comes.
    pub(super) fn go_live(&self, store: &dyn RunStore, run_id: &str) -> Result<(), StoreError> {
        let mut j = self.lock();
        j.live = true;
        Self::write(&mut j, store, run_id)
    }

    fn write(j: &mut JournalInner, store: &dyn RunStore, run_id: &str) -> Result<(), StoreError> {
        if j.written < j.steps.len() {
            store.append_steps(run_id, &j.steps[j.written..])?;
            j.written = j.steps.len();
        }
        Ok(())
    }

    /// Write the rest; hand over all steps.
    pub(super) fn finish(
        &self,
        store: &dyn RunStore,
        run_id: &str,
    ) -> (Vec<StepRecord>, Result<(), StoreError>) {
        let mut j = self.lock();
        let written = Self::write(&mut j, store, run_id);
        (std::mem::take(&mut j.steps), written)
    }
}
