//! Who may install what, and what a run sees while connectors change,
//! through a real `weft serve`: a connector id belongs to one publisher (a
//! bundled id to none), installs are checked again against the trust
//! settings of every start (a key no longer trusted: not loaded, the server
//! still comes up), and a run keeps the connector versions it started with
//! while versions are installed and removed around it.

mod common;

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use common::{ADMIN, Api, Options, Server, start};
use serde_json::{Value, json};
use weft_host::signing::KeyPair;

/// POST a component (signed by `key`, if any); status and body.
async fn install(api: &Api, bytes: &[u8], key: Option<&KeyPair>) -> (u16, Value) {
    let mut request = api
        .http
        .post(format!("{}/api/v1/connectors", api.base))
        .bearer_auth(ADMIN)
        .header("content-type", "application/wasm")
        .body(bytes.to_vec());
    if let Some(key) = key {
        // The id and version the publisher signs are its manifest's; the
        // server holds the loaded manifest to them.
        let (id, version) = manifest_of(bytes);
        let signature = key.sign(bytes, &id, &version).expect("sign");
        let text = serde_json::to_vec(&signature).expect("signature json");
        request = request.header(
            "Weft-Component-Signature",
            base64::engine::general_purpose::STANDARD.encode(text),
        );
    }
    let resp = request.send().await.expect("install");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The id and version a component's manifest declares, as
/// `weft connector describe --json` prints them.
fn manifest_of(bytes: &[u8]) -> (String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("c.wasm");
    std::fs::write(&file, bytes).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weft"))
        .args([
            "connector",
            "describe",
            file.to_str().unwrap_or_default(),
            "--json",
        ])
        .env("WEFT_DATA_DIR", dir.path())
        .env("WEFT_CACHE_DIR", weft_tests::cache_dir())
        .output()
        .expect("describe");
    let m: Value = serde_json::from_slice(&out.stdout).expect("describe json");
    (
        m["id"].as_str().expect("id").to_string(),
        m["version"].as_str().expect("version").to_string(),
    )
}

/// `weft connector list --json` over `components`, as an operator runs it
/// beside the server.
fn local_connectors(components: &std::path::Path) -> String {
    let data = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["connector", "list", "--json", "--components-dir"])
        .arg(components)
        .env("WEFT_DATA_DIR", data.path())
        .env("WEFT_CACHE_DIR", weft_tests::cache_dir())
        .output()
        .expect("weft connector list");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether `server` writes `text` within 5 s.
async fn wait_for_output(server: &Server, text: &str) -> bool {
    for _ in 0..250 {
        if server.output().contains(text) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}

fn restart(mut server: Server, args: &[&str]) -> Server {
    server.stop();
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().expect("tempdir"));
    drop(server);
    start(
        data,
        Options {
            args,
            cache_dir: Some(weft_tests::cache_dir()),
            ..Default::default()
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_belongs_to_one_publisher_and_installs_are_checked_again_at_every_start() {
    let acme = KeyPair::generate().expect("key");
    let other = KeyPair::generate().expect("key");
    let trust_acme = format!("acme={}", acme.public_key);
    let trust_other = format!("other={}", other.public_key);
    let server = start(
        tempfile::tempdir().expect("tempdir"),
        Options {
            args: &["--trusted-key", &trust_acme, "--trusted-key", &trust_other],
            cache_dir: Some(weft_tests::cache_dir()),
            ..Default::default()
        },
    );
    let api = Api::new(&server);

    // Trust is decided before anything is compiled: bytes that are no
    // component at all, unsigned, are refused as unsigned.
    let (s, body) = install(&api, b"\0asm but not really", None).await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(body["error"]["code"], "component_unsigned", "{body}");

    let (s, body) = install(&api, weft_components::ACME_TASKS, Some(&acme)).await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["installed"]["signed"], true, "{body}");

    // A trusted key, but not the publisher of the installed versions: the
    // new version would inherit acme's grants and connections.
    let (s, body) = install(&api, weft_components::ACME_TASKS_V2, Some(&other)).await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(body["error"]["code"], "publisher_mismatch", "{body}");
    assert_eq!(body["error"]["details"]["installed_version"], "0.1.0");

    // A bundled connector's id is nobody's to install over, whatever the
    // version or the signer.
    let (_, http) = weft_components::bundled()
        .find(|(name, _)| name.ends_with("http"))
        .expect("the bundled http connector");
    let (s, body) = install(&api, http, Some(&acme)).await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(body["error"]["code"], "connector_id_reserved", "{body}");

    // Bundled versions are not "signed": they are part of the binary.
    let (_, listed) = api
        .call("GET", "/api/v1/connectors/http", Some(ADMIN), None)
        .await;
    assert_eq!(listed["versions"][0]["source"], "bundled", "{listed}");
    assert_eq!(listed["versions"][0]["signed"], false, "{listed}");

    // The files of API installs live under installed/, loaded only through
    // their records.
    let components = server.data.path().join("components");
    let installed: Vec<_> = std::fs::read_dir(components.join("installed"))
        .expect("installed dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().to_string()))
        .collect();
    assert!(
        installed.iter().any(|n| n.ends_with(".wasm"))
            && installed.iter().any(|n| n.ends_with(".wasm.sig")),
        "{installed:?}"
    );

    let listed = local_connectors(&components);
    assert!(listed.contains("\"acme-tasks\""), "{listed}");

    // The operator stops trusting acme: at the next start its install is
    // not loaded (and said so), and the server comes up all the same.
    let server = restart(server, &["--trusted-key", &trust_other]);
    // Said on stderr, which its reader may pass on just after stdout's
    // "listening on".
    let said = wait_for_output(
        &server,
        "acme-tasks@0.1.0 (installed through the API) was not loaded",
    )
    .await;
    assert!(said, "{}", server.output());
    let api = Api::new(&server);
    let (s, body) = api
        .call("GET", "/api/v1/connectors/acme-tasks", Some(ADMIN), None)
        .await;
    assert_eq!(
        s, 404,
        "an install by a key no longer trusted is not loaded: {body}"
    );
    // Nor by the local commands reading the same components directory:
    // they load from installed/ what the server accepted (its index).
    let listed = local_connectors(&components);
    assert!(!listed.contains("acme-tasks"), "{listed}");

    // An earlier build kept API installs beside placed files: at the next
    // start they move to installed/ and load from their records, checked.
    for name in installed.iter().filter(|n| n.contains(".wasm")) {
        std::fs::rename(
            components.join("installed").join(name),
            components.join(name),
        )
        .expect("move back");
    }

    // Trusted again: loaded again, as installed; and a grant on the command
    // line may name a connector installed through the API.
    let grant = "acme-tasks=https://api.acme-tasks.example";
    let server = restart(server, &["--trusted-key", &trust_acme, "--allow", grant]);
    assert!(
        server.output().contains("moved 1 connector install(s)"),
        "{}",
        server.output()
    );
    let api = Api::new(&server);
    let (s, body) = api
        .call("GET", "/api/v1/connectors/acme-tasks", Some(ADMIN), None)
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["versions"][0]["source"], "api", "{body}");
    assert_eq!(body["versions"][0]["publisher"], "acme", "{body}");
    assert_eq!(
        body["grants"]["allow"],
        json!(["https://api.acme-tasks.example"]),
        "{body}"
    );
    drop(server);
}

/// The fake Acme Tasks API: `GET /tasks` answers two tasks.
async fn fake_acme() -> (String, tokio::sync::oneshot::Sender<()>) {
    let app = Router::new().route(
        "/tasks",
        get(|| async {
            axum::Json(json!({"data": [
                {"id": "t1", "title": "one", "status": "done"},
                {"id": "t2", "title": "two", "status": "open"}
            ]}))
        }),
    );
    let (addr, stop) = weft_tests::serve_on_loopback(app).await;
    (format!("http://{addr}"), stop)
}

/// List tasks, nap `ms`, list again; both connector blocks unpinned.
fn list_nap_list(connection: &str, base_url: &str, ms: u64) -> Value {
    let list = |id: &str| {
        json!({"id": id, "type": "connector", "connector": "acme-tasks", "block": "list-tasks",
               "connection": connection, "inputs": {"base_url": base_url}})
    };
    json!({
        "weft": "automation/v1", "id": "twice", "name": "twice",
        "blocks": [
            {"id": "Start", "type": "start"},
            list("First"),
            {"id": "Nap", "type": "sleep", "ms": ms},
            list("Second"),
            {"id": "Out", "type": "output", "mode": "set", "value": {"n": "{count: $.Second.tasks}"}}
        ],
        "edges": [
            {"from": "Start", "to": "First"}, {"from": "First", "to": "Nap"},
            {"from": "Nap", "to": "Second"}, {"from": "Second", "to": "Out"}
        ]
    })
}

/// Start a run of `twice` in the background; its id.
async fn start_run(api: &Api, exec_token: &str) -> String {
    api.execute_async("twice", exec_token, json!({})).await
}

/// Wait until the run's `First` step is written (it is napping then).
async fn wait_for_first_step(api: &Api, run_id: &str) -> Value {
    for _ in 0..400 {
        let (_, run) = api
            .call("GET", &format!("/api/v1/runs/{run_id}"), Some(ADMIN), None)
            .await;
        if step(&run, "First").is_some() {
            return run;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("run {run_id} never ran its first block");
}

fn step(run: &Value, block: &str) -> Option<Value> {
    run["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["block_id"] == block))
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_keeps_the_connector_versions_it_started_with() {
    let (acme, _stop) = fake_acme().await;
    let server = start(
        tempfile::tempdir().expect("tempdir"),
        Options {
            args: &["--allow-unsigned-components"],
            cache_dir: Some(weft_tests::cache_dir()),
            ..Default::default()
        },
    );
    let api = Api::new(&server);
    let (s, body) = install(&api, weft_components::ACME_TASKS, None).await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = api
        .call(
            "PUT",
            "/api/v1/connectors/acme-tasks/grants",
            Some(ADMIN),
            Some(json!({"allow": [acme]})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let conn = common::bearer_connection(&api, "acme-tasks", "t0ken-for-acme").await;
    // Long enough for an install or removal to finish while it naps.
    let (s, created) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(ADMIN),
            Some(list_nap_list(&conn, &acme, 4000)),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let exec = created["execution_token"].as_str().expect("token");

    // 0.2.0 is installed while a run naps between its two blocks: the
    // run finishes on 0.1.0, the version it started with.
    let run_id = start_run(&api, exec).await;
    wait_for_first_step(&api, &run_id).await;
    let (s, body) = install(&api, weft_components::ACME_TASKS_V2, None).await;
    assert_eq!(s, 201, "{body}");
    let (_, during) = api
        .call("GET", &format!("/api/v1/runs/{run_id}"), Some(ADMIN), None)
        .await;
    assert_eq!(
        during["run"]["status"], "running",
        "the install must land mid-run for this test to mean anything: {during}"
    );
    let run = common::wait_for_end(&api, ADMIN, &run_id).await;
    assert_eq!(run["run"]["status"], "finished", "{run}");
    for block in ["First", "Second"] {
        assert_eq!(
            step(&run, block).expect("step")["connector_version"],
            "0.1.0",
            "{block}: {run}"
        );
    }

    // The next run starts on 0.2.0; that version is removed mid-run: the
    // run does not switch to 0.1.0, its second block fails saying why.
    let run_id = start_run(&api, exec).await;
    let started = wait_for_first_step(&api, &run_id).await;
    assert_eq!(
        step(&started, "First").expect("step")["connector_version"],
        "0.2.0"
    );
    let (s, body) = api
        .call(
            "DELETE",
            "/api/v1/connectors/acme-tasks/versions/0.2.0",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(s, 200, "0.1.0 is left for the unpinned automation: {body}");
    let run = common::wait_for_end(&api, ADMIN, &run_id).await;
    assert_eq!(run["run"]["status"], "failed", "{run}");
    let second = step(&run, "Second").expect("the second step is recorded");
    assert!(
        second["error"]
            .as_str()
            .is_some_and(|e| e.contains("version 0.2.0, which this run started with, was removed")),
        "{second}"
    );
    drop(server);
}
