//! The Tao chain's wire types, shared by everything outside the node.
//!
//! The state machine (`tao-state`) executes these; the RPC API, the client, the CLI, the SDK,
//! the gateway and the explorer only build, sign, decode and display them, so they depend on
//! this crate and never on the state machine (DESIGN §2, ADR 011).
//!
//! * [`tx`]: calls, signed transactions, mortality, price limits, the fee rule.
//! * [`error`]: why a transaction is not included ([`error::InvalidTx`]) or failed
//!   ([`error::TxError`]); both travel typed in receipts and RPC errors.
//! * [`events`]: what a block did.
//! * [`metering`]: call weights, the block weight budget's unit, and the fee rule over them.
//! * [`params`]: chain-wide and per-subnet parameters with the live defaults.
//! * [`views`]: the read API's responses; [`serde_account`]: accounts as SS58 in JSON.
//! * [`pool`]: the dynamic-TAO pool math, exact as the chain executes it, for quotes.
//! * [`weights`]: the commit-reveal hash.

#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::float_arithmetic,
    unreachable_pub
)]

pub mod error;
pub mod events;
pub mod metering;
pub mod params;
pub mod pool;
pub mod serde_account;
pub mod tx;
pub mod views;
pub mod weights;
