//! Call weights, the block weight budget, fees that follow weight, and the incremental
//! dissolution of subnets (ADR 017).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeMap;

use common::*;
use parity_scale_codec::Encode;
use tao_primitives::{AccountId, Uid};
use tao_state::block::{Header, execute_block, validate_transaction};
use tao_state::ctx::Ctx;
use tao_state::error::BlockError;
use tao_state::overlay::Overlay;
use tao_state::schema::{
    Bonds, Cleanups, Globals, HotkeyPools, Neurons, PositionCount, PositionSlots, SlotOfPosition,
    StakeIndex, StakeShares, SubnetEconomy, Subnets, UidOf, Weights,
};
use tao_state::store::MemoryStore;
use tao_types::error::InvalidTx;
use tao_types::events::Event;
use tao_types::metering::{TRANSFER_WEIGHT, UNSTAKE_SUBNET_WEIGHT, call_weight};
use tao_types::params::{GlobalParams, MIN_BLOCK_WEIGHT};
use tao_types::tx::Call;

fn globals(chain: &TestChain) -> GlobalParams {
    chain.get::<Globals>(&()).unwrap()
}

/// Sudo (//Alice on the local chain) sets the global parameters.
fn set_globals(chain: &mut TestChain, edit: impl FnOnce(&mut GlobalParams)) {
    let mut params = globals(chain);
    edit(&mut params);
    chain.ok("//Alice", Call::SudoSetGlobals { params });
}

fn pay(to: &str) -> Call {
    Call::Transfer {
        dest: id(to),
        amount_rao: TAO,
    }
}

fn next_header(chain: &TestChain) -> Header {
    Header {
        height: chain.height + 1,
        timestamp_ms: (chain.height + 1) * 1000,
        author: chain.author,
    }
}

#[test]
fn a_block_takes_transactions_up_to_its_weight_budget_and_the_rest_wait() {
    let mut chain = TestChain::local();
    set_globals(&mut chain, |p| p.max_block_weight = MIN_BLOCK_WEIGHT);
    let fit = usize::try_from(MIN_BLOCK_WEIGHT / TRANSFER_WEIGHT).unwrap();
    let txs: Vec<_> = (0..fit + 3)
        .map(|i| chain.sign_with("//Bob", pay("//Dave"), u64::try_from(i).unwrap()))
        .collect();
    // The builder takes what fits; the next one is BlockFull (it stays in a node's pool).
    let mut builder = chain.builder();
    for tx in &txs[..fit] {
        assert_eq!(builder.apply(tx).map(|r| r.result.clone()), Ok(Ok(())));
    }
    let used = builder.weight();
    assert_eq!(used, TRANSFER_WEIGHT * u64::try_from(fit).unwrap());
    assert_eq!(
        builder.apply(&txs[fit]).map(|r| r.result.clone()),
        Err(InvalidTx::BlockFull {
            used,
            weight: TRANSFER_WEIGHT,
            max: MIN_BLOCK_WEIGHT
        })
    );
    assert_eq!(
        builder.weight(),
        used,
        "a skipped transaction weighs nothing"
    );
    drop(builder);
    // A verifier refuses a block over the budget.
    match execute_block(&chain.store, &next_header(&chain), &txs) {
        Err(BlockError::InvalidTransaction { index, error }) => {
            assert_eq!(index, fit);
            assert!(matches!(error, InvalidTx::BlockFull { .. }), "{error:?}");
        }
        other => panic!(
            "a block over the budget was accepted: {:?}",
            other.map(|_| ())
        ),
    }
    // What fits is a valid block, and the rest goes into the next one.
    chain.block(&txs[..fit]);
    chain.block(&txs[fit..]);
    assert_eq!(chain.nonce(&id("//Bob")), u64::try_from(fit + 3).unwrap());
}

#[test]
fn a_call_heavier_than_the_whole_budget_is_refused_at_admission_and_in_blocks() {
    let mut chain = TestChain::local();
    chain.ok(
        "//Charlie",
        Call::AddStake {
            hotkey: id("//Bob//hot"),
            netuid: SN2,
            amount_rao: TAO,
            limit: None,
        },
    );
    // `unstake_all` is charged for every subnet the chain may hold.
    set_globals(&mut chain, |p| {
        p.max_block_weight = MIN_BLOCK_WEIGHT;
        p.subnet_limit = 1_000;
    });
    let unstake = Call::UnstakeAll {
        hotkey: id("//Bob//hot"),
    };
    let weight = call_weight(&unstake, &Default::default(), &globals(&chain));
    assert!(weight > MIN_BLOCK_WEIGHT);
    let tx = chain.sign("//Charlie", unstake);
    let too_heavy = InvalidTx::TooHeavy {
        weight,
        max: MIN_BLOCK_WEIGHT,
    };
    assert_eq!(
        validate_transaction(&chain.store, &tx).map(|_| ()),
        Err(too_heavy.clone())
    );
    match execute_block(&chain.store, &next_header(&chain), &[tx]) {
        Err(BlockError::InvalidTransaction { index: 0, error }) => assert_eq!(error, too_heavy),
        other => panic!("a too heavy call was accepted: {:?}", other.map(|_| ())),
    }
    // Within the budget again, the same call is taken and pays for its weight.
    set_globals(&mut chain, |p| p.subnet_limit = 128);
    let receipt = chain.ok(
        "//Charlie",
        Call::UnstakeAll {
            hotkey: id("//Bob//hot"),
        },
    );
    let params = globals(&chain);
    let size = chain
        .sign(
            "//Charlie",
            Call::UnstakeAll {
                hotkey: id("//Bob//hot"),
            },
        )
        .encoded_size() as u64;
    assert_eq!(
        receipt.fee_rao,
        params.base_fee_rao
            + params.byte_fee_rao * size
            + params.weight_fee_rao * 129 * UNSTAKE_SUBNET_WEIGHT
    );
}

#[test]
fn light_calls_pay_exactly_the_old_fee() {
    let mut chain = TestChain::local();
    let params = globals(&chain);
    for call in [
        pay("//Dave"),
        Call::AddStake {
            hotkey: id("//Bob//hot"),
            netuid: SN2,
            amount_rao: TAO,
            limit: None,
        },
        Call::SetHyperparam {
            netuid: SN2,
            value: tao_types::tx::HyperparamValue::Kappa(7),
        },
    ] {
        let size = chain.sign("//Bob", call.clone()).encode().len() as u64;
        let receipt = chain.submit("//Bob", call);
        assert_eq!(
            receipt.fee_rao,
            params.base_fee_rao + params.byte_fee_rao * size
        );
    }
}

/// Owner (//Alice) hotkeys, validators and stakers of the big subnet.
fn account(tag: u8, index: u32) -> AccountId {
    let mut bytes = [tag; 32];
    bytes[..4].copy_from_slice(&index.to_le_bytes());
    AccountId(bytes)
}

/// Grows subnet 2 to `n` neurons with full weight and bond rows on the first `rows`, and
/// `positions` stake positions of distinct coldkeys over `hotkeys` hotkeys (written directly,
/// as a long history of registrations and stakes would have).
fn grow_subnet(
    chain: &mut TestChain,
    n: u16,
    rows: u16,
    positions: u32,
    hotkeys: u32,
    dividend: u64,
) {
    let globals = globals(chain);
    let changes = {
        let mut ctx = Ctx::new(Overlay::new(&chain.store), chain.height, None, globals);
        let owner = id("//Bob");
        let mut params = ctx.hparams(SN2).unwrap();
        params.max_allowed_uids = n;
        ctx.state.put::<tao_state::schema::Hparams>(&SN2, &params);
        let first = ctx.subnet(SN2).unwrap().n;
        for uid in first..n {
            tao_state::calls::registration::put_neuron(
                &mut ctx,
                SN2,
                Uid(uid),
                &account(2, u32::from(uid)),
                &owner,
            )
            .unwrap();
        }
        let row: Vec<(u16, u16)> = (0..n).map(|m| (m, 1 + m % 1_000)).collect();
        for uid in 0..rows {
            ctx.state.put::<Weights>(&(SN2, Uid(uid)), &row);
            ctx.state.put::<Bonds>(&(SN2, Uid(uid)), &row);
        }
        let mut staked = 0u64;
        for p in 0..positions {
            let hotkey = account(2, p % hotkeys);
            // Uneven amounts, so payouts round.
            let alpha = 1_000_000 + u64::from(p) * 7_919;
            tao_state::stake::deposit(&mut ctx.state, SN2, &hotkey, &account(3, p), alpha).unwrap();
            staked += alpha;
        }
        // A dividend on one pool makes share values round.
        if dividend > 0 {
            tao_state::stake::distribute(&mut ctx.state, SN2, &account(2, 0), &owner, dividend)
                .unwrap();
            staked += dividend;
        }
        let mut economy = ctx.economy(SN2).unwrap();
        economy.alpha_out += staked;
        ctx.state.put::<SubnetEconomy>(&SN2, &economy);
        let (state, _) = ctx.into_parts();
        state.into_changes().unwrap().0
    };
    chain.store.apply(&changes);
    tao_state::invariants::check(&chain.store).unwrap();
}

/// Free balances of `who`.
fn balances(store: &MemoryStore, who: &[AccountId]) -> BTreeMap<AccountId, u64> {
    let state = Overlay::new(store);
    who.iter()
        .map(|who| {
            let free = state
                .get::<tao_state::schema::Accounts>(who)
                .unwrap()
                .map_or(0, |a| a.free_rao);
            (*who, free)
        })
        .collect()
}

#[test]
fn a_big_subnet_dissolves_over_many_blocks_paying_what_the_one_shot_paid() {
    dissolve_big_subnet(123_457);
}

#[test]
fn without_share_rounding_the_payouts_are_the_one_shot_ones_within_a_rao() {
    dissolve_big_subnet(0);
}

/// Dissolves a subnet of 400 neurons and 1 500 positions with the smallest budget, checking
/// the invariants after every block, and compares every staker's payout with the one-shot
/// dissolution's. `dividend`: alpha added to one pool, so that share values round.
fn dissolve_big_subnet(dividend: u64) {
    let positions = 1_500;
    let n = 400;
    let mut chain = TestChain::local();
    // A small budget makes the cleanup take many blocks (its share: a seventh).
    set_globals(&mut chain, |p| p.max_block_weight = MIN_BLOCK_WEIGHT);
    grow_subnet(&mut chain, n, 64, positions, 97, dividend);
    let stakers: Vec<AccountId> = {
        let mut all: Vec<AccountId> = Overlay::new(&chain.store)
            .scan::<StakeShares>(&SN2)
            .unwrap()
            .into_iter()
            .map(|((_, _, coldkey), _)| coldkey)
            .collect();
        all.sort();
        all.dedup();
        all
    };
    assert!(stakers.len() >= usize::try_from(positions).unwrap());
    let before = balances(&chain.store, &stakers);
    // The reference: the one-shot dissolution on the same state, after the same block's
    // economics (the dissolve runs in the next block, after its emission).
    let (reference, pot) = {
        let mut twin = TestChain {
            store: chain.store.clone(),
            genesis_hash: chain.genesis_hash,
            height: chain.height,
            author: chain.author,
            last: None,
        };
        twin.empty_blocks(1);
        let pot = twin.get::<SubnetEconomy>(&SN2).unwrap().tao_reserve_rao;
        let mut store = twin.store.clone();
        let mut ctx = Ctx::new(Overlay::new(&store), twin.height, None, globals(&twin));
        tao_state::calls::subnets::remove_subnet_at_once(&mut ctx, SN2).unwrap();
        let (state, _) = ctx.into_parts();
        let changes = state.into_changes().unwrap().0;
        store.apply(&changes);
        (balances(&store, &stakers), pot)
    };
    let alpha_total = chain.get::<SubnetEconomy>(&SN2).unwrap().alpha_out;
    let per_pool = u64::from(positions.div_ceil(97));
    let dust_rao = if dividend == 0 {
        0
    } else {
        (pot / alpha_total + 1) * per_pool
    };
    let receipt = chain.ok("//Alice", Call::SudoDissolveNetwork { netuid: SN2 });
    assert!(
        receipt
            .events
            .contains(&Event::NetworkRemoved { netuid: SN2 })
    );
    assert!(
        chain.get::<Subnets>(&SN2).is_none(),
        "out of the live subnets at once"
    );
    // Every block checks the invariants (TestChain::block); count the blocks it takes.
    let mut blocks = 0;
    let per_block =
        tao_state::cleanup::budget(MIN_BLOCK_WEIGHT) / tao_state::cleanup::POSITION_WEIGHT;
    let count = |chain: &TestChain| chain.get::<PositionCount>(&SN2).unwrap_or(0);
    while chain.get::<Cleanups>(&SN2).is_some() {
        let left = count(&chain);
        chain.empty_blocks(1);
        assert!(
            left - count(&chain) <= per_block,
            "more positions than the share allows"
        );
        blocks += 1;
        assert!(blocks < 1_000, "the cleanup does not end");
        // While it runs the netuid stays taken, no call reaches the subnet.
        if chain.get::<Cleanups>(&SN2).is_some() {
            assert_eq!(
                chain.err("//Charlie", Call::StartCall { netuid: SN2 }),
                tao_types::error::TxError::SubnetNotExists
            );
            blocks += 1;
        }
    }
    let cleaned = chain.last.as_ref().unwrap();
    assert!(
        cleaned
            .block_events
            .contains(&Event::NetworkCleaned { netuid: SN2 })
    );
    // Bounded per block: 1 500 positions and 400 neurons took many blocks.
    assert!(blocks > 10, "{blocks} blocks");
    let after = balances(&chain.store, &stakers);
    let paid = |balances: &BTreeMap<AccountId, u64>, who: &AccountId| balances[who] - before[who];
    let mut total_incremental = 0u64;
    let mut total_once = 0u64;
    let mut differing = 0;
    for who in before.keys() {
        let (incremental, once) = (paid(&after, who), paid(&reference, who));
        // Cumulative rounding against largest remainder: at most one rao apart; and the
        // last position to leave a hotkey pool takes the pool's share-rounding dust (under one
        // alpha unit per other position in it, as an ordinary withdrawal would).
        assert!(
            incremental.abs_diff(once) <= 1 + dust_rao,
            "{who:?}: {incremental} vs {once}"
        );
        differing += usize::from(incremental != once);
        total_incremental += incremental;
        total_once += once;
    }
    assert_eq!(total_incremental, pot, "every rao of the pool is paid");
    assert_eq!(total_once, pot);
    assert!(
        differing * 2 < before.len(),
        "{differing} stakers differ by a rao"
    );
    // Nothing of the subnet is left.
    let state = Overlay::new(&chain.store);
    assert!(state.scan::<StakeShares>(&SN2).unwrap().is_empty());
    assert!(state.scan::<HotkeyPools>(&SN2).unwrap().is_empty());
    assert!(state.scan::<PositionSlots>(&SN2).unwrap().is_empty());
    assert!(state.scan::<SlotOfPosition>(&SN2).unwrap().is_empty());
    assert!(state.get::<PositionCount>(&SN2).unwrap().is_none());
    assert!(state.scan::<Neurons>(&SN2).unwrap().is_empty());
    assert!(state.scan::<UidOf>(&SN2).unwrap().is_empty());
    assert!(state.scan::<Weights>(&SN2).unwrap().is_empty());
    assert!(state.scan::<Bonds>(&SN2).unwrap().is_empty());
    assert!(state.get::<SubnetEconomy>(&SN2).unwrap().is_none());
    for p in 0..positions {
        assert!(
            !state.contains::<StakeIndex>(&(account(3, p), account(2, p % 97), SN2)),
            "position {p} left in the index"
        );
    }
    // The netuid is free again: the next subnet takes it.
    drop(state);
    chain.ok(
        "//Charlie",
        Call::RegisterNetwork {
            hotkey: id("//Charlie//hot"),
            identity: None,
        },
    );
    assert_eq!(
        chain.get::<Subnets>(&SN2).unwrap().owner_coldkey,
        id("//Charlie")
    );
}

#[test]
fn unstake_all_skips_a_subnet_being_cleaned() {
    let mut chain = TestChain::local();
    let stake = |netuid| Call::AddStake {
        hotkey: id("//Alice//hot"),
        netuid,
        amount_rao: TAO,
        limit: None,
    };
    chain.ok("//Charlie", stake(SN1));
    chain.ok("//Charlie", stake(SN2));
    set_globals(&mut chain, |p| p.max_block_weight = MIN_BLOCK_WEIGHT);
    // The dissolve and the unstake in one block: the cleanup has not run yet.
    let dissolve = chain.sign("//Alice", Call::SudoDissolveNetwork { netuid: SN2 });
    let unstake = chain.sign(
        "//Charlie",
        Call::UnstakeAll {
            hotkey: id("//Alice//hot"),
        },
    );
    let outcome = chain.block(&[dissolve, unstake]).clone();
    assert_eq!(outcome.receipts[1].result, Ok(()));
    // The read view shows the position being paid out, and what it will receive.
    let views = tao_state::read::stake_info_for_coldkey(&chain.store, &id("//Charlie")).unwrap();
    assert_eq!(views.len(), 1, "{views:?}");
    assert_eq!(views[0].netuid, SN2.0);
    assert!(views[0].being_cleaned);
    let before = chain.free("//Charlie");
    chain.empty_blocks(1);
    assert_eq!(chain.free("//Charlie"), before + views[0].tao_value_rao);
    assert!(chain.get::<Cleanups>(&SN2).is_none());
    let state = Overlay::new(&chain.store);
    assert!(
        state
            .scan::<StakeIndex>(&(id("//Charlie"), id("//Alice//hot")))
            .unwrap()
            .is_empty()
    );
}
