//! # weft-server — `weft serve`
//!
//! Weft as a server operators run: a JSON REST API under `/api/v1` with
//! users, roles and bearer tokens (owners see their automations and run
//! logs; admins govern every automation and see every run's status, never
//! another user's run log), automations CRUD with optimistic versions,
//! manual runs, and the API-call trigger
//! (`POST /api/v1/automations/{id}/actions/execute` with
//! `X-Execution-Token`). Errors are `{"error": {"code", "message"}}` with
//! stable codes.

mod api;
mod openapi;
pub use api::Created;
pub mod audit;
pub mod automations;
pub mod chaining;
pub mod connections;
mod connections_api;
pub mod connectors;
pub mod error;
pub mod error_layer;
mod global_slot;
pub mod metrics;
pub mod paging;
pub mod preload;
pub mod queue;
pub mod rate_limit;
pub mod recovery;
pub mod replay;
pub mod retention;
pub mod rotation;
pub mod scheduler;
#[cfg(test)]
mod store_faults;
pub mod users;

use automations::{Automations, StoredAutomation};
use axum::Router;
use axum::routing::{get, post};
use error::ApiError;
use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use users::{Role, Users};
use weft_host::Weft;
use weft_host::automation::Plan;

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// How long a synchronous execute call waits for the output.
    pub execute_timeout: Duration,
    /// The first admin's token, if given (else one is generated and printed).
    pub admin_token: Option<String>,
    /// Runs of one automation at the same time; more wait in the queue.
    pub per_automation_concurrency: usize,
    /// Runs at the same time across all automations.
    pub global_concurrency: usize,
    /// Largest webhook body accepted.
    pub max_webhook_bytes: usize,
    /// Triggers per minute per automation unless the automation sets its own.
    pub rate_limit_per_minute: u32,
    /// Runs one automation may have waiting to start; more are refused
    /// with 429 `queue_full` rather than held without bound.
    pub max_queued_per_automation: usize,
    /// Shortest allowed gap between a schedule's runs.
    pub min_schedule_interval: Duration,
    /// What run history is kept.
    pub retention: retention::Retention,
    /// The server's address as browsers reach it (for the OAuth2 redirect
    /// URI), e.g. `https://weft.example.com`; without it, the listen address.
    pub public_url: Option<String>,
    /// Components directory, trust policy, component size limit.
    pub connectors: connectors::ConnectorSettings,
    /// The component files the engine was built with (for listings).
    pub placed_components: Vec<connectors::PlacedFile>,
    /// Crashes (stops not in order) a queued run may be in progress at before it
    /// is failed rather than resumed (see [`recovery`]).
    pub max_run_interruptions: u32,
    /// Orderly stops (SIGTERM, Ctrl-C) a queued run may be cut short by
    /// before it is failed rather than resumed (see [`recovery`]).
    pub max_run_resumes: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            execute_timeout: Duration::from_secs(55),
            admin_token: None,
            per_automation_concurrency: 1,
            global_concurrency: 16,
            max_webhook_bytes: 1 << 20,
            rate_limit_per_minute: 6000,
            max_queued_per_automation: 1000,
            min_schedule_interval: Duration::from_secs(30),
            retention: retention::Retention::default(),
            public_url: None,
            connectors: connectors::ConnectorSettings::default(),
            placed_components: Vec::new(),
            max_run_interruptions: recovery::DEFAULT_MAX_RUN_INTERRUPTIONS,
            max_run_resumes: recovery::DEFAULT_MAX_RUN_RESUMES,
        }
    }
}

/// The server's own store (users, automations, connections, schedule
/// marks), opened before the engine because the engine needs the
/// connections to resolve connector blocks' `connection` references.
pub struct ServerStore {
    db: sled::Db,
    pub connections: Arc<connections::source::ConnectionService>,
    /// Give to the engine with `WeftBuilder::automation_caller`; the state
    /// attaches itself when the queue starts.
    pub caller: Arc<chaining::ServerCaller>,
    /// `components` beside the secret key (the data directory), unless
    /// the settings name another.
    components_dir: std::path::PathBuf,
}

impl ServerStore {
    /// Move API installs that earlier builds kept directly in the
    /// components directory `components` into its `installed/`
    /// subdirectory, where only their records load them. Returns how many
    /// moved; a file that cannot be moved is logged and left.
    pub fn move_root_installs(&self, components: &std::path::Path) -> usize {
        connectors::move_root_installs(&self.db, components)
    }
}

/// Why the server store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}")]
    Store(#[from] sled::Error),
    #[error("secret key: {0}")]
    Key(#[from] connections::keyring::KeyError),
}

impl ServerStore {
    /// Open the store in `dir`; the secret key comes from the environment
    /// or `key_dir/secret.key` (created on first start).
    pub fn open(dir: &Path, key_dir: &Path) -> Result<Self, OpenError> {
        let key_missing = !connections::keyring::Keyring::from_env()
            && !key_dir.join(connections::keyring::KEY_FILE).exists();
        if key_missing && dir.exists() {
            // A new key would open none of the stored secrets: refuse rather
            // than let every connection fail later (a restored backup
            // without its key file, or the wrong --data-dir).
            let db = sled::Config::new().path(dir).open()?;
            if !db.open_tree("connections")?.is_empty() {
                return Err(OpenError::Key(connections::keyring::KeyError::Io(format!(
                    "{} holds encrypted connections but {} is missing and {} is not set; restore the key (or set {}) and start again",
                    dir.display(),
                    key_dir.join(connections::keyring::KEY_FILE).display(),
                    connections::keyring::KEY_ENV,
                    connections::keyring::KEY_ENV,
                ))));
            }
        }
        let keyring = connections::keyring::Keyring::load(key_dir)?;
        // Users, automations and connections are small; sled's default
        // 1 GiB cache would only hold the server's memory hostage.
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(2 << 20)
            .open()?;
        let connections = connections::Connections::open(&db, Arc::new(keyring))?;
        Ok(ServerStore {
            db,
            connections: connections::source::ConnectionService::new(connections),
            caller: Arc::default(),
            components_dir: key_dir.join("components"),
        })
    }
}

pub struct AppState {
    pub weft: Weft,
    caller: Arc<chaining::ServerCaller>,
    pub connections: Arc<connections::source::ConnectionService>,
    /// OAuth2 authorizations waiting for their callback, by state.
    pub(crate) oauth_pending: sled::Tree,
    /// Accepted webhook signatures, until they expire.
    pub(crate) webhook_signatures: replay::ReplayGuard,
    /// Starts of queued runs, durable (see [`recovery`]).
    pub(crate) run_starts: recovery::RunStarts,
    pub users: Users,
    pub automations: Automations,
    /// Installed connectors' origins, stored grants, installs and removals.
    pub connectors: connectors::Connectors,
    pub audit: audit::AuditLog,
    pub config: ServerConfig,
    pub(crate) rate_limits: rate_limit::RateLimiter,
    /// Last fire time per scheduled automation (ms, big-endian).
    pub(crate) schedule_marks: sled::Tree,
    pub metrics: metrics::Metrics,
    /// Set by [`AppState::start_queue`].
    queue: std::sync::OnceLock<queue::Queue>,
    /// Validated plans by automation id, valid for one stored automation
    /// (creation time, version and owner: an id deleted and created again,
    /// by anyone, starts over at version 1 and must not get the old plan)
    /// and one state of the connectors (their generation).
    plans: RwLock<HashMap<String, (PlanKey, Arc<Plan>)>>,
}

impl AppState {
    /// Open the server's store in `dir` (separate from run history), with
    /// the secret key from the environment or `dir/secret.key`. An engine
    /// that should resolve connections needs [`ServerStore`] first and
    /// [`AppState::with_store`].
    pub fn open(weft: Weft, dir: &Path, config: ServerConfig) -> Result<Self, OpenError> {
        let store = ServerStore::open(dir, dir)?;
        Ok(Self::with_store(weft, store, config)?)
    }

    /// The state over an opened [`ServerStore`].
    pub fn with_store(
        weft: Weft,
        store: ServerStore,
        config: ServerConfig,
    ) -> Result<Self, sled::Error> {
        let db = store.db;
        store.connections.attach(&weft);
        weft.set_output_seal(store.connections.connections.shared_keyring());
        let connectors =
            connectors::Connectors::open(&db, store.components_dir, config.connectors.clone())?;
        connectors.start(&weft, &config.placed_components)?;
        Ok(AppState {
            connectors,
            audit: audit::AuditLog::open(&db)?,
            caller: store.caller,
            connections: store.connections,
            oauth_pending: db.open_tree("oauth_pending")?,
            webhook_signatures: replay::ReplayGuard::open(&db)?,
            run_starts: recovery::RunStarts::open(&db)?,
            weft,
            users: Users::open(&db)?,
            automations: Automations::open(&db)?,
            schedule_marks: db.open_tree("schedule_marks")?,
            config,
            rate_limits: rate_limit::RateLimiter::default(),
            metrics: metrics::Metrics::default(),
            queue: std::sync::OnceLock::new(),
            plans: RwLock::new(HashMap::new()),
        })
    }

    /// Start the run queue and recover what a previous process left
    /// queued or running. Returns how many runs were recovered.
    pub fn start_queue(self: &Arc<Self>) -> Result<usize, weft_host::store::StoreError> {
        self.caller.attach(Arc::downgrade(self));
        let q = queue::Queue::start(
            Arc::downgrade(self),
            self.config.per_automation_concurrency,
            self.config.global_concurrency,
            self.config.max_queued_per_automation,
        );
        let recovered = q.recover(
            self.weft.store(),
            &self.run_starts,
            (
                self.config.max_run_interruptions,
                self.config.max_run_resumes,
            ),
            |id| {
                self.automations
                    .get(id)
                    .ok()
                    .flatten()
                    .and_then(|a| a.concurrency_limit())
            },
        )?;
        scheduler::start(Arc::downgrade(self));
        retention::start(
            Arc::downgrade(self),
            self.config.retention,
            Duration::from_secs(3600),
        );
        self.metrics.queue_depth.fetch_add(
            i64::try_from(recovered).unwrap_or(i64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
        let _ = self.queue.set(q);
        Ok(recovered)
    }

    /// Base URL for links the server hands out (no trailing slash).
    pub fn public_url(&self) -> String {
        self.config
            .public_url
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:8080".into())
            .trim_end_matches('/')
            .to_string()
    }

    pub(crate) fn queue(&self) -> Result<&queue::Queue, ApiError> {
        self.queue
            .get()
            .ok_or_else(|| ApiError::internal("the run queue is not started"))
    }

    /// Store a queued run of `automation` durably and schedule it.
    pub(crate) async fn enqueue(
        &self,
        record: &weft_host::RunRecord,
        automation: &StoredAutomation,
    ) -> Result<(), ApiError> {
        let queue = self.queue()?;
        admit(queue, automation)?;
        if let Err(e) = queue
            .enqueue(self.weft.store(), record, automation.concurrency_limit())
            .await
        {
            queue.release(&automation.id);
            return Err(e.into());
        }
        self.metrics
            .queue_depth
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Queue a synchronous run of `automation` and return where its result
    /// will arrive.
    pub(crate) fn enqueue_sync(
        &self,
        record: weft_host::RunRecord,
        plan: Arc<Plan>,
        automation: &StoredAutomation,
    ) -> Result<queue::Waiter, ApiError> {
        let queue = self.queue()?;
        admit(queue, automation)?;
        let waiter = queue.enqueue_sync(record, plan, automation.concurrency_limit());
        self.metrics
            .queue_depth
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(waiter)
    }

    /// On a store with no users, create `admin` and return its token (the
    /// configured one, or a new one to print once).
    pub fn bootstrap_admin(&self) -> Result<Option<String>, sled::Error> {
        if !self.users.is_empty() {
            return Ok(None);
        }
        self.users
            .create("admin", Role::Admin, self.config.admin_token.clone())
    }

    /// The server is shutting down in order: no run starts any more, and
    /// the runs in progress did not bring it down, so they resume at the
    /// next start whatever `max_run_interruptions` says (within
    /// `max_run_resumes`). Returns how many.
    pub fn stopped_in_order(&self) -> Result<usize, sled::Error> {
        self.run_starts.stopped_in_order()
    }

    /// The plan for the stored automation, validated once per version.
    pub(crate) fn plan(&self, a: &StoredAutomation) -> Result<Arc<Plan>, ApiError> {
        // Read before validating: a connector change during validation
        // then makes this plan's key stale at once.
        let generation = self.weft.connectors_generation();
        if let Ok(plans) = self.plans.read()
            && let Some((cached, plan)) = plans.get(&a.id)
            && cached.matches(a, generation)
        {
            return Ok(plan.clone());
        }
        // Runs record the stored version, which the server keeps beside
        // the document rather than in it.
        let mut document = a.document.clone();
        document["version"] = serde_json::Value::from(a.version);
        let plan = Arc::new(self.weft.validate(&document).map_err(|errors| {
            ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_automation",
                format!(
                    "the stored automation no longer validates (a connector changed?): {errors}"
                ),
            )
        })?);
        if let Ok(mut plans) = self.plans.write() {
            plans.insert(a.id.clone(), (PlanKey::of(a, generation), plan.clone()));
        }
        Ok(plan)
    }
}

/// Admit one more waiting run of `automation`, or say why not.
fn admit(queue: &queue::Queue, automation: &StoredAutomation) -> Result<(), ApiError> {
    if queue.try_admit(&automation.id) {
        return Ok(());
    }
    Err(ApiError::new(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        "queue_full",
        format!(
            "automation {:?} already has the most runs waiting that this server holds; retry shortly, or raise its concurrency",
            automation.id
        ),
    )
    .retry_after(1))
}

/// What a cached plan is valid for: one stored version of the automation,
/// validated against one state of the installed connectors.
struct PlanKey {
    created_at: i64,
    version: u64,
    owner: String,
    /// [`Weft::connectors_generation`] when validation began.
    connectors: u64,
}

impl PlanKey {
    /// Compared field by field: the hot path allocates nothing.
    fn matches(&self, a: &StoredAutomation, connectors: u64) -> bool {
        self.created_at == a.created_at
            && self.version == a.version
            && self.owner == a.owner
            && self.connectors == connectors
    }

    fn of(a: &StoredAutomation, connectors: u64) -> Self {
        PlanKey {
            created_at: a.created_at,
            version: a.version,
            owner: a.owner.clone(),
            connectors,
        }
    }
}

impl AppState {
    /// Forget a deleted automation's plan.
    pub(crate) fn forget_plan(&self, id: &str) {
        if let Ok(mut plans) = self.plans.write() {
            plans.remove(id);
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// All routes.
pub fn router(state: Arc<AppState>) -> Router {
    let limits = error_layer::BodyLimits {
        webhook: state.config.max_webhook_bytes,
        component: state.connectors.max_component_bytes(),
        api: error_layer::API_BODY_LIMIT,
    };
    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/users", post(api::create_user))
        .route(
            "/api/v1/automations",
            get(api::list_automations).post(api::create_automation),
        )
        .route(
            "/api/v1/automations/{id}",
            get(api::get_automation)
                .put(api::update_automation)
                .patch(api::patch_automation)
                .delete(api::delete_automation),
        )
        .route("/api/v1/automations/import", post(api::import_automation))
        .route("/api/v1/automations/{id}/runs", post(api::start_run))
        .route(
            "/api/v1/automations/{id}/actions/execute",
            post(api::execute),
        )
        .route(
            "/api/v1/automations/{id}/actions/rotate-webhook-secret",
            post(api::rotate_webhook_secret),
        )
        .route(
            "/api/v1/automations/{id}/export",
            get(api::export_automation),
        )
        .route(
            "/api/v1/connections",
            get(connections_api::list).post(connections_api::create),
        )
        .route(
            "/api/v1/connections/{id}",
            get(connections_api::get)
                .patch(connections_api::update)
                .delete(connections_api::delete),
        )
        .route(
            "/api/v1/connections/{id}/actions/authorize",
            post(connections_api::authorize),
        )
        .route("/oauth/callback", get(connections_api::callback))
        .route(
            "/api/v1/connectors",
            get(api::list_connectors)
                .post(api::install_connector)
                .layer(axum::extract::DefaultBodyLimit::max(limits.component)),
        )
        .route("/api/v1/connectors/{id}", get(api::get_connector))
        .route(
            "/api/v1/connectors/{id}/versions/{version}",
            axum::routing::delete(api::remove_connector_version),
        )
        .route(
            "/api/v1/connectors/{id}/grants",
            axum::routing::put(api::put_connector_grants),
        )
        .route("/api/v1/audit", get(api::list_audit))
        .route("/api/v1/runs", get(api::list_runs))
        .route("/api/v1/runs/{id}", get(api::get_run))
        .route("/api/v1/runs/{id}/stop", post(api::stop_run))
        .route(
            "/hooks/{id}/{secret}",
            post(api::webhook).layer(axum::extract::DefaultBodyLimit::max(
                state.config.max_webhook_bytes,
            )),
        )
        .route(
            "/hooks/{id}",
            post(api::signed_webhook).layer(axum::extract::DefaultBodyLimit::max(
                state.config.max_webhook_bytes,
            )),
        )
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(limits.api))
        .layer(axum::middleware::from_fn_with_state(
            limits,
            error_layer::json_errors,
        ))
}

/// Serve until `shutdown` resolves, then finish in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod plan_cache_tests {
    use super::*;
    use serde_json::json;

    /// A cached plan is reused while nothing changes, and validated again
    /// once the connectors change (any install, removal or grant).
    #[tokio::test]
    async fn a_cached_plan_is_revalidated_after_the_connectors_change() {
        let dir = tempfile::tempdir().expect("temp dir");
        let weft = Weft::builder()
            .sled(dir.path().join("history"))
            .build()
            .await
            .expect("weft");
        let state = AppState::open(weft, &dir.path().join("server"), ServerConfig::default())
            .expect("state");
        let document = json!({
            "weft": "automation/v1", "id": "cached", "name": "cached",
            "blocks": [
                {"id": "Start", "type": "start"},
                {"id": "Out", "type": "output", "mode": "set", "value": {"ok": true}}
            ],
            "edges": [{"from": "Start", "to": "Out"}]
        });
        let created = api::create(&state, document, "admin").expect("created");
        let stored = created.stored;
        let first = state.plan(&stored).expect("plan");
        let again = state.plan(&stored).expect("plan");
        assert!(Arc::ptr_eq(&first, &again), "reused while nothing changed");
        state
            .weft
            .set_connector_policy("elsewhere", weft_host::ConnectorPolicy::default())
            .expect("policy");
        let after = state.plan(&stored).expect("plan");
        assert!(!Arc::ptr_eq(&first, &after), "validated again");
        let cached = state.plan(&stored).expect("plan");
        assert!(Arc::ptr_eq(&after, &cached), "and cached again");
    }
}
