//! # weft-sdk-test — test a Weft connector from `cargo test`, fast
//!
//! A connector's tests need three things: the connector built as a
//! WebAssembly component, a real Weft sandbox to run its blocks in, and a
//! fake of the remote API. This crate gives all three without linking the
//! engine into the test binary:
//!
//! * [`Connector::build`] builds the crate under test for `wasm32-wasip2`
//!   (once per test process, reusing the test's own target directory);
//! * its blocks run in the **installed `weft` command**
//!   (`weft connector invoke`), the same sandbox, limits, allow-lists and
//!   credential injection as the server — so a connector's first
//!   `cargo test` compiles the SDK, serde and this crate, not wasmtime;
//! * [`FakeApi`] is a small HTTP/1.1 server on 127.0.0.1 (a free port):
//!   routes, statuses, headers such as `Link` and `Retry-After`, answer
//!   sequences, and every request recorded.
//!
//! ```no_run
//! use serde_json::json;
//! use weft_sdk_test::{Connector, Credential, ErrorKind, FakeApi, Reply};
//!
//! let connector = Connector::build(env!("CARGO_MANIFEST_DIR"));
//!
//! // A pure block: input in, output out.
//! let out = connector.invoke("summarize", json!({"tasks": [{"status": "open"}]}));
//! assert_eq!(out.expect("summarize")["total"], 1);
//!
//! // A block that calls the API, with a bearer token the host injects.
//! let api = FakeApi::start();
//! api.route("GET", "/tasks", |_req| Reply::json(200, json!({"data": []})));
//! let outcome = connector
//!     .block("list-tasks")
//!     .input(json!({"base_url": api.base_url()}))
//!     .allow(api.origin())
//!     .credential(Credential::bearer("t0ken"))
//!     .run();
//! assert!(outcome.output.is_ok());
//! assert_eq!(api.requests()[0].header("authorization"), Some("Bearer t0ken"));
//!
//! // Errors arrive typed.
//! api.route("GET", "/tasks", |_req| Reply::json(429, json!({})).header("retry-after", "3"));
//! let err = connector.block("list-tasks").input(json!({"base_url": api.base_url()}))
//!     .allow(api.origin()).run().output.unwrap_err();
//! assert_eq!(err.kind(), Some(ErrorKind::RateLimited));
//! ```
//!
//! Finding `weft`: `$WEFT_BIN`, else a `weft` built beside the test binary
//! (inside a Weft checkout), else `weft` on `PATH`. Install it once with
//! `cargo install --path host/cli` from a Weft checkout.
//!
//! Modules: [`build`] (the component), [`invoke`] (running blocks through
//! `weft`), [`outcome`] (what an invocation produced, typed), [`fake_api`].

pub mod build;
pub mod fake_api;
pub mod invoke;
pub mod outcome;

pub use build::{BuildError, build_component};
pub use fake_api::{FakeApi, Received, Reply};
pub use invoke::{Connector, Credential, HarnessError, Invocation, weft_binary};
pub use outcome::{ErrorKind, Failure, HttpCall, LogLine, Outcome};
