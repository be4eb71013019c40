//! Durable runs, proven by killing the real server (`kill -9`) at chosen
//! and at random moments and starting it again on the same data:
//!
//! * every acknowledged trigger ends as exactly one run;
//! * no run the API showed as finished is ever run again;
//! * an interrupted run resumes at its last finished block: blocks that
//!   had finished are not invoked again (counted at a local upstream),
//!   and its output equals an uninterrupted run's;
//! * a block marked `non_retryable_after_crash` is failed, not repeated.
//!
//! What ran is counted at a local upstream (`common::upstream`).

mod common;

use common::upstream::{Rng, Upstream, block_ids, chain, get};
use common::{
    ADMIN, Api, Server, create_hook, finished_runs, start_server_with, trigger, wait_for_end,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

fn serve(data: tempfile::TempDir, args: &[String]) -> Server {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    start_server_with(data, &args)
}

/// Kill -9 and start again on the same data.
fn kill_and_restart(mut server: Server, args: &[String], upstream: &Upstream) -> Server {
    let _ = server.child.kill();
    let _ = server.child.wait();
    upstream.next_phase();
    let data = std::mem::replace(&mut server.data, tempfile::tempdir().expect("tempdir"));
    drop(server);
    serve(data, args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_in_a_long_block_resumes_there_and_ends_as_if_never_killed() {
    let upstream = Upstream::start();
    let args = upstream.grant();
    let server = serve(tempfile::tempdir().expect("tempdir"), &args);
    let api = Api::new(&server);
    let document = chain(
        "resumes",
        vec![
            json!({"id": "Start", "type": "start"}),
            // Censored: the history has no output for it, so the resume
            // must feed C and Out from the sealed copy.
            get(
                "A",
                &upstream,
                "/fast/A?tag={$.Start.tag}",
                json!({"censor": true}),
            ),
            {
                // Asks the http connector to send the idempotency key.
                let mut b = get(
                    "B",
                    &upstream,
                    "/slow/B?ms=1500&tag={$.Start.tag}",
                    json!({}),
                );
                b["inputs"]["idempotency"] = json!(true);
                b
            },
            get(
                "C",
                &upstream,
                "/fast/C?tag={$.Start.tag}&a={$.A.body.from}",
                json!({}),
            ),
            json!({"id": "Out", "type": "output", "mode": "set",
                   "value": {"a": "{$.A.body}", "b": "{$.B.body}", "c": "{$.C.body}"}}),
        ],
    );
    let hook = create_hook(&api, document).await;

    // The reference: the same automation, never interrupted.
    let calm = trigger(&api, &hook, json!({"tag": "calm"})).await;
    let calm = wait_for_end(&api, ADMIN, &calm).await;
    assert_eq!(calm["run"]["status"], "finished", "{calm}");

    let run_id = trigger(&api, &hook, json!({"tag": "killed"})).await;
    upstream.wait_for("/slow/B", "killed", 1).await;
    let server = kill_and_restart(server, &args, &upstream);
    let api = Api::new(&server);
    let run = wait_for_end(&api, ADMIN, &run_id).await;

    assert_eq!(run["run"]["status"], "finished-with-warnings", "{run}");
    assert_eq!(run["run"]["output"], calm["run"]["output"], "{run}");
    assert_eq!(
        (
            upstream.count("/fast/A", "killed"),
            upstream.count("/slow/B", "killed"),
            upstream.count("/fast/C", "killed")
        ),
        (1, 2, 1),
        "A had finished: not invoked again; B was in progress: invoked again; C once"
    );
    // The repeated call carries the key the first one did, so a service
    // that honours Idempotency-Key drops it.
    let keys: Vec<Option<String>> = upstream
        .hits()
        .into_iter()
        .filter(|h| h.path == "/slow/B" && h.tag == "killed")
        .map(|h| h.idempotency_key)
        .collect();
    assert!(
        keys[0].as_deref().is_some_and(|k| k.starts_with("weft-")) && keys[0] == keys[1],
        "{keys:?}"
    );
    assert_eq!(
        run["run"]["resumed"],
        json!({"times": 1, "after_step": 1, "after_block": "A"}),
        "{run}"
    );
    assert!(
        run["run"]["warnings"][0]
            .as_str()
            .is_some_and(|w| w.starts_with("resumed after the server stopped")),
        "{run}"
    );
    // One history, as if never interrupted: every block once, in order,
    // and the censored block's output still nowhere in it.
    assert_eq!(block_ids(&run), block_ids(&calm), "{run}");
    assert_eq!(run["steps"][1]["output"], Value::Null, "{run}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_marked_non_retryable_after_crash_is_failed_not_repeated() {
    let upstream = Upstream::start();
    let args = upstream.grant();
    let server = serve(tempfile::tempdir().expect("tempdir"), &args);
    let api = Api::new(&server);
    let document = chain(
        "pays-once",
        vec![
            json!({"id": "Start", "type": "start"}),
            get(
                "Pay",
                &upstream,
                "/slow/Pay?ms=1500&tag=once",
                json!({"non_retryable_after_crash": true}),
            ),
            json!({"id": "Out", "type": "output", "mode": "set", "value": {"paid": true}}),
        ],
    );
    let hook = create_hook(&api, document).await;
    let run_id = trigger(&api, &hook, json!({})).await;
    upstream.wait_for("/slow/Pay", "once", 1).await;
    let server = kill_and_restart(server, &args, &upstream);
    let api = Api::new(&server);
    let run = wait_for_end(&api, ADMIN, &run_id).await;
    assert_eq!(run["run"]["status"], "failed", "{run}");
    assert!(
        run["run"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("marked non_retryable_after_crash")),
        "{run}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(upstream.count("/slow/Pay", "once"), 1, "not called again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loop_killed_at_its_500th_iteration_resumes_at_that_iteration() {
    const ITEMS: usize = 600;
    let upstream = Upstream::start();
    let args = upstream.grant();
    let server = serve(tempfile::tempdir().expect("tempdir"), &args);
    let api = Api::new(&server);
    let document = json!({
        "weft": "automation/v1", "id": "loops", "name": "loops",
        "variables": {"seen": []},
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Seen", "type": "variable", "variable": "seen", "action": "set", "value": []},
            {"id": "Each", "type": "loop", "over": "{$.Start.items}"},
            get("Call", &upstream, "/fast/L?tag={$.Each.item}", json!({})),
            {"id": "Keep", "type": "variable", "variable": "seen", "action": "append",
             "value": "{$.Each.item}"},
            {"id": "Out", "type": "output", "mode": "set", "value": {"seen": "{$.seen}"}}
        ],
        "edges": [
            {"from": "Start", "to": "Seen"}, {"from": "Seen", "to": "Each"},
            {"from": "Each", "to": "Call", "branch": "body"},
            {"from": "Call", "to": "Keep"},
            {"from": "Each", "to": "Out"}
        ]
    });
    let hook = create_hook(&api, document).await;
    let items: Vec<usize> = (0..ITEMS).collect();
    let run_id = trigger(&api, &hook, json!({"items": items})).await;
    upstream.wait_for("/fast/L", "500", 1).await;
    let server = kill_and_restart(server, &args, &upstream);
    let api = Api::new(&server);
    let run = wait_for_end(&api, ADMIN, &run_id).await;

    assert_eq!(run["run"]["status"], "finished-with-warnings", "{run}");
    assert_eq!(
        run["run"]["output"],
        json!({"seen": items}),
        "no item twice"
    );
    let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
    for hit in upstream.hits() {
        if let Ok(i) = hit.tag.parse() {
            *counts.entry(i).or_default() += 1;
        }
    }
    assert_eq!(counts.len(), ITEMS, "every item called");
    let repeated: Vec<usize> = counts
        .iter()
        .filter(|&(_, &n)| n > 1)
        .map(|(&i, _)| i)
        .collect();
    assert!(
        repeated.len() <= 1 && repeated.iter().all(|&i| i >= 500),
        "only the iteration in progress may be called twice: {repeated:?}"
    );
    assert!(
        counts.values().all(|&n| n <= 2),
        "no item more than twice: {counts:?}"
    );
    let resumed_after = run["run"]["resumed"]["after_step"]
        .as_u64()
        .expect("resumed after a step");
    assert!(
        resumed_after >= 1000,
        "resumed past 500 iterations of two steps each: {resumed_after}"
    );
    // Each iteration's steps once: Start, Seen, Each, then Call and Keep
    // per item, then Out.
    assert_eq!(
        block_ids(&run).len(),
        3 + 2 * ITEMS + 1,
        "{}",
        block_ids(&run).len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_kills_under_webhook_load_lose_nothing_and_repeat_nothing_finished() {
    const CYCLES: usize = 5;
    const TRIGGERS_PER_CYCLE: usize = 40;
    let mut rng = Rng::from_env("WEFT_KILL_SEED");
    let upstream = Upstream::start();
    let args = upstream.grant();
    let mut server = serve(tempfile::tempdir().expect("tempdir"), &args);
    let api = Api::new(&server);
    let document = chain(
        "under-load",
        vec![
            json!({"id": "Start", "type": "start"}),
            get(
                "Call",
                &upstream,
                "/slow/X?ms=20&tag={$.Start.order}",
                json!({}),
            ),
            json!({"id": "Out", "type": "output", "mode": "set", "value": {"got": "{$.Start.order}"}}),
        ],
    );
    let hook = create_hook(&api, document).await;

    let mut acknowledged: BTreeMap<String, u64> = BTreeMap::new();
    // Run id → (finished_at shown, the upstream phase it was seen in).
    let mut shown_finished: BTreeMap<String, (Value, usize)> = BTreeMap::new();
    let mut order = 0u64;
    let mut kill_points = Vec::new();
    for cycle in 0..CYCLES {
        let api = Arc::new(Api::new(&server));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut senders = Vec::new();
        for _ in 0..TRIGGERS_PER_CYCLE {
            order += 1;
            let (api, hook, tx, n) = (api.clone(), hook.clone(), tx.clone(), order);
            senders.push(tokio::spawn(async move {
                // A refused or cut connection is fine: only 202s count.
                let resp = api.try_hook(&hook, json!({"order": n})).await;
                if let Some(run_id) = resp {
                    let _ = tx.send((run_id, n));
                }
            }));
            tokio::time::sleep(Duration::from_millis(rng.below(8))).await;
        }
        let kill_after = Duration::from_millis(rng.below(400));
        kill_points.push(kill_after.as_millis());
        tokio::time::sleep(kill_after).await;
        for (id, at) in finished_runs(&api, "under-load").await {
            shown_finished.entry(id).or_insert((at, cycle));
        }
        let _ = server.child.kill();
        let _ = server.child.wait();
        for s in senders {
            let _ = s.await;
        }
        drop(tx);
        while let Some((run_id, n)) = rx.recv().await {
            acknowledged.insert(run_id, n);
        }
        upstream.next_phase();
        let data = std::mem::replace(&mut server.data, tempfile::tempdir().expect("tempdir"));
        drop(server);
        server = serve(data, &args);
    }
    eprintln!(
        "{} kill points (ms after the load began): {kill_points:?}; {} triggers acknowledged",
        kill_points.len(),
        acknowledged.len()
    );
    let api = Api::new(&server);
    let mut runs: BTreeMap<String, Value> = BTreeMap::new();
    for run_id in acknowledged.keys() {
        runs.insert(run_id.clone(), wait_for_end(&api, ADMIN, run_id).await);
    }

    // Exactly one run per acknowledged trigger, each finished once with
    // its own output (or failed for having been in progress at two kills).
    let (_, all) = api
        .call(
            "GET",
            "/api/v1/runs?automation=under-load&limit=500",
            Some(ADMIN),
            None,
        )
        .await;
    let stored: BTreeSet<String> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect();
    for (run_id, n) in &acknowledged {
        assert!(
            stored.contains(run_id),
            "acknowledged run {run_id} was lost"
        );
        let run = &runs[run_id];
        match run["run"]["status"].as_str() {
            Some("finished" | "finished-with-warnings") => {
                assert_eq!(run["run"]["output"], json!({"got": n}), "{run}");
                assert_eq!(
                    block_ids(run),
                    ["Start", "Call", "Out"],
                    "one history: {run}"
                );
            }
            Some("failed") => assert!(
                run["run"]["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("max_run_interruptions")),
                "{run}"
            ),
            other => panic!("run {run_id} ended {other:?}: {run}"),
        }
        assert!(
            upstream.count("/slow/X", &n.to_string()) <= 2,
            "called at most twice (once more if in progress at a kill)"
        );
    }
    // Nothing shown finished was run again or changed.
    let hits = upstream.hits();
    for (run_id, (finished_at, phase)) in &shown_finished {
        let run = match runs.get(run_id) {
            Some(run) => run.clone(),
            None => wait_for_end(&api, ADMIN, run_id).await,
        };
        assert_eq!(
            &run["run"]["finished_at"], finished_at,
            "run {run_id} shown finished was run again: {run}"
        );
        let tag = run["run"]["input"]["order"].to_string();
        assert!(
            !hits
                .iter()
                .any(|h| h.path == "/slow/X" && h.tag == tag && h.phase > *phase),
            "run {run_id}, shown finished, called the upstream again after a restart"
        );
    }
    assert!(
        !shown_finished.is_empty(),
        "the load never finished a run before a kill: the test proved nothing"
    );
}
