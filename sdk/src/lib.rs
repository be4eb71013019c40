//! # weft-sdk — write Weft connectors in Rust
//!
//! A Weft connector is an ordinary Rust crate compiled to a WebAssembly
//! component (`cargo build --target wasm32-wasip2`). The Weft host runs it in
//! a sandbox: it cannot open files, read the environment or open sockets, and
//! every HTTP request it makes is performed — and checked against the hosts
//! the connector declared and the operator granted — by the host.
//!
//! A connector declares **blocks**: plain functions from a serde input type
//! to a serde output type. The SDK derives each block's JSON Schemas from the
//! types (via [`schemars`]), decodes inputs, encodes outputs, and turns errors
//! into the contract's typed block errors.
//!
//! ```ignore
//! use weft_sdk::prelude::*;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct GreetInput { name: String }
//!
//! #[derive(Serialize, JsonSchema)]
//! struct GreetOutput { greeting: String }
//!
//! fn greet(_ctx: &Context, input: GreetInput) -> Result<GreetOutput, BlockError> {
//!     Ok(GreetOutput { greeting: format!("Hello, {}!", input.name) })
//! }
//!
//! weft_sdk::connector! {
//!     id: "greeter",
//!     name: "Greeter",
//!     description: "Says hello.",
//!     hosts: [],
//!     auth: [Auth::None],
//!     blocks: [
//!         greet => ("greet", "Greet", "Builds a greeting for a name."),
//!     ],
//! }
//! ```
//!
//! Modules: [`block`] (context, typed errors), [`http`] (the host's HTTP
//! client: all values of a header, `Link`s, `Retry-After` as seconds or an
//! HTTP date), [`paging`] (`Link`-header and cursor pagination, bounded),
//! [`retry`] (sleeping for a `Retry-After` within a time budget),
//! [`log`], [`manifest`].
//!
//! The full walkthrough — `weft connector new`, HTTP, errors, logging and
//! testing blocks with `weft-sdk-test` — is in `sdk/WALKTHROUGH.md`;
//! `sdk/template/` is the crate `weft connector new` copies.
//!
//! This SDK targets contract `weft:connector@0.2.0` (see `wit/README.md`).

pub mod block;
pub mod http;
pub mod log;
mod macros;
pub mod manifest;
pub mod paging;
pub mod retry;

/// Bindings generated from the WIT contract. Connector authors rarely need
/// these directly; the [`connector!`] macro wires them up.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/v0.2.0",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "__export_plugin",
        default_bindings_module: "weft_sdk::bindings",
    });
}

pub use block::{BlockError, Context};
pub use manifest::Auth;
pub use schemars;
pub use serde;
pub use serde_json;

/// The contract version this SDK's components target.
pub const CONTRACT_VERSION: &str = "0.2.0";

/// Everything a connector usually needs, in one import.
pub mod prelude {
    pub use crate::block::{BlockError, Context};
    pub use crate::http::{self, Request, Response};
    pub use crate::log;
    pub use crate::manifest::Auth;
    pub use crate::paging::{self, Page};
    pub use crate::retry;
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
    pub use serde_json::{Value, json};
}

#[doc(hidden)]
pub mod __private {
    pub use crate::bindings::exports::weft::connector::connector::Guest;
    pub use crate::bindings::weft::connector::types as wit;
    pub use crate::block::run_block;
    pub use crate::manifest::{block_spec, manifest};
}
