//! `weft` — the Weft command line.
//!
//! It runs automations (`run`, `validate`, `runs`, `run-log`), inspects and
//! invokes connectors (the bundled ones or any component file a plugin
//! author built) and runs the server (`serve`). Every command prints for
//! humans by default and JSON with `--json`.

mod connector_cmd;
mod exit;
mod run_cmd;
mod serve_cmd;
mod source;

use clap::{Parser, Subcommand};

// The server allocates many short-lived JSON values and store records from
// every worker thread; glibc's arenas spent a third of a W1 benchmark's CPU
// in malloc/free and its locks. mimalloc's thread-local heaps do not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
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
        weft connector describe http\n  \
        weft connector invoke echo echo --input '{\"value\": \"hi\"}'\n  \
        weft connector invoke http request --input '{\"url\": \"http://127.0.0.1:8080/items\"}' --allow http://127.0.0.1:8080\n  \
        weft connector invoke ./target/wasm32-wasip2/release/my_connector.wasm my-block --input @input.json\n\n\
        Exit codes: 0 success · 1 the run or block failed (or hit a limit) · 2 bad command line or input · 3 a component could not be loaded · 4 the automation is invalid"
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
    },
    /// Run the server: REST API, users and tokens, API-call triggers.
    Serve(serve_cmd::ServeArgs),
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    let result = tokio.block_on(async {
        match cli.command {
            Command::Connector(cmd) => connector_cmd::run(cmd, &cache_dir, json).await,
            Command::Run { file, input, allow } => {
                let input = run_cmd::parse_input(&input)?;
                let weft = run_cmd::engine(&data_dir, &cache_dir, &allow).await?;
                run_cmd::run(&weft, &file, input, json).await
            }
            Command::Serve(args) => serve_cmd::run(args, &data_dir, &cache_dir).await,
            Command::Validate { file } => {
                let weft = run_cmd::engine(&data_dir, &cache_dir, &[]).await?;
                run_cmd::validate(&weft, &file, json).await
            }
            Command::Runs { automation, limit } => {
                let weft = run_cmd::engine(&data_dir, &cache_dir, &[]).await?;
                run_cmd::runs(&weft, automation, limit, json)
            }
            Command::RunLog { run_id } => {
                let weft = run_cmd::engine(&data_dir, &cache_dir, &[]).await?;
                run_cmd::run_log(&weft, &run_id, json)
            }
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            if let Some(hint) = failure.hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(failure.code)
        }
    }
}
