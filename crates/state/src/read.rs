//! The read API: pure queries over committed state for the RPC layer, the CLI and the SDK.
//!
//! Every function takes a `&dyn Store`, reads through an [`Overlay`] with no writes, and returns
//! a response struct that derives `Serialize` and `Deserialize` with snake-case field names
//! (`reference/subtensor.md` §7 lists the live API's structs these mirror). Conventions:
//!
//! * Amounts are `u64`: TAO in rao (fields end in `_rao`), alpha in alpha units (also nine
//!   decimals). Epoch terms (consensus, incentive, ...) are `u16` proportions as on the live API.
//! * Prices are `u64` rao per whole alpha (10⁹ alpha units), i.e. `floor(price · 10⁹)`; see
//!   [`DynamicView::price_rao_per_alpha`].
//! * Accounts serialize as SS58 addresses (prefix 42) and parse from SS58 or `0x`-hex
//!   ([`serde_account`]).
//! * Netuids and uids are plain `u16`.
//! * "Not found" is `Ok(None)` (unknown subnet or uid) or an empty vector; `Err` means storage
//!   that does not decode or a subnet whose companion records are missing.
//! * A store without chain counters or global parameters (not yet initialised by genesis) reads
//!   as height 0 and the default parameters.
//!
//! Storage keys encode `u16` ids little-endian, so scans do not return netuids or uids in
//! numeric order; every list here is sorted explicitly as its doc says.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use tao_primitives::{AccountId, NetUid, Uid};

use crate::economics::lock::network_lock_cost_rao;
use crate::economics::schedule::blocks_until_next_epoch;
use crate::error::StateError;
use crate::muldiv::mul_div_floor;
use crate::overlay::Overlay;
use crate::params::{GlobalParams, Hyperparams, RAO_PER_TAO};
use crate::schema::{
    Accounts, Bonds, Chain, ChainInfo, Delegates, Economy, Endpoint, Globals, HotkeyOwner,
    HotkeyPools, Hparams, Neuron, Neurons, SharePool, StakeIndex, StakeShares, SubnetEconomy,
    SubnetIdentity, SubnetInfo, Subnets, UidOf, WeightCommits, Weights,
};
use crate::stake::value_of;
use crate::store::Store;

/// Serde for [`AccountId`] as an SS58 address (and from `0x`-hex too).
///
/// Use with `#[serde(with = "serde_account")]`, or `serde_account::vec` for `Vec<AccountId>`.
/// The only place the read API decides how accounts look on the wire.
pub mod serde_account {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};
    use tao_primitives::AccountId;

    /// The account's SS58 address (prefix 42), as the bittensor tools print it.
    pub fn to_text(account: &AccountId) -> String {
        tao_keys::PublicKey::from_bytes(account.0).to_ss58()
    }

    /// Parses an SS58 address (prefix 42) or `0x` followed by 64 hex digits.
    pub fn from_text(text: &str) -> Option<AccountId> {
        let public = if text.starts_with("0x") {
            tao_keys::PublicKey::from_hex(text).ok()?
        } else {
            tao_keys::PublicKey::from_ss58(text).ok()?
        };
        Some(AccountId(public.to_bytes()))
    }

    /// Serializes an account as its SS58 address.
    pub fn serialize<S: Serializer>(account: &AccountId, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&to_text(account))
    }

    /// Deserializes an account from SS58 or `0x`-hex.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<AccountId, D::Error> {
        let text = String::deserialize(deserializer)?;
        from_text(&text).ok_or_else(|| {
            D::Error::custom("expected an SS58 address or 0x followed by 64 hex digits")
        })
    }

    /// The same for a list of accounts.
    pub mod vec {
        use serde::de::Error as _;
        use serde::ser::SerializeSeq as _;
        use serde::{Deserialize, Deserializer, Serializer};
        use tao_primitives::AccountId;

        /// Serializes accounts as a list of SS58 addresses.
        pub fn serialize<S: Serializer>(
            accounts: &[AccountId],
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            let mut seq = serializer.serialize_seq(Some(accounts.len()))?;
            for account in accounts {
                seq.serialize_element(&super::to_text(account))?;
            }
            seq.end()
        }

        /// Deserializes a list of SS58 or `0x`-hex strings.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Vec<AccountId>, D::Error> {
            Vec::<String>::deserialize(deserializer)?
                .iter()
                .map(|text| {
                    super::from_text(text).ok_or_else(|| {
                        D::Error::custom("expected an SS58 address or 0x followed by 64 hex digits")
                    })
                })
                .collect()
        }
    }
}

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
    /// Alpha reserve of the pool.
    pub alpha_in: u64,
    /// Alpha held by stakers, outside the pool.
    pub alpha_out: u64,
    /// Spot price in rao per whole alpha (10⁹ alpha units): `floor(tao_in · 10⁹ / alpha_in)`,
    /// computed exactly from the reserves (0 for an empty pool); 10⁹ on the root subnet, whose
    /// pool swaps 1:1.
    pub price_rao_per_alpha: u64,
    /// The moving (EMA) price in the same unit: `floor(moving_price · 10⁹)`, 0 when negative.
    pub moving_price_rao_per_alpha: u64,
    /// Owner cut accumulated since the last epoch, alpha.
    pub pending_owner_cut: u64,
    /// Miners' emission accumulated since the last epoch, alpha.
    pub pending_server_emission: u64,
    /// Validators' emission accumulated since the last epoch, alpha.
    pub pending_validator_emission: u64,
    /// Root stakers' share accumulated since the last epoch, alpha.
    pub pending_root_emission: u64,
    /// TAO injected into the pool in the last block, rao.
    pub tao_in_emission_rao: u64,
    /// Alpha emitted in the last block.
    pub alpha_out_emission: u64,
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
    /// Its alpha (the value of its shares, floored).
    pub alpha: u64,
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
    /// Alpha staked to the hotkey on this subnet (its whole share pool).
    pub stake: u64,
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
    /// Last epoch's emission, alpha.
    pub emission: u64,
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
    /// Alpha staked to each hotkey on this subnet.
    pub stake: Vec<u64>,
    /// Consensus, u16 proportions.
    pub consensus: Vec<u16>,
    /// Incentive, u16 proportions.
    pub incentive: Vec<u16>,
    /// Dividends, u16 proportions.
    pub dividends: Vec<u16>,
    /// Validator trust, u16 proportions.
    pub validator_trust: Vec<u16>,
    /// Last epoch's emission, alpha.
    pub emission: Vec<u64>,
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
    /// Alpha the position is worth (its shares' value, floored).
    pub alpha: u64,
    /// Rough TAO value at the spot price, `floor(alpha · tao_in / alpha_in)` (1:1 on the root
    /// subnet), rao; selling would return less (slippage and fee).
    pub tao_value_rao: u64,
    /// Whether the hotkey holds a uid on the subnet.
    pub registered: bool,
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
    /// Alpha the position is worth.
    pub alpha: u64,
}

/// Alpha staked to a hotkey on one subnet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct SubnetStake {
    /// The subnet.
    pub netuid: u16,
    /// Alpha in the hotkey's pool there.
    pub alpha: u64,
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
    /// The committed hash, `0x`-hex (see [`crate::calls::weights::commit_hash`]).
    pub hash: String,
    /// Block of the commit.
    pub block: u64,
    /// The subnet's epoch index when committed.
    pub epoch: u64,
    /// The only epoch index in which it can be revealed (`epoch + reveal_period_epochs`).
    pub reveal_epoch: u64,
}

/// An account's free balance and nonce (zero for an unknown account).
pub fn account(store: &dyn Store, who: &AccountId) -> Result<AccountView, StateError> {
    let info = Overlay::new(store).get_or_default::<Accounts>(who)?;
    Ok(AccountView {
        free_rao: info.free_rao,
        nonce: info.nonce,
    })
}

/// Every subnet, by netuid.
pub fn subnets_info(store: &dyn Store) -> Result<Vec<SubnetView>, StateError> {
    let state = Overlay::new(store);
    let height = chain(&state)?.height;
    let mut views = state
        .scan::<Subnets>(&())?
        .into_iter()
        .map(|(netuid, info)| {
            let (hparams, economy) = companions(&state, netuid)?;
            Ok(subnet_view(netuid, &info, &hparams, &economy, height))
        })
        .collect::<Result<Vec<_>, StateError>>()?;
    views.sort_by_key(|view| view.netuid);
    Ok(views)
}

/// One subnet; `None` if it does not exist.
pub fn subnet_info(store: &dyn Store, netuid: NetUid) -> Result<Option<SubnetView>, StateError> {
    let state = Overlay::new(store);
    let Some((info, hparams, economy)) = subnet_records(&state, netuid)? else {
        return Ok(None);
    };
    let height = chain(&state)?.height;
    Ok(Some(subnet_view(netuid, &info, &hparams, &economy, height)))
}

/// A subnet's hyperparameters; `None` if it does not exist.
pub fn subnet_hyperparams(
    store: &dyn Store,
    netuid: NetUid,
) -> Result<Option<Hyperparams>, StateError> {
    let state = Overlay::new(store);
    Ok(subnet_records(&state, netuid)?.map(|(_, hparams, _)| hparams))
}

/// A subnet's pool, pending emission and schedule; `None` if it does not exist.
pub fn dynamic_info(store: &dyn Store, netuid: NetUid) -> Result<Option<DynamicView>, StateError> {
    let state = Overlay::new(store);
    let Some((info, hparams, economy)) = subnet_records(&state, netuid)? else {
        return Ok(None);
    };
    let height = chain(&state)?.height;
    Ok(Some(dynamic_view(
        netuid, &info, &hparams, &economy, height,
    )))
}

/// Every neuron of a subnet with its stake, nominators, weights and bonds, by uid (empty for an
/// unknown subnet).
pub fn neurons(store: &dyn Store, netuid: NetUid) -> Result<Vec<NeuronView>, StateError> {
    let state = Overlay::new(store);
    let mut neurons = state.scan::<Neurons>(&netuid)?;
    neurons.sort_by_key(|((_, uid), _)| *uid);
    neurons
        .into_iter()
        .map(|((_, uid), neuron)| neuron_view(&state, netuid, uid, neuron))
        .collect()
}

/// One neuron; `None` if the subnet or uid does not exist.
pub fn neuron(
    store: &dyn Store,
    netuid: NetUid,
    uid: Uid,
) -> Result<Option<NeuronView>, StateError> {
    let state = Overlay::new(store);
    state
        .get::<Neurons>(&(netuid, uid))?
        .map(|neuron| neuron_view(&state, netuid, uid, neuron))
        .transpose()
}

/// A subnet's metagraph: one scan of its neurons plus one owner and one pool lookup per
/// neuron (no weights or bonds). `None` if the subnet does not exist.
pub fn metagraph(store: &dyn Store, netuid: NetUid) -> Result<Option<MetagraphView>, StateError> {
    let state = Overlay::new(store);
    let Some((info, hparams, economy)) = subnet_records(&state, netuid)? else {
        return Ok(None);
    };
    let height = chain(&state)?.height;
    let mut neurons = state.scan::<Neurons>(&netuid)?;
    neurons.sort_by_key(|((_, uid), _)| *uid);

    let count = neurons.len();
    let mut graph = MetagraphView {
        netuid: netuid.0,
        block: height,
        n: u16::try_from(count).map_err(|_| StateError::Corrupt("nrn/"))?,
        uids: Vec::with_capacity(count),
        hotkeys: Vec::with_capacity(count),
        coldkeys: Vec::with_capacity(count),
        stake: Vec::with_capacity(count),
        consensus: Vec::with_capacity(count),
        incentive: Vec::with_capacity(count),
        dividends: Vec::with_capacity(count),
        validator_trust: Vec::with_capacity(count),
        emission: Vec::with_capacity(count),
        active: Vec::with_capacity(count),
        last_update: Vec::with_capacity(count),
        registered_at: Vec::with_capacity(count),
        validator_permit: Vec::with_capacity(count),
        axons: Vec::with_capacity(count),
        dynamic: dynamic_view(netuid, &info, &hparams, &economy, height),
        hyperparams: hparams,
    };
    for ((_, uid), neuron) in neurons {
        let coldkey = state
            .get::<HotkeyOwner>(&neuron.hotkey)?
            .unwrap_or_default();
        let stake = state
            .get_or_default::<HotkeyPools>(&(netuid, neuron.hotkey))?
            .alpha;
        graph.uids.push(uid.0);
        graph.hotkeys.push(neuron.hotkey);
        graph.coldkeys.push(coldkey);
        graph.stake.push(stake);
        graph.consensus.push(neuron.consensus);
        graph.incentive.push(neuron.incentive);
        graph.dividends.push(neuron.dividends);
        graph.validator_trust.push(neuron.validator_trust);
        graph.emission.push(neuron.emission);
        graph.active.push(neuron.active);
        graph.last_update.push(neuron.last_update);
        graph.registered_at.push(neuron.registered_at);
        graph.validator_permit.push(neuron.validator_permit);
        graph.axons.push(neuron.axon.as_ref().map(endpoint_view));
    }
    Ok(Some(graph))
}

/// Every stake position of a coldkey, by netuid then hotkey (empty if it has none).
pub fn stake_info_for_coldkey(
    store: &dyn Store,
    coldkey: &AccountId,
) -> Result<Vec<StakeView>, StateError> {
    let state = Overlay::new(store);
    let mut economies: BTreeMap<NetUid, Economy> = BTreeMap::new();
    let mut views = Vec::new();
    for ((_, hotkey, netuid), ()) in state.scan::<StakeIndex>(coldkey)? {
        let shares = state.get_or_default::<StakeShares>(&(netuid, hotkey, *coldkey))?;
        let pool = state.get_or_default::<HotkeyPools>(&(netuid, hotkey))?;
        let alpha = value_of(shares, &pool);
        let economy = match economies.get(&netuid) {
            Some(economy) => economy,
            None => {
                let economy = state.get_or_default::<SubnetEconomy>(&netuid)?;
                economies.entry(netuid).or_insert(economy)
            }
        };
        views.push(StakeView {
            hotkey,
            coldkey: *coldkey,
            netuid: netuid.0,
            alpha,
            tao_value_rao: tao_value_rao(netuid, economy, alpha),
            registered: state.contains::<UidOf>(&(netuid, hotkey)),
        });
    }
    views.sort_by_key(|view| (view.netuid, view.hotkey));
    Ok(views)
}

/// Every delegate, by hotkey: a hotkey with a delegate record, or with stake from a coldkey
/// other than its owner. Reads every pool, position and registration once.
pub fn delegates(store: &dyn Store) -> Result<Vec<DelegateView>, StateError> {
    let state = Overlay::new(store);
    let globals = globals(&state)?;
    let records: BTreeMap<AccountId, u16> = state
        .scan::<Delegates>(&())?
        .into_iter()
        .map(|(hotkey, record)| (hotkey, record.take))
        .collect();

    let mut pools: BTreeMap<AccountId, Vec<(NetUid, SharePool)>> = BTreeMap::new();
    for ((netuid, hotkey), pool) in state.scan::<HotkeyPools>(&())? {
        pools.entry(hotkey).or_default().push((netuid, pool));
    }
    let mut positions: BTreeMap<AccountId, Vec<(AccountId, NetUid, u128)>> = BTreeMap::new();
    for ((netuid, hotkey, coldkey), shares) in state.scan::<StakeShares>(&())? {
        positions
            .entry(hotkey)
            .or_default()
            .push((coldkey, netuid, shares));
    }
    let mut registrations: BTreeMap<AccountId, Vec<(NetUid, Uid)>> = BTreeMap::new();
    for ((netuid, hotkey), uid) in state.scan::<UidOf>(&())? {
        registrations.entry(hotkey).or_default().push((netuid, uid));
    }

    let mut candidates: Vec<AccountId> = records.keys().copied().collect();
    candidates.extend(positions.keys().copied());
    candidates.sort();
    candidates.dedup();

    let mut views = Vec::new();
    for hotkey in candidates {
        let owner = state.get::<HotkeyOwner>(&hotkey)?;
        let held = positions.remove(&hotkey).unwrap_or_default();
        let nominated = held.iter().any(|(coldkey, _, _)| Some(*coldkey) != owner);
        let take = records.get(&hotkey).copied();
        if take.is_none() && !nominated {
            continue;
        }
        let hotkey_pools = pools.remove(&hotkey).unwrap_or_default();
        let pool_on = |netuid: NetUid| {
            hotkey_pools
                .iter()
                .find(|(pool_netuid, _)| *pool_netuid == netuid)
                .map(|(_, pool)| *pool)
                .unwrap_or_default()
        };
        let mut nominators: Vec<NominatorStake> = held
            .iter()
            .map(|(coldkey, netuid, shares)| NominatorStake {
                coldkey: *coldkey,
                netuid: netuid.0,
                alpha: value_of(*shares, &pool_on(*netuid)),
            })
            .collect();
        nominators.sort_by_key(|stake| (stake.coldkey, stake.netuid));
        let mut total_stake_by_subnet: Vec<SubnetStake> = hotkey_pools
            .iter()
            .map(|(netuid, pool)| SubnetStake {
                netuid: netuid.0,
                alpha: pool.alpha,
            })
            .collect();
        total_stake_by_subnet.sort_by_key(|stake| stake.netuid);

        let mut uids = registrations.remove(&hotkey).unwrap_or_default();
        uids.sort();
        let mut validator_permits = Vec::new();
        for (netuid, uid) in &uids {
            if state
                .get::<Neurons>(&(*netuid, *uid))?
                .is_some_and(|neuron| neuron.validator_permit)
            {
                validator_permits.push(netuid.0);
            }
        }
        views.push(DelegateView {
            hotkey,
            owner: owner.unwrap_or_default(),
            take: take.unwrap_or(globals.default_take),
            nominators,
            total_stake_by_subnet,
            registrations: uids.iter().map(|(netuid, _)| netuid.0).collect(),
            validator_permits,
        });
    }
    Ok(views)
}

/// A hotkey's unrevealed weight commits on a subnet, oldest first, with the epoch each must be
/// revealed in under the subnet's current reveal period (empty for an unknown subnet or hotkey;
/// expired commits the chain has not pruned yet are included, their `reveal_epoch` is past).
pub fn weight_commits(
    store: &dyn Store,
    netuid: NetUid,
    hotkey: &AccountId,
) -> Result<Vec<WeightCommitView>, StateError> {
    let state = Overlay::new(store);
    let Some((_, hparams, _)) = subnet_records(&state, netuid)? else {
        return Ok(Vec::new());
    };
    Ok(state
        .get_or_default::<WeightCommits>(&(netuid, *hotkey))?
        .into_iter()
        .map(|commit| WeightCommitView {
            hash: commit.hash.to_string(),
            block: commit.block,
            epoch: commit.epoch,
            reveal_epoch: commit.epoch.saturating_add(hparams.reveal_period_epochs),
        })
        .collect())
}

/// The chain-wide parameters in force (fees, minimum stake, take bounds, rate limits).
pub fn global_params(store: &dyn Store) -> Result<GlobalParams, StateError> {
    globals(&Overlay::new(store))
}

/// TAO (rao) a subnet registration in the next block would lock.
pub fn lock_cost(store: &dyn Store) -> Result<u64, StateError> {
    let state = Overlay::new(store);
    let chain = chain(&state)?;
    let globals = globals(&state)?;
    Ok(network_lock_cost_rao(
        chain.last_lock_rao,
        chain.last_lock_block,
        chain.height.saturating_add(1),
        globals.network_min_lock_rao,
        globals.network_lock_reduction_interval,
    ))
}

/// A subnet's current neuron registration burn, rao; `None` if it does not exist.
pub fn registration_burn(store: &dyn Store, netuid: NetUid) -> Result<Option<u64>, StateError> {
    let state = Overlay::new(store);
    Ok(subnet_records(&state, netuid)?.map(|(_, _, economy)| economy.burn_rao))
}

/// Chain counters; defaults before genesis has written them.
fn chain(state: &Overlay<'_>) -> Result<ChainInfo, StateError> {
    state.get_or_default::<Chain>(&())
}

/// Global parameters; defaults before genesis has written them.
fn globals(state: &Overlay<'_>) -> Result<GlobalParams, StateError> {
    Ok(state.get::<Globals>(&())?.unwrap_or_default())
}

/// The hyperparameters and economy every existing subnet has.
fn companions(state: &Overlay<'_>, netuid: NetUid) -> Result<(Hyperparams, Economy), StateError> {
    let hparams = state
        .get::<Hparams>(&netuid)?
        .ok_or(StateError::Missing("subnet hyperparameters"))?;
    let economy = state
        .get::<SubnetEconomy>(&netuid)?
        .ok_or(StateError::Missing("subnet economy"))?;
    Ok((hparams, economy))
}

/// A subnet's three records, or `None` if it does not exist.
fn subnet_records(
    state: &Overlay<'_>,
    netuid: NetUid,
) -> Result<Option<(SubnetInfo, Hyperparams, Economy)>, StateError> {
    let Some(info) = state.get::<Subnets>(&netuid)? else {
        return Ok(None);
    };
    let (hparams, economy) = companions(state, netuid)?;
    Ok(Some((info, hparams, economy)))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn identity_view(identity: &SubnetIdentity) -> IdentityView {
    IdentityView {
        name: text(&identity.name),
        repo: text(&identity.repo),
        contact: text(&identity.contact),
        url: text(&identity.url),
        description: text(&identity.description),
    }
}

fn subnet_view(
    netuid: NetUid,
    info: &SubnetInfo,
    hparams: &Hyperparams,
    economy: &Economy,
    height: u64,
) -> SubnetView {
    SubnetView {
        netuid: netuid.0,
        owner_coldkey: info.owner_coldkey,
        owner_hotkey: info.owner_hotkey,
        symbol: text(&info.symbol),
        identity: info.identity.as_ref().map(identity_view),
        registered_at: info.registered_at,
        lock_rao: info.lock_rao,
        n: info.n,
        max_allowed_uids: hparams.max_allowed_uids,
        tempo: hparams.tempo,
        started: info.first_emission_block.is_some(),
        first_emission_block: info.first_emission_block,
        burn_rao: economy.burn_rao,
        last_epoch_block: economy.last_epoch_block,
        blocks_until_next_epoch: blocks_until_next_epoch(
            economy.last_epoch_block,
            hparams.tempo,
            height,
        ),
    }
}

fn dynamic_view(
    netuid: NetUid,
    info: &SubnetInfo,
    hparams: &Hyperparams,
    economy: &Economy,
    height: u64,
) -> DynamicView {
    DynamicView {
        netuid: netuid.0,
        name: info
            .identity
            .as_ref()
            .map(|identity| text(&identity.name))
            .unwrap_or_default(),
        symbol: text(&info.symbol),
        owner_coldkey: info.owner_coldkey,
        owner_hotkey: info.owner_hotkey,
        registered_at: info.registered_at,
        tempo: hparams.tempo,
        last_epoch_block: economy.last_epoch_block,
        blocks_since_last_step: height.saturating_sub(economy.last_epoch_block),
        blocks_until_next_epoch: blocks_until_next_epoch(
            economy.last_epoch_block,
            hparams.tempo,
            height,
        ),
        epoch_index: economy.epoch_index,
        tao_in_rao: economy.tao_reserve_rao,
        alpha_in: economy.alpha_reserve,
        alpha_out: economy.alpha_out,
        price_rao_per_alpha: tao_value_rao(netuid, economy, RAO_PER_TAO),
        moving_price_rao_per_alpha: moving_price_rao_per_alpha(economy.moving_price_bits),
        pending_owner_cut: economy.pending_owner_cut,
        pending_server_emission: economy.pending_server,
        pending_validator_emission: economy.pending_validator,
        pending_root_emission: economy.pending_root,
        tao_in_emission_rao: economy.tao_in_emission_rao,
        alpha_out_emission: economy.alpha_out_emission,
        subnet_volume_rao: economy.volume_rao,
    }
}

fn neuron_view(
    state: &Overlay<'_>,
    netuid: NetUid,
    uid: Uid,
    neuron: Neuron,
) -> Result<NeuronView, StateError> {
    let coldkey = state
        .get::<HotkeyOwner>(&neuron.hotkey)?
        .unwrap_or_default();
    let pool = state.get_or_default::<HotkeyPools>(&(netuid, neuron.hotkey))?;
    let nominators = state
        .scan::<StakeShares>(&(netuid, neuron.hotkey))?
        .into_iter()
        .map(|((_, _, coldkey), shares)| ColdkeyStake {
            coldkey,
            alpha: value_of(shares, &pool),
        })
        .collect();
    Ok(NeuronView {
        hotkey: neuron.hotkey,
        coldkey,
        uid: uid.0,
        netuid: netuid.0,
        active: neuron.active,
        axon: neuron.axon.as_ref().map(endpoint_view),
        prometheus: neuron.prometheus.as_ref().map(endpoint_view),
        stake: pool.alpha,
        nominators,
        consensus: neuron.consensus,
        incentive: neuron.incentive,
        dividends: neuron.dividends,
        validator_trust: neuron.validator_trust,
        emission: neuron.emission,
        last_update: neuron.last_update,
        registered_at: neuron.registered_at,
        validator_permit: neuron.validator_permit,
        weights: state.get_or_default::<Weights>(&(netuid, uid))?,
        bonds: state.get_or_default::<Bonds>(&(netuid, uid))?,
    })
}

fn endpoint_view(endpoint: &Endpoint) -> EndpointView {
    EndpointView {
        block: endpoint.block,
        version: endpoint.version,
        ip: ip_text(endpoint.ip, endpoint.ip_type),
        port: endpoint.port,
        ip_type: endpoint.ip_type,
        protocol: endpoint.protocol,
    }
}

/// Dotted IPv4 when the address is (or fits) IPv4, else IPv6 text.
fn ip_text(ip: u128, ip_type: u8) -> String {
    match u32::try_from(ip) {
        Ok(v4) if ip_type != 6 => Ipv4Addr::from(v4).to_string(),
        _ => Ipv6Addr::from(ip).to_string(),
    }
}

/// `floor(alpha · tao_in / alpha_in)` rao: `alpha` valued at the spot price (1:1 on the root
/// subnet; 0 for a pool without alpha), saturating at `u64::MAX`.
fn tao_value_rao(netuid: NetUid, economy: &Economy, alpha: u64) -> u64 {
    if netuid == NetUid::ROOT {
        return alpha;
    }
    mul_div_floor(
        u128::from(alpha),
        u128::from(economy.tao_reserve_rao),
        u128::from(economy.alpha_reserve),
    )
    .map_or(0, |value| u64::try_from(value).unwrap_or(u64::MAX))
}

/// `floor(bits · 10⁹ / 2³²)` of non-negative `I96F32` bits, saturating; 0 when negative.
fn moving_price_rao_per_alpha(bits: i128) -> u64 {
    let Ok(bits) = u128::try_from(bits) else {
        return 0;
    };
    mul_div_floor(bits, u128::from(RAO_PER_TAO), 1u128 << 32)
        .map_or(0, |value| u64::try_from(value).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_ss58_and_parse_from_ss58_or_hex() {
        // //Alice's well-known key.
        let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
        let account = serde_account::from_text(alice).unwrap_or_default();
        assert_eq!(serde_account::to_text(&account), alice);
        let hex = "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";
        assert_eq!(serde_account::from_text(hex), Some(account));
        assert_eq!(serde_account::from_text("abab"), None);
        assert_eq!(serde_account::from_text(&hex[..64]), None);
        assert_eq!(serde_account::from_text(&alice[..40]), None);
        assert_eq!(
            serde_account::from_text(&format!("0x{}", "zz".repeat(32))),
            None
        );
    }

    #[test]
    fn ip_text_covers_both_families() {
        assert_eq!(ip_text(0x0a00_0001, 4), "10.0.0.1");
        assert_eq!(ip_text(0, 0), "0.0.0.0");
        assert_eq!(ip_text(1, 6), "::1");
        assert_eq!(ip_text(u128::MAX, 4), Ipv6Addr::from(u128::MAX).to_string());
    }

    #[test]
    fn prices_floor_and_saturate() {
        let economy = Economy {
            tao_reserve_rao: 1_000,
            alpha_reserve: 3_000,
            ..Economy::default()
        };
        assert_eq!(tao_value_rao(NetUid(1), &economy, RAO_PER_TAO), 333_333_333);
        assert_eq!(tao_value_rao(NetUid::ROOT, &economy, 7), 7);
        assert_eq!(tao_value_rao(NetUid(1), &Economy::default(), 7), 0);
        let huge = Economy {
            tao_reserve_rao: u64::MAX,
            alpha_reserve: 1,
            ..Economy::default()
        };
        assert_eq!(tao_value_rao(NetUid(1), &huge, u64::MAX), u64::MAX);
        assert_eq!(moving_price_rao_per_alpha(1 << 31), 500_000_000);
        assert_eq!(moving_price_rao_per_alpha(-1), 0);
        assert_eq!(moving_price_rao_per_alpha(i128::MAX), u64::MAX);
    }

    #[test]
    fn value_of_survives_huge_share_counts() {
        let pool = SharePool {
            alpha: u64::MAX,
            total_shares: u128::MAX,
        };
        assert_eq!(value_of(u128::MAX, &pool), u64::MAX);
        assert_eq!(value_of(u128::MAX / 2, &pool), u64::MAX / 2);
        assert_eq!(value_of(5, &SharePool::default()), 0);
        // 10 M alpha staked at the initial 2^32 shares per alpha: shares · alpha > 2^128.
        let alpha = 10_000_000 * RAO_PER_TAO;
        let pool = SharePool {
            alpha,
            total_shares: u128::from(alpha) << 32,
        };
        assert_eq!(value_of(u128::from(alpha) << 32, &pool), alpha);
        assert_eq!(value_of(u128::from(alpha / 4) << 32, &pool), alpha / 4);
    }
}
