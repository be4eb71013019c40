//! Shared fixtures for Weft's end-to-end tests: a real HTTP server on
//! 127.0.0.1 (random port) that plays the third-party API, and a runtime
//! wired the way the tests need it.

pub mod blocks;
pub mod engine;
pub mod examples;
pub mod fake_slack;
pub mod kv_conformance;
pub mod queue_conformance;
pub mod spelling_echo;
pub mod store_conformance;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Serve `app` on 127.0.0.1 (a free port) until the sender is sent to or
/// dropped.
pub async fn serve_on_loopback(app: Router) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    (addr, tx)
}

/// A fake third-party API on 127.0.0.1. Stops when dropped.
pub struct FakeApi {
    pub addr: SocketAddr,
    /// Requests served so far.
    pub hits: Arc<AtomicUsize>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeApi {
    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Routes:
    /// - `GET /json` → `{"ok":true}`
    /// - `ANY /echo` → method, headers, query and body of the request
    /// - `GET /redirect?to=URL&status=302` → a redirect to URL
    /// - `GET /big?bytes=N` → N bytes of text
    /// - `GET /slow?ms=N` → answers after N ms
    /// - `GET /status/{code}` → that status (with Retry-After: 2 on 429)
    pub async fn start() -> FakeApi {
        Self::start_with(Router::new()).await
    }

    /// The standard routes plus `extra`.
    pub async fn start_with(extra: Router) -> FakeApi {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let app = Router::new()
            .route("/json", get(|| async { axum::Json(json!({"ok": true})) }))
            .route("/echo", any(echo))
            .route("/redirect", get(redirect))
            .route("/big", get(big))
            .route("/slow", get(slow))
            .route("/status/{code}", get(status))
            .merge(extra)
            .layer(axum::middleware::from_fn(
                move |req, next: axum::middleware::Next| {
                    let counter = counter.clone();
                    async move {
                        counter.fetch_add(1, Ordering::SeqCst);
                        next.run(req).await
                    }
                },
            ));
        let (addr, tx) = serve_on_loopback(app).await;
        FakeApi {
            addr,
            hits,
            shutdown: Some(tx),
        }
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn echo(
    method: axum::http::Method,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> axum::Json<Value> {
    let headers: HashMap<String, String> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body_json: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    axum::Json(json!({
        "method": method.as_str(),
        "headers": headers,
        "query": query,
        "body": body_json,
    }))
}

async fn redirect(Query(q): Query<HashMap<String, String>>) -> Response {
    let to = q.get("to").cloned().unwrap_or_else(|| "/json".into());
    let code = q
        .get("status")
        .and_then(|s| s.parse::<u16>().ok())
        .and_then(|c| StatusCode::from_u16(c).ok())
        .unwrap_or(StatusCode::FOUND);
    (code, [(header::LOCATION, to)]).into_response()
}

async fn big(Query(q): Query<HashMap<String, String>>) -> String {
    let n = q
        .get("bytes")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1024usize);
    "y".repeat(n)
}

async fn slow(Query(q): Query<HashMap<String, String>>) -> axum::Json<Value> {
    let ms = q.get("ms").and_then(|s| s.parse().ok()).unwrap_or(1000u64);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    axum::Json(json!({"slept_ms": ms}))
}

async fn status(Path(code): Path<u16>) -> Response {
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    if code == StatusCode::TOO_MANY_REQUESTS {
        return (code, [(header::RETRY_AFTER, "2")], "slow down").into_response();
    }
    (code, format!("status {}", code.as_u16())).into_response()
}

/// A directory beside the test binaries for the compilation cache, so each
/// component is compiled once per build rather than once per test.
pub fn cache_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(|p| p.to_path_buf()))
        .unwrap_or_else(std::env::temp_dir)
        .join("weft-test-cache")
}
