//! The examples in `examples/` that show the automation language beyond
//! the first six: group-by with formulas, custom code, a paged incremental
//! sync with stored state and time-zone dates. Exact outputs through the
//! real engine, standard components, a sled history and (for the sync) a
//! fake API on 127.0.0.1.

use axum::Router;
use axum::extract::Query;
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use weft_host::RunStatus;
use weft_tests::FakeApi;
use weft_tests::examples::{describe, engine, example, iterations, run, step, steps};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn category_report_groups_sales_and_writes_a_line_per_category() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = engine(dir.path(), None).await;
    let doc = example("category-report.json");

    let r = run(&weft, &doc, json!({})).await;
    assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
    // Decimal throughout: 12.5 + 7.25 + 30 is 49.75, "14.01" (text) + 9.99
    // is 24; the biggest category first.
    assert_eq!(
        r.record.output,
        json!({
            "categories": 3,
            "total_net": 153.73,
            "total_gross": 186.01,
            "top": "Games",
            "lines": [
                {"category": "Games", "orders": 2, "net": 79.98, "gross": 96.78,
                 "average": 39.99, "largest": 59.99, "share": "52%", "sales": "S-2, S-5"},
                {"category": "Books", "orders": 3, "net": 49.75, "gross": 60.2,
                 "average": 16.58, "largest": 30, "share": "32.4%", "sales": "S-1, S-3, S-6"},
                {"category": "Music", "orders": 2, "net": 24, "gross": 29.04,
                 "average": 12, "largest": 14.01, "share": "15.6%", "sales": "S-4, S-7"},
            ]
        })
    );

    // The payload's sales instead of the samples; one category.
    let r = run(
        &weft,
        &doc,
        json!({"sales": [{"id": "X", "category": "tools", "net": 0.1},
                         {"id": "Y", "category": "tools", "net": 0.2}]}),
    )
    .await;
    assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
    assert_eq!(
        r.record.output,
        json!({
            "categories": 1, "total_net": 0.3, "total_gross": 0.36, "top": "Tools",
            "lines": [{"category": "Tools", "orders": 2, "net": 0.3, "gross": 0.36,
                       "average": 0.15, "largest": 0.2, "share": "100%", "sales": "X, Y"}]
        })
    );
}

// ------------------------------------------------- custom-code-transform

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_code_transform_totals_orders_per_customer_in_javascript() {
    let dir = tempfile::tempdir().expect("tempdir");
    let weft = engine(dir.path(), None).await;
    let doc = example("custom-code-transform.json");
    // The sample orders: Ada 19.00 + 15.00, Grace 12.99; VAT 20%.
    let result = run(&weft, &doc, json!({})).await;
    assert_eq!(
        result.record.status,
        RunStatus::Finished,
        "{}",
        describe(&result)
    );
    assert_eq!(
        result.record.output,
        json!([
            {"customer": "Ada", "orders": 2, "net": 34, "gross": 40.8},
            {"customer": "Grace", "orders": 1, "net": 12.99, "gross": 15.59},
        ])
    );
    let totals = step(&result, "Totals");
    assert_eq!(totals.logs.len(), 1);
    assert_eq!(totals.logs[0].message, "3 orders from 2 customers");
    // The code reached the block as written; `input` was templated.
    let input = totals.input.as_ref().expect("recorded input");
    assert_eq!(input["code"], doc["blocks"][1]["inputs"]["code"]);
    assert_eq!(input["input"]["vat"], json!(0.2));

    // The payload's orders and VAT rate instead.
    let result = run(
        &weft,
        &doc,
        json!({"vat": 0, "orders": [
            {"id": "X-1", "customer": "Zoe", "lines": [{"sku": "a", "qty": 3, "price": 0.1}]},
            {"id": "X-2", "customer": "Yan", "lines": [{"sku": "b", "qty": 1, "price": 0.2}, {"sku": "c", "qty": 1, "price": 0.1}]}
        ]}),
    )
    .await;
    assert_eq!(
        result.record.output,
        json!([
            {"customer": "Zoe", "orders": 1, "net": 0.3, "gross": 0.3},
            {"customer": "Yan", "orders": 1, "net": 0.3, "gross": 0.3},
        ])
    );
}

// ------------------------------------------------------ incremental-sync

/// The items API: pages of two items following `next` links, in the
/// order they changed; `items` is what it holds now.
fn items_api(items: Arc<std::sync::Mutex<Vec<Value>>>) -> Router {
    Router::new().route(
        "/items",
        get(move |Query(q): Query<HashMap<String, String>>| {
            let items = items.clone();
            async move {
                let all = items.lock().map(|i| i.clone()).unwrap_or_default();
                let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                let chunk: Vec<Value> = all.iter().skip((page - 1) * 2).take(2).cloned().collect();
                let next = (page * 2 < all.len()).then(|| format!("/items?page={}", page + 1));
                axum::Json(json!({"items": chunk, "next": next}))
            }
        }),
    )
}

fn item(id: u32, name: &str, updated_at: &str) -> Value {
    json!({"id": id, "name": name, "updated_at": updated_at})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_sync_syncs_everything_then_only_what_changed() {
    let items = Arc::new(std::sync::Mutex::new(vec![
        item(1, "Alpha", "2024-03-30T22:15:00Z"),
        item(2, "Beta", "2024-03-31T08:00:00Z"),
        item(3, "Gamma", "2024-04-01T12:30:00Z"),
    ]));
    let api = FakeApi::start_with(items_api(items.clone())).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let weft = engine(dir.path(), Some(&api)).await;
    let doc = example("incremental-sync.json");

    // First run: no pointer yet, so everything; two pages. Paris moved to
    // summer time in between (CET, then CEST).
    let first = run(&weft, &doc, json!({"api": api.base()})).await;
    assert_eq!(
        first.record.status,
        RunStatus::Finished,
        "{}",
        describe(&first)
    );
    assert_eq!(
        first.record.output,
        json!({
            "since": "1970-01-01T00:00:00Z",
            "count": 3,
            "items": [
                {"id": 1, "name": "Alpha", "updated_at": "2024-03-30T22:15:00Z", "updated_local": "30.03.2024 23:15 CET"},
                {"id": 2, "name": "Beta", "updated_at": "2024-03-31T08:00:00Z", "updated_local": "31.03.2024 10:00 CEST"},
                {"id": 3, "name": "Gamma", "updated_at": "2024-04-01T12:30:00Z", "updated_local": "01.04.2024 14:30 CEST"},
            ],
            "pointer": "2024-04-01T12:30:00Z",
            "pointer_local": "01.04.2024 14:30 CEST",
        })
    );
    assert_eq!(iterations(&first, "GetPage"), [vec![0], vec![1]]);
    let urls: Vec<String> = steps(&first, "GetPage")
        .iter()
        .map(|s| s.http_calls[0].url.clone())
        .collect();
    assert_eq!(urls, [api.url("/items"), api.url("/items?page=2")]);
    assert_eq!(
        weft.state_get("incremental-sync", "last_synced_at")
            .expect("state")
            .map(|e| e.value),
        Some(json!("2024-04-01T12:30:00Z"))
    );

    // Beta changes and Delta is new: the second run syncs only those two,
    // shown in New York time this time.
    {
        let mut all = items.lock().expect("items");
        all.remove(1);
        all.push(item(2, "Beta v2", "2024-04-02T09:00:00Z"));
        all.push(item(4, "Delta", "2024-04-02T10:45:00Z"));
    }
    let second = run(
        &weft,
        &doc,
        json!({"api": api.base(), "timezone": "America/New_York"}),
    )
    .await;
    assert_eq!(
        second.record.status,
        RunStatus::Finished,
        "{}",
        describe(&second)
    );
    assert_eq!(
        second.record.output,
        json!({
            "since": "2024-04-01T12:30:00Z",
            "count": 2,
            "items": [
                {"id": 2, "name": "Beta v2", "updated_at": "2024-04-02T09:00:00Z", "updated_local": "02.04.2024 05:00 EDT"},
                {"id": 4, "name": "Delta", "updated_at": "2024-04-02T10:45:00Z", "updated_local": "02.04.2024 06:45 EDT"},
            ],
            "pointer": "2024-04-02T10:45:00Z",
            "pointer_local": "02.04.2024 06:45 EDT",
        })
    );

    // Nothing changed since: nothing synced, the pointer stays.
    let third = run(&weft, &doc, json!({"api": api.base()})).await;
    assert_eq!(
        third.record.status,
        RunStatus::Finished,
        "{}",
        describe(&third)
    );
    assert_eq!(third.record.output["count"], 0);
    assert_eq!(third.record.output["items"], json!([]));
    assert_eq!(third.record.output["pointer"], "2024-04-02T10:45:00Z");
}
