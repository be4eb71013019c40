//! The queue's start-mark contract (`weft_tests::queue_conformance`), run
//! against the marks on sled and on PostgreSQL.

mod sled_backend {
    use std::sync::Arc;
    use weft_server::kv::Tables;
    use weft_server::recovery::{KvMarks, StartMarkStore};
    use weft_tests::queue_conformance::MarkBackend;

    /// Each case gets its own directory; a name is a database inside it.
    struct Sled(tempfile::TempDir);

    impl MarkBackend for Sled {
        fn open(&self, name: &str) -> Arc<dyn StartMarkStore> {
            let db = sled::open(self.0.path().join(name)).expect("open sled");
            Arc::new(KvMarks::open(&Tables::Sled(db)).expect("open marks"))
        }
    }

    weft_tests::queue_conformance_tests!(Sled(tempfile::tempdir().expect("tempdir")));
}

mod postgres {
    use std::sync::Arc;
    use weft_pg::testing::TestDatabase;
    use weft_server::kv::Tables;
    use weft_server::recovery::{KvMarks, StartMarkStore};
    use weft_tests::queue_conformance::MarkBackend;

    /// Each case gets its own migrated database (every case uses one
    /// name); each open is a new connection pool, as after a restart.
    struct Postgres(TestDatabase);

    fn migrated() -> Postgres {
        let db = TestDatabase::create().expect("PostgreSQL must be reachable for these tests");
        weft_pg::migrate(&db.connect().expect("connect")).expect("migrate");
        Postgres(db)
    }

    impl MarkBackend for Postgres {
        fn open(&self, _name: &str) -> Arc<dyn StartMarkStore> {
            let db = self.0.connect().expect("connect");
            Arc::new(KvMarks::open(&Tables::Pg(db)).expect("open marks"))
        }
    }

    weft_tests::queue_conformance_tests!(migrated());
}
