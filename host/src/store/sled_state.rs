//! The sled store's side of automation state ([`super::state`]).
//!
//! Tree `state` maps automation id ‖ 0x00 ‖ key → `{"value", "updated_at"}`
//! (JSON). Writes go through group commit like the history's, and each
//! returns only once its batch is durable. A write holds the store's state
//! lock from its read to its commit: the next write reads the committed
//! value, so concurrent increments never lose one. Reads take no lock and
//! see committed values only.

use super::StoreError;
use super::commit::{Op, TreeId};
use super::sled_store::{SledStore, backend, decode};
use super::state::{self, StateEntry, StateError, StateLimits};
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};
use std::sync::PoisonError;

/// What the tree keeps per key.
#[derive(Serialize, Deserialize)]
struct Stored {
    value: Value,
    updated_at: i64,
}

fn prefix(automation: &str) -> Vec<u8> {
    let mut key = automation.as_bytes().to_vec();
    key.push(0);
    key
}

fn state_key(automation: &str, key: &str) -> Vec<u8> {
    let mut k = prefix(automation);
    k.extend_from_slice(key.as_bytes());
    k
}

impl SledStore {
    pub(super) fn state_get_impl(
        &self,
        automation: &str,
        key: &str,
    ) -> Result<Option<StateEntry>, StoreError> {
        let _committed = self.committer.read_run(automation)?;
        let k = state_key(automation, key);
        match self.trees.state.get(&k).map_err(backend)? {
            Some(bytes) => {
                let stored: Stored = decode(&k, &bytes)?;
                Ok(Some(StateEntry {
                    key: key.to_string(),
                    value: stored.value,
                    updated_at: stored.updated_at,
                }))
            }
            None => Ok(None),
        }
    }

    pub(super) fn state_list_impl(&self, automation: &str) -> Result<Vec<StateEntry>, StoreError> {
        let _committed = self.committer.read_run(automation)?;
        let p = prefix(automation);
        let mut out = Vec::new();
        for item in self.trees.state.scan_prefix(&p) {
            let (k, v) = item.map_err(backend)?;
            let stored: Stored = decode(&k, &v)?;
            out.push(StateEntry {
                key: String::from_utf8_lossy(&k[p.len()..]).into_owned(),
                value: stored.value,
                updated_at: stored.updated_at,
            });
        }
        Ok(out)
    }

    /// Read, change and commit one key under the state lock. `change`
    /// gets the current value (if any) and returns the new one.
    pub(super) fn state_write(
        &self,
        automation: &str,
        key: &str,
        limits: &StateLimits,
        change: impl FnOnce(Option<&Value>) -> Result<Value, StateError>,
    ) -> Result<StateEntry, StateError> {
        limits.check_key(key)?;
        let _writing = self
            .state_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let current = self.state_get_impl(automation, key)?;
        let value = change(current.as_ref().map(|e| &e.value))?;
        limits.check_value(&value)?;
        if current.is_none() {
            let held = {
                let _committed = self.committer.read_run(automation)?;
                self.trees.state.scan_prefix(prefix(automation)).count()
            };
            if held >= limits.max_keys {
                return Err(StateError::TooManyKeys {
                    limit: limits.max_keys,
                });
            }
        }
        let updated_at = crate::walker::now_ms();
        let stored = Stored { value, updated_at };
        let bytes = serde_json::to_vec(&stored).map_err(backend)?;
        let ticket = self.committer.stage([Op::Insert {
            tree: TreeId::State,
            key: state_key(automation, key),
            value: bytes,
        }])?;
        self.committer.wait_for(ticket)?;
        Ok(StateEntry {
            key: key.to_string(),
            value: stored.value,
            updated_at,
        })
    }

    pub(super) fn state_increment_impl(
        &self,
        automation: &str,
        key: &str,
        by: &Number,
        limits: &StateLimits,
    ) -> Result<StateEntry, StateError> {
        self.state_write(automation, key, limits, |current| {
            state::add(key, current, by)
        })
    }

    /// Remove keys (one, or all with `key` `None`) and wait for the disk.
    pub(super) fn state_remove(
        &self,
        automation: &str,
        key: Option<&str>,
    ) -> Result<bool, StoreError> {
        let _writing = self
            .state_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (existed, op) = match key {
            Some(key) => (
                self.state_get_impl(automation, key)?.is_some(),
                Op::Remove {
                    tree: TreeId::State,
                    key: state_key(automation, key),
                },
            ),
            None => (
                true,
                Op::RemovePrefix {
                    tree: TreeId::State,
                    prefix: prefix(automation),
                },
            ),
        };
        let ticket = self.committer.stage([op])?;
        self.committer.wait_for(ticket)?;
        Ok(existed)
    }
}
