//! Hotkeys as accounts: which coldkey owns one, and its delegate record.

use tao_primitives::AccountId;

use crate::ctx::Ctx;
use crate::error::TxError;
use crate::schema::{Delegate, Delegates, HotkeyOwner, OwnedHotkeys};

/// Fails unless `hotkey` is unowned or owned by `coldkey`.
pub(crate) fn ensure_owns_or_free(
    ctx: &Ctx<'_>,
    coldkey: &AccountId,
    hotkey: &AccountId,
) -> Result<(), TxError> {
    match ctx.state.get::<HotkeyOwner>(hotkey)? {
        Some(owner) if owner != *coldkey => Err(TxError::NonAssociatedColdKey),
        _ => Ok(()),
    }
}

/// Records `coldkey` as the owner of `hotkey` if it has none yet.
pub(crate) fn claim_hotkey(
    ctx: &mut Ctx<'_>,
    coldkey: &AccountId,
    hotkey: &AccountId,
) -> Result<(), TxError> {
    ensure_owns_or_free(ctx, coldkey, hotkey)?;
    ctx.state.put::<HotkeyOwner>(hotkey, coldkey);
    ctx.state.put::<OwnedHotkeys>(&(*coldkey, *hotkey), &());
    Ok(())
}

/// The hotkey's delegate record (the default take if it never set one).
pub(crate) fn delegate(ctx: &Ctx<'_>, hotkey: &AccountId) -> Result<Delegate, TxError> {
    Ok(ctx.state.get::<Delegates>(hotkey)?.unwrap_or(Delegate {
        take: ctx.globals.default_take,
        last_increase_block: 0,
    }))
}
