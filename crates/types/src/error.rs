//! Why a transaction is refused: [`InvalidTx`] (not included, no fee) and [`TxError`] (included,
//! failed, fee paid).
//!
//! Receipts carry the [`TxError`] itself, so clients branch on the variant, never on message
//! text. In JSON a variant is its name, the live chain's error name where one exists
//! (`"InsufficientBalance"`), or `{"Pool": "…"}` for the two that carry a message.

use parity_scale_codec::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// Why a transaction cannot be included at all (it pays no fee and changes nothing).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Encode, Decode, Serialize, Deserialize)]
pub enum InvalidTx {
    /// The signature does not verify for the signer over the signing payload.
    #[error("bad signature")]
    BadSignature,
    /// The nonce is below the account's next nonce (already used).
    #[error("stale nonce: the account's next nonce is {expected}")]
    StaleNonce {
        /// The account's next nonce.
        expected: u64,
    },
    /// The nonce is above the account's next nonce (a gap).
    #[error("future nonce: the account's next nonce is {expected}")]
    FutureNonce {
        /// The account's next nonce.
        expected: u64,
    },
    /// The block is outside the transaction's mortality window.
    #[error("transaction expired or not yet valid (valid for blocks {birth}..{end})")]
    OutsideMortality {
        /// First block it is valid in.
        birth: u64,
        /// First block it is no longer valid in.
        end: u64,
    },
    /// The mortality period is 0 or longer than allowed.
    #[error("mortality period must be 1..={max} blocks")]
    BadMortality {
        /// Longest allowed period.
        max: u64,
    },
    /// The signer cannot pay the fee.
    #[error("cannot pay the fee of {fee_rao} rao")]
    CannotPayFee {
        /// The fee.
        fee_rao: u64,
    },
    /// The encoded transaction is larger than allowed.
    #[error("transaction too large: {size} bytes, at most {max}")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The bytes are not a transaction.
    #[error("malformed transaction")]
    Malformed,
    /// The node's storage is corrupt; the transaction was not judged (see the node's logs).
    #[error("storage error: {0}")]
    Storage(String),
    /// A free call (weights, serving) failed: it is not included, so failures cost nothing
    /// and spam nothing.
    #[error("free call failed: {0}")]
    FreeCallFailed(TxError),
    /// The nonce is further past the account's next nonce than a node keeps waiting.
    #[error(
        "nonce too far ahead: the account's next nonce is {expected}, at most {max_ahead} past it may wait"
    )]
    NonceTooFarAhead {
        /// The account's next nonce.
        expected: u64,
        /// How far past it a waiting nonce may be.
        max_ahead: u64,
    },
    /// The free balance cannot pay this fee on top of the fees of the account's other
    /// waiting transactions.
    #[error(
        "the free balance of {free_rao} rao cannot pay {pending_fee_rao} rao, the fees of this and the account's other waiting transactions"
    )]
    CannotPayPending {
        /// The fees of this transaction and the account's other waiting ones.
        pending_fee_rao: u64,
        /// The account's free balance.
        free_rao: u64,
    },
    /// This very transaction is already waiting in the node's pool (it is not taken or
    /// gossiped again).
    #[error("already known: this transaction is already waiting in the pool")]
    AlreadyKnown,
    /// Another transaction with the same signer and nonce is waiting, and this one does not
    /// pay enough more to replace it.
    #[error(
        "replacement underpriced: a transaction with this nonce is waiting; a replacement must pay at least {min_fee_rao} rao, this one pays {fee_rao}"
    )]
    ReplacementUnderpriced {
        /// This transaction's fee.
        fee_rao: u64,
        /// The least fee that replaces the waiting one.
        min_fee_rao: u64,
    },
    /// The call weighs more than a whole block may carry (`max_block_weight`): it can never be
    /// included.
    #[error("transaction too heavy: weight {weight}, a block carries at most {max}")]
    TooHeavy {
        /// The call's weight.
        weight: u64,
        /// The block weight budget.
        max: u64,
    },
    /// The block being built has no weight left for this transaction; it waits for a later
    /// block (a builder's verdict, never an admission's).
    #[error("block weight budget exhausted: {used} used, this call weighs {weight}, at most {max}")]
    BlockFull {
        /// Weight the block's transactions carry already.
        used: u64,
        /// This call's weight.
        weight: u64,
        /// The block weight budget.
        max: u64,
    },
}

impl InvalidTx {
    /// [`InvalidTx::TooLarge`] for an encoding of `size` bytes against [`crate::tx::MAX_TX_BYTES`].
    pub fn too_large(size: usize) -> InvalidTx {
        InvalidTx::TooLarge {
            size: u64::try_from(size).unwrap_or(u64::MAX),
            max: crate::tx::MAX_TX_BYTES as u64,
        }
    }
}

/// Why an included transaction's call failed; it paid its fee and changed nothing else.
/// Names follow the live chain's errors (`reference/subtensor.md` §6.3) where one exists.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Encode, Decode, Serialize, Deserialize)]
pub enum TxError {
    /// The free balance is too low for the amount.
    #[error("insufficient balance")]
    InsufficientBalance,
    /// A transfer would create an account below the existential deposit.
    #[error("amount below the existential deposit")]
    ExistentialDeposit,
    /// The amount is zero or below the minimum.
    #[error("amount too low")]
    AmountTooLow,
    /// Only the sudo key may do this.
    #[error("bad origin: requires the sudo key")]
    BadOrigin,
    /// The subnet does not exist.
    #[error("subnet does not exist")]
    SubnetNotExists,
    /// The subnet is the root subnet, which this call does not accept.
    #[error("not allowed on the root subnet")]
    RegistrationNotPermittedOnRootSubnet,
    /// The signer does not own the subnet.
    #[error("not the subnet owner")]
    NotSubnetOwner,
    /// The lock cost is more than the signer has.
    #[error("cannot afford the lock cost")]
    CannotAffordLockCost,
    /// Too soon after the last subnet registration.
    #[error("network registration rate limit exceeded")]
    NetworkTxRateLimitExceeded,
    /// The subnet limit is reached and no subnet can be pruned.
    #[error("subnet limit reached")]
    SubnetLimitReached,
    /// `start_call` already happened.
    #[error("subnet already started")]
    FirstEmissionBlockNumberAlreadySet,
    /// `start_call` is too early.
    #[error("start_call delay not over")]
    NeedWaitingMoreBlocksToStarCall,
    /// The subnet has not started yet (no staking).
    #[error("subnet not started (subtoken disabled)")]
    SubtokenDisabled,
    /// A hyperparameter value is out of bounds.
    #[error("invalid value")]
    InvalidValue,
    /// Owners may not change this hyperparameter.
    #[error("only the sudo key may set this hyperparameter")]
    NotOwnerSettable,
    /// The owner changed this hyperparameter too recently.
    #[error("hyperparameter rate limit exceeded")]
    TxRateLimitExceeded,
    /// Owners may not change hyperparameters just before an epoch.
    #[error("admin actions prohibited during the weights window")]
    AdminActionProhibitedDuringWeightsWindow,
    /// Registration is disabled on the subnet.
    #[error("registration disabled on this subnet")]
    SubNetRegistrationDisabled,
    /// The hotkey already has a uid on the subnet.
    #[error("hotkey already registered on this subnet")]
    HotKeyAlreadyRegisteredInSubNet,
    /// The subnet is full and no uid can be replaced.
    #[error("no neuron id available")]
    NoNeuronIdAvailable,
    /// The hotkey belongs to another coldkey.
    #[error("hotkey owned by another coldkey")]
    NonAssociatedColdKey,
    /// The burn is above the caller's limit.
    #[error("registration price above the limit")]
    RegistrationPriceLimitExceeded,
    /// The hotkey has no uid on the subnet.
    #[error("hotkey not registered on this subnet")]
    HotKeyNotRegisteredInSubNet,
    /// The hotkey has no owner (it was never registered or staked to).
    #[error("hotkey account does not exist")]
    HotKeyAccountNotExists,
    /// The ip type is not 4 or 6.
    #[error("invalid ip type")]
    InvalidIpType,
    /// The address is not a public address.
    #[error("invalid ip address")]
    InvalidIpAddress,
    /// Port 0.
    #[error("invalid port")]
    InvalidPort,
    /// Served too recently.
    #[error("serving rate limit exceeded")]
    ServingRateLimitExceeded,
    /// The coldkey does not have that much stake.
    #[error("not enough stake to withdraw")]
    NotEnoughStakeToWithdraw,
    /// What would remain is positive but below the minimum stake.
    #[error("remaining stake below the minimum")]
    AmountTooLowRemaining,
    /// The price moved past the limit.
    #[error("slippage too high: price limit exceeded")]
    SlippageTooHigh,
    /// The pool cannot take the swap.
    #[error("pool: {0}")]
    Pool(String),
    /// Source and destination subnet are the same.
    #[error("same netuid")]
    SameNetuid,
    /// Stake transfers to other coldkeys are disabled on the subnet.
    #[error("transfer disallowed on this subnet")]
    TransferDisallowed,
    /// The new take is not above the current one.
    #[error("delegate take too low")]
    DelegateTakeTooLow,
    /// The new take is above the maximum or not below the current one.
    #[error("delegate take too high")]
    DelegateTakeTooHigh,
    /// The take was raised too recently.
    #[error("delegate take rate limit exceeded")]
    DelegateTxRateLimitExceeded,
    /// Weights on the root subnet are not allowed.
    #[error("cannot set root network weights")]
    CanNotSetRootNetworkWeights,
    /// uids and values differ in length.
    #[error("weight vectors differ in length")]
    WeightVecNotEqualSize,
    /// More uids than neurons.
    #[error("more uids than neurons in the subnet")]
    UidsLengthExceedUidsInSubNet,
    /// The hotkey's stake is below the threshold.
    #[error("not enough stake to set weights")]
    NotEnoughStakeToSetWeights,
    /// The version key is below the subnet's.
    #[error("incorrect weights version key")]
    IncorrectWeightVersionKey,
    /// Weights were set too recently.
    #[error("setting weights too fast")]
    SettingWeightsTooFast,
    /// The neuron has no validator permit.
    #[error("neuron has no validator permit")]
    NeuronNoValidatorPermit,
    /// A uid appears twice.
    #[error("duplicate uids")]
    DuplicateUids,
    /// A uid does not exist.
    #[error("uid does not exist")]
    UidVecContainInvalidOne,
    /// Fewer weights than the subnet's minimum.
    #[error("too few weights")]
    WeightVecLengthIsLow,
    /// A normalised weight is above the subnet's maximum.
    #[error("weight above the maximum")]
    MaxWeightExceeded,
    /// The subnet uses commit-reveal; set_weights is refused.
    #[error("commit-reveal is enabled: commit then reveal")]
    CommitRevealEnabled,
    /// The subnet does not use commit-reveal.
    #[error("commit-reveal is disabled")]
    CommitRevealDisabled,
    /// Too many unrevealed commits.
    #[error("too many unrevealed commits")]
    TooManyUnrevealedCommits,
    /// No commit matches.
    #[error("no weights commit found")]
    NoWeightsCommitFound,
    /// The reveal does not hash to a commit.
    #[error("reveal does not match a commit")]
    InvalidRevealCommitHashNotMatch,
    /// The commit's reveal epoch has not come.
    #[error("reveal too early")]
    RevealTooEarly,
    /// The commit expired.
    #[error("weight commit expired")]
    ExpiredWeightCommit,
    /// Committing too fast.
    #[error("committing weights too fast")]
    CommittingWeightsTooFast,
    /// An amount overflowed.
    #[error("arithmetic overflow")]
    Overflow,
    /// Storage is corrupt (see the node's logs); the call was not applied.
    #[error("internal: {0}")]
    Internal(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_travel_as_their_names_and_come_back_typed() -> Result<(), serde_json::Error> {
        assert_eq!(
            serde_json::to_string(&TxError::InsufficientBalance)?,
            r#""InsufficientBalance""#
        );
        let pool = TxError::Pool("reserves too low".into());
        assert_eq!(
            serde_json::to_string(&pool)?,
            r#"{"Pool":"reserves too low"}"#
        );
        let refused = InvalidTx::FreeCallFailed(TxError::SettingWeightsTooFast);
        let json = serde_json::to_string(&refused)?;
        assert_eq!(json, r#"{"FreeCallFailed":"SettingWeightsTooFast"}"#);
        assert_eq!(serde_json::from_str::<InvalidTx>(&json)?, refused);
        let unpaid = InvalidTx::CannotPayPending {
            pending_fee_rao: 3,
            free_rao: 2,
        };
        let json = serde_json::to_string(&unpaid)?;
        assert_eq!(
            json,
            r#"{"CannotPayPending":{"pending_fee_rao":3,"free_rao":2}}"#
        );
        assert_eq!(serde_json::from_str::<InvalidTx>(&json)?, unpaid);
        assert!(serde_json::from_str::<TxError>(r#""NoSuchError""#).is_err());
        Ok(())
    }

    #[test]
    fn too_large_reports_size_and_limit() {
        assert_eq!(
            InvalidTx::too_large(20_000),
            InvalidTx::TooLarge {
                size: 20_000,
                max: 16 * 1024
            }
        );
    }
}
