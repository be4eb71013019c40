//! The Slack connector (`connectors-wasm/slack`, written with the public
//! SDK only) in the real host against the fake Slack Web API
//! (`weft_tests::fake_slack`): the operator grants `https://slack.com` and
//! routes that origin to the fake; the host injects the bearer token, the
//! connector never sends one itself; Slack's `{"ok": false, "error": …}`
//! answers become typed block errors; pagination yields one list a loop can
//! iterate. The fake's OAuth2 endpoints are exercised at the end.

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use weft_host::connections::{
    ConnectionRefused, ConnectionRequest, ConnectionResolver, ResolvedConnection,
};
use weft_host::credentials::{Credential, CredentialSource, Secret, StaticCredential};
use weft_host::{
    BlockErrorKind, Connector, InvokeContext, InvokeError, InvokeReport, RunStatus, Runtime,
    Trigger, Weft,
};
use weft_tests::cache_dir;
use weft_tests::fake_slack::{self, BOT_TOKEN, FakeSlack, SEEDED_CHANNELS};

const SLACK: &str = "https://slack.com";

fn runtime(slack: &FakeSlack) -> Runtime {
    Runtime::builder()
        .cache_dir(cache_dir())
        .max_concurrent_instances(16)
        .route_origin(SLACK, &slack.base())
        .build()
        .expect("runtime")
}

async fn connector(rt: &Runtime) -> Connector {
    rt.load(weft_components::SLACK)
        .await
        .expect("load the slack component")
        .with_grant(&[SLACK])
        .expect("grant")
}

fn bearer(token: &str) -> Arc<dyn CredentialSource> {
    StaticCredential::new(Credential::Bearer(Secret::new(token)))
}

fn with_token(token: &str) -> InvokeContext {
    InvokeContext {
        credentials: Some(bearer(token)),
        ..InvokeContext::default()
    }
}

/// The fake, a runtime routed to it and the granted connector.
async fn setup() -> (FakeSlack, Runtime, Connector) {
    let slack = FakeSlack::start().await;
    let rt = runtime(&slack);
    let c = connector(&rt).await;
    (slack, rt, c)
}

async fn invoke(c: &Connector, block: &str, input: Value, ctx: &InvokeContext) -> InvokeReport {
    c.invoke(block, &input, ctx).await
}

/// The block error's kind, message and retry-after, or a panic naming what
/// came instead.
fn block_error(report: &InvokeReport) -> (BlockErrorKind, String, Option<Duration>) {
    match &report.output {
        Err(InvokeError::Block { failure, .. }) => {
            (failure.kind, failure.message.clone(), failure.retry_after)
        }
        other => panic!("expected a block error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_declares_slack_only_bearer_and_oauth2() {
    let slack = FakeSlack::start().await;
    let rt = runtime(&slack);
    let c = connector(&rt).await;
    let m = serde_json::to_value(c.manifest()).expect("manifest json");
    assert_eq!(m["id"], "slack");
    assert_eq!(m["hosts"], json!([SLACK]));
    assert_eq!(
        m["auth"],
        json!([
            {"kind": "bearer"},
            {"kind": "oauth2-code",
             "authorize_url": "https://slack.com/oauth/v2/authorize",
             "token_url": "https://slack.com/api/oauth.v2.access",
             "scopes": ["chat:write", "channels:read", "groups:read", "users:read", "users:read.email"]}
        ])
    );
    let blocks: Vec<&str> = c.manifest().blocks.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(
        blocks,
        ["send-message", "list-channels", "lookup-user-by-email"]
    );
    let send = c.manifest().block("send-message").expect("send-message");
    let required = &send.input_schema["required"];
    assert!(
        required
            .as_array()
            .is_some_and(|r| r.contains(&json!("channel")) && r.contains(&json!("text"))),
        "{required}"
    );
    assert!(send.input_schema["properties"]["thread_ts"].is_object());
    let list = c.manifest().block("list-channels").expect("list-channels");
    assert_eq!(
        list.output_schema["type"], "array",
        "a list a loop can iterate"
    );
    assert_eq!(list.input_schema["properties"]["limit"]["default"], 200);
    assert_eq!(
        list.input_schema["properties"]["max_items"]["default"],
        1000
    );
    assert_eq!(
        list.input_schema["properties"]["types"]["default"],
        "public_channel"
    );
    assert_eq!(
        list.input_schema["properties"]["exclude_archived"]["default"],
        true
    );
    let lookup = c
        .manifest()
        .block("lookup-user-by-email")
        .expect("lookup-user-by-email");
    for field in ["id", "name", "real_name", "email", "tz", "is_bot"] {
        assert!(
            lookup.output_schema["properties"][field].is_object(),
            "{field}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_message_carries_the_token_the_host_injected() {
    let (slack, _rt, c) = setup().await;
    let report = invoke(
        &c,
        "send-message",
        json!({
            "channel": "#general",
            "text": "Deploy finished :tada:",
            "thread_ts": "1700000000.000100",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Deploy* finished"}}],
            "unfurl_links": false
        }),
        &with_token(BOT_TOKEN),
    )
    .await;
    let out = report.output.as_ref().expect("send-message");
    assert_eq!(out["channel"], "C0000000000");
    assert_eq!(out["message"]["text"], "Deploy finished :tada:");

    let messages = slack.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(out["ts"], json!(m.ts));
    assert_eq!(m.channel, "C0000000000");
    assert_eq!(m.thread_ts.as_deref(), Some("1700000000.000100"));
    assert_eq!(m.unfurl_links, Some(false));
    assert_eq!(
        m.blocks.as_ref().and_then(Value::as_array).map(Vec::len),
        Some(1)
    );
    // The fake saw exactly one Authorization header: the host's.
    assert_eq!(
        m.authorization.as_deref(),
        Some(format!("Bearer {BOT_TOKEN}").as_str())
    );
    let requests = slack.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/api/chat.postMessage");
    assert_eq!(requests[0].authorization_count, 1);
    assert!(
        !requests[0].body_text().contains(BOT_TOKEN),
        "the token is not in the body"
    );

    // The history records the URL the connector asked for, and never the token.
    assert_eq!(report.http_calls.len(), 1);
    let call = &report.http_calls[0];
    assert_eq!(call.url, "https://slack.com/api/chat.postMessage");
    assert_eq!(call.status, Some(200));
    let recorded = serde_json::to_string(&report.http_calls).expect("json");
    assert!(!recorded.contains(BOT_TOKEN), "{recorded}");
    let request_body: Value =
        serde_json::from_str(call.request_body.as_deref().expect("body")).expect("json body");
    assert_eq!(request_body["channel"], "#general");
    assert!(request_body.get("token").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_credentials_the_guest_sends_no_token_and_gets_unauthorized() {
    let (slack, _rt, c) = setup().await;
    let report = invoke(
        &c,
        "send-message",
        json!({"channel": "C0000000001", "text": "hello"}),
        &InvokeContext::default(),
    )
    .await;
    let (kind, message, _) = block_error(&report);
    assert_eq!(kind, BlockErrorKind::Unauthorized, "{message}");
    assert!(message.contains("not_authed"), "{message}");
    // What reached the fake is exactly what the guest built: no
    // Authorization header of its own.
    let requests = slack.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].authorization, None);
    assert_eq!(requests[0].authorization_count, 0);
    assert!(
        report.http_calls[0]
            .request_headers
            .iter()
            .all(|(n, _)| !n.eq_ignore_ascii_case("authorization")),
        "{:?}",
        report.http_calls[0].request_headers
    );
    assert!(slack.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_and_unknown_tokens_are_unauthorized() {
    let (slack, _rt, c) = setup().await;
    let input = json!({"channel": "#general", "text": "hello"});
    assert!(
        invoke(&c, "send-message", input.clone(), &with_token(BOT_TOKEN))
            .await
            .output
            .is_ok()
    );
    slack.revoke_token(BOT_TOKEN);
    let report = invoke(&c, "send-message", input.clone(), &with_token(BOT_TOKEN)).await;
    let (kind, message, _) = block_error(&report);
    assert_eq!(kind, BlockErrorKind::Unauthorized);
    assert!(message.contains("token_revoked"), "{message}");
    assert!(!report.output.as_ref().expect_err("failed").is_retryable());

    let report = invoke(&c, "list-channels", json!({}), &with_token("xoxb-nobody")).await;
    let (kind, message, _) = block_error(&report);
    assert_eq!(kind, BlockErrorKind::Unauthorized);
    assert!(message.contains("invalid_auth"), "{message}");
    assert_eq!(slack.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_channels_follows_the_cursor_and_returns_one_list() {
    let (slack, _rt, c) = setup().await;
    let report = invoke(&c, "list-channels", json!({}), &with_token(BOT_TOKEN)).await;
    let out = report.output.as_ref().expect("list-channels");
    let list = out.as_array().expect("a list");
    assert_eq!(list.len(), SEEDED_CHANNELS);
    assert_eq!(
        list[0],
        json!({"id": "C0000000000", "name": "general", "is_private": false, "is_archived": false, "num_members": 1, "topic": "Topic of channel 0"})
    );
    let ids: Vec<String> = list
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect();
    let expected: Vec<String> = slack.channels().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, expected, "every channel once, in order");

    // 450 channels at 200 a page: three requests, each with the token.
    let pages = slack.requests_to("/api/conversations.list");
    assert_eq!(pages.len(), 3);
    let first = pages[0].query_pairs();
    assert_eq!(first.get("limit").map(String::as_str), Some("200"));
    assert_eq!(
        first.get("types").map(String::as_str),
        Some("public_channel")
    );
    assert_eq!(
        first.get("exclude_archived").map(String::as_str),
        Some("true")
    );
    assert!(!first.contains_key("cursor"));
    assert!(pages[1].query_pairs().contains_key("cursor"));
    assert_ne!(
        pages[1].query_pairs().get("cursor"),
        pages[2].query_pairs().get("cursor")
    );
    for page in &pages {
        assert_eq!(
            page.authorization.as_deref(),
            Some(format!("Bearer {BOT_TOKEN}").as_str())
        );
    }
    assert_eq!(report.http_calls.len(), 3);
    assert!(
        report
            .logs
            .iter()
            .any(|l| l.message.contains("450 channel(s) in 3 page(s)")),
        "{:?}",
        report.logs
    );

    // max_items stops early; a larger page size needs fewer requests.
    let before = slack.requests().len();
    let out = invoke(
        &c,
        "list-channels",
        json!({"max_items": 250}),
        &with_token(BOT_TOKEN),
    )
    .await
    .output
    .expect("max_items");
    assert_eq!(out.as_array().map(Vec::len), Some(250));
    assert_eq!(slack.requests().len() - before, 2);
    let out = invoke(
        &c,
        "list-channels",
        json!({"limit": 1000}),
        &with_token(BOT_TOKEN),
    )
    .await
    .output
    .expect("one page");
    assert_eq!(out.as_array().map(Vec::len), Some(SEEDED_CHANNELS));
    assert_eq!(slack.requests().len() - before, 3);

    // Archived and private channels only when asked for.
    slack.add_channel(fake_slack::FakeChannel {
        id: "G0000000001".into(),
        name: "secret".into(),
        is_private: true,
        is_archived: false,
        num_members: 3,
        topic: String::new(),
    });
    slack.add_channel(fake_slack::FakeChannel {
        is_archived: true,
        ..fake_slack::seeded_channel(999)
    });
    let names = |v: Value| -> Vec<String> {
        v.as_array()
            .expect("list")
            .iter()
            .map(|c| c["name"].as_str().expect("name").to_string())
            .collect()
    };
    let all = names(
        invoke(
            &c,
            "list-channels",
            json!({"types": "public_channel,private_channel", "exclude_archived": false, "limit": 1000}),
            &with_token(BOT_TOKEN),
        )
        .await
        .output
        .expect("all"),
    );
    assert_eq!(all.len(), SEEDED_CHANNELS + 2);
    assert!(all.contains(&"secret".to_string()) && all.contains(&"channel-999".to_string()));
}

/// The embedder's connections: `team-slack`, the fake's bot token, for the
/// slack connector only.
struct OneSlackConnection;

impl ConnectionResolver for OneSlackConnection {
    fn resolve(
        &self,
        request: ConnectionRequest<'_>,
    ) -> Result<ResolvedConnection, ConnectionRefused> {
        if request.connection_id != "team-slack" || request.connector != "slack" {
            return Err(ConnectionRefused {
                message: format!(
                    "no connection {:?} for connector {:?}",
                    request.connection_id, request.connector
                ),
            });
        }
        Ok(ResolvedConnection {
            fields: json!({}),
            credentials: bearer(BOT_TOKEN),
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_automation_loops_over_the_listed_channels() {
    let slack = FakeSlack::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let weft = Weft::builder()
        .runtime(runtime(&slack))
        .sled(dir.path().join("history"))
        .component(weft_components::SLACK)
        .grant("slack", &[SLACK])
        .connections(Arc::new(OneSlackConnection))
        .build()
        .await
        .expect("weft");
    let document = json!({
        "weft": "automation/v1", "id": "slack-loop", "name": "Slack loop",
        "variables": {"names": [], "members": 0},
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Channels", "type": "connector", "connector": "slack", "block": "list-channels", "connection": "team-slack", "inputs": {"limit": 200}},
            {"id": "Each", "type": "loop", "over": "{$.Channels}"},
            {"id": "Name", "type": "variable", "variable": "names", "action": "append", "value": "{item.name}"},
            {"id": "Count", "type": "output", "mode": "set", "value": {"looped": "{$.Each.count}", "names": "{count: $.names}", "first": "{$.Channels[0].id}"}}
        ],
        "edges": [
            {"from": "Start", "to": "Channels"},
            {"from": "Channels", "to": "Each"},
            {"from": "Each", "to": "Name", "branch": "body"},
            {"from": "Each", "to": "Count"}
        ]
    });
    let plan = weft.validate(&document).unwrap_or_else(|e| panic!("{e}"));
    let trigger = Trigger::custom("test");
    let r = weft.run(&plan, json!({}), trigger).await.expect("run");
    assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
    assert_eq!(
        r.record.output,
        json!({"looped": SEEDED_CHANNELS, "names": SEEDED_CHANNELS, "first": "C0000000000"})
    );
    let pages = slack.requests_to("/api/conversations.list");
    assert_eq!(pages.len(), 3);
    assert!(
        pages
            .iter()
            .all(|p| p.authorization.as_deref() == Some(&format!("Bearer {BOT_TOKEN}")[..])),
        "the connection's token on every page"
    );
    let loop_bodies = r.steps.iter().filter(|s| s.block_id == "Name").count();
    assert_eq!(loop_bodies, SEEDED_CHANNELS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_user_by_email_found_and_not_found() {
    let (slack, _rt, c) = setup().await;
    let out = invoke(
        &c,
        "lookup-user-by-email",
        json!({"email": "Ann@Example.com"}),
        &with_token(BOT_TOKEN),
    )
    .await
    .output
    .expect("found");
    assert_eq!(
        out,
        json!({"id": "U0000000001", "name": "ann", "real_name": "Ann Lee", "email": "ann@example.com", "tz": "Europe/Berlin", "is_bot": false})
    );
    let req = &slack.requests_to("/api/users.lookupByEmail")[0];
    assert_eq!(req.method, "GET");
    assert_eq!(
        req.query_pairs().get("email").map(String::as_str),
        Some("Ann@Example.com")
    );

    let report = invoke(
        &c,
        "lookup-user-by-email",
        json!({"email": "nobody@example.com"}),
        &with_token(BOT_TOKEN),
    )
    .await;
    let (kind, message, _) = block_error(&report);
    assert_eq!(kind, BlockErrorKind::NotFound);
    assert!(message.contains("nobody@example.com"), "{message}");

    // Not an e-mail address: refused before any request.
    let before = slack.requests().len();
    let report = invoke(
        &c,
        "lookup-user-by-email",
        json!({"email": "not-an-address"}),
        &with_token(BOT_TOKEN),
    )
    .await;
    let (kind, message, _) = block_error(&report);
    assert_eq!(kind, BlockErrorKind::InvalidInput);
    assert!(message.contains("`email`"), "{message}");
    assert_eq!(slack.requests().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_429_is_rate_limited_with_retry_after() {
    let (slack, _rt, c) = setup().await;
    slack.rate_limit_next(7);
    let report = invoke(&c, "list-channels", json!({}), &with_token(BOT_TOKEN)).await;
    let (kind, message, retry_after) = block_error(&report);
    assert_eq!(kind, BlockErrorKind::RateLimited, "{message}");
    assert_eq!(retry_after, Some(Duration::from_secs(7)));
    let err = report.output.expect_err("429");
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    // The limit was for one request only.
    assert!(
        invoke(&c, "list-channels", json!({}), &with_token(BOT_TOKEN))
            .await
            .output
            .is_ok()
    );

    // Slack's `ratelimited` code in a 200 answer means the same.
    slack.fail_next(json!({"error": "ratelimited"}));
    let report = invoke(
        &c,
        "send-message",
        json!({"channel": "#general", "text": "hi"}),
        &with_token(BOT_TOKEN),
    )
    .await;
    assert_eq!(block_error(&report).0, BlockErrorKind::RateLimited);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_error_codes_become_typed_errors() {
    let (slack, _rt, c) = setup().await;
    let ctx = with_token(BOT_TOKEN);

    let report = invoke(
        &c,
        "send-message",
        json!({"channel": "C9999999999", "text": "hi"}),
        &ctx,
    )
    .await;
    let (kind, message, _) = block_error(&report);
    assert_eq!(kind, BlockErrorKind::NotFound);
    assert!(message.contains("channel_not_found"), "{message}");

    // A token without chat:write: fatal, naming the scope Slack says is needed.
    slack.accept_token_with_scopes("xoxb-read-only", &["channels:read"]);
    let report = invoke(
        &c,
        "send-message",
        json!({"channel": "#general", "text": "hi"}),
        &with_token("xoxb-read-only"),
    )
    .await;
    let (kind, message, _) = block_error(&report);
    assert_eq!(kind, BlockErrorKind::Fatal);
    assert!(
        message.contains("missing_scope") && message.contains("chat:write"),
        "{message}"
    );

    // Anything else: fatal with Slack's code.
    slack.fail_next(json!({"error": "msg_too_long"}));
    let report = invoke(
        &c,
        "send-message",
        json!({"channel": "#general", "text": "hi"}),
        &ctx,
    )
    .await;
    let (kind, message, _) = block_error(&report);
    assert_eq!(kind, BlockErrorKind::Fatal);
    assert!(message.contains("msg_too_long"), "{message}");
    match &report.output {
        Err(InvokeError::Block { failure, .. }) => assert_eq!(
            failure.details,
            Some(json!({"method": "chat.postMessage", "error": "msg_too_long"}))
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_names_the_field_and_sends_nothing() {
    let (slack, _rt, c) = setup().await;
    let ctx = with_token(BOT_TOKEN);
    for (block, input, field) in [
        (
            "send-message",
            json!({"channel": "  ", "text": "hi"}),
            "channel",
        ),
        (
            "send-message",
            json!({"channel": "#general", "text": ""}),
            "text",
        ),
        (
            "send-message",
            json!({"channel": "#general", "text": "hi", "thread_ts": "yesterday"}),
            "thread_ts",
        ),
        (
            "send-message",
            json!({"channel": "#general", "text": "hi", "blocks": [{"text": "no type"}]}),
            "blocks",
        ),
        ("send-message", json!({"text": "hi"}), "channel"),
        ("list-channels", json!({"limit": 0}), "limit"),
        ("list-channels", json!({"types": "everything"}), "types"),
        ("lookup-user-by-email", json!({"email": "a@b"}), "email"),
    ] {
        let report = invoke(&c, block, input.clone(), &ctx).await;
        let (kind, message, _) = block_error(&report);
        assert_eq!(
            kind,
            BlockErrorKind::InvalidInput,
            "{block} {input}: {message}"
        );
        assert!(message.contains(field), "{block} {input}: {message}");
    }
    assert!(slack.requests().is_empty());
}

// ---------------------------------------------------------------------------
// The fake's OAuth2 endpoints, as the host's OAuth2 support will use them.
// ---------------------------------------------------------------------------

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn pkce_challenge(verifier: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

/// Authorize with PKCE; the code from the redirect.
async fn authorize(slack: &FakeSlack, verifier: &str) -> String {
    let resp = http_client()
        .get(slack.authorize_url())
        .query(&[
            ("client_id", fake_slack::CLIENT_ID),
            ("scope", "chat:write,channels:read"),
            ("redirect_uri", "https://weft.example/oauth/callback"),
            ("state", "st-123"),
            ("code_challenge", &pkce_challenge(verifier)),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status(), 302);
    let location = resp.headers()["location"].to_str().expect("location");
    let url = url::Url::parse(location).expect("url");
    assert_eq!(url.path(), "/oauth/callback");
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q.get("state").map(String::as_str), Some("st-123"));
    q["code"].clone()
}

async fn token_request(slack: &FakeSlack, form: &[(&str, &str)], basic: bool) -> (u16, Value) {
    let mut req = http_client().post(slack.token_url()).form(form);
    if basic {
        req = req.basic_auth(fake_slack::CLIENT_ID, Some(fake_slack::CLIENT_SECRET));
    }
    let resp = req.send().await.expect("token request");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("body");
    (status, serde_json::from_slice(&bytes).expect("json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_oauth2_code_exchange_refresh_rotation_and_revocation() {
    let (slack, _rt, c) = setup().await;
    let verifier = "a-long-random-code-verifier-0123456789-abcdefghijklmnop";

    // A wrong verifier is refused (and does not spend the code).
    let code = authorize(&slack, verifier).await;
    let (status, body) = token_request(
        &slack,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://weft.example/oauth/callback"),
            ("code_verifier", "wrong"),
        ],
        true,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_code_verifier");

    // The right one, client authenticated by form fields this time.
    let (status, body) = token_request(
        &slack,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://weft.example/oauth/callback"),
            ("code_verifier", verifier),
            ("client_id", fake_slack::CLIENT_ID),
            ("client_secret", fake_slack::CLIENT_SECRET),
        ],
        false,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true);
    assert_eq!(body["token_type"], "bot");
    assert_eq!(body["expires_in"], fake_slack::DEFAULT_EXPIRES_IN);
    assert_eq!(body["scope"], "chat:write,channels:read");
    let access = body["access_token"].as_str().expect("access").to_string();
    let refresh = body["refresh_token"].as_str().expect("refresh").to_string();
    assert!(access.starts_with("xoxe.xoxb-") && refresh.starts_with("xoxe-1-"));
    assert_eq!(slack.token_exchanges(), 1);
    let auth = &slack.authorize_requests()[0];
    assert_eq!(auth.params["code_challenge_method"], "S256");
    assert_eq!(
        slack.token_requests()[1].client_auth,
        fake_slack::ClientAuth::Form
    );

    // The issued token works with the connector, within its scopes.
    assert!(
        invoke(
            &c,
            "list-channels",
            json!({"max_items": 10}),
            &with_token(&access)
        )
        .await
        .output
        .is_ok()
    );
    let report = invoke(
        &c,
        "lookup-user-by-email",
        json!({"email": "ann@example.com"}),
        &with_token(&access),
    )
    .await;
    let (kind, message, _) = block_error(&report);
    assert_eq!(kind, BlockErrorKind::Fatal);
    assert!(message.contains("users:read.email"), "{message}");

    // A code is good once.
    let (status, body) = token_request(
        &slack,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://weft.example/oauth/callback"),
            ("code_verifier", verifier),
        ],
        true,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_code"))
    );

    // Refresh rotates both tokens; the old refresh token is spent.
    slack.set_expires_in(60);
    let (status, body) = token_request(
        &slack,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        true,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 60);
    let access2 = body["access_token"].as_str().expect("access").to_string();
    let refresh2 = body["refresh_token"].as_str().expect("refresh").to_string();
    assert_ne!(access2, access);
    assert_ne!(refresh2, refresh);
    assert_eq!(slack.refreshes(), 1);
    assert!(slack.token_is_valid(&access2));
    assert!(
        invoke(
            &c,
            "send-message",
            json!({"channel": "#general", "text": "rotated"}),
            &with_token(&access2)
        )
        .await
        .output
        .is_ok()
    );
    let (status, body) = token_request(
        &slack,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        true,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"ok": false, "error": "invalid_refresh_token", "error_description": "the refresh token is unknown, rotated or revoked"})
    );

    // A revoked refresh token fails the same way.
    slack.revoke_refresh_token(&refresh2);
    let (status, body) = token_request(
        &slack,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh2),
        ],
        true,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_refresh_token"))
    );
    assert_eq!(slack.refreshes(), 1);

    // An expired access token answers token_expired: unauthorized.
    slack.expire_token(&access2);
    let report = invoke(&c, "list-channels", json!({}), &with_token(&access2)).await;
    let (kind, message, _) = block_error(&report);
    assert_eq!(kind, BlockErrorKind::Unauthorized);
    assert!(message.contains("token_expired"), "{message}");

    // A wrong client secret: 401.
    let resp = http_client()
        .post(slack.token_url())
        .basic_auth(fake_slack::CLIENT_ID, Some("nope"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 401);
}
