//! The SDK's error type.

use std::path::PathBuf;

use tao_types::error::{InvalidTx, TxError};

/// What can go wrong in the subnet SDK. Transient failures (a node that is down, a
/// transaction that was dropped) are retried inside the SDK; what reaches the caller is final.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// Talking to the node failed (no connection, timeout, a request the node refused).
    #[error(transparent)]
    Client(#[from] tao_client::ClientError),
    /// The subnet does not exist on this chain.
    #[error("subnet {0} does not exist (see `tao subnets list`)")]
    NoSuchSubnet(u16),
    /// The hotkey holds no uid on the subnet.
    #[error(
        "hotkey {hotkey} is not registered on subnet {netuid}: register it first (`tao register --netuid {netuid}`)"
    )]
    NotRegistered {
        /// The hotkey, SS58.
        hotkey: String,
        /// The subnet.
        netuid: u16,
    },
    /// The chain executed the transaction and its call failed (final, not retried; the fee
    /// was paid).
    #[error("{call} failed on chain: {error}")]
    Chain {
        /// What was sent (`set_weights`, `serve_axon`, ...).
        call: &'static str,
        /// The chain's error.
        error: TxError,
    },
    /// The node would not include the transaction (final, not retried; nothing was paid). A
    /// free call that would fail (weights, serving) is refused this way.
    #[error("{call} refused: {reason}")]
    Refused {
        /// What was sent.
        call: &'static str,
        /// Why.
        reason: InvalidTx,
    },
    /// A transaction kept failing for transient reasons until the retries ran out.
    #[error("{call} still failing after {attempts} attempts: {last}")]
    RetriesExhausted {
        /// What was sent.
        call: &'static str,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
    /// The registration burn is above the caller's price limit.
    #[error(
        "registration costs {burn_rao} rao, above the limit of {limit_rao} rao: raise the limit or wait for the burn to decay"
    )]
    BurnAboveLimit {
        /// The current burn, rao.
        burn_rao: u64,
        /// The caller's limit, rao.
        limit_rao: u64,
    },
    /// Scores cannot be turned into weights the chain accepts.
    #[error("no weights to send: {0}")]
    Weights(String),
    /// The validator's version key is below the subnet's `weights_version_key`.
    #[error(
        "version key {ours} is below the subnet's weights_version_key {required}: upgrade the validator"
    )]
    VersionKeyTooLow {
        /// Ours.
        ours: u64,
        /// The subnet's minimum.
        required: u64,
    },
    /// Reading or writing the SDK's files (scores, pending commits).
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The axon could not be started.
    #[error("cannot listen on {addr}: {message} (is the port in use? pick another --axon.port)")]
    Serve {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        message: String,
    },
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A block the caller needs is not finalized on the node (or the node sent a malformed
    /// header for it).
    #[error("block {number} is unavailable: {reason}")]
    BlockUnavailable {
        /// Its height.
        number: u64,
        /// Why.
        reason: String,
    },
}

impl SdkError {
    /// Whether retrying later may succeed: the node is unreachable or slow, or a transaction
    /// was lost on the way.
    pub fn is_transient(&self) -> bool {
        match self {
            SdkError::Client(error) => client_error_is_transient(error),
            SdkError::RetriesExhausted { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn file(path: &std::path::Path, message: impl std::fmt::Display) -> SdkError {
        SdkError::File {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }
}

/// Connection, timeout and pool errors are transient; the chain's verdicts are not.
pub(crate) fn client_error_is_transient(error: &tao_client::ClientError) -> bool {
    use tao_client::ClientError as E;
    match error {
        E::Connect { .. } | E::Timeout(_) | E::Dropped(_) | E::BadResponse(_) => true,
        // Signed with a nonce or mortality the chain moved past, or a nonce further ahead than
        // a node keeps waiting: signing again, once earlier ones finalize, fixes it.
        E::Invalid(reason) => matches!(
            reason,
            InvalidTx::StaleNonce { .. }
                | InvalidTx::FutureNonce { .. }
                | InvalidTx::NonceTooFarAhead { .. }
                | InvalidTx::OutsideMortality { .. }
        ),
        E::Rpc(message) => {
            let message = message.to_ascii_lowercase();
            [
                "background task",
                "connection",
                "restart",
                "transport",
                "mempool: full",
                "transactions waiting",
                "timed out",
                // The node's per-connection call budget (`RATE_LIMITED`): it says when.
                "rate limited",
            ]
            .iter()
            .any(|needle| message.contains(needle))
        }
        E::BadEndpoint(_) => false,
    }
}
