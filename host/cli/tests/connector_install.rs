//! Third-party connectors in a running server, through real processes: a
//! connector built from the SDK template (the scaffold `weft connector new`
//! copies, as `acme-tasks` 0.1.0 and 0.2.0) is signed with
//! `weft connector keygen | sign`, refused unsigned, untrusted or
//! tampered, installed with `weft connector install`, granted a loopback
//! host with `weft connector grant`, used by automations created through
//! the API with a bearer connection (the token injected by the host),
//! upgraded while another automation pins the old version, kept across a
//! restart, rolled back, refused removal while needed, force-removed
//! (disabling what needed it), deleted when unused, and audited; and the
//! CLI's own commands see the same components directory.

mod common;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use common::{ADMIN, Api, Server, start};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

const API_TOKEN: &str = "acme-secret-token-0123456789";

/// The fake Acme Tasks API: `GET /tasks` answers a page of two tasks and records the
/// Authorization header each request carried.
async fn fake_acme() -> (
    String,
    Arc<Mutex<Vec<Option<String>>>>,
    tokio::sync::oneshot::Sender<()>,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = Router::new().route(
        "/tasks",
        get(move |headers: HeaderMap| {
            let log = log.clone();
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                log.lock().unwrap_or_else(|e| e.into_inner()).push(auth);
                axum::Json(json!({"data": [
                    {"id": "t1", "title": "Sign the connector", "status": "done"},
                    {"id": "t2", "title": "Install it", "status": "open"}
                ]}))
            }
        }),
    );
    let (addr, stop) = weft_tests::serve_on_loopback(app).await;
    (format!("http://{addr}"), seen, stop)
}

/// Run `weft` with the given arguments against `server`.
fn weft(args: &[&str], server: Option<&Server>, data: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_weft"));
    cmd.args(args)
        .env("WEFT_DATA_DIR", data)
        .env("WEFT_CACHE_DIR", weft_tests::cache_dir())
        .env_remove("WEFT_COMPONENTS_DIR")
        .env_remove("WEFT_TRUSTED_KEYS");
    if let Some(server) = server {
        cmd.env("WEFT_SERVER", &server.base)
            .env("WEFT_TOKEN", ADMIN);
    }
    cmd.output().expect("run weft")
}

fn ok(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "weft failed: {text}");
    text
}

/// An automation listing tasks through `connection`, pinned to `version`.
fn list_tasks(id: &str, connection: &str, base_url: &str, version: Option<&str>) -> Value {
    let mut block = json!({
        "id": "List", "type": "connector", "connector": "acme-tasks", "block": "list-tasks",
        "connection": connection, "inputs": {"base_url": base_url}
    });
    if let Some(v) = version {
        block["version"] = json!(v);
    }
    json!({
        "weft": "automation/v1", "id": id, "name": id,
        "blocks": [
            {"id": "Start", "type": "start"},
            block,
            {"id": "Out", "type": "output", "mode": "set", "value": {"count": "{count: $.List.tasks}"}}
        ],
        "edges": [{"from": "Start", "to": "List"}, {"from": "List", "to": "Out"}]
    })
}

/// Run automation `id` synchronously; its output, and the connector
/// version its `List` step ran.
async fn run(api: &Api, id: &str, exec_token: &str) -> (Value, String) {
    let resp = api
        .http
        .post(format!(
            "{}/api/v1/automations/{id}/actions/execute",
            api.base
        ))
        .header("X-Execution-Token", exec_token)
        .json(&json!({}))
        .send()
        .await
        .expect("execute");
    let status = resp.status().as_u16();
    let out: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{id}: {out}");
    let (_, runs) = api
        .call(
            "GET",
            &format!("/api/v1/runs?automation={id}&limit=1"),
            Some(ADMIN),
            None,
        )
        .await;
    let run_id = runs["items"][0]["id"].as_str().expect("a run").to_string();
    let (_, run) = api
        .call("GET", &format!("/api/v1/runs/{run_id}"), Some(ADMIN), None)
        .await;
    let step = run["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["block_id"] == "List"))
        .cloned()
        .unwrap_or(Value::Null);
    let version = step["connector_version"]
        .as_str()
        .unwrap_or("?")
        .to_string();
    (out, version)
}

fn versions(connector: &Value) -> Vec<String> {
    connector["versions"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .map(|v| v["version"].as_str().unwrap_or("?").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write component");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_connector_is_installed_granted_pinned_upgraded_and_removed() {
    let (acme, seen, _stop_acme) = fake_acme().await;
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    let v1 = write(w, "acme_tasks.wasm", weft_components::ACME_TASKS);
    let v2 = write(w, "acme_tasks_v2.wasm", weft_components::ACME_TASKS_V2);
    let unsigned = write(w, "unsigned.wasm", weft_components::ACME_TASKS);

    // The publisher: a key pair, and signatures beside the components.
    let key = w.join("acme.key");
    let out = weft(
        &[
            "connector",
            "keygen",
            "--out",
            key.to_str().unwrap_or_default(),
            "--json",
        ],
        None,
        w,
    );
    let public_key =
        serde_json::from_slice::<Value>(&out.stdout).expect("keygen json")["public_key"]
            .as_str()
            .expect("public key")
            .to_string();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).expect("key").permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key file is private");
    }
    for file in [&v1, &v2] {
        ok(&weft(
            &[
                "connector",
                "sign",
                file.to_str().unwrap_or_default(),
                "--key",
                key.to_str().unwrap_or_default(),
            ],
            None,
            w,
        ));
    }
    // A signature by someone else, over the same bytes.
    let stranger = w.join("stranger.key");
    ok(&weft(
        &[
            "connector",
            "keygen",
            "--out",
            stranger.to_str().unwrap_or_default(),
        ],
        None,
        w,
    ));
    let forged = write(w, "forged.wasm", weft_components::ACME_TASKS);
    ok(&weft(
        &[
            "connector",
            "sign",
            forged.to_str().unwrap_or_default(),
            "--key",
            stranger.to_str().unwrap_or_default(),
        ],
        None,
        w,
    ));
    // v1's signature on v2's bytes.
    let swapped = write(w, "swapped.wasm", weft_components::ACME_TASKS_V2);
    std::fs::copy(w.join("acme_tasks.wasm.sig"), w.join("swapped.wasm.sig")).expect("copy sig");

    let data = tempfile::tempdir().expect("tempdir");
    let trusted = format!("acme={public_key}");
    let server = start(
        data,
        common::Options {
            args: &["--trusted-key", &trusted],
            ..Default::default()
        },
    );
    let api = Api::new(&server);

    // Refused: unsigned, untrusted, tampered; and not by a non-admin.
    let out = weft(
        &[
            "connector",
            "install",
            unsigned.to_str().unwrap_or_default(),
        ],
        Some(&server),
        w,
    );
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("component_unsigned"));
    let out = weft(
        &["connector", "install", forged.to_str().unwrap_or_default()],
        Some(&server),
        w,
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("component_untrusted"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = weft(
        &["connector", "install", swapped.to_str().unwrap_or_default()],
        Some(&server),
        w,
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid_signature"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bob = common::create_user(&api, "bob").await;
    let resp = api
        .http
        .post(format!("{}/api/v1/connectors", api.base))
        .bearer_auth(&bob)
        .body(weft_components::ACME_TASKS.to_vec())
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 403);
    let (s, body) = api
        .call("GET", "/api/v1/connectors/acme-tasks", Some(ADMIN), None)
        .await;
    assert_eq!(s, 404, "nothing refused was installed: {body}");

    // Installed, listed with its publisher; granted the fake API's origin.
    let text = ok(&weft(
        &["connector", "install", v1.to_str().unwrap_or_default()],
        Some(&server),
        w,
    ));
    assert!(
        text.contains("acme-tasks@0.1.0") && text.contains("acme"),
        "{text}"
    );
    let (_, listed) = api
        .call("GET", "/api/v1/connectors", Some(&bob), None)
        .await;
    let acme_listed = listed["items"]
        .as_array()
        .and_then(|items| items.iter().find(|c| c["id"] == "acme-tasks"))
        .cloned()
        .expect("listed");
    assert_eq!(
        acme_listed["versions"][0]["publisher"], "acme",
        "{acme_listed}"
    );
    assert_eq!(acme_listed["versions"][0]["source"], "api");
    assert!(acme_listed.get("grants").is_none(), "grants are for admins");
    assert_eq!(acme_listed["blocks"][0]["id"], "list-tasks");
    let out = weft(
        &["connector", "install", v1.to_str().unwrap_or_default()],
        Some(&server),
        w,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("version_exists"));
    ok(&weft(
        &[
            "connector",
            "grant",
            "acme-tasks",
            "--allow",
            &acme,
            "--timeout-ms",
            "20000",
        ],
        Some(&server),
        w,
    ));

    // A connection holding the token, and two automations: one pinned to
    // 0.1.0, one taking the newest.
    let conn = common::bearer_connection(&api, "acme-tasks", API_TOKEN).await;
    let mut exec = std::collections::HashMap::new();
    for (id, pin) in [("pinned", Some("0.1.0")), ("newest", None)] {
        let (s, created) = api
            .call(
                "POST",
                "/api/v1/automations",
                Some(ADMIN),
                Some(list_tasks(id, &conn, &acme, pin)),
            )
            .await;
        assert_eq!(s, 201, "{created}");
        exec.insert(
            id,
            created["execution_token"]
                .as_str()
                .expect("token")
                .to_string(),
        );
    }
    let (s, refused) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(ADMIN),
            Some(list_tasks("nine", &conn, &acme, Some("^9"))),
        )
        .await;
    assert_eq!(s, 422, "{refused}");
    assert!(
        refused.to_string().contains("no installed version"),
        "{refused}"
    );

    let (out, version) = run(&api, "pinned", &exec["pinned"]).await;
    assert_eq!(out, json!({"count": 2}));
    assert_eq!(version, "0.1.0");
    assert_eq!(
        seen.lock()
            .unwrap_or_else(|e| e.into_inner())
            .last()
            .cloned()
            .flatten(),
        Some(format!("Bearer {API_TOKEN}")),
        "the host injected the connection's token"
    );

    // Upgrade: 0.2.0 installed beside 0.1.0, no restart.
    ok(&weft(
        &["connector", "install", v2.to_str().unwrap_or_default()],
        Some(&server),
        w,
    ));
    assert_eq!(run(&api, "newest", &exec["newest"]).await.1, "0.2.0");
    assert_eq!(run(&api, "pinned", &exec["pinned"]).await.1, "0.1.0");

    // A restart keeps the installs, their publisher and the grants.
    let mut server = server;
    server.stop();
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().expect("tempdir"));
    drop(server);
    let server = start(
        data,
        common::Options {
            args: &["--trusted-key", &trusted],
            ..Default::default()
        },
    );
    let api = Api::new(&server);
    let (_, acme_conn) = api
        .call("GET", "/api/v1/connectors/acme-tasks", Some(ADMIN), None)
        .await;
    assert_eq!(versions(&acme_conn), ["0.2.0", "0.1.0"], "{acme_conn}");
    assert_eq!(acme_conn["versions"][1]["publisher"], "acme");
    assert_eq!(acme_conn["grants"]["allow"], json!([acme]), "{acme_conn}");
    assert_eq!(run(&api, "newest", &exec["newest"]).await.1, "0.2.0");

    // The CLI reads the same components directory.
    std::fs::write(
        w.join("uses.json"),
        list_tasks("uses", &conn, &acme, Some("0.2.0")).to_string(),
    )
    .expect("write");
    // (Its own data directory: the server holds its history's lock.)
    let components = server.data.path().join("components");
    let components = components.to_str().unwrap_or_default();
    let text = ok(&weft(
        &[
            "validate",
            w.join("uses.json").to_str().unwrap_or_default(),
            "--components-dir",
            components,
        ],
        None,
        w,
    ));
    assert!(text.contains("is valid"), "{text}");
    let text = ok(&weft(
        &[
            "connector",
            "list",
            "--json",
            "--components-dir",
            components,
        ],
        None,
        w,
    ));
    assert!(text.contains("\"acme-tasks\""), "{text}");

    // Roll back: removing 0.2.0 leaves 0.1.0 for the unpinned automation.
    let (s, body) = api
        .call(
            "DELETE",
            "/api/v1/connectors/acme-tasks/versions/0.2.0",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(run(&api, "newest", &exec["newest"]).await.1, "0.1.0");

    // 0.1.0 is now needed by both: refused, then forced.
    let (s, body) = api
        .call(
            "DELETE",
            "/api/v1/connectors/acme-tasks/versions/0.1.0",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(body["error"]["code"], "connector_in_use");
    assert_eq!(
        body["error"]["details"]["automations"],
        json!(["newest", "pinned"])
    );
    let (s, body) = api
        .call(
            "DELETE",
            "/api/v1/connectors/acme-tasks/versions/0.1.0?force=true",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let (_, pinned) = api
        .call("GET", "/api/v1/automations/pinned", Some(ADMIN), None)
        .await;
    assert_eq!(pinned["enabled"], false);
    assert!(
        pinned["disabled_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("acme-tasks@0.1.0"),
        "{pinned}"
    );
    let (s, _) = api
        .call("GET", "/api/v1/connectors/acme-tasks", Some(ADMIN), None)
        .await;
    assert_eq!(s, 404);

    // Unused: installed again, then removed without force.
    ok(&weft(
        &["connector", "install", v2.to_str().unwrap_or_default()],
        Some(&server),
        w,
    ));
    for id in ["pinned", "newest"] {
        let (s, _) = api
            .call(
                "DELETE",
                &format!("/api/v1/automations/{id}"),
                Some(ADMIN),
                None,
            )
            .await;
        assert_eq!(s, 204);
    }
    ok(&weft(
        &["connector", "remove", "acme-tasks", "0.2.0"],
        Some(&server),
        w,
    ));
    // Only the index of accepted installs is left, empty.
    let installed: Vec<String> =
        std::fs::read_dir(server.data.path().join("components").join("installed"))
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                    .collect()
            })
            .unwrap_or_default();
    assert_eq!(
        installed,
        ["index.json"],
        "removed components leave no files"
    );

    // Bundled connectors cannot be removed.
    let (s, body) = api
        .call(
            "DELETE",
            "/api/v1/connectors/http/versions/0.1.0",
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (409, Some("connector_not_removable"))
    );

    // Every change is in the audit log, newest first, with its actor.
    let (s, audit) = api
        .call("GET", "/api/v1/audit?limit=500", Some(ADMIN), None)
        .await;
    assert_eq!(s, 200, "{audit}");
    let actions: Vec<(String, String)> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_string(),
                e["target"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected = [
        ("connector.remove", "acme-tasks@0.2.0"),
        ("connector.install", "acme-tasks@0.2.0"),
        ("connector.remove", "acme-tasks@0.1.0"),
        ("automation.disable", "pinned"),
    ];
    for (i, (action, target)) in expected.iter().enumerate() {
        assert_eq!(
            (actions[i].0.as_str(), actions[i].1.as_str()),
            (*action, *target),
            "{actions:?}"
        );
    }
    assert!(
        actions
            .iter()
            .any(|(a, t)| a == "connector.grants" && t == "acme-tasks")
    );
    assert!(
        audit["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|e| e["actor"] == "admin")
    );
    let (s, _) = api.call("GET", "/api/v1/audit", Some(&bob), None).await;
    assert_eq!(s, 403, "the audit log is for admins");
}

/// The grant in force, as `GET /api/v1/connectors/{id}` shows admins.
async fn grants(api: &Api, id: &str) -> Value {
    let (s, body) = api
        .call(
            "GET",
            &format!("/api/v1/connectors/{id}"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(s, 200, "{body}");
    body["grants"].clone()
}

fn refused(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_changes_only_what_its_flags_name_and_refusals_say_what_to_do() {
    let work = tempfile::tempdir().expect("tempdir");
    let w = work.path();
    let component = write(w, "acme_tasks.wasm", weft_components::ACME_TASKS);
    let component = component.to_str().unwrap_or_default();
    let server = start(
        tempfile::tempdir().expect("tempdir"),
        common::Options {
            args: &["--allow-unsigned-components"],
            ..Default::default()
        },
    );
    let api = Api::new(&server);
    let text = ok(&weft(
        &["connector", "install", component, "--timeout-secs", "120"],
        Some(&server),
        w,
    ));
    assert!(text.contains("acme-tasks@0.1.0"), "{text}");
    let grant = |flags: &[&str]| {
        let mut args = vec!["connector", "grant", "acme-tasks"];
        args.extend_from_slice(flags);
        weft(&args, Some(&server), w)
    };
    ok(&grant(&[
        "--allow",
        "https://api.acme-tasks.example",
        "--timeout-ms",
        "20000",
    ]));

    // A limit alone keeps the hosts and the other limits.
    let text = ok(&grant(&["--fuel", "123456789"]));
    assert!(
        text.contains("may reach: https://api.acme-tasks.example"),
        "{text}"
    );
    let now = grants(&api, "acme-tasks").await;
    assert_eq!(
        now["allow"],
        json!(["https://api.acme-tasks.example"]),
        "{now}"
    );
    assert_eq!(now["limits"]["fuel"], 123_456_789, "{now}");
    assert_eq!(now["limits"]["wall_clock"], 20_000, "{now}");

    // Hosts alone keep the limits.
    ok(&grant(&["--allow", "https://other.example"]));
    let now = grants(&api, "acme-tasks").await;
    assert_eq!(now["allow"], json!(["https://other.example"]), "{now}");
    assert_eq!(now["limits"]["fuel"], 123_456_789, "{now}");

    // A memory cap whose bytes overflow is refused by name, before any call.
    let too_big = ((usize::MAX >> 20) + 1).to_string();
    let out = grant(&["--memory-mib", &too_big]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--memory-mib"), "{stderr}");
    // Nothing to change is a usage error, not an empty grant.
    assert_eq!(grant(&[]).status.code(), Some(2));
    assert_eq!(grants(&api, "acme-tasks").await, now, "nothing changed");

    // --default-limits drops the limits; --revoke-all empties the hosts.
    ok(&grant(&["--default-limits"]));
    let now = grants(&api, "acme-tasks").await;
    assert_eq!(now["allow"], json!(["https://other.example"]), "{now}");
    assert!(now["limits"].is_null(), "{now}");
    let text = ok(&grant(&["--revoke-all"]));
    assert!(text.contains("may reach: nothing"), "{text}");
    assert_eq!(grants(&api, "acme-tasks").await["allow"], json!([]));

    // `list --server` without a URL talks to WEFT_SERVER.
    let out = weft(
        &["connector", "list", "--server", "--json"],
        Some(&server),
        w,
    );
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let acme = listed
        .as_array()
        .and_then(|items| items.iter().find(|c| c["id"] == "acme-tasks"))
        .unwrap_or_else(|| panic!("{}", ok(&out)));
    assert_eq!(acme["versions"][0]["source"], "api", "{acme}");

    // Removal refusals say what to do, by their code.
    let conn = common::bearer_connection(&api, "acme-tasks", API_TOKEN).await;
    let (s, created) = api
        .call(
            "POST",
            "/api/v1/automations",
            Some(ADMIN),
            Some(list_tasks(
                "needs",
                &conn,
                "http://127.0.0.1:9",
                Some("0.1.0"),
            )),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let stderr = refused(&weft(
        &["connector", "remove", "acme-tasks", "0.1.0"],
        Some(&server),
        w,
    ));
    assert!(stderr.contains("connector_in_use"), "{stderr}");
    assert!(
        stderr.contains("`weft connector remove acme-tasks 0.1.0 --force`"),
        "{stderr}"
    );
    let stderr = refused(&weft(
        &["connector", "remove", "http", "0.1.0", "--force"],
        Some(&server),
        w,
    ));
    assert!(stderr.contains("connector_not_removable"), "{stderr}");
    assert!(
        stderr.contains("only versions installed with `weft connector install`"),
        "{stderr}"
    );
}
