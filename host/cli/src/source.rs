//! Where a component comes from: a bundled id (`http`), an installed
//! connector's id, or a `.wasm` file; and where compiled components are
//! cached.

use crate::components::{self, ComponentFiles};
use crate::exit::{Failure, LOAD, USAGE};
use std::path::{Path, PathBuf};
use weft_host::{Connector, Runtime};

/// `$XDG_CACHE_HOME/weft/compiled`, else `~/.cache/weft/compiled`, else a
/// temp dir.
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("weft")
        .join("compiled")
}

/// A connector by what the user typed: a component in this binary
/// (`http`, or a test fixture such as `echo`), a connector in the
/// components directory or `--component` files (the newest version), or
/// the path of a `.wasm` file.
pub async fn load(
    runtime: &Runtime,
    what: &str,
    files: &ComponentFiles,
) -> Result<Connector, Failure> {
    let path = Path::new(what);
    let looks_like_file = what.ends_with(".wasm") || what.contains('/');
    if !looks_like_file {
        if let Some((_, bytes)) = components::all().find(|(id, _)| *id == what) {
            return runtime
                .load(bytes)
                .await
                .map_err(|e| Failure::new(LOAD, format!("bundled component {what}: {e}")));
        }
        let placed = files.load(runtime).await?;
        let newest = placed
            .into_iter()
            .map(|p| p.connector)
            .filter(|c| c.manifest().id == what)
            .max_by_key(|c| semver::Version::parse(&c.manifest().version).ok());
        if let Some(c) = newest {
            return Ok(c);
        }
    }
    if !path.exists() {
        let ids: Vec<&str> = components::bundled().map(|(id, _)| id).collect();
        return Err(Failure::new(USAGE, format!("{what:?} is neither a known connector nor a file"))
            .hint(format!(
                "bundled connectors: {}; `weft connector list` also shows those in {}; or give the path of a component built with `cargo build --release --target wasm32-wasip2`",
                ids.join(", "),
                files.dir.display()
            )));
    }
    runtime
        .load_file(path)
        .await
        .map_err(|e| Failure::new(LOAD, format!("{}: {e}", path.display())))
}
