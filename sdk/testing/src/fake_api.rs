//! A fake of the remote API for connector tests: an HTTP/1.1 server on
//! 127.0.0.1 (a free port), one thread per connection, one request per
//! connection (`Connection: close`), every request recorded.
//!
//! ```no_run
//! use serde_json::json;
//! use weft_sdk_test::{FakeApi, Reply};
//!
//! let api = FakeApi::start();
//! // Page 1 links to page 2 with a `Link: <…>; rel="next"` header.
//! let next = api.url("/issues?page=2");
//! api.route("GET", "/issues", move |req| match req.query("page") {
//!     Some("2") => Reply::json(200, json!([{"id": 3}])),
//!     _ => Reply::json(200, json!([{"id": 1}, {"id": 2}])).link(&next, "next"),
//! });
//! // Rate limited first, then fine.
//! api.sequence("POST", "/issues", vec![
//!     Reply::json(429, json!({"message": "slow down"})).retry_after_secs(1),
//!     Reply::json(201, json!({"id": 4})),
//! ]);
//! // ... invoke blocks with `.allow(api.origin())` ...
//! assert_eq!(api.requests_to("/issues").len(), 0);
//! ```
//!
//! Requests without a route get `404 {"error": "no route for GET /path"}`.
//! Parsing uses `httparse`; bodies are read by `Content-Length` (the Weft
//! host always sends one). The server stops when the `FakeApi` is dropped.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// Largest request head accepted (request line and headers).
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest request body accepted.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// A connection idle this long is dropped, so a stuck client never keeps
/// a thread forever.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A request the fake API received.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub method: String,
    /// The path without the query, e.g. `/tasks`.
    pub path: String,
    /// The decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first query parameter with this name.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Value::Null` when it is empty or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An answer: status, headers and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// `status` with no body.
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `status` with a JSON body.
    pub fn json(status: u16, body: Value) -> Reply {
        Reply::status(status)
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    /// `status` with a text body.
    pub fn text(status: u16, body: impl Into<String>) -> Reply {
        Reply::status(status)
            .header("content-type", "text/plain; charset=utf-8")
            .body(body.into())
    }

    /// Add a header (repeat a name to send it several times).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Reply {
        self.body = body.into();
        self
    }

    /// A `Link: <url>; rel="rel"` header (RFC 8288), as paginated APIs
    /// send for `next`, `prev`, `last`.
    pub fn link(self, url: &str, rel: &str) -> Reply {
        self.header("link", format!("<{url}>; rel=\"{rel}\""))
    }

    /// `Retry-After: <seconds>`.
    pub fn retry_after_secs(self, seconds: u64) -> Reply {
        self.header("retry-after", seconds.to_string())
    }

    /// `Retry-After: <HTTP date>` (e.g. `Sun, 06 Nov 1994 08:49:37 GMT`).
    pub fn retry_after_date(self, at: SystemTime) -> Reply {
        self.header("retry-after", httpdate::fmt_http_date(at))
    }

    fn write_to(&self, stream: &mut TcpStream) -> std::io::Result<()> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            self.body.len()
        ));
        stream.write_all(head.as_bytes())?;
        stream.write_all(&self.body)?;
        stream.flush()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

type Responder = Box<dyn FnMut(&Received) -> Reply + Send>;

struct Route {
    method: String,
    path: String,
    respond: Responder,
}

#[derive(Default)]
struct Shared {
    routes: Mutex<Vec<Route>>,
    received: Mutex<Vec<Received>>,
}

impl Shared {
    /// The newest route for this method and path answers (so a test can
    /// replace a route), else a 404 naming the request.
    fn answer(&self, req: &Received) -> Reply {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let route = routes
            .iter_mut()
            .rev()
            .find(|r| r.path == req.path && (r.method == "*" || r.method == req.method));
        match route {
            Some(r) => (r.respond)(req),
            None => Reply::json(
                404,
                serde_json::json!({"error": format!("no route for {} {}", req.method, req.path)}),
            ),
        }
    }
}

/// A fake HTTP API on 127.0.0.1. Stops when dropped.
pub struct FakeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl FakeApi {
    /// Listen on 127.0.0.1, on a free port. Panics if no port can be had.
    #[track_caller]
    pub fn start() -> FakeApi {
        let listener = match TcpListener::bind("127.0.0.1:0") {
            Ok(l) => l,
            Err(e) => panic!("fake API: cannot listen on 127.0.0.1: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("fake API: no local address: {e}"),
        };
        let shared = Arc::new(Shared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (shared.clone(), stop.clone());
        let accept = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let s = s.clone();
                std::thread::spawn(move || serve(stream, &s));
            }
        });
        FakeApi {
            addr,
            shared,
            stop,
            accept: Some(accept),
        }
    }

    /// Answer `method` (`GET`, ..., or `*` for any) requests for `path`
    /// (exact, without the query) with `respond(request)`. A later route
    /// for the same method and path replaces it.
    pub fn route(
        &self,
        method: &str,
        path: &str,
        respond: impl FnMut(&Received) -> Reply + Send + 'static,
    ) -> &Self {
        self.routes().push(Route {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            respond: Box::new(respond),
        });
        self
    }

    /// Answer with `replies` in turn; the last one repeats.
    pub fn sequence(&self, method: &str, path: &str, replies: Vec<Reply>) -> &Self {
        let mut next = 0;
        self.route(method, path, move |_req| {
            let reply = replies
                .get(next.min(replies.len().saturating_sub(1)))
                .cloned()
                .unwrap_or_else(|| Reply::status(500));
            next += 1;
            reply
        })
    }

    fn routes(&self) -> std::sync::MutexGuard<'_, Vec<Route>> {
        self.shared.routes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `http://127.0.0.1:PORT`: the base URL to give the block, and the
    /// grant entry for it (`.allow(api.origin())`).
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The same as [`origin`](FakeApi::origin), for inputs named `base_url`.
    pub fn base_url(&self) -> String {
        self.origin()
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Received> {
        self.shared
            .received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The requests for `path`.
    pub fn requests_to(&self, path: &str) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let reply = match read_request(&mut stream) {
        Ok(Some(req)) => {
            let reply = shared.answer(&req);
            shared
                .received
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(req);
            reply
        }
        // The wake-up connection from Drop, or a client that went away.
        Ok(None) => return,
        Err(why) => Reply::text(400, why),
    };
    let _ = reply.write_to(&mut stream);
}

/// Read one request; `Ok(None)` when the peer closed before sending one.
fn read_request(stream: &mut TcpStream) -> Result<Option<Received>, String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err("connection closed inside the request head".into())
            };
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 128];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed
            .parse(&buf)
            .map_err(|e| format!("bad request: {e}"))?
        {
            httparse::Status::Partial if buf.len() > MAX_HEAD_BYTES => {
                return Err("request head too large".into());
            }
            httparse::Status::Partial => continue,
            httparse::Status::Complete(head_len) => {
                let method = parsed.method.unwrap_or_default().to_string();
                let target = parsed.path.unwrap_or_default().to_string();
                let headers: Vec<(String, String)> = parsed
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                let length = headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if length > MAX_BODY_BYTES {
                    return Err(format!("body over {MAX_BODY_BYTES} bytes"));
                }
                let mut body = buf[head_len..].to_vec();
                while body.len() < length {
                    let n = stream.read(&mut chunk).map_err(|e| e.to_string())?;
                    if n == 0 {
                        return Err("connection closed inside the body".into());
                    }
                    body.extend_from_slice(&chunk[..n]);
                }
                body.truncate(length);
                let (path, query) = match target.split_once('?') {
                    Some((p, q)) => (p.to_string(), q),
                    None => (target.clone(), ""),
                };
                let query = form_urlencoded::parse(query.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                return Ok(Some(Received {
                    method,
                    path,
                    query,
                    headers,
                    body,
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A raw HTTP/1.1 exchange with the fake (no client library needed).
    fn exchange(api: &FakeApi, request: &str) -> String {
        let mut s = TcpStream::connect(api.addr).expect("connect");
        s.write_all(request.as_bytes()).expect("write");
        let mut out = String::new();
        s.read_to_string(&mut out).expect("read");
        out
    }

    #[test]
    fn routes_answer_and_requests_are_recorded() {
        let api = FakeApi::start();
        api.route("POST", "/items", |req| {
            Reply::json(201, serde_json::json!({"got": req.json()["name"]}))
                .header("x-a", "1")
                .header("x-a", "2")
        });
        let body = r#"{"name":"a b"}"#;
        let answer = exchange(
            &api,
            &format!(
                "POST /items?q=a%20b&n=1 HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
        );
        assert!(answer.starts_with("HTTP/1.1 201 Created\r\n"), "{answer}");
        assert!(answer.contains("x-a: 1\r\nx-a: 2\r\n"), "{answer}");
        assert!(answer.ends_with(r#"{"got":"a b"}"#), "{answer}");
        let reqs = api.requests_to("/items");
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].query("q"), Some("a b"));
        assert_eq!(reqs[0].header("HOST"), Some("x"));
        assert_eq!(reqs[0].json()["name"], "a b");

        let missing = exchange(&api, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
        assert!(missing.contains("no route for GET /nope"), "{missing}");
    }

    #[test]
    fn sequences_repeat_their_last_reply() {
        let api = FakeApi::start();
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        api.sequence(
            "GET",
            "/x",
            vec![
                Reply::status(429).retry_after_date(at),
                Reply::text(200, "ok").link("http://a/?page=2", "next"),
            ],
        );
        let get = "GET /x HTTP/1.1\r\nHost: x\r\n\r\n";
        let first = exchange(&api, get);
        assert!(
            first.contains("retry-after: Sun, 06 Nov 1994 08:49:37 GMT"),
            "{first}"
        );
        for _ in 0..2 {
            let later = exchange(&api, get);
            assert!(later.starts_with("HTTP/1.1 200"), "{later}");
            assert!(
                later.contains("link: <http://a/?page=2>; rel=\"next\""),
                "{later}"
            );
        }
        assert_eq!(api.requests().len(), 3);
    }
}
