//! Incremental subnet dissolution (ADR 017).
//!
//! Removing a subnet ([`begin`], from sudo's dissolve or the prune of a full chain) takes it
//! out of [`Subnets`] at once — no emission, no epochs, no calls — and queues a [`Cleanup`]
//! holding its pool's TAO and its stakers' alpha. Every block, [`step`] advances the queue
//! within a fixed share of the block weight budget ([`budget`]): first the stake positions,
//! each withdrawn from its hotkey pool and paid its share of the TAO, then the neurons' rows
//! (neuron, uid, weights, bonds, commits), a bounded number per block whatever the subnet's
//! size. The netuid is not reused until its cleanup is done.
//!
//! A position's payout is `floor(T · (A_paid + a) / A) − T_paid`: cumulative rounding over
//! the positions in cleanup order, where `A` is the alpha the stakers held at removal and `a`
//! the position's alpha, so every rao of the pool is paid by the last position and each
//! position gets its exact share rounded down or up. (The one-shot dissolution gave the
//! remainder rao to the largest fractional parts; a staker's payout differs from it by at most
//! one rao per position.) While a cleanup runs, its TAO and alpha are in its record, so the
//! invariants hold after every block ([`crate::invariants`]).
//!
//! ## Weights of the steps
//!
//! `cargo bench -p tao-state --bench calls -- cleanup_step` runs one block's step (default
//! budget: a 50 ms share) over subnets of every size (2026-12-05, mimalloc, 2-core host shared
//! with other builds; three runs). With a first guess of 20 µs per position a step paid 2 500
//! positions in 39–51 ms / 59–67 ms (10 000 positions) and 104–125 ms / 128–188 ms (100 000):
//! 16–75 µs each, the more the larger and busier the store. At [`POSITION_WEIGHT`] = 80 µs a
//! step pays 625 positions in 22–26 ms at 10 000 and at 100 000 positions (13 ms at 1 000,
//! which also starts the rows). Rows: a step over 4 096 neurons with full 4 096-entry weight
//! and bond rows deletes 271 neurons (184 µs of weight each) in 7–22 ms.

use tao_primitives::{AccountId, NetUid, Uid};

use crate::ctx::Ctx;
use crate::error::TxError;
use crate::events::Event;
use crate::schema::{
    Bonds, Cleanup, Cleanups, HparamLastSet, Hparams, Neurons, SubnetEconomy, Subnets, UidOf,
    WeightCommits, Weights,
};
use crate::stake;
use crate::tx::HyperparamValue;

/// Weight of paying out and deleting one stake position.
pub const POSITION_WEIGHT: u64 = 80_000;
/// Weight of deleting one neuron's records besides its rows' entries.
pub const NEURON_WEIGHT: u64 = 20_000;
/// Weight per entry of a weight or bond row deleted (a row of a subnet of `n` neurons holds
/// at most `n`; a neuron is charged for two full rows).
pub const ROW_ENTRY_WEIGHT: u64 = 20;
/// Weight of looking at the queue and ending a cleanup.
pub const CLEANUP_BASE_WEIGHT: u64 = 20_000;

/// The weight a block's cleanup step may use: a seventh of `max_block_weight` (50 ms of the
/// default 350 ms; the default budget leaves that much of the block time for it).
pub fn budget(max_block_weight: u64) -> u64 {
    max_block_weight.checked_div(7).unwrap_or(0)
}

/// Removes `netuid` from the live subnets at once and queues its cleanup.
pub fn begin(ctx: &mut Ctx<'_>, netuid: NetUid) -> Result<(), TxError> {
    let info = ctx.subnet(netuid)?;
    let economy = ctx.economy(netuid)?;
    let mut cleanup = Cleanup {
        tao_rao: economy.tao_reserve_rao,
        alpha_total: economy.alpha_out,
        neurons: info.n,
        ..Cleanup::default()
    };
    if cleanup.alpha_total == 0 {
        // Nobody to pay: the pot leaves circulation (as the one-shot dissolution did).
        ctx.recycle(cleanup.tao_rao)?;
        cleanup.tao_paid_rao = cleanup.tao_rao;
    }
    ctx.state.remove::<Subnets>(&netuid);
    ctx.state.remove::<Hparams>(&netuid);
    ctx.state.remove::<SubnetEconomy>(&netuid);
    for name in HyperparamValue::NAMES {
        ctx.state
            .remove::<HparamLastSet>(&(netuid, name.as_bytes().to_vec()));
    }
    ctx.state.put::<Cleanups>(&netuid, &cleanup);
    ctx.emit(Event::NetworkRemoved { netuid });
    Ok(())
}

/// Whether `netuid` is a removed subnet still being cleaned (its netuid is taken).
pub fn is_cleaning(ctx: &Ctx<'_>, netuid: NetUid) -> bool {
    ctx.state.contains::<Cleanups>(&netuid)
}

/// Advances the queued cleanups, oldest netuid first, within [`budget`]; returns the weight
/// used.
pub fn step(ctx: &mut Ctx<'_>) -> Result<u64, TxError> {
    let budget = budget(ctx.globals.max_block_weight);
    let mut used = 0u64;
    // The queue holds at most the subnets removed and not yet cleaned: few, one record each.
    for (netuid, mut cleanup) in ctx.state.scan::<Cleanups>(&())? {
        used = used.saturating_add(CLEANUP_BASE_WEIGHT);
        if used > budget {
            break;
        }
        while used.saturating_add(POSITION_WEIGHT) <= budget {
            if !pay_one_position(ctx, netuid, &mut cleanup)? {
                break;
            }
            used = used.saturating_add(POSITION_WEIGHT);
        }
        let per_neuron = NEURON_WEIGHT.saturating_add(
            u64::from(cleanup.neurons)
                .saturating_mul(2)
                .saturating_mul(ROW_ENTRY_WEIGHT),
        );
        let positions_left = stake::position_count(&ctx.state, netuid)?;
        while positions_left == 0
            && cleanup.rows_done < cleanup.neurons
            && used.saturating_add(per_neuron) <= budget
        {
            delete_neuron(ctx, netuid, Uid(cleanup.rows_done))?;
            cleanup.rows_done = cleanup.rows_done.saturating_add(1);
            used = used.saturating_add(per_neuron);
        }
        if positions_left == 0 && cleanup.rows_done >= cleanup.neurons {
            finish(ctx, netuid, &cleanup)?;
        } else {
            ctx.state.put::<Cleanups>(&netuid, &cleanup);
        }
        if used >= budget {
            break;
        }
    }
    Ok(used)
}

/// Pays out and deletes the subnet's last stake position; `false` when none is left.
fn pay_one_position(
    ctx: &mut Ctx<'_>,
    netuid: NetUid,
    cleanup: &mut Cleanup,
) -> Result<bool, TxError> {
    let count = stake::position_count(&ctx.state, netuid)?;
    let Some(last) = count.checked_sub(1) else {
        return Ok(false);
    };
    let (hotkey, coldkey): (AccountId, AccountId) = ctx
        .state
        .get::<crate::schema::PositionSlots>(&(netuid, last))?
        .ok_or(TxError::Internal("stake position slot missing".into()))?;
    let alpha = stake::alpha_of(&ctx.state, netuid, &hotkey, &coldkey)?;
    // Taking the whole value burns every share and frees the slot.
    stake::withdraw(&mut ctx.state, netuid, &hotkey, &coldkey, alpha)?;
    if stake::position_count(&ctx.state, netuid)? != last {
        return Err(TxError::Internal(
            "a withdrawn position kept its slot".into(),
        ));
    }
    cleanup.alpha_paid = cleanup
        .alpha_paid
        .checked_add(alpha)
        .ok_or(TxError::Overflow)?;
    if cleanup.alpha_total > 0 {
        let due = crate::stake::mul_div_floor(
            u128::from(cleanup.tao_rao),
            u128::from(cleanup.alpha_paid.min(cleanup.alpha_total)),
            u128::from(cleanup.alpha_total),
        )
        .and_then(|due| u64::try_from(due).ok())
        .ok_or(TxError::Overflow)?;
        let payout = due.saturating_sub(cleanup.tao_paid_rao);
        if payout > 0 {
            ctx.credit(&coldkey, payout)?;
            cleanup.tao_paid_rao = due;
        }
    }
    Ok(true)
}

/// Deletes one neuron's records (the uid's rows, and the hotkey's uid and commits).
fn delete_neuron(ctx: &mut Ctx<'_>, netuid: NetUid, uid: Uid) -> Result<(), TxError> {
    if let Some(neuron) = ctx.state.get::<Neurons>(&(netuid, uid))? {
        ctx.state.remove::<UidOf>(&(netuid, neuron.hotkey));
        ctx.state.remove::<WeightCommits>(&(netuid, neuron.hotkey));
    }
    ctx.state.remove::<Neurons>(&(netuid, uid));
    ctx.state.remove::<Weights>(&(netuid, uid));
    ctx.state.remove::<Bonds>(&(netuid, uid));
    Ok(())
}

/// Ends a cleanup: whatever TAO no position took (none, unless the stakers' alpha shrank
/// below the recorded total) leaves circulation, and the netuid is free again.
fn finish(ctx: &mut Ctx<'_>, netuid: NetUid, cleanup: &Cleanup) -> Result<(), TxError> {
    let left = cleanup.tao_rao.saturating_sub(cleanup.tao_paid_rao);
    if left > 0 {
        ctx.recycle(left)?;
    }
    ctx.state.remove::<Cleanups>(&netuid);
    ctx.emit(Event::NetworkCleaned { netuid });
    Ok(())
}

/// TAO a cleanup still holds for its stakers, rao.
pub fn tao_left(cleanup: &Cleanup) -> u64 {
    cleanup.tao_rao.saturating_sub(cleanup.tao_paid_rao)
}

/// Alpha the cleanup's remaining positions hold.
pub fn alpha_left(cleanup: &Cleanup) -> u64 {
    cleanup.alpha_total.saturating_sub(cleanup.alpha_paid)
}
