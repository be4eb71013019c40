//! Installing a component through the API, and loading those installs
//! again at start.
//!
//! Order matters here. Trust is decided from the bytes and the signature
//! alone, before the component is compiled: nothing an untrusted party sent
//! reaches the compiler. The loaded manifest must then be what was signed,
//! and the id must belong to the installing publisher. Only then is the file
//! written (whole, or removed again if a later step fails) and recorded, and
//! the engine changed last.

use super::trust::{Publisher, Vouched};
use super::{Connectors, InstallRecord, Origin, Source, key, sha256, signature_path};
use crate::audit::{Action, AuditLog};
use crate::error::ApiError;
use axum::http::StatusCode;
use serde_json::json;
use std::path::{Path, PathBuf};
use weft_host::connector_set::{ConnectorSetError, InstallError};
use weft_host::signing::Signature;
use weft_host::{Connector, Weft};

/// The index of accepted installs in `installed/` (see
/// [`Connectors::write_index`]).
pub const INDEX: &str = "index.json";

/// An install recorded in an earlier run of the server that was not
/// loaded at this start, and why.
#[derive(Debug, Clone)]
pub struct NotLoaded {
    pub connector: String,
    pub version: String,
    pub reason: String,
}

impl Connectors {
    /// Where API installs are kept: a subdirectory the start-up scan of
    /// placed files does not read, so a file is loaded only through its
    /// install record (and its trust checked again).
    pub fn installed_dir(&self) -> PathBuf {
        self.dir.join("installed")
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
        let vouched = self.settings.trust.check(bytes, signature)?;
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
        vouched.require(&id, &version)?;
        let _one_at_a_time = self.changing.write().await;
        self.may_install(weft, &id, &version, &vouched.publisher)?;
        let sha = sha256(bytes);
        let file = self.write_component(&sha, bytes, signature).await?;
        let record = InstallRecord {
            id: id.clone(),
            version: version.clone(),
            sha256: sha.clone(),
            publisher: vouched.publisher.name().map(str::to_string),
            installed_by: actor.to_string(),
            installed_at: crate::now_ms(),
        };
        let installed = self
            .record_and_install(weft, &record, loaded)
            .inspect_err(|_| remove_component(&file));
        let installed = installed?;
        let signed = matches!(vouched.publisher, Publisher::Signed(_));
        self.write_origins().insert(
            key(&id, &version),
            Origin {
                source: Source::Api,
                sha256: Some(sha.clone()),
                publisher: record.publisher.clone(),
                signed,
                installed_by: Some(actor.to_string()),
                installed_at: Some(record.installed_at),
                file: Some(file.display().to_string()),
            },
        );
        audit.record(
            actor,
            Action::ConnectorInstall,
            &key(&id, &version),
            json!({"sha256": sha, "publisher": record.publisher, "signed": signed}),
        )?;
        self.write_index();
        Ok(installed)
    }

    /// Refuse what would take over an id — a bundled connector's, or one
    /// whose installed versions come from another publisher (a new version
    /// inherits the id's grants and the connections made for it) — and a
    /// version installed already.
    fn may_install(
        &self,
        weft: &Weft,
        id: &str,
        version: &str,
        publisher: &Publisher,
    ) -> Result<(), ApiError> {
        let set = weft.connectors();
        let shown =
            |p: Option<&str>| p.map_or("unsigned".to_string(), |p| format!("publisher {p:?}"));
        for c in set.versions(id) {
            let other = &c.manifest().version;
            let Some(origin) = self.origin(id, other) else {
                continue;
            };
            if origin.source == Source::Bundled {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "connector_id_reserved",
                    format!(
                        "{id} is a connector bundled with this weft; give yours another id (the `id` in its manifest)"
                    ),
                ));
            }
            if origin.publisher.as_deref() != publisher.name() {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "publisher_mismatch",
                    format!(
                        "{id}@{other} is installed from {}, but this component is {}; a connector id belongs to one publisher (its grants and connections carry over to new versions): give this connector another id, or remove every installed version of {id} first (the connections made for {id} stay, and the new publisher's component would use them)",
                        shown(origin.publisher.as_deref()),
                        shown(publisher.name()),
                    ),
                )
                .details(json!({"installed_version": other})));
            }
        }
        if set.versions(id).any(|c| c.manifest().version == version) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "version_exists",
                format!(
                    "{id}@{version} is installed already; bump the version in the connector's Cargo.toml, rebuild and install that"
                ),
            ));
        }
        Ok(())
    }

    /// Record the install durably, then add it to the engine; the record
    /// goes again if the engine refuses.
    fn record_and_install(
        &self,
        weft: &Weft,
        record: &InstallRecord,
        loaded: Connector,
    ) -> Result<Connector, ApiError> {
        let k = key(&record.id, &record.version);
        self.installs.insert(
            k.as_str(),
            serde_json::to_vec(record).map_err(ApiError::internal)?,
        )?;
        self.installs.flush()?;
        weft.install(loaded).map_err(|e| {
            if let Err(undo) = self
                .installs
                .remove(k.as_str())
                .and_then(|_| self.installs.flush())
            {
                tracing::error!(connector = %k, "cannot remove the install record of a refused install: {undo}");
            }
            install_refused(e)
        })
    }

    /// Write `installed/<sha>.wasm` (and `.sig`), whole or not at all (a
    /// temporary file renamed into place), off the async workers.
    async fn write_component(
        &self,
        sha: &str,
        bytes: &[u8],
        signature: Option<&Signature>,
    ) -> Result<PathBuf, ApiError> {
        let dir = self.installed_dir();
        let path = dir.join(format!("{sha}.wasm"));
        let sig = signature
            .map(serde_json::to_vec_pretty)
            .transpose()
            .map_err(ApiError::internal)?;
        let bytes = bytes.to_vec();
        let target = path.clone();
        tokio::task::spawn_blocking(move || -> Result<(), ApiError> {
            std::fs::create_dir_all(&dir)
                .map_err(|e| ApiError::internal(format!("cannot create {}: {e}", dir.display())))?;
            match sig {
                Some(sig) => write_whole(&signature_path(&target), &sig)?,
                // A signature left from an earlier install of these bytes
                // must not vouch for this unsigned one.
                None => remove_file(&signature_path(&target)),
            }
            write_whole(&target, &bytes).inspect_err(|_| remove_component(&target))
        })
        .await
        .map_err(ApiError::internal)??;
        Ok(path)
    }

    /// Load the API installs recorded by earlier runs, each checked again
    /// against this start's trust policy; what fails is left out (and
    /// returned, to be reported), never fatal: one bad file must not keep
    /// the server down.
    pub async fn load_installed(&self, weft: &Weft) -> Result<Vec<NotLoaded>, crate::kv::KvError> {
        let mut records = Vec::new();
        for item in self.installs.iter() {
            let (k, value) = item?;
            match serde_json::from_slice::<InstallRecord>(&value) {
                Ok(r) => records.push(r),
                Err(e) => tracing::warn!(
                    record = %String::from_utf8_lossy(&k),
                    "unreadable connector install record: {e}"
                ),
            }
        }
        let mut not_loaded = Vec::new();
        for record in records {
            if let Err(reason) = self.load_one(weft, &record).await {
                not_loaded.push(NotLoaded {
                    connector: record.id.clone(),
                    version: record.version.clone(),
                    reason,
                });
            }
        }
        self.write_index();
        Ok(not_loaded)
    }

    /// Write `installed/index.json`: the API installs this server accepted
    /// (file, SHA-256, id, version). The local commands (`weft run`,
    /// `validate`, `connector list`) load `installed/` through it, so they
    /// never load a file the server refused or left behind. A failure is
    /// logged: the server itself loads from its records.
    pub(super) fn write_index(&self) {
        let entries: Vec<serde_json::Value> = self
            .read_origins()
            .iter()
            .filter(|(_, o)| o.source == Source::Api)
            .filter_map(|(k, o)| {
                let (id, version) = k.rsplit_once('@')?;
                Some(json!({"sha256": o.sha256, "id": id, "version": version}))
            })
            .collect();
        let dir = self.installed_dir();
        let written = std::fs::create_dir_all(&dir)
            .map_err(|e| ApiError::internal(e.to_string()))
            .and_then(|()| {
                let text = serde_json::to_vec_pretty(&json!({"installed": entries}))
                    .map_err(ApiError::internal)?;
                write_whole(&dir.join(INDEX), &text)
            });
        if let Err(e) = written {
            tracing::warn!("cannot write {}: {}", dir.join(INDEX).display(), e.message);
        }
    }

    async fn load_one(&self, weft: &Weft, record: &InstallRecord) -> Result<(), String> {
        let path = self.installed_dir().join(format!("{}.wasm", record.sha256));
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if sha256(&bytes) != record.sha256 {
            return Err(format!(
                "{} was changed since it was installed (its SHA-256 differs); install the component again",
                path.display()
            ));
        }
        let signature = match tokio::fs::read(signature_path(&path)).await {
            Ok(text) => Some(
                serde_json::from_slice::<Signature>(&text)
                    .map_err(|e| format!("its signature file is unreadable: {e}"))?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("cannot read its signature file: {e}")),
        };
        let vouched: Vouched = self
            .settings
            .trust
            .check(&bytes, signature.as_ref())
            .map_err(|e| e.message)?;
        let loaded = weft
            .runtime()
            .load(&bytes)
            .await
            .map_err(|e| e.to_string())?;
        let (id, version) = {
            let m = loaded.manifest();
            (m.id.clone(), m.version.clone())
        };
        vouched.require(&id, &version).map_err(|e| e.message)?;
        if (id.as_str(), version.as_str()) != (record.id.as_str(), record.version.as_str()) {
            return Err(format!("the file is {id}@{version}, not what was recorded"));
        }
        self.may_install(weft, &id, &version, &vouched.publisher)
            .map_err(|e| e.message)?;
        weft.install(loaded).map_err(|e| e.to_string())?;
        self.write_origins().insert(
            key(&id, &version),
            Origin {
                source: Source::Api,
                sha256: Some(record.sha256.clone()),
                publisher: vouched.publisher.name().map(str::to_string),
                signed: matches!(vouched.publisher, Publisher::Signed(_)),
                installed_by: Some(record.installed_by.clone()),
                installed_at: Some(record.installed_at),
                file: Some(path.display().to_string()),
            },
        );
        Ok(())
    }
}

/// The answer to an install the engine refused after the checks passed.
fn install_refused(e: InstallError) -> ApiError {
    match e {
        InstallError::Set(ConnectorSetError::VersionExists { id, version }) => ApiError::new(
            StatusCode::CONFLICT,
            "version_exists",
            format!("{id}@{version} is installed already"),
        ),
        InstallError::Set(e) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_component",
            e.to_string(),
        ),
        InstallError::Grant(e) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_grant",
            format!(
                "the stored grant for this connector does not parse: {e}; replace it with PUT /api/v1/connectors/{{id}}/grants"
            ),
        ),
    }
}

fn write_whole(target: &Path, data: &[u8]) -> Result<(), ApiError> {
    let tmp = target.with_extension("tmp");
    std::fs::write(&tmp, data)
        .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, target))
        .map_err(|e| ApiError::internal(format!("cannot write {}: {e}", target.display())))
}

/// Remove a component file and its signature; a failure is logged (a
/// file in `installed/` without a record is never loaded).
pub(super) fn remove_component(path: &Path) {
    remove_file(&signature_path(path));
    remove_file(path);
}

fn remove_file(path: &Path) {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(file = %path.display(), "cannot remove: {e}"),
    }
}

/// See [`crate::ServerStore::move_root_installs`].
pub fn move_root_installs(db: &crate::kv::Tables, dir: &Path) -> usize {
    let records = match db.open_tree("connector_installs") {
        Ok(tree) => tree,
        Err(e) => {
            tracing::warn!("cannot read the connector installs: {e}");
            return 0;
        }
    };
    let target = dir.join("installed");
    let mut moved = 0;
    for item in records.iter().values() {
        let Some(record) = item
            .ok()
            .and_then(|v| serde_json::from_slice::<InstallRecord>(&v).ok())
        else {
            continue;
        };
        let old = dir.join(format!("{}.wasm", record.sha256));
        if !old.is_file() {
            continue;
        }
        let new = target.join(format!("{}.wasm", record.sha256));
        let result = std::fs::create_dir_all(&target)
            .and_then(
                |()| match std::fs::rename(signature_path(&old), signature_path(&new)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                    _ => Ok(()),
                },
            )
            .and_then(|()| std::fs::rename(&old, &new));
        match result {
            Ok(()) => moved += 1,
            Err(e) => {
                tracing::warn!(file = %old.display(), "cannot move into {}: {e}", target.display())
            }
        }
    }
    moved
}
