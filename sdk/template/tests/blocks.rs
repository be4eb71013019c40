//! The template's blocks, built for wasm32-wasip2 and run in the real Weft
//! host (sandbox, limits, allow-lists and all), against a fake Acme Tasks
//! API on 127.0.0.1.
//!
//! Run with `cargo test --release`.

use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::OnceCell;
use weft_host::testing::TestConnector;
use weft_host::{BlockErrorKind, BlockFailure, InvokeError};

// ---------------------------------------------------------------------------
// The connector under test
// ---------------------------------------------------------------------------

/// Building the crate for wasm32-wasip2 takes a while, so it is built and
/// loaded once per test binary and shared by all tests.
static CONNECTOR: OnceCell<TestConnector> = OnceCell::const_new();

/// A fresh handle on the shared connector (same compiled code, no grant).
async fn connector() -> TestConnector {
    let shared = CONNECTOR
        .get_or_init(|| async {
            TestConnector::build(env!("CARGO_MANIFEST_DIR"))
                .await
                .expect("build and load the connector")
        })
        .await;
    TestConnector {
        runtime: shared.runtime.clone(),
        connector: shared.connector.clone(),
    }
}

/// The connector, allowed to reach `api` and nothing else.
async fn granted(api: &FakeApi) -> TestConnector {
    connector()
        .await
        .grant(&[format!("http://127.0.0.1:{}", api.port)])
        .expect("valid grant")
}

/// The typed error a block returned.
fn block_failure(err: InvokeError) -> BlockFailure {
    match err {
        InvokeError::Block { failure, .. } => failure,
        other => panic!("expected a block error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// A fake Acme Tasks API: a tiny HTTP/1.1 server, one request per connection
// ---------------------------------------------------------------------------

/// A request the fake API received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    /// Path and query, e.g. `/tasks?status=open`.
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

type Answer = dyn Fn(&Received) -> (u16, Value) + Send + Sync;

struct FakeApi {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl FakeApi {
    /// Listen on 127.0.0.1 (any free port) and answer every request with
    /// `answer(request)`: a status and a JSON body.
    async fn start(answer: impl Fn(&Received) -> (u16, Value) + Send + Sync + 'static) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let answer: Arc<Answer> = Arc::new(answer);
        let log = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (answer, log) = (answer.clone(), log.clone());
                tokio::spawn(async move {
                    if let Err(e) = serve(stream, &*answer, &log).await {
                        eprintln!("fake API: {e}");
                    }
                });
            }
        });
        FakeApi { port, received }
    }

    fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

async fn serve(
    mut stream: TcpStream,
    answer: &Answer,
    log: &Mutex<Vec<Received>>,
) -> std::io::Result<()> {
    // Read until the end of the headers.
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other(
                "connection closed inside the headers",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_string();
    let target = request_line.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let content_length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);

    // Then the body, if any.
    let mut body = buf[head_end..].to_vec();
    while body.len() < content_length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::other("connection closed inside the body"));
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(content_length);

    let request = Received {
        method,
        target,
        headers,
        body,
    };
    let (status, json) = answer(&request);
    log.lock().expect("lock").push(request);

    let payload = json.to_string();
    let reason = match status {
        200 => "OK",
        201 => "Created",
        404 => "Not Found",
        _ => "Whatever",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{payload}",
        payload.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

fn sample_tasks() -> Vec<Value> {
    vec![
        json!({"id": "t1", "title": "Write the walkthrough", "status": "done"}),
        json!({"id": "t2", "title": "Ship the template", "status": "open", "due": "2030-01-31"}),
        json!({"id": "t3", "title": "Celebrate", "status": "open"}),
    ]
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[tokio::test]
async fn manifest_describes_blocks_hosts_and_auth() {
    let c = connector().await;
    let manifest = serde_json::to_value(c.connector.manifest()).expect("manifest as JSON");
    assert_eq!(manifest["id"], "acme-tasks");
    let blocks: Vec<&str> = c
        .connector
        .manifest()
        .blocks
        .iter()
        .map(|b| b.id.as_str())
        .collect();
    assert_eq!(blocks, ["list-tasks", "create-task", "summarize"]);
    assert_eq!(
        manifest["hosts"],
        json!(["https://api.acme-tasks.example", "http://127.0.0.1:*"])
    );
    assert_eq!(manifest["auth"], json!([{"kind": "bearer"}]));
    // Schemas come from the Rust types: doc comments, defaults, required fields.
    let create = &c.connector.manifest().blocks[1].input_schema;
    assert_eq!(create["required"], json!(["title"]));
    assert_eq!(
        create["properties"]["base_url"]["default"],
        "https://api.acme-tasks.example"
    );
}

#[tokio::test]
async fn summarize_counts_tasks_by_status() {
    let c = connector().await;
    let out = c
        .invoke("summarize", json!({ "tasks": sample_tasks() }))
        .await
        .expect("summarize");
    assert_eq!(
        out,
        json!({"total": 3, "by_status": {"done": 1, "open": 2}})
    );

    // Bad input is the automation's fault: invalid-input, not a crash.
    let err = c
        .invoke("summarize", json!({ "tasks": "not a list" }))
        .await
        .expect_err("a string is not a task list");
    let failure = block_failure(err);
    assert_eq!(failure.kind, BlockErrorKind::InvalidInput);
    assert!(
        failure.message.contains("`tasks`"),
        "names the field: {}",
        failure.message
    );
}

#[tokio::test]
async fn list_tasks_passes_the_status_filter_and_returns_tasks() {
    let api = FakeApi::start(|req| {
        let tasks = sample_tasks();
        let data: Vec<Value> = match req.target.split_once("?status=") {
            Some((_, status)) => tasks
                .into_iter()
                .filter(|t| t["status"] == status)
                .collect(),
            None => tasks,
        };
        (200, json!({ "data": data }))
    })
    .await;
    let c = granted(&api).await;

    let report = c
        .invoke_report(
            "list-tasks",
            json!({"status": "open", "base_url": api.base_url()}),
        )
        .await;
    let out = report.output.expect("list-tasks");
    assert_eq!(out["tasks"], json!([sample_tasks()[1], sample_tasks()[2]]));
    let requests = api.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].target, "/tasks?status=open");
    // The host records every call and log line for the run's history.
    assert_eq!(report.http_calls.len(), 1);
    assert_eq!(report.http_calls[0].status, Some(200));
    assert!(
        report.logs.iter().any(|l| l.message == "fetched 2 task(s)"),
        "{:?}",
        report.logs
    );

    // Without `status`, no query parameter and every task.
    let out = c
        .invoke("list-tasks", json!({"base_url": api.base_url()}))
        .await
        .expect("list-tasks without a filter");
    assert_eq!(out["tasks"].as_array().map(Vec::len), Some(3));
    assert_eq!(api.requests()[1].target, "/tasks");
}

#[tokio::test]
async fn create_task_sends_the_json_body_and_returns_the_task() {
    let api = FakeApi::start(|req| {
        let mut task = req.json();
        task["id"] = json!("t42");
        task["status"] = json!("open");
        (201, task)
    })
    .await;
    let c = granted(&api).await;

    let out = c
        .invoke(
            "create-task",
            json!({"title": "Water the plants", "due": "2030-06-01", "base_url": api.base_url()}),
        )
        .await
        .expect("create-task");
    assert_eq!(
        out,
        json!({"id": "t42", "title": "Water the plants", "status": "open", "due": "2030-06-01"})
    );

    let requests = api.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("POST", "/tasks")
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(
        req.json(),
        json!({"title": "Water the plants", "due": "2030-06-01"})
    );
    // run id "test-run" and step id "test-create-task" come from TestConnector.
    assert_eq!(
        req.header("idempotency-key"),
        Some("test-run-test-create-task")
    );
}

#[tokio::test]
async fn create_task_refuses_an_empty_title_without_calling_the_api() {
    let api = FakeApi::start(|_| (500, json!({"error": "should not be called"}))).await;
    let c = granted(&api).await;
    let err = c
        .invoke(
            "create-task",
            json!({"title": "  ", "base_url": api.base_url()}),
        )
        .await
        .expect_err("empty title");
    let failure = block_failure(err);
    assert_eq!(failure.kind, BlockErrorKind::InvalidInput);
    assert!(failure.message.contains("title"), "{}", failure.message);
    assert!(api.requests().is_empty());
}

#[tokio::test]
async fn api_404_is_a_not_found_block_error() {
    let api = FakeApi::start(|_| (404, json!({"error": "no such workspace"}))).await;
    let c = granted(&api).await;
    let err = c
        .invoke("list-tasks", json!({"base_url": api.base_url()}))
        .await
        .expect_err("the API said 404");
    assert!(!err.is_retryable(), "not-found is not worth retrying");
    let failure = block_failure(err);
    assert_eq!(failure.kind, BlockErrorKind::NotFound);
    assert!(
        failure.message.contains("no such workspace"),
        "{}",
        failure.message
    );
    assert_eq!(failure.details, Some(json!({"status": 404})));
}

#[tokio::test]
async fn list_tasks_without_a_grant_is_denied() {
    let api = FakeApi::start(|_| (200, json!({"data": []}))).await;
    // Declared by the connector, but not granted by the operator.
    let c = connector().await;
    let err = c
        .invoke("list-tasks", json!({"base_url": api.base_url()}))
        .await
        .expect_err("no grant, no request");
    assert!(err.to_string().contains("grant"), "{err}");
    assert_eq!(block_failure(err).kind, BlockErrorKind::Fatal);
    assert!(
        api.requests().is_empty(),
        "the request must never leave the host"
    );
}
