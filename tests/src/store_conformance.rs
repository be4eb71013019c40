//! The behaviour every [`RunStore`] must have, as a suite a backend runs
//! with [`conformance_tests!`](crate::conformance_tests): the sled store
//! runs it in `tests/store_conformance.rs`, and a second backend (a shared
//! database) runs the same cases against its own `open`.
//!
//! The cases follow the trait's contract: durable in order, nothing read
//! before it is committed, a run's steps in order whatever shape they
//! were written in, sealed copies kept per step and dropped with the run,
//! listing newest first with seeking, many writers at once, and
//! conditional puts that write only from an expected status; and each
//! automation's state between runs: per automation, limited, atomic
//! increments, durable on return.

use serde_json::json;
use std::sync::Arc;
use weft_host::store::{InFlight, Resumed, RunFilter, RunStatus, StepStatus, Trigger};
use weft_host::{RunRecord, RunStore, StateError, StateLimits, StepRecord};

/// Opens the backend under test.
pub trait Backend {
    /// The store named `name`: opening the same name again (after the
    /// previous handle is dropped) opens the same data.
    fn open(&self, name: &str) -> Arc<dyn RunStore>;
}

/// Run ids sort by time (UUIDv7 in the engine); `n` keeps that order.
pub fn run(n: u32, automation: &str) -> RunRecord {
    RunRecord {
        id: format!("0190{n:08}-run"),
        automation_id: automation.into(),
        automation_version: 1,
        automation_name: automation.into(),
        owner: Some("owner".into()),
        trigger: Trigger::Custom {
            kind: "conformance".into(),
            detail: json!({"n": n}),
        },
        status: RunStatus::Queued,
        created_at: i64::from(n),
        started_at: None,
        finished_at: None,
        input: json!({"n": n}),
        output: json!(null),
        error: None,
        warnings: vec![],
        resumed: None,
        title: None,
        in_flight: None,
        waiting_for: None,
    }
}

pub fn step(seq: u64) -> StepRecord {
    StepRecord {
        seq,
        block_id: format!("B{seq}"),
        block_type: "connector".into(),
        target: Some("http/request".into()),
        status: StepStatus::Succeeded,
        attempts: 1,
        started_at: 1,
        duration_us: 7,
        iteration: vec![seq as usize % 3],
        input: Some(json!({"in": seq})),
        output: Some(json!({"out": seq})),
        error: None,
        fuel_used: Some(10),
        http_calls: vec![],
        logs: vec![],
        censored: false,
        input_bytes: 9,
        output_bytes: 10,
        child_run_id: None,
        connector_version: Some("1.0.0".into()),
        failure: None,
    }
}

fn seqs(store: &dyn RunStore, run_id: &str) -> Vec<u64> {
    store
        .steps(run_id)
        .expect("steps")
        .iter()
        .map(|s| s.seq)
        .collect()
}

pub fn records_round_trip_with_every_field(b: &dyn Backend) {
    let store = b.open("round-trip");
    let mut r = run(1, "a");
    r.status = RunStatus::FinishedWithWarnings;
    r.warnings = vec!["careful".into()];
    r.resumed = Some(Resumed {
        times: 2,
        after_step: Some(4),
        after_block: Some("B4".into()),
    });
    r.in_flight = Some(InFlight {
        block_id: "B5".into(),
        iteration: vec![1, 2],
        seq: 5,
    });
    store.put_run(&r).expect("put");
    store.flush().expect("flush");
    assert_eq!(store.get_run(&r.id).expect("get"), Some(r.clone()));
    assert_eq!(store.get_run("missing").expect("get"), None);
    r.status = RunStatus::Failed;
    store.put_run(&r).expect("replace");
    store.flush().expect("flush");
    assert_eq!(store.get_run(&r.id).expect("get"), Some(r));
}

pub fn steps_read_back_in_order_whatever_shape_they_were_written_in(b: &dyn Backend) {
    let store = b.open("steps");
    store
        .append_steps("r", &[step(0), step(1), step(2)])
        .expect("page");
    store.append_step("r", &step(3)).expect("single");
    store
        .append_steps("r", &[])
        .expect("an empty page is nothing");
    store
        .append_steps("r", &[step(4), step(256)])
        .expect("page");
    // A run id that extends another's is another run.
    store.append_step("rr", &step(0)).expect("other run");
    store.flush().expect("flush");
    assert_eq!(seqs(store.as_ref(), "r"), [0, 1, 2, 3, 4, 256]);
    assert_eq!(store.steps("r").expect("steps")[3], step(3));
    assert_eq!(seqs(store.as_ref(), "rr"), [0]);
    assert!(store.steps("none").expect("steps").is_empty());
}

pub fn committed_writes_are_visible_and_waiting_resolves(b: &dyn Backend) {
    let store = b.open("committed");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for n in 0..20 {
        store.put_run(&run(n, "a")).expect("put");
        store.append_step(&run(n, "a").id, &step(0)).expect("step");
        rt.block_on(store.committed()).expect("committed");
        assert_eq!(
            store.get_run(&run(n, "a").id).expect("get").map(|r| r.id),
            Some(run(n, "a").id),
            "visible once committed"
        );
        assert_eq!(seqs(store.as_ref(), &run(n, "a").id), [0]);
    }
}

pub fn listing_is_newest_first_filtered_and_seeks(b: &dyn Backend) {
    let store = b.open("listing");
    for n in 1..=6 {
        store
            .put_run(&run(n, if n % 2 == 0 { "even" } else { "odd" }))
            .expect("put");
    }
    store.flush().expect("flush");
    let ids = |runs: Vec<RunRecord>| runs.into_iter().map(|r| r.created_at).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_runs(&RunFilter::default()).expect("list")),
        [6, 5, 4, 3, 2, 1]
    );
    let even = RunFilter {
        automation_id: Some("even".into()),
        limit: Some(2),
    };
    assert_eq!(ids(store.list_runs(&even).expect("list")), [6, 4]);
    let mut seen = Vec::new();
    store
        .scan_runs(Some(&run(4, "even").id), &mut |r| {
            seen.push(r.created_at);
            seen.len() < 2
        })
        .expect("scan");
    assert_eq!(seen, [3, 2], "starts just before, stops when told");
}

pub fn deleting_a_run_takes_its_steps_and_sealed_copies_only(b: &dyn Backend) {
    let store = b.open("delete");
    for id in ["x", "xy"] {
        let mut r = run(1, "a");
        r.id = id.into();
        store.put_run(&r).expect("put");
        store.append_steps(id, &[step(0), step(1)]).expect("steps");
        store.put_sealed(id, 1, "sealed-1").expect("sealed");
    }
    store.flush().expect("flush");
    assert!(store.delete_run("x").expect("delete"));
    store.flush().expect("flush");
    assert!(!store.delete_run("x").expect("again"), "gone already");
    assert_eq!(store.get_run("x").expect("get"), None);
    assert!(store.steps("x").expect("steps").is_empty());
    assert!(store.sealed("x").expect("sealed").is_empty());
    assert_eq!(seqs(store.as_ref(), "xy"), [0, 1]);
    assert_eq!(store.sealed("xy").expect("sealed").len(), 1);
}

pub fn sealed_copies_are_kept_per_step_and_dropped_with_the_run_end(b: &dyn Backend) {
    let store = b.open("sealed");
    store.put_sealed("r", 3, "three").expect("put");
    store.put_sealed("r", 300, "three hundred").expect("put");
    store.put_sealed("r", 3, "three, again").expect("replace");
    store.put_sealed("r2", 1, "other run").expect("put");
    store.flush().expect("flush");
    let sealed = store.sealed("r").expect("sealed");
    assert_eq!(
        sealed.into_iter().collect::<Vec<_>>(),
        [
            (3, "three, again".to_string()),
            (300, "three hundred".into())
        ]
    );
    store.drop_sealed("r").expect("drop");
    store.flush().expect("flush");
    assert!(store.sealed("r").expect("sealed").is_empty());
    assert_eq!(store.sealed("r2").expect("sealed").len(), 1);
}

pub fn everything_flushed_survives_reopening(b: &dyn Backend) {
    {
        let store = b.open("reopen");
        let mut r = run(9, "a");
        store.put_run(&r).expect("put");
        store
            .append_steps(&r.id, &[step(0), step(1)])
            .expect("steps");
        store.put_sealed(&r.id, 1, "kept").expect("sealed");
        r.status = RunStatus::Finished;
        store.put_run(&r).expect("update");
        store.flush().expect("flush");
    }
    let store = b.open("reopen");
    let r = store.get_run(&run(9, "a").id).expect("get").expect("kept");
    assert_eq!(r.status, RunStatus::Finished);
    assert_eq!(seqs(store.as_ref(), &r.id), [0, 1]);
    assert_eq!(store.sealed(&r.id).expect("sealed").len(), 1);
}

pub fn many_writers_at_once_lose_nothing(b: &dyn Backend) {
    let store = b.open("writers");
    let threads: Vec<_> = (0..8u32)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for n in 0..40u32 {
                    let r = run(t * 1000 + n, "a");
                    store.put_run(&r).expect("put");
                    store.append_step(&r.id, &step(0)).expect("step");
                    store.append_step(&r.id, &step(1)).expect("step");
                    if n % 10 == 0 {
                        store.flush().expect("flush");
                    }
                }
                store.flush().expect("flush");
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer");
    }
    let runs = store.list_runs(&RunFilter::default()).expect("list");
    assert_eq!(runs.len(), 8 * 40);
    assert!(
        runs.iter().all(|r| seqs(store.as_ref(), &r.id) == [0, 1]),
        "every run's steps, in order"
    );
}

// ------------------------------------------------------------------ state

fn state_of(store: &dyn RunStore, automation: &str) -> Vec<(String, serde_json::Value)> {
    store
        .state_list(automation)
        .expect("list")
        .into_iter()
        .map(|e| (e.key, e.value))
        .collect()
}

/// Keys are per automation, listed by key, with values of any JSON shape;
/// a set replaces, a delete removes one key, a clear all of them, and
/// each write is readable as soon as it returns.
pub fn state_round_trips_per_automation(b: &dyn Backend) {
    let store = b.open("state");
    let limits = StateLimits::default();
    assert_eq!(store.state_get("a", "k").expect("get"), None);
    let entry = store
        .state_set("a", "k", &json!({"at": "2024-01-01"}), &limits)
        .expect("set");
    assert_eq!(entry.key, "k");
    assert!(entry.updated_at > 0);
    store
        .state_set("a", "b", &json!([1, "x", null]), &limits)
        .expect("set");
    store
        .state_set("a", "k", &json!("replaced"), &limits)
        .expect("set");
    store
        .state_set("ab", "k", &json!(true), &limits)
        .expect("set");
    let got = store.state_get("a", "k").expect("get").expect("present");
    assert_eq!(got.value, json!("replaced"));
    assert!(got.updated_at >= entry.updated_at);
    assert_eq!(
        state_of(store.as_ref(), "a"),
        [
            ("b".into(), json!([1, "x", null])),
            ("k".into(), json!("replaced"))
        ]
    );
    assert!(store.state_delete("a", "b").expect("delete"));
    assert!(!store.state_delete("a", "b").expect("delete again"));
    assert_eq!(
        state_of(store.as_ref(), "a"),
        [("k".into(), json!("replaced"))]
    );
    store.state_clear("a").expect("clear");
    assert!(state_of(store.as_ref(), "a").is_empty());
    assert_eq!(
        state_of(store.as_ref(), "ab"),
        [("k".into(), json!(true))],
        "an automation whose id extends another's keeps its state"
    );
}

/// Increments create the key at 0, keep whole numbers whole, refuse a
/// key holding something else, and lose nothing under concurrent writers.
pub fn state_increments_are_atomic(b: &dyn Backend) {
    let store = b.open("increments");
    let limits = StateLimits::default();
    let one = serde_json::Number::from(1);
    assert_eq!(
        store
            .state_increment("a", "n", &serde_json::Number::from(5), &limits)
            .expect("increment")
            .value,
        json!(5)
    );
    store
        .state_set("a", "text", &json!("x"), &limits)
        .expect("set");
    assert!(matches!(
        store.state_increment("a", "text", &one, &limits),
        Err(StateError::NotANumber { .. })
    ));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let limits = limits.clone();
            let one = one.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|_| {
                        store
                            .state_increment("a", "n", &one, &limits)
                            .expect("increment")
                            .value
                            .as_i64()
                            .expect("whole")
                    })
                    .collect::<Vec<i64>>()
            })
        })
        .collect();
    let mut seen: Vec<i64> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("thread"))
        .collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (6..=205).collect::<Vec<i64>>(),
        "every increment saw its own value"
    );
    assert_eq!(
        store.state_get("a", "n").expect("get").map(|e| e.value),
        Some(json!(205))
    );
}

/// Each limit refuses the write, naming itself, and writes nothing.
pub fn state_limits_refuse_without_writing(b: &dyn Backend) {
    let store = b.open("state-limits");
    let limits = StateLimits {
        max_key_bytes: 4,
        max_value_bytes: 8,
        max_keys: 2,
    };
    assert!(matches!(
        store.state_set("a", "long!", &json!(1), &limits),
        Err(StateError::KeyTooLong { bytes: 5, limit: 4 })
    ));
    assert!(matches!(
        store.state_set("a", "k", &json!("too large"), &limits),
        Err(StateError::ValueTooLarge {
            bytes: 11,
            limit: 8
        })
    ));
    assert!(matches!(
        store.state_set("a", "", &json!(1), &limits),
        Err(StateError::EmptyKey)
    ));
    store
        .state_set("a", "k1", &json!(1), &limits)
        .expect("first");
    store
        .state_set("a", "k2", &json!(2), &limits)
        .expect("second");
    assert!(matches!(
        store.state_set("a", "k3", &json!(3), &limits),
        Err(StateError::TooManyKeys { limit: 2 })
    ));
    assert!(matches!(
        store.state_increment("a", "k3", &serde_json::Number::from(1), &limits),
        Err(StateError::TooManyKeys { limit: 2 })
    ));
    store
        .state_set("a", "k2", &json!(20), &limits)
        .expect("an existing key still changes");
    store
        .state_set("b", "k3", &json!(3), &limits)
        .expect("another automation's count");
    assert_eq!(
        state_of(store.as_ref(), "a"),
        [("k1".into(), json!(1)), ("k2".into(), json!(20))]
    );
}

/// State written (each write returns durable) is there after reopening.
pub fn state_survives_reopening(b: &dyn Backend) {
    {
        let store = b.open("state-reopen");
        let limits = StateLimits::default();
        store
            .state_set("a", "pointer", &json!("2024-05-01T00:00:00Z"), &limits)
            .expect("set");
        store
            .state_increment("a", "n", &serde_json::Number::from(2), &limits)
            .expect("increment");
    }
    let store = b.open("state-reopen");
    assert_eq!(
        state_of(store.as_ref(), "a"),
        [
            ("n".into(), json!(2)),
            ("pointer".into(), json!("2024-05-01T00:00:00Z"))
        ]
    );
}

pub fn a_conditional_put_writes_only_from_the_expected_status(b: &dyn Backend) {
    let store = b.open("conditional");
    let mut paused = run(1, "a");
    paused.status = RunStatus::Paused;
    store.put_run(&paused).expect("put");
    let mut answered = paused.clone();
    answered.status = RunStatus::Queued;
    answered.warnings.push("answered".into());
    // Written after a staged write of the same run: applies after it.
    assert!(
        store
            .put_run_if(&answered, RunStatus::Paused)
            .expect("conditional put"),
        "the run was paused"
    );
    let mut stopped = paused.clone();
    stopped.status = RunStatus::Stopped;
    assert!(
        !store
            .put_run_if(&stopped, RunStatus::Paused)
            .expect("conditional put"),
        "moved already: nothing written"
    );
    assert!(
        !store
            .put_run_if(&run(2, "a"), RunStatus::Paused)
            .expect("conditional put"),
        "no such run"
    );
    let read = store.get_run(&paused.id).expect("get").expect("run");
    assert_eq!(read.status, RunStatus::Queued);
    assert_eq!(read.warnings, ["answered"]);
    assert!(store.get_run(&run(2, "a").id).expect("get").is_none());
}

/// One `#[test]` per case for `$backend` (an expression implementing
/// [`Backend`]).
#[macro_export]
macro_rules! conformance_tests {
    ($backend:expr) => {
        $crate::conformance_tests!(@cases $backend;
            records_round_trip_with_every_field,
            steps_read_back_in_order_whatever_shape_they_were_written_in,
            committed_writes_are_visible_and_waiting_resolves,
            listing_is_newest_first_filtered_and_seeks,
            deleting_a_run_takes_its_steps_and_sealed_copies_only,
            sealed_copies_are_kept_per_step_and_dropped_with_the_run_end,
            everything_flushed_survives_reopening,
            many_writers_at_once_lose_nothing,
            state_round_trips_per_automation,
            state_increments_are_atomic,
            state_limits_refuse_without_writing,
            state_survives_reopening,
            a_conditional_put_writes_only_from_the_expected_status,
        );
    };
    (@cases $backend:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let backend = $backend;
                $crate::store_conformance::$case(&backend);
            }
        )*
    };
}
