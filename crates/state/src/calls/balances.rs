//! Free-balance transfers.

use tao_primitives::AccountId;

use crate::ctx::Ctx;
use crate::error::TxError;
use crate::events::Event;
use crate::schema::Accounts;

/// Sends `amount_rao` of free balance from `from` to `dest`.
pub fn transfer(
    ctx: &mut Ctx<'_>,
    from: &AccountId,
    dest: &AccountId,
    amount_rao: u64,
) -> Result<(), TxError> {
    if amount_rao == 0 {
        return Err(TxError::AmountTooLow);
    }
    if ctx.free(from)? < amount_rao {
        return Err(TxError::InsufficientBalance);
    }
    // A new account must start at or above the existential deposit, so dust cannot create
    // records for free.
    if !ctx.state.contains::<Accounts>(dest) && amount_rao < ctx.globals.existential_deposit_rao {
        return Err(TxError::ExistentialDeposit);
    }
    ctx.debit(from, amount_rao)?;
    ctx.credit(dest, amount_rao)?;
    ctx.emit(Event::Transfer {
        from: *from,
        to: *dest,
        amount_rao,
    });
    Ok(())
}

/// Sends the whole free balance (after the fee, already paid) from `from` to `dest`.
pub fn transfer_all(ctx: &mut Ctx<'_>, from: &AccountId, dest: &AccountId) -> Result<(), TxError> {
    let amount_rao = ctx.free(from)?;
    transfer(ctx, from, dest, amount_rao)
}
