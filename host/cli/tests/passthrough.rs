//! Data passes through a real `weft serve` unchanged: a webhook body
//! forwarded by the `http` connector leaves with its keys in the order they
//! arrived and its numbers as written (`1.0` stays `1.0`, a 17-digit id
//! keeps every digit), and the run's output, variables and per-block
//! history show the same text.

mod common;

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use common::{Api, create_user, start_server_with, wait_for_end};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// What the webhook receives, written the way a sender that signs its
/// bodies writes it: keys in its own order, not sorted.
const BODY: &str = r#"{"n":7,"items":[{"sku":"B-2","qty":1.0,"price":0.1},{"sku":"A-1","qty":3,"price":19.99}],"id":12345678901234567,"meta":{"z":true,"a":null}}"#;

/// What the fake API answers, also unsorted.
const ANSWER: &str =
    r#"{"status":"accepted","ref":98765432109876543,"echo":{"zeta":1.50,"alpha":[2.0,1]}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_body_leaves_as_it_arrived() {
    let received: Arc<Mutex<Vec<Bytes>>> = Arc::default();
    let sink = received.clone();
    let app = Router::new().route(
        "/capture",
        post(move |body: Bytes| async move {
            sink.lock().unwrap_or_else(|e| e.into_inner()).push(body);
            ([("content-type", "application/json")], ANSWER)
        }),
    );
    let (addr, _stop) = weft_tests::serve_on_loopback(app).await;
    let api_base = format!("http://{addr}");
    let server = start_server_with(
        tempfile::tempdir().expect("tmp"),
        &["--allow", &format!("http={api_base}")],
    );
    let api = Api::new(&server);
    let alice = create_user(&api, "alice").await;
    let doc = json!({
        "weft": "automation/v1", "id": "forward", "name": "Forward",
        "variables": {"payload": null},
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Keep", "type": "variable", "variable": "payload", "action": "set",
             "value": "{$.Start}"},
            {"id": "Send", "type": "connector", "connector": "http", "block": "request",
             "inputs": {"method": "POST", "url": format!("{api_base}/capture"),
                        "json": "{$.Start}"}},
            {"id": "Out", "type": "output", "mode": "set",
             "value": {"sent": "{$.Start}", "answer": "{$.Send.body}"}}
        ],
        "edges": [{"from": "Start", "to": "Keep"}, {"from": "Keep", "to": "Send"},
                  {"from": "Send", "to": "Out"}]
    });
    let (s, created) = api
        .call("POST", "/api/v1/automations", Some(&alice), Some(doc))
        .await;
    assert_eq!(s, 201, "{created}");
    let hook = created["webhook_path"].as_str().expect("webhook path");

    let resp = api
        .http
        .post(format!("{}{hook}", api.base))
        .header("content-type", "application/json")
        .body(BODY)
        .send()
        .await
        .expect("webhook");
    assert_eq!(resp.status().as_u16(), 202);
    let accepted: Value = resp.json().await.expect("json");
    let run_id = accepted["run_id"].as_str().expect("run id");
    let run = wait_for_end(&api, &alice, run_id).await;
    assert_eq!(run["run"]["status"], "finished", "{run}");

    // The bytes the API received are the bytes the webhook received.
    let sent = received.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(String::from_utf8_lossy(&sent[0]), BODY);

    // The run's output and history, read as text: same order, same digits.
    let (status, text) = api
        .text("GET", &format!("/api/v1/runs/{run_id}"), Some(&alice), None)
        .await;
    assert_eq!(status, 200, "{text}");
    let sent_out = format!(r#""sent":{BODY}"#);
    let answer_out = format!(r#""answer":{ANSWER}"#)
        // The API's answer is parsed: `1.50` is the number 1.5.
        .replace("1.50", "1.5");
    assert!(text.contains(&sent_out), "output keeps the body: {text}");
    assert!(
        text.contains(&answer_out),
        "output keeps the answer: {text}"
    );
    // The variable block's step, the connector's input and its response
    // body in the history all read in the original order.
    let steps: Value = serde_json::from_str(&text).expect("json");
    let step = |id: &str| {
        steps["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["block_id"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("no step {id}: {steps}"))
    };
    assert_eq!(
        serde_json::to_string(&step("Keep")["output"]).expect("text"),
        BODY
    );
    assert_eq!(
        serde_json::to_string(&step("Send")["input"]["json"]).expect("text"),
        BODY
    );
}
