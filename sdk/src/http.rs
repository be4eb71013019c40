//! A small HTTP client. Requests are performed by the Weft host, which
//! checks every destination against the connector's declared hosts and the
//! operator's grant, adds credentials, enforces size caps and timeouts and
//! records the call in the run's history.
//!
//! ```ignore
//! let users: Vec<User> = http::Request::get("https://api.example.com/users")
//!     .query("limit", "50")
//!     .send()?
//!     .error_for_status()?
//!     .json()?;
//! ```

use crate::bindings::weft::connector::http as wit;
use crate::block::BlockError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::time::Duration;

/// Why the host could not complete a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The destination is not allowed for this connector. The message says
    /// which rule refused it.
    Denied(String),
    /// No complete answer within the timeout.
    Timeout,
    /// A body exceeded the host's size cap.
    TooLarge(String),
    /// Connection, DNS or protocol failure.
    Network(String),
    /// The URL could not be built.
    InvalidUrl(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Denied(m) => write!(f, "request denied: {m}"),
            HttpError::Timeout => write!(f, "request timed out"),
            HttpError::TooLarge(m) => write!(f, "too large: {m}"),
            HttpError::Network(m) => write!(f, "network error: {m}"),
            HttpError::InvalidUrl(m) => write!(f, "invalid URL: {m}"),
        }
    }
}

impl std::error::Error for HttpError {}

impl From<HttpError> for BlockError {
    /// Timeouts and network failures are worth retrying; a denied or
    /// oversized request will fail the same way again.
    fn from(err: HttpError) -> Self {
        match err {
            HttpError::Timeout | HttpError::Network(_) => BlockError::transient(err.to_string()),
            HttpError::InvalidUrl(_) => BlockError::invalid_input(err.to_string()),
            HttpError::Denied(_) | HttpError::TooLarge(_) => BlockError::fatal(err.to_string()),
        }
    }
}

/// An outgoing request, built fluently and sent with [`Request::send`].
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    url: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    timeout: Option<Duration>,
}

impl Request {
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Request {
            method: method.into().to_ascii_uppercase(),
            url: url.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            timeout: None,
        }
    }
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }
    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }
    pub fn put(url: impl Into<String>) -> Self {
        Self::new("PUT", url)
    }
    pub fn patch(url: impl Into<String>) -> Self {
        Self::new("PATCH", url)
    }
    pub fn delete(url: impl Into<String>) -> Self {
        Self::new("DELETE", url)
    }

    /// Append a query parameter (percent-encoded for you).
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    /// Add `Idempotency-Key: key` — pass [`Context::idempotency_key`] —
    /// so that a service which deduplicates on it (Stripe, and many APIs
    /// following the IETF `Idempotency-Key` draft) drops the request when
    /// the host repeats this invocation after a crash. Nothing is added
    /// when the request already has that header (the caller's choice wins)
    /// or when `key` is empty (invoked outside a run).
    ///
    /// [`Context::idempotency_key`]: crate::Context::idempotency_key
    pub fn idempotency_key(mut self, key: &str) -> Self {
        if !key.is_empty() && !self.has_header("idempotency-key") {
            self.headers
                .push(("Idempotency-Key".into(), key.to_string()));
        }
        self
    }
    /// Send `value` as a JSON body with `Content-Type: application/json`.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Result<Self, BlockError> {
        self.body = Some(serde_json::to_vec(value)?);
        if !self.has_header("content-type") {
            self.headers
                .push(("content-type".into(), "application/json".into()));
        }
        Ok(self)
    }
    /// Send raw bytes as the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }
    /// Ask for a timeout; the host may lower it to the operator's limit.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// The final URL, with query parameters appended.
    pub fn full_url(&self) -> String {
        if self.query.is_empty() {
            return self.url.clone();
        }
        // Query parameters go before any #fragment.
        let (base, fragment) = match self.url.split_once('#') {
            Some((b, f)) => (b, Some(f)),
            None => (self.url.as_str(), None),
        };
        let mut url = base.to_string();
        let mut sep = if url.contains('?') { '&' } else { '?' };
        for (k, v) in &self.query {
            url.push(sep);
            url.push_str(&percent_encode(k));
            url.push('=');
            url.push_str(&percent_encode(v));
            sep = '&';
        }
        if let Some(f) = fragment {
            url.push('#');
            url.push_str(f);
        }
        url
    }

    /// Send the request through the host.
    pub fn send(self) -> Result<Response, HttpError> {
        let url = self.full_url();
        if !url.starts_with("http://") && !url.starts_with("https://") {
            return Err(HttpError::InvalidUrl(format!(
                "{url:?} must start with http:// or https://"
            )));
        }
        let request = wit::Request {
            method: self.method,
            url,
            headers: self.headers,
            body: self.body,
            timeout_ms: self
                .timeout
                .map(|t| u32::try_from(t.as_millis()).unwrap_or(u32::MAX)),
        };
        let url = request.url.clone();
        match wit::send(&request) {
            Ok(r) => Ok(Response {
                status: r.status,
                headers: r.headers,
                body: r.body,
                url,
            }),
            Err(wit::HttpError::Denied(m)) => Err(HttpError::Denied(m)),
            Err(wit::HttpError::Timeout) => Err(HttpError::Timeout),
            Err(wit::HttpError::TooLarge(m)) => Err(HttpError::TooLarge(m)),
            Err(wit::HttpError::Network(m)) => Err(HttpError::Network(m)),
        }
    }
}

/// The answer to a request.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The URL that was requested (query included); relative `Link`s are
    /// resolved against it.
    pub url: String,
}

impl Response {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header (case-insensitive), in the order received:
    /// APIs send some headers (`Link`, `Set-Cookie`, `Warning`) several
    /// times.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Every `Link` (RFC 8288) of the response, from all its `Link`
    /// headers, with URLs resolved against the request's.
    pub fn links(&self) -> Vec<crate::paging::Link> {
        self.header_all("link")
            .into_iter()
            .flat_map(crate::paging::parse_link_header)
            .map(|mut l| {
                l.url = crate::paging::resolve_url(&self.url, &l.url);
                l
            })
            .collect()
    }

    /// The URL of the `rel="next"` link, if any: the next page of a
    /// `Link`-paginated API (GitHub, GitLab, ...). See
    /// [`crate::paging::collect_pages`].
    pub fn next_link(&self) -> Option<String> {
        self.links()
            .into_iter()
            .find(|l| l.has_rel("next"))
            .map(|l| l.url)
    }

    /// How long the service asked us to wait (`Retry-After`, RFC 9110
    /// §10.2.3): seconds, or an HTTP date (a date in the past is zero).
    /// `None` when absent or unreadable.
    pub fn retry_after(&self) -> Option<Duration> {
        let value = self.header("retry-after")?.trim();
        if let Ok(secs) = value.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        let at = httpdate::parse_http_date(value).ok()?;
        Some(
            at.duration_since(std::time::SystemTime::now())
                .unwrap_or(Duration::ZERO),
        )
    }
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
    /// The body as UTF-8 text (invalid bytes replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// The body decoded as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, BlockError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            BlockError::fatal(format!(
                "response (status {}) is not the expected JSON: {e}",
                self.status
            ))
        })
    }

    /// Turn an error status into the matching [`BlockError`]: 401/403 →
    /// unauthorized, 404 → not found, 429 → rate limited (honouring
    /// `Retry-After` in seconds or as an HTTP date), 408 and 5xx →
    /// transient, other 4xx → fatal.
    pub fn error_for_status(self) -> Result<Response, BlockError> {
        if self.status < 400 {
            return Ok(self);
        }
        let snippet: String = self.text().chars().take(300).collect();
        let message = format!("HTTP {}: {}", self.status, snippet);
        let details = serde_json::json!({ "status": self.status });
        let err = match self.status {
            401 | 403 => BlockError::unauthorized(message),
            404 => BlockError::not_found(message),
            429 => BlockError::rate_limited(message, self.retry_after()),
            408 | 500..=599 => BlockError::transient(message),
            _ => BlockError::fatal(message),
        };
        Err(err.with_details(details))
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_encoded_and_appended() {
        let r = Request::get("https://a.example/x?y=1")
            .query("q", "a b&c")
            .query("n", "é");
        assert_eq!(r.full_url(), "https://a.example/x?y=1&q=a%20b%26c&n=%C3%A9");
        let r = Request::get("https://a.example/x#top").query("q", "1");
        assert_eq!(r.full_url(), "https://a.example/x?q=1#top");
    }

    #[test]
    fn idempotency_key_is_added_once_and_never_over_the_callers() {
        let r = Request::post("https://a.example/x").idempotency_key("weft-abc");
        assert_eq!(
            r.headers,
            [("Idempotency-Key".to_string(), "weft-abc".to_string())]
        );
        let r = Request::post("https://a.example/x")
            .header("idempotency-key", "mine")
            .idempotency_key("weft-abc");
        assert_eq!(
            r.headers,
            [("idempotency-key".to_string(), "mine".to_string())]
        );
        // Outside a run the key is empty: no header rather than an empty one.
        assert!(
            Request::post("https://a.example/x")
                .idempotency_key("")
                .headers
                .is_empty()
        );
    }

    #[test]
    fn status_codes_map_to_error_kinds() {
        use crate::block::ErrorKind;
        let resp = |status, headers: Vec<(String, String)>| Response {
            status,
            headers,
            body: b"nope".to_vec(),
            url: "https://a.example/x".into(),
        };
        let kind = |r: Response| r.error_for_status().map(|_| ()).unwrap_err().kind;
        assert_eq!(kind(resp(401, vec![])), ErrorKind::Unauthorized);
        assert_eq!(kind(resp(404, vec![])), ErrorKind::NotFound);
        assert_eq!(kind(resp(503, vec![])), ErrorKind::Transient);
        assert_eq!(kind(resp(400, vec![])), ErrorKind::Fatal);
        let limited = resp(429, vec![("Retry-After".into(), "7".into())])
            .error_for_status()
            .unwrap_err();
        assert_eq!(limited.kind, ErrorKind::RateLimited);
        assert_eq!(limited.retry_after, Some(Duration::from_secs(7)));
        assert!(resp(204, vec![]).error_for_status().is_ok());

        // An HTTP date an hour ahead: about an hour; one in the past: zero.
        let later = std::time::SystemTime::now() + Duration::from_secs(3600);
        let dated = resp(
            429,
            vec![("retry-after".into(), httpdate::fmt_http_date(later))],
        )
        .error_for_status()
        .unwrap_err();
        let wait = dated.retry_after.expect("retry-after from a date");
        assert!(wait > Duration::from_secs(3590) && wait <= Duration::from_secs(3600));
        let past = resp(
            503,
            vec![("Retry-After".into(), "Sun, 06 Nov 1994 08:49:37 GMT".into())],
        );
        assert_eq!(past.retry_after(), Some(Duration::ZERO));
        assert_eq!(
            resp(429, vec![("retry-after".into(), "soon".into())]).retry_after(),
            None
        );
    }

    #[test]
    fn all_values_of_a_header_and_links_across_headers() {
        let r = Response {
            status: 200,
            headers: vec![
                (
                    "Link".into(),
                    r#"</items?page=2>; rel="next", <https://b.example/last>; rel="last""#.into(),
                ),
                ("x-other".into(), "1".into()),
                ("link".into(), "<../up>; rel=\"up index\"".into()),
            ],
            body: Vec::new(),
            url: "https://a.example/v1/items?page=1".into(),
        };
        assert_eq!(r.header_all("LINK").len(), 2);
        assert_eq!(
            r.next_link().as_deref(),
            Some("https://a.example/items?page=2")
        );
        let links = r.links();
        assert_eq!(links.len(), 3);
        assert_eq!(links[1].url, "https://b.example/last");
        assert!(links[2].has_rel("index"));
        assert_eq!(links[2].url, "https://a.example/up");
    }
}
