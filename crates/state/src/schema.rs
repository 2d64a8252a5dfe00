//! What the state stores: every storage item and its record types.
//!
//! Key prefixes are short, unique and end in `/`, so no item's keys are a prefix of another's.

use parity_scale_codec::{Decode, Encode};
use tao_primitives::{AccountId, Hash256, NetUid, Uid};

use crate::overlay::Item;
use crate::params::{GlobalParams, Hyperparams};
use crate::pool::{Pool, subnet_pool};
use crate::tx::SubnetIdentity;

macro_rules! items {
    ($($(#[$doc:meta])* $name:ident: $prefix:literal, $key:ty => $value:ty;)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;
        impl Item for $name {
            const PREFIX: &'static [u8] = $prefix;
            type Key = $key;
            type Value = $value;
        }
    )*};
}

items! {
    /// Nonce and free balance of every account that holds anything.
    Accounts: b"acct/", AccountId => AccountInfo;
    /// Chain-wide counters: issuance, last block, subnet lock history.
    Chain: b"chain/", () => ChainInfo;
    /// Chain-wide parameters.
    Globals: b"glob/", () => GlobalParams;
    /// Hyperparameters given to newly registered subnets (from the chain spec).
    DefaultHparams: b"dhp/", () => Hyperparams;
    /// A subnet's identity, owner and life cycle.
    Subnets: b"sn/", NetUid => SubnetInfo;
    /// A subnet's hyperparameters.
    Hparams: b"hp/", NetUid => Hyperparams;
    /// Block at which an owner last changed a hyperparameter, by its name.
    HparamLastSet: b"hpl/", (NetUid, Vec<u8>) => u64;
    /// A subnet's pool, pending emission and epoch schedule.
    SubnetEconomy: b"eco/", NetUid => Economy;
    /// Neurons by uid.
    Neurons: b"nrn/", (NetUid, Uid) => Neuron;
    /// Uid of a hotkey on a subnet.
    UidOf: b"uid/", (NetUid, AccountId) => Uid;
    /// A neuron's weight row: `(destination uid, u16 weight)`, max-upscaled.
    Weights: b"w/", (NetUid, Uid) => Vec<(u16, u16)>;
    /// A validator's bond row: `(miner uid, u16 bond)`.
    Bonds: b"b/", (NetUid, Uid) => Vec<(u16, u16)>;
    /// Unrevealed weight commits of a hotkey on a subnet, oldest first.
    WeightCommits: b"wc/", (NetUid, AccountId) => Vec<WeightCommit>;
    /// The coldkey that owns a hotkey.
    HotkeyOwner: b"hko/", AccountId => AccountId;
    /// Hotkeys of a coldkey (an index for reads).
    OwnedHotkeys: b"okh/", (AccountId, AccountId) => ();
    /// A hotkey's delegate take and when it last rose.
    Delegates: b"dlg/", AccountId => Delegate;
    /// A hotkey's alpha on a subnet and the shares its nominators hold in it.
    HotkeyPools: b"hkp/", (NetUid, AccountId) => SharePool;
    /// Shares of one coldkey (last) in one hotkey's (second) pool on one subnet (first).
    StakeShares: b"shr/", (NetUid, AccountId, AccountId) => u128;
    /// `(coldkey, hotkey, netuid)` index of [`StakeShares`] for reads by coldkey.
    StakeIndex: b"sti/", (AccountId, AccountId, NetUid) => ();
    /// Number of stake positions (entries of [`StakeShares`]) on a subnet, an O(1) counter
    /// for weights and cleanup; absent when 0.
    PositionCount: b"npos/", NetUid => u64;
    /// The subnet's positions as a dense list `0..count` of `(hotkey, coldkey)`, so a
    /// cleanup walks them a bounded number at a time without scanning.
    PositionSlots: b"pslot/", (NetUid, u64) => (AccountId, AccountId);
    /// Where a position sits in [`PositionSlots`].
    SlotOfPosition: b"pos/", (NetUid, AccountId, AccountId) => u64;
    /// Subnets removed and not yet cleaned up, by netuid: their netuid is not reused until
    /// the per-block cleanup has paid their stakers and deleted their records.
    Cleanups: b"cln/", NetUid => Cleanup;
}

/// The progress of a removed subnet's cleanup ([`Cleanups`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct Cleanup {
    /// TAO of the pool when the subnet was removed, rao: what its stakers share.
    pub tao_rao: u64,
    /// Alpha its stakers held when it was removed (`alpha_out`): the payout's denominator.
    pub alpha_total: u64,
    /// Alpha of the positions paid so far (cumulative, for exact rounding).
    pub alpha_paid: u64,
    /// TAO paid so far, rao.
    pub tao_paid_rao: u64,
    /// Neurons the subnet had (`n`): the rows to delete are `0..neurons`.
    pub neurons: u16,
    /// Rows (uids) deleted so far.
    pub rows_done: u16,
}

/// A free-balance account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct AccountInfo {
    /// Transactions this account has sent.
    pub nonce: u64,
    /// Spendable balance, rao.
    pub free_rao: u64,
}

/// Chain-wide counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct ChainInfo {
    /// TAO in existence, rao: minted by the coinbase, lowered by recycling.
    pub total_issuance_rao: u64,
    /// Height of the last executed block.
    pub height: u64,
    /// Timestamp of the last executed block, ms.
    pub timestamp_ms: u64,
    /// Genesis hash (replay protection of transactions).
    pub genesis_hash: Hash256,
    /// Lock paid by the last subnet registration, rao.
    pub last_lock_rao: u64,
    /// Block of the last subnet registration.
    pub last_lock_block: u64,
    /// TAO recycled (taken out of issuance) so far, rao.
    pub recycled_rao: u64,
}

/// A subnet's identity and owner.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct SubnetInfo {
    /// Coldkey that registered (and owns) the subnet.
    pub owner_coldkey: AccountId,
    /// The owner's hotkey (uid 0 at registration, never replaced).
    pub owner_hotkey: AccountId,
    /// Block of registration.
    pub registered_at: u64,
    /// Lock paid, rao.
    pub lock_rao: u64,
    /// Block from which the subnet emits (`start_call`), if started.
    pub first_emission_block: Option<u64>,
    /// Number of neurons (uids `0..n`).
    pub n: u16,
    /// Token symbol shown with alpha amounts.
    pub symbol: Vec<u8>,
    /// Optional identity set by the owner.
    pub identity: Option<SubnetIdentity>,
}

/// A subnet's pool, accumulated emission and epoch schedule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct Economy {
    /// TAO reserve of the pool, rao.
    pub tao_reserve_rao: u64,
    /// Alpha reserve of the pool.
    pub alpha_reserve: u64,
    /// Alpha held by stakers (outside the pool).
    pub alpha_out: u64,
    /// Moving (EMA) price, `I96F32` bits.
    pub moving_price_bits: i128,
    /// Owner cut accumulated since the last epoch, alpha.
    pub pending_owner_cut: u64,
    /// Miners' emission accumulated since the last epoch, alpha.
    pub pending_server: u64,
    /// Validators' emission accumulated since the last epoch, alpha.
    pub pending_validator: u64,
    /// Root stakers' share accumulated since the last epoch, alpha.
    pub pending_root: u64,
    /// Block of the last epoch (staggered at registration).
    pub last_epoch_block: u64,
    /// Epochs run so far.
    pub epoch_index: u64,
    /// Current registration burn, rao.
    pub burn_rao: u64,
    /// TAO emitted into the pool in the last block, rao.
    pub tao_in_emission_rao: u64,
    /// Alpha emitted in the last block.
    pub alpha_out_emission: u64,
    /// Volume traded through the pool, rao.
    pub volume_rao: u128,
}

impl Economy {
    /// The subnet's pool with these reserves (stable on the root subnet, constant product
    /// elsewhere).
    pub fn pool(&self, netuid: NetUid) -> Pool {
        subnet_pool(netuid, self.tao_reserve_rao, self.alpha_reserve)
    }
}

/// A registered neuron and its last epoch terms.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct Neuron {
    /// The neuron's hotkey.
    pub hotkey: AccountId,
    /// Block it registered at.
    pub registered_at: u64,
    /// Block its weights last changed.
    pub last_update: u64,
    /// Published axon endpoint.
    pub axon: Option<Endpoint>,
    /// Published Prometheus endpoint.
    pub prometheus: Option<Endpoint>,
    /// Validator permit granted by the last epoch.
    pub validator_permit: bool,
    /// Last epoch's consensus, u16 proportion.
    pub consensus: u16,
    /// Last epoch's incentive, u16 proportion.
    pub incentive: u16,
    /// Last epoch's dividends, u16 proportion.
    pub dividends: u16,
    /// Last epoch's validator trust, u16 proportion.
    pub validator_trust: u16,
    /// Last epoch's emission, alpha.
    pub emission: u64,
    /// Whether the last epoch counted it active.
    pub active: bool,
}

/// An axon or Prometheus endpoint as published with `serve_*`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct Endpoint {
    /// Block of publication.
    pub block: u64,
    /// Software version.
    pub version: u32,
    /// IPv4 (in the low 32 bits) or IPv6 address.
    pub ip: u128,
    /// TCP port.
    pub port: u16,
    /// 4 or 6.
    pub ip_type: u8,
    /// Protocol tag (axons).
    pub protocol: u8,
}

/// A committed, not yet revealed weight row.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct WeightCommit {
    /// blake2b-256 of the reveal (see [`tao_types::weights::commit_hash`]).
    pub hash: Hash256,
    /// Block of the commit.
    pub block: u64,
    /// Epoch index of the subnet when committed.
    pub epoch: u64,
}

/// A hotkey's delegate settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct Delegate {
    /// Share of dividends the hotkey's owner keeps, u16 proportion.
    pub take: u16,
    /// Block of the last take increase.
    pub last_increase_block: u64,
}

/// Alpha staked to a hotkey on one subnet, owned by nominators through shares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct SharePool {
    /// Alpha in the pool.
    pub alpha: u64,
    /// Shares issued; a coldkey's alpha is `shares · alpha / total_shares`.
    pub total_shares: u128,
}
