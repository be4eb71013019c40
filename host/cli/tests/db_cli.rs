//! `weft db migrate | status` as an operator runs them: the real `weft`
//! binary against a throwaway PostgreSQL database (the tests fail when
//! the local PostgreSQL is not there).

use serde_json::Value;
use std::process::{Command, Output};
use weft_pg::testing::TestDatabase;

fn weft(args: &[&str], url: Option<&str>) -> Output {
    let cache = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_weft"));
    cmd.args(args)
        .env("WEFT_CACHE_DIR", cache.path())
        .env("WEFT_DATA_DIR", cache.path().join("data"))
        .env_remove("WEFT_DATABASE_URL");
    if let Some(url) = url {
        cmd.env("WEFT_DATABASE_URL", url);
    }
    cmd.output().expect("run weft")
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn migrate_then_status_reports_versions() {
    let db = TestDatabase::create().expect("PostgreSQL at 127.0.0.1:5432");
    let latest = weft_pg::migrate::latest_version();

    let out = weft(&["db", "status", "--json"], Some(db.url()));
    assert!(out.status.success(), "{out:?}");
    let status = stdout_json(&out);
    assert_eq!(status["version"], 0);
    assert_eq!(status["state"], "pending");

    let out = weft(&["db", "migrate", "--json"], Some(db.url()));
    assert!(out.status.success(), "{out:?}");
    let migrated = stdout_json(&out);
    assert_eq!(migrated["from"], 0);
    assert_eq!(migrated["to"], latest);
    assert_eq!(migrated["applied"][0], "1 init");

    // The flag works as well as the variable.
    let out = weft(
        &["db", "--database-url", db.url(), "status", "--json"],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let status = stdout_json(&out);
    assert_eq!(status["version"], latest);
    assert_eq!(status["build_version"], latest);
    assert_eq!(status["state"], "up-to-date");
    assert_eq!(status["pending"], serde_json::json!([]));

    let out = weft(&["db", "migrate", "--json"], Some(db.url()));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout_json(&out)["applied"], serde_json::json!([]));
}

#[test]
fn a_database_newer_than_this_build_is_named_and_refused() {
    let test = TestDatabase::create().expect("PostgreSQL at 127.0.0.1:5432");
    let db = test.connect().expect("connect");
    weft_pg::migrate(&db).expect("migrate");
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
    .expect("a future migration");
    drop(db);

    let out = weft(&["db", "status"], Some(test.url()));
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("NEWER than this build"), "{text}");

    let out = weft(&["db", "status", "--json"], Some(test.url()));
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(stdout_json(&out)["state"], "newer-than-this-build");

    let out = weft(&["db", "migrate"], Some(test.url()));
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("newer than this build"));
}

#[test]
fn a_missing_url_names_the_flag_and_the_variable() {
    let out = weft(&["db", "status"], None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--database-url") && err.contains("WEFT_DATABASE_URL"),
        "{err}"
    );
    let out = weft(&["db", "--help"], None);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("WEFT_DATABASE_URL") && help.contains("weft db migrate"),
        "{help}"
    );
}
