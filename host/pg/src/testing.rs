//! Throwaway databases for tests: each test makes its own on the local
//! PostgreSQL and drops it when done, so tests run in parallel and leave
//! nothing behind.

use crate::{Database, PgError, PgSettings};

/// The server tests connect to for creating and dropping their databases:
/// `WEFT_TEST_DATABASE_URL`, else the local trust-auth PostgreSQL.
pub fn admin_url() -> String {
    std::env::var("WEFT_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh, empty database, dropped (with its connections) on drop.
pub struct TestDatabase {
    name: String,
    url: String,
    admin: Database,
}

impl TestDatabase {
    /// Create `weft_test_<random>`. Fails when the local PostgreSQL is not
    /// there: the tests that need it say so instead of passing quietly.
    pub fn create() -> Result<TestDatabase, PgError> {
        let admin_url = admin_url();
        let admin = Database::connect(
            &admin_url,
            &PgSettings {
                pool_size: 1,
                ..PgSettings::default()
            },
        )?;
        let name = format!("weft_test_{}", unique_suffix());
        let pool = admin.pool().clone();
        let create = format!("CREATE DATABASE {name}");
        admin.block_on(async move {
            pool.get().await?.batch_execute(&create).await?;
            Ok(())
        })?;
        let mut url = url::Url::parse(&admin_url).map_err(|e| PgError::Url(e.to_string()))?;
        url.set_path(&name);
        Ok(TestDatabase {
            name,
            url: url.to_string(),
            admin,
        })
    }

    /// `postgres://…/weft_test_…`
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Connect to it.
    pub fn connect(&self) -> Result<Database, PgError> {
        Database::connect(
            &self.url,
            &PgSettings {
                pool_size: 4,
                ..PgSettings::default()
            },
        )
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let pool = self.admin.pool().clone();
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = self.admin.block_on(async move {
            pool.get().await?.batch_execute(&drop).await?;
            Ok(())
        });
    }
}

fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
