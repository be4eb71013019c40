//! The history store contract (`weft_tests::store_conformance`), run
//! against the embedded sled store.

use std::path::PathBuf;
use std::sync::Arc;
use weft_host::{RunStore, SledStore};
use weft_tests::store_conformance::Backend;

/// Each case gets its own directory; a name is a store inside it.
struct Sled(tempfile::TempDir);

impl Sled {
    fn new() -> Sled {
        Sled(tempfile::tempdir().expect("tempdir"))
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

impl Backend for Sled {
    fn open(&self, name: &str) -> Arc<dyn RunStore> {
        Arc::new(SledStore::open(self.dir(name)).expect("open sled store"))
    }
}

weft_tests::conformance_tests!(Sled::new());
