//! A fleet of `weft serve` hosts sharing one throwaway PostgreSQL
//! database (`several_hosts.rs`): started, stopped, killed and restarted
//! like an operator's, and the API calls the multi-host tests share.

use super::{ADMIN, Api, Options, Server, start};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The connection-secret key every host of a fleet shares (base64 of 32
/// bytes), as an operator gives each host the same `WEFT_SECRET_KEY`.
pub fn shared_secret_key() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode([0x5a_u8; 32])
}

/// A host's place in the fleet: running, or down with its data directory
/// kept for a restart.
pub enum Slot {
    Up(Box<Server>),
    Down(tempfile::TempDir),
}

/// Hosts sharing one throwaway database. Fields drop in order: the hosts
/// are killed before their database is dropped.
pub struct Fleet {
    slots: Vec<Slot>,
    args: Vec<String>,
    key: String,
    db: weft_pg::testing::TestDatabase,
}

impl Fleet {
    /// `n` hosts on a new database, each started with `args` (plus the
    /// database URL). The first starts alone: it creates the first admin.
    pub fn start(n: usize, args: &[&str]) -> Fleet {
        let db = weft_pg::testing::TestDatabase::create()
            .expect("a local PostgreSQL (see weft_pg::testing) for the several-hosts tests");
        let mut all = vec!["--database-url".to_string(), db.url().to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        let mut fleet = Fleet {
            slots: Vec::new(),
            args: all,
            key: shared_secret_key(),
            db,
        };
        let first = fleet.launch(tempfile::tempdir().expect("tempdir"));
        fleet.slots.push(Slot::Up(Box::new(first)));
        let others: Vec<Server> = std::thread::scope(|s| {
            let fleet = &fleet;
            let handles: Vec<_> = (1..n)
                .map(|_| s.spawn(move || fleet.launch(tempfile::tempdir().expect("tempdir"))))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a host started"))
                .collect()
        });
        fleet
            .slots
            .extend(others.into_iter().map(|s| Slot::Up(Box::new(s))));
        eprintln!("fleet of {n} on {}", fleet.db.name());
        fleet
    }

    pub fn launch(&self, data: tempfile::TempDir) -> Server {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        start(
            data,
            Options {
                args: &args,
                env: &[("WEFT_SECRET_KEY", &self.key)],
                // Compiled components, shared by every host and test.
                cache_dir: Some(weft_tests::cache_dir()),
            },
        )
    }

    pub fn server(&self, i: usize) -> &Server {
        match &self.slots[i] {
            Slot::Up(server) => server,
            Slot::Down(_) => panic!("host {i} is down"),
        }
    }

    pub fn api(&self, i: usize) -> Api {
        Api::new(self.server(i))
    }

    pub fn is_up(&self, i: usize) -> bool {
        matches!(self.slots[i], Slot::Up(_))
    }

    /// The hosts running now.
    pub fn live(&self) -> Vec<usize> {
        (0..self.slots.len()).filter(|&i| self.is_up(i)).collect()
    }

    /// Take host `i` down with `how` (kill -9 or SIGTERM), keeping its data.
    pub fn take_down(&mut self, i: usize, how: fn(&mut Server)) {
        let placeholder = Slot::Down(tempfile::tempdir().expect("tempdir"));
        let Slot::Up(mut server) = std::mem::replace(&mut self.slots[i], placeholder) else {
            panic!("host {i} is already down");
        };
        how(&mut server);
        let data = std::mem::replace(&mut server.data, tempfile::tempdir().expect("tempdir"));
        drop(server);
        self.slots[i] = Slot::Down(data);
    }

    /// `kill -9` host `i`.
    pub fn kill(&mut self, i: usize) {
        self.take_down(i, |s| {
            let _ = s.child.kill();
            let _ = s.child.wait();
        });
    }

    /// Stop host `i` in order (SIGTERM).
    pub fn stop(&mut self, i: usize) {
        self.take_down(i, |s| {
            s.stop();
        });
    }

    /// Start host `i` again on its data directory.
    pub fn restart(&mut self, i: usize) {
        let placeholder = Slot::Down(tempfile::tempdir().expect("tempdir"));
        let Slot::Down(data) = std::mem::replace(&mut self.slots[i], placeholder) else {
            panic!("host {i} is already up");
        };
        self.slots[i] = Slot::Up(Box::new(self.launch(data)));
    }
}

/// A run's record through `api`, `None` if the request failed.
pub async fn run_record(api: &Api, run_id: &str) -> Value {
    api.call("GET", &format!("/api/v1/runs/{run_id}"), Some(ADMIN), None)
        .await
        .1
}

pub fn is_final(run: &Value) -> bool {
    run["run"]["status"]
        .as_str()
        .is_some_and(|s| !matches!(s, "queued" | "running"))
}

/// Poll until `run_id` is final or `deadline` passes; the last record seen.
pub async fn wait_final(api: &Api, run_id: &str, deadline: Instant) -> Value {
    loop {
        let run = run_record(api, run_id).await;
        if is_final(&run) || Instant::now() >= deadline {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Every run of `automation` (one page: the tests keep it under 500).
pub async fn runs_of(api: &Api, automation: &str) -> Vec<Value> {
    let (s, page) = api
        .call(
            "GET",
            &format!("/api/v1/runs?automation={automation}&limit=500"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(s, 200, "{page}");
    assert!(page["next_cursor"].is_null(), "more than one page: {page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

/// Set an automation's concurrency through `api`.
pub async fn set_concurrency(api: &Api, automation: &str, limit: u32) {
    let (s, body) = api
        .call(
            "PATCH",
            &format!("/api/v1/automations/{automation}"),
            Some(ADMIN),
            Some(json!({"concurrency": limit})),
        )
        .await;
    assert_eq!(s, 200, "{body}");
}

/// Start a run in the background (`…/actions/execute?async=true`); its
/// id if acknowledged (202), `None` if refused or cut by a kill.
pub async fn try_execute_async(api: &Api, id: &str, token: &str, input: Value) -> Option<String> {
    let resp = api
        .http
        .post(format!(
            "{}/api/v1/automations/{id}/actions/execute?async=true",
            api.base
        ))
        .header("X-Execution-Token", token)
        .json(&input)
        .send()
        .await
        .ok()?;
    if resp.status().as_u16() != 202 {
        return None;
    }
    let body: Value = resp.json().await.ok()?;
    body["run_id"].as_str().map(str::to_string)
}
