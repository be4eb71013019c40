//! Where a component comes from: a bundled id (`http`) or a `.wasm` file,
//! and where compiled components are cached.

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

/// Bundled components by the id users type, without the crate prefix.
pub fn bundled() -> impl Iterator<Item = (&'static str, &'static [u8])> {
    weft_components::ALL.iter().map(|(name, bytes)| {
        let id = name
            .trim_start_matches("weft-connector-")
            .trim_start_matches("weft-std-");
        (id, *bytes)
    })
}

pub async fn load(runtime: &Runtime, what: &str) -> Result<Connector, Failure> {
    let path = Path::new(what);
    let looks_like_file = what.ends_with(".wasm") || what.contains('/');
    if let Some((_, bytes)) = bundled().find(|(id, _)| *id == what)
        && !looks_like_file
    {
        return runtime
            .load(bytes)
            .await
            .map_err(|e| Failure::new(LOAD, format!("bundled component {what}: {e}")));
    }
    if !path.exists() {
        let ids: Vec<&str> = bundled().map(|(id, _)| id).collect();
        return Err(Failure::new(USAGE, format!("{what:?} is neither a bundled connector nor a file"))
            .hint(format!(
                "bundled connectors: {}; or give the path of a component built with `cargo build --release --target wasm32-wasip2`",
                ids.join(", ")
            )));
    }
    runtime
        .load_file(path)
        .await
        .map_err(|e| Failure::new(LOAD, format!("{}: {e}", path.display())))
}
