//! Capability-scoped HTTP through real components and a real server on
//! 127.0.0.1: declaration ∩ grant, SSRF address policy after resolution,
//! redirects re-checked per hop, size caps, timeouts, typed errors and
//! redacted call records.

use serde_json::{Value, json};
use std::net::IpAddr;
use std::time::Duration;
use weft_host::{
    BlockErrorKind, Connector, HttpLimits, InvokeContext, InvokeError, InvokeReport, Limits,
    Runtime,
};
use weft_tests::{FakeApi, cache_dir};

fn runtime() -> Runtime {
    let loopback: IpAddr = "127.0.0.1".parse().expect("ip");
    Runtime::builder()
        .cache_dir(cache_dir())
        .max_concurrent_instances(32)
        .dns_override("allowed.weft.test", &[loopback])
        .dns_override("acme.tenants.weft.test", &[loopback])
        .dns_override("evil.tenants.weft.test", &[loopback])
        .build()
        .expect("runtime")
}

async fn load(rt: &Runtime, bytes: &[u8], grant: &[String]) -> Connector {
    rt.load(bytes)
        .await
        .expect("load component")
        .with_grant(grant)
        .expect("grant")
}

async fn http_connector(rt: &Runtime, grant: &[String]) -> Connector {
    load(rt, weft_components::HTTP, grant).await
}

async fn hostile(rt: &Runtime, grant: &[String]) -> Connector {
    load(rt, weft_components::HOSTILE, grant).await
}

async fn call(c: &Connector, block: &str, input: Value) -> InvokeReport {
    c.invoke(block, &input, &InvokeContext::default()).await
}

/// The block error kind and message, or a panic naming what came instead.
fn block_error(report: &InvokeReport) -> (BlockErrorKind, String) {
    match &report.output {
        Err(InvokeError::Block { failure, .. }) => (failure.kind, failure.message.clone()),
        other => panic!("expected a block error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn granted_request_succeeds_and_is_recorded() {
    let api = FakeApi::start().await;
    let rt = runtime();
    let c = http_connector(&rt, &[api.base()]).await;
    let report = call(
        &c,
        "request",
        json!({"url": api.url("/json"), "query": {"page": 2}}),
    )
    .await;
    let out = report.output.expect("request succeeds");
    assert_eq!(out["status"], 200);
    assert_eq!(out["body"], json!({"ok": true}));
    assert_eq!(report.http_calls.len(), 1);
    let rec = &report.http_calls[0];
    assert_eq!(rec.method, "GET");
    assert_eq!(rec.url, api.url("/json?page=2"));
    assert_eq!(rec.status, Some(200));
    assert_eq!(rec.response_bytes, 11);
    assert_eq!(api.hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_reachable_without_a_grant() {
    let api = FakeApi::start().await;
    let rt = runtime();
    let c = rt.load(weft_components::HTTP).await.expect("load");
    let report = call(&c, "request", json!({"url": api.url("/json")})).await;
    let (kind, message) = block_error(&report);
    assert_eq!(kind, BlockErrorKind::Fatal);
    assert!(
        message.contains("not in the operator's grant") && message.contains("granted: nothing"),
        "{message}"
    );
    assert_eq!(
        report.http_calls.len(),
        1,
        "the refused attempt is recorded"
    );
    assert!(
        report.http_calls[0]
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("denied"))
    );
    assert_eq!(api.hits(), 0, "no byte left the host");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_but_not_granted_is_denied() {
    let api = FakeApi::start().await;
    let rt = runtime();
    // hostile declares http://127.0.0.1:* but the grant only names another host.
    let c = hostile(&rt, &["http://allowed.weft.test:*".into()]).await;
    let (_, message) = block_error(&call(&c, "fetch", json!({"url": api.url("/json")})).await);
    assert!(message.contains("not in the operator's grant"), "{message}");
    assert_eq!(api.hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn granted_but_not_declared_is_denied() {
    let rt = runtime();
    let c = hostile(&rt, &["*://*:*".into()]).await;
    let (_, message) =
        block_error(&call(&c, "fetch", json!({"url": "http://evil.weft.test/steal"})).await);
    assert!(
        message.contains("not among the hosts connector \"hostile\" declared"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheme_and_port_must_match() {
    let api = FakeApi::start().await;
    let rt = runtime();
    let other_port = if api.addr.port() == 1 { 2 } else { 1 };
    let c = http_connector(
        &rt,
        &[
            format!("http://127.0.0.1:{other_port}"),
            "https://127.0.0.1:*".into(),
        ],
    )
    .await;
    let (_, message) = block_error(&call(&c, "request", json!({"url": api.url("/json")})).await);
    assert!(message.contains("not in the operator's grant"), "{message}");
    assert_eq!(api.hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_granted_name_resolving_to_loopback_is_refused_unless_the_ip_is_named() {
    let api = FakeApi::start().await;
    let rt = runtime();
    let url = format!("http://allowed.weft.test:{}/json", api.addr.port());

    let c = hostile(&rt, &["http://allowed.weft.test:*".into()]).await;
    let report = call(&c, "fetch", json!({ "url": url })).await;
    let (_, message) = block_error(&report);
    assert!(
        message.contains("resolves to 127.0.0.1") && message.contains("name 127.0.0.1 explicitly"),
        "{message}"
    );
    assert_eq!(api.hits(), 0, "the connection was never made");

    // The same request once the operator names the address.
    let c = hostile(
        &rt,
        &[
            "http://allowed.weft.test:*".into(),
            "http://127.0.0.1:*".into(),
        ],
    )
    .await;
    let out = call(&c, "fetch", json!({ "url": url }))
        .await
        .output
        .expect("named address");
    assert_eq!(out["status"], 200);
    assert_eq!(api.hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_grants_never_reach_private_addresses() {
    let api = FakeApi::start().await;
    let rt = runtime();
    let c = http_connector(&rt, &["*://*:*".into()]).await;
    for url in [
        api.url("/json"),
        format!("http://[::1]:{}/json", api.addr.port()),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        "http://10.0.0.1/".to_string(),
    ] {
        let (_, message) = block_error(&call(&c, "request", json!({ "url": url })).await);
        assert!(
            message.contains("private, loopback or link-local"),
            "{url}: {message}"
        );
    }
    assert_eq!(api.hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_rechecked_hop_by_hop() {
    let api = FakeApi::start().await;
    let rt = runtime();
    let c = hostile(&rt, &[api.base()]).await;

    // To an allowed place: followed.
    let report = call(&c, "fetch", json!({"url": api.url("/redirect?to=/json")})).await;
    assert_eq!(report.output.as_ref().expect("followed")["status"], 200);
    assert_eq!(
        report
            .http_calls
            .iter()
            .map(|c| c.status)
            .collect::<Vec<_>>(),
        vec![Some(302), Some(200)]
    );

    // To a host the connector never declared: refused at the second hop.
    let report = call(
        &c,
        "fetch",
        json!({"url": api.url("/redirect?to=http://evil.weft.test/")}),
    )
    .await;
    let (_, message) = block_error(&report);
    assert!(
        message.contains("evil.weft.test") && message.contains("declared"),
        "{message}"
    );
    assert_eq!(report.http_calls.len(), 2);
    assert_eq!(report.http_calls[1].status, None);

    // To the metadata service through a connector that may call anything
    // public: refused by the address policy at the hop.
    let c = http_connector(&rt, &[api.base(), "*://*:*".into()]).await;
    let report = call(
        &c,
        "request",
        json!({"url": api.url("/redirect?to=http://169.254.169.254/latest/meta-data/&status=307")}),
    )
    .await;
    let (_, message) = block_error(&report);
    assert!(message.contains("169.254.169.254"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_caps_and_timeouts() {
    let api = FakeApi::start().await;
    let rt = runtime();
    let http = HttpLimits {
        max_response_bytes: 1000,
        max_request_bytes: 2000,
        timeout: Duration::from_millis(300),
        ..HttpLimits::default()
    };
    let c = http_connector(&rt, &[api.base()])
        .await
        .with_limits(Limits::default().http(http));

    let (kind, message) =
        block_error(&call(&c, "request", json!({"url": api.url("/big?bytes=5000")})).await);
    assert_eq!(kind, BlockErrorKind::Fatal);
    assert!(
        message.contains("too large") && message.contains("1000"),
        "{message}"
    );
    assert!(
        call(&c, "request", json!({"url": api.url("/big?bytes=900")}))
            .await
            .output
            .is_ok()
    );

    let big_body = "z".repeat(3000);
    let (_, message) = block_error(
        &call(
            &c,
            "request",
            json!({"method": "POST", "url": api.url("/echo"), "text": big_body}),
        )
        .await,
    );
    assert!(message.contains("request body is 3000 bytes"), "{message}");

    let (kind, message) =
        block_error(&call(&c, "request", json!({"url": api.url("/slow?ms=3000")})).await);
    assert_eq!(
        kind,
        BlockErrorKind::Transient,
        "timeouts are retryable: {message}"
    );
    assert!(message.contains("timed out"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_codes_become_typed_block_errors() {
    let api = FakeApi::start().await;
    let rt = runtime();
    let c = http_connector(&rt, &[api.base()]).await;
    let report = call(&c, "request", json!({"url": api.url("/status/404")})).await;
    assert_eq!(block_error(&report).0, BlockErrorKind::NotFound);
    let report = call(&c, "request", json!({"url": api.url("/status/503")})).await;
    assert_eq!(block_error(&report).0, BlockErrorKind::Transient);
    let report = call(&c, "request", json!({"url": api.url("/status/429")})).await;
    let err = report.output.expect_err("429");
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    // Opting out of status errors returns the status instead.
    let out = call(
        &c,
        "request",
        json!({"url": api.url("/status/404"), "fail_on_error_status": false}),
    )
    .await
    .output
    .expect("status returned");
    assert_eq!(out["status"], 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_redacted_from_call_records() {
    let api = FakeApi::start().await;
    let rt = runtime();
    let c = http_connector(&rt, &[api.base()]).await;
    let report = call(
        &c,
        "request",
        json!({
            "url": api.url("/json"),
            "query": {"api_key": "QUERY-SECRET-1", "q": "weft"},
            "headers": {"Authorization": "Bearer HEADER-SECRET-2", "X-Api-Key": "HEADER-SECRET-3", "Cookie": "s=HEADER-SECRET-4"},
        }),
    )
    .await;
    assert!(report.output.is_ok());
    let recorded = serde_json::to_string(&report.http_calls).expect("serialize");
    for secret in [
        "QUERY-SECRET-1",
        "HEADER-SECRET-2",
        "HEADER-SECRET-3",
        "HEADER-SECRET-4",
    ] {
        assert!(
            !recorded.contains(secret),
            "{secret} leaked into {recorded}"
        );
    }
    assert!(recorded.contains("q=weft") && recorded.contains("[redacted]"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_cannot_pick_another_virtual_host_or_embed_credentials() {
    let api = FakeApi::start().await;
    let rt = runtime();
    let c = http_connector(&rt, &[api.base()]).await;
    let out = call(
        &c,
        "request",
        json!({"url": api.url("/echo"), "headers": {"Host": "internal.admin"}}),
    )
    .await
    .output
    .expect("echo");
    assert_eq!(out["body"]["headers"]["host"], json!(api.addr.to_string()));

    let url = format!("http://user:pw@{}/json", api.addr);
    let (_, message) = block_error(&call(&c, "request", json!({ "url": url })).await);
    assert!(message.contains("credentials in URLs"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_field_fills_the_declared_tenant_host_and_nothing_else() {
    let api = FakeApi::start().await;
    let rt = runtime();
    // The grant is wide; the declaration `http://{tenant}.tenants.weft.test:*`
    // is what a connection's tenant narrows it to.
    let c = hostile(
        &rt,
        &[
            "http://*.tenants.weft.test:*".into(),
            "http://127.0.0.1:*".into(),
        ],
    )
    .await;
    let port = api.addr.port();
    let acme = format!("http://acme.tenants.weft.test:{port}/json");
    let evil = format!("http://evil.tenants.weft.test:{port}/json");
    let fetch = |tenant: Value, url: &str| {
        let ctx = InvokeContext {
            connection: json!({ "tenant": tenant }),
            ..InvokeContext::default()
        };
        let input = json!({ "url": url });
        let c = &c;
        async move { c.invoke("fetch", &input, &ctx).await }
    };
    let ok = fetch(json!("acme"), &acme).await;
    assert_eq!(
        ok.output.as_ref().map(|v| v["status"].clone()).ok(),
        Some(json!(200)),
        "{:?}",
        ok.output
    );
    assert_eq!(api.hits(), 1);
    for (tenant, url, why) in [
        (json!("acme"), evil.as_str(), "another tenant"),
        (Value::Null, acme.as_str(), "no tenant"),
        (json!("evil.acme"), evil.as_str(), "a tenant of two labels"),
        (
            json!("acme.tenants.weft.test/x"),
            acme.as_str(),
            "a tenant with a path",
        ),
    ] {
        let (_, message) = block_error(&fetch(tenant, url).await);
        assert!(
            message.contains("not among the hosts connector \"hostile\" declared"),
            "{why}: {message}"
        );
    }
    assert_eq!(api.hits(), 1, "nothing else reached the server");
}
