//! The engine the walk tests share: a real [`Weft`] with the standard
//! components and the echo component, history in a sled store under the
//! test's directory, and helpers to write and run small automations.

use serde_json::{Value, json};
use weft_host::{RunResult, Trigger, Weft};

/// A Weft with the standard components and echo, its history under
/// `dir`; `grants` (if any) are the http connector's.
pub async fn weft_with(dir: &std::path::Path, grants: &[String]) -> Weft {
    let runtime = weft_host::Runtime::builder()
        .cache_dir(crate::cache_dir())
        .max_concurrent_instances(16)
        .build()
        .expect("runtime");
    let mut b = Weft::builder().runtime(runtime).sled(dir.join("history"));
    for (_, bytes) in weft_components::standard() {
        b = b.component(bytes);
    }
    b = b.component(weft_components::ECHO);
    if !grants.is_empty() {
        b = b.grant("http", grants);
    }
    b.build().await.expect("weft")
}

/// An automation `t` of `blocks`, `edges` and `variables`.
pub fn doc(blocks: Value, edges: Value, variables: Value) -> Value {
    json!({
        "weft": "automation/v1", "id": "t", "name": "Test",
        "variables": variables, "blocks": blocks, "edges": edges,
    })
}

/// Validate `document` (panicking with the problems) and run it.
pub async fn run(weft: &Weft, document: Value, input: Value) -> RunResult {
    let plan = weft.validate(&document).unwrap_or_else(|e| panic!("{e}"));
    weft.run(&plan, input, Trigger::custom("test"))
        .await
        .expect("run")
}
