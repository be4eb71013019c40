//! The history store contract (`weft_tests::store_conformance`), run
//! against PostgreSQL ([`weft_pg::PgRunStore`]), and what only a shared
//! database has: two hosts on one database.
//!
//! Each case gets its own throwaway database per store name; reopening a
//! name is a new `PgRunStore` (a new pool, a new writer) on the same
//! database, as a restarted host would be. The tests fail, not skip, when
//! the local PostgreSQL is not there.

use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use weft_host::store::RunFilter;
use weft_host::{RunStore, StateLimits};
use weft_pg::testing::TestDatabase;
use weft_pg::{Database, PgRunStore};
use weft_tests::store_conformance::{Backend, run, step};

const LEASE: Duration = Duration::from_secs(30);

/// One migrated database per store name, dropped with the case.
struct Pg(Mutex<HashMap<String, TestDatabase>>);

impl Pg {
    fn new() -> Pg {
        Pg(Mutex::new(HashMap::new()))
    }

    fn database(&self, name: &str) -> Database {
        let mut dbs = self.0.lock().expect("lock");
        let test = dbs.entry(name.to_string()).or_insert_with(|| {
            let test = TestDatabase::create().expect("PostgreSQL at 127.0.0.1:5432");
            weft_pg::migrate(&test.connect().expect("connect")).expect("migrate");
            test
        });
        test.connect().expect("connect")
    }
}

impl Backend for Pg {
    fn open(&self, name: &str) -> Arc<dyn RunStore> {
        Arc::new(PgRunStore::new(self.database(name), "host-a".into(), LEASE).expect("store"))
    }
}

weft_tests::conformance_tests!(Pg::new());

/// Two hosts' stores on one fresh database.
fn two_hosts() -> (TestDatabase, PgRunStore, PgRunStore) {
    let test = TestDatabase::create().expect("PostgreSQL at 127.0.0.1:5432");
    weft_pg::migrate(&test.connect().expect("connect")).expect("migrate");
    let a =
        PgRunStore::new(test.connect().expect("connect"), "host-a".into(), LEASE).expect("store a");
    let b =
        PgRunStore::new(test.connect().expect("connect"), "host-b".into(), LEASE).expect("store b");
    (test, a, b)
}

#[test]
fn two_hosts_see_each_others_committed_runs() {
    let (_db, a, b) = two_hosts();
    a.put_run(&run(1, "x")).expect("put");
    a.append_steps(&run(1, "x").id, &[step(0), step(1)])
        .expect("steps");
    b.put_run(&run(2, "x")).expect("put");
    a.flush().expect("flush a");
    b.flush().expect("flush b");
    for store in [&a, &b] {
        let ids: Vec<i64> = store
            .list_runs(&RunFilter::default())
            .expect("list")
            .iter()
            .map(|r| r.created_at)
            .collect();
        assert_eq!(ids, [2, 1]);
        assert_eq!(store.steps(&run(1, "x").id).expect("steps").len(), 2);
    }
    assert!(b.delete_run(&run(1, "x").id).expect("delete"));
    b.flush().expect("flush");
    assert_eq!(a.get_run(&run(1, "x").id).expect("get"), None);
    assert!(a.steps(&run(1, "x").id).expect("steps").is_empty());
}

#[test]
fn increments_from_two_hosts_never_lose_one() {
    let (_db, a, b) = two_hosts();
    let (a, b) = (Arc::new(a), Arc::new(b));
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let store = if t % 2 == 0 { a.clone() } else { b.clone() };
            std::thread::spawn(move || {
                for _ in 0..20 {
                    store
                        .state_increment(
                            "auto",
                            "n",
                            &serde_json::Number::from(1),
                            &StateLimits::default(),
                        )
                        .expect("increment");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    assert_eq!(
        b.state_get("auto", "n").expect("get").map(|e| e.value),
        Some(json!(120))
    );
}

#[test]
fn two_hosts_never_overshoot_the_key_limit() {
    let (_db, a, b) = two_hosts();
    let (a, b) = (Arc::new(a), Arc::new(b));
    let limits = StateLimits {
        max_keys: 5,
        ..StateLimits::default()
    };
    let threads: Vec<_> = (0..10)
        .map(|t| {
            let store = if t % 2 == 0 { a.clone() } else { b.clone() };
            let limits = limits.clone();
            std::thread::spawn(move || {
                store
                    .state_set("auto", &format!("k{t}"), &json!(t), &limits)
                    .is_ok()
            })
        })
        .collect();
    let written = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .filter(|ok| *ok)
        .count();
    assert_eq!(written, 5);
    assert_eq!(a.state_list("auto").expect("list").len(), 5);
}

#[test]
fn scanning_pages_through_long_histories() {
    let (_db, a, _b) = two_hosts();
    // More than one page (the store reads 200 runs per query).
    for n in 1..=450 {
        a.put_run(&run(n, "x")).expect("put");
    }
    a.flush().expect("flush");
    let mut seen = Vec::new();
    a.scan_runs(None, &mut |r| {
        seen.push(r.created_at);
        true
    })
    .expect("scan");
    assert_eq!(seen, (1..=450).rev().collect::<Vec<i64>>());
    let mut from = Vec::new();
    a.scan_runs(Some(&run(250, "x").id), &mut |r| {
        from.push(r.created_at);
        from.len() < 220
    })
    .expect("scan");
    assert_eq!(from, (30..=249).rev().collect::<Vec<i64>>());
    let stats = a.commit_stats();
    assert_eq!(stats.writes, 450);
    assert!(stats.batches < 450, "writes share transactions: {stats:?}");
}

/// This run's lease owner, seconds left on its lease, and stop request.
fn lease_row(db: &Database, id: &str) -> (Option<String>, Option<f64>, bool) {
    let pool = db.pool().clone();
    let id = id.to_string();
    db.block_on(async move {
        let row = pool
            .get()
            .await?
            .query_one(
                "SELECT lease_owner,
                        EXTRACT(EPOCH FROM lease_until - now())::float8,
                        stop_requested
                 FROM runs WHERE id = $1",
                &[&id],
            )
            .await?;
        Ok((row.get(0), row.get(1), row.get(2)))
    })
    .expect("run row")
}

fn sql(db: &Database, statement: &'static str, id: &str) -> Option<String> {
    let pool = db.pool().clone();
    let id = id.to_string();
    db.block_on(async move {
        let rows = pool.get().await?.query(statement, &[&id]).await?;
        Ok(rows.first().map(|r| r.get(0)))
    })
    .expect("statement")
}

/// Leases: a queued or running record is held by its host for the lease;
/// a paused or final one by nobody; a stop asked for survives the
/// holder's next write.
#[test]
fn put_run_writes_the_lease_and_keeps_a_stop_request() {
    let (_db, a, _b) = two_hosts();
    let db = a.database().clone();
    let mut r = run(1, "x");
    a.put_run(&r).expect("put");
    a.flush().expect("flush");
    let (owner, secs_left, stop) = lease_row(&db, &r.id);
    assert_eq!(owner.as_deref(), Some("host-a"));
    let secs_left = secs_left.expect("lease_until");
    assert!((25.0..=30.5).contains(&secs_left), "{secs_left}");
    assert!(!stop);
    sql(
        &db,
        "UPDATE runs SET stop_requested = true WHERE id = $1 RETURNING id",
        &r.id,
    );
    r.status = weft_host::RunStatus::Running;
    a.put_run(&r).expect("put");
    a.flush().expect("flush");
    assert!(lease_row(&db, &r.id).2, "a put never resets a stop request");
    r.status = weft_host::RunStatus::Paused;
    a.put_run(&r).expect("put");
    a.flush().expect("flush");
    let (owner, until, _) = lease_row(&db, &r.id);
    assert_eq!((owner, until), (None, None), "a paused run holds no lease");
    r.status = weft_host::RunStatus::FinishedWithWarnings;
    a.put_run(&r).expect("put");
    a.flush().expect("flush");
    let (owner, until, stop) = lease_row(&db, &r.id);
    assert_eq!((owner, until), (None, None), "a final run holds no lease");
    assert!(stop);
    assert_eq!(
        sql(&db, "SELECT status FROM runs WHERE id = $1", &r.id).as_deref(),
        Some("finished-with-warnings")
    );
}

#[test]
fn a_store_on_a_database_that_is_gone_fails_promptly() {
    let test = TestDatabase::create().expect("PostgreSQL at 127.0.0.1:5432");
    weft_pg::migrate(&test.connect().expect("connect")).expect("migrate");
    let store =
        PgRunStore::new(test.connect().expect("connect"), "host-a".into(), LEASE).expect("store");
    drop(test); // DROP DATABASE … WITH (FORCE): its connections end.
    store
        .put_run(&run(1, "x"))
        .expect("queued: writes do not wait");
    let started = std::time::Instant::now();
    let err = store.flush().expect_err("the batch cannot commit");
    assert!(
        matches!(err, weft_host::store::StoreError::WriteFailed(_)),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        store.put_run(&run(2, "x")).is_err(),
        "a failed write is final"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    assert!(rt.block_on(store.committed()).is_err());
}
