//! Pure economic rules of the chain: supply, prices, schedules and the coinbase arithmetic.
//!
//! Every function here is a total function of its arguments: no storage, no clock, no
//! randomness. The stateful parts (reading reserves, writing pending emission) live with the
//! callers; these modules only say *how much*. Amounts are `u64` rao (TAO) or `u64` alpha
//! units (also 9 decimals). Rounding always floors, so the chain never pays out a rao it does
//! not have; where several floored parts must add up to a whole, the last part takes the
//! remainder so nothing is created or lost (see [`coinbase::split_alpha_out`]).
//!
//! The formulas follow the live network (`../shared/reference/subtensor.md` §3–§5); where we
//! deliberately compute something exactly that the live chain approximates, the function says
//! so.

pub mod burn;
pub mod coinbase;
pub mod emission;
pub mod lock;
pub mod schedule;
pub mod split;
