//! The browser console through the real `weft serve` process: the
//! embedded app under its Content-Security-Policy, sign-in with the
//! password printed at the first start, session cookies and CSRF, the
//! live run-events stream — and then the Playwright suite
//! (`host/console/e2e/console.e2e.mjs`) driving Debian's Chromium through
//! every screen.

mod common;

use common::{ADMIN, Api, Server, start_server};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The first admin's console password, as `weft serve` printed it.
fn admin_password(server: &Server) -> String {
    let output = server.output();
    output
        .lines()
        .find_map(|l| {
            l.strip_prefix("the admin's console password (shown once; change it with `weft user set-password admin`): ")
        })
        .unwrap_or_else(|| panic!("no admin password printed:\n{output}"))
        .trim()
        .to_string()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A client that keeps cookies, like a browser.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client")
}

#[tokio::test]
async fn the_console_is_served_under_a_strict_policy_and_deep_links_open_it() {
    let server = start_server();
    let http = reqwest::Client::new();
    let index = http
        .get(format!("{}/", server.base))
        .send()
        .await
        .expect("GET /");
    assert_eq!(index.status(), 200);
    let csp = index.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let html = index.text().await.expect("html");
    let script = html
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a module script")
        .to_string();
    let js = http
        .get(format!("{}{script}", server.base))
        .send()
        .await
        .expect("script");
    assert_eq!(js.status(), 200);
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(
        js.headers()["cache-control"]
            .to_str()
            .expect("cc")
            .contains("immutable")
    );

    // A browser opening a page of the app gets the app; an API client
    // asking for an unknown path keeps the JSON 404.
    let deep = http
        .get(format!("{}/automations/some-id", server.base))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("deep link");
    assert_eq!(deep.status(), 200);
    assert!(
        deep.text()
            .await
            .expect("html")
            .contains("<div id=\"root\"")
    );
    let api = http
        .get(format!("{}/api/v1/nothing-here", server.base))
        .header("accept", "text/html")
        .send()
        .await
        .expect("unknown api path");
    assert_eq!(api.status(), 404);
    let body: Value = api.json().await.expect("json error");
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn sign_in_gives_a_session_cookie_whose_writes_need_the_csrf_token() {
    let server = start_server();
    let password = admin_password(&server);
    let base = server.base.clone();
    let client = browser();
    let post = |path: &str, body: Value| client.post(format!("{base}{path}")).json(&body);

    let wrong = post(
        "/api/v1/session",
        json!({"name": "admin", "password": "not the password"}),
    )
    .send()
    .await
    .expect("sign in");
    assert_eq!(wrong.status(), 401);
    let wrong: Value = wrong.json().await.expect("json");
    assert_eq!(wrong["error"]["code"], "invalid_credentials");

    let signed = post(
        "/api/v1/session",
        json!({"name": "admin", "password": password}),
    )
    .send()
    .await
    .expect("sign in");
    assert_eq!(signed.status(), 200);
    let cookie = signed.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    assert!(
        cookie.starts_with("weft_session=")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session: Value = signed.json().await.expect("json");
    assert_eq!(session["user"], json!({"name": "admin", "role": "admin"}));
    let csrf = session["csrf_token"].as_str().expect("csrf").to_string();

    // Reads need only the cookie.
    let me = client
        .get(format!("{base}/api/v1/session"))
        .send()
        .await
        .expect("session");
    assert_eq!(me.status(), 200);
    let list = client
        .get(format!("{base}/api/v1/automations"))
        .send()
        .await
        .expect("list");
    assert_eq!(list.status(), 200);

    // A write without the token is refused, with it accepted.
    let document = common::sleepy("by-cookie", 1);
    let refused = post("/api/v1/automations", document.clone())
        .send()
        .await
        .expect("create");
    assert_eq!(refused.status(), 403);
    let refused: Value = refused.json().await.expect("json");
    assert_eq!(refused["error"]["code"], "csrf_failed");
    let created = post("/api/v1/automations", document)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201, "{:?}", created.text().await);

    // Sign-out needs the token too, and ends the session.
    let out = client
        .delete(format!("{base}/api/v1/session"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .expect("sign out");
    assert_eq!(out.status(), 204);
    let after = client
        .get(format!("{base}/api/v1/automations"))
        .send()
        .await
        .expect("list");
    assert_eq!(after.status(), 401);

    // Scripts keep their tokens.
    let api = Api::new(&server);
    let (status, _) = api
        .call("GET", "/api/v1/automations", Some(ADMIN), None)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_admin_sets_a_password_and_revoking_tokens_ends_sessions() {
    let server = start_server();
    let api = Api::new(&server);
    let ann_token = common::create_user(&api, "ann").await;
    let (s, body) = api
        .call(
            "POST",
            "/api/v1/users/ann/actions/set-password",
            Some(ADMIN),
            Some(json!({"password": "short"})),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    let (s, _) = api
        .call(
            "POST",
            "/api/v1/users/ann/actions/set-password",
            Some(ADMIN),
            Some(json!({"password": "anns long password"})),
        )
        .await;
    assert_eq!(s, 204);
    let (s, users) = api.call("GET", "/api/v1/users", Some(ADMIN), None).await;
    assert_eq!(s, 200);
    assert!(
        users["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|u| u["name"] == "ann" && u["has_password"] == true),
        "{users}"
    );
    let (s, _) = api
        .call("GET", "/api/v1/users", Some(&ann_token), None)
        .await;
    assert_eq!(s, 403, "only admins list users");

    let client = browser();
    let signed = client
        .post(format!("{}/api/v1/session", server.base))
        .json(&json!({"name": "ann", "password": "anns long password"}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed.status(), 200);
    let (s, revoked) = api
        .call(
            "POST",
            "/api/v1/users/ann/actions/revoke-tokens",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(s, 200, "{revoked}");
    assert_eq!(revoked["ended_sessions"], 1);
    let (s, _) = api
        .call("GET", "/api/v1/automations", Some(&ann_token), None)
        .await;
    assert_eq!(s, 401, "the old token is revoked");
    let new_token = revoked["token"].as_str().expect("new token");
    let (s, _) = api
        .call("GET", "/api/v1/automations", Some(new_token), None)
        .await;
    assert_eq!(s, 200);
    let me = client
        .get(format!("{}/api/v1/session", server.base))
        .send()
        .await
        .expect("session");
    assert_eq!(me.status(), 401, "the session ended");
}

#[tokio::test]
async fn weft_user_set_password_sets_a_password_the_server_then_accepts() {
    let mut server = start_server();
    server.stop();
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().expect("tempdir"));
    let set = |input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
            .args(["user", "set-password", "admin"])
            .env("WEFT_DATA_DIR", data.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("weft user set-password");
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write password");
        child.wait_with_output().expect("output")
    };
    let short = set("short\n");
    assert_eq!(short.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("at least 10 characters"),
        "{}",
        String::from_utf8_lossy(&short.stderr)
    );
    let ok = set("a brand new password\n");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let server = common::start_server_in(data);
    let signed = browser()
        .post(format!("{}/api/v1/session", server.base))
        .json(&json!({"name": "admin", "password": "a brand new password"}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed.status(), 200);
}

#[tokio::test]
async fn the_run_events_stream_shows_each_step_as_it_is_written_then_ends() {
    let server = start_server();
    let api = Api::new(&server);
    let (s, created) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(ADMIN),
            Some(common::sleepy("live", 700)),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let (s, started) = api
        .call(
            "POST",
            "/api/v1/automations/live/runs",
            Some(ADMIN),
            Some(json!({"input": {"order": 7}})),
        )
        .await;
    assert_eq!(s, 202, "{started}");
    let run_id = started["run_id"].as_str().expect("run id");
    let mut stream = api
        .http
        .get(format!("{}/api/v1/runs/{run_id}/events", server.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("events");
    assert_eq!(stream.status(), 200);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/event-stream")
    );
    // (event, when it arrived)
    let mut events: Vec<(String, Value, Instant)> = Vec::new();
    let mut buffer = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && !events.iter().any(|(e, _, _)| e == "end") {
        let Ok(Ok(Some(chunk))) =
            tokio::time::timeout(Duration::from_secs(5), stream.chunk()).await
        else {
            break;
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let name = frame.lines().find_map(|l| l.strip_prefix("event: "));
            let data = frame.lines().find_map(|l| l.strip_prefix("data: "));
            if let (Some(name), Some(data)) = (name, data) {
                let value = serde_json::from_str(data).unwrap_or(Value::Null);
                events.push((name.to_string(), value, Instant::now()));
            }
        }
    }
    let names: Vec<&str> = events.iter().map(|(e, _, _)| e.as_str()).collect();
    assert_eq!(names.last(), Some(&"end"), "{names:?}");
    let steps: Vec<&Value> = events
        .iter()
        .filter(|(e, _, _)| e == "step")
        .map(|(_, v, _)| v)
        .collect();
    let blocks: Vec<&str> = steps
        .iter()
        .filter_map(|s| s["block_id"].as_str())
        .collect();
    assert_eq!(blocks, ["Start", "Nap", "Out"], "{names:?}");
    let last_run = events
        .iter()
        .rev()
        .find(|(e, _, _)| e == "run")
        .map(|(_, v, _)| v)
        .expect("a run event");
    assert_eq!(last_run["status"], "finished");
    assert_eq!(last_run["output"], json!({"got": 7}));
    // Live: the Start step arrived while the run was still sleeping,
    // well before the last step.
    let at = |block: &str| {
        events
            .iter()
            .find(|(e, v, _)| e == "step" && v["block_id"] == block)
            .map(|(_, _, t)| *t)
            .expect("step")
    };
    assert!(
        at("Out").duration_since(at("Start")) >= Duration::from_millis(400),
        "the steps came together: {names:?}"
    );
}

/// The Playwright suite: every screen in Debian's Chromium through the
/// real server. Needs `.ci/console-install` (Chromium from Debian's
/// packages, `npm ci` in `host/console`), which the README's test
/// command runs first.
#[test]
fn the_console_end_to_end_in_chromium() {
    let root = repo_root();
    let console = root.join("host/console");
    assert!(
        console.join("node_modules/playwright-core").exists(),
        "host/console/node_modules is missing: run .ci/console-install (npm ci in host/console)"
    );
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: run .ci/console-install (apt-get install chromium), or set CHROMIUM_PATH"
    );
    let server = start_server();
    let password = admin_password(&server);
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-artifacts");
    // Fresh each run: a screenshot of an earlier failure must not linger.
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).expect("artifacts dir");
    let started = Instant::now();
    let output = Command::new("node")
        .arg(console.join("e2e/console.e2e.mjs"))
        .current_dir(&root)
        .env("WEFT_URL", &server.base)
        .env("WEFT_ADMIN_PASSWORD", &password)
        .env("WEFT_ADMIN_TOKEN", ADMIN)
        .env("WEFT_ARTIFACTS", &artifacts)
        .env("CHROMIUM_PATH", &chromium)
        .output()
        .expect("run node (Node 20 is needed for the console's tests)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        output.status.success(),
        "the console's end-to-end suite failed after {:?} (screenshots in {}):\n{stdout}\n{stderr}",
        started.elapsed(),
        artifacts.display()
    );
    let report = std::fs::read_to_string(artifacts.join("report.json")).unwrap_or_default();
    println!("console report: {report}");
}
