//! The upstream API for benchmark W2 (`examples/bench/`): answers every
//! request with `{"ok":true}`. Listens on the address given as the first
//! argument (default 127.0.0.1:9797) until killed.
//!
//! `cargo run --release -p weft-tests --example bench_upstream -- 127.0.0.1:9797`

use axum::Router;
use axum::routing::any;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9797".to_string());
    let app = Router::new().fallback(any(|| async {
        (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            r#"{"ok":true}"#,
        )
    }));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("bench upstream listening on http://{addr}");
    axum::serve(listener, app).await
}
