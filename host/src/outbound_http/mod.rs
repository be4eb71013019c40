//! Outbound HTTP for connectors: the only way a component reaches the
//! network. Every request is
//!
//! 1. checked against the hosts the connector declared **and** the
//!    operator's grant (scheme, host and port; see [`allow_list`]),
//! 2. resolved and refused if it lands on a private, loopback or
//!    link-local address the grant does not name ([`address_policy`]),
//! 3. sent by the host with size caps and a timeout bounded by the block's
//!    own deadline; redirects are followed by hand so each hop goes through
//!    1 and 2 again,
//! 4. recorded for the run's history with credentials redacted ([`redact`]).
//!
//! A request that passes 1 carries the connection's credential, injected
//! by the host ([`crate::credentials`]): the guest never sees it, and every
//! value injected is scrubbed from the responses and errors handed back to
//! the guest and from the recorded calls. An operator may route an origin
//! to another address for staging or tests ([`routes`]); every check above
//! still applies to the URL the connector asked for.

pub mod address_policy;
pub mod allow_list;
pub mod redact;
pub mod routes;

use crate::credentials::{Credential, CredentialError, CredentialSource};
use crate::scrub::{SecretValues, scrub_body, scrub_text};
use address_policy::{AddressDenied, CheckedResolver, DnsOverrides, PermittedPrivate};
use allow_list::{AllowList, HostPattern};
use routes::OriginRoutes;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

/// Limits on one block invocation's outbound HTTP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpLimits {
    /// Largest request body a connector may send.
    pub max_request_bytes: usize,
    /// Largest response body the host will read.
    pub max_response_bytes: usize,
    /// Upper bound on one request's time, connect to last body byte.
    #[serde(with = "crate::limits::duration_ms")]
    pub timeout: Duration,
    /// Redirect hops followed per request.
    pub max_redirects: u32,
    /// Requests (counting redirect hops) per invocation.
    pub max_calls: u32,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_request_bytes: 10 << 20,
            max_response_bytes: 10 << 20,
            timeout: Duration::from_secs(30),
            max_redirects: 5,
            max_calls: 1000,
        }
    }
}

/// How much of each body the history keeps.
const RECORDED_BODY_BYTES: usize = 4096;

/// Headers a connector may not set: they would let it talk to a different
/// virtual host than the one checked, or corrupt framing.
const FORBIDDEN_REQUEST_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
];

/// A request as the connector asked for it.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct InboundResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why the host did not deliver a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpFailure {
    #[error("denied: {0}")]
    Denied(String),
    #[error("timed out")]
    Timeout,
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("network: {0}")]
    Network(String),
}

/// One request (one redirect hop) as the history log shows it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct HttpCall {
    pub method: String,
    /// Redacted: no user info, secret query values replaced.
    pub url: String,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_us: u64,
    pub request_bytes: usize,
    pub response_bytes: usize,
    pub request_headers: Vec<(String, String)>,
    pub response_headers: Vec<(String, String)>,
    /// The first 4 KiB of the bodies, as text. Dropped for censored blocks.
    pub request_body: Option<String>,
    pub response_body: Option<String>,
}

/// Shared across invocations: one reqwest client per distinct set of
/// explicitly granted private addresses (usually just one client), so
/// connection pools are reused but never shared across policies. Also
/// holds the operator's origin routes.
pub struct ClientPool {
    overrides: DnsOverrides,
    routes: OriginRoutes,
    clients: Mutex<HashMap<PermittedPrivate, reqwest::Client>>,
}

/// Bound on distinct policies kept; beyond it the pool starts over.
const MAX_CLIENTS: usize = 64;

impl ClientPool {
    /// The URL a request for `url` connects to under the operator routes.
    pub fn connect_url(&self, url: &Url) -> Url {
        self.routes.connect_url(url).unwrap_or_else(|| url.clone())
    }

    pub fn new(overrides: HashMap<String, Vec<std::net::IpAddr>>) -> Self {
        ClientPool {
            overrides: Arc::new(
                overrides
                    .into_iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v))
                    .collect(),
            ),
            routes: OriginRoutes::default(),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Connect to routed origins' targets (an operator setting; see
    /// [`routes`]).
    pub fn with_routes(mut self, routes: OriginRoutes) -> Self {
        self.routes = routes;
        self
    }

    fn client(&self, permitted: &PermittedPrivate) -> Result<reqwest::Client, HttpFailure> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(permitted) {
            return Ok(c.clone());
        }
        if clients.len() >= MAX_CLIENTS {
            clients.clear();
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("weft/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(CheckedResolver {
                permitted: permitted.clone(),
                overrides: self.overrides.clone(),
            }))
            .build()
            .map_err(|e| HttpFailure::Network(format!("could not build HTTP client: {e}")))?;
        clients.insert(permitted.clone(), client.clone());
        Ok(client)
    }
}

/// What one invocation may reach, and what it did.
pub struct OutboundHttp {
    pool: Arc<ClientPool>,
    connector_id: String,
    declared: Vec<HostPattern>,
    grant: AllowList,
    permitted: PermittedPrivate,
    limits: HttpLimits,
    deadline: Instant,
    calls_made: u32,
    /// Every request and hop, in order.
    pub calls: Vec<HttpCall>,
    /// Where the connection's credential comes from, if it has one.
    credentials: Option<Arc<dyn CredentialSource>>,
    /// The credential obtained for this invocation (or why there is none),
    /// asked for at the first request that passes the check.
    credential: Option<Result<Credential, CredentialError>>,
    /// Whether the one refresh per invocation after a 401 was used.
    refreshed: bool,
    /// Every secret value put on the wire so far.
    secrets: SecretValues,
    /// The first credential problem, reported as the invocation's error.
    credential_error: Option<CredentialError>,
}

impl OutboundHttp {
    /// `declared` are the connector's patterns with templates already
    /// filled from the connection (unfillable ones dropped).
    pub fn new(
        pool: Arc<ClientPool>,
        connector_id: String,
        declared: Vec<HostPattern>,
        grant: AllowList,
        limits: HttpLimits,
        deadline: Instant,
    ) -> Self {
        let permitted = PermittedPrivate(grant.named_ips().into_iter().collect());
        OutboundHttp {
            pool,
            connector_id,
            declared,
            grant,
            permitted,
            limits,
            deadline,
            calls_made: 0,
            calls: Vec::new(),
            credentials: None,
            credential: None,
            refreshed: false,
            secrets: SecretValues::default(),
            credential_error: None,
        }
    }

    /// Inject the credential from `source` into every request that passes
    /// the check.
    pub fn with_credentials(mut self, source: Option<Arc<dyn CredentialSource>>) -> Self {
        self.credentials = source;
        self
    }

    /// Every secret value put on the wire so far, for scrubbing what the
    /// invocation leaves behind (its output, errors and logs).
    pub fn secrets(&self) -> &SecretValues {
        &self.secrets
    }

    /// The first credential problem of the invocation (a failed
    /// `current()`, or a failed refresh after a 401), with any injected
    /// secret scrubbed from its message.
    pub fn take_credential_error(&mut self) -> Option<CredentialError> {
        let mut error = self.credential_error.take()?;
        error.message = scrub_text(&error.message, &self.secrets).into_owned();
        Some(error)
    }

    fn remember(&mut self, error: CredentialError) {
        if self.credential_error.is_none() {
            self.credential_error = Some(error);
        }
    }

    /// Make `credential` the one to send, and learn its secret values.
    fn adopt(&mut self, credential: Result<Credential, CredentialError>) {
        if let Ok(c) = &credential {
            for value in c.secret_values() {
                self.secrets.add(&value);
            }
        }
        self.credential = Some(credential);
    }

    /// The credential for this invocation, asked for once.
    async fn credential(&mut self) -> Result<Credential, CredentialError> {
        let Some(source) = self.credentials.clone() else {
            return Ok(Credential::None);
        };
        match &self.credential {
            Some(known) => known.clone(),
            None => {
                let fetched = source.current().await;
                self.adopt(fetched.clone());
                fetched
            }
        }
    }

    /// Check a destination against declaration, grant and the literal-IP
    /// address policy (names are checked again at resolution).
    pub fn check(&self, url: &Url) -> Result<(), HttpFailure> {
        let origin = url.origin().ascii_serialization();
        if !matches!(url.scheme(), "http" | "https") {
            return Err(HttpFailure::Denied(format!(
                "{origin}: only http and https are allowed"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(HttpFailure::Denied(
                "credentials in URLs are not allowed; use a connection".into(),
            ));
        }
        if !self.declared.iter().any(|p| p.matches(url)) {
            let declared: Vec<String> = self.declared.iter().map(|p| p.to_string()).collect();
            return Err(HttpFailure::Denied(format!(
                "{origin} is not among the hosts connector {:?} declared ({})",
                self.connector_id,
                declared.join(", ")
            )));
        }
        if !self.grant.allows(url) {
            let granted: Vec<String> = self.grant.0.iter().map(|p| p.to_string()).collect();
            return Err(HttpFailure::Denied(format!(
                "{origin} is not in the operator's grant for connector {:?} (granted: {}); grant it with `weft connector grant {} --allow {origin}` on a server (or PUT /api/v1/connectors/{}/grants), or `--allow {}={origin}` for `weft run` and `weft serve`",
                self.connector_id,
                if granted.is_empty() {
                    "nothing".to_string()
                } else {
                    granted.join(", ")
                },
                self.connector_id,
                self.connector_id,
                self.connector_id,
            )));
        }
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal
            && !self.permitted.permits(ip)
        {
            return Err(HttpFailure::Denied(format!(
                "{ip} is a private, loopback or link-local address; the grant must name it explicitly"
            )));
        }
        Ok(())
    }

    /// Perform a request for the guest, following redirects hop by hop.
    /// What comes back holds no injected secret.
    pub async fn send(&mut self, req: OutboundRequest) -> Result<InboundResponse, HttpFailure> {
        // Responses are scrubbed hop by hop; failures here.
        self.send_hops(req).await.map_err(|failure| {
            let scrub = |m: String| scrub_text(&m, &self.secrets).into_owned();
            match failure {
                HttpFailure::Denied(m) => HttpFailure::Denied(scrub(m)),
                HttpFailure::TooLarge(m) => HttpFailure::TooLarge(scrub(m)),
                HttpFailure::Network(m) => HttpFailure::Network(scrub(m)),
                HttpFailure::Timeout => HttpFailure::Timeout,
            }
        })
    }

    async fn send_hops(&mut self, req: OutboundRequest) -> Result<InboundResponse, HttpFailure> {
        let mut url = Url::parse(&req.url)
            .map_err(|e| HttpFailure::Denied(format!("{:?} is not a valid URL: {e}", req.url)))?;
        let mut method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| HttpFailure::Network(format!("{:?} is not an HTTP method", req.method)))?;
        let mut headers = Vec::with_capacity(req.headers.len());
        for (name, value) in req.headers {
            if FORBIDDEN_REQUEST_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                continue;
            }
            headers.push((name, value));
        }
        let mut body = req.body;
        if let Some(b) = &body
            && b.len() > self.limits.max_request_bytes
        {
            let failure = HttpFailure::TooLarge(format!(
                "request body is {} bytes; the limit is {}",
                b.len(),
                self.limits.max_request_bytes
            ));
            self.record(
                &method,
                &url,
                &headers,
                body.as_deref(),
                Duration::ZERO,
                Err(&failure),
            );
            return Err(failure);
        }
        let requested = req
            .timeout
            .unwrap_or(self.limits.timeout)
            .min(self.limits.timeout);

        // Like browsers and curl, the credential goes only to the origin
        // the block asked for: a redirect elsewhere (even to another
        // granted host) is followed without it.
        let first_origin = url.origin();
        for hop in 0..=self.limits.max_redirects {
            if let Err(failure) = self.check(&url) {
                self.record(
                    &method,
                    &url,
                    &headers,
                    body.as_deref(),
                    Duration::ZERO,
                    Err(&failure),
                );
                return Err(failure);
            }
            let credential = match self.credential().await {
                Ok(_) if url.origin() != first_origin => Credential::None,
                Ok(c) => c,
                Err(e) => {
                    let failure = HttpFailure::Denied(format!(
                        "the connection's credentials are not available: {}",
                        e.message
                    ));
                    self.remember(e);
                    self.record(
                        &method,
                        &url,
                        &headers,
                        body.as_deref(),
                        Duration::ZERO,
                        Err(&failure),
                    );
                    return Err(failure);
                }
            };
            let (mut resp, mut location) = self
                .attempt(&method, &url, &headers, &body, &credential, requested)
                .await?;
            if resp.status == 401 && !credential.is_none() && !self.refreshed {
                self.refreshed = true;
                if let Some(source) = self.credentials.clone() {
                    match source.refresh_after_unauthorized().await {
                        Ok(Some(fresh)) => {
                            self.adopt(Ok(fresh.clone()));
                            (resp, location) = self
                                .attempt(&method, &url, &headers, &body, &fresh, requested)
                                .await?;
                        }
                        Ok(None) => {}
                        // The guest gets the 401; the invocation reports this.
                        Err(e) => self.remember(e),
                    }
                }
            }

            match (resp.status, location) {
                (301 | 302 | 303 | 307 | 308, Some(location))
                    if hop < self.limits.max_redirects =>
                {
                    url = url.join(&location).map_err(|e| {
                        HttpFailure::Network(format!(
                            "redirect to invalid location {location:?}: {e}"
                        ))
                    })?;
                    if url.origin() != first_origin {
                        url = self.leave_origin(url)?;
                    }
                    // 303, and 301/302 after a POST, become GET without a body,
                    // as browsers and curl do.
                    if resp.status == 303
                        || (matches!(resp.status, 301 | 302) && method == reqwest::Method::POST)
                    {
                        method = reqwest::Method::GET;
                        body = None;
                    }
                }
                (301 | 302 | 303 | 307 | 308, Some(_)) => {
                    return Err(HttpFailure::Network(format!(
                        "stopped after {} redirects",
                        self.limits.max_redirects
                    )));
                }
                _ => return Ok(resp),
            }
        }
        Err(HttpFailure::Network("redirect loop".into()))
    }

    /// A redirect target on another origin, without what the host injected:
    /// servers often copy the query into the redirect (`$request_uri`), so
    /// an API key sent as a query parameter would follow it. The
    /// credential's own parameter and any parameter holding an injected
    /// value (in any spelling) are dropped; a secret anywhere else in the
    /// URL (path, fragment) stops the redirect rather than send it.
    fn leave_origin(&self, mut url: Url) -> Result<Url, HttpFailure> {
        if self.secrets.is_empty() {
            return Ok(url);
        }
        let holds_secret =
            |text: &str| matches!(scrub_text(text, &self.secrets), std::borrow::Cow::Owned(_));
        let injected_name = match &self.credential {
            Some(Ok(Credential::ApiKeyQuery { name, .. })) => Some(name.as_str()),
            _ => None,
        };
        if url.query().is_some() {
            let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
            let kept: Vec<&(String, String)> = pairs
                .iter()
                .filter(|(k, v)| {
                    Some(k.as_str()) != injected_name && !holds_secret(k) && !holds_secret(v)
                })
                .collect();
            if kept.len() != pairs.len() {
                if kept.is_empty() {
                    url.set_query(None);
                } else {
                    url.query_pairs_mut().clear().extend_pairs(kept);
                }
            }
        }
        if holds_secret(url.as_str()) {
            return Err(HttpFailure::Denied(format!(
                "the redirect to {} would carry the connection's credential in its URL; it was not followed",
                url.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }

    /// Send one hop (already checked) with `credential` applied, counting
    /// it against `max_calls` and recording it. Returns the response with
    /// injected secrets scrubbed, and its unscrubbed `Location`.
    async fn attempt(
        &mut self,
        method: &reqwest::Method,
        url: &Url,
        headers: &[(String, String)],
        body: &Option<Vec<u8>>,
        credential: &Credential,
        requested: Duration,
    ) -> Result<(InboundResponse, Option<String>), HttpFailure> {
        if self.calls_made >= self.limits.max_calls {
            return Err(HttpFailure::Denied(format!(
                "this block already made {} HTTP requests, its limit",
                self.limits.max_calls
            )));
        }
        self.calls_made += 1;
        let mut url = url.clone();
        let mut headers = headers.to_vec();
        if !credential.is_none() {
            credential.apply(&mut url, &mut headers);
            // A compressed echo could not be scrubbed.
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case("accept-encoding"));
            headers.push(("Accept-Encoding".into(), "identity".into()));
        }
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let timeout = requested.min(remaining);
        let started = Instant::now();
        let result =
            tokio::time::timeout(timeout, self.one_hop(method, &url, &headers, body.clone()))
                .await
                .unwrap_or(Err(HttpFailure::Timeout));
        let elapsed = started.elapsed();
        match result {
            Ok(resp) => {
                let location = resp
                    .headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("location"))
                    .map(|(_, v)| v.clone());
                let resp = self.scrub_response(resp);
                self.record(method, &url, &headers, body.as_deref(), elapsed, Ok(&resp));
                Ok((resp, location))
            }
            Err(failure) => {
                self.record(
                    method,
                    &url,
                    &headers,
                    body.as_deref(),
                    elapsed,
                    Err(&failure),
                );
                Err(failure)
            }
        }
    }

    /// The response with every injected secret replaced, in headers and
    /// body (an echoing or hostile server may send the credential back).
    fn scrub_response(&self, mut resp: InboundResponse) -> InboundResponse {
        if self.secrets.is_empty() {
            return resp;
        }
        let content_type = header(&resp.headers, "content-type");
        if let std::borrow::Cow::Owned(body) = scrub_body(content_type, &resp.body, &self.secrets) {
            resp.body = body;
            for (name, value) in &mut resp.headers {
                if name.eq_ignore_ascii_case("content-length") {
                    *value = resp.body.len().to_string();
                }
            }
        }
        for (_, value) in &mut resp.headers {
            if let std::borrow::Cow::Owned(clean) = scrub_text(value, &self.secrets) {
                *value = clean;
            }
        }
        resp
    }

    async fn one_hop(
        &self,
        method: &reqwest::Method,
        url: &Url,
        headers: &[(String, String)],
        body: Option<Vec<u8>>,
    ) -> Result<InboundResponse, HttpFailure> {
        let client = self.pool.client(&self.permitted)?;
        // Everything was checked against `url`; an operator's route only
        // changes where the connection goes.
        let target = self.pool.routes.connect_url(url);
        let mut builder = client.request(method.clone(), target.as_ref().unwrap_or(url).clone());
        for (name, value) in headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = body {
            builder = builder.body(body);
        }
        let request = builder
            .build()
            .map_err(|e| HttpFailure::Network(format!("invalid request: {e}")))?;
        let mut resp = client.execute(request).await.map_err(classify)?;
        let cap = self.limits.max_response_bytes;
        if let Some(len) = resp.content_length()
            && len > cap as u64
        {
            return Err(HttpFailure::TooLarge(format!(
                "response declares {len} bytes; the limit is {cap}"
            )));
        }
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > cap {
                return Err(HttpFailure::TooLarge(format!(
                    "response body exceeds the limit of {cap} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(InboundResponse {
            status,
            headers,
            body,
        })
    }

    /// Add one hop to the history, answered or not. Injected secrets are
    /// scrubbed from the request side and the error here; a response comes
    /// already scrubbed.
    fn record(
        &mut self,
        method: &reqwest::Method,
        url: &Url,
        headers: &[(String, String)],
        body: Option<&[u8]>,
        elapsed: Duration,
        outcome: Result<&InboundResponse, &HttpFailure>,
    ) {
        let (status, error, response_bytes, response_headers, response_body) = match outcome {
            Ok(resp) => (
                Some(resp.status),
                None,
                resp.body.len(),
                redact::headers(&resp.headers),
                Some(preview(&resp.body)),
            ),
            Err(failure) => (
                None,
                Some(scrub_text(&failure.to_string(), &self.secrets).into_owned()),
                0,
                Vec::new(),
                None,
            ),
        };
        let mut request_headers = redact::headers(headers);
        for (_, value) in &mut request_headers {
            if let std::borrow::Cow::Owned(clean) = scrub_text(value, &self.secrets) {
                *value = clean;
            }
        }
        let content_type = header(headers, "content-type");
        self.calls.push(HttpCall {
            method: method.to_string(),
            url: scrub_text(&redact::url(url), &self.secrets).into_owned(),
            status,
            error,
            duration_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            request_bytes: body.map_or(0, <[u8]>::len),
            response_bytes,
            request_headers,
            response_headers,
            request_body: body.map(|b| preview(&scrub_body(content_type, b, &self.secrets))),
            response_body,
        });
    }
}

/// The first value of header `name`.
fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn preview(body: &[u8]) -> String {
    if body.len() <= RECORDED_BODY_BYTES {
        return String::from_utf8_lossy(body).into_owned();
    }
    let mut text = String::from_utf8_lossy(&body[..RECORDED_BODY_BYTES]).into_owned();
    text.push_str(&format!("… ({} bytes in all)", body.len()));
    text
}

/// Map a reqwest error to the contract's kinds, recognising our own
/// resolver's refusal anywhere in the source chain.
fn classify(err: reqwest::Error) -> HttpFailure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = source {
        if let Some(denied) = e.downcast_ref::<AddressDenied>() {
            return HttpFailure::Denied(denied.to_string());
        }
        source = e.source();
    }
    if err.is_timeout() {
        return HttpFailure::Timeout;
    }
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(e) = source {
        message.push_str(": ");
        message.push_str(&e.to_string());
        source = e.source();
    }
    HttpFailure::Network(message)
}
