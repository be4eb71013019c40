//! An automation's state between runs through a real `weft serve`
//! process: the owner lists, reads, writes and deletes keys; a write
//! through the API is what the next run reads; other users get 404 (an
//! admin may look); limits answer 413/422 with stable codes; deleting the
//! automation deletes its state.

mod common;

use common::{ADMIN, Api, create_user, start_server};
use serde_json::{Value, json};

fn counter() -> Value {
    json!({
        "weft": "automation/v1", "id": "counter", "name": "Counter",
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Pointer", "type": "state-get", "key": "pointer", "default": "none"},
            {"id": "Runs", "type": "state-increment", "key": "runs"},
            {"id": "Out", "type": "output", "mode": "set", "value": {"pointer": "{$.Pointer}", "runs": "{$.Runs}"}}
        ],
        "edges": [
            {"from": "Start", "to": "Pointer"},
            {"from": "Pointer", "to": "Runs"},
            {"from": "Runs", "to": "Out"}
        ]
    })
}

async fn execute(api: &Api, token: &str) -> Value {
    let resp = api
        .http
        .post(format!(
            "{}/api/v1/automations/counter/actions/execute",
            api.base
        ))
        .header("X-Execution-Token", token)
        .json(&json!({}))
        .send()
        .await
        .expect("execute");
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.expect("json")
}

/// `(key, value)` of each entry, checking each has its write time.
fn entries(list: &Value) -> Vec<(String, Value)> {
    list["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            assert!(e["updated_at"].as_i64().is_some_and(|t| t > 0), "{e}");
            (
                e["key"].as_str().expect("key").to_string(),
                e["value"].clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_reads_and_writes_state_and_the_next_run_sees_it() {
    let server = start_server();
    let api = Api::new(&server);
    let alice = create_user(&api, "alice").await;
    let bob = create_user(&api, "bob").await;
    let (s, created) = api
        .call("POST", "/api/v1/automations", Some(&alice), Some(counter()))
        .await;
    assert_eq!(s, 201, "{created}");
    let exec = created["execution_token"]
        .as_str()
        .expect("token")
        .to_string();

    assert_eq!(
        execute(&api, &exec).await,
        json!({"pointer": "none", "runs": 1})
    );
    let (s, list) = api
        .call(
            "GET",
            "/api/v1/automations/counter/state",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(entries(&list), [("runs".to_string(), json!(1))]);

    // Written through the API, read by the next run.
    let (s, put) = api
        .call(
            "PUT",
            "/api/v1/automations/counter/state/pointer",
            Some(&alice),
            Some(json!({"since": "2024-05-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(s, 200, "{put}");
    assert_eq!(put["key"], "pointer");
    assert_eq!(put["value"], json!({"since": "2024-05-01T00:00:00Z"}));
    assert_eq!(
        execute(&api, &exec).await,
        json!({"pointer": {"since": "2024-05-01T00:00:00Z"}, "runs": 2})
    );
    let (s, got) = api
        .call(
            "GET",
            "/api/v1/automations/counter/state/runs",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!((s, &got["value"]), (200, &json!(2)), "{got}");
    // The counter can be reset by hand.
    let (s, _) = api
        .call(
            "PUT",
            "/api/v1/automations/counter/state/runs",
            Some(&alice),
            Some(json!(40)),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(execute(&api, &exec).await["runs"], 41);

    // Another user: as if it did not exist. An admin may look and edit.
    for (method, path, body) in [
        ("GET", "/api/v1/automations/counter/state", None),
        ("GET", "/api/v1/automations/counter/state/runs", None),
        (
            "PUT",
            "/api/v1/automations/counter/state/runs",
            Some(json!(0)),
        ),
        ("DELETE", "/api/v1/automations/counter/state/runs", None),
    ] {
        let (s, body) = api.call(method, path, Some(&bob), body).await;
        assert_eq!(s, 404, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let (s, list) = api
        .call(
            "GET",
            "/api/v1/automations/counter/state",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        entries(&list),
        [
            (
                "pointer".to_string(),
                json!({"since": "2024-05-01T00:00:00Z"})
            ),
            ("runs".to_string(), json!(41))
        ]
    );
    let (s, _) = api
        .call("GET", "/api/v1/automations/counter/state", None, None)
        .await;
    assert_eq!(s, 401);

    // Limits and malformed bodies, with their codes; nothing written.
    let big = "x".repeat(70_000);
    let (s, body) = api
        .call(
            "PUT",
            "/api/v1/automations/counter/state/big",
            Some(&alice),
            Some(json!(big)),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (413, Some("state_value_too_large")),
        "{body}"
    );
    let long_key = "k".repeat(300);
    let (s, body) = api
        .call(
            "PUT",
            &format!("/api/v1/automations/counter/state/{long_key}"),
            Some(&alice),
            Some(json!(1)),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (422, Some("state_key_too_long")),
        "{body}"
    );
    let resp = api
        .http
        .put(format!("{}/api/v1/automations/counter/state/bad", api.base))
        .bearer_auth(&alice)
        .body("{not json")
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status().as_u16(), 400);

    // Deleting one key, then the automation: its state goes with it.
    let (s, _) = api
        .call(
            "DELETE",
            "/api/v1/automations/counter/state/pointer",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, body) = api
        .call(
            "GET",
            "/api/v1/automations/counter/state/pointer",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (s, _) = api
        .call(
            "DELETE",
            "/api/v1/automations/counter/state/pointer",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(s, 404);
    // Export carries the definition only.
    let (s, exported) = api
        .call(
            "GET",
            "/api/v1/automations/counter/export",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert!(!exported.to_string().contains("\"runs\":41"), "{exported}");
    let (s, _) = api
        .call("DELETE", "/api/v1/automations/counter", Some(&alice), None)
        .await;
    assert_eq!(s, 204);
    let (s, created) = api
        .call("POST", "/api/v1/automations", Some(&alice), Some(counter()))
        .await;
    assert_eq!(s, 201, "{created}");
    let (s, list) = api
        .call(
            "GET",
            "/api/v1/automations/counter/state",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert!(
        entries(&list).is_empty(),
        "a new automation starts empty: {list}"
    );
}
