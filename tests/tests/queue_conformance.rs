//! The queue's start-mark contract (`weft_tests::queue_conformance`), run
//! against the embedded sled marks.

use std::sync::Arc;
use weft_server::recovery::{SledMarks, StartMarkStore};
use weft_tests::queue_conformance::MarkBackend;

/// Each case gets its own directory; a name is a database inside it.
struct Sled(tempfile::TempDir);

impl MarkBackend for Sled {
    fn open(&self, name: &str) -> Arc<dyn StartMarkStore> {
        let db = sled::open(self.0.path().join(name)).expect("open sled");
        Arc::new(SledMarks::open(&db).expect("open marks"))
    }
}

weft_tests::queue_conformance_tests!(Sled(tempfile::tempdir().expect("tempdir")));
