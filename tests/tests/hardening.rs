//! Hardening (issue 10, sections 1, 2 and 4) through the real engine:
//! nesting refused at validation, host-side evaluation bounded in size,
//! time, stop and memory, retry waits capped, guest text capped, loading
//! bounded by wall clock, a full instance pool reported as capacity, and
//! credentials that do not follow a redirect off their origin.

use axum::Router;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weft_host::credentials::{Credential, Secret, StaticCredential};
use weft_host::{InvokeContext, InvokeError, Limits, RunLimits, RunStatus, Runtime, Trigger, Weft};
use weft_tests::{cache_dir, serve_on_loopback};

fn runtime() -> Runtime {
    Runtime::builder()
        .cache_dir(cache_dir())
        .max_concurrent_instances(16)
        .build()
        .expect("runtime")
}

async fn weft(dir: &std::path::Path, limits: RunLimits) -> Weft {
    let mut b = Weft::builder()
        .runtime(runtime())
        .sled(dir.join("history"))
        .run_limits(limits);
    for (_, bytes) in weft_components::standard() {
        b = b.component(bytes);
    }
    b.component(weft_components::HOSTILE)
        .build()
        .await
        .expect("weft")
}

fn doc(blocks: Value, edges: Value) -> Value {
    json!({"weft": "automation/v1", "id": "t", "name": "T", "variables": {"acc": []},
           "blocks": blocks, "edges": edges})
}

fn trigger() -> Trigger {
    Trigger::custom("test")
}

/// `{json: {json: … $.Start.s …}}`, `depth` formulas deep.
fn nested_json(depth: usize) -> String {
    format!("{}$.Start.s{}", "{json: ".repeat(depth), "}".repeat(depth))
}

/// A start block and `depth` conditions, each in the previous one's true branch.
fn nested_conditions(depth: usize) -> Value {
    let mut blocks = vec![json!({"id": "Start", "type": "start"})];
    let mut edges = Vec::new();
    let mut parent = "Start".to_string();
    for i in 0..depth {
        let id = format!("C{i}");
        blocks.push(json!({"id": id, "type": "condition",
            "condition": {"mode": "all", "clauses": [{"left": 1, "op": "=", "right": 1}]}}));
        let branch = if i == 0 { "next" } else { "true" };
        edges.push(json!({"from": parent, "to": id, "branch": branch}));
        parent = id;
    }
    doc(Value::Array(blocks), Value::Array(edges))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nesting_past_the_limits_is_refused_naming_block_and_field() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft(dir.path(), RunLimits::default()).await;

    // A formula nested 5,000 deep: refused, not a stack overflow.
    let d = doc(
        json!([{"id": "Start", "type": "start"},
               {"id": "Out", "type": "output", "mode": "set", "value": nested_json(5000)}]),
        json!([{"from": "Start", "to": "Out"}]),
    );
    let errors = weft.validate(&d).expect_err("too deep").0;
    assert_eq!(errors[0].block.as_deref(), Some("Out"), "{errors:?}");
    assert_eq!(errors[0].field, "value");
    assert!(
        errors[0].message.contains("max_formula_depth"),
        "{errors:?}"
    );
    // 32 levels are fine.
    assert!(
        weft.validate(
            &d.to_string()
                .replace(&nested_json(5000), &nested_json(32))
                .parse::<Value>()
                .expect("json")
        )
        .is_ok()
    );

    // 5,000 and 300 nested conditions: refused, naming the first block too deep.
    for depth in [5000, 300, 34] {
        let errors = weft
            .validate(&nested_conditions(depth))
            .expect_err("too deep")
            .0;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].block.as_deref(), Some("C33"), "{errors:?}");
        assert!(errors[0].message.contains("max_block_depth"), "{errors:?}");
    }
    let plan = weft
        .validate(&nested_conditions(33))
        .expect("33 levels: the limit");
    let run = weft.run(&plan, json!({}), trigger()).await.expect("run");
    assert_eq!(run.record.status, RunStatus::Finished, "{:?}", run.record);

    // A literal input nested past max_json_depth (and within the
    // document-wide bound a few levels above it).
    let mut deep = json!(1);
    for _ in 0..66 {
        deep = json!([deep]);
    }
    let d = doc(
        json!([{"id": "Start", "type": "start"},
               {"id": "Out", "type": "output", "mode": "set", "value": {"x": deep}}]),
        json!([{"from": "Start", "to": "Out"}]),
    );
    let errors = weft.validate(&d).expect_err("too deep").0;
    assert!(
        errors
            .iter()
            .any(|e| e.block.as_deref() == Some("Out") && e.message.contains("max_json_depth")),
        "{errors:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doubling_formulas_fail_fast_with_the_value_limit() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft(dir.path(), RunLimits::default()).await;
    let d = doc(
        json!([{"id": "Start", "type": "start"},
               {"id": "Grow", "type": "output", "mode": "set", "value": nested_json(32)}]),
        json!([{"from": "Start", "to": "Grow"}]),
    );
    let plan = weft.validate(&d).expect("valid");
    let started = Instant::now();
    let run = weft
        .run(&plan, json!({"s": "\"quoted\" ".repeat(100)}), trigger())
        .await
        .expect("run");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(run.record.status, RunStatus::Failed);
    let error = run.record.error.expect("error");
    assert!(
        error.contains("\"Grow\"") && error.contains("value:") && error.contains("max_value_bytes"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_interrupts_a_long_host_side_loop() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft(dir.path(), RunLimits::default()).await;
    let d = doc(
        json!([{"id": "Start", "type": "start"},
               {"id": "Each", "type": "loop", "over": "{split: $.Start.s, ''}"},
               {"id": "Work", "type": "variable", "variable": "acc", "action": "set",
                "value": "{json: {json: {json: $.Start.blob}}}"}]),
        json!([{"from": "Start", "to": "Each"}, {"from": "Each", "to": "Work", "branch": "body"}]),
    );
    let plan = Arc::new(weft.validate(&d).expect("valid"));
    let input = json!({"s": "a".repeat(200_000), "blob": "\"x\" ".repeat(5_000)});
    let handle = weft.start(plan, input, trigger());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let asked = Instant::now();
    handle.stop();
    let run = handle.wait().await.expect("run");
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(
        run.record.status,
        RunStatus::Stopped,
        "{:?}",
        run.record.error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_past_its_memory_budget_fails_clearly() {
    let dir = tempfile::tempdir().expect("tmp");
    let limits = RunLimits {
        max_run_memory_bytes: 1 << 20,
        ..RunLimits::default()
    };
    let weft = weft(dir.path(), limits).await;
    let d = doc(
        json!([{"id": "Start", "type": "start"},
               {"id": "Each", "type": "loop", "over": "{$.Start.items}"},
               {"id": "Keep", "type": "variable", "variable": "acc", "action": "append",
                "value": "{$.Start.blob}"}]),
        json!([{"from": "Start", "to": "Each"}, {"from": "Each", "to": "Keep", "branch": "body"}]),
    );
    let plan = weft.validate(&d).expect("valid");
    let items: Vec<u32> = (0..500).collect();
    let run = weft
        .run(
            &plan,
            json!({"items": items, "blob": "b".repeat(10_000)}),
            trigger(),
        )
        .await
        .expect("run");
    assert_eq!(run.record.status, RunStatus::Failed);
    let error = run.record.error.expect("error");
    assert!(
        error.contains("max_run_memory_bytes") && error.contains("Keep"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_retry_after_fails_the_block_instead_of_waiting() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft(dir.path(), RunLimits::default()).await;
    let d = doc(
        json!([{"id": "Start", "type": "start"},
               {"id": "Busy", "type": "connector", "connector": "hostile", "block": "loud",
                "inputs": {"bytes": 1, "retry_after_secs": 86_400},
                "retry": {"max_attempts": 3}}]),
        json!([{"from": "Start", "to": "Busy"}]),
    );
    let plan = weft.validate(&d).expect("valid");
    let started = Instant::now();
    let run = weft.run(&plan, json!({}), trigger()).await.expect("run");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(run.record.status, RunStatus::Failed);
    let error = run.record.error.expect("error");
    assert!(
        error.contains("max_retry_wait") && error.contains("86400 s"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_error_text_and_logs_are_cut_with_a_note() {
    let rt = runtime();
    let c = rt.load(weft_components::HOSTILE).await.expect("hostile");
    let report = c
        .invoke(
            "loud",
            &json!({"bytes": 1_000_000}),
            &InvokeContext::default(),
        )
        .await;
    let Err(InvokeError::Block { failure, .. }) = &report.output else {
        panic!("a block error: {:?}", report.output)
    };
    assert!(failure.message.len() < 8300, "{}", failure.message.len());
    assert!(
        failure
            .message
            .contains("more bytes cut; the limit is 8192 bytes")
    );
    let details = failure
        .details
        .as_ref()
        .and_then(Value::as_str)
        .expect("details as text");
    assert!(details.len() < 66_000 && details.contains("the limit is 65536 bytes"));
    let line = &report.logs[0].message;
    assert!(
        line.len() < 8300 && line.contains("more bytes cut"),
        "{}",
        line.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_describe_that_waits_in_a_host_call_fails_at_the_load_wall_clock() {
    let rt = Runtime::builder()
        .cache_dir(cache_dir())
        .load_wall_clock(Duration::from_secs(1))
        .build()
        .expect("runtime");
    let started = Instant::now();
    let err = match rt.load(weft_components::SLOW_DESCRIBE).await {
        Ok(_) => panic!("loaded a component that sleeps an hour in describe()"),
        Err(e) => e.to_string(),
    };
    // Compilation is not counted; the guest's part is.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.contains("load_wall_clock") && err.contains("1000 ms"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pool_queues_within_the_deadline_then_reports_capacity() {
    let rt = Runtime::builder()
        .cache_dir(cache_dir())
        .max_concurrent_instances(2)
        .build()
        .expect("runtime");
    let c = rt
        .load(weft_components::HOSTILE)
        .await
        .expect("hostile")
        // Fuel enough to spin past the wall clock: the slots stay held
        // for the whole 1.5 s.
        .with_limits(
            Limits::default()
                .wall_clock(Duration::from_millis(1500))
                .fuel(1_000_000_000_000),
        );
    let (nothing, plain) = (json!({}), InvokeContext::default());
    let spin = || c.invoke("spin", &nothing, &plain);
    // The late callers come once the two spins surely hold both slots
    // (a loaded machine may take a while to start them), well before
    // the spins' 1.5 s are up.
    let after_the_spins_started = Duration::from_millis(500);
    let (a, b, late, queued) = tokio::join!(
        spin(),
        spin(),
        async {
            tokio::time::sleep(after_the_spins_started).await;
            let short = InvokeContext {
                deadline: Some(Instant::now() + Duration::from_millis(300)),
                ..InvokeContext::default()
            };
            c.invoke("spin", &json!({}), &short).await
        },
        async {
            tokio::time::sleep(after_the_spins_started).await;
            let patient = InvokeContext {
                deadline: Some(Instant::now() + Duration::from_secs(20)),
                ..InvokeContext::default()
            };
            c.invoke("spin", &json!({}), &patient).await
        },
    );
    for r in [&a, &b] {
        assert!(
            matches!(r.output, Err(InvokeError::Limit { .. })),
            "{:?}",
            r.output
        );
    }
    let Err(InvokeError::Capacity { message, .. }) = &late.output else {
        panic!("capacity, not a crash: {:?}", late.output)
    };
    assert!(message.contains("max_concurrent_instances"), "{message}");
    // The patient one waited for a slot and then ran into its own limit.
    assert!(
        matches!(queued.output, Err(InvokeError::Limit { .. })),
        "{:?}",
        queued.output
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_credentials_do_not_follow_a_redirect_off_the_origin() {
    // `other` records what reaches it; `api` redirects there copying the
    // query, as `$request_uri` redirects do.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen2 = seen.clone();
    let other = Router::new().route(
        "/landing",
        get(move |headers: HeaderMap, RawQuery(q): RawQuery| {
            let seen = seen2.clone();
            async move {
                let mut all = format!("{:?} {:?}", q, headers);
                all.push('\n');
                seen.lock().expect("lock").push(all);
                "ok"
            }
        }),
    );
    let (other_addr, _stop_other) = serve_on_loopback(other).await;
    let api = Router::new().route(
        "/hop",
        get(move |RawQuery(q): RawQuery| async move {
            let to = format!("http://{other_addr}/landing?{}", q.unwrap_or_default());
            (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
        }),
    );
    let (api_addr, _stop_api) = serve_on_loopback(api).await;
    let rt = runtime();
    let c = rt
        .load(weft_components::HTTP)
        .await
        .expect("http")
        .with_grant(&[format!("http://{api_addr}"), format!("http://{other_addr}")])
        .expect("grant");
    let secret = "S3cr3t-value-42";
    let kinds = [
        Credential::ApiKeyQuery {
            name: "api_key".into(),
            value: Secret::new(secret),
        },
        Credential::ApiKeyHeader {
            name: "X-Api-Key".into(),
            value: Secret::new(secret),
        },
        Credential::Bearer(Secret::new(secret)),
        Credential::Basic {
            username: "ada".into(),
            password: Secret::new(secret),
        },
    ];
    for kind in kinds {
        seen.lock().expect("lock").clear();
        let ctx = InvokeContext {
            credentials: Some(StaticCredential::new(kind.clone())),
            ..InvokeContext::default()
        };
        let report = c
            .invoke(
                "request",
                &json!({"url": format!("http://{api_addr}/hop?keep=1")}),
                &ctx,
            )
            .await;
        assert!(report.output.is_ok(), "{kind:?}: {:?}", report.output);
        let seen = seen.lock().expect("lock").join("");
        assert!(
            seen.contains("keep=1"),
            "{kind:?}: the redirect was followed: {seen}"
        );
        let basic = "YWRhOlMzY3IzdC12YWx1ZS00Mg"; // base64("ada:S3cr3t-value-42")
        assert!(
            !seen.contains(secret) && !seen.contains(basic) && !seen.contains("api_key"),
            "{kind:?}: the credential left its origin: {seen}"
        );
    }
}

/// A range whose bounds come from data, or a `loop-while` asking for a
/// huge cap, cannot keep the host busy until the deadline: both fail as
/// blocks at `max_loop_iterations`, naming the field and the limit; a
/// range within the limit runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loops_are_bounded_by_max_loop_iterations() {
    let dir = tempfile::tempdir().expect("tmp");
    let limits = RunLimits {
        max_loop_iterations: 5,
        ..RunLimits::default()
    };
    let weft = weft(dir.path(), limits).await;
    let range = |to: &str| {
        doc(
            json!([
                {"id": "Start", "type": "start"},
                {"id": "Count", "type": "loop-range", "from": 1, "to": to},
                {"id": "Add", "type": "output", "mode": "add", "value": "n{item}"}
            ]),
            json!([
                {"from": "Start", "to": "Count"},
                {"from": "Count", "to": "Add", "branch": "body"}
            ]),
        )
    };
    let run = |document: Value, input: Value| {
        let weft = weft.clone();
        async move {
            let plan = weft.validate(&document).unwrap_or_else(|e| panic!("{e}"));
            weft.run(&plan, input, trigger()).await.expect("run")
        }
    };
    let r = run(range("{$.Start.to}"), json!({"to": 5})).await;
    assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
    assert_eq!(r.record.output, json!(["n1", "n2", "n3", "n4", "n5"]));

    let r = run(range("{$.Start.to}"), json!({"to": 9_000_000_000_000_i64})).await;
    assert_eq!(r.record.status, RunStatus::Failed);
    let error = r.record.error.unwrap_or_default();
    assert!(
        error.contains("Count")
            && error.contains("from 1 to 9000000000000 by 1 is 9000000000000 iterations")
            && error.contains("limit of 5 (max_loop_iterations)"),
        "{error}"
    );
    assert!(
        !r.steps.iter().any(|s| s.block_id == "Add"),
        "no iteration ran"
    );

    let polling = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Poll", "type": "loop-while", "mode": "while", "max_iterations": 6,
             "condition": {"clauses": [{"left": "{$.Poll.index}", "op": "<", "right": 3}]}},
            {"id": "Add", "type": "output", "mode": "add", "value": "{$.Poll.index}"}
        ]),
        json!([
            {"from": "Start", "to": "Poll"},
            {"from": "Poll", "to": "Add", "branch": "body"}
        ]),
    );
    let r = run(polling, json!({})).await;
    assert_eq!(r.record.status, RunStatus::Failed);
    let error = r.record.error.unwrap_or_default();
    assert!(
        error.contains("max_iterations: 6 is more than the limit of 5 (max_loop_iterations)"),
        "{error}"
    );
}
