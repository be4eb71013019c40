//! The audit log: who changed what the server runs, and when.
//!
//! Installing, removing and re-granting connectors, and the automations a
//! forced removal disabled, are recorded here (`GET /api/v1/audit`, admins
//! only). Entries are append-only in their own table, keyed by time
//! and a store-generated id so two changes in one millisecond keep their
//! order, and flushed before the change is acknowledged.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    #[serde(rename = "connector.install")]
    ConnectorInstall,
    #[serde(rename = "connector.remove")]
    ConnectorRemove,
    #[serde(rename = "connector.grants")]
    ConnectorGrants,
    #[serde(rename = "automation.disable")]
    AutomationDisable,
}

/// One entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// Its position, for paging (also the cursor).
    pub id: String,
    /// Unix milliseconds.
    pub at: i64,
    /// The user who made the change.
    pub actor: String,
    pub action: Action,
    /// What it was done to: `connector@version`, a connector id, an
    /// automation id.
    pub target: String,
    /// The change itself (the new grants, the removed version's hash, the
    /// reason an automation was disabled).
    #[serde(default)]
    pub detail: Value,
}

#[derive(Clone)]
pub struct AuditLog {
    tree: crate::kv::Tree,
    db: crate::kv::Tables,
}

impl AuditLog {
    pub fn open(db: &crate::kv::Tables) -> Result<Self, crate::kv::KvError> {
        Ok(AuditLog {
            tree: db.open_tree("audit")?,
            db: db.clone(),
        })
    }

    /// Append an entry and flush it.
    pub fn record(
        &self,
        actor: &str,
        action: Action,
        target: &str,
        detail: Value,
    ) -> Result<Entry, crate::kv::KvError> {
        let at = crate::now_ms();
        let seq = self.db.generate_id()?;
        let mut key = Vec::with_capacity(16);
        key.extend_from_slice(&at.to_be_bytes());
        key.extend_from_slice(&seq.to_be_bytes());
        let entry = Entry {
            id: hex::encode(&key),
            at,
            actor: actor.to_string(),
            action,
            target: target.to_string(),
            detail,
        };
        // Serializing plain data into a Vec cannot fail.
        self.tree
            .insert(key, serde_json::to_vec(&entry).unwrap_or_default())?;
        self.tree.flush()?;
        Ok(entry)
    }

    /// Up to `limit` entries, newest first, older than the entry `before`
    /// (an id from an earlier page); and whether more follow.
    pub fn page(
        &self,
        before: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Entry>, bool), crate::kv::KvError> {
        let upper = before.and_then(|b| hex::decode(b).ok());
        let iter = match upper {
            Some(key) => self.tree.range(..key),
            None => self.tree.range::<Vec<u8>, _>(..),
        };
        let mut out = Vec::new();
        for item in iter.rev() {
            let (_, value) = item?;
            // An entry that does not parse is skipped rather than failing
            // the whole log (it cannot come from this code).
            if let Ok(entry) = serde_json::from_slice::<Entry>(&value) {
                if out.len() == limit {
                    return Ok((out, true));
                }
                out.push(entry);
            }
        }
        Ok((out, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_page_newest_first() {
        let db = crate::kv::Tables::Sled(sled::Config::new().temporary(true).open().expect("db"));
        let log = AuditLog::open(&db).expect("log");
        for i in 0..5 {
            log.record(
                "admin",
                Action::ConnectorInstall,
                &format!("c@{i}.0.0"),
                Value::Null,
            )
            .expect("record");
        }
        let (first, more) = log.page(None, 2).expect("page");
        assert!(more);
        assert_eq!(first[0].target, "c@4.0.0");
        assert_eq!(first[1].target, "c@3.0.0");
        let (rest, more) = log.page(Some(&first[1].id), 10).expect("page");
        assert!(!more);
        let targets: Vec<&str> = rest.iter().map(|e| e.target.as_str()).collect();
        assert_eq!(targets, ["c@2.0.0", "c@1.0.0", "c@0.0.0"]);
    }
}
