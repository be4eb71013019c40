//! # weft-server — `weft serve`
//!
//! Weft as a server operators run: a JSON REST API under `/api/v1` with
//! users, roles and bearer tokens (owners see their automations and run
//! logs; admins govern every automation and see every run's status, never
//! another user's run log), automations CRUD with optimistic versions,
//! manual runs, and the API-call trigger
//! (`POST /api/v1/automations/{id}/actions/execute` with
//! `X-Execution-Token`). Errors are `{"error": {"code", "message"}}` with
//! stable codes. The browser console is served from `/` ([`console`]),
//! signed in with passwords and session cookies ([`sessions`]). Every
//! trigger goes through one admission service ([`admission`]) into the
//! durable queue ([`queue`]).

pub mod admission;
mod api;
mod openapi;
pub use api::Created;
pub mod audit;
pub mod automations;
pub mod chaining;
pub mod cluster;
pub mod connection_map;
pub mod connections;
mod connections_api;
pub mod connectors;
pub mod console;
pub mod error;
pub mod error_layer;
mod global_slot;
pub mod kv;
pub mod metrics;
pub mod paging;
pub mod paused_runs;
pub mod plans;
pub mod preload;
pub mod queue;
pub mod rate_limit;
pub mod recovery;
pub mod replay;
pub mod retention;
pub mod rotation;
pub mod scheduler;
pub mod sessions;
#[cfg(test)]
mod store_faults;
pub mod users;

use automations::Automations;
use axum::Router;
use axum::routing::{get, post};
use error::ApiError;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use users::{Role, Users};
use weft_host::Weft;

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
    /// How long a browser session lasts after sign-in.
    pub session_ttl: Duration,
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
            session_ttl: Duration::from_secs(12 * 3600),
        }
    }
}

/// The server's own store (users, automations, connections, schedule
/// marks), opened before the engine because the engine needs the
/// connections to resolve connector blocks' `connection` references.
pub struct ServerStore {
    db: kv::Tables,
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

/// The first admin's credentials, shown once at the first start.
pub struct FirstAdmin {
    /// For scripts: `Authorization: Bearer …`.
    pub token: String,
    /// For the console's sign-in.
    pub password: String,
}

/// Why the server store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}")]
    Store(#[from] crate::kv::KvError),
    #[error("secret key: {0}")]
    Key(#[from] connections::keyring::KeyError),
}

/// Where [`ServerStore::open_on`] keeps the server's tables.
pub enum StoreBackend {
    /// The embedded sled database in this directory (one host).
    Sled(std::path::PathBuf),
    /// The `kv` table of a migrated PostgreSQL database (hosts sharing it).
    Postgres(weft_pg::Database),
}

impl ServerStore {
    /// Open the store in `dir`; the secret key comes from the environment
    /// or `key_dir/secret.key` (created on first start).
    pub fn open(dir: &Path, key_dir: &Path) -> Result<Self, OpenError> {
        Self::open_on(StoreBackend::Sled(dir.to_path_buf()), key_dir)
    }

    /// Open the store on `backend`; the secret key comes from the
    /// environment or `key_dir/secret.key` (created on first start). Hosts
    /// sharing a database must share the key, through `WEFT_SECRET_KEY`.
    pub fn open_on(backend: StoreBackend, key_dir: &Path) -> Result<Self, OpenError> {
        let key_missing = !connections::keyring::Keyring::from_env()
            && !key_dir.join(connections::keyring::KEY_FILE).exists();
        let db = match backend {
            StoreBackend::Sled(dir) => {
                if key_missing && dir.exists() {
                    let db = sled::Config::new()
                        .path(&dir)
                        .open()
                        .map_err(kv::KvError::from)?;
                    refuse_without_key(&kv::Tables::Sled(db), &dir.display().to_string(), key_dir)?;
                }
                // Users, automations and connections are small; sled's
                // default 1 GiB cache would only hold the server's memory
                // hostage.
                kv::Tables::Sled(
                    sled::Config::new()
                        .path(&dir)
                        .cache_capacity(2 << 20)
                        .open()
                        .map_err(kv::KvError::from)?,
                )
            }
            StoreBackend::Postgres(db) => {
                let tables = kv::Tables::Pg(db.clone());
                if key_missing {
                    refuse_without_key(&tables, &format!("the database {}", db.target()), key_dir)?;
                }
                tables
            }
        };
        let keyring = connections::keyring::Keyring::load(key_dir)?;
        let connections = connections::Connections::open(&db, Arc::new(keyring))?;
        Ok(ServerStore {
            db,
            connections: connections::source::ConnectionService::new(connections),
            caller: Arc::default(),
            components_dir: key_dir.join("components"),
        })
    }
}

/// A new key would open none of the stored secrets: refuse rather than
/// let every connection fail later (a restored backup without its key
/// file, the wrong --data-dir, a host not given the shared key).
fn refuse_without_key(tables: &kv::Tables, place: &str, key_dir: &Path) -> Result<(), OpenError> {
    if tables.open_tree("connections")?.is_empty()? {
        return Ok(());
    }
    Err(OpenError::Key(connections::keyring::KeyError::Io(format!(
        "{place} holds encrypted connections but {} is missing and {} is not set; restore the key (or set {}) and start again",
        key_dir.join(connections::keyring::KEY_FILE).display(),
        connections::keyring::KEY_ENV,
        connections::keyring::KEY_ENV,
    ))))
}

pub struct AppState {
    pub weft: Weft,
    caller: Arc<chaining::ServerCaller>,
    pub connections: Arc<connections::source::ConnectionService>,
    /// OAuth2 authorizations waiting for their callback, by state.
    pub(crate) oauth_pending: crate::kv::Tree,
    /// Accepted webhook signatures, until they expire.
    pub(crate) webhook_signatures: replay::ReplayGuard,
    /// Starts of queued runs, durable (see [`recovery`]).
    pub(crate) run_starts: recovery::RunStarts,
    pub users: Users,
    /// Passwords and browser sessions.
    pub sessions: sessions::Sessions,
    /// Sign-in attempts per user name.
    pub(crate) sign_in_limits: rate_limit::RateLimiter,
    pub automations: Automations,
    /// Installed connectors' origins, stored grants, installs and removals.
    pub connectors: connectors::Connectors,
    pub audit: audit::AuditLog,
    pub config: ServerConfig,
    /// Last fire time per scheduled automation (ms, big-endian).
    pub(crate) schedule_marks: crate::kv::Tree,
    pub metrics: Arc<metrics::Metrics>,
    /// The PostgreSQL database holding the tables, when not on sled:
    /// `/healthz` reports whether it answers.
    pub(crate) database: Option<weft_pg::Database>,
    /// Set by [`AppState::start_queue`]: every trigger goes through it.
    admission: std::sync::OnceLock<Arc<admission::Admission>>,
    plans: Arc<plans::PlanCache>,
    /// Alone (sled), or sharing runs with other hosts (PostgreSQL).
    coordination: Arc<cluster::Coordination>,
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
    ) -> Result<Self, crate::kv::KvError> {
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
            users: Users::open(&db)?,
            sessions: sessions::Sessions::open(&db, config.session_ttl)?,
            sign_in_limits: rate_limit::RateLimiter::default(),
            automations: Automations::open(&db)?,
            schedule_marks: db.open_tree("schedule_marks")?,
            config,
            metrics: Arc::default(),
            database: match &db {
                kv::Tables::Pg(database) => Some(database.clone()),
                kv::Tables::Sled(_) => None,
            },
            admission: std::sync::OnceLock::new(),
            plans: Arc::new(plans::PlanCache::new(weft.clone())),
            coordination: Arc::new(cluster::Coordination::Solo),
            weft,
        })
    }

    /// Share runs with the other hosts on `cluster`'s database (see
    /// [`cluster`]); call before [`AppState::start_queue`].
    pub fn with_cluster(mut self, cluster: weft_pg::Cluster) -> Self {
        self.coordination = Arc::new(cluster::Coordination::shared(cluster));
        self
    }

    /// How this host shares runs with others.
    pub fn coordination(&self) -> &cluster::Coordination {
        &self.coordination
    }

    /// Start the run queue (behind the admission service) and recover
    /// what a previous process left queued or running, then the scheduler
    /// and the retention sweep. Returns how many runs were recovered.
    pub fn start_queue(self: &Arc<Self>) -> Result<usize, weft_host::store::StoreError> {
        let runner = Arc::new(admission::Runner {
            weft: self.weft.clone(),
            automations: self.automations.clone(),
            plans: self.plans.clone(),
            starts: self.run_starts.clone(),
            metrics: self.metrics.clone(),
            paused: Default::default(),
            coordination: self.coordination.clone(),
        });
        let admission = Arc::new(admission::Admission::start(
            self.automations.clone(),
            runner,
            &self.config,
        ));
        self.caller.attach(Arc::downgrade(&admission));
        let recovered = admission.recover((
            self.config.max_run_interruptions,
            self.config.max_run_resumes,
        ))?;
        scheduler::start(Arc::downgrade(&admission), self.schedule_marks.clone());
        paused_runs::start(Arc::downgrade(&admission));
        cluster::start(Arc::downgrade(&admission), self.config.public_url.clone());
        retention::start(
            self.weft.downgrade(),
            self.config.retention,
            Duration::from_secs(3600),
        );
        let _ = self.admission.set(admission);
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

    /// The admission service every trigger goes through.
    pub(crate) fn admission(&self) -> Result<&admission::Admission, ApiError> {
        self.admission
            .get()
            .map(|a| &**a)
            .ok_or_else(|| ApiError::internal("the run queue is not started"))
    }

    /// On a store with no users, create `admin` with an API token (the
    /// configured one, or a new one) and a generated password, and return
    /// both to print once.
    pub fn bootstrap_admin(&self) -> Result<Option<FirstAdmin>, sessions::SessionError> {
        if !self.users.is_empty()? {
            return Ok(None);
        }
        let Some(token) =
            self.users
                .create("admin", Role::Admin, self.config.admin_token.clone())?
        else {
            return Ok(None);
        };
        let password = sessions::generate_password();
        self.sessions.set_password("admin", &password)?;
        Ok(Some(FirstAdmin { token, password }))
    }

    /// Whether session cookies get `Secure` (the server is reached by https).
    pub(crate) fn secure_cookies(&self) -> bool {
        self.config
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }

    /// The server is shutting down in order: no run starts any more, and
    /// the runs in progress did not bring it down, so they resume at the
    /// next start whatever `max_run_interruptions` says (within
    /// `max_run_resumes`). Returns how many.
    pub fn stopped_in_order(&self) -> Result<usize, recovery::MarkError> {
        self.run_starts.stopped_in_order()
    }

    /// Forget a deleted automation: its cached plan and rate-limit window.
    pub(crate) fn forget_automation(&self, id: &str) {
        self.plans.forget(id);
        if let Ok(admission) = self.admission() {
            admission.reset_rate_limit(id);
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
        .route(
            "/api/v1/session",
            get(api::current).post(api::sign_in).delete(api::sign_out),
        )
        .route("/api/v1/users", get(api::list_users).post(api::create_user))
        .route(
            "/api/v1/users/{name}",
            axum::routing::patch(api::patch_user),
        )
        .route(
            "/api/v1/users/{name}/actions/set-password",
            post(api::set_password),
        )
        .route(
            "/api/v1/users/{name}/actions/revoke-tokens",
            post(api::revoke_tokens),
        )
        .route("/api/v1/runs/{id}/events", get(api::run_events))
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
        .route("/api/v1/automations/{id}/state", get(api::list_state))
        .route(
            "/api/v1/automations/{id}/state/{key}",
            get(api::get_state)
                .put(api::put_state)
                .delete(api::delete_state),
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
        .route("/api/v1/runs/{id}/input", post(api::submit_input))
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
        .fallback(console::serve)
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
        let first = state.plans.plan(&stored).expect("plan");
        let again = state.plans.plan(&stored).expect("plan");
        assert!(Arc::ptr_eq(&first, &again), "reused while nothing changed");
        state
            .weft
            .set_connector_policy("elsewhere", weft_host::ConnectorPolicy::default())
            .expect("policy");
        let after = state.plans.plan(&stored).expect("plan");
        assert!(!Arc::ptr_eq(&first, &after), "validated again");
        let cached = state.plans.plan(&stored).expect("plan");
        assert!(Arc::ptr_eq(&after, &cached), "and cached again");
    }
}
