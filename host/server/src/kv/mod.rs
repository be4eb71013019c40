//! The server's own tables (users, tokens, sessions, automations,
//! connections, connector installs, audit, replay memory, start marks,
//! schedule marks, OAuth2 authorizations) as named, ordered byte maps,
//! behind one small trait with two backends: the embedded sled database
//! (one process, the default) and PostgreSQL (several hosts sharing one
//! database, the `kv` table).
//!
//! The stores above this module only ever needed sled's tree operations:
//! point reads and writes, compare-and-swap, ordered scans. [`Table`] is
//! exactly that much, so both backends can keep the stores' atomicity
//! promises (a CAS is atomic across processes on PostgreSQL too) and the
//! sled layout stays byte for byte what it was.
//!
//! Handles are [`Tree`] = `Arc<dyn Table>`: the stores clone them into
//! tasks freely, and stay ignorant of the backend; one virtual call is
//! nothing beside a disk or network round trip.

mod pg;
mod sled;

pub use self::pg::PgTable;
pub use self::sled::SledTable;

use std::collections::VecDeque;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

/// A key and its value.
pub type Pair = (Vec<u8>, Vec<u8>);

/// What can go wrong reading or writing a table.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("server store: {0}")]
    Sled(#[from] ::sled::Error),
    #[error("server store: {0}")]
    Pg(#[from] weft_pg::PgError),
}

impl KvError {
    /// The backend cannot be reached (or is shutting down) rather than
    /// refusing the operation: worth a retry later.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            KvError::Pg(weft_pg::PgError::Unreachable { .. } | weft_pg::PgError::Stopped)
        )
    }
}

/// A compare-and-swap found another value than expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasConflict {
    /// The value found instead (as read right after the failed swap).
    pub current: Option<Vec<u8>>,
}

/// Keys read per round trip when iterating.
const PAGE: usize = 256;

/// One named table of ordered byte keys.
pub trait Table: Send + Sync {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError>;

    /// Set `key`; returns the value it replaced.
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>, KvError>;

    /// Drop `key`; returns the value it had.
    fn remove(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError>;

    /// Set `key` to `new` (`None`: remove it) if its value is `old`
    /// (`None`: absent), atomically, also against other processes on the
    /// same database.
    fn compare_and_swap(
        &self,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<Result<(), CasConflict>, KvError>;

    /// Up to `limit` pairs with keys between `lower` and `upper`, in
    /// ascending key order, or descending when `reverse`. Byte order,
    /// shorter first on a common prefix, on both backends.
    fn scan(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<Pair>, KvError>;

    /// How many keys the table holds (counts them: not for hot paths).
    fn len(&self) -> Result<usize, KvError>;

    fn is_empty(&self) -> Result<bool, KvError> {
        Ok(self
            .scan(Bound::Unbounded, Bound::Unbounded, false, 1)?
            .is_empty())
    }

    /// Make every change made before it durable (a no-op where every
    /// statement commits).
    fn flush(&self) -> Result<(), KvError>;
}

/// A shared handle on one table, with sled's calling conventions (any
/// `AsRef<[u8]>` for keys and values) so the stores read as they did.
#[derive(Clone)]
pub struct Tree(Arc<dyn Table>);

impl Tree {
    pub fn new(table: Arc<dyn Table>) -> Self {
        Tree(table)
    }

    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>, KvError> {
        self.0.get(key.as_ref())
    }

    /// Set `key`; returns the value it replaced.
    pub fn insert(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<Option<Vec<u8>>, KvError> {
        self.0.insert(key.as_ref(), value.as_ref())
    }

    /// Drop `key`; returns the value it had.
    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>, KvError> {
        self.0.remove(key.as_ref())
    }

    /// [`Table::compare_and_swap`].
    pub fn compare_and_swap<O: AsRef<[u8]>, N: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        old: Option<O>,
        new: Option<N>,
    ) -> Result<Result<(), CasConflict>, KvError> {
        self.0.compare_and_swap(
            key.as_ref(),
            old.as_ref().map(AsRef::as_ref),
            new.as_ref().map(AsRef::as_ref),
        )
    }

    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool, KvError> {
        Ok(self.get(key)?.is_some())
    }

    pub fn len(&self) -> Result<usize, KvError> {
        self.0.len()
    }

    pub fn is_empty(&self) -> Result<bool, KvError> {
        self.0.is_empty()
    }

    pub fn first(&self) -> Result<Option<Pair>, KvError> {
        Ok(self
            .0
            .scan(Bound::Unbounded, Bound::Unbounded, false, 1)?
            .pop())
    }

    pub fn last(&self) -> Result<Option<Pair>, KvError> {
        Ok(self
            .0
            .scan(Bound::Unbounded, Bound::Unbounded, true, 1)?
            .pop())
    }

    pub fn flush(&self) -> Result<(), KvError> {
        self.0.flush()
    }

    /// Apply `f` to the current value (`None`: absent) and store what it
    /// returns (`None`: remove), retrying on concurrent changes; returns
    /// the stored value.
    pub fn update_and_fetch<V: Into<Vec<u8>>>(
        &self,
        key: impl AsRef<[u8]>,
        mut f: impl FnMut(Option<&[u8]>) -> Option<V>,
    ) -> Result<Option<Vec<u8>>, KvError> {
        let key = key.as_ref();
        let mut current = self.0.get(key)?;
        loop {
            let next = f(current.as_deref()).map(Into::into);
            match self
                .0
                .compare_and_swap(key, current.as_deref(), next.as_deref())?
            {
                Ok(()) => return Ok(next),
                Err(conflict) => current = conflict.current,
            }
        }
    }

    /// Every pair in key order, read a page at a time.
    pub fn iter(&self) -> Iter {
        self.range::<&[u8], _>(..)
    }

    /// The pairs in `range`, ascending; `.rev()` for descending.
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Iter {
        Iter {
            table: self.0.clone(),
            lower: owned(range.start_bound()),
            upper: owned(range.end_bound()),
            front: VecDeque::new(),
            reverse: false,
            done: false,
        }
    }

    /// The pairs whose key starts with `prefix`, ascending.
    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        let prefix = prefix.as_ref();
        match prefix_end(prefix) {
            Some(end) => self.range(prefix..end.as_slice()),
            None => self.range(prefix..),
        }
    }
}

fn owned<K: AsRef<[u8]>>(b: Bound<&K>) -> Bound<Vec<u8>> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_ref().to_vec()),
        Bound::Excluded(k) => Bound::Excluded(k.as_ref().to_vec()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn borrowed(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k),
        Bound::Excluded(k) => Bound::Excluded(k),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// The first key past every key starting with `prefix`; `None` when no
/// key is (the prefix is empty or all 0xff).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Pairs of a range, fetched [`PAGE`] at a time so a large table streams
/// instead of being loaded whole.
pub struct Iter {
    table: Arc<dyn Table>,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    front: VecDeque<Pair>,
    reverse: bool,
    done: bool,
}

impl Iter {
    /// Descending key order (only before the first `next`).
    pub fn rev(mut self) -> Self {
        self.reverse = !self.reverse;
        self
    }

    /// Only the keys.
    pub fn keys(self) -> impl Iterator<Item = Result<Vec<u8>, KvError>> {
        self.map(|r| r.map(|(k, _)| k))
    }

    /// Only the values.
    pub fn values(self) -> impl Iterator<Item = Result<Vec<u8>, KvError>> {
        self.map(|r| r.map(|(_, v)| v))
    }

    fn refill(&mut self) -> Result<(), KvError> {
        let page = self.table.scan(
            borrowed(&self.lower),
            borrowed(&self.upper),
            self.reverse,
            PAGE,
        )?;
        if page.len() < PAGE {
            self.done = true;
        }
        if let Some((key, _)) = page.last() {
            // The next page starts past the last key read.
            let past = Bound::Excluded(key.clone());
            if self.reverse {
                self.upper = past;
            } else {
                self.lower = past;
            }
        }
        self.front.extend(page);
        Ok(())
    }
}

impl Iterator for Iter {
    type Item = Result<Pair, KvError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.front.is_empty()
            && !self.done
            && let Err(e) = self.refill()
        {
            self.done = true;
            return Some(Err(e));
        }
        self.front.pop_front().map(Ok)
    }
}

/// Where the server's tables live: opens them by name.
#[derive(Clone)]
pub enum Tables {
    /// The embedded database (`<data dir>/server`): each table a sled
    /// tree of the same name.
    Sled(::sled::Db),
    /// The `kv` table of a PostgreSQL database, one `tree` value per table.
    Pg(weft_pg::Database),
}

impl Tables {
    /// The table `name` (created empty on first use).
    pub fn open_tree(&self, name: &str) -> Result<Tree, KvError> {
        Ok(match self {
            Tables::Sled(db) => Tree(Arc::new(SledTable::new(db.open_tree(name)?))),
            Tables::Pg(db) => Tree(Arc::new(PgTable::new(db.clone(), name))),
        })
    }

    /// A number unique in this store and larger than every one handed
    /// out before (sled's id generator; a sequence on PostgreSQL).
    pub fn generate_id(&self) -> Result<u64, KvError> {
        match self {
            Tables::Sled(db) => Ok(db.generate_id()?),
            Tables::Pg(db) => pg::generate_id(db),
        }
    }

    /// Make every change made before it durable.
    pub fn flush(&self) -> Result<(), KvError> {
        match self {
            Tables::Sled(db) => {
                db.flush()?;
                Ok(())
            }
            Tables::Pg(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_is_the_next_key_past_the_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
        assert_eq!(prefix_end(b""), None);
    }
}
