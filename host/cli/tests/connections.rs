//! Connections through `weft serve` as operators run it: a real process
//! routing `https://slack.com` to a fake Slack on 127.0.0.1 (the grant,
//! the credential injection and the history still say `https://slack.com`),
//! bearer and OAuth2 connections, token refresh, and where secrets must
//! never show up.

mod common;

use common::{ADMIN, Api, Options, Server, create_user, wait_for_end};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use weft_tests::fake_slack::{self, ClientAuth, FakeSlack};

/// Compiled components are shared between this file's servers (the cache
/// is keyed by component and engine, and written atomically).
fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("weft-connections-component-cache")
}

struct Env {
    slack: FakeSlack,
    server: Server,
    api: Api,
    alice: String,
    bob: String,
}

/// A fake Slack, a server routed to it with Slack granted, alice and bob.
async fn setup(env: &[(&str, &str)]) -> Env {
    let slack = FakeSlack::start().await;
    let route = format!("https://slack.com={}", slack.base());
    let server = common::start(
        tempfile::tempdir().expect("tempdir"),
        Options {
            args: &["--route", &route, "--allow", "slack=https://slack.com"],
            env,
            cache_dir: Some(cache_dir()),
        },
    );
    let api = Api::new(&server);
    let alice = create_user(&api, "alice").await;
    let bob = create_user(&api, "bob").await;
    Env {
        slack,
        server,
        api,
        alice,
        bob,
    }
}

/// A random string no run of this test has used before.
fn unique(prefix: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut out = prefix.to_string();
    for i in 0..2u8 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u8(i);
        h.write_u32(std::process::id());
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

async fn bearer_connection(api: &Api, owner: &str, token: &str, fields: Value) -> (String, Value) {
    let (s, body) = api
        .call(
            "POST",
            "/api/v1/connections",
            Some(owner),
            Some(json!({
                "connector": "slack", "name": "Team Slack",
                "auth": {"kind": "bearer", "token": token},
                "fields": fields,
            })),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["status"], "ok", "{body}");
    (body["id"].as_str().expect("id").to_string(), body)
}

/// Start → post `{$.Start.text}` to #general through `connection` → output.
fn post_automation(id: &str, connection: &str) -> Value {
    json!({
        "weft": "automation/v1", "id": id, "name": format!("Post {id}"),
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Post", "type": "connector", "connector": "slack", "block": "send-message",
             "connection": connection,
             "inputs": {"channel": "C0000000000", "text": "{$.Start.text}"}},
            {"id": "Out", "type": "output", "mode": "set",
             "value": {"channel": "{$.Post.channel}", "ts": "{$.Post.ts}"}}
        ],
        "edges": [{"from": "Start", "to": "Post"}, {"from": "Post", "to": "Out"}]
    })
}

/// Create the automation; answers the creation body (execution token …).
async fn create_automation(api: &Api, owner: &str, doc: Value) -> Value {
    let (s, body) = api
        .call("POST", "/api/v1/automations", Some(owner), Some(doc))
        .await;
    assert_eq!(s, 201, "{body}");
    body
}

/// A manual run, waited for: `{"run": …, "steps": […]}`.
async fn run(api: &Api, owner: &str, automation: &str, text: &str) -> Value {
    let (s, started) = api
        .call(
            "POST",
            &format!("/api/v1/automations/{automation}/runs"),
            Some(owner),
            Some(json!({"input": {"text": text}})),
        )
        .await;
    assert_eq!(s, 202, "{started}");
    let id = started["run_id"].as_str().expect("run id");
    wait_for_end(api, owner, id).await
}

fn step<'a>(run: &'a Value, block: &str) -> &'a Value {
    run["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["block_id"] == block))
        .unwrap_or_else(|| panic!("no step {block} in {run}"))
}

async fn connection(api: &Api, owner: &str, id: &str) -> Value {
    let (s, body) = api
        .call(
            "GET",
            &format!("/api/v1/connections/{id}"),
            Some(owner),
            None,
        )
        .await;
    assert_eq!(s, 200, "{body}");
    body
}

async fn oauth_connection(api: &Api, owner: &str) -> String {
    let (s, body) = api
        .call(
            "POST",
            "/api/v1/connections",
            Some(owner),
            Some(json!({
                "connector": "slack", "name": "Slack (OAuth)",
                "auth": {"kind": "oauth2-code",
                         "client_id": fake_slack::CLIENT_ID,
                         "client_secret": fake_slack::CLIENT_SECRET},
            })),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["status"], "needs_authorization", "{body}");
    assert!(
        !body.to_string().contains(fake_slack::CLIENT_SECRET),
        "{body}"
    );
    body["id"].as_str().expect("id").to_string()
}

/// The browser's part: POST authorize, open the URL at the (fake) provider,
/// which approves at once and redirects (302) to the server's callback.
/// Answers the callback URL with its code and state, not yet visited.
async fn approve(env: &Env, id: &str) -> String {
    let (s, body) = env
        .api
        .call(
            "POST",
            &format!("/api/v1/connections/{id}/actions/authorize"),
            Some(&env.alice),
            None,
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let url = body["authorize_url"].as_str().expect("authorize_url");
    // The browser is not routed: send it to the fake by hand.
    let at_fake = url
        .strip_prefix("https://slack.com/oauth/v2/authorize?")
        .map(|query| format!("{}?{query}", env.slack.authorize_url()))
        .unwrap_or_else(|| panic!("the authorize URL is Slack's: {url}"));
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = browser.get(&at_fake).send().await.expect("authorize");
    assert_eq!(resp.status().as_u16(), 302, "{:?}", resp.text().await);
    let location = resp.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let params = env
        .slack
        .authorize_requests()
        .pop()
        .expect("the fake saw the authorize request")
        .params;
    assert_eq!(
        params.get("redirect_uri").map(String::as_str),
        Some(format!("{}/oauth/callback", env.server.base).as_str())
    );
    assert_eq!(
        params.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    assert!(
        location.starts_with(&format!("{}/oauth/callback?code=", env.server.base)),
        "{location}"
    );
    location
}

/// The browser comes back to the server: the code is exchanged.
async fn callback(env: &Env, location: &str) -> (u16, Value) {
    let path = location
        .strip_prefix(&env.server.base)
        .expect("the callback is the server's");
    env.api.call("GET", path, None, None).await
}

/// Authorize `id` end to end; answers the callback's body.
async fn authorize(env: &Env, id: &str) -> Value {
    let location = approve(env, id).await;
    let (s, body) = callback(env, &location).await;
    assert_eq!(s, 200, "{body}");
    body
}

/// Access tokens the fake issued (`xoxe.xoxb-1-fake000001`, …), oldest first.
fn issued_tokens(slack: &FakeSlack) -> Vec<String> {
    let mut tokens: Vec<String> = slack
        .state()
        .tokens
        .keys()
        .filter(|t| t.starts_with("xoxe.xoxb-"))
        .cloned()
        .collect();
    tokens.sort();
    tokens
}

fn authorizations_to_post(slack: &FakeSlack) -> Vec<Option<String>> {
    slack
        .requests_to("/api/chat.postMessage")
        .into_iter()
        .map(|r| r.authorization)
        .collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_connection_posts_to_slack_and_the_history_shows_no_token() {
    let env = setup(&[]).await;
    let token = unique("xoxb-e2e-");
    env.slack.accept_token(&token);
    let (conn, view) = bearer_connection(&env.api, &env.alice, &token, json!({})).await;
    assert_eq!(
        (view["auth_kind"].as_str(), view["owner"].as_str()),
        (Some("bearer"), Some("alice"))
    );
    let created = create_automation(&env.api, &env.alice, post_automation("notify", &conn)).await;
    let exec = created["execution_token"]
        .as_str()
        .expect("execution token");

    let resp = env
        .api
        .http
        .post(format!(
            "{}/api/v1/automations/notify/actions/execute",
            env.server.base
        ))
        .header("X-Execution-Token", exec)
        .json(&json!({"text": "deploy finished"}))
        .send()
        .await
        .expect("execute");
    assert_eq!(resp.status().as_u16(), 200);
    let out: Value = resp.json().await.expect("json");
    assert_eq!(out["channel"], "C0000000000", "{out}");

    // The fake got the host-injected token, once.
    let messages = env.slack.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].text.as_deref(), Some("deploy finished"));
    assert_eq!(out["ts"], messages[0].ts.as_str());
    assert_eq!(
        authorizations_to_post(&env.slack),
        [Some(format!("Bearer {token}"))]
    );

    // The run log records the call as the connector made it, redacted.
    let (_, runs) = env
        .api
        .call(
            "GET",
            "/api/v1/runs?automation=notify",
            Some(&env.alice),
            None,
        )
        .await;
    let run_id = runs["items"][0]["id"].as_str().expect("run id");
    let (s, run) = env
        .api
        .call(
            "GET",
            &format!("/api/v1/runs/{run_id}"),
            Some(&env.alice),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(run["run"]["status"], "finished", "{run}");
    let calls = step(&run, "Post")["http_calls"]
        .as_array()
        .expect("http calls");
    assert_eq!(calls.len(), 1, "{run}");
    assert_eq!(calls[0]["url"], "https://slack.com/api/chat.postMessage");
    assert_eq!(calls[0]["status"], 200);
    let authorization: Vec<&Value> = calls[0]["request_headers"]
        .as_array()
        .expect("headers")
        .iter()
        .filter(|h| {
            h[0].as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("authorization"))
        })
        .map(|h| &h[1])
        .collect();
    assert_eq!(authorization, [&json!("[redacted]")], "{}", calls[0]);
    assert!(!run.to_string().contains(&token), "{run}");
}

/// Standard base64 of `secret` wherever it may sit inside a longer encoded
/// value: one needle per alignment (0, 1, 2 bytes before it), without the
/// characters its neighbours share.
fn base64_needles(secret: &[u8]) -> Vec<String> {
    use base64::Engine as _;
    (0..3usize)
        .map(|offset| {
            let mut bytes = vec![0u8; offset];
            bytes.extend_from_slice(secret);
            let chars = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&bytes);
            let start = (offset * 4).div_ceil(3);
            let end = bytes.len() * 4 / 3;
            chars[start..end].to_string()
        })
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_secret_appears_in_no_file_log_or_answer() {
    let mut env = setup(&[("RUST_LOG", "debug")]).await;
    let secret = unique("xoxb-leak-");
    let mut needles = vec![secret.clone()];
    needles.extend(base64_needles(secret.as_bytes()));
    env.slack.accept_token(&secret);
    let api = &env.api;
    let alice = env.alice.clone();

    let (conn, _) = bearer_connection(api, &alice, &secret, json!({})).await;
    let created = create_automation(api, &alice, post_automation("leak", &conn)).await;
    let exec = created["execution_token"].as_str().expect("token");
    api.call("GET", "/api/v1/connections", Some(&alice), None)
        .await;
    api.call(
        "GET",
        &format!("/api/v1/connections/{conn}"),
        Some(&alice),
        None,
    )
    .await;
    api.call(
        "PATCH",
        &format!("/api/v1/connections/{conn}"),
        Some(&alice),
        Some(json!({"name": "Renamed"})),
    )
    .await;
    api.call("GET", "/api/v1/automations/leak", Some(&alice), None)
        .await;
    api.call("GET", "/api/v1/automations/leak/export", Some(&alice), None)
        .await;

    // Success, through the API-call trigger and a manual run.
    let (s, out) = api
        .call(
            "POST",
            &format!("/api/v1/automations/leak/actions/execute?token={exec}"),
            None,
            Some(json!({"text": "one"})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    let ok = run(api, &alice, "leak", "two").await;
    assert_eq!(ok["run"]["status"], "finished", "{ok}");

    // An API that echoes the token back in a failure: scrubbed.
    env.slack.fail_next(json!({
        "error": "invalid_auth",
        "echo": secret,
        "header": format!("Bearer {secret}"),
    }));
    let echoed = run(api, &alice, "leak", "three").await;
    assert_eq!(echoed["run"]["status"], "failed", "{echoed}");
    let body = step(&echoed, "Post")["http_calls"][0]["response_body"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        body.contains("[redacted]"),
        "the echo came back, scrubbed: {echoed}"
    );

    // A revoked token: the block fails, the token stays out of the error.
    env.slack.revoke_token(&secret);
    let revoked = run(api, &alice, "leak", "four").await;
    assert_eq!(revoked["run"]["status"], "failed", "{revoked}");
    let error = revoked["run"]["error"].as_str().expect("error");
    assert!(error.contains("token_revoked"), "{error}");
    let (s, failed) = api
        .call(
            "POST",
            &format!("/api/v1/automations/leak/actions/execute?token={exec}"),
            None,
            Some(json!({"text": "five"})),
        )
        .await;
    assert_eq!(
        (s, failed["error"]["code"].as_str()),
        (422, Some("run_failed"))
    );

    api.call("GET", "/api/v1/runs", Some(&alice), None).await;
    api.call("GET", "/api/v1/runs?automation=leak", Some(&alice), None)
        .await;
    api.call("GET", "/api/v1/connections", Some(ADMIN), None)
        .await;
    let (s, metrics) = api.text("GET", "/metrics", None, None).await;
    assert_eq!(s, 200);
    assert!(metrics.contains("weft_runs_total"), "{metrics}");

    // The secret did reach Slack, each time from the host.
    let sent = authorizations_to_post(&env.slack);
    assert_eq!(sent.len(), 5, "{sent:?}");
    assert!(
        sent.iter()
            .all(|a| a.as_deref() == Some(format!("Bearer {secret}").as_str()))
    );

    let key_file = env.server.data.path().join("secret.key");
    let key = std::fs::read_to_string(&key_file).expect("the key file exists");
    let output = env.server.stop();
    assert!(
        output.contains("DEBUG"),
        "RUST_LOG=debug took effect: {output}"
    );

    // Answers and output.
    let bodies = api.bodies();
    assert!(bodies.len() >= 15, "{}", bodies.len());
    for needle in &needles {
        for body in &bodies {
            assert!(!body.contains(needle.as_str()), "{needle:?} in {body}");
        }
        assert!(
            !output.contains(needle.as_str()),
            "{needle:?} in the server's output"
        );
    }
    assert!(!output.contains(key.trim()), "the key is in the output");
    assert!(!bodies.iter().any(|b| b.contains(key.trim())));

    // Every file of the data directory, as bytes.
    let all = files(env.server.data.path());
    let mut conn_seen = false;
    for path in &all {
        let bytes = std::fs::read(path).expect("read");
        for needle in &needles {
            assert!(
                !contains(&bytes, needle.as_bytes()),
                "{needle:?} in {}",
                path.display()
            );
        }
        if path.starts_with(env.server.data.path().join("server")) {
            conn_seen |= contains(&bytes, conn.as_bytes());
        }
    }
    assert!(
        conn_seen,
        "the server's sled files hold the connection (the search works): {all:?}"
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_connection_cannot_be_used_read_or_changed() {
    let env = setup(&[]).await;
    let api = &env.api;
    let token = unique("xoxb-alice-");
    env.slack.accept_token(&token);
    let (conn, _) = bearer_connection(api, &env.alice, &token, json!({"workspace": "acme"})).await;

    // Bob cannot save an automation naming it...
    let (s, refused) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(&env.bob),
            Some(post_automation("bob-posts", &conn)),
        )
        .await;
    assert_eq!(
        (s, refused["error"]["code"].as_str()),
        (422, Some("invalid_automation")),
        "{refused}"
    );
    assert_eq!(refused["error"]["details"][0]["field"], "connection");
    // ...and when an automation using it becomes his (an admin reassigns
    // alice's), its block cannot use it at run time.
    create_automation(api, &env.alice, post_automation("handover", &conn)).await;
    let (s, body) = api
        .call(
            "PATCH",
            "/api/v1/automations/handover",
            Some(ADMIN),
            Some(json!({"owner": "bob"})),
        )
        .await;
    assert_eq!((s, body["owner"].as_str()), (200, Some("bob")), "{body}");
    let bobs = run(api, &env.bob, "handover", "from bob").await;
    assert_eq!(bobs["run"]["status"], "failed", "{bobs}");
    let error = step(&bobs, "Post")["error"].as_str().expect("error");
    assert!(error.contains("belongs to another user"), "{error}");
    assert!(error.contains(&conn), "{error}");
    assert!(
        env.slack.requests().is_empty(),
        "nothing reached Slack: {:?}",
        env.slack.requests()
    );

    // Bob cannot see, change, authorize or delete it.
    let path = format!("/api/v1/connections/{conn}");
    assert_eq!(api.call("GET", &path, Some(&env.bob), None).await.0, 404);
    assert_eq!(
        api.call(
            "PATCH",
            &path,
            Some(&env.bob),
            Some(json!({"name": "mine now"}))
        )
        .await
        .0,
        404
    );
    assert_eq!(
        api.call(
            "POST",
            &format!("{path}/actions/authorize"),
            Some(&env.bob),
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(api.call("DELETE", &path, Some(&env.bob), None).await.0, 404);
    let (_, listed) = api
        .call("GET", "/api/v1/connections", Some(&env.bob), None)
        .await;
    assert_eq!(listed["items"], json!([]));

    // The admin lists it, without settings, fields or secrets.
    let (_, listed) = api
        .call("GET", "/api/v1/connections", Some(ADMIN), None)
        .await;
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{listed}");
    let item = &items[0];
    assert_eq!(
        (item["id"].as_str(), item["owner"].as_str()),
        (Some(conn.as_str()), Some("alice"))
    );
    assert!(
        item.get("fields").is_none() && item.get("auth").is_none(),
        "{item}"
    );
    let (s, one) = api.call("GET", &path, Some(ADMIN), None).await;
    assert_eq!(s, 200);
    for shown in [listed.to_string(), one.to_string()] {
        assert!(
            !shown.contains(&token) && !shown.contains("acme"),
            "{shown}"
        );
    }

    // Alice's own automation uses it (the refusal above was about the owner).
    create_automation(api, &env.alice, post_automation("alice-posts", &conn)).await;
    let alices = run(api, &env.alice, "alice-posts", "from alice").await;
    assert_eq!(alices["run"]["status"], "finished", "{alices}");
    assert_eq!(
        authorizations_to_post(&env.slack),
        [Some(format!("Bearer {token}"))]
    );
    assert_eq!(
        connection(api, &env.alice, &conn).await["fields"],
        json!({"workspace": "acme"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth2_authorization_code_flow_with_pkce() {
    let env = setup(&[]).await;
    let api = &env.api;
    let conn = oauth_connection(api, &env.alice).await;
    create_automation(api, &env.alice, post_automation("oauth-post", &conn)).await;

    // Not authorized yet: the block says so and Slack hears nothing.
    let early = run(api, &env.alice, "oauth-post", "too early").await;
    assert_eq!(early["run"]["status"], "failed", "{early}");
    let error = early["run"]["error"].as_str().expect("error");
    assert!(error.contains("needs authorization"), "{error}");
    assert!(env.slack.requests().is_empty());

    let location = approve(&env, &conn).await;
    let (s, done) = callback(&env, &location).await;
    assert_eq!(s, 200, "{done}");
    let view = &done["connection"];
    assert_eq!(view["status"], "ok", "{done}");
    let expires_at = view["expires_at"].as_i64().expect("expires_at");
    let expected = now_ms() + fake_slack::DEFAULT_EXPIRES_IN as i64 * 1000;
    assert!(
        (expected - 60_000..=expected).contains(&expires_at),
        "{expires_at} vs {expected}"
    );
    assert_eq!(env.slack.token_exchanges(), 1);
    let exchange = env.slack.token_requests().pop().expect("token request");
    assert_eq!(
        exchange.grant_type.as_deref(),
        Some("authorization_code"),
        "{exchange:?}"
    );
    assert!(exchange.form.contains_key("code_verifier"), "PKCE");
    assert_ne!(exchange.client_auth, ClientAuth::None);
    let issued = issued_tokens(&env.slack);
    assert_eq!(issued.len(), 1);
    let refresh = env.slack.live_refresh_tokens();
    for secret in issued.iter().chain(&refresh) {
        assert!(!done.to_string().contains(secret.as_str()), "{done}");
    }
    let stored = connection(api, &env.alice, &conn).await;
    assert_eq!(
        (stored["status"].as_str(), stored["expires_at"].as_i64()),
        (Some("ok"), Some(expires_at))
    );

    // The block works with the exchanged token.
    let ok = run(api, &env.alice, "oauth-post", "via oauth").await;
    assert_eq!(ok["run"]["status"], "finished", "{ok}");
    assert_eq!(
        authorizations_to_post(&env.slack),
        [Some(format!("Bearer {}", issued[0]))]
    );
    assert_eq!(env.slack.refreshes(), 0);

    // A state is good once.
    let (s, again) = callback(&env, &location).await;
    assert_eq!(
        (s, again["error"]["code"].as_str()),
        (400, Some("oauth_state_invalid")),
        "{again}"
    );
    assert_eq!(env.slack.token_exchanges(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_about_to_expire_is_refreshed_before_use() {
    let env = setup(&[]).await;
    let api = &env.api;
    // 30 s is inside the 60 s refresh margin: the next use refreshes.
    env.slack.set_expires_in(30);
    let conn = oauth_connection(api, &env.alice).await;
    let first = authorize(&env, &conn).await["connection"]["expires_at"]
        .as_i64()
        .expect("expires_at");
    let old = issued_tokens(&env.slack);
    assert_eq!((old.len(), env.slack.refreshes()), (1, 0));
    create_automation(api, &env.alice, post_automation("soon", &conn)).await;

    let ok = run(api, &env.alice, "soon", "fresh token please").await;
    assert_eq!(ok["run"]["status"], "finished", "{ok}");
    assert_eq!(env.slack.refreshes(), 1);
    let issued = issued_tokens(&env.slack);
    assert_eq!(issued.len(), 2);
    assert_ne!(issued[1], old[0]);
    // One request, already with the new token: refreshed before, not after a failure.
    assert_eq!(
        authorizations_to_post(&env.slack),
        [Some(format!("Bearer {}", issued[1]))]
    );
    let refresh = env.slack.token_requests().pop().expect("token request");
    assert_eq!(refresh.grant_type.as_deref(), Some("refresh_token"));
    let stored = connection(api, &env.alice, &conn).await;
    assert_eq!(stored["status"], "ok");
    let second = stored["expires_at"].as_i64().expect("expires_at");
    assert!(second > first, "{second} > {first}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_refreshes_once_and_the_request_is_retried() {
    let env = setup(&[]).await;
    let api = &env.api;
    let conn = oauth_connection(api, &env.alice).await;
    authorize(&env, &conn).await;
    let old = issued_tokens(&env.slack);
    assert_eq!(old.len(), 1);
    create_automation(api, &env.alice, post_automation("retry", &conn)).await;

    // Slack's own answer to a revoked token is HTTP 200 + ok:false: no
    // refresh, the block fails as unauthorized.
    env.slack.revoke_token(&old[0]);
    let failed = run(api, &env.alice, "retry", "slack style").await;
    assert_eq!(failed["run"]["status"], "failed", "{failed}");
    assert_eq!(env.slack.refreshes(), 0);

    // An API answering 401: one refresh, the request again, success.
    env.slack.set_http_401_for_invalid_tokens(true);
    let ok = run(api, &env.alice, "retry", "after a 401").await;
    assert_eq!(ok["run"]["status"], "finished", "{ok}");
    assert_eq!(env.slack.refreshes(), 1);
    let issued = issued_tokens(&env.slack);
    assert_eq!(issued.len(), 2);
    assert_eq!(
        authorizations_to_post(&env.slack),
        [
            Some(format!("Bearer {}", old[0])),
            Some(format!("Bearer {}", old[0])),
            Some(format!("Bearer {}", issued[1])),
        ]
    );
    let statuses: Vec<&Value> = step(&ok, "Post")["http_calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| &c["status"])
        .collect();
    assert_eq!(statuses, [&json!(401), &json!(200)], "{ok}");
    assert_eq!(env.slack.messages().len(), 1);
    assert_eq!(connection(api, &env.alice, &conn).await["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refresh_marks_the_connection_needs_authorization() {
    let env = setup(&[]).await;
    let api = &env.api;
    env.slack.set_expires_in(30);
    let conn = oauth_connection(api, &env.alice).await;
    authorize(&env, &conn).await;
    create_automation(api, &env.alice, post_automation("refused", &conn)).await;
    let secrets: Vec<String> = issued_tokens(&env.slack)
        .into_iter()
        .chain(env.slack.live_refresh_tokens())
        .chain([fake_slack::CLIENT_SECRET.to_string()])
        .collect();
    assert_eq!(secrets.len(), 3);
    env.slack.revoke_all_refresh_tokens();

    let failed = run(api, &env.alice, "refused", "no luck").await;
    assert_eq!(failed["run"]["status"], "failed", "{failed}");
    let error = step(&failed, "Post")["error"].as_str().expect("error");
    assert!(error.contains("needs authorization"), "{error}");
    assert!(error.contains(&conn), "{error}");
    let refused = env.slack.token_requests().pop().expect("token request");
    assert_eq!(
        (refused.grant_type.as_deref(), refused.error.as_deref()),
        (Some("refresh_token"), Some("invalid_refresh_token"))
    );
    assert!(env.slack.requests_to("/api/chat.postMessage").is_empty());
    let stored = connection(api, &env.alice, &conn).await;
    assert_eq!(stored["status"], "needs_authorization", "{stored}");
    for secret in &secrets {
        for shown in [failed.to_string(), stored.to_string()] {
            assert!(!shown.contains(secret.as_str()), "{secret} in {shown}");
        }
    }

    // Until someone reconnects, runs fail without asking the provider again.
    let requests = env.slack.token_requests().len();
    let again = run(api, &env.alice, "refused", "still no").await;
    assert_eq!(again["run"]["status"], "failed", "{again}");
    assert!(
        again["run"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("needs authorization")),
        "{again}"
    );
    assert_eq!(env.slack.token_requests().len(), requests);

    // Reconnecting makes it usable again.
    env.slack.set_expires_in(3600);
    authorize(&env, &conn).await;
    let ok = run(api, &env.alice, "refused", "back").await;
    assert_eq!(ok["run"]["status"], "finished", "{ok}");
    assert_eq!(env.slack.messages().len(), 1);
}
