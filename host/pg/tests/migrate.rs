//! Migrations against the local PostgreSQL (each test its own database).

use weft_pg::testing::TestDatabase;
use weft_pg::{PgError, migrate};

#[test]
fn migrates_an_empty_database_once_and_refuses_a_newer_schema() {
    let test = TestDatabase::create().expect("local PostgreSQL at 127.0.0.1:5432");
    let db = test.connect().expect("connect");
    let first = migrate(&db).expect("migrate");
    assert_eq!(first.from, 0);
    assert_eq!(first.to, weft_pg::migrate::latest_version());
    assert!(!first.applied.is_empty());
    let again = migrate(&db).expect("migrate again");
    assert!(again.applied.is_empty(), "{again:?}");

    let pool = db.pool().clone();
    db.block_on(async move {
        pool.get()
            .await?
            .batch_execute(
                "INSERT INTO weft_schema_migrations (version, name) VALUES (9999, 'future')",
            )
            .await?;
        Ok(())
    })
    .expect("fake a newer schema");
    match migrate(&db) {
        Err(PgError::SchemaNewer { database: 9999, .. }) => {}
        other => panic!("expected SchemaNewer, got {other:?}"),
    }
}

#[test]
fn an_unreachable_database_is_a_clear_error() {
    let err = weft_pg::Database::connect(
        "postgres://nobody@127.0.0.1:1/none",
        &weft_pg::PgSettings {
            connect_timeout: std::time::Duration::from_secs(2),
            ..Default::default()
        },
    )
    .expect_err("nothing listens on port 1");
    assert!(matches!(err, PgError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("127.0.0.1:1/none"), "{err}");
}
