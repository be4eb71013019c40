//! Signed webhooks are accepted once.
//!
//! A signature (`X-Weft-Signature: t=…,v1=…`) is valid for the tolerance
//! window around its timestamp; without memory, anyone who saw one request
//! could send it again within that window and start another run. Each
//! accepted signature is recorded, durably, in the `webhook_signatures`
//! tree until its timestamp leaves the window (after which the timestamp
//! check refuses it anyway), and a second request with it is refused with
//! 409 `webhook_replayed`. Records are swept as they expire, so the tree
//! holds at most one window's worth of accepted requests.

use std::sync::atomic::{AtomicI64, Ordering};

/// How often expired records are swept, at most.
const SWEEP_EVERY_SECS: i64 = 60;

pub struct ReplayGuard {
    tree: crate::kv::Tree,
    last_sweep: AtomicI64,
}

/// What [`ReplayGuard::claim`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// First use: the caller goes on, and calls [`ReplayGuard::accepted`]
    /// or [`ReplayGuard::release`].
    Fresh,
    /// Seen before; the run the first request started, if it got that far.
    Replayed { run_id: Option<String> },
}

impl ReplayGuard {
    pub fn open(db: &crate::kv::Tables) -> Result<Self, crate::kv::KvError> {
        Ok(ReplayGuard {
            tree: db.open_tree("webhook_signatures")?,
            last_sweep: AtomicI64::new(0),
        })
    }

    fn key(automation: &str, signature: &[u8]) -> Vec<u8> {
        let mut key = automation.as_bytes().to_vec();
        key.push(0);
        key.extend_from_slice(signature);
        key
    }

    /// Record `signature` for `automation`, kept until `expires_at` (Unix
    /// seconds), unless it is already recorded. Atomic: of two identical
    /// requests racing, one is fresh and the other a replay.
    pub fn claim(
        &self,
        automation: &str,
        signature: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<Claim, crate::kv::KvError> {
        self.sweep(now);
        let key = Self::key(automation, signature);
        match self.tree.compare_and_swap(
            &key,
            None as Option<&[u8]>,
            Some(&expires_at.to_be_bytes()[..]),
        )? {
            Ok(()) => {
                // Durable before the request is answered: a replay sent
                // after a crash must still be refused.
                self.tree.flush()?;
                Ok(Claim::Fresh)
            }
            Err(found) => Ok(Claim::Replayed {
                run_id: found
                    .current
                    .and_then(|v| v.get(8..).map(|r| String::from_utf8_lossy(r).into_owned()))
                    .filter(|r| !r.is_empty()),
            }),
        }
    }

    /// The first request with `signature` started `run_id`: remember it so
    /// a replay can name it.
    pub fn accepted(
        &self,
        automation: &str,
        signature: &[u8],
        expires_at: i64,
        run_id: &str,
    ) -> Result<(), crate::kv::KvError> {
        let mut value = expires_at.to_be_bytes().to_vec();
        value.extend_from_slice(run_id.as_bytes());
        self.tree.insert(Self::key(automation, signature), value)?;
        Ok(())
    }

    /// The request with `signature` was not accepted after all (disabled,
    /// rate-limited, queue full): its sender may retry it as it is.
    pub fn release(&self, automation: &str, signature: &[u8]) -> Result<(), crate::kv::KvError> {
        self.tree.remove(Self::key(automation, signature))?;
        Ok(())
    }

    /// Drop records whose window has passed (at most once a minute).
    fn sweep(&self, now: i64) {
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now - last < SWEEP_EVERY_SECS
            || self
                .last_sweep
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        for (key, value) in self.tree.iter().flatten() {
            let expired = value
                .get(..8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .is_none_or(|b| i64::from_be_bytes(b) < now);
            if expired {
                let _ = self.tree.remove(key);
            }
        }
    }

    /// Records held now (for tests and metrics).
    pub fn len(&self) -> Result<usize, crate::kv::KvError> {
        self.tree.len()
    }

    pub fn is_empty(&self) -> Result<bool, crate::kv::KvError> {
        self.tree.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_fresh_once_and_swept_after_it_expires() {
        let db = crate::kv::Tables::Sled(sled::Config::new().temporary(true).open().expect("db"));
        let guard = ReplayGuard::open(&db).expect("guard");
        assert_eq!(
            guard.claim("a", b"sig", 1_000, 700).ok(),
            Some(Claim::Fresh)
        );
        assert_eq!(
            guard.claim("a", b"sig", 1_000, 700).ok(),
            Some(Claim::Replayed { run_id: None })
        );
        // Another automation's identical signature is its own.
        assert_eq!(
            guard.claim("b", b"sig", 1_000, 700).ok(),
            Some(Claim::Fresh)
        );
        guard
            .accepted("a", b"sig", 1_000, "run-1")
            .expect("accepted");
        assert_eq!(
            guard.claim("a", b"sig", 1_000, 700).ok(),
            Some(Claim::Replayed {
                run_id: Some("run-1".into())
            })
        );
        guard.release("b", b"sig").expect("release");
        assert_eq!(
            guard.claim("b", b"sig", 1_000, 700).ok(),
            Some(Claim::Fresh)
        );
        // A minute later than the last sweep, past the expiry: swept.
        assert_eq!(
            guard.claim("c", b"x", 2_000, 1_001).ok(),
            Some(Claim::Fresh)
        );
        assert_eq!(guard.len().expect("len"), 1);
    }
}
