//! Hot paths of the sandbox runtime (issue: "Sandboxed block runtime"):
//!
//! - `invoke/echo-200B/fuel-on` and `.../fuel-off`: instantiate a fresh
//!   store + instance and invoke a small block with ~200 bytes of JSON,
//!   one at a time (median latency);
//! - `throughput/2-tasks`: the same invocation from 2 concurrent tokio
//!   tasks on a 2-worker runtime (criterion's elements/s = invocations/s).
//!
//! Run with `cargo bench -p weft-host --bench runtime`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use std::time::{Duration, Instant};
use weft_host::{Connector, InvokeContext, Runtime};

fn input() -> serde_json::Value {
    // ~200 bytes of JSON, the size of a typical small block input.
    json!({"value": {
        "id": 4711, "name": "Ada Lovelace", "email": "ada@example.com",
        "tags": ["analytics", "engine", "notes"], "active": true,
        "address": {"city": "London", "zip": "W1"}, "score": 98.5,
        "note": "first programmer"
    }})
}

fn connector(tokio: &tokio::runtime::Runtime, fuel: bool) -> Connector {
    tokio.block_on(async {
        let mut builder = Runtime::builder();
        // For tuning experiments: WEFT_BENCH_KEEP_RESIDENT=bytes.
        if let Some(bytes) = std::env::var("WEFT_BENCH_KEEP_RESIDENT")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            builder = builder.keep_resident_bytes(bytes);
        }
        let rt = builder
            .fuel_metering(fuel)
            .cache_dir(std::env::temp_dir().join("weft-bench-cache"))
            .build()
            .expect("runtime");
        rt.load(weft_components::ECHO).await.expect("load echo")
    })
}

fn bench_invoke(c: &mut Criterion) {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    let input = input();
    assert!(
        input.to_string().len() >= 180,
        "bench input should be ~200 bytes"
    );
    let ctx = InvokeContext::default();

    let mut group = c.benchmark_group("invoke");
    group.throughput(Throughput::Elements(1));
    for (name, fuel) in [("echo-200B/fuel-on", true), ("echo-200B/fuel-off", false)] {
        let conn = connector(&tokio, fuel);
        // Fail loudly rather than benchmark an error path.
        let check = tokio.block_on(conn.invoke("echo", &input, &ctx));
        assert!(check.output.is_ok(), "{:?}", check.output);
        group.bench_function(name, |b| {
            b.to_async(&tokio).iter(|| async {
                let r = conn.invoke("echo", &input, &ctx).await;
                debug_assert!(r.output.is_ok());
                r
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("throughput");
    group.throughput(Throughput::Elements(1));
    let conn = connector(&tokio, true);
    group.bench_function("2-tasks/fuel-on", |b| {
        b.iter_custom(|iters| {
            let per_task = iters.div_ceil(2);
            tokio.block_on(async {
                let start = Instant::now();
                let tasks: Vec<_> = (0..2)
                    .map(|_| {
                        let (conn, input) = (conn.clone(), input.clone());
                        tokio::spawn(async move {
                            let ctx = InvokeContext::default();
                            for _ in 0..per_task {
                                let r = conn.invoke("echo", &input, &ctx).await;
                                assert!(r.output.is_ok());
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("bench task");
                }
                // Report time per invocation across both tasks.
                start
                    .elapsed()
                    .mul_f64(iters as f64 / (per_task * 2) as f64)
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = bench_invoke
}
criterion_main!(benches);
