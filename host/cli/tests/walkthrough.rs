//! The SDK walkthrough's steps (sdk/WALKTHROUGH.md, "The ten-minute path"),
//! run the way a plugin author runs them, on a clean directory:
//! `weft connector new`, `cargo test --release` in the new crate (its
//! tests build the component and drive this `weft` against a fake API),
//! then `weft connector describe` and `invoke` on the built component,
//! then `keygen`, `sign`, and `install` into a running `weft serve` that
//! trusts the key, where an automation made through the API runs it.
//!
//! The nested cargo builds into `<target>/walkthrough` (beside this test's
//! own target directory), so after the first run only the new crate itself
//! is compiled: CI pays the dependencies once. Each step is bounded.

mod common;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const WEFT: &str = env!("CARGO_BIN_EXE_weft");

/// A cold nested build on a 2-core machine takes a few minutes; this
/// only stops a hung one.
const CARGO_STEP_LIMIT: Duration = Duration::from_secs(20 * 60);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// `<target>` of this test binary (`<target>/release/deps/walkthrough-…`).
fn outer_target_dir() -> PathBuf {
    std::env::current_exe()
        .expect("test binary path")
        .ancestors()
        .nth(3)
        .expect("target dir")
        .to_path_buf()
}

/// Run `cmd` to completion within `limit`, killing it past that.
fn run_bounded(mut cmd: Command, limit: Duration, what: &str) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let started = Instant::now();
    // Drain the pipes on threads so a chatty child never blocks.
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut buf);
        buf
    });
    let err_t = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut buf);
        buf
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    Output {
        status,
        stdout: out_t.join().expect("stdout thread"),
        stderr: err_t.join().expect("stderr thread"),
    }
}

fn expect_success(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_connector_builds_passes_its_tests_and_runs_in_weft() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("issues");
    let target = outer_target_dir().join("walkthrough");
    let cache = target.join("weft-cache");
    let weft = || {
        let mut c = Command::new(WEFT);
        c.env("WEFT_CACHE_DIR", &cache);
        c
    };

    // Step 1: scaffold.
    let started = Instant::now();
    let mut new = weft();
    new.args(["connector", "new", "issues", "--dir"])
        .arg(&dir)
        .arg("--sdk-path")
        .arg(repo_root());
    let out = run_bounded(new, Duration::from_secs(30), "weft connector new");
    expect_success(&out, "weft connector new");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("cargo test --release"), "{printed}");
    for file in ["Cargo.toml", "src/lib.rs", "tests/blocks.rs", "README.md"] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    // Pin dependency versions to the workspace's, as a checked-in lock
    // would; cargo drops what the new crate does not use.
    std::fs::copy(repo_root().join("Cargo.lock"), dir.join("Cargo.lock")).expect("copy lock");

    // Step 2: its tests, green, as the author runs them.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut test = Command::new(&cargo);
    test.args(["test", "--release"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .env("WEFT_BIN", WEFT)
        .env("WEFT_CACHE_DIR", &cache)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    let out = run_bounded(test, CARGO_STEP_LIMIT, "cargo test --release");
    expect_success(&out, "cargo test --release in the new connector");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("test result: ok. 9 passed"), "{report}");
    eprintln!(
        "walkthrough: `weft connector new` to a green `cargo test --release`: {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Step 3: the component the tests built is the one to ship.
    let wasm = target.join("wasm32-wasip2/release/issues.wasm");
    assert!(wasm.is_file(), "{} missing", wasm.display());

    // Step 4: describe shows the new id, enums, defaults and docs.
    let mut describe = weft();
    describe.args(["connector", "describe"]).arg(&wasm);
    let out = run_bounded(describe, Duration::from_secs(60), "weft connector describe");
    expect_success(&out, "weft connector describe");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("issues 0.1.0 — Issues"), "{text}");
    assert!(
        text.contains("one of: \"open\", \"in-progress\", \"done\""),
        "{text}"
    );
    assert!(text.contains("default: 5"), "{text}");

    // Step 5: invoke a block.
    let mut invoke = weft();
    invoke
        .args(["--json", "connector", "invoke"])
        .arg(&wasm)
        .args([
            "summarize",
            "--input",
            r#"{"tasks": [{"status": "open"}, {"status": "done"}, {"status": "open"}]}"#,
        ]);
    let out = run_bounded(invoke, Duration::from_secs(60), "weft connector invoke");
    expect_success(&out, "weft connector invoke");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(
        report["output"],
        serde_json::json!({"total": 3, "by_status": {"done": 1, "open": 2}})
    );

    // Step 6: sign it, install it into a server that trusts the key, and
    // run it from an automation made through the API.
    let key = tmp.path().join("issues.key");
    let mut keygen = weft();
    keygen
        .args(["--json", "connector", "keygen", "--out"])
        .arg(&key);
    let out = run_bounded(keygen, Duration::from_secs(30), "weft connector keygen");
    expect_success(&out, "weft connector keygen");
    let public_key =
        serde_json::from_slice::<Value>(&out.stdout).expect("keygen JSON")["public_key"]
            .as_str()
            .expect("public key")
            .to_string();
    let mut sign = weft();
    sign.args(["connector", "sign"])
        .arg(&wasm)
        .arg("--key")
        .arg(&key);
    let out = run_bounded(sign, Duration::from_secs(60), "weft connector sign");
    expect_success(&out, "weft connector sign");
    let trusted = format!("me={public_key}");
    let server = common::start(
        tempfile::tempdir().expect("data dir"),
        common::Options {
            args: &["--trusted-key", &trusted],
            cache_dir: Some(cache.clone()),
            ..Default::default()
        },
    );
    let mut install = weft();
    install
        .args(["connector", "install"])
        .arg(&wasm)
        .env("WEFT_SERVER", &server.base)
        .env("WEFT_TOKEN", common::ADMIN);
    let out = run_bounded(install, Duration::from_secs(60), "weft connector install");
    expect_success(&out, "weft connector install");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("installed issues@0.1.0 (publisher: me)"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let api = common::Api::new(&server);
    let (status, created) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(common::ADMIN),
            Some(json!({
                "weft": "automation/v1", "id": "count-issues", "name": "Count issues",
                "blocks": [
                    {"id": "Start", "type": "start"},
                    {"id": "Count", "type": "connector", "connector": "issues", "block": "summarize",
                     "inputs": {"tasks": "{$.Start.tasks}"}},
                    {"id": "Out", "type": "output", "mode": "set", "value": "{$.Count}"}
                ],
                "edges": [{"from": "Start", "to": "Count"}, {"from": "Count", "to": "Out"}]
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let answer: Value = api
        .http
        .post(format!(
            "{}/api/v1/automations/count-issues/actions/execute",
            server.base
        ))
        .header(
            "X-Execution-Token",
            created["execution_token"].as_str().unwrap_or_default(),
        )
        .json(&json!({"tasks": [{"status": "open"}, {"status": "open"}]}))
        .send()
        .await
        .expect("execute")
        .json()
        .await
        .expect("JSON output");
    assert_eq!(answer, json!({"total": 2, "by_status": {"open": 2}}));
    eprintln!(
        "walkthrough: `weft connector new` to a run in the server: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
