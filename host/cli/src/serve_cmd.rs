//! `weft serve`: settings from flags, environment and a TOML file (in that
//! order of precedence), then the server.

use crate::components::{ComponentFiles, Placed};
use crate::exit::{Failure, INTERNAL, OK, USAGE};
use crate::run_cmd;
use clap::Args;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use weft_host::signing::{Signature, TrustedKey, TrustedKeys};
use weft_server::connectors::PlacedFile;
use weft_server::connectors::trust::TrustPolicy;
use weft_server::{AppState, ServerConfig};

#[derive(Args)]
#[command(
    after_help = "Settings may also come from a TOML file (--config); flags and environment win.\n\
    Example weft.toml:\n  listen = \"0.0.0.0:8080\"\n  allow = [\"https://api.example.com\"]\n  rate_limit_per_minute = 600\n  per_automation_concurrency = 1\n  trusted_keys = [\"acme=PUBLIC_KEY\"]\n  [connectors.acme-tasks]\n  allow = [\"https://api.acme-tasks.example\"]\n  limits = { fuel = 500000000, wall_clock = 30000 }\n  [run_limits]            # host-side limits of every run; defaults shown\n  max_value_bytes = 8388608\n  max_run_memory_bytes = 268435456\n  max_retry_wait = 300000 # ms\n  max_error_bytes = 8192\n  max_loop_iterations = 1000000\n  nesting = { max_formula_depth = 32, max_block_depth = 32, max_json_depth = 64 }\n  state = { max_key_bytes = 256, max_value_bytes = 65536, max_keys = 1000 }\n  [sandbox]               # the WebAssembly runtime; defaults shown\n  load_wall_clock_ms = 10000\n  max_concurrent_instances = 256\n  guest_text = { max_error_message_bytes = 8192, max_error_details_bytes = 65536, max_log_line_bytes = 8192 }\n\n\
    Connectors: the bundled ones, the component files in --components-dir (default DATA_DIR/components) and --component FILE, and those installed through the API (`weft connector install`), which are kept in its installed/ subdirectory and checked against the trusted keys again at every start. Grants and limits changed through the API (`weft connector grant`) win over this file."
)]
pub struct ServeArgs {
    /// A TOML file with any of the settings below.
    #[arg(long, env = "WEFT_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on (port 0 picks a free one) [default: 127.0.0.1:8080].
    #[arg(long, env = "WEFT_LISTEN")]
    listen: Option<String>,
    /// Token for the first admin (created on first start); without it one
    /// is generated and printed once.
    #[arg(long, env = "WEFT_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Grant outbound hosts, as for `weft run`. Repeatable; adds to the file's list.
    #[arg(long = "allow", value_name = "GRANT")]
    allow: Vec<String>,
    /// Seconds a synchronous execute call waits for the output [default: 55].
    #[arg(long)]
    execute_timeout_secs: Option<u64>,
    /// Largest webhook body accepted, in bytes [default: 1048576].
    #[arg(long)]
    max_webhook_bytes: Option<usize>,
    /// Triggers per minute per automation unless it sets its own [default: 6000].
    #[arg(long)]
    rate_limit_per_minute: Option<u32>,
    /// Runs of one automation at the same time [default: 1].
    #[arg(long)]
    per_automation_concurrency: Option<usize>,
    /// Runs one automation may have waiting to start; more answer 429
    /// queue_full [default: 1000].
    #[arg(long)]
    max_queued_per_automation: Option<usize>,
    /// Runs at the same time overall [default: 16].
    #[arg(long)]
    global_concurrency: Option<usize>,
    /// Shortest allowed gap between a schedule's runs, in seconds [default: 30].
    #[arg(long)]
    min_schedule_interval_secs: Option<u64>,
    /// Days of run history kept [default: 30].
    #[arg(long)]
    retention_days: Option<u64>,
    /// Runs kept per automation, newest first [default: 5000].
    #[arg(long)]
    max_runs_per_automation: Option<usize>,
    /// Automation files (or directories of `*.json`) to load at start,
    /// owned by the admin: new ones are created and their execution token
    /// and webhook URL printed once; changed ones get a new version.
    /// Repeatable.
    #[arg(long = "load", value_name = "PATH")]
    load: Vec<PathBuf>,
    /// Send requests for one origin to another: `FROM=TO`, e.g.
    /// `https://slack.com=http://127.0.0.1:4567` for a staging mock. Checks,
    /// grants and credentials still use FROM. Repeatable.
    #[arg(long = "route", value_name = "FROM=TO")]
    route: Vec<String>,
    /// The server's URL as browsers reach it, for OAuth2 redirects
    /// [default: http://LISTEN-ADDRESS].
    #[arg(long, env = "WEFT_PUBLIC_URL")]
    public_url: Option<String>,
    /// Trust components signed by this publisher key: `NAME=PUBLIC_KEY`
    /// (the public key `weft connector keygen` printed). Components
    /// installed through the API must carry a signature by a trusted key.
    /// Repeatable; WEFT_TRUSTED_KEYS takes a comma-separated list.
    #[arg(
        long = "trusted-key",
        value_name = "NAME=KEY",
        env = "WEFT_TRUSTED_KEYS",
        value_delimiter = ','
    )]
    trusted_key: Vec<String>,
    /// Accept unsigned components through the API too (shown as unsigned).
    #[arg(long)]
    allow_unsigned_components: bool,
    /// Largest component `POST /api/v1/connectors` accepts, in bytes
    /// [default: 33554432].
    #[arg(long)]
    max_component_bytes: Option<usize>,
    /// Crashes (stops not in order: a kill, running out of memory) a
    /// queued run may be in progress at; a run interrupted this many times
    /// is failed at the next start instead of resumed, so no run can take
    /// the server down again and again. Below it, the run resumes at its
    /// last finished block. Runs in progress at an orderly stop (SIGTERM,
    /// Ctrl-C) resume within --max-run-resumes [default: 2].
    #[arg(long)]
    max_run_interruptions: Option<u32>,
    /// Orderly stops (SIGTERM, Ctrl-C) a queued run may be cut short by
    /// and still resume at the next start; one more and it is failed, so
    /// a run that wedges the server cannot be restarted without end by a
    /// supervisor [default: 3].
    #[arg(long)]
    max_run_resumes: Option<u32>,
    /// How long a console sign-in lasts, in hours [default: 12].
    #[arg(long)]
    session_hours: Option<u64>,
    /// Keep the server's tables (users, automations, connections, ...) in
    /// this PostgreSQL database instead of under --data-dir, migrating it
    /// at start: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE. Hosts
    /// sharing a database must share the secret key (WEFT_SECRET_KEY).
    /// Everything is kept there — run history and the queue included —
    /// so several hosts can share the work: see docs/operations/several-hosts.md.
    #[arg(long, env = "WEFT_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// With --database-url: how long a queued or running run stays this
    /// host's without a renewal (renewed every quarter of it). A host
    /// that dies has its runs resumed by another within about this long
    /// [default: 10].
    #[arg(long)]
    run_lease_secs: Option<u64>,
}

/// A connector's grants and limits in the TOML file (`[connectors.ID]`).
/// Changes made through the API later win: they are the newer word.
type FilePolicies = std::collections::BTreeMap<String, weft_host::ConnectorPolicy>;

/// The TOML file's shape; every key optional, unknown keys refused.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    admin_token: Option<String>,
    #[serde(default)]
    allow: Vec<String>,
    execute_timeout_secs: Option<u64>,
    max_webhook_bytes: Option<usize>,
    rate_limit_per_minute: Option<u32>,
    per_automation_concurrency: Option<usize>,
    max_queued_per_automation: Option<usize>,
    global_concurrency: Option<usize>,
    min_schedule_interval_secs: Option<u64>,
    retention_days: Option<u64>,
    max_runs_per_automation: Option<usize>,
    #[serde(default)]
    load: Vec<PathBuf>,
    #[serde(default)]
    routes: Vec<String>,
    public_url: Option<String>,
    #[serde(default)]
    trusted_keys: Vec<String>,
    #[serde(default)]
    allow_unsigned_components: bool,
    max_component_bytes: Option<usize>,
    #[serde(default)]
    connectors: FilePolicies,
    max_run_interruptions: Option<u32>,
    max_run_resumes: Option<u32>,
    session_hours: Option<u64>,
    database_url: Option<String>,
    run_lease_secs: Option<u64>,
    /// Host-side limits of every run (`[run_limits]`).
    run_limits: Option<weft_host::RunLimits>,
    /// Runtime-wide sandbox settings (`[sandbox]`).
    #[serde(default)]
    sandbox: run_cmd::SandboxSettings,
}

pub async fn run(
    args: ServeArgs,
    data_dir: &Path,
    cache_dir: &Path,
    files: &ComponentFiles,
) -> Result<u8, Failure> {
    let file = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::new(USAGE, format!("cannot read {}: {e}", path.display())))?;
            toml::from_str::<FileConfig>(&text)
                .map_err(|e| Failure::new(USAGE, format!("{}: {e}", path.display())))?
        }
        None => FileConfig::default(),
    };
    let defaults = ServerConfig::default();
    let config = ServerConfig {
        execute_timeout: args
            .execute_timeout_secs
            .or(file.execute_timeout_secs)
            .map_or(defaults.execute_timeout, Duration::from_secs),
        admin_token: args.admin_token.or(file.admin_token),
        per_automation_concurrency: args
            .per_automation_concurrency
            .or(file.per_automation_concurrency)
            .unwrap_or(defaults.per_automation_concurrency),
        global_concurrency: args
            .global_concurrency
            .or(file.global_concurrency)
            .unwrap_or(defaults.global_concurrency),
        max_webhook_bytes: args
            .max_webhook_bytes
            .or(file.max_webhook_bytes)
            .unwrap_or(defaults.max_webhook_bytes),
        rate_limit_per_minute: args
            .rate_limit_per_minute
            .or(file.rate_limit_per_minute)
            .unwrap_or(defaults.rate_limit_per_minute),
        max_queued_per_automation: args
            .max_queued_per_automation
            .or(file.max_queued_per_automation)
            .unwrap_or(defaults.max_queued_per_automation),
        min_schedule_interval: args
            .min_schedule_interval_secs
            .or(file.min_schedule_interval_secs)
            .map_or(defaults.min_schedule_interval, Duration::from_secs),
        retention: weft_server::retention::Retention {
            max_age: args
                .retention_days
                .or(file.retention_days)
                .map_or(defaults.retention.max_age, |d| {
                    Duration::from_secs(d * 24 * 3600)
                }),
            max_runs_per_automation: args
                .max_runs_per_automation
                .or(file.max_runs_per_automation)
                .unwrap_or(defaults.retention.max_runs_per_automation),
        },
        public_url: args.public_url.or(file.public_url),
        connectors: weft_server::connectors::ConnectorSettings {
            dir: Some(files.dir.clone()),
            trust: trust_policy(
                file.trusted_keys.iter().chain(&args.trusted_key),
                args.allow_unsigned_components || file.allow_unsigned_components,
            )?,
            max_component_bytes: args
                .max_component_bytes
                .or(file.max_component_bytes)
                .unwrap_or(weft_server::connectors::DEFAULT_MAX_COMPONENT_BYTES),
        },
        placed_components: Vec::new(),
        max_run_interruptions: args
            .max_run_interruptions
            .or(file.max_run_interruptions)
            .unwrap_or(defaults.max_run_interruptions),
        max_run_resumes: args
            .max_run_resumes
            .or(file.max_run_resumes)
            .unwrap_or(defaults.max_run_resumes),
        session_ttl: args
            .session_hours
            .or(file.session_hours)
            .map_or(defaults.session_ttl, |h| {
                Duration::from_secs(h.max(1) * 3600)
            }),
    };
    let listen = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let mut allow = file.allow;
    allow.extend(args.allow);
    let mut load = file.load;
    load.extend(args.load);
    let documents = automation_files(&load)?;
    let mut routes = file.routes;
    routes.extend(args.route);
    let database = match args.database_url.or(file.database_url) {
        Some(url) => Some(connect_database(url).await?),
        None => None,
    };
    let store = open_store(data_dir, database.clone()).await?;
    let shared = database.map(|database| run_cmd::SharedHistory {
        database,
        host: host_id(),
        lease: Duration::from_secs(
            args.run_lease_secs
                .or(file.run_lease_secs)
                .unwrap_or(weft_server::cluster::DEFAULT_RUN_LEASE.as_secs())
                .max(1),
        ),
    });
    // Installs kept beside placed files by earlier builds move to
    // installed/, where only their records load them (trust checked).
    let moved = store.move_root_installs(&files.dir);
    if moved > 0 {
        println!(
            "moved {moved} connector install(s) into {}",
            files.dir.join("installed").display()
        );
    }
    // Grants from --allow are applied after the build: they may name a
    // connector installed through the API, which is loaded later.
    let (builder, placed) = run_cmd::engine_builder(
        run_cmd::History::for_serve(data_dir, shared.as_ref()),
        cache_dir,
        &[],
        &routes,
        &files.without_installed(),
        &file.sandbox,
    )
    .await?;
    let mut builder = builder
        .connections(store.connections.resolver())
        .automation_caller(store.caller.clone());
    if let Some(limits) = file.run_limits.clone() {
        builder = builder.run_limits(limits);
    }
    let weft = run_cmd::build(builder).await?;
    for (id, entries) in run_cmd::grants_by_connector(&allow) {
        let policy = weft_host::ConnectorPolicy {
            allow: entries,
            limits: None,
        };
        weft.set_connector_policy(&id, policy).map_err(|e| {
            Failure::new(USAGE, format!("--allow {id}=…: {e}"))
                .hint("e.g. --allow https://api.example.com (for http) or --allow acme-tasks=https://api.acme-tasks.example")
        })?;
    }
    for (id, policy) in file.connectors {
        weft.set_connector_policy(&id, policy).map_err(|e| {
            Failure::new(USAGE, format!("[connectors.{id}] allow: {e}"))
                .hint("entries look like https://api.example.com or http://127.0.0.1:8080")
        })?;
    }
    let mut config = config;
    config.placed_components = placed
        .iter()
        .map(|p| placed_file(p, &config.connectors.trust))
        .collect();
    let cluster = shared.map(|s| weft_pg::Cluster::new(s.database, s.host, s.lease));
    serve(weft, store, &listen, config, documents, cluster).await
}

/// This process's name among the hosts sharing a database: the machine's
/// (a pod's) name, the process id and its start time, so a restarted host
/// is a new one (its old runs are taken over like any dead host's).
fn host_id() -> String {
    let machine = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_else(|| "host".into());
    // The start time tells two processes with one pid (a container
    // restarted in place) apart.
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    format!("{machine}-{}-{started:x}", std::process::id())
}

/// Connect to the database and bring its schema up to date (refusing one
/// migrated by a newer build). Blocking work, off the async workers.
async fn connect_database(url: String) -> Result<weft_pg::Database, Failure> {
    let connected = tokio::task::spawn_blocking(move || {
        let db = weft_pg::Database::connect(&url, &weft_pg::PgSettings::default())?;
        weft_pg::migrate(&db)?;
        Ok::<_, weft_pg::PgError>(db)
    })
    .await
    .map_err(|e| Failure::new(INTERNAL, format!("connecting to the database: {e}")))?;
    connected.map_err(|e| {
        let code = match e {
            weft_pg::PgError::Url(_) => USAGE,
            _ => INTERNAL,
        };
        Failure::new(code, format!("database: {e}"))
    })
}

/// The server's tables: on PostgreSQL when a database is given, else in
/// `data_dir/server`. The secret key stays in `data_dir` (or the env).
async fn open_store(
    data_dir: &Path,
    database: Option<weft_pg::Database>,
) -> Result<weft_server::ServerStore, Failure> {
    let key_dir = data_dir.to_path_buf();
    match database {
        Some(db) => {
            let target = db.target().to_string();
            tokio::task::spawn_blocking(move || {
                weft_server::ServerStore::open_on(weft_server::StoreBackend::Postgres(db), &key_dir)
            })
            .await
            .map_err(|e| Failure::new(INTERNAL, format!("opening the server store: {e}")))?
            .map_err(|e| {
                Failure::new(
                    INTERNAL,
                    format!("cannot open the server store in the database {target}: {e}"),
                )
            })
        }
        None => weft_server::ServerStore::open(&data_dir.join("server"), data_dir).map_err(|e| {
            Failure::new(
                INTERNAL,
                format!(
                    "cannot open the server store in {}: {e}",
                    data_dir.display()
                ),
            )
            .hint("is another `weft serve` using the same --data-dir?")
        }),
    }
}

/// The operator's trusted publisher keys, parsed.
fn trust_policy<'a>(
    keys: impl Iterator<Item = &'a String>,
    allow_unsigned: bool,
) -> Result<TrustPolicy, Failure> {
    let mut trusted = Vec::new();
    for key in keys.filter(|k| !k.trim().is_empty()) {
        trusted.push(TrustedKey::parse(key).map_err(|e| {
            Failure::new(USAGE, format!("--trusted-key: {e}"))
                .hint("e.g. --trusted-key acme=MCowBQYDK2VwAyEA… (the public_key printed by `weft connector keygen`)")
        })?);
    }
    Ok(TrustPolicy {
        keys: TrustedKeys(trusted),
        allow_unsigned,
    })
}

/// A loaded component file as the server lists it: its publisher is the
/// trusted key that signed it (`FILE.sig`), if any.
fn placed_file(p: &Placed, trust: &TrustPolicy) -> PlacedFile {
    let m = p.connector.manifest();
    let publisher = std::fs::read(weft_server::connectors::signature_path(&p.path))
        .ok()
        .and_then(|text| serde_json::from_slice::<Signature>(&text).ok())
        .and_then(|sig| {
            std::fs::read(&p.path).ok().and_then(|bytes| {
                trust
                    .keys
                    .verify(&bytes, &m.id, &m.version, &sig)
                    .ok()
                    .map(|k| k.publisher.clone())
            })
        });
    PlacedFile {
        path: p.path.clone(),
        sha256: p.sha256.clone(),
        id: m.id.clone(),
        version: m.version.clone(),
        publisher,
    }
}

/// The automation documents named by `--load`, read and parsed before the
/// server starts so a typo stops it with a clear message.
fn automation_files(paths: &[PathBuf]) -> Result<Vec<(PathBuf, serde_json::Value)>, Failure> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path)
                .map_err(|e| Failure::new(USAGE, format!("--load {}: {e}", path.display())))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| Failure::new(USAGE, format!("--load {}: {e}", path.display())))?;
            let doc = serde_json::from_str(&text).map_err(|e| {
                Failure::new(USAGE, format!("--load {}: not JSON: {e}", path.display()))
            })?;
            Ok((path, doc))
        })
        .collect()
}

/// Load the documents for the admin and say how to trigger the new ones.
fn load_automations(
    state: &AppState,
    documents: Vec<(PathBuf, serde_json::Value)>,
    addr: std::net::SocketAddr,
) -> Result<(), Failure> {
    use weft_server::preload::{Loaded, check, load};
    // Every file first: one bad file refuses the whole set, so a restart
    // never leaves half the automations on their old version.
    let problems: Vec<String> = documents
        .iter()
        .filter_map(|(path, document)| {
            check(state, document, "admin").err().map(|e| {
                let details = match &e.details {
                    None => String::new(),
                    Some(d) => format!(" {d}"),
                };
                format!("{}: {}{details}", path.display(), e.message)
            })
        })
        .collect();
    if !problems.is_empty() {
        return Err(Failure::new(
            crate::run_cmd::INVALID,
            format!(
                "{} of the {} files given to --load cannot be loaded, so none was:\n  - {}",
                problems.len(),
                documents.len(),
                problems.join("\n  - ")
            ),
        )
        .hint("fix the files named above (`weft validate FILE` lists every problem; create the connections they name with `weft connection create`) or drop them from --load"));
    }
    for (path, document) in documents {
        match load(state, document, "admin") {
            Ok(Loaded::Created(created)) => {
                let id = &created.stored.id;
                println!(
                    "loaded {id} from {}\n  run it:  curl -X POST -H 'X-Execution-Token: {}' http://{addr}/api/v1/automations/{id}/actions/execute\n  webhook: curl -X POST -H 'Content-Type: application/json' -d '{{}}' http://{addr}{}",
                    path.display(),
                    created.execution_token,
                    created.webhook_path()
                );
            }
            Ok(Loaded::Unchanged { id }) => println!("{id} is loaded already (unchanged)"),
            Ok(Loaded::Updated { id, version }) => {
                println!("updated {id} from {} to version {version}", path.display())
            }
            Err(e) => {
                return Err(Failure::new(
                    crate::run_cmd::INVALID,
                    format!("--load {}: {}", path.display(), e.message),
                )
                .hint("fix the file (`weft validate FILE` lists every problem) or drop it from --load"));
            }
        }
    }
    Ok(())
}

/// Structured logs on stderr: `RUST_LOG` picks the level (default info),
/// `WEFT_LOG_FORMAT=json` switches to one JSON object per line.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = if std::env::var("WEFT_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

async fn serve(
    weft: weft_host::Weft,
    store: weft_server::ServerStore,
    listen: &str,
    config: ServerConfig,
    documents: Vec<(PathBuf, serde_json::Value)>,
    cluster: Option<weft_pg::Cluster>,
) -> Result<u8, Failure> {
    init_logging();
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        Failure::new(USAGE, format!("cannot listen on {listen}: {e}"))
            .hint("pick another address with --listen, e.g. 127.0.0.1:0")
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::new(INTERNAL, e.to_string()))?;
    let mut config = config;
    if config.public_url.is_none() {
        config.public_url = Some(format!("http://{addr}"));
    }
    let mut state = AppState::with_store(weft, store, config)
        .map_err(|e| Failure::new(INTERNAL, format!("cannot open the server store: {e}")))?;
    if let Some(cluster) = cluster {
        tracing::info!(
            host = cluster.host(),
            "sharing runs with the other hosts on the database"
        );
        state = state.with_cluster(cluster);
    }
    // Installed through the API by an earlier run: loaded before the
    // automations and recovered runs that use them, each checked against
    // this start's trust settings.
    let not_loaded = state
        .connectors
        .load_installed(&state.weft)
        .await
        .map_err(|e| Failure::new(INTERNAL, format!("cannot read the connector installs: {e}")))?;
    for n in &not_loaded {
        eprintln!(
            "warning: connector {}@{} (installed through the API) was not loaded: {}",
            n.connector, n.version, n.reason
        );
        tracing::warn!(connector = %n.connector, version = %n.version, reason = %n.reason, "installed connector not loaded");
    }
    if let Some(first) = state
        .bootstrap_admin()
        .map_err(|e| Failure::new(INTERNAL, e.to_string()))?
    {
        println!(
            "created user admin; its API token (shown once): {}",
            first.token
        );
        println!(
            "the admin's console password (shown once; change it with `weft user set-password admin`): {}",
            first.password
        );
    }
    load_automations(&state, documents, addr)?;
    let state = Arc::new(state);
    let recovered = state
        .start_queue()
        .map_err(|e| Failure::new(INTERNAL, format!("cannot recover queued runs: {e}")))?;
    if recovered > 0 {
        println!("recovered {recovered} queued or interrupted run(s)");
    }
    println!("listening on http://{addr}");
    tracing::info!(%addr, recovered, "weft serve started");
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => return,
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
    };
    weft_server::serve(listener, state.clone(), shutdown)
        .await
        .map_err(|e| Failure::new(INTERNAL, e.to_string()))?;
    // An orderly stop: the runs still in progress are not to blame, and
    // resume at the next start.
    match state.stopped_in_order() {
        Ok(0) => {}
        Ok(n) => println!("stopped; {n} run(s) in progress will resume at the next start"),
        Err(e) => tracing::warn!("cannot record the orderly stop of the runs in progress: {e}"),
    }
    // Sharing a database: the other hosts take this one's runs over now
    // rather than once its leases run out.
    match state.coordination().release_all().await {
        Ok(0) => {}
        Ok(n) => println!("handed {n} run(s) over to the other hosts"),
        Err(e) => tracing::warn!("cannot hand this host's runs over: {e}"),
    }
    Ok(OK)
}
