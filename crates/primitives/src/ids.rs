//! Identifiers of subnets and neurons.

use core::fmt;

use parity_scale_codec::{Decode, Encode, MaxEncodedLen};
use serde::{Deserialize, Serialize};

/// A subnet's identifier (`netuid`); subnet 0 is the root subnet.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Encode,
    Decode,
    MaxEncodedLen,
    Serialize,
    Deserialize,
)]
#[serde(transparent)]
pub struct NetUid(pub u16);

/// A neuron's slot inside one subnet; valid uids of a subnet of size `n` are `0..n`.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Encode,
    Decode,
    MaxEncodedLen,
    Serialize,
    Deserialize,
)]
#[serde(transparent)]
pub struct Uid(pub u16);

impl NetUid {
    /// The root subnet, whose stake counts on every subnet through `tao_weight`.
    pub const ROOT: NetUid = NetUid(0);
}

impl Uid {
    /// The uid as an index into per-neuron vectors.
    #[inline]
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

impl fmt::Display for NetUid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An account: the 32-byte sr25519 public key of a coldkey or hotkey (`tao-keys` turns it into
/// an SS58 address). The state machine only compares and stores it.
#[derive(
    Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, MaxEncodedLen,
)]
pub struct AccountId(pub [u8; 32]);

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x")?;
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// A 32-byte hash (blake2b-256 unless a type says otherwise): block, transaction and state roots.
#[derive(
    Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, MaxEncodedLen,
)]
pub struct Hash256(pub [u8; 32]);

impl Hash256 {
    /// blake2b-256 of `bytes`, the hash the live chain calls `BlakeTwo256`.
    pub fn blake2(bytes: &[u8]) -> Hash256 {
        use blake2::Digest;
        Hash256(blake2::Blake2b::<blake2::digest::consts::U32>::digest(bytes).into())
    }
}

impl fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x")?;
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Display for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
