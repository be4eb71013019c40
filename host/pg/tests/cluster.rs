//! The coordination rows hosts share, with two or more `Cluster` handles on
//! one database standing for two or more hosts.

use std::time::Duration;
use weft_host::RunRecord;
use weft_host::store::{RunStatus, Trigger};
use weft_pg::testing::TestDatabase;
use weft_pg::{Cluster, SlotClaim, migrate};

fn record(id: &str, automation: &str) -> RunRecord {
    RunRecord {
        id: id.into(),
        automation_id: automation.into(),
        automation_version: 1,
        automation_name: "a".into(),
        owner: None,
        trigger: Trigger::Api { sync: true },
        status: RunStatus::Running,
        title: None,
        created_at: 1,
        started_at: None,
        finished_at: None,
        input: serde_json::Value::Null,
        output: serde_json::Value::Null,
        error: None,
        warnings: Vec::new(),
        resumed: None,
        in_flight: None,
        waiting_for: None,
    }
}

fn hosts(test: &TestDatabase, lease: Duration) -> (Cluster, Cluster) {
    let db = test.connect().expect("connect");
    migrate(&db).expect("migrate");
    (
        Cluster::new(db.clone(), "host-a", lease),
        Cluster::new(test.connect().expect("connect"), "host-b", lease),
    )
}

#[tokio::test]
async fn an_automations_slots_are_counted_over_every_host() {
    let test = TestDatabase::create().expect("local PostgreSQL");
    let (a, b) = hosts(&test, Duration::from_secs(30));
    assert_eq!(
        a.claim_slot(&record("r1", "x"), 1).await.expect("claim"),
        SlotClaim::Claimed
    );
    assert_eq!(
        b.claim_slot(&record("r2", "x"), 1).await.expect("claim"),
        SlotClaim::Full
    );
    assert_eq!(
        b.claim_slot(&record("r2", "x"), 2).await.expect("claim"),
        SlotClaim::Claimed
    );
    // Another automation has slots of its own; claiming twice is idempotent.
    assert_eq!(
        b.claim_slot(&record("r3", "y"), 1).await.expect("claim"),
        SlotClaim::Claimed
    );
    assert_eq!(
        b.claim_slot(&record("r3", "y"), 1).await.expect("claim"),
        SlotClaim::Claimed
    );
}

#[tokio::test]
async fn concurrent_claims_never_exceed_the_limit() {
    let test = TestDatabase::create().expect("local PostgreSQL");
    let (a, b) = hosts(&test, Duration::from_secs(30));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let host = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            host.claim_slot(&record(&format!("r{i}"), "x"), 3).await
        }));
    }
    let mut claimed = 0;
    for t in tasks {
        if t.await.expect("task").expect("claim") == SlotClaim::Claimed {
            claimed += 1;
        }
    }
    assert_eq!(claimed, 3);
}

#[tokio::test]
async fn a_dead_hosts_runs_are_taken_over_once_its_leases_run_out() {
    let test = TestDatabase::create().expect("local PostgreSQL");
    let (a, b) = hosts(&test, Duration::from_millis(300));
    for i in 0..4 {
        a.claim_slot(&record(&format!("r{i}"), &format!("x{i}")), 1)
            .await
            .expect("claim");
    }
    assert!(
        b.take_over_expired(10).await.expect("take").is_empty(),
        "leases are live"
    );
    // `a` renews: still nothing to take.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(a.renew().await.expect("renew"), 4);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        b.take_over_expired(10).await.expect("take").is_empty(),
        "renewed"
    );
    // `a` dies (stops renewing): `b` takes everything, once.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut taken = b.take_over_expired(10).await.expect("take");
    taken.sort();
    assert_eq!(taken, ["r0", "r1", "r2", "r3"]);
    assert!(b.take_over_expired(10).await.expect("take").is_empty());
    // Now `b` holds them: its renewals cover them, `a`'s do not.
    assert_eq!(b.renew().await.expect("renew"), 4);
    assert_eq!(a.renew().await.expect("renew"), 0);
    let figures = b.figures().await.expect("figures");
    assert_eq!((figures.runs_running, figures.runs_orphaned), (4, 0));
}

#[tokio::test]
async fn an_orderly_stop_hands_runs_over_at_once() {
    let test = TestDatabase::create().expect("local PostgreSQL");
    let (a, b) = hosts(&test, Duration::from_secs(60));
    a.claim_slot(&record("r1", "x"), 1).await.expect("claim");
    assert_eq!(a.release_all().await.expect("release"), 1);
    assert_eq!(b.take_over_expired(10).await.expect("take"), ["r1"]);
}

#[tokio::test]
async fn each_tick_fires_on_exactly_one_host() {
    let test = TestDatabase::create().expect("local PostgreSQL");
    let (a, b) = hosts(&test, Duration::from_secs(30));
    let mut tasks = Vec::new();
    for i in 0..10 {
        let host = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(
            async move { host.claim_tick("x", 60_000).await },
        ));
    }
    let mut fired = 0;
    for t in tasks {
        fired += usize::from(t.await.expect("task").expect("claim"));
    }
    assert_eq!(fired, 1);
    assert!(a.claim_tick("x", 90_000).await.expect("next tick"));
    assert!(b.claim_tick("y", 60_000).await.expect("other automation"));
}

#[tokio::test]
async fn a_stop_asked_on_one_host_reaches_the_holder() {
    let test = TestDatabase::create().expect("local PostgreSQL");
    let (a, b) = hosts(&test, Duration::from_secs(30));
    a.claim_slot(&record("r1", "x"), 1).await.expect("claim");
    assert!(b.stop_requests().await.expect("poll").is_empty());
    assert!(b.request_stop("r1").expect("ask"));
    assert!(!b.request_stop("missing").expect("ask"));
    assert_eq!(a.stop_requests().await.expect("poll"), ["r1"]);
    assert!(
        b.stop_requests().await.expect("poll").is_empty(),
        "not b's run"
    );
}
