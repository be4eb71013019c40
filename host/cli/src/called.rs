//! `weft run --automations DIR`: the automations a run may call with
//! `call_automation` blocks, read from a directory of automation files.
//!
//! Every `*.json` file in the directory is validated before the run
//! starts, and all their problems are reported together: nothing runs if
//! one file is bad, since a half-loaded directory would only fail later,
//! in the middle of a run. Each file is registered under its `id`; two
//! files with one id are refused. The engine's own in-process caller
//! ([`LocalAutomations`]) runs the calls; this module adds what a user of
//! the command line needs on top: a call to an id no file has fails the
//! block with a message that names the flag, not the embedding API.

use crate::exit::Failure;
use crate::exit::USAGE;
use crate::run_cmd::INVALID;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use weft_host::chaining::{AutomationCaller, ChainCall, ChainError, ChainFuture};
use weft_host::{LocalAutomations, Weft};

/// Most files read from the directory: a typo'd path such as `/` must
/// not make `weft run` read a whole disk.
pub const MAX_FILES: usize = 1000;

/// Largest automation file read, like the server's request body limit.
pub const MAX_FILE_BYTES: u64 = 8 << 20;

/// The caller `weft run` installs in its engine, with or without a
/// directory.
pub struct CalledAutomations {
    local: Arc<LocalAutomations>,
    dir: Option<PathBuf>,
}

impl CalledAutomations {
    pub fn new(dir: Option<PathBuf>) -> Arc<Self> {
        Arc::new(CalledAutomations {
            local: Arc::new(LocalAutomations::new()),
            dir,
        })
    }

    /// Attach to `weft` and register every automation file of the
    /// directory (validated by `weft`). Returns how many.
    pub fn load(&self, weft: &Weft) -> Result<usize, Failure> {
        self.local.attach(weft);
        let Some(dir) = &self.dir else {
            return Ok(0);
        };
        let files = automation_files(dir)?;
        let mut problems = Vec::new();
        let mut seen: Vec<(String, PathBuf)> = Vec::new();
        for file in &files {
            match read(file).and_then(|doc| weft.validate(&doc).map_err(|e| e.to_string())) {
                Ok(plan) => {
                    if let Some((_, first)) = seen.iter().find(|(id, _)| *id == plan.id) {
                        problems.push(format!(
                            "{}: id {:?} is also the id of {}; each automation needs its own id",
                            file.display(),
                            plan.id,
                            first.display()
                        ));
                        continue;
                    }
                    seen.push((plan.id.clone(), file.clone()));
                    self.local.insert(plan);
                }
                Err(problem) => problems.push(format!(
                    "{}: {}",
                    file.display(),
                    // A validation report is a list itself: nest it.
                    problem.replace('\n', "\n    ")
                )),
            }
        }
        if !problems.is_empty() {
            for (id, _) in &seen {
                self.local.remove(id);
            }
            return Err(Failure::new(
                INVALID,
                format!(
                    "{} of the {} automation files in {} cannot be used, so nothing was run:\n  - {}",
                    problems.len(),
                    files.len(),
                    dir.display(),
                    problems.join("\n  - ")
                ),
            )
            .hint("fix the files named above (`weft validate FILE` checks one), or move them out of the directory"));
        }
        Ok(seen.len())
    }
}

impl AutomationCaller for CalledAutomations {
    fn call(&self, call: ChainCall) -> ChainFuture<'_> {
        if self.local.get(&call.automation).is_some() {
            return self.local.call(call);
        }
        let reason = match &self.dir {
            None => "`weft run` calls automations from files: pass --automations DIR, a directory holding the automation file with this id".to_string(),
            Some(dir) => {
                let ids = self.local.ids();
                format!(
                    "no automation file in {} has this id (the ids there: {})",
                    dir.display(),
                    if ids.is_empty() { "none".to_string() } else { ids.join(", ") }
                )
            }
        };
        let automation = call.automation;
        Box::pin(async move { Err(ChainError::Start { automation, reason }) })
    }
}

/// The `*.json` files directly in `dir`, sorted (so problems are listed
/// in a stable order).
fn automation_files(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Failure::new(USAGE, format!("--automations {}: {e}", dir.display()))
            .hint("give a directory of automation files (*.json)")
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| Failure::new(USAGE, format!("--automations {}: {e}", dir.display())))?
            .path();
        if path.extension().is_some_and(|e| e == "json") && path.is_file() {
            if files.len() == MAX_FILES {
                return Err(Failure::new(
                    USAGE,
                    format!(
                        "--automations {}: more than {MAX_FILES} automation files",
                        dir.display()
                    ),
                )
                .hint(
                    "point --automations at a directory holding only the automations the run calls",
                ));
            }
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn read(file: &Path) -> Result<serde_json::Value, String> {
    let size = std::fs::metadata(file).map_err(|e| e.to_string())?.len();
    if size > MAX_FILE_BYTES {
        return Err(format!(
            "{size} bytes, more than the limit of {MAX_FILE_BYTES} bytes for an automation file"
        ));
    }
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("not valid JSON: {e}"))
}
