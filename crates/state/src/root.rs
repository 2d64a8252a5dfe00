//! The state root: a lattice hash over every stored entry, updated per write.
//!
//! Each entry `(key, value)` maps to 1 024 `u16` lanes (a 2 KiB blake3 XOF output); the
//! lattice is their lane-wise sum modulo 2¹⁶ and the root is the blake3 hash of the lattice.
//! Adding, removing or changing an entry costs two element hashes, independent of the size of
//! the state, and the root does not depend on the order of writes (ADR 004). The lattice itself
//! is stored under [`LATTICE_KEY`], which is excluded from the hash.

use blake3::hazmat::{ContextKey, HasherExt};
use tao_primitives::Hash256;

/// Lanes of the lattice (2 KiB), the size the lattice-hash security analysis asks for.
const LANES: usize = 1024;

/// `blake3::hazmat::hash_derive_key_context("tao state lattice v1")`, the derive-key context
/// of the element hash, so that hashing an element does not
/// hash the context string again (a test checks the two agree; the hash is unchanged).
const CONTEXT_KEY: ContextKey = [
    225, 154, 4, 61, 91, 35, 18, 208, 173, 102, 108, 54, 163, 18, 3, 59, 76, 242, 70, 138, 103, 3,
    17, 60, 97, 93, 83, 217, 54, 255, 98, 53,
];

/// Where the lattice is stored; keys starting with `0xff` are metadata, never hashed.
pub const LATTICE_KEY: &[u8] = b"\xff/state-lattice";

/// The running lattice hash of a state.
#[derive(Clone, PartialEq, Eq)]
pub struct Lattice {
    lanes: Box<[u16; LANES]>,
}

impl Default for Lattice {
    fn default() -> Self {
        Lattice {
            lanes: Box::new([0; LANES]),
        }
    }
}

impl core::fmt::Debug for Lattice {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Lattice({:?})", self.root())
    }
}

impl Lattice {
    /// Accounts for a new entry.
    pub fn insert(&mut self, key: &[u8], value: &[u8]) {
        self.apply::<true>(key, value);
    }

    /// Accounts for an entry that is removed (or about to be overwritten).
    pub fn remove(&mut self, key: &[u8], value: &[u8]) {
        self.apply::<false>(key, value);
    }

    /// Adds (or subtracts) the entry's element lane by lane, straight from the XOF output.
    fn apply<const ADD: bool>(&mut self, key: &[u8], value: &[u8]) {
        let bytes = element(key, value);
        let (pairs, _) = bytes.as_chunks::<2>();
        for (lane, pair) in self.lanes.iter_mut().zip(pairs) {
            let element = u16::from_le_bytes(*pair);
            *lane = if ADD {
                lane.wrapping_add(element)
            } else {
                lane.wrapping_sub(element)
            };
        }
    }

    /// The state root committed to by block headers.
    pub fn root(&self) -> Hash256 {
        Hash256(*blake3::hash(&self.to_bytes()).as_bytes())
    }

    /// The lattice as stored (little-endian lanes).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.lanes
            .iter()
            .flat_map(|lane| lane.to_le_bytes())
            .collect()
    }

    /// A stored lattice; `None` if `bytes` is not one.
    pub fn from_bytes(bytes: &[u8]) -> Option<Lattice> {
        if bytes.len() != LANES.saturating_mul(2) {
            return None;
        }
        let mut lattice = Lattice::default();
        for (lane, pair) in lattice.lanes.iter_mut().zip(bytes.chunks_exact(2)) {
            *lane = u16::from_le_bytes([*pair.first()?, *pair.get(1)?]);
        }
        Some(lattice)
    }
}

/// The lanes of one entry, as little-endian bytes. The key length is hashed first so that
/// `(key, value)` pairs with the same concatenation stay distinct.
fn element(key: &[u8], value: &[u8]) -> [u8; LANES * 2] {
    let mut hasher = blake3::Hasher::new_from_context_key(&CONTEXT_KEY);
    hasher.update(&u64::try_from(key.len()).unwrap_or(u64::MAX).to_le_bytes());
    hasher.update(key);
    hasher.update(value);
    let mut bytes = [0u8; LANES * 2];
    hasher.finalize_xof().fill(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTEXT: &str = "tao state lattice v1";

    #[test]
    fn root_is_independent_of_insertion_order_and_removal_undoes_insertion() {
        let mut a = Lattice::default();
        a.insert(b"k1", b"v1");
        a.insert(b"k2", b"v2");
        let mut b = Lattice::default();
        b.insert(b"k2", b"v2");
        b.insert(b"x", b"y");
        b.insert(b"k1", b"v1");
        b.remove(b"x", b"y");
        assert_eq!(a.root(), b.root());
        assert_ne!(a.root(), Lattice::default().root());
    }

    #[test]
    fn context_key_is_the_derive_key_context() {
        assert_eq!(
            CONTEXT_KEY,
            blake3::hazmat::hash_derive_key_context(CONTEXT)
        );
        let mut reference = blake3::Hasher::new_derive_key(CONTEXT);
        reference.update(&2u64.to_le_bytes());
        reference.update(b"k1v1");
        let mut expected = [0u8; LANES * 2];
        reference.finalize_xof().fill(&mut expected);
        assert_eq!(element(b"k1", b"v1"), expected);
    }

    #[test]
    fn key_value_boundary_matters() {
        let mut a = Lattice::default();
        a.insert(b"ab", b"c");
        let mut b = Lattice::default();
        b.insert(b"a", b"bc");
        assert_ne!(a.root(), b.root());
    }

    #[test]
    fn bytes_round_trip_and_reject_wrong_lengths() {
        let mut a = Lattice::default();
        a.insert(b"k", b"v");
        assert_eq!(Lattice::from_bytes(&a.to_bytes()), Some(a));
        assert_eq!(Lattice::from_bytes(&[0; 3]), None);
    }
}
