//! The key-value storage underneath the state, and the change sets a block produces.
//!
//! The state machine never writes to a [`Store`] itself: executing a block yields a
//! [`ChangeSet`] that the caller applies (the node in one atomic database transaction, tests
//! with [`MemoryStore::apply`]). [`Layered`] reads a store as if a change set were applied, so
//! a node can execute on top of blocks that are not yet committed.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// Read access to committed state: raw keys and values in key order.
pub trait Store {
    /// The value stored under `key`.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
    /// The value stored under `key`, borrowed where the store holds it in memory (the
    /// overlay's hot reads use this; the default copies through [`Store::get`]).
    fn get_ref(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        self.get(key).map(Cow::Owned)
    }
    /// Every entry whose key starts with `prefix`, in ascending key order.
    fn scan_prefix(&self, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)>;
}

/// The writes of one or more blocks, sorted by key; `None` deletes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// `(key, new value)` pairs in ascending key order, each key once.
    pub writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl ChangeSet {
    /// The change set that applies `first` and then `then`.
    pub fn merged(first: &ChangeSet, then: &ChangeSet) -> ChangeSet {
        let mut writes: BTreeMap<Vec<u8>, Option<Vec<u8>>> = first.writes.iter().cloned().collect();
        writes.extend(then.writes.iter().cloned());
        ChangeSet {
            writes: writes.into_iter().collect(),
        }
    }
}

/// An in-memory [`Store`] for tests, tools and the read side of small deployments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryStore {
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl MemoryStore {
    /// Applies a block's writes.
    pub fn apply(&mut self, changes: &ChangeSet) {
        for (key, value) in &changes.writes {
            match value {
                Some(value) => self.entries.insert(key.clone(), value.clone()),
                None => self.entries.remove(key),
            };
        }
    }

    /// Number of stored entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.entries.get(key).cloned()
    }

    fn get_ref(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        self.entries
            .get(key)
            .map(|value| Cow::Borrowed(value.as_slice()))
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.entries
            .range(prefix.to_vec()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    }
}

/// A store seen through uncommitted changes: `base` with `changes` applied on top.
#[derive(Debug)]
pub struct Layered<'a, S: Store + ?Sized> {
    base: &'a S,
    changes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl<'a, S: Store + ?Sized> Layered<'a, S> {
    /// `base` as it will be once `changes` are applied.
    pub fn new(base: &'a S, changes: &ChangeSet) -> Self {
        Layered {
            base,
            changes: changes.writes.iter().cloned().collect(),
        }
    }
}

impl<S: Store + ?Sized> Store for Layered<'_, S> {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        match self.changes.get(key) {
            Some(value) => value.clone(),
            None => self.base.get(key),
        }
    }

    fn get_ref(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        match self.changes.get(key) {
            Some(value) => value.as_deref().map(Cow::Borrowed),
            None => self.base.get_ref(key),
        }
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        merge_prefix(self.base.scan_prefix(prefix), &self.changes, prefix)
    }
}

/// `base` entries under `prefix` with `changes` applied, in key order: one linear merge of
/// two sorted sequences (most scans have no pending change under their prefix at all).
pub(crate) fn merge_prefix(
    base: Vec<(Vec<u8>, Vec<u8>)>,
    changes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    prefix: &[u8],
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut changed = changes
        .range(prefix.to_vec()..)
        .take_while(|(key, _)| key.starts_with(prefix))
        .peekable();
    if changed.peek().is_none() {
        return base;
    }
    let mut merged = Vec::with_capacity(base.len());
    let mut base = base.into_iter().peekable();
    loop {
        let take_change = match (base.peek(), changed.peek()) {
            (None, None) => break,
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (Some((base_key, _)), Some((change_key, _))) => {
                change_key.as_slice() <= base_key.as_slice()
            }
        };
        if take_change {
            let Some((key, value)) = changed.next() else {
                break;
            };
            if base.peek().is_some_and(|(base_key, _)| base_key == key) {
                base.next();
            }
            if let Some(value) = value {
                merged.push((key.clone(), value.clone()));
            }
        } else if let Some(entry) = base.next() {
            merged.push(entry);
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[(&[u8], Option<&[u8]>)]) -> ChangeSet {
        ChangeSet {
            writes: pairs
                .iter()
                .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
                .collect(),
        }
    }

    #[test]
    fn layered_reads_see_changes_and_deletions_in_key_order() {
        let mut base = MemoryStore::default();
        base.apply(&set(&[
            (b"a1", Some(b"x")),
            (b"a2", Some(b"y")),
            (b"b1", Some(b"z")),
        ]));
        let layered = Layered::new(&base, &set(&[(b"a2", None), (b"a0", Some(b"w"))]));
        assert_eq!(layered.get(b"a2"), None);
        assert_eq!(layered.get(b"b1"), Some(b"z".to_vec()));
        let keys: Vec<_> = layered
            .scan_prefix(b"a")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, vec![b"a0".to_vec(), b"a1".to_vec()]);
    }

    #[test]
    fn merged_change_sets_keep_the_later_write() {
        let merged = ChangeSet::merged(&set(&[(b"k", Some(b"1"))]), &set(&[(b"k", None)]));
        assert_eq!(merged, set(&[(b"k", None)]));
    }
}
