//! Connectors as managed artifacts: `weft connector keygen | sign` for
//! publishers, `install | remove | grant | list --server` for operators
//! (clients of a running server's `/api/v1/connectors`).

use crate::api_client::Client;
use crate::exit::{Failure, OK, USAGE};
use base64::Engine as _;
use clap::Args;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::path::PathBuf;
use weft_host::signing::{KeyPair, Signature};
use weft_host::{ConnectorPolicy, Limits, Runtime};

/// The server and token, as for `weft connection`.
#[derive(Args)]
pub struct ServerArgs {
    /// The address of the running `weft serve`.
    #[arg(
        long,
        env = "WEFT_SERVER",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    server: String,
    /// Your API token (an admin's, to change anything); prefer WEFT_TOKEN.
    #[arg(long, env = "WEFT_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    token: Option<String>,
}

impl ServerArgs {
    fn client(self) -> Result<Client, Failure> {
        Client::new(&self.server, self.token, "connectors", connector_hints)
    }
}

/// Advice for the connectors API's refusals.
fn connector_hints(status: StatusCode) -> Option<String> {
    match status {
        StatusCode::FORBIDDEN => Some(
            "only admins install, remove and grant connectors; and a server accepts only components signed by a key it trusts (--trusted-key) unless started with --allow-unsigned-components".into(),
        ),
        StatusCode::NOT_FOUND => {
            Some("`weft connector list --server URL` shows what the server has installed".into())
        }
        _ => None,
    }
}

#[derive(Args)]
#[command(after_help = "Example:\n  \
    weft connector keygen --out ~/.config/weft/acme.key\n  \
    # then give operators the public key: weft serve --trusted-key acme=PUBLIC_KEY")]
pub struct KeygenArgs {
    /// Where to write the key pair (JSON, readable by you only). Keep it
    /// secret; anyone with it can sign as you.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

pub fn keygen(args: KeygenArgs, json_out: bool) -> Result<u8, Failure> {
    if args.out.exists() {
        return Err(Failure::new(
            USAGE,
            format!("{} exists; not overwriting a key", args.out.display()),
        )
        .hint("choose another --out, or delete the old key if you really mean to replace it"));
    }
    let pair =
        KeyPair::generate().map_err(|e| Failure::new(crate::exit::INTERNAL, e.to_string()))?;
    let text = serde_json::to_string_pretty(&pair).unwrap_or_default();
    write_private(&args.out, text.as_bytes())
        .map_err(|e| Failure::new(USAGE, format!("cannot write {}: {e}", args.out.display())))?;
    if json_out {
        println!(
            "{}",
            json!({"key_file": args.out.display().to_string(), "public_key": pair.public_key})
        );
    } else {
        println!("wrote {} (keep it secret)", args.out.display());
        println!("public key: {}", pair.public_key);
        println!(
            "operators trust it with: weft serve --trusted-key YOUR_NAME={}",
            pair.public_key
        );
    }
    Ok(OK)
}

/// Create `path` readable and writable by its owner only.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[derive(Args)]
#[command(after_help = "Example:\n  \
    weft connector sign target/wasm32-wasip2/release/acme_tasks.wasm --key ~/.config/weft/acme.key\n  \
    # writes acme_tasks.wasm.sig; `weft connector install` sends it along")]
pub struct SignArgs {
    /// The component (.wasm).
    file: PathBuf,
    /// Your key file (from `weft connector keygen`).
    #[arg(long, value_name = "KEY_FILE")]
    key: PathBuf,
    /// Where to write the signature [default: FILE.sig].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub async fn sign(args: SignArgs, runtime: &Runtime, json_out: bool) -> Result<u8, Failure> {
    let bytes = std::fs::read(&args.file)
        .map_err(|e| Failure::new(USAGE, format!("cannot read {}: {e}", args.file.display())))?;
    let key_text = std::fs::read_to_string(&args.key).map_err(|e| {
        Failure::new(
            USAGE,
            format!("cannot read --key {}: {e}", args.key.display()),
        )
    })?;
    let pair: KeyPair = serde_json::from_str(&key_text).map_err(|e| {
        Failure::new(
            USAGE,
            format!("--key {}: not a key file: {e}", args.key.display()),
        )
        .hint("make one with `weft connector keygen --out FILE`")
    })?;
    // The signature names the connector and version the manifest
    // declares, so the component is loaded to read them.
    let connector = runtime
        .load(&bytes)
        .await
        .map_err(|e| Failure::new(crate::exit::LOAD, format!("{}: {e}", args.file.display())))?;
    let m = connector.manifest();
    let signature = pair
        .sign(&bytes, &m.id, &m.version)
        .map_err(|e| Failure::new(USAGE, format!("--key {}: {e}", args.key.display())))?;
    let out = args
        .out
        .unwrap_or_else(|| weft_server::connectors::signature_path(&args.file));
    let text = serde_json::to_string_pretty(&signature).unwrap_or_default();
    std::fs::write(&out, text)
        .map_err(|e| Failure::new(USAGE, format!("cannot write {}: {e}", out.display())))?;
    if json_out {
        println!(
            "{}",
            json!({"signature_file": out.display().to_string(), "connector": m.id, "version": m.version, "sha256": signature.sha256})
        );
    } else {
        println!(
            "signed {}@{} ({}) → {}",
            m.id,
            m.version,
            args.file.display(),
            out.display()
        );
    }
    Ok(OK)
}

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    export WEFT_SERVER=http://127.0.0.1:8080 WEFT_TOKEN=wft_…   # an admin's token\n  \
    weft connector install acme_tasks.wasm            # sends acme_tasks.wasm.sig if present\n  \
    weft connector grant acme-tasks --allow https://api.acme-tasks.example")]
pub struct InstallArgs {
    /// The component (.wasm).
    file: PathBuf,
    /// Its signature [default: FILE.sig, when it exists].
    #[arg(long, value_name = "SIG_FILE")]
    signature: Option<PathBuf>,
    #[command(flatten)]
    server: ServerArgs,
}

pub async fn install(args: InstallArgs, json_out: bool) -> Result<u8, Failure> {
    let bytes = std::fs::read(&args.file)
        .map_err(|e| Failure::new(USAGE, format!("cannot read {}: {e}", args.file.display())))?;
    let sig_path = args
        .signature
        .clone()
        .unwrap_or_else(|| weft_server::connectors::signature_path(&args.file));
    let mut headers = Vec::new();
    match std::fs::read(&sig_path) {
        Ok(sig) => {
            // Checked here so a wrong file fails before the upload.
            serde_json::from_slice::<Signature>(&sig).map_err(|e| {
                Failure::new(
                    USAGE,
                    format!("{}: not a signature file: {e}", sig_path.display()),
                )
            })?;
            headers.push((
                "weft-component-signature",
                base64::engine::general_purpose::STANDARD.encode(sig),
            ));
        }
        Err(_) if args.signature.is_none() => {}
        Err(e) => {
            return Err(Failure::new(
                USAGE,
                format!("cannot read --signature {}: {e}", sig_path.display()),
            ));
        }
    }
    let client = args.server.client()?;
    let answer = client
        .post_bytes(&[], bytes, &headers, &|_| None)
        .await?
        .unwrap_or(Value::Null);
    if json_out {
        println!("{answer}");
    } else {
        let installed = &answer["installed"];
        println!(
            "installed {}@{} (publisher: {})",
            answer["id"].as_str().unwrap_or("?"),
            installed["version"].as_str().unwrap_or("?"),
            installed["publisher"].as_str().unwrap_or("unsigned"),
        );
        println!(
            "grant it hosts with: weft connector grant {} --allow https://…",
            answer["id"].as_str().unwrap_or("ID")
        );
    }
    Ok(OK)
}

#[derive(Args)]
pub struct RemoveArgs {
    /// The connector id.
    id: String,
    /// The version to remove.
    version: String,
    /// Remove even if automations need it; they are disabled, with the
    /// reason shown on them.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    server: ServerArgs,
}

pub async fn remove(args: RemoveArgs, json_out: bool) -> Result<u8, Failure> {
    let client = args.server.client()?;
    let query: &[(&str, &str)] = if args.force {
        &[("force", "true")]
    } else {
        &[]
    };
    let answer = client
        .call_with_query(
            Method::DELETE,
            &[&args.id, "versions", &args.version],
            query,
            None,
            &|status| {
                (status == StatusCode::CONFLICT).then(|| {
                    "change the automations' block `version`, or pass --force to disable them"
                        .to_string()
                })
            },
        )
        .await?
        .unwrap_or(Value::Null);
    if json_out {
        println!("{answer}");
    } else {
        println!("removed {}@{}", args.id, args.version);
        if let Some(disabled) = answer["disabled_automations"].as_array()
            && !disabled.is_empty()
        {
            let ids: Vec<&str> = disabled.iter().filter_map(Value::as_str).collect();
            println!("disabled: {}", ids.join(", "));
        }
    }
    Ok(OK)
}

#[derive(Args)]
#[command(
    after_help = "The grant replaces the connector's previous one, for every version. \
    Private and loopback addresses need an IP-literal entry, e.g. --allow http://127.0.0.1:8080.\n\n\
    Example:\n  weft connector grant acme-tasks --allow https://api.acme-tasks.example --timeout-ms 30000"
)]
pub struct GrantArgs {
    /// The connector id.
    id: String,
    /// A host it may reach: scheme://host[:port], `*.` for subdomains,
    /// `:*` for any port. Repeatable; none revokes every host.
    #[arg(long = "allow", value_name = "ENTRY")]
    allow: Vec<String>,
    /// Fuel per invocation.
    #[arg(long)]
    fuel: Option<u64>,
    /// Wall-clock limit per invocation, in milliseconds.
    #[arg(long, value_name = "MS")]
    timeout_ms: Option<u64>,
    /// Linear memory cap in MiB.
    #[arg(long, value_name = "MIB")]
    memory_mib: Option<usize>,
    /// Largest output in bytes.
    #[arg(long, value_name = "BYTES")]
    output_bytes: Option<usize>,
    #[command(flatten)]
    server: ServerArgs,
}

pub async fn grant(args: GrantArgs, json_out: bool) -> Result<u8, Failure> {
    let any_limit = args.fuel.is_some()
        || args.timeout_ms.is_some()
        || args.memory_mib.is_some()
        || args.output_bytes.is_some();
    let limits = any_limit.then(|| {
        let mut l = Limits::default();
        if let Some(f) = args.fuel {
            l = l.fuel(f);
        }
        if let Some(ms) = args.timeout_ms {
            l = l.wall_clock(std::time::Duration::from_millis(ms));
        }
        if let Some(mib) = args.memory_mib {
            l = l.memory_bytes(mib << 20);
        }
        if let Some(b) = args.output_bytes {
            l = l.output_bytes(b);
        }
        l
    });
    let policy = ConnectorPolicy {
        allow: args.allow,
        limits,
    };
    let body = serde_json::to_value(&policy).unwrap_or(Value::Null);
    let client = args.server.client()?;
    let answer = client
        .call(Method::PUT, &[&args.id, "grants"], Some(body), &|_| None)
        .await?
        .unwrap_or(Value::Null);
    if json_out {
        println!("{answer}");
    } else {
        let hosts: Vec<&str> = answer["grants"]["allow"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        println!(
            "{} may reach: {}",
            args.id,
            if hosts.is_empty() {
                "nothing".to_string()
            } else {
                hosts.join(", ")
            }
        );
    }
    Ok(OK)
}

/// `weft connector list --server URL`.
pub async fn list_remote(
    server: &str,
    token: Option<String>,
    json_out: bool,
) -> Result<u8, Failure> {
    let client = Client::new(server, token, "connectors", connector_hints)?;
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    // Walk every page; bounded by the server's own page limit and count.
    for _ in 0..1000 {
        let mut query = vec![("limit", "500".to_string())];
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = client
            .call_with_query(Method::GET, &[], &query, None, &|_| None)
            .await?
            .unwrap_or(Value::Null);
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    if json_out {
        println!("{}", Value::Array(items));
        return Ok(OK);
    }
    for c in &items {
        let versions: Vec<String> = c["versions"]
            .as_array()
            .map(|vs| {
                vs.iter()
                    .map(|v| {
                        format!(
                            "{} ({}, {})",
                            v["version"].as_str().unwrap_or("?"),
                            v["source"].as_str().unwrap_or("?"),
                            v["publisher"].as_str().unwrap_or("unsigned")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        println!(
            "{:<14} {}\n{:<15}versions: {}",
            c["id"].as_str().unwrap_or_default(),
            c["description"].as_str().unwrap_or_default(),
            "",
            versions.join(", ")
        );
    }
    Ok(OK)
}
