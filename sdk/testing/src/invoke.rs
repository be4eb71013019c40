//! Running blocks through the `weft` command: `weft --json connector invoke
//! FILE BLOCK --input JSON [--allow ENTRY]... [--connection-secret-stdin]`.
//!
//! A subprocess per invocation costs a few milliseconds (`weft` keeps the
//! compiled component in its cache), and buys a test binary that links no
//! engine: the sandbox, limits, allow-list checks and credential injection
//! are exactly the ones `weft run` and `weft serve` apply.

use crate::build::{BuildError, build_component};
use crate::outcome::{Failure, Outcome};
use serde_json::Value;
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Why a test could not run a block at all (as opposed to the block
/// failing, which is a [`Failure`]).
#[derive(Debug)]
pub enum HarnessError {
    /// The component could not be built.
    Build(BuildError),
    /// `weft` was not found or could not be started.
    Weft(String),
    /// `weft` refused the command (bad grant, unloadable component, ...).
    Refused { exit_code: i32, stderr: String },
}

impl std::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HarnessError::Build(e) => e.fmt(f),
            HarnessError::Weft(m) => f.write_str(m),
            HarnessError::Refused { exit_code, stderr } => {
                write!(
                    f,
                    "`weft connector invoke` exited with {exit_code}: {stderr}"
                )
            }
        }
    }
}

impl std::error::Error for HarnessError {}

/// The `weft` executable the tests drive: `$WEFT_BIN`, else a `weft` built
/// beside the running test binary (inside a Weft checkout, so its own
/// tests use the `weft` of the same build), else `weft` on `PATH`.
pub fn weft_binary() -> Result<PathBuf, HarnessError> {
    if let Some(bin) = std::env::var_os("WEFT_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let exe_name = format!("weft{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(2).map(|d| d.join(&exe_name)))
        .filter(|p| p.is_file());
    if let Some(bin) = beside {
        return Ok(bin);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(&exe_name))
            .find(|p| p.is_file())
    });
    on_path.ok_or_else(|| {
        HarnessError::Weft(
            "the `weft` command was not found: install it from a Weft checkout with \
             `cargo install --path host/cli`, or point WEFT_BIN at it"
                .into(),
        )
    })
}

/// A credential for an authenticated block, injected by the host exactly
/// as the server injects a connection's: the block never sees it, and it
/// is scrubbed from responses and the recorded calls.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// The connector's declared API-key header or query parameter.
    ApiKey(String),
    /// `Authorization: Basic base64(username:password)`.
    Basic { username: String, password: String },
}

impl Credential {
    pub fn bearer(token: impl Into<String>) -> Self {
        Credential::Bearer(token.into())
    }
    pub fn api_key(key: impl Into<String>) -> Self {
        Credential::ApiKey(key.into())
    }
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credential::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Credential::Bearer(_) => "bearer",
            Credential::ApiKey(_) => "api-key",
            Credential::Basic { .. } => "basic",
        }
    }

    fn secret(&self) -> &str {
        match self {
            Credential::Bearer(s) | Credential::ApiKey(s) => s,
            Credential::Basic { password, .. } => password,
        }
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Basic { username, .. } => write!(f, "Basic({username}, [redacted])"),
            other => write!(f, "{}([redacted])", other.kind()),
        }
    }
}

/// Have `weft` compile the component once, into its on-disk cache, before
/// the tests start invoking it: parallel tests would otherwise each start
/// a `weft` that compiles the same component at the same time.
fn warm_compile_cache(weft: &Path, wasm: &Path) -> Result<(), HarnessError> {
    static WARMED: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
    let mut warmed = WARMED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if warmed.contains(wasm) {
        return Ok(());
    }
    let out = Command::new(weft)
        .args(["--json", "connector", "describe"])
        .arg(wasm)
        .output()
        .map_err(|e| HarnessError::Weft(format!("could not run {}: {e}", weft.display())))?;
    if !out.status.success() {
        return Err(HarnessError::Refused {
            exit_code: out.status.code().unwrap_or(-1),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    warmed.insert(wasm.to_path_buf());
    Ok(())
}

/// A connector component under test.
#[derive(Debug, Clone)]
pub struct Connector {
    wasm: PathBuf,
    weft: PathBuf,
}

impl Connector {
    /// Build the crate at `crate_dir` (normally `env!("CARGO_MANIFEST_DIR")`)
    /// for `wasm32-wasip2`, once per test process. Panics with what to do
    /// when the build fails or `weft` is missing: a test cannot go on.
    #[track_caller]
    pub fn build(crate_dir: impl AsRef<Path>) -> Connector {
        match Self::try_build(crate_dir) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    pub fn try_build(crate_dir: impl AsRef<Path>) -> Result<Connector, HarnessError> {
        let weft = weft_binary()?;
        let wasm = build_component(crate_dir).map_err(HarnessError::Build)?;
        warm_compile_cache(&weft, &wasm)?;
        Ok(Connector { wasm, weft })
    }

    /// A component file built elsewhere.
    pub fn from_file(wasm: impl Into<PathBuf>) -> Result<Connector, HarnessError> {
        Ok(Connector {
            wasm: wasm.into(),
            weft: weft_binary()?,
        })
    }

    /// The component file.
    pub fn path(&self) -> &Path {
        &self.wasm
    }

    /// The manifest as `weft connector describe --json` prints it: id,
    /// version, blocks with their JSON Schemas, hosts, auth kinds.
    #[track_caller]
    pub fn manifest(&self) -> Value {
        let out = Command::new(&self.weft)
            .args(["--json", "connector", "describe"])
            .arg(&self.wasm)
            .output();
        let out = match out {
            Ok(o) => o,
            Err(e) => panic!("could not run {}: {e}", self.weft.display()),
        };
        if !out.status.success() {
            panic!(
                "`weft connector describe` failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => panic!("`weft connector describe --json` printed no JSON: {e}"),
        }
    }

    /// Start describing an invocation of `block`.
    pub fn block(&self, block: &str) -> Invocation<'_> {
        Invocation {
            connector: self,
            block: block.to_string(),
            input: Value::Object(Default::default()),
            allow: Vec::new(),
            connection: None,
            credential: None,
            fuel: None,
            timeout: None,
        }
    }

    /// Run `block` with `input`, no grant and no credential; the output or
    /// the failure.
    #[track_caller]
    pub fn invoke(&self, block: &str, input: Value) -> Result<Value, Failure> {
        self.block(block).input(input).run().output
    }
}

/// One invocation, built up and then [`run`](Invocation::run).
#[derive(Debug, Clone)]
pub struct Invocation<'a> {
    connector: &'a Connector,
    block: String,
    input: Value,
    allow: Vec<String>,
    connection: Option<Value>,
    credential: Option<Credential>,
    fuel: Option<u64>,
    timeout: Option<Duration>,
}

impl Invocation<'_> {
    pub fn input(mut self, input: Value) -> Self {
        self.input = input;
        self
    }

    /// Grant an outbound destination (allow-list syntax, e.g.
    /// [`FakeApi::origin`](crate::FakeApi::origin)). Repeatable.
    pub fn allow(mut self, entry: impl Into<String>) -> Self {
        self.allow.push(entry.into());
        self
    }

    /// Non-secret connection fields (`ctx.connection`, `{field}` host
    /// templates).
    pub fn connection(mut self, fields: Value) -> Self {
        self.connection = Some(fields);
        self
    }

    /// The connection's secret, injected by the host into requests that
    /// pass the declared ∩ granted check.
    pub fn credential(mut self, credential: Credential) -> Self {
        self.credential = Some(credential);
        self
    }

    pub fn fuel(mut self, fuel: u64) -> Self {
        self.fuel = Some(fuel);
        self
    }

    /// The wall-clock limit.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Run it. Panics when `weft` itself could not run the block (not when
    /// the block fails: that is [`Outcome::output`]'s `Err`).
    #[track_caller]
    pub fn run(self) -> Outcome {
        match self.try_run() {
            Ok(o) => o,
            Err(e) => panic!("{e}"),
        }
    }

    pub fn try_run(self) -> Result<Outcome, HarnessError> {
        let input_file = InputFile::write(&self.input)?;
        let mut cmd = Command::new(&self.connector.weft);
        cmd.args(["--json", "connector", "invoke"])
            .arg(&self.connector.wasm)
            .arg(&self.block)
            .arg("--input")
            .arg(format!("@{}", input_file.path.display()));
        for entry in &self.allow {
            cmd.arg("--allow").arg(entry);
        }
        if let Some(fields) = &self.connection {
            cmd.arg("--connection").arg(fields.to_string());
        }
        if let Some(fuel) = self.fuel {
            cmd.arg("--fuel").arg(fuel.to_string());
        }
        if let Some(t) = self.timeout {
            cmd.arg("--timeout-ms").arg(t.as_millis().to_string());
        }
        if let Some(c) = &self.credential {
            cmd.args(["--connection-secret-stdin", "--connection-kind", c.kind()]);
            if let Credential::Basic { username, .. } = c {
                cmd.arg("--connection-username").arg(username);
            }
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| {
            HarnessError::Weft(format!(
                "could not run {}: {e}",
                self.connector.weft.display()
            ))
        })?;
        if let Some(mut stdin) = child.stdin.take() {
            // The secret goes through a pipe, never the command line.
            let secret = self.credential.as_ref().map(Credential::secret);
            if let Some(secret) = secret {
                let _ = writeln!(stdin, "{secret}");
            }
        }
        let out = child
            .wait_with_output()
            .map_err(|e| HarnessError::Weft(format!("waiting for weft: {e}")))?;
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        // 0: the block succeeded, 1: it failed; both print the report.
        let code = out.status.code().unwrap_or(-1);
        if code != 0 && code != 1 {
            return Err(HarnessError::Refused {
                exit_code: code,
                stderr,
            });
        }
        let report: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
            HarnessError::Weft(format!(
                "`weft connector invoke --json` printed no JSON ({e}); stderr: {stderr}"
            ))
        })?;
        Outcome::from_report(&report)
            .map_err(|e| HarnessError::Weft(format!("unexpected report from weft: {e}")))
    }
}

/// The input, in a temporary file passed as `--input @FILE` (a command
/// line argument is capped at 128 KiB on Linux). Removed when dropped.
struct InputFile {
    path: PathBuf,
}

impl InputFile {
    fn write(input: &Value) -> Result<InputFile, HarnessError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "weft-sdk-test-{}-{}.json",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, input.to_string())
            .map_err(|e| HarnessError::Weft(format!("writing {}: {e}", path.display())))?;
        Ok(InputFile { path })
    }
}

impl Drop for InputFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
