//! Every sandbox limit, proven with the `hostile` component: each
//! violation is a typed error naming the limit and the block, and the
//! runtime carries on serving normal invocations afterwards.

use serde_json::json;
use std::time::Duration;
use weft_host::{InvokeContext, InvokeError, LimitExceeded, Limits, Runtime};
use weft_tests::cache_dir;

fn runtime() -> Runtime {
    Runtime::builder()
        .cache_dir(cache_dir())
        .max_concurrent_instances(32)
        .build()
        .expect("runtime")
}

async fn hostile(rt: &Runtime) -> weft_host::Connector {
    rt.load(weft_components::HOSTILE)
        .await
        .expect("load hostile")
}

async fn echo(rt: &Runtime) -> weft_host::Connector {
    rt.load(weft_components::ECHO).await.expect("load echo")
}

fn limit_of(err: &InvokeError) -> (&str, &str, &LimitExceeded) {
    match err {
        InvokeError::Limit {
            connector,
            block,
            limit,
        } => (connector, block, limit),
        other => panic!("expected a limit error, got {other:?}"),
    }
}

async fn assert_still_serving(rt: &Runtime) {
    let echo = echo(rt).await;
    let out = echo
        .invoke(
            "echo",
            &json!({"value": [1, 2, 3]}),
            &InvokeContext::default(),
        )
        .await
        .output
        .expect("echo after a hostile block");
    assert_eq!(out["value"], json!([1, 2, 3]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_loop_runs_out_of_fuel() {
    let rt = runtime();
    let c = hostile(&rt)
        .await
        .with_limits(Limits::default().fuel(50_000_000));
    let report = c
        .invoke("spin", &json!({}), &InvokeContext::default())
        .await;
    let err = report.output.expect_err("spin must not finish");
    let (connector, block, limit) = limit_of(&err);
    assert_eq!((connector, block), ("hostile", "spin"));
    assert_eq!(limit, &LimitExceeded::Fuel { limit: 50_000_000 });
    assert_eq!(report.fuel_used, Some(50_000_000));
    assert!(err.to_string().contains("hostile/spin"), "{err}");
    assert_still_serving(&rt).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_loop_hits_the_wall_clock_without_fuel() {
    let rt = Runtime::builder()
        .cache_dir(cache_dir())
        .fuel_metering(false)
        .build()
        .expect("runtime");
    let c = hostile(&rt).await.with_block_limits(
        "spin",
        Limits::default().wall_clock(Duration::from_millis(200)),
    );
    let report = c
        .invoke("spin", &json!({}), &InvokeContext::default())
        .await;
    let err = report.output.expect_err("spin must not finish");
    let (_, block, limit) = limit_of(&err);
    assert_eq!(block, "spin");
    assert!(
        matches!(limit, LimitExceeded::WallClock { limit_ms: 200 }),
        "{limit:?}"
    );
    assert_eq!(report.fuel_used, None);
    assert_still_serving(&rt).await;
}

#[test]
fn a_spinning_guest_does_not_starve_other_tasks() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    // One thread for everything: if the guest never yielded, the ticker task
    // could not run at all while the guest spun.
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("current-thread runtime");
    let ticks = Arc::new(AtomicU32::new(0));
    let counter = ticks.clone();
    let during_spin = tokio.block_on(async move {
        let rt = Runtime::builder()
            .cache_dir(cache_dir())
            .fuel_metering(false)
            .build()
            .expect("runtime");
        let c = hostile(&rt)
            .await
            .with_limits(Limits::default().wall_clock(Duration::from_millis(400)));
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        let before = ticks.load(Ordering::SeqCst);
        let spin = c
            .invoke("spin", &json!({}), &InvokeContext::default())
            .await;
        assert!(spin.output.is_err());
        let after = ticks.load(Ordering::SeqCst);
        ticker.abort();
        after - before
    });
    // 400 ms of spinning at one tick per 10 ms; allow a wide margin for a
    // loaded machine, but zero would mean the thread was never handed back.
    assert!(during_spin >= 5, "ticker advanced only {during_spin} times");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_bomb_hits_the_memory_cap() {
    let rt = runtime();
    let c = hostile(&rt)
        .await
        .with_block_limits("memory-bomb", Limits::default().memory_bytes(32 << 20));
    let err = c
        .invoke("memory-bomb", &json!({}), &InvokeContext::default())
        .await
        .output
        .expect_err("bomb must not finish");
    let (_, block, limit) = limit_of(&err);
    assert_eq!(block, "memory-bomb");
    match limit {
        LimitExceeded::Memory {
            limit_bytes,
            requested_bytes,
        } => {
            assert_eq!(*limit_bytes, 32 << 20);
            assert!(*requested_bytes > 32 << 20);
        }
        other => panic!("expected memory limit, got {other:?}"),
    }
    assert_still_serving(&rt).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_recursion_exhausts_the_wasm_stack() {
    let rt = runtime();
    let c = hostile(&rt).await;
    let err = c
        .invoke(
            "recurse",
            &json!({"frames": "small"}),
            &InvokeContext::default(),
        )
        .await
        .output
        .expect_err("recursion must not finish");
    let (_, block, limit) = limit_of(&err);
    assert_eq!(block, "recurse");
    assert_eq!(limit, &LimitExceeded::Stack);
    assert_still_serving(&rt).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recursion_overflowing_the_guest_stack_is_a_contained_crash() {
    // Rust keeps large locals on a stack inside linear memory; overflowing
    // it is an out-of-bounds access, reported with a hint.
    let rt = runtime();
    let c = hostile(&rt).await;
    let err = c
        .invoke(
            "recurse",
            &json!({"frames": "large"}),
            &InvokeContext::default(),
        )
        .await
        .output
        .expect_err("recursion must not finish");
    match &err {
        InvokeError::Trap { block, message, .. } => {
            assert_eq!(block, "recurse");
            assert!(
                message.contains("out of bounds") && message.contains("recursion"),
                "{message}"
            );
        }
        other => panic!("expected a crash, got {other:?}"),
    }
    assert_still_serving(&rt).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_is_reported_with_its_message() {
    let rt = runtime();
    let c = hostile(&rt).await;
    let err = c
        .invoke("panic", &json!({}), &InvokeContext::default())
        .await
        .output
        .expect_err("panic");
    match &err {
        InvokeError::Trap {
            connector,
            block,
            message,
        } => {
            assert_eq!((connector.as_str(), block.as_str()), ("hostile", "panic"));
            assert!(
                message.contains("hostile block panicked on purpose"),
                "{message}"
            );
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    assert_still_serving(&rt).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_output_is_refused() {
    let rt = runtime();
    let c = hostile(&rt)
        .await
        .with_limits(Limits::default().output_bytes(64 << 10));
    let err = c
        .invoke(
            "huge-output",
            &json!({"bytes": 1 << 20}),
            &InvokeContext::default(),
        )
        .await
        .output
        .expect_err("too big");
    let (_, block, limit) = limit_of(&err);
    assert_eq!(block, "huge-output");
    assert!(
        matches!(limit, LimitExceeded::Output { limit_bytes: 65536, actual_bytes } if *actual_bytes > 1 << 20)
    );
    // Under the cap the same block works.
    let ok = c
        .invoke(
            "huge-output",
            &json!({"bytes": 1000}),
            &InvokeContext::default(),
        )
        .await
        .output
        .expect("small output");
    assert_eq!(ok.as_str().map(str::len), Some(1000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_files_no_environment_no_sockets() {
    let rt = runtime();
    let c = hostile(&rt).await;
    let out = c
        .invoke(
            "escape",
            &json!({"path": "/etc/passwd"}),
            &InvokeContext::default(),
        )
        .await
        .output
        .expect("escape reports what it saw");
    assert!(
        out["file"]["error"].is_string(),
        "file read must fail: {out}"
    );
    assert!(
        out["dir"]["error"].is_string(),
        "listing / must fail: {out}"
    );
    assert_eq!(out["env"], json!([]), "environment must be empty: {out}");
    assert!(
        out["socket"]["error"].is_string(),
        "sockets must fail: {out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_level_fuel_budget_and_deadline_lower_the_block_limits() {
    let rt = runtime();
    let c = hostile(&rt).await;
    let ctx = InvokeContext {
        fuel_budget: Some(1_000_000),
        ..InvokeContext::default()
    };
    let err = c
        .invoke("spin", &json!({}), &ctx)
        .await
        .output
        .expect_err("spin");
    assert!(matches!(
        limit_of(&err).2,
        LimitExceeded::Fuel { limit: 1_000_000 }
    ));

    let ctx = InvokeContext {
        deadline: Some(std::time::Instant::now() + Duration::from_millis(100)),
        ..InvokeContext::default()
    };
    let err = c
        .invoke("spin", &json!({}), &ctx)
        .await
        .output
        .expect_err("spin");
    assert!(matches!(
        limit_of(&err).2,
        LimitExceeded::WallClock { .. } | LimitExceeded::Fuel { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_block_names_the_alternatives() {
    let rt = runtime();
    let c = echo(&rt).await;
    let err = c
        .invoke("nope", &json!({}), &InvokeContext::default())
        .await
        .output
        .expect_err("unknown block");
    let text = err.to_string();
    assert!(
        text.contains("\"nope\"") && text.contains("echo, log, fail"),
        "{text}"
    );
}
