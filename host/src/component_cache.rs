//! Compile once: precompiled components are cached on disk, keyed by the
//! SHA-256 of the component bytes and the engine's compatibility hash (so a
//! new wasmtime or different engine settings never load a stale artifact).

use crate::error::LoadError;
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Feeds `Hash` output into SHA-256, giving a key that is stable across
/// processes (std's hashers are not meant for that).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The cache key of `bytes` compiled by `engine`.
pub fn cache_key(engine: &Engine, bytes: &[u8]) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    hasher.write(&Sha256::digest(bytes));
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(hasher.0.finalize())
}

/// Compile `bytes`, going through the on-disk cache at `dir` when given.
pub fn compile(
    engine: &Engine,
    bytes: &[u8],
    dir: Option<&Path>,
) -> Result<(Component, String), LoadError> {
    let key = cache_key(engine, bytes);
    let Some(dir) = dir else {
        let component =
            Component::new(engine, bytes).map_err(|e| LoadError::Compile(format!("{e:#}")))?;
        return Ok((component, key));
    };
    let path = dir.join(format!("{key}.cwasm"));
    // Read into memory rather than mapping the file: a mapped file that is
    // truncated underneath us (another process, an operator cleaning up)
    // would crash the host with SIGBUS.
    if let Ok(cached) = std::fs::read(&path) {
        // SAFETY: the file was written by `precompile_component` of an
        // engine with the same compatibility hash (it is in the name), into
        // a directory the operator owns. A corrupt or foreign file fails
        // wasmtime's header checks and is recompiled below.
        match unsafe { Component::deserialize(engine, &cached) } {
            Ok(component) => return Ok((component, key)),
            Err(e) => {
                tracing::warn!(path = %path.display(), "discarding unusable cached component: {e:#}")
            }
        }
    }
    let compiled = engine
        .precompile_component(bytes)
        .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
    write_atomically(dir, &path, &compiled)?;
    // SAFETY: `compiled` was produced just now by this engine.
    let component = unsafe { Component::deserialize(engine, &compiled) }
        .map_err(|e| LoadError::Compile(format!("{e:#}")))?;
    Ok((component, key))
}

fn write_atomically(dir: &Path, path: &PathBuf, bytes: &[u8]) -> Result<(), LoadError> {
    // Unique per write, not just per process: two tasks compiling the same
    // component at once must not rename each other's temp file away.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(
        ".{}.{}.{n}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("component"),
        std::process::id()
    ));
    let err = |what: &Path, e: std::io::Error| LoadError::Cache(format!("{}: {e}", what.display()));
    std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
    std::fs::write(&tmp, bytes).map_err(|e| err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| err(path, e))
}
