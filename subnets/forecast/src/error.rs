//! The one error type of the crate: every bad input is a typed value, never a panic.

use thiserror::Error;

/// What went wrong, naming the field or size at fault.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Error {
    /// A spec parameter is out of its documented range.
    #[error("spec: {field}: {reason}")]
    Spec {
        /// The field, e.g. `world.regimes[1].persistence`.
        field: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// An input is longer than this crate accepts.
    #[error("{what}: {len} exceeds the maximum {max}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// An input has the wrong shape.
    #[error("{what}: expected {expected}, got {got}")]
    Shape {
        /// What was malformed.
        what: &'static str,
        /// The expected length or count.
        expected: usize,
        /// The length or count seen.
        got: usize,
    },
    /// A value is NaN or infinite.
    #[error("{what}: not a finite number")]
    NotFinite {
        /// Where the value was.
        what: &'static str,
    },
    /// Quantiles are not ordered `q10 ≤ q50 ≤ q90`.
    #[error("quantiles cross at series {series}, horizon {horizon}")]
    QuantilesCrossed {
        /// Series index.
        series: usize,
        /// Horizon index (0 = first target step).
        horizon: usize,
    },
    /// There is not enough history for the operation.
    #[error("history too short: {needed} steps needed, {have} known")]
    HistoryTooShort {
        /// Steps needed.
        needed: u64,
        /// Steps known.
        have: u64,
    },
    /// A forecast's first target step is already known to the forecaster.
    #[error("late: target step {start_step} is already known (history ends at step {known_steps})")]
    Late {
        /// The first target step.
        start_step: u64,
        /// How many steps the forecaster knew.
        known_steps: u64,
    },
    /// A step or block number overflowed `u64`.
    #[error("step or block number out of range")]
    Overflow,
    /// A strategy name that does not exist.
    #[error("unknown strategy `{0}` (naive, seasonal, ar, learned, random, copier)")]
    UnknownStrategy(String),
    /// A signature does not verify.
    #[error("{what}: signature does not verify")]
    BadSignature {
        /// What was signed.
        what: &'static str,
    },
    /// A second entry of one miner in one round.
    #[error("uid {uid} already has an entry in the round of step {start_step}")]
    Duplicate {
        /// The miner.
        uid: u16,
        /// The round's first target step.
        start_step: u64,
    },
    /// No round with this first target step.
    #[error("no round with first target step {start_step}")]
    UnknownRound {
        /// The first target step asked for.
        start_step: u64,
    },
    /// An item for another subnet or challenge.
    #[error("{what} does not match the round's challenge")]
    WrongChallenge {
        /// What did not match.
        what: &'static str,
    },
    /// Talking to the node or to another neuron failed (the SDK's error, as text: this enum
    /// is compared and cloned in verdicts).
    #[error("{0}")]
    Network(String),
    /// A spec file cannot be read or parsed.
    #[error("spec file {path}: {message}")]
    SpecFile {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The validator's state file cannot be read or written.
    #[error("state file {path}: {message}")]
    StateFile {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl From<tao_sdk::SdkError> for Error {
    fn from(error: tao_sdk::SdkError) -> Self {
        Error::Network(error.to_string())
    }
}
