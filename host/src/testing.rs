//! Helpers for connector authors' tests: build your connector crate as a
//! component and run its blocks in the real host from a plain `#[test]`.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use weft_host::testing::TestConnector;
//!
//! let connector = TestConnector::build(env!("CARGO_MANIFEST_DIR")).await?;
//! let out = connector.invoke("greet", serde_json::json!({"name": "Ada"})).await?;
//! assert_eq!(out["greeting"], "Hello, Ada!");
//! # Ok(()) }
//! ```

use crate::error::{InvokeError, LoadError};
use crate::runtime::{Connector, InvokeContext, InvokeReport, Runtime};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TestBuildError {
    #[error("could not run cargo: {0}")]
    Spawn(std::io::Error),
    #[error(
        "`cargo build --target wasm32-wasip2` failed for {0}; see its output above (is the target installed? `rustup target add wasm32-wasip2`)"
    )]
    Build(String),
    #[error("cargo built no .wasm for {0}; is the crate's lib crate-type [\"cdylib\"]?")]
    NoArtifact(String),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("invalid grant: {0}")]
    Grant(String),
}

/// Build the connector crate at `crate_dir` for `wasm32-wasip2` (release)
/// and return the component's path. Uses a target directory of its own
/// beside the test binary's, so it never waits on the outer cargo.
pub fn build_component(crate_dir: impl AsRef<Path>) -> Result<PathBuf, TestBuildError> {
    let crate_dir = crate_dir.as_ref();
    let manifest = crate_dir.join("Cargo.toml");
    let target_dir = std::env::var_os("WEFT_TEST_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(default_target_dir);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut child = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--message-format=json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(TestBuildError::Spawn)?;
    let wanted = manifest.canonicalize().unwrap_or(manifest.clone());
    let mut artifact = None;
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let same_crate = msg["manifest_path"]
                .as_str()
                .map(|p| {
                    Path::new(p)
                        .canonicalize()
                        .map(|p| p == wanted)
                        .unwrap_or(false)
                })
                .unwrap_or(false);
            if msg["reason"] == "compiler-artifact" && same_crate {
                for f in msg["filenames"].as_array().into_iter().flatten() {
                    if let Some(f) = f.as_str().filter(|f| f.ends_with(".wasm")) {
                        artifact = Some(PathBuf::from(f));
                    }
                }
            }
        }
    }
    let status = child.wait().map_err(TestBuildError::Spawn)?;
    if !status.success() {
        return Err(TestBuildError::Build(crate_dir.display().to_string()));
    }
    artifact.ok_or_else(|| TestBuildError::NoArtifact(crate_dir.display().to_string()))
}

/// `<target>/weft-test-components`, found from the running test binary
/// (`<target>/<profile>/deps/<test>`).
fn default_target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(std::env::temp_dir)
        .join("weft-test-components")
}

/// A connector loaded into a real runtime, with shortcuts for tests.
/// Cheap to clone, so one build can serve many tests.
#[derive(Clone)]
pub struct TestConnector {
    pub runtime: Runtime,
    pub connector: Connector,
}

impl TestConnector {
    /// Build the crate at `crate_dir` and load it with default limits and
    /// no HTTP grant.
    pub async fn build(crate_dir: impl AsRef<Path>) -> Result<Self, TestBuildError> {
        let crate_dir = crate_dir.as_ref().to_path_buf();
        // cargo runs for a while on a cold cache; keep it off the async workers.
        let path = tokio::task::spawn_blocking(move || build_component(crate_dir))
            .await
            .map_err(|e| TestBuildError::Spawn(std::io::Error::other(e.to_string())))??;
        let bytes = std::fs::read(&path).map_err(TestBuildError::Spawn)?;
        Self::from_bytes(&bytes).await
    }

    pub async fn from_bytes(bytes: &[u8]) -> Result<Self, TestBuildError> {
        let runtime = Runtime::builder()
            .cache_dir(default_target_dir().join("compiled"))
            .max_concurrent_instances(16)
            .build()?;
        let connector = runtime.load(bytes).await?;
        Ok(TestConnector { runtime, connector })
    }

    /// Allow outbound hosts, e.g. `["http://127.0.0.1:*"]` for a local
    /// fake of the API.
    pub fn grant<S: AsRef<str>>(mut self, entries: &[S]) -> Result<Self, TestBuildError> {
        self.connector = self
            .connector
            .with_grant(entries)
            .map_err(|e| TestBuildError::Grant(e.to_string()))?;
        Ok(self)
    }

    /// Invoke a block and return its output or error.
    pub async fn invoke(
        &self,
        block: &str,
        input: serde_json::Value,
    ) -> Result<serde_json::Value, InvokeError> {
        self.invoke_report(block, input).await.output
    }

    /// Invoke a block and return everything: output, HTTP calls, logs, fuel.
    pub async fn invoke_report(&self, block: &str, input: serde_json::Value) -> InvokeReport {
        let ctx = InvokeContext {
            run_id: "test-run".into(),
            step_id: format!("test-{block}"),
            ..InvokeContext::default()
        };
        self.invoke_with(block, input, &ctx).await
    }

    /// Invoke with a context of your own: connection fields, attempt
    /// number, a deadline or fuel budget.
    pub async fn invoke_with(
        &self,
        block: &str,
        input: serde_json::Value,
        ctx: &InvokeContext,
    ) -> InvokeReport {
        self.connector.invoke(block, &input, ctx).await
    }
}
