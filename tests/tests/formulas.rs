//! Formulas through the engine: an order summary computed in one output
//! block with decimal arithmetic, list formulas and dates in a time zone
//! (what a Qlik user writes as formulas rather than chains of blocks), and
//! a misspelt formula refused at validation with its block, field and a
//! "did you mean". The formula table itself is tested in
//! `host/src/automation/formula/tests.rs`.

use serde_json::{Value, json};
use weft_host::{RunStatus, Runtime, Trigger, Weft};
use weft_tests::cache_dir;

async fn weft(dir: &std::path::Path) -> Weft {
    let runtime = Runtime::builder()
        .cache_dir(cache_dir())
        .build()
        .expect("runtime");
    Weft::builder()
        .runtime(runtime)
        .sled(dir.join("history"))
        .build()
        .await
        .expect("weft")
}

fn doc(output: Value) -> Value {
    json!({
        "weft": "automation/v1", "id": "orders", "name": "Order summary",
        "variables": {"totals": []},
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Lines", "type": "loop", "over": "{$.Start.lines}"},
            {"id": "Net", "type": "variable", "variable": "totals", "action": "append",
             "value": "{multiply: item.price, item.qty}"},
            {"id": "Out", "type": "output", "mode": "set", "value": output}
        ],
        "edges": [
            {"from": "Start", "to": "Lines"},
            {"from": "Lines", "to": "Net", "branch": "body"},
            {"from": "Lines", "to": "Out"}
        ],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_summary_in_formulas() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft(dir.path()).await;
    let d = doc(json!({
        "net": "{sum: $.totals}",
        "vat": "{round: {multiply: {sum: $.totals}, 0.21}, 2}",
        "gross": "{add: {sum: $.totals}, {round: {multiply: {sum: $.totals}, 0.21}, 2}}",
        "skus": "{join: {unique: {pluck: $.Start.lines, 'sku'}}, '/'}",
        "cheapest": "{min: $.Start.lines, 'price'}",
        "due": "{date: {dateadd: $.Start.ordered_at, 30, 'days', 'Europe/Paris'}, '%Y-%m-%d %H:%M %Z', 'Europe/Paris'}",
        "week": "{isoweek: $.Start.ordered_at, 'Europe/Paris'}",
        "label": "Order {padleft: $.Start.no, 6, '0'} for {capitalize: $.Start.customer}",
        "note": "{if: {contains: {pluck: $.Start.lines, 'sku'}, 'b-2'}, 'has b-2', 'no b-2'}",
        "coupon": "{coalesce: $.Start.coupon, 'none'}"
    }));
    let plan = weft.validate(&d).unwrap_or_else(|e| panic!("{e}"));
    let input = json!({
        "no": 42,
        "customer": "ada lovelace",
        // Sunday 23:30 in UTC is Monday 00:30 in Paris: ISO week 12, not 11.
        "ordered_at": "2024-03-17T23:30:00Z",
        "lines": [
            {"sku": "a-1", "price": 19.99, "qty": 3},
            {"sku": "b-2", "price": 0.1, "qty": 2},
            {"sku": "a-1", "price": 5, "qty": 1}
        ]
    });
    let run = weft
        .run(&plan, input, Trigger::custom("test"))
        .await
        .expect("run");
    assert_eq!(
        run.record.status,
        RunStatus::Finished,
        "{:?}",
        run.record.error
    );
    assert_eq!(
        run.record.output,
        json!({
            "net": 65.17,
            "vat": 13.69,
            "gross": 78.86,
            "skus": "a-1/b-2",
            "cheapest": 0.1,
            // 30 calendar days later, across the switch to summer time.
            "due": "2024-04-17 00:30 CEST",
            "week": 12,
            "label": "Order 000042 for Ada Lovelace",
            "note": "has b-2",
            "coupon": "none"
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelt_formula_is_refused_at_validation() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft(dir.path()).await;
    let errors = weft
        .validate(&doc(json!({"who": "Hi {upercase: $.Start.customer}"})))
        .expect_err("unknown formula")
        .0;
    assert!(
        errors.iter().any(|e| e.block.as_deref() == Some("Out")
            && e.field == "value"
            && e.message.contains("unknown formula \"upercase\"")
            && e.message.contains("did you mean `uppercase`?")),
        "{errors:#?}"
    );
    // A bad time zone is a run-time error that says how to write one.
    let plan = weft
        .validate(&doc(json!("{date: $.Start.at, '%H:%M', 'Europe/Pariss'}")))
        .expect("valid");
    let run = weft
        .run(
            &plan,
            json!({"at": "2024-01-01", "lines": []}),
            Trigger::custom("test"),
        )
        .await
        .expect("run");
    assert_eq!(run.record.status, RunStatus::Failed);
    let error = run.record.error.unwrap_or_default();
    assert!(
        error.contains("did you mean `Europe/Paris`") && error.contains("IANA"),
        "{error}"
    );
}
