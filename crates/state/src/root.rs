//! The state root: a lattice hash over every stored entry, updated per write.
//!
//! Each entry `(key, value)` maps to 1 024 `u16` lanes (a 2 KiB blake3 XOF output); the
//! lattice is their lane-wise sum modulo 2¹⁶ and the root is the blake3 hash of the lattice.
//! Adding, removing or changing an entry costs two element hashes, independent of the size of
//! the state, and the root does not depend on the order of writes (ADR 004). The lattice itself
//! is stored under [`LATTICE_KEY`], which is excluded from the hash.

use tao_primitives::Hash256;

/// Lanes of the lattice (2 KiB), the size the lattice-hash security analysis asks for.
const LANES: usize = 1024;

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
        let element = element(key, value);
        for (lane, add) in self.lanes.iter_mut().zip(element.iter()) {
            *lane = lane.wrapping_add(*add);
        }
    }

    /// Accounts for an entry that is removed (or about to be overwritten).
    pub fn remove(&mut self, key: &[u8], value: &[u8]) {
        let element = element(key, value);
        for (lane, sub) in self.lanes.iter_mut().zip(element.iter()) {
            *lane = lane.wrapping_sub(*sub);
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

/// The lanes of one entry. The key length is hashed first so that `(key, value)` pairs with
/// the same concatenation stay distinct.
fn element(key: &[u8], value: &[u8]) -> [u16; LANES] {
    let mut hasher = blake3::Hasher::new_derive_key("tao state lattice v1");
    hasher.update(&u64::try_from(key.len()).unwrap_or(u64::MAX).to_le_bytes());
    hasher.update(key);
    hasher.update(value);
    let mut bytes = [0u8; LANES * 2];
    hasher.finalize_xof().fill(&mut bytes);
    let mut lanes = [0u16; LANES];
    for (lane, pair) in lanes.iter_mut().zip(bytes.chunks_exact(2)) {
        if let [low, high] = pair {
            *lane = u16::from_le_bytes([*low, *high]);
        }
    }
    lanes
}

#[cfg(test)]
mod tests {
    use super::*;

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
