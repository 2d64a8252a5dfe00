//! Identifiers of subnets and neurons.

use core::fmt;

/// A subnet's identifier (`netuid`); subnet 0 is the root subnet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NetUid(pub u16);

/// A neuron's slot inside one subnet; valid uids of a subnet of size `n` are `0..n`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
