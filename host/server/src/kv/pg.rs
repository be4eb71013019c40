//! [`Table`] over PostgreSQL's `kv` table (`tree`, `key`, `value`; see
//! host/pg/migrations/0001_init.sql): the backend several hosts share.
//!
//! Every statement commits on its own, so [`Table::flush`] has nothing
//! to do. Compare-and-swap is one conditional statement whose affected
//! row count says who won, which makes it atomic across hosts without a
//! transaction held open. `ORDER BY key` on bytea is byte order, as on
//! sled.

use super::{CasConflict, KvError, Pair, Table};
use std::ops::Bound;
use tokio_postgres::types::ToSql;
use weft_pg::{Database, PgError};

pub struct PgTable {
    db: Database,
    tree: String,
}

impl PgTable {
    pub fn new(db: Database, tree: &str) -> Self {
        PgTable {
            db,
            tree: tree.to_string(),
        }
    }

    /// Run one statement's worth of work on the database's runtime.
    fn call<T, F, Fut>(&self, work: F) -> Result<T, KvError>
    where
        T: Send + 'static,
        F: FnOnce(deadpool_postgres::Pool, String) -> Fut,
        Fut: std::future::Future<Output = Result<T, PgError>> + Send + 'static,
    {
        let fut = work(self.db.pool().clone(), self.tree.clone());
        Ok(self.db.block_on(fut)?)
    }
}

/// The next value of the `kv_ids` sequence.
pub(super) fn generate_id(db: &Database) -> Result<u64, KvError> {
    let pool = db.pool().clone();
    let id: i64 = db.block_on(async move {
        let client = pool.get().await?;
        let row = client.query_one("SELECT nextval('kv_ids')", &[]).await?;
        Ok(row.try_get::<_, i64>(0)?)
    })?;
    // A sequence starts at 1 and never goes negative.
    Ok(id.unsigned_abs())
}

async fn current(
    client: &deadpool_postgres::Client,
    tree: &str,
    key: &[u8],
) -> Result<Option<Vec<u8>>, PgError> {
    let row = client
        .query_opt(
            "SELECT value FROM kv WHERE tree = $1 AND key = $2",
            &[&tree, &key],
        )
        .await?;
    Ok(match row {
        Some(row) => Some(row.try_get::<_, Vec<u8>>(0)?),
        None => None,
    })
}

impl Table for PgTable {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        let key = key.to_vec();
        self.call(|pool, tree| async move {
            let client = pool.get().await?;
            current(&client, &tree, &key).await
        })
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        let (key, value) = (key.to_vec(), value.to_vec());
        self.call(|pool, tree| async move {
            let client = pool.get().await?;
            // The old value is read under the row's lock in the same
            // statement as the upsert.
            let row = client
                .query_opt(
                    "WITH old AS (SELECT value FROM kv WHERE tree = $1 AND key = $2 FOR UPDATE), \
                     up AS (INSERT INTO kv (tree, key, value) VALUES ($1, $2, $3) \
                            ON CONFLICT (tree, key) DO UPDATE SET value = EXCLUDED.value) \
                     SELECT value FROM old",
                    &[&tree, &key, &value],
                )
                .await?;
            Ok(match row {
                Some(row) => Some(row.try_get::<_, Vec<u8>>(0)?),
                None => None,
            })
        })
    }

    fn remove(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        let key = key.to_vec();
        self.call(|pool, tree| async move {
            let client = pool.get().await?;
            let row = client
                .query_opt(
                    "DELETE FROM kv WHERE tree = $1 AND key = $2 RETURNING value",
                    &[&tree, &key],
                )
                .await?;
            Ok(match row {
                Some(row) => Some(row.try_get::<_, Vec<u8>>(0)?),
                None => None,
            })
        })
    }

    fn compare_and_swap(
        &self,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<Result<(), CasConflict>, KvError> {
        let key = key.to_vec();
        let old = old.map(<[u8]>::to_vec);
        let new = new.map(<[u8]>::to_vec);
        self.call(|pool, tree| async move {
            let client = pool.get().await?;
            let swapped =
                match (&old, &new) {
                    (None, Some(new)) => {
                        client
                            .execute(
                                "INSERT INTO kv (tree, key, value) VALUES ($1, $2, $3) \
                             ON CONFLICT (tree, key) DO NOTHING",
                                &[&tree, &key, new],
                            )
                            .await?
                            == 1
                    }
                    (Some(old), Some(new)) => client
                        .execute(
                            "UPDATE kv SET value = $4 WHERE tree = $1 AND key = $2 AND value = $3",
                            &[&tree, &key, old, new],
                        )
                        .await?
                        == 1,
                    (Some(old), None) => {
                        client
                            .execute(
                                "DELETE FROM kv WHERE tree = $1 AND key = $2 AND value = $3",
                                &[&tree, &key, old],
                            )
                            .await?
                            == 1
                    }
                    // Absent to absent: holds exactly when nothing is there.
                    (None, None) => current(&client, &tree, &key).await?.is_none(),
                };
            if swapped {
                return Ok(Ok(()));
            }
            Ok(Err(CasConflict {
                current: current(&client, &tree, &key).await?,
            }))
        })
    }

    fn scan(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<Pair>, KvError> {
        let mut sql = String::from("SELECT key, value FROM kv WHERE tree = $1");
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for (bound, incl, excl) in [(lower, ">=", ">"), (upper, "<=", "<")] {
            let (op, key) = match bound {
                Bound::Included(k) => (incl, k),
                Bound::Excluded(k) => (excl, k),
                Bound::Unbounded => continue,
            };
            keys.push(key.to_vec());
            sql.push_str(&format!(" AND key {op} ${}", keys.len() + 1));
        }
        sql.push_str(if reverse {
            " ORDER BY key DESC"
        } else {
            " ORDER BY key"
        });
        sql.push_str(&format!(" LIMIT {}", limit.min(i64::MAX as usize)));
        self.call(|pool, tree| async move {
            let client = pool.get().await?;
            let statement = client.prepare_cached(&sql).await?;
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&tree];
            params.extend(keys.iter().map(|k| k as &(dyn ToSql + Sync)));
            let rows = client.query(&statement, &params).await?;
            rows.iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                .collect()
        })
    }

    fn len(&self) -> Result<usize, KvError> {
        self.call(|pool, tree| async move {
            let client = pool.get().await?;
            let row = client
                .query_one("SELECT count(*) FROM kv WHERE tree = $1", &[&tree])
                .await?;
            Ok(row.try_get::<_, i64>(0)?.unsigned_abs() as usize)
        })
    }

    fn flush(&self) -> Result<(), KvError> {
        Ok(())
    }
}
