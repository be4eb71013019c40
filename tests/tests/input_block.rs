//! The `input` block through the real engine: a queued run pauses at the
//! block (status `paused`, the form readable from its record, durable in
//! sled across an engine restart), a submission is checked against the
//! form's schema, and the run goes on from the block with the values —
//! the blocks before it taken over from the history, not run again. The
//! timeout fails the block (so `on_error` applies) or goes on with
//! `timeout_values`. The approval example (`examples/input-approval.json`)
//! runs here with exact outputs.

use serde_json::{Value, json};
use weft_host::input_form::InputError;
use weft_host::store::InputAnswer;
use weft_host::{CancellationToken, RunRecord, RunResult, RunStatus, StepStatus, Trigger, Weft};
use weft_tests::engine::{doc, weft_with};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");

fn example(file: &str) -> Value {
    let path = format!("{EXAMPLES}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// Walk `record` as a server's queue does (resumable), to its end or
/// its next pause.
async fn walk(weft: &Weft, document: &Value, record: RunRecord) -> RunResult {
    let plan = weft.validate(document).unwrap_or_else(|e| panic!("{e}"));
    weft.run_record(&plan, record, CancellationToken::new())
        .await
        .expect("run")
}

/// A new queued run of `document` with `input`.
fn queued(weft: &Weft, document: &Value, input: Value) -> RunRecord {
    let plan = weft.validate(document).unwrap_or_else(|e| panic!("{e}"));
    weft_host::new_record(&plan, input, Trigger::custom("test"))
}

fn blocks(weft: &Weft, run_id: &str) -> Vec<(String, StepStatus)> {
    weft.store()
        .steps(run_id)
        .expect("steps")
        .into_iter()
        .map(|s| (s.block_id, s.status))
        .collect()
}

fn ids(steps: &[(String, StepStatus)]) -> Vec<&str> {
    steps.iter().map(|(id, _)| id.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_approval_example_pauses_survives_a_restart_checks_the_form_and_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let approval = example("input-approval.json");
    let weft = weft_with(dir.path(), &[]).await;
    let paused = walk(&weft, &approval, queued(&weft, &approval, json!({}))).await;
    let run_id = paused.record.id.clone();
    assert_eq!(
        paused.record.status,
        RunStatus::Paused,
        "{:?}",
        paused.record.error
    );
    assert!(!paused.record.status.is_final());
    assert_eq!(paused.record.finished_at, None);
    let waiting = paused
        .record
        .waiting_for
        .clone()
        .expect("waiting for a form");
    assert_eq!(waiting.block, "Approve");
    assert_eq!(waiting.seq, 1);
    assert_eq!(waiting.schema, approval["blocks"][1]["schema"]);
    assert_eq!(waiting.title.as_deref(), Some("Approve the expense"));
    assert_eq!(
        waiting.message.as_deref(),
        Some("Approve or reject it, with a comment for the requester.")
    );
    assert_eq!(waiting.expires_at - waiting.since, 259_200_000);
    assert_eq!(waiting.answer, None);
    assert_eq!(ids(&blocks(&weft, &run_id)), ["Start"]);

    // The engine stops; the paused run is still paused in the history.
    drop(weft);
    let weft = weft_with(dir.path(), &[]).await;
    let stored = weft.store().get_run(&run_id).expect("read").expect("run");
    assert_eq!(stored.status, RunStatus::Paused);
    assert_eq!(stored.waiting_for.as_ref().map(|w| w.seq), Some(1));

    // Values that do not fit the form: every problem, naming its field.
    let now = waiting.since + 1000;
    let refused = weft.submit_input(&run_id, json!({"approved": "yes"}), Some("alice"), now);
    let Err(InputError::Invalid(errors)) = refused else {
        panic!("expected the values to be refused: {refused:?}");
    };
    let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["approved", "comment"], "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| e.field == "comment" && e.message.contains("required")),
        "{errors:?}"
    );
    let still = weft.store().get_run(&run_id).expect("read").expect("run");
    assert_eq!(
        still.status,
        RunStatus::Paused,
        "a refused form changes nothing"
    );

    let queued_again = weft
        .submit_input(
            &run_id,
            json!({"approved": true, "comment": "within budget"}),
            Some("alice"),
            now,
        )
        .expect("accepted");
    assert_eq!(queued_again.status, RunStatus::Queued);
    // Answered once: a second submission finds nothing waiting.
    let again = weft.submit_input(
        &run_id,
        json!({"approved": false, "comment": "no"}),
        None,
        now,
    );
    assert!(
        matches!(
            again,
            Err(InputError::NotPaused {
                status: RunStatus::Queued,
                ..
            })
        ),
        "{again:?}"
    );

    let done = walk(&weft, &approval, queued_again).await;
    assert_eq!(
        done.record.status,
        RunStatus::Finished,
        "{:?}",
        done.record.error
    );
    assert_eq!(
        done.record.output,
        json!({"decision": "approved", "comment": "within budget", "by": "alice"})
    );
    assert_eq!(done.record.waiting_for, None);
    assert_eq!(
        done.record.resumed, None,
        "answered, not resumed after a stop"
    );
    // Start was taken over from the history, not recorded twice.
    let steps = weft.store().steps(&run_id).expect("steps");
    let order: Vec<&str> = steps.iter().map(|s| s.block_id.as_str()).collect();
    assert_eq!(order, ["Start", "Approve", "Decision", "Approved"]);
    let seqs: Vec<u64> = steps.iter().map(|s| s.seq).collect();
    assert_eq!(seqs, [0, 1, 2, 3]);
    assert_eq!(
        steps[1].output,
        Some(json!({
            "values": {"approved": true, "comment": "within budget"},
            "submitted_by": "alice",
            "submitted_at": now,
            "timed_out": false,
        }))
    );

    // The other answer takes the other branch.
    let paused = walk(&weft, &approval, queued(&weft, &approval, json!({}))).await;
    let record = weft
        .submit_input(
            &paused.record.id,
            json!({"approved": false, "comment": "over budget"}),
            Some("bob"),
            crate_now(),
        )
        .expect("accepted");
    let done = walk(&weft, &approval, record).await;
    assert_eq!(
        done.record.output,
        json!({"decision": "rejected", "comment": "over budget", "by": "bob"})
    );
}

fn crate_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn ask(extra: Value) -> Value {
    let mut block = json!({
        "id": "Ask", "type": "input", "timeout_ms": 60_000,
        "schema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    });
    if let (Some(b), Some(e)) = (block.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    doc(
        json!([
            {"id": "Start", "type": "start"},
            block,
            {"id": "Out", "type": "output", "mode": "set",
             "value": {"ask": "{$.Ask}"}}
        ]),
        json!([{"from": "Start", "to": "Ask"}, {"from": "Ask", "to": "Out"}]),
        json!({}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_fails_the_block_or_goes_on_with_the_timeout_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let weft = weft_with(dir.path(), &[]).await;

    // No timeout_values, on_error stop: the run fails at the block.
    let document = ask(json!({}));
    let paused = walk(&weft, &document, queued(&weft, &document, json!({}))).await;
    let expires_at = paused.record.waiting_for.as_ref().expect("form").expires_at;
    assert_eq!(
        weft.time_out_input(&paused.record.id, expires_at - 1)
            .expect("store")
            .map(|r| r.id),
        None,
        "not due yet"
    );
    let timed_out = weft
        .time_out_input(&paused.record.id, expires_at)
        .expect("store")
        .expect("due");
    assert_eq!(timed_out.status, RunStatus::Queued);
    assert!(matches!(
        timed_out.waiting_for.as_ref().and_then(|w| w.answer.clone()),
        Some(InputAnswer::TimedOut { at }) if at == expires_at
    ));
    let failed = walk(&weft, &document, timed_out).await;
    assert_eq!(failed.record.status, RunStatus::Failed);
    assert_eq!(
        failed.record.error.as_deref(),
        Some("block \"Ask\" failed: no form was submitted within 60000 ms (timeout_ms)")
    );
    assert_eq!(
        blocks(&weft, &failed.record.id),
        [
            ("Start".to_string(), StepStatus::Succeeded),
            ("Ask".to_string(), StepStatus::Failed)
        ]
    );

    // on_error warning: the run goes on and reads what went wrong.
    let document = ask(json!({"on_error": "warning"}));
    let paused = walk(&weft, &document, queued(&weft, &document, json!({}))).await;
    let expires_at = paused.record.waiting_for.as_ref().expect("form").expires_at;
    let record = weft
        .time_out_input(&paused.record.id, expires_at + 5)
        .expect("store")
        .expect("due");
    let warned = walk(&weft, &document, record).await;
    assert_eq!(warned.record.status, RunStatus::FinishedWithWarnings);
    assert_eq!(
        warned.record.output["ask"]["error"]["message"],
        "no form was submitted within 60000 ms (timeout_ms)"
    );

    // timeout_values: the block succeeds with them, saying it timed out.
    let document = ask(json!({"timeout_values": {"n": 0}}));
    let paused = walk(&weft, &document, queued(&weft, &document, json!({}))).await;
    let expires_at = paused.record.waiting_for.as_ref().expect("form").expires_at;
    // A submission after the deadline is refused and applies the timeout.
    let late = weft.submit_input(
        &paused.record.id,
        json!({"n": 5}),
        Some("alice"),
        expires_at,
    );
    let Err(InputError::Expired(record)) = late else {
        panic!("expected the late form to be refused: {late:?}");
    };
    assert_eq!(record.status, RunStatus::Queued);
    let went_on = walk(&weft, &document, *record).await;
    assert_eq!(
        went_on.record.status,
        RunStatus::Finished,
        "{:?}",
        went_on.record.error
    );
    assert_eq!(
        went_on.record.output,
        json!({"ask": {"values": {"n": 0}, "submitted_by": null, "submitted_at": null, "timed_out": true}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_input_block_in_a_loop_pauses_once_per_iteration_and_nothing_runs_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let weft = weft_with(dir.path(), &[]).await;
    let document = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Each", "type": "loop", "over": ["a", "b"]},
            {"id": "Ask", "type": "input", "title": "Quantity of {item}",
             "schema": {"type": "object", "properties": {"qty": {"type": "integer", "minimum": 1}}, "required": ["qty"]}},
            {"id": "Add", "type": "variable", "variable": "total", "action": "increment",
             "value": "{$.Ask.values.qty}"},
            {"id": "Out", "type": "output", "mode": "set", "value": {"total": "{$.total}"}}
        ]),
        json!([
            {"from": "Start", "to": "Each"},
            {"from": "Each", "to": "Ask", "branch": "body"},
            {"from": "Ask", "to": "Add"},
            {"from": "Each", "to": "Out"}
        ]),
        json!({"total": 0}),
    );
    let first = walk(&weft, &document, queued(&weft, &document, json!({}))).await;
    let waiting = first.record.waiting_for.clone().expect("first form");
    assert_eq!(
        (waiting.iteration.clone(), waiting.title.as_deref()),
        (vec![0], Some("Quantity of a"))
    );
    let bad = weft.submit_input(&first.record.id, json!({"qty": 0}), None, waiting.since);
    assert!(
        matches!(&bad, Err(InputError::Invalid(e)) if e.len() == 1 && e[0].field == "qty"),
        "{bad:?}"
    );
    let record = weft
        .submit_input(&first.record.id, json!({"qty": 2}), None, waiting.since)
        .expect("first answer");
    let second = walk(&weft, &document, record).await;
    assert_eq!(second.record.status, RunStatus::Paused);
    let waiting = second.record.waiting_for.clone().expect("second form");
    assert_eq!(
        (
            waiting.iteration.clone(),
            waiting.title.as_deref(),
            waiting.seq
        ),
        (vec![1], Some("Quantity of b"), 4)
    );
    let record = weft
        .submit_input(&first.record.id, json!({"qty": 3}), None, waiting.since)
        .expect("second answer");
    let done = walk(&weft, &document, record).await;
    assert_eq!(
        done.record.status,
        RunStatus::Finished,
        "{:?}",
        done.record.error
    );
    assert_eq!(done.record.output, json!({"total": 5}));
    assert_eq!(
        ids(&blocks(&weft, &done.record.id)),
        ["Start", "Each", "Ask", "Add", "Ask", "Add", "Out"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_cannot_pause_fails_at_the_input_block_and_forms_are_checked_at_validation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let weft = weft_with(dir.path(), &[]).await;
    let document = ask(json!({}));
    let plan = weft.validate(&document).expect("valid");
    let once = weft
        .run(&plan, json!({}), Trigger::custom("test"))
        .await
        .expect("run");
    assert_eq!(once.record.status, RunStatus::Failed);
    let error = once.record.error.unwrap_or_default();
    assert!(
        error.contains("block \"Ask\" is an input block")
            && error.contains("this run cannot pause"),
        "{error}"
    );

    let invalid = weft
        .validate(&ask(json!({
            "schema": {"type": 5},
            "timeout_ms": 2_592_000_001u64,
            "title": 7,
        })))
        .expect_err("invalid");
    let mut found: Vec<(String, String)> = invalid
        .0
        .iter()
        .map(|e| (e.field.clone(), e.message.clone()))
        .collect();
    found.sort();
    let fields: Vec<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, ["schema", "timeout_ms", "title"], "{found:?}");
    assert!(
        found[0].1.starts_with("is not a valid JSON Schema"),
        "{found:?}"
    );
    assert!(found[1].1.contains("2592000000 ms (30 days)"), "{found:?}");

    let invalid = weft
        .validate(&ask(json!({"timeout_values": {"n": "many"}})))
        .expect_err("invalid");
    assert_eq!(invalid.0.len(), 1, "{invalid}");
    assert_eq!(invalid.0[0].field, "timeout_values.n");
    assert_eq!(invalid.0[0].block.as_deref(), Some("Ask"));
}
