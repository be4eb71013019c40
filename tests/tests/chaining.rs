//! Chaining end to end: `call_automation` blocks in real plans, run by a
//! real Weft with the standard components and `LocalAutomations` as the
//! caller — sync and async calls, the history of called runs, self-calls,
//! cycles and the depth limit, failures under on-error policies, stopping
//! a parent, and an engine without a caller.

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft_host::store::RunFilter;
use weft_host::{LocalAutomations, RunResult, RunStatus, Runtime, StepStatus, Trigger, Weft};
use weft_tests::cache_dir;

/// A Weft with the standard components, and (if `chained`) local
/// automations attached as its caller.
async fn engine(
    dir: &std::path::Path,
    chained: bool,
    max_depth: Option<usize>,
) -> (Weft, Arc<LocalAutomations>) {
    let runtime = Runtime::builder()
        .cache_dir(cache_dir())
        .max_concurrent_instances(16)
        .build()
        .expect("runtime");
    let mut b = Weft::builder().runtime(runtime).sled(dir.join("history"));
    for (_, bytes) in weft_components::standard() {
        b = b.component(bytes);
    }
    let automations = Arc::new(LocalAutomations::new());
    if chained {
        b = b.automation_caller(automations.clone());
    }
    if let Some(depth) = max_depth {
        b = b.max_chain_depth(depth);
    }
    let weft = b.build().await.expect("weft");
    automations.attach(&weft);
    (weft, automations)
}

fn doc(id: &str, blocks: Value) -> Value {
    let ids: Vec<String> = blocks
        .as_array()
        .expect("blocks")
        .iter()
        .map(|b| b["id"].as_str().expect("id").to_string())
        .collect();
    let edges: Vec<Value> = ids
        .windows(2)
        .map(|w| json!({"from": w[0], "to": w[1]}))
        .collect();
    json!({"weft": "automation/v1", "id": id, "name": id, "blocks": blocks, "edges": edges})
}

/// Start → Call (`target`, `mode`, `inputs`) → Out (`out`).
fn caller_doc(id: &str, target: &str, mode: &str, on_error: &str, out: Value) -> Value {
    doc(
        id,
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Call", "type": "call_automation", "automation": target, "mode": mode,
             "inputs": {"name": "{$.Start.name}", "depth": 1}, "on_error": on_error},
            {"id": "Out", "type": "output", "mode": "set", "value": out}
        ]),
    )
}

/// Validate and register `document` as a callable automation.
fn register(weft: &Weft, automations: &LocalAutomations, document: Value) {
    let plan = weft.validate(&document).unwrap_or_else(|e| panic!("{e}"));
    automations.insert(plan);
}

fn trigger() -> Trigger {
    Trigger::custom("test")
}

async fn run(weft: &Weft, document: Value, input: Value) -> RunResult {
    let plan = weft.validate(&document).unwrap_or_else(|e| panic!("{e}"));
    weft.run(&plan, input, trigger()).await.expect("run")
}

fn step<'a>(r: &'a RunResult, id: &str) -> &'a weft_host::StepRecord {
    r.steps
        .iter()
        .find(|s| s.block_id == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

/// A child that greets with the text component: `{"greeting": "Hello, NAME"}`.
fn greeter() -> Value {
    doc(
        "greet",
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Join", "type": "connector", "connector": "text", "block": "join",
             "inputs": {"parts": ["Hello", "{$.Start.name}"], "separator": ", "}},
            {"id": "Out", "type": "output", "mode": "set", "value": {"greeting": "{$.Join.text}", "depth": "{$.Start.depth}"}}
        ]),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_call_returns_the_called_runs_output_to_later_blocks() {
    let dir = tempfile::tempdir().expect("tmp");
    let (weft, automations) = engine(dir.path(), true, None).await;
    register(&weft, &automations, greeter());
    let main = caller_doc(
        "main",
        "greet",
        "sync",
        "stop",
        json!({"said": "{$.Call.greeting}", "depth": "{$.Call.depth}"}),
    );
    let r = run(&weft, main, json!({"name": "Ada"})).await;
    assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
    assert_eq!(r.record.output, json!({"said": "Hello, Ada", "depth": 1}));

    let call = step(&r, "Call");
    assert_eq!(call.block_type, "call_automation");
    assert_eq!(call.target.as_deref(), Some("greet"));
    assert_eq!(call.input, Some(json!({"name": "Ada", "depth": 1})));
    assert_eq!(
        call.output,
        Some(json!({"greeting": "Hello, Ada", "depth": 1}))
    );
    let child_id = call.child_run_id.clone().expect("child run id in the step");

    // The called run has its own history, linked back to the caller.
    let child = weft
        .store()
        .get_run(&child_id)
        .expect("get")
        .expect("child stored");
    assert_eq!(child.automation_id, "greet");
    assert_eq!(child.status, RunStatus::Finished);
    assert_eq!(child.input, json!({"name": "Ada", "depth": 1}));
    let Trigger::Automation(by) = &child.trigger else {
        panic!(
            "a called run's trigger names its caller: {:?}",
            child.trigger
        );
    };
    assert_eq!(by.parent_run_id, r.record.id);
    assert_eq!(by.parent_block, "Call");
    assert_eq!(by.call_stack, ["main"]);
    let child_steps = weft.store().steps(&child_id).expect("steps");
    assert_eq!(
        child_steps
            .iter()
            .map(|s| s.block_id.as_str())
            .collect::<Vec<_>>(),
        ["Start", "Join", "Out"]
    );
    assert_eq!(child_steps[1].target.as_deref(), Some("text/join"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_call_returns_a_run_id_and_the_called_run_finishes_on_its_own() {
    let dir = tempfile::tempdir().expect("tmp");
    let (weft, automations) = engine(dir.path(), true, None).await;
    register(
        &weft,
        &automations,
        doc(
            "slow",
            json!([
                {"id": "Start", "type": "start"},
                {"id": "Nap", "type": "sleep", "ms": 1000},
                {"id": "Sum", "type": "connector", "connector": "math", "block": "calculate",
                 "inputs": {"operation": "add", "a": "{$.Start.depth}", "b": 41}},
                {"id": "Out", "type": "output", "mode": "set", "value": "{$.Sum.result}"}
            ]),
        ),
    );
    let main = caller_doc(
        "main",
        "slow",
        "async",
        "stop",
        json!({"started": "{$.Call.run_id}"}),
    );
    let began = Instant::now();
    let r = run(&weft, main, json!({"name": "x"})).await;
    assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
    // The caller did not wait for the sleep.
    assert!(began.elapsed() < Duration::from_millis(1000));
    let run_id = r.record.output["started"]
        .as_str()
        .expect("run id in the output")
        .to_string();
    let call = step(&r, "Call");
    assert_eq!(call.output, Some(json!({"run_id": run_id})));
    assert_eq!(call.child_run_id.as_deref(), Some(run_id.as_str()));

    let mut child = None;
    for _ in 0..500 {
        let rec = weft.store().get_run(&run_id).expect("get");
        // Stored before the call answered, so never missing.
        let rec = rec.expect("the called run is in the store");
        if rec.status.is_final() {
            child = Some(rec);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let child = child.expect("the called run finished");
    assert_eq!(child.status, RunStatus::Finished, "{:?}", child.error);
    assert_eq!(child.output, json!(42));
    assert_eq!(child.automation_id, "slow");
    assert!(
        matches!(&child.trigger, Trigger::Automation(by) if by.parent_run_id == r.record.id),
        "{:?}",
        child.trigger
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_refuses_self_calls_empty_targets_and_bad_input_templates() {
    let dir = tempfile::tempdir().expect("tmp");
    let (weft, _) = engine(dir.path(), true, None).await;
    let d = doc(
        "me",
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Again", "type": "call_automation", "automation": "me"},
            {"id": "Nobody", "type": "call_automation", "automation": " "},
            {"id": "Outside", "type": "call_automation", "automation": "../x"},
            {"id": "Bad", "type": "call_automation", "automation": "other",
             "inputs": {"x": "{$.Later.value}", "y": "{uppercase: $.Start.name, 'x'}"}},
            {"id": "Typo", "type": "call_automation", "automation": "other", "input": {}},
            {"id": "Later", "type": "output", "value": 1}
        ]),
    );
    let errors = weft.validate(&d).expect_err("invalid").0;
    let has = |block: &str, field: &str, text: &str| {
        errors.iter().any(|e| {
            e.block.as_deref() == Some(block) && e.field == field && e.message.contains(text)
        })
    };
    assert!(
        has("Again", "automation", "an automation cannot call itself"),
        "{errors:?}"
    );
    assert!(has("Nobody", "automation", "must name"), "{errors:?}");
    // No automation id is outside the identifier rule, so no call can be.
    assert!(has("Outside", "automation", "must name"), "{errors:?}");
    assert!(
        has("Bad", "inputs.x", "does not run before this block"),
        "{errors:?}"
    );
    assert!(has("Bad", "inputs.y", "takes 1 argument"), "{errors:?}");
    assert!(has("Typo", "input", "unknown field"), "{errors:?}");

    let bad_mode = doc(
        "m",
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Call", "type": "call_automation", "automation": "x", "mode": "later"}
        ]),
    );
    let errors = weft.validate(&bad_mode).expect_err("invalid").0;
    assert!(
        errors.iter().any(|e| e.message.contains("later")),
        "{errors:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_through_another_automation_is_refused_at_run_time() {
    let dir = tempfile::tempdir().expect("tmp");
    let (weft, automations) = engine(dir.path(), true, None).await;
    let a = caller_doc("a", "b", "sync", "stop", json!("{$.Call}"));
    register(&weft, &automations, a.clone());
    register(
        &weft,
        &automations,
        caller_doc("b", "a", "sync", "stop", json!("{$.Call}")),
    );
    let r = run(&weft, a, json!({"name": "x"})).await;
    assert_eq!(r.record.status, RunStatus::Failed);
    let e = r.record.error.clone().expect("error");
    assert!(e.contains("would close a cycle: a → b → a"), "{e}");
    // b ran and failed at its own call block, before starting a again.
    let b_id = step(&r, "Call").child_run_id.clone().expect("b's run");
    let b = weft.store().get_run(&b_id).expect("get").expect("b");
    assert_eq!(b.status, RunStatus::Failed);
    let b_steps = weft.store().steps(&b_id).expect("steps");
    let b_call = b_steps
        .iter()
        .find(|s| s.block_id == "Call")
        .expect("b's call");
    assert_eq!(b_call.child_run_id, None, "a must not have started again");
    let a_runs = weft
        .store()
        .list_runs(&RunFilter {
            automation_id: Some("a".into()),
            limit: None,
        })
        .expect("list");
    assert_eq!(a_runs.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chains_longer_than_the_depth_limit_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let (weft, automations) = engine(dir.path(), true, Some(3)).await;
    // c1 → c2 → c3 → c4: four automations, one more than the limit.
    for (id, next) in [("c1", "c2"), ("c2", "c3"), ("c3", "c4")] {
        register(
            &weft,
            &automations,
            caller_doc(
                id,
                next,
                "sync",
                "stop",
                json!({"via": id, "inner": "{$.Call}"}),
            ),
        );
    }
    register(
        &weft,
        &automations,
        doc(
            "c4",
            json!([{"id": "Start", "type": "start"}, {"id": "Out", "type": "output", "mode": "set", "value": "bottom"}]),
        ),
    );
    let c1 = automations.get("c1").expect("c1");
    let r = weft
        .run(&c1, json!({"name": "x"}), trigger())
        .await
        .expect("run");
    assert_eq!(r.record.status, RunStatus::Failed);
    let e = r.record.error.clone().expect("error");
    assert!(
        e.contains("c1 → c2 → c3 → c4") && e.contains("the limit is 3"),
        "{e}"
    );
    assert!(
        weft.store()
            .list_runs(&RunFilter {
                automation_id: Some("c4".into()),
                limit: None
            })
            .expect("list")
            .is_empty(),
        "c4 must not have run"
    );

    // Three automations deep is within the limit.
    let c2 = automations.get("c2").expect("c2");
    let r = weft
        .run(&c2, json!({"name": "x"}), trigger())
        .await
        .expect("run");
    assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
    assert_eq!(
        r.record.output,
        json!({"via": "c2", "inner": {"via": "c3", "inner": "bottom"}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_called_run_fails_the_block_under_its_on_error_policy() {
    let dir = tempfile::tempdir().expect("tmp");
    let (weft, automations) = engine(dir.path(), true, None).await;
    register(
        &weft,
        &automations,
        doc(
            "broken",
            json!([
                {"id": "Start", "type": "start"},
                {"id": "Boom", "type": "error", "message": "nothing for {$.Start.name}"}
            ]),
        ),
    );

    let r = run(
        &weft,
        caller_doc("main", "broken", "sync", "stop", json!("went on")),
        json!({"name": "Ada"}),
    )
    .await;
    assert_eq!(r.record.status, RunStatus::Failed);
    let call = step(&r, "Call");
    assert_eq!(call.status, StepStatus::Failed);
    assert_eq!(call.attempts, 1);
    let child_id = call.child_run_id.clone().expect("child run id");
    let e = r.record.error.clone().expect("error");
    assert!(
        e.contains("\"Call\"")
            && e.contains("automation \"broken\" failed")
            && e.contains(&child_id)
            && e.contains("nothing for Ada"),
        "{e}"
    );
    assert!(!r.steps.iter().any(|s| s.block_id == "Out"));
    let child = weft
        .store()
        .get_run(&child_id)
        .expect("get")
        .expect("child");
    assert_eq!(child.status, RunStatus::Failed);

    let r = run(
        &weft,
        caller_doc("main", "broken", "sync", "ignore", json!("went on")),
        json!({"name": "Ada"}),
    )
    .await;
    assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
    assert_eq!(r.record.output, json!("went on"));
    let call = step(&r, "Call");
    assert_eq!(call.status, StepStatus::Ignored);
    assert!(
        call.error
            .as_deref()
            .is_some_and(|e| e.contains("nothing for Ada")),
        "{:?}",
        call.error
    );
    assert!(call.child_run_id.is_some());

    // Unknown targets are block errors too.
    let r = run(
        &weft,
        caller_doc("main", "ghost", "sync", "stop", json!(1)),
        json!({"name": "x"}),
    )
    .await;
    assert_eq!(r.record.status, RunStatus::Failed);
    let e = r.record.error.clone().expect("error");
    assert!(e.contains("no automation has id \"ghost\""), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_caller_stops_the_run_it_waits_for() {
    let dir = tempfile::tempdir().expect("tmp");
    let (weft, automations) = engine(dir.path(), true, None).await;
    register(
        &weft,
        &automations,
        doc(
            "sleeper",
            json!([
                {"id": "Start", "type": "start"},
                {"id": "Nap", "type": "sleep", "ms": 60_000},
                {"id": "Out", "type": "output", "value": "woke"}
            ]),
        ),
    );
    let main = caller_doc("main", "sleeper", "sync", "stop", json!(1));
    let plan = Arc::new(weft.validate(&main).expect("valid"));
    let began = Instant::now();
    let handle = weft.start(plan, json!({"name": "x"}), trigger());
    let sleepers = || {
        weft.store()
            .list_runs(&RunFilter {
                automation_id: Some("sleeper".into()),
                limit: None,
            })
            .expect("list")
    };
    let mut child_id = None;
    for _ in 0..500 {
        if let Some(rec) = sleepers().first()
            && rec.status == RunStatus::Running
            && weft.store().steps(&rec.id).map_or(0, |s| s.len()) == 1
        {
            child_id = Some(rec.id.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let child_id = child_id.expect("the called run started sleeping");
    handle.stop();
    let r = handle.wait().await.expect("run");
    assert_eq!(r.record.status, RunStatus::Stopped);
    assert!(began.elapsed() < Duration::from_secs(30));
    let child = weft
        .store()
        .get_run(&child_id)
        .expect("get")
        .expect("child");
    assert_eq!(child.status, RunStatus::Stopped);
    assert!(
        !weft
            .store()
            .steps(&child_id)
            .expect("steps")
            .iter()
            .any(|s| s.block_id == "Out")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_called_run_ends_by_its_callers_deadline() {
    let dir = tempfile::tempdir().expect("tmp");
    let (weft, automations) = engine(dir.path(), true, None).await;
    register(
        &weft,
        &automations,
        doc(
            "sleeper",
            json!([
                {"id": "Start", "type": "start"},
                {"id": "Nap", "type": "sleep", "ms": 60_000}
            ]),
        ),
    );
    let mut main = caller_doc("main", "sleeper", "sync", "stop", json!(1));
    main["settings"] = json!({"deadline_ms": 300});
    let began = Instant::now();
    let r = run(&weft, main, json!({"name": "x"})).await;
    assert!(began.elapsed() < Duration::from_secs(30));
    assert_eq!(r.record.status, RunStatus::Failed);
    let e = r.record.error.clone().expect("error");
    assert!(e.contains("the deadline of the run that called it"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_caller_the_block_fails_saying_chaining_is_not_configured() {
    let dir = tempfile::tempdir().expect("tmp");
    let (weft, automations) = engine(dir.path(), false, None).await;
    // Registered, but the engine was built without a caller.
    register(&weft, &automations, greeter());
    let r = run(
        &weft,
        caller_doc("main", "greet", "sync", "stop", json!(1)),
        json!({"name": "x"}),
    )
    .await;
    assert_eq!(r.record.status, RunStatus::Failed);
    let e = r.record.error.clone().expect("error");
    assert!(
        e.contains("\"Call\"") && e.contains("chaining is not configured"),
        "{e}"
    );
    assert!(step(&r, "Call").child_run_id.is_none());
}
