//! The process-test harness shared by `serve.rs` and `connections.rs`: a
//! real `weft serve` on 127.0.0.1 (port 0), its captured output, and a
//! small API client that keeps every response body it received.
#![allow(dead_code)]

pub mod fleet;
pub mod upstream;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The first admin's token (`WEFT_ADMIN_TOKEN`).
pub const ADMIN: &str = "admin-token-for-tests";

/// A running `weft serve`; killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// `WEFT_DATA_DIR`.
    pub data: tempfile::TempDir,
    /// Everything the process wrote to stdout and stderr so far.
    output: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Stdout and stderr so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// Stop the process the way an operator does (SIGTERM, then SIGKILL
    /// after 10 s) and return all it wrote.
    pub fn stop(&mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        self.output()
    }
}

/// How to start the server beyond the defaults.
#[derive(Default)]
pub struct Options<'a> {
    /// Extra `weft serve` arguments.
    pub args: &'a [&'a str],
    /// Extra environment variables.
    pub env: &'a [(&'a str, &'a str)],
    /// Where compiled components are cached; default `DATA/cache` (a
    /// shared directory makes later starts fast).
    pub cache_dir: Option<PathBuf>,
}

pub fn start_server() -> Server {
    start_server_in(tempfile::tempdir().expect("tempdir"))
}

pub fn start_server_in(data: tempfile::TempDir) -> Server {
    start_server_with(data, &[])
}

pub fn start_server_with(data: tempfile::TempDir, extra: &[&str]) -> Server {
    start(
        data,
        Options {
            args: extra,
            ..Options::default()
        },
    )
}

/// Start `weft serve` on `data` and wait for "listening on".
pub fn start(data: tempfile::TempDir, options: Options<'_>) -> Server {
    let cache = options
        .cache_dir
        .unwrap_or_else(|| data.path().join("cache"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--max-webhook-bytes",
            "4096",
            "--execute-timeout-secs",
            "20",
        ])
        .args(options.args)
        .env_remove("WEFT_SECRET_KEY")
        .env_remove("WEFT_CONFIG")
        .env("WEFT_DATA_DIR", data.path())
        .env("WEFT_CACHE_DIR", cache)
        .env("WEFT_ADMIN_TOKEN", ADMIN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in options.env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("start weft serve");
    let output = Arc::new(Mutex::new(Vec::new()));
    let append = |output: &Arc<Mutex<Vec<u8>>>, bytes: &[u8]| {
        output
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
    };

    // Stderr (the logs) is kept and echoed, so a failing test shows it.
    let stderr = child.stderr.take().expect("stderr");
    let sink = output.clone();
    let err_reader = std::thread::spawn(move || {
        let mut lines = BufReader::new(stderr);
        let mut line = Vec::new();
        while lines.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            append(&sink, &line);
            eprint!("{}", String::from_utf8_lossy(&line));
            line.clear();
        }
    });

    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut base = None;
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap_or(0) > 0 {
        append(&output, line.as_bytes());
        if let Some(url) = line.strip_prefix("listening on ") {
            base = Some(url.trim().to_string());
            break;
        }
        line.clear();
    }
    let sink = output.clone();
    let out_reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => append(&sink, &buf[..n]),
            }
        }
    });
    let mut server = Server {
        child,
        base: String::new(),
        data,
        output,
        readers: vec![err_reader, out_reader],
    };
    match base {
        Some(base) => server.base = base,
        None => {
            let output = server.stop();
            panic!("the server did not print its address; it wrote:\n{output}");
        }
    }
    server
}

/// An API client that keeps every response body it received.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    bodies: Mutex<Vec<String>>,
}

impl Api {
    pub fn new(server: &Server) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: server.base.clone(),
            bodies: Mutex::new(Vec::new()),
        }
    }

    fn keep(&self, body: &str) {
        self.bodies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(body.to_string());
    }

    /// Every response body received so far, as text.
    pub fn bodies(&self) -> Vec<String> {
        self.bodies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Start a run of automation `id` in the background
    /// (`…/actions/execute?async=true` with its execution token); its id.
    pub async fn execute_async(&self, id: &str, exec_token: &str, input: Value) -> String {
        let resp = self
            .http
            .post(format!(
                "{}/api/v1/automations/{id}/actions/execute?async=true",
                self.base
            ))
            .header("X-Execution-Token", exec_token)
            .json(&input)
            .send()
            .await
            .expect("execute");
        let body: Value = resp.json().await.expect("json");
        body["run_id"].as_str().expect("run id").to_string()
    }

    /// POST a JSON body to a webhook path.
    pub async fn hook(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("webhook request")
    }

    /// POST to a webhook; the run id if it was acknowledged (202), `None`
    /// if it was refused or the connection was cut (a killed server).
    pub async fn try_hook(&self, path: &str, body: Value) -> Option<String> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .ok()?;
        if resp.status().as_u16() != 202 {
            return None;
        }
        let body: Value = resp.json().await.ok()?;
        body["run_id"].as_str().map(str::to_string)
    }

    /// A request; the answer's status and body as text.
    pub async fn text(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, String) {
        let mut req = self.http.request(
            method.parse().expect("method"),
            format!("{}{path}", self.base),
        );
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        self.keep(&text);
        (status, text)
    }

    /// A request; the answer's status and JSON body (`null` if not JSON).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, text) = self.text(method, path, token, body).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// Poll `GET /api/v1/runs/{run_id}` until the run has `status`.
pub async fn wait_for_status(api: &Api, token: &str, run_id: &str, status: &str) -> Value {
    let mut run = Value::Null;
    for _ in 0..400 {
        run = api
            .call("GET", &format!("/api/v1/runs/{run_id}"), Some(token), None)
            .await
            .1;
        if run["run"]["status"] == status {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("run {run_id} never reached {status}: {run}");
}

/// Poll `GET /api/v1/runs/{run_id}` until the run ended, whatever its status.
pub async fn wait_for_end(api: &Api, token: &str, run_id: &str) -> Value {
    let mut run = Value::Null;
    for _ in 0..800 {
        run = api
            .call("GET", &format!("/api/v1/runs/{run_id}"), Some(token), None)
            .await
            .1;
        if !matches!(
            run["run"]["status"].as_str(),
            None | Some("queued" | "running")
        ) {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("run {run_id} never ended: {run}");
}

/// Create a user as the admin; returns its token.
pub async fn create_user(api: &Api, name: &str) -> String {
    let (s, body) = api
        .call(
            "POST",
            "/api/v1/users",
            Some(ADMIN),
            Some(json!({"name": name})),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    body["token"].as_str().expect("token").to_string()
}

/// An automation that sleeps `ms`, then outputs `{"got": $.Start.order}`.
pub fn sleepy(id: &str, ms: u64) -> Value {
    json!({
        "weft": "automation/v1", "id": id, "name": id,
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Nap", "type": "sleep", "ms": ms},
            {"id": "Out", "type": "output", "mode": "set", "value": {"got": "{$.Start.order}"}}
        ],
        "edges": [{"from": "Start", "to": "Nap"}, {"from": "Nap", "to": "Out"}]
    })
}

/// Create a connection to `connector` holding a bearer `token`, as the
/// admin; its id.
pub async fn bearer_connection(api: &Api, connector: &str, token: &str) -> String {
    let (s, conn) = api
        .call(
            "POST",
            "/api/v1/connections",
            Some(ADMIN),
            Some(json!({"connector": connector, "name": connector, "auth": {"kind": "bearer", "token": token}})),
        )
        .await;
    assert_eq!(s, 201, "{conn}");
    conn["id"].as_str().expect("connection id").to_string()
}

/// Create `document`; its webhook path.
pub async fn create_hook(api: &Api, document: Value) -> String {
    let (s, a) = api
        .call("POST", "/api/v1/automations", Some(ADMIN), Some(document))
        .await;
    assert_eq!(s, 201, "{a}");
    a["webhook_path"]
        .as_str()
        .expect("webhook path")
        .to_string()
}

/// Trigger `hook` with `body`, which must be acknowledged; the run id.
pub async fn trigger(api: &Api, hook: &str, body: Value) -> String {
    let resp = api.hook(hook, body).await;
    assert_eq!(resp.status().as_u16(), 202);
    resp.json::<Value>().await.expect("json")["run_id"]
        .as_str()
        .expect("run id")
        .to_string()
}

/// The runs of `automation` the API shows as finished (with warnings or
/// not): id → `finished_at`.
pub async fn finished_runs(
    api: &Api,
    automation: &str,
) -> std::collections::BTreeMap<String, Value> {
    let (_, page) = api
        .call(
            "GET",
            &format!(
                "/api/v1/runs?automation={automation}&status=finished,finished-with-warnings&limit=500"
            ),
            Some(ADMIN),
            None,
        )
        .await;
    page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|r| Some((r["id"].as_str()?.to_string(), r["finished_at"].clone())))
                .collect()
        })
        .unwrap_or_default()
}
