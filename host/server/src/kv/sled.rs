//! [`Table`] over a sled tree: the embedded backend. Every call is sled's
//! own, so data directories written before this trait existed open
//! unchanged (same tree names, same bytes).

use super::{CasConflict, KvError, Pair, Table};
use std::ops::Bound;

pub struct SledTable {
    tree: ::sled::Tree,
}

impl SledTable {
    pub fn new(tree: ::sled::Tree) -> Self {
        SledTable { tree }
    }
}

fn ivec(b: Bound<&[u8]>) -> Bound<::sled::IVec> {
    match b {
        Bound::Included(k) => Bound::Included(k.into()),
        Bound::Excluded(k) => Bound::Excluded(k.into()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl Table for SledTable {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.tree.get(key)?.map(|v| v.to_vec()))
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.tree.insert(key, value)?.map(|v| v.to_vec()))
    }

    fn remove(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.tree.remove(key)?.map(|v| v.to_vec()))
    }

    fn compare_and_swap(
        &self,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<Result<(), CasConflict>, KvError> {
        Ok(self
            .tree
            .compare_and_swap(key, old, new)?
            .map_err(|e| CasConflict {
                current: e.current.map(|v| v.to_vec()),
            }))
    }

    fn scan(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<Pair>, KvError> {
        // sled panics on a range whose start lies past its end.
        if let (Bound::Included(l) | Bound::Excluded(l), Bound::Included(u) | Bound::Excluded(u)) =
            (lower, upper)
        {
            let empty = match (lower, upper) {
                (Bound::Included(_), Bound::Included(_)) => l > u,
                _ => l >= u,
            };
            if empty {
                return Ok(Vec::new());
            }
        }
        let range = self.tree.range((ivec(lower), ivec(upper)));
        let pairs: Box<dyn Iterator<Item = _>> = if reverse {
            Box::new(range.rev())
        } else {
            Box::new(range)
        };
        pairs
            .take(limit)
            .map(|r| {
                r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(KvError::from)
            })
            .collect()
    }

    fn len(&self) -> Result<usize, KvError> {
        Ok(self.tree.len())
    }

    fn flush(&self) -> Result<(), KvError> {
        self.tree.flush()?;
        Ok(())
    }
}
