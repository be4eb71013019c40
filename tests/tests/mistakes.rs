//! No silent mistakes, through the real engine: a block that failed under
//! `on_error: warning` / `ignore` leaves its error (kind, message, HTTP
//! status, attempts) for later blocks; `empty` / `not empty` on a missing
//! value are true / false while other operators keep failing; enum and
//! `oneOf` validation errors list the valid values.

use serde_json::{Value, json};
use weft_host::{FailureKind, RunStatus, StepStatus};
use weft_tests::FakeApi;
use weft_tests::engine::{doc, run, weft_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_blocks_error_is_readable_after_warning_or_ignore() {
    let api = FakeApi::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[api.base()]).await;
    for (policy, status) in [
        ("warning", RunStatus::FinishedWithWarnings),
        ("ignore", RunStatus::Finished),
    ] {
        let d = doc(
            json!([
                {"id": "Start", "type": "start"},
                {"id": "Get", "type": "connector", "connector": "http", "block": "request",
                 "inputs": {"url": api.url("/status/404")}, "on_error": policy},
                {"id": "Boom", "type": "connector", "connector": "echo", "block": "fail",
                 "inputs": {"kind": "transient"}, "on_error": policy,
                 "retry": {"max_attempts": 2, "backoff_ms": 1}},
                {"id": "Bad", "type": "variable", "variable": "v", "action": "increment",
                 "value": "ten", "on_error": policy},
                {"id": "Out", "type": "output", "mode": "set", "value": {
                    "get": "{$.Get.error}",
                    "boom": "{$.Boom.error.kind}/{$.Boom.error.attempts}/{$.Boom.error.message}",
                    "bad": "{$.Bad.error}"
                }}
            ]),
            json!([
                {"from": "Start", "to": "Get"},
                {"from": "Get", "to": "Boom"},
                {"from": "Boom", "to": "Bad"},
                {"from": "Bad", "to": "Out"}
            ]),
            json!({"v": 0}),
        );
        let r = run(&weft, d, json!({})).await;
        assert_eq!(r.record.status, status, "{policy}");
        let out = &r.record.output;
        assert_eq!(out["get"]["kind"], json!("not-found"), "{out}");
        assert_eq!(out["get"]["status"], json!(404), "{out}");
        assert_eq!(out["get"]["attempts"], json!(1), "{out}");
        let get_step = r.steps.iter().find(|s| s.block_id == "Get").expect("step");
        assert_eq!(
            Some(out["get"]["message"].clone()),
            get_step.error.clone().map(Value::String)
        );
        assert_eq!(
            get_step.failure.map(|f| (f.kind, f.status)),
            Some((FailureKind::NotFound, Some(404)))
        );
        let boom_step = r.steps.iter().find(|s| s.block_id == "Boom").expect("step");
        let boom_error = boom_step.error.clone().unwrap_or_default();
        assert!(boom_error.ends_with("(after 2 attempts)"), "{boom_error}");
        assert_eq!(out["boom"], json!(format!("transient/2/{boom_error}")));
        assert_eq!(
            out["bad"],
            json!({
                "kind": "block",
                "message": "value: increment by text is not a number",
                "status": null,
                "attempts": 1
            })
        );
        let expected = if policy == "warning" {
            StepStatus::Warning
        } else {
            StepStatus::Ignored
        };
        assert_eq!(get_step.status, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_on_a_missing_value_is_true_other_operators_still_fail() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let d = |op: &str| {
        doc(
            json!([
                {"id": "Start", "type": "start"},
                {"id": "If", "type": "condition", "condition": {"clauses": [
                    {"left": "{$.Start.customer.email}", "op": op, "right": "x"}
                ]}},
                {"id": "Yes", "type": "output", "mode": "set", "value": "yes"},
                {"id": "No", "type": "output", "mode": "set", "value": "no"}
            ]),
            json!([
                {"from": "Start", "to": "If"},
                {"from": "If", "to": "Yes", "branch": "true"},
                {"from": "If", "to": "No", "branch": "false"}
            ]),
            json!({}),
        )
    };
    for (input, op, want) in [
        (json!({}), "empty", "yes"),
        (json!({}), "not empty", "no"),
        (json!({"customer": {"email": ""}}), "empty", "yes"),
        (json!({"customer": {"email": "a@b"}}), "empty", "no"),
        (json!({"customer": {"email": "a@b"}}), "not empty", "yes"),
        (json!({"customer": "text"}), "not empty", "no"),
    ] {
        let r = run(&weft, d(op), input.clone()).await;
        assert_eq!(r.record.status, RunStatus::Finished, "{input} {op}");
        assert_eq!(r.record.output, json!(want), "{input} {op}");
    }
    let r = run(&weft, d("="), json!({})).await;
    assert_eq!(r.record.status, RunStatus::Failed);
    assert_eq!(
        r.record.error.as_deref(),
        Some(
            "block \"If\" failed: condition.clauses[0].left: {$.Start.customer.email}: no value at path \"customer.email\""
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_of_and_enum_errors_list_the_valid_values() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Sum", "type": "connector", "connector": "math", "block": "calculate",
             "inputs": {"operation": "plus", "a": 1, "b": 2}}
        ]),
        json!([{"from": "Start", "to": "Sum"}]),
        json!({}),
    );
    let got = weft.validate(&d).err().map(|e| {
        e.0.into_iter()
            .map(|p| (p.block, p.field, p.message))
            .collect::<Vec<_>>()
    });
    assert_eq!(
        got.expect("validation errors"),
        [(
            Some("Sum".to_string()),
            "inputs.operation".to_string(),
            "\"plus\" is not one of the valid values: \"add\", \"subtract\", \"multiply\", \"divide\", \"modulo\", \"power\"".to_string()
        )]
    );
}
