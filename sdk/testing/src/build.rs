//! Building the connector under test as a component: `cargo build --release
//! --target wasm32-wasip2` for the crate, once per test process.
//!
//! The build goes into the test's own target directory by default (the
//! directory `cargo test` put the test binary in), not a private one: the
//! proc-macros the SDK needs (serde, schemars, wit-bindgen) are host code,
//! already compiled there by `cargo test`, and a second directory would
//! compile them all again. Cargo releases its lock on the directory before
//! it runs the tests, so the nested build does not wait on the outer one.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// Why the component could not be built.
#[derive(Debug)]
pub enum BuildError {
    /// `cargo` could not be started.
    Spawn(std::io::Error),
    /// The build failed; cargo printed the compiler's messages above.
    Failed { crate_dir: PathBuf },
    /// The build succeeded but produced no `.wasm`.
    NoArtifact { crate_dir: PathBuf },
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::Spawn(e) => write!(f, "could not run cargo: {e}"),
            BuildError::Failed { crate_dir } => write!(
                f,
                "`cargo build --release --target wasm32-wasip2` failed for {}; its messages are above \
                 (is the target installed? `rustup target add wasm32-wasip2`)",
                crate_dir.display()
            ),
            BuildError::NoArtifact { crate_dir } => write!(
                f,
                "cargo built no .wasm for {}; does Cargo.toml say `[lib] crate-type = [\"cdylib\"]`?",
                crate_dir.display()
            ),
        }
    }
}

impl std::error::Error for BuildError {}

/// Components built by this process, by crate directory: tests running in
/// parallel build once and share the file.
fn built() -> &'static Mutex<HashMap<PathBuf, PathBuf>> {
    static BUILT: OnceLock<Mutex<HashMap<PathBuf, PathBuf>>> = OnceLock::new();
    BUILT.get_or_init(Default::default)
}

/// Build the connector crate at `crate_dir` for `wasm32-wasip2` (release)
/// and return the component's path. Built once per process; later calls
/// return the same file.
///
/// The target directory is `$WEFT_TEST_TARGET_DIR` if set, else the one
/// the running test binary lives in.
pub fn build_component(crate_dir: impl AsRef<Path>) -> Result<PathBuf, BuildError> {
    let crate_dir = crate_dir.as_ref();
    let key = crate_dir
        .canonicalize()
        .unwrap_or_else(|_| crate_dir.to_path_buf());
    // Held across the build on purpose: a second test waits for the first
    // one's build instead of starting its own.
    let mut done = built().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(path) = done.get(&key) {
        return Ok(path.clone());
    }
    let path = cargo_build(&key, &target_dir())?;
    done.insert(key, path.clone());
    Ok(path)
}

/// Where the nested build writes: `$WEFT_TEST_TARGET_DIR`, else the target
/// directory of the running test (`<target>/<profile>/deps/<test>`).
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WEFT_TEST_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| std::env::temp_dir().join("weft-sdk-test"))
}

fn cargo_build(crate_dir: &Path, target_dir: &Path) -> Result<PathBuf, BuildError> {
    let manifest = crate_dir.join("Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut child = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--lib",
            "--message-format=json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .env_remove("CARGO_TARGET_DIR")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(BuildError::Spawn)?;
    let wanted = manifest.canonicalize().unwrap_or(manifest.clone());
    let mut artifact = None;
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(path) = wasm_artifact(&line, &wanted) {
                artifact = Some(path);
            }
        }
    }
    let status = child.wait().map_err(BuildError::Spawn)?;
    if !status.success() {
        return Err(BuildError::Failed {
            crate_dir: crate_dir.to_path_buf(),
        });
    }
    artifact.ok_or_else(|| BuildError::NoArtifact {
        crate_dir: crate_dir.to_path_buf(),
    })
}

/// The `.wasm` of a `compiler-artifact` message about the crate at
/// `manifest`, if this line is one.
fn wasm_artifact(line: &str, manifest: &Path) -> Option<PathBuf> {
    let msg: serde_json::Value = serde_json::from_str(line).ok()?;
    if msg["reason"] != "compiler-artifact" {
        return None;
    }
    let from = Path::new(msg["manifest_path"].as_str()?);
    if from.canonicalize().ok()? != manifest {
        return None;
    }
    msg["filenames"]
        .as_array()?
        .iter()
        .filter_map(|f| f.as_str())
        .find(|f| f.ends_with(".wasm"))
        .map(PathBuf::from)
}
