//! Scrubbing injected secrets by meaning (`weft_host::scrub`), with two
//! secrets (a bearer token and a Basic pair's password) known:
//!
//! - `body/json-4k-clean` and `body/json-4k-echo`: a typical API answer,
//!   without and with the secret echoed (JSON-escaped);
//! - `body/json-1m-clean`: a 1 MiB JSON answer that holds no secret;
//! - `body/json-1m-echo-unicode`: the same with the secret `\u`-escaped
//!   in 100 places (parsed, scrubbed string by string, re-serialized);
//! - `text/10m-escapes`: 10 MiB of text dense in `\`, `%`, `+` and `&`,
//!   which makes every decoding pass run (the worst case per byte);
//! - `text/10m-base64`: 10 MiB of base64 holding the secret;
//! - `secrets/add`: building the matcher for a new secret.
//!
//! Run with `cargo bench -p weft-host --bench redaction`.

use base64::Engine as _;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use std::hint::black_box;
use weft_host::scrub::{SecretValues, scrub_body, scrub_bytes};

const TOKEN: &str = "xoxb-1234567890-abcdefGHIJKL/+=\"q";
const PASSWORD: &str = "open sesame & more";

fn secrets() -> SecretValues {
    let mut s = SecretValues::default();
    s.add(TOKEN);
    s.add(PASSWORD);
    s
}

fn unicode(text: &str) -> String {
    text.encode_utf16().map(|u| format!("\\u{u:04x}")).collect()
}

/// `{"ok":true,"items":[…n items…]}`; with `echo`, about 100 of the items
/// carry it, spelled as given, in an `"echo"` field.
fn records(n: usize, echo: Option<&str>) -> Vec<u8> {
    let every = (n / 100).max(1);
    let items: Vec<_> = (0..n)
        .map(|i| {
            let mut item = json!({
                "id": i, "name": format!("item number {i}"), "price": i as f64 * 1.25,
                "tags": ["a", "b", "c"], "url": format!("https://api.example.com/items/{i}?x=1&y=2"),
            });
            if echo.is_some() && i % every == 0 {
                item["echo"] = json!("ECHO-HERE");
            }
            item
        })
        .collect();
    let body = serde_json::to_string(&json!({"ok": true, "items": items})).expect("json");
    match echo {
        Some(e) => body.replace("ECHO-HERE", e).into_bytes(),
        None => body.into_bytes(),
    }
}

fn bench(c: &mut Criterion) {
    let s = secrets();
    let mut g = c.benchmark_group("body");
    for (name, body) in [
        ("json-4k-clean", records(30, None)),
        (
            "json-4k-echo",
            records(30, Some(&TOKEN.replace('"', "\\\"").replace('/', "\\/"))),
        ),
        ("json-1m-clean", records(8_000, None)),
        (
            "json-1m-echo-unicode",
            records(8_000, Some(&unicode(TOKEN))),
        ),
    ] {
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| scrub_body(Some("application/json"), black_box(&body), &s).len())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("text");
    g.sample_size(10);
    let escapes: Vec<u8> = b"a\\nb%20c+d&amp;e\\u0041 "
        .iter()
        .copied()
        .cycle()
        .take(10 << 20)
        .collect();
    let mut b64 = base64::engine::general_purpose::STANDARD
        .encode(vec![7u8; 7 << 20])
        .into_bytes();
    let echo = base64::engine::general_purpose::STANDARD.encode(format!("x{TOKEN}"));
    b64[5 << 20..(5 << 20) + echo.len()].copy_from_slice(echo.as_bytes());
    for (name, text) in [("10m-escapes", escapes), ("10m-base64", b64)] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(name, |b| b.iter(|| scrub_bytes(black_box(&text), &s).len()));
    }
    g.finish();

    c.bench_function("secrets/add", |b| {
        b.iter(|| {
            let mut s = SecretValues::default();
            s.add(black_box(TOKEN));
            s
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
