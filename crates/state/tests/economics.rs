//! A subnet over several tempos: the best-weighted miner earns most, nominators of the best
//! validator earn dividends, the owner gets 18 %, and issuance follows the schedule to the rao.

mod common;

use common::{SN1, TAO, TestChain, id};
use tao_primitives::NetUid;
use tao_state::overlay::Overlay;
use tao_state::schema::{Chain, SubnetEconomy, UidOf};
use tao_state::stake::alpha_of;
use tao_types::events::Event;
use tao_types::tx::Call;

fn register(hotkey: &str, coldkey: &str, chain: &mut TestChain) -> u16 {
    chain.ok(
        coldkey,
        Call::BurnedRegister {
            netuid: SN1,
            hotkey: id(hotkey),
            limit_rao: u64::MAX,
        },
    );
    chain.get::<UidOf>(&(SN1, id(hotkey))).unwrap().0
}

fn alpha(chain: &TestChain, hotkey: &str, coldkey: &str) -> u64 {
    alpha_of(&Overlay::new(&chain.store), SN1, &id(hotkey), &id(coldkey)).unwrap()
}

#[test]
fn emissions_follow_weights_stake_and_the_schedule() {
    let mut chain = TestChain::local();
    let validator_a = register("//Charlie//v", "//Charlie", &mut chain);
    let validator_b = register("//Dave//v", "//Dave", &mut chain);
    let best = register("//Eve//m1", "//Eve", &mut chain);
    let other = register("//Eve//m2", "//Eve", &mut chain);
    chain.ok(
        "//Charlie",
        Call::AddStake {
            hotkey: id("//Charlie//v"),
            netuid: SN1,
            amount_rao: 50 * TAO,
            limit: None,
        },
    );
    chain.ok(
        "//Dave",
        Call::AddStake {
            hotkey: id("//Dave//v"),
            netuid: SN1,
            amount_rao: 20 * TAO,
            limit: None,
        },
    );
    chain.ok(
        "//Bob",
        Call::AddStake {
            hotkey: id("//Charlie//v"),
            netuid: SN1,
            amount_rao: 10 * TAO,
            limit: None,
        },
    );
    // Validator permits come from an epoch; wait for one.
    let epoch = chain.get::<SubnetEconomy>(&SN1).unwrap().epoch_index;
    while chain.get::<SubnetEconomy>(&SN1).unwrap().epoch_index == epoch {
        chain.empty_blocks(1);
    }
    let set = |uids| Call::SetWeights {
        netuid: SN1,
        uids,
        values: vec![3, 1],
        version_key: 0,
    };
    chain.ok("//Charlie//v", set(vec![best, other]));
    chain.ok("//Dave//v", set(vec![best, other]));
    let _ = (validator_a, validator_b);

    let bob_before = alpha(&chain, "//Charlie//v", "//Bob");
    let owner_before = alpha(&chain, "//Alice//hot", "//Alice");
    let issuance_before = chain.get::<Chain>(&()).unwrap().total_issuance_rao;
    let pending = |chain: &TestChain| {
        let e = chain.get::<SubnetEconomy>(&SN1).unwrap();
        e.pending_owner_cut + e.pending_server + e.pending_validator + e.pending_root
    };
    let pending_before = pending(&chain);
    let mut minted_alpha = 0u64;
    let blocks = 40;
    for _ in 0..blocks {
        chain.empty_blocks(1);
        for event in &chain.last.as_ref().unwrap().block_events {
            if let Event::EpochRun {
                netuid,
                emitted_rao: emitted,
            } = event
                && *netuid == SN1
            {
                minted_alpha += emitted;
            }
        }
    }
    // Every block mints exactly its emission (1 TAO before the first halving).
    let issuance_after = chain.get::<Chain>(&()).unwrap().total_issuance_rao;
    assert_eq!(issuance_after - issuance_before, blocks * TAO);

    let best_alpha = alpha(&chain, "//Eve//m1", "//Eve");
    let other_alpha = alpha(&chain, "//Eve//m2", "//Eve");
    assert!(
        best_alpha > 2 * other_alpha,
        "best miner {best_alpha} vs other {other_alpha}"
    );
    assert!(
        alpha(&chain, "//Charlie//v", "//Bob") > bob_before,
        "nominators earn dividends"
    );

    // One alpha per block accrues on the subnet; the owner's 18 % is paid at each epoch.
    let owner_gain = alpha(&chain, "//Alice//hot", "//Alice") - owner_before;
    let accrued = minted_alpha + pending(&chain) - pending_before;
    assert!(
        accrued <= blocks * TAO && accrued + 1_000 >= blocks * TAO,
        "accrued {accrued}"
    );
    // Owner cut over exactly the alpha that was paid out (minted) in the window.
    let owner_share = owner_gain as f64 / minted_alpha as f64;
    assert!(
        (owner_share - 11_796.0 / 65_535.0).abs() < 1e-6,
        "owner share {owner_share}"
    );
    let _ = NetUid::ROOT;
}
