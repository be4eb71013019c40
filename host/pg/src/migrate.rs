//! Versioned migrations: numbered SQL files embedded in the binary,
//! applied in order, each in its own transaction, recorded in
//! `weft_schema_migrations`.
//!
//! Hosts starting together take an advisory lock first, so one applies
//! and the others find the work done. A database already migrated past
//! what this build knows is refused ([`PgError::SchemaNewer`]): an older
//! host would misread rows written under rules it does not know. (A
//! migration crate such as refinery would do the bookkeeping, but not
//! that refusal, and the runner is this one file.)

use crate::database::Database;
use crate::error::PgError;

/// One schema change.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration this build knows, oldest first.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "init",
    sql: include_str!("../migrations/0001_init.sql"),
}];

/// The schema version this build writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Migrated {
    /// The version found (0: an empty database).
    pub from: i64,
    /// The version now.
    pub to: i64,
    /// The migrations applied, as `version name`.
    pub applied: Vec<String>,
}

/// An arbitrary constant: the advisory lock migrations hold.
const LOCK_KEY: i64 = 0x0077_6566_746d_6967; // "weftmig"

/// Bring the database to [`latest_version`].
pub fn migrate(db: &Database) -> Result<Migrated, PgError> {
    let pool = db.pool().clone();
    db.block_on(async move {
        let mut client = pool.get().await?;
        client
            .execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
            .await?;
        let result = apply(&mut client).await;
        // Unlocked on every path; a lost connection unlocks by itself.
        let _ = client
            .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
            .await;
        result
    })
}

/// The schema version of the database, without changing it.
pub fn current_version(db: &Database) -> Result<i64, PgError> {
    let pool = db.pool().clone();
    db.block_on(async move {
        let client = pool.get().await?;
        version(&client).await
    })
}

async fn version(client: &tokio_postgres::Client) -> Result<i64, PgError> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('weft_schema_migrations') IS NOT NULL",
            &[],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM weft_schema_migrations",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

async fn apply(client: &mut deadpool_postgres::Object) -> Result<Migrated, PgError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS weft_schema_migrations (
                version bigint PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )",
        )
        .await?;
    let from = version(client).await?;
    if from > latest_version() {
        return Err(PgError::SchemaNewer {
            database: from,
            known: latest_version(),
        });
    }
    let mut applied = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| m.version > from) {
        let tx = client.transaction().await?;
        tx.batch_execute(m.sql).await?;
        tx.execute(
            "INSERT INTO weft_schema_migrations (version, name) VALUES ($1, $2)",
            &[&m.version, &m.name],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version = m.version, name = m.name, "database migrated");
        applied.push(format!("{} {}", m.version, m.name));
    }
    Ok(Migrated {
        from,
        to: latest_version().max(from),
        applied,
    })
}
