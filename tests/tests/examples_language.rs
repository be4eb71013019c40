//! The examples in `examples/` that show the automation language beyond
//! the first six: group-by with formulas, and (with their own fixtures)
//! stored state, custom code and input forms. Exact outputs through the
//! real engine, standard components and a sled history.

use serde_json::{Value, json};
use weft_host::RunStatus;
use weft_tests::engine::{run, weft_with};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");

fn example(file: &str) -> Value {
    let path = format!("{EXAMPLES}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn category_report_groups_sales_and_writes_a_line_per_category() {
    let dir = tempfile::tempdir().expect("tmp");
    let weft = weft_with(dir.path(), &[]).await;
    let doc = example("category-report.json");

    let r = run(&weft, doc.clone(), json!({})).await;
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
        doc,
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
