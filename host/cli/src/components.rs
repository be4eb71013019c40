//! The one connector set every command sees: the connectors bundled in
//! this binary, the component files in the components directory
//! (`--components-dir`, `WEFT_COMPONENTS_DIR`, default
//! `DATA_DIR/components`), the components `weft serve` installed through
//! its API (kept in its `installed/` subdirectory), and any
//! `--component FILE`.
//!
//! `weft run`, `validate`, `connector list|describe|invoke` and `serve`
//! all build their set here, so a connector that one of them knows, all of
//! them know. `serve` alone leaves `installed/` out: it loads those from
//! its install records, checking each against its trust settings again,
//! and writes `installed/index.json`, the installs it accepted, which is
//! all the other commands load from there.

use crate::exit::{Failure, LOAD, USAGE};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use weft_host::{Connector, Runtime};

/// Where component files come from.
#[derive(Debug, Clone, Default)]
pub struct ComponentFiles {
    /// The components directory (its `*.wasm` files, if it exists).
    pub dir: PathBuf,
    /// Files named with `--component`.
    pub extra: Vec<PathBuf>,
    /// Also load `dir/installed/*.wasm` (the server's API installs).
    pub installed: bool,
}

/// A component file, loaded.
pub struct Placed {
    pub path: PathBuf,
    pub sha256: String,
    pub connector: Connector,
}

impl ComponentFiles {
    /// `dir`, unless the flag or environment named one.
    pub fn new(dir: Option<PathBuf>, data_dir: &Path, extra: Vec<PathBuf>) -> Self {
        ComponentFiles {
            dir: dir.unwrap_or_else(|| data_dir.join("components")),
            extra,
            installed: true,
        }
    }

    /// The same files without the server's API installs (for `serve`,
    /// which loads those through their records).
    pub fn without_installed(&self) -> Self {
        ComponentFiles {
            installed: false,
            ..self.clone()
        }
    }

    /// The files to load: the directory's `*.wasm`, sorted, then those of
    /// `installed/` that `index` (the server's, empty when left out) lists,
    /// then the `--component` files. A missing directory holds nothing.
    fn paths(&self, index: &BTreeMap<PathBuf, String>) -> Result<Vec<PathBuf>, Failure> {
        let mut found = wasm_files(&self.dir)?;
        found.extend(index.keys().cloned());
        for path in &self.extra {
            if !path.is_file() {
                return Err(Failure::new(
                    USAGE,
                    format!("--component {}: no such file", path.display()),
                )
                .hint("give the path of a component built with `cargo build --release --target wasm32-wasip2`"));
            }
            found.push(path.clone());
        }
        Ok(found)
    }

    /// The server's accepted API installs (`installed/index.json`, which
    /// `weft serve` writes): file → SHA-256. Files in `installed/` it does
    /// not list (refused at a start, or left behind) are not loaded.
    /// Empty when `installed/` is left out.
    fn installed_index(&self) -> BTreeMap<PathBuf, String> {
        if !self.installed {
            return BTreeMap::new();
        }
        let dir = self.dir.join("installed");
        let Ok(text) = std::fs::read(dir.join(weft_server::connectors::INDEX)) else {
            return Default::default();
        };
        let index: serde_json::Value = serde_json::from_slice(&text).unwrap_or_default();
        index["installed"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["sha256"].as_str())
            // The file name is the SHA-256: nothing else may be named.
            .filter(|sha| sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(|sha| (dir.join(format!("{sha}.wasm")), sha.to_string()))
            .filter(|(path, _)| path.is_file())
            .collect()
    }

    /// Load every file, naming the one that fails.
    pub async fn load(&self, runtime: &Runtime) -> Result<Vec<Placed>, Failure> {
        let index = self.installed_index();
        let mut placed = Vec::new();
        for path in self.paths(&index)? {
            let bytes = std::fs::read(&path)
                .map_err(|e| Failure::new(USAGE, format!("cannot read {}: {e}", path.display())))?;
            if let Some(sha) = index.get(&path)
                && weft_server::connectors::sha256(&bytes) != *sha
            {
                eprintln!(
                    "warning: {} changed since the server installed it; not loaded",
                    path.display()
                );
                continue;
            }
            let connector = runtime.load(&bytes).await.map_err(|e| {
                Failure::new(LOAD, format!("{}: {e}", path.display())).hint(format!(
                    "remove it from {} (or drop its --component) to go on without it",
                    self.dir.display()
                ))
            })?;
            placed.push(Placed {
                sha256: weft_server::connectors::sha256(&bytes),
                path,
                connector,
            });
        }
        Ok(placed)
    }
}

/// The bundled connectors: (id users type, bytes).
pub fn bundled() -> impl Iterator<Item = (&'static str, &'static [u8])> {
    weft_components::bundled().map(|(name, bytes)| (short_name(name), bytes))
}

/// Every component in this binary, test fixtures included (which
/// `weft connector describe|invoke NAME` reach but no set contains).
pub fn all() -> impl Iterator<Item = (&'static str, &'static [u8])> {
    weft_components::ALL
        .iter()
        .map(|(name, bytes)| (short_name(name), *bytes))
}

fn short_name(crate_name: &'static str) -> &'static str {
    crate_name
        .trim_start_matches("weft-connector-")
        .trim_start_matches("weft-std-")
}

/// The `*.wasm` files directly in `dir`, sorted; none if it does not exist.
fn wasm_files(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let unreadable = |e: std::io::Error| {
        Failure::new(
            USAGE,
            format!(
                "cannot read the components directory {}: {e}",
                dir.display()
            ),
        )
        .hint("point --components-dir (WEFT_COMPONENTS_DIR) at a readable directory")
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(unreadable(e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let path = entry.map_err(unreadable)?.path();
        if path.extension().is_some_and(|x| x == "wasm") && path.is_file() {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}
