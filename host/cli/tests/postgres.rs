//! `weft serve --database-url`: the server's tables live in PostgreSQL,
//! not under --data-dir. A real process on a throwaway database: what
//! one start stored, a start on another, empty data directory finds.

mod common;

use common::{ADMIN, Api, Options, create_user, sleepy, start};
use serde_json::json;
use weft_pg::testing::TestDatabase;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tables_live_in_the_database_not_the_data_directory() {
    let db = TestDatabase::create().expect("PostgreSQL must be reachable for this test");
    let url = db.url().to_string();
    let cache = tempfile::tempdir().expect("cache");
    // The URL from the environment for the first start, the flag for the
    // second: both are read.
    let mut first = start(
        tempfile::tempdir().expect("data"),
        Options {
            args: &[],
            env: &[("WEFT_DATABASE_URL", url.as_str())],
            cache_dir: Some(cache.path().to_path_buf()),
        },
    );
    let api = Api::new(&first);
    let (status, health) = api.call("GET", "/healthz", None, None).await;
    assert_eq!((status, health), (200, json!({"status": "ok"})));
    let (status, body) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(ADMIN),
            Some(sleepy("kept-in-pg", 1)),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let ann = create_user(&api, "ann").await;
    assert!(
        !first.data.path().join("server").exists(),
        "no sled store beside the database"
    );
    first.stop();

    let mut second = start(
        tempfile::tempdir().expect("data"),
        Options {
            args: &["--database-url", url.as_str()],
            env: &[],
            cache_dir: Some(cache.path().to_path_buf()),
        },
    );
    let api = Api::new(&second);
    let (status, body) = api
        .call("GET", "/api/v1/automations/kept-in-pg", Some(ADMIN), None)
        .await;
    assert_eq!(status, 200, "the automation is in the database: {body}");
    let (status, body) = api.call("GET", "/api/v1/users", Some(ADMIN), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.to_string().contains("\"ann\""), "{body}");
    let (status, body) = api
        .call("GET", "/api/v1/automations", Some(&ann), None)
        .await;
    assert_eq!(status, 200, "ann's token is in the database: {body}");
    assert!(!second.data.path().join("server").exists());

    // The database goes away under the running server: /healthz says so.
    let name = db.name().to_string();
    drop(db);
    let (status, body) = api.call("GET", "/healthz", None, None).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    assert!(
        body["database"]
            .as_str()
            .is_some_and(|d| d.ends_with(&name)),
        "{body}"
    );
    second.stop();
}

#[test]
fn a_database_migrated_by_a_newer_build_is_refused() {
    let db = TestDatabase::create().expect("PostgreSQL must be reachable for this test");
    let conn = db.connect().expect("connect");
    weft_pg::migrate(&conn).expect("migrate");
    let pool = conn.pool().clone();
    conn.block_on(async move {
        pool.get()
            .await?
            .batch_execute(
                "INSERT INTO weft_schema_migrations (version, name) VALUES (9999, 'future')",
            )
            .await?;
        Ok(())
    })
    .expect("pretend a newer build migrated it");
    drop(conn);
    let data = tempfile::tempdir().expect("data");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weft"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            db.url(),
        ])
        .env_remove("WEFT_SECRET_KEY")
        .env_remove("WEFT_CONFIG")
        .env("WEFT_DATA_DIR", data.path())
        .env("WEFT_CACHE_DIR", data.path().join("cache"))
        .output()
        .expect("run weft serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("version 9999"), "{stderr}");
}
