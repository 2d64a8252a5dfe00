//! Errors of the state machine: why a transaction failed, why a block is invalid, and the
//! internal errors that mean corrupt storage.

pub(crate) use tao_types::error::{InvalidTx, TxError};

/// Storage that does not decode: a bug or a corrupted database, never user input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// A stored value of the named item does not decode.
    #[error("corrupt storage: {0}")]
    Corrupt(&'static str),
    /// A required record (the chain info, a subnet's economy) is missing.
    #[error("missing storage record: {0}")]
    Missing(&'static str),
    /// An internal sum overflowed; the state would be inconsistent.
    #[error("arithmetic overflow in {0}")]
    Overflow(&'static str),
}

impl From<StateError> for TxError {
    fn from(error: StateError) -> Self {
        TxError::Internal(error.to_string())
    }
}

/// Why a block cannot be executed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The height is not the parent's plus one.
    #[error("block height {got} does not follow {parent}")]
    BadHeight {
        /// Height of the parent state.
        parent: u64,
        /// Height of the block.
        got: u64,
    },
    /// The timestamp goes back in time.
    #[error("block timestamp {got} ms is before its parent's {parent} ms")]
    BadTimestamp {
        /// Parent timestamp.
        parent: u64,
        /// Block timestamp.
        got: u64,
    },
    /// A transaction of the block is invalid.
    #[error("transaction {index} is invalid: {error}")]
    InvalidTransaction {
        /// Its index in the block.
        index: usize,
        /// Why.
        error: InvalidTx,
    },
    /// Storage is corrupt.
    #[error(transparent)]
    State(#[from] StateError),
}
