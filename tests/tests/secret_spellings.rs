//! Secrets are scrubbed by meaning, not by bytes: an API on 127.0.0.1
//! echoes the injected credential in every spelling a server may use
//! (`weft_tests::spelling_echo`), to the real `http` component, for every
//! credential kind and secrets of every printable character class. No
//! spelling reaches the block's output, error, logs or the recorded calls;
//! and a secret a later block rebuilds from pieces the scrubbing could not
//! recognise is scrubbed from the run's output, steps and history too.

use serde_json::{Value, json};
use std::sync::Arc;
use weft_host::connections::{
    ConnectionRefused, ConnectionRequest, ConnectionResolver, ResolvedConnection,
};
use weft_host::credentials::{Credential, Secret, StaticCredential};
use weft_host::{InvokeContext, InvokeReport, RunStatus, Runtime, Trigger, Weft};
use weft_tests::spelling_echo::{self, ENCODINGS, SECRETS, needles};
use weft_tests::{FakeApi, cache_dir};

fn runtime() -> Runtime {
    Runtime::builder()
        .cache_dir(cache_dir())
        .max_concurrent_instances(32)
        .build()
        .expect("runtime")
}

fn kinds(secret: &str) -> Vec<Credential> {
    vec![
        Credential::Bearer(Secret::new(secret)),
        Credential::ApiKeyHeader {
            name: "X-Api-Key".into(),
            value: Secret::new(secret),
        },
        Credential::Basic {
            username: "ada".into(),
            password: Secret::new(secret),
        },
    ]
}

/// Every string inside `v`, decoded, one per line.
fn strings(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push_str(k);
                out.push('\n');
                strings(v, out);
            }
        }
        _ => {}
    }
}

/// All a report hands back: output or error as JSON and as decoded
/// strings, the recorded calls and the logs.
fn everything(report: &InvokeReport) -> String {
    let mut out = match &report.output {
        Ok(v) => v.to_string(),
        Err(e) => serde_json::to_string(e).expect("error as JSON"),
    };
    out.push('\n');
    if let Ok(v) = &report.output {
        strings(v, &mut out);
    }
    let calls = serde_json::to_value(&report.http_calls).expect("calls");
    out.push_str(&calls.to_string());
    strings(&calls, &mut out);
    out.push_str(&serde_json::to_string(&report.logs).expect("logs"));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_spelling_of_an_echoed_credential_is_scrubbed_before_the_block_sees_it() {
    let api = FakeApi::start_with(spelling_echo::router()).await;
    let http = runtime()
        .load(weft_components::HTTP)
        .await
        .expect("load http")
        .with_grant(&[api.base()])
        .expect("grant");
    let mut leaks = Vec::new();
    let mut checked = 0;
    for secret in SECRETS {
        let needles = needles(secret);
        for credential in kinds(secret) {
            let ctx = InvokeContext {
                credentials: Some(StaticCredential::new(credential.clone())),
                ..InvokeContext::default()
            };
            for encoding in ENCODINGS {
                for at in 0..3 {
                    let url = api.url(&format!("/spell/{encoding}?at={at}"));
                    let report = http.invoke("request", &json!({"url": url}), &ctx).await;
                    let text = everything(&report);
                    let shown = format!("{credential:?} {encoding} at {at}");
                    match &report.output {
                        Ok(out) if out["status"] == 200 => {}
                        _ => leaks.push(format!("{shown}: no answer: {text}")),
                    }
                    for n in &needles {
                        if text.contains(n.as_str()) {
                            leaks.push(format!("{shown}: {n:?} in {text}"));
                        }
                    }
                    // The block got the echo, redacted (a form body keeps
                    // its encoding: `[redacted]` percent-encoded).
                    let output = format!("{:?}", report.output);
                    if !output.contains("[redacted]") && !output.contains("%5Bredacted%5D") {
                        leaks.push(format!("{shown}: nothing was redacted: {text}"));
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, SECRETS.len() * 3 * ENCODINGS.len() * 3);
    assert!(
        leaks.is_empty(),
        "{} of {checked}:\n{}",
        leaks.len(),
        leaks.join("\n")
    );
}

/// `echo`: a bearer connection for the http connector.
struct EchoConnection(&'static str);

impl ConnectionResolver for EchoConnection {
    fn resolve(
        &self,
        request: ConnectionRequest<'_>,
    ) -> Result<ResolvedConnection, ConnectionRefused> {
        match (request.connection_id, request.connector) {
            ("echo", "http") => Ok(ResolvedConnection {
                fields: json!({}),
                credentials: StaticCredential::new(Credential::Bearer(Secret::new(self.0))),
            }),
            _ => Err(ConnectionRefused {
                message: format!("no connection {:?}", request.connection_id),
            }),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_rebuilt_by_a_later_block_is_scrubbed_from_the_run_and_its_history() {
    let api = FakeApi::start_with(spelling_echo::router()).await;
    let secret = SECRETS[0];
    let dir = tempfile::tempdir().expect("tmp");
    let weft = Weft::builder()
        .runtime(runtime())
        .sled(dir.path().join("history"))
        .component(weft_components::HTTP)
        .component(weft_components::TEXT)
        .grant("http", &[api.base()])
        .connections(Arc::new(EchoConnection(secret)))
        .build()
        .await
        .expect("weft");
    // The API cuts the secret in two (no answer holds it whole); a text
    // block and a formula put it back together; the run then fails with
    // it in the error text.
    let document = json!({
        "weft": "automation/v1", "id": "rebuild", "name": "Rebuild",
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Split", "type": "connector", "connector": "http", "block": "request",
             "connection": "echo", "inputs": {"url": api.url("/spell/split")}},
            {"id": "Join", "type": "connector", "connector": "text", "block": "join",
             "inputs": {"parts": ["{$.Split.body.a}", "{$.Split.body.b}"]}},
            {"id": "Out", "type": "output", "mode": "set",
             "value": {"joined": "{$.Join.text}", "concat": "{concat: $.Split.body.a, $.Split.body.b}"}},
            {"id": "Fail", "type": "error", "mode": "fail", "message": "bad token {$.Join.text}"}
        ],
        "edges": [
            {"from": "Start", "to": "Split"}, {"from": "Split", "to": "Join"},
            {"from": "Join", "to": "Out"}, {"from": "Out", "to": "Fail"}
        ]
    });
    let plan = weft.validate(&document).unwrap_or_else(|e| panic!("{e}"));
    let trigger = Trigger::custom("test");
    let r = weft.run(&plan, json!({}), trigger).await.expect("run");
    assert_eq!(r.record.status, RunStatus::Failed, "{:?}", r.record);
    assert_eq!(
        r.record.output,
        json!({"joined": "[redacted]", "concat": "[redacted]"})
    );
    assert_eq!(
        r.record.error.as_deref(),
        Some("block \"Fail\" failed: bad token [redacted]")
    );
    // The halves did reach the block: the scrubbing is of the whole only.
    let split = r
        .steps
        .iter()
        .find(|s| s.block_id == "Split")
        .expect("step");
    let body = &split.output.as_ref().expect("output")["body"];
    assert_eq!(
        format!(
            "{}{}",
            body["a"].as_str().unwrap_or(""),
            body["b"].as_str().unwrap_or("")
        ),
        secret,
        "{body}"
    );

    // What the history holds, read back.
    let stored = weft
        .store()
        .get_run(&r.record.id)
        .expect("read")
        .expect("run");
    let steps = weft.store().steps(&r.record.id).expect("steps");
    let mut text = serde_json::to_string(&stored).expect("json");
    strings(&serde_json::to_value(&stored).expect("json"), &mut text);
    for s in &steps {
        let v = serde_json::to_value(s).expect("json");
        text.push_str(&v.to_string());
        strings(&v, &mut text);
    }
    assert_eq!(steps.len(), 5, "{text}");
    for n in needles(secret) {
        assert!(!text.contains(&n), "{n:?} in the history: {text}");
    }
}
