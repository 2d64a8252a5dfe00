//! The working state of a block: typed reads and writes over a [`Store`], with checkpoints so
//! that a failing transaction is undone exactly.

use std::cell::Cell;
use std::collections::BTreeMap;

use parity_scale_codec::{Decode, Encode};

use crate::error::StateError;
use crate::root::{LATTICE_KEY, Lattice};
use crate::store::{ChangeSet, Store, merge_prefix};

/// One storage item: a map from `Key` to `Value` under a fixed key prefix.
///
/// Keys are the prefix followed by the SCALE encoding of the key, so maps keyed by tuples can
/// be scanned by their leading components.
pub trait Item {
    /// Bytes every key of this item starts with; no prefix is a prefix of another.
    const PREFIX: &'static [u8];
    /// What the item is keyed by (`()` for a single value).
    type Key: Encode + Decode;
    /// What it stores.
    type Value: Encode + Decode;
}

/// A raw value as the overlay holds it: `None` is a deletion.
type RawValue = Option<Vec<u8>>;

/// Entries of an item, decoded.
pub type Entries<I> = Vec<(<I as Item>::Key, <I as Item>::Value)>;

/// A position in the write journal to roll back to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint(usize);

/// Uncommitted writes over a committed [`Store`].
pub struct Overlay<'a> {
    base: &'a dyn Store,
    changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// For every write since the first checkpoint after the last [`Overlay::commit_journal`],
    /// what `changes` held for that key before it (`None`: nothing). Writes made while no
    /// checkpoint is open can never be rolled back, so they are not journaled (the per-block
    /// economics write most of an epoch block that way).
    journal: Vec<(Vec<u8>, Option<RawValue>)>,
    /// Whether a checkpoint was taken since the journal was last committed.
    journaling: Cell<bool>,
}

impl<'a> Overlay<'a> {
    /// An empty overlay on `base`.
    pub fn new(base: &'a dyn Store) -> Self {
        Overlay {
            base,
            changes: BTreeMap::new(),
            journal: Vec::new(),
            journaling: Cell::new(false),
        }
    }

    /// The value of `key` in `I`, if any.
    pub fn get<I: Item>(&self, key: &I::Key) -> Result<Option<I::Value>, StateError> {
        let raw = storage_key::<I>(key);
        match self.changes.get(&raw) {
            Some(value) => value
                .as_deref()
                .map(|bytes| decode_exact::<I::Value>(I::PREFIX, bytes))
                .transpose(),
            None => self
                .base
                .get_ref(&raw)
                .map(|bytes| decode_exact::<I::Value>(I::PREFIX, &bytes))
                .transpose(),
        }
    }

    /// The value of `key` in `I`, or the value's default.
    pub fn get_or_default<I: Item>(&self, key: &I::Key) -> Result<I::Value, StateError>
    where
        I::Value: Default,
    {
        Ok(self.get::<I>(key)?.unwrap_or_default())
    }

    /// Whether `key` has a value in `I`.
    pub fn contains<I: Item>(&self, key: &I::Key) -> bool {
        let raw = storage_key::<I>(key);
        match self.changes.get(&raw) {
            Some(value) => value.is_some(),
            None => self.base.get_ref(&raw).is_some(),
        }
    }

    /// Stores `value` under `key` in `I`.
    pub fn put<I: Item>(&mut self, key: &I::Key, value: &I::Value) {
        self.write(storage_key::<I>(key), Some(value.encode()));
    }

    /// Deletes `key` from `I`.
    pub fn remove<I: Item>(&mut self, key: &I::Key) {
        self.write(storage_key::<I>(key), None);
    }

    /// Every entry of `I` whose key starts with the encoding of `leading` (for example the
    /// first field of a tuple key), in key order.
    pub fn scan<I: Item>(&self, leading: &impl Encode) -> Result<Entries<I>, StateError> {
        self.scan_with::<I, I::Value>(leading, |bytes| decode_exact(I::PREFIX, bytes).ok())
    }

    /// Like [`Overlay::scan`], but each value is decoded by `value` (`None`: corrupt) instead
    /// of its `Decode` implementation: for hot paths with a hand-written decoder that accepts
    /// exactly the bytes the codec accepts and may keep only part of the value.
    pub(crate) fn scan_with<I: Item, V>(
        &self,
        leading: &impl Encode,
        mut value: impl FnMut(&[u8]) -> Option<V>,
    ) -> Result<Vec<(I::Key, V)>, StateError> {
        let mut prefix = I::PREFIX.to_vec();
        leading.encode_to(&mut prefix);
        let entries = merge_prefix(self.base.scan_prefix(&prefix), &self.changes, &prefix);
        entries
            .into_iter()
            .map(|(raw_key, bytes)| {
                let key_bytes = raw_key.get(I::PREFIX.len()..).unwrap_or_default();
                Ok((
                    decode_exact::<I::Key>(I::PREFIX, key_bytes)?,
                    value(&bytes).ok_or(StateError::Corrupt(prefix_name(I::PREFIX)))?,
                ))
            })
            .collect()
    }

    /// Marks the current state so that [`Overlay::rollback`] can return to it.
    pub fn checkpoint(&self) -> Checkpoint {
        self.journaling.set(true);
        Checkpoint(self.journal.len())
    }

    /// Undoes every write made since `checkpoint`.
    pub fn rollback(&mut self, checkpoint: Checkpoint) {
        while self.journal.len() > checkpoint.0 {
            let Some((key, previous)) = self.journal.pop() else {
                break;
            };
            match previous {
                Some(value) => self.changes.insert(key, value),
                None => self.changes.remove(&key),
            };
        }
    }

    /// Forgets the journal (the writes stay); called between transactions.
    pub fn commit_journal(&mut self) {
        self.journal.clear();
        self.journaling.set(false);
    }

    /// The writes made so far, with the lattice (and so the state root) updated for them.
    pub fn into_changes(self) -> Result<(ChangeSet, Lattice), StateError> {
        let mut lattice = match self.base.get(LATTICE_KEY) {
            Some(bytes) => Lattice::from_bytes(&bytes).ok_or(StateError::Corrupt("lattice"))?,
            None => Lattice::default(),
        };
        let mut writes: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::with_capacity(self.changes.len());
        for (key, value) in self.changes {
            let old = self.base.get_ref(&key);
            if old.as_deref() == value.as_deref() {
                continue;
            }
            if !key.starts_with(b"\xff") {
                if let Some(old) = &old {
                    lattice.remove(&key, old);
                }
                if let Some(new) = &value {
                    lattice.insert(&key, new);
                }
            }
            writes.push((key, value));
        }
        writes.push((LATTICE_KEY.to_vec(), Some(lattice.to_bytes())));
        writes.sort_by(|a, b| a.0.cmp(&b.0));
        Ok((ChangeSet { writes }, lattice))
    }

    fn write(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        if self.journaling.get() {
            let previous = self.changes.insert(key.clone(), value);
            self.journal.push((key, previous));
        } else {
            self.changes.insert(key, value);
        }
    }
}

/// The raw key of `key` in `I`.
pub fn storage_key<I: Item>(key: &I::Key) -> Vec<u8> {
    let mut raw = I::PREFIX.to_vec();
    key.encode_to(&mut raw);
    raw
}

/// Decodes a stored value, which must use every byte.
fn decode_exact<T: Decode>(item: &'static [u8], mut bytes: &[u8]) -> Result<T, StateError> {
    let value = T::decode(&mut bytes).map_err(|_| StateError::Corrupt(prefix_name(item)))?;
    if bytes.is_empty() {
        Ok(value)
    } else {
        Err(StateError::Corrupt(prefix_name(item)))
    }
}

fn prefix_name(prefix: &'static [u8]) -> &'static str {
    core::str::from_utf8(prefix).unwrap_or("storage item")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    struct Raw;
    impl Item for Raw {
        const PREFIX: &'static [u8] = b"t/";
        type Key = u8;
        type Value = u32;
    }

    fn values(overlay: &Overlay<'_>) -> Vec<Option<u32>> {
        (0..4)
            .map(|k| overlay.get::<Raw>(&k).ok().flatten())
            .collect()
    }

    #[test]
    fn rollback_keeps_unjournaled_writes_and_undoes_nested_checkpoints() {
        let store = MemoryStore::default();
        let mut overlay = Overlay::new(&store);
        overlay.put::<Raw>(&0, &10);
        overlay.put::<Raw>(&1, &11);
        let outer = overlay.checkpoint();
        overlay.put::<Raw>(&1, &21);
        overlay.put::<Raw>(&2, &22);
        let inner = overlay.checkpoint();
        overlay.remove::<Raw>(&0);
        overlay.put::<Raw>(&3, &33);
        overlay.rollback(inner);
        assert_eq!(values(&overlay), [Some(10), Some(21), Some(22), None]);
        overlay.rollback(outer);
        assert_eq!(values(&overlay), [Some(10), Some(11), None, None]);
        // After a commit, writes are again kept by a rollback to a later checkpoint.
        overlay.put::<Raw>(&2, &42);
        overlay.commit_journal();
        overlay.put::<Raw>(&3, &43);
        let after = overlay.checkpoint();
        overlay.put::<Raw>(&3, &53);
        overlay.rollback(after);
        assert_eq!(values(&overlay), [Some(10), Some(11), Some(42), Some(43)]);
    }
}
