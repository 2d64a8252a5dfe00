//! Yuma Consensus: the Bittensor epoch as a pure, deterministic, fixed-point function.
//!
//! Given a subnet's stake, weights, bonds and registration history, [`epoch`] computes
//! consensus, incentive, dividends, validator trust, the next validator permits, the new bonds
//! and each neuron's share of the epoch's emission — bit for bit as the live chain does
//! (`reference/subtensor.md` §2), with both bond models: original Yuma (column-normalised EMA)
//! and Yuma 3 (absolute per-element EMA, optional liquid alpha).
//!
//! * [`epoch`] is the sparse production implementation: `O(nnz(W) + n log n)`.
//! * [`epoch_dense`] is an `n × n` reference implementation kept for tests; property tests show
//!   both return identical bits.
//! * No floats, no clock, no randomness, no hash-map iteration; every operation saturates and
//!   `x / 0 = 0`. Invalid input returns a [`YumaError`], never a panic.
//!
//! ```
//! use tao_primitives::I64F64;
//! use tao_yuma::{EpochInput, epoch};
//!
//! // Validators 0 and 1 (stake 3 : 1, permitted by the previous epoch) both weight miner 2.
//! let input = EpochInput {
//!     current_block: 2,
//!     last_tempo_block: 1,
//!     emission: 1_000_000_000,
//!     stake: [3, 1, 0].map(I64F64::from_num).to_vec(),
//!     last_update: vec![2, 2, 0],
//!     block_at_registration: vec![0; 3],
//!     validator_permit: vec![true, true, false],
//!     weights: vec![vec![(2, 65535)], vec![(2, 65535)], vec![]],
//!     bonds: vec![vec![]; 3],
//!     ..EpochInput::default()
//! };
//! let out = epoch(&input)?;
//! // Half the emission to the miner, half to validators in proportion to their bonds.
//! assert_eq!(out.server_emission, vec![0, 0, 500_000_000]);
//! assert_eq!(out.validator_emission, vec![375_000_000, 125_000_000, 0]);
//! # Ok::<(), tao_yuma::YumaError>(())
//! ```

#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::float_arithmetic
)]

mod common;
mod consensus;
mod csr;
mod dense;
mod input;
mod liquid_alpha;
mod math;
mod median;
pub mod scenario;

mod sparse;
pub mod storage;

pub use dense::epoch_dense;
pub use input::{EpochInput, EpochOutput, EpochParams, MAX_NEURONS, YumaError, to_u16_proportions};
pub use sparse::{Workspace, epoch};
