//! The behaviour every backend of the queue's durable start marks
//! ([`StartMarkStore`]) must have, as a suite a backend runs with
//! [`queue_conformance_tests!`](crate::queue_conformance_tests): the sled
//! marks run it in `tests/queue_conformance.rs`, and a shared database
//! runs the same cases against its own `open`.
//!
//! The marks decide whether a run found unfinished at start is resumed or
//! failed (`weft_server::recovery`), so the cases check what recovery
//! relies on: counts that add up under concurrent starts, survive
//! reopening once flushed, move from crash to orderly stop on a stop in
//! order, and go with the run.

use std::sync::Arc;
use weft_server::recovery::{Marks, RunStarts, StartMarkStore};

/// Opens the backend under test.
pub trait MarkBackend {
    /// The marks named `name`: opening the same name again (after the
    /// previous handle is dropped) opens the same data.
    fn open(&self, name: &str) -> Arc<dyn StartMarkStore>;
}

fn marks(crashes: u32, orderly: u32) -> Option<Marks> {
    Some(Marks { crashes, orderly })
}

pub fn a_run_without_marks_has_none<B: MarkBackend>(b: &B) {
    let store = b.open("none");
    assert_eq!(store.get("never-started").expect("get"), None);
}

pub fn starts_count_as_crashes_and_survive_reopening<B: MarkBackend>(b: &B) {
    {
        let starts = RunStarts::new(b.open("reopen"));
        let crashes = |m: Option<Marks>| m.map(|m| m.crashes);
        assert_eq!(crashes(starts.mark("r1").expect("mark")), Some(1));
        assert_eq!(crashes(starts.mark("r1").expect("mark")), Some(2));
        starts.mark("r2").expect("mark");
        starts.forget("r2");
    }
    let starts = RunStarts::new(b.open("reopen"));
    assert_eq!(starts.count("r1").expect("count"), marks(2, 0));
    assert_eq!(starts.count("r2").expect("count"), None, "forgotten");
}

pub fn a_stop_in_order_takes_back_the_starts_of_the_runs_being_walked<B: MarkBackend>(b: &B) {
    {
        let starts = RunStarts::new(b.open("orderly"));
        starts.mark("walking").expect("mark");
        starts.mark("ended").expect("mark");
        starts.forget("ended");
        assert_eq!(starts.stopped_in_order().expect("stop"), 1);
        // Shutting down: nothing starts any more.
        assert_eq!(starts.mark("late").expect("mark"), None);
    }
    let starts = RunStarts::new(b.open("orderly"));
    assert_eq!(starts.count("walking").expect("count"), marks(0, 1));
    assert_eq!(starts.count("late").expect("count"), None);
    assert_eq!(starts.count("ended").expect("count"), None);
}

pub fn crashes_and_orderly_stops_accumulate_separately<B: MarkBackend>(b: &B) {
    let store = b.open("both");
    store.add_start("r").expect("start");
    store.to_orderly("r").expect("orderly");
    store.add_start("r").expect("start");
    store.add_start("r").expect("start");
    store.flush().expect("flush");
    assert_eq!(store.get("r").expect("get"), marks(2, 1));
    // Taking back a run without marks creates none.
    store.to_orderly("other").expect("orderly");
    assert_eq!(store.get("other").expect("get"), None);
}

pub fn concurrent_starts_lose_no_count<B: MarkBackend>(b: &B) {
    let store = b.open("concurrent");
    std::thread::scope(|scope| {
        for _ in 0..8 {
            let store = store.clone();
            scope.spawn(move || {
                for i in 0..25 {
                    store.add_start(&format!("run-{}", i % 5)).expect("start");
                }
            });
        }
    });
    store.flush().expect("flush");
    for i in 0..5 {
        assert_eq!(
            store.get(&format!("run-{i}")).expect("get"),
            marks(40, 0),
            "8 threads × 5 starts of run-{i}"
        );
    }
}

/// One `#[test]` per case for `$backend` (an expression implementing
/// [`MarkBackend`]).
#[macro_export]
macro_rules! queue_conformance_tests {
    ($backend:expr) => {
        $crate::queue_conformance_tests!(@cases $backend;
            a_run_without_marks_has_none,
            starts_count_as_crashes_and_survive_reopening,
            a_stop_in_order_takes_back_the_starts_of_the_runs_being_walked,
            crashes_and_orderly_stops_accumulate_separately,
            concurrent_starts_lose_no_count,
        );
    };
    (@cases $backend:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let backend = $backend;
                $crate::queue_conformance::$case(&backend);
            }
        )*
    };
}
