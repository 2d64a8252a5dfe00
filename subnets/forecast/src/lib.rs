//! The Forecast reference subnet's core library (issue 12): a hidden market that nobody can
//! predict exactly and everybody can recompute, miners that forecast it, and validators that
//! score the forecasts once the truth exists.
//!
//! * [`World`] — K series from a regime-switching, seasonal, cross-coupled AR process whose
//!   innovations at step `t` come from the finalized block hash of step `t`; bit-identical on
//!   every machine ([`world`] explains why).
//! * [`strategy`] — miners: `naive`, `seasonal`, `ar`, `learned`, and the cheats `random`
//!   and `copier`, each giving a point and 10/50/90 % quantiles for H steps of every series.
//! * [`ledger`] — the validator's signed record of what arrived when: a forecast counts only
//!   when it was committed before its first target block existed.
//! * [`score`] — CRPS skill against naive persistence, the plagiarism check, the per-miner
//!   moving average and weights.
//! * [`node`] — the miner and validator roles as state machines for the SDK glue.
//! * [`audit`] — anyone's recomputation of every validator's weights from its ledger and the
//!   chain, flagging those whose weights on chain deviate.
//!
//! ```
//! use tao_primitives::{Hash256, NetUid};
//! use tao_subnet_forecast::{Challenge, ForecastSpec, World, strategy};
//!
//! let spec = ForecastSpec::default();
//! let hashes: Vec<Hash256> = (0u32..120).map(|i| Hash256::blake2(&i.to_le_bytes())).collect();
//! let world = World::from_hashes(spec.world.clone(), &hashes)?;
//! // A validator at block 119 asks for steps 121..=132.
//! let challenge = Challenge::at_block(&spec, NetUid(1), 119)?;
//! let mut miner = strategy::build(&strategy::StrategyConfig {
//!     kind: "ar".parse()?,
//!     ..Default::default()
//! });
//! let forecast = miner.forecast(world.spec(), world.panel(), &challenge)?;
//! forecast.validate(&challenge)?;
//! # Ok::<(), tao_subnet_forecast::Error>(())
//! ```

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod audit;
mod error;
pub mod forecast;
pub mod ledger;
pub mod net;
pub mod node;
pub mod score;
mod spec;
pub mod strategy;
pub mod world;

pub use error::Error;
pub use forecast::{Challenge, Forecast};
pub use spec::{ForecastSpec, ScoringSpec};
pub use world::{Panel, World, WorldSpec};
