//! The engine's state API for embedding programs: read and write an
//! automation's state between runs (what its `state-get`, `state-set` and
//! `state-increment` blocks use; see [`crate::store::state`]) in the
//! engine's run store, within its [`crate::RunLimits::state`] limits.

use super::Weft;
use crate::store::{StateEntry, StateError, StoreError};
use serde_json::{Number, Value};

impl Weft {
    /// One key of `automation`'s state.
    pub fn state_get(&self, automation: &str, key: &str) -> Result<Option<StateEntry>, StoreError> {
        self.store().state_get(automation, key)
    }

    /// All of `automation`'s state, by key.
    pub fn state_list(&self, automation: &str) -> Result<Vec<StateEntry>, StoreError> {
        self.store().state_list(automation)
    }

    /// Write a key; durable when this returns.
    pub fn state_set(
        &self,
        automation: &str,
        key: &str,
        value: &Value,
    ) -> Result<StateEntry, StateError> {
        self.store()
            .state_set(automation, key, value, &self.run_limits().state)
    }

    /// Add `by` to a numeric key (missing: 0); durable when this returns.
    pub fn state_increment(
        &self,
        automation: &str,
        key: &str,
        by: &Number,
    ) -> Result<StateEntry, StateError> {
        self.store()
            .state_increment(automation, key, by, &self.run_limits().state)
    }

    /// Remove a key; false if there was none.
    pub fn state_delete(&self, automation: &str, key: &str) -> Result<bool, StoreError> {
        self.store().state_delete(automation, key)
    }

    /// Remove all of `automation`'s state (when the automation is deleted).
    pub fn state_clear(&self, automation: &str) -> Result<(), StoreError> {
        self.store().state_clear(automation)
    }
}
