//! Connectors as managed artifacts: `weft connector keygen | sign` for
//! publishers, `install | remove | grant | list --server` for operators
//! (clients of a running server's `/api/v1/connectors`).

use crate::api_client::{Client, REFUSED};
use crate::exit::{Failure, OK, USAGE};
use base64::Engine as _;
use clap::Args;
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};
use std::path::PathBuf;
use std::time::Duration;
use weft_host::Runtime;
use weft_host::signing::{KeyPair, Signature};

/// Where `--server` points when neither it nor WEFT_SERVER says.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// The server and token, as for `weft connection`.
#[derive(Args)]
pub struct ServerArgs {
    /// The address of the running `weft serve`.
    #[arg(
        long,
        env = "WEFT_SERVER",
        default_value = DEFAULT_SERVER,
        value_name = "URL"
    )]
    server: String,
    /// Your API token (an admin's, to change anything); prefer WEFT_TOKEN.
    #[arg(long, env = "WEFT_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    token: Option<String>,
}

impl ServerArgs {
    fn client(&self) -> Result<Client, Failure> {
        Client::new(
            &self.server,
            self.token.clone(),
            "connectors",
            connector_hints,
        )
    }
}

/// Advice for the connectors API's refusals.
fn connector_hints(status: StatusCode) -> Option<String> {
    match status {
        StatusCode::FORBIDDEN => Some(
            "only admins install, remove and grant connectors: set WEFT_TOKEN (or --token) to an admin's token".into(),
        ),
        StatusCode::NOT_FOUND => {
            Some("`weft connector list --server` shows what the server has installed".into())
        }
        _ => None,
    }
}

/// `--memory-mib`: a number of MiB, as bytes; refused (naming the flag,
/// as clap does for every value parser) when the bytes do not fit.
pub fn mib_as_bytes(text: &str) -> Result<usize, String> {
    let mib: usize = text
        .trim()
        .parse()
        .map_err(|e| format!("{e}; give a whole number of MiB, e.g. 64"))?;
    mib.checked_mul(1 << 20).ok_or_else(|| {
        format!(
            "{mib} MiB is more bytes than this machine can address (at most {} MiB)",
            usize::MAX >> 20
        )
    })
}

#[derive(Args)]
#[command(
    after_help = "The private key stays with you (the publisher); the public key it \
    prints goes to operators, whose servers then accept components you sign: \
    `weft serve --trusted-key NAME=PUBLIC_KEY` (or WEFT_TRUSTED_KEYS, or trusted_keys in weft.toml).\n\n\
    Example:\n  \
    weft connector keygen --out ~/.config/weft/acme.key\n  \
    # then, on the server: weft serve --trusted-key acme=PUBLIC_KEY"
)]
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
#[command(
    after_help = "The signature covers the file's bytes and the connector id and version \
    its manifest declares, so sign every build again. A server accepts the component when your \
    public key is trusted there (`weft serve --trusted-key NAME=PUBLIC_KEY`); unsigned components \
    only when it runs with `weft serve --allow-unsigned-components`.\n\n\
    Example:\n  \
    weft connector sign target/wasm32-wasip2/release/acme_tasks.wasm --key ~/.config/weft/acme.key\n  \
    # writes acme_tasks.wasm.sig; `weft connector install` sends it along"
)]
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
#[command(
    after_help = "Admins only. The server checks the signature (FILE.sig, from \
    `weft connector sign`) against the publisher keys it trusts (`weft serve --trusted-key \
    NAME=PUBLIC_KEY`) and refuses unsigned components unless it runs with \
    `weft serve --allow-unsigned-components`; the largest it takes is \
    `weft serve --max-component-bytes`. The new version sits beside the installed ones, no \
    restart. A connector reaches no host until granted one (`weft connector grant`); grants \
    cover every version, later ones too.\n\n\
    Examples:\n  \
    export WEFT_SERVER=http://127.0.0.1:8080 WEFT_TOKEN=wft_…   # an admin's token\n  \
    weft connector install acme_tasks.wasm            # sends acme_tasks.wasm.sig if present\n  \
    weft connector grant acme-tasks --allow https://api.acme-tasks.example"
)]
pub struct InstallArgs {
    /// The component (.wasm).
    file: PathBuf,
    /// Its signature [default: FILE.sig, when it exists].
    #[arg(long, value_name = "SIG_FILE")]
    signature: Option<PathBuf>,
    /// Seconds to wait for the upload and the server's answer (it
    /// compiles the component before answering).
    #[arg(
        long = "timeout-secs",
        value_name = "SECS",
        default_value_t = 600,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    timeout_secs: u64,
    #[command(flatten)]
    server: ServerArgs,
}

/// Advice for an install's refusals, by the error's code.
fn install_hint(_: StatusCode, code: &str) -> Option<String> {
    Some(match code {
        "component_unsigned" => "sign it (`weft connector sign FILE --key KEY_FILE` writes FILE.sig, which install sends), or have the operator start the server with `weft serve --allow-unsigned-components`".into(),
        "component_untrusted" => "the server does not trust the key it was signed with (details.public_key): the operator adds it with `weft serve --trusted-key NAME=PUBLIC_KEY`, or sign with a key it trusts".into(),
        "invalid_signature" => "the signature does not match this file (or names another connector or version): sign this very build again with `weft connector sign`".into(),
        "version_exists" => "an installed version never changes: raise `version` in the connector's manifest and rebuild, or `weft connector remove ID VERSION` first".into(),
        "publisher_mismatch" => "the installed versions of this connector id come from another publisher (details.installed_version names one): sign with that publisher's key, remove every installed version first (`weft connector remove ID VERSION`), or give the connector another id".into(),
        "connector_id_reserved" => "the id is a connector bundled with weft: give yours another id (`id` in its manifest) and rebuild".into(),
        _ => return None,
    })
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
        .post_bytes(
            &[],
            bytes,
            &headers,
            Duration::from_secs(args.timeout_secs),
            &install_hint,
        )
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
#[command(
    after_help = "Admins only, and only versions installed with `weft connector install`: \
    bundled connectors cannot be removed, and a component file the operator placed (in the \
    server's --components-dir, or given with --component) goes when the file does and \
    `weft serve` restarts. Refused (connector_in_use) while an automation needs the version, \
    i.e. its block's `version` would match none left; --force removes it anyway and disables \
    those automations, each with the reason.\n\n\
    Examples:\n  \
    weft connector remove acme-tasks 0.1.0\n  \
    weft connector remove acme-tasks 0.1.0 --force   # disables the automations that need it"
)]
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
        .call_coded(
            Method::DELETE,
            &[&args.id, "versions", &args.version],
            query,
            None,
            &|status, code| remove_hint(status, code, &args.id, &args.version),
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

/// Advice for a removal's refusals, by the error's code.
fn remove_hint(_: StatusCode, code: &str, id: &str, version: &str) -> Option<String> {
    Some(match code {
        "connector_in_use" => format!(
            "the automations in details.automations need {id}@{version}: change their blocks' \
            `version` to one still installed, install a matching version first, or run \
            `weft connector remove {id} {version} --force` to remove it and disable them"
        ),
        "connector_not_removable" => "only versions installed with `weft connector install` can be removed (--force does not change that): bundled connectors stay, and a component file the operator placed goes when the file is deleted and `weft serve` restarts".into(),
        _ => return None,
    })
}

#[derive(Args)]
#[command(
    group = clap::ArgGroup::new("change")
        .required(true)
        .multiple(true)
        .args(["allow", "revoke_all", "fuel", "timeout_ms", "memory_bytes", "output_bytes", "default_limits"]),
    after_help = "Admins only. Changes only what you pass, for every version of the connector \
    (and those installed later), from its next invocation: the command reads the current grant \
    and keeps the rest. --allow replaces the whole host list (--revoke-all empties it); a limit \
    flag changes that limit alone (--default-limits first drops the connector's own limits). \
    Private and loopback addresses need an IP-literal entry, e.g. --allow http://127.0.0.1:8080. \
    A grant made here wins over the server's weft.toml `[connectors.ID]` and `weft serve --allow`.\n\n\
    Examples:\n  \
    weft connector grant acme-tasks --allow https://api.acme-tasks.example --timeout-ms 30000\n  \
    weft connector grant acme-tasks --fuel 500000000   # keeps the hosts it may reach\n  \
    weft connector grant acme-tasks --revoke-all       # reaches no host any more"
)]
pub struct GrantArgs {
    /// The connector id.
    id: String,
    /// A host it may reach: scheme://host[:port], `*.` for subdomains,
    /// `:*` for any port. Repeatable; replaces the hosts granted before.
    #[arg(long = "allow", value_name = "ENTRY")]
    allow: Vec<String>,
    /// Revoke every host: the connector may reach none.
    #[arg(long, conflicts_with = "allow")]
    revoke_all: bool,
    /// Fuel per invocation.
    #[arg(long)]
    fuel: Option<u64>,
    /// Wall-clock limit per invocation, in milliseconds.
    #[arg(long, value_name = "MS")]
    timeout_ms: Option<u64>,
    /// Linear memory cap in MiB.
    #[arg(long = "memory-mib", value_name = "MIB", value_parser = mib_as_bytes)]
    memory_bytes: Option<usize>,
    /// Largest output in bytes.
    #[arg(long, value_name = "BYTES")]
    output_bytes: Option<usize>,
    /// Drop the connector's own limits, so the server's defaults apply;
    /// limit flags given with it are set on top of the defaults.
    #[arg(long)]
    default_limits: bool,
    #[command(flatten)]
    server: ServerArgs,
}

impl GrantArgs {
    /// The limits these flags set, by their JSON names (`Limits`).
    fn limit_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        if let Some(fuel) = self.fuel {
            fields.insert("fuel".into(), json!(fuel));
        }
        if let Some(ms) = self.timeout_ms {
            fields.insert("wall_clock".into(), json!(ms));
        }
        if let Some(bytes) = self.memory_bytes {
            fields.insert("memory_bytes".into(), json!(bytes));
        }
        if let Some(bytes) = self.output_bytes {
            fields.insert("output_bytes".into(), json!(bytes));
        }
        fields
    }

    /// The grant to send: `current` (the server's, as
    /// `GET /api/v1/connectors/{id}` shows it) with only what these flags
    /// name replaced.
    fn merged(&self, current: &Value) -> Value {
        let allow = if self.revoke_all {
            json!([])
        } else if !self.allow.is_empty() {
            json!(self.allow)
        } else {
            current
                .get("allow")
                .filter(|a| a.is_array())
                .cloned()
                .unwrap_or_else(|| json!([]))
        };
        let mut limits = match current.get("limits") {
            Some(Value::Object(l)) if !self.default_limits => Some(l.clone()),
            _ => None,
        };
        let fields = self.limit_fields();
        if !fields.is_empty() {
            // Fields left out take the defaults (`Limits` is
            // `#[serde(default)]`), as they do without a grant.
            limits.get_or_insert_with(Map::new).extend(fields);
        }
        let mut grant = json!({"allow": allow});
        if let Some(limits) = limits {
            grant["limits"] = Value::Object(limits);
        }
        grant
    }
}

pub async fn grant(args: GrantArgs, json_out: bool) -> Result<u8, Failure> {
    let id = args.id.clone();
    let client = args.server.client()?;
    // Read the grant in force first: flags replace only their own part.
    let current = client
        .call(Method::GET, &[&id], None, &|_| None)
        .await?
        .unwrap_or(Value::Null);
    let Some(current_grant) = current.get("grants").filter(|g| g.is_object()) else {
        return Err(Failure::new(
            REFUSED,
            format!(
                "the server did not show {id}'s current grant, so it cannot be changed in part"
            ),
        )
        .hint("grants are shown to admins only: set WEFT_TOKEN (or --token) to an admin's token"));
    };
    let body = args.merged(current_grant);
    let answer = client
        .call(Method::PUT, &[&id, "grants"], Some(body), &|_| None)
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
            "{id} may reach: {}",
            if hosts.is_empty() {
                "nothing".to_string()
            } else {
                hosts.join(", ")
            }
        );
        println!("limits: {}", describe_limits(&answer["grants"]["limits"]));
    }
    Ok(OK)
}

/// A grant's `limits`, for people.
fn describe_limits(limits: &Value) -> String {
    let Some(l) = limits.as_object() else {
        return "the server's defaults".into();
    };
    let mut parts = Vec::new();
    if let Some(fuel) = l.get("fuel").and_then(Value::as_u64) {
        parts.push(format!("fuel {fuel}"));
    }
    if let Some(ms) = l.get("wall_clock").and_then(Value::as_u64) {
        parts.push(format!("wall clock {ms} ms"));
    }
    if let Some(bytes) = l.get("memory_bytes").and_then(Value::as_u64) {
        parts.push(if bytes % (1 << 20) == 0 {
            format!("memory {} MiB", bytes >> 20)
        } else {
            format!("memory {bytes} bytes")
        });
    }
    if let Some(bytes) = l.get("output_bytes").and_then(Value::as_u64) {
        parts.push(format!("output {bytes} bytes"));
    }
    parts.join(", ")
}

/// `weft connector list --server [URL]`: `server` empty (the flag without
/// a value) means WEFT_SERVER, else [`DEFAULT_SERVER`].
pub async fn list_remote(
    server: &str,
    token: Option<String>,
    json_out: bool,
) -> Result<u8, Failure> {
    let from_env;
    let server = if server.is_empty() {
        from_env = std::env::var("WEFT_SERVER")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_SERVER.to_string());
        &from_env
    } else {
        server
    };
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
