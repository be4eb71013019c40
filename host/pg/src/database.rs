//! One PostgreSQL database: a connection pool driven by a runtime of its
//! own, reachable from async and blocking code alike.
//!
//! The store traits Weft's walker and server call ([`weft_host::RunStore`],
//! the server's tables) are synchronous, and they are called from the
//! server's async tasks. tokio-postgres needs a runtime to drive its
//! connections; if that were the caller's runtime, a caller blocking a
//! worker thread on a query could starve the very task that answers it.
//! So the pool lives on its own small runtime: blocking callers hand it a
//! future and wait on a channel ([`Database::block_on`]), async callers
//! await it ([`Database::run`]), and neither can deadlock the other.

use crate::error::PgError;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// How to connect.
#[derive(Debug, Clone)]
pub struct PgSettings {
    /// Most connections this process opens (default 8). Every host opens
    /// its own: the database's `max_connections` must cover them all.
    pub pool_size: usize,
    /// How long to wait for a connection, new or from the pool (default
    /// 5 s), before a store call fails as unreachable.
    pub connect_timeout: Duration,
}

impl Default for PgSettings {
    fn default() -> Self {
        PgSettings {
            pool_size: 8,
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// A connected database (cheap to clone: clones share the pool).
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// The runtime that drives the pool's connections. Only dropped with
    /// the last clone; `Option` so drop can hand it to `shutdown_background`.
    runtime: Option<tokio::runtime::Runtime>,
    /// host:port/database, without credentials, for messages.
    target: String,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Dropping a runtime blocks on its tasks; the last clone may be
        // dropped inside another runtime, where that would panic.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("target", &self.inner.target)
            .finish()
    }
}

/// `host:port/database` of a URL, without the user or password.
fn target_of(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or("(default)");
    format!("{host}:{port}/{db}")
}

impl Database {
    /// Connect to `url` (`postgres://user[:password]@host[:port]/db`) and
    /// check that the database answers.
    pub fn connect(url: &str, settings: &PgSettings) -> Result<Database, PgError> {
        let mut config =
            tokio_postgres::Config::from_str(url).map_err(|e| PgError::Url(e.to_string()))?;
        config.connect_timeout(settings.connect_timeout);
        config.application_name("weft");
        let target = target_of(&config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("weft-pg")
            .enable_all()
            .build()
            .map_err(|e| PgError::Unreachable {
                target: target.clone(),
                reason: format!("cannot start the database runtime: {e}"),
            })?;
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(settings.connect_timeout))
            .create_timeout(Some(settings.connect_timeout))
            .build()
            .map_err(|e| PgError::Url(e.to_string()))?;
        let db = Database {
            inner: Arc::new(Inner {
                pool,
                runtime: Some(runtime),
                target,
            }),
        };
        db.ping()?;
        Ok(db)
    }

    /// The pool, for futures run through [`Database::run`] or
    /// [`Database::block_on`].
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// `host:port/database`, without credentials.
    pub fn target(&self) -> &str {
        &self.inner.target
    }

    fn handle(&self) -> Result<&tokio::runtime::Runtime, PgError> {
        self.inner.runtime.as_ref().ok_or(PgError::Stopped)
    }

    /// Run `work` on the database's runtime and wait for it, blocking this
    /// thread. For synchronous callers (the store traits). Never call it
    /// from a future already running on the database's runtime.
    pub fn block_on<T, F>(&self, work: F) -> Result<T, PgError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, PgError>> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle()?.spawn(async move {
            let _ = tx.send(work.await);
        });
        rx.recv().map_err(|_| PgError::Stopped)?
    }

    /// Run `work` on the database's runtime and await it, from any runtime.
    pub async fn run<T, F>(&self, work: F) -> Result<T, PgError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, PgError>> + Send + 'static,
    {
        self.handle()?
            .spawn(work)
            .await
            .map_err(|_| PgError::Stopped)?
    }

    /// Start a background task on the database's runtime (a writer, a
    /// heartbeat); it ends when the task returns or the last clone of this
    /// database is dropped.
    pub fn spawn<F>(&self, task: F) -> Result<tokio::task::JoinHandle<()>, PgError>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        Ok(self.handle()?.spawn(task))
    }

    /// One round trip: is the database there? (`/healthz`.)
    pub fn ping(&self) -> Result<(), PgError> {
        let pool = self.pool().clone();
        let target = self.inner.target.clone();
        self.block_on(async move { ping(&pool, &target).await })
    }

    /// [`Database::ping`] for async callers.
    pub async fn ping_async(&self) -> Result<(), PgError> {
        let pool = self.pool().clone();
        let target = self.inner.target.clone();
        self.run(async move { ping(&pool, &target).await }).await
    }
}

async fn ping(pool: &Pool, target: &str) -> Result<(), PgError> {
    let unreachable = |reason: String| PgError::Unreachable {
        target: target.to_string(),
        reason,
    };
    let client = pool.get().await.map_err(|e| unreachable(e.to_string()))?;
    client
        .simple_query("SELECT 1")
        .await
        .map_err(|e| unreachable(PgError::from(e).to_string()))?;
    Ok(())
}
