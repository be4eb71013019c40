//! The automations in `examples/`, run end to end: the real standard
//! components, a real sled history, and a fake third-party API on
//! 127.0.0.1 standing in for every HTTP service (each example reads its
//! base URLs from the trigger payload). Exact outputs, run statuses and
//! what the steps recorded.

use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use weft_host::{RunResult, RunStatus, StepStatus};
use weft_tests::FakeApi;
use weft_tests::examples::{
    EXAMPLES, block_order, describe, engine, example, iterations, run, step, steps,
};

// ------------------------------------------------------------ every file

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_validates_and_is_documented() {
    let dir = tempfile::tempdir().expect("tempdir");
    let weft = engine(dir.path(), None).await;
    let readme = std::fs::read_to_string(format!("{EXAMPLES}/README.md")).expect("README");
    let mut files: Vec<String> = std::fs::read_dir(EXAMPLES)
        .expect("examples dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for file in &files {
        let doc = example(file);
        let plan = weft
            .validate(&doc)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            format!("{}.json", plan.id),
            *file,
            "id matches the file name"
        );
        assert!(!plan.name.trim().is_empty(), "{file}: a name");
        let description = doc["description"].as_str().unwrap_or_default();
        assert!(
            !description.trim().is_empty() && !description.contains('\n'),
            "{file}: a one-line description"
        );
        assert!(
            readme.contains(&format!("examples/{file}")),
            "README.md shows how to run {file}"
        );
        // Every HTTP call's base URL comes from the trigger payload, so the
        // examples can point at any server (tests: a local one).
        for block in doc["blocks"].as_array().expect("blocks") {
            if block["connector"] == "http" {
                let url = block["inputs"]["url"].as_str().unwrap_or_default();
                assert!(
                    url.starts_with("{$.Start."),
                    "{file}: block {} has a fixed URL {url:?}",
                    block["id"]
                );
            }
        }
    }
}

// ------------------------------------------------------ fetch-and-filter

fn catalogue() -> Value {
    json!({"products": [
        {"sku": "KB-01", "name": "Mechanical keyboard", "price": 89.9, "in_stock": true},
        {"sku": "MS-02", "name": "Wireless mouse", "price": 24.5, "in_stock": true},
        {"sku": "MN-03", "name": "27-inch monitor", "price": 279, "in_stock": false},
        {"sku": "HB-04", "name": "USB-C hub", "price": 39.99, "in_stock": true},
        {"sku": "CB-05", "name": "HDMI cable", "price": 9.5, "in_stock": false},
        {"sku": "PD-06", "name": "Mouse pad", "price": 12, "in_stock": true},
    ]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_and_filter_keeps_affordable_products_in_stock() {
    let api = FakeApi::start_with(Router::new().route(
        "/products",
        get(|Query(q): Query<HashMap<String, String>>| async move {
            match q.get("category").map(String::as_str) {
                Some("peripherals") => axum::Json(catalogue()).into_response(),
                other => (StatusCode::BAD_REQUEST, format!("category {other:?}")).into_response(),
            }
        }),
    ))
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let weft = engine(dir.path(), Some(&api)).await;
    let doc = example("fetch-and-filter.json");

    let result = run(&weft, &doc, json!({"api": api.base()})).await;
    assert_eq!(
        result.record.status,
        RunStatus::Finished,
        "{}",
        describe(&result)
    );
    assert_eq!(
        result.record.output,
        json!({
            "max_price": 50,
            "count": 3,
            "products": [
                {"sku": "PD-06", "name": "Mouse pad", "price": 12, "in_stock": true},
                {"sku": "MS-02", "name": "Wireless mouse", "price": 24.5, "in_stock": true},
                {"sku": "HB-04", "name": "USB-C hub", "price": 39.99, "in_stock": true},
            ],
        })
    );
    assert_eq!(
        block_order(&result),
        ["Start", "GetProducts", "Affordable", "Cheapest", "Result"]
    );
    let get = step(&result, "GetProducts");
    assert_eq!(get.target.as_deref(), Some("http/request"));
    assert_eq!(get.attempts, 1);
    assert_eq!(get.http_calls.len(), 1);
    let call = &get.http_calls[0];
    assert_eq!(call.method, "GET");
    assert_eq!(call.status, Some(200));
    assert_eq!(call.url, api.url("/products?category=peripherals"));
    assert_eq!(api.hits(), 1);
    for id in ["Affordable", "Cheapest"] {
        assert!(
            step(&result, id).http_calls.is_empty(),
            "{id} makes no calls"
        );
    }

    // The payload can raise the limit.
    let result = run(&weft, &doc, json!({"api": api.base(), "max_price": 100})).await;
    assert_eq!(
        result.record.status,
        RunStatus::Finished,
        "{}",
        describe(&result)
    );
    let skus: Vec<&str> = result.record.output["products"]
        .as_array()
        .expect("products")
        .iter()
        .map(|p| p["sku"].as_str().expect("sku"))
        .collect();
    assert_eq!(skus, ["PD-06", "MS-02", "HB-04", "KB-01"]);
    assert_eq!(result.record.output["count"], 4);
    assert_eq!(result.record.output["max_price"], 100);
}

// --------------------------------------------------- loop-with-condition

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loop_with_condition_runs_offline_on_its_sample_orders() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No grant, no API: the README's demo needs neither network nor input.
    let weft = engine(dir.path(), None).await;
    let doc = example("loop-with-condition.json");

    let result = run(&weft, &doc, json!({})).await;
    assert_eq!(
        result.record.status,
        RunStatus::Finished,
        "{}",
        describe(&result)
    );
    assert_eq!(
        result.record.output,
        json!({
            "orders": 5,
            "big_orders": [
                {"id": "A-1001", "customer": "Ada", "total": 250},
                {"id": "A-1003", "customer": "Linus", "total": 100},
                {"id": "A-1005", "customer": "Ken", "total": 730},
            ],
            "big_count": 3,
            "small_count": 2,
            "revenue": 1142.49,
        })
    );
    assert_eq!(steps(&result, "IsBig").len(), 5);
    assert_eq!(iterations(&result, "AddBig"), [[0], [2], [4]]);
    assert_eq!(iterations(&result, "CountSmall"), [[1], [3]]);
    // The condition's `next` runs after either branch, once per order.
    assert_eq!(iterations(&result, "AddRevenue"), [[0], [1], [2], [3], [4]]);
    assert_eq!(step(&result, "EachOrder").output, Some(json!({"count": 5})));
    assert_eq!(
        steps(&result, "IsBig")
            .iter()
            .map(|s| s.output.clone().expect("condition output")["result"].clone())
            .collect::<Vec<_>>(),
        [true, false, true, false, true]
    );
    assert!(result.steps.iter().all(|s| s.http_calls.is_empty()));

    // Orders and threshold from the payload replace the samples; numeric
    // text compares and adds up as a number.
    let result = run(
        &weft,
        &doc,
        json!({
            "threshold": 150,
            "orders": [
                {"id": "B-1", "customer": "Mo", "total": "120"},
                {"id": "B-2", "customer": "Jo", "total": 150},
            ],
        }),
    )
    .await;
    assert_eq!(
        result.record.status,
        RunStatus::Finished,
        "{}",
        describe(&result)
    );
    assert_eq!(
        result.record.output,
        json!({
            "orders": 2,
            "big_orders": [{"id": "B-2", "customer": "Jo", "total": 150}],
            "big_count": 1,
            "small_count": 1,
            "revenue": 270,
        })
    );
}

// --------------------------------------------------- transform-and-merge

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transform_and_merge_builds_one_deduplicated_audience() {
    let routes = Router::new()
        .route(
            "/contacts",
            get(|| async {
                axum::Json(json!({"contacts": [
                    {"id": 1, "full_name": "Ada Lovelace", "email_address": "ada@example.com",
                     "company": "Analytical", "phone": "+44 1"},
                    {"id": 2, "full_name": "Grace Hopper", "email_address": "grace@example.com",
                     "company": "Navy", "phone": "+1 2"},
                    {"id": 3, "full_name": "Edsger Dijkstra", "email_address": "edsger@example.com",
                     "company": "TU/e"},
                ]}))
            }),
        )
        .route(
            "/subscribers",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                if q.get("status").map(String::as_str) != Some("active") {
                    return (StatusCode::BAD_REQUEST, "status=active expected").into_response();
                }
                axum::Json(json!([
                    {"name": "Grace B. Hopper", "email": "grace@example.com",
                     "subscribed_at": "2024-01-02"},
                    {"name": "Barbara Liskov", "email": "barbara@example.com",
                     "subscribed_at": "2024-02-03"},
                    {"name": "Ada L.", "email": "ada@example.com", "subscribed_at": "2024-03-04"},
                    {"name": "Alan Turing", "email": "alan@example.com",
                     "subscribed_at": "2024-04-05"},
                ]))
                .into_response()
            }),
        );
    let api = FakeApi::start_with(routes).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let weft = engine(dir.path(), Some(&api)).await;
    let doc = example("transform-and-merge.json");

    let result = run(
        &weft,
        &doc,
        json!({"crm_api": api.base(), "newsletter_api": api.base()}),
    )
    .await;
    assert_eq!(
        result.record.status,
        RunStatus::Finished,
        "{}",
        describe(&result)
    );
    assert_eq!(
        result.record.output,
        json!({
            "audience": [
                {"name": "Ada Lovelace", "email": "ada@example.com", "source": "crm"},
                {"name": "Alan Turing", "email": "alan@example.com", "source": "newsletter"},
                {"name": "Barbara Liskov", "email": "barbara@example.com", "source": "newsletter"},
                {"name": "Edsger Dijkstra", "email": "edsger@example.com", "source": "crm"},
                {"name": "Grace Hopper", "email": "grace@example.com", "source": "crm"},
            ],
            "count": 5,
            "duplicates_removed": 2,
        })
    );
    assert_eq!(
        block_order(&result),
        [
            "Start",
            "GetContacts",
            "GetSubscribers",
            "ShapeContacts",
            "ShapeSubscribers",
            "Merge",
            "Dedupe",
            "ByName",
            "Audience"
        ]
    );
    assert_eq!(
        step(&result, "ShapeContacts")
            .output
            .as_ref()
            .expect("output")["list"][0],
        json!({"name": "Ada Lovelace", "email": "ada@example.com", "source": "crm"}),
        "picked, renamed and tagged"
    );
    assert_eq!(
        step(&result, "Merge").output.as_ref().expect("output")["count"],
        7
    );
    assert_eq!(
        step(&result, "GetSubscribers").http_calls[0].url,
        api.url("/subscribers?status=active")
    );
    assert_eq!(api.hits(), 2);
}

// -------------------------------------------------------- retry-on-error

/// `/rates` answers 503 `rate_failures` times, then 200; `/recommendations`
/// answers 200 or always 503. Returns the routes and the `/rates` counter.
fn flaky_routes(rate_failures: usize, recommendations_up: bool) -> (Router, Arc<AtomicUsize>) {
    let rate_calls = Arc::new(AtomicUsize::new(0));
    let counter = rate_calls.clone();
    let router = Router::new()
        .route(
            "/rates",
            get(move |Query(q): Query<HashMap<String, String>>| {
                let counter = counter.clone();
                async move {
                    if counter.fetch_add(1, Ordering::SeqCst) < rate_failures {
                        return (StatusCode::SERVICE_UNAVAILABLE, "rates backend warming up")
                            .into_response();
                    }
                    axum::Json(json!({
                        "base": q.get("base"),
                        "rates": {"USD": 1.08, "GBP": 0.85, "JPY": 161},
                    }))
                    .into_response()
                }
            }),
        )
        .route(
            "/recommendations",
            get(move || async move {
                if recommendations_up {
                    axum::Json(json!({"items": ["travel adapter", "currency card"]}))
                        .into_response()
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "down for maintenance").into_response()
                }
            }),
        );
    (router, rate_calls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_on_error_retries_then_finishes_with_warnings() {
    let (routes, rate_calls) = flaky_routes(2, false);
    let api = FakeApi::start_with(routes).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let weft = engine(dir.path(), Some(&api)).await;
    let doc = example("retry-on-error.json");

    let result = run(&weft, &doc, json!({"api": api.base()})).await;
    assert_eq!(
        result.record.status,
        RunStatus::FinishedWithWarnings,
        "{}",
        describe(&result)
    );
    assert_eq!(result.record.error, None);
    assert_eq!(
        result.record.output,
        json!({
            "base": "EUR",
            "usd": 1.08,
            "gbp": 0.85,
            "recommendations": [],
            "note": "recommendations unavailable",
        })
    );
    let rates = step(&result, "GetRates");
    assert_eq!(rates.status, StepStatus::Succeeded);
    assert_eq!(rates.attempts, 3, "two 503s, then success");
    assert_eq!(
        rates
            .http_calls
            .iter()
            .map(|c| c.status)
            .collect::<Vec<_>>(),
        [Some(503), Some(503), Some(200)]
    );
    assert_eq!(rate_calls.load(Ordering::SeqCst), 3);
    // Backoff 50 ms then 100 ms, with jitter down to half: at least 75 ms.
    assert!(rates.duration_us >= 75_000, "{} µs", rates.duration_us);

    let recs = step(&result, "GetRecommendations");
    assert_eq!(recs.status, StepStatus::Warning);
    assert_eq!(recs.attempts, 1, "no retry policy: one try");
    assert_eq!(recs.output, None);
    let error = recs.error.as_deref().unwrap_or_default();
    assert!(error.contains("HTTP 503"), "{error}");
    assert_eq!(recs.http_calls.len(), 1);
    assert_eq!(
        result.record.warnings.len(),
        1,
        "{:?}",
        result.record.warnings
    );
    assert!(
        result.record.warnings[0].starts_with("GetRecommendations: ")
            && result.record.warnings[0].contains("HTTP 503"),
        "{:?}",
        result.record.warnings
    );
    assert_eq!(
        step(&result, "GotRecommendations").output,
        Some(json!({"result": false}))
    );
    assert!(steps(&result, "AddRecommendations").is_empty());
    assert_eq!(
        step(&result, "NoRecommendations").status,
        StepStatus::Succeeded
    );

    // The history holds the same.
    let stored = weft
        .store()
        .get_run(&result.record.id)
        .expect("store")
        .expect("run stored");
    assert_eq!(stored.status, RunStatus::FinishedWithWarnings);
    let stored_steps = weft.store().steps(&result.record.id).expect("steps");
    assert_eq!(stored_steps, result.steps);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_on_error_finishes_cleanly_when_everything_answers() {
    let (routes, _) = flaky_routes(0, true);
    let api = FakeApi::start_with(routes).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let weft = engine(dir.path(), Some(&api)).await;
    let result = run(
        &weft,
        &example("retry-on-error.json"),
        json!({"api": api.base()}),
    )
    .await;
    assert_eq!(
        result.record.status,
        RunStatus::Finished,
        "{}",
        describe(&result)
    );
    assert_eq!(
        result.record.output,
        json!({
            "base": "EUR",
            "usd": 1.08,
            "gbp": 0.85,
            "recommendations": ["travel adapter", "currency card"],
        })
    );
    assert_eq!(step(&result, "GetRates").attempts, 1);
    assert!(result.record.warnings.is_empty());
    assert!(steps(&result, "NoRecommendations").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_on_error_fails_after_four_attempts() {
    let (routes, rate_calls) = flaky_routes(usize::MAX, true);
    let api = FakeApi::start_with(routes).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let weft = engine(dir.path(), Some(&api)).await;
    let result = run(
        &weft,
        &example("retry-on-error.json"),
        json!({"api": api.base()}),
    )
    .await;
    assert_eq!(
        result.record.status,
        RunStatus::Failed,
        "{}",
        describe(&result)
    );
    let error = result.record.error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("block \"GetRates\" failed: ") && error.contains("after 4 attempts"),
        "{error}"
    );
    let rates = step(&result, "GetRates");
    assert_eq!(rates.status, StepStatus::Failed);
    assert_eq!(rates.attempts, 4);
    assert_eq!(rates.http_calls.len(), 4);
    assert_eq!(rate_calls.load(Ordering::SeqCst), 4);
    assert_eq!(
        block_order(&result),
        ["Start", "GetRates"],
        "the run stopped"
    );
    assert_eq!(api.hits(), 4, "recommendations never called");
    assert_eq!(result.record.output, Value::Null);
}

// ------------------------------------------------ censored-personal-data

/// Appears only in the fake API's personal data.
const MARKER: &str = "pii-7f3c9e2a-41d8-4b6e-9c05-d2e8a1f0b7c4";

fn customers_api() -> Router {
    Router::new().route(
        "/customers",
        get(|| async {
            let person = |name: &str, age: u32, newsletter: bool| {
                json!({
                    "name": format!("{name} {MARKER}"),
                    "email": format!("{}.{MARKER}@example.com", name.to_lowercase()),
                    "age": age,
                    "newsletter": newsletter,
                })
            };
            axum::Json(json!({"customers": [
                person("Ada", 34, true),
                person("Grace", 41, false),
                person("Linus", 29, true),
                person("Barbara", 51, false),
            ]}))
        }),
    )
}

/// Every byte of every file below `dir`.
fn all_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read file");
                out.push((path.display().to_string(), bytes));
            }
        }
    }
    out
}

/// Files below `dir` whose name or content holds `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let files = all_bytes(dir);
    assert!(!files.is_empty(), "the sled directory holds files");
    files
        .into_iter()
        .filter(|(name, bytes)| {
            name.contains(needle) || bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
        .map(|(name, _)| name)
        .collect()
}

/// Runs the censored example (or a variant) against a fresh sled
/// directory; returns the result, the JSON of what the store holds for the
/// run, and the directory (the Weft is dropped).
async fn run_customers(doc: &Value) -> (RunResult, String, tempfile::TempDir) {
    let api = FakeApi::start_with(customers_api()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let weft = engine(dir.path(), Some(&api)).await;
    let result = run(&weft, doc, json!({"api": api.base()})).await;
    let stored_run = weft
        .store()
        .get_run(&result.record.id)
        .expect("store")
        .expect("run stored");
    let stored_steps = weft.store().steps(&result.record.id).expect("steps");
    let stored = serde_json::to_string(&json!({"run": stored_run, "steps": stored_steps}))
        .expect("serialize");
    weft.store().flush().expect("flush");
    drop(weft);
    (result, stored, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn censored_personal_data_never_reaches_the_history() {
    let doc = example("censored-personal-data.json");
    let (result, stored, dir) = run_customers(&doc).await;
    assert_eq!(
        result.record.status,
        RunStatus::Finished,
        "{}",
        describe(&result)
    );
    assert_eq!(
        result.record.output,
        json!({"customers": 4, "newsletter_subscribers": 2, "average_age": 38.8})
    );
    for id in ["GetCustomers", "Subscribed", "AverageAge"] {
        let s = step(&result, id);
        assert!(s.censored, "{id}");
        assert_eq!(s.status, StepStatus::Succeeded, "{id}");
        assert_eq!((&s.input, &s.output), (&None, &None), "{id}");
        assert!(s.logs.is_empty(), "{id}");
        assert!(s.output_bytes > 0, "{id}: sizes are still recorded");
    }
    let get = step(&result, "GetCustomers");
    assert_eq!(get.http_calls.len(), 1);
    assert_eq!(get.http_calls[0].status, Some(200));
    assert_eq!(get.http_calls[0].response_body, None);
    assert!(get.http_calls[0].response_bytes > 0);
    assert!(!step(&result, "Stats").censored);

    assert!(
        !stored.contains(MARKER),
        "a stored run or step holds personal data: {stored}"
    );
    let leaks = files_containing(dir.path(), MARKER);
    assert!(leaks.is_empty(), "personal data on disk in {leaks:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_censor_the_same_data_does_reach_the_history() {
    // The control for the test above: it can only pass because of `censor`.
    let mut doc = example("censored-personal-data.json");
    for block in doc["blocks"].as_array_mut().expect("blocks") {
        if let Some(censor) = block.get_mut("censor") {
            *censor = json!(false);
        }
    }
    let (result, stored, dir) = run_customers(&doc).await;
    assert_eq!(
        result.record.status,
        RunStatus::Finished,
        "{}",
        describe(&result)
    );
    assert_eq!(
        result.record.output,
        json!({"customers": 4, "newsletter_subscribers": 2, "average_age": 38.8})
    );
    assert!(!step(&result, "GetCustomers").censored);
    assert!(stored.contains(MARKER), "the stored steps hold the records");
    let files = files_containing(dir.path(), MARKER);
    assert!(
        !files.is_empty(),
        "without censor the records are in the sled files"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn censored_failures_keep_personal_data_out_of_the_run_record() {
    // The API quotes the personal data in its error answer; the SDK puts the
    // first 300 characters of the body into the block's error message.
    let api = FakeApi::start_with(Router::new().route(
        "/customers",
        get(|| async {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("no such customer ada.{MARKER}@example.com"),
            )
        }),
    ))
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let weft = engine(dir.path(), Some(&api)).await;
    let mut doc = example("censored-personal-data.json");
    let failed = run(&weft, &doc, json!({"api": api.base()})).await;
    assert_eq!(failed.record.status, RunStatus::Failed);
    assert_eq!(
        step(&failed, "GetCustomers").error.as_deref(),
        Some("failed (details censored)")
    );
    doc["blocks"][1]["on_error"] = json!("warning");
    let warned = run(&weft, &doc, json!({"api": api.base()})).await;
    for result in [&failed, &warned] {
        let record = serde_json::to_string(&result.record).expect("serialize");
        assert!(!record.contains(MARKER), "run record: {record}");
    }
    weft.store().flush().expect("flush");
    drop(weft);
    let leaks = files_containing(dir.path(), MARKER);
    assert!(leaks.is_empty(), "personal data on disk in {leaks:?}");
}

// ---------------------------------------------------------- nested-loops

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_loops_exit_the_inner_loop_at_the_first_match() {
    let dir = tempfile::tempdir().expect("tempdir");
    let weft = engine(dir.path(), None).await;
    let result = run(&weft, &example("nested-loops.json"), json!({})).await;
    assert_eq!(
        result.record.status,
        RunStatus::Finished,
        "{}",
        describe(&result)
    );
    assert_eq!(
        result.record.output,
        json!({
            "assignments": [
                {"team": "payments", "engineer": "bo"},
                {"team": "mobile", "engineer": "fay"},
            ],
            "teams_covered": 2,
            "engineers_checked": 5,
        })
    );
    // payments: ana, bo (exit) — search: dee, eli — mobile: fay (exit).
    assert_eq!(
        iterations(&result, "CountChecked"),
        [vec![0, 0], vec![0, 1], vec![1, 0], vec![1, 1], vec![2, 0]]
    );
    assert_eq!(iterations(&result, "NextTeam"), [vec![0, 1], vec![2, 0]]);
    assert_eq!(iterations(&result, "Engineers"), [[0], [1], [2]]);
    assert_eq!(steps(&result, "Rota").len(), 1, "the outer loop went on");
}
