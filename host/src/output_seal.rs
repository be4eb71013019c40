//! Sealing what a resumed run needs but its history must not show.
//!
//! A run interrupted by a crash resumes at its last durably finished block
//! (see [`crate::walker`]): the blocks before feed their recorded outputs
//! to the rest of the run. A censored block's output is never written to
//! the history, and a block's history copy has its secrets scrubbed, so
//! for those the walker keeps a second copy, sealed with the host's key,
//! and deletes it when the run ends. The engine does not hold keys: the
//! embedding program hands it an [`OutputSeal`] (the server uses the key
//! that encrypts connection secrets). Without one, such copies are not
//! kept, and a run interrupted after such a block is failed at resume with
//! an error that says so, rather than resumed with a wrong value.

/// Seals and opens a resumed run's private copies of block outputs.
pub trait OutputSeal: Send + Sync + 'static {
    /// Seal `plaintext`, bound to `context` (the run and step it belongs
    /// to), so a sealed value moved to another run or step does not open.
    fn seal(&self, context: &str, plaintext: &[u8]) -> String;
    /// Open a value sealed with the same `context`.
    fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, String>;
}

/// The context a step's sealed copy is bound to.
pub(crate) fn context(run_id: &str, seq: u64) -> String {
    format!("weft-run-output:{run_id}:{seq}")
}
