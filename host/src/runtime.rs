//! Loading components and invoking their blocks in a fresh, limited store.

use crate::component_cache;
use crate::contract::Bindings;
use crate::credentials::CredentialSource;
use crate::engine::{self, EngineSettings, EpochTicker};
use crate::error::{InvokeError, LimitExceeded, LoadError};
use crate::guest_log::{LogLine, LogSink};
use crate::guest_text::GuestTextLimits;
use crate::limits::Limits;
use crate::manifest::Manifest;
use crate::outbound_http::allow_list::{AllowList, HostMatch, HostPattern, PatternError};
use crate::outbound_http::routes::OriginRoutes;
use crate::outbound_http::{ClientPool, HttpCall, OutboundHttp};
use crate::sandbox::SandboxState;
use crate::scrub::SecretValues;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use wasmtime::component::Linker;
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

/// Configures and builds a [`Runtime`].
#[derive(Debug, Clone, Default)]
pub struct RuntimeBuilder {
    settings: EngineSettings,
    cache_dir: Option<PathBuf>,
    default_limits: Limits,
    dns_overrides: HashMap<String, Vec<IpAddr>>,
    routes: Vec<(String, String)>,
    /// `None`: [`DEFAULT_LOAD_WALL_CLOCK`].
    load_wall_clock: Option<Duration>,
    guest_text: GuestTextLimits,
}

/// How long loading a component may take in its own code (instantiation
/// and `describe()`) by default.
pub const DEFAULT_LOAD_WALL_CLOCK: Duration = Duration::from_secs(10);

impl RuntimeBuilder {
    /// Longest time a component's own code may take at load (its start
    /// functions and `describe()`), waiting in host calls included
    /// (default [`DEFAULT_LOAD_WALL_CLOCK`], and never more than the
    /// default limits' wall clock). Compilation is not counted.
    pub fn load_wall_clock(mut self, limit: Duration) -> Self {
        self.load_wall_clock = Some(limit);
        self
    }
    /// Caps on a block's error message, error details and log lines
    /// (defaults 8 KiB, 64 KiB and 8 KiB).
    pub fn guest_text_limits(mut self, limits: GuestTextLimits) -> Self {
        self.guest_text = limits;
        self
    }
    /// Keep precompiled components in `dir` so later loads skip compilation.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }
    /// Turn fuel metering off (faster; wall-clock limits still apply).
    pub fn fuel_metering(mut self, on: bool) -> Self {
        self.settings.fuel_metering = on;
        self
    }
    /// Upper bound on any block's linear memory.
    pub fn max_memory_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_memory_bytes = bytes;
        self
    }
    /// How many invocations may run at the same moment (default 256). One
    /// more waits for a free slot until its block's deadline, then fails
    /// with [`InvokeError::Capacity`].
    pub fn max_concurrent_instances(mut self, n: u32) -> Self {
        self.settings.max_instances = n;
        self
    }
    /// Bytes of each pooled linear memory kept resident between
    /// invocations (reset by memset rather than unmapped): higher trades
    /// resident memory for fewer page faults per invocation.
    pub fn keep_resident_bytes(mut self, bytes: usize) -> Self {
        self.settings.keep_resident_bytes = bytes;
        self
    }
    /// Limits for connectors and blocks that have none of their own.
    pub fn default_limits(mut self, limits: Limits) -> Self {
        self.default_limits = limits;
        self
    }
    /// Resolve `host` to `addrs` without DNS (like an /etc/hosts entry).
    /// The address policy still applies to the result.
    pub fn dns_override(mut self, host: &str, addrs: &[IpAddr]) -> Self {
        self.dns_overrides
            .insert(host.to_ascii_lowercase(), addrs.to_vec());
        self
    }

    /// Connect requests for origin `from` (`scheme://host[:port]`, e.g.
    /// `https://slack.com`) to origin `to` instead (e.g.
    /// `http://127.0.0.1:4567`), for staging and tests. An operator
    /// setting, never reachable by a connector: declaration, grant,
    /// credential injection and the recorded calls all use the URL the
    /// connector asked for; only the connection goes to `to`. A `to` given
    /// as an IP literal is connected to as is; a name is resolved under the
    /// address policy like any other. Invalid origins fail [`build`].
    ///
    /// [`build`]: RuntimeBuilder::build
    pub fn route_origin(mut self, from: &str, to: &str) -> Self {
        self.routes.push((from.to_string(), to.to_string()));
        self
    }

    pub fn build(self) -> Result<Runtime, LoadError> {
        let mut routes = OriginRoutes::default();
        for (from, to) in &self.routes {
            routes
                .add(from, to)
                .map_err(|e| LoadError::Config(format!("route_origin: {e}")))?;
        }
        let engine = engine::build(&self.settings)
            .map_err(|e| LoadError::Compile(format!("engine: {e:#}")))?;
        let mut linker = Linker::new(&engine);
        // Components built for a later patch/minor of a contract link
        // against these definitions (wasmtime matches semver-compatibly).
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| LoadError::Link(format!("{e:#}")))?;
        Bindings::add_to_linker(&mut linker).map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let ticker = EpochTicker::start(&engine);
        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                default_limits: self.default_limits,
                slots: Arc::new(Semaphore::new(self.settings.max_instances as usize)),
                max_instances: self.settings.max_instances,
                load_wall_clock: self.load_wall_clock.unwrap_or(DEFAULT_LOAD_WALL_CLOCK),
                guest_text: self.guest_text,
                max_memory_bytes: self.settings.max_memory_bytes,
                fuel_metering: self.settings.fuel_metering,
                http: Arc::new(ClientPool::new(self.dns_overrides).with_routes(routes)),
                cache_dir: self.cache_dir,
                linker,
                engine,
                _ticker: ticker,
            }),
        })
    }
}

/// The engine: compiles components, keeps the linker and the HTTP client
/// pool, and drives wall-clock limits. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    engine: Engine,
    linker: Linker<SandboxState>,
    http: Arc<ClientPool>,
    cache_dir: Option<PathBuf>,
    default_limits: Limits,
    /// One permit per pooled instance: an invocation waits here for a
    /// slot rather than fail inside the allocator.
    slots: Arc<Semaphore>,
    max_instances: u32,
    load_wall_clock: Duration,
    guest_text: GuestTextLimits,
    max_memory_bytes: usize,
    fuel_metering: bool,
    _ticker: EpochTicker,
}

impl Runtime {
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Where a request for `url` is really sent under the operator's
    /// routes ([`RuntimeBuilder::route_origin`]); `url` itself when no
    /// route applies. The server sends its own OAuth2 token requests
    /// through this so they follow the same routes as connector calls.
    pub fn routed_url(&self, url: &url::Url) -> url::Url {
        self.inner.http.connect_url(url)
    }

    /// Load a component from a file.
    pub async fn load_file(&self, path: impl AsRef<Path>) -> Result<Connector, LoadError> {
        let path = path.as_ref();
        let bytes = tokio::fs::read(path).await.map_err(|e| LoadError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        self.load(&bytes).await
    }

    /// Compile (or fetch from the cache), link, and ask the component to
    /// describe itself. The connector starts with no HTTP grant.
    pub async fn load(&self, bytes: &[u8]) -> Result<Connector, LoadError> {
        let engine = self.inner.engine.clone();
        let dir = self.inner.cache_dir.clone();
        let owned = bytes.to_vec();
        // Compilation is CPU-bound for hundreds of milliseconds.
        let (component, hash) = tokio::task::spawn_blocking(move || {
            component_cache::compile(&engine, &owned, dir.as_deref())
        })
        .await
        .map_err(|e| LoadError::Compile(format!("compile task: {e}")))??;
        let bindings = Bindings::pre_instantiate(&self.inner.linker, &component)?;

        let limits = self.inner.default_limits.clone();
        let budget = self.inner.load_wall_clock.min(limits.wall_clock);
        let deadline = Instant::now() + budget;
        let late = || {
            LoadError::Describe(format!(
                "the component did not describe itself within the load wall-clock limit of {} ms (load_wall_clock); describe() must return without waiting",
                millis(budget)
            ))
        };
        let _slot =
            tokio::time::timeout_at(deadline.into(), self.inner.slots.clone().acquire_owned())
                .await
                .map_err(|_| late())?
                .map_err(|_| LoadError::Config("the runtime's instance slots are closed".into()))?;
        let mut store = self.new_store(
            "(loading)",
            Arc::new(HttpPolicy::empty("(loading)")),
            None,
            &limits,
            deadline,
        );
        // The epoch deadline ends a busy guest; this timeout also ends one
        // parked in a host call (a WASI sleep, say), where epochs cannot.
        let call = bindings.describe(&mut store);
        let grace = crate::engine::EPOCH_TICK * 4;
        let raw = tokio::time::timeout(budget + grace, call)
            .await
            .map_err(|_| late())?;
        let raw = raw.map_err(|e| {
            let why = classify_trap(&e, &store, &limits);
            LoadError::Describe(why)
        })?;
        let manifest = raw?;
        let has_templates = manifest
            .hosts
            .iter()
            .any(|h| matches!(h.host, HostMatch::Template(_)));
        let policy = Arc::new(HttpPolicy::new(&manifest, AllowList::default()));
        Ok(Connector {
            inner: Arc::new(ConnectorInner {
                runtime: self.clone(),
                bindings,
                manifest: Arc::new(manifest),
                hash,
                policy,
                has_templates,
                limits: None,
                block_limits: HashMap::new(),
            }),
        })
    }

    fn new_store(
        &self,
        connector: &str,
        policy: Arc<HttpPolicy>,
        credentials: Option<Arc<dyn CredentialSource>>,
        limits: &Limits,
        deadline: Instant,
    ) -> Store<SandboxState> {
        let http = OutboundHttp::new(
            self.inner.http.clone(),
            connector.to_string(),
            policy.declared.clone(),
            policy.grant.clone(),
            limits.http.clone(),
            deadline,
        )
        .with_credentials(credentials);
        let memory = limits.memory_bytes.min(self.inner.max_memory_bytes);
        let mut state = SandboxState::new(http, memory);
        state.logs = LogSink::new(self.inner.guest_text.max_log_line_bytes);
        let mut store = Store::new(&self.inner.engine, state);
        store.limiter(|s| &mut s.memory);
        if self.inner.fuel_metering {
            // Only fails when fuel metering is off, which was just checked.
            let _ = store.set_fuel(limits.fuel);
        }
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |mut ctx| {
            if Instant::now() >= deadline {
                ctx.data_mut().deadline_hit = true;
                return Ok(UpdateDeadline::Interrupt);
            }
            // Hand the thread back to the executor once per tick so a
            // spinning guest never starves other tasks.
            Ok(UpdateDeadline::Yield(1))
        });
        store
    }
}

/// The connector's declared hosts and the operator's grant, precomputed.
pub(crate) struct HttpPolicy {
    declared: Vec<HostPattern>,
    grant: AllowList,
}

impl HttpPolicy {
    fn empty(_connector: &str) -> Self {
        HttpPolicy {
            declared: Vec::new(),
            grant: AllowList::default(),
        }
    }

    fn new(manifest: &Manifest, grant: AllowList) -> Self {
        HttpPolicy {
            declared: manifest.hosts.clone(),
            grant,
        }
    }

    /// Fill `{field}` templates from a connection; unfillable ones drop out.
    fn for_connection(&self, fields: &serde_json::Value) -> Self {
        HttpPolicy {
            declared: self
                .declared
                .iter()
                .filter_map(|p| p.instantiate(fields))
                .collect(),
            grant: self.grant.clone(),
        }
    }
}

/// A loaded component with its grant and limits. Cheap to clone; the
/// `with_*` methods return a reconfigured copy sharing the compiled code.
#[derive(Clone)]
pub struct Connector {
    inner: Arc<ConnectorInner>,
}

#[derive(Clone)]
struct ConnectorInner {
    runtime: Runtime,
    bindings: Bindings,
    manifest: Arc<Manifest>,
    hash: String,
    policy: Arc<HttpPolicy>,
    has_templates: bool,
    limits: Option<Limits>,
    block_limits: HashMap<String, Limits>,
}

/// Who is invoking, for the block's context and the history.
#[derive(Clone)]
pub struct InvokeContext {
    pub run_id: String,
    pub step_id: String,
    pub attempt: u32,
    /// Non-secret connection fields; also fill `{field}` host templates.
    pub connection: serde_json::Value,
    /// Stable per (run, block, loop iteration, attempt), so a connector can
    /// have the target service drop a request repeated after a crash (see
    /// `walker::idempotency`); empty outside a run. Components of contract
    /// 0.1.0 do not receive it.
    pub idempotency_key: String,
    /// A run-level deadline; the invocation ends at the earlier of this and
    /// its own wall-clock limit.
    pub deadline: Option<Instant>,
    /// A run-level fuel budget; the invocation gets the lesser of this and
    /// its own fuel limit.
    pub fuel_budget: Option<u64>,
    /// The connection's secrets: the host adds them to requests that pass
    /// the declared ∩ granted check; the block never sees them (see
    /// [`crate::credentials`]).
    pub credentials: Option<Arc<dyn CredentialSource>>,
}

impl std::fmt::Debug for InvokeContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvokeContext")
            .field("run_id", &self.run_id)
            .field("step_id", &self.step_id)
            .field("attempt", &self.attempt)
            .field("connection", &self.connection)
            .field("idempotency_key", &self.idempotency_key)
            .field("deadline", &self.deadline)
            .field("fuel_budget", &self.fuel_budget)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|_| "[credential source]"),
            )
            .finish()
    }
}

impl Default for InvokeContext {
    fn default() -> Self {
        InvokeContext {
            run_id: String::new(),
            step_id: String::new(),
            attempt: 1,
            connection: serde_json::Value::Object(Default::default()),
            idempotency_key: String::new(),
            deadline: None,
            fuel_budget: None,
            credentials: None,
        }
    }
}

/// Everything one invocation produced, success or not.
#[derive(Debug)]
pub struct InvokeReport {
    pub output: Result<serde_json::Value, InvokeError>,
    pub duration: Duration,
    /// `None` when the runtime does not meter fuel.
    pub fuel_used: Option<u64>,
    pub http_calls: Vec<HttpCall>,
    pub logs: Vec<LogLine>,
    /// The secret values the host injected into this invocation's
    /// requests (never printed). Already scrubbed from everything above;
    /// a run scrubs them from all its later steps too.
    pub secrets: SecretValues,
}

impl Connector {
    pub fn manifest(&self) -> &Manifest {
        &self.inner.manifest
    }

    /// The content hash of the component (also its compilation cache key).
    pub fn component_hash(&self) -> &str {
        &self.inner.hash
    }

    /// The contract version the component targets.
    pub fn contract_version(&self) -> &'static str {
        self.inner.bindings.contract_version()
    }

    /// Grant outbound hosts (`scheme://host[:port]` entries). A request
    /// must match both this grant and the connector's declaration;
    /// private, loopback and link-local addresses need an IP-literal entry.
    pub fn with_grant<S: AsRef<str>>(&self, entries: &[S]) -> Result<Connector, PatternError> {
        let grant = AllowList::parse(entries)?;
        let mut inner = (*self.inner).clone();
        inner.policy = Arc::new(HttpPolicy::new(&inner.manifest, grant));
        Ok(Connector {
            inner: Arc::new(inner),
        })
    }

    /// May the host send this connector's own traffic (e.g. its OAuth2
    /// token requests) to `url`? Only https, to a host the connector
    /// declared (not a template) and the operator granted, and never to a
    /// private or loopback IP literal — the same bar its blocks' requests
    /// meet, so a manifest cannot point the server's secrets elsewhere.
    pub fn may_reach(&self, url: &url::Url) -> bool {
        let policy = &self.inner.policy;
        let literal_private = match url.host() {
            Some(url::Host::Ipv4(ip)) => {
                crate::outbound_http::address_policy::is_non_public(ip.into())
            }
            Some(url::Host::Ipv6(ip)) => {
                crate::outbound_http::address_policy::is_non_public(ip.into())
            }
            _ => false,
        };
        url.scheme() == "https"
            && !literal_private
            && policy.declared.iter().any(|p| p.matches(url))
            && policy.grant.allows(url)
    }

    /// Limits for every block of this connector.
    pub fn with_limits(&self, limits: Limits) -> Connector {
        let mut inner = (*self.inner).clone();
        inner.limits = Some(limits);
        Connector {
            inner: Arc::new(inner),
        }
    }

    /// Limits for every block, or (`None`) the runtime's defaults again;
    /// per-block limits are kept.
    pub fn with_connector_limits(&self, limits: Option<Limits>) -> Connector {
        let mut inner = (*self.inner).clone();
        inner.limits = limits;
        Connector {
            inner: Arc::new(inner),
        }
    }

    /// The operator's grant, as the entries it was parsed from.
    pub fn grant_entries(&self) -> Vec<String> {
        self.inner
            .policy
            .grant
            .0
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// Limits for one block, overriding the connector's.
    pub fn with_block_limits(&self, block: &str, limits: Limits) -> Connector {
        let mut inner = (*self.inner).clone();
        inner.block_limits.insert(block.to_string(), limits);
        Connector {
            inner: Arc::new(inner),
        }
    }

    /// The limits that apply to `block`.
    pub fn limits_for(&self, block: &str) -> &Limits {
        self.inner
            .block_limits
            .get(block)
            .or(self.inner.limits.as_ref())
            .unwrap_or(&self.inner.runtime.inner.default_limits)
    }

    /// Run `block` with `input` in a fresh store.
    pub async fn invoke(
        &self,
        block: &str,
        input: &serde_json::Value,
        ctx: &InvokeContext,
    ) -> InvokeReport {
        let started = Instant::now();
        let connector = self.inner.manifest.id.as_str();
        let fail = |output: InvokeError| InvokeReport {
            output: Err(output),
            duration: started.elapsed(),
            fuel_used: None,
            http_calls: Vec::new(),
            logs: Vec::new(),
            secrets: SecretValues::default(),
        };
        if self.inner.manifest.block(block).is_none() {
            return fail(InvokeError::UnknownBlock {
                connector: connector.to_string(),
                block: block.to_string(),
                available: self
                    .inner
                    .manifest
                    .blocks
                    .iter()
                    .map(|b| b.id.clone())
                    .collect(),
            });
        }
        let mut limits = self.limits_for(block).clone();
        if let Some(budget) = ctx.fuel_budget {
            limits.fuel = limits.fuel.min(budget);
        }
        let mut deadline = started + limits.wall_clock;
        if let Some(run_deadline) = ctx.deadline {
            deadline = deadline.min(run_deadline);
        }
        let policy = if self.inner.has_templates {
            Arc::new(self.inner.policy.for_connection(&ctx.connection))
        } else {
            self.inner.policy.clone()
        };
        let runtime = &self.inner.runtime;
        // Wait for an instance slot within the block's own deadline; held
        // until the store is gone.
        let slots = runtime.inner.slots.clone();
        let _slot = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => match tokio::time::timeout_at(deadline.into(), slots.acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                _ => {
                    return fail(InvokeError::Capacity {
                        connector: connector.to_string(),
                        block: block.to_string(),
                        message: capacity_message(
                            runtime.inner.max_instances,
                            deadline.saturating_duration_since(started),
                        ),
                    });
                }
            },
        };
        let mut store = runtime.new_store(
            connector,
            policy,
            ctx.credentials.clone(),
            &limits,
            deadline,
        );
        let input_text = input.to_string();

        // The epoch callback ends a busy guest at the deadline; this outer
        // timeout also covers a guest parked in a host call.
        let grace = crate::engine::EPOCH_TICK * 4;
        let call = self
            .inner
            .bindings
            .invoke(&mut store, block, &input_text, ctx);
        let remaining = deadline.saturating_duration_since(Instant::now()) + grace;
        let result = tokio::time::timeout(remaining, call).await;

        let fuel_used = if runtime.inner.fuel_metering {
            store
                .get_fuel()
                .ok()
                .map(|left| limits.fuel.saturating_sub(left))
        } else {
            None
        };
        let err = |e: InvokeErrorKind| e.into_error(connector, block);
        let mut output = match result {
            Err(_elapsed) => Err(err(InvokeErrorKind::Limit(LimitExceeded::WallClock {
                limit_ms: millis(deadline.saturating_duration_since(started)),
            }))),
            Ok(Err(trap)) => Err(err(trap_kind(&trap, &store, &limits, started, deadline))),
            Ok(Ok(Err(failure))) => Err(InvokeError::Block {
                connector: connector.to_string(),
                block: block.to_string(),
                failure,
            }),
            Ok(Ok(Ok(text))) if text.len() > limits.output_bytes => {
                Err(err(InvokeErrorKind::Limit(LimitExceeded::Output {
                    limit_bytes: limits.output_bytes,
                    actual_bytes: text.len(),
                })))
            }
            Ok(Ok(Ok(text))) => serde_json::from_str(&text)
                .map_err(|e| err(InvokeErrorKind::InvalidOutput(e.to_string()))),
        };
        let mut state = store.into_data();
        // A connection that could not authenticate explains whatever the
        // block made of it (typically an "unauthorized" error).
        if let Some(e) = state.http.take_credential_error() {
            output = Err(InvokeError::Connection {
                connector: connector.to_string(),
                block: block.to_string(),
                needs_authorization: e.needs_authorization,
                message: e.message,
            });
        }
        if let Err(e) = &mut output {
            runtime.inner.guest_text.cap_error(e);
        }
        let at = state.elapsed_us();
        let mut report = InvokeReport {
            output,
            duration: started.elapsed(),
            fuel_used,
            secrets: state.http.secrets().clone(),
            http_calls: state.http.calls,
            logs: state.logs.finish(at),
        };
        // A guest that decoded an echo the HTTP scrubbing did not know
        // holds the secret whole again: not in what it hands back.
        crate::scrub::record::report(&mut report);
        report
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn capacity_message(instances: u32, waited: Duration) -> String {
    format!(
        "all {instances} instance slots of the runtime (max_concurrent_instances) stayed in use for the {} ms the block could wait; the server is at capacity, the block did not fail",
        millis(waited)
    )
}

enum InvokeErrorKind {
    Limit(LimitExceeded),
    Trap(String),
    InvalidOutput(String),
    /// The pooling allocator had no instance free (another engine user,
    /// or core instances running out before component slots).
    Capacity(String),
}

impl InvokeErrorKind {
    fn into_error(self, connector: &str, block: &str) -> InvokeError {
        let (connector, block) = (connector.to_string(), block.to_string());
        match self {
            InvokeErrorKind::Limit(limit) => InvokeError::Limit {
                connector,
                block,
                limit,
            },
            InvokeErrorKind::Trap(message) => InvokeError::Trap {
                connector,
                block,
                message,
            },
            InvokeErrorKind::InvalidOutput(reason) => InvokeError::InvalidOutput {
                connector,
                block,
                reason,
            },
            InvokeErrorKind::Capacity(message) => InvokeError::Capacity {
                connector,
                block,
                message,
            },
        }
    }
}

/// Work out which limit (if any) a failed call ran into.
fn trap_kind(
    err: &wasmtime::Error,
    store: &Store<SandboxState>,
    limits: &Limits,
    started: Instant,
    deadline: Instant,
) -> InvokeErrorKind {
    let state = store.data();
    if let Some(requested) = state.memory.exceeded {
        return InvokeErrorKind::Limit(LimitExceeded::Memory {
            limit_bytes: state.memory.limit,
            requested_bytes: requested,
        });
    }
    if state.deadline_hit {
        return InvokeErrorKind::Limit(LimitExceeded::WallClock {
            limit_ms: millis(deadline.saturating_duration_since(started)),
        });
    }
    if let Some(full) = err.downcast_ref::<wasmtime::PoolConcurrencyLimitError>() {
        return InvokeErrorKind::Capacity(format!(
            "no instance could be allocated ({full}); the server is at capacity, the block did not fail"
        ));
    }
    match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => InvokeErrorKind::Limit(LimitExceeded::Fuel { limit: limits.fuel }),
        Some(Trap::StackOverflow) => InvokeErrorKind::Limit(LimitExceeded::Stack),
        Some(Trap::Interrupt) => InvokeErrorKind::Limit(LimitExceeded::WallClock {
            limit_ms: millis(deadline.saturating_duration_since(started)),
        }),
        _ => InvokeErrorKind::Trap(describe_crash(err, state)),
    }
}

/// Text for a load-time failure.
fn classify_trap(err: &wasmtime::Error, store: &Store<SandboxState>, limits: &Limits) -> String {
    let now = Instant::now();
    match trap_kind(err, store, limits, now, now) {
        InvokeErrorKind::Limit(l) => l.to_string(),
        InvokeErrorKind::Trap(m)
        | InvokeErrorKind::InvalidOutput(m)
        | InvokeErrorKind::Capacity(m) => m,
    }
}

/// A crash message: the guest's panic text when it printed one, else the
/// trap.
fn describe_crash(err: &wasmtime::Error, state: &SandboxState) -> String {
    let stderr = state.stderr_text();
    let panic_line = stderr
        .lines()
        .skip_while(|l| !l.contains("panicked at"))
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let trap = match err.downcast_ref::<Trap>() {
        Some(Trap::MemoryOutOfBounds) => format!(
            "{} (a block that overflows its own stack, e.g. by runaway recursion, ends this way)",
            Trap::MemoryOutOfBounds
        ),
        Some(t) => t.to_string(),
        None => format!("{err:#}"),
    };
    if panic_line.is_empty() {
        trap
    } else {
        format!("{panic_line} ({trap})")
    }
}
