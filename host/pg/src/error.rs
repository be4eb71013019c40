//! What can go wrong talking to PostgreSQL, as one typed error.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PgError {
    /// The database URL does not parse.
    #[error(
        "database URL: {0}; write it as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (--database-url, WEFT_DATABASE_URL)"
    )]
    Url(String),
    /// No connection could be made (or taken from the pool in time).
    #[error("cannot reach PostgreSQL at {target}: {reason}")]
    Unreachable { target: String, reason: String },
    /// A statement failed.
    #[error("PostgreSQL: {0}")]
    Query(String),
    /// The database was migrated by a newer build.
    #[error(
        "the database schema is at version {database}, newer than this build of weft knows ({known}); run the weft that migrated it (or a newer one), or restore a backup taken before that upgrade"
    )]
    SchemaNewer { database: i64, known: i64 },
    /// The database's own runtime is gone (the process is stopping).
    #[error("PostgreSQL connection runtime stopped")]
    Stopped,
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        // tokio_postgres's Display says only "db error": the server's
        // message, code and detail are what an operator needs.
        match e.as_db_error() {
            Some(db) => {
                let mut text = format!("{} ({})", db.message(), db.code().code());
                if let Some(detail) = db.detail() {
                    text.push_str(": ");
                    text.push_str(detail);
                }
                PgError::Query(text)
            }
            None if e.is_closed() => PgError::Unreachable {
                target: "the database".into(),
                reason: e.to_string(),
            },
            None => {
                // "error serializing parameter 5" says which, not why.
                let mut text = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    text.push_str(": ");
                    text.push_str(&cause.to_string());
                    source = cause.source();
                }
                PgError::Query(text)
            }
        }
    }
}

impl From<deadpool_postgres::PoolError> for PgError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => PgError::Unreachable {
                target: "the database".into(),
                reason: other.to_string(),
            },
        }
    }
}
