//! Stored automations: the document plus what the server adds — owner,
//! enabled flag, optimistic version, timestamps and the hash of the
//! execution token that API-call triggers present.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredAutomation {
    pub id: String,
    pub owner: String,
    pub enabled: bool,
    /// Starts at 1; every change must name the version it changes.
    pub version: u64,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(default)]
    pub execution_token_hash: String,
    /// SHA-256 of the secret in the webhook URL.
    #[serde(default)]
    pub webhook_secret_hash: String,
    /// Triggers per minute; `None` uses the server's default.
    #[serde(default)]
    pub rate_limit_per_minute: Option<u32>,
    /// The webhook secret sealed with the server key, for checking
    /// `X-Weft-Signature` (absent on automations made before signatures).
    #[serde(default)]
    pub webhook_secret_sealed: Option<String>,
    /// Runs at the same time; `None` uses the server's default.
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// Why the server disabled it (e.g. a connector version it needed was
    /// removed); cleared when someone enables it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    pub document: Value,
}

impl StoredAutomation {
    /// The automation's own concurrency limit, if it sets one.
    pub fn concurrency_limit(&self) -> Option<usize> {
        self.concurrency.map(|n| n as usize)
    }

    /// The API view: no token hash.
    pub fn view(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "name": self.document.get("name"),
            "owner": self.owner,
            "enabled": self.enabled,
            "disabled_reason": self.disabled_reason,
            "rate_limit_per_minute": self.rate_limit_per_minute,
            "concurrency": self.concurrency,
            "version": self.version,
            "run_mode": self.document.get("run_mode").cloned().unwrap_or(Value::Null),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "document": self.document,
        })
    }
}

#[derive(Clone)]
pub struct Automations {
    tree: crate::kv::Tree,
}

impl Automations {
    pub fn open(db: &crate::kv::Tables) -> Result<Self, crate::kv::KvError> {
        Ok(Automations {
            tree: db.open_tree("automations")?,
        })
    }

    pub fn get(&self, id: &str) -> Result<Option<StoredAutomation>, crate::kv::KvError> {
        Ok(self
            .tree
            .get(id.as_bytes())?
            .and_then(|v| serde_json::from_slice(&v).ok()))
    }

    /// Insert if absent; false if the id is taken. Durable on return:
    /// a trigger acknowledged right after must find the automation after a
    /// crash.
    pub fn create(&self, a: &StoredAutomation) -> Result<bool, crate::kv::KvError> {
        let bytes = serde_json::to_vec(a).unwrap_or_default();
        let created = self
            .tree
            .compare_and_swap(a.id.as_bytes(), None as Option<&[u8]>, Some(bytes))?
            .is_ok();
        self.tree.flush()?;
        Ok(created)
    }

    /// Replace `current` with `next` atomically; false if it changed since.
    pub fn replace(
        &self,
        current: &StoredAutomation,
        next: &StoredAutomation,
    ) -> Result<bool, crate::kv::KvError> {
        let old = serde_json::to_vec(current).unwrap_or_default();
        let new = serde_json::to_vec(next).unwrap_or_default();
        let replaced = self
            .tree
            .compare_and_swap(current.id.as_bytes(), Some(old), Some(new))?
            .is_ok();
        self.tree.flush()?;
        Ok(replaced)
    }

    pub fn delete(&self, id: &str) -> Result<bool, crate::kv::KvError> {
        let existed = self.tree.remove(id.as_bytes())?.is_some();
        self.tree.flush()?;
        Ok(existed)
    }

    pub fn list(&self) -> Result<Vec<StoredAutomation>, crate::kv::KvError> {
        self.tree
            .iter()
            .values()
            .map(|v| v.map(|v| serde_json::from_slice(&v).ok()))
            .filter_map(|r| r.transpose())
            .collect()
    }
}
