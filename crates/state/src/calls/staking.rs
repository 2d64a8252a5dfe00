//! Staking through the subnet pools: add, remove, move, swap, transfer, unstake all, with
//! optional limit prices. Fees go to the block author.

use tao_primitives::{AccountId, I96F32, NetUid};

use crate::ctx::Ctx;
use crate::error::TxError;
use crate::events::Event;
use crate::pool::{Pool, PoolError, limit_price, max_swap_within_ratio, within_limit};
use crate::schema::{HotkeyOwner, StakeIndex, SubnetEconomy};
use crate::stake;
use crate::tx::PriceLimit;

/// Where stake sits: owner, hotkey, subnet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// Owner.
    pub coldkey: AccountId,
    /// Hotkey staked to.
    pub hotkey: AccountId,
    /// Subnet.
    pub netuid: NetUid,
}

fn pool_error(error: PoolError) -> TxError {
    match error {
        PoolError::PriceLimitExceeded => TxError::SlippageTooHigh,
        other => TxError::Pool(other.to_string()),
    }
}

/// Stake TAO: `amount_rao` leaves the coldkey, buys alpha, credited to the hotkey's pool.
pub fn add_stake(
    ctx: &mut Ctx<'_>,
    coldkey: &AccountId,
    hotkey: &AccountId,
    netuid: NetUid,
    amount_rao: u64,
    limit: Option<PriceLimit>,
) -> Result<(), TxError> {
    ensure_stakeable(ctx, netuid)?;
    ensure_hotkey_exists(ctx, hotkey)?;
    if amount_rao < ctx.globals.min_stake_rao || amount_rao == 0 {
        return Err(TxError::AmountTooLow);
    }
    if ctx.free(coldkey)? < amount_rao {
        return Err(TxError::InsufficientBalance);
    }
    let pool = ctx.economy(netuid)?.pool(netuid);
    let fee_rate = ctx.hparams(netuid)?.swap_fee_rate;
    let amount_rao = match limit {
        Some(limit) => within_limit(
            amount_rao,
            pool.max_tao_in_for_limit(limit_price(&limit), fee_rate),
            limit,
        )?,
        None => amount_rao,
    };
    ctx.debit(coldkey, amount_rao)?;
    let alpha = buy(ctx, netuid, amount_rao)?;
    stake::deposit(&mut ctx.state, netuid, hotkey, coldkey, alpha)?;
    ctx.emit(Event::StakeAdded {
        coldkey: *coldkey,
        hotkey: *hotkey,
        netuid,
        tao_rao: amount_rao,
        alpha_rao: alpha,
    });
    Ok(())
}

/// Unstake: `alpha` leaves the position, is sold, and the TAO credited to the coldkey.
pub fn remove_stake(
    ctx: &mut Ctx<'_>,
    coldkey: &AccountId,
    hotkey: &AccountId,
    netuid: NetUid,
    alpha: u64,
    limit: Option<PriceLimit>,
) -> Result<(), TxError> {
    ctx.economy(netuid)?;
    if alpha == 0 {
        return Err(TxError::AmountTooLow);
    }
    let held = stake::alpha_of(&ctx.state, netuid, hotkey, coldkey)?;
    if held < alpha {
        return Err(TxError::NotEnoughStakeToWithdraw);
    }
    let pool = ctx.economy(netuid)?.pool(netuid);
    let fee_rate = ctx.hparams(netuid)?.swap_fee_rate;
    let alpha = match limit {
        Some(limit) => within_limit(
            alpha,
            pool.max_alpha_in_for_limit(limit_price(&limit), fee_rate),
            limit,
        )?,
        None => alpha,
    };
    stake::withdraw(&mut ctx.state, netuid, hotkey, coldkey, alpha)?;
    let tao_rao = sell(ctx, netuid, alpha)?;
    if held > alpha && tao_rao < ctx.globals.min_stake_rao {
        return Err(TxError::AmountTooLow);
    }
    ctx.credit(coldkey, tao_rao)?;
    ctx.emit(Event::StakeRemoved {
        coldkey: *coldkey,
        hotkey: *hotkey,
        netuid,
        alpha_rao: alpha,
        tao_rao,
    });
    Ok(())
}

/// Moves `alpha` from one position to another: shares change hands on the same subnet; across
/// subnets the alpha is sold on the origin and the TAO buys alpha on the destination.
pub fn move_position(
    ctx: &mut Ctx<'_>,
    from: Position,
    to: Position,
    alpha: u64,
    limit: Option<PriceLimit>,
) -> Result<(), TxError> {
    ctx.economy(from.netuid)?;
    ensure_stakeable(ctx, to.netuid)?;
    ensure_hotkey_exists(ctx, &to.hotkey)?;
    if alpha == 0 {
        return Err(TxError::AmountTooLow);
    }
    if stake::alpha_of(&ctx.state, from.netuid, &from.hotkey, &from.coldkey)? < alpha {
        return Err(TxError::NotEnoughStakeToWithdraw);
    }
    let alpha = match limit {
        Some(limit) => within_limit(
            alpha,
            max_swap_for_ratio(ctx, from.netuid, to.netuid, alpha, &limit)?,
            limit,
        )?,
        None => alpha,
    };
    stake::withdraw(
        &mut ctx.state,
        from.netuid,
        &from.hotkey,
        &from.coldkey,
        alpha,
    )?;
    let moved = if from.netuid == to.netuid {
        let value = tao_value(&ctx.economy(from.netuid)?.pool(from.netuid), alpha);
        if value < ctx.globals.min_stake_rao {
            return Err(TxError::AmountTooLow);
        }
        alpha
    } else {
        let tao_rao = sell(ctx, from.netuid, alpha)?;
        if tao_rao < ctx.globals.min_stake_rao {
            return Err(TxError::AmountTooLow);
        }
        buy(ctx, to.netuid, tao_rao)?
    };
    stake::deposit(&mut ctx.state, to.netuid, &to.hotkey, &to.coldkey, moved)?;
    ctx.emit(Event::StakeMoved {
        from_coldkey: from.coldkey,
        to_coldkey: to.coldkey,
        from_hotkey: from.hotkey,
        to_hotkey: to.hotkey,
        from_netuid: from.netuid,
        to_netuid: to.netuid,
        alpha_rao: alpha,
    });
    Ok(())
}

/// Gives stake to another coldkey (allowed when the origin subnet enables transfers).
pub fn transfer_stake(
    ctx: &mut Ctx<'_>,
    coldkey: &AccountId,
    dest_coldkey: &AccountId,
    hotkey: &AccountId,
    origin_netuid: NetUid,
    dest_netuid: NetUid,
    alpha: u64,
) -> Result<(), TxError> {
    if !ctx.hparams(origin_netuid)?.transfers_enabled {
        return Err(TxError::TransferDisallowed);
    }
    let from = Position {
        coldkey: *coldkey,
        hotkey: *hotkey,
        netuid: origin_netuid,
    };
    let to = Position {
        coldkey: *dest_coldkey,
        hotkey: *hotkey,
        netuid: dest_netuid,
    };
    move_position(ctx, from, to, alpha, None)
}

/// Unstakes everything `coldkey` holds through `hotkey`, on every subnet.
pub fn unstake_all(
    ctx: &mut Ctx<'_>,
    coldkey: &AccountId,
    hotkey: &AccountId,
) -> Result<(), TxError> {
    let positions = ctx.state.scan::<StakeIndex>(&(*coldkey, *hotkey))?;
    if positions.is_empty() {
        return Err(TxError::NotEnoughStakeToWithdraw);
    }
    for ((_, _, netuid), ()) in positions {
        if crate::cleanup::is_cleaning(ctx, netuid) {
            // A dissolved subnet's cleanup pays this position out.
            continue;
        }
        let alpha = stake::alpha_of(&ctx.state, netuid, hotkey, coldkey)?;
        if alpha > 0 {
            remove_stake(ctx, coldkey, hotkey, netuid, alpha, None)?;
        }
    }
    Ok(())
}

/// The largest alpha (≤ `alpha`) whose swap from `origin` to `dest` leaves the price ratio
/// `origin / dest` at or above the limit, found by bisection over simulated trades.
fn max_swap_for_ratio(
    ctx: &Ctx<'_>,
    origin: NetUid,
    dest: NetUid,
    alpha: u64,
    limit: &PriceLimit,
) -> Result<u64, TxError> {
    let origin_pool = ctx.economy(origin)?.pool(origin);
    let dest_pool = ctx.economy(dest)?.pool(dest);
    let (origin_fee, dest_fee) = (
        ctx.hparams(origin)?.swap_fee_rate,
        ctx.hparams(dest)?.swap_fee_rate,
    );
    Ok(max_swap_within_ratio(
        (&origin_pool, origin_fee),
        (&dest_pool, dest_fee),
        alpha,
        limit_price(limit),
    ))
}

/// TAO worth of `alpha` at the pool's spot price (floor).
fn tao_value(pool: &Pool, alpha: u64) -> u64 {
    I96F32::from_num(alpha)
        .saturating_mul(pool.price())
        .saturating_to_num::<u64>()
}

/// Buys alpha with `tao_rao` on `netuid`; the alpha leaves the pool to stakers.
fn buy(ctx: &mut Ctx<'_>, netuid: NetUid, tao_rao: u64) -> Result<u64, TxError> {
    let mut economy = ctx.economy(netuid)?;
    let fee_rate = ctx.hparams(netuid)?.swap_fee_rate;
    let swap = economy
        .pool(netuid)
        .buy(tao_rao, fee_rate)
        .map_err(pool_error)?;
    economy.tao_reserve_rao = swap.pool_after.tao_rao;
    economy.alpha_reserve = swap.pool_after.alpha;
    economy.alpha_out = economy
        .alpha_out
        .checked_add(swap.amount_out)
        .ok_or(TxError::Overflow)?;
    economy.volume_rao = economy.volume_rao.saturating_add(u128::from(tao_rao));
    ctx.state.put::<SubnetEconomy>(&netuid, &economy);
    pay_fee_to_author(ctx, swap.fee_rao)?;
    Ok(swap.amount_out)
}

/// Sells `alpha` on `netuid` for TAO (after the fee).
fn sell(ctx: &mut Ctx<'_>, netuid: NetUid, alpha: u64) -> Result<u64, TxError> {
    let mut economy = ctx.economy(netuid)?;
    let fee_rate = ctx.hparams(netuid)?.swap_fee_rate;
    let swap = economy
        .pool(netuid)
        .sell(alpha, fee_rate)
        .map_err(pool_error)?;
    economy.tao_reserve_rao = swap.pool_after.tao_rao;
    economy.alpha_reserve = swap.pool_after.alpha;
    economy.alpha_out = economy
        .alpha_out
        .checked_sub(alpha)
        .ok_or(TxError::Overflow)?;
    let gross = swap.amount_out.saturating_add(swap.fee_rao);
    economy.volume_rao = economy.volume_rao.saturating_add(u128::from(gross));
    ctx.state.put::<SubnetEconomy>(&netuid, &economy);
    pay_fee_to_author(ctx, swap.fee_rao)?;
    Ok(swap.amount_out)
}

/// Swap fees belong to the block author; without one they are recycled.
fn pay_fee_to_author(ctx: &mut Ctx<'_>, fee_rao: u64) -> Result<(), TxError> {
    if fee_rao == 0 {
        return Ok(());
    }
    match ctx.author {
        Some(author) => ctx.credit(&author, fee_rao),
        None => Ok(ctx.recycle(fee_rao)?),
    }
}

/// Staking needs an existing subnet that has started (the root subnet always has).
fn ensure_stakeable(ctx: &Ctx<'_>, netuid: NetUid) -> Result<(), TxError> {
    let info = ctx.subnet(netuid)?;
    if netuid != NetUid::ROOT && info.first_emission_block.is_none() {
        return Err(TxError::SubtokenDisabled);
    }
    Ok(())
}

fn ensure_hotkey_exists(ctx: &Ctx<'_>, hotkey: &AccountId) -> Result<(), TxError> {
    if ctx.state.contains::<HotkeyOwner>(hotkey) {
        Ok(())
    } else {
        Err(TxError::HotKeyAccountNotExists)
    }
}
