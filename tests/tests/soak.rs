//! Soak: 1,000 hostile invocations interleaved with normal ones on a
//! shared runtime. No crash, every normal invocation succeeds with the
//! right output, every hostile one fails with the expected typed error,
//! and the host's resident memory stays within a bound.

use serde_json::{Value, json};
use std::time::Duration;
use weft_host::{InvokeContext, InvokeError, LimitExceeded, Limits, Runtime};
use weft_tests::{FakeApi, cache_dir};

const HOSTILE: usize = 1000;
const CONCURRENCY: usize = 4;

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The hostile invocation number `i`, and a check of its error.
fn hostile_case(i: usize, api: &str) -> (&'static str, Value, fn(&InvokeError) -> bool) {
    match i % 7 {
        0 => ("spin", json!({}), |e| {
            matches!(
                e,
                InvokeError::Limit {
                    limit: LimitExceeded::Fuel { .. },
                    ..
                }
            )
        }),
        1 => ("memory-bomb", json!({}), |e| {
            matches!(
                e,
                InvokeError::Limit {
                    limit: LimitExceeded::Memory { .. },
                    ..
                }
            )
        }),
        2 => ("recurse", json!({"frames": "small"}), |e| {
            matches!(
                e,
                InvokeError::Limit {
                    limit: LimitExceeded::Stack,
                    ..
                }
            )
        }),
        3 => (
            "panic",
            json!({}),
            |e| matches!(e, InvokeError::Trap { message, .. } if message.contains("on purpose")),
        ),
        4 => ("huge-output", json!({"bytes": 200_000}), |e| {
            matches!(
                e,
                InvokeError::Limit {
                    limit: LimitExceeded::Output { .. },
                    ..
                }
            )
        }),
        5 => ("fetch", json!({"url": "http://evil.weft.test/"}), |e| {
            e.to_string().contains("declared")
        }),
        _ => ("fetch", json!({"url": format!("{api}/json")}), |e| {
            e.to_string().contains("grant")
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_hostile_invocations_leave_the_host_healthy() {
    let api = FakeApi::start().await;
    let rt = Runtime::builder()
        .cache_dir(cache_dir())
        .max_concurrent_instances(16)
        .build()
        .expect("runtime");
    let limits = Limits::default()
        .fuel(20_000_000)
        .memory_bytes(16 << 20)
        .output_bytes(64 << 10)
        .wall_clock(Duration::from_secs(5));
    let hostile = rt
        .load(weft_components::HOSTILE)
        .await
        .expect("hostile")
        .with_limits(limits)
        // Granted something else, so fetching the API is refused by the grant.
        .with_grant(&["http://allowed.weft.test:*"])
        .expect("grant");
    let echo = rt.load(weft_components::ECHO).await.expect("echo");

    // Warm up every slot the pool will use before taking the baseline.
    for round in 0..2 {
        let mut tasks = Vec::new();
        for i in 0..(CONCURRENCY * 7) {
            let (h, e, base) = (hostile.clone(), echo.clone(), api.base());
            tasks.push(tokio::spawn(async move {
                let (block, input, _) = hostile_case(i + round, &base);
                let _ = h.invoke(block, &input, &InvokeContext::default()).await;
                let _ = e
                    .invoke("echo", &json!({"value": i}), &InvokeContext::default())
                    .await;
            }));
        }
        for t in tasks {
            t.await.expect("warm-up task");
        }
    }
    let baseline = rss_bytes();

    let per_task = HOSTILE / CONCURRENCY;
    let mut tasks = Vec::new();
    for t in 0..CONCURRENCY {
        let (h, e, base) = (hostile.clone(), echo.clone(), api.base());
        tasks.push(tokio::spawn(async move {
            let mut normal_ok = 0;
            for n in 0..per_task {
                let i = t * per_task + n;
                let (block, input, expected) = hostile_case(i, &base);
                let report = h.invoke(block, &input, &InvokeContext::default()).await;
                let err = report.output.expect_err("hostile block must fail");
                assert!(
                    expected(&err),
                    "hostile #{i} ({block}) failed the wrong way: {err}"
                );

                let value = json!({"task": t, "n": n, "payload": "x".repeat(200)});
                let out = e
                    .invoke(
                        "echo",
                        &json!({ "value": value }),
                        &InvokeContext::default(),
                    )
                    .await
                    .output
                    .expect("normal invocation must succeed");
                assert_eq!(out["value"], value);
                normal_ok += 1;
            }
            normal_ok
        }));
    }
    let mut normal = 0;
    for t in tasks {
        normal += t.await.expect("soak task");
    }
    assert_eq!(normal, HOSTILE);
    let growth = rss_bytes().saturating_sub(baseline);
    assert!(
        growth < 96 << 20,
        "resident memory grew by {} MiB over the soak",
        growth >> 20
    );
    assert_eq!(api.hits(), 0, "no hostile request reached the API");
    eprintln!(
        "soak: {HOSTILE} hostile + {normal} normal invocations; RSS {} MiB → {} MiB",
        baseline >> 20,
        rss_bytes() >> 20
    );
}
