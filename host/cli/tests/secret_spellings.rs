//! Through a real `weft serve` process: connections whose secrets hold
//! every printable character class are used against an API on 127.0.0.1
//! that echoes them in every spelling a server may use
//! (`weft_tests::spelling_echo`), and cut in two for a later block to put
//! back together. No spelling of either secret appears in any API answer
//! (the execute answer, run logs, lists), in the server's output, or in
//! any file of its data directory.

mod common;

use common::{Api, Options, create_user, wait_for_end};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use weft_tests::FakeApi;
use weft_tests::spelling_echo::{self, ENCODINGS, SECRETS, needles};

fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("weft-spellings-component-cache")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Loop over the encodings asked for, fetching each through `connection`
/// and adding the answer to the output; then fetch the secret in two
/// halves and join them with a text block.
fn echo_automation(id: &str, connection: &str, echo: &str) -> Value {
    json!({
        "weft": "automation/v1", "id": id, "name": format!("Echo {id}"),
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Each", "type": "loop", "over": "{$.Start.encodings}"},
            {"id": "Fetch", "type": "connector", "connector": "http", "block": "request",
             "connection": connection,
             "inputs": {"url": format!("{echo}/spell/{{item}}?at={{$.Each.index}}")}},
            {"id": "Collect", "type": "output", "mode": "add",
             "value": {"encoding": "{item}", "body": "{$.Fetch.body}", "headers": "{$.Fetch.headers}"}},
            {"id": "Split", "type": "connector", "connector": "http", "block": "request",
             "connection": connection, "inputs": {"url": format!("{echo}/spell/split")}},
            {"id": "Join", "type": "connector", "connector": "text", "block": "join",
             "inputs": {"parts": ["{$.Split.body.a}", "{$.Split.body.b}"]}},
            {"id": "Rebuilt", "type": "output", "mode": "add",
             "value": {"rebuilt": "{$.Join.text}", "concat": "{concat: $.Split.body.a, $.Split.body.b}"}}
        ],
        "edges": [
            {"from": "Start", "to": "Each"},
            {"from": "Each", "to": "Fetch", "branch": "body"},
            {"from": "Fetch", "to": "Collect"},
            {"from": "Each", "to": "Split"},
            {"from": "Split", "to": "Join"},
            {"from": "Join", "to": "Rebuilt"}
        ]
    })
}

async fn connection(api: &Api, owner: &str, auth: Value) -> String {
    let (s, body) = api
        .call(
            "POST",
            "/api/v1/connections",
            Some(owner),
            Some(json!({"connector": "http", "name": "Echo", "auth": auth})),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    body["id"].as_str().expect("id").to_string()
}

/// The output of one run: an entry per encoding, each redacted, then the
/// rebuilt secret, redacted.
fn check_output(output: &Value) {
    let entries = output.as_array().unwrap_or_else(|| panic!("{output}"));
    assert_eq!(entries.len(), ENCODINGS.len() + 1, "{output}");
    for entry in &entries[..ENCODINGS.len()] {
        // A form body keeps its encoding: `[redacted]` percent-encoded.
        let text = entry.to_string();
        assert!(
            text.contains("[redacted]") || text.contains("%5Bredacted%5D"),
            "{entry}"
        );
    }
    assert_eq!(
        entries[ENCODINGS.len()],
        json!({"rebuilt": "[redacted]", "concat": "[redacted]"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_echoed_in_any_spelling_appears_in_no_file_log_or_answer() {
    let echo = FakeApi::start_with(spelling_echo::router()).await;
    let grant = format!("http={}", echo.base());
    let mut server = common::start(
        tempfile::tempdir().expect("tempdir"),
        Options {
            args: &["--allow", &grant],
            env: &[("RUST_LOG", "debug")],
            cache_dir: Some(cache_dir()),
        },
    );
    let api = Api::new(&server);
    let alice = create_user(&api, "alice").await;
    let input = json!({"encodings": ENCODINGS});

    let connections = [
        connection(&api, &alice, json!({"kind": "bearer", "token": SECRETS[0]})).await,
        connection(&api, &alice, json!({"kind": "api-key", "key": SECRETS[1]})).await,
        connection(
            &api,
            &alice,
            json!({"kind": "basic", "username": "ada", "password": SECRETS[0]}),
        )
        .await,
    ];
    for (i, conn) in connections.iter().enumerate() {
        let id = format!("echo-{i}");
        let (s, created) = api
            .call(
                "POST",
                "/api/v1/automations",
                Some(&alice),
                Some(echo_automation(&id, conn, &echo.base())),
            )
            .await;
        assert_eq!(s, 201, "{created}");
        let exec = created["execution_token"].as_str().expect("token");

        // The synchronous API call answers with the output.
        let (s, answer) = api
            .call(
                "POST",
                &format!("/api/v1/automations/{id}/actions/execute?token={exec}"),
                None,
                Some(input.clone()),
            )
            .await;
        assert_eq!(s, 200, "{answer}");
        check_output(&answer);

        // A manual run, read back with its steps; and the lists.
        let (s, started) = api
            .call(
                "POST",
                &format!("/api/v1/automations/{id}/runs"),
                Some(&alice),
                Some(json!({"input": input})),
            )
            .await;
        assert_eq!(s, 202, "{started}");
        let run_id = started["run_id"].as_str().expect("run id");
        let run = wait_for_end(&api, &alice, run_id).await;
        assert_eq!(run["run"]["status"], "finished", "{run}");
        check_output(&run["run"]["output"]);
        let steps = run["steps"].as_array().expect("steps");
        assert_eq!(steps.len(), 2 + 2 * ENCODINGS.len() + 3, "{run}");
        api.call(
            "GET",
            &format!("/api/v1/runs?automation={id}"),
            Some(&alice),
            None,
        )
        .await;
    }
    api.call("GET", "/api/v1/runs", Some(&alice), None).await;

    let output = server.stop();
    let bodies = api.bodies();
    let all_files = files(server.data.path());
    let file_bytes: Vec<(PathBuf, Vec<u8>)> = all_files
        .iter()
        .map(|p| (p.clone(), std::fs::read(p).expect("read")))
        .collect();
    let mut leaks = Vec::new();
    for secret in SECRETS {
        for needle in needles(secret) {
            for body in &bodies {
                if body.contains(&needle) {
                    leaks.push(format!("{needle:?} in an answer: {body}"));
                }
            }
            if output.contains(&needle) {
                leaks.push(format!("{needle:?} in the server's output"));
            }
            for (path, bytes) in &file_bytes {
                if contains(bytes, needle.as_bytes()) {
                    leaks.push(format!("{needle:?} in {}", path.display()));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    // The search is not vacuous: the history is in those files.
    assert!(
        file_bytes
            .iter()
            .any(|(_, b)| contains(b, b"rebuilt") && contains(b, b"[redacted]")),
        "{all_files:?}"
    );
}
