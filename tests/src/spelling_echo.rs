//! An API on 127.0.0.1 that echoes the credential it was sent in every
//! spelling a server may use: JSON with every character escaped, percent-
//! encoding in either case, form bodies, base64 of each alphabet (padded
//! or not, at every alignment inside a longer value, also of a JSON body
//! that carried the secret), hex, HTML references, response headers, and
//! mixtures of these. Tests check that none of it reaches a block, a run
//! or the history ([`needles`] lists what to look for).

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::json;
use std::collections::HashMap;

/// Every encoding `/spell/{encoding}` answers in (`split` aside: it cuts
/// the secret in two, which no scrubbing of one answer can recognise).
pub const ENCODINGS: &[&str] = &[
    "json",
    "json-unicode",
    "json-unicode-lower",
    "json-slash",
    "percent-upper",
    "percent-lower",
    "form",
    "query-in-json",
    "base64-std",
    "base64-std-raw",
    "base64-url",
    "base64-url-raw",
    "base64-json",
    "hex",
    "html",
    "headers",
    "mixed",
];

/// Secrets of every printable character class: letters, digits, space,
/// quotes, backslash and every other punctuation mark, and one that looks
/// like escapes itself.
pub const SECRETS: &[&str] = &[
    "Zq9 \"quote' back\\slash /sl+pl=eq%pc&amp<lt>gt#?;:,.!@$^*()[]{}|`~_-end",
    "AbC+/=9zY-_x0%2Fk\\u0041&#65;",
];

/// The credential a request carried: a bearer token, an `X-Api-Key`, or
/// the password of HTTP Basic.
fn credential(headers: &HeaderMap) -> String {
    if let Some(key) = headers.get("x-api-key") {
        return String::from_utf8_lossy(key.as_bytes()).into_owned();
    }
    let auth = headers
        .get("authorization")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    if let Some(token) = auth.strip_prefix("Bearer ") {
        return token.to_string();
    }
    if let Some(pair) = auth.strip_prefix("Basic ")
        && let Ok(decoded) = STANDARD.decode(pair)
    {
        let pair = String::from_utf8_lossy(&decoded).into_owned();
        return pair
            .split_once(':')
            .map(|(_, p)| p.to_string())
            .unwrap_or(pair);
    }
    String::new()
}

/// Every character as `\uXXXX` (surrogate pairs above the BMP).
pub fn json_unicode(text: &str, lower: bool) -> String {
    text.encode_utf16()
        .map(|u| match lower {
            true => format!("\\u{u:04x}"),
            false => format!("\\u{u:04X}"),
        })
        .collect()
}

/// Every byte as `%XX`.
pub fn percent_all(text: &str, lower: bool) -> String {
    text.bytes()
        .map(|b| match lower {
            true => format!("%{b:02x}"),
            false => format!("%{b:02X}"),
        })
        .collect()
}

pub fn form(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The inside of a JSON string holding `text`.
pub fn json_inner(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    quoted[1..quoted.len() - 1].to_string()
}

/// Numeric HTML references, decimal and hex in turn.
pub fn html(text: &str) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| match i % 2 {
            0 => format!("&#{};", c as u32),
            _ => format!("&#x{:X};", c as u32),
        })
        .collect()
}

/// Standard and URL-safe base64 of `secret` wherever it sits inside a
/// longer encoded value: per alignment, the characters that depend on
/// the secret alone.
pub fn base64_needles(secret: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for offset in 0..3usize {
        let mut bytes = vec![0u8; offset];
        bytes.extend_from_slice(secret);
        let chars = STANDARD_NO_PAD.encode(&bytes);
        let core = &chars[(offset * 4).div_ceil(3)..bytes.len() * 4 / 3];
        out.push(core.to_string());
        out.push(core.replace('+', "-").replace('/', "_"));
    }
    out
}

/// Every spelling of `secret` this API uses: none may appear in anything
/// the engine or the server keeps or answers.
pub fn needles(secret: &str) -> Vec<String> {
    let mut out = vec![
        secret.to_string(),
        json_inner(secret),
        json_unicode(secret, false),
        json_unicode(secret, true),
        percent_all(secret, false),
        percent_all(secret, true),
        form(secret),
        hex_of(secret, false),
        hex_of(secret, true),
        html(secret),
    ];
    out.extend(base64_needles(secret.as_bytes()));
    out.extend(base64_needles(json_inner(secret).as_bytes()));
    out
}

fn hex_of(text: &str, upper: bool) -> String {
    text.bytes()
        .map(|b| match upper {
            true => format!("{b:02X}"),
            false => format!("{b:02x}"),
        })
        .collect()
}

/// The answer for `encoding`, with `at` bytes before the secret inside
/// base64 values.
pub fn spell(encoding: &str, secret: &str, at: usize) -> Response {
    let pre = "p".repeat(at);
    let wrapped = format!("{pre}{secret}!tail");
    let json_body = |v: serde_json::Value| {
        (
            [("content-type", "application/json")],
            serde_json::to_string(&v).unwrap_or_default(),
        )
            .into_response()
    };
    let typed = |ct: &'static str, body: String| ([("content-type", ct)], body).into_response();
    match encoding {
        "json" => json_body(json!({
            "echo": secret,
            "as_key": {secret: true},
            "inside": format!("Bearer {secret}."),
            "deep": [[{"x": [secret]}]],
        })),
        "json-unicode" | "json-unicode-lower" => {
            let lower = encoding.ends_with("lower");
            let spelled = json_unicode(secret, lower);
            typed(
                "application/json",
                format!(r#"{{"echo":"{spelled}","{spelled}":1,"text":"key={spelled};"}}"#),
            )
        }
        "json-slash" => {
            let body = serde_json::to_string(
                &json!({"echo": secret, "url": format!("https://x/{secret}")}),
            )
            .unwrap_or_default()
            .replace('/', "\\/");
            typed("application/json", body)
        }
        "percent-upper" => typed(
            "text/plain",
            format!("token={}", percent_all(secret, false)),
        ),
        "percent-lower" => typed("text/plain", format!("token={}", percent_all(secret, true))),
        "form" => typed(
            "application/x-www-form-urlencoded",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("access_token", secret)
                .append_pair(secret, "as-name")
                .append_pair("n", "1")
                .finish(),
        ),
        "query-in-json" => json_body(json!({
            "next": format!("https://api.example/cb?token={}&n=1", form(secret)),
            "lower": format!("https://api.example/cb?token={}", percent_all(secret, true)),
        })),
        "base64-std" => json_body(json!({"data": STANDARD.encode(&wrapped)})),
        "base64-std-raw" => json_body(json!({"data": STANDARD_NO_PAD.encode(&wrapped)})),
        "base64-url" => json_body(json!({"data": URL_SAFE.encode(&wrapped)})),
        "base64-url-raw" => typed("text/plain", URL_SAFE_NO_PAD.encode(&wrapped)),
        "base64-json" => {
            let request = serde_json::to_string(&json!({"headers": {"x": pre, "token": secret}}))
                .unwrap_or_default();
            json_body(json!({"request": STANDARD.encode(request)}))
        }
        "hex" => typed(
            "text/plain",
            format!("{}\n{}", hex_of(secret, false), hex_of(secret, true)),
        ),
        "html" => typed(
            "text/html",
            format!(
                "<p title=\"{}\">{}</p>",
                html(secret),
                secret
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
                    .replace('"', "&quot;")
            ),
        ),
        "headers" => (
            [
                ("content-type", "text/plain".to_string()),
                ("x-echo-pct", percent_all(secret, true)),
                ("x-echo-b64", STANDARD.encode(&wrapped)),
                ("x-echo-json", json_unicode(secret, false)),
            ],
            "see the headers".to_string(),
        )
            .into_response(),
        "mixed" => {
            let mixed: String = secret
                .chars()
                .enumerate()
                .map(|(i, c)| match i % 3 {
                    0 => json_unicode(&c.to_string(), i % 2 == 0),
                    1 => json_inner(&c.to_string()),
                    _ => json_inner(&percent_all(&c.to_string(), i % 2 == 0)),
                })
                .collect();
            typed("application/json", format!(r#"{{"echo":"{mixed}"}}"#))
        }
        "split" => {
            let half = secret.len() / 2;
            let cut = (half..secret.len())
                .find(|i| secret.is_char_boundary(*i))
                .unwrap_or(half);
            json_body(json!({"a": &secret[..cut], "b": &secret[cut..]}))
        }
        other => (
            axum::http::StatusCode::NOT_FOUND,
            format!("no encoding {other:?}"),
        )
            .into_response(),
    }
}

/// The routes: `ANY /spell/{encoding}?at=N` answers with the request's
/// credential in that encoding.
pub fn router() -> Router {
    Router::new().route(
        "/spell/{encoding}",
        any(
            |Path(encoding): Path<String>,
             Query(q): Query<HashMap<String, String>>,
             headers: HeaderMap| async move {
                let at = q.get("at").and_then(|a| a.parse().ok()).unwrap_or(0usize);
                spell(&encoding, &credential(&headers), at % 3)
            },
        ),
    )
}
