//! `tao-sdk`: the subnet framework, the Rust counterpart of the bittensor SDK's `Subtensor`,
//! `Metagraph` and axon/dendrite glue (DESIGN.md D11).
//!
//! A subnet implements [`Subnet`] (its synapse, the miner's answer, the validator's challenge
//! and score); the SDK does the rest:
//!
//! * [`Metagraph`] / [`MetagraphSync`] / [`metagraph::watch`]: the subnet's neurons, synced
//!   from a node, re-read only when the finalized block moved.
//! * [`Chain`]: burned registration with a price limit, `serve_axon`, every transaction
//!   retried with backoff on transient failures; [`WeightSetter`]: weights by `set_weights`
//!   or commit then reveal, within the subnet's limits and rate limit.
//! * [`run_miner`]: the axon, admitting only registered validators (permit and minimum
//!   stake), prioritised by stake, its address published on chain.
//! * [`Validator`] / [`run_validator`]: fresh challenges in parallel, scores folded into
//!   per-miner moving averages kept on disk, weights on schedule.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod chain;
pub mod commit;
pub mod error;
pub mod metagraph;
pub mod miner;
pub mod retry;
pub mod scores;
pub mod setter;
pub mod subnet;
pub mod validator;
pub mod weights;

pub use chain::{AxonEndpoint, Chain, ChainConfig};
pub use error::SdkError;
pub use metagraph::{Metagraph, MetagraphSync, Neuron, SharedMetagraph};
pub use miner::{MetagraphStakeView, MinerConfig, miner_axon, run_miner};
pub use retry::RetryPolicy;
pub use scores::ScoreBook;
pub use setter::{WeightSetter, WeightsOutcome};
pub use subnet::{MinerContext, MinerService, Rng, Subnet, Target};
pub use validator::{
    RoundReport, Validator, ValidatorConfig, query_all, query_round, run_validator,
};
pub use weights::{WeightLimits, WeightRow, weights_from_scores};
