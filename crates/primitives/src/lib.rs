//! Tao primitives: the small types every other crate shares.
//!
//! * Fixed-point aliases bit-compatible with the live chain (`substrate-fixed`), and the few
//!   conversions consensus code needs between them, `u16` proportions and integers.
//! * Identifiers: [`Uid`] (a neuron's slot in a subnet) and [`NetUid`] (a subnet).
//! * [`muldiv`]: exact `a · b / c` on `u128` with a 256-bit intermediate.
//!
//! Every helper here is total: it saturates, floors and treats `x / 0` as `0`, so callers in
//! consensus code never panic on arithmetic.

#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::float_arithmetic
)]

mod fixed;
mod ids;
pub mod muldiv;

pub use fixed::{
    I32F32, I64F64, I96F32, SafeDiv, fixed_proportion_to_u16, u16_proportion_to_fixed,
};
pub use ids::{AccountId, Hash256, NetUid, Uid};
