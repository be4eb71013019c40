//! Contract versioning and loading: one test component per supported
//! contract version, both versions in one automation, the 0.2.0
//! idempotency key as a service receives it, clear refusals for anything
//! else, and the on-disk compilation cache.

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use weft_host::{InvokeContext, LoadError, RunStatus, Runtime, Trigger, Weft};
use weft_tests::{FakeApi, cache_dir};

fn runtime_with_cache(dir: &std::path::Path) -> Runtime {
    Runtime::builder()
        .cache_dir(dir)
        .max_concurrent_instances(8)
        .build()
        .expect("runtime")
}

/// Contract 0.1.0: the `echo` component is generated from exactly that
/// frozen snapshot of the WIT (`wit_bindgen::generate!` on `wit/v0.1.0`, not
/// the SDK, which has moved on to 0.2.0).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_0_1_0_component_loads_and_runs() {
    let rt = runtime_with_cache(&cache_dir());
    let echo = rt.load(weft_components::ECHO).await.expect("load echo");
    assert_eq!(echo.contract_version(), "0.1.0");
    let m = echo.manifest();
    assert_eq!((m.id.as_str(), m.contract.as_str()), ("echo", "0.1.0"));
    assert_eq!(
        m.blocks.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
        ["echo", "log", "fail"]
    );
    // Schemas are derived from the Rust types (schemars).
    let schema = &m.block("echo").expect("echo block").input_schema;
    assert_eq!(schema["required"], json!(["value"]));

    let ctx = InvokeContext {
        step_id: "step-7".into(),
        ..InvokeContext::default()
    };
    let out = echo
        .invoke("echo", &json!({"value": {"a": [1, "b"]}}), &ctx)
        .await
        .output
        .expect("echo");
    assert_eq!(out, json!({"value": {"a": [1, "b"]}, "step_id": "step-7"}));

    let report = echo
        .invoke("log", &json!({"lines": ["one", "two"]}), &ctx)
        .await;
    assert_eq!(report.output.expect("log")["logged"], 2);
    let lines: Vec<_> = report.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(lines, ["one", "two"]);
}

/// Contract 0.2.0: every component built with the SDK targets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_components_target_contract_0_2_0() {
    let rt = runtime_with_cache(&cache_dir());
    for (bytes, id) in [
        (weft_components::HTTP, "http"),
        (weft_components::TEXT, "text"),
    ] {
        let c = rt.load(bytes).await.expect("load");
        assert_eq!(c.contract_version(), "0.2.0", "{id}");
        let m = c.manifest();
        assert_eq!((m.id.as_str(), m.contract.as_str()), (id, "0.2.0"));
    }
    // And it runs: the context, including the new field, crosses the
    // boundary (the key is empty outside a run, so no header is sent; the
    // engine tests below give it one).
    let text = rt.load(weft_components::TEXT).await.expect("load text");
    let out = text
        .invoke(
            "split",
            &json!({"text": "a,b", "separator": ","}),
            &InvokeContext {
                idempotency_key: "weft-test".into(),
                ..InvokeContext::default()
            },
        )
        .await
        .output
        .expect("split");
    assert_eq!(out["parts"], json!(["a", "b"]));
}

async fn weft_with_http_granted(dir: &std::path::Path, grant: &str) -> Weft {
    let runtime = Runtime::builder()
        .cache_dir(cache_dir())
        .max_concurrent_instances(8)
        .build()
        .expect("runtime");
    let mut b = Weft::builder().runtime(runtime).sled(dir.join("history"));
    for (_, bytes) in weft_components::standard() {
        b = b.component(bytes);
    }
    b.component(weft_components::ECHO)
        .grant("http", &[grant.to_string()])
        .build()
        .await
        .expect("weft")
}

async fn run(weft: &Weft, document: Value, input: Value) -> weft_host::RunResult {
    let plan = weft.validate(&document).unwrap_or_else(|e| panic!("{e}"));
    let trigger = Trigger::custom("test");
    weft.run(&plan, input, trigger).await.expect("run")
}

/// Issue 11: a 0.1.0 component keeps running beside 0.2.0 ones, in the
/// same automation, through the real engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_automation_runs_a_0_1_0_and_a_0_2_0_component() {
    let dir = tempfile::tempdir().expect("tmp");
    let api = FakeApi::start().await;
    let weft = weft_with_http_granted(dir.path(), &api.base()).await;
    let set = weft.connectors();
    let contract = |id: &str| {
        set.versions(id)
            .next_back()
            .map(|c| c.contract_version())
            .unwrap_or_else(|| panic!("{id} installed"))
    };
    assert_eq!(contract("echo"), "0.1.0");
    assert_eq!(contract("text"), "0.2.0");
    assert_eq!(contract("http"), "0.2.0");

    let document = json!({
        "weft": "automation/v1", "id": "mixed", "name": "Mixed contracts",
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Echo", "type": "connector", "connector": "echo", "block": "echo",
             "inputs": {"value": "{$.Start.csv}"}},
            {"id": "Split", "type": "connector", "connector": "text", "block": "split",
             "inputs": {"text": "{$.Echo.value}", "separator": ","}},
            {"id": "Call", "type": "connector", "connector": "http", "block": "request",
             "inputs": {"method": "POST", "url": "{$.Start.url}", "json": {"parts": "{$.Split.parts}", "from": "{$.Echo.step_id}"},
                        "idempotency": true}},
            {"id": "Out", "type": "output", "mode": "set",
             "value": {"parts": "{$.Split.parts}", "echoed_step": "{$.Echo.step_id}",
                       "sent": "{$.Call.body.body}", "key": "{$.Call.body.headers.idempotency-key}"}}
        ],
        "edges": [
            {"from": "Start", "to": "Echo"}, {"from": "Echo", "to": "Split"},
            {"from": "Split", "to": "Call"}, {"from": "Call", "to": "Out"}
        ]
    });
    let r = run(
        &weft,
        document,
        json!({"csv": "a,b,c", "url": api.url("/echo")}),
    )
    .await;
    assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
    let out = &r.record.output;
    assert_eq!(out["parts"], json!(["a", "b", "c"]));
    // The 0.1.0 block got its context (its step id) and its output fed the
    // 0.2.0 blocks after it.
    assert_eq!(out["echoed_step"], json!("Echo"));
    assert_eq!(
        out["sent"],
        json!({"parts": ["a", "b", "c"], "from": "Echo"})
    );
    assert_eq!(
        out["key"],
        json!(walker_key(&r.record.id, "Call", &[], 1)),
        "{out}"
    );
}

/// The walker's formula, written out independently: `weft-` and the hex
/// SHA-256 of a domain tag, the length-prefixed run and block ids, the
/// count-prefixed loop indexes and the attempt, all big-endian. Spelled
/// out here on purpose: a run started by one host version may be resumed
/// by the next, which must send the same key.
fn walker_key(run_id: &str, block_id: &str, iteration: &[u64], attempt: u32) -> String {
    let mut h = Sha256::new();
    h.update(b"weft idempotency-key v1\0");
    for text in [run_id, block_id] {
        h.update((text.len() as u64).to_be_bytes());
        h.update(text.as_bytes());
    }
    h.update((iteration.len() as u64).to_be_bytes());
    for i in iteration {
        h.update(i.to_be_bytes());
    }
    h.update(attempt.to_be_bytes());
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("weft-{hex}")
}

/// (path, `Idempotency-Key`) of every request a test server received.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// The `http` connector, asked to, sends the invocation's idempotency key
/// to a real server: the walker's key for that run, block, loop iteration
/// and attempt — a retry gets a new one, so does the next iteration —
/// and never over a header the automation set, nor unasked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_connector_sends_the_walkers_idempotency_key() {
    // (path, Idempotency-Key) of every request, in order; the first
    // request to /charge is answered 503 so the walker retries it.
    let seen: Seen = Arc::default();
    let record = |path: &'static str, seen: Seen| {
        move |headers: HeaderMap| {
            let seen = seen.clone();
            async move {
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let mut seen = seen.lock().expect("lock");
                let first = !seen.iter().any(|(p, _)| p == path);
                seen.push((path.to_string(), key));
                if path == "/charge" && first {
                    (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response()
                } else {
                    axum::Json(json!({"ok": true})).into_response()
                }
            }
        }
    };
    let api = FakeApi::start_with(
        Router::new()
            .route("/charge", post(record("/charge", seen.clone())))
            .route("/plain", post(record("/plain", seen.clone())))
            .route("/own", post(record("/own", seen.clone()))),
    )
    .await;
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with_http_granted(dir.path(), &api.base()).await;
    let call = |id: &str, path: &str, extra: Value| {
        let mut inputs = json!({"method": "POST", "url": api.url(path), "json": {"n": 1}});
        if let (Some(inputs), Value::Object(extra)) = (inputs.as_object_mut(), extra) {
            inputs.extend(extra);
        }
        json!({"id": id, "type": "connector", "connector": "http", "block": "request",
               "inputs": inputs, "retry": {"max_attempts": 2, "backoff_ms": 10}})
    };
    let document = json!({
        "weft": "automation/v1", "id": "keys", "name": "Idempotency keys",
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Each", "type": "loop", "over": "{$.Start.items}"},
            call("Charge", "/charge", json!({"idempotency": true})),
            call("Plain", "/plain", json!({})),
            call("Own", "/own", json!({"idempotency": true, "headers": {"Idempotency-Key": "mine"}}))
        ],
        "edges": [
            {"from": "Start", "to": "Each"},
            {"from": "Each", "to": "Charge", "branch": "body"},
            {"from": "Each", "to": "Plain"},
            {"from": "Plain", "to": "Own"}
        ]
    });
    let r = run(&weft, document, json!({"items": ["x", "y"]})).await;
    assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
    let run_id = r.record.id.as_str();
    let seen = seen.lock().expect("lock").clone();
    let key = |run: &str, block: &str, iteration: &[u64], attempt: u32| {
        Some(walker_key(run, block, iteration, attempt))
    };
    assert_eq!(
        seen,
        [
            // Iteration 0: refused once, retried with attempt 2's key.
            ("/charge".to_string(), key(run_id, "Charge", &[0], 1)),
            ("/charge".to_string(), key(run_id, "Charge", &[0], 2)),
            ("/charge".to_string(), key(run_id, "Charge", &[1], 1)),
            ("/plain".to_string(), None),
            ("/own".to_string(), Some("mine".to_string())),
        ]
    );
    let charged: Vec<_> = seen[..3].iter().map(|(_, k)| k.clone()).collect();
    assert!(
        charged[0] != charged[1] && charged[1] != charged[2] && charged[0] != charged[2],
        "{charged:?}"
    );

    two_runs_get_keys_of_their_own(&weft, run_id, &api).await;
}

/// A second run of an automation gets keys of its own: the run id is part
/// of the key, so two runs never deduplicate each other.
async fn two_runs_get_keys_of_their_own(weft: &Weft, first_run: &str, api: &FakeApi) {
    let document = json!({
        "weft": "automation/v1", "id": "again", "name": "Again",
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Call", "type": "connector", "connector": "http", "block": "request",
             "inputs": {"method": "POST", "url": api.url("/echo"), "idempotency": true}},
            {"id": "Out", "type": "output", "mode": "set", "value": "{$.Call.body.headers.idempotency-key}"}
        ],
        "edges": [{"from": "Start", "to": "Call"}, {"from": "Call", "to": "Out"}]
    });
    let a = run(weft, document.clone(), json!({})).await;
    let b = run(weft, document, json!({})).await;
    assert_ne!(a.record.id, b.record.id);
    assert_ne!(a.record.id, first_run);
    assert_eq!(
        a.record.output,
        json!(walker_key(&a.record.id, "Call", &[], 1))
    );
    assert_eq!(
        b.record.output,
        json!(walker_key(&b.record.id, "Call", &[], 1))
    );
    assert_ne!(a.record.output, b.record.output);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_block_error_kind_crosses_the_boundary() {
    let rt = runtime_with_cache(&cache_dir());
    let echo = rt.load(weft_components::ECHO).await.expect("load echo");
    for (kind, retryable) in [
        ("invalid-input", false),
        ("unauthorized", false),
        ("not-found", false),
        ("rate-limited", true),
        ("transient", true),
        ("fatal", false),
    ] {
        let err = echo
            .invoke("fail", &json!({ "kind": kind }), &InvokeContext::default())
            .await
            .output
            .expect_err("fail block fails");
        let weft_host::InvokeError::Block { failure, block, .. } = &err else {
            panic!("expected a block error, got {err:?}");
        };
        assert_eq!(block, "fail");
        assert_eq!(
            serde_json::to_value(failure.kind).expect("kind"),
            json!(kind)
        );
        assert_eq!(err.is_retryable(), retryable, "{kind}");
        assert!(failure.message.contains(kind));
    }
    let err = echo
        .invoke(
            "fail",
            &json!({ "kind": "rate-limited" }),
            &InvokeContext::default(),
        )
        .await
        .output
        .expect_err("rate limited");
    assert_eq!(
        err.retry_after(),
        Some(std::time::Duration::from_millis(1500))
    );
    // Input that does not match the block's type is an invalid-input error
    // produced by the SDK, naming the problem.
    let err = echo
        .invoke("fail", &json!({ "kind": 5 }), &InvokeContext::default())
        .await
        .output
        .expect_err("bad input");
    assert!(
        err.to_string().contains("InvalidInput") && err.to_string().contains("kind"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_of_other_contracts_are_refused_with_the_supported_list() {
    let rt = runtime_with_cache(&cache_dir());
    let empty = wat::parse_str("(component)").expect("wat");
    match rt.load(&empty).await {
        Err(LoadError::UnsupportedContract { found, supported }) => {
            assert_eq!(found, None);
            assert_eq!(supported, ["0.2.0", "0.1.0"]);
        }
        Err(other) => panic!("expected unsupported contract, got {other}"),
        Ok(_) => panic!("an empty component must not load"),
    }

    let future = wat::parse_str(
        r#"(component
            (core module $m (func (export "f")))
            (core instance $i (instantiate $m))
            (func $f (canon lift (core func $i "f")))
            (instance $inst (export "describe" (func $f)))
            (export "weft:connector/connector@0.9.0" (instance $inst)))"#,
    )
    .expect("wat");
    let err = rt
        .load(&future)
        .await
        .err()
        .expect("0.9.0 is not supported");
    let text = err.to_string();
    assert!(
        text.contains("weft:connector/connector@0.9.0")
            && text.contains("0.2.0")
            && text.contains("0.1.0"),
        "{text}"
    );

    let err = rt.load(b"not wasm at all").await.err().expect("garbage");
    assert!(matches!(err, LoadError::Compile(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiled_components_are_cached_on_disk_and_survive_corruption() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime_with_cache(dir.path());
    let echo = rt
        .load(weft_components::ECHO)
        .await
        .expect("first load compiles");
    let cached = dir.path().join(format!("{}.cwasm", echo.component_hash()));
    assert!(cached.exists(), "no cache file at {}", cached.display());
    let first = std::fs::metadata(&cached)
        .expect("meta")
        .modified()
        .expect("mtime");

    // A second runtime with the same settings loads from the cache: the
    // file is not rewritten.
    let rt2 = runtime_with_cache(dir.path());
    let echo2 = rt2.load(weft_components::ECHO).await.expect("cached load");
    assert_eq!(echo2.component_hash(), echo.component_hash());
    assert_eq!(
        std::fs::metadata(&cached)
            .expect("meta")
            .modified()
            .expect("mtime"),
        first
    );
    assert!(
        echo2
            .invoke("echo", &json!({"value": 1}), &InvokeContext::default())
            .await
            .output
            .is_ok()
    );

    // Different engine settings (no fuel) → a different key, never a stale artifact.
    let rt3 = Runtime::builder()
        .cache_dir(dir.path())
        .fuel_metering(false)
        .build()
        .expect("rt");
    let echo3 = rt3.load(weft_components::ECHO).await.expect("load");
    assert_ne!(echo3.component_hash(), echo.component_hash());

    // A corrupt cache file is discarded and recompiled.
    std::fs::write(&cached, b"garbage").expect("corrupt");
    let rt4 = runtime_with_cache(dir.path());
    let echo4 = rt4.load(weft_components::ECHO).await.expect("recompiles");
    assert!(
        echo4
            .invoke("echo", &json!({"value": 2}), &InvokeContext::default())
            .await
            .output
            .is_ok()
    );
    assert!(std::fs::metadata(&cached).expect("meta").len() > 1000);
}
