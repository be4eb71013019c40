//! `weft serve` features beyond access and triggers, through a real server
//! process: `--load`, synchronous API calls sharing an automation's
//! concurrency limit, chaining, signed webhooks, import/export with
//! connection references, and secret-key rotation.

mod common;

use common::{ADMIN, Api, create_user, sleepy, start_server_in, start_server_with, wait_for_end};
use hmac::Mac;
use serde_json::{Value, json};
use std::process::Command;

fn examples_dir() -> String {
    format!("{}/../../examples", env!("CARGO_MANIFEST_DIR"))
}

async fn create(api: &Api, token: &str, doc: Value) -> Value {
    let (s, a) = api
        .call("POST", "/api/v1/automations", Some(token), Some(doc))
        .await;
    assert_eq!(s, 201, "{a}");
    a
}

async fn execute(api: &Api, id: &str, exec_token: &str, body: Value) -> (u16, Value) {
    let resp = api
        .http
        .post(format!(
            "{}/api/v1/automations/{id}/actions/execute",
            api.base
        ))
        .header("X-Execution-Token", exec_token)
        .json(&body)
        .send()
        .await
        .expect("execute");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn doubler(id: &str) -> Value {
    json!({
        "weft": "automation/v1", "id": id, "name": id,
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Double", "type": "connector", "connector": "math", "block": "calculate",
             "inputs": {"operation": "multiply", "a": "{$.Start.n}", "b": 2}},
            {"id": "Out", "type": "output", "mode": "set", "value": {"doubled": "{$.Double.result}"}}
        ],
        "edges": [{"from": "Start", "to": "Double"}, {"from": "Double", "to": "Out"}]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_creates_the_examples_once_and_prints_how_to_run_them() {
    let data = tempfile::tempdir().expect("tmp");
    let mut server = start_server_with(data, &["--load", &examples_dir()]);
    let api = Api::new(&server);
    // The printed curl line works as printed (token and URL).
    let mut output = server.output();
    for _ in 0..100 {
        if output.contains("loaded transform-and-merge") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        output = server.output();
    }
    let line = output
        .lines()
        .skip_while(|l| !l.starts_with("loaded loop-with-condition "))
        .nth(1)
        .expect("a run line after the loaded line");
    let token = line
        .split("X-Execution-Token: ")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("token in the curl line");
    assert!(line.contains(&format!(
        "{}/api/v1/automations/loop-with-condition/actions/execute",
        api.base
    )));
    let (s, out) = execute(&api, "loop-with-condition", token, json!({})).await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["big_count"], 3);
    let (_, list) = api
        .call("GET", "/api/v1/automations", Some(ADMIN), None)
        .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(7), "{list}");
    // Restarting with the same files changes nothing.
    server.stop();
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().expect("tmp"));
    drop(server);
    let server = start_server_with(data, &["--load", &examples_dir()]);
    let api = Api::new(&server);
    for _ in 0..100 {
        if server
            .output()
            .contains("transform-and-merge is loaded already")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let output = server.output();
    assert!(
        output.contains("loop-with-condition is loaded already (unchanged)"),
        "{output}"
    );
    assert!(!output.contains("X-Execution-Token"), "{output}");
    let (_, a) = api
        .call(
            "GET",
            "/api/v1/automations/loop-with-condition",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(a["version"], 1, "{a}");
}

/// The most runs of `runs` that were in progress at the same moment.
fn max_overlap(runs: &[Value]) -> usize {
    let spans: Vec<(i64, i64)> = runs
        .iter()
        .map(|r| {
            (
                r["started_at"].as_i64().expect("started"),
                r["finished_at"].as_i64().expect("finished"),
            )
        })
        .collect();
    spans
        .iter()
        .map(|(start, _)| {
            spans
                .iter()
                .filter(|(s, f)| s <= start && start < f)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synchronous_calls_share_the_automations_concurrency_limit() {
    let server = start_server_in(tempfile::tempdir().expect("tmp"));
    let api = Api::new(&server);
    let alice = create_user(&api, "alice").await;
    let a = create(&api, &alice, sleepy("nap", 400)).await;
    let token = a["execution_token"].as_str().expect("token").to_string();

    let burst = |n: usize| {
        let api = &api;
        let token = token.clone();
        async move {
            let calls = (0..n).map(|i| execute(api, "nap", &token, json!({"order": i})));
            let answers = futures_join_all(calls).await;
            for (s, out) in &answers {
                assert_eq!(*s, 200, "{out}");
            }
            let (_, runs) = api
                .call(
                    "GET",
                    "/api/v1/runs?automation=nap&limit=100",
                    Some(ADMIN),
                    None,
                )
                .await;
            runs["items"].as_array().cloned().unwrap_or_default()
        }
    };
    // Default: one at a time; the others wait their turn and still answer.
    let runs = burst(3).await;
    assert_eq!(runs.len(), 3);
    assert_eq!(max_overlap(&runs), 1, "{runs:?}");

    let (s, patched) = api
        .call(
            "PATCH",
            "/api/v1/automations/nap",
            Some(&alice),
            Some(json!({"concurrency": 3})),
        )
        .await;
    assert_eq!(s, 200, "{patched}");
    assert_eq!(patched["concurrency"], 3);
    let runs = burst(3).await;
    let latest: Vec<Value> = runs.into_iter().take(3).collect();
    assert!(max_overlap(&latest) >= 2, "{latest:?}");
    let (s, bad) = api
        .call(
            "PATCH",
            "/api/v1/automations/nap",
            Some(&alice),
            Some(json!({"concurrency": 0})),
        )
        .await;
    assert_eq!(s, 400, "{bad}");
}

/// `join_all` without pulling in the futures crate: spawn-free, polls all.
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *out = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automations_call_their_owners_automations_sync_and_async() {
    let server = start_server_in(tempfile::tempdir().expect("tmp"));
    let api = Api::new(&server);
    let alice = create_user(&api, "alice").await;
    let bob = create_user(&api, "bob").await;
    create(&api, &alice, doubler("child")).await;
    let parent = create(
        &api,
        &alice,
        json!({
            "weft": "automation/v1", "id": "parent", "name": "parent",
            "blocks": [
                {"id": "Start", "type": "start"},
                {"id": "Call", "type": "call_automation", "automation": "child", "inputs": {"n": "{$.Start.n}"}},
                {"id": "Later", "type": "call_automation", "automation": "child", "mode": "async", "inputs": {"n": 100}},
                {"id": "Out", "type": "output", "mode": "set",
                 "value": {"sync": "{$.Call.doubled}", "async_run": "{$.Later.run_id}"}}
            ],
            "edges": [{"from": "Start", "to": "Call"}, {"from": "Call", "to": "Later"}, {"from": "Later", "to": "Out"}]
        }),
    )
    .await;
    let token = parent["execution_token"].as_str().expect("token");
    let (s, out) = execute(&api, "parent", token, json!({"n": 21})).await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["sync"], 42);
    let async_run = out["async_run"].as_str().expect("run id");
    let child = wait_for_end(&api, &alice, async_run).await;
    assert_eq!(child["run"]["status"], "finished", "{child}");
    assert_eq!(child["run"]["output"]["doubled"], 200);
    assert_eq!(child["run"]["trigger"]["kind"], "automation");
    assert_eq!(
        child["run"]["trigger"]["detail"]["call_stack"],
        json!(["parent"])
    );

    // Calling itself is refused when it is saved.
    let (s, err) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(&alice),
            Some(json!({
                "weft": "automation/v1", "id": "loop", "name": "loop",
                "blocks": [{"id": "Start", "type": "start"},
                           {"id": "Again", "type": "call_automation", "automation": "loop"}],
                "edges": [{"from": "Start", "to": "Again"}]
            })),
        )
        .await;
    assert_eq!(s, 422, "{err}");
    assert!(err.to_string().contains("cannot call itself"), "{err}");

    // Bob cannot reach alice's automation through a call.
    let sneaky = create(
        &api,
        &bob,
        json!({
            "weft": "automation/v1", "id": "sneaky", "name": "sneaky",
            "blocks": [{"id": "Start", "type": "start"},
                       {"id": "Call", "type": "call_automation", "automation": "child", "inputs": {"n": 1}}],
            "edges": [{"from": "Start", "to": "Call"}]
        }),
    )
    .await;
    let (s, err) = execute(
        &api,
        "sneaky",
        sneaky["execution_token"].as_str().expect("token"),
        json!({}),
    )
    .await;
    assert_eq!(s, 422, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("child")),
        "{err}"
    );
}

fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

async fn post_signed(api: &Api, id: &str, signature: &str, body: &[u8]) -> (u16, Value) {
    let resp = api
        .http
        .post(format!("{}/hooks/{id}", api.base))
        .header("X-Weft-Signature", signature)
        .header("Content-Type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .expect("hook");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn secret_of(webhook_path: &str) -> String {
    webhook_path
        .rsplit('/')
        .next()
        .expect("secret segment")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_webhooks_survive_a_key_rotation() {
    let data = tempfile::tempdir().expect("tmp");
    let mut server = start_server_in(data);
    let api = Api::new(&server);
    let alice = create_user(&api, "alice").await;
    let a = create(&api, &alice, doubler("hooked")).await;
    let secret = secret_of(a["webhook_path"].as_str().expect("path"));
    let body = br#"{"n": 5}"#;

    let (s, accepted) = post_signed(&api, "hooked", &sign(&secret, now(), body), body).await;
    assert_eq!(s, 202, "{accepted}");
    let run = wait_for_end(&api, &alice, accepted["run_id"].as_str().expect("id")).await;
    assert_eq!(run["run"]["output"]["doubled"], 10, "{run}");
    for (what, signature) in [
        ("wrong secret", sign("not-the-secret", now(), body)),
        ("stale timestamp", sign(&secret, now() - 3600, body)),
        ("garbage", "v1=zz".to_string()),
    ] {
        let (s, err) = post_signed(&api, "hooked", &signature, body).await;
        assert_eq!(s, 401, "{what}: {err}");
        assert_eq!(err["error"]["code"], "signature_invalid", "{what}");
    }
    // Another body under a valid signature is refused too.
    let (s, _) = post_signed(&api, "hooked", &sign(&secret, now(), body), b"{\"n\": 6}").await;
    assert_eq!(s, 401);

    // Rotate the key with the server stopped; the secret still verifies.
    server.stop();
    let data_path = server.data.path().to_path_buf();
    let old_key = std::fs::read_to_string(data_path.join("secret.key")).expect("key");
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["secret-key", "rotate", "--json"])
        .env("WEFT_DATA_DIR", &data_path)
        .env_remove("WEFT_SECRET_KEY")
        .output()
        .expect("rotate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["webhook_secrets"], 1, "{report}");
    let new_key = std::fs::read_to_string(data_path.join("secret.key")).expect("key");
    assert_ne!(old_key, new_key);
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().expect("tmp"));
    drop(server);
    let mut server = start_server_in(data);
    let api = Api::new(&server);
    // A new request (another timestamp): the first one's signature is
    // accepted only once, and the restart may come within its second.
    let (s, accepted) = post_signed(&api, "hooked", &sign(&secret, now() + 1, body), body).await;
    assert_eq!(s, 202, "{accepted}");

    // A store with encrypted connections but no key refuses to start
    // rather than mint a key that opens nothing.
    let (s, _) = api
        .call(
            "POST",
            "/api/v1/connections",
            Some(&alice),
            Some(json!({"connector": "slack", "name": "bot",
                        "auth": {"kind": "bearer", "token": "xoxb-keep-me"}})),
        )
        .await;
    assert_eq!(s, 201);
    server.stop();
    std::fs::rename(
        server.data.path().join("secret.key"),
        server.data.path().join("secret.key.elsewhere"),
    )
    .expect("move the key away");
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("WEFT_DATA_DIR", server.data.path())
        .env_remove("WEFT_SECRET_KEY")
        .output()
        .expect("serve");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("holds encrypted connections") && stderr.contains("secret.key"),
        "{stderr}"
    );
    assert!(!server.data.path().join("secret.key").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_carry_connection_references_and_imports_map_them() {
    let server = start_server_in(tempfile::tempdir().expect("tmp"));
    let api = Api::new(&server);
    let alice = create_user(&api, "alice").await;
    let bob = create_user(&api, "bob").await;
    let secret = "xoxb-export-must-not-carry-this";
    let (s, conn) = api
        .call(
            "POST",
            "/api/v1/connections",
            Some(&alice),
            Some(json!({"connector": "slack", "name": "Team bot",
                        "auth": {"kind": "bearer", "token": secret}})),
        )
        .await;
    assert_eq!(s, 201, "{conn}");
    let alice_conn = conn["id"].as_str().expect("id").to_string();
    let doc = |connection: &str| {
        json!({
            "weft": "automation/v1", "id": "notify", "name": "notify",
            "blocks": [
                {"id": "Start", "type": "start"},
                {"id": "Post", "type": "connector", "connector": "slack", "block": "send-message",
                 "connection": connection, "inputs": {"channel": "C1", "text": "hi"}}
            ],
            "edges": [{"from": "Start", "to": "Post"}]
        })
    };
    // A connection that is not the owner's is refused at save time.
    let (s, err) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(&bob),
            Some(doc(&alice_conn)),
        )
        .await;
    assert_eq!(s, 422, "{err}");
    create(&api, &alice, doc(&alice_conn)).await;
    let (s, exported) = api
        .call(
            "GET",
            "/api/v1/automations/notify/export",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(s, 200, "{exported}");
    assert!(!exported.to_string().contains(secret));
    assert_eq!(
        exported["connections"],
        json!([{"ref": alice_conn, "connector": "slack", "auth_kind": "bearer", "name": "Team bot"}])
    );
    let mut for_bob = exported.clone();
    for_bob["id"] = json!("notify-bob");

    // Bob has no Slack connection: nothing is created, the answer says what to make.
    let (s, err) = api
        .call(
            "POST",
            "/api/v1/automations/import",
            Some(&bob),
            Some(for_bob.clone()),
        )
        .await;
    assert_eq!(s, 422, "{err}");
    assert_eq!(err["error"]["code"], "connections_required");
    assert_eq!(err["error"]["details"]["missing"][0]["ref"], alice_conn);
    assert_eq!(err["error"]["details"]["missing"][0]["connector"], "slack");
    let (s, _) = api
        .call("GET", "/api/v1/automations/notify-bob", Some(&bob), None)
        .await;
    assert_eq!(s, 404);

    // With a Slack connection of his own (same name), it maps onto it.
    let (_, mine) = api
        .call(
            "POST",
            "/api/v1/connections",
            Some(&bob),
            Some(json!({"connector": "slack", "name": "Team bot",
                        "auth": {"kind": "bearer", "token": "xoxb-bobs"}})),
        )
        .await;
    let bob_conn = mine["id"].as_str().expect("id").to_string();
    let (s, imported) = api
        .call(
            "POST",
            "/api/v1/automations/import",
            Some(&bob),
            Some(for_bob.clone()),
        )
        .await;
    assert_eq!(s, 201, "{imported}");
    assert_eq!(imported["connections_mapped"][&alice_conn], bob_conn);
    assert_eq!(imported["document"]["blocks"][1]["connection"], bob_conn);
    assert_eq!(imported["owner"], "bob");

    // An explicit map must name one of the importer's connections.
    for_bob["id"] = json!("notify-bob-2");
    let (s, err) = api
        .call(
            "POST",
            "/api/v1/automations/import",
            Some(&bob),
            Some(json!({"automation": for_bob, "connections": {alice_conn.clone(): alice_conn.clone()}})),
        )
        .await;
    assert_eq!(s, 400, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth2_token_url_outside_the_grant_is_never_contacted() {
    // No grant for slack: its manifest's token URL is off limits, so the
    // server refuses to start an authorization that would send the client
    // secret there.
    let server = start_server_in(tempfile::tempdir().expect("tmp"));
    let api = Api::new(&server);
    let alice = create_user(&api, "alice").await;
    let (s, conn) = api
        .call(
            "POST",
            "/api/v1/connections",
            Some(&alice),
            Some(json!({"connector": "slack", "name": "oauth",
                        "auth": {"kind": "oauth2-code", "client_id": "cid", "client_secret": "csecret"}})),
        )
        .await;
    assert_eq!(s, 201, "{conn}");
    assert_eq!(conn["status"], "needs_authorization");
    let id = conn["id"].as_str().expect("id");
    let (s, err) = api
        .call(
            "POST",
            &format!("/api/v1/connections/{id}/actions/authorize"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(s, 400, "{err}");
    let message = err["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("https://slack.com/api/oauth.v2.access")
            && message.contains("--allow slack=https://slack.com"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_429_and_takes_runs_again_once_it_drains() {
    let server = start_server_with(
        tempfile::tempdir().expect("tmp"),
        &["--max-queued-per-automation", "2"],
    );
    let api = Api::new(&server);
    let alice = create_user(&api, "alice").await;
    let a = create(&api, &alice, sleepy("busy", 600)).await;
    let token = a["execution_token"].as_str().expect("token").to_string();
    let trigger = |order: u32| {
        let (api, token) = (&api, token.clone());
        async move {
            let resp = api
                .http
                .post(format!(
                    "{}/api/v1/automations/busy/actions/execute?async=true",
                    api.base
                ))
                .header("X-Execution-Token", token)
                .json(&json!({ "order": order }))
                .send()
                .await
                .expect("execute");
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            (status, retry_after, body)
        }
    };
    // One running (concurrency 1), then two waiting: the cap.
    let (s, _, first) = trigger(1).await;
    assert_eq!(s, 202, "{first}");
    let first_id = first["run_id"].as_str().expect("id").to_string();
    common::wait_for_status(&api, &alice, &first_id, "running").await;
    let mut waiting = Vec::new();
    for order in [2, 3] {
        let (s, _, body) = trigger(order).await;
        assert_eq!(s, 202, "{body}");
        waiting.push(body["run_id"].as_str().expect("id").to_string());
    }
    let (s, retry_after, body) = trigger(4).await;
    assert_eq!(s, 429, "{body}");
    assert_eq!(body["error"]["code"], "queue_full");
    assert_eq!(retry_after.as_deref(), Some("1"));
    // Nothing accepted is lost, and once they drain a trigger is taken again.
    for id in waiting.iter().chain([&first_id]) {
        let run = wait_for_end(&api, &alice, id).await;
        assert_eq!(run["run"]["status"], "finished", "{run}");
    }
    let (s, _, body) = trigger(5).await;
    assert_eq!(s, 202, "{body}");
}

/// `--load` maps connection references as import does, and refuses the
/// whole set when one file is bad: nothing of it is loaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_maps_connections_and_refuses_a_set_with_a_bad_file_whole() {
    let data = tempfile::tempdir().expect("tmp");
    let mut server = start_server_in(data);
    let api = Api::new(&server);
    let (s, connection) = api
        .call(
            "POST",
            "/api/v1/connections",
            Some(ADMIN),
            Some(json!({
                "connector": "slack", "name": "Team Slack",
                "auth": {"kind": "bearer", "token": "xoxb-load-test"},
            })),
        )
        .await;
    assert_eq!(s, 201, "{connection}");
    let connection_id = connection["id"].as_str().expect("id").to_string();
    server.stop();
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().expect("tmp"));
    drop(server);

    // An exported automation: its reference is another server's id.
    let files = tempfile::tempdir().expect("tmp");
    let post = json!({
        "weft": "automation/v1", "id": "post-load", "name": "Post",
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Post", "type": "connector", "connector": "slack", "block": "send-message",
             "connection": "conn-from-elsewhere",
             "inputs": {"channel": "C0000000000", "text": "{$.Start.text}"}}
        ],
        "edges": [{"from": "Start", "to": "Post"}],
        "connections": [{"ref": "conn-from-elsewhere", "connector": "slack",
                         "auth_kind": "bearer", "name": "Team Slack"}]
    });
    std::fs::write(files.path().join("a-post.json"), post.to_string()).expect("write");
    let mut bad = doubler("b-bad");
    bad["blocks"][1]["block"] = json!("no-such-block");
    std::fs::write(files.path().join("b-bad.json"), bad.to_string()).expect("write");
    std::fs::write(
        files.path().join("c-good.json"),
        doubler("c-good").to_string(),
    )
    .expect("write");

    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["serve", "--listen", "127.0.0.1:0", "--load"])
        .arg(files.path())
        .env("WEFT_DATA_DIR", data.path())
        .env("WEFT_CACHE_DIR", data.path().join("cache"))
        .env("WEFT_ADMIN_TOKEN", ADMIN)
        .env_remove("WEFT_SECRET_KEY")
        .env_remove("WEFT_CONFIG")
        .output()
        .expect("weft serve");
    assert_eq!(
        out.status.code(),
        Some(4),
        "a set with a bad file was loaded"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 of the 3 files given to --load cannot be loaded, so none was")
            && stderr.contains("b-bad.json")
            && stderr.contains("no-such-block"),
        "{stderr}"
    );

    // Nothing of the set was stored; without the bad file, all of it is,
    // the reference mapped to this server's connection.
    std::fs::remove_file(files.path().join("b-bad.json")).expect("rm");
    let files_arg = files.path().to_str().expect("utf-8").to_string();
    let server = start_server_with(data, &["--load", &files_arg]);
    let api = Api::new(&server);
    let (s, a) = api
        .call("GET", "/api/v1/automations/post-load", Some(ADMIN), None)
        .await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(
        a["document"]["blocks"][1]["connection"],
        json!(connection_id),
        "{a}"
    );
    assert!(a["document"].get("connections").is_none(), "{a}");
    let (_, list) = api
        .call("GET", "/api/v1/automations", Some(ADMIN), None)
        .await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2), "{list}");
}
