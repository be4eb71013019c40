//! Contract versioning and loading: one test component per supported
//! contract version, clear refusals for anything else, and the on-disk
//! compilation cache.

use serde_json::json;
use weft_host::{InvokeContext, LoadError, Runtime};
use weft_tests::cache_dir;

fn runtime_with_cache(dir: &std::path::Path) -> Runtime {
    Runtime::builder()
        .cache_dir(dir)
        .max_concurrent_instances(8)
        .build()
        .expect("runtime")
}

/// Contract 0.1.0: the `echo` component is built against exactly that
/// snapshot of the WIT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_0_1_0_component_loads_and_runs() {
    let rt = runtime_with_cache(&cache_dir());
    let echo = rt.load(weft_components::ECHO).await.expect("load echo");
    assert_eq!(echo.contract_version(), "0.1.0");
    let m = echo.manifest();
    assert_eq!((m.id.as_str(), m.contract.as_str()), ("echo", "0.1.0"));
    assert_eq!(
        m.blocks.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
        ["echo", "log", "fail"]
    );
    // Schemas are derived from the Rust types by the SDK.
    let schema = &m.block("echo").expect("echo block").input_schema;
    assert_eq!(schema["required"], json!(["value"]));

    let ctx = InvokeContext {
        step_id: "step-7".into(),
        ..InvokeContext::default()
    };
    let out = echo
        .invoke("echo", &json!({"value": {"a": [1, "b"]}}), &ctx)
        .await
        .output
        .expect("echo");
    assert_eq!(out, json!({"value": {"a": [1, "b"]}, "step_id": "step-7"}));

    let report = echo
        .invoke("log", &json!({"lines": ["one", "two"]}), &ctx)
        .await;
    assert_eq!(report.output.expect("log")["logged"], 2);
    let lines: Vec<_> = report.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(lines, ["one", "two"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_block_error_kind_crosses_the_boundary() {
    let rt = runtime_with_cache(&cache_dir());
    let echo = rt.load(weft_components::ECHO).await.expect("load echo");
    for (kind, retryable) in [
        ("invalid-input", false),
        ("unauthorized", false),
        ("not-found", false),
        ("rate-limited", true),
        ("transient", true),
        ("fatal", false),
    ] {
        let err = echo
            .invoke("fail", &json!({ "kind": kind }), &InvokeContext::default())
            .await
            .output
            .expect_err("fail block fails");
        let weft_host::InvokeError::Block { failure, block, .. } = &err else {
            panic!("expected a block error, got {err:?}");
        };
        assert_eq!(block, "fail");
        assert_eq!(
            serde_json::to_value(failure.kind).expect("kind"),
            json!(kind)
        );
        assert_eq!(err.is_retryable(), retryable, "{kind}");
        assert!(failure.message.contains(kind));
    }
    let err = echo
        .invoke(
            "fail",
            &json!({ "kind": "rate-limited" }),
            &InvokeContext::default(),
        )
        .await
        .output
        .expect_err("rate limited");
    assert_eq!(
        err.retry_after(),
        Some(std::time::Duration::from_millis(1500))
    );
    // Input that does not match the block's type is an invalid-input error
    // produced by the SDK, naming the problem.
    let err = echo
        .invoke("fail", &json!({ "kind": 5 }), &InvokeContext::default())
        .await
        .output
        .expect_err("bad input");
    assert!(
        err.to_string().contains("InvalidInput") && err.to_string().contains("kind"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_of_other_contracts_are_refused_with_the_supported_list() {
    let rt = runtime_with_cache(&cache_dir());
    let empty = wat::parse_str("(component)").expect("wat");
    match rt.load(&empty).await {
        Err(LoadError::UnsupportedContract { found, supported }) => {
            assert_eq!(found, None);
            assert_eq!(supported, ["0.1.0"]);
        }
        Err(other) => panic!("expected unsupported contract, got {other}"),
        Ok(_) => panic!("an empty component must not load"),
    }

    let future = wat::parse_str(
        r#"(component
            (core module $m (func (export "f")))
            (core instance $i (instantiate $m))
            (func $f (canon lift (core func $i "f")))
            (instance $inst (export "describe" (func $f)))
            (export "weft:connector/connector@0.9.0" (instance $inst)))"#,
    )
    .expect("wat");
    let err = rt
        .load(&future)
        .await
        .err()
        .expect("0.9.0 is not supported");
    let text = err.to_string();
    assert!(
        text.contains("weft:connector/connector@0.9.0") && text.contains("0.1.0"),
        "{text}"
    );

    let err = rt.load(b"not wasm at all").await.err().expect("garbage");
    assert!(matches!(err, LoadError::Compile(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiled_components_are_cached_on_disk_and_survive_corruption() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime_with_cache(dir.path());
    let echo = rt
        .load(weft_components::ECHO)
        .await
        .expect("first load compiles");
    let cached = dir.path().join(format!("{}.cwasm", echo.component_hash()));
    assert!(cached.exists(), "no cache file at {}", cached.display());
    let first = std::fs::metadata(&cached)
        .expect("meta")
        .modified()
        .expect("mtime");

    // A second runtime with the same settings loads from the cache: the
    // file is not rewritten.
    let rt2 = runtime_with_cache(dir.path());
    let echo2 = rt2.load(weft_components::ECHO).await.expect("cached load");
    assert_eq!(echo2.component_hash(), echo.component_hash());
    assert_eq!(
        std::fs::metadata(&cached)
            .expect("meta")
            .modified()
            .expect("mtime"),
        first
    );
    assert!(
        echo2
            .invoke("echo", &json!({"value": 1}), &InvokeContext::default())
            .await
            .output
            .is_ok()
    );

    // Different engine settings (no fuel) → a different key, never a stale artifact.
    let rt3 = Runtime::builder()
        .cache_dir(dir.path())
        .fuel_metering(false)
        .build()
        .expect("rt");
    let echo3 = rt3.load(weft_components::ECHO).await.expect("load");
    assert_ne!(echo3.component_hash(), echo.component_hash());

    // A corrupt cache file is discarded and recompiled.
    std::fs::write(&cached, b"garbage").expect("corrupt");
    let rt4 = runtime_with_cache(dir.path());
    let echo4 = rt4.load(weft_components::ECHO).await.expect("recompiles");
    assert!(
        echo4
            .invoke("echo", &json!({"value": 2}), &InvokeContext::default())
            .await
            .output
            .is_ok()
    );
    assert!(std::fs::metadata(&cached).expect("meta").len() > 1000);
}
