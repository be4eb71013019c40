//! Hot paths of running automations (issue: "Automations"), history on:
//!
//! - `run/3-block`: start → std `lists/transform` → condition → output,
//!   end to end with every step written to sled — median latency;
//! - `throughput/3-block-2-tasks`: the same from 2 concurrent tasks
//!   (elements/s = runs/s);
//! - `loop/10k-items-2-blocks`: a loop over 10,000 items through
//!   `math/calculate` and `text/join` (elements/s = block invocations/s).
//!
//! Run with `cargo bench -p weft-host --bench automations`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use weft_host::automation::Plan;
use weft_host::{RunStatus, Runtime, Trigger, Weft};

fn engine(tokio: &tokio::runtime::Runtime, dir: &std::path::Path) -> Weft {
    tokio.block_on(async {
        let runtime = Runtime::builder()
            .cache_dir(std::env::temp_dir().join("weft-bench-cache"))
            .build()
            .expect("runtime");
        let mut b = Weft::builder().runtime(runtime).sled(dir);
        for (_, bytes) in weft_components::standard() {
            b = b.component(bytes);
        }
        b.build().await.expect("weft")
    })
}

fn three_blocks() -> Value {
    json!({
        "weft": "automation/v1", "id": "bench-3", "name": "3 blocks",
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Shape", "type": "connector", "connector": "lists", "block": "transform",
             "inputs": {"list": "{$.Start.items}", "rename": {"value": "amount"}}},
            {"id": "Big", "type": "condition", "condition": {"clauses": [{"left": "{$.Shape.count}", "op": ">", "right": 2}]}},
            {"id": "Out", "type": "output", "mode": "set", "value": "{$.Shape.list}"}
        ],
        "edges": [
            {"from": "Start", "to": "Shape"}, {"from": "Shape", "to": "Big"},
            {"from": "Big", "to": "Out", "branch": "true"}
        ]
    })
}

fn loop_doc() -> Value {
    json!({
        "weft": "automation/v1", "id": "bench-loop", "name": "loop",
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Each", "type": "loop", "over": "{$.Start.items}"},
            {"id": "Double", "type": "connector", "connector": "math", "block": "calculate",
             "inputs": {"operation": "multiply", "a": "{item.value}", "b": 2}},
            {"id": "Label", "type": "connector", "connector": "text", "block": "join",
             "inputs": {"parts": ["item", "{item.id}", "{$.Double.result}"], "separator": "-"}}
        ],
        "edges": [
            {"from": "Start", "to": "Each"}, {"from": "Each", "to": "Double", "branch": "body"},
            {"from": "Double", "to": "Label"}
        ]
    })
}

fn trigger() -> Trigger {
    Trigger::custom("bench")
}

async fn run_once(weft: &Weft, plan: &Plan, input: &Value) {
    let r = weft.run(plan, input.clone(), trigger()).await.expect("run");
    assert_eq!(r.record.status, RunStatus::Finished, "{:?}", r.record.error);
}

fn bench(c: &mut Criterion) {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    let dir = tempfile::tempdir().expect("tempdir");
    let weft = engine(&tokio, dir.path());
    let plan = Arc::new(weft.validate(&three_blocks()).expect("valid"));
    let input =
        json!({"items": [{"id": 1, "value": 3}, {"id": 2, "value": 8}, {"id": 3, "value": 9}]});

    let mut group = c.benchmark_group("run");
    group.throughput(Throughput::Elements(1));
    group.bench_function("3-block", |b| {
        b.to_async(&tokio).iter(|| run_once(&weft, &plan, &input))
    });
    group.finish();

    let mut group = c.benchmark_group("throughput");
    group.throughput(Throughput::Elements(1));
    group.bench_function("3-block-2-tasks", |b| {
        b.iter_custom(|iters| {
            let per_task = iters.div_ceil(2);
            tokio.block_on(async {
                let start = Instant::now();
                let tasks: Vec<_> = (0..2)
                    .map(|_| {
                        let (weft, plan, input) = (weft.clone(), plan.clone(), input.clone());
                        tokio::spawn(async move {
                            for _ in 0..per_task {
                                run_once(&weft, &plan, &input).await;
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("task");
                }
                start
                    .elapsed()
                    .mul_f64(iters as f64 / (per_task * 2) as f64)
            })
        })
    });
    group.finish();

    let plan = weft.validate(&loop_doc()).expect("valid");
    let items: Vec<Value> = (0..10_000)
        .map(|i| json!({"id": i, "value": i % 97}))
        .collect();
    let input = json!({ "items": items });
    let mut group = c.benchmark_group("loop");
    group.sample_size(10);
    // Two block invocations per item.
    group.throughput(Throughput::Elements(20_000));
    group.bench_function("10k-items-2-blocks", |b| {
        b.to_async(&tokio).iter(|| run_once(&weft, &plan, &input))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
