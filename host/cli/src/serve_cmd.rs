//! `weft serve`.

use crate::exit::{Failure, INTERNAL, OK, USAGE};
use std::path::Path;
use std::sync::Arc;
use weft_host::Weft;
use weft_server::{AppState, ServerConfig};

/// Structured logs on stderr: `RUST_LOG` picks the level (default info),
/// `WEFT_LOG_FORMAT=json` switches to one JSON object per line.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if std::env::var("WEFT_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

pub async fn serve(
    weft: Weft,
    data_dir: &Path,
    listen: &str,
    config: ServerConfig,
) -> Result<u8, Failure> {
    init_logging();
    let state = AppState::open(weft, &data_dir.join("server"), config).map_err(|e| {
        Failure::new(
            INTERNAL,
            format!(
                "cannot open the server store in {}: {e}",
                data_dir.display()
            ),
        )
        .hint("is another `weft serve` using the same --data-dir?")
    })?;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        Failure::new(USAGE, format!("cannot listen on {listen}: {e}"))
            .hint("pick another address with --listen, e.g. 127.0.0.1:0")
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::new(INTERNAL, e.to_string()))?;
    if let Some(token) = state
        .bootstrap_admin()
        .map_err(|e| Failure::new(INTERNAL, e.to_string()))?
    {
        println!("created user admin; its API token (shown once): {token}");
    }
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
    weft_server::serve(listener, state, shutdown)
        .await
        .map_err(|e| Failure::new(INTERNAL, e.to_string()))?;
    Ok(OK)
}
