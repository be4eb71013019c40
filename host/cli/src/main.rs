//! `weft` — the Weft command line.
//!
//! It runs automations (`run`, `validate`, `runs`, `run-log`), inspects and
//! invokes connectors (the bundled ones or any component file a plugin
//! author built), runs the server (`serve`) and manages a running server's
//! connections over its REST API (`connection`). Every command prints for
//! humans by default and JSON with `--json`.

mod api_client;
mod called;
mod components;
mod connection_cmd;
mod connector_cmd;
mod connector_new;
mod connector_ops;
mod db_cmd;
mod exit;
mod invoke_credential;
mod run_cmd;
mod schema_text;
mod serve_cmd;
mod source;
mod term;

use clap::{Parser, Subcommand};

// The server allocates many short-lived JSON values and store records from
// every worker thread; glibc's arenas spent a third of a W1 benchmark's CPU
// in malloc/free and its locks. mimalloc's thread-local heaps do not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (the -sys crate names no
/// constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Give freed memory back to the OS at once rather than after mimalloc's
/// default delay: under sustained load the delayed pages added about 30 MB
/// to the server's resident set for no measurable speed.
fn return_freed_memory_promptly() {
    // SAFETY: sets a process-wide allocator option; mimalloc documents it
    // as safe to change at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "weft",
    version,
    about = "Weft: workflow automation where every block runs sandboxed in WebAssembly",
    long_about = "Weft: workflow automation where every block runs sandboxed in WebAssembly.\n\n\
        Connectors are WebAssembly components. `weft connector` lets you list the bundled \
        ones, read what a component declares (blocks, schemas, hosts, auth) and invoke a \
        block in the real sandbox, with the same limits and HTTP checks the engine applies.",
    after_help = "Examples:\n  \
        weft run examples/fetch-and-filter.json --input '{\"api\": \"http://127.0.0.1:8080\"}' --allow http://127.0.0.1:8080\n  \
        weft validate my-automation.json\n  \
        weft runs && weft run-log RUN_ID\n  \
        weft connector list\n  \
        weft connector new my-connector   # a connector crate from the SDK template\n  \
        weft connector describe http\n  \
        weft run my-automation.json --component ./target/wasm32-wasip2/release/my_connector.wasm\n  \
        weft connector install my_connector.wasm --server http://127.0.0.1:8080   # signed: see `weft connector sign --help`\n  \
        weft connector invoke echo echo --input '{\"value\": \"hi\"}'\n  \
        weft connector invoke http request --input '{\"url\": \"http://127.0.0.1:8080/items\"}' --allow http://127.0.0.1:8080\n  \
        weft connector invoke ./target/wasm32-wasip2/release/my_connector.wasm my-block --input @input.json\n  \
        WEFT_DATABASE_URL=postgres://weft@db/weft weft db status\n  \
        WEFT_TOKEN=wft_… weft connection list --server http://127.0.0.1:8080\n\n\
        Exit codes: 0 success · 1 the run or block failed (or hit a limit) · 2 bad command line or input · 3 a component could not be loaded · 4 the automation is invalid · 5 the server refused the request · 6 the server could not be reached or failed"
)]
struct Cli {
    /// Where compiled components are cached (compiling happens once per component and engine version).
    #[arg(long, global = true, env = "WEFT_CACHE_DIR")]
    cache_dir: Option<PathBuf>,

    /// Print machine-readable JSON instead of human text.
    #[arg(long, global = true)]
    json: bool,

    /// Where run history is kept (a sled database under this directory).
    #[arg(long, global = true, env = "WEFT_DATA_DIR")]
    data_dir: Option<PathBuf>,

    /// Where component files (.wasm) are read from, for every command;
    /// `weft serve` also keeps components installed through its API here
    /// [default: DATA_DIR/components].
    #[arg(long, global = true, env = "WEFT_COMPONENTS_DIR", value_name = "DIR")]
    components_dir: Option<PathBuf>,

    /// Load this component file too (a connector built with `cargo build
    /// --release --target wasm32-wasip2`). Repeatable.
    #[arg(long = "component", global = true, value_name = "FILE")]
    component: Vec<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an automation file and print its output and a per-block trace.
    Run {
        /// The automation (JSON, format automation/v1).
        file: PathBuf,
        /// The trigger payload ($.Start): JSON text, or @FILE.
        #[arg(long, short, default_value = "{}")]
        input: String,
        /// Grant outbound hosts: `http://127.0.0.1:8080` (for the http
        /// connector) or `CONNECTOR=scheme://host[:port]`. Repeatable.
        #[arg(long = "allow", value_name = "GRANT")]
        allow: Vec<String>,
        /// A directory of automation files (*.json) the run may call with
        /// `call_automation` blocks, by their `id`. Every file is
        /// validated first; one bad file and nothing runs.
        #[arg(long, value_name = "DIR")]
        automations: Option<PathBuf>,
    },
    /// Run the server: REST API, users and tokens, API-call triggers.
    Serve(Box<serve_cmd::ServeArgs>),
    /// Check an automation without running it; lists every problem with the block and field.
    Validate { file: PathBuf },
    /// List recent runs, newest first.
    Runs {
        /// Only runs of this automation id.
        #[arg(long)]
        automation: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Show one run's record and per-block log.
    RunLog { run_id: String },
    /// Inspect and run connector components.
    #[command(subcommand)]
    Connector(connector_cmd::ConnectorCommand),
    /// Manage the key that encrypts stored secrets (connections, webhook
    /// signing secrets).
    #[command(subcommand)]
    SecretKey(SecretKeyCommand),
    /// Manage connections (the credentials automations use for a
    /// connector's API) on a running `weft serve`, through its REST API.
    Connection(connection_cmd::ConnectionArgs),
    /// Manage users' console sign-in.
    #[command(subcommand)]
    User(UserCommand),
    /// Migrate a shared PostgreSQL database, or check its schema version
    /// against this build's (`--database-url` / `WEFT_DATABASE_URL`).
    Db(db_cmd::DbArgs),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Set a user's console password (at least 10 characters), read from
    /// the first line of standard input: `echo 'a long password' | weft
    /// user set-password admin`. Stop `weft serve` first (it holds the
    /// store); while it runs, an admin uses POST
    /// /api/v1/users/{name}/actions/set-password instead. The user's
    /// console sessions end.
    SetPassword {
        /// The user's name (the first admin is `admin`).
        name: String,
    },
}

fn set_password(data_dir: &std::path::Path, name: &str, json: bool) -> Result<u8, exit::Failure> {
    use std::io::{BufRead, IsTerminal};
    if std::io::stdin().is_terminal() {
        eprint!("new console password for {name} (typed text is shown): ");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        exit::Failure::new(
            exit::USAGE,
            format!("cannot read the password from standard input: {e}"),
        )
    })?;
    let password = line.trim_end_matches(['\r', '\n']);
    weft_server::sessions::set_password_offline(data_dir, name, password).map_err(|e| {
        exit::Failure::new(exit::USAGE, e.to_string())
            .hint("pipe the password in: echo 'a long password' | weft user set-password NAME")
    })?;
    if json {
        println!(
            "{}",
            serde_json::json!({"user": name, "password_set": true})
        );
    } else {
        println!("set the console password of {name}; their sessions ended");
    }
    Ok(exit::OK)
}

#[derive(Subcommand)]
enum SecretKeyCommand {
    /// Re-encrypt every stored secret under a new key. Stop `weft serve`
    /// first. With the key in DATA_DIR/secret.key the file is replaced;
    /// with WEFT_SECRET_KEY set, the new key is printed for you to put
    /// there before the next start. Safe to run again if interrupted.
    Rotate,
}

fn rotate_key(data_dir: &std::path::Path, json: bool) -> Result<u8, exit::Failure> {
    let report = weft_server::rotation::rotate(data_dir).map_err(|e| {
        exit::Failure::new(exit::INTERNAL, format!("key rotation failed: {e}")).hint(
            "stop `weft serve` for this --data-dir first; an interrupted rotation can be run again",
        )
    })?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "key_id": report.key_id,
                "connections": report.connections,
                "webhook_secrets": report.webhook_secrets,
                "new_env_key": report.new_env_key,
            })
        );
    } else {
        println!(
            "re-encrypted {} connection(s) and {} webhook secret(s) under key {}",
            report.connections, report.webhook_secrets, report.key_id
        );
        if let Some(key) = report.new_env_key {
            println!("set WEFT_SECRET_KEY to this new key before the next start:\n{key}");
        }
    }
    Ok(exit::OK)
}

/// End quietly when the reader of our output goes away (`weft connector
/// describe http | head`), as Unix tools do: Rust ignores SIGPIPE, so a
/// closed pipe would otherwise make `println!` panic. Not for `serve`,
/// which must outlive whoever reads its log.
fn die_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restores the default disposition of one signal at start-up,
    // before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    return_freed_memory_promptly();
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        die_quietly_on_closed_pipe();
    }
    let tokio = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    let cache_dir = cli.cache_dir.unwrap_or_else(source::default_cache_dir);
    let data_dir = cli.data_dir.unwrap_or_else(run_cmd::default_data_dir);
    let json = cli.json;
    let files = components::ComponentFiles::new(cli.components_dir, &data_dir, cli.component);
    let result = tokio.block_on(async {
        match cli.command {
            Command::Connector(cmd) => connector_cmd::run(cmd, &cache_dir, &files, json).await,
            Command::Connection(args) => connection_cmd::run(args, json).await,
            Command::Run {
                file,
                input,
                allow,
                automations,
            } => {
                let input = run_cmd::parse_input(&input)?;
                let called = called::CalledAutomations::new(automations);
                let weft =
                    run_cmd::engine_calling(&data_dir, &cache_dir, &allow, &files, called.clone())
                        .await?;
                called.load(&weft)?;
                run_cmd::run(&weft, &file, input, json).await
            }
            Command::Serve(args) => serve_cmd::run(*args, &data_dir, &cache_dir, &files).await,
            Command::Validate { file } => {
                let weft = run_cmd::engine(&data_dir, &cache_dir, &[], &files).await?;
                run_cmd::validate(&weft, &file, json).await
            }
            Command::Runs { automation, limit } => {
                let weft = run_cmd::engine(&data_dir, &cache_dir, &[], &files).await?;
                run_cmd::runs(&weft, automation, limit, json)
            }
            Command::Db(args) => db_cmd::run(args, json),
            Command::SecretKey(SecretKeyCommand::Rotate) => rotate_key(&data_dir, json),
            Command::User(UserCommand::SetPassword { name }) => {
                set_password(&data_dir, &name, json)
            }
            Command::RunLog { run_id } => {
                let weft = run_cmd::engine(&data_dir, &cache_dir, &[], &files).await?;
                run_cmd::run_log(&weft, &run_id, json)
            }
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            // A failure may quote guest or server text (a block's error,
            // an API message): escaped, like every guest text printed.
            eprintln!("error: {}", term::safe_lines(&failure.message));
            if let Some(hint) = failure.hint {
                eprintln!("hint: {}", term::safe_lines(&hint));
            }
            ExitCode::from(failure.code)
        }
    }
}
