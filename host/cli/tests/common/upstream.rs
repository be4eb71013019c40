//! A counting HTTP upstream for process tests that kill servers, and the
//! pieces of automation they call it with. Shared by `durability.rs` (one
//! host) and `several_hosts.rs` (hosts on one database): both prove what
//! ran by what the upstream saw, which no server can rewrite.
//!
//! The upstream runs on its own thread and runtime, so it keeps counting
//! while a test blocks on starting servers.

use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One request the upstream received.
#[derive(Debug, Clone)]
pub struct Hit {
    /// `/fast/A`, `/slow/B`, …
    pub path: String,
    /// The `tag` query parameter: which run (or loop item) sent it.
    pub tag: String,
    pub idempotency_key: Option<String>,
    /// Which server lifetime it arrived in (see [`Upstream::next_phase`]).
    pub phase: usize,
}

#[derive(Default)]
struct Log {
    hits: Vec<Hit>,
    phase: usize,
    /// Calls being answered now, per name (`X` of `/slow/X`).
    in_flight: HashMap<String, usize>,
    /// The most calls ever answered at once, per name.
    max_in_flight: HashMap<String, usize>,
    /// `(name, tag)` of the calls being answered now.
    in_flight_tags: Vec<(String, String)>,
}

fn lock(log: &Mutex<Log>) -> MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(|e| e.into_inner())
}

/// Counts a call out of the gauge when its answer is sent — or when the
/// caller went away and the answer was dropped.
struct InFlight {
    log: Arc<Mutex<Log>>,
    name: String,
    tag: String,
}

impl InFlight {
    fn enter(log: Arc<Mutex<Log>>, name: String, tag: String) -> InFlight {
        {
            let mut l = lock(&log);
            let now = {
                let n = l.in_flight.entry(name.clone()).or_default();
                *n += 1;
                *n
            };
            let max = l.max_in_flight.entry(name.clone()).or_default();
            *max = (*max).max(now);
            l.in_flight_tags.push((name.clone(), tag.clone()));
        }
        InFlight { log, name, tag }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut l = lock(&self.log);
        if let Some(n) = l.in_flight.get_mut(&self.name) {
            *n = n.saturating_sub(1);
        }
        if let Some(i) = l
            .in_flight_tags
            .iter()
            .position(|(n, t)| *n == self.name && *t == self.tag)
        {
            l.in_flight_tags.swap_remove(i);
        }
    }
}

/// A counting HTTP upstream on 127.0.0.1: `/fast/{name}` answers at
/// once, `/slow/{name}?ms=N` after N ms; both answer `{"from": name}`,
/// the same every time, so a repeated call changes no output.
pub struct Upstream {
    pub port: u16,
    log: Arc<Mutex<Log>>,
}

impl Upstream {
    pub fn start() -> Upstream {
        let log = Arc::new(Mutex::new(Log::default()));
        let (tx, rx) = std::sync::mpsc::channel();
        let shared = log.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                tx.send(listener.local_addr().expect("addr").port())
                    .expect("port");
                let app = axum::Router::new().route(
                    "/{kind}/{name}",
                    axum::routing::get(
                        move |axum::extract::Path((kind, name)): axum::extract::Path<(
                            String,
                            String,
                        )>,
                              axum::extract::Query(q): axum::extract::Query<
                            HashMap<String, String>,
                        >,
                              headers: axum::http::HeaderMap| {
                            let log = shared.clone();
                            async move {
                                let tag = q.get("tag").cloned().unwrap_or_default();
                                {
                                    let mut log = lock(&log);
                                    let phase = log.phase;
                                    log.hits.push(Hit {
                                        path: format!("/{kind}/{name}"),
                                        tag: tag.clone(),
                                        idempotency_key: headers
                                            .get("idempotency-key")
                                            .and_then(|v| v.to_str().ok())
                                            .map(str::to_string),
                                        phase,
                                    });
                                }
                                let _gauge = InFlight::enter(log, name.clone(), tag);
                                if kind == "slow" {
                                    let ms = q.get("ms").and_then(|m| m.parse().ok()).unwrap_or(0);
                                    tokio::time::sleep(Duration::from_millis(ms)).await;
                                }
                                axum::Json(json!({ "from": name }))
                            }
                        },
                    ),
                );
                let _ = axum::serve(listener, app).await;
            });
        });
        let port = rx.recv().expect("upstream port");
        Upstream { port, log }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn hits(&self) -> Vec<Hit> {
        lock(&self.log).hits.clone()
    }

    /// Calls to `path` tagged `tag`.
    pub fn count(&self, path: &str, tag: &str) -> usize {
        self.hits()
            .iter()
            .filter(|h| h.path == path && h.tag == tag)
            .count()
    }

    /// Later hits belong to the next server lifetime.
    pub fn next_phase(&self) {
        lock(&self.log).phase += 1;
    }

    /// The phase hits are counted in now.
    pub fn phase(&self) -> usize {
        lock(&self.log).phase
    }

    /// The most calls to `name` (`X` of `/slow/X`) answered at once so far.
    pub fn max_in_flight(&self, name: &str) -> usize {
        lock(&self.log)
            .max_in_flight
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    /// The tags of the calls to `name` being answered now.
    pub fn tags_in_flight(&self, name: &str) -> BTreeSet<String> {
        lock(&self.log)
            .in_flight_tags
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
            .collect()
    }

    pub async fn wait_for(&self, path: &str, tag: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.count(path, tag) < n {
            assert!(
                Instant::now() < deadline,
                "{path} (tag {tag}) never got {n} call(s): {:?}",
                self.hits().len()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// `weft serve` arguments granting the upstream.
    pub fn grant(&self) -> Vec<String> {
        vec!["--allow".into(), self.base()]
    }
}

/// An `http` connector block calling the upstream at `path`, with `extra`
/// fields merged into the block.
pub fn get(id: &str, upstream: &Upstream, path: &str, extra: Value) -> Value {
    let mut block = json!({
        "id": id, "type": "connector", "connector": "http", "block": "request",
        "inputs": {"url": format!("{}{path}", upstream.base())}
    });
    if let (Some(b), Some(extra)) = (block.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            b.insert(k.clone(), v.clone());
        }
    }
    block
}

/// An automation running `blocks` one after the other.
pub fn chain(id: &str, blocks: Vec<Value>) -> Value {
    let edges: Vec<Value> = blocks
        .windows(2)
        .map(|w| json!({"from": w[0]["id"], "to": w[1]["id"]}))
        .collect();
    json!({"weft": "automation/v1", "id": id, "name": id, "blocks": blocks, "edges": edges})
}

/// The block ids of a run's steps, in order.
pub fn block_ids(run: &Value) -> Vec<String> {
    run["steps"]
        .as_array()
        .map(|steps| {
            steps
                .iter()
                .map(|s| s["block_id"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A small, seedable generator (xorshift): the kill moments differ per
/// run of the suite, and a failing seed is printed to replay it.
pub struct Rng(pub u64);

impl Rng {
    /// Seeded from the environment variable `var` if set, else from the
    /// clock; the seed is printed so a failure can be replayed.
    pub fn from_env(var: &str) -> Rng {
        let seed = std::env::var(var)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
                    | 1
            });
        eprintln!("seed {seed} (set {var} to replay)");
        Rng(seed)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}
