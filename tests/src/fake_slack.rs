//! A fake Slack Web API on 127.0.0.1 (random port) for end-to-end tests:
//! `chat.postMessage`, `conversations.list` (cursor pagination),
//! `users.lookupByEmail`, and Slack's OAuth2 v2 flow (authorize with PKCE,
//! `oauth.v2.access` with code exchange and token rotation).
//!
//! It answers like Slack: API failures are HTTP 200 with
//! `{"ok": false, "error": "<code>"}` (`not_authed` without a bearer token,
//! `invalid_auth` for an unknown one, `token_revoked`, `token_expired`,
//! `missing_scope` with `needed`), rate limits HTTP 429 with `Retry-After`;
//! [`FakeSlack::set_http_401_for_invalid_tokens`] makes bad tokens HTTP 401
//! instead, as most OAuth2 APIs answer them.
//! The token endpoint answers errors with HTTP 400 (401 for client
//! authentication) and a standard OAuth2 JSON body: `{"ok": false, "error":
//! "<code>", "error_description": "…"}`.
//!
//! Everything is inspectable and adjustable at runtime through [`FakeSlack`]
//! (or directly through [`FakeSlack::state`]): accepted tokens, channels,
//! users, posted messages, every request with its `Authorization` header,
//! authorize and token requests, counters. It stops when dropped.
//!
//! ```ignore
//! let slack = FakeSlack::start().await;           // 450 channels, 2 users, BOT_TOKEN accepted
//! let rt = Runtime::builder().route_origin("https://slack.com", &slack.base()).build()?;
//! // … invoke the slack connector with Credential::Bearer(Secret::new(fake_slack::BOT_TOKEN)) …
//! assert_eq!(slack.requests()[0].authorization.as_deref(), Some("Bearer xoxb-fake-bot-token"));
//! ```

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The bot token every new fake accepts (with all scopes, no expiry).
pub const BOT_TOKEN: &str = "xoxb-fake-bot-token";
/// The OAuth2 client every new fake knows.
pub const CLIENT_ID: &str = "1111111111.2222222222";
pub const CLIENT_SECRET: &str = "fake-client-secret";
/// How many channels a new fake is seeded with (public, not archived).
pub const SEEDED_CHANNELS: usize = 450;
/// `expires_in` of OAuth2 access tokens unless changed with
/// [`FakeSlack::set_expires_in`]: 12 hours, like Slack's token rotation.
pub const DEFAULT_EXPIRES_IN: u64 = 43_200;
/// The scopes each Web API method of the fake needs.
pub const SCOPE_CHAT_WRITE: &str = "chat:write";
pub const SCOPE_CHANNELS_READ: &str = "channels:read";
pub const SCOPE_GROUPS_READ: &str = "groups:read";
pub const SCOPE_USERS_READ_EMAIL: &str = "users:read.email";

/// A channel as the fake stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeChannel {
    pub id: String,
    pub name: String,
    pub is_private: bool,
    pub is_archived: bool,
    pub num_members: u64,
    pub topic: String,
}

impl FakeChannel {
    fn to_slack(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": !self.is_private,
            "is_group": self.is_private,
            "is_im": false,
            "is_mpim": false,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": self.name == "general",
            "is_member": true,
            "created": 1_600_000_000,
            "num_members": self.num_members,
            "topic": {"value": self.topic, "creator": "U0000000001", "last_set": 1_600_000_000},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        })
    }
}

/// A user as the fake stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeUser {
    pub id: String,
    pub name: String,
    pub real_name: String,
    pub email: String,
    pub tz: String,
    pub is_bot: bool,
}

impl FakeUser {
    fn to_slack(&self) -> Value {
        json!({
            "id": self.id,
            "team_id": "T0FAKE",
            "name": self.name,
            "deleted": false,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": self.tz,
            "is_bot": self.is_bot,
            "is_admin": false,
            "profile": {
                "email": self.email,
                "real_name": self.real_name,
                "display_name": self.name,
            },
        })
    }
}

/// A message `chat.postMessage` accepted.
#[derive(Debug, Clone)]
pub struct PostedMessage {
    /// The channel ID it went to (resolved from a name or user ID).
    pub channel: String,
    pub ts: String,
    pub text: Option<String>,
    pub thread_ts: Option<String>,
    pub blocks: Option<Value>,
    pub unfurl_links: Option<bool>,
    /// The request's arguments as received (JSON body or form fields).
    pub args: Value,
    /// The `Authorization` header it came with.
    pub authorization: Option<String>,
}

/// Any request the fake received, API or OAuth.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// The path, e.g. `/api/chat.postMessage`.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// Every header, in order (names lower-case).
    pub headers: Vec<(String, String)>,
    /// The first `Authorization` header.
    pub authorization: Option<String>,
    /// How many `Authorization` headers the request had.
    pub authorization_count: usize,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Decoded query parameters.
    pub fn query_pairs(&self) -> HashMap<String, String> {
        parse_form(self.query.as_deref().unwrap_or("").as_bytes())
    }
}

/// A `GET /oauth/v2/authorize` the fake answered.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    /// Its query parameters (client_id, scope, redirect_uri, state,
    /// code_challenge, code_challenge_method, …).
    pub params: HashMap<String, String>,
    /// The code it issued; `None` when it refused or was told to deny.
    pub code: Option<String>,
    /// The `Location` it redirected to, if it redirected.
    pub location: Option<String>,
}

/// How a token request authenticated the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic base64(client_id:client_secret)`.
    Basic,
    /// `client_id` and `client_secret` form fields.
    Form,
    /// Neither.
    None,
}

/// A `POST /api/oauth.v2.access` the fake answered.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub client_auth: ClientAuth,
    pub client_id: Option<String>,
    /// The form fields as received (secrets included: this is a test fake).
    pub form: HashMap<String, String>,
    pub status: u16,
    /// The answer's `error`, when it failed.
    pub error: Option<String>,
}

/// An access token the API endpoints accept.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    /// `None`: never expires.
    pub expires_at: Option<Instant>,
    /// `None`: every scope.
    pub scopes: Option<Vec<String>>,
    /// A revoked token answers `token_revoked`.
    pub revoked: bool,
}

/// An authorization code waiting to be exchanged.
#[derive(Debug, Clone)]
pub struct PendingCode {
    pub client_id: String,
    pub redirect_uri: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub scopes: Vec<String>,
    pub used: bool,
}

/// A refresh token the token endpoint accepts (until rotated or revoked).
#[derive(Debug, Clone)]
pub struct RefreshInfo {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub revoked: bool,
}

/// The fake's whole state; lock it with [`FakeSlack::state`] for anything
/// the helper methods do not cover.
#[derive(Debug, Default)]
pub struct SlackState {
    pub tokens: HashMap<String, TokenInfo>,
    pub channels: Vec<FakeChannel>,
    /// By lower-cased e-mail address.
    pub users: HashMap<String, FakeUser>,
    pub messages: Vec<PostedMessage>,
    pub requests: Vec<RecordedRequest>,
    /// OAuth2 clients: id → secret.
    pub clients: HashMap<String, String>,
    pub codes: HashMap<String, PendingCode>,
    pub refresh_tokens: HashMap<String, RefreshInfo>,
    pub authorize_requests: Vec<AuthorizeRequest>,
    pub token_requests: Vec<TokenRequest>,
    /// `expires_in` for newly issued access tokens.
    pub expires_in: u64,
    /// Successful `authorization_code` exchanges.
    pub token_exchanges: usize,
    /// Successful `refresh_token` grants.
    pub refreshes: usize,
    /// Each entry answers one API request with HTTP 429 and this
    /// `Retry-After` (seconds).
    pub rate_limit_queue: VecDeque<u64>,
    /// Each entry answers one API request with HTTP 200 and `{"ok": false}`
    /// merged with this object (e.g. `{"error": "missing_scope", "needed": "chat:write"}`).
    pub failure_queue: VecDeque<Value>,
    /// The next authorize request redirects with `error=access_denied`.
    pub deny_next_authorization: bool,
    /// Answer `invalid_auth`, `token_revoked` and `token_expired` with HTTP
    /// 401 (same body) instead of Slack's HTTP 200, like most OAuth2 APIs.
    pub http_401_for_invalid_tokens: bool,
    seq: u64,
}

impl SlackState {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn seeded() -> SlackState {
        let mut state = SlackState {
            expires_in: DEFAULT_EXPIRES_IN,
            ..SlackState::default()
        };
        state.tokens.insert(
            BOT_TOKEN.to_string(),
            TokenInfo {
                expires_at: None,
                scopes: None,
                revoked: false,
            },
        );
        state
            .clients
            .insert(CLIENT_ID.to_string(), CLIENT_SECRET.to_string());
        state.channels = (0..SEEDED_CHANNELS).map(seeded_channel).collect();
        for user in [
            FakeUser {
                id: "U0000000001".into(),
                name: "ann".into(),
                real_name: "Ann Lee".into(),
                email: "ann@example.com".into(),
                tz: "Europe/Berlin".into(),
                is_bot: false,
            },
            FakeUser {
                id: "U0000000002".into(),
                name: "bob".into(),
                real_name: "Bob Ray".into(),
                email: "bob@example.com".into(),
                tz: "America/New_York".into(),
                is_bot: false,
            },
        ] {
            state.users.insert(user.email.to_ascii_lowercase(), user);
        }
        state
    }
}

/// Channel `i` of the seed: `C0000000000` `general`, then `C0000000001`
/// `channel-001`, …
pub fn seeded_channel(i: usize) -> FakeChannel {
    FakeChannel {
        id: format!("C{i:010}"),
        name: if i == 0 {
            "general".into()
        } else {
            format!("channel-{i:03}")
        },
        is_private: false,
        is_archived: false,
        num_members: (i % 50) as u64 + 1,
        topic: format!("Topic of channel {i}"),
    }
}

type Shared = Arc<Mutex<SlackState>>;

fn lock(state: &Shared) -> MutexGuard<'_, SlackState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The fake Slack. Stops when dropped.
pub struct FakeSlack {
    pub addr: SocketAddr,
    state: Shared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeSlack {
    /// A fake seeded with [`SEEDED_CHANNELS`] public channels, the users
    /// `ann@example.com` and `bob@example.com`, [`BOT_TOKEN`] accepted and
    /// the OAuth2 client [`CLIENT_ID`]/[`CLIENT_SECRET`].
    pub async fn start() -> FakeSlack {
        let state: Shared = Arc::new(Mutex::new(SlackState::seeded()));
        let recorder = state.clone();
        let app = Router::new()
            .route("/oauth/v2/authorize", get(authorize))
            .route("/api/oauth.v2.access", post(token))
            .route("/api/chat.postMessage", any(post_message))
            .route("/api/conversations.list", any(conversations_list))
            .route("/api/users.lookupByEmail", any(lookup_by_email))
            .route("/api/{method}", any(unknown_method))
            .with_state(state.clone())
            .layer(axum::middleware::from_fn(
                move |req: Request, next: axum::middleware::Next| {
                    let recorder = recorder.clone();
                    async move { record(recorder, req, next).await }
                },
            ));
        let (addr, tx) = crate::serve_on_loopback(app).await;
        FakeSlack {
            addr,
            state,
            shutdown: Some(tx),
        }
    }

    /// `http://127.0.0.1:PORT`: the target for
    /// `RuntimeBuilder::route_origin("https://slack.com", …)`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/oauth/v2/authorize`
    pub fn authorize_url(&self) -> String {
        format!("{}/oauth/v2/authorize", self.base())
    }

    /// `http://127.0.0.1:PORT/api/oauth.v2.access`
    pub fn token_url(&self) -> String {
        format!("{}/api/oauth.v2.access", self.base())
    }

    /// The whole state, locked (do not hold it across an `.await`).
    pub fn state(&self) -> MutexGuard<'_, SlackState> {
        lock(&self.state)
    }

    // --- access tokens -------------------------------------------------

    /// Accept `token` with every scope and no expiry (again, if revoked).
    pub fn accept_token(&self, token: &str) {
        self.state().tokens.insert(
            token.to_string(),
            TokenInfo {
                expires_at: None,
                scopes: None,
                revoked: false,
            },
        );
    }

    /// Accept `token` with only these scopes: methods needing others
    /// answer `missing_scope` with `needed`.
    pub fn accept_token_with_scopes(&self, token: &str, scopes: &[&str]) {
        self.state().tokens.insert(
            token.to_string(),
            TokenInfo {
                expires_at: None,
                scopes: Some(scopes.iter().map(|s| s.to_string()).collect()),
                revoked: false,
            },
        );
    }

    /// From now on `token` answers `token_revoked`.
    pub fn revoke_token(&self, token: &str) {
        if let Some(info) = self.state().tokens.get_mut(token) {
            info.revoked = true;
        }
    }

    /// From now on `token` answers `token_expired`.
    pub fn expire_token(&self, token: &str) {
        if let Some(info) = self.state().tokens.get_mut(token) {
            info.expires_at = Some(Instant::now());
        }
    }

    /// Whether the API endpoints currently accept `token`.
    pub fn token_is_valid(&self, token: &str) -> bool {
        self.state()
            .tokens
            .get(token)
            .is_some_and(|t| !t.revoked && t.expires_at.is_none_or(|at| Instant::now() < at))
    }

    // --- data ----------------------------------------------------------

    pub fn channels(&self) -> Vec<FakeChannel> {
        self.state().channels.clone()
    }

    pub fn add_channel(&self, channel: FakeChannel) {
        self.state().channels.push(channel);
    }

    pub fn add_user(&self, user: FakeUser) {
        self.state()
            .users
            .insert(user.email.to_ascii_lowercase(), user);
    }

    /// Messages `chat.postMessage` accepted, oldest first.
    pub fn messages(&self) -> Vec<PostedMessage> {
        self.state().messages.clone()
    }

    /// Every request received, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// Requests to one path, e.g. `/api/conversations.list`.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.state()
            .requests
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// The `Authorization` header of every request, oldest first.
    pub fn authorizations(&self) -> Vec<Option<String>> {
        self.state()
            .requests
            .iter()
            .map(|r| r.authorization.clone())
            .collect()
    }

    // --- failures ------------------------------------------------------

    /// The next API request (not OAuth) answers HTTP 429 with
    /// `Retry-After: retry_after_secs` and `{"ok":false,"error":"ratelimited"}`.
    pub fn rate_limit_next(&self, retry_after_secs: u64) {
        self.state().rate_limit_queue.push_back(retry_after_secs);
    }

    /// The next API request answers HTTP 200 with `{"ok": false}` merged
    /// with `answer`, e.g. `json!({"error": "missing_scope", "needed": "chat:write"})`.
    pub fn fail_next(&self, answer: Value) {
        self.state().failure_queue.push_back(answer);
    }

    // --- OAuth2 --------------------------------------------------------

    pub fn register_client(&self, client_id: &str, client_secret: &str) {
        self.state()
            .clients
            .insert(client_id.to_string(), client_secret.to_string());
    }

    /// `expires_in` (seconds) of access tokens issued from now on.
    pub fn set_expires_in(&self, secs: u64) {
        self.state().expires_in = secs;
    }

    /// With `true`, a bad bearer token (`invalid_auth`, `token_revoked`,
    /// `token_expired`) is answered with HTTP 401 instead of Slack's HTTP
    /// 200, so the host's refresh-after-401 path can be tested.
    pub fn set_http_401_for_invalid_tokens(&self, on: bool) {
        self.state().http_401_for_invalid_tokens = on;
    }

    /// The next authorize request redirects with `error=access_denied`.
    pub fn deny_next_authorization(&self) {
        self.state().deny_next_authorization = true;
    }

    /// From now on `refresh_token` is refused with HTTP 400
    /// `{"ok":false,"error":"invalid_refresh_token"}`.
    pub fn revoke_refresh_token(&self, refresh_token: &str) {
        if let Some(info) = self.state().refresh_tokens.get_mut(refresh_token) {
            info.revoked = true;
        }
    }

    /// Revoke every refresh token issued so far.
    pub fn revoke_all_refresh_tokens(&self) {
        for info in self.state().refresh_tokens.values_mut() {
            info.revoked = true;
        }
    }

    /// Refresh tokens the token endpoint would accept now.
    pub fn live_refresh_tokens(&self) -> Vec<String> {
        self.state()
            .refresh_tokens
            .iter()
            .filter(|(_, i)| !i.revoked)
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Successful `authorization_code` exchanges so far.
    pub fn token_exchanges(&self) -> usize {
        self.state().token_exchanges
    }

    /// Successful `refresh_token` grants so far.
    pub fn refreshes(&self) -> usize {
        self.state().refreshes
    }

    pub fn authorize_requests(&self) -> Vec<AuthorizeRequest> {
        self.state().authorize_requests.clone()
    }

    /// Every token endpoint request, successful or not.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.state().token_requests.clone()
    }
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

// ---------------------------------------------------------------------------
// Recording
// ---------------------------------------------------------------------------

async fn record(state: Shared, req: Request, next: axum::middleware::Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let auths: Vec<String> = parts
        .headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    lock(&state).requests.push(RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        authorization: auths.first().cloned(),
        authorization_count: auths.len(),
        body: bytes.to_vec(),
    });
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

// ---------------------------------------------------------------------------
// Web API
// ---------------------------------------------------------------------------

fn slack_json(value: Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        value.to_string(),
    )
        .into_response()
}

fn slack_error(code: &str) -> Response {
    slack_json(json!({"ok": false, "error": code}))
}

/// A method's arguments: query parameters, then form fields or a JSON
/// object body (Slack accepts all three).
fn args(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    for (k, v) in parse_form(uri.query().unwrap_or("").as_bytes()) {
        out.insert(k, Value::String(v));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.contains("json") {
        if let Ok(Value::Object(map)) = serde_json::from_slice(body) {
            out.extend(map);
        }
    } else if !body.is_empty() {
        for (k, v) in parse_form(body) {
            out.insert(k, Value::String(v));
        }
    }
    out
}

fn parse_form(bytes: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

fn arg_str<'a>(args: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a str> {
    args.get(name).and_then(Value::as_str)
}

fn arg_bool(args: &serde_json::Map<String, Value>, name: &str) -> Option<bool> {
    match args.get(name)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(matches!(s.as_str(), "true" | "1")),
        Value::Number(n) => Some(n.as_u64() != Some(0)),
        _ => None,
    }
}

/// Forced failures, then the bearer token and its scopes. `Some` is the
/// answer to send instead of the method's.
fn gate(state: &mut SlackState, headers: &HeaderMap, needed: &[&str]) -> Option<Response> {
    if let Some(secs) = state.rate_limit_queue.pop_front() {
        return Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    (header::RETRY_AFTER, secs.to_string()),
                    (
                        header::CONTENT_TYPE,
                        "application/json; charset=utf-8".to_string(),
                    ),
                ],
                json!({"ok": false, "error": "ratelimited"}).to_string(),
            )
                .into_response(),
        );
    }
    if let Some(answer) = state.failure_queue.pop_front() {
        let mut body = json!({"ok": false});
        if let Value::Object(extra) = answer {
            body.as_object_mut().expect("object").extend(extra);
        }
        return Some(slack_json(body));
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Some(slack_error("not_authed"));
    };
    let bad_token = |code: &str| {
        if state.http_401_for_invalid_tokens {
            (
                StatusCode::UNAUTHORIZED,
                [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                json!({"ok": false, "error": code}).to_string(),
            )
                .into_response()
        } else {
            slack_error(code)
        }
    };
    let Some(info) = state.tokens.get(token) else {
        return Some(bad_token("invalid_auth"));
    };
    if info.revoked {
        return Some(bad_token("token_revoked"));
    }
    if info.expires_at.is_some_and(|at| Instant::now() >= at) {
        return Some(bad_token("token_expired"));
    }
    if let Some(scopes) = &info.scopes {
        let missing: Vec<&str> = needed
            .iter()
            .copied()
            .filter(|n| !scopes.iter().any(|s| s == n))
            .collect();
        if !missing.is_empty() {
            return Some(slack_json(json!({
                "ok": false,
                "error": "missing_scope",
                "needed": missing.join(","),
                "provided": scopes.join(","),
            })));
        }
    }
    None
}

async fn post_message(
    State(state): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = lock(&state);
    if let Some(answer) = gate(&mut s, &headers, &[SCOPE_CHAT_WRITE]) {
        return answer;
    }
    let args = args(&uri, &headers, &body);
    let channel_arg = arg_str(&args, "channel").unwrap_or("").trim().to_string();
    if channel_arg.is_empty() {
        return slack_error("channel_not_found");
    }
    let by_name = channel_arg.trim_start_matches('#');
    let channel = s
        .channels
        .iter()
        .find(|c| c.id == channel_arg || c.name == by_name)
        .cloned();
    let channel_id = match channel {
        Some(c) if c.is_archived => return slack_error("is_archived"),
        Some(c) => c.id,
        None => match s.users.values().find(|u| u.id == channel_arg) {
            Some(u) => format!("D{}", &u.id[1..]),
            None => return slack_error("channel_not_found"),
        },
    };
    let text = arg_str(&args, "text").map(str::to_string);
    let blocks = args.get("blocks").cloned().map(|b| match b {
        Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
        other => other,
    });
    if text.as_deref().is_none_or(str::is_empty) && blocks.is_none() {
        return slack_error("no_text");
    }
    if let Some(blocks) = &blocks {
        match blocks.as_array() {
            Some(list) if list.len() <= 50 => {}
            _ => return slack_error("invalid_blocks"),
        }
    }
    let seq = s.next_seq();
    let ts = format!("{}.{:06}", 1_700_000_000 + seq, seq);
    let thread_ts = arg_str(&args, "thread_ts").map(str::to_string);
    let mut message = json!({
        "type": "message",
        "user": "U0FAKEBOT",
        "bot_id": "B0FAKEBOT",
        "app_id": "A0FAKEAPP",
        "team": "T0FAKE",
        "text": text.clone().unwrap_or_default(),
        "ts": ts,
    });
    if let Some(t) = &thread_ts {
        message["thread_ts"] = json!(t);
    }
    if let Some(b) = &blocks {
        message["blocks"] = b.clone();
    }
    s.messages.push(PostedMessage {
        channel: channel_id.clone(),
        ts: ts.clone(),
        text,
        thread_ts,
        blocks,
        unfurl_links: arg_bool(&args, "unfurl_links"),
        args: Value::Object(args),
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    });
    slack_json(json!({"ok": true, "channel": channel_id, "ts": ts, "message": message}))
}

async fn conversations_list(
    State(state): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let args = args(&uri, &headers, &body);
    let types: Vec<String> = arg_str(&args, "types")
        .unwrap_or("public_channel")
        .split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    let mut needed = vec![SCOPE_CHANNELS_READ];
    if types.iter().any(|t| t == "private_channel") {
        needed.push(SCOPE_GROUPS_READ);
    }
    let s = &mut *lock(&state);
    if let Some(answer) = gate(s, &headers, &needed) {
        return answer;
    }
    let exclude_archived = arg_bool(&args, "exclude_archived").unwrap_or(false);
    let limit = match arg_str(&args, "limit").map(str::parse::<usize>) {
        None => 100,
        Some(Ok(n)) => n.clamp(1, 1000),
        Some(Err(_)) => return slack_error("invalid_limit"),
    };
    let offset = match arg_str(&args, "cursor").filter(|c| !c.is_empty()) {
        None => 0,
        Some(cursor) => match decode_cursor(cursor) {
            Some(n) => n,
            None => return slack_error("invalid_cursor"),
        },
    };
    let matching: Vec<&FakeChannel> = s
        .channels
        .iter()
        .filter(|c| {
            let kind = if c.is_private {
                "private_channel"
            } else {
                "public_channel"
            };
            types.iter().any(|t| t == kind) && !(exclude_archived && c.is_archived)
        })
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|c| c.to_slack())
        .collect();
    let next = offset + page.len();
    let next_cursor = if next < matching.len() {
        STANDARD.encode(format!("offset:{next}"))
    } else {
        String::new()
    };
    slack_json(json!({
        "ok": true,
        "channels": page,
        "response_metadata": {"next_cursor": next_cursor},
    }))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = STANDARD.decode(cursor).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("offset:")?
        .parse()
        .ok()
}

async fn lookup_by_email(
    State(state): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let s = &mut *lock(&state);
    if let Some(answer) = gate(s, &headers, &[SCOPE_USERS_READ_EMAIL]) {
        return answer;
    }
    let args = args(&uri, &headers, &body);
    let Some(email) = arg_str(&args, "email").filter(|e| !e.is_empty()) else {
        return slack_error("invalid_arguments");
    };
    match s.users.get(&email.to_ascii_lowercase()) {
        Some(user) => slack_json(json!({"ok": true, "user": user.to_slack()})),
        None => slack_error("users_not_found"),
    }
}

async fn unknown_method(Path(_method): Path<String>) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        json!({"ok": false, "error": "unknown_method"}).to_string(),
    )
        .into_response()
}

// ---------------------------------------------------------------------------
// OAuth2
// ---------------------------------------------------------------------------

/// `GET /oauth/v2/authorize`: the user approves at once; 302 to
/// `redirect_uri?code=…&state=…`.
async fn authorize(
    State(state): State<Shared>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    let refuse = |s: &mut SlackState, why: &str| {
        s.authorize_requests.push(AuthorizeRequest {
            params: params.clone(),
            code: None,
            location: None,
        });
        (StatusCode::BAD_REQUEST, why.to_string()).into_response()
    };
    let client_id = params.get("client_id").cloned().unwrap_or_default();
    if !s.clients.contains_key(&client_id) {
        return refuse(&mut s, "invalid_client_id");
    }
    let Some(redirect_uri) = params.get("redirect_uri").cloned() else {
        return refuse(&mut s, "bad_redirect_uri: redirect_uri is required");
    };
    let Ok(mut location) = url::Url::parse(&redirect_uri) else {
        return refuse(&mut s, "bad_redirect_uri");
    };
    let method = params.get("code_challenge_method").cloned();
    let challenge = params.get("code_challenge").cloned();
    if challenge.is_some() && method.as_deref() != Some("S256") {
        return refuse(
            &mut s,
            "invalid_request: code_challenge_method must be S256",
        );
    }
    let mut code = None;
    if std::mem::take(&mut s.deny_next_authorization) {
        location
            .query_pairs_mut()
            .append_pair("error", "access_denied");
    } else {
        let issued = format!("fake-code-{}", s.next_seq());
        s.codes.insert(
            issued.clone(),
            PendingCode {
                client_id,
                redirect_uri: Some(redirect_uri),
                code_challenge: challenge,
                code_challenge_method: method,
                scopes: split_scopes(params.get("scope").map_or("", String::as_str)),
                used: false,
            },
        );
        location.query_pairs_mut().append_pair("code", &issued);
        code = Some(issued);
    }
    if let Some(st) = params.get("state") {
        location.query_pairs_mut().append_pair("state", st);
    }
    let location = location.to_string();
    s.authorize_requests.push(AuthorizeRequest {
        params,
        code,
        location: Some(location.clone()),
    });
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// Slack separates scopes with commas; standard OAuth2 clients with spaces.
fn split_scopes(scope: &str) -> Vec<String> {
    scope
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn token_error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        json!({"ok": false, "error": code, "error_description": description}).to_string(),
    )
        .into_response()
}

fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `POST /api/oauth.v2.access` (form body).
async fn token(
    State(state): State<Shared>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = parse_form(&body);
    let s = &mut *lock(&state);
    let grant_type = form.get("grant_type").cloned().or_else(|| {
        form.contains_key("code")
            .then(|| "authorization_code".to_string())
    });
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(id, secret)| (id.to_string(), secret.to_string()))
        });
    let (client_auth, client) = match (basic, form.get("client_id")) {
        (Some(pair), _) => (ClientAuth::Basic, Some(pair)),
        (None, Some(id)) => (
            ClientAuth::Form,
            Some((
                id.clone(),
                form.get("client_secret").cloned().unwrap_or_default(),
            )),
        ),
        (None, None) => (ClientAuth::None, None),
    };
    let answer = if method != Method::POST {
        Err(TokenFailure::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "use POST",
        ))
    } else {
        grant(s, grant_type.as_deref(), client.as_ref(), &form)
    };
    let (status, error) = match &answer {
        Ok(_) => (200, None),
        Err(f) => (f.status.as_u16(), Some(f.code.to_string())),
    };
    s.token_requests.push(TokenRequest {
        grant_type,
        client_auth,
        client_id: client.map(|(id, _)| id),
        form,
        status,
        error,
    });
    match answer {
        Ok(body) => slack_json(body),
        Err(f) => token_error(f.status, f.code, &f.description),
    }
}

/// Why the token endpoint refused a request.
struct TokenFailure {
    status: StatusCode,
    code: &'static str,
    description: String,
}

impl TokenFailure {
    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        TokenFailure {
            status,
            code,
            description: description.into(),
        }
    }

    fn bad(code: &'static str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, description)
    }
}

fn grant(
    s: &mut SlackState,
    grant_type: Option<&str>,
    client: Option<&(String, String)>,
    form: &HashMap<String, String>,
) -> Result<Value, TokenFailure> {
    let Some((client_id, client_secret)) = client else {
        return Err(TokenFailure::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client_id",
            "no client authentication (HTTP Basic or client_id/client_secret)",
        ));
    };
    match s.clients.get(client_id) {
        None => {
            return Err(TokenFailure::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client_id",
                "unknown client_id",
            ));
        }
        Some(secret) if secret != client_secret => {
            return Err(TokenFailure::new(
                StatusCode::UNAUTHORIZED,
                "bad_client_secret",
                "wrong client_secret",
            ));
        }
        Some(_) => {}
    }
    let scopes = match grant_type {
        Some("authorization_code") => {
            let code = form.get("code").map(String::as_str).unwrap_or("");
            let Some(pending) = s.codes.get_mut(code) else {
                return Err(TokenFailure::bad("invalid_code", "unknown code"));
            };
            if pending.used {
                return Err(TokenFailure::bad("invalid_code", "code already used"));
            }
            if &pending.client_id != client_id {
                return Err(TokenFailure::bad(
                    "invalid_code",
                    "code issued to another client",
                ));
            }
            if pending.redirect_uri.is_some()
                && form.get("redirect_uri") != pending.redirect_uri.as_ref()
            {
                return Err(TokenFailure::bad(
                    "bad_redirect_uri",
                    "redirect_uri differs from the authorize request's",
                ));
            }
            if let Some(challenge) = &pending.code_challenge {
                let Some(verifier) = form.get("code_verifier") else {
                    return Err(TokenFailure::bad(
                        "invalid_code_verifier",
                        "code_verifier is required (PKCE)",
                    ));
                };
                if &pkce_challenge(verifier) != challenge {
                    return Err(TokenFailure::bad(
                        "invalid_code_verifier",
                        "SHA256(code_verifier) does not match code_challenge",
                    ));
                }
            }
            pending.used = true;
            let scopes = pending.scopes.clone();
            s.token_exchanges += 1;
            scopes
        }
        Some("refresh_token") => {
            let old = form.get("refresh_token").map(String::as_str).unwrap_or("");
            let info = match s.refresh_tokens.get(old) {
                Some(info) if !info.revoked && &info.client_id == client_id => info.clone(),
                _ => {
                    return Err(TokenFailure::bad(
                        "invalid_refresh_token",
                        "the refresh token is unknown, rotated or revoked",
                    ));
                }
            };
            // Rotation: the old refresh token is spent.
            s.refresh_tokens.remove(old);
            s.refreshes += 1;
            info.scopes
        }
        Some(other) => {
            return Err(TokenFailure::bad(
                "invalid_grant_type",
                format!("unsupported grant_type {other:?}"),
            ));
        }
        None => {
            return Err(TokenFailure::bad(
                "invalid_grant_type",
                "grant_type is required",
            ));
        }
    };
    let seq = s.next_seq();
    let access_token = format!("xoxe.xoxb-1-fake{seq:06}");
    let refresh_token = format!("xoxe-1-fake{seq:06}");
    let expires_in = s.expires_in;
    s.tokens.insert(
        access_token.clone(),
        TokenInfo {
            expires_at: Some(Instant::now() + Duration::from_secs(expires_in)),
            scopes: Some(scopes.clone()),
            revoked: false,
        },
    );
    s.refresh_tokens.insert(
        refresh_token.clone(),
        RefreshInfo {
            client_id: client_id.clone(),
            scopes: scopes.clone(),
            revoked: false,
        },
    );
    Ok(json!({
        "ok": true,
        "app_id": "A0FAKEAPP",
        "access_token": access_token,
        "token_type": "bot",
        "scope": scopes.join(","),
        "bot_user_id": "U0FAKEBOT",
        "expires_in": expires_in,
        "refresh_token": refresh_token,
        "team": {"id": "T0FAKE", "name": "Fake Workspace"},
        "enterprise": null,
        "is_enterprise_install": false,
        "authed_user": {"id": "U0000000001"},
    }))
}
