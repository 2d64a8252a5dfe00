//! The read API: pure queries over committed state for the RPC layer, the CLI and the SDK.
//!
//! Every function takes a `&dyn Store`, reads through an [`Overlay`] with no writes, and returns
//! one of `tao_types::views` (their conventions for amounts, prices and accounts are there).
//!
//! * "Not found" is `Ok(None)` (unknown subnet or uid) or an empty vector; `Err` means storage
//!   that does not decode or a subnet whose companion records are missing.
//! * A store without chain counters or global parameters (not yet initialised by genesis) reads
//!   as height 0 and the default parameters.
//!
//! Storage keys encode `u16` ids little-endian, so scans do not return netuids or uids in
//! numeric order; every list here is sorted explicitly as its doc says.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use tao_primitives::muldiv::mul_div_floor;
use tao_primitives::{AccountId, NetUid, Uid};
use tao_types::params::{GlobalParams, Hyperparams, RAO_PER_TAO};
use tao_types::tx::SubnetIdentity;
use tao_types::views::{
    AccountView, ColdkeyStake, DelegateView, DynamicView, EndpointView, IdentityView,
    MetagraphView, NeuronView, NominatorStake, StakeView, SubnetStake, SubnetView,
    WeightCommitView,
};

use crate::economics::lock::network_lock_cost_rao;
use crate::economics::schedule::blocks_until_next_epoch;
use crate::error::StateError;
use crate::overlay::Overlay;
use crate::schema::{
    Accounts, Bonds, Chain, ChainInfo, Cleanups, Delegates, Economy, Endpoint, Globals,
    HotkeyOwner, HotkeyPools, Hparams, Neuron, Neurons, SharePool, StakeIndex, StakeShares,
    SubnetEconomy, SubnetInfo, Subnets, UidOf, WeightCommits, Weights,
};
use crate::stake::value_of;
use crate::store::Store;

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
        stake_rao: Vec::with_capacity(count),
        consensus: Vec::with_capacity(count),
        incentive: Vec::with_capacity(count),
        dividends: Vec::with_capacity(count),
        validator_trust: Vec::with_capacity(count),
        emission_rao: Vec::with_capacity(count),
        active: Vec::with_capacity(count),
        last_update: Vec::with_capacity(count),
        registered_at: Vec::with_capacity(count),
        validator_permit: Vec::with_capacity(count),
        axons: Vec::with_capacity(count),
        dynamic: dynamic_view(netuid, &info, &hparams, &economy, height),
        hyperparams: hparams,
    };
    for ((_, uid), neuron) in neurons {
        let coldkey = owner_of(&state, &neuron.hotkey)?;
        let stake = state
            .get_or_default::<HotkeyPools>(&(netuid, neuron.hotkey))?
            .alpha;
        graph.uids.push(uid.0);
        graph.hotkeys.push(neuron.hotkey);
        graph.coldkeys.push(coldkey);
        graph.stake_rao.push(stake);
        graph.consensus.push(neuron.consensus);
        graph.incentive.push(neuron.incentive);
        graph.dividends.push(neuron.dividends);
        graph.validator_trust.push(neuron.validator_trust);
        graph.emission_rao.push(neuron.emission);
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
        let cleanup = state.get::<Cleanups>(&netuid)?;
        let tao_value = match &cleanup {
            // Its share of what the cleanup still holds for the positions left.
            Some(cleanup) => crate::stake::mul_div_floor(
                u128::from(crate::cleanup::tao_left(cleanup)),
                u128::from(alpha),
                u128::from(crate::cleanup::alpha_left(cleanup)),
            )
            .and_then(|value| u64::try_from(value).ok())
            .unwrap_or(0),
            None => tao_value_rao(netuid, economy, alpha),
        };
        views.push(StakeView {
            hotkey,
            coldkey: *coldkey,
            netuid: netuid.0,
            alpha_rao: alpha,
            tao_value_rao: tao_value,
            registered: state.contains::<UidOf>(&(netuid, hotkey)),
            being_cleaned: cleanup.is_some(),
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
                alpha_rao: value_of(*shares, &pool_on(*netuid)),
            })
            .collect();
        nominators.sort_by_key(|stake| (stake.coldkey, stake.netuid));
        let mut total_stake_by_subnet: Vec<SubnetStake> = hotkey_pools
            .iter()
            .map(|(netuid, pool)| SubnetStake {
                netuid: netuid.0,
                alpha_rao: pool.alpha,
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
/// The coldkey of a registered hotkey: it always has one, so none is corrupt state.
fn owner_of(state: &Overlay<'_>, hotkey: &AccountId) -> Result<AccountId, StateError> {
    state
        .get::<HotkeyOwner>(hotkey)?
        .ok_or(StateError::Missing("owner of a registered hotkey"))
}

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
        alpha_in_rao: economy.alpha_reserve,
        alpha_out_rao: economy.alpha_out,
        price_rao_per_alpha: tao_value_rao(netuid, economy, RAO_PER_TAO),
        moving_price_rao_per_alpha: moving_price_rao_per_alpha(economy.moving_price_bits),
        pending_owner_cut_rao: economy.pending_owner_cut,
        pending_server_emission_rao: economy.pending_server,
        pending_validator_emission_rao: economy.pending_validator,
        pending_root_emission_rao: economy.pending_root,
        tao_in_emission_rao: economy.tao_in_emission_rao,
        alpha_out_emission_rao: economy.alpha_out_emission,
        subnet_volume_rao: economy.volume_rao,
    }
}

fn neuron_view(
    state: &Overlay<'_>,
    netuid: NetUid,
    uid: Uid,
    neuron: Neuron,
) -> Result<NeuronView, StateError> {
    let coldkey = owner_of(state, &neuron.hotkey)?;
    let pool = state.get_or_default::<HotkeyPools>(&(netuid, neuron.hotkey))?;
    let nominators = state
        .scan::<StakeShares>(&(netuid, neuron.hotkey))?
        .into_iter()
        .map(|((_, _, coldkey), shares)| ColdkeyStake {
            coldkey,
            alpha_rao: value_of(shares, &pool),
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
        stake_rao: pool.alpha,
        nominators,
        consensus: neuron.consensus,
        incentive: neuron.incentive,
        dividends: neuron.dividends,
        validator_trust: neuron.validator_trust,
        emission_rao: neuron.emission,
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
