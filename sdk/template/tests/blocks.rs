//! The template's blocks, built for wasm32-wasip2 and run by the installed
//! `weft` in the real sandbox (limits, allow-lists, credential injection),
//! against a fake Acme Tasks API on 127.0.0.1.
//!
//! Run with `cargo test --release`.

use serde_json::{Value, json};
use std::sync::OnceLock;
use std::time::Duration;
use weft_sdk_test::{Connector, Credential, ErrorKind, Failure, FakeApi, Reply};

/// Built once per test binary (the first test to get here builds it; the
/// others wait and share the file).
fn connector() -> &'static Connector {
    static CONNECTOR: OnceLock<Connector> = OnceLock::new();
    CONNECTOR.get_or_init(|| Connector::build(env!("CARGO_MANIFEST_DIR")))
}

fn sample_tasks() -> Vec<Value> {
    vec![
        json!({"id": "t1", "title": "Write the walkthrough", "status": "done"}),
        json!({"id": "t2", "title": "Ship the template", "status": "open", "due": "2030-01-31"}),
        json!({"id": "t3", "title": "Celebrate", "status": "open"}),
    ]
}

#[test]
fn manifest_describes_blocks_hosts_auth_and_schemas() {
    let m = connector().manifest();
    assert_eq!(m["id"], "acme-tasks");
    let blocks: Vec<&str> = m["blocks"]
        .as_array()
        .expect("blocks")
        .iter()
        .filter_map(|b| b["id"].as_str())
        .collect();
    assert_eq!(blocks, ["list-tasks", "create-task", "summarize"]);
    assert_eq!(m["auth"][0]["kind"], "bearer");
    let list = &m["blocks"][0]["input_schema"];
    assert_eq!(list["properties"]["max_pages"]["default"], 5);
    let status = list["$defs"]["Status"].to_string();
    assert!(status.contains("in-progress"), "{status}");
    let create = &m["blocks"][1]["input_schema"];
    assert_eq!(create["required"], json!(["title"]));
}

#[test]
fn summarize_counts_tasks_by_status() {
    let out = connector()
        .invoke("summarize", json!({"tasks": sample_tasks()}))
        .expect("summarize");
    assert_eq!(
        out,
        json!({"total": 3, "by_status": {"done": 1, "open": 2}})
    );
}

#[test]
fn bad_input_is_an_invalid_input_error_naming_the_field() {
    let err = connector()
        .invoke("summarize", json!({"tasks": "not a list"}))
        .expect_err("a string is not a task list");
    assert_eq!(err.kind(), Some(ErrorKind::InvalidInput));
    assert!(err.message().contains("tasks"), "{err}");
    assert_eq!(err.details(), Some(&json!({"path": "tasks"})));
}

#[test]
fn list_tasks_filters_by_status_with_the_token_the_host_injects() {
    let api = FakeApi::start();
    api.route("GET", "/tasks", |_req| {
        Reply::json(200, json!({"data": sample_tasks()[1..].to_vec()}))
    });
    let outcome = connector()
        .block("list-tasks")
        .input(json!({"status": "open", "base_url": api.base_url()}))
        .allow(api.origin())
        .credential(Credential::bearer("acme-s3cret"))
        .run();
    let logs = outcome.logs.clone();
    let calls = outcome.http_calls.clone();
    let out = outcome.expect_ok();
    assert_eq!(out["tasks"].as_array().map(Vec::len), Some(2));
    assert_eq!(out["tasks"][0]["id"], "t2");
    assert!(out.get("next").is_none(), "{out}");

    let req = &api.requests_to("/tasks")[0];
    assert_eq!(req.query("status"), Some("open"));
    assert_eq!(req.header("authorization"), Some("Bearer acme-s3cret"));
    // The recorded call never shows the secret.
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].status, Some(200));
    assert!(!format!("{calls:?}").contains("acme-s3cret"));
    assert_eq!(logs[0].message, "fetched 2 task(s) in 1 page(s)");
}

#[test]
fn list_tasks_follows_link_pagination_up_to_max_pages() {
    let api = FakeApi::start();
    api.route("GET", "/tasks", |req| {
        let page: usize = req.query("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let task = json!({"id": format!("t{page}"), "title": "x", "status": "open"});
        let reply = Reply::json(200, json!({"data": [task]}));
        // Relative links, as many APIs send them.
        if page < 3 {
            reply.link(&format!("/tasks?page={}", page + 1), "next")
        } else {
            reply
        }
    });
    let run = |max_pages: u32| {
        connector()
            .block("list-tasks")
            .input(json!({"base_url": api.base_url(), "max_pages": max_pages}))
            .allow(api.origin())
            .run()
            .expect_ok()
    };
    let all = run(10);
    let ids: Vec<&str> = all["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids, ["t1", "t2", "t3"]);
    assert!(all.get("next").is_none());

    let first_two = run(2);
    assert_eq!(first_two["tasks"].as_array().map(Vec::len), Some(2));
    assert_eq!(first_two["next"], api.url("/tasks?page=3"));
}

#[test]
fn a_short_retry_after_is_waited_out_a_long_one_goes_to_the_engine() {
    let api = FakeApi::start();
    api.sequence(
        "GET",
        "/tasks",
        vec![
            Reply::json(429, json!({"error": "slow down"})).retry_after_secs(1),
            Reply::json(200, json!({"data": sample_tasks()})),
        ],
    );
    let outcome = connector()
        .block("list-tasks")
        .input(json!({"base_url": api.base_url()}))
        .allow(api.origin())
        .run();
    assert!(outcome.duration >= Duration::from_secs(1), "{outcome:?}");
    assert_eq!(
        outcome.expect_ok()["tasks"].as_array().map(Vec::len),
        Some(3)
    );
    assert_eq!(api.requests_to("/tasks").len(), 2);

    api.route("GET", "/tasks", |_req| {
        Reply::json(429, json!({"error": "come back later"})).retry_after_secs(120)
    });
    let err = connector()
        .block("list-tasks")
        .input(json!({"base_url": api.base_url()}))
        .allow(api.origin())
        .run()
        .expect_failure();
    assert_eq!(err.kind(), Some(ErrorKind::RateLimited));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(api.requests_to("/tasks").len(), 3, "no sleep, no retry");
}

#[test]
fn create_task_posts_json_with_an_idempotency_key() {
    let api = FakeApi::start();
    api.route("POST", "/tasks", |req| {
        let title = req.json()["title"].clone();
        Reply::json(
            201,
            json!({"id": "t9", "title": title, "status": "open", "due": "2030-02-01"}),
        )
    });
    let task = connector()
        .block("create-task")
        .input(json!({"title": "  Try Weft  ", "due": "2030-02-01", "base_url": api.base_url()}))
        .allow(api.origin())
        .run()
        .expect_ok();
    assert_eq!(task["id"], "t9");
    assert_eq!(task["title"], "Try Weft");

    let req = &api.requests_to("/tasks")[0];
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.json(),
        json!({"title": "Try Weft", "due": "2030-02-01"})
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.header("idempotency-key"), Some("cli-create-task"));
}

#[test]
fn api_errors_become_typed_block_errors() {
    let api = FakeApi::start();
    api.route("POST", "/tasks", |_req| {
        Reply::json(404, json!({"error": "no such workspace"}))
    });
    let err = connector()
        .block("create-task")
        .input(json!({"title": "x", "base_url": api.base_url()}))
        .allow(api.origin())
        .run()
        .expect_failure();
    assert_eq!(err.kind(), Some(ErrorKind::NotFound));
    assert!(err.message().contains("no such workspace"), "{err}");
    assert_eq!(err.details(), Some(&json!({"status": 404})));
}

#[test]
fn without_a_grant_the_request_never_leaves_the_host() {
    let api = FakeApi::start();
    let err = connector()
        .invoke("list-tasks", json!({"base_url": api.base_url()}))
        .expect_err("no grant");
    match &err {
        Failure::Block { kind, message, .. } => {
            assert_eq!(*kind, ErrorKind::Fatal);
            assert!(message.contains("not in the operator's grant"), "{message}");
        }
        other => panic!("expected a block error, got {other:?}"),
    }
    assert!(api.requests().is_empty());
}
