//! The read views: what the node's read API returns, for the RPC layer, the CLI, the SDK and
//! the explorer (`reference/subtensor.md` §7 lists the live API's structs these mirror).
//! Each derives `Serialize` and `Deserialize` with snake-case field names. Conventions:
//!
//! * Amounts are `u64` in their smallest unit, and every amount field ends in `_rao`: TAO in
//!   rao, alpha in alpha rao (nine decimals too; the live API's `Balance.rao` for alpha).
//!   Epoch terms (consensus, incentive, ...) are `u16` proportions as on the live API.
//! * Prices are `u64` rao per whole alpha (10⁹ alpha units), i.e. `floor(price · 10⁹)`; see
//!   [`DynamicView::price_rao_per_alpha`].
//! * Accounts serialize as SS58 addresses (prefix 42) and parse from SS58 or `0x`-hex
//!   ([`crate::serde_account`]).
//! * Netuids and uids are plain `u16`.

use serde::{Deserialize, Serialize};
use tao_primitives::AccountId;

use crate::params::Hyperparams;
use crate::serde_account;

/// An account's free balance and nonce.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct AccountView {
    /// Spendable balance, rao.
    pub free_rao: u64,
    /// Transactions the account has sent (the nonce its next transaction must use).
    pub nonce: u64,
}

/// What a subnet owner says about the subnet, as (lossy) UTF-8 text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct IdentityView {
    /// Display name.
    pub name: String,
    /// Source repository.
    pub repo: String,
    /// Contact address.
    pub contact: String,
    /// Web site.
    pub url: String,
    /// Description.
    pub description: String,
}

/// A subnet's identity, size and schedule (`SubnetInfo` of the live API).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct SubnetView {
    /// The subnet.
    pub netuid: u16,
    /// Coldkey that registered and owns the subnet.
    #[serde(with = "serde_account")]
    pub owner_coldkey: AccountId,
    /// The owner's hotkey.
    #[serde(with = "serde_account")]
    pub owner_hotkey: AccountId,
    /// Token symbol (lossy UTF-8).
    pub symbol: String,
    /// The owner's identity, if set.
    pub identity: Option<IdentityView>,
    /// Block of registration.
    pub registered_at: u64,
    /// TAO locked at registration, rao.
    pub lock_rao: u64,
    /// Number of neurons.
    pub n: u16,
    /// Most neurons.
    pub max_allowed_uids: u16,
    /// Blocks between epochs.
    pub tempo: u16,
    /// Whether the owner has started emissions (`start_call`).
    pub started: bool,
    /// Block from which the subnet emits, once started.
    pub first_emission_block: Option<u64>,
    /// Current neuron registration burn, rao.
    pub burn_rao: u64,
    /// Block of the last epoch.
    pub last_epoch_block: u64,
    /// Blocks from the current height until the next scheduled epoch ([`u64::MAX`]: tempo 0).
    pub blocks_until_next_epoch: u64,
}

/// A subnet's pool, emission and schedule (`DynamicInfo` of the live API).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct DynamicView {
    /// The subnet.
    pub netuid: u16,
    /// Display name from the identity (empty without one).
    pub name: String,
    /// Token symbol (lossy UTF-8).
    pub symbol: String,
    /// Owner coldkey.
    #[serde(with = "serde_account")]
    pub owner_coldkey: AccountId,
    /// Owner hotkey.
    #[serde(with = "serde_account")]
    pub owner_hotkey: AccountId,
    /// Block of registration.
    pub registered_at: u64,
    /// Blocks between epochs.
    pub tempo: u16,
    /// Block of the last epoch (`last_step`).
    pub last_epoch_block: u64,
    /// Blocks from the last epoch to the current height.
    pub blocks_since_last_step: u64,
    /// Blocks from the current height until the next scheduled epoch ([`u64::MAX`]: tempo 0).
    pub blocks_until_next_epoch: u64,
    /// Epochs run so far.
    pub epoch_index: u64,
    /// TAO reserve of the pool, rao.
    pub tao_in_rao: u64,
    /// Alpha reserve of the pool, alpha rao.
    pub alpha_in_rao: u64,
    /// Alpha held by stakers, outside the pool, alpha rao.
    pub alpha_out_rao: u64,
    /// Spot price in rao per whole alpha (10⁹ alpha units): `floor(tao_in · 10⁹ / alpha_in)`,
    /// computed exactly from the reserves (0 for an empty pool); 10⁹ on the root subnet, whose
    /// pool swaps 1:1.
    pub price_rao_per_alpha: u64,
    /// The moving (EMA) price in the same unit: `floor(moving_price · 10⁹)`, 0 when negative.
    pub moving_price_rao_per_alpha: u64,
    /// Owner cut accumulated since the last epoch, alpha rao.
    pub pending_owner_cut_rao: u64,
    /// Miners' emission accumulated since the last epoch, alpha rao.
    pub pending_server_emission_rao: u64,
    /// Validators' emission accumulated since the last epoch, alpha rao.
    pub pending_validator_emission_rao: u64,
    /// Root stakers' share accumulated since the last epoch, alpha rao.
    pub pending_root_emission_rao: u64,
    /// TAO injected into the pool in the last block, rao.
    pub tao_in_emission_rao: u64,
    /// Alpha emitted in the last block, alpha rao.
    pub alpha_out_emission_rao: u64,
    /// TAO volume traded through the pool, rao (`u128` as on the live chain).
    pub subnet_volume_rao: u128,
}

/// A published axon or Prometheus endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct EndpointView {
    /// Block of publication.
    pub block: u64,
    /// Software version.
    pub version: u32,
    /// Address as text: dotted IPv4 (`a.b.c.d`) or IPv6 (`ip_type` 6).
    pub ip: String,
    /// TCP port.
    pub port: u16,
    /// 4 or 6.
    pub ip_type: u8,
    /// Protocol tag (axons; 0 for Prometheus).
    pub protocol: u8,
}

/// Alpha one coldkey holds through a hotkey on the subnet in question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct ColdkeyStake {
    /// The nominator.
    #[serde(with = "serde_account")]
    pub coldkey: AccountId,
    /// Its alpha (the value of its shares, floored), alpha rao.
    pub alpha_rao: u64,
}

/// One neuron of a subnet (`NeuronInfo` of the live API, without the retired rank and trust).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct NeuronView {
    /// The neuron's hotkey.
    #[serde(with = "serde_account")]
    pub hotkey: AccountId,
    /// The hotkey's owner (all zeros if no owner is recorded).
    #[serde(with = "serde_account")]
    pub coldkey: AccountId,
    /// Slot in the subnet.
    pub uid: u16,
    /// The subnet.
    pub netuid: u16,
    /// Whether the last epoch counted it active.
    pub active: bool,
    /// Published axon, if any.
    pub axon: Option<EndpointView>,
    /// Published Prometheus endpoint, if any.
    pub prometheus: Option<EndpointView>,
    /// Alpha staked to the hotkey on this subnet (its whole share pool), alpha rao.
    pub stake_rao: u64,
    /// The pool's positions by coldkey (owner included), in coldkey order.
    pub nominators: Vec<ColdkeyStake>,
    /// Last epoch's consensus, u16 proportion.
    pub consensus: u16,
    /// Last epoch's incentive, u16 proportion.
    pub incentive: u16,
    /// Last epoch's dividends, u16 proportion.
    pub dividends: u16,
    /// Last epoch's validator trust, u16 proportion.
    pub validator_trust: u16,
    /// Last epoch's emission, alpha rao.
    pub emission_rao: u64,
    /// Block its weights last changed.
    pub last_update: u64,
    /// Block it registered at.
    pub registered_at: u64,
    /// Validator permit from the last epoch.
    pub validator_permit: bool,
    /// Weight row: `[destination uid, u16 weight]` pairs.
    pub weights: Vec<(u16, u16)>,
    /// Bond row: `[miner uid, u16 bond]` pairs.
    pub bonds: Vec<(u16, u16)>,
}

/// A subnet's neurons as parallel arrays (index = position in `uids`, sorted by uid), shaped
/// like the SDK's `Metagraph` (`reference/sdk.md` §6.1), with the subnet's parameters and pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct MetagraphView {
    /// The subnet.
    pub netuid: u16,
    /// Height of the state read (the last executed block).
    pub block: u64,
    /// Number of neurons (length of every array).
    pub n: u16,
    /// Uids, ascending.
    pub uids: Vec<u16>,
    /// Hotkeys.
    #[serde(with = "serde_account::vec")]
    pub hotkeys: Vec<AccountId>,
    /// Owners of the hotkeys (all zeros where none is recorded).
    #[serde(with = "serde_account::vec")]
    pub coldkeys: Vec<AccountId>,
    /// Alpha staked to each hotkey on this subnet, alpha rao.
    pub stake_rao: Vec<u64>,
    /// Consensus, u16 proportions.
    pub consensus: Vec<u16>,
    /// Incentive, u16 proportions.
    pub incentive: Vec<u16>,
    /// Dividends, u16 proportions.
    pub dividends: Vec<u16>,
    /// Validator trust, u16 proportions.
    pub validator_trust: Vec<u16>,
    /// Last epoch's emission, alpha rao.
    pub emission_rao: Vec<u64>,
    /// Active flags.
    pub active: Vec<bool>,
    /// Blocks of the last weight update.
    pub last_update: Vec<u64>,
    /// Blocks of registration.
    pub registered_at: Vec<u64>,
    /// Validator permits.
    pub validator_permit: Vec<bool>,
    /// Published axons (`None`: never served).
    pub axons: Vec<Option<EndpointView>>,
    /// The subnet's hyperparameters.
    pub hyperparams: Hyperparams,
    /// The subnet's identity, pool and schedule.
    pub dynamic: DynamicView,
}

/// One stake position of a coldkey (`StakeInfo` of the live API).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct StakeView {
    /// Hotkey staked to.
    #[serde(with = "serde_account")]
    pub hotkey: AccountId,
    /// Owner of the position.
    #[serde(with = "serde_account")]
    pub coldkey: AccountId,
    /// Subnet of the position.
    pub netuid: u16,
    /// Alpha the position is worth (its shares' value, floored), alpha rao.
    pub alpha_rao: u64,
    /// Rough TAO value at the spot price, `floor(alpha · tao_in / alpha_in)` (1:1 on the root
    /// subnet), rao; selling would return less (slippage and fee).
    pub tao_value_rao: u64,
    /// Whether the hotkey holds a uid on the subnet.
    pub registered: bool,
    /// The subnet was dissolved and is being cleaned (ADR 017): the per-block cleanup pays
    /// this position out — `tao_value_rao` is then its share of the pool's TAO — and deletes
    /// it within a few blocks.
    #[serde(default)]
    pub being_cleaned: bool,
}

/// One nominator position in a delegate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct NominatorStake {
    /// The nominator.
    #[serde(with = "serde_account")]
    pub coldkey: AccountId,
    /// Subnet of the position.
    pub netuid: u16,
    /// Alpha the position is worth, alpha rao.
    pub alpha_rao: u64,
}

/// Alpha staked to a hotkey on one subnet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct SubnetStake {
    /// The subnet.
    pub netuid: u16,
    /// Alpha in the hotkey's pool there, alpha rao.
    pub alpha_rao: u64,
}

/// A hotkey that others can (or do) stake to (`DelegateInfo` of the live API).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct DelegateView {
    /// The delegate hotkey.
    #[serde(with = "serde_account")]
    pub hotkey: AccountId,
    /// Its owner coldkey (all zeros if none is recorded).
    #[serde(with = "serde_account")]
    pub owner: AccountId,
    /// Share of dividends the owner keeps, u16 proportion (the chain default without a record).
    pub take: u16,
    /// Every position in its pools, the owner's included, by coldkey then netuid.
    pub nominators: Vec<NominatorStake>,
    /// Alpha in its pool on each subnet, by netuid.
    pub total_stake_by_subnet: Vec<SubnetStake>,
    /// Subnets where it holds a uid, ascending.
    pub registrations: Vec<u16>,
    /// Subnets where it holds a validator permit, ascending.
    pub validator_permits: Vec<u16>,
}

/// One unrevealed weight commit of a hotkey on a subnet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct WeightCommitView {
    /// The committed hash, `0x`-hex (see [`crate::weights::commit_hash`]).
    pub hash: String,
    /// Block of the commit.
    pub block: u64,
    /// The subnet's epoch index when committed.
    pub epoch: u64,
    /// The only epoch index in which it can be revealed (`epoch + reveal_period_epochs`).
    pub reveal_epoch: u64,
}
