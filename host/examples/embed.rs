//! Embedding Weft: an engine with the bundled standard blocks, an
//! automation written inline, one run, its output and a per-step log.
//! No network.
//!
//! ```sh
//! cargo run --release -p weft-host --example embed
//! ```
//!
//! `cargo test -p weft-host --example embed` runs it too: it exits non-zero
//! when the run does not give the expected output.

use serde_json::json;
use weft_host::{RunStatus, Runtime, Trigger, Weft};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The runtime compiles each WebAssembly component once and keeps the
    // result in a cache directory, so later starts are fast.
    let runtime = Runtime::builder()
        .cache_dir(std::env::temp_dir().join("weft-embed-example-cache"))
        .build()?;

    // The engine: the standard blocks (`http`, `lists`, `text`, `json`,
    // `datetime`, `math`) and a sled database for the run history. No
    // connector is granted any host, so nothing here can reach the network.
    let history = tempfile::tempdir()?;
    let mut builder = Weft::builder().runtime(runtime).sled(history.path());
    for (_name, bytes) in weft_components::standard() {
        builder = builder.component(bytes);
    }
    let weft = builder.build().await?;

    // An automation (format automation/v1): split the tags text from the
    // trigger payload, drop repeats, sort, and output them with a count.
    let automation = json!({
        "weft": "automation/v1",
        "id": "tidy-tags",
        "name": "Tidy tags",
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Split", "type": "connector", "connector": "text", "block": "split",
             "inputs": {"text": "{$.Start.tags}", "separator": ","}},
            {"id": "Unique", "type": "connector", "connector": "lists", "block": "deduplicate",
             "inputs": {"list": "{$.Split.parts}"}},
            {"id": "Sorted", "type": "connector", "connector": "lists", "block": "sort",
             "inputs": {"list": "{$.Unique.list}"}},
            {"id": "Result", "type": "output", "mode": "set",
             "value": {"tags": "{$.Sorted.list}", "count": "{$.Sorted.count}",
                       "first": "{uppercase: $.Sorted.list[0]}"}}
        ],
        "edges": [
            {"from": "Start", "to": "Split"},
            {"from": "Split", "to": "Unique"},
            {"from": "Unique", "to": "Sorted"},
            {"from": "Sorted", "to": "Result"}
        ]
    });

    // Validation checks the graph, every reference and every literal input
    // against the blocks' schemas, and lists all problems at once.
    let plan = weft.validate(&automation)?;

    // Run it with a trigger payload (`$.Start`).
    let input = json!({"tags": "rust,wasm,automation,rust,sandbox,wasm"});
    let trigger = Trigger::custom("embedded");
    let result = weft.run(&plan, input, trigger).await?;

    println!("{}", serde_json::to_string_pretty(&result.record.output)?);
    for step in &result.steps {
        let what = step.target.as_deref().unwrap_or(&step.block_type);
        println!(
            "step {} {:<7} {:<18} {:?} in {} µs",
            step.seq, step.block_id, what, step.status, step.duration_us
        );
    }
    println!("run {} {:?}", result.record.id, result.record.status);

    // The same run, as the history store keeps it.
    let stored = weft.store().steps(&result.record.id)?;
    assert_eq!(stored.len(), result.steps.len());

    let expected = json!({
        "tags": ["automation", "rust", "sandbox", "wasm"],
        "count": 4,
        "first": "AUTOMATION",
    });
    if result.record.status != RunStatus::Finished || result.record.output != expected {
        eprintln!(
            "unexpected result: {:?}, expected output {expected}",
            result.record
        );
        std::process::exit(1);
    }
    Ok(())
}
