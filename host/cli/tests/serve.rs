//! `weft serve` as operators run it: a real process on 127.0.0.1, real
//! HTTP, three users (admin, alice, bob) and the access rules between them.

mod common;

use common::{ADMIN, Api, sleepy, start_server, start_server_with, wait_for_status};
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;

fn automation(id: &str) -> Value {
    json!({
        "weft": "automation/v1", "id": id, "name": format!("Double {id}"),
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Doubled", "type": "connector", "connector": "math", "block": "calculate",
             "inputs": {"operation": "multiply", "a": "{$.Start.n}", "b": 2}},
            {"id": "Keep", "type": "connector", "connector": "lists", "block": "filter",
             "inputs": {"list": "{$.Start.items}", "conditions": [{"field": "value", "op": ">", "value": 5}]}},
            {"id": "Out", "type": "output", "mode": "set", "value": {"doubled": "{$.Doubled.result}", "kept": "{$.Keep.list}"}}
        ],
        "edges": [{"from": "Start", "to": "Doubled"}, {"from": "Doubled", "to": "Keep"}, {"from": "Keep", "to": "Out"}]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_matrix_crud_runs_and_api_call_trigger() {
    let server = start_server();
    let api = Api::new(&server);

    let (s, _) = api.call("GET", "/healthz", None, None).await;
    assert_eq!(s, 200);
    let (s, body) = api.call("GET", "/api/v1/automations", None, None).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );

    // Admin creates two users; each gets a token once.
    let (s, alice) = api
        .call(
            "POST",
            "/api/v1/users",
            Some(ADMIN),
            Some(json!({"name": "alice"})),
        )
        .await;
    assert_eq!(s, 201, "{alice}");
    let alice = alice["token"].as_str().expect("token").to_string();
    let (_, bob) = api
        .call(
            "POST",
            "/api/v1/users",
            Some(ADMIN),
            Some(json!({"name": "bob"})),
        )
        .await;
    let bob = bob["token"].as_str().expect("token").to_string();
    let (s, body) = api
        .call(
            "POST",
            "/api/v1/users",
            Some(&alice),
            Some(json!({"name": "eve"})),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );

    // Each user creates an automation; the owner is the creator.
    let (s, a) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(&alice),
            Some(automation("alice-double")),
        )
        .await;
    assert_eq!(s, 201, "{a}");
    assert_eq!(a["owner"], "alice");
    let exec_token = a["execution_token"]
        .as_str()
        .expect("execution token")
        .to_string();
    let (s, _) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(&bob),
            Some(automation("bob-double")),
        )
        .await;
    assert_eq!(s, 201);
    let (s, body) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(&bob),
            Some(automation("bob-double")),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (409, Some("already_exists"))
    );

    // Invalid automations are refused with every problem.
    let mut bad = automation("bad");
    bad["blocks"][1]["connector"] = json!("nope");
    let (s, body) = api
        .call("POST", "/api/v1/automations", Some(&bob), Some(bad))
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (422, Some("invalid_automation"))
    );
    assert_eq!(body["error"]["details"][0]["block"], "Doubled");

    // Visibility: users see only their own; admins see all.
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| a["id"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(
        ids(&api
            .call("GET", "/api/v1/automations", Some(&alice), None)
            .await
            .1),
        ["alice-double"]
    );
    assert_eq!(
        ids(&api
            .call("GET", "/api/v1/automations", Some(&bob), None)
            .await
            .1),
        ["bob-double"]
    );
    assert_eq!(
        ids(&api
            .call("GET", "/api/v1/automations?sort=-name", Some(ADMIN), None)
            .await
            .1),
        ["bob-double", "alice-double"]
    );
    let (s, body) = api
        .call("GET", "/api/v1/automations?sort=colour", Some(ADMIN), None)
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("bad_request"))
    );
    assert_eq!(
        api.call("GET", "/api/v1/automations/alice-double", Some(&bob), None)
            .await
            .0,
        404
    );
    assert_eq!(
        api.call("GET", "/api/v1/automations/alice-double", Some(ADMIN), None)
            .await
            .0,
        200
    );

    // Optimistic versioning.
    let mut doc = automation("alice-double");
    doc["name"] = json!("Renamed");
    let (s, body) = api
        .call(
            "PUT",
            "/api/v1/automations/alice-double",
            Some(&alice),
            Some(json!({"version": 7, "document": doc})),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (409, Some("version_conflict"))
    );
    let (s, body) = api
        .call(
            "PUT",
            "/api/v1/automations/alice-double",
            Some(&alice),
            Some(json!({"version": 1, "document": doc})),
        )
        .await;
    assert_eq!((s, body["version"].as_u64()), (200, Some(2)));
    let (s, _) = api
        .call(
            "PUT",
            "/api/v1/automations/alice-double",
            Some(ADMIN),
            Some(json!({"version": 2, "document": doc})),
        )
        .await;
    assert_eq!(s, 403, "admins govern but do not edit others' automations");

    // A manual run: the owner reads the full log, the admin only the status, bob nothing.
    let input = json!({"input": {"n": 7, "items": [{"id": 1, "value": 3}, {"id": 2, "value": 8}]}});
    let (s, started) = api
        .call(
            "POST",
            "/api/v1/automations/alice-double/runs",
            Some(&alice),
            Some(input),
        )
        .await;
    assert_eq!(s, 202, "{started}");
    let run_id = started["run_id"].as_str().expect("run id").to_string();
    let path = format!("/api/v1/runs/{run_id}");
    let mut run = Value::Null;
    for _ in 0..200 {
        run = api.call("GET", &path, Some(&alice), None).await.1;
        if run["run"]["status"] == "finished" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(run["run"]["status"], "finished", "{run}");
    assert_eq!(run["run"]["output"]["doubled"], 14);
    assert_eq!(run["steps"].as_array().map(Vec::len), Some(4));
    let (s, as_admin) = api.call("GET", &path, Some(ADMIN), None).await;
    assert_eq!(s, 200);
    assert_eq!(as_admin["run"]["status"], "finished");
    assert!(
        as_admin["steps"].is_null() && as_admin["run"]["output"].is_null(),
        "admins must not read run logs: {as_admin}"
    );
    assert_eq!(api.call("GET", &path, Some(&bob), None).await.0, 404);
    assert_eq!(
        api.call(
            "POST",
            "/api/v1/automations/alice-double/runs",
            Some(&bob),
            None
        )
        .await
        .0,
        404
    );

    // Run lists follow the same rule; exports carry no owner or tokens.
    let (_, runs) = api.call("GET", "/api/v1/runs", Some(&alice), None).await;
    assert_eq!(runs["items"][0]["id"], run_id.as_str());
    let (_, runs) = api.call("GET", "/api/v1/runs", Some(&bob), None).await;
    assert_eq!(runs["items"], json!([]));
    let (s, exported) = api
        .call(
            "GET",
            "/api/v1/automations/alice-double/export",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert!(exported.get("owner").is_none() && !exported.to_string().contains(&exec_token));
    assert_eq!(exported["name"], "Renamed");
    let (s, imported) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(&bob),
            Some({
                let mut e = exported.clone();
                e["id"] = json!("bob-copy");
                e
            }),
        )
        .await;
    assert_eq!((s, imported["owner"].as_str()), (201, Some("bob")));

    // The API-call trigger: synchronous output, async run id, token checks.
    let exec = |q: &str| {
        format!(
            "{}/api/v1/automations/alice-double/actions/execute{q}",
            server.base
        )
    };
    let body = json!({"n": 7, "items": [{"id": 1, "value": 3}, {"id": 2, "value": 8}, {"id": 4, "value": 6}]});
    let resp = api
        .http
        .post(exec(""))
        .header("X-Execution-Token", &exec_token)
        .json(&body)
        .send()
        .await
        .expect("execute");
    assert_eq!(resp.status().as_u16(), 200);
    let out: Value = resp.json().await.expect("json");
    assert_eq!(
        out,
        json!({"doubled": 14, "kept": [{"id": 2, "value": 8}, {"id": 4, "value": 6}]})
    );
    let resp = api
        .http
        .post(exec(&format!("?async=true&token={exec_token}")))
        .json(&body)
        .send()
        .await
        .expect("execute");
    assert_eq!(resp.status().as_u16(), 202);
    let resp = api
        .http
        .post(exec(""))
        .header("X-Execution-Token", "wrong")
        .json(&body)
        .send()
        .await
        .expect("execute");
    assert_eq!(resp.status().as_u16(), 404);
    let resp = api
        .http
        .post(exec(""))
        .json(&body)
        .send()
        .await
        .expect("execute");
    assert_eq!(resp.status().as_u16(), 401);

    // Metrics count what happened (runs, block invocations, fuel, queue).
    let metrics = api
        .http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("weft_runs_total{status=\"finished\"}"),
        "{metrics}"
    );
    let invocations: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("weft_block_invocations_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("invocations line");
    assert!(invocations >= 4, "{metrics}");
    assert!(metrics.contains("weft_fuel_used_total") && metrics.contains("weft_queue_depth"));

    // Governance: admins disable, reassign and delete; triggers refuse disabled automations.
    let (s, _) = api
        .call(
            "PATCH",
            "/api/v1/automations/alice-double",
            Some(ADMIN),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(s, 200);
    let resp = api
        .http
        .post(exec(""))
        .header("X-Execution-Token", &exec_token)
        .json(&body)
        .send()
        .await
        .expect("execute");
    assert_eq!(resp.status().as_u16(), 409);
    let err: Value = resp.json().await.expect("json");
    assert_eq!(err["error"]["code"], "automation_disabled");
    let (s, _) = api
        .call(
            "PATCH",
            "/api/v1/automations/alice-double",
            Some(&bob),
            Some(json!({"owner": "bob"})),
        )
        .await;
    assert_eq!(s, 404, "bob cannot even see it");
    let (s, body) = api
        .call(
            "PATCH",
            "/api/v1/automations/alice-double",
            Some(ADMIN),
            Some(json!({"owner": "bob"})),
        )
        .await;
    assert_eq!((s, body["owner"].as_str()), (200, Some("bob")));
    assert_eq!(
        api.call(
            "GET",
            "/api/v1/automations/alice-double",
            Some(&alice),
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        api.call("GET", "/api/v1/automations/alice-double", Some(&bob), None)
            .await
            .0,
        200
    );
    assert_eq!(
        api.call(
            "DELETE",
            "/api/v1/automations/alice-double",
            Some(ADMIN),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        api.call("GET", "/api/v1/automations/alice-double", Some(&bob), None)
            .await
            .0,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_runs_survive_a_killed_server_and_complete_once() {
    let data = tempfile::tempdir().expect("tempdir");
    let data_path = data.path().to_path_buf();
    // A run in progress at a kill resumes (by default, once).
    let resume_once: [&str; 0] = [];
    let mut server = start_server_with(data, &resume_once);
    let api = Api::new(&server);
    let (s, a) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(ADMIN),
            Some(sleepy("hooked", 400)),
        )
        .await;
    assert_eq!(s, 201, "{a}");
    let hook = a["webhook_path"]
        .as_str()
        .expect("webhook path")
        .to_string();

    // Wrong secrets and oversized bodies are refused.
    let resp = api
        .http
        .post(format!("{}/hooks/hooked/wrong", server.base))
        .json(&json!({}))
        .send()
        .await
        .expect("hook");
    assert_eq!(resp.status().as_u16(), 404);
    let big = "x".repeat(8192);
    let resp = api
        .http
        .post(format!("{}{hook}", server.base))
        .body(big)
        .send()
        .await
        .expect("hook");
    assert_eq!(resp.status().as_u16(), 413);

    let resp = api.hook(&hook, json!({"order": 42})).await;
    assert_eq!(resp.status().as_u16(), 202);
    let run_id = resp.json::<Value>().await.expect("json")["run_id"]
        .as_str()
        .expect("run id")
        .to_string();

    // Kill -9 right after the 202, then start again on the same data.
    let _ = server.child.kill();
    let _ = server.child.wait();
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().expect("tempdir"));
    drop(server);
    assert!(data_path.exists());
    let server = start_server_with(data, &resume_once);
    let api = Api::new(&server);
    // Killed before its walk began, it is simply queued again; killed
    // during it, it is resumed and says so in a warning.
    let run = common::wait_for_end(&api, ADMIN, &run_id).await;
    let status = run["run"]["status"].as_str().unwrap_or_default();
    assert!(
        status == "finished"
            || (status == "finished-with-warnings"
                && run["run"]["warnings"][0]
                    .as_str()
                    .is_some_and(|w| w.starts_with("resumed after the server stopped"))),
        "{run}"
    );
    assert_eq!(run["run"]["output"], json!({"got": 42}));
    assert_eq!(run["run"]["trigger"]["kind"], "webhook");
    // Exactly one run exists for the automation, and it finished once.
    let outputs = run["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["block_id"] == "Out")
        .count();
    assert_eq!(outputs, 1, "{run}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_run_per_automation_at_a_time_the_rest_queue() {
    let server = start_server();
    let api = Api::new(&server);
    let (_, a) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(ADMIN),
            Some(sleepy("serial", 150)),
        )
        .await;
    let hook = a["webhook_path"]
        .as_str()
        .expect("webhook path")
        .to_string();
    let mut ids = Vec::new();
    for order in 0..3 {
        let resp = api.hook(&hook, json!({"order": order})).await;
        assert_eq!(resp.status().as_u16(), 202);
        ids.push(
            resp.json::<Value>().await.expect("json")["run_id"]
                .as_str()
                .expect("id")
                .to_string(),
        );
    }
    let mut spans = Vec::new();
    for id in &ids {
        let run = wait_for_status(&api, ADMIN, id, "finished").await;
        spans.push((
            run["run"]["started_at"].as_i64().expect("start"),
            run["run"]["finished_at"].as_i64().expect("end"),
        ));
    }
    spans.sort();
    for pair in spans.windows(2) {
        assert!(pair[1].0 >= pair[0].1, "runs overlapped: {spans:?}");
    }

    // Disabled automations refuse triggers with a clear error.
    api.call(
        "PATCH",
        "/api/v1/automations/serial",
        Some(ADMIN),
        Some(json!({"enabled": false})),
    )
    .await;
    let resp = api.hook(&hook, json!({})).await;
    assert_eq!(resp.status().as_u16(), 409);
    // A per-automation rate limit answers 429 with Retry-After.
    let (s, _) = api
        .call(
            "PATCH",
            "/api/v1/automations/serial",
            Some(ADMIN),
            Some(json!({"rate_limit_per_minute": 1})),
        )
        .await;
    assert_eq!(s, 200);
    api.call(
        "PATCH",
        "/api/v1/automations/serial",
        Some(ADMIN),
        Some(json!({"enabled": true})),
    )
    .await;
    let first = api.hook(&hook, json!({"order": 5})).await;
    assert_eq!(first.status().as_u16(), 202);
    let limited = api.hook(&hook, json!({"order": 6})).await;
    assert_eq!(limited.status().as_u16(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(
        limited.json::<Value>().await.expect("json")["error"]["code"],
        "rate_limited"
    );
    api.call(
        "PATCH",
        "/api/v1/automations/serial",
        Some(ADMIN),
        Some(json!({"rate_limit_per_minute": null})),
    )
    .await;

    // Rotating the secret retires the old URL.
    api.call(
        "PATCH",
        "/api/v1/automations/serial",
        Some(ADMIN),
        Some(json!({"enabled": true})),
    )
    .await;
    let (s, rotated) = api
        .call(
            "POST",
            "/api/v1/automations/serial/actions/rotate-webhook-secret",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let resp = api.hook(&hook, json!({})).await;
    assert_eq!(resp.status().as_u16(), 404);
    let new_hook = rotated["webhook_path"].as_str().expect("path");
    let resp = api.hook(new_hook, json!({"order": 9})).await;
    assert_eq!(resp.status().as_u16(), 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_come_from_a_toml_file_and_unknown_keys_are_refused() {
    let data = tempfile::tempdir().expect("tempdir");
    let config = data.path().join("weft.toml");
    std::fs::write(
        &config,
        "rate_limit_per_minute = 1\nper_automation_concurrency = 2\n",
    )
    .expect("write");
    let config_arg = config.to_str().expect("utf-8").to_string();
    let server = start_server_with(data, &["--config", &config_arg]);
    let api = Api::new(&server);
    let (_, a) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(ADMIN),
            Some(sleepy("limited", 1)),
        )
        .await;
    let hook = a["webhook_path"]
        .as_str()
        .expect("webhook path")
        .to_string();
    let first = api.hook(&hook, json!({})).await;
    assert_eq!(first.status().as_u16(), 202);
    let second = api.hook(&hook, json!({})).await;
    assert_eq!(
        second.status().as_u16(),
        429,
        "the file's rate limit applies"
    );
    // The default shortest schedule interval is 30 s; every second is refused.
    let mut fast = sleepy("too-fast", 1);
    fast["run_mode"] = json!({"type": "schedule", "schedule": "* * * * * *"});
    let (s, body) = api
        .call("POST", "/api/v1/automations", Some(ADMIN), Some(fast))
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (422, Some("invalid_automation"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("run_mode.schedule")),
        "{body}"
    );
    let mut bad = sleepy("bad-cron", 1);
    bad["run_mode"] = json!({"type": "schedule", "schedule": "every tuesday"});
    let (s, body) = api
        .call("POST", "/api/v1/automations", Some(ADMIN), Some(bad))
        .await;
    assert_eq!(s, 422);
    assert_eq!(body["error"]["details"][0]["field"], "run_mode.schedule");

    let bad = tempfile::tempdir().expect("tempdir");
    let bad_config = bad.path().join("weft.toml");
    std::fs::write(&bad_config, "listen = \"127.0.0.1:0\"\nlisten_port = 9\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["serve", "--config", bad_config.to_str().expect("utf-8")])
        .env("WEFT_DATA_DIR", bad.path())
        .env("WEFT_CACHE_DIR", bad.path().join("cache"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("listen_port"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_fire_once_per_tick_and_stop_when_disabled() {
    let server = start_server_with(
        tempfile::tempdir().expect("tempdir"),
        &["--min-schedule-interval-secs", "1"],
    );
    let api = Api::new(&server);
    let mut doc = sleepy("ticker", 1);
    doc["run_mode"] =
        json!({"type": "schedule", "schedule": "* * * * * *", "timezone": "Europe/Berlin"});
    doc["blocks"][2]["value"] = json!({"tick": "{$.Start.scheduled_for}"});
    let (s, body) = api
        .call("POST", "/api/v1/automations", Some(ADMIN), Some(doc))
        .await;
    assert_eq!(s, 201, "{body}");
    tokio::time::sleep(Duration::from_millis(3500)).await;

    let runs = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r["id"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let listed = api
        .call("GET", "/api/v1/runs?automation=ticker", Some(ADMIN), None)
        .await
        .1;
    let ids = runs(&listed);
    assert!(ids.len() >= 2, "expected a run per second: {listed}");
    let mut fired_for = Vec::new();
    for id in &ids {
        let run = wait_for_status(&api, ADMIN, id, "finished").await;
        assert_eq!(run["run"]["trigger"]["kind"], "schedule");
        fired_for.push(
            run["run"]["trigger"]["detail"]["scheduled_for"]
                .as_str()
                .expect("tick")
                .to_string(),
        );
    }
    let mut unique = fired_for.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        fired_for.len(),
        "a tick fired twice: {fired_for:?}"
    );

    api.call(
        "PATCH",
        "/api/v1/automations/ticker",
        Some(ADMIN),
        Some(json!({"enabled": false})),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let before = runs(
        &api.call("GET", "/api/v1/runs?automation=ticker", Some(ADMIN), None)
            .await
            .1,
    )
    .len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = runs(
        &api.call("GET", "/api/v1/runs?automation=ticker", Some(ADMIN), None)
            .await
            .1,
    )
    .len();
    assert_eq!(before, after, "a disabled schedule kept firing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_can_be_stopped_while_running_or_queued() {
    let server = start_server();
    let api = Api::new(&server);
    let (_, a) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(ADMIN),
            Some(sleepy("long", 60_000)),
        )
        .await;
    let hook = a["webhook_path"]
        .as_str()
        .expect("webhook path")
        .to_string();
    let id_of = |v: Value| v["run_id"].as_str().expect("run id").to_string();
    let first = id_of(
        api.hook(&hook, json!({"order": 1}))
            .await
            .json()
            .await
            .expect("json"),
    );
    let second = id_of(
        api.hook(&hook, json!({"order": 2}))
            .await
            .json()
            .await
            .expect("json"),
    );
    wait_for_status(&api, ADMIN, &first, "running").await;

    // The second waits behind the first (one run per automation): stopping
    // it means it never starts.
    let (s, body) = api
        .call(
            "POST",
            &format!("/api/v1/runs/{second}/stop"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (200, Some("stopped")),
        "{body}"
    );
    let (s, body) = api
        .call(
            "POST",
            &format!("/api/v1/runs/{first}/stop"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (202, Some("stopping")),
        "{body}"
    );
    let run = wait_for_status(&api, ADMIN, &first, "stopped").await;
    assert_eq!(
        run["steps"].as_array().map(Vec::len),
        Some(1),
        "stopped inside the sleep, before Nap finished: {run}"
    );
    let run = wait_for_status(&api, ADMIN, &second, "stopped").await;
    assert_eq!(run["steps"], json!([]));
    assert!(run["run"]["started_at"].is_null());
    let (s, body) = api
        .call(
            "POST",
            &format!("/api/v1/runs/{first}/stop"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (409, Some("run_finished"))
    );
}
