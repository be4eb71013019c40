//! `weft` — the Weft command line.
//!
//! Today it inspects and runs connectors: the bundled ones (`http`, `echo`,
//! `hostile`) or any component file a plugin author built. Every command
//! prints for humans by default and JSON with `--json`.

mod connector_cmd;
mod exit;
mod source;

use clap::{Parser, Subcommand};
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
        weft connector list\n  \
        weft connector describe http\n  \
        weft connector invoke echo echo --input '{\"value\": \"hi\"}'\n  \
        weft connector invoke http request --input '{\"url\": \"http://127.0.0.1:8080/items\"}' --allow http://127.0.0.1:8080\n  \
        weft connector invoke ./target/wasm32-wasip2/release/my_connector.wasm my-block --input @input.json\n\n\
        Exit codes: 0 success · 1 the block failed or hit a limit · 2 bad command line or input · 3 the component could not be loaded"
)]
struct Cli {
    /// Where compiled components are cached (compiling happens once per component and engine version).
    #[arg(long, global = true, env = "WEFT_CACHE_DIR")]
    cache_dir: Option<PathBuf>,

    /// Print machine-readable JSON instead of human text.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    let result = tokio.block_on(async {
        match cli.command {
            Command::Connector(cmd) => connector_cmd::run(cmd, &cache_dir, cli.json).await,
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
