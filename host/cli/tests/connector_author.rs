//! What a plugin author does with `weft connector` besides `new` (see
//! walkthrough.rs): try an authenticated block with a secret from stdin,
//! read a rate-limited failure's retry-after, read a block's input fields
//! (enums, defaults, whole doc comments). Real `weft` processes, bundled
//! components, a real HTTP server on 127.0.0.1.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use weft_tests::FakeApi;

/// Run `weft args…` with `stdin` piped in.
fn weft(args: &[&str], stdin: &str, cache: &std::path::Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(args)
        .env("WEFT_CACHE_DIR", cache)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run weft");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("weft output")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_injects_a_secret_from_stdin_as_the_server_would_and_never_prints_it() {
    let api = FakeApi::start().await;
    let cache = tempfile::tempdir().expect("tempdir");
    let input = format!(r#"{{"url": "{}"}}"#, api.url("/echo"));
    let allow = api.base();
    let invoke = |extra: &[&str], secret: &str| {
        let mut args = vec![
            "--json",
            "connector",
            "invoke",
            "http",
            "request",
            "--input",
            &input,
            "--allow",
            &allow,
            "--connection-secret-stdin",
        ];
        args.extend_from_slice(extra);
        weft(&args, secret, cache.path())
    };

    // The echo server saw the header (it echoes it back); the host scrubbed
    // the secret from the answer, so neither output shows it.
    for (extra, header, secret) in [
        (
            &["--connection-kind", "bearer"][..],
            "authorization",
            "t0ken-abc",
        ),
        (
            &["--connection-kind", "api-key"][..],
            "x-api-key",
            "k3y-xyz",
        ),
        (
            &["--connection-kind", "basic", "--connection-username", "ada"][..],
            "authorization",
            "pa55-word",
        ),
    ] {
        let out = invoke(extra, &format!("{secret}\n"));
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{extra:?}: {stdout} {stderr}");
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{stdout}"
        );
        let report: Value = serde_json::from_str(&stdout).expect("JSON report");
        let seen = report["output"]["body"]["headers"][header]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(seen.contains("[redacted]"), "{extra:?}: {header}: {seen:?}");
    }

    // Several kinds declared: the CLI asks which one.
    let out = invoke(&[], "t0ken\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("--connection-kind"),
        "{:?}",
        text(&out)
    );
    // An empty secret is refused before anything is sent.
    let out = invoke(&["--connection-kind", "bearer"], "\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("empty secret"));
    assert_eq!(api.hits(), 3);

    // A connector that declares no authentication refuses a secret.
    let out = weft(
        &[
            "connector",
            "invoke",
            "echo",
            "echo",
            "--input",
            r#"{"value": 1}"#,
            "--connection-secret-stdin",
        ],
        "s\n",
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("declares no authentication"),
        "{:?}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_failure_shows_its_retry_after() {
    let api = FakeApi::start().await;
    let cache = tempfile::tempdir().expect("tempdir");
    let input = format!(r#"{{"url": "{}"}}"#, api.url("/status/429"));
    let allow = api.base();
    let args = [
        "connector",
        "invoke",
        "http",
        "request",
        "--input",
        &input,
        "--allow",
        &allow,
    ];
    let out = weft(&args, "", cache.path());
    assert_eq!(out.status.code(), Some(1));
    let (_, stderr) = text(&out);
    assert!(stderr.contains("RateLimited"), "{stderr}");
    assert!(stderr.contains("retry after 2.0 s"), "{stderr}");

    let mut json_args = vec!["--json"];
    json_args.extend_from_slice(&args);
    let out = weft(&json_args, "", cache.path());
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["error"]["retry_after_ms"], 2000);
    assert_eq!(report["error"]["detail"]["failure"]["kind"], "rate-limited");

    // Not rate limited: no retry-after line.
    let out = weft(
        &[
            "connector",
            "invoke",
            "echo",
            "fail",
            "--input",
            r#"{"kind": "transient"}"#,
        ],
        "",
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!text(&out).1.contains("retry after"), "{:?}", text(&out));
}

#[test]
fn describe_shows_enum_values_defaults_and_whole_doc_comments() {
    let cache = tempfile::tempdir().expect("tempdir");
    let out = weft(&["connector", "describe", "lists"], "", cache.path());
    assert!(out.status.success());
    let (stdout, _) = text(&out);
    // `filter`'s mode: an enum with a default and a two-line doc comment.
    assert!(
        stdout.contains("one of: \"all\", \"some\" · default: \"all\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("`all`: keep items that meet every condition; `some`: keep items that"),
        "{stdout}"
    );
    assert!(stdout.contains("meet at least one."), "{stdout}");
    // Option fields do not claim a null default.
    let out = weft(&["connector", "describe", "http"], "", cache.path());
    let (stdout, _) = text(&out);
    assert!(stdout.contains("default: \"GET\""), "{stdout}");
    assert!(!stdout.contains("default: null"), "{stdout}");
}
