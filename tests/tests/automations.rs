//! The graph walker end to end: every block type and condition operator,
//! references and formulas, nested loops with exit-loop, on-error and retry
//! policies, run deadline, fuel budget, stopping from outside, validation
//! errors, and history written to sled as the run goes.

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use weft_host::{RunStatus, Runtime, StepStatus, Trigger, Weft};
use weft_tests::{FakeApi, cache_dir};

async fn weft_with(dir: &std::path::Path, grants: &[String]) -> Weft {
    let runtime = Runtime::builder()
        .cache_dir(cache_dir())
        .max_concurrent_instances(16)
        .build()
        .expect("runtime");
    let mut b = Weft::builder().runtime(runtime).sled(dir.join("history"));
    for (_, bytes) in weft_components::standard() {
        b = b.component(bytes);
    }
    b = b
        .component(weft_components::ECHO)
        .component(weft_components::HOSTILE);
    if !grants.is_empty() {
        b = b.grant("http", grants);
    }
    b.build().await.expect("weft")
}

fn doc(blocks: Value, edges: Value, variables: Value) -> Value {
    json!({
        "weft": "automation/v1", "id": "t", "name": "Test",
        "variables": variables, "blocks": blocks, "edges": edges,
    })
}

/// Chain the blocks in order with `next` edges.
fn chain(ids: &[&str]) -> Value {
    Value::Array(
        ids.windows(2)
            .map(|w| json!({"from": w[0], "to": w[1]}))
            .collect(),
    )
}

fn trigger() -> Trigger {
    Trigger::custom("test")
}

async fn run(weft: &Weft, document: Value, input: Value) -> weft_host::RunResult {
    let plan = weft.validate(&document).unwrap_or_else(|e| panic!("{e}"));
    weft.run(&plan, input, trigger()).await.expect("run")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_condition_operator_through_the_condition_block() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let cases = [
        (json!(5), "=", json!("5"), true),
        (json!(5), "!=", json!(6), true),
        (json!(7), ">", json!(5), true),
        (json!(5), ">=", json!(5), true),
        (json!(4), "<", json!(5), true),
        (json!(5), "<=", json!(4), false),
        (json!(""), "empty", Value::Null, true),
        (json!([1]), "not empty", Value::Null, true),
        (json!("weft"), "contains", json!("ef"), true),
        (json!("weft"), "does not contain", json!("x"), true),
        (json!("b"), "in list", json!(["a", "b"]), true),
        (json!("z"), "not in list", json!(["a", "b"]), true),
        (json!(1.5), "is number", Value::Null, true),
        (json!("1.5"), "is text", Value::Null, true),
        (json!([]), "is list", Value::Null, true),
        (json!({}), "is object", Value::Null, true),
        (json!(true), "is true", Value::Null, true),
        (json!(true), "is false", Value::Null, false),
    ];
    for (left, op, right, expected) in cases {
        let d = doc(
            json!([
                {"id": "Start", "type": "start"},
                {"id": "If", "type": "condition", "condition": {"clauses": [{"left": "{$.Start.l}", "op": op, "right": "{$.Start.r}"}]}},
                {"id": "Yes", "type": "output", "mode": "set", "value": "yes"},
                {"id": "No", "type": "output", "mode": "set", "value": "no"}
            ]),
            json!([
                {"from": "Start", "to": "If"},
                {"from": "If", "to": "Yes", "branch": "true"},
                {"from": "If", "to": "No", "branch": "false"}
            ]),
            json!({}),
        );
        let r = run(&weft, d, json!({"l": left, "r": right})).await;
        let want = if expected { "yes" } else { "no" };
        assert_eq!(r.record.output, json!(want), "{left} {op} {right}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_and_some_groups() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    for (mode, expected) in [("all", "no"), ("some", "yes")] {
        let d = doc(
            json!([
                {"id": "Start", "type": "start"},
                {"id": "If", "type": "condition", "condition": {"mode": mode, "clauses": [
                    {"left": "{$.Start.n}", "op": ">", "right": 1},
                    {"left": "{$.Start.n}", "op": ">", "right": 100}
                ]}},
                {"id": "Yes", "type": "output", "mode": "set", "value": "yes"},
                {"id": "No", "type": "output", "mode": "set", "value": "no"}
            ]),
            json!([
                {"from": "Start", "to": "If"},
                {"from": "If", "to": "Yes", "branch": "true"},
                {"from": "If", "to": "No", "branch": "false"}
            ]),
            json!({}),
        );
        assert_eq!(
            run(&weft, d, json!({"n": 5})).await.record.output,
            json!(expected),
            "{mode}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_loops_with_condition_exit_loop_variables_and_output() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    // For each team, walk its members until the first one marked "stop";
    // collect "team/member" pairs; count teams; outer item used inside the
    // inner loop.
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Teams", "type": "loop", "over": "{$.Start.teams}"},
            {"id": "CountTeams", "type": "variable", "variable": "teams", "action": "increment"},
            {"id": "Members", "type": "loop", "over": "{$.Teams.item.members}"},
            {"id": "IsStop", "type": "condition", "condition": {"clauses": [{"left": "{item}", "op": "=", "right": "stop"}]}},
            {"id": "Break", "type": "exit-loop"},
            {"id": "Pair", "type": "variable", "variable": "pairs", "action": "append", "value": "{$.Teams.item.name}/{item}"},
            {"id": "Merge", "type": "variable", "variable": "meta", "action": "merge", "value": {"last_team": "{$.Teams.item.name}"}},
            {"id": "Out", "type": "output", "mode": "merge", "value": {"pairs": "{$.pairs}", "teams": "{$.teams}", "meta": "{$.meta}"}},
            {"id": "Add", "type": "output", "mode": "merge", "value": {"pair_count": "{count: $.pairs}"}}
        ]),
        json!([
            {"from": "Start", "to": "Teams"},
            {"from": "Teams", "to": "CountTeams", "branch": "body"},
            {"from": "CountTeams", "to": "Members"},
            {"from": "Members", "to": "IsStop", "branch": "body"},
            {"from": "IsStop", "to": "Break", "branch": "true"},
            {"from": "IsStop", "to": "Pair"},
            {"from": "Members", "to": "Merge"},
            {"from": "Teams", "to": "Out"},
            {"from": "Out", "to": "Add"}
        ]),
        json!({"pairs": [], "teams": 0, "meta": {}}),
    );
    let input = json!({"teams": [
        {"name": "red", "members": ["ann", "bob", "stop", "never"]},
        {"name": "blue", "members": ["cy"]}
    ]});
    let r = run(&weft, d, input).await;
    assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
    assert_eq!(
        r.record.output,
        json!({"pairs": ["red/ann", "red/bob", "blue/cy"], "teams": 2, "meta": {"last_team": "blue"}, "pair_count": 3})
    );
    // Steps inside loops carry their iteration path.
    let pair_steps: Vec<&Vec<usize>> = r
        .steps
        .iter()
        .filter(|s| s.block_id == "Pair")
        .map(|s| &s.iteration)
        .collect();
    assert_eq!(pair_steps, [&vec![0, 0], &vec![0, 1], &vec![1, 0]]);
    assert!(
        r.steps
            .iter()
            .any(|s| s.block_id == "Break" && s.iteration == [0, 2])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_blocks_feed_each_other_and_loops_iterate_their_output() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Doubled", "type": "connector", "connector": "math", "block": "calculate", "inputs": {"operation": "multiply", "a": "{$.Start.n}", "b": 2}},
            {"id": "Keep", "type": "connector", "connector": "lists", "block": "filter", "inputs": {"list": "{$.Start.items}", "conditions": [{"field": "value", "op": ">", "value": 5}]}},
            {"id": "Each", "type": "loop", "over": "{$.Keep.list}"},
            {"id": "Ids", "type": "variable", "variable": "ids", "action": "append", "value": "{item.id}"},
            {"id": "Joined", "type": "connector", "connector": "text", "block": "join", "inputs": {"parts": "{$.ids}", "separator": "+"}},
            {"id": "Out", "type": "output", "mode": "set", "value": {"doubled": "{$.Doubled.result}", "kept": "{$.Keep.list}", "ids": "{$.Joined.text}", "shout": "{uppercase: $.Start.name}"}}
        ]),
        json!([
            {"from": "Start", "to": "Doubled"}, {"from": "Doubled", "to": "Keep"}, {"from": "Keep", "to": "Each"},
            {"from": "Each", "to": "Ids", "branch": "body"}, {"from": "Each", "to": "Joined"}, {"from": "Joined", "to": "Out"}
        ]),
        json!({"ids": []}),
    );
    let input = json!({"n": 7, "name": "weft", "items": [{"id": 1, "value": 3}, {"id": 2, "value": 8}, {"id": 3, "value": 9}]});
    let r = run(&weft, d, input).await;
    assert_eq!(
        r.record.output,
        json!({"doubled": 14, "kept": [{"id": 2, "value": 8}, {"id": 3, "value": 9}], "ids": "2+3", "shout": "WEFT"})
    );
    let math = r
        .steps
        .iter()
        .find(|s| s.block_id == "Doubled")
        .expect("math step");
    assert_eq!(math.target.as_deref(), Some("math/calculate"));
    assert!(math.fuel_used.is_some_and(|f| f > 0));
    assert_eq!(
        math.input,
        Some(json!({"operation": "multiply", "a": 7, "b": 2}))
    );
}

fn failing_block(on_error: &str) -> Value {
    doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Boom", "type": "connector", "connector": "echo", "block": "fail", "inputs": {"kind": "fatal"}, "on_error": on_error},
            {"id": "After", "type": "output", "mode": "set", "value": "went on"}
        ]),
        chain(&["Start", "Boom", "After"]),
        json!({}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_error_policies() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;

    let r = run(&weft, failing_block("stop"), json!({})).await;
    assert_eq!(r.record.status, RunStatus::Failed);
    let err = r.record.error.expect("error");
    assert!(
        err.contains("\"Boom\"") && err.contains("failing with fatal"),
        "{err}"
    );
    assert!(!r.steps.iter().any(|s| s.block_id == "After"));

    let r = run(&weft, failing_block("warning"), json!({})).await;
    assert_eq!(r.record.status, RunStatus::FinishedWithWarnings);
    assert_eq!(r.record.output, json!("went on"));
    assert!(r.record.warnings[0].starts_with("Boom:"));
    assert_eq!(r.steps[1].status, StepStatus::Warning);

    let r = run(&weft, failing_block("ignore"), json!({})).await;
    assert_eq!(r.record.status, RunStatus::Finished);
    assert_eq!(r.record.output, json!("went on"));
    assert_eq!(r.steps[1].status, StepStatus::Ignored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_stop_and_sleep_blocks() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Warn", "type": "error", "mode": "warn", "message": "low stock: {$.Start.n}"},
            {"id": "Nap", "type": "sleep", "ms": 10},
            {"id": "Out", "type": "output", "value": "a"},
            {"id": "End", "type": "stop"}
        ]),
        chain(&["Start", "Warn", "Nap", "Out", "End"]),
        json!({}),
    );
    let r = run(&weft, d, json!({"n": 2})).await;
    assert_eq!(r.record.status, RunStatus::FinishedWithWarnings);
    assert_eq!(r.record.warnings, ["Warn: low stock: 2"]);
    assert_eq!(r.record.output, json!(["a"]));

    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Fail", "type": "error", "message": "order {$.Start.id} is invalid"}
        ]),
        chain(&["Start", "Fail"]),
        json!({}),
    );
    let r = run(&weft, d, json!({"id": 42})).await;
    assert_eq!(r.record.status, RunStatus::Failed);
    assert!(
        r.record
            .error
            .as_deref()
            .is_some_and(|e| e.contains("order 42 is invalid"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_back_off_and_succeed() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let api = FakeApi::start_with(Router::new().route(
        "/flaky",
        get(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy").into_response()
                } else {
                    axum::Json(json!({"ok": true})).into_response()
                }
            }
        }),
    ))
    .await;
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[api.base()]).await;
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Call", "type": "connector", "connector": "http", "block": "request", "inputs": {"url": "{$.Start.url}"},
             "retry": {"max_attempts": 3, "backoff_ms": 10}},
            {"id": "Out", "type": "output", "mode": "set", "value": "{$.Call.status}"}
        ]),
        chain(&["Start", "Call", "Out"]),
        json!({}),
    );
    let r = run(&weft, d.clone(), json!({"url": api.url("/flaky")})).await;
    assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
    assert_eq!(r.record.output, json!(200));
    let step = &r.steps[1];
    assert_eq!(step.attempts, 3);
    assert_eq!(
        step.http_calls.len(),
        3,
        "every attempt's call is in the log"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    // Without enough attempts the last error is reported with the count.
    calls.store(0, Ordering::SeqCst);
    let mut fewer = d;
    fewer["blocks"][1]["retry"]["max_attempts"] = json!(2);
    let r = run(&weft, fewer, json!({"url": api.url("/flaky")})).await;
    assert_eq!(r.record.status, RunStatus::Failed);
    assert!(
        r.record
            .error
            .as_deref()
            .is_some_and(|e| e.contains("after 2 attempts")),
        "{:?}",
        r.record.error
    );

    // Non-retryable errors are not retried.
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Boom", "type": "connector", "connector": "echo", "block": "fail", "inputs": {"kind": "not-found"}, "retry": {"max_attempts": 5, "backoff_ms": 10}}
        ]),
        chain(&["Start", "Boom"]),
        json!({}),
    );
    let r = run(&weft, d, json!({})).await;
    assert_eq!(r.steps[1].attempts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_retries_honour_retry_after() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    // echo's "rate-limited" failure asks for 1.5 s; the backoff is 10 ms.
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Limited", "type": "connector", "connector": "echo", "block": "fail", "inputs": {"kind": "rate-limited"},
             "retry": {"max_attempts": 2, "backoff_ms": 10}, "on_error": "ignore"}
        ]),
        chain(&["Start", "Limited"]),
        json!({}),
    );
    let started = std::time::Instant::now();
    let r = run(&weft, d, json!({})).await;
    assert_eq!(r.steps[1].attempts, 2);
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "retry-after was not honoured"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_deadline_and_fuel_budget() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let mut d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Spin", "type": "connector", "connector": "hostile", "block": "spin"}
        ]),
        chain(&["Start", "Spin"]),
        json!({}),
    );
    d["settings"] = json!({"fuel_budget": 5_000_000});
    let r = run(&weft, d.clone(), json!({})).await;
    assert_eq!(r.record.status, RunStatus::Failed);
    assert!(
        r.record
            .error
            .as_deref()
            .is_some_and(|e| e.contains("fuel limit of 5000000")),
        "{:?}",
        r.record.error
    );

    let mut d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Nap", "type": "sleep", "ms": 60_000},
            {"id": "Never", "type": "output", "value": 1}
        ]),
        chain(&["Start", "Nap", "Never"]),
        json!({}),
    );
    d["settings"] = json!({"deadline_ms": 200});
    let started = std::time::Instant::now();
    let r = run(&weft, d, json!({})).await;
    assert_eq!(r.record.status, RunStatus::Failed);
    assert!(
        r.record
            .error
            .as_deref()
            .is_some_and(|e| e.contains("deadline of 200 ms")),
        "{:?}",
        r.record.error
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(r.record.output, Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_can_be_stopped_and_its_history_is_written_as_it_goes() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "First", "type": "output", "value": 1},
            {"id": "Nap", "type": "sleep", "ms": 60_000},
            {"id": "Never", "type": "output", "value": 2}
        ]),
        chain(&["Start", "First", "Nap", "Never"]),
        json!({}),
    );
    let plan = Arc::new(weft.validate(&d).expect("valid"));
    let handle = weft.start(plan, json!({}), trigger());
    let run_id = handle.run_id.clone();
    // While it sleeps, the store already shows it running with its steps.
    let mut seen = false;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if let Ok(Some(rec)) = weft.store().get_run(&run_id)
            && rec.status == RunStatus::Running
            && weft.store().steps(&run_id).map(|s| s.len()).unwrap_or(0) == 2
        {
            seen = true;
            break;
        }
    }
    assert!(
        seen,
        "the running run and its first steps were not visible in the store"
    );
    handle.stop();
    let r = handle.wait().await.expect("run");
    assert_eq!(r.record.status, RunStatus::Stopped);
    assert_eq!(r.record.output, json!([1]));
    let stored = weft
        .store()
        .get_run(&run_id)
        .expect("get")
        .expect("present");
    assert_eq!(stored.status, RunStatus::Stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_errors_at_run_time_name_block_and_field() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Use", "type": "output", "value": {"x": "{$.Start.customer.email}"}}
        ]),
        chain(&["Start", "Use"]),
        json!({}),
    );
    let r = run(&weft, d, json!({"customer": {}})).await;
    assert_eq!(r.record.status, RunStatus::Failed);
    let e = r.record.error.expect("error");
    assert!(
        e.contains("\"Use\"") && e.contains("value") && e.contains("$.Start.customer.email"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_reports_every_problem_with_block_and_field() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "A", "type": "connector", "connector": "math", "block": "calculate", "inputs": {"operation": "multiply", "a": "{$.B.result}", "b": "two"}},
            {"id": "B", "type": "variable", "variable": "m", "action": "set", "value": "{item.x}"},
            {"id": "C", "type": "connector", "connector": "nope", "block": "x"},
            {"id": "D", "type": "output", "value": "{uppercase: $.n, 'x'}"},
            {"id": "E", "type": "exit-loop"},
            {"id": "Lonely", "type": "stop"},
            {"id": "Typo", "type": "output", "value": 1, "vaule": 2}
        ]),
        json!([
            {"from": "Start", "to": "A"}, {"from": "A", "to": "B"}, {"from": "B", "to": "C"},
            {"from": "C", "to": "D"}, {"from": "D", "to": "E"}, {"from": "E", "to": "Typo"}
        ]),
        json!({"n": 0}),
    );
    let errors = weft.validate(&d).expect_err("invalid").0;
    let has = |block: &str, field: &str, text: &str| {
        errors.iter().any(|e| {
            e.block.as_deref() == Some(block) && e.field == field && e.message.contains(text)
        })
    };
    assert!(has("Typo", "vaule", "unknown field"), "{errors:#?}");
    assert!(has("Lonely", "edges", "not connected"), "{errors:#?}");
    assert!(has("A", "inputs.a", "does not run before"), "{errors:#?}");
    assert!(
        has("A", "inputs.b", "not of type \"number\""),
        "{errors:#?}"
    );
    assert!(has("B", "variable", "not declared"), "{errors:#?}");
    assert!(
        has("B", "value", "only available inside a loop"),
        "{errors:#?}"
    );
    assert!(has("C", "connector", "unknown connector"), "{errors:#?}");
    assert!(has("D", "value", "takes 1 argument"), "{errors:#?}");
    assert!(has("E", "type", "inside a loop"), "{errors:#?}");
    assert!(
        has("E", "edges[5].branch", "cannot have a next edge"),
        "{errors:#?}"
    );

    // Structure: two starts, a cycle, an unknown edge target, a block with two parents.
    let d = doc(
        json!([
            {"id": "Start", "type": "start"}, {"id": "S2", "type": "start"},
            {"id": "X", "type": "output", "value": 1}, {"id": "Y", "type": "output", "value": 2}
        ]),
        json!([{"from": "Start", "to": "X"}, {"from": "Y", "to": "X"}, {"from": "X", "to": "Ghost"}]),
        json!({}),
    );
    let errors = weft.validate(&d).expect_err("invalid").0;
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(
        text.iter().any(|t| t.contains("exactly one start")),
        "{text:#?}"
    );
    assert!(text.iter().any(|t| t.contains("Ghost")), "{text:#?}");
    assert!(
        text.iter()
            .any(|t| t.contains("more than one edge leads into")),
        "{text:#?}"
    );

    let d = doc(
        json!([{"id": "Start", "type": "start"}, {"id": "X", "type": "output", "value": 1}, {"id": "Y", "type": "output", "value": 2}]),
        json!([{"from": "X", "to": "Y"}, {"from": "Y", "to": "X"}]),
        json!({}),
    );
    let errors = weft.validate(&d).expect_err("invalid").0;
    assert!(
        errors.iter().any(|e| e.message.contains("not connected")),
        "{errors:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_loop_its_count_and_last_item_remain_and_numeric_text_increments() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Each", "type": "loop", "over": "{$.Start.totals}"},
            {"id": "Sum", "type": "variable", "variable": "sum", "action": "increment", "value": "{item}"},
            {"id": "None", "type": "loop", "over": []},
            {"id": "Out", "type": "output", "mode": "set", "value": {
                "count": "{$.Each.count}", "last": "{$.Each.item}", "sum": "{$.sum}", "empty": "{$.None.count}"
            }}
        ]),
        json!([
            {"from": "Start", "to": "Each"}, {"from": "Each", "to": "Sum", "branch": "body"},
            {"from": "Each", "to": "None"}, {"from": "None", "to": "Out"}
        ]),
        json!({"sum": 0}),
    );
    let r = run(&weft, d, json!({"totals": ["120", 30, "2.5"]})).await;
    assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
    assert_eq!(
        r.record.output,
        json!({"count": 3, "last": "2.5", "sum": 152.5, "empty": 0})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observers_see_each_step_as_it_finishes_and_a_short_run_is_written_at_its_end() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Each", "type": "loop", "over": [1, 2, 3]},
            {"id": "Out", "type": "output", "value": "{item}"}
        ]),
        json!([{"from": "Start", "to": "Each"}, {"from": "Each", "to": "Out", "branch": "body"}]),
        json!({}),
    );
    let plan = weft.validate(&d).expect("valid");
    let seen = std::sync::Mutex::new(Vec::new());
    let store = weft.store();
    let observer = |step: &weft_host::StepRecord| {
        // A run this short is written behind: nothing is stored yet.
        let stored = store
            .list_runs(&weft_host::store::RunFilter::default())
            .map(|runs| runs.len())
            .unwrap_or(0);
        seen.lock()
            .expect("lock")
            .push((step.block_id.clone(), stored));
    };
    let r = weft
        .run_observed(&plan, json!({}), trigger(), &observer)
        .await
        .expect("run");
    assert_eq!(r.record.output, json!([1, 2, 3]));
    let seen = seen.into_inner().expect("lock");
    let ids: Vec<&str> = seen.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["Start", "Each", "Out", "Out", "Out"]);
    assert!(seen.iter().all(|(_, stored)| *stored == 0), "{seen:?}");
    // At its end, the record and every step are in the store.
    let stored = store.get_run(&r.record.id).expect("get").expect("stored");
    assert_eq!(stored.status, RunStatus::Finished);
    let steps: Vec<String> = store
        .steps(&r.record.id)
        .expect("steps")
        .into_iter()
        .map(|s| s.block_id)
        .collect();
    assert_eq!(steps, ["Start", "Each", "Out", "Out", "Out"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_all_adds_every_item_and_increments_are_decimal() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Pages", "type": "loop", "over": "{$.Start.pages}"},
            {"id": "Collect", "type": "variable", "variable": "rows", "action": "append-all",
             "value": "{item.rows}"},
            {"id": "Cents", "type": "variable", "variable": "total", "action": "increment",
             "value": "{item.fee}"},
            {"id": "Out", "type": "output", "mode": "set",
             "value": {"rows": "{$.rows}", "total": "{$.total}"}}
        ]),
        json!([
            {"from": "Start", "to": "Pages"}, {"from": "Pages", "to": "Collect", "branch": "body"},
            {"from": "Collect", "to": "Cents"}, {"from": "Pages", "to": "Out"}
        ]),
        json!({"rows": [], "total": 0}),
    );
    let input = json!({"pages": [
        {"rows": [{"id": 1}, {"id": 2}], "fee": 0.1},
        {"rows": [], "fee": 0.2},
        {"rows": [{"id": 3}], "fee": "0.05"},
    ]});
    let r = run(&weft, d.clone(), input).await;
    assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
    assert_eq!(
        r.record.output,
        json!({"rows": [{"id": 1}, {"id": 2}, {"id": 3}], "total": 0.35})
    );

    // A value that is not a list is refused, not appended as one item.
    let r = run(&weft, d, json!({"pages": [{"rows": {"id": 1}, "fee": 1}]})).await;
    assert_eq!(r.record.status, RunStatus::Failed);
    let error = r.record.error.unwrap_or_default();
    assert!(
        error.contains("Collect") && error.contains("append-all needs a list"),
        "{error}"
    );
}
