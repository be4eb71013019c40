//! The idempotency key a connector block receives (contract 0.2.0's
//! `invoke-context.idempotency-key`).
//!
//! It must be the same when a run interrupted by a crash is resumed and the
//! invocation that was in flight is repeated, and different for every other
//! invocation, so a service that honours `Idempotency-Key` drops exactly
//! the duplicates. It is therefore derived only from what identifies the
//! invocation — the run, the block, the loop iterations around it and the
//! attempt — and never from a clock or a random source. The derivation is
//! part of the host's compatibility surface: a run started by one host
//! version may be resumed by the next, so changing it needs a new
//! `DOMAIN` tag and a migration story.

use sha2::{Digest, Sha256};

/// Separates this hash from any other SHA-256 use of the same bytes, and
/// versions the encoding below.
const DOMAIN: &[u8] = b"weft idempotency-key v1\0";

/// `weft-` and the hex SHA-256 of an unambiguous encoding of the tuple:
/// every string is length-prefixed and the iteration list is
/// count-prefixed, so no two different tuples share an encoding (block
/// `a` in iteration `[12]` is not block `a1` in iteration `[2]`).
pub(crate) fn idempotency_key(
    run_id: &str,
    block_id: &str,
    iteration: &[usize],
    attempt: u32,
) -> String {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    for text in [run_id, block_id] {
        h.update((text.len() as u64).to_be_bytes());
        h.update(text.as_bytes());
    }
    h.update((iteration.len() as u64).to_be_bytes());
    for i in iteration {
        h.update((*i as u64).to_be_bytes());
    }
    h.update(attempt.to_be_bytes());
    format!("weft-{}", hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::idempotency_key;
    use std::collections::HashSet;

    #[test]
    fn stable_and_shaped_for_a_header() {
        let k = idempotency_key("run-1", "Call", &[3, 0], 2);
        assert_eq!(k, idempotency_key("run-1", "Call", &[3, 0], 2));
        // Pinned: a run resumed by a newer host must send the same key as
        // the host that started it. Changing this value breaks that.
        assert_eq!(
            k,
            "weft-e4adab6d73ddec02ef24fdfd8e995eb72daf8ffd5037448b9c4040e7f842ad64"
        );
        assert!(k.len() <= 128 && k.bytes().all(|b| b.is_ascii_graphic()));
    }

    #[test]
    fn every_field_changes_the_key() {
        let base = idempotency_key("run-1", "Call", &[3, 0], 2);
        for other in [
            idempotency_key("run-2", "Call", &[3, 0], 2),
            idempotency_key("run-1", "Call2", &[3, 0], 2),
            idempotency_key("run-1", "Call", &[3, 1], 2),
            idempotency_key("run-1", "Call", &[3], 2),
            idempotency_key("run-1", "Call", &[3, 0, 0], 2),
            idempotency_key("run-1", "Call", &[3, 0], 1),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn ambiguous_concatenations_do_not_collide() {
        let keys = [
            // Where the block id ends and the iteration begins.
            idempotency_key("r", "a", &[12], 1),
            idempotency_key("r", "a1", &[2], 1),
            // Where the run id ends and the block id begins.
            idempotency_key("ra", "b", &[], 1),
            idempotency_key("r", "ab", &[], 1),
            // How the iteration list splits.
            idempotency_key("r", "a", &[1, 2], 1),
            idempotency_key("r", "a", &[12], 2),
            idempotency_key("r", "a", &[], 12),
            idempotency_key("r", "a", &[1], 2),
        ];
        let distinct: HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len(), "{keys:#?}");
    }
}
