//! A history store whose disk stops taking writes: triggers are refused
//! with 503 `store_unavailable`, and nothing is acknowledged that is not
//! stored. The fault is injected through the [`RunStore`] trait, around
//! the real sled store, and the requests go through the real router.

use crate::{AppState, ServerConfig, router};
use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tower::ServiceExt;
use weft_host::store::{Committed, RunFilter, StateEntry, StateError, StateLimits, StoreError};
use weft_host::{RunRecord, RunStore, SledStore, StepRecord, Weft};

/// The sled store, until `broken` is set: from then on every write and
/// every wait for durability fails, as after a failed fsync.
struct FailingDisk {
    inner: SledStore,
    broken: Arc<AtomicBool>,
}

impl FailingDisk {
    fn check(&self) -> Result<(), StoreError> {
        match self.broken.load(Ordering::SeqCst) {
            true => Err(StoreError::WriteFailed("injected: the disk is full".into())),
            false => Ok(()),
        }
    }
}

impl RunStore for FailingDisk {
    fn put_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.check()?;
        self.inner.put_run(run)
    }
    fn append_step(&self, run_id: &str, step: &StepRecord) -> Result<(), StoreError> {
        self.check()?;
        self.inner.append_step(run_id, step)
    }
    fn get_run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        self.inner.get_run(run_id)
    }
    fn steps(&self, run_id: &str) -> Result<Vec<StepRecord>, StoreError> {
        self.inner.steps(run_id)
    }
    fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, StoreError> {
        self.inner.list_runs(filter)
    }
    fn delete_run(&self, run_id: &str) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.delete_run(run_id)
    }
    fn put_sealed(&self, run_id: &str, seq: u64, sealed: &str) -> Result<(), StoreError> {
        self.check()?;
        self.inner.put_sealed(run_id, seq, sealed)
    }
    fn sealed(&self, run_id: &str) -> Result<BTreeMap<u64, String>, StoreError> {
        self.inner.sealed(run_id)
    }
    fn drop_sealed(&self, run_id: &str) -> Result<(), StoreError> {
        self.check()?;
        self.inner.drop_sealed(run_id)
    }
    fn flush(&self) -> Result<(), StoreError> {
        self.check()?;
        self.inner.flush()
    }
    fn committed(&self) -> Committed {
        match self.check() {
            Err(e) => Box::pin(async move { Err(e) }),
            Ok(()) => self.inner.committed(),
        }
    }
    fn state_get(&self, automation: &str, key: &str) -> Result<Option<StateEntry>, StoreError> {
        self.inner.state_get(automation, key)
    }
    fn state_list(&self, automation: &str) -> Result<Vec<StateEntry>, StoreError> {
        self.inner.state_list(automation)
    }
    fn state_set(
        &self,
        automation: &str,
        key: &str,
        value: &Value,
        limits: &StateLimits,
    ) -> Result<StateEntry, StateError> {
        self.check()?;
        self.inner.state_set(automation, key, value, limits)
    }
    fn state_increment(
        &self,
        automation: &str,
        key: &str,
        by: &serde_json::Number,
        limits: &StateLimits,
    ) -> Result<StateEntry, StateError> {
        self.check()?;
        self.inner.state_increment(automation, key, by, limits)
    }
    fn state_delete(&self, automation: &str, key: &str) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.state_delete(automation, key)
    }
    fn state_clear(&self, automation: &str) -> Result<(), StoreError> {
        self.check()?;
        self.inner.state_clear(automation)
    }
}

async fn post(state: &Arc<AppState>, path: &str, body: Value) -> (u16, Value, Option<String>) {
    let request = Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let response = router(state.clone())
        .oneshot(request)
        .await
        .expect("response");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body, retry_after)
}

#[tokio::test]
async fn a_failed_disk_write_refuses_the_trigger_with_503_and_acknowledges_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = Arc::new(AtomicBool::new(false));
    let weft = Weft::builder()
        .store(FailingDisk {
            inner: SledStore::temporary().expect("store"),
            broken: broken.clone(),
        })
        .build()
        .await
        .expect("weft");
    let state = Arc::new(
        AppState::open(weft, &dir.path().join("server"), ServerConfig::default()).expect("state"),
    );
    state.start_queue().expect("queue");
    let document = json!({
        "weft": "automation/v1", "id": "hooked", "name": "hooked",
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Out", "type": "output", "mode": "set", "value": {"ok": true}}
        ],
        "edges": [{"from": "Start", "to": "Out"}]
    });
    let created = crate::api::create(&state, document, "admin").expect("created");
    let hook = created.webhook_path();

    let (status, body, _) = post(&state, &hook, json!({"n": 1})).await;
    assert_eq!(status, 202, "{body}");
    let stored = || {
        state
            .weft
            .store()
            .list_runs(&RunFilter::default())
            .expect("list")
            .len()
    };
    assert_eq!(stored(), 1);

    broken.store(true, Ordering::SeqCst);
    let (status, body, retry_after) = post(&state, &hook, json!({"n": 2})).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "store_unavailable", "{body}");
    assert!(retry_after.is_some(), "says when to try again");
    assert_eq!(stored(), 1, "nothing stored, nothing acknowledged");
    // The admission was given back: the automation is not left full.
    broken.store(false, Ordering::SeqCst);
    let (status, body, _) = post(&state, &hook, json!({"n": 3})).await;
    assert_eq!(status, 202, "{body}");
}
