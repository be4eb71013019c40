//! No silent mistakes, through the real engine: a block that failed under
//! `on_error: warning` / `ignore` leaves its error (kind, message, HTTP
//! status, attempts) for later blocks; `empty` / `not empty` on a missing
//! value are true / false while other operators keep failing; enum and
//! `oneOf` validation errors list the valid values; a reference to a field
//! a block's output schema rules out is a validation error (one it leaves
//! open, a warning); object member names can be templates, except a
//! block's own input names, which the validator refuses.

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

fn problems(
    e: weft_host::automation::plan::ValidationErrors,
) -> Vec<(Option<String>, String, String)> {
    e.0.into_iter()
        .map(|p| (p.block, p.field, p.message))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelt_output_field_is_a_validation_error_naming_the_valid_ones() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let with_output = |value: Value| {
        doc(
            json!([
                {"id": "Start", "type": "start"},
                {"id": "Sum", "type": "connector", "connector": "math", "block": "calculate",
                 "inputs": {"operation": "add", "a": 1, "b": 2}, "on_error": "warning"},
                {"id": "Groups", "type": "connector", "connector": "lists", "block": "group",
                 "inputs": {"list": [], "key": "k"}},
                {"id": "Out", "type": "output", "mode": "set", "value": value}
            ]),
            json!([{"from": "Start", "to": "Sum"}, {"from": "Sum", "to": "Groups"},
                   {"from": "Groups", "to": "Out"}]),
            json!({}),
        )
    };
    let got = weft
        .validate(&with_output(json!({"total": "{$.Sum.reslt}"})))
        .err()
        .map(problems);
    assert_eq!(
        got.expect("validation errors"),
        [(
            Some("Out".to_string()),
            "value".to_string(),
            "{$.Sum.reslt}: the output of \"Sum\" (math/calculate) has no field \"reslt\" (it has: result)".to_string()
        )]
    );
    // Declared fields, the failed block's error, and what a group holds
    // (any names: a map) all pass, with no warnings.
    let plan = weft
        .validate(&with_output(json!({
            "total": "{$.Sum.result}", "why": "{$.Sum.error.message}",
            "first": "{$.Groups.groups[0].anything}", "n": "{$.Groups.count}"
        })))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    let got = weft
        .validate(&with_output(json!(
            "{$.Groups.groups[0].key.x} {$.Groups.cuont}"
        )))
        .err()
        .map(problems);
    assert_eq!(
        got.expect("validation errors"),
        [(
            Some("Out".to_string()),
            "value".to_string(),
            "{$.Groups.cuont}: the output of \"Groups\" (lists/group) has no field \"cuont\" (it has: count, groups)".to_string()
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_an_open_output_schema_does_not_list_is_a_warning() {
    // echo is built without the SDK: its output schema lists `value` and
    // `step_id` but does not rule out others.
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Echo", "type": "connector", "connector": "echo", "block": "echo",
             "inputs": {"value": {"a": 1}}},
            {"id": "Out", "type": "output", "mode": "set",
             "value": {"a": "{$.Echo.value.a}", "maybe": "{$.Echo.extra}"}}
        ]),
        json!([{"from": "Start", "to": "Echo"}, {"from": "Echo", "to": "Out"}]),
        json!({}),
    );
    let plan = weft.validate(&d).unwrap_or_else(|e| panic!("{e}"));
    let warnings: Vec<String> = plan.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("Out")
            && warnings[0].contains("{$.Echo.extra}")
            && warnings[0].contains("(it has: step_id, value)")
            && warnings[0].contains("checked only at run time"),
        "{warnings:?}"
    );
    // At run time the missing field fails as before, naming the path.
    let r = run(&weft, d, json!({})).await;
    assert_eq!(r.record.status, RunStatus::Failed);
    assert!(
        r.record
            .error
            .as_deref()
            .is_some_and(|e| e.contains("extra")),
        "{:?}",
        r.record.error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_names_can_be_templates_but_not_a_blocks_input_names() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Each", "type": "loop", "over": "{$.Start.sales}"},
            {"id": "ByCategory", "type": "variable", "variable": "totals", "action": "merge",
             "value": {"{item.category}": "{item.net}"}},
            {"id": "Out", "type": "output", "mode": "set",
             "value": {"totals": "{$.totals}", "{$.Start.label}-count": "{$.Each.count}", "fixed": 1}}
        ]),
        json!([{"from": "Start", "to": "Each"}, {"from": "Each", "to": "ByCategory", "branch": "body"},
               {"from": "Each", "to": "Out"}]),
        json!({"totals": {}}),
    );
    let sales = json!([{"category": "books", "net": 5}, {"category": 7, "net": 1},
                       {"category": "books", "net": 6}]);
    let r = run(&weft, d.clone(), json!({"sales": sales, "label": "sales"})).await;
    assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
    assert_eq!(
        r.record.output,
        json!({"totals": {"books": 6, "7": 1}, "sales-count": 3, "fixed": 1})
    );
    // Member order is the template's.
    let keys: Vec<&String> = r
        .record
        .output
        .as_object()
        .expect("object")
        .keys()
        .collect();
    assert_eq!(keys, ["totals", "sales-count", "fixed"]);

    // A name that is not text fails the block, naming the member.
    let r = run(
        &weft,
        d,
        json!({"sales": [{"category": null, "net": 1}], "label": "x"}),
    )
    .await;
    assert_eq!(r.record.status, RunStatus::Failed);
    let error = r.record.error.unwrap_or_default();
    assert!(
        error.contains("ByCategory") && error.contains("\"{item.category}\" is null"),
        "{error}"
    );

    // A connector block's own input names are fixed; inside an input's
    // value names may be computed.
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Pick", "type": "connector", "connector": "json", "block": "pick",
             "inputs": {"{$.Start.field}": 1}},
            {"id": "Shape", "type": "connector", "connector": "lists", "block": "transform",
             "inputs": {"list": [{"a": 1}], "set": {"{$.Start.field}": true}}}
        ]),
        json!([{"from": "Start", "to": "Pick"}, {"from": "Pick", "to": "Shape"}]),
        json!({}),
    );
    let got = weft.validate(&d).err().map(problems).expect("errors");
    assert!(
        got.iter().any(|(b, f, m)| b.as_deref() == Some("Pick")
            && f == "inputs.{$.Start.field}"
            && m.contains("an input's name cannot be a template")),
        "{got:?}"
    );
    assert!(
        !got.iter().any(|(b, _, _)| b.as_deref() == Some("Shape")),
        "{got:?}"
    );
}
