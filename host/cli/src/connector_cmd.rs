//! `weft connector list | describe | invoke`.

use crate::components::{self, ComponentFiles};
use crate::exit::{BLOCK_FAILED, Failure, OK, USAGE};
use crate::invoke_credential::{CredentialFlags, CredentialKind, credential_source};
use crate::term::safe;
use crate::{schema_text, source};
use clap::Subcommand;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use weft_host::{InvokeContext, InvokeReport, Limits, Runtime};

#[derive(Subcommand)]
pub enum ConnectorCommand {
    /// List the connectors every command sees: bundled, in the components
    /// directory and --component files; with --server, those a running
    /// server has installed (every version, publisher, grants).
    List {
        /// List a running server's connectors instead: URL, or without
        /// one WEFT_SERVER [default: http://127.0.0.1:8080].
        #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
        server: Option<String>,
        /// Your API token for --server.
        #[arg(long, env = "WEFT_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// Make an ed25519 key pair for signing your components.
    Keygen(crate::connector_ops::KeygenArgs),
    /// Sign a component: writes FILE.sig, which `install` sends along.
    Sign(crate::connector_ops::SignArgs),
    /// Install a component into a running server (admins).
    Install(crate::connector_ops::InstallArgs),
    /// Remove one installed version from a running server (admins).
    Remove(crate::connector_ops::RemoveArgs),
    /// Set a connector's grants (hosts it may reach) and limits on a
    /// running server (admins); the next invocation uses them.
    Grant(crate::connector_ops::GrantArgs),
    /// Create a new connector crate from the SDK's template: blocks, tests
    /// against a fake API, README; `cargo test --release` in it goes green.
    New(crate::connector_new::NewArgs),
    /// Show what a connector declares: blocks with their input and output
    /// schemas, the hosts it may call, the auth kinds it supports.
    Describe {
        /// A bundled connector id (see `weft connector list`) or a .wasm file.
        connector: String,
    },
    /// Run one block in the sandbox and print its output, HTTP calls and logs.
    #[command(
        after_help = "The block gets no network access unless you grant it with --allow.\n\
        Private and loopback addresses need an IP-literal entry, e.g. --allow http://127.0.0.1:8080."
    )]
    Invoke {
        /// A bundled connector id or a .wasm file.
        connector: String,
        /// The block id (see `weft connector describe`).
        block: String,
        /// The block's input: JSON text, or @FILE to read it from a file.
        #[arg(long, short, default_value = "{}")]
        input: String,
        /// Grant an outbound host, in allow-list syntax: scheme://host[:port],
        /// `*.` for subdomains, `:*` for any port. Repeat for more hosts.
        #[arg(long = "allow", value_name = "ENTRY")]
        allow: Vec<String>,
        /// Fuel (instruction budget) for the invocation.
        #[arg(long)]
        fuel: Option<u64>,
        /// Wall-clock limit in milliseconds.
        #[arg(long, value_name = "MS")]
        timeout_ms: Option<u64>,
        /// Linear memory cap in MiB.
        #[arg(long = "memory-mib", value_name = "MIB", value_parser = crate::connector_ops::mib_as_bytes)]
        memory_bytes: Option<usize>,
        /// Non-secret connection fields as a JSON object (fills {field} host templates).
        #[arg(long, value_name = "JSON")]
        connection: Option<String>,
        /// Read the connection's secret (token, API key or password) from
        /// the first line of stdin; the host adds it to requests to granted
        /// hosts exactly as the server does, and the block never sees it.
        #[arg(long)]
        connection_secret_stdin: bool,
        /// What the secret is; defaults to the one kind the connector
        /// declares.
        #[arg(long, value_enum, value_name = "KIND")]
        connection_kind: Option<CredentialKind>,
        /// The user name of a basic credential (the password comes from stdin).
        #[arg(long, value_name = "NAME")]
        connection_username: Option<String>,
    },
}

pub async fn run(
    cmd: ConnectorCommand,
    cache_dir: &Path,
    files: &ComponentFiles,
    json_out: bool,
) -> Result<u8, Failure> {
    use crate::connector_ops as ops;
    let runtime = runtime(cache_dir)?;
    match cmd {
        ConnectorCommand::List {
            server: Some(server),
            token,
        } => ops::list_remote(&server, token, json_out).await,
        ConnectorCommand::List { server: None, .. } => list(&runtime, files, json_out).await,
        ConnectorCommand::New(args) => crate::connector_new::run(args, json_out),
        ConnectorCommand::Keygen(args) => ops::keygen(args, json_out),
        ConnectorCommand::Sign(args) => ops::sign(args, &runtime, json_out).await,
        ConnectorCommand::Install(args) => ops::install(args, json_out).await,
        ConnectorCommand::Remove(args) => ops::remove(args, json_out).await,
        ConnectorCommand::Grant(args) => ops::grant(args, json_out).await,
        ConnectorCommand::Describe { connector } => {
            let c = source::load(&runtime, &connector, files).await?;
            if json_out {
                print_json(&json!(c.manifest()));
            } else {
                print_manifest(c.manifest(), &connector);
            }
            Ok(OK)
        }
        ConnectorCommand::Invoke {
            connector,
            block,
            input,
            allow,
            fuel,
            timeout_ms,
            memory_bytes,
            connection,
            connection_secret_stdin,
            connection_kind,
            connection_username,
        } => {
            let input = parse_json_arg("--input", &input)?;
            let connection = match connection {
                Some(text) => parse_json_arg("--connection", &text)?,
                None => json!({}),
            };
            let c = source::load(&runtime, &connector, files).await?;
            let credentials = credential_source(
                CredentialFlags {
                    secret_stdin: connection_secret_stdin,
                    kind: connection_kind,
                    username: connection_username,
                },
                &c.manifest().id,
                &c.manifest().auth,
                std::io::stdin().lock(),
            )?;
            let mut limits = c.limits_for(&block).clone();
            if let Some(f) = fuel {
                limits = limits.fuel(f);
            }
            if let Some(ms) = timeout_ms {
                limits = limits.wall_clock(Duration::from_millis(ms));
            }
            if let Some(bytes) = memory_bytes {
                limits = limits.memory_bytes(bytes);
            }
            let c = c
                .with_grant(&allow)
                .map_err(|e| Failure::new(USAGE, format!("--allow {e}")))?
                .with_block_limits(&block, limits);
            let ctx = InvokeContext {
                run_id: "cli".into(),
                step_id: block.clone(),
                connection,
                credentials,
                ..InvokeContext::default()
            };
            let report = c.invoke(&block, &input, &ctx).await;
            if json_out {
                print_json(&report_json(&report));
            } else {
                print_report(&report);
            }
            Ok(if report.output.is_ok() {
                OK
            } else {
                BLOCK_FAILED
            })
        }
    }
}

fn runtime(cache_dir: &Path) -> Result<Runtime, Failure> {
    Runtime::builder()
        .cache_dir(cache_dir)
        .max_concurrent_instances(8)
        .default_limits(Limits::default())
        .build()
        .map_err(|e| {
            Failure::new(
                crate::exit::INTERNAL,
                format!("could not start the engine: {e}"),
            )
        })
}

async fn list(runtime: &Runtime, files: &ComponentFiles, json_out: bool) -> Result<u8, Failure> {
    let mut rows = Vec::new();
    for (name, bytes) in components::bundled() {
        let c = runtime.load(bytes).await.map_err(|e| {
            Failure::new(crate::exit::LOAD, format!("bundled component {name}: {e}"))
        })?;
        rows.push(row(&c, "bundled", None));
    }
    for p in files.load(runtime).await? {
        rows.push(row(&p.connector, "file", Some(&p.path)));
    }
    if json_out {
        print_json(&Value::Array(rows));
    } else {
        for r in &rows {
            let file = r["file"]
                .as_str()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default();
            println!(
                "{:<10} {:<8} {}{file}\n{:<19} blocks: {}",
                r["id"].as_str().unwrap_or_default(),
                r["version"].as_str().unwrap_or_default(),
                r["description"].as_str().unwrap_or_default(),
                "",
                r["blocks"]
                    .as_array()
                    .map(|b| b
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default()
            );
        }
    }
    Ok(OK)
}

/// One connector as `connector list` shows it.
fn row(c: &weft_host::Connector, source: &str, file: Option<&Path>) -> Value {
    let m = c.manifest();
    json!({
        "id": m.id, "version": m.version, "name": m.display_name,
        "description": m.description, "blocks": m.blocks.iter().map(|b| &b.id).collect::<Vec<_>>(),
        "source": source, "file": file.map(|f| f.display().to_string()),
    })
}

pub fn parse_json_arg(flag: &str, text: &str) -> Result<Value, Failure> {
    let (origin, text) = match text.strip_prefix('@') {
        Some(path) => (
            format!("{flag} file {path}"),
            std::fs::read_to_string(path)
                .map_err(|e| Failure::new(USAGE, format!("cannot read {flag} file {path}: {e}")))?,
        ),
        None => (flag.to_string(), text.to_string()),
    };
    serde_json::from_str(&text).map_err(|e| {
        Failure::new(USAGE, format!("{origin} is not valid JSON: {e}"))
            .hint("quote the JSON for your shell, e.g. --input '{\"url\": \"https://…\"}', or pass @file.json")
    })
}

fn print_json(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

fn report_json(r: &InvokeReport) -> Value {
    let (output, error) = match &r.output {
        Ok(v) => (v.clone(), Value::Null),
        Err(e) => (
            Value::Null,
            json!({
                "message": e.to_string(),
                "retry_after_ms": e.retry_after().map(|d| d.as_millis() as u64),
                "detail": e,
            }),
        ),
    };
    json!({
        "ok": r.output.is_ok(),
        "output": output,
        "error": error,
        "duration_us": r.duration.as_micros() as u64,
        "fuel_used": r.fuel_used,
        "http_calls": r.http_calls,
        "logs": r.logs,
    })
}

fn print_manifest(m: &weft_host::Manifest, given_as: &str) {
    println!("{} {} — {}", m.id, m.version, m.display_name);
    println!("{}", m.description);
    println!("contract: weft:connector@{}", m.contract);
    let hosts: Vec<String> = m.hosts.iter().map(ToString::to_string).collect();
    println!(
        "hosts:    {}",
        if hosts.is_empty() {
            "none".into()
        } else {
            hosts.join(", ")
        }
    );
    let auth: Vec<String> = m
        .auth
        .iter()
        .filter_map(|a| serde_json::to_value(a).ok())
        .map(|a| a["kind"].as_str().unwrap_or("?").to_string())
        .collect();
    println!("auth:     {}", auth.join(", "));
    println!("blocks:");
    for b in &m.blocks {
        println!("  {:<14} {} — {}", b.id, b.name, b.description);
        schema_text::print_fields(&b.input_schema);
    }
    println!("\n(full JSON Schemas: weft connector describe {given_as} --json)");
}

fn print_report(r: &InvokeReport) {
    match &r.output {
        Ok(v) => println!(
            "{}",
            serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
        ),
        Err(e) => {
            eprintln!("block failed: {}", safe(&e.to_string()));
            if let Some(wait) = e.retry_after() {
                eprintln!(
                    "retry after {:.1} s (the engine waits at least this long before a retry)",
                    wait.as_secs_f64()
                );
            }
        }
    }
    let fuel = r
        .fuel_used
        .map(|f| format!(", {f} fuel"))
        .unwrap_or_default();
    eprintln!("— {:.2} ms{fuel}", r.duration.as_secs_f64() * 1000.0);
    for c in &r.http_calls {
        let outcome = match (c.status, &c.error) {
            (Some(s), _) => s.to_string(),
            (None, Some(e)) => safe(e).into_owned(),
            (None, None) => "?".into(),
        };
        eprintln!(
            "  http {} {} → {} ({:.1} ms, {} B out, {} B in)",
            safe(&c.method),
            safe(&c.url),
            outcome,
            c.duration_us as f64 / 1000.0,
            c.request_bytes,
            c.response_bytes
        );
    }
    for l in &r.logs {
        eprintln!("  log {:?}: {}", l.level, safe(&l.message));
    }
}
