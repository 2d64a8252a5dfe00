//! The Tao state transition function.
//!
//! Everything the chain *means*, independent of how blocks are agreed on: balances, subnets,
//! registration, dynamic-TAO staking pools, weights, the coinbase and Yuma epochs
//! (`../shared/DESIGN.md` §4). Pure and deterministic: no I/O, clock, randomness or hash-map
//! iteration; block height and time come from the header.

#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::float_arithmetic,
    unreachable_pub
)]

pub mod block;
pub mod calls;
pub mod cleanup;
pub mod ctx;
pub mod economics;
pub mod error;
pub(crate) mod hotkeys;
pub mod invariants;
pub mod overlay;
pub(crate) mod per_block;
pub mod read;
pub mod root;
pub mod schema;
pub mod spec;
pub mod stake;
pub mod store;

// The wire types under their old paths inside this crate only (`crate::tx::Call`); everyone
// else names them from `tao_types`.
pub(crate) use tao_primitives::muldiv;
pub(crate) use tao_types::{events, params, pool, tx, weights};
