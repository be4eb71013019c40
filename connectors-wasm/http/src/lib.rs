//! `http`: a generic REST call, written with the public SDK only.
//!
//! The connector declares every http and https destination; what it may
//! really reach is decided by the operator's grant, which the host
//! intersects with this declaration on every request and redirect hop.

use std::collections::BTreeMap;
use std::time::Duration;
use weft_sdk::prelude::*;

/// A query parameter or header value: text, number or boolean.
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Number(serde_json::Number),
    Bool(bool),
}

impl Scalar {
    fn into_text(self) -> String {
        match self {
            Scalar::Text(s) => s,
            Scalar::Number(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    /// HTTP method; GET when omitted.
    #[serde(default = "default_method")]
    pub method: String,
    /// Absolute http:// or https:// URL.
    pub url: String,
    /// Query parameters appended to the URL.
    #[serde(default)]
    pub query: BTreeMap<String, Scalar>,
    #[serde(default)]
    pub headers: BTreeMap<String, Scalar>,
    /// A JSON body (sent with Content-Type: application/json).
    #[serde(default)]
    pub json: Option<Value>,
    /// A text body (sent as is; set Content-Type yourself).
    #[serde(default)]
    pub text: Option<String>,
    /// Request timeout in milliseconds (the host may lower it).
    #[serde(default)]
    pub timeout_ms: Option<u32>,
    /// Fail the block on 4xx/5xx answers (default true). When false the
    /// status is returned like any other.
    #[serde(default = "default_true")]
    pub fail_on_error_status: bool,
    /// Send `Idempotency-Key` with this invocation's key (default false), so
    /// a service that deduplicates on it drops the request when the host
    /// repeats it after a crash. The key is stable per run, block, loop
    /// iteration and attempt. A `headers` entry named Idempotency-Key wins.
    #[serde(default)]
    pub idempotency: bool,
}

fn default_method() -> String {
    "GET".to_string()
}

fn default_true() -> bool {
    true
}

#[derive(Serialize, JsonSchema)]
pub struct RequestOutput {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    /// The body parsed as JSON when it is JSON, otherwise the text.
    pub body: Value,
}

fn request(ctx: &Context, input: RequestInput) -> Result<RequestOutput, BlockError> {
    if input.json.is_some() && input.text.is_some() {
        return Err(BlockError::invalid_input(
            "give either `json` or `text` as the body, not both",
        ));
    }
    let mut req = Request::new(input.method, input.url);
    for (name, value) in input.query {
        req = req.query(name, value.into_text());
    }
    for (name, value) in input.headers {
        req = req.header(name, value.into_text());
    }
    if input.idempotency {
        req = req.idempotency_key(&ctx.idempotency_key);
    }
    if let Some(json) = &input.json {
        req = req.json(json)?;
    }
    if let Some(text) = input.text {
        req = req.body(text.into_bytes());
    }
    if let Some(ms) = input.timeout_ms {
        req = req.timeout(Duration::from_millis(u64::from(ms)));
    }
    let mut resp = req.send()?;
    if input.fail_on_error_status {
        resp = resp.error_for_status()?;
    }
    let is_json = resp
        .header("content-type")
        .is_some_and(|ct| ct.contains("json"));
    // A JSON content type whose body does not parse still comes back as text
    // rather than failing: the caller can see what the server really sent.
    let body = match is_json {
        true => serde_json::from_slice(&resp.body).unwrap_or_else(|_| Value::String(resp.text())),
        false => Value::String(resp.text()),
    };
    let mut headers = BTreeMap::new();
    for (name, value) in resp.headers {
        headers
            .entry(name.to_ascii_lowercase())
            .and_modify(|v: &mut String| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    Ok(RequestOutput {
        status: resp.status,
        headers,
        body,
    })
}

weft_sdk::connector! {
    id: "http",
    name: "HTTP",
    description: "Call any REST API the operator has granted: method, URL, query, headers, JSON or text body.",
    hosts: ["http://*:*", "https://*:*"],
    auth: [Auth::None, Auth::Bearer, Auth::Basic, Auth::ApiKeyHeader("X-Api-Key")],
    blocks: [
        request => ("request", "HTTP request", "Sends one HTTP request and returns status, headers and the body (parsed when JSON)."),
    ],
}
