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
pub mod automations;
pub mod error;
pub mod metrics;
pub mod queue;
pub mod rate_limit;
pub mod retention;
pub mod scheduler;
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
    /// Shortest allowed gap between a schedule's runs.
    pub min_schedule_interval: Duration,
    /// What run history is kept.
    pub retention: retention::Retention,
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
            min_schedule_interval: Duration::from_secs(30),
            retention: retention::Retention::default(),
        }
    }
}

pub struct AppState {
    pub weft: Weft,
    pub users: Users,
    pub automations: Automations,
    pub config: ServerConfig,
    pub(crate) rate_limits: rate_limit::RateLimiter,
    /// Last fire time per scheduled automation (ms, big-endian).
    pub(crate) schedule_marks: sled::Tree,
    pub metrics: metrics::Metrics,
    /// Set by [`AppState::start_queue`].
    queue: std::sync::OnceLock<queue::Queue>,
    /// Validated plans by automation id, valid for one version.
    plans: RwLock<HashMap<String, (u64, Arc<Plan>)>>,
}

impl AppState {
    /// Open the server's store in `dir` (separate from run history).
    pub fn open(weft: Weft, dir: &Path, config: ServerConfig) -> Result<Self, sled::Error> {
        let db = sled::open(dir)?;
        Ok(AppState {
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
        let q = queue::Queue::start(
            Arc::downgrade(self),
            self.config.per_automation_concurrency,
            self.config.global_concurrency,
        );
        let recovered = q.recover(self.weft.store())?;
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

    pub(crate) fn queue(&self) -> Result<&queue::Queue, ApiError> {
        self.queue
            .get()
            .ok_or_else(|| ApiError::internal("the run queue is not started"))
    }

    /// Store a queued run durably and schedule it.
    pub(crate) fn enqueue(&self, record: &weft_host::RunRecord) -> Result<(), ApiError> {
        let q = self
            .queue
            .get()
            .ok_or_else(|| ApiError::internal("the run queue is not started"))?;
        q.enqueue(self.weft.store(), record)?;
        self.metrics
            .queue_depth
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
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

    /// The plan for the stored automation, validated once per version.
    pub(crate) fn plan(&self, a: &StoredAutomation) -> Result<Arc<Plan>, ApiError> {
        if let Ok(plans) = self.plans.read()
            && let Some((version, plan)) = plans.get(&a.id)
            && *version == a.version
        {
            return Ok(plan.clone());
        }
        let plan = Arc::new(self.weft.validate(&a.document).map_err(|errors| {
            ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_automation",
                format!(
                    "the stored automation no longer validates (a connector changed?): {errors}"
                ),
            )
        })?);
        if let Ok(mut plans) = self.plans.write() {
            plans.insert(a.id.clone(), (a.version, plan.clone()));
        }
        Ok(plan)
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
    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
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
        .route("/api/v1/runs", get(api::list_runs))
        .route("/api/v1/runs/{id}", get(api::get_run))
        .route("/api/v1/runs/{id}/stop", post(api::stop_run))
        .route(
            "/hooks/{id}/{secret}",
            post(api::webhook).layer(axum::extract::DefaultBodyLimit::max(
                state.config.max_webhook_bytes,
            )),
        )
        .with_state(state)
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
