//! The blocks that steer a walk, through the real engine: `case`, the
//! loop kinds (`loop-range`, `loop-while`, `loop-batch`), `exit-loop`
//! naming the loop it leaves, the `update-run-title` block, validation
//! errors for each (naming block and field), and runs resumed in the
//! middle of the new loop kinds.

use serde_json::{Value, json};
use weft_host::{RunStatus, Trigger, Weft};
use weft_tests::engine::{doc, run, weft_with};

/// The validation errors of `document`, as `(block, field, message)`.
fn problems(weft: &Weft, document: &Value) -> Vec<(Option<String>, String, String)> {
    match weft.validate(document) {
        Ok(_) => panic!("expected validation errors"),
        Err(e) => {
            e.0.into_iter()
                .map(|p| (p.block, p.field, p.message))
                .collect()
        }
    }
}

/// A router: orders go to a branch by status; `paid` and `settled` share
/// one, a number matches numeric text, anything else is the default.
fn router() -> Value {
    doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Route", "type": "case", "value": "{$.Start.status}", "cases": [
                {"name": "done", "match": ["paid", "settled"]},
                {"name": "open", "match": "open"},
                {"name": "code", "match": 7}
            ]},
            {"id": "Done", "type": "output", "mode": "set", "value": "ship it"},
            {"id": "Open", "type": "output", "mode": "set", "value": "remind"},
            {"id": "Code", "type": "output", "mode": "set", "value": "seven"},
            {"id": "Other", "type": "output", "mode": "set", "value": "ask: {$.Route.case}"}
        ]),
        json!([
            {"from": "Start", "to": "Route"},
            {"from": "Route", "to": "Done", "branch": "case", "case": "done"},
            {"from": "Route", "to": "Open", "branch": "case", "case": "open"},
            {"from": "Route", "to": "Code", "branch": "case", "case": "code"},
            {"from": "Route", "to": "Other", "branch": "default"}
        ]),
        json!({}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_runs_the_first_matching_branch_or_the_default() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    for (status, want, case) in [
        (json!("settled"), json!("ship it"), "done"),
        (json!("paid"), json!("ship it"), "done"),
        (json!("open"), json!("remind"), "open"),
        (json!("7"), json!("seven"), "code"),
        (json!("lost"), json!("ask: default"), "default"),
        (Value::Null, json!("ask: default"), "default"),
    ] {
        let r = run(&weft, router(), json!({"status": status})).await;
        assert_eq!(r.record.status, RunStatus::Finished, "{status}");
        assert_eq!(r.record.output, want, "{status}");
        let step = r
            .steps
            .iter()
            .find(|s| s.block_id == "Route")
            .expect("case step");
        assert_eq!(step.output, Some(json!({"case": case})), "{status}");
        assert_eq!(step.input, Some(json!({"value": status})));
        assert_eq!(step.block_type, "case");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_values_can_be_templates_and_lists_from_data() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Tier", "type": "case", "value": "{$.Start.customer}", "cases": [
                {"name": "vip", "match": "{$.Start.vips}"},
                {"name": "me", "match": ["{$.Start.owner}"]}
            ]},
            {"id": "Vip", "type": "output", "mode": "add", "value": "vip"},
            {"id": "Me", "type": "output", "mode": "add", "value": "me"},
            {"id": "Next", "type": "output", "mode": "add", "value": "next"}
        ]),
        json!([
            {"from": "Start", "to": "Tier"},
            {"from": "Tier", "to": "Vip", "branch": "case", "case": "vip"},
            {"from": "Tier", "to": "Me", "branch": "case", "case": "me"},
            {"from": "Tier", "to": "Next"}
        ]),
        json!({}),
    );
    let input = |c: &str| json!({"customer": c, "vips": ["ann", "bo"], "owner": "cy"});
    let r = run(&weft, d.clone(), input("bo")).await;
    assert_eq!(r.record.output, json!(["vip", "next"]));
    assert_eq!(
        r.steps
            .iter()
            .map(|s| s.block_id.as_str())
            .collect::<Vec<_>>(),
        ["Start", "Tier", "Vip", "Next"]
    );
    let r = run(&weft, d.clone(), input("cy")).await;
    assert_eq!(r.record.output, json!(["me", "next"]));
    assert_eq!(
        r.steps
            .iter()
            .map(|s| s.block_id.as_str())
            .collect::<Vec<_>>(),
        ["Start", "Tier", "Me", "Next"]
    );
    // No default edge: nothing runs in between.
    let r = run(&weft, d, input("zed")).await;
    assert_eq!(r.record.output, json!(["next"]));
    assert_eq!(
        r.steps
            .iter()
            .map(|s| s.block_id.as_str())
            .collect::<Vec<_>>(),
        ["Start", "Tier", "Next"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_mistakes_are_validation_errors_naming_block_and_field() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Route", "type": "case", "value": "{$.Start.s}", "cases": [
                {"name": "a", "match": ["x", 5]},
                {"name": "b", "match": "5"},
                {"name": "default", "match": "z"},
                {"name": "c", "match": []}
            ]},
            {"id": "A", "type": "stop"},
            {"id": "B", "type": "stop"},
            {"id": "C", "type": "stop"},
            {"id": "D", "type": "stop"}
        ]),
        json!([
            {"from": "Start", "to": "Route"},
            {"from": "Route", "to": "A", "branch": "case", "case": "nope"},
            {"from": "Route", "to": "B", "branch": "case"},
            {"from": "Start", "to": "C", "branch": "true"},
            {"from": "Route", "to": "D", "case": "a"}
        ]),
        json!({}),
    );
    let got = problems(&weft, &d);
    let has = |block: &str, field: &str, text: &str| {
        got.iter()
            .any(|(b, f, m)| b.as_deref() == Some(block) && f == field && m.contains(text))
    };
    assert!(
        has(
            "Route",
            "edges[1].case",
            "the case block has no case named \"nope\" (its cases: a, b, default, c)"
        ),
        "{got:?}"
    );
    assert!(
        has("Route", "edges[2].case", "a case edge names its case"),
        "{got:?}"
    );
    assert!(has("Route", "edges[4].case", "only a case edge"), "{got:?}");
    assert!(
        has(
            "Route",
            "cases[1].match",
            "\"5\" is already matched by case \"a\", which comes first"
        ),
        "{got:?}"
    );
    assert!(
        has("Route", "cases[2].name", "\"default\" names the branch"),
        "{got:?}"
    );
    assert!(
        has("Route", "cases[3].match", "an empty list matches nothing"),
        "{got:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_loops_count_up_and_down_inclusively() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let d = |from: Value, to: Value, step: Value| {
        let mut range = json!({"id": "Count", "type": "loop-range", "from": from, "to": to});
        if !step.is_null() {
            range["step"] = step;
        }
        doc(
            json!([
                {"id": "Start", "type": "start"},
                range,
                {"id": "Add", "type": "output", "mode": "add", "value": "{item}@{$.Count.index}"},
                {"id": "After", "type": "variable", "variable": "last", "action": "set", "value": "{$.Count}"}
            ]),
            json!([
                {"from": "Start", "to": "Count"},
                {"from": "Count", "to": "Add", "branch": "body"},
                {"from": "Count", "to": "After"}
            ]),
            json!({"last": null}),
        )
    };
    let r = run(&weft, d(json!(1), json!(10), json!(3)), json!({})).await;
    assert_eq!(r.record.output, json!(["1@0", "4@1", "7@2", "10@3"]));
    let count = r
        .steps
        .iter()
        .find(|s| s.block_id == "Count")
        .expect("step");
    assert_eq!(count.output, Some(json!({"count": 4})));
    assert_eq!(count.input, Some(json!({"from": 1, "to": 10, "step": 3})));
    let after = r
        .steps
        .iter()
        .find(|s| s.block_id == "After")
        .expect("step");
    assert_eq!(
        after.output,
        Some(json!({"item": 10, "index": 3, "count": 4})),
        "$.Count keeps the last iteration"
    );
    let iterations: Vec<Vec<usize>> = r
        .steps
        .iter()
        .filter(|s| s.block_id == "Add")
        .map(|s| s.iteration.clone())
        .collect();
    assert_eq!(iterations, [[0], [1], [2], [3]]);

    let r = run(&weft, d(json!(5), json!(0), json!(-2)), json!({})).await;
    assert_eq!(r.record.output, json!(["5@0", "3@1", "1@2"]));

    // Templated bounds that give no numbers run the body never.
    let r = run(
        &weft,
        d(json!("{$.Start.from}"), json!("{$.Start.to}"), Value::Null),
        json!({"from": 3, "to": "2"}),
    )
    .await;
    assert_eq!(r.record.status, RunStatus::Finished);
    assert_eq!(r.record.output, Value::Null);
    let after = r
        .steps
        .iter()
        .find(|s| s.block_id == "After")
        .expect("step");
    assert_eq!(after.output, Some(json!({"count": 0})));

    // A templated step of 0 fails the block, naming the field.
    let r = run(
        &weft,
        d(json!(1), json!(3), json!("{$.Start.step}")),
        json!({"step": 0}),
    )
    .await;
    assert_eq!(r.record.status, RunStatus::Failed);
    assert_eq!(
        r.record.error.as_deref(),
        Some("block \"Count\" failed: step: must not be 0 (the loop would never end)")
    );
    let r = run(
        &weft,
        d(json!(1), json!("{$.Start.to}"), Value::Null),
        json!({"to": 2.5}),
    )
    .await;
    assert_eq!(
        r.record.error.as_deref(),
        Some("block \"Count\" failed: to: expected a whole number, got 2.5")
    );

    // Literal mistakes are validation errors.
    let got = problems(&weft, &d(json!(1), json!(10), json!(-1)));
    assert_eq!(
        got,
        [(
            Some("Count".to_string()),
            "step".to_string(),
            "from 1 to 10 with step -1 never runs; count up with a positive step".to_string()
        )]
    );
    let got = problems(&weft, &d(json!(1.5), json!(10), json!(0)));
    assert_eq!(
        got,
        [
            (
                Some("Count".to_string()),
                "from".to_string(),
                "must be a whole number, not 1.5".to_string()
            ),
            (
                Some("Count".to_string()),
                "step".to_string(),
                "must not be 0 (the loop would never end)".to_string()
            )
        ]
    );
}

/// Poll-style: increment a counter while it is below a limit.
fn counter(mode: &str, clause: Value, max: Option<u64>) -> Value {
    let mut l = json!({"id": "Poll", "type": "loop-while", "mode": mode, "condition": {"clauses": [clause]}});
    if let Some(max) = max {
        l["max_iterations"] = json!(max);
    }
    doc(
        json!([
            {"id": "Start", "type": "start"},
            l,
            {"id": "Inc", "type": "variable", "variable": "n", "action": "increment"},
            {"id": "Seen", "type": "output", "mode": "add", "value": "{$.Poll.index}:{$.n}"}
        ]),
        json!([
            {"from": "Start", "to": "Poll"},
            {"from": "Poll", "to": "Inc", "branch": "body"},
            {"from": "Inc", "to": "Seen"}
        ]),
        json!({"n": 0}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_and_until_loops_run_until_their_condition_and_stop_at_the_cap() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let below = |limit: Value| json!({"left": "{$.n}", "op": "<", "right": limit});

    let r = run(
        &weft,
        counter("while", below(json!(3)), Some(10)),
        json!({}),
    )
    .await;
    assert_eq!(r.record.status, RunStatus::Finished);
    assert_eq!(r.record.output, json!(["0:1", "1:2", "2:3"]));
    let poll = r.steps.iter().find(|s| s.block_id == "Poll").expect("step");
    assert_eq!(poll.output, Some(json!({"max_iterations": 10})));

    // `while` may run the body never; `until` runs it at least once.
    let r = run(
        &weft,
        counter("while", below(json!(0)), Some(10)),
        json!({}),
    )
    .await;
    assert_eq!(r.record.output, Value::Null);
    let until_done = json!({"left": "{$.n}", "op": ">=", "right": 0});
    let r = run(&weft, counter("until", until_done, Some(10)), json!({})).await;
    assert_eq!(r.record.output, json!(["0:1"]));

    // The loop's own index in its condition: until the third iteration.
    let third = json!({"left": "{$.Poll.index}", "op": ">=", "right": 2});
    let r = run(&weft, counter("until", third, Some(10)), json!({})).await;
    assert_eq!(r.record.output, json!(["0:1", "1:2", "2:3"]));

    // Still going at the cap: the run fails, saying which cap.
    let r = run(
        &weft,
        counter("while", below(json!(100)), Some(4)),
        json!({}),
    )
    .await;
    assert_eq!(r.record.status, RunStatus::Failed);
    assert_eq!(
        r.record.error.as_deref(),
        Some(
            "block \"Poll\" failed: the loop ran max_iterations (4) times and its condition still holds; raise max_iterations or check the condition"
        )
    );
    assert_eq!(r.record.output, json!(["0:1", "1:2", "2:3", "3:4"]));

    // No cap, a zero cap, and `{item}` in a loop that has none.
    let got = problems(&weft, &counter("while", below(json!(3)), None));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0.as_deref(), Some("Poll"));
    assert_eq!(got[0].1, "max_iterations");
    assert!(
        got[0].2.starts_with("a loop-while needs max_iterations"),
        "{got:?}"
    );
    let got = problems(&weft, &counter("while", below(json!(3)), Some(0)));
    assert_eq!(
        got,
        [(
            Some("Poll".to_string()),
            "max_iterations".to_string(),
            "must be at least 1".to_string()
        )]
    );
    let mut with_item = counter("while", below(json!(3)), Some(3));
    with_item["blocks"][3]["value"] = json!("{item}");
    let got = problems(&weft, &with_item);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1, "value");
    assert!(
        got[0].2.contains("is a loop-while and has no item"),
        "{got:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_loops_hand_the_body_chunks() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let d = |size: Value| {
        doc(
            json!([
                {"id": "Start", "type": "start"},
                {"id": "Chunks", "type": "loop-batch", "over": "{$.Start.ids}", "size": size},
                {"id": "Send", "type": "output", "mode": "add", "value": {"batch": "{$.Chunks.index}", "ids": "{item}", "of": "{$.Chunks.count}"}}
            ]),
            json!([
                {"from": "Start", "to": "Chunks"},
                {"from": "Chunks", "to": "Send", "branch": "body"}
            ]),
            json!({}),
        )
    };
    let ids = json!({"ids": [1, 2, 3, 4, 5, 6, 7]});
    let r = run(&weft, d(json!(3)), ids.clone()).await;
    assert_eq!(
        r.record.output,
        json!([
            {"batch": 0, "ids": [1, 2, 3], "of": 3},
            {"batch": 1, "ids": [4, 5, 6], "of": 3},
            {"batch": 2, "ids": [7], "of": 3}
        ])
    );
    let step = r
        .steps
        .iter()
        .find(|s| s.block_id == "Chunks")
        .expect("step");
    assert_eq!(step.output, Some(json!({"count": 3, "items": 7})));
    let r = run(
        &weft,
        d(json!("{$.Start.size}")),
        json!({"ids": [], "size": 2}),
    )
    .await;
    assert_eq!(r.record.status, RunStatus::Finished);
    assert_eq!(r.record.output, Value::Null);
    let r = run(
        &weft,
        d(json!("{$.Start.size}")),
        json!({"ids": [1], "size": 0}),
    )
    .await;
    assert_eq!(
        r.record.error.as_deref(),
        Some("block \"Chunks\" failed: size: expected a whole number of at least 1, got 0")
    );
    let r = run(&weft, d(json!(2)), json!({"ids": "1,2"})).await;
    assert_eq!(
        r.record.error.as_deref(),
        Some("block \"Chunks\" failed: over: expected a list to loop over, got text")
    );
    let got = problems(&weft, &d(json!(0)));
    assert_eq!(
        got,
        [(
            Some("Chunks".to_string()),
            "size".to_string(),
            "must be at least 1, not 0".to_string()
        )]
    );
}

/// Teams and their members; `Leave` exits the loop the test names when
/// a member is "stop".
fn nested(exit: Value) -> Value {
    let mut leave = json!({"id": "Leave", "type": "exit-loop"});
    if !exit.is_null() {
        leave["loop"] = exit;
    }
    doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Teams", "type": "loop", "over": "{$.Start.teams}"},
            {"id": "Members", "type": "loop", "over": "{$.Teams.item}"},
            {"id": "IsStop", "type": "condition", "condition": {"clauses": [{"left": "{item}", "op": "=", "right": "stop"}]}},
            leave,
            {"id": "Seen", "type": "output", "mode": "add", "value": "{item}"},
            {"id": "Done", "type": "output", "mode": "add", "value": "done"}
        ]),
        json!([
            {"from": "Start", "to": "Teams"},
            {"from": "Teams", "to": "Members", "branch": "body"},
            {"from": "Members", "to": "IsStop", "branch": "body"},
            {"from": "IsStop", "to": "Leave", "branch": "true"},
            {"from": "IsStop", "to": "Seen", "branch": "false"},
            {"from": "Teams", "to": "Done"}
        ]),
        json!({}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_loop_leaves_the_loop_it_names() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let input = json!({"teams": [["a", "stop", "b"], ["c"]]});
    // Innermost (the default, or named): the next team still runs.
    for exit in [Value::Null, json!("Members")] {
        let r = run(&weft, nested(exit.clone()), input.clone()).await;
        assert_eq!(r.record.output, json!(["a", "c", "done"]), "{exit}");
    }
    // The outer loop: no team after the stop runs; the run goes on after it.
    let r = run(&weft, nested(json!("Teams")), input).await;
    assert_eq!(r.record.status, RunStatus::Finished);
    assert_eq!(r.record.output, json!(["a", "done"]));

    // A loop that does not enclose the exit, and a name that is no block.
    let mut sibling = nested(json!("Later"));
    sibling["blocks"]
        .as_array_mut()
        .expect("blocks")
        .push(json!({"id": "Later", "type": "loop-range", "from": 1, "to": 2}));
    sibling["edges"]
        .as_array_mut()
        .expect("edges")
        .push(json!({"from": "Done", "to": "Later"}));
    assert_eq!(
        problems(&weft, &sibling),
        [(
            Some("Leave".to_string()),
            "loop".to_string(),
            "block \"Later\" is not a loop enclosing this block; the loops around it are, innermost last: Teams, Members".to_string()
        )]
    );
    assert_eq!(
        problems(&weft, &nested(json!("Nope"))),
        [(
            Some("Leave".to_string()),
            "loop".to_string(),
            "no block is named \"Nope\"; the loops around it are, innermost last: Teams, Members"
                .to_string()
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_run_title_names_the_run() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let d = |title: Value| {
        doc(
            json!([
                {"id": "Start", "type": "start"},
                {"id": "Title", "type": "update-run-title", "title": title}
            ]),
            json!([{"from": "Start", "to": "Title"}]),
            json!({}),
        )
    };
    let r = run(
        &weft,
        d(json!("Invoice {$.Start.n} for {$.Start.who}")),
        json!({"n": 42, "who": "Acme"}),
    )
    .await;
    assert_eq!(r.record.title.as_deref(), Some("Invoice 42 for Acme"));
    let stored = weft
        .store()
        .get_run(&r.record.id)
        .expect("store")
        .expect("record");
    assert_eq!(stored.title.as_deref(), Some("Invoice 42 for Acme"));
    let step = r
        .steps
        .iter()
        .find(|s| s.block_id == "Title")
        .expect("step");
    assert_eq!(step.output, Some(json!({"title": "Invoice 42 for Acme"})));

    // Long titles are cut to 200 characters, ending in an ellipsis.
    let r = run(
        &weft,
        d(json!("{$.Start.t}")),
        json!({"t": "é".repeat(300)}),
    )
    .await;
    let title = r.record.title.expect("title");
    assert_eq!(title.chars().count(), 200);
    assert_eq!(title, format!("{}…", "é".repeat(199)));

    let got = problems(&weft, &d(json!(5)));
    assert_eq!(
        got,
        [(
            Some("Title".to_string()),
            "title".to_string(),
            "must be text, not 5".to_string()
        )]
    );
}

/// Run `document` whole, then again from its history cut after step
/// `cut` (the block in progress at a crash), with that step's recorded
/// output replaced by `recorded`: the resumed run must take the history
/// over (the recorded output is used, not recomputed), walk the rest, and
/// write every step exactly once, at the same loop iterations.
async fn resumes_after(document: Value, cut: usize, block: &str, recorded: Value) -> Value {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let plan = weft.validate(&document).unwrap_or_else(|e| panic!("{e}"));
    let full = weft
        .run(&plan, json!({}), Trigger::custom("test"))
        .await
        .expect("run");
    let mut prefix: Vec<_> = full.steps[..=cut].to_vec();
    assert_eq!(prefix[cut].block_id, block);
    prefix[cut].output = Some(recorded);
    let mut record = weft_host::new_record(&plan, json!({}), Trigger::custom("test"));
    record.status = RunStatus::Running;
    weft.store().put_run(&record).expect("put run");
    weft.store()
        .append_steps(&record.id, &prefix)
        .expect("put steps");
    // As a crash leaves it: on disk.
    weft.store().committed().await.expect("committed");
    let resumed = weft
        .run_record(&plan, record, weft_host::CancellationToken::new())
        .await
        .expect("resume");
    assert_eq!(
        resumed.record.status,
        RunStatus::Finished,
        "{:?}",
        resumed.record.error
    );
    let info = resumed.record.resumed.clone().expect("resumed");
    assert_eq!(info.after_step, Some(cut as u64));
    let walked = |steps: &[weft_host::StepRecord]| -> Vec<(String, Vec<usize>)> {
        steps
            .iter()
            .map(|s| (s.block_id.clone(), s.iteration.clone()))
            .collect()
    };
    let all = weft.store().steps(&resumed.record.id).expect("steps");
    assert_eq!(
        walked(&all),
        walked(&full.steps),
        "no step twice, none missing"
    );
    resumed.record.output
}

/// A run interrupted inside a `loop-range` resumes at the iteration in
/// progress.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_resumes_inside_a_range_loop_at_the_iteration_in_progress() {
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Pages", "type": "loop-range", "from": 1, "to": 3},
            {"id": "Fetch", "type": "connector", "connector": "echo", "block": "echo", "inputs": {"value": "page {item}"}},
            {"id": "Keep", "type": "output", "mode": "add", "value": "{$.Fetch.value}"}
        ]),
        json!([
            {"from": "Start", "to": "Pages"},
            {"from": "Pages", "to": "Fetch", "branch": "body"},
            {"from": "Fetch", "to": "Keep"}
        ]),
        json!({}),
    );
    // Steps: Start, Pages, then Fetch and Keep per iteration; step 4 is
    // iteration 1's Fetch.
    let recorded = json!({"value": "page 2 (as recorded)", "step_id": "Fetch"});
    assert_eq!(
        resumes_after(d, 4, "Fetch", recorded).await,
        json!(["page 1", "page 2 (as recorded)", "page 3"])
    );
}

/// A `loop-while` resumes at the iteration in progress: its condition is
/// evaluated again from the variables the replay rebuilds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_resumes_inside_a_while_loop_at_the_iteration_in_progress() {
    let d = doc(
        json!([
            {"id": "Start", "type": "start"},
            {"id": "Poll", "type": "loop-while", "max_iterations": 10,
             "condition": {"clauses": [{"left": "{$.n}", "op": "<", "right": 3}]}},
            {"id": "Inc", "type": "variable", "variable": "n", "action": "increment"},
            {"id": "Fetch", "type": "connector", "connector": "echo", "block": "echo", "inputs": {"value": "poll {$.n}"}},
            {"id": "Keep", "type": "output", "mode": "add", "value": "{$.Fetch.value}"}
        ]),
        json!([
            {"from": "Start", "to": "Poll"},
            {"from": "Poll", "to": "Inc", "branch": "body"},
            {"from": "Inc", "to": "Fetch"},
            {"from": "Fetch", "to": "Keep"}
        ]),
        json!({"n": 0}),
    );
    // Steps: Start, Poll, then Inc, Fetch and Keep per iteration; step 6
    // is iteration 1's Fetch.
    let recorded = json!({"value": "poll 2 (as recorded)", "step_id": "Fetch"});
    assert_eq!(
        resumes_after(d, 6, "Fetch", recorded).await,
        json!(["poll 1", "poll 2 (as recorded)", "poll 3"])
    );
}
