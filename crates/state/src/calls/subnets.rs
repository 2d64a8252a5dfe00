//! Subnet life cycle: registration with a lock, `start_call`, and removal.

use tao_primitives::{AccountId, I96F32, NetUid, Uid};

use crate::ctx::Ctx;
use crate::economics::lock::network_lock_cost_rao;
use crate::economics::split::largest_remainder;
use crate::error::TxError;
use crate::events::Event;
use crate::hotkeys::ensure_owns_or_free;
use crate::overlay::Overlay;
use crate::params::RAO_PER_TAO;
use crate::schema::{
    Bonds, Chain, Cleanups, DefaultHparams, Economy, HotkeyPools, HparamLastSet, Hparams, Neurons,
    PositionCount, PositionSlots, SlotOfPosition, StakeIndex, StakeShares, SubnetEconomy,
    SubnetInfo, Subnets, UidOf, WeightCommits, Weights,
};
use crate::stake;
use crate::tx::SubnetIdentity;

/// Registration burn of a new subnet's first neurons (`DefaultNeuronBurnCost`), rao.
const INITIAL_BURN_RAO: u64 = RAO_PER_TAO;

/// Token symbols handed out by netuid.
const SYMBOLS: [&str; 24] = [
    "α", "β", "γ", "δ", "ε", "ζ", "η", "θ", "ι", "κ", "λ", "μ", "ν", "ξ", "ο", "π", "ρ", "σ", "τ",
    "υ", "φ", "χ", "ψ", "ω",
];

/// What a new subnet costs to register now, rao.
pub fn lock_cost(ctx: &Ctx<'_>) -> Result<u64, TxError> {
    let chain = ctx.chain()?;
    Ok(network_lock_cost_rao(
        chain.last_lock_rao,
        chain.last_lock_block,
        ctx.height,
        ctx.globals.network_min_lock_rao,
        ctx.globals.network_lock_reduction_interval,
    ))
}

/// Creates a subnet owned by `coldkey` with `hotkey` as uid 0, paying the lock cost into the
/// new subnet's pool.
pub fn register_network(
    ctx: &mut Ctx<'_>,
    coldkey: &AccountId,
    hotkey: &AccountId,
    identity: Option<SubnetIdentity>,
) -> Result<(), TxError> {
    ensure_owns_or_free(ctx, coldkey, hotkey)?;
    let chain = ctx.chain()?;
    let rate_limited = chain.last_lock_block != 0
        && ctx.height.saturating_sub(chain.last_lock_block) < ctx.globals.network_rate_limit;
    if rate_limited {
        return Err(TxError::NetworkTxRateLimitExceeded);
    }
    let lock_rao = lock_cost(ctx)?;
    if ctx.free(coldkey)? < lock_rao {
        return Err(TxError::CannotAffordLockCost);
    }
    let netuid = free_netuid(ctx)?;
    ctx.debit(coldkey, lock_rao)?;
    let hparams = ctx.state.get::<DefaultHparams>(&())?.unwrap_or_default();
    let alpha_reserve = seed_alpha(&ctx.state, lock_rao)?;
    let economy = Economy {
        tao_reserve_rao: lock_rao,
        alpha_reserve,
        last_epoch_block: ctx.height.saturating_sub(
            u64::from(netuid.0)
                .checked_rem(u64::from(hparams.tempo))
                .unwrap_or(0),
        ),
        burn_rao: INITIAL_BURN_RAO.clamp(
            hparams.min_burn_rao,
            hparams.max_burn_rao.max(hparams.min_burn_rao),
        ),
        moving_price_bits: 0,
        ..Economy::default()
    };
    let symbol = SYMBOLS
        .get(
            usize::from(netuid.0)
                .checked_rem(SYMBOLS.len())
                .unwrap_or(0),
        )
        .copied()
        .unwrap_or("α");
    let info = SubnetInfo {
        owner_coldkey: *coldkey,
        owner_hotkey: *hotkey,
        registered_at: ctx.height,
        lock_rao,
        first_emission_block: None,
        n: 1,
        symbol: symbol.as_bytes().to_vec(),
        identity,
    };
    ctx.state.put::<Subnets>(&netuid, &info);
    ctx.state.put::<Hparams>(&netuid, &hparams);
    ctx.state.put::<SubnetEconomy>(&netuid, &economy);
    super::registration::put_neuron(ctx, netuid, Uid(0), hotkey, coldkey)?;
    // Re-read: pruning a subnet above recycled TAO and so changed the issuance.
    let mut chain = ctx.chain()?;
    chain.last_lock_rao = lock_rao;
    chain.last_lock_block = ctx.height;
    ctx.state.put::<Chain>(&(), &chain);
    ctx.emit(Event::NetworkAdded {
        netuid,
        owner: *coldkey,
        lock_rao,
    });
    Ok(())
}

/// The owner starts emissions (and staking) on a subnet.
pub fn start_call(ctx: &mut Ctx<'_>, signer: &AccountId, netuid: NetUid) -> Result<(), TxError> {
    let mut info = ctx.subnet(netuid)?;
    if info.owner_coldkey != *signer {
        return Err(TxError::NotSubnetOwner);
    }
    if info.first_emission_block.is_some() {
        return Err(TxError::FirstEmissionBlockNumberAlreadySet);
    }
    if ctx.height
        < info
            .registered_at
            .saturating_add(ctx.globals.start_call_delay)
    {
        return Err(TxError::NeedWaitingMoreBlocksToStarCall);
    }
    let block = ctx.height.saturating_add(1);
    info.first_emission_block = Some(block);
    ctx.state.put::<Subnets>(&netuid, &info);
    ctx.emit(Event::FirstEmissionBlockNumberSet { netuid, block });
    Ok(())
}

/// The netuid for a new subnet: the lowest free one, or the one freed by pruning.
fn free_netuid(ctx: &mut Ctx<'_>) -> Result<NetUid, TxError> {
    let subnets = ctx.state.scan::<Subnets>(&())?;
    let count = subnets
        .iter()
        .filter(|(netuid, _)| *netuid != NetUid::ROOT)
        .count();
    if count >= usize::from(ctx.globals.subnet_limit) {
        let victim = prune_candidate(ctx, &subnets)?.ok_or(TxError::SubnetLimitReached)?;
        remove_subnet(ctx, victim)?;
    }
    // A removed subnet's netuid stays taken until its cleanup is done (ADR 017).
    let mut taken: std::collections::BTreeSet<u16> =
        subnets.iter().map(|(netuid, _)| netuid.0).collect();
    for (netuid, _) in ctx.state.scan::<Cleanups>(&())? {
        taken.insert(netuid.0);
    }
    (1..=u16::MAX)
        .find(|id| !taken.contains(id))
        .map(NetUid)
        .ok_or(TxError::SubnetLimitReached)
}

/// The non-immune subnet with the lowest moving price (ties: registered earliest).
fn prune_candidate(
    ctx: &Ctx<'_>,
    subnets: &[(NetUid, SubnetInfo)],
) -> Result<Option<NetUid>, TxError> {
    let mut best: Option<(i128, u64, NetUid)> = None;
    for (netuid, info) in subnets {
        let immune = ctx.height
            < info
                .registered_at
                .saturating_add(ctx.globals.network_immunity_period);
        if *netuid == NetUid::ROOT || immune {
            continue;
        }
        let price = ctx.economy(*netuid)?.moving_price_bits;
        let key = (price, info.registered_at, *netuid);
        if best.is_none_or(|current| key < current) {
            best = Some(key);
        }
    }
    Ok(best.map(|(_, _, netuid)| netuid))
}

/// Alpha to seed a new pool holding `tao_rao`, priced at the median moving (EMA) price of the
/// other subnets, as live. While those EMAs are still warming up (below 1 % of the median
/// spot price, as on any young chain) the median spot price is used instead, and 1 TAO per
/// alpha when there are no other subnets — otherwise a near-zero EMA would seed a pool with
/// absurdly cheap alpha whose issuance passes the cap at once (ADR 006).
fn seed_alpha(state: &Overlay<'_>, tao_rao: u64) -> Result<u64, TxError> {
    let economies: Vec<Economy> = state
        .scan::<SubnetEconomy>(&())?
        .into_iter()
        .filter(|(netuid, _)| *netuid != NetUid::ROOT)
        .map(|(_, economy)| economy)
        .collect();
    let moving = median(
        economies
            .iter()
            .map(|e| I96F32::from_bits(e.moving_price_bits)),
    );
    let spot = median(
        economies
            .iter()
            .map(|e| crate::pool::Pool::dynamic(e.tao_reserve_rao, e.alpha_reserve).price()),
    );
    let price = match (moving, spot) {
        (Some(moving), Some(spot)) if moving >= spot.saturating_div(I96F32::from_num(100)) => {
            moving
        }
        (_, Some(spot)) => spot,
        (Some(moving), None) => moving,
        (None, None) => I96F32::from_num(1),
    };
    let alpha = I96F32::from_num(tao_rao)
        .checked_div(price)
        .unwrap_or(I96F32::from_num(tao_rao));
    Ok(alpha.checked_to_num::<u64>().unwrap_or(u64::MAX))
}

/// The median of the positive values.
fn median(values: impl Iterator<Item = I96F32>) -> Option<I96F32> {
    let mut positive: Vec<I96F32> = values.filter(|v| *v > I96F32::from_num(0)).collect();
    positive.sort();
    positive
        .get(positive.len().checked_div(2).unwrap_or(0))
        .copied()
}

/// Dissolves a subnet: it leaves the live subnets at once and the per-block cleanup pays its
/// stakers and deletes its records over the next blocks ([`crate::cleanup`]).
pub fn remove_subnet(ctx: &mut Ctx<'_>, netuid: NetUid) -> Result<(), TxError> {
    crate::cleanup::begin(ctx, netuid)
}

/// The one-shot dissolution the chain ran before ADR 017, kept as the reference the
/// incremental cleanup is tested against (and benchmarked): the pool's TAO is paid to stakers
/// in proportion to the alpha they hold (largest remainder, so every rao is paid), then every
/// record of the subnet is deleted, all in one call whose work grows with the subnet.
pub fn remove_subnet_at_once(ctx: &mut Ctx<'_>, netuid: NetUid) -> Result<(), TxError> {
    let economy = ctx.economy(netuid)?;
    let mut holders: Vec<(AccountId, u64)> = Vec::new();
    for ((_, hotkey, coldkey), shares) in ctx.state.scan::<StakeShares>(&netuid)? {
        let pool = ctx.state.get_or_default::<HotkeyPools>(&(netuid, hotkey))?;
        holders.push((coldkey, stake::value_of(shares, &pool)));
        ctx.state.remove::<StakeShares>(&(netuid, hotkey, coldkey));
        ctx.state.remove::<StakeIndex>(&(coldkey, hotkey, netuid));
    }
    for (coldkey, payout) in largest_remainder(economy.tao_reserve_rao, &holders) {
        ctx.credit(&coldkey, payout)?;
    }
    if holders.iter().all(|(_, alpha)| *alpha == 0) {
        // Nobody to pay: the pot leaves circulation.
        ctx.recycle(economy.tao_reserve_rao)?;
    }
    delete_prefix::<HotkeyPools>(ctx, netuid)?;
    delete_prefix::<Neurons>(ctx, netuid)?;
    delete_prefix::<UidOf>(ctx, netuid)?;
    delete_prefix::<Weights>(ctx, netuid)?;
    delete_prefix::<Bonds>(ctx, netuid)?;
    delete_prefix::<WeightCommits>(ctx, netuid)?;
    delete_prefix::<HparamLastSet>(ctx, netuid)?;
    delete_prefix::<PositionSlots>(ctx, netuid)?;
    ctx.state.remove::<PositionCount>(&netuid);
    for (key, _) in ctx.state.scan::<SlotOfPosition>(&netuid)? {
        ctx.state.remove::<SlotOfPosition>(&key);
    }
    ctx.state.remove::<Subnets>(&netuid);
    ctx.state.remove::<Hparams>(&netuid);
    ctx.state.remove::<SubnetEconomy>(&netuid);
    ctx.emit(Event::NetworkRemoved { netuid });
    Ok(())
}

fn delete_prefix<I>(ctx: &mut Ctx<'_>, netuid: NetUid) -> Result<(), TxError>
where
    I: crate::overlay::Item,
{
    for (key, _) in ctx.state.scan::<I>(&netuid)? {
        ctx.state.remove::<I>(&key);
    }
    Ok(())
}
