//! The per-block economics, run before a block's transactions (`reference/subtensor.md` §3):
//! the TAO split across subnets, pool injection, the alpha split, moving prices, and the
//! epochs that pay out what accumulated.

use std::collections::BTreeMap;

use parity_scale_codec::{Compact, Decode};

use tao_primitives::{AccountId, I64F64, I96F32, NetUid, Uid};
use tao_yuma::{EpochInput, EpochOutput, EpochParams, to_u16_proportions};

use crate::ctx::Ctx;
use crate::economics::burn::decay_burn;
use crate::economics::coinbase::{
    HotkeyDividend, injection, moving_price_alpha, root_proportion, split_alpha_out,
    split_dividends_by_stake_mix, split_tao_by_price, tao_weight_from_stored, update_moving_price,
};
use crate::economics::emission::block_emission_rao;
use crate::economics::schedule::{EpochClock, should_run_epoch};
use crate::economics::split::largest_remainder;
use crate::error::{StateError, TxError};
use crate::events::Event;
use crate::hotkeys;
use crate::params::Hyperparams;
use crate::schema::{
    Bonds, Chain, Economy, HotkeyOwner, HotkeyPools, Neurons, StakeShares, SubnetEconomy,
    SubnetInfo, Subnets, UidOf, Weights,
};
use crate::stake;

/// Runs the block's economics before its transactions.
pub(crate) fn on_block(ctx: &mut Ctx<'_>) -> Result<(), StateError> {
    let subnets: Vec<(NetUid, SubnetInfo)> = ctx
        .state
        .scan::<Subnets>(&())?
        .into_iter()
        .filter(|(netuid, _)| *netuid != NetUid::ROOT)
        .collect();
    decay_burns(ctx, &subnets)?;
    emit(ctx, &subnets)?;
    run_due_epochs(ctx, &subnets).map_err(internal)?;
    // Dissolved subnets are cleaned within a fixed share of the weight budget (ADR 017).
    crate::cleanup::step(ctx).map_err(internal)?;
    Ok(())
}

fn internal(error: TxError) -> StateError {
    match error {
        TxError::Internal(_) => StateError::Corrupt("epoch"),
        _ => StateError::Overflow("epoch payout"),
    }
}

/// Every block the registration burn decays toward its minimum (not in the first two blocks,
/// as live).
fn decay_burns(ctx: &mut Ctx<'_>, subnets: &[(NetUid, SubnetInfo)]) -> Result<(), StateError> {
    if ctx.height <= 1 {
        return Ok(());
    }
    for (netuid, _) in subnets {
        let (mut economy, params) = economy_and_params(ctx, *netuid)?;
        economy.burn_rao = decay_burn(
            economy.burn_rao,
            params.burn_half_life,
            params.min_burn_rao,
            params.max_burn_rao,
        );
        ctx.state.put::<SubnetEconomy>(netuid, &economy);
    }
    Ok(())
}

fn economy_and_params(ctx: &Ctx<'_>, netuid: NetUid) -> Result<(Economy, Hyperparams), StateError> {
    let economy = ctx
        .state
        .get::<SubnetEconomy>(&netuid)?
        .ok_or(StateError::Missing("subnet economy"))?;
    let params = ctx
        .state
        .get::<crate::schema::Hparams>(&netuid)?
        .ok_or(StateError::Missing("hyperparameters"))?;
    Ok((economy, params))
}

/// Mints the block emission into the emitting subnets' pools and accrues their alpha.
fn emit(ctx: &mut Ctx<'_>, subnets: &[(NetUid, SubnetInfo)]) -> Result<(), StateError> {
    let emitting: Vec<(NetUid, Economy)> = subnets
        .iter()
        .filter(|(_, info)| {
            info.first_emission_block
                .is_some_and(|first| first <= ctx.height)
        })
        .map(|(netuid, _)| {
            Ok((
                *netuid,
                ctx.state
                    .get::<SubnetEconomy>(netuid)?
                    .ok_or(StateError::Missing("subnet economy"))?,
            ))
        })
        .collect::<Result<_, StateError>>()?;
    let mut chain = ctx
        .state
        .get::<Chain>(&())?
        .ok_or(StateError::Missing("chain info"))?;
    let block_emission = block_emission_rao(chain.total_issuance_rao);
    let prices: Vec<I96F32> = emitting
        .iter()
        .map(|(_, e)| I96F32::from_bits(e.moving_price_bits))
        .collect();
    // Before any subnet has a moving price, share equally.
    let weights = if prices.iter().all(|p| *p <= I96F32::from_num(0)) {
        vec![I96F32::from_num(1); prices.len()]
    } else {
        prices
    };
    let mut shares = split_tao_by_price(block_emission, &weights);
    // The rao lost to flooring go to the largest share, so every block mints exactly its
    // emission while any subnet emits.
    let unassigned =
        block_emission.saturating_sub(shares.iter().fold(0u64, |sum, s| sum.saturating_add(*s)));
    if let Some(largest) = shares.iter_mut().max_by_key(|share| **share) {
        *largest = largest.saturating_add(unassigned);
    }
    let root_tao = ctx
        .state
        .get::<SubnetEconomy>(&NetUid::ROOT)?
        .map_or(0, |e| e.tao_reserve_rao);
    let tao_weight = tao_weight_from_stored(ctx.globals.tao_weight);
    let mut minted: u64 = 0;
    for ((netuid, mut economy), tao_emission) in emitting.into_iter().zip(shares) {
        minted = minted
            .checked_add(tao_emission)
            .ok_or(StateError::Overflow("minted"))?;
        let info = ctx
            .state
            .get::<Subnets>(&netuid)?
            .ok_or(StateError::Missing("subnet"))?;
        accrue(
            ctx,
            netuid,
            &info,
            &mut economy,
            tao_emission,
            root_tao,
            tao_weight,
        )?;
        ctx.state.put::<SubnetEconomy>(&netuid, &economy);
    }
    chain.total_issuance_rao = chain
        .total_issuance_rao
        .checked_add(minted)
        .ok_or(StateError::Overflow("issuance"))?;
    ctx.state.put::<Chain>(&(), &chain);
    Ok(())
}

/// One subnet's share of the block: TAO into the pool (what cannot be injected at the spot
/// price buys alpha, which the protocol removes), alpha emission split and accrued, and the
/// moving price updated.
fn accrue(
    ctx: &Ctx<'_>,
    netuid: NetUid,
    info: &SubnetInfo,
    economy: &mut Economy,
    tao_emission: u64,
    root_tao: u64,
    tao_weight: I96F32,
) -> Result<(), StateError> {
    let alpha_issuance = economy
        .alpha_reserve
        .saturating_add(economy.alpha_out)
        .saturating_add(economy.pending_server)
        .saturating_add(economy.pending_validator)
        .saturating_add(economy.pending_root)
        .saturating_add(economy.pending_owner_cut);
    let alpha_emission = block_emission_rao(alpha_issuance);
    let mut pool = economy.pool(netuid);
    let spot = pool.price();
    let root_prop = root_proportion(root_tao, tao_weight, alpha_issuance);
    let inj = injection(tao_emission, spot, alpha_emission, root_prop);
    pool.inject(inj.tao_in_rao, inj.alpha_in)
        .map_err(|_| StateError::Overflow("pool injection"))?;
    if inj.excess_tao_rao > 0 {
        match pool.buy(inj.excess_tao_rao, 0) {
            Ok(swap) => pool = swap.pool_after,
            // A pool too thin to trade keeps the TAO as reserve.
            Err(_) => pool
                .inject(inj.excess_tao_rao, 0)
                .map_err(|_| StateError::Overflow("pool injection"))?,
        }
    }
    economy.tao_reserve_rao = pool.tao_rao;
    economy.alpha_reserve = pool.alpha;
    let owner_cut = ctx.globals.subnet_owner_cut;
    let split = split_alpha_out(inj.alpha_out, owner_cut, root_prop);
    economy.pending_owner_cut = economy.pending_owner_cut.saturating_add(split.owner_cut);
    economy.pending_server = economy.pending_server.saturating_add(split.server);
    economy.pending_validator = economy.pending_validator.saturating_add(split.validator);
    economy.pending_root = economy.pending_root.saturating_add(split.root);
    economy.tao_in_emission_rao = tao_emission;
    economy.alpha_out_emission = inj.alpha_out;
    let started = info.first_emission_block.unwrap_or(ctx.height);
    let smoothing = moving_price_alpha(
        tao_weight_from_stored(ctx.globals.subnet_moving_alpha),
        ctx.height.saturating_sub(started),
        ctx.globals.ema_price_halving_blocks,
    );
    let moving = update_moving_price(
        I96F32::from_bits(economy.moving_price_bits),
        pool.price(),
        smoothing,
    );
    economy.moving_price_bits = moving.to_bits();
    Ok(())
}

/// Runs the epochs due this block, at most `max_epochs_per_block`; the rest wait a block.
fn run_due_epochs(ctx: &mut Ctx<'_>, subnets: &[(NetUid, SubnetInfo)]) -> Result<(), TxError> {
    let mut ran: u16 = 0;
    for (netuid, info) in subnets {
        let (economy, params) = economy_and_params(ctx, *netuid)?;
        let clock = EpochClock {
            tempo: params.tempo,
            block: ctx.height,
            last_epoch_block: economy.last_epoch_block,
            pending_epoch_at: 0,
            blocks_since_last_step: ctx.height.saturating_sub(economy.last_epoch_block),
        };
        if !should_run_epoch(&clock) {
            continue;
        }
        if ran >= ctx.globals.max_epochs_per_block {
            ctx.emit(Event::EpochDeferred { netuid: *netuid });
            continue;
        }
        ran = ran.saturating_add(1);
        run_epoch(ctx, *netuid, info, economy, &params)?;
    }
    Ok(())
}

/// One neuron as the epoch sees it.
struct Member {
    uid: Uid,
    hotkey: AccountId,
    neuron: crate::schema::Neuron,
}

/// Runs Yuma on the subnet and pays what accumulated since the last epoch.
fn run_epoch(
    ctx: &mut Ctx<'_>,
    netuid: NetUid,
    info: &SubnetInfo,
    mut economy: Economy,
    params: &Hyperparams,
) -> Result<(), TxError> {
    let members = members(ctx, netuid)?;
    let pending = economy
        .pending_server
        .saturating_add(economy.pending_validator)
        .saturating_add(economy.pending_root);
    let input = epoch_input(ctx, netuid, info, &economy, params, &members, pending)?;
    let had_bonds: Vec<bool> = input.bonds.iter().map(|row| !row.is_empty()).collect();
    let output = tao_yuma::epoch(&input).map_err(|error| TxError::Internal(error.to_string()))?;
    store_terms(ctx, netuid, &members, &had_bonds, &output)?;
    let mut minted = pay_miners(ctx, netuid, info, &members, &output)?;
    minted = minted.saturating_add(pay_validators(ctx, netuid, &members, &output)?);
    if economy.pending_owner_cut > 0 {
        stake::deposit(
            &mut ctx.state,
            netuid,
            &info.owner_hotkey,
            &info.owner_coldkey,
            economy.pending_owner_cut,
        )?;
        minted = minted.saturating_add(economy.pending_owner_cut);
    }
    economy = ctx.economy(netuid)?;
    economy.alpha_out = economy
        .alpha_out
        .checked_add(minted)
        .ok_or(TxError::Overflow)?;
    economy.pending_server = 0;
    economy.pending_validator = 0;
    economy.pending_root = 0;
    economy.pending_owner_cut = 0;
    economy.last_epoch_block = ctx.height;
    economy.epoch_index = economy.epoch_index.saturating_add(1);
    ctx.state.put::<SubnetEconomy>(&netuid, &economy);
    ctx.emit(Event::EpochRun {
        netuid,
        emitted_rao: minted,
    });
    Ok(())
}

fn members(ctx: &Ctx<'_>, netuid: NetUid) -> Result<Vec<Member>, TxError> {
    Ok(ctx
        .state
        .scan::<Neurons>(&netuid)?
        .into_iter()
        .map(|((_, uid), neuron)| Member {
            uid,
            hotkey: neuron.hotkey,
            neuron,
        })
        .collect())
}

/// The coldkey owning a member's hotkey (looked up only for members who are paid). A
/// registered hotkey always has an owner: none means corrupt state, never the zero account.
fn coldkey_of(ctx: &Ctx<'_>, member: &Member) -> Result<AccountId, TxError> {
    Ok(ctx
        .state
        .get::<HotkeyOwner>(&member.hotkey)?
        .ok_or(StateError::Missing("owner of a registered hotkey"))?)
}

fn epoch_input(
    ctx: &Ctx<'_>,
    netuid: NetUid,
    info: &SubnetInfo,
    economy: &Economy,
    params: &Hyperparams,
    members: &[Member],
    emission: u64,
) -> Result<EpochInput, TxError> {
    let n = members.len();
    let rows = |rows: crate::overlay::Entries<Weights>| {
        let mut dense = vec![Vec::new(); n];
        for ((_, uid), row) in rows {
            if let Some(slot) = dense.get_mut(uid.index()) {
                *slot = row;
            }
        }
        dense
    };
    let weights = rows(
        ctx.state
            .scan_with::<Weights, _>(&netuid, |bytes| decode_row(bytes, n))?,
    );
    let bonds = rows(
        ctx.state
            .scan_with::<Bonds, _>(&netuid, |bytes| decode_row(bytes, n))?,
    );
    let stake = stake_weights(ctx, netuid, members)?;
    Ok(EpochInput {
        params: EpochParams {
            kappa: params.kappa,
            bonds_penalty: params.bonds_penalty,
            bonds_moving_average: params.bonds_moving_average,
            yuma3: params.yuma3,
            liquid_alpha: params.liquid_alpha,
            alpha_low: params.alpha_low,
            alpha_high: params.alpha_high,
            alpha_sigmoid_steepness: params.alpha_sigmoid_steepness,
            max_allowed_validators: params.max_allowed_validators,
            activity_cutoff: u64::from(params.activity_cutoff),
            stake_threshold: ctx.globals.stake_threshold.max(params.min_validator_stake),
        },
        current_block: ctx.height,
        last_tempo_block: economy.last_epoch_block,
        emission,
        owner_uid: ctx
            .state
            .get::<UidOf>(&(netuid, info.owner_hotkey))?
            .map(|uid| uid.0),
        stake,
        last_update: members.iter().map(|m| m.neuron.last_update).collect(),
        block_at_registration: members.iter().map(|m| m.neuron.registered_at).collect(),
        validator_permit: members.iter().map(|m| m.neuron.validator_permit).collect(),
        weights,
        bonds,
        weight_commit_blocks: None,
    })
}

/// A stored weight or bond row (`Vec<(u16, u16)>` in SCALE: a compact length, then four bytes
/// per entry) without the generic codec, keeping the entries whose destination is below `n`.
/// `None` exactly where decoding the `Vec` and requiring every byte used would fail.
fn decode_row(mut bytes: &[u8], n: usize) -> Option<Vec<(u16, u16)>> {
    let len = <Compact<u32>>::decode(&mut bytes).ok()?.0;
    if usize::try_from(len).ok()?.checked_mul(4)? != bytes.len() {
        return None;
    }
    let mut row = Vec::with_capacity(bytes.len() / 4);
    for entry in bytes.chunks_exact(4) {
        if let [d0, d1, v0, v1] = entry {
            let dest = u16::from_le_bytes([*d0, *d1]);
            if usize::from(dest) < n {
                row.push((dest, u16::from_le_bytes([*v0, *v1])));
            }
        }
    }
    Some(row)
}

/// Every member's stake weight (alpha here plus root stake × `tao_weight`), from one scan of
/// the subnet's hotkey pools and one of the root's.
fn stake_weights(
    ctx: &Ctx<'_>,
    netuid: NetUid,
    members: &[Member],
) -> Result<Vec<I64F64>, TxError> {
    let pools = |netuid: NetUid| -> Result<BTreeMap<AccountId, u64>, TxError> {
        Ok(ctx
            .state
            .scan::<HotkeyPools>(&netuid)?
            .into_iter()
            .map(|((_, hotkey), pool)| (hotkey, pool.alpha))
            .collect())
    };
    let (alpha, root) = (pools(netuid)?, pools(NetUid::ROOT)?);
    Ok(members
        .iter()
        .map(|m| {
            let own = alpha.get(&m.hotkey).copied().unwrap_or(0);
            let root = root.get(&m.hotkey).copied().unwrap_or(0);
            let scaled = stake::mul_div_floor(
                u128::from(root),
                u128::from(ctx.globals.tao_weight),
                u128::from(u64::MAX),
            )
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(0);
            I64F64::from_num(own.saturating_add(scaled))
        })
        .collect())
}

/// Writes the epoch's terms, permits and bonds back to the neurons (only what changed).
fn store_terms(
    ctx: &mut Ctx<'_>,
    netuid: NetUid,
    members: &[Member],
    had_bonds: &[bool],
    out: &EpochOutput,
) -> Result<(), TxError> {
    let consensus = to_u16_proportions(&out.consensus);
    let incentive = to_u16_proportions(&out.incentive);
    let dividends = to_u16_proportions(&out.dividends);
    let trust = to_u16_proportions(&out.validator_trust);
    let covered = [
        consensus.len(),
        incentive.len(),
        dividends.len(),
        trust.len(),
        out.validator_permit.len(),
        out.active.len(),
        out.combined_emission.len(),
    ]
    .iter()
    .all(|len| *len == members.len());
    if !covered {
        // Yuma returns one entry per input neuron; anything else is a bug, not a zero.
        return Err(TxError::Internal(
            "epoch output does not cover every neuron".into(),
        ));
    }
    for (index, member) in members.iter().enumerate() {
        let mut neuron = member.neuron.clone();
        neuron.consensus = consensus.get(index).copied().unwrap_or(0);
        neuron.incentive = incentive.get(index).copied().unwrap_or(0);
        neuron.dividends = dividends.get(index).copied().unwrap_or(0);
        neuron.validator_trust = trust.get(index).copied().unwrap_or(0);
        neuron.validator_permit = out.validator_permit.get(index).copied().unwrap_or(false);
        neuron.active = out.active.get(index).copied().unwrap_or(false);
        neuron.emission = out.combined_emission.get(index).copied().unwrap_or(0);
        if neuron != member.neuron {
            ctx.state.put::<Neurons>(&(netuid, member.uid), &neuron);
        }
        match out.bonds.get(index) {
            Some(row) if !row.is_empty() => ctx.state.put::<Bonds>(&(netuid, member.uid), row),
            _ if had_bonds.get(index).copied().unwrap_or(false) => {
                ctx.state.remove::<Bonds>(&(netuid, member.uid))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Miner incentive is staked to the miner's hotkey for its owner. Incentive to hotkeys of
/// the subnet owner is burned, as live (owners cannot mine their own subnet).
fn pay_miners(
    ctx: &mut Ctx<'_>,
    netuid: NetUid,
    info: &SubnetInfo,
    members: &[Member],
    out: &EpochOutput,
) -> Result<u64, TxError> {
    let mut minted: u64 = 0;
    for (member, amount) in members.iter().zip(&out.server_emission) {
        if *amount == 0 {
            continue;
        }
        let coldkey = coldkey_of(ctx, member)?;
        if coldkey == info.owner_coldkey {
            continue;
        }
        stake::deposit(&mut ctx.state, netuid, &member.hotkey, &coldkey, *amount)?;
        minted = minted.saturating_add(*amount);
    }
    Ok(minted)
}

/// Validator dividends: each is split by the validator's stake mix into an alpha part, for
/// the hotkey's nominators on this subnet, and a root part, for its root nominators (paid as
/// alpha stake on this subnet under the same hotkey). The owner's take comes off both.
fn pay_validators(
    ctx: &mut Ctx<'_>,
    netuid: NetUid,
    members: &[Member],
    out: &EpochOutput,
) -> Result<u64, TxError> {
    let tao_weight = tao_weight_from_stored(ctx.globals.tao_weight);
    let mut paid: Vec<(&Member, HotkeyDividend)> = Vec::new();
    for (member, amount) in members.iter().zip(&out.validator_emission) {
        if *amount == 0 {
            continue;
        }
        paid.push((
            member,
            HotkeyDividend {
                alpha_stake: stake::hotkey_alpha(&ctx.state, netuid, &member.hotkey)?,
                root_stake_rao: stake::hotkey_alpha(&ctx.state, NetUid::ROOT, &member.hotkey)?,
                dividend: I96F32::from_num(*amount),
            },
        ));
    }
    let total = out
        .validator_emission
        .iter()
        .fold(0u64, |acc, v| acc.saturating_add(*v));
    let root_total = paid
        .iter()
        .map(|(_, m)| {
            let root = I96F32::from_num(m.root_stake_rao).saturating_mul(tao_weight);
            let share = root
                .checked_div(root.saturating_add(I96F32::from_num(m.alpha_stake)))
                .unwrap_or(I96F32::from_num(0));
            m.dividend.saturating_mul(share).saturating_to_num::<u64>()
        })
        .fold(0u64, u64::saturating_add);
    let mixes: Vec<HotkeyDividend> = paid.iter().map(|(_, mix)| *mix).collect();
    let splits = split_dividends_by_stake_mix(
        total.saturating_sub(root_total),
        root_total,
        tao_weight,
        &mixes,
    );
    let mut minted: u64 = 0;
    for ((member, _), split) in paid.into_iter().zip(splits) {
        let take = hotkeys::delegate(ctx, &member.hotkey)?.take;
        let owner = coldkey_of(ctx, member)?;
        minted = minted.saturating_add(pay_with_take(
            ctx,
            netuid,
            member,
            &owner,
            split.alpha,
            take,
            false,
        )?);
        minted = minted.saturating_add(pay_with_take(
            ctx, netuid, member, &owner, split.root, take, true,
        )?);
    }
    Ok(minted)
}

/// Pays `amount` of dividends: the take to the hotkey's owner, the rest to its nominators on
/// this subnet (`root == false`) or to its root nominators in proportion to their root stake.
fn pay_with_take(
    ctx: &mut Ctx<'_>,
    netuid: NetUid,
    member: &Member,
    owner: &AccountId,
    amount: u64,
    take: u16,
    root: bool,
) -> Result<u64, TxError> {
    if amount == 0 {
        return Ok(0);
    }
    let take_amount =
        stake::mul_div_floor(u128::from(amount), u128::from(take), u128::from(u16::MAX))
            .and_then(|value| u64::try_from(value).ok())
            .unwrap_or(0);
    let rest = amount.saturating_sub(take_amount);
    stake::deposit(&mut ctx.state, netuid, &member.hotkey, owner, take_amount)?;
    if !root {
        stake::distribute(&mut ctx.state, netuid, &member.hotkey, owner, rest)?;
        return Ok(amount);
    }
    let pool = ctx
        .state
        .get_or_default::<HotkeyPools>(&(NetUid::ROOT, member.hotkey))?;
    let holders: Vec<(AccountId, u64)> = ctx
        .state
        .scan::<StakeShares>(&(NetUid::ROOT, member.hotkey))?
        .into_iter()
        .map(|((_, _, coldkey), shares)| (coldkey, stake::value_of(shares, &pool)))
        .collect();
    let payouts = largest_remainder(rest, &holders);
    if payouts.is_empty() {
        stake::deposit(&mut ctx.state, netuid, &member.hotkey, owner, rest)?;
    }
    for (coldkey, payout) in payouts {
        stake::deposit(&mut ctx.state, netuid, &member.hotkey, &coldkey, payout)?;
    }
    Ok(amount)
}

#[cfg(test)]
mod tests {
    use parity_scale_codec::{Compact, Decode, Encode};

    use super::decode_row;

    /// What the generic codec makes of `bytes`, filtered as the epoch filters.
    fn reference(bytes: &[u8], n: usize) -> Option<Vec<(u16, u16)>> {
        let mut input = bytes;
        let row = Vec::<(u16, u16)>::decode(&mut input).ok()?;
        if !input.is_empty() {
            return None;
        }
        Some(
            row.into_iter()
                .filter(|(d, _)| usize::from(*d) < n)
                .collect(),
        )
    }

    #[test]
    fn row_decoder_agrees_with_the_codec() {
        let row: Vec<(u16, u16)> = (0..300u16).map(|i| (i * 3, i ^ 0x5a5a)).collect();
        let mut cases: Vec<Vec<u8>> = vec![row.encode(), Vec::<(u16, u16)>::new().encode()];
        let mut trailing = row.encode();
        trailing.push(0);
        cases.push(trailing);
        let mut short = row.encode();
        short.pop();
        cases.push(short);
        // A non-canonical length (1 in the two-byte mode), a huge length, no length at all.
        cases.push(vec![0b0000_0101, 0, 1, 0, 2, 0]);
        let mut huge = Compact(u32::MAX).encode();
        huge.extend_from_slice(&[0; 8]);
        cases.push(huge);
        cases.push(Vec::new());
        for bytes in &cases {
            for n in [0, 1, 256, 4096] {
                assert_eq!(
                    decode_row(bytes, n),
                    reference(bytes, n),
                    "{bytes:?} n = {n}"
                );
            }
        }
        assert!(decode_row(&row.encode(), 256).is_some_and(|r| r.len() == 86));
    }

    proptest::proptest! {
        #[test]
        fn row_decoder_agrees_on_random_bytes(
            len in 0u32..40,
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..170),
            raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..12),
            n in 0usize..600,
        ) {
            let mut bytes = Compact(len).encode();
            bytes.extend_from_slice(&body);
            proptest::prop_assert_eq!(decode_row(&bytes, n), reference(&bytes, n));
            proptest::prop_assert_eq!(decode_row(&raw, n), reference(&raw, n));
        }
    }
}
