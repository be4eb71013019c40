//! Credential injection through a real component and a real server on
//! 127.0.0.1: each kind arrives where the API expects it, replacing the
//! guest's own value; requests that fail the check get nothing; an echo of
//! the secret comes back to the guest as `[redacted]` and is in no record;
//! 401 → refresh → retry; credential failures become
//! `InvokeError::Connection`; operator routes keep the checked URL.

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use weft_host::credentials::{
    Credential, CredentialError, CredentialSource, Secret, StaticCredential,
};
use weft_host::{BlockErrorKind, Connector, InvokeContext, InvokeError, InvokeReport, Runtime};
use weft_tests::{FakeApi, cache_dir};

type Future<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// What the `/seen` route saw: every header value (all of them, so a
/// duplicate would show) and the raw query string.
#[derive(Debug, Clone, Default)]
struct Seen {
    headers: Vec<(String, String)>,
    query: Option<String>,
}

impl Seen {
    fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The query's pairs, form-decoded.
    fn query_pairs(&self) -> Vec<(String, String)> {
        let decode = |s: &str| {
            let bytes = s.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                match bytes[i] {
                    b'+' => out.push(b' '),
                    b'%' => {
                        let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("escape");
                        out.push(u8::from_str_radix(hex, 16).expect("hex"));
                        i += 2;
                    }
                    b => out.push(b),
                }
                i += 1;
            }
            String::from_utf8(out).expect("utf-8")
        };
        self.query
            .as_deref()
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect()
    }
}

/// A FakeApi with two more routes:
/// - `ANY /seen` remembers the request and echoes its headers and raw
///   query in the body, and its Authorization in a response header;
/// - `GET /protected` answers 200 only to `Authorization: Bearer <valid>`,
///   else 401.
struct Api {
    api: FakeApi,
    seen: Arc<Mutex<Vec<Seen>>>,
    valid: Arc<Mutex<String>>,
}

async fn api() -> Api {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let valid = Arc::new(Mutex::new(String::new()));
    let (seen2, valid2) = (seen.clone(), valid.clone());
    let extra = Router::new()
        .route(
            "/seen",
            any(move |headers: HeaderMap, uri: Uri| {
                let seen = seen2.clone();
                async move {
                    let record = Seen {
                        headers: headers
                            .iter()
                            .map(|(k, v)| {
                                (
                                    k.to_string(),
                                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                )
                            })
                            .collect(),
                        query: uri.query().map(str::to_string),
                    };
                    seen.lock().expect("lock").push(record.clone());
                    let auth = record.header("authorization").join(", ");
                    let body = json!({"headers": record.headers, "query": record.query});
                    ([("x-seen-authorization", auth)], axum::Json(body)).into_response()
                }
            }),
        )
        .route(
            "/protected",
            get(move |headers: HeaderMap| {
                let valid = valid2.clone();
                async move {
                    let expected = format!("Bearer {}", valid.lock().expect("lock"));
                    let given = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    if given == expected {
                        axum::Json(json!({"ok": true})).into_response()
                    } else {
                        (StatusCode::UNAUTHORIZED, "bad token").into_response()
                    }
                }
            }),
        );
    Api {
        api: FakeApi::start_with(extra).await,
        seen,
        valid,
    }
}

impl Api {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

fn runtime() -> Runtime {
    Runtime::builder()
        .cache_dir(cache_dir())
        .max_concurrent_instances(32)
        .build()
        .expect("runtime")
}

async fn http_connector(rt: &Runtime, grant: &[String]) -> Connector {
    rt.load(weft_components::HTTP)
        .await
        .expect("load http")
        .with_grant(grant)
        .expect("grant")
}

fn with(source: Arc<dyn CredentialSource>) -> InvokeContext {
    InvokeContext {
        credentials: Some(source),
        ..InvokeContext::default()
    }
}

/// Everything an invocation hands back, as text: output or error, records,
/// logs — the report's `Debug` covers them all, and the records are also
/// serialized as the history stores them.
fn everything(report: &InvokeReport) -> String {
    format!(
        "{report:?}\n{}",
        serde_json::to_string(&report.http_calls).expect("serialize calls")
    )
}

fn assert_no_secret(report: &InvokeReport, secrets: &[&str]) {
    let text = everything(report);
    for s in secrets {
        assert!(!text.contains(s), "{s:?} leaked into {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_arrives_replaces_the_guests_value_and_never_comes_back() {
    let api = api().await;
    let rt = runtime();
    let c = http_connector(&rt, &[api.api.base()]).await;
    // The guest tries to set every place a credential goes itself.
    let input = json!({
        "url": api.api.url("/seen?x=1"),
        "query": {"k": "guest-query"},
        "headers": {"Authorization": "Bearer guest-token", "x-weft-key": "guest-key"},
    });
    let basic_pair = "YWRhOmJhc2ljLVNFQ1JFVC00"; // base64("ada:basic-SECRET-4")
    let cases: Vec<(Credential, Vec<&str>)> = vec![
        (
            Credential::ApiKeyHeader {
                name: "X-Weft-Key".into(),
                value: Secret::new("hdr-SECRET-1"),
            },
            vec!["hdr-SECRET-1"],
        ),
        (
            Credential::ApiKeyQuery {
                name: "k".into(),
                value: Secret::new("q SECRET+2/&"),
            },
            // As given, as a query string carries it, as JSON carries it.
            vec![
                "q SECRET+2/&",
                "q+SECRET%2B2%2F%26",
                "SECRET+2",
                "SECRET%2B2",
            ],
        ),
        (
            Credential::Bearer(Secret::new("bearer-SECRET-3")),
            vec!["bearer-SECRET-3"],
        ),
        (
            Credential::Basic {
                username: "ada".into(),
                password: Secret::new("basic-SECRET-4"),
            },
            vec!["basic-SECRET-4", basic_pair],
        ),
    ];
    for (i, (credential, secrets)) in cases.into_iter().enumerate() {
        let report = c
            .invoke(
                "request",
                &input,
                &with(StaticCredential::new(credential.clone())),
            )
            .await;
        let out = report.output.as_ref().expect("request succeeds");
        assert_eq!(report.http_calls.len(), 1);
        let seen = api.seen();
        assert_eq!(seen.len(), i + 1);
        let seen = &seen[i];

        // What the API received.
        match &credential {
            Credential::ApiKeyHeader { .. } => {
                assert_eq!(seen.header("x-weft-key"), vec!["hdr-SECRET-1"]);
                assert_eq!(seen.header("authorization"), vec!["Bearer guest-token"]);
            }
            Credential::ApiKeyQuery { .. } => {
                assert_eq!(
                    seen.query_pairs(),
                    vec![
                        ("x".to_string(), "1".to_string()),
                        ("k".to_string(), "q SECRET+2/&".to_string())
                    ],
                    "the guest's k is replaced"
                );
                assert_eq!(seen.header("x-weft-key"), vec!["guest-key"]);
            }
            Credential::Bearer(_) => {
                assert_eq!(
                    seen.header("authorization"),
                    vec!["Bearer bearer-SECRET-3"],
                    "the guest's Authorization is replaced, not added to"
                );
            }
            Credential::Basic { .. } => {
                assert_eq!(
                    seen.header("authorization"),
                    vec![format!("Basic {basic_pair}")]
                );
            }
            Credential::None => unreachable!(),
        }

        // What the guest got back: the echo, scrubbed in body and headers.
        let shown = out.to_string();
        assert!(shown.contains("[redacted]"), "{shown}");
        if matches!(credential, Credential::Bearer(_) | Credential::Basic { .. }) {
            let echoed = out["headers"]["x-seen-authorization"]
                .as_str()
                .expect("echo header");
            assert!(echoed.ends_with(" [redacted]"), "{echoed}");
        }
        assert_no_secret(&report, &secrets);

        // The record shows the injected credential as redacted, not absent.
        let call = &report.http_calls[0];
        let recorded = serde_json::to_string(call).expect("serialize");
        match &credential {
            Credential::ApiKeyHeader { .. } => assert!(
                call.request_headers
                    .iter()
                    .any(|(n, v)| n == "X-Weft-Key" && v == "[redacted]"),
                "{recorded}"
            ),
            Credential::ApiKeyQuery { .. } => assert!(
                call.url.contains("k=[redacted]") && call.url.contains("x=1"),
                "{}",
                call.url
            ),
            _ => assert!(
                call.request_headers
                    .iter()
                    .any(|(n, v)| n == "Authorization" && v == "[redacted]"),
                "{recorded}"
            ),
        }
    }
}

/// Counts calls; `current` hands out `first`, a refresh hands out `second`
/// (or fails when `second` is `None`).
struct Rotating {
    first: String,
    second: Option<String>,
    current_calls: AtomicUsize,
    refresh_calls: AtomicUsize,
}

impl Rotating {
    fn new(first: &str, second: Option<&str>) -> Arc<Rotating> {
        Arc::new(Rotating {
            first: first.into(),
            second: second.map(str::to_string),
            current_calls: AtomicUsize::new(0),
            refresh_calls: AtomicUsize::new(0),
        })
    }
}

impl CredentialSource for Rotating {
    fn current(&self) -> Future<'_, Result<Credential, CredentialError>> {
        self.current_calls.fetch_add(1, Ordering::SeqCst);
        let token = self.first.clone();
        Box::pin(async move { Ok(Credential::Bearer(Secret::new(token))) })
    }

    fn refresh_after_unauthorized(
        &self,
    ) -> Future<'_, Result<Option<Credential>, CredentialError>> {
        self.refresh_calls.fetch_add(1, Ordering::SeqCst);
        let next = self.second.clone();
        let first = self.first.clone();
        Box::pin(async move {
            match next {
                Some(token) => Ok(Some(Credential::Bearer(Secret::new(token)))),
                // A careless source naming the token: scrubbed all the same.
                None => Err(CredentialError::needs_authorization(format!(
                    "the refresh token was revoked (access token {first})"
                ))),
            }
        })
    }
}

/// `current()` always fails.
struct Broken;

impl CredentialSource for Broken {
    fn current(&self) -> Future<'_, Result<Credential, CredentialError>> {
        Box::pin(async {
            Err(CredentialError::unavailable(
                "the token endpoint answered 503",
            ))
        })
    }

    fn refresh_after_unauthorized(
        &self,
    ) -> Future<'_, Result<Option<Credential>, CredentialError>> {
        Box::pin(async { Ok(None) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_refreshes_once_and_retries_with_the_new_credential() {
    let api = api().await;
    *api.valid.lock().expect("lock") = "new-SECRET-token".into();
    let rt = runtime();
    let c = http_connector(&rt, &[api.api.base()]).await;
    let source = Rotating::new("old-SECRET-token", Some("new-SECRET-token"));
    let report = c
        .invoke(
            "request",
            &json!({"url": api.api.url("/protected")}),
            &with(source.clone()),
        )
        .await;
    assert_eq!(
        report.output.as_ref().expect("retried")["body"],
        json!({"ok": true})
    );
    assert_eq!(source.current_calls.load(Ordering::SeqCst), 1);
    assert_eq!(source.refresh_calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        report
            .http_calls
            .iter()
            .map(|c| c.status)
            .collect::<Vec<_>>(),
        vec![Some(401), Some(200)],
        "both attempts are recorded"
    );
    assert_eq!(api.api.hits(), 2);
    assert_no_secret(&report, &["old-SECRET-token", "new-SECRET-token"]);

    // A static credential cannot refresh: the guest gets the 401 as is.
    let report = c
        .invoke(
            "request",
            &json!({"url": api.api.url("/protected")}),
            &with(StaticCredential::new(Credential::Bearer(Secret::new(
                "stale-SECRET",
            )))),
        )
        .await;
    match &report.output {
        Err(InvokeError::Block { failure, .. }) => {
            assert_eq!(failure.kind, BlockErrorKind::Unauthorized)
        }
        other => panic!("expected the block's unauthorized error, got {other:?}"),
    }
    assert_eq!(report.http_calls.len(), 1);
    assert_eq!(api.api.hits(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_failures_become_connection_errors_without_secrets() {
    let api = api().await;
    *api.valid.lock().expect("lock") = "never-given".into();
    let rt = runtime();
    let c = http_connector(&rt, &[api.api.base()]).await;

    // The refresh after a 401 fails: the 401 reaches the guest, but the
    // invocation's error says the connection needs authorization.
    let source = Rotating::new("old-SECRET-token", None);
    let report = c
        .invoke(
            "request",
            &json!({"url": api.api.url("/protected")}),
            &with(source.clone()),
        )
        .await;
    let err = report.output.as_ref().expect_err("connection error");
    match err {
        InvokeError::Connection {
            connector,
            block,
            needs_authorization,
            message,
        } => {
            assert_eq!((connector.as_str(), block.as_str()), ("http", "request"));
            assert!(needs_authorization);
            assert_eq!(
                message,
                "the refresh token was revoked (access token [redacted])"
            );
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "connector http block request: the connection needs authorization: the refresh token was revoked (access token [redacted])"
    );
    assert!(!err.is_retryable());
    assert_eq!(source.refresh_calls.load(Ordering::SeqCst), 1);
    assert_eq!(report.http_calls.len(), 1, "no retry without a credential");
    assert_no_secret(&report, &["old-SECRET-token"]);

    // `current()` fails: the request is never sent.
    let hits = api.api.hits();
    let report = c
        .invoke(
            "request",
            &json!({"url": api.api.url("/seen")}),
            &with(Arc::new(Broken)),
        )
        .await;
    match report.output.as_ref().expect_err("connection error") {
        InvokeError::Connection {
            needs_authorization: false,
            message,
            ..
        } => assert_eq!(message, "the token endpoint answered 503"),
        other => panic!("expected a connection error, got {other:?}"),
    }
    assert_eq!(api.api.hits(), hits, "nothing was sent");
    let error = report.http_calls[0].error.as_deref().unwrap_or_default();
    assert!(
        error.contains("credentials are not available")
            && error.contains("token endpoint answered 503"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_fail_the_check_get_no_credential_and_reach_nothing() {
    let api = api().await;
    let other = FakeApi::start().await;
    let rt = runtime();
    // The http connector declares every host; the grant names only `api`.
    let c = http_connector(&rt, &[api.api.base()]).await;
    let source = Rotating::new("tok-SECRET", None);

    let report = c
        .invoke(
            "request",
            &json!({"url": other.url("/echo")}),
            &with(source.clone()),
        )
        .await;
    let message = match &report.output {
        Err(InvokeError::Block { failure, .. }) => failure.message.clone(),
        other => panic!("expected a denial, got {other:?}"),
    };
    assert!(message.contains("not in the operator's grant"), "{message}");
    assert_eq!(other.hits(), 0);
    assert_eq!(
        source.current_calls.load(Ordering::SeqCst),
        0,
        "no credential is even fetched for a refused request"
    );

    // A redirect from the granted API to the other host: the first hop
    // carries the credential, the second is refused before any byte leaves.
    let to = other.url("/echo");
    let report = c
        .invoke(
            "request",
            &json!({"url": api.api.url(&format!("/redirect?to={to}"))}),
            &with(source.clone()),
        )
        .await;
    assert!(report.output.is_err());
    assert_eq!(report.http_calls.len(), 2);
    assert!(
        report.http_calls[0]
            .request_headers
            .iter()
            .any(|(n, v)| n == "Authorization" && v == "[redacted]")
    );
    assert_eq!(report.http_calls[1].status, None);
    assert!(
        !report.http_calls[1]
            .request_headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("authorization")),
        "the refused hop had no credential: {:?}",
        report.http_calls[1]
    );
    assert_eq!(other.hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_origin_connects_elsewhere_but_checks_and_records_the_original() {
    let api = api().await;
    let rt = Runtime::builder()
        .cache_dir(cache_dir())
        .route_origin("https://example.test", &api.api.base())
        .build()
        .expect("runtime");
    let c = http_connector(&rt, &["https://example.test".to_string()]).await;
    let report = c
        .invoke(
            "request",
            &json!({"url": "https://example.test/seen?x=1"}),
            &with(StaticCredential::new(Credential::Bearer(Secret::new(
                "routed-SECRET",
            )))),
        )
        .await;
    assert_eq!(report.output.as_ref().expect("routed")["status"], 200);
    let seen = api.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].header("authorization"),
        vec!["Bearer routed-SECRET"],
        "the credential is injected for the original, granted origin"
    );
    assert_eq!(report.http_calls[0].url, "https://example.test/seen?x=1");
    assert_no_secret(&report, &["routed-SECRET"]);

    // The grant is checked against the original URL: a connector granted
    // only the target's address cannot use the route.
    let c = http_connector(&rt, &[api.api.base()]).await;
    let report = c
        .invoke(
            "request",
            &json!({"url": "https://example.test/seen"}),
            &InvokeContext::default(),
        )
        .await;
    assert!(report.output.is_err());
    assert_eq!(api.api.hits(), 1);

    // Routes are origins; anything else is refused when the runtime is built.
    let err = Runtime::builder()
        .route_origin("https://example.test/api", &api.api.base())
        .build()
        .err()
        .expect("invalid route");
    assert!(err.to_string().contains("route_origin"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_origin_is_followed_without_the_credential() {
    let (first, second) = (api().await, api().await);
    let rt = runtime();
    let c = http_connector(&rt, &[first.api.base(), second.api.base()]).await;
    let to = second.api.url("/seen");
    let report = c
        .invoke(
            "request",
            &json!({"url": format!("{}?to={to}", first.api.url("/redirect"))}),
            &with(Rotating::new("hop-SECRET", None)),
        )
        .await;
    assert!(report.output.is_ok(), "{:?}", report.output);
    let seen = second.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].header("authorization").is_empty(), "{seen:?}");
    // Asked for directly, the same host gets it.
    let report = c
        .invoke(
            "request",
            &json!({"url": to}),
            &with(Rotating::new("hop-SECRET", None)),
        )
        .await;
    assert!(report.output.is_ok(), "{:?}", report.output);
    let seen = second.seen.lock().expect("lock").clone();
    assert_eq!(seen[1].header("authorization"), ["Bearer hop-SECRET"]);
    assert_no_secret(&report, &["hop-SECRET"]);
}
