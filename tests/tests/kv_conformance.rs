//! The server tables' contract (`weft_tests::kv_conformance`), run
//! against sled and against PostgreSQL (a throwaway database per case).

mod sled_backend {
    use weft_server::kv::Tables;
    use weft_tests::kv_conformance::KvBackend;

    /// Each case gets its own directory.
    struct Sled(tempfile::TempDir);

    impl KvBackend for Sled {
        fn open(&self) -> Tables {
            Tables::Sled(sled::open(self.0.path().join("db")).expect("open sled"))
        }
        fn second_handle(&self, tables: &Tables) -> Tables {
            tables.clone()
        }
    }

    weft_tests::kv_conformance_tests!(Sled(tempfile::tempdir().expect("tempdir")));
}

mod postgres {
    use weft_pg::testing::TestDatabase;
    use weft_server::kv::Tables;
    use weft_tests::kv_conformance::KvBackend;

    /// Each case gets its own migrated database; every handle is a pool
    /// of its own, as another host's would be.
    struct Postgres(TestDatabase);

    fn migrated() -> Postgres {
        let db = TestDatabase::create().expect("PostgreSQL must be reachable for these tests");
        weft_pg::migrate(&db.connect().expect("connect")).expect("migrate");
        Postgres(db)
    }

    impl KvBackend for Postgres {
        fn open(&self) -> Tables {
            Tables::Pg(self.0.connect().expect("connect"))
        }
        fn second_handle(&self, _: &Tables) -> Tables {
            self.open()
        }
    }

    weft_tests::kv_conformance_tests!(migrated());
}
