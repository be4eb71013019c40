//! The OpenAPI document and the server agree: schemathesis generates
//! requests from `openapi.json` and sends them to a real `weft serve`.
//! Requests the document allows must be accepted, requests it forbids must
//! be refused, and every answer must have a documented status, content
//! type and shape; no request may make the server fail.
//!
//! Schemathesis is a Python tool; `.ci/schemathesis-install` puts a pinned
//! version in a virtual environment under the user's cache, and the
//! README's test command runs it first. The run is bounded by a number of
//! examples per operation (not by time, so the verdict does not depend on
//! the machine's speed), with a fixed seed, one worker and no example
//! database, so two runs send the same requests.

mod common;

use common::{ADMIN, Api, start};
use serde_json::{Value, json};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where `.ci/schemathesis-install` puts the virtual environment (the
/// same rule as the script: `WEFT_SCHEMATHESIS_VENV`, else the user's cache).
fn venv() -> PathBuf {
    if let Some(dir) = std::env::var_os("WEFT_SCHEMATHESIS_VENV") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("weft").join("schemathesis-venv")
}

/// The checks that make the document a contract. `use_after_free` and the
/// other stateful checks need links between operations, which the
/// document does not declare; `response_headers_conformance` is covered by
/// `Retry-After` being the only documented header.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
response_schema_conformance,response_headers_conformance,negative_data_rejection,\
positive_data_acceptance,unsupported_method";

/// Examples per operation and phase. With one worker the whole run takes
/// well under a minute on two cores.
const MAX_EXAMPLES: &str = "100";

/// A hard stop for the `st` process: far above a normal run, so only a hang
/// (of the server or of schemathesis) reaches it.
const ST_TIMEOUT: Duration = Duration::from_secs(150);

/// An automation that finishes at once whatever its input: the generated
/// inputs are arbitrary JSON, and a run that fails on them (422
/// `run_failed` from the API-call trigger) would say nothing about the API.
fn steady(id: &str) -> Value {
    json!({
        "weft": "automation/v1", "id": id, "name": id,
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Out", "type": "output", "mode": "set", "value": {"ok": true}}
        ],
        "edges": [{"from": "Start", "to": "Out"}]
    })
}

/// Fixed parameter values (`path.id`, …) for a group of operations.
type Parameters<'a> = &'a [(&'a str, &'a str)];

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_does_what_its_openapi_document_says() {
    let st = venv().join("bin").join("st");
    assert!(
        st.is_file(),
        "schemathesis is not installed (no {}); run .ci/schemathesis-install, \
         which the README's test command runs before cargo test",
        st.display()
    );

    // The grant lets the seeded Slack connection be authorized (the
    // authorize URL is only built, never fetched).
    let server = start(
        tempfile::tempdir().expect("tempdir"),
        common::Options {
            args: &["--allow", "slack=https://slack.com"],
            ..Default::default()
        },
    );
    let api = Api::new(&server);
    let (s, document) = api.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(s, 200, "{document}");
    let operations = count_operations(&document);
    assert!(operations > 20, "too few operations in {document:.200}");

    // Things for the operations to find, so that they reach their logic
    // rather than answering 404: two automations of the admin's (one for
    // DELETE to remove), a finished run, and an OAuth2 connection.
    let (s, seeded) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(ADMIN),
            Some(steady("seeded")),
        )
        .await;
    assert_eq!(s, 201, "{seeded}");
    let (s, body) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(ADMIN),
            Some(steady("doomed")),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    let execution_token = seeded["execution_token"].as_str().expect("token");
    let hook = seeded["webhook_path"].as_str().expect("webhook path");
    let secret = hook.rsplit('/').next().expect("secret");
    let (s, run) = api
        .call(
            "POST",
            "/api/v1/automations/seeded/runs",
            Some(ADMIN),
            Some(json!({"input": {"n": 1}})),
        )
        .await;
    assert_eq!(s, 202, "{run}");
    let run_id = run["run_id"].as_str().expect("run id").to_string();
    common::wait_for_end(&api, ADMIN, &run_id).await;
    let (s, conn) = api
        .call(
            "POST",
            "/api/v1/connections",
            Some(ADMIN),
            Some(json!({
                "connector": "slack", "name": "Slack (OAuth)",
                "auth": {"kind": "oauth2-code", "client_id": "client-1"}
            })),
        )
        .await;
    assert_eq!(s, 201, "{conn}");
    let conn_id = conn["id"].as_str().expect("connection id");

    // Fixed path parameters per operation, so that generated requests hit
    // the seeded resources. The generated bodies and queries still vary.
    let fixed: &[(&[&str], Parameters)] = &[
        (
            &[
                "getAutomation",
                "updateAutomation",
                "patchAutomation",
                "startRun",
                "executeAutomation",
                "rotateWebhookSecret",
                "exportAutomation",
            ],
            &[("path.id", "seeded")],
        ),
        (&["deleteAutomation"], &[("path.id", "doomed")]),
        (
            &["getRun", "stopRun", "submitRunInput"],
            &[("path.id", &run_id)],
        ),
        (
            &["getConnection", "updateConnection", "authorizeConnection"],
            &[("path.id", conn_id)],
        ),
        (
            &["webhook"],
            &[("path.id", "seeded"), ("path.secret", secret)],
        ),
        (&["signedWebhook"], &[("path.id", "seeded")]),
    ];
    let mut config = format!(
        "[auth.openapi.bearerAuth]\nbearer = {}\n\n\
         [auth.openapi.executionToken]\napi_key = {}\n\n\
         [cache]\nenabled = false\n",
        toml_str(ADMIN),
        toml_str(execution_token),
    );
    for (operations, parameters) in fixed {
        let ids: Vec<String> = operations.iter().map(|o| toml_str(o)).collect();
        config.push_str(&format!(
            "\n[[operations]]\ninclude-operation-id = [{}]\n[operations.parameters]\n",
            ids.join(", ")
        ));
        for (name, value) in *parameters {
            config.push_str(&format!("{} = {}\n", toml_str(name), toml_str(value)));
        }
    }
    let work = tempfile::tempdir().expect("tempdir");
    let config_path = work.path().join("schemathesis.toml");
    std::fs::write(&config_path, &config).expect("write config");
    let hooks = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis_hooks.py");
    let document_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../server/openapi.json");

    let started = Instant::now();
    let mut child = Command::new(&st)
        .arg("--config-file")
        .arg(&config_path)
        .args([
            "run",
            // The file, not the served copy (openapi.rs checks they are the
            // same): loaded from a URL, schemathesis leaves out the
            // operation that serves it.
            &document_path.display().to_string(),
            "--url",
            &server.base,
            "--checks",
            CHECKS,
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            "20261201",
            "--workers",
            "1",
            "--generation-database",
            "none",
            "--continue-on-failure",
            "--no-color",
            // The tokens are this test's own; the report shows what was sent.
            "--output-sanitize",
            "false",
            "--output-truncate",
            "false",
            "--request-timeout",
            "30",
        ])
        .current_dir(work.path())
        .env("SCHEMATHESIS_HOOKS", &hooks)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", st.display()));

    // Drain both pipes while waiting, so a long report cannot block `st`.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for st") {
            break Some(status);
        }
        if started.elapsed() > ST_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let report = format!(
        "{}{}",
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default()
    );
    eprintln!(
        "schemathesis ran for {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let Some(status) = status else {
        panic!(
            "schemathesis did not finish within {} s; its output so far:\n{report}",
            ST_TIMEOUT.as_secs()
        );
    };
    assert!(
        status.success(),
        "schemathesis found requests where the server and openapi.json disagree \
         (exit {status}); its report:\n{report}"
    );
    // A run that tested nothing would also exit 0: every operation in the
    // document must have been tried.
    let tested = format!("Tested: {operations}");
    assert!(
        report.contains(&tested),
        "schemathesis did not test all {operations} operations:\n{report}"
    );
    let (s, _) = api.call("GET", "/healthz", None, None).await;
    assert_eq!(s, 200, "the server stopped answering");
}

/// How many operations the served document has.
fn count_operations(document: &Value) -> usize {
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    document["paths"]
        .as_object()
        .into_iter()
        .flat_map(|paths| paths.values())
        .filter_map(Value::as_object)
        .map(|item| {
            item.keys()
                .filter(|k| METHODS.contains(&k.as_str()))
                .count()
        })
        .sum()
}
