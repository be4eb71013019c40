//! The automations in `examples/` as the example tests run them: the
//! document read from its file, the engine an embedding program sets up
//! (standard components, sled history, the `http` connector granted a fake
//! API), and helpers to pick steps out of a run.

use crate::{FakeApi, cache_dir};
use serde_json::Value;
use std::path::Path;
use weft_host::{RunResult, Runtime, StepRecord, Trigger, Weft};

pub const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");

pub fn example(file: &str) -> Value {
    let path = format!("{EXAMPLES}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// The engine as an embedding program sets it up: the bundled standard
/// components, history in sled under `sled`, and (when given) the `http`
/// connector granted the fake API.
pub async fn engine(sled: &Path, api: Option<&FakeApi>) -> Weft {
    let runtime = Runtime::builder()
        .cache_dir(cache_dir())
        .build()
        .expect("runtime");
    let mut builder = Weft::builder().runtime(runtime).sled(sled);
    for (_, bytes) in weft_components::standard() {
        builder = builder.component(bytes);
    }
    if let Some(api) = api {
        builder = builder.grant("http", &[api.base()]);
    }
    builder.build().await.expect("build weft")
}

pub async fn run(weft: &Weft, document: &Value, input: Value) -> RunResult {
    let plan = weft
        .validate(document)
        .unwrap_or_else(|e| panic!("{} does not validate: {e}", document["id"]));
    weft.run(&plan, input, Trigger::custom("test"))
        .await
        .expect("run")
}

/// Every step of block `id`, in order.
pub fn steps<'a>(result: &'a RunResult, id: &str) -> Vec<&'a StepRecord> {
    result.steps.iter().filter(|s| s.block_id == id).collect()
}

/// The one step of block `id`.
pub fn step<'a>(result: &'a RunResult, id: &str) -> &'a StepRecord {
    match steps(result, id).as_slice() {
        [one] => one,
        other => panic!("block {id} ran {} times, expected once", other.len()),
    }
}

pub fn block_order(result: &RunResult) -> Vec<&str> {
    result.steps.iter().map(|s| s.block_id.as_str()).collect()
}

pub fn iterations(result: &RunResult, id: &str) -> Vec<Vec<usize>> {
    steps(result, id)
        .iter()
        .map(|s| s.iteration.clone())
        .collect()
}

/// A short description of a finished run, for assertion messages.
pub fn describe(result: &RunResult) -> String {
    format!(
        "status {:?}, error {:?}, warnings {:?}, output {}",
        result.record.status, result.record.error, result.record.warnings, result.record.output
    )
}
