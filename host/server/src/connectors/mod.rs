//! Connectors as the operator manages them: installed into a running
//! server, versions side by side, grants and limits changed at run time,
//! trusted by signature, every change audited.
//!
//! Where connectors come from, and what a listing says of each version
//! (its [`Source`]):
//! * **bundled** — compiled into this `weft` (the standard blocks, `http`,
//!   `slack`);
//! * **file** — component files the operator placed: `--component FILE`
//!   and the components directory (`--components-dir`, default
//!   `DATA_DIR/components`), loaded at start; trusted by placement;
//! * **api** — installed through `POST /api/v1/connectors` (or
//!   `weft connector install`): checked against the trust policy
//!   ([`trust`]), stored content-addressed as `<sha256>.wasm` (and its
//!   `.sig`) in the components directory, recorded in the `connector_installs`
//!   tree, and loaded again at every start.
//!
//! The engine holds the live set ([`weft_host::ConnectorSet`]); this module
//! keeps what the engine does not know: where each version came from, who
//! installed it, the operator's stored grants (`connector_policies`, which
//! win over flags and the TOML file because they are the latest word), and
//! the rules for removing a version an automation still needs.

pub mod trust;

use crate::audit::{Action, AuditLog};
use crate::automations::{Automations, StoredAutomation};
use crate::error::ApiError;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock};
use trust::{Publisher, TrustPolicy};
use weft_host::signing::Signature;
use weft_host::{Connector, ConnectorPolicy, ConnectorSet, VersionPin, Weft};

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
    pub publisher: Option<String>,
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
    installs: sled::Tree,
    policies: sled::Tree,
    origins: RwLock<BTreeMap<String, Origin>>,
    /// Installs and removals one at a time: each checks the set, writes
    /// files and records, then changes the engine.
    changing: tokio::sync::Mutex<()>,
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
        db: &sled::Db,
        default_dir: PathBuf,
        settings: ConnectorSettings,
    ) -> Result<Self, sled::Error> {
        Ok(Connectors {
            dir: settings.dir.clone().unwrap_or(default_dir),
            installs: db.open_tree("connector_installs")?,
            policies: db.open_tree("connector_policies")?,
            settings,
            origins: RwLock::new(BTreeMap::new()),
            changing: tokio::sync::Mutex::new(()),
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
    /// grants. `placed` are the files the engine was built with.
    pub fn start(&self, weft: &Weft, placed: &[PlacedFile]) -> Result<(), sled::Error> {
        let mut records = BTreeMap::new();
        for item in self.installs.iter() {
            let (k, value) = item?;
            if let Ok(r) = serde_json::from_slice::<InstallRecord>(&value) {
                records.insert(String::from_utf8_lossy(&k).to_string(), r);
            }
        }
        let mut origins = self.write_origins();
        for c in weft.connectors().iter() {
            let m = c.manifest();
            origins.insert(
                key(&m.id, &m.version),
                Origin {
                    source: Source::Bundled,
                    sha256: None,
                    publisher: Some("weft".into()),
                    installed_by: None,
                    installed_at: None,
                    file: None,
                },
            );
        }
        for file in placed {
            let k = key(&file.id, &file.version);
            let origin = match records.get(&k).filter(|r| r.sha256 == file.sha256) {
                Some(r) => Origin {
                    source: Source::Api,
                    sha256: Some(r.sha256.clone()),
                    publisher: r.publisher.clone(),
                    installed_by: Some(r.installed_by.clone()),
                    installed_at: Some(r.installed_at),
                    file: Some(file.path.display().to_string()),
                },
                None => Origin {
                    source: Source::File,
                    sha256: Some(file.sha256.clone()),
                    publisher: file.publisher.clone(),
                    installed_by: None,
                    installed_at: None,
                    file: Some(file.path.display().to_string()),
                },
            };
            origins.insert(k, origin);
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

    /// Install a component sent through the API.
    pub async fn install(
        &self,
        weft: &Weft,
        audit: &AuditLog,
        bytes: &[u8],
        signature: Option<&Signature>,
        actor: &str,
    ) -> Result<Connector, ApiError> {
        let loaded = weft.runtime().load(bytes).await.map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_component",
                format!("the component cannot be loaded: {e}"),
            )
        })?;
        let (id, version) = {
            let m = loaded.manifest();
            (m.id.clone(), m.version.clone())
        };
        let publisher = self.settings.trust.check(bytes, &id, &version, signature)?;
        let _one_at_a_time = self.changing.lock().await;
        if weft
            .connectors()
            .versions(&id)
            .any(|c| c.manifest().version == version)
        {
            return Err(version_exists(&id, &version));
        }
        let sha = sha256(bytes);
        let file = self.write_component(&sha, bytes, signature)?;
        let record = InstallRecord {
            id: id.clone(),
            version: version.clone(),
            sha256: sha.clone(),
            publisher: publisher.name().map(str::to_string),
            installed_by: actor.to_string(),
            installed_at: crate::now_ms(),
        };
        self.installs.insert(
            key(&id, &version),
            serde_json::to_vec(&record).map_err(ApiError::internal)?,
        )?;
        self.installs.flush()?;
        let installed = match weft.install(loaded) {
            Ok(c) => c,
            Err(e) => {
                self.installs.remove(key(&id, &version))?;
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "version_exists",
                    e.to_string(),
                ));
            }
        };
        self.write_origins().insert(
            key(&id, &version),
            Origin {
                source: Source::Api,
                sha256: Some(sha.clone()),
                publisher: record.publisher.clone(),
                installed_by: Some(actor.to_string()),
                installed_at: Some(record.installed_at),
                file: Some(file.display().to_string()),
            },
        );
        audit.record(
            actor,
            Action::ConnectorInstall,
            &key(&id, &version),
            json!({
                "sha256": sha,
                "publisher": record.publisher,
                "signed": matches!(publisher, Publisher::Signed(_)),
            }),
        )?;
        Ok(installed)
    }

    /// Write `<sha>.wasm` (and `.sig`) into the components directory,
    /// whole or not at all (a temporary file renamed into place).
    fn write_component(
        &self,
        sha: &str,
        bytes: &[u8],
        signature: Option<&Signature>,
    ) -> Result<PathBuf, ApiError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| {
            ApiError::internal(format!("cannot create {}: {e}", self.dir.display()))
        })?;
        let path = self.dir.join(format!("{sha}.wasm"));
        let write = |target: &Path, data: &[u8]| -> Result<(), ApiError> {
            let tmp = target.with_extension("tmp");
            std::fs::write(&tmp, data)
                .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
                .and_then(|()| std::fs::rename(&tmp, target))
                .map_err(|e| ApiError::internal(format!("cannot write {}: {e}", target.display())))
        };
        if let Some(sig) = signature {
            let text = serde_json::to_vec_pretty(sig).map_err(ApiError::internal)?;
            write(&signature_path(&path), &text)?;
        }
        write(&path, bytes)?;
        Ok(path)
    }

    /// Remove one API-installed version. Unless `force`, refused while an
    /// automation needs it (its block's pin would match no version left);
    /// forced, those automations are disabled with the reason.
    #[allow(clippy::too_many_arguments)]
    pub async fn remove(
        &self,
        weft: &Weft,
        automations: &Automations,
        audit: &AuditLog,
        id: &str,
        version: &str,
        force: bool,
        actor: &str,
    ) -> Result<RemoveOutcome, ApiError> {
        let parsed = semver::Version::parse(version).map_err(|e| {
            ApiError::bad_request(format!("version: {version:?} is not a version: {e}"))
        })?;
        let _one_at_a_time = self.changing.lock().await;
        let set = weft.connectors();
        if set.get(id, &parsed).is_none() {
            return Err(ApiError::not_found(&format!("connector {id}@{version}")));
        }
        match self.origin(id, version).map(|o| o.source) {
            Some(Source::Api) => {}
            Some(Source::File) | None => {
                let file = self.origin(id, version).and_then(|o| o.file);
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "connector_not_removable",
                    format!(
                        "{id}@{version} was placed by the operator ({}); remove the file (or its --component) and restart the server",
                        file.unwrap_or_else(|| "a component file".into())
                    ),
                ));
            }
            Some(Source::Bundled) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "connector_not_removable",
                    format!("{id}@{version} is bundled with this weft and cannot be removed"),
                ));
            }
        }
        let mut after = (*set).clone();
        after
            .remove(id, &parsed)
            .map_err(|e| ApiError::not_found(&e.to_string()))?;
        let needing = needing_automations(automations, &after, id)?;
        if !needing.is_empty() && !force {
            let ids: Vec<&str> = needing.iter().map(|a| a.id.as_str()).collect();
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "connector_in_use",
                format!(
                    "{id}@{version} is the only installed version that {} need{}: {}; change their blocks' `version`, install a matching version, or remove with ?force=true to disable them",
                    if ids.len() == 1 { "this automation" } else { "these automations" },
                    if ids.len() == 1 { "s" } else { "" },
                    ids.join(", ")
                ),
            )
            .details(json!({"automations": ids})));
        }
        let reason = format!("connector {id}@{version} was removed by {actor}");
        let mut disabled = Vec::new();
        for current in needing {
            if current.enabled {
                let next = StoredAutomation {
                    enabled: false,
                    disabled_reason: Some(reason.clone()),
                    version: current.version + 1,
                    updated_at: crate::now_ms(),
                    ..current.clone()
                };
                let a = next;
                if automations.replace(&current, &a)? {
                    audit.record(
                        actor,
                        Action::AutomationDisable,
                        &a.id,
                        json!({"reason": reason}),
                    )?;
                    disabled.push(a.id);
                }
            }
        }
        weft.uninstall(id, &parsed)
            .map_err(|e| ApiError::not_found(&e.to_string()))?;
        let record = self.installs.remove(key(id, version))?;
        self.installs.flush()?;
        let origin = self.write_origins().remove(&key(id, version));
        // The file goes once no other install shares its bytes.
        if let Some(sha) = origin.and_then(|o| o.sha256) {
            let still_used = self
                .read_origins()
                .values()
                .any(|o| o.sha256.as_deref() == Some(&sha));
            if !still_used {
                let path = self.dir.join(format!("{sha}.wasm"));
                let _ = std::fs::remove_file(signature_path(&path));
                let _ = std::fs::remove_file(&path);
            }
        }
        audit.record(
            actor,
            Action::ConnectorRemove,
            &key(id, version),
            json!({"forced": force, "disabled_automations": disabled, "had_record": record.is_some()}),
        )?;
        Ok(RemoveOutcome { disabled })
    }

    /// Replace `id`'s grants and limits (applied to the next invocation)
    /// and store them.
    pub fn set_policy(
        &self,
        weft: &Weft,
        audit: &AuditLog,
        id: &str,
        policy: ConnectorPolicy,
        actor: &str,
    ) -> Result<(), ApiError> {
        weft.set_connector_policy(id, policy.clone()).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_grant",
                format!(
                    "allow: {e}; entries look like https://api.example.com or http://127.0.0.1:8080"
                ),
            )
        })?;
        self.policies.insert(
            id.as_bytes(),
            serde_json::to_vec(&policy).map_err(ApiError::internal)?,
        )?;
        self.policies.flush()?;
        audit.record(
            actor,
            Action::ConnectorGrants,
            id,
            serde_json::to_value(&policy).unwrap_or(Value::Null),
        )?;
        Ok(())
    }
}

/// What a removal did besides removing.
pub struct RemoveOutcome {
    /// Automations disabled because they needed the version.
    pub disabled: Vec<String>,
}

/// `FILE.wasm.sig` beside `FILE.wasm`.
pub fn signature_path(component: &Path) -> PathBuf {
    let mut name = component.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

fn version_exists(id: &str, version: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "version_exists",
        format!(
            "{id}@{version} is installed already; bump the version in the connector's Cargo.toml, rebuild and install that"
        ),
    )
}

/// The automations with a block for connector `id` whose version pin
/// matches nothing in `after`.
fn needing_automations(
    automations: &Automations,
    after: &ConnectorSet,
    id: &str,
) -> Result<Vec<StoredAutomation>, ApiError> {
    let mut needing = Vec::new();
    for a in automations.list()? {
        let blocks = a.document.get("blocks").and_then(Value::as_array);
        let needs = blocks.into_iter().flatten().any(|b| {
            b.get("type").and_then(Value::as_str) == Some("connector")
                && b.get("connector").and_then(Value::as_str) == Some(id)
                && {
                    let pin = b
                        .get("version")
                        .and_then(Value::as_str)
                        .and_then(|v| VersionPin::parse(v).ok());
                    after.resolve(id, pin.as_ref()).is_none()
                }
        });
        if needs {
            needing.push(a);
        }
    }
    Ok(needing)
}
