//! The `weft` binary as a user runs it: a real process, real components,
//! a real HTTP server on 127.0.0.1.

use serde_json::Value;
use std::process::{Command, Output};
use weft_tests::FakeApi;

fn weft(args: &[&str], cache: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .env("WEFT_CACHE_DIR", cache)
        // Hermetic: no data (and so no components directory) of the user's.
        .env("WEFT_DATA_DIR", cache.join("data"))
        .env_remove("WEFT_COMPONENTS_DIR")
        .output()
        .expect("run weft")
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[test]
fn help_teaches_commands_and_exit_codes() {
    let cache = tempfile::tempdir().expect("tempdir");
    let out = weft(&["--help"], cache.path());
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("weft connector invoke") && text.contains("Exit codes"),
        "{text}"
    );
    let out = weft(&["connector", "invoke", "--help"], cache.path());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--allow"));
}

#[test]
fn list_and_describe_bundled_connectors() {
    let cache = tempfile::tempdir().expect("tempdir");
    let out = weft(&["connector", "list", "--json"], cache.path());
    assert!(out.status.success());
    let ids: Vec<String> = stdout_json(&out)
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        ids,
        [
            // What every command and the server ship with; the test
            // fixtures (echo, hostile) are invocable by name but not listed.
            "http", "lists", "text", "json", "datetime", "math", "code", "slack"
        ]
    );

    let out = weft(&["connector", "describe", "http", "--json"], cache.path());
    let m = stdout_json(&out);
    assert_eq!(m["hosts"], serde_json::json!(["http://*:*", "https://*:*"]));
    assert_eq!(
        m["blocks"][0]["input_schema"]["required"],
        serde_json::json!(["url"])
    );

    let out = weft(&["connector", "describe", "http"], cache.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("request") && text.contains("url") && text.contains("required"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_calls_a_granted_api_and_exit_codes_tell_failures_apart() {
    let api = FakeApi::start().await;
    let cache = tempfile::tempdir().expect("tempdir");
    let input = format!(r#"{{"url": "{}"}}"#, api.url("/json"));

    let out = weft(
        &[
            "connector",
            "invoke",
            "http",
            "request",
            "--input",
            &input,
            "--allow",
            &api.base(),
            "--json",
        ],
        cache.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = stdout_json(&out);
    assert_eq!(r["output"]["body"], serde_json::json!({"ok": true}));
    assert_eq!(r["http_calls"][0]["status"], 200);
    assert_eq!(api.hits(), 1);

    // Without --allow: the block fails (exit 1) and says why.
    let out = weft(
        &["connector", "invoke", "http", "request", "--input", &input],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in the operator's grant"));
    assert_eq!(api.hits(), 1);

    // A limit is a block failure too.
    let out = weft(
        &["connector", "invoke", "hostile", "spin", "--fuel", "100000"],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fuel limit of 100000"));

    // Bad input is a usage error (2) with a hint; an unknown connector too.
    let out = weft(
        &["connector", "invoke", "echo", "echo", "--input", "{nope"],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hint:"));
    let out = weft(&["connector", "describe", "no-such-thing"], cache.path());
    assert_eq!(out.status.code(), Some(2));

    // A file that is not a component cannot be loaded (3).
    let bogus = cache.path().join("bogus.wasm");
    std::fs::write(&bogus, b"not wasm").expect("write");
    let out = weft(
        &["connector", "describe", bogus.to_str().expect("utf-8 path")],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(3));
}

fn weft_in(args: &[&str], cache: &std::path::Path, data: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .env("WEFT_CACHE_DIR", cache)
        .env("WEFT_DATA_DIR", data)
        .output()
        .expect("run weft")
}

#[test]
fn run_validate_and_read_the_history() {
    let cache = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    let file = data.path().join("greet.json");
    std::fs::write(
        &file,
        serde_json::json!({
            "weft": "automation/v1", "id": "greet", "name": "Greet",
            "blocks": [
                {"id": "Start", "type": "start"},
                {"id": "Shout", "type": "connector", "connector": "text", "block": "replace",
                 "inputs": {"text": "hello NAME", "find": "NAME", "replace_with": "{uppercase: $.Start.name}"}},
                {"id": "Out", "type": "output", "mode": "set", "value": "{$.Shout.text}"}
            ],
            "edges": [{"from": "Start", "to": "Shout"}, {"from": "Shout", "to": "Out"}]
        })
        .to_string(),
    )
    .expect("write");
    let path = file.to_str().expect("utf-8");

    let out = weft_in(&["validate", path], cache.path(), data.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = weft_in(
        &["run", path, "--input", r#"{"name": "ada"}"#],
        cache.path(),
        data.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout_json(&out), serde_json::json!("hello ADA"));
    let trace = String::from_utf8_lossy(&out.stderr);
    assert!(
        trace.contains("Shout") && trace.contains("text/replace") && trace.contains("finished"),
        "{trace}"
    );

    let out = weft_in(&["runs", "--json"], cache.path(), data.path());
    let runs = stdout_json(&out);
    assert_eq!(runs[0]["automation_id"], "greet");
    assert_eq!(runs[0]["status"], "finished");
    let id = runs[0]["id"].as_str().expect("id").to_string();

    let out = weft_in(&["run-log", &id, "--json"], cache.path(), data.path());
    let log = stdout_json(&out);
    assert_eq!(log["steps"].as_array().map(Vec::len), Some(3));
    assert_eq!(log["steps"][1]["output"]["text"], "hello ADA");

    // Invalid automations exit 4 and name the block and field.
    let bad = data.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"weft": "automation/v1", "id": "b", "name": "B", "blocks": [{"id": "Start", "type": "start"},
            {"id": "X", "type": "output", "value": "{$.Nope.x}"}], "edges": [{"from": "Start", "to": "X"}]}"#,
    )
    .expect("write");
    let out = weft_in(
        &["validate", bad.to_str().expect("utf-8")],
        cache.path(),
        data.path(),
    );
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("block \"X\", value") && err.contains("Nope"),
        "{err}"
    );

    // A failing run exits 1.
    let failing = data.path().join("fail.json");
    std::fs::write(
        &failing,
        r#"{"weft": "automation/v1", "id": "f", "name": "F", "blocks": [{"id": "Start", "type": "start"},
            {"id": "E", "type": "error", "message": "nope"}], "edges": [{"from": "Start", "to": "E"}]}"#,
    )
    .expect("write");
    let out = weft_in(
        &["run", failing.to_str().expect("utf-8")],
        cache.path(),
        data.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));
}

/// `weft run --automations DIR`: a run calls automations from files; a
/// call without the flag names it; one bad file and nothing runs.
#[test]
fn run_calls_automations_from_a_directory() {
    let cache = tempfile::tempdir().expect("tempdir");
    let lib = cache.path().join("lib");
    std::fs::create_dir(&lib).expect("mkdir");
    let greet = serde_json::json!({
        "weft": "automation/v1", "id": "greet", "name": "greet",
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Join", "type": "connector", "connector": "text", "block": "join",
             "inputs": {"parts": ["Hello", "{$.Start.name}"], "separator": ", "}},
            {"id": "Out", "type": "output", "mode": "set", "value": {"greeting": "{$.Join.text}"}}
        ],
        "edges": [{"from": "Start", "to": "Join"}, {"from": "Join", "to": "Out"}]
    });
    std::fs::write(lib.join("greet.json"), greet.to_string()).expect("write");
    let main = cache.path().join("main.json");
    let doc = serde_json::json!({
        "weft": "automation/v1", "id": "main", "name": "main",
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Call", "type": "call_automation", "automation": "greet", "mode": "sync",
             "inputs": {"name": "{$.Start.name}"}},
            {"id": "Out", "type": "output", "mode": "set", "value": {"said": "{$.Call.greeting}"}}
        ],
        "edges": [{"from": "Start", "to": "Call"}, {"from": "Call", "to": "Out"}]
    });
    std::fs::write(&main, doc.to_string()).expect("write");
    let (main, lib_arg) = (main.to_str().expect("utf-8"), lib.to_str().expect("utf-8"));
    let input = r#"{"name":"Ada"}"#;

    let out = weft(
        &["--json", "run", main, "-i", input, "--automations", lib_arg],
        cache.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = stdout_json(&out);
    assert_eq!(
        result["run"]["output"],
        serde_json::json!({"said": "Hello, Ada"})
    );
    let call = result["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["block_id"] == "Call")
        .expect("call step");
    assert!(call["child_run_id"].is_string(), "{call}");

    // Without the flag the block fails, naming it.
    let out = weft(&["run", main, "-i", input], cache.path());
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("pass --automations DIR"), "{text}");

    // Two bad files: both reported, nothing run.
    std::fs::write(
        lib.join("bad.json"),
        r#"{"weft": "automation/v1", "id": "bad"}"#,
    )
    .expect("write");
    std::fs::write(lib.join("worse.json"), "nope").expect("write");
    let out = weft(
        &["run", main, "-i", input, "--automations", lib_arg],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(4));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("2 of the 3 automation files")
            && text.contains("bad.json")
            && text.contains("worse.json: not valid JSON")
            && !text.contains("✓ Start"),
        "{text}"
    );
}

/// A bare `--allow` origin goes to the http connector, and the command
/// says so (the user may have meant another connector's grant).
#[test]
fn a_bare_allow_names_the_connector_it_applies_to() {
    let cache = tempfile::tempdir().expect("tempdir");
    let out = weft(
        &["run", "--allow", "https://slack.com", "no-such-file.json"],
        cache.path(),
    );
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("--allow https://slack.com applies to the http connector")
            && text.contains("--allow CONNECTOR=https://slack.com"),
        "{text}"
    );
}

/// `weft run` keeps an automation's state between runs in the data
/// directory's store: a counter counts across one-shot runs of the same
/// document, and another data directory starts afresh.
#[test]
fn one_shot_runs_share_the_automations_state() {
    let cache = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    let file = data.path().join("count.json");
    std::fs::write(
        &file,
        serde_json::json!({
            "weft": "automation/v1", "id": "count", "name": "Count",
            "blocks": [
                {"id": "Start", "type": "start"},
                {"id": "Seen", "type": "state-get", "key": "last", "default": "nobody"},
                {"id": "Runs", "type": "state-increment", "key": "runs"},
                {"id": "Last", "type": "state-set", "key": "last", "value": "{$.Start.name}"},
                {"id": "Out", "type": "output", "mode": "set", "value": {"runs": "{$.Runs}", "before": "{$.Seen}"}}
            ],
            "edges": [
                {"from": "Start", "to": "Seen"}, {"from": "Seen", "to": "Runs"},
                {"from": "Runs", "to": "Last"}, {"from": "Last", "to": "Out"}
            ]
        })
        .to_string(),
    )
    .expect("write");
    let path = file.to_str().expect("utf-8");
    let mut outputs = Vec::new();
    for name in ["ada", "grace"] {
        let input = serde_json::json!({ "name": name }).to_string();
        let out = weft_in(&["run", path, "--input", &input], cache.path(), data.path());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push(stdout_json(&out));
    }
    assert_eq!(
        outputs,
        [
            serde_json::json!({"runs": 1, "before": "nobody"}),
            serde_json::json!({"runs": 2, "before": "ada"}),
        ]
    );
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let out = weft_in(
        &["run", path, "--input", "{\"name\": \"x\"}"],
        cache.path(),
        elsewhere.path(),
    );
    assert_eq!(
        stdout_json(&out),
        serde_json::json!({"runs": 1, "before": "nobody"})
    );
}

/// `weft run` cannot pause, so an automation with an `input` block is
/// refused before it runs, saying why and where it can run.
#[test]
fn run_refuses_an_input_block_and_points_at_the_server() {
    let cache = tempfile::tempdir().expect("tempdir");
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/input-approval.json"
    );
    let out = weft(&["run", example], cache.path());
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("block \"Approve\" is an input block")
            && stderr.contains("`weft run` cannot pause")
            && stderr.contains("POST /api/v1/runs/{run_id}/input"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing ran");
}
