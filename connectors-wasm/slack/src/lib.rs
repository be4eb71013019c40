//! `slack`: post messages, list channels and look up users through the
//! Slack Web API, written with the public `weft-sdk` only.
//!
//! The connector never sees a token: the connection holds a bot token (or
//! an OAuth2 grant) and the host adds `Authorization: Bearer …` to every
//! request bound for `https://slack.com`. See README.md for the blocks,
//! auth and scopes.
//!
//! Slack answers most failures with HTTP 200 and `{"ok": false, "error":
//! "<code>"}`; [`slack_error`] turns those codes into typed block errors.

use serde::de::DeserializeOwned;
use std::time::Duration;
use weft_sdk::prelude::*;

/// The Slack Web API. Every method lives under this path.
const API: &str = "https://slack.com/api";

/// Scopes the blocks need, asked for by the OAuth2 flow.
const SCOPES: &[&str] = &[
    "chat:write",
    "channels:read",
    "groups:read",
    "users:read",
    "users:read.email",
];

// ---------------------------------------------------------------------------
// Calling Slack and mapping its errors
// ---------------------------------------------------------------------------

/// The part every Slack Web API answer has.
#[derive(Deserialize)]
struct Envelope {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    /// With `missing_scope`: the scope(s) the method needs.
    #[serde(default)]
    needed: Option<String>,
    /// Non-fatal notices, e.g. `missing_charset`.
    #[serde(default)]
    warning: Option<String>,
}

fn retry_after(resp: &Response) -> Option<Duration> {
    resp.header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Send `request` to the Web API method `method` and decode a successful
/// answer as `T`; every failure becomes a typed [`BlockError`].
fn call<T: DeserializeOwned>(method: &str, request: Request) -> Result<T, BlockError> {
    let resp = request.send()?;
    let wait = retry_after(&resp);
    if resp.status == 429 {
        let after = wait.map_or(String::new(), |d| {
            format!("; retry after {} s", d.as_secs())
        });
        return Err(BlockError::rate_limited(
            format!("Slack {method}: rate limited (HTTP 429){after}"),
            wait,
        )
        .with_details(json!({ "method": method, "status": 429 })));
    }
    match serde_json::from_slice::<Envelope>(&resp.body) {
        Ok(envelope) if !envelope.ok => {
            let code = envelope.error.as_deref().unwrap_or("unknown_error");
            Err(slack_error(method, code, envelope.needed.as_deref(), wait))
        }
        Ok(envelope) => {
            if let Some(warning) = &envelope.warning {
                log::warn(format!("Slack {method} warning: {warning}"));
            }
            resp.error_for_status()?.json()
        }
        // Not Slack's JSON at all: a proxy or an outage. Let the status
        // decide (5xx → transient, ...), or fail on the body.
        Err(_) => resp.error_for_status()?.json(),
    }
}

/// The block error for a Slack error code from `{"ok": false, "error": code}`.
pub fn slack_error(
    method: &str,
    code: &str,
    needed: Option<&str>,
    retry_after: Option<Duration>,
) -> BlockError {
    let mut details = json!({ "method": method, "error": code });
    let err = match code {
        "not_authed" | "invalid_auth" | "token_revoked" | "token_expired" | "account_inactive" => {
            BlockError::unauthorized(format!(
                "Slack {method}: {code}: the connection's token is missing, invalid, expired or revoked; reconnect Slack"
            ))
        }
        "channel_not_found" => BlockError::not_found(format!(
            "Slack {method}: {code}: no such channel, or the app cannot see it (invite it to private channels)"
        )),
        "users_not_found" | "user_not_found" => {
            BlockError::not_found(format!("Slack {method}: {code}: no such user"))
        }
        "ratelimited" | "rate_limited" => {
            BlockError::rate_limited(format!("Slack {method}: rate limited"), retry_after)
        }
        "missing_scope" => {
            let scope = needed.unwrap_or("(Slack did not say which)");
            details["needed"] = json!(scope);
            BlockError::fatal(format!(
                "Slack {method}: missing_scope: the token lacks the scope `{scope}`; add it to the Slack app and reconnect"
            ))
        }
        // Slack's own passing failures.
        "internal_error" | "service_unavailable" | "request_timeout" => {
            BlockError::transient(format!("Slack {method}: {code}"))
        }
        _ => BlockError::fatal(format!("Slack {method} failed: {code}")),
    };
    err.with_details(details)
}

// ---------------------------------------------------------------------------
// send-message
// ---------------------------------------------------------------------------

#[derive(Deserialize, JsonSchema)]
pub struct SendMessageInput {
    /// Where to post: a channel ID (`C0123456789`), a private channel or
    /// DM ID, or a channel name (`#general`). The app must be a member of
    /// private channels.
    #[schemars(length(min = 1))]
    pub channel: String,
    /// The message text (Slack `mrkdwn`). When `blocks` are given it is
    /// the fallback shown in notifications.
    #[schemars(length(min = 1))]
    pub text: String,
    /// Reply in the thread of this message: its `ts`, e.g. `1712345678.000100`
    /// (the `ts` a previous `send-message` returned).
    #[serde(default)]
    pub thread_ts: Option<String>,
    /// Block Kit layout blocks (at most 50), e.g.
    /// `[{"type": "section", "text": {"type": "mrkdwn", "text": "*Hi*"}}]`.
    #[serde(default)]
    pub blocks: Option<Vec<Value>>,
    /// Unfurl links to text-based content (Slack's default when omitted).
    #[serde(default)]
    pub unfurl_links: Option<bool>,
}

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct SendMessageOutput {
    /// The channel ID the message was posted in.
    pub channel: String,
    /// The message's timestamp: its ID within the channel (use it as
    /// `thread_ts` to reply in its thread).
    pub ts: String,
    /// The message as Slack stored it (`text`, `user`, `bot_id`, `blocks`, ...).
    pub message: Value,
}

/// The body of `chat.postMessage`.
#[derive(Serialize)]
struct PostMessage<'a> {
    channel: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_ts: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    blocks: Option<&'a [Value]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unfurl_links: Option<bool>,
}

fn is_slack_ts(ts: &str) -> bool {
    match ts.split_once('.') {
        Some((secs, frac)) => {
            !secs.is_empty()
                && !frac.is_empty()
                && secs.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

fn send_message(_ctx: &Context, input: SendMessageInput) -> Result<SendMessageOutput, BlockError> {
    let channel = input.channel.trim();
    if channel.is_empty() || channel.chars().any(char::is_whitespace) {
        return Err(invalid_field(
            "channel",
            "`channel` must be a channel ID such as C0123456789 or a name such as #general",
        ));
    }
    if input.text.trim().is_empty() {
        return Err(invalid_field("text", "`text` must not be empty"));
    }
    let thread_ts = input.thread_ts.as_deref().map(str::trim);
    if let Some(ts) = thread_ts
        && !is_slack_ts(ts)
    {
        return Err(invalid_field(
            "thread_ts",
            format!(
                "`thread_ts` must be a message timestamp such as 1712345678.000100, not {ts:?}"
            ),
        ));
    }
    if let Some(blocks) = &input.blocks {
        if blocks.len() > 50 {
            return Err(invalid_field(
                "blocks",
                format!(
                    "`blocks` has {} entries; Slack allows at most 50",
                    blocks.len()
                ),
            ));
        }
        if let Some(i) = blocks
            .iter()
            .position(|b| b.get("type").and_then(Value::as_str).is_none())
        {
            return Err(invalid_field(
                "blocks",
                format!("`blocks[{i}]` must be an object with a `type`"),
            ));
        }
    }
    let body = PostMessage {
        channel,
        text: &input.text,
        thread_ts,
        blocks: input.blocks.as_deref(),
        unfurl_links: input.unfurl_links,
    };
    let request = Request::post(format!("{API}/chat.postMessage"))
        .header("content-type", "application/json; charset=utf-8")
        .json(&body)?;
    let out: SendMessageOutput = call("chat.postMessage", request)?;
    log::info(format!("posted message {} in {}", out.ts, out.channel));
    Ok(out)
}

// ---------------------------------------------------------------------------
// list-channels
// ---------------------------------------------------------------------------

fn default_types() -> String {
    "public_channel".to_string()
}

fn default_true() -> bool {
    true
}

fn default_limit() -> u32 {
    200
}

fn default_max_items() -> u32 {
    1000
}

#[derive(Deserialize, JsonSchema)]
pub struct ListChannelsInput {
    /// Comma-separated conversation types: `public_channel`,
    /// `private_channel` (needs `groups:read`), `mpim`, `im`.
    #[serde(default = "default_types")]
    pub types: String,
    /// Leave out archived channels.
    #[serde(default = "default_true")]
    pub exclude_archived: bool,
    /// Channels per request (page size), 1 to 1000; Slack recommends at
    /// most 200.
    #[serde(default = "default_limit")]
    #[schemars(range(min = 1, max = 1000))]
    pub limit: u32,
    /// Stop after this many channels in total, however many pages that takes.
    #[serde(default = "default_max_items")]
    #[schemars(range(min = 1))]
    pub max_items: u32,
}

/// A channel as `list-channels` returns it.
#[derive(Serialize, JsonSchema)]
pub struct Channel {
    /// The channel ID (`C0123456789`), what `send-message` takes as `channel`.
    pub id: String,
    /// The channel name without `#`; null for direct messages.
    pub name: Option<String>,
    pub is_private: bool,
    pub is_archived: bool,
    /// Number of members; null where Slack does not count them (DMs).
    pub num_members: Option<u64>,
    /// The channel's topic; empty when it has none.
    pub topic: String,
}

#[derive(Deserialize)]
struct SlackChannel {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    is_private: bool,
    #[serde(default)]
    is_archived: bool,
    #[serde(default)]
    num_members: Option<u64>,
    #[serde(default)]
    topic: Option<SlackTopic>,
}

#[derive(Deserialize)]
struct SlackTopic {
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
struct ChannelPage {
    #[serde(default)]
    channels: Vec<SlackChannel>,
    #[serde(default)]
    response_metadata: Option<ResponseMetadata>,
}

#[derive(Deserialize)]
struct ResponseMetadata {
    #[serde(default)]
    next_cursor: String,
}

const CONVERSATION_TYPES: &[&str] = &["public_channel", "private_channel", "mpim", "im"];

fn list_channels(_ctx: &Context, input: ListChannelsInput) -> Result<Vec<Channel>, BlockError> {
    let types: Vec<&str> = input
        .types
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if types.is_empty() {
        return Err(invalid_field(
            "types",
            "`types` must name at least one conversation type",
        ));
    }
    if let Some(bad) = types.iter().find(|t| !CONVERSATION_TYPES.contains(t)) {
        return Err(invalid_field(
            "types",
            format!(
                "`types`: unknown conversation type {bad:?}; use {}",
                CONVERSATION_TYPES.join(", ")
            ),
        ));
    }
    if !(1..=1000).contains(&input.limit) {
        return Err(invalid_field("limit", "`limit` must be between 1 and 1000"));
    }
    if input.max_items == 0 {
        return Err(invalid_field("max_items", "`max_items` must be at least 1"));
    }
    let max_items = input.max_items as usize;
    let types = types.join(",");
    let mut channels = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0u32;
    loop {
        let mut request = Request::get(format!("{API}/conversations.list"))
            .query("types", &types)
            .query("exclude_archived", input.exclude_archived.to_string())
            .query("limit", input.limit.to_string());
        if !cursor.is_empty() {
            request = request.query("cursor", &cursor);
        }
        let page: ChannelPage = call("conversations.list", request)?;
        pages += 1;
        channels.extend(page.channels.into_iter().map(|c| Channel {
            id: c.id,
            name: c.name,
            is_private: c.is_private,
            is_archived: c.is_archived,
            num_members: c.num_members,
            topic: c.topic.map(|t| t.value).unwrap_or_default(),
        }));
        let next = page
            .response_metadata
            .map(|m| m.next_cursor)
            .unwrap_or_default();
        if next.is_empty() || channels.len() >= max_items {
            break;
        }
        if next == cursor {
            return Err(BlockError::fatal(format!(
                "Slack conversations.list returned the same cursor twice ({next:?}); stopping"
            )));
        }
        cursor = next;
    }
    channels.truncate(max_items);
    log::info(format!(
        "listed {} channel(s) in {pages} page(s)",
        channels.len()
    ));
    Ok(channels)
}

// ---------------------------------------------------------------------------
// lookup-user-by-email
// ---------------------------------------------------------------------------

#[derive(Deserialize, JsonSchema)]
pub struct LookupUserInput {
    /// The e-mail address of the user's Slack account.
    #[schemars(email)]
    pub email: String,
}

#[derive(Serialize, JsonSchema)]
pub struct User {
    /// The user ID (`U0123456789`); `send-message` accepts it as `channel`
    /// to send a direct message.
    pub id: String,
    /// The username (handle).
    pub name: String,
    /// The full name, if set.
    pub real_name: Option<String>,
    pub email: String,
    /// The user's time zone, e.g. `Europe/Berlin`.
    pub tz: Option<String>,
    pub is_bot: bool,
}

#[derive(Deserialize)]
struct UserAnswer {
    user: SlackUser,
}

#[derive(Deserialize)]
struct SlackUser {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    real_name: Option<String>,
    #[serde(default)]
    tz: Option<String>,
    #[serde(default)]
    is_bot: bool,
    #[serde(default)]
    profile: Option<SlackProfile>,
}

#[derive(Deserialize)]
struct SlackProfile {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    real_name: Option<String>,
}

fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn lookup_user_by_email(_ctx: &Context, input: LookupUserInput) -> Result<User, BlockError> {
    let email = input.email.trim();
    if !is_plausible_email(email) {
        return Err(invalid_field(
            "email",
            format!("`email` must be an e-mail address such as ann@example.com, not {email:?}"),
        ));
    }
    let request = Request::get(format!("{API}/users.lookupByEmail")).query("email", email);
    let answer: UserAnswer = call("users.lookupByEmail", request).map_err(|e| {
        if e.kind == weft_sdk::block::ErrorKind::NotFound {
            BlockError::not_found(format!("no Slack user has the e-mail address {email}"))
                .with_details(json!({ "method": "users.lookupByEmail", "error": "users_not_found", "email": email }))
        } else {
            e
        }
    })?;
    let u = answer.user;
    let profile = u.profile.unwrap_or(SlackProfile {
        email: None,
        real_name: None,
    });
    Ok(User {
        id: u.id,
        name: u.name,
        real_name: u.real_name.or(profile.real_name).filter(|n| !n.is_empty()),
        email: profile.email.unwrap_or_else(|| email.to_string()),
        tz: u.tz,
        is_bot: u.is_bot,
    })
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// An `invalid-input` error naming the field, like the SDK's own decoding errors.
fn invalid_field(field: &str, message: impl Into<String>) -> BlockError {
    BlockError::invalid_input(message).with_details(json!({ "path": field }))
}

// ---------------------------------------------------------------------------
// The connector
// ---------------------------------------------------------------------------

weft_sdk::connector! {
    id: "slack",
    name: "Slack",
    description: "Send messages, list channels and look up users in a Slack workspace.",
    hosts: ["https://slack.com"],
    auth: [
        Auth::Bearer,
        Auth::OAuth2Code {
            authorize_url: "https://slack.com/oauth/v2/authorize",
            token_url: "https://slack.com/api/oauth.v2.access",
            scopes: SCOPES,
        },
    ],
    blocks: [
        send_message => ("send-message", "Send message", "Posts a message (text, optionally Block Kit blocks) to a channel, DM or thread with chat.postMessage; needs chat:write."),
        list_channels => ("list-channels", "List channels", "Lists the workspace's channels as a list ready for a loop, following Slack's pagination; needs channels:read (and groups:read for private channels)."),
        lookup_user_by_email => ("lookup-user-by-email", "Find user by e-mail", "Finds a Slack user by e-mail address; fails with not-found when nobody has it; needs users:read and users:read.email."),
    ],
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_sdk::block::ErrorKind;

    #[test]
    fn slack_error_codes_map_to_kinds() {
        let kind = |code| slack_error("m", code, None, None).kind;
        for code in [
            "not_authed",
            "invalid_auth",
            "token_revoked",
            "token_expired",
            "account_inactive",
        ] {
            assert_eq!(kind(code), ErrorKind::Unauthorized, "{code}");
        }
        for code in ["channel_not_found", "users_not_found", "user_not_found"] {
            assert_eq!(kind(code), ErrorKind::NotFound, "{code}");
        }
        assert_eq!(kind("is_archived"), ErrorKind::Fatal);
        assert_eq!(kind("internal_error"), ErrorKind::Transient);
        let limited = slack_error("m", "ratelimited", None, Some(Duration::from_secs(3)));
        assert_eq!(limited.kind, ErrorKind::RateLimited);
        assert_eq!(limited.retry_after, Some(Duration::from_secs(3)));
        let scope = slack_error(
            "chat.postMessage",
            "missing_scope",
            Some("chat:write"),
            None,
        );
        assert_eq!(scope.kind, ErrorKind::Fatal);
        assert!(scope.message.contains("`chat:write`"), "{}", scope.message);
        assert!(kind("weird_code") == ErrorKind::Fatal);
        assert!(
            slack_error("m", "weird_code", None, None)
                .message
                .contains("weird_code")
        );
    }

    #[test]
    fn input_checks() {
        assert!(is_slack_ts("1712345678.000100"));
        assert!(!is_slack_ts("1712345678"));
        assert!(!is_slack_ts("abc.def"));
        assert!(is_plausible_email("ann@example.com"));
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "a@b@c.com",
        ] {
            assert!(!is_plausible_email(bad), "{bad}");
        }
    }
}
