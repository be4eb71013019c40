//! The WIT contract versions this host can load, and how a component is
//! matched to one of them.
//!
//! Each supported snapshot under `wit/` has a module here with its
//! `bindgen!` output and the conversions between its types and the host's
//! model ([`crate::manifest`], [`crate::error::BlockFailure`]); what the
//! versions share is written once in [`shared`]. Adding a contract version
//! means adding a module and a [`Bindings`] variant; the rest of the host
//! never sees contract types.
//!
//! Every version's imports (`weft:connector/http@X`, `log@X`, `types@X`)
//! are registered side by side in one linker. They do not collide:
//! wasmtime matches an import exactly by name, or else semver-compatibly
//! within a 0.x minor (`@0.2.1` finds `@0.2.0`), so `@0.1.0` and `@0.2.0`
//! are two separate tracks.

mod shared;
pub mod v0_1_0;
pub mod v0_2_0;

use crate::error::{BlockFailure, LoadError};
use crate::manifest::Manifest;
use crate::runtime::InvokeContext;
use crate::sandbox::SandboxState;
use wasmtime::Store;
use wasmtime::component::{Component, Linker};

/// Contract versions this host loads, newest first.
pub const SUPPORTED: &[&str] = &["0.2.0", "0.1.0"];

/// A component pre-linked against the bindings of its contract version.
#[derive(Clone)]
pub enum Bindings {
    V0_2_0(v0_2_0::PluginPre<SandboxState>),
    V0_1_0(v0_1_0::PluginPre<SandboxState>),
}

impl Bindings {
    /// Register every supported version's imports in `linker`.
    pub fn add_to_linker(linker: &mut Linker<SandboxState>) -> wasmtime::Result<()> {
        v0_2_0::add_to_linker(linker)?;
        v0_1_0::add_to_linker(linker)
    }

    /// Pick the contract version from the component's exports and pre-link it.
    pub fn pre_instantiate(
        linker: &Linker<SandboxState>,
        component: &Component,
    ) -> Result<Self, LoadError> {
        let engine = linker.engine();
        let exports: Vec<String> = component
            .component_type()
            .exports(engine)
            .map(|(name, _)| name.to_string())
            .collect();
        let targets = |version: &str| {
            exports
                .iter()
                .any(|e| e == &format!("weft:connector/connector@{version}"))
        };
        let link = |e: wasmtime::Error| LoadError::Link(format!("{e:#}"));
        if targets("0.2.0") {
            let pre = linker.instantiate_pre(component).map_err(link)?;
            return Ok(Bindings::V0_2_0(v0_2_0::PluginPre::new(pre).map_err(link)?));
        }
        if targets("0.1.0") {
            let pre = linker.instantiate_pre(component).map_err(link)?;
            return Ok(Bindings::V0_1_0(v0_1_0::PluginPre::new(pre).map_err(link)?));
        }
        let found = exports
            .iter()
            .find(|e| e.starts_with("weft:connector/connector@"))
            .cloned();
        Err(LoadError::UnsupportedContract {
            found,
            supported: SUPPORTED.iter().map(|s| s.to_string()).collect(),
        })
    }

    pub fn contract_version(&self) -> &'static str {
        match self {
            Bindings::V0_2_0(_) => "0.2.0",
            Bindings::V0_1_0(_) => "0.1.0",
        }
    }

    /// Call the component's `describe` and validate its manifest. The outer
    /// error is a trap (the caller classifies it); the inner one a manifest
    /// the host refuses.
    pub(crate) async fn describe(
        &self,
        store: &mut Store<SandboxState>,
    ) -> wasmtime::Result<Result<Manifest, LoadError>> {
        Ok(match self {
            Bindings::V0_2_0(pre) => v0_2_0::manifest(v0_2_0::describe(pre, store).await?),
            Bindings::V0_1_0(pre) => v0_1_0::manifest(v0_1_0::describe(pre, store).await?),
        })
    }

    /// Call the component's `invoke`. The outer error is a trap; the inner
    /// one the block's own failure.
    pub(crate) async fn invoke(
        &self,
        store: &mut Store<SandboxState>,
        block: &str,
        input: &str,
        context: &InvokeContext,
    ) -> wasmtime::Result<Result<String, BlockFailure>> {
        match self {
            Bindings::V0_2_0(pre) => v0_2_0::invoke(pre, store, block, input, context).await,
            Bindings::V0_1_0(pre) => v0_1_0::invoke(pre, store, block, input, context).await,
        }
    }
}
