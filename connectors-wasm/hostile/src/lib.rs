//! `hostile`: blocks that misbehave on purpose, so the tests can prove the
//! host contains them. Never grant this connector anything in production.

use std::hint::black_box;
use weft_sdk::prelude::*;

#[derive(Deserialize, JsonSchema)]
pub struct Nothing {}

fn spin(_ctx: &Context, _input: Nothing) -> Result<Value, BlockError> {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

fn memory_bomb(_ctx: &Context, _input: Nothing) -> Result<Value, BlockError> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        // Touch every page so the growth is real, not just reserved.
        hoard.push(vec![0xAB; 1 << 20]);
        black_box(&hoard);
    }
}

/// Large frames: the locals live on Rust's shadow stack in linear memory,
/// which overflows first.
#[allow(unconditional_recursion)]
fn deep_frames(n: u64) -> u64 {
    let frame = black_box([n; 16]);
    deep_frames(black_box(frame[3] + 1)) + black_box(frame[7])
}

/// Small frames: everything stays in wasm locals, so the engine's own
/// wasm stack limit is what stops it.
#[allow(unconditional_recursion)]
fn small_frames(n: u64) -> u64 {
    small_frames(black_box(n + 1)).wrapping_add(black_box(n))
}

#[derive(Deserialize, JsonSchema)]
pub struct RecurseInput {
    /// `small` (wasm stack) or `large` (linear-memory stack).
    pub frames: String,
}

fn recurse(_ctx: &Context, input: RecurseInput) -> Result<Value, BlockError> {
    Ok(match input.frames.as_str() {
        "large" => json!(deep_frames(0)),
        _ => json!(small_frames(0)),
    })
}

fn panic_block(_ctx: &Context, _input: Nothing) -> Result<Value, BlockError> {
    panic!("hostile block panicked on purpose");
}

#[derive(Deserialize, JsonSchema)]
pub struct HugeInput {
    /// How many bytes of output to produce.
    pub bytes: usize,
}

fn huge_output(_ctx: &Context, input: HugeInput) -> Result<Value, BlockError> {
    Ok(Value::String("x".repeat(input.bytes)))
}

#[derive(Deserialize, JsonSchema)]
pub struct FetchInput {
    pub url: String,
}

/// Calls whatever URL it is given: forbidden hosts, hosts resolving to
/// loopback, redirects to elsewhere. The host decides; this block just tries.
fn fetch(_ctx: &Context, input: FetchInput) -> Result<Value, BlockError> {
    let resp = Request::get(input.url).send()?;
    Ok(json!({ "status": resp.status, "body": resp.text() }))
}

#[derive(Deserialize, JsonSchema)]
pub struct EscapeInput {
    pub path: String,
}

/// Tries every way out of the sandbox that is not HTTP: files, the
/// environment, sockets. Reports what it saw.
fn escape(_ctx: &Context, input: EscapeInput) -> Result<Value, BlockError> {
    let file = match std::fs::read(&input.path) {
        Ok(bytes) => json!({ "read": bytes.len() }),
        Err(e) => json!({ "error": e.to_string() }),
    };
    let dir = match std::fs::read_dir("/") {
        Ok(entries) => json!({ "entries": entries.count() }),
        Err(e) => json!({ "error": e.to_string() }),
    };
    let env: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    let socket = match std::net::TcpStream::connect("127.0.0.1:80") {
        Ok(_) => json!({ "connected": true }),
        Err(e) => json!({ "error": e.to_string() }),
    };
    Ok(json!({ "file": file, "dir": dir, "env": env, "socket": socket }))
}

#[derive(Deserialize, JsonSchema)]
pub struct LoudInput {
    /// Bytes of error message, details and log line to produce.
    pub bytes: usize,
    /// Fail as rate-limited, asking for this many seconds of wait.
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
}

/// Fails with an error message, details and a log line of `bytes` bytes
/// each, all starting with terminal escape sequences and a carriage return;
/// or, with `retry_after_secs`, as rate-limited asking for that long a wait.
fn loud(_ctx: &Context, input: LoudInput) -> Result<Value, BlockError> {
    if let Some(secs) = input.retry_after_secs {
        return Err(BlockError::rate_limited(
            "slow down",
            Some(std::time::Duration::from_secs(secs)),
        ));
    }
    let text = format!(
        "\u{1b}[2J\u{1b}]0;pwned\u{7}\rFAKE{}",
        "y".repeat(input.bytes)
    );
    log::error(&text);
    Err(BlockError::fatal(text.clone()).with_details(json!({ "echo": text })))
}

weft_sdk::connector! {
    id: "hostile",
    name: "Hostile",
    description: "Misbehaves on purpose; test fixture for the sandbox.",
    // The template host is filled from a connection field (tests of tenant
    // placeholders); it matches nothing until a connection names a tenant.
    hosts: ["http://allowed.weft.test:*", "http://127.0.0.1:*", "http://{tenant}.tenants.weft.test:*"],
    auth: [Auth::None],
    blocks: [
        spin => ("spin", "Spin", "Loops forever."),
        memory_bomb => ("memory-bomb", "Memory bomb", "Allocates until stopped."),
        recurse => ("recurse", "Recurse", "Recurses without end."),
        panic_block => ("panic", "Panic", "Panics."),
        huge_output => ("huge-output", "Huge output", "Returns as many bytes as asked."),
        fetch => ("fetch", "Fetch", "GETs any URL it is given."),
        escape => ("escape", "Escape", "Tries files, environment and sockets."),
        loud => ("loud", "Loud", "Fails with huge, terminal-hostile text, or asks for a huge retry wait."),
    ],
}
