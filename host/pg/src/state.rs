//! [`crate::PgRunStore`]'s side of automation state
//! ([`weft_host::store::state`]): table `automation_state`, one row per
//! key, `entry` the JSON text `{"value", "updated_at"}` as on sled.
//!
//! Every write is its own transaction that first takes a transaction
//! advisory lock on the automation, then reads, checks the limits, writes
//! and commits. The lock serializes one automation's writers on every
//! host (a row lock could not: a missing key has no row to lock, and the
//! key-count limit is about rows that do not exist yet), so concurrent
//! increments never lose one and `max_keys` is never overshot. Writes
//! return once committed; reads see committed values only.

use crate::PgError;
use crate::run_store::{PgRunStore, backend};
use deadpool_postgres::Pool;
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};
use weft_host::store::StoreError;
use weft_host::store::state::{self, StateEntry, StateError, StateLimits};

/// What a row's `entry` holds.
#[derive(Serialize, Deserialize)]
struct Stored {
    value: Value,
    updated_at: i64,
}

/// The advisory lock class of state writes (the first half of the
/// two-key lock; the second is the automation id's hash). Migrations use
/// the one-key space, which never meets this one.
const STATE_LOCK_CLASS: i32 = 0x5746_5354; // "WFST"

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn decode(automation: &str, key: &str, text: &str) -> Result<StateEntry, StoreError> {
    let stored: Stored = serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        key: format!("state {automation}/{key}"),
        reason: e.to_string(),
    })?;
    Ok(StateEntry {
        key: key.to_string(),
        value: stored.value,
        updated_at: stored.updated_at,
    })
}

/// What a write does with the current value: a new value, or a refusal.
type Change = Box<dyn FnOnce(Option<&Value>) -> Result<Value, StateError> + Send>;

/// Why a write transaction ended without writing.
enum WriteError {
    Db(PgError),
    Refused(StateError),
}

impl From<PgError> for WriteError {
    fn from(e: PgError) -> Self {
        WriteError::Db(e)
    }
}

impl From<tokio_postgres::Error> for WriteError {
    fn from(e: tokio_postgres::Error) -> Self {
        WriteError::Db(e.into())
    }
}

impl From<deadpool_postgres::PoolError> for WriteError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        WriteError::Db(e.into())
    }
}

impl PgRunStore {
    pub(crate) fn state_get_impl(
        &self,
        automation: &str,
        key: &str,
    ) -> Result<Option<StateEntry>, StoreError> {
        let pool = self.database().pool().clone();
        let (a, k) = (automation.to_string(), key.to_string());
        let text = self
            .database()
            .block_on(async move {
                let row = pool
                    .get()
                    .await?
                    .query_opt(
                        "SELECT entry FROM automation_state WHERE automation_id = $1 AND key = $2",
                        &[&a, &k],
                    )
                    .await?;
                Ok(row.map(|r| r.get::<_, String>(0)))
            })
            .map_err(backend)?;
        text.map(|t| decode(automation, key, &t)).transpose()
    }

    pub(crate) fn state_list_impl(&self, automation: &str) -> Result<Vec<StateEntry>, StoreError> {
        let pool = self.database().pool().clone();
        let a = automation.to_string();
        let rows = self
            .database()
            .block_on(async move {
                let rows = pool
                    .get()
                    .await?
                    .query(
                        "SELECT key, entry FROM automation_state WHERE automation_id = $1 ORDER BY key",
                        &[&a],
                    )
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
                    .collect::<Vec<_>>())
            })
            .map_err(backend)?;
        rows.iter().map(|(k, t)| decode(automation, k, t)).collect()
    }

    /// Read, change, check and commit one key under the automation's lock.
    fn state_write(
        &self,
        automation: &str,
        key: &str,
        limits: &StateLimits,
        change: Change,
    ) -> Result<StateEntry, StateError> {
        limits.check_key(key)?;
        // Durable in order: the history writes made before this one commit
        // first, so a crash never keeps this write and loses them.
        self.writer().wait()?;
        let pool = self.database().pool().clone();
        let (a, k, limits) = (automation.to_string(), key.to_string(), limits.clone());
        let outcome = self
            .database()
            .block_on(async move { Ok(write(&pool, &a, &k, &limits, change).await) })
            .map_err(backend)?;
        match outcome {
            Ok(entry) => Ok(entry),
            Err(WriteError::Refused(e)) => Err(e),
            Err(WriteError::Db(e)) => Err(StoreError::Backend(e.to_string()).into()),
        }
    }

    pub(crate) fn state_set_impl(
        &self,
        automation: &str,
        key: &str,
        value: &Value,
        limits: &StateLimits,
    ) -> Result<StateEntry, StateError> {
        let value = value.clone();
        self.state_write(automation, key, limits, Box::new(move |_| Ok(value)))
    }

    pub(crate) fn state_increment_impl(
        &self,
        automation: &str,
        key: &str,
        by: &Number,
        limits: &StateLimits,
    ) -> Result<StateEntry, StateError> {
        let (k, by) = (key.to_string(), by.clone());
        self.state_write(
            automation,
            key,
            limits,
            Box::new(move |current| state::add(&k, current, &by)),
        )
    }

    /// Remove one key, or all with `key` `None`; true if any was there.
    pub(crate) fn state_remove(
        &self,
        automation: &str,
        key: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.writer().wait()?;
        let pool = self.database().pool().clone();
        let (a, k) = (automation.to_string(), key.map(str::to_string));
        self.database()
            .block_on(async move {
                let removed = pool
                    .get()
                    .await?
                    .execute(
                        "DELETE FROM automation_state
                         WHERE automation_id = $1 AND ($2::text IS NULL OR key = $2)",
                        &[&a, &k],
                    )
                    .await?;
                Ok(removed > 0)
            })
            .map_err(backend)
    }
}

async fn write(
    pool: &Pool,
    automation: &str,
    key: &str,
    limits: &StateLimits,
    change: Change,
) -> Result<StateEntry, WriteError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&STATE_LOCK_CLASS, &automation],
    )
    .await?;
    let current = tx
        .query_opt(
            "SELECT entry FROM automation_state WHERE automation_id = $1 AND key = $2",
            &[&automation, &key],
        )
        .await?
        .map(|r| r.get::<_, String>(0));
    let current = current
        .map(|t| decode(automation, key, &t))
        .transpose()
        .map_err(|e| WriteError::Refused(e.into()))?;
    let value = change(current.as_ref().map(|e| &e.value)).map_err(WriteError::Refused)?;
    limits.check_value(&value).map_err(WriteError::Refused)?;
    if current.is_none() {
        let held: i64 = tx
            .query_one(
                "SELECT count(*) FROM automation_state WHERE automation_id = $1",
                &[&automation],
            )
            .await?
            .get(0);
        if usize::try_from(held).unwrap_or(usize::MAX) >= limits.max_keys {
            return Err(WriteError::Refused(StateError::TooManyKeys {
                limit: limits.max_keys,
            }));
        }
    }
    let stored = Stored {
        value,
        updated_at: now_ms(),
    };
    let text = serde_json::to_string(&stored)
        .map_err(|e| WriteError::Refused(StoreError::Backend(e.to_string()).into()))?;
    tx.execute(
        "INSERT INTO automation_state (automation_id, key, entry) VALUES ($1, $2, $3)
         ON CONFLICT (automation_id, key) DO UPDATE SET entry = EXCLUDED.entry",
        &[&automation, &key, &text],
    )
    .await?;
    tx.commit().await?;
    Ok(StateEntry {
        key: key.to_string(),
        value: stored.value,
        updated_at: stored.updated_at,
    })
}
