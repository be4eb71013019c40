//! Weft on PostgreSQL: what lets several `weft serve` hosts share one
//! database instead of each keeping its own sled files.
//!
//! ```no_run
//! use weft_pg::{Database, PgSettings};
//!
//! let db = Database::connect("postgres://weft@127.0.0.1/weft", &PgSettings::default())?;
//! weft_pg::migrate(&db)?; // versioned, refuses a newer schema
//! # Ok::<(), weft_pg::PgError>(())
//! ```
//!
//! # Concepts
//!
//! * [`Database`]: a connection pool (tokio-postgres, pooled by
//!   deadpool-postgres) on a runtime of its own, so the synchronous store
//!   traits can wait on it from inside the server's async tasks.
//! * [`migrate()`]: numbered SQL migrations, applied at start under an
//!   advisory lock; a database migrated by a newer build is refused.
//! * [`Cluster`]: what hosts sharing the database coordinate through —
//!   run leases renewed by a heartbeat and taken over when they run out,
//!   per-automation slots counted across hosts, one row per schedule tick,
//!   stop requests.
//! * [`PgRunStore`]: run history and automation state
//!   ([`weft_host::RunStore`]) in tables `runs`, `run_steps`,
//!   `run_sealed` and `automation_state`. Writes return at once and are
//!   committed in groups by one writer task (`writer`): many runs' writes
//!   share a transaction, and reads, which query the database, see only
//!   what is committed. A queued or running run carries this host's lease.
//!
//! # Architecture
//!
//! PostgreSQL is the coordination engine: no consensus of our own. Hosts
//! are stateless; what one host must know of another's work is a row.

pub mod cluster;
mod database;
mod error;
pub mod migrate;
mod run_store;
mod state;
mod writer;

pub use cluster::{Cluster, ClusterFigures, SlotClaim};
pub use database::{Database, PgSettings};
pub use error::PgError;
pub use migrate::{Migrated, migrate};
pub use run_store::PgRunStore;
pub mod testing;
