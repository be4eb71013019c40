//! `weft connection list | create | show | delete | authorize`: manage the
//! connections (the credentials automations use for a connector's API) on
//! a running `weft serve`.
//!
//! This is a thin client of the server's REST API (`/api/v1/connections`),
//! not of its store: operators manage connections while the server runs,
//! and the server is the only one holding the key secrets are sealed with.
//! The server's address comes from `--server` / `WEFT_SERVER`, the caller's
//! API token from `--token` / `WEFT_TOKEN`. Secrets are read from stdin
//! (`--secret-stdin`) or a prompt that does not echo, never from a flag, so
//! they stay out of shell history and `ps`; no output ever contains one
//! (the API never returns them).

use crate::api_client::{Client, UNREACHABLE};
use crate::exit::{Failure, OK, USAGE};
use clap::{Args, Subcommand, ValueEnum};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};
use std::io::{BufRead, IsTerminal, Write};

#[derive(Args)]
#[command(after_help = "Examples:\n  \
    export WEFT_SERVER=http://127.0.0.1:8080 WEFT_TOKEN=wft_…\n  \
    weft connection list\n  \
    weft connection create --connector slack --name \"Team bot\" --kind bearer   # prompts\n  \
    weft connection create --connector slack --name Bot --kind bearer --secret-stdin < token.txt\n  \
    weft connection create --connector slack --name OAuth --kind oauth2-code --client-id 1234.5678\n  \
    weft connection authorize conn_0123…   # prints the URL to open in a browser\n  \
    weft connection show conn_0123…\n  \
    weft connection delete conn_0123…\n\n\
    Blocks use a connection by naming its id: {\"type\": \"connector\", \"connector\": \"slack\", \
    \"connection\": \"conn_0123…\", …}. `weft connector describe CONNECTOR` lists the auth kinds \
    a connector accepts.\n\n\
    Exit codes: 0 success · 2 bad command line or input · 5 the server refused the request \
    (bad token, no such connection, invalid settings) · 6 the server could not be reached or failed")]
pub struct ConnectionArgs {
    /// The address of the running `weft serve`.
    #[arg(
        long,
        global = true,
        env = "WEFT_SERVER",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    server: String,

    /// Your API token (`wft_…`); prefer the environment variable, which
    /// stays out of shell history.
    #[arg(
        long,
        global = true,
        env = "WEFT_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    token: Option<String>,

    #[command(subcommand)]
    command: ConnectionCommand,
}

#[derive(Subcommand)]
enum ConnectionCommand {
    /// List your connections (admins also see everyone else's, as summaries).
    List,
    /// Create a connection; its secret is read from stdin or a prompt.
    #[command(
        after_help = "The secret each kind needs, read from stdin (--secret-stdin, one \
        line) or a prompt that does not echo — never from a flag:\n  \
        bearer                      the token\n  \
        api-key                     the API key\n  \
        basic                       the password (the user name is --username)\n  \
        oauth2-code                 the client secret (--client-id); empty for PKCE alone\n  \
        oauth2-client-credentials   the client secret (--client-id)\n\
        An oauth2-code connection is then authorized in a browser: `weft connection authorize ID`.\n\n\
        Examples:\n  \
        weft connection create --connector slack --name \"Team bot\" --kind bearer\n  \
        printf '%s\\n' \"$SLACK_BOT_TOKEN\" |\n    \
        weft connection create --connector slack --name \"Team bot\" --kind bearer --secret-stdin\n  \
        weft connection create --connector crm --name Acme --kind basic --username api \\\n    \
        --field tenant=acme --secret-stdin < password.txt\n  \
        weft connection create --connector slack --name OAuth --kind oauth2-code --client-id 1234.5678"
    )]
    Create {
        /// The connector the connection is for (see `weft connector list`).
        #[arg(long)]
        connector: String,
        /// A name for people, e.g. "Team bot" or "Production".
        #[arg(long)]
        name: String,
        /// How it authenticates; the connector must declare this kind
        /// (`weft connector describe CONNECTOR`).
        #[arg(long, value_enum)]
        kind: Kind,
        /// The OAuth2 client id (oauth2-code, oauth2-client-credentials).
        #[arg(long)]
        client_id: Option<String>,
        /// The user name (basic).
        #[arg(long)]
        username: Option<String>,
        /// A non-secret field, e.g. `tenant=acme` for a connector whose
        /// host is `https://{tenant}.example.com`. Repeatable.
        #[arg(long = "field", value_name = "KEY=VALUE", value_parser = parse_field)]
        fields: Vec<(String, String)>,
        /// Read the secret from the first line of stdin instead of prompting.
        #[arg(long)]
        secret_stdin: bool,
    },
    /// Show one connection's settings and status (never its secret).
    Show {
        /// The connection's id (`conn_…`, see `weft connection list`).
        id: String,
    },
    /// Delete a connection; automations that use it fail at the blocks that
    /// need it until they name another one.
    Delete {
        /// The connection's id.
        id: String,
    },
    /// Start the OAuth2 authorization of an oauth2-code connection: prints
    /// the URL to open in a browser (valid once, for ten minutes).
    #[command(after_help = "The provider sends the browser back to the server's \
        /oauth/callback (on its --public-url), which stores the tokens; `weft connection show ID` \
        then says `ok`.\n\n\
        Example:\n  \
        weft connection authorize conn_0123…")]
    Authorize {
        /// The connection's id.
        id: String,
    },
}

/// The auth kinds, as the API names them.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    #[value(name = "bearer")]
    Bearer,
    #[value(name = "api-key")]
    ApiKey,
    #[value(name = "basic")]
    Basic,
    #[value(name = "oauth2-code")]
    OAuth2Code,
    #[value(name = "oauth2-client-credentials")]
    OAuth2ClientCredentials,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Bearer => "bearer",
            Kind::ApiKey => "api-key",
            Kind::Basic => "basic",
            Kind::OAuth2Code => "oauth2-code",
            Kind::OAuth2ClientCredentials => "oauth2-client-credentials",
        }
    }

    /// The `auth` field the secret goes in, and what to call it.
    fn secret(self) -> (&'static str, &'static str) {
        match self {
            Kind::Bearer => ("token", "token"),
            Kind::ApiKey => ("key", "API key"),
            Kind::Basic => ("password", "password"),
            Kind::OAuth2Code | Kind::OAuth2ClientCredentials => ("client_secret", "client secret"),
        }
    }

    fn uses_client_id(self) -> bool {
        matches!(self, Kind::OAuth2Code | Kind::OAuth2ClientCredentials)
    }
}

fn parse_field(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err(format!("{s:?} is not KEY=VALUE (e.g. tenant=acme)")),
    }
}

pub async fn run(args: ConnectionArgs, json_out: bool) -> Result<u8, Failure> {
    let client = Client::new(&args.server, args.token, "connections", connection_hints)?;
    match args.command {
        ConnectionCommand::List => list(&client, json_out).await,
        ConnectionCommand::Create {
            connector,
            name,
            kind,
            client_id,
            username,
            fields,
            secret_stdin,
        } => {
            let body = create_body(
                connector,
                name,
                kind,
                client_id,
                username,
                fields,
                secret_stdin,
            )?;
            create(&client, body, json_out).await
        }
        ConnectionCommand::Show { id } => show(&client, &id, json_out).await,
        ConnectionCommand::Delete { id } => delete(&client, &id, json_out).await,
        ConnectionCommand::Authorize { id } => authorize(&client, &id, json_out).await,
    }
}

/// Pages `list` follows at most (500 connections each).
const MAX_LIST_PAGES: usize = 200;

async fn list(client: &Client, json_out: bool) -> Result<u8, Failure> {
    let mut items: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_LIST_PAGES {
        let mut query = vec![("limit", "500")];
        if let Some(c) = &cursor {
            query.push(("cursor", c.as_str()));
        }
        let body = client
            .call_with_query(Method::GET, &[], &query, None, &|_| None)
            .await?
            .unwrap_or(Value::Null);
        items.extend(body["items"].as_array().cloned().unwrap_or_default());
        cursor = body["next_cursor"].as_str().map(str::to_string);
        if cursor.is_none() {
            break;
        }
    }
    if json_out {
        print_json(&json!({ "items": items }));
        return Ok(OK);
    }
    if items.is_empty() {
        println!(
            "no connections yet; create one with `weft connection create --connector CONNECTOR --name NAME --kind KIND`"
        );
        return Ok(OK);
    }
    let mut owners: Vec<&str> = items.iter().filter_map(|c| c["owner"].as_str()).collect();
    owners.sort_unstable();
    owners.dedup();
    let with_owner = owners.len() > 1;
    let mut rows = vec![["ID", "NAME", "CONNECTOR", "KIND", "STATUS", "OWNER"].map(str::to_string)];
    for c in &items {
        rows.push(
            ["id", "name", "connector", "auth_kind", "status", "owner"]
                .map(|k| c[k].as_str().unwrap_or("-").to_string()),
        );
    }
    let columns = if with_owner { 6 } else { 5 };
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let line: Vec<String> = (0..columns)
            .map(|i| format!("{:<width$}", row[i], width = widths[i]))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
    Ok(OK)
}

/// The `POST /api/v1/connections` body, with the secret read from stdin or
/// a prompt.
fn create_body(
    connector: String,
    name: String,
    kind: Kind,
    client_id: Option<String>,
    username: Option<String>,
    fields: Vec<(String, String)>,
    secret_stdin: bool,
) -> Result<Value, Failure> {
    let usage = |m: String| Failure::new(USAGE, m).hint("see `weft connection create --help`");
    let mut auth = Map::new();
    auth.insert("kind".into(), json!(kind.name()));
    match (kind.uses_client_id(), client_id) {
        (true, Some(id)) => {
            auth.insert("client_id".into(), json!(id));
        }
        (true, None) => return Err(usage(format!("--kind {} needs --client-id", kind.name()))),
        (false, Some(_)) => {
            return Err(usage(format!(
                "--client-id is for the oauth2 kinds, not {}",
                kind.name()
            )));
        }
        (false, None) => {}
    }
    match (kind == Kind::Basic, username) {
        (true, Some(user)) => {
            auth.insert("username".into(), json!(user));
        }
        (true, None) => return Err(usage("--kind basic needs --username".into())),
        (false, Some(_)) => {
            return Err(usage(format!(
                "--username is for --kind basic, not {}",
                kind.name()
            )));
        }
        (false, None) => {}
    }
    let (field, noun) = kind.secret();
    let secret = if secret_stdin {
        read_stdin_line()
            .map_err(|e| Failure::new(USAGE, format!("reading the secret from stdin: {e}")))?
    } else if std::io::stdin().is_terminal() {
        let optional = if kind == Kind::OAuth2Code {
            ", empty if the provider takes PKCE alone"
        } else {
            ""
        };
        prompt_hidden(&format!(
            "The {noun} for {connector} (input hidden{optional}): "
        ))
        .map_err(|e| Failure::new(USAGE, format!("reading the secret: {e}")))?
    } else {
        return Err(Failure::new(
            USAGE,
            "stdin is not a terminal, so there is no one to prompt for the secret",
        )
        .hint("pass --secret-stdin and send the secret as the first line of stdin"));
    };
    let optional = kind == Kind::OAuth2Code;
    match (secret.is_empty(), optional) {
        (true, true) => {}
        (true, false) => {
            return Err(Failure::new(USAGE, format!("the {noun} is empty")).hint(
                if secret_stdin {
                    "send the secret as the first line of stdin"
                } else {
                    "type the secret at the prompt (it is not echoed)"
                },
            ));
        }
        (false, _) => {
            auth.insert(field.into(), json!(secret));
        }
    }
    let mut body = json!({"connector": connector, "name": name, "auth": auth});
    if !fields.is_empty() {
        let fields: Map<String, Value> = fields.into_iter().map(|(k, v)| (k, json!(v))).collect();
        body["fields"] = Value::Object(fields);
    }
    Ok(body)
}

async fn create(client: &Client, body: Value, json_out: bool) -> Result<u8, Failure> {
    let connector = body["connector"].as_str().unwrap_or_default().to_string();
    let hint = move |status: StatusCode| {
        // 400: the request is malformed; 422: it names a connector or an
        // auth kind this server does not have.
        (status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY).then(
            || {
                format!(
                    "`weft connector describe {connector}` lists the auth kinds a connector \
                 accepts (`weft connector list` the bundled connectors); see \
                 `weft connection create --help` for what each kind needs"
                )
            },
        )
    };
    let created = client
        .call(Method::POST, &[], Some(body), &hint)
        .await?
        .unwrap_or(Value::Null);
    if json_out {
        print_json(&created);
        return Ok(OK);
    }
    let id = created["id"].as_str().unwrap_or("?");
    println!(
        "created connection {id} ({} {}): {}",
        created["connector"].as_str().unwrap_or("?"),
        created["auth_kind"].as_str().unwrap_or("?"),
        created["name"].as_str().unwrap_or_default()
    );
    if created["status"] == "needs_authorization" {
        println!("next: authorize it in a browser: weft connection authorize {id}");
    } else {
        println!("use it in a block with \"connection\": \"{id}\"");
    }
    Ok(OK)
}

async fn show(client: &Client, id: &str, json_out: bool) -> Result<u8, Failure> {
    let c = client
        .call(Method::GET, &[id], None, &|_| None)
        .await?
        .unwrap_or(Value::Null);
    if json_out {
        print_json(&c);
        return Ok(OK);
    }
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    };
    let mut rows: Vec<(String, String)> = vec![
        ("name".into(), text(&c["name"])),
        ("connector".into(), text(&c["connector"])),
        ("owner".into(), text(&c["owner"])),
        ("auth".into(), text(&c["auth_kind"])),
    ];
    if let Some(auth) = c["auth"].as_object() {
        for (k, v) in auth.iter().filter(|(k, _)| *k != "kind") {
            rows.push((format!("  {k}"), text(v)));
        }
    }
    let mut status = text(&c["status"]);
    if let Some(reason) = c["status_reason"].as_str() {
        status = format!("{status} ({reason})");
    }
    rows.push(("status".into(), status));
    if let Some(fields) = c["fields"].as_object()
        && !fields.is_empty()
    {
        let fields: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", plain(v)))
            .collect();
        rows.push(("fields".into(), fields.join(" ")));
    }
    for (label, key) in [
        ("token expires", "expires_at"),
        ("created", "created_at"),
        ("updated", "updated_at"),
    ] {
        if let Some(ms) = c[key].as_i64() {
            rows.push((label.into(), timestamp(ms)));
        }
    }
    println!("{}", text(&c["id"]));
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    for (label, value) in rows {
        println!("  {label:<width$}  {value}");
    }
    if c["status"] != "ok" && c["auth_kind"] == "oauth2-code" && c["auth"].is_object() {
        println!("authorize it in a browser: weft connection authorize {id}");
    }
    Ok(OK)
}

async fn delete(client: &Client, id: &str, json_out: bool) -> Result<u8, Failure> {
    client.call(Method::DELETE, &[id], None, &|_| None).await?;
    if json_out {
        print_json(&json!({"id": id, "deleted": true}));
    } else {
        println!("deleted connection {id}");
    }
    Ok(OK)
}

async fn authorize(client: &Client, id: &str, json_out: bool) -> Result<u8, Failure> {
    let hint = |status: StatusCode| {
        // 400: the request is malformed; 422: it names a connector or an
        // auth kind this server does not have.
        (status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY).then(
            || {
                "only oauth2-code connections are authorized in a browser; other kinds are ready \
             once created"
                    .to_string()
            },
        )
    };
    let answer = client
        .call(Method::POST, &[id, "actions", "authorize"], None, &hint)
        .await?
        .unwrap_or(Value::Null);
    if json_out {
        print_json(&answer);
        return Ok(OK);
    }
    let url = answer["authorize_url"].as_str().ok_or_else(|| {
        Failure::new(
            UNREACHABLE,
            format!("the server answered without authorize_url: {answer}"),
        )
    })?;
    // The instructions go to stderr so `$(weft connection authorize ID)` is the URL.
    eprintln!(
        "Open this URL in a browser and allow access (valid once, for {} s); the server stores \
         the tokens when the provider sends the browser back:",
        answer["expires_in"].as_i64().unwrap_or(600)
    );
    println!("{url}");
    Ok(OK)
}

/// A value as plain text (strings without quotes).
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn timestamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// The first line of stdin, without its line ending.
fn read_stdin_line() -> std::io::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Ask on stderr and read a line from the terminal without echoing it.
fn prompt_hidden(prompt: &str) -> std::io::Result<String> {
    let mut stderr = std::io::stderr();
    stderr.write_all(prompt.as_bytes())?;
    stderr.flush()?;
    let _quiet = EchoOff::new();
    read_stdin_line()
}

/// Turns the terminal's echo off until dropped (Unix; elsewhere a no-op).
struct EchoOff {
    #[cfg(unix)]
    saved: Option<libc::termios>,
}

impl EchoOff {
    #[cfg(unix)]
    fn new() -> Self {
        use std::os::fd::AsRawFd;
        let fd = std::io::stdin().as_raw_fd();
        let mut term = std::mem::MaybeUninit::<libc::termios>::uninit();
        // SAFETY: `fd` is this process's stdin; tcgetattr fills `term` when
        // it returns 0, and only then is it read.
        let saved = (unsafe { libc::tcgetattr(fd, term.as_mut_ptr()) } == 0)
            // SAFETY: initialized by the successful tcgetattr above.
            .then(|| unsafe { term.assume_init() });
        if let Some(saved) = saved {
            let mut quiet = saved;
            quiet.c_lflag &= !libc::ECHO;
            // Still echo the newline, so what follows starts on a new line.
            quiet.c_lflag |= libc::ECHONL;
            // SAFETY: a valid termios for the terminal on `fd`.
            unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
        }
        EchoOff { saved }
    }

    #[cfg(not(unix))]
    fn new() -> Self {
        EchoOff {}
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(saved) = &self.saved {
            use std::os::fd::AsRawFd;
            // SAFETY: restores the settings read from the same terminal.
            unsafe { libc::tcsetattr(std::io::stdin().as_raw_fd(), libc::TCSANOW, saved) };
        }
    }
}

/// Advice for the connections API's refusals.
fn connection_hints(status: reqwest::StatusCode) -> Option<String> {
    match status {
        reqwest::StatusCode::FORBIDDEN => Some("only a connection's owner may change it".into()),
        reqwest::StatusCode::NOT_FOUND => Some(
            "`weft connection list` shows the ids of your connections (others' are not visible)"
                .into(),
        ),
        _ => None,
    }
}
