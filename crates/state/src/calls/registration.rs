//! Neuron registration by burn, and which uid a full subnet gives up.

use substrate_fixed::types::U64F64;
use tao_primitives::{AccountId, NetUid, Uid};

use crate::ctx::Ctx;
use crate::economics::burn::burn_after_registration;
use crate::error::TxError;
use crate::events::Event;
use crate::hotkeys;
use crate::params::Hyperparams;
use crate::pool::Pool;
use crate::schema::{
    Bonds, Neuron, Neurons, SubnetEconomy, SubnetInfo, Subnets, UidOf, WeightCommits, Weights,
};

/// Registers `hotkey` (owned by the signing `coldkey`) on `netuid`, paying the current burn.
/// The burn buys alpha from the pool which is destroyed; the TAO stays in the pool.
pub fn burned_register(
    ctx: &mut Ctx<'_>,
    coldkey: &AccountId,
    netuid: NetUid,
    hotkey: &AccountId,
    limit_rao: u64,
) -> Result<(), TxError> {
    if netuid == NetUid::ROOT {
        return Err(TxError::RegistrationNotPermittedOnRootSubnet);
    }
    let info = ctx.subnet(netuid)?;
    let params = ctx.hparams(netuid)?;
    if !params.registration_allowed {
        return Err(TxError::SubNetRegistrationDisabled);
    }
    if ctx.state.contains::<UidOf>(&(netuid, *hotkey)) {
        return Err(TxError::HotKeyAlreadyRegisteredInSubNet);
    }
    hotkeys::ensure_owns_or_free(ctx, coldkey, hotkey)?;
    let mut economy = ctx.economy(netuid)?;
    let burn_rao = economy.burn_rao;
    if burn_rao > limit_rao {
        return Err(TxError::RegistrationPriceLimitExceeded);
    }
    if ctx.free(coldkey)? < burn_rao {
        return Err(TxError::InsufficientBalance);
    }
    let uid = if info.n < params.max_allowed_uids {
        Uid(info.n)
    } else {
        uid_to_replace(ctx, netuid, &info, &params)?.ok_or(TxError::NoNeuronIdAvailable)?
    };
    ctx.debit(coldkey, burn_rao)?;
    // Buy alpha with the burn and destroy it; if the pool cannot take the trade, the TAO is
    // recycled instead. Either way the burn leaves the payer and no one receives alpha.
    match Pool::dynamic(economy.tao_reserve_rao, economy.alpha_reserve).buy(burn_rao, 0) {
        Ok(swap) => {
            economy.tao_reserve_rao = swap.pool_after.tao_rao;
            economy.alpha_reserve = swap.pool_after.alpha;
        }
        Err(_) => ctx.recycle(burn_rao)?,
    }
    economy.burn_rao = burn_after_registration(
        burn_rao,
        increase_mult(&params),
        params.min_burn_rao,
        params.max_burn_rao,
    );
    ctx.state.put::<SubnetEconomy>(&netuid, &economy);
    put_neuron(ctx, netuid, uid, hotkey, coldkey)?;
    ctx.emit(Event::NeuronRegistered {
        netuid,
        uid: uid.0,
        hotkey: *hotkey,
        burn_rao,
    });
    Ok(())
}

/// The burn multiplier as the live `U64F64`.
fn increase_mult(params: &Hyperparams) -> U64F64 {
    U64F64::from_num(params.burn_increase_mult_milli).saturating_div(U64F64::from_num(1_000))
}

/// Puts a fresh neuron for `hotkey` at `uid` (appending or replacing), clearing whatever the
/// previous occupant left, and records the hotkey's owner.
pub fn put_neuron(
    ctx: &mut Ctx<'_>,
    netuid: NetUid,
    uid: Uid,
    hotkey: &AccountId,
    coldkey: &AccountId,
) -> Result<(), TxError> {
    let mut info = ctx.subnet(netuid)?;
    if let Some(previous) = ctx.state.get::<Neurons>(&(netuid, uid))? {
        ctx.state.remove::<UidOf>(&(netuid, previous.hotkey));
        ctx.state
            .remove::<WeightCommits>(&(netuid, previous.hotkey));
    }
    ctx.state.remove::<Weights>(&(netuid, uid));
    ctx.state.remove::<Bonds>(&(netuid, uid));
    let neuron = Neuron {
        hotkey: *hotkey,
        registered_at: ctx.height,
        last_update: ctx.height,
        ..Neuron::default()
    };
    ctx.state.put::<Neurons>(&(netuid, uid), &neuron);
    ctx.state.put::<UidOf>(&(netuid, *hotkey), &uid);
    if uid.0 >= info.n {
        info.n = uid.0.checked_add(1).ok_or(TxError::Overflow)?;
        ctx.state.put::<Subnets>(&netuid, &info);
    }
    hotkeys::claim_hotkey(ctx, coldkey, hotkey)
}

/// The uid a full subnet gives up (`reference/subtensor.md` §5.3): never the owner's immortal
/// hotkeys; among the rest the lowest emission, then the earliest registration, then the
/// lowest uid — from the non-immune neurons when more than `min_non_immune_uids` of them
/// exist, otherwise from the immune ones.
fn uid_to_replace(
    ctx: &Ctx<'_>,
    netuid: NetUid,
    info: &SubnetInfo,
    params: &Hyperparams,
) -> Result<Option<Uid>, TxError> {
    let neurons = ctx.state.scan::<Neurons>(&netuid)?;
    let immortal = owner_immortal(ctx, info, params, &neurons)?;
    let mut immune_best: Option<(u64, u64, Uid)> = None;
    let mut open_best: Option<(u64, u64, Uid)> = None;
    let mut open_count = 0usize;
    for ((_, uid), neuron) in &neurons {
        if immortal.contains(&neuron.hotkey) {
            continue;
        }
        let key = (neuron.emission, neuron.registered_at, *uid);
        let immune =
            ctx.height.saturating_sub(neuron.registered_at) < u64::from(params.immunity_period);
        let best = if immune {
            &mut immune_best
        } else {
            open_count = open_count.saturating_add(1);
            &mut open_best
        };
        if best.is_none_or(|current| key < current) {
            *best = Some(key);
        }
    }
    let pick = if open_count > usize::from(params.min_non_immune_uids) {
        open_best
    } else {
        immune_best.or(open_best)
    };
    Ok(pick.map(|(_, _, uid)| uid))
}

/// The owner hotkey, then the owner coldkey's oldest other hotkeys, up to `immune_owner_uids`.
fn owner_immortal(
    ctx: &Ctx<'_>,
    info: &SubnetInfo,
    params: &Hyperparams,
    neurons: &[((NetUid, Uid), Neuron)],
) -> Result<Vec<AccountId>, TxError> {
    let mut owned: Vec<(u64, Uid, AccountId)> = Vec::new();
    for ((_, uid), neuron) in neurons {
        let owner = ctx
            .state
            .get::<crate::schema::HotkeyOwner>(&neuron.hotkey)?;
        if owner == Some(info.owner_coldkey) && neuron.hotkey != info.owner_hotkey {
            owned.push((neuron.registered_at, *uid, neuron.hotkey));
        }
    }
    owned.sort();
    let mut immortal = vec![info.owner_hotkey];
    let extra = usize::from(params.immune_owner_uids).saturating_sub(1);
    immortal.extend(owned.into_iter().take(extra).map(|(_, _, hotkey)| hotkey));
    Ok(immortal)
}
