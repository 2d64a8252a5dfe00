//! Delegate takes: the share of a validator's dividends its owner keeps.

use tao_primitives::AccountId;

use crate::ctx::Ctx;
use crate::error::TxError;
use crate::events::Event;
use crate::hotkeys::delegate;
use crate::schema::{Delegate, Delegates, HotkeyOwner};

/// Raises the take: above the current one, at most `max_take`, rate-limited.
pub fn increase_take(
    ctx: &mut Ctx<'_>,
    coldkey: &AccountId,
    hotkey: &AccountId,
    take: u16,
) -> Result<(), TxError> {
    let mut record = owned_delegate(ctx, coldkey, hotkey)?;
    if take <= record.take {
        return Err(TxError::DelegateTakeTooLow);
    }
    if take > ctx.globals.max_take {
        return Err(TxError::DelegateTakeTooHigh);
    }
    let recently = record.last_increase_block != 0
        && ctx.height.saturating_sub(record.last_increase_block) < ctx.globals.take_rate_limit;
    if recently {
        return Err(TxError::DelegateTxRateLimitExceeded);
    }
    record.take = take;
    record.last_increase_block = ctx.height;
    ctx.state.put::<Delegates>(hotkey, &record);
    ctx.emit(Event::TakeSet {
        hotkey: *hotkey,
        take,
    });
    Ok(())
}

/// Lowers the take: below the current one, at least `min_take`.
pub fn decrease_take(
    ctx: &mut Ctx<'_>,
    coldkey: &AccountId,
    hotkey: &AccountId,
    take: u16,
) -> Result<(), TxError> {
    let mut record = owned_delegate(ctx, coldkey, hotkey)?;
    if take >= record.take {
        return Err(TxError::DelegateTakeTooHigh);
    }
    if take < ctx.globals.min_take {
        return Err(TxError::DelegateTakeTooLow);
    }
    record.take = take;
    ctx.state.put::<Delegates>(hotkey, &record);
    ctx.emit(Event::TakeSet {
        hotkey: *hotkey,
        take,
    });
    Ok(())
}

fn owned_delegate(
    ctx: &Ctx<'_>,
    coldkey: &AccountId,
    hotkey: &AccountId,
) -> Result<Delegate, TxError> {
    match ctx.state.get::<HotkeyOwner>(hotkey)? {
        None => Err(TxError::HotKeyAccountNotExists),
        Some(owner) if owner != *coldkey => Err(TxError::NonAssociatedColdKey),
        Some(_) => delegate(ctx, hotkey),
    }
}
