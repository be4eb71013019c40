//! # weft-host — the Weft engine
//!
//! Loads connector and standard-block components (WebAssembly components
//! targeting the `weft:connector` WIT contract) and invokes their blocks,
//! each invocation in a fresh sandbox with fuel, wall-clock, memory and
//! output limits, and with HTTP that only the host performs, only to hosts
//! the connector declared and the operator granted.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use weft_host::{InvokeContext, Runtime};
//!
//! let runtime = Runtime::builder().cache_dir("/tmp/weft-cache").build()?;
//! let http = runtime
//!     .load_file("weft_connector_http.wasm")
//!     .await?
//!     .with_grant(&["https://api.example.com"])?;
//! let report = http
//!     .invoke("request", &serde_json::json!({"url": "https://api.example.com/items"}), &InvokeContext::default())
//!     .await;
//! println!("{:?} after {:?}, {} HTTP call(s)", report.output, report.duration, report.http_calls.len());
//! # Ok(()) }
//! ```
//!
//! On top of the sandbox, [`Weft`] runs automations — JSON block graphs
//! validated into a [`automation::Plan`] — writing every run and block step
//! to a [`RunStore`] (sled by default); `host/examples/embed.rs` shows it in
//! a few lines.
//!
//! Modules, one concept each: [`runtime`] (loading and invoking),
//! [`limits`], [`outbound_http`] (the HTTP capability: allow-lists, address
//! policy, redaction, operator routes), [`scrub`] (injected secrets
//! removed by meaning, in any spelling, from all a run leaves), [`credentials`] (secrets the host
//! injects into requests; never in the sandbox), [`guest_log`] (the log
//! capability), [`contract`] (the supported WIT versions),
//! [`component_cache`], [`engine`],
//! [`sandbox`] (per-invocation store state), [`manifest`], [`error`],
//! [`testing`] (helpers for connector authors' tests), [`automation`]
//! (document, references and formulas, validation), [`store`] (run
//! history), [`chaining`] (automations calling automations),
//! [`connector_set`] (installed connectors, every version side by side,
//! and how a block's version pin picks one; changed at run time without a
//! restart), [`signing`] (publishers' ed25519 signatures over components
//! and the keys an operator trusts), [`run_limits`] (the host-side limits
//! of a run), [`run_slot`] (a host's concurrency slot, handed back while a
//! run waits to retry), [`input_form`] (answering the form of a run
//! paused at an `input` block), and [`weft`] (the engine facade; the
//! walker is private).

pub mod automation;
pub mod chaining;
pub mod component_cache;
pub mod connections;
pub mod connector_set;
pub mod contract;
pub mod credentials;
pub mod engine;
pub mod error;
#[doc(hidden)]
pub mod fuzz_targets;
pub mod guest_log;
pub mod guest_text;
pub mod input_form;
pub mod limits;
pub mod manifest;
pub mod outbound_http;
pub mod output_seal;
pub mod run_limits;
pub mod run_slot;
pub mod runtime;
pub mod sandbox;
pub mod scrub;
pub mod signing;
pub mod store;
pub mod testing;
mod walker;
pub mod weft;

pub use chaining::{
    AutomationCaller, ChainCall, ChainError, ChainOutcome, LocalAutomations, chained_trigger,
};
pub use connector_set::{ConnectorPolicy, ConnectorSet, ConnectorSetError, PinError, VersionPin};
pub use error::{BlockErrorKind, BlockFailure, InvokeError, LimitExceeded, LoadError};
pub use limits::Limits;
pub use manifest::Manifest;
pub use outbound_http::{HttpCall, HttpLimits};
pub use output_seal::OutputSeal;
pub use run_limits::RunLimits;
pub use run_slot::RunSlot;
pub use runtime::{Connector, InvokeContext, InvokeReport, Runtime, RuntimeBuilder};
pub use store::{
    ChainedBy, FailureKind, RunRecord, RunStatus, RunStore, SledStore, StateEntry, StateError,
    StateLimits, StepFailure, StepRecord, StepStatus, Trigger,
};
/// Cancels a run started with [`Weft::run_record`].
pub use tokio_util::sync::CancellationToken;
pub use weft::{RunHandle, RunResult, WeakWeft, Weft, WeftBuilder, WeftError, new_record};
