//! The API's contract at its edges, through a real `weft serve` process:
//! the identifier rule for ids users choose, paged lists with cursors and
//! filters, signed-webhook replays, and the JSON error format of every
//! layer (unknown routes, wrong methods, body limits, bad paths and query
//! strings).

mod common;

use common::{ADMIN, Api, create_user, start_server, start_server_in};
use hmac::Mac;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::process::Command;

/// An automation that answers at once with `{"n": $.Start.n}`.
fn echo(id: &str) -> Value {
    json!({
        "weft": "automation/v1", "id": id, "name": id,
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Out", "type": "output", "mode": "set", "value": {"n": "{$.Start.n}"}}
        ],
        "edges": [{"from": "Start", "to": "Out"}]
    })
}

async fn create(api: &Api, token: &str, doc: Value) -> Value {
    let (s, a) = api
        .call("POST", "/api/v1/automations", Some(token), Some(doc))
        .await;
    assert_eq!(s, 201, "{a}");
    a
}

/// The 422 answer names `field` among its validation details.
fn names_field(body: &Value, field: &str) -> bool {
    body["error"]["details"]
        .as_array()
        .is_some_and(|d| d.iter().any(|e| e["field"] == field))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_outside_the_identifier_rule_are_refused_wherever_they_enter() {
    let server = start_server();
    let api = Api::new(&server);
    let alice = create_user(&api, "alice").await;
    let huge = "x".repeat(100_000);
    for bad in [
        "../../etc",
        "x/y",
        "a\0b",
        "a\nb",
        "a b",
        "a.b",
        "",
        huge.as_str(),
    ] {
        let (s, body) = api
            .call("POST", "/api/v1/automations", Some(&alice), Some(echo(bad)))
            .await;
        assert_eq!(s, 422, "create {bad:.20?}: {body:.300}");
        assert_eq!(body["error"]["code"], "invalid_automation");
        assert!(names_field(&body, "id"), "{body:.300}");
        assert!(
            body.to_string().len() < 2_000,
            "a refused id is not echoed whole: {} bytes",
            body.to_string().len()
        );
        // Import goes through the same rule.
        let (s, body) = api
            .call(
                "POST",
                "/api/v1/automations/import",
                Some(&alice),
                Some(echo(bad)),
            )
            .await;
        assert_eq!(s, 422, "import {bad:.20?}: {body:.300}");
        assert!(names_field(&body, "id"), "{body:.300}");
    }

    // Block ids and variable names follow the same rule.
    let mut doc = echo("blocks-bad");
    doc["blocks"][1]["id"] = json!("Out/1");
    doc["edges"][0]["to"] = json!("Out/1");
    let (s, body) = api
        .call("POST", "/api/v1/automations", Some(&alice), Some(doc))
        .await;
    assert_eq!(s, 422, "{body}");
    assert!(names_field(&body, "blocks[1].id"), "{body}");
    let mut doc = echo("variables-bad");
    doc["variables"] = json!({"a b": 1});
    let (s, body) = api
        .call("POST", "/api/v1/automations", Some(&alice), Some(doc))
        .await;
    assert_eq!(s, 422, "{body}");
    assert!(names_field(&body, "variables.a b"), "{body}");

    // The longest id allowed works end to end, webhook path included.
    let longest = "a".repeat(64);
    let a = create(&api, &alice, echo(&longest)).await;
    let hook = a["webhook_path"].as_str().expect("webhook path");
    let resp = api.hook(hook, json!({"n": 1})).await;
    assert_eq!(resp.status().as_u16(), 202);

    // Replacing a document (PUT) cannot bring a bad id in either.
    let (s, body) = api
        .call(
            "PUT",
            &format!("/api/v1/automations/{longest}"),
            Some(&alice),
            Some(json!({"version": 1, "document": echo("x/y")})),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    assert!(names_field(&body, "id"), "{body}");

    // Nor can `weft serve --load`: the server refuses to start.
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("bad.json");
    std::fs::write(&file, echo("../../etc").to_string()).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["serve", "--listen", "127.0.0.1:0", "--load"])
        .arg(&file)
        .env("WEFT_DATA_DIR", dir.path().join("data"))
        .env("WEFT_ADMIN_TOKEN", ADMIN)
        .env_remove("WEFT_SECRET_KEY")
        .env_remove("WEFT_CONFIG")
        .output()
        .expect("weft serve");
    assert!(!out.status.success(), "a bad id was loaded");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("id") && stderr.contains("letters, digits"),
        "{stderr}"
    );
}

/// Walk `path` (which has a `?`) page by page; every item, in order.
async fn walk(api: &Api, token: &str, path: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_string(),
        };
        let (s, page) = api.call("GET", &url, Some(token), None).await;
        assert_eq!(s, 200, "{url}: {page:.300}");
        pages += 1;
        assert!(pages < 1_000, "the walk does not end");
        items.extend(page["items"].as_array().cloned().expect("items"));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => {
                assert!(
                    page.get("next_cursor").is_some(),
                    "no next_cursor field: {page:.300}"
                );
                return (items, pages);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_run_of_an_automation_can_be_walked_in_pages_with_filters() {
    const RUNS: usize = 1_500;
    let server = start_server();
    let api = Api::new(&server);
    let alice = create_user(&api, "alice").await;
    let a = create(&api, &alice, echo("busy")).await;
    let token = a["execution_token"].as_str().expect("token").to_string();
    create(&api, &alice, echo("quiet")).await;

    // 1,500 API-call runs of `busy`, 8 callers at a time, then 3 manual
    // runs of `quiet` in between the last of them.
    let started = std::time::Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut callers = Vec::new();
    for _ in 0..8 {
        let (http, base, token, next) = (
            api.http.clone(),
            api.base.clone(),
            token.clone(),
            next.clone(),
        );
        callers.push(tokio::spawn(async move {
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < RUNS {
                let resp = http
                    .post(format!("{base}/api/v1/automations/busy/actions/execute"))
                    .header("X-Execution-Token", &token)
                    .json(&json!({"n": 1}))
                    .send()
                    .await
                    .expect("execute");
                assert_eq!(resp.status().as_u16(), 200);
            }
        }));
    }
    for c in callers {
        c.await.expect("caller");
    }
    // Runs made in the same millisecond as `mid` would count as after it.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let mid = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    for _ in 0..3 {
        let (s, body) = api
            .call(
                "POST",
                "/api/v1/automations/quiet/runs",
                Some(&alice),
                Some(json!({"input": {"n": 2}})),
            )
            .await;
        assert_eq!(s, 202, "{body}");
    }
    eprintln!("{RUNS} runs made in {:?}", started.elapsed());

    // Today's cap was 500 with no way on: now every run, once, newest first.
    let (runs, pages) = walk(&api, &alice, "/api/v1/runs?automation=busy&limit=500").await;
    assert_eq!(runs.len(), RUNS);
    assert!(pages >= RUNS / 500, "{pages} pages");
    let ids: HashSet<&str> = runs.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids.len(), RUNS, "a run came twice");
    assert!(
        runs.windows(2)
            .all(|w| w[0]["id"].as_str() > w[1]["id"].as_str()),
        "not newest first"
    );
    assert!(
        runs.iter()
            .all(|r| r["automation_id"] == "busy" && r["trigger"] == "api")
    );

    // Filters: trigger, status, time range, and their combination.
    let (manual, _) = walk(&api, &alice, "/api/v1/runs?trigger=manual").await;
    assert_eq!(manual.len(), 3);
    assert!(manual.iter().all(|r| r["automation_id"] == "quiet"));
    let (recent, _) = walk(&api, &alice, &format!("/api/v1/runs?since={mid}&limit=2")).await;
    assert_eq!(recent.len(), 3, "{recent:?}");
    let (older, _) = walk(
        &api,
        &alice,
        &format!("/api/v1/runs?until={mid}&automation=quiet"),
    )
    .await;
    assert!(older.is_empty(), "{older:?}");
    let (done, _) = walk(
        &api,
        &alice,
        "/api/v1/runs?automation=busy&status=finished,failed&limit=500",
    )
    .await;
    assert_eq!(done.len(), RUNS);
    let (failed, _) = walk(&api, &alice, "/api/v1/runs?status=failed").await;
    assert!(failed.is_empty());
    let (rfc, _) = walk(
        &api,
        &alice,
        "/api/v1/runs?automation=quiet&since=2000-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(rfc.len(), 3);

    // Another user sees none of them; bad parameters are refused, naming them.
    let bob = create_user(&api, "bob").await;
    let (theirs, _) = walk(&api, &bob, "/api/v1/runs?limit=500").await;
    assert!(theirs.is_empty());
    for (query, code) in [
        ("limit=501", "limit_out_of_range"),
        ("limit=0", "limit_out_of_range"),
        ("cursor=not-a-cursor", "invalid_cursor"),
        ("status=done", "bad_request"),
        ("since=yesterday", "bad_request"),
        ("limit=abc", "bad_request"),
        ("automaton=busy", "bad_request"),
    ] {
        let (s, body) = api
            .call("GET", &format!("/api/v1/runs?{query}"), Some(&alice), None)
            .await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (400, Some(code)),
            "{query}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automations_are_listed_in_pages_in_every_sort() {
    let server = start_server();
    let api = Api::new(&server);
    let alice = create_user(&api, "alice").await;
    for i in 0..7 {
        let mut doc = echo(&format!("auto-{i}"));
        // Two share a name: the id breaks the tie, so none is lost.
        doc["name"] = json!(if i < 2 {
            "Same".to_string()
        } else {
            format!("Name {i}")
        });
        create(&api, &alice, doc).await;
    }
    for sort in [
        "name",
        "-name",
        "updated_at",
        "-updated_at",
        "owner",
        "enabled",
        "id",
        "-id",
    ] {
        let (all, pages) = walk(
            &api,
            &alice,
            &format!("/api/v1/automations?sort={sort}&limit=2"),
        )
        .await;
        assert_eq!(pages, 4, "{sort}");
        let ids: Vec<&str> = all.iter().filter_map(|a| a["id"].as_str()).collect();
        let unique: HashSet<&&str> = ids.iter().collect();
        assert_eq!(unique.len(), 7, "{sort}: {ids:?}");
        let (s, one_page) = api
            .call(
                "GET",
                &format!("/api/v1/automations?sort={sort}&limit=500"),
                Some(&alice),
                None,
            )
            .await;
        assert_eq!(s, 200);
        let in_one: Vec<&str> = one_page["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|a| a["id"].as_str())
            .collect();
        assert_eq!(ids, in_one, "{sort}: pages follow the one-page order");
    }
    // A cursor is tied to its sort.
    let (_, first) = api
        .call(
            "GET",
            "/api/v1/automations?sort=name&limit=2",
            Some(&alice),
            None,
        )
        .await;
    let cursor = first["next_cursor"].as_str().expect("cursor");
    let (s, body) = api
        .call(
            "GET",
            &format!("/api/v1/automations?sort=-name&cursor={cursor}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("invalid_cursor")),
        "{body}"
    );
    let (s, body) = api
        .call(
            "GET",
            "/api/v1/automations?limit=100000",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("limit_out_of_range")),
        "{body}"
    );
    assert_eq!(body["error"]["details"]["max"], 500);
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

async fn run_count(api: &Api, token: &str, automation: &str) -> usize {
    walk(
        api,
        token,
        &format!("/api/v1/runs?automation={automation}&limit=500"),
    )
    .await
    .0
    .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_signed_webhook_is_refused_even_after_a_restart() {
    let mut server = start_server();
    let api = Api::new(&server);
    let alice = create_user(&api, "alice").await;
    let a = create(&api, &alice, echo("signed")).await;
    let secret = a["webhook_path"]
        .as_str()
        .and_then(|p| p.rsplit('/').next())
        .expect("secret")
        .to_string();
    let body = br#"{"n": 7}"#;
    let signature = sign(&secret, now(), body);

    let (s, first) = post_signed(&api, "signed", &signature, body).await;
    assert_eq!(s, 202, "{first}");
    let (s, replay) = post_signed(&api, "signed", &signature, body).await;
    assert_eq!(s, 409, "{replay}");
    assert_eq!(replay["error"]["code"], "webhook_replayed");
    assert_eq!(replay["error"]["details"]["run_id"], first["run_id"]);

    // Remembered on disk: a restart (even a kill) does not forget it.
    let _ = server.child.kill();
    let _ = server.child.wait();
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().expect("tmp"));
    drop(server);
    let server = start_server_in(data);
    let api = Api::new(&server);
    let (s, replay) = post_signed(&api, "signed", &signature, body).await;
    assert_eq!(
        (s, replay["error"]["code"].as_str()),
        (409, Some("webhook_replayed")),
        "{replay}"
    );

    // A new request (a new timestamp or another body) is a new run.
    let other = br#"{"n": 8}"#;
    let (s, second) = post_signed(&api, "signed", &sign(&secret, now(), other), other).await;
    assert_eq!(s, 202, "{second}");
    assert_eq!(run_count(&api, &alice, "signed").await, 2);

    // A request that was not accepted (automation disabled) may be sent
    // again as it is once the automation is enabled.
    let (s, _) = api
        .call(
            "PATCH",
            "/api/v1/automations/signed",
            Some(&alice),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(s, 200);
    let third = br#"{"n": 9}"#;
    let signature = sign(&secret, now(), third);
    let (s, refused) = post_signed(&api, "signed", &signature, third).await;
    assert_eq!(
        (s, refused["error"]["code"].as_str()),
        (409, Some("automation_disabled"))
    );
    let (s, _) = api
        .call(
            "PATCH",
            "/api/v1/automations/signed",
            Some(&alice),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, accepted) = post_signed(&api, "signed", &signature, third).await;
    assert_eq!(s, 202, "{accepted}");
    assert_eq!(run_count(&api, &alice, "signed").await, 3);
}

/// Method, path, token, body, expected status, expected code.
type Case<'a> = (&'a str, String, Option<&'a str>, Vec<u8>, u16, &'a str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_answer_is_the_json_error_whatever_layer_made_it() {
    let server = start_server();
    let api = Api::new(&server);
    let alice = create_user(&api, "alice").await;
    let a = create(&api, &alice, echo("limits")).await;
    let hook = a["webhook_path"].as_str().expect("path").to_string();

    async fn raw(
        api: &Api,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut req = api
            .http
            .request(
                method.parse().expect("method"),
                format!("{}{path}", api.base),
            )
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        // The server may answer a too-large body and close before the
        // client has sent it all; the answer is read when it gets through.
        let resp = match req.try_clone().expect("clonable").send().await {
            Ok(resp) => resp,
            Err(_) => req.send().await.expect("request"),
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path}: {status} answered {text:?}, not JSON"));
        (status, body, headers)
    }

    let cases: Vec<Case> = vec![
        ("GET", "/nowhere".into(), None, vec![], 404, "not_found"),
        (
            "GET",
            "/api/v1/nothing-here".into(),
            Some(&alice),
            vec![],
            404,
            "not_found",
        ),
        (
            "DELETE",
            "/api/v1/runs".into(),
            Some(&alice),
            vec![],
            405,
            "method_not_allowed",
        ),
        (
            "PUT",
            "/healthz".into(),
            None,
            vec![],
            405,
            "method_not_allowed",
        ),
        (
            "GET",
            "/api/v1/runs?limit=-1".into(),
            Some(&alice),
            vec![],
            400,
            "bad_request",
        ),
        (
            "GET",
            "/api/v1/automations?enabled=maybe".into(),
            Some(&alice),
            vec![],
            400,
            "bad_request",
        ),
        (
            "GET",
            "/api/v1/runs/%FF%FE".into(),
            Some(&alice),
            vec![],
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/v1/automations".into(),
            Some(&alice),
            b"{not json".to_vec(),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/api/v1/automations".into(),
            Some(&alice),
            vec![b' '; 3 << 20],
            413,
            "payload_too_large",
        ),
        (
            "POST",
            hook.clone(),
            None,
            vec![b' '; 5000],
            413,
            "payload_too_large",
        ),
        (
            "POST",
            "/hooks/limits".into(),
            None,
            vec![b' '; 5000],
            413,
            "payload_too_large",
        ),
    ];
    for (method, path, token, body, status, code) in cases {
        let at = format!("{method} {path:.60}");
        let (s, answer, headers) = raw(&api, method, &path, token, body).await;
        assert_eq!(s, status, "{at}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{at}: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{at}: {answer}"
        );
        match code {
            "payload_too_large" => {
                // The harness starts the server with --max-webhook-bytes 4096.
                let limit = if path.starts_with("/hooks/") {
                    4096
                } else {
                    2 << 20
                };
                assert_eq!(
                    answer["error"]["details"]["limit_bytes"], limit,
                    "{at}: {answer}"
                );
            }
            "method_not_allowed" => {
                assert!(headers.get("allow").is_some(), "{at}: no Allow header");
                assert!(
                    answer["error"]["details"]["allowed"].is_array(),
                    "{at}: {answer}"
                );
            }
            _ => {}
        }
    }
}

/// Requests that disagreed with openapi.json before schemathesis ran
/// against the server (`schemathesis.rs` keeps the whole document honest;
/// these pin each class it found): what the document forbids is refused,
/// what it allows is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edges_schemathesis_found_hold() {
    let server = start_server();
    let api = Api::new(&server);
    for id in ["e-a", "e-b", "e-c"] {
        create(&api, ADMIN, echo(id)).await;
    }
    let (s, page) = api
        .call("GET", "/api/v1/automations?limit=1", Some(ADMIN), None)
        .await;
    assert_eq!(s, 200, "{page}");
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();

    // (method, path, body, status, code): code `None` for a success.
    type Case = (
        &'static str,
        String,
        Option<Value>,
        u16,
        Option<&'static str>,
    );
    let cases: Vec<Case> = vec![
        // A role that is not a role name was read as the default role.
        (
            "POST",
            "/api/v1/users".into(),
            Some(json!({"name": "u1", "role": {}})),
            400,
            Some("bad_request"),
        ),
        (
            "POST",
            "/api/v1/users".into(),
            Some(json!({"name": "u2", "role": null})),
            400,
            Some("bad_request"),
        ),
        // Names are checked as sent; the pattern has no room for spaces.
        (
            "POST",
            "/api/v1/users".into(),
            Some(json!({"name": " u3"})),
            400,
            Some("bad_request"),
        ),
        (
            "POST",
            "/api/v1/users".into(),
            Some(json!({"name": "u4", "role": "admin"})),
            201,
            None,
        ),
        // Dates the pattern allowed but the calendar does not, and
        // spellings the document does not promise.
        (
            "GET",
            "/api/v1/runs?status=failed,stopped&until=2026-13-31T00:00:00Z".into(),
            None,
            400,
            Some("bad_request"),
        ),
        (
            "GET",
            "/api/v1/runs?until=2026-01-31t00:00:00z".into(),
            None,
            400,
            Some("bad_request"),
        ),
        (
            "GET",
            "/api/v1/runs?since=%2B5".into(),
            None,
            400,
            Some("bad_request"),
        ),
        (
            "GET",
            "/api/v1/runs?status=failed,stopped&until=2026-01-31T00:00:00%2B01:00".into(),
            None,
            200,
            None,
        ),
        (
            "GET",
            "/api/v1/runs?since=-999999999999999999".into(),
            None,
            200,
            None,
        ),
        // Empty filters match nothing and are refused.
        (
            "GET",
            "/api/v1/runs?automation=".into(),
            None,
            400,
            Some("bad_request"),
        ),
        (
            "GET",
            "/api/v1/connections?connector=".into(),
            None,
            400,
            Some("bad_request"),
        ),
        (
            "GET",
            "/api/v1/automations?owner=".into(),
            None,
            400,
            Some("bad_request"),
        ),
        // Cursor and offset together: the offset counts from the cursor.
        (
            "GET",
            format!("/api/v1/automations?limit=1&offset=1&cursor={cursor}"),
            None,
            200,
            None,
        ),
        // Bodies are objects: serde would read an array as a struct.
        (
            "PATCH",
            "/api/v1/automations/e-a".into(),
            Some(json!([null, null])),
            400,
            Some("bad_request"),
        ),
        (
            "POST",
            "/api/v1/automations/e-a/runs".into(),
            Some(json!([])),
            400,
            Some("bad_request"),
        ),
        // A whole number written as a float is an integer in JSON Schema.
        (
            "PATCH",
            "/api/v1/automations/e-a".into(),
            Some(json!({"rate_limit_per_minute": 5.0})),
            200,
            None,
        ),
        (
            "PATCH",
            "/api/v1/automations/e-a".into(),
            Some(json!({"rate_limit_per_minute": 5.5})),
            400,
            Some("bad_request"),
        ),
        // Things the body names that the server does not have: 422.
        (
            "PATCH",
            "/api/v1/automations/e-a".into(),
            Some(json!({"owner": "nobody"})),
            422,
            Some("unknown_user"),
        ),
        (
            "PUT",
            "/api/v1/automations/e-b".into(),
            Some(json!({"version": 1.0, "document": echo("e-c")})),
            422,
            Some("invalid_automation"),
        ),
        (
            "POST",
            "/api/v1/connections".into(),
            Some(
                json!({"connector": "nope", "name": "n", "auth": {"kind": "bearer", "token": "t"}}),
            ),
            422,
            Some("invalid_connection"),
        ),
        (
            "POST",
            "/api/v1/connections".into(),
            Some(
                json!({"connector": "slack", "name": "n", "auth": {"kind": "api-key", "key": "k"}}),
            ),
            422,
            Some("invalid_connection"),
        ),
        // Nulls, empty secrets and blank names where the document wants values.
        (
            "POST",
            "/api/v1/connections".into(),
            Some(
                json!({"connector": "slack", "name": "n", "auth": {"kind": "bearer", "token": null}}),
            ),
            400,
            Some("bad_request"),
        ),
        (
            "POST",
            "/api/v1/connections".into(),
            Some(
                json!({"connector": "slack", "name": "n", "auth": {"kind": "oauth2-code", "client_id": "c", "client_secret": ""}}),
            ),
            400,
            Some("bad_request"),
        ),
        (
            "POST",
            "/api/v1/connections".into(),
            Some(
                json!({"connector": "slack", "name": " \u{3000}", "auth": {"kind": "bearer", "token": "t"}}),
            ),
            400,
            Some("bad_request"),
        ),
        (
            "POST",
            "/api/v1/connections".into(),
            Some(json!({"connector": "slack", "name": "n", "auth": ["bearer", "t"]})),
            400,
            Some("bad_request"),
        ),
        // The OAuth2 callback: empty values and a missing state are
        // malformed; an unknown state is unknown, whatever else is sent.
        (
            "GET",
            "/oauth/callback?state=&code=c".into(),
            None,
            400,
            Some("bad_request"),
        ),
        (
            "GET",
            "/oauth/callback?code=c".into(),
            None,
            400,
            Some("bad_request"),
        ),
        (
            "GET",
            "/oauth/callback?state=s".into(),
            None,
            400,
            Some("oauth_state_invalid"),
        ),
    ];
    for (method, path, body, status, code) in cases {
        let (s, answer) = api.call(method, &path, Some(ADMIN), body.clone()).await;
        assert_eq!(
            (s, answer["error"]["code"].as_str()),
            (status, code),
            "{method} {path} {body:?}: {answer}"
        );
    }
}
