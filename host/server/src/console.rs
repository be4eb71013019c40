//! The browser console: the single-page app built from `host/console`
//! (React, React Flow; see its README), embedded in the binary and served
//! from `/` — no Node at run time, nothing fetched from elsewhere.
//!
//! Files are served as built, under a strict Content-Security-Policy (only
//! the server's own scripts, styles and connections; no inline code, no
//! framing). Content-hashed assets are cached for a year; `index.html`
//! never is, so a new build is picked up at the next load. A `GET` that
//! matches no file and asks for HTML (a browser opening
//! `/automations/x`) gets `index.html`, whose router shows the page; every
//! other unknown path keeps the API's JSON 404.

use crate::error::ApiError;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::Embed)]
#[folder = "../console/dist/"]
struct Assets;

/// The policy every console page is served under.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Paths that belong to the API, never to the console.
fn is_api(path: &str) -> bool {
    ["api/", "hooks/", "oauth/", "metrics", "healthz"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn file(path: &str, data: std::borrow::Cow<'static, [u8]>) -> Response {
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = (StatusCode::OK, data.into_owned()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The router's fallback: a console file, the console's page for a
/// browser's deep link, or the API's JSON 404.
pub async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    let readable = method == Method::GET || method == Method::HEAD;
    if readable && !is_api(path) {
        let name = if path.is_empty() { "index.html" } else { path };
        if let Some(asset) = Assets::get(name) {
            return file(name, asset.data);
        }
        let wants_html = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
        if wants_html
            && !path.starts_with("assets/")
            && let Some(index) = Assets::get("index.html")
        {
            return file("index.html", index.data);
        }
    }
    ApiError::not_found(&format!("route {}", uri.path())).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_is_embedded_with_its_assets() {
        let index = Assets::get("index.html").expect("dist/index.html is embedded");
        let html = String::from_utf8_lossy(&index.data);
        assert!(html.contains("<script type=\"module\""), "{html}");
        assert!(!html.contains("<script>"), "no inline script: {html}");
        let assets: Vec<_> = Assets::iter()
            .filter(|f| f.starts_with("assets/"))
            .collect();
        assert!(assets.iter().any(|f| f.ends_with(".js")), "{assets:?}");
        assert!(assets.iter().any(|f| f.ends_with(".css")), "{assets:?}");
    }

    #[test]
    fn api_paths_never_fall_through_to_the_console() {
        assert!(is_api("api/v1/nothing"));
        assert!(is_api("hooks/x/y"));
        assert!(!is_api("automations/x"));
        assert_eq!(
            content_type("assets/a-1.js"),
            "text/javascript; charset=utf-8"
        );
    }
}
