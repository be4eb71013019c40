//! `weft connection` against a real `weft serve`: create a bearer
//! connection with the secret on stdin, list, show, authorize and delete it,
//! and the errors an operator meets (bad token, no token, unknown id, a
//! server that is not there) — with the secret never in any output.

mod common;

use common::{Api, Options, Server, create_user};
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const SECRET: &str = "xoxb-cli-test-secret-0123456789";
const CLIENT_SECRET: &str = "oauth-client-secret-for-cli-test";

/// Compiled components are shared between this file's servers.
fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("weft-connection-cli-component-cache")
}

/// `weft connection ARGS` against `server` as the holder of `token`, with
/// `stdin` piped in; the process's output.
fn weft(server: &str, token: Option<&str>, args: &[&str], stdin: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_weft"));
    command
        .arg("connection")
        .args(args)
        .env_remove("WEFT_TOKEN")
        .env("WEFT_SERVER", server)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(token) = token {
        command.env("WEFT_TOKEN", token);
    }
    let mut child = command.spawn().expect("start weft connection");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("weft connection")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Succeeded; its stdout.
fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Failed with `code`; its stderr.
fn failed(out: &Output, code: i32) -> String {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stderr)
}

fn no_secret(out: &Output) {
    for s in [SECRET, CLIENT_SECRET] {
        assert!(!text(&out.stdout).contains(s), "secret on stdout");
        assert!(!text(&out.stderr).contains(s), "secret on stderr");
    }
}

async fn start() -> (Server, String) {
    let server = common::start(
        tempfile::tempdir().expect("tempdir"),
        Options {
            cache_dir: Some(cache_dir()),
            // The OAuth2 token endpoint must be granted before `authorize`.
            args: &["--allow", "slack=https://slack.com"],
            ..Options::default()
        },
    );
    let alice = create_user(&Api::new(&server), "alice").await;
    (server, alice)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_commands_against_a_running_server() {
    let (server, alice) = start().await;
    let base = server.base.clone();
    let alice = Some(alice.as_str());

    let out = weft(&base, alice, &["list"], "");
    assert!(ok(&out).contains("no connections yet"));

    // Create: the secret comes from stdin, never from a flag.
    let create = [
        "create",
        "--connector",
        "slack",
        "--name",
        "Team bot",
        "--kind",
        "bearer",
        "--field",
        "tenant=acme",
        "--secret-stdin",
    ];
    let out = weft(&base, alice, &create, &format!("{SECRET}\n"));
    let stdout = ok(&out);
    no_secret(&out);
    let id = stdout
        .split_whitespace()
        .find(|w| w.starts_with("conn_"))
        .unwrap_or_else(|| panic!("no id in {stdout}"))
        .to_string();
    assert!(
        stdout.contains("Team bot") && stdout.contains("slack bearer"),
        "{stdout}"
    );

    // The server stored it with the secret from stdin (and shows it to no one).
    let api = Api::new(&server);
    let (s, c) = api
        .call("GET", &format!("/api/v1/connections/{id}"), alice, None)
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["status"], "ok");
    assert_eq!(c["fields"], json!({"tenant": "acme"}));
    assert!(!c.to_string().contains(SECRET));

    // list: human and JSON, without the secret.
    let out = weft(&base, alice, &["list"], "");
    let stdout = ok(&out);
    no_secret(&out);
    assert!(stdout.starts_with("ID"), "{stdout}");
    let row = stdout
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{id} not listed: {stdout}"));
    for word in ["Team bot", "slack", "bearer", "ok"] {
        assert!(row.contains(word), "{word} not in {row:?}");
    }
    let out = weft(&base, alice, &["--json", "list"], "");
    let listed: Value = serde_json::from_str(&ok(&out)).expect("list --json is JSON");
    assert_eq!(listed["items"][0]["id"], id.as_str());
    assert_eq!(listed["items"][0]["name"], "Team bot");
    no_secret(&out);

    // show: human and JSON.
    let out = weft(&base, alice, &["show", &id], "");
    let stdout = ok(&out);
    no_secret(&out);
    for word in [
        &id,
        "Team bot",
        "slack",
        "bearer",
        "tenant=acme",
        "alice",
        "created",
    ] {
        assert!(stdout.contains(word), "{word} not in {stdout}");
    }
    let out = weft(&base, alice, &["show", &id, "--json"], "");
    let shown: Value = serde_json::from_str(&ok(&out)).expect("show --json is JSON");
    assert_eq!(shown["id"], id.as_str());
    assert_eq!(shown["auth_kind"], "bearer");

    // authorize: a bearer connection needs none; the API's error and a hint.
    let out = weft(&base, alice, &["authorize", &id], "");
    let stderr = failed(&out, 5);
    assert!(stderr.contains("bad_request"), "{stderr}");
    assert!(stderr.contains("hint: only oauth2-code"), "{stderr}");

    // An oauth2-code connection: the client secret on stdin, then the URL.
    let out = weft(
        &base,
        alice,
        &[
            "create",
            "--connector",
            "slack",
            "--name",
            "Slack (OAuth)",
            "--kind",
            "oauth2-code",
            "--client-id",
            "cli-client",
            "--secret-stdin",
            "--json",
        ],
        &format!("{CLIENT_SECRET}\n"),
    );
    let created: Value = serde_json::from_str(&ok(&out)).expect("create --json is JSON");
    no_secret(&out);
    assert_eq!(created["status"], "needs_authorization", "{created}");
    let oauth_id = created["id"].as_str().expect("id").to_string();
    let out = weft(&base, alice, &["authorize", &oauth_id], "");
    let url = ok(&out);
    assert!(
        url.trim()
            .starts_with("https://slack.com/oauth/v2/authorize?")
            && url.contains("client_id=cli-client")
            && url.lines().count() == 1,
        "stdout is the URL alone: {url}"
    );
    assert!(text(&out.stderr).contains("Open this URL"));
    no_secret(&out);

    // delete, then it is gone.
    let out = weft(&base, alice, &["delete", &id], "");
    assert!(ok(&out).contains(&format!("deleted connection {id}")));
    let out = weft(&base, alice, &["list"], "");
    let stdout = ok(&out);
    assert!(!stdout.contains(&id), "{stdout}");
    assert!(stdout.contains(&oauth_id), "{stdout}");
    let out = weft(&base, alice, &["show", &id], "");
    let stderr = failed(&out, 5);
    assert!(stderr.contains("not_found"), "{stderr}");
    assert!(stderr.contains("weft connection list"), "{stderr}");

    // A bad token: the API's code and message, a hint, a non-zero exit.
    let out = weft(&base, Some("wft_not_a_real_token"), &["list"], "");
    let stderr = failed(&out, 5);
    assert!(stderr.contains("unauthorized"), "{stderr}");
    assert!(stderr.contains("hint: set WEFT_TOKEN"), "{stderr}");
    let out = weft(
        &base,
        None,
        &["list", "--token", "wft_not_a_real_token"],
        "",
    );
    assert!(failed(&out, 5).contains("unauthorized"));

    // No token at all: refused before any request.
    let out = weft(&base, None, &["list"], "");
    let stderr = failed(&out, 2);
    assert!(
        stderr.contains("no API token") && stderr.contains("WEFT_TOKEN"),
        "{stderr}"
    );

    // No secret on stdin, an unknown auth kind, a missing --username.
    let out = weft(&base, alice, &create, "");
    assert!(failed(&out, 2).contains("empty"));
    let out = weft(
        &base,
        alice,
        &[
            "create",
            "--connector",
            "slack",
            "--name",
            "x",
            "--kind",
            "basic",
            "--secret-stdin",
        ],
        "pw\n",
    );
    assert!(failed(&out, 2).contains("--username"));
    // Slack declares no basic auth: the server says so.
    let out = weft(
        &base,
        alice,
        &[
            "create",
            "--connector",
            "slack",
            "--name",
            "x",
            "--kind",
            "basic",
            "--username",
            "u",
            "--secret-stdin",
        ],
        "pw\n",
    );
    let stderr = failed(&out, 5);
    assert!(
        stderr.contains("invalid_connection") && stderr.contains("weft connector describe slack"),
        "{stderr}"
    );

    // Without --secret-stdin and without a terminal there is no one to ask.
    let out = weft(
        &base,
        alice,
        &[
            "create",
            "--connector",
            "slack",
            "--name",
            "x",
            "--kind",
            "bearer",
        ],
        &format!("{SECRET}\n"),
    );
    assert!(failed(&out, 2).contains("--secret-stdin"));
    no_secret(&out);

    // A server that is not there.
    let out = weft("http://127.0.0.1:1", alice, &["list"], "");
    let stderr = failed(&out, 6);
    assert!(stderr.contains("could not reach the server"), "{stderr}");

    // The secret reached the server's log nowhere either.
    let mut server = server;
    let log = server.stop();
    assert!(!log.contains(SECRET) && !log.contains(CLIENT_SECRET));
}
