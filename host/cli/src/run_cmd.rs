//! `weft run`, `weft validate`, `weft runs`, `weft run-log`: automations on
//! the embedded default (sled under the data directory, the standard
//! components bundled in this binary).

use crate::components::{self, ComponentFiles, Placed};
use crate::exit::{BLOCK_FAILED, Failure, LOAD, OK, USAGE};
use crate::term::safe;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use weft_host::store::RunFilter;
use weft_host::{Runtime, StepRecord, Trigger, Weft};

/// Exit code for an automation that does not validate.
pub const INVALID: u8 = 4;

/// `$WEFT_DATA_DIR`, else `$XDG_DATA_HOME/weft`, else `~/.local/share/weft`.
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir)
        .join("weft")
}

/// `CONNECTOR=ENTRY`, or a bare ENTRY for the `http` connector.
/// `--allow` entries grouped by the connector they grant (`ID=ENTRY`, or
/// a bare entry for `http`), in order.
pub fn grants_by_connector(grants: &[String]) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut by_id = std::collections::BTreeMap::<String, Vec<String>>::new();
    for g in grants {
        let (connector, entry) = parse_grant(g);
        if !g.contains('=') {
            // A bare origin is the http connector's: say so, since the
            // grant a user means may be another connector's.
            eprintln!(
                "note: --allow {g} applies to the http connector; for another connector write --allow CONNECTOR={g} (e.g. --allow slack=https://slack.com)"
            );
        }
        by_id.entry(connector).or_default().push(entry);
    }
    by_id
}

fn parse_grant(arg: &str) -> (String, String) {
    match arg.split_once('=') {
        Some((c, e)) if !c.contains("://") => (c.to_string(), e.to_string()),
        _ => ("http".to_string(), arg.to_string()),
    }
}

pub async fn engine(
    data_dir: &Path,
    cache_dir: &Path,
    grants: &[String],
    files: &ComponentFiles,
) -> Result<Weft, Failure> {
    build(default_builder(data_dir, cache_dir, grants, files).await?).await
}

/// [`engine`], with `caller` running the run's `call_automation` blocks.
pub async fn engine_calling(
    data_dir: &Path,
    cache_dir: &Path,
    grants: &[String],
    files: &ComponentFiles,
    caller: std::sync::Arc<crate::called::CalledAutomations>,
) -> Result<Weft, Failure> {
    let builder = default_builder(data_dir, cache_dir, grants, files).await?;
    build(builder.automation_caller(caller)).await
}

/// [`engine_builder`] with no routes and the default sandbox settings.
async fn default_builder(
    data_dir: &Path,
    cache_dir: &Path,
    grants: &[String],
    files: &ComponentFiles,
) -> Result<weft_host::WeftBuilder, Failure> {
    let (builder, _) = engine_builder(
        History::Sled(data_dir),
        cache_dir,
        grants,
        &[],
        files,
        &SandboxSettings::default(),
    )
    .await?;
    Ok(builder)
}

/// `[sandbox]` in `weft serve`'s TOML file: runtime-wide sandbox settings
/// (each block's own limits are the connectors' grants). Unset: the
/// engine's defaults.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSettings {
    /// Longest a component's own code may take at load (default 10000).
    pub load_wall_clock_ms: Option<u64>,
    /// Invocations running at once (default 256); one more waits for a
    /// slot within its deadline, then fails as the server at capacity.
    pub max_concurrent_instances: Option<u32>,
    /// Caps on a block's error message, error details and log lines.
    pub guest_text: Option<weft_host::guest_text::GuestTextLimits>,
}

impl SandboxSettings {
    fn apply(&self, mut runtime: weft_host::RuntimeBuilder) -> weft_host::RuntimeBuilder {
        if let Some(ms) = self.load_wall_clock_ms {
            runtime = runtime.load_wall_clock(std::time::Duration::from_millis(ms));
        }
        if let Some(n) = self.max_concurrent_instances {
            runtime = runtime.max_concurrent_instances(n);
        }
        if let Some(limits) = self.guest_text {
            runtime = runtime.guest_text_limits(limits);
        }
        runtime
    }
}

/// Where run history is kept: the one place that picks the engine's
/// [`weft_host::RunStore`].
pub enum History<'a> {
    /// sled under `DATA_DIR/history` (the embedded default).
    Sled(&'a Path),
    /// `weft serve --database-url`: history on this database, written by
    /// this host (`host`, holding its runs' leases for `lease`).
    Postgres(&'a SharedHistory),
}

/// Run history on a database shared with other hosts.
pub struct SharedHistory {
    pub database: weft_pg::Database,
    /// This process's name among the hosts (see `serve_cmd::host_id`).
    pub host: String,
    /// How long a run stays this host's without a renewal.
    pub lease: std::time::Duration,
}

impl<'a> History<'a> {
    /// For `weft serve`: on the database when one is given.
    pub fn for_serve(data_dir: &'a Path, shared: Option<&'a SharedHistory>) -> Self {
        match shared {
            Some(shared) => History::Postgres(shared),
            None => History::Sled(data_dir),
        }
    }

    fn apply(self, builder: weft_host::WeftBuilder) -> Result<weft_host::WeftBuilder, Failure> {
        Ok(match self {
            History::Sled(data_dir) => builder.sled(data_dir.join("history")),
            History::Postgres(shared) => {
                let store = weft_pg::PgRunStore::new(
                    shared.database.clone(),
                    shared.host.clone(),
                    shared.lease,
                )
                .map_err(|e| {
                    Failure::new(
                        crate::exit::INTERNAL,
                        format!("cannot open run history in the database: {e}"),
                    )
                })?;
                builder.store(store)
            }
        })
    }
}

/// The engine's builder: the bundled connectors and the component files
/// (see [`crate::components`]), the grants and the operator routes
/// (`FROM=TO` origins), run history where `history` says. Also returns the files
/// loaded.
pub async fn engine_builder(
    history: History<'_>,
    cache_dir: &Path,
    grants: &[String],
    routes: &[String],
    files: &ComponentFiles,
    sandbox: &SandboxSettings,
) -> Result<(weft_host::WeftBuilder, Vec<Placed>), Failure> {
    let mut runtime = sandbox.apply(Runtime::builder().cache_dir(cache_dir));
    for route in routes {
        let Some((from, to)) = route.split_once('=') else {
            return Err(
                Failure::new(USAGE, format!("route {route:?}: expected FROM=TO"))
                    .hint("e.g. --route https://slack.com=http://127.0.0.1:4567"),
            );
        };
        runtime = runtime.route_origin(from, to);
    }
    let runtime = runtime.build().map_err(|e| {
        Failure::new(
            crate::exit::INTERNAL,
            format!("could not start the engine: {e}"),
        )
    })?;
    let placed = files.load(&runtime).await?;
    let mut builder = history.apply(Weft::builder().runtime(runtime))?;
    for (_, bytes) in components::bundled() {
        builder = builder.component(bytes);
    }
    for p in &placed {
        builder = builder.connector(p.connector.clone());
    }
    for g in grants {
        let (connector, entry) = parse_grant(g);
        if !g.contains('=') {
            // A bare origin is the http connector's: say so, since the
            // grant a user means may be another connector's.
            eprintln!(
                "note: --allow {g} applies to the http connector; for another connector write --allow CONNECTOR={g} (e.g. --allow slack=https://slack.com)"
            );
        }
        builder = builder.grant(&connector, &[entry]);
    }
    Ok((builder, placed))
}

pub async fn build(builder: weft_host::WeftBuilder) -> Result<Weft, Failure> {
    use weft_host::WeftError;
    builder.build().await.map_err(|e| {
        let text = e.to_string();
        match e {
            WeftError::Grant { .. } => Failure::new(USAGE, text).hint(
                "grants look like --allow http://127.0.0.1:8080 or --allow CONNECTOR=https://api.example.com",
            ),
            WeftError::DuplicateConnector(_) | WeftError::Connectors(_) => {
                Failure::new(USAGE, text).hint(
                    "each connector version may come only once: from this binary, the components directory (--components-dir) or --component",
                )
            }
            WeftError::Store(_) => Failure::new(crate::exit::INTERNAL, text)
                .hint("is another weft (e.g. `weft serve`) using the same --data-dir? Give this command its own --data-dir"),
            WeftError::Load(_) | WeftError::Invalid(_) => Failure::new(LOAD, text),
        }
    })
}

fn read_document(file: &Path) -> Result<Value, Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::new(USAGE, format!("cannot read {}: {e}", file.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        Failure::new(
            INVALID,
            format!("{} is not valid JSON: {e}", file.display()),
        )
    })
}

pub async fn validate(weft: &Weft, file: &Path, json_out: bool) -> Result<u8, Failure> {
    let doc = read_document(file)?;
    match weft.validate(&doc) {
        Ok(plan) => {
            if json_out {
                println!(
                    "{}",
                    json!({"valid": true, "id": plan.id, "blocks": plan.nodes.len(),
                           "warnings": plan.warnings})
                );
            } else {
                println!(
                    "{} is valid: automation {:?}, {} blocks",
                    file.display(),
                    plan.id,
                    plan.nodes.len()
                );
                // Valid, but worth a look: on stderr, so stdout stays the
                // verdict.
                for w in &plan.warnings {
                    eprintln!("warning: {w}");
                }
            }
            Ok(OK)
        }
        Err(errors) => {
            if json_out {
                println!("{}", json!({"valid": false, "errors": errors.0}));
                Ok(INVALID)
            } else {
                Err(Failure::new(INVALID, format!("{}: {errors}", file.display()))
                    .hint("fix the blocks named above; `weft connector describe ID` shows each connector's blocks and inputs"))
            }
        }
    }
}

pub async fn run(weft: &Weft, file: &Path, input: Value, json_out: bool) -> Result<u8, Failure> {
    let doc = read_document(file)?;
    let plan = weft.validate(&doc).map_err(|errors| {
        Failure::new(INVALID, format!("{}: {errors}", file.display()))
            .hint(format!("check it with `weft validate {}`", file.display()))
    })?;
    // A one-shot run cannot pause: there is no server to submit a form
    // to, and nothing to resume the run afterwards.
    if let Some(node) = plan
        .nodes
        .iter()
        .find(|n| matches!(n.kind, weft_host::automation::plan::NodeKind::Input { .. }))
    {
        return Err(Failure::new(
            USAGE,
            format!(
                "{}: block {:?} is an input block, which pauses the run until a form is submitted through a server's API; `weft run` cannot pause",
                file.display(),
                safe(&node.id)
            ),
        )
        .hint("load it into `weft serve` and start it there (POST /api/v1/automations/{id}/runs), then submit the form with POST /api/v1/runs/{run_id}/input"));
    }
    let trigger = Trigger::Cli;
    // Human mode prints each step as it finishes: progress for long runs.
    let live = |step: &StepRecord| print_step(step);
    let result = if json_out {
        weft.run(&plan, input, trigger).await
    } else {
        weft.run_observed(&plan, input, trigger, &live).await
    }
    .map_err(|e| Failure::new(crate::exit::INTERNAL, e.to_string()))?;
    let ok = !matches!(
        result.record.status,
        weft_host::RunStatus::Failed | weft_host::RunStatus::Stopped
    );
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"run": result.record, "steps": result.steps}))
                .unwrap_or_default()
        );
    } else {
        let r = &result.record;
        eprintln!("run {} {}", r.id, status_text(r));
        for w in &r.warnings {
            eprintln!("warning: {}", safe(w));
        }
        if let Some(e) = &r.error {
            eprintln!("error: {}", safe(e));
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&r.output).unwrap_or_default()
        );
    }
    Ok(if ok { OK } else { BLOCK_FAILED })
}

fn status_text(r: &weft_host::RunRecord) -> String {
    let status = serde_json::to_value(r.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    match (r.started_at, r.finished_at) {
        (Some(s), Some(f)) => format!("{status} in {} ms", f - s),
        _ => status,
    }
}

fn print_trace(steps: &[StepRecord]) {
    steps.iter().for_each(print_step);
}

fn print_step(s: &StepRecord) {
    let mark = match s.status {
        weft_host::StepStatus::Succeeded => "✓",
        weft_host::StepStatus::Failed => "✗",
        weft_host::StepStatus::Warning => "!",
        weft_host::StepStatus::Ignored => "~",
    };
    let indent = "  ".repeat(s.iteration.len() + 1);
    let what = s.target.clone().unwrap_or_else(|| s.block_type.clone());
    let iter = if s.iteration.is_empty() {
        String::new()
    } else {
        format!(
            " [{}]",
            s.iteration
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    let mut extra = String::new();
    if !s.http_calls.is_empty() {
        extra.push_str(&format!(", {} HTTP call(s)", s.http_calls.len()));
    }
    if s.attempts > 1 {
        extra.push_str(&format!(", {} attempts", s.attempts));
    }
    if s.censored {
        extra.push_str(", censored");
    }
    eprintln!(
        "{indent}{mark} {}{iter}  {what}  {:.2} ms{extra}",
        s.block_id,
        s.duration_us as f64 / 1000.0
    );
    if let Some(e) = &s.error {
        eprintln!("{indent}    {}", safe(e));
    }
    for l in &s.logs {
        eprintln!("{indent}    log {:?}: {}", l.level, safe(&l.message));
    }
}

pub fn runs(
    weft: &Weft,
    automation: Option<String>,
    limit: usize,
    json_out: bool,
) -> Result<u8, Failure> {
    let runs = weft
        .store()
        .list_runs(&RunFilter {
            automation_id: automation,
            limit: Some(limit),
        })
        .map_err(|e| Failure::new(crate::exit::INTERNAL, e.to_string()))?;
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&runs).unwrap_or_default()
        );
    } else if runs.is_empty() {
        println!("no runs yet (start one with `weft run FILE`)");
    } else {
        for r in &runs {
            println!("{}  {:<24} {}", r.id, r.automation_id, status_text(r));
        }
    }
    Ok(OK)
}

pub fn run_log(weft: &Weft, run_id: &str, json_out: bool) -> Result<u8, Failure> {
    let err = |e: weft_host::store::StoreError| Failure::new(crate::exit::INTERNAL, e.to_string());
    let Some(record) = weft.store().get_run(run_id).map_err(err)? else {
        return Err(Failure::new(USAGE, format!("no run {run_id:?}"))
            .hint("`weft runs` lists the recent runs"));
    };
    let steps = weft.store().steps(run_id).map_err(err)?;
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"run": record, "steps": steps}))
                .unwrap_or_default()
        );
    } else {
        println!(
            "run {} of {} ({}), {}",
            record.id,
            record.automation_id,
            record.trigger.kind(),
            status_text(&record)
        );
        print_trace(&steps);
        for s in &steps {
            for c in &s.http_calls {
                eprintln!(
                    "    {}: {} {} → {}",
                    s.block_id,
                    safe(&c.method),
                    safe(&c.url),
                    safe(
                        &c.status.map_or_else(
                            || c.error.clone().unwrap_or_default(),
                            |st| st.to_string()
                        )
                    )
                );
            }
        }
        if let Some(e) = &record.error {
            println!("error: {}", safe(e));
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&record.output).unwrap_or_default()
        );
    }
    Ok(OK)
}

/// JSON text or @file.
pub fn parse_input(text: &str) -> Result<Value, Failure> {
    crate::connector_cmd::parse_json_arg("--input", text)
}
