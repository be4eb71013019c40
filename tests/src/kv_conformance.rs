//! The behaviour every backend of the server's tables
//! ([`weft_server::kv::Table`]) must have, as a suite a backend runs with
//! [`kv_conformance_tests!`](crate::kv_conformance_tests): sled and
//! PostgreSQL both run it in `tests/kv_conformance.rs`.
//!
//! The stores above the trait rely on exactly these: values round-trip,
//! compare-and-swap is atomic (also between two processes on one
//! database: two hosts), scans come in byte order both ways and page
//! through large tables, and what was flushed is there after reopening.

use std::sync::{Arc, Barrier};
use weft_server::kv::{CasConflict, Tables};

/// Opens the backend under test.
pub trait KvBackend {
    /// Open the store. Handles from an earlier `open` must be dropped
    /// first; what they flushed is found again.
    fn open(&self) -> Tables;
    /// Another handle on the store `tables` is open on, as another host
    /// would have (another connection pool on PostgreSQL; sled allows one
    /// process, so its second handle shares the first's database).
    fn second_handle(&self, tables: &Tables) -> Tables;
}

fn keys(
    pairs: impl Iterator<Item = Result<(Vec<u8>, Vec<u8>), weft_server::kv::KvError>>,
) -> Vec<Vec<u8>> {
    pairs.map(|r| r.expect("scan").0).collect()
}

pub fn values_round_trip<B: KvBackend>(b: &B) {
    let t = b.open().open_tree("t").expect("tree");
    assert_eq!(t.get(b"k").expect("get"), None);
    assert_eq!(t.insert(b"k", b"one").expect("insert"), None);
    assert_eq!(
        t.insert(b"k", b"two").expect("insert"),
        Some(b"one".to_vec())
    );
    assert_eq!(t.get(b"k").expect("get"), Some(b"two".to_vec()));
    assert!(t.contains_key(b"k").expect("contains"));
    // Empty values and binary keys are values like any other.
    t.insert([0u8, 255, 0], b"").expect("insert");
    assert_eq!(t.get([0u8, 255, 0]).expect("get"), Some(Vec::new()));
    assert_eq!(t.len().expect("len"), 2);
    assert_eq!(t.remove(b"k").expect("remove"), Some(b"two".to_vec()));
    assert_eq!(t.remove(b"k").expect("remove"), None);
    assert_eq!(t.get(b"k").expect("get"), None);
    assert!(!t.is_empty().expect("is_empty"));
}

pub fn tables_are_separate<B: KvBackend>(b: &B) {
    let tables = b.open();
    let (a, other) = (
        tables.open_tree("a").expect("tree"),
        tables.open_tree("b").expect("tree"),
    );
    a.insert(b"k", b"in a").expect("insert");
    assert_eq!(other.get(b"k").expect("get"), None);
    assert!(other.is_empty().expect("is_empty"));
    assert_eq!(other.iter().count(), 0);
    assert_eq!(a.len().expect("len"), 1);
}

pub fn compare_and_swap_refuses_stale_values<B: KvBackend>(b: &B) {
    let t = b.open().open_tree("cas").expect("tree");
    let none: Option<&[u8]> = None;
    assert_eq!(
        t.compare_and_swap(b"k", none, Some(b"v1")).expect("cas"),
        Ok(())
    );
    assert_eq!(
        t.compare_and_swap(b"k", none, Some(b"again")).expect("cas"),
        Err(CasConflict {
            current: Some(b"v1".to_vec())
        }),
        "absent expected, present found"
    );
    assert_eq!(
        t.compare_and_swap(b"k", Some(b"stale"), Some(b"v2"))
            .expect("cas"),
        Err(CasConflict {
            current: Some(b"v1".to_vec())
        })
    );
    assert_eq!(t.get(b"k").expect("get"), Some(b"v1".to_vec()), "unchanged");
    assert_eq!(
        t.compare_and_swap(b"k", Some(b"v1"), Some(b"v2"))
            .expect("cas"),
        Ok(())
    );
    assert_eq!(
        t.compare_and_swap(b"k", Some(b"v1"), none).expect("cas"),
        Err(CasConflict {
            current: Some(b"v2".to_vec())
        }),
        "a stale delete is refused"
    );
    assert_eq!(
        t.compare_and_swap(b"k", Some(b"v2"), none).expect("cas"),
        Ok(())
    );
    assert_eq!(t.get(b"k").expect("get"), None);
    assert_eq!(
        t.compare_and_swap(b"k", Some(b"v2"), Some(b"v3"))
            .expect("cas"),
        Err(CasConflict { current: None }),
        "present expected, absent found"
    );
}

/// Two hosts race to claim one key: exactly one wins, and every loser
/// sees the winner's value.
pub fn concurrent_claims_from_two_handles_have_one_winner<B: KvBackend>(b: &B) {
    let first = b.open();
    let second = b.second_handle(&first);
    let handles = [
        first.open_tree("claims").expect("tree"),
        second.open_tree("claims").expect("tree"),
    ];
    const RACERS: usize = 8;
    for round in 0..5 {
        let key = format!("key-{round}");
        let barrier = Arc::new(Barrier::new(RACERS));
        let results: Vec<(String, Result<(), CasConflict>)> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..RACERS)
                .map(|i| {
                    let tree = handles[i % 2].clone();
                    let (barrier, key) = (barrier.clone(), key.clone());
                    scope.spawn(move || {
                        let me = format!("racer-{i}");
                        barrier.wait();
                        let none: Option<&[u8]> = None;
                        let result = tree
                            .compare_and_swap(key.as_bytes(), none, Some(me.as_bytes()))
                            .expect("cas");
                        (me, result)
                    })
                })
                .collect();
            racers
                .into_iter()
                .map(|r| r.join().expect("racer"))
                .collect()
        });
        let winners: Vec<&String> = results
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(me, _)| me)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let stored = handles[0].get(key.as_bytes()).expect("get");
        assert_eq!(stored.as_deref(), Some(winners[0].as_bytes()));
        for (_, r) in &results {
            if let Err(conflict) = r {
                assert_eq!(conflict.current, stored, "a loser sees the winner");
            }
        }
    }
}

/// Read-modify-write through compare-and-swap from two hosts loses no
/// update.
pub fn concurrent_updates_from_two_handles_lose_nothing<B: KvBackend>(b: &B) {
    let first = b.open();
    let second = b.second_handle(&first);
    let handles = [
        first.open_tree("counter").expect("tree"),
        second.open_tree("counter").expect("tree"),
    ];
    std::thread::scope(|scope| {
        for i in 0..4 {
            let tree = handles[i % 2].clone();
            scope.spawn(move || {
                for _ in 0..20 {
                    tree.update_and_fetch(b"n", |old| {
                        let n = old
                            .and_then(|v| <[u8; 8]>::try_from(v).ok())
                            .map_or(0, u64::from_be_bytes);
                        Some((n + 1).to_be_bytes().to_vec())
                    })
                    .expect("update");
                }
            });
        }
    });
    assert_eq!(
        handles[1].get(b"n").expect("get"),
        Some(80u64.to_be_bytes().to_vec())
    );
}

pub fn scans_come_in_byte_order<B: KvBackend>(b: &B) {
    let t = b.open().open_tree("ordered").expect("tree");
    let mut expected: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"a".to_vec(),
        b"a\x00".to_vec(),
        b"ab".to_vec(),
        b"ab\xff".to_vec(),
        b"b".to_vec(),
        vec![0x7f],
        vec![0x80],
        vec![0xff],
        vec![0xff, 0xff],
    ];
    // Inserted out of order.
    for k in expected.iter().rev() {
        t.insert(k, k).expect("insert");
    }
    assert_eq!(keys(t.iter()), expected);
    let (first, last) = (t.first().expect("first"), t.last().expect("last"));
    assert_eq!(first.map(|p| p.0), Some(Vec::new()));
    assert_eq!(last.map(|p| p.0), Some(vec![0xff, 0xff]));
    assert_eq!(
        keys(t.scan_prefix(b"a")),
        vec![
            b"a".to_vec(),
            b"a\x00".to_vec(),
            b"ab".to_vec(),
            b"ab\xff".to_vec()
        ]
    );
    assert_eq!(
        keys(t.scan_prefix([0xff])),
        vec![vec![0xff], vec![0xff, 0xff]]
    );
    assert_eq!(
        keys(t.scan_prefix(b"a").rev()),
        vec![
            b"ab\xff".to_vec(),
            b"ab".to_vec(),
            b"a\x00".to_vec(),
            b"a".to_vec()
        ]
    );
    assert_eq!(
        keys(t.range(b"a\x00".as_slice()..b"b".as_slice())),
        vec![b"a\x00".to_vec(), b"ab".to_vec(), b"ab\xff".to_vec()]
    );
    assert_eq!(
        keys(t.range(..b"a\x00".as_slice()).rev()),
        vec![b"a".to_vec(), b"".to_vec()]
    );
    assert_eq!(
        keys(t.range(b"z".as_slice()..b"a".as_slice())),
        Vec::<Vec<u8>>::new()
    );
    expected.reverse();
    assert_eq!(keys(t.iter().rev()), expected);
}

/// Tables larger than one page stream through whole, both ways, also
/// while the caller removes what it has read (the session sweep).
pub fn large_scans_page_through<B: KvBackend>(b: &B) {
    let t = b.open().open_tree("large").expect("tree");
    let all: Vec<Vec<u8>> = (0u32..700).map(|i| i.to_be_bytes().to_vec()).collect();
    for k in &all {
        t.insert(k, b"v").expect("insert");
    }
    assert_eq!(keys(t.iter()), all);
    let mut reversed = all.clone();
    reversed.reverse();
    assert_eq!(keys(t.iter().rev()), reversed);
    let mut tail = all[300..].to_vec();
    tail.reverse();
    assert_eq!(keys(t.range(all[300].as_slice()..).rev()), tail);
    assert_eq!(keys(t.range(..all[650].as_slice())), all[..650].to_vec());
}

pub fn removing_while_iterating_removes_all<B: KvBackend>(b: &B) {
    let t = b.open().open_tree("sweep").expect("tree");
    for i in 0u32..600 {
        t.insert(i.to_be_bytes(), b"v").expect("insert");
    }
    let mut removed = 0;
    for pair in t.iter() {
        let (k, _) = pair.expect("scan");
        t.remove(k).expect("remove");
        removed += 1;
    }
    assert_eq!(removed, 600);
    assert!(t.is_empty().expect("is_empty"));
}

pub fn reopening_finds_what_was_flushed<B: KvBackend>(b: &B) {
    {
        let tables = b.open();
        let t = tables.open_tree("kept").expect("tree");
        t.insert(b"k", b"v").expect("insert");
        t.insert(b"gone", b"v").expect("insert");
        t.remove(b"gone").expect("remove");
        let id = tables.generate_id().expect("id");
        assert!(tables.generate_id().expect("id") > id, "ids grow");
        tables.flush().expect("flush");
    }
    let tables = b.open();
    let t = tables.open_tree("kept").expect("tree");
    assert_eq!(t.get(b"k").expect("get"), Some(b"v".to_vec()));
    assert_eq!(t.get(b"gone").expect("get"), None);
    assert_eq!(t.len().expect("len"), 1);
}

/// One `#[test]` per case for `$backend` (an expression implementing
/// [`KvBackend`]).
#[macro_export]
macro_rules! kv_conformance_tests {
    ($backend:expr) => {
        $crate::kv_conformance_tests!(@cases $backend;
            values_round_trip,
            tables_are_separate,
            compare_and_swap_refuses_stale_values,
            concurrent_claims_from_two_handles_have_one_winner,
            concurrent_updates_from_two_handles_lose_nothing,
            scans_come_in_byte_order,
            large_scans_page_through,
            removing_while_iterating_removes_all,
            reopening_finds_what_was_flushed,
        );
    };
    (@cases $backend:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let backend = $backend;
                $crate::kv_conformance::$case(&backend);
            }
        )*
    };
}
