//! Stake accounting: each hotkey has a share pool of alpha per subnet; its nominators
//! (coldkeys) own shares. Dividends raise the pool's alpha, so every nominator gains pro rata
//! without touching their records.

use tao_primitives::{AccountId, NetUid};

use crate::error::TxError;
use crate::overlay::Overlay;
use crate::schema::{
    HotkeyPools, PositionCount, PositionSlots, SharePool, SlotOfPosition, StakeIndex, StakeShares,
};

/// Shares issued per alpha unit to the first depositor, so later pro-rata issues keep
/// precision even when the pool's alpha has grown a lot.
const SHARES_PER_ALPHA_AT_START: u128 = 1 << 32;

/// Alpha a coldkey holds through a hotkey on a subnet.
pub fn alpha_of(
    state: &Overlay<'_>,
    netuid: NetUid,
    hotkey: &AccountId,
    coldkey: &AccountId,
) -> Result<u64, TxError> {
    let shares = state.get_or_default::<StakeShares>(&(netuid, *hotkey, *coldkey))?;
    let pool = state.get_or_default::<HotkeyPools>(&(netuid, *hotkey))?;
    Ok(value_of(shares, &pool))
}

/// Total alpha staked to a hotkey on a subnet.
pub fn hotkey_alpha(
    state: &Overlay<'_>,
    netuid: NetUid,
    hotkey: &AccountId,
) -> Result<u64, TxError> {
    Ok(state
        .get_or_default::<HotkeyPools>(&(netuid, *hotkey))?
        .alpha)
}

/// Credits `alpha` to a coldkey's position in a hotkey's pool.
pub fn deposit(
    state: &mut Overlay<'_>,
    netuid: NetUid,
    hotkey: &AccountId,
    coldkey: &AccountId,
    alpha: u64,
) -> Result<(), TxError> {
    if alpha == 0 {
        return Ok(());
    }
    let mut pool = state.get_or_default::<HotkeyPools>(&(netuid, *hotkey))?;
    let new_shares = if pool.alpha == 0 || pool.total_shares == 0 {
        u128::from(alpha).saturating_mul(SHARES_PER_ALPHA_AT_START)
    } else {
        mul_div_floor(u128::from(alpha), pool.total_shares, u128::from(pool.alpha))
            .ok_or(TxError::Overflow)?
    };
    pool.alpha = pool.alpha.checked_add(alpha).ok_or(TxError::Overflow)?;
    pool.total_shares = pool
        .total_shares
        .checked_add(new_shares)
        .ok_or(TxError::Overflow)?;
    let key = (netuid, *hotkey, *coldkey);
    let held = state.get::<StakeShares>(&key)?;
    if held.is_none() {
        add_slot(state, netuid, hotkey, coldkey)?;
    }
    let shares = held
        .unwrap_or(0)
        .checked_add(new_shares)
        .ok_or(TxError::Overflow)?;
    state.put::<HotkeyPools>(&(netuid, *hotkey), &pool);
    state.put::<StakeShares>(&key, &shares);
    state.put::<StakeIndex>(&(*coldkey, *hotkey, netuid), &());
    Ok(())
}

/// Debits `alpha` from a coldkey's position; fails without change if it holds less.
pub fn withdraw(
    state: &mut Overlay<'_>,
    netuid: NetUid,
    hotkey: &AccountId,
    coldkey: &AccountId,
    alpha: u64,
) -> Result<(), TxError> {
    let key = (netuid, *hotkey, *coldkey);
    let shares = state.get_or_default::<StakeShares>(&key)?;
    let mut pool = state.get_or_default::<HotkeyPools>(&(netuid, *hotkey))?;
    let value = value_of(shares, &pool);
    if alpha > value {
        return Err(TxError::NotEnoughStakeToWithdraw);
    }
    // Burn shares rounded up so a withdrawal never takes value from other nominators; taking
    // everything burns every share of the position.
    let burned = if alpha == value {
        shares
    } else {
        mul_div_ceil(u128::from(alpha), pool.total_shares, u128::from(pool.alpha))
            .ok_or(TxError::Overflow)?
            .min(shares)
    };
    pool.alpha = pool.alpha.checked_sub(alpha).ok_or(TxError::Overflow)?;
    pool.total_shares = pool
        .total_shares
        .checked_sub(burned)
        .ok_or(TxError::Overflow)?;
    let remaining = shares.checked_sub(burned).ok_or(TxError::Overflow)?;
    if remaining == 0 {
        state.remove::<StakeShares>(&key);
        state.remove::<StakeIndex>(&(*coldkey, *hotkey, netuid));
        remove_slot(state, netuid, hotkey, coldkey)?;
    } else {
        state.put::<StakeShares>(&key, &remaining);
    }
    if pool == SharePool::default() {
        state.remove::<HotkeyPools>(&(netuid, *hotkey));
    } else {
        state.put::<HotkeyPools>(&(netuid, *hotkey), &pool);
    }
    Ok(())
}

/// Number of stake positions on a subnet (O(1)).
pub fn position_count(state: &Overlay<'_>, netuid: NetUid) -> Result<u64, TxError> {
    Ok(state.get_or_default::<PositionCount>(&netuid)?)
}

/// Appends a new position to the subnet's dense list.
fn add_slot(
    state: &mut Overlay<'_>,
    netuid: NetUid,
    hotkey: &AccountId,
    coldkey: &AccountId,
) -> Result<(), TxError> {
    let count = position_count(state, netuid)?;
    state.put::<PositionSlots>(&(netuid, count), &(*hotkey, *coldkey));
    state.put::<SlotOfPosition>(&(netuid, *hotkey, *coldkey), &count);
    state.put::<PositionCount>(&netuid, &count.checked_add(1).ok_or(TxError::Overflow)?);
    Ok(())
}

/// Takes a position out of the subnet's dense list: the last one moves into its slot.
pub(crate) fn remove_slot(
    state: &mut Overlay<'_>,
    netuid: NetUid,
    hotkey: &AccountId,
    coldkey: &AccountId,
) -> Result<(), TxError> {
    let slot = state
        .get::<SlotOfPosition>(&(netuid, *hotkey, *coldkey))?
        .ok_or(TxError::Internal("stake position without a slot".into()))?;
    let last = position_count(state, netuid)?
        .checked_sub(1)
        .ok_or(TxError::Internal("stake position count below zero".into()))?;
    if slot != last {
        let moved = state
            .get::<PositionSlots>(&(netuid, last))?
            .ok_or(TxError::Internal("stake position slot missing".into()))?;
        state.put::<PositionSlots>(&(netuid, slot), &moved);
        state.put::<SlotOfPosition>(&(netuid, moved.0, moved.1), &slot);
    }
    state.remove::<PositionSlots>(&(netuid, last));
    state.remove::<SlotOfPosition>(&(netuid, *hotkey, *coldkey));
    if last == 0 {
        state.remove::<PositionCount>(&netuid);
    } else {
        state.put::<PositionCount>(&netuid, &last);
    }
    Ok(())
}

/// Adds `alpha` to a hotkey's pool for all its nominators. A pool without shares has no
/// nominators: the alpha goes to `owner` as a new position instead.
pub fn distribute(
    state: &mut Overlay<'_>,
    netuid: NetUid,
    hotkey: &AccountId,
    owner: &AccountId,
    alpha: u64,
) -> Result<(), TxError> {
    let mut pool = state.get_or_default::<HotkeyPools>(&(netuid, *hotkey))?;
    if pool.total_shares == 0 || pool.alpha == 0 {
        return deposit(state, netuid, hotkey, owner, alpha);
    }
    pool.alpha = pool.alpha.checked_add(alpha).ok_or(TxError::Overflow)?;
    state.put::<HotkeyPools>(&(netuid, *hotkey), &pool);
    Ok(())
}

/// Alpha worth of `shares` in `pool` (floor).
pub fn value_of(shares: u128, pool: &SharePool) -> u64 {
    mul_div_floor(shares, u128::from(pool.alpha), pool.total_shares)
        .and_then(|value| u64::try_from(value).ok())
        .unwrap_or(0)
}

pub use crate::muldiv::{mul_div_ceil, mul_div_floor};

/// A hotkey's stake weight on a subnet: its alpha there plus its root stake scaled by
/// `tao_weight` (a fraction of `u64::MAX`), as validator permits and thresholds use it.
pub fn weighted_stake(
    state: &Overlay<'_>,
    netuid: NetUid,
    hotkey: &AccountId,
    tao_weight: u64,
) -> Result<u64, TxError> {
    let alpha = hotkey_alpha(state, netuid, hotkey)?;
    if netuid == NetUid::ROOT {
        return Ok(alpha);
    }
    let root = hotkey_alpha(state, NetUid::ROOT, hotkey)?;
    let scaled = mul_div_floor(
        u128::from(root),
        u128::from(tao_weight),
        u128::from(u64::MAX),
    )
    .unwrap_or(0);
    Ok(alpha.saturating_add(u64::try_from(scaled).unwrap_or(u64::MAX)))
}
