//! State between runs (issue 13): `state-get`, `state-set` and
//! `state-increment` through the real engine and a real sled store —
//! exact outputs over several runs, the limits (naming block, field and
//! limit), validation errors, concurrent increments that lose nothing,
//! the engine's state API, and a resumed run that does not repeat a
//! recorded increment.

use serde_json::{Number, Value, json};
use weft_host::{RunLimits, RunStatus, StateLimits, Trigger, Weft};
use weft_tests::engine::{doc, run, weft_with};

/// The validation errors of `document`, as `(block, field, message)`.
fn problems(weft: &Weft, document: &Value) -> Vec<(Option<String>, String, String)> {
    match weft.validate(document) {
        Ok(_) => panic!("expected validation errors"),
        Err(e) => {
            e.0.into_iter()
                .map(|p| (p.block, p.field, p.message))
                .collect()
        }
    }
}

fn counter() -> Value {
    doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Count", "type": "state-increment", "key": "runs"},
            {"id": "Total", "type": "state-increment", "key": "items", "by": "{default: $.Start.items, 0}"},
            {"id": "Out", "type": "output", "mode": "set", "value": {"runs": "{$.Count}", "items": "{$.Total}"}}
        ]),
        json!([
            {"from": "Start", "to": "Count"},
            {"from": "Count", "to": "Total"},
            {"from": "Total", "to": "Out"}
        ]),
        json!({}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_counts_across_runs() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let mut outputs = Vec::new();
    for items in [3, 4, 0] {
        let r = run(&weft, counter(), json!({"items": items})).await;
        assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
        outputs.push(r.record.output);
    }
    assert_eq!(
        outputs,
        [
            json!({"runs": 1, "items": 3}),
            json!({"runs": 2, "items": 7}),
            json!({"runs": 3, "items": 7}),
        ]
    );
    // A fractional step makes the number fractional.
    let r = run(&weft, counter(), json!({"items": 0.5})).await;
    assert_eq!(r.record.output, json!({"runs": 4, "items": 7.5}));
    // What the engine's API sees, by key.
    let listed: Vec<(String, Value)> = weft
        .state_list("t")
        .expect("list")
        .into_iter()
        .map(|e| (e.key, e.value))
        .collect();
    assert_eq!(
        listed,
        [("items".into(), json!(7.5)), ("runs".into(), json!(4))]
    );
    // The step records what was written.
    let step = r
        .steps
        .iter()
        .find(|s| s.block_id == "Count")
        .expect("step");
    assert_eq!(step.block_type, "state-increment");
    assert_eq!(step.input, Some(json!({"key": "runs", "by": 1})));
    assert_eq!(step.output, Some(json!(4)));
}

fn pointer() -> Value {
    doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Before", "type": "state-get", "key": "pointer-{$.Start.feed}", "default": "never"},
            {"id": "Bare", "type": "state-get", "key": "missing"},
            {"id": "Save", "type": "state-set", "key": "pointer-{$.Start.feed}", "value": {"at": "{$.Start.at}"}},
            {"id": "Out", "type": "output", "mode": "set", "value": {"before": "{$.Before}", "bare": "{$.Bare}", "saved": "{$.Save}"}}
        ]),
        json!([
            {"from": "Start", "to": "Before"},
            {"from": "Before", "to": "Bare"},
            {"from": "Bare", "to": "Save"},
            {"from": "Save", "to": "Out"}
        ]),
        json!({}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pointer_set_by_one_run_is_read_by_the_next() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let mut outputs = Vec::new();
    for (feed, at) in [
        ("a", "10:00"),
        ("a", "11:00"),
        ("b", "12:00"),
        ("a", "13:00"),
    ] {
        let r = run(&weft, pointer(), json!({"feed": feed, "at": at})).await;
        assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
        outputs.push(r.record.output);
    }
    assert_eq!(
        outputs,
        [
            json!({"before": "never", "bare": null, "saved": {"at": "10:00"}}),
            json!({"before": {"at": "10:00"}, "bare": null, "saved": {"at": "11:00"}}),
            json!({"before": "never", "bare": null, "saved": {"at": "12:00"}}),
            json!({"before": {"at": "11:00"}, "bare": null, "saved": {"at": "13:00"}}),
        ]
    );
    // Set through the engine's API, read by the next run; deleted, the
    // default again.
    let entry = weft
        .state_set("t", "pointer-a", &json!({"at": "09:00"}))
        .expect("set");
    assert!(entry.updated_at > 0);
    let r = run(&weft, pointer(), json!({"feed": "a", "at": "14:00"})).await;
    assert_eq!(r.record.output["before"], json!({"at": "09:00"}));
    assert!(weft.state_delete("t", "pointer-a").expect("delete"));
    assert!(!weft.state_delete("t", "pointer-a").expect("delete again"));
    let r = run(&weft, pointer(), json!({"feed": "a", "at": "15:00"})).await;
    assert_eq!(r.record.output["before"], json!("never"));
    // Another automation's state is its own.
    assert_eq!(weft.state_get("other", "pointer-a").expect("get"), None);
}

/// A state write takes effect at once: a run that fails after it leaves
/// it written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_stays_when_the_run_fails_later() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Save", "type": "state-set", "key": "k", "value": "written"},
            {"id": "Boom", "type": "error", "message": "later failure"}
        ]),
        json!([{"from": "Start", "to": "Save"}, {"from": "Save", "to": "Boom"}]),
        json!({}),
    );
    let r = run(&weft, d, json!({})).await;
    assert_eq!(r.record.status, RunStatus::Failed);
    assert_eq!(
        weft.state_get("t", "k").expect("get").map(|e| e.value),
        Some(json!("written"))
    );
}

async fn limited(dir: &std::path::Path) -> Weft {
    let runtime = weft_host::Runtime::builder()
        .cache_dir(weft_tests::cache_dir())
        .build()
        .expect("runtime");
    let mut b = Weft::builder()
        .runtime(runtime)
        .sled(dir.join("history"))
        .run_limits(RunLimits {
            state: StateLimits {
                max_key_bytes: 8,
                max_value_bytes: 16,
                max_keys: 2,
            },
            ..RunLimits::default()
        });
    for (_, bytes) in weft_components::standard() {
        b = b.component(bytes);
    }
    b.build().await.expect("weft")
}

fn one(block: Value) -> Value {
    doc(
        json!([{"id": "Start", "type": "start"}, block]),
        json!([{"from": "Start", "to": "S"}]),
        json!({}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_fail_the_block_naming_field_and_limit() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = limited(dir.path()).await;
    let error = |r: &weft_host::RunResult| r.record.error.clone().unwrap_or_default();

    let r = run(
        &weft,
        one(json!({"id": "S", "type": "state-set", "key": "{$.Start.k}", "value": 1})),
        json!({"k": "ninebytes"}),
    )
    .await;
    assert_eq!(r.record.status, RunStatus::Failed);
    assert_eq!(
        error(&r),
        "block \"S\" failed: key: the key is 9 bytes, more than the limit of 8 (max_key_bytes)"
    );
    let r = run(
        &weft,
        one(json!({"id": "S", "type": "state-set", "key": "k", "value": "{$.Start.v}"})),
        json!({"v": "sixteen bytes!!"}),
    )
    .await;
    assert_eq!(
        error(&r),
        "block \"S\" failed: value: the value is 17 bytes as JSON, more than the limit of 16 (max_value_bytes)"
    );
    for key in ["a", "b"] {
        let r = run(
            &weft,
            one(json!({"id": "S", "type": "state-set", "key": key, "value": 1})),
            json!({}),
        )
        .await;
        assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
    }
    let r = run(
        &weft,
        one(json!({"id": "S", "type": "state-increment", "key": "c"})),
        json!({}),
    )
    .await;
    assert_eq!(
        error(&r),
        "block \"S\" failed: key: the automation holds 2 state keys already, the limit (max_keys); delete one or change an existing key"
    );
    // Existing keys still change.
    let r = run(
        &weft,
        one(json!({"id": "S", "type": "state-increment", "key": "a", "by": 2})),
        json!({}),
    )
    .await;
    assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
    assert_eq!(
        weft.state_get("t", "a").expect("get").map(|e| e.value),
        Some(json!(3))
    );
    // Text does not count up; a key from data must be text.
    weft.state_set("t", "b", &json!("x")).expect("set");
    let r = run(
        &weft,
        one(json!({"id": "S", "type": "state-increment", "key": "b"})),
        json!({}),
    )
    .await;
    assert_eq!(
        error(&r),
        "block \"S\" failed: key: the key \"b\" holds text, not a number, so it cannot be incremented"
    );
    let r = run(
        &weft,
        one(json!({"id": "S", "type": "state-get", "key": "{$.Start.k}"})),
        json!({"k": 7}),
    )
    .await;
    assert_eq!(
        error(&r),
        "block \"S\" failed: key: must be text, not a number"
    );
    let r = run(
        &weft,
        one(json!({"id": "S", "type": "state-increment", "key": "a", "by": "{$.Start.by}"})),
        json!({"by": "two"}),
    )
    .await;
    assert_eq!(
        error(&r),
        "block \"S\" failed: by: must be a number, not text"
    );
    // Under on_error: warning the run goes on and reads the error.
    let r = run(
        &weft,
        one(json!({"id": "S", "type": "state-increment", "key": "zz", "on_error": "warning"})),
        json!({}),
    )
    .await;
    assert_eq!(r.record.status, RunStatus::FinishedWithWarnings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_names_block_and_field() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let p = |block: Value| problems(&weft, &one(block));
    let e = |field: &str, message: &str| {
        (
            Some("S".to_string()),
            field.to_string(),
            message.to_string(),
        )
    };
    assert_eq!(
        p(json!({"id": "S", "type": "state-get"})),
        [e(
            "key",
            "a state block needs a key (text, templates allowed)"
        )]
    );
    assert_eq!(
        p(json!({"id": "S", "type": "state-set", "key": "k"})),
        [e(
            "value",
            "a state-set block needs a value (to remove a key, use the API's DELETE)"
        )]
    );
    assert_eq!(
        p(json!({"id": "S", "type": "state-increment", "key": 5, "by": "x"})),
        [
            e("key", "must be text, not 5"),
            e("by", "must be a number, not \"x\"")
        ]
    );
    assert_eq!(
        p(json!({"id": "S", "type": "state-get", "key": ""})),
        [e("key", "must not be empty")]
    );
    assert_eq!(
        p(json!({"id": "S", "type": "state-get", "key": "k", "value": 1})),
        [e(
            "value",
            "unknown field for a state-get block (allowed: id, type, on_error, retry, censor, non_retryable_after_crash, description, ui, key, default)"
        )]
    );
}

/// Runs of one automation at once, each incrementing the same key, and
/// threads using the engine's API: no increment is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_increments_lose_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let plan = std::sync::Arc::new(weft.validate(&counter()).expect("valid"));
    let handles: Vec<_> = (0..12)
        .map(|_| weft.start(plan.clone(), json!({"items": 1}), Trigger::custom("test")))
        .collect();
    let mut seen = Vec::new();
    for h in handles {
        let r = h.wait().await.expect("run");
        assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
        seen.push(r.record.output["runs"].as_i64().expect("number"));
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=12).collect::<Vec<i64>>(),
        "each run got its own number"
    );

    let threads: Vec<_> = (0..4)
        .map(|_| {
            let weft = weft.clone();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    weft.state_increment("t", "runs", &Number::from(1))
                        .expect("increment");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    assert_eq!(
        weft.state_get("t", "runs").expect("get").map(|e| e.value),
        Some(json!(112))
    );
}

/// A run resumed after a crash takes a recorded increment over instead of
/// counting again; the block after it runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_run_does_not_repeat_a_recorded_increment() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "First", "type": "state-increment", "key": "n"},
            {"id": "Second", "type": "state-increment", "key": "n", "by": 10},
            {"id": "Out", "type": "output", "mode": "set", "value": {"first": "{$.First}", "second": "{$.Second}"}}
        ]),
        json!([
            {"from": "Start", "to": "First"},
            {"from": "First", "to": "Second"},
            {"from": "Second", "to": "Out"}
        ]),
        json!({}),
    );
    let plan = weft.validate(&d).expect("valid");
    let full = weft
        .run(&plan, json!({}), Trigger::custom("test"))
        .await
        .expect("run");
    assert_eq!(full.record.output, json!({"first": 1, "second": 11}));
    // The history as a crash after `First` leaves it.
    let prefix = full.steps[..2].to_vec();
    assert_eq!(prefix[1].block_id, "First");
    let mut record = weft_host::new_record(&plan, json!({}), Trigger::custom("test"));
    record.status = RunStatus::Running;
    weft.store().put_run(&record).expect("put run");
    weft.store()
        .append_steps(&record.id, &prefix)
        .expect("steps");
    weft.store().committed().await.expect("committed");
    let resumed = weft
        .run_record(&plan, record, weft_host::CancellationToken::new())
        .await
        .expect("resume");
    assert_eq!(
        resumed.record.status,
        RunStatus::Finished,
        "{:?}",
        resumed.record.error
    );
    // `First` is the recorded 1; only `Second` counted again (11 + 10).
    assert_eq!(resumed.record.output, json!({"first": 1, "second": 21}));
    assert_eq!(
        weft.state_get("t", "n").expect("get").map(|e| e.value),
        Some(json!(21))
    );
}
