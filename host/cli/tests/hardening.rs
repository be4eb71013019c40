//! Hardening through a real `weft serve`: documents nested past the limits
//! are refused with 422 and the server stays up; a run in progress while
//! the server is stopped in order resumes, and one in progress at as many
//! kills as `--max-run-interruptions` allows is failed at the next start —
//! it cannot keep taking the server down.

mod common;

use axum::response::IntoResponse as _;
use common::{ADMIN, Api, start_server_with, wait_for_end};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn with_blocks(id: &str, blocks: Vec<Value>, edges: Vec<Value>) -> Value {
    json!({"weft": "automation/v1", "id": id, "name": id, "blocks": blocks, "edges": edges})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_documents_are_refused_and_the_server_stays_up() {
    let server = start_server_with(tempfile::tempdir().expect("tempdir"), &[]);
    let api = Api::new(&server);

    let formula = format!("{}$.Start.x{}", "{json: ".repeat(5000), "}".repeat(5000));
    let d = with_blocks(
        "deep-formula",
        vec![
            json!({"id": "Start", "type": "start"}),
            json!({"id": "Out", "type": "output", "mode": "set", "value": formula}),
        ],
        vec![json!({"from": "Start", "to": "Out"})],
    );
    let (s, body) = api
        .call("POST", "/api/v1/automations", Some(ADMIN), Some(d))
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["error"]["code"], "invalid_automation", "{body}");
    let text = body.to_string();
    assert!(
        text.contains("Out") && text.contains("max_formula_depth"),
        "{text}"
    );

    let mut blocks = vec![json!({"id": "Start", "type": "start"})];
    let mut edges = Vec::new();
    let mut parent = "Start".to_string();
    for i in 0..5000 {
        let id = format!("C{i}");
        blocks.push(json!({"id": id, "type": "condition",
            "condition": {"mode": "all", "clauses": [{"left": 1, "op": "=", "right": 1}]}}));
        let branch = if i == 0 { "next" } else { "true" };
        edges.push(json!({"from": parent, "to": id, "branch": branch}));
        parent = id;
    }
    let (s, body) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(ADMIN),
            Some(with_blocks("deep-blocks", blocks, edges)),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    let text = body.to_string();
    assert!(
        text.contains("C33") && text.contains("max_block_depth"),
        "{text}"
    );

    let (s, _) = api.call("GET", "/healthz", None, None).await;
    assert_eq!(s, 200, "the server is still up");
}

/// A server on 127.0.0.1 that accepts connections and never answers;
/// counts them.
fn silent_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (port, accepted)
}

async fn wait_for_connections(accepted: &AtomicUsize, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while accepted.load(Ordering::SeqCst) < n {
        assert!(
            Instant::now() < deadline,
            "the run never reached the slow server ({n})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_resumes_after_an_orderly_stop_and_is_failed_after_a_crash() {
    let (port, accepted) = silent_server();
    let grant = format!("http://127.0.0.1:{port}");
    // One crash is the most this operator forgives (the default is 2).
    let start =
        |data| start_server_with(data, &["--allow", &grant, "--max-run-interruptions", "1"]);
    let mut server = start(tempfile::tempdir().expect("tempdir"));
    let api = Api::new(&server);
    let d = with_blocks(
        "waits",
        vec![
            json!({"id": "Start", "type": "start"}),
            json!({"id": "Call", "type": "connector", "connector": "http", "block": "request",
                   "inputs": {"url": format!("http://127.0.0.1:{port}/slow")}}),
        ],
        vec![json!({"from": "Start", "to": "Call"})],
    );
    let (s, a) = api
        .call("POST", "/api/v1/automations", Some(ADMIN), Some(d))
        .await;
    assert_eq!(s, 201, "{a}");
    let hook = a["webhook_path"]
        .as_str()
        .expect("webhook path")
        .to_string();
    let resp = api.hook(&hook, json!({})).await;
    assert_eq!(resp.status().as_u16(), 202);
    let run_id = resp.json::<Value>().await.expect("json")["run_id"]
        .as_str()
        .expect("run id")
        .to_string();

    // An orderly stop (SIGTERM) while the run waits: not the run's fault,
    // it resumes at the next start (and reaches the slow server again).
    wait_for_connections(&accepted, 1).await;
    let said = server.stop();
    assert!(said.contains("1 run(s) in progress will resume"), "{said}");
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().expect("tempdir"));
    drop(server);
    server = start(data);
    wait_for_connections(&accepted, 2).await;

    // Killed while the run waits: it may have been the cause, so it is
    // failed at the next start, not started again.
    let _ = server.child.kill();
    let _ = server.child.wait();
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().expect("tempdir"));
    drop(server);
    let server = start(data);
    let api = Api::new(&server);
    let run = wait_for_end(&api, ADMIN, &run_id).await;
    assert_eq!(run["run"]["status"], "failed", "{run}");
    assert!(
        run["run"]["error"].as_str().is_some_and(|e| e.starts_with(
            "the server stopped without shutting down in order once while this run was in progress"
        )),
        "{run}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        2,
        "not started a third time"
    );
}

#[test]
fn guest_text_reaches_the_terminal_escaped() {
    let cache = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weft"))
        .args([
            "connector",
            "invoke",
            "hostile",
            "loud",
            "--input",
            r#"{"bytes": 20000}"#,
        ])
        .env("WEFT_CACHE_DIR", cache.path())
        .output()
        .expect("run weft");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The block's error and its log line, with their escape sequences and
    // carriage return shown as text, and cut at 8 KiB.
    assert!(
        stderr.contains(r"\u{1b}[2J\u{1b}]0;pwned\u{7}\rFAKE"),
        "{stderr}"
    );
    assert!(stderr.contains("more bytes cut"), "{stderr}");
    assert!(
        !out.stderr.iter().any(|b| matches!(b, 0x1b | b'\r' | 0x07)),
        "raw control bytes reached the terminal: {stderr}"
    );
    assert!(stderr.len() < 40_000, "{}", stderr.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_sets_the_host_side_run_limits_in_the_config_file() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = data.path().join("weft.toml");
    std::fs::write(
        &config,
        "[run_limits]\nmax_value_bytes = 1000\nnesting = { max_formula_depth = 2 }\n\
         [sandbox]\nguest_text = { max_error_message_bytes = 16 }\n",
    )
    .expect("write config");
    let server = start_server_with(data, &["--config", config.to_str().unwrap_or_default()]);
    let api = Api::new(&server);

    // Three formulas deep: past this server's max_formula_depth of 2.
    let deep = with_blocks(
        "deep",
        vec![
            json!({"id": "Start", "type": "start"}),
            json!({"id": "Out", "type": "output", "mode": "set",
                   "value": {"v": "{json: {json: {json: $.Start.s}}}"}}),
        ],
        vec![json!({"from": "Start", "to": "Out"})],
    );
    let (s, body) = api
        .call("POST", "/api/v1/automations", Some(ADMIN), Some(deep))
        .await;
    assert_eq!(s, 422, "{body}");
    assert!(body.to_string().contains("max_formula_depth"), "{body}");

    // A value past this server's max_value_bytes of 1000 fails its block.
    let big = with_blocks(
        "big",
        vec![
            json!({"id": "Start", "type": "start"}),
            json!({"id": "Out", "type": "output", "mode": "set", "value": {"v": "{json: $.Start.s}"}}),
        ],
        vec![json!({"from": "Start", "to": "Out"})],
    );
    let (s, created) = api
        .call("POST", "/api/v1/automations", Some(ADMIN), Some(big))
        .await;
    assert_eq!(s, 201, "{created}");
    let token = created["execution_token"].as_str().expect("token");
    let run_id = api
        .execute_async("big", token, json!({"s": "x".repeat(2000)}))
        .await;
    let run = wait_for_end(&api, ADMIN, &run_id).await;
    assert_eq!(run["run"]["status"], "failed", "{run}");
    let error = run["run"]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("max_value_bytes") && error.contains("1000"),
        "{error}"
    );

    // A block's own error message is cut at [sandbox]'s 16 bytes.
    let divide = with_blocks(
        "divide",
        vec![
            json!({"id": "Start", "type": "start"}),
            json!({"id": "Div", "type": "connector", "connector": "math", "block": "calculate",
                   "inputs": {"operation": "divide", "a": 1, "b": 0}}),
        ],
        vec![json!({"from": "Start", "to": "Div"})],
    );
    let (s, created) = api
        .call("POST", "/api/v1/automations", Some(ADMIN), Some(divide))
        .await;
    assert_eq!(s, 201, "{created}");
    let token = created["execution_token"].as_str().expect("token");
    let run_id = api.execute_async("divide", token, json!({})).await;
    let run = wait_for_end(&api, ADMIN, &run_id).await;
    let error = run["run"]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("division by") && error.contains("the limit is 16 bytes"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_waiting_out_a_rate_limit_does_not_hold_the_servers_only_slot() {
    // The upstream asks the first request to come back in 2 s.
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().route(
        "/limited",
        axum::routing::get(move || {
            let counted = counted.clone();
            async move {
                if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                    (
                        axum::http::StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", "2")],
                        "slow down",
                    )
                        .into_response()
                } else {
                    axum::Json(json!({"ok": true})).into_response()
                }
            }
        }),
    );
    let (addr, _stop) = weft_tests::serve_on_loopback(app).await;
    let grant = format!("http://{addr}");
    let server = start_server_with(
        tempfile::tempdir().expect("tempdir"),
        &["--allow", &grant, "--global-concurrency", "1"],
    );
    let api = Api::new(&server);
    let limited = with_blocks(
        "limited",
        vec![
            json!({"id": "Start", "type": "start"}),
            json!({"id": "Call", "type": "connector", "connector": "http", "block": "request",
                   "inputs": {"url": format!("http://{addr}/limited"), "fail_on_error_status": true},
                   "retry": {"max_attempts": 2, "backoff_ms": 10}}),
        ],
        vec![json!({"from": "Start", "to": "Call"})],
    );
    let quick = with_blocks(
        "quick",
        vec![
            json!({"id": "Start", "type": "start"}),
            json!({"id": "Out", "type": "output", "mode": "set", "value": {"done": true}}),
        ],
        vec![json!({"from": "Start", "to": "Out"})],
    );
    let mut tokens = Vec::new();
    for d in [limited, quick] {
        let (s, a) = api
            .call("POST", "/api/v1/automations", Some(ADMIN), Some(d))
            .await;
        assert_eq!(s, 201, "{a}");
        tokens.push(a["execution_token"].as_str().expect("token").to_string());
    }
    let execute = |id: &'static str, token: String, background: bool| {
        let api = &api;
        async move {
            let query = if background { "?async=true" } else { "" };
            let resp = api
                .http
                .post(format!(
                    "{}/api/v1/automations/{id}/actions/execute{query}",
                    api.base
                ))
                .header("X-Execution-Token", token)
                .json(&json!({}))
                .send()
                .await
                .expect("execute");
            (
                resp.status().as_u16(),
                resp.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (s, started) = execute("limited", tokens[0].clone(), true).await;
    assert_eq!(s, 202, "{started}");
    let limited_id = started["run_id"].as_str().expect("run id").to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while hits.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the limited run never called");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The only slot is free while `limited` waits out its 2 s: `quick`
    // runs meanwhile instead of queueing behind it.
    let (s, answer) = execute("quick", tokens[1].clone(), false).await;
    assert_eq!(s, 200, "{answer}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "quick finished while limited still waited for its retry"
    );
    let run = wait_for_end(&api, ADMIN, &limited_id).await;
    assert_eq!(run["run"]["status"], "finished", "{run}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "retried once, after the wait"
    );
}
