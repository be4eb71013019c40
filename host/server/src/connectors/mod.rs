//! Connectors as the operator manages them: installed into a running
//! server, versions side by side, grants and limits changed at run time,
//! trusted by signature, every change audited.
//!
//! Where connectors come from, and what a listing says of each version
//! (its [`Source`]):
//! * **bundled** — compiled into this `weft` (the standard blocks, `http`,
//!   `slack`);
//! * **file** — component files the operator placed: `--component FILE`
//!   and the `*.wasm` files of the components directory (`--components-dir`,
//!   default `DATA_DIR/components`), loaded at start; trusted by placement
//!   (whoever can write that directory is the operator), with the
//!   publisher shown when a `FILE.sig` by a trusted key verifies;
//! * **api** — installed through `POST /api/v1/connectors` (or
//!   `weft connector install`): checked against the trust policy
//!   ([`trust`]) *before* it is compiled, stored content-addressed as
//!   `installed/<sha256>.wasm` (and its `.sig`) under the components
//!   directory, recorded in the `connector_installs` tree, and at every
//!   start loaded from those records only and checked again against the
//!   trust policy of that start (a key no longer trusted, a changed file or
//!   unsigned components no longer allowed: not loaded, and said so).
//!
//! A connector id belongs to one publisher: a bundled id cannot be
//! installed over, and a new version must come from the publisher of the
//! versions installed (it inherits their grants and connections).
//!
//! The engine holds the live set ([`weft_host::ConnectorSet`]); this module
//! keeps what the engine does not know: where each version came from, who
//! installed it, the operator's stored grants (`connector_policies`, which
//! win over flags and the TOML file because they are the latest word), and
//! the rules for removing a version an automation still needs.

mod install;
mod remove;
pub use install::{INDEX, NotLoaded, move_root_installs};
pub use remove::RemoveOutcome;
pub mod trust;

use crate::audit::{Action, AuditLog};
use crate::error::ApiError;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock};
use trust::TrustPolicy;
use weft_host::{ConnectorPolicy, Weft};

/// The largest component accepted through the API unless configured.
pub const DEFAULT_MAX_COMPONENT_BYTES: usize = 32 << 20;

/// The operator's connector settings.
#[derive(Debug, Clone)]
pub struct ConnectorSettings {
    /// Where component files live (placed ones and API installs); `None`:
    /// `components` beside the server's store.
    pub dir: Option<PathBuf>,
    pub trust: TrustPolicy,
    /// Largest component body `POST /api/v1/connectors` accepts.
    pub max_component_bytes: usize,
}

impl Default for ConnectorSettings {
    fn default() -> Self {
        ConnectorSettings {
            dir: None,
            trust: TrustPolicy::default(),
            max_component_bytes: DEFAULT_MAX_COMPONENT_BYTES,
        }
    }
}

/// Where a connector version came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Bundled,
    File,
    Api,
}

/// A component file the operator placed, loaded at start.
#[derive(Debug, Clone)]
pub struct PlacedFile {
    pub path: PathBuf,
    pub sha256: String,
    /// The manifest's id and version, as loaded.
    pub id: String,
    pub version: String,
    /// The publisher whose signature (`FILE.sig`) verified, if any.
    pub publisher: Option<String>,
}

/// What is known of one installed version besides its manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Origin {
    pub source: Source,
    pub sha256: Option<String>,
    /// Who vouches for it: a trusted publisher's name, `weft` for the
    /// bundled ones, `None` for unsigned files and installs.
    pub publisher: Option<String>,
    /// A signature by a trusted key verified (bundled ones are not signed:
    /// they are part of this binary).
    pub signed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// The record of an API install (`connector_installs`, key `id@version`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct InstallRecord {
    id: String,
    version: String,
    sha256: String,
    publisher: Option<String>,
    installed_by: String,
    installed_at: i64,
}

/// The server's connector bookkeeping.
pub struct Connectors {
    dir: PathBuf,
    settings: ConnectorSettings,
    installs: crate::kv::Tree,
    policies: crate::kv::Tree,
    origins: RwLock<BTreeMap<String, Origin>>,
    /// Installs, removals and grant changes one at a time (write), and
    /// never while an automation is being validated and stored (read;
    /// see [`Connectors::steady`]).
    changing: tokio::sync::RwLock<()>,
}

fn key(id: &str, version: &str) -> String {
    format!("{id}@{version}")
}

/// SHA-256 of a component's bytes, hex.
pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Connectors {
    pub fn open(
        db: &crate::kv::Tables,
        default_dir: PathBuf,
        settings: ConnectorSettings,
    ) -> Result<Self, crate::kv::KvError> {
        Ok(Connectors {
            dir: settings.dir.clone().unwrap_or(default_dir),
            installs: db.open_tree("connector_installs")?,
            policies: db.open_tree("connector_policies")?,
            settings,
            origins: RwLock::new(BTreeMap::new()),
            changing: tokio::sync::RwLock::new(()),
        })
    }

    /// The components directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn max_component_bytes(&self) -> usize {
        self.settings.max_component_bytes
    }

    /// Learn where the engine's connectors came from and apply the stored
    /// grants. `placed` are the files the engine was built with. The
    /// connectors installed through the API are loaded afterwards, by
    /// [`Connectors::load_installed`].
    pub fn start(&self, weft: &Weft, placed: &[PlacedFile]) -> Result<(), crate::kv::KvError> {
        let mut origins = self.write_origins();
        for c in weft.connectors().iter() {
            let m = c.manifest();
            origins.insert(
                key(&m.id, &m.version),
                Origin {
                    source: Source::Bundled,
                    sha256: None,
                    publisher: Some("weft".into()),
                    signed: false,
                    installed_by: None,
                    installed_at: None,
                    file: None,
                },
            );
        }
        for file in placed {
            origins.insert(
                key(&file.id, &file.version),
                Origin {
                    source: Source::File,
                    sha256: Some(file.sha256.clone()),
                    signed: file.publisher.is_some(),
                    publisher: file.publisher.clone(),
                    installed_by: None,
                    installed_at: None,
                    file: Some(file.path.display().to_string()),
                },
            );
        }
        drop(origins);
        for item in self.policies.iter() {
            let (id, value) = item?;
            let id = String::from_utf8_lossy(&id).to_string();
            match serde_json::from_slice::<ConnectorPolicy>(&value) {
                Ok(policy) => {
                    if let Err(e) = weft.set_connector_policy(&id, policy) {
                        tracing::warn!(connector = %id, "stored grant no longer parses: {e}");
                    }
                }
                Err(e) => tracing::warn!(connector = %id, "stored grant unreadable: {e}"),
            }
        }
        Ok(())
    }

    fn read_origins(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Origin>> {
        // Each change is one insert or remove: a poisoned map is whole.
        self.origins.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_origins(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Origin>> {
        self.origins.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Where `id`@`version` came from.
    pub fn origin(&self, id: &str, version: &str) -> Option<Origin> {
        self.read_origins().get(&key(id, version)).cloned()
    }

    /// Replace `id`'s grants and limits (applied to the next invocation)
    /// and store them. Checked first, stored second, applied last, under
    /// the same lock as installs and removals: a policy the engine uses is
    /// always the one on disk, and two changes cannot interleave.
    pub async fn set_policy(
        &self,
        weft: &Weft,
        audit: &AuditLog,
        id: &str,
        policy: ConnectorPolicy,
        actor: &str,
    ) -> Result<(), ApiError> {
        policy.check().map_err(invalid_grant)?;
        let _one_at_a_time = self.changing.write().await;
        self.policies.insert(
            id.as_bytes(),
            serde_json::to_vec(&policy).map_err(ApiError::internal)?,
        )?;
        self.policies.flush()?;
        weft.set_connector_policy(id, policy.clone())
            .map_err(invalid_grant)?;
        audit.record(
            actor,
            Action::ConnectorGrants,
            id,
            serde_json::to_value(&policy).unwrap_or(Value::Null),
        )?;
        Ok(())
    }

    /// Hold off installs, removals and grant changes while an automation
    /// is validated and stored: a removal then either sees the automation
    /// (and refuses, or disables it) or the automation is validated
    /// against the set without the removed version.
    pub async fn steady(&self) -> tokio::sync::RwLockReadGuard<'_, ()> {
        self.changing.read().await
    }
}

/// The answer to a grant that does not parse.
fn invalid_grant(e: weft_host::outbound_http::allow_list::PatternError) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_grant",
        format!("allow: {e}; entries look like https://api.example.com or http://127.0.0.1:8080"),
    )
}

/// `FILE.wasm.sig` beside `FILE.wasm`.
pub fn signature_path(component: &Path) -> PathBuf {
    let mut name = component.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}
