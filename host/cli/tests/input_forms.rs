//! The `input` block through a real `weft serve` process: a run pauses at
//! the form (status `paused`, the form in `waiting_for`), refused values
//! get a 422 naming every field, accepted ones resume the run to its
//! exact output, a second answer gets a 409; a paused run stays paused
//! across a restart of the server and its form is answered after; a
//! form's timeout applies while the server runs and, when it passed
//! while the server was down, at start.

mod common;

use common::{
    ADMIN, Api, Server, create_user, start_server_in, start_server_with, wait_for_end,
    wait_for_status,
};
use serde_json::{Value, json};

fn examples_dir() -> String {
    format!("{}/../../examples", env!("CARGO_MANIFEST_DIR"))
}

/// Start a manual run of `automation` as `token`'s user; its id.
async fn start_run(api: &Api, token: &str, automation: &str) -> String {
    let (s, body) = api
        .call(
            "POST",
            &format!("/api/v1/automations/{automation}/runs"),
            Some(token),
            Some(json!({"input": {}})),
        )
        .await;
    assert_eq!(s, 202, "{body}");
    body["run_id"].as_str().expect("run id").to_string()
}

async fn submit(api: &Api, token: &str, run_id: &str, values: Value) -> (u16, Value) {
    api.call(
        "POST",
        &format!("/api/v1/runs/{run_id}/input"),
        Some(token),
        Some(values),
    )
    .await
}

/// Poll the run until it ended (`paused` is not an end here), for at
/// most 20 s.
async fn wait_until_ended(api: &Api, run_id: &str) -> Value {
    let mut run = Value::Null;
    for _ in 0..800 {
        run = api
            .call("GET", &format!("/api/v1/runs/{run_id}"), Some(ADMIN), None)
            .await
            .1;
        if !matches!(
            run["run"]["status"].as_str(),
            None | Some("queued" | "running" | "paused")
        ) {
            return run;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("run {run_id} never ended: {run}");
}

/// Stop the server in order and start it again on the same data.
fn restart(mut server: Server, extra: &[&str]) -> Server {
    server.stop();
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().expect("tmp"));
    drop(server);
    start_server_with(data, extra)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_approval_example_waits_for_its_form_across_a_restart_and_ends_with_the_answer() {
    let load = ["--load".to_string(), examples_dir()];
    let load: Vec<&str> = load.iter().map(String::as_str).collect();
    let server = start_server_with(tempfile::tempdir().expect("tmp"), &load);
    let api = Api::new(&server);
    let run_id = start_run(&api, ADMIN, "input-approval").await;
    let paused = wait_for_status(&api, ADMIN, &run_id, "paused").await;
    let waiting = &paused["run"]["waiting_for"];
    assert_eq!(waiting["block"], "Approve", "{paused}");
    assert_eq!(waiting["title"], "Approve the expense");
    assert_eq!(
        waiting["schema"]["required"],
        json!(["approved", "comment"]),
        "{waiting}"
    );
    let (since, expires) = (
        waiting["since"].as_i64().expect("since"),
        waiting["expires_at"].as_i64().expect("expires_at"),
    );
    assert_eq!(expires - since, 259_200_000);
    assert_eq!(paused["run"]["finished_at"], Value::Null);
    let (_, listed) = api
        .call("GET", "/api/v1/runs?status=paused", Some(ADMIN), None)
        .await;
    assert_eq!(listed["items"][0]["id"], run_id.as_str(), "{listed}");

    // Refused values: 422, each problem naming its field.
    let (s, refused) = submit(&api, ADMIN, &run_id, json!({"approved": "yes", "extra": 1})).await;
    assert_eq!(s, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_input");
    let mut fields: Vec<String> = refused["error"]["details"]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().unwrap_or_default().to_string())
        .collect();
    fields.sort();
    assert_eq!(fields, ["", "approved", "comment"], "{refused}");
    // Someone who neither owns the run nor is an admin does not see it.
    let eve = create_user(&api, "eve").await;
    let (s, _) = submit(
        &api,
        &eve,
        &run_id,
        json!({"approved": true, "comment": "x"}),
    )
    .await;
    assert_eq!(s, 404);
    let (s, unknown) = submit(&api, ADMIN, "no-such-run", json!({})).await;
    assert_eq!((s, &unknown["error"]["code"]), (404, &json!("not_found")));

    // The server stops and starts again: the run is still paused, and
    // recovery neither failed nor re-ran it.
    let server = restart(server, &load);
    let api = Api::new(&server);
    let (_, still) = api
        .call("GET", &format!("/api/v1/runs/{run_id}"), Some(ADMIN), None)
        .await;
    assert_eq!(still["run"]["status"], "paused", "{still}");
    assert_eq!(still["run"]["waiting_for"]["expires_at"], expires);
    assert_eq!(still["steps"].as_array().map(Vec::len), Some(1), "{still}");

    let (s, accepted) = submit(
        &api,
        ADMIN,
        &run_id,
        json!({"approved": true, "comment": "within budget"}),
    )
    .await;
    assert_eq!(s, 202, "{accepted}");
    assert_eq!(
        accepted,
        json!({"run_id": run_id, "status": "queued", "resumed": true})
    );
    let done = wait_for_end(&api, ADMIN, &run_id).await;
    assert_eq!(done["run"]["status"], "finished", "{done}");
    assert_eq!(
        done["run"]["output"],
        json!({"decision": "approved", "comment": "within budget", "by": "admin"})
    );
    assert!(done["run"].get("waiting_for").is_none(), "{done}");
    let blocks: Vec<&str> = done["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["block_id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(blocks, ["Start", "Approve", "Decision", "Approved"]);
    assert_eq!(done["steps"][1]["output"]["submitted_by"], "admin");

    // Answered: a second submission finds nothing waiting.
    let (s, again) = submit(
        &api,
        ADMIN,
        &run_id,
        json!({"approved": false, "comment": "no"}),
    )
    .await;
    assert_eq!(s, 409, "{again}");
    assert_eq!(again["error"]["code"], "run_not_paused");
    assert_eq!(again["error"]["details"]["status"], "finished");
}

fn timed(id: &str, timeout_ms: u64) -> Value {
    json!({
        "weft": "automation/v1", "id": id, "name": id,
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Ask", "type": "input", "title": "Anyone?", "timeout_ms": timeout_ms,
             "schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
             "timeout_values": {"ok": false}},
            {"id": "Out", "type": "output", "mode": "set",
             "value": {"ok": "{$.Ask.values.ok}", "timed_out": "{$.Ask.timed_out}"}}
        ],
        "edges": [{"from": "Start", "to": "Ask"}, {"from": "Ask", "to": "Out"}]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forms_timeout_applies_while_the_server_runs_and_at_start_when_it_passed_meanwhile() {
    let server = start_server_in(tempfile::tempdir().expect("tmp"));
    let api = Api::new(&server);
    for id in ["wait-long", "wait-short"] {
        let timeout = if id == "wait-long" { 2_000 } else { 800 };
        let (s, body) = api
            .call(
                "POST",
                "/api/v1/automations",
                Some(ADMIN),
                Some(timed(id, timeout)),
            )
            .await;
        assert_eq!(s, 201, "{body}");
    }
    // While the server runs: the sweep applies the timeout.
    let short = start_run(&api, ADMIN, "wait-short").await;
    wait_for_status(&api, ADMIN, &short, "paused").await;
    let done = wait_until_ended(&api, &short).await;
    assert_eq!(done["run"]["status"], "finished", "{done}");
    assert_eq!(
        done["run"]["output"],
        json!({"ok": false, "timed_out": true})
    );

    // A timeout that passes while the server is down applies at start.
    let long = start_run(&api, ADMIN, "wait-long").await;
    let paused = wait_for_status(&api, ADMIN, &long, "paused").await;
    let expires = paused["run"]["waiting_for"]["expires_at"]
        .as_i64()
        .expect("expires");
    let mut server = server;
    let _ = server.child.kill();
    let _ = server.child.wait();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
    let left = u64::try_from(expires - now + 100).unwrap_or(0);
    tokio::time::sleep(std::time::Duration::from_millis(left)).await;
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().expect("tmp"));
    drop(server);
    let server = start_server_in(data);
    let api = Api::new(&server);
    let done = wait_until_ended(&api, &long).await;
    assert_eq!(done["run"]["status"], "finished", "{done}");
    assert_eq!(
        done["run"]["output"],
        json!({"ok": false, "timed_out": true})
    );
    let (s, late) = submit(&api, ADMIN, &long, json!({"ok": true})).await;
    assert_eq!((s, &late["error"]["code"]), (409, &json!("run_not_paused")));
}
