//! Events: what happened in a block, for receipts, the explorer and wallets.

use parity_scale_codec::{Decode, Encode};
use serde::{Deserialize, Serialize};
use tao_primitives::{AccountId, NetUid};

/// Something that happened while executing a block.
/// JSON: `{"Transfer": {"from": "5…", ...}}` with accounts as SS58 addresses.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub enum Event {
    /// Free balance moved.
    Transfer {
        /// Sender.
        #[serde(with = "crate::serde_account")]
        from: AccountId,
        /// Receiver.
        #[serde(with = "crate::serde_account")]
        to: AccountId,
        /// Amount, rao.
        amount_rao: u64,
    },
    /// A fee was paid to the block author (or recycled without one).
    FeePaid {
        /// Payer.
        #[serde(with = "crate::serde_account")]
        who: AccountId,
        /// Amount, rao.
        amount_rao: u64,
    },
    /// A subnet was created.
    NetworkAdded {
        /// Its id.
        netuid: NetUid,
        /// Owner coldkey.
        #[serde(with = "crate::serde_account")]
        owner: AccountId,
        /// Lock paid, rao.
        lock_rao: u64,
    },
    /// A subnet was dissolved (by sudo or to make room): it is gone from the live subnets and
    /// its stakers are paid over the next blocks (ADR 017).
    NetworkRemoved {
        /// Its id.
        netuid: NetUid,
    },
    /// A subnet's owner started emissions.
    FirstEmissionBlockNumberSet {
        /// The subnet.
        netuid: NetUid,
        /// First emitting block.
        block: u64,
    },
    /// A hyperparameter changed.
    HyperparamSet {
        /// The subnet.
        netuid: NetUid,
        /// The parameter's name.
        name: Vec<u8>,
    },
    /// Chain-wide parameters changed.
    GlobalsSet,
    /// A neuron registered (possibly replacing another).
    NeuronRegistered {
        /// The subnet.
        netuid: NetUid,
        /// Its uid.
        uid: u16,
        /// Its hotkey.
        #[serde(with = "crate::serde_account")]
        hotkey: AccountId,
        /// Burn paid, rao.
        burn_rao: u64,
    },
    /// An axon or Prometheus endpoint was published.
    Served {
        /// The subnet.
        netuid: NetUid,
        /// The hotkey.
        #[serde(with = "crate::serde_account")]
        hotkey: AccountId,
    },
    /// TAO was staked.
    StakeAdded {
        /// Coldkey.
        #[serde(with = "crate::serde_account")]
        coldkey: AccountId,
        /// Hotkey.
        #[serde(with = "crate::serde_account")]
        hotkey: AccountId,
        /// Subnet.
        netuid: NetUid,
        /// TAO spent (after fee), rao.
        tao_rao: u64,
        /// Alpha received, alpha rao.
        alpha_rao: u64,
    },
    /// Stake was sold for TAO.
    StakeRemoved {
        /// Coldkey.
        #[serde(with = "crate::serde_account")]
        coldkey: AccountId,
        /// Hotkey.
        #[serde(with = "crate::serde_account")]
        hotkey: AccountId,
        /// Subnet.
        netuid: NetUid,
        /// Alpha sold, alpha rao.
        alpha_rao: u64,
        /// TAO received (after fee), rao.
        tao_rao: u64,
    },
    /// Stake moved between hotkeys, subnets or coldkeys.
    StakeMoved {
        /// Old owner.
        #[serde(with = "crate::serde_account")]
        from_coldkey: AccountId,
        /// New owner.
        #[serde(with = "crate::serde_account")]
        to_coldkey: AccountId,
        /// Old hotkey.
        #[serde(with = "crate::serde_account")]
        from_hotkey: AccountId,
        /// New hotkey.
        #[serde(with = "crate::serde_account")]
        to_hotkey: AccountId,
        /// Old subnet.
        from_netuid: NetUid,
        /// New subnet.
        to_netuid: NetUid,
        /// Alpha taken from the origin, alpha rao.
        alpha_rao: u64,
    },
    /// A delegate's take changed.
    TakeSet {
        /// Hotkey.
        #[serde(with = "crate::serde_account")]
        hotkey: AccountId,
        /// New take.
        take: u16,
    },
    /// Weights were set or revealed.
    WeightsSet {
        /// Subnet.
        netuid: NetUid,
        /// Uid of the setter.
        uid: u16,
    },
    /// Weights were committed.
    WeightsCommitted {
        /// Subnet.
        netuid: NetUid,
        /// Hotkey.
        #[serde(with = "crate::serde_account")]
        hotkey: AccountId,
    },
    /// An epoch ran and its emission was paid.
    EpochRun {
        /// Subnet.
        netuid: NetUid,
        /// Alpha paid out (miners + validators + owner), alpha rao.
        emitted_rao: u64,
    },
    /// An epoch was deferred by the per-block cap.
    EpochDeferred {
        /// Subnet.
        netuid: NetUid,
    },
    /// A dissolved subnet's cleanup finished: its stakers are paid, its records deleted, and
    /// its netuid free again.
    NetworkCleaned {
        /// Subnet.
        netuid: NetUid,
    },
}
