//! The WIT contract versions this host can load, and how a component is
//! matched to one of them.
//!
//! Each supported snapshot under `wit/` has a module here with its
//! `bindgen!` output and the conversions between its types and the host's
//! model ([`crate::manifest`], [`crate::error::BlockFailure`]). Adding a
//! contract version means adding a module and a [`Bindings`] variant; the
//! rest of the host never sees contract types.

pub mod v0_1_0;

use crate::error::LoadError;
use crate::sandbox::SandboxState;
use wasmtime::component::{Component, Linker};

/// Contract versions this host loads, newest first.
pub const SUPPORTED: &[&str] = &["0.1.0"];

/// A component pre-linked against the bindings of its contract version.
#[derive(Clone)]
pub enum Bindings {
    V0_1_0(v0_1_0::PluginPre<SandboxState>),
}

impl Bindings {
    /// Register every supported version's imports in `linker`.
    pub fn add_to_linker(linker: &mut Linker<SandboxState>) -> wasmtime::Result<()> {
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
        if targets("0.1.0") {
            let pre = linker
                .instantiate_pre(component)
                .map_err(|e| LoadError::Link(format!("{e:#}")))?;
            let pre = v0_1_0::PluginPre::new(pre).map_err(|e| LoadError::Link(format!("{e:#}")))?;
            return Ok(Bindings::V0_1_0(pre));
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
            Bindings::V0_1_0(_) => "0.1.0",
        }
    }
}
