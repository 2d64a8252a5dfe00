//! Golden vectors from the live chain's test suite (`../shared/reference/subtensor.md` §8.4–§8.6)
//! run through the pure economics functions.

use substrate_fixed::types::U64F64;
use tao_primitives::I96F32;
use tao_state::economics::burn::{burn_after_registration, decay_burn};
use tao_state::economics::coinbase::{
    HotkeyDividend, injection, split_alpha_out, split_dividends_by_stake_mix, split_tao_by_price,
};
use tao_state::economics::emission::block_emission_rao;
use tao_state::economics::schedule::{blocks_until_next_epoch, legacy_blocks_until_next_epoch};

const TAO: u64 = 1_000_000_000;

fn assert_near(actual: u64, expected: u64, tolerance: u64, what: &str) {
    assert!(
        actual.abs_diff(expected) <= tolerance,
        "{what}: {actual} not within {tolerance} of {expected}"
    );
}

// ---- §8.4 Vector D: epoch scheduling -------------------------------------------------------

#[test]
fn vector_d_head_schedule() {
    for (tempo, block, expected) in [(10, 5, 5), (20, 15, 5), (10, 9, 1), (20, 21, 0)] {
        assert_eq!(
            blocks_until_next_epoch(0, tempo, block),
            expected,
            "tempo {tempo} block {block}"
        );
    }
    assert_eq!(blocks_until_next_epoch(0, 0, 5), u64::MAX);
}

#[test]
fn vector_d_legacy_schedule() {
    let cases: [(u16, u16, u64, u64); 9] = [
        (1, 10, 5, 3),
        (2, 20, 15, 2),
        (3, 30, 25, 1),
        (1, 10, 9, 10),
        (2, 20, 21, 17),
        (2, 10, 5, 2),
        (3, 10, 5, 1),
        (65_535, 65_535, 0, 65_535),
        (1, 10, u64::MAX, 9),
    ];
    for (netuid, tempo, block, expected) in cases {
        assert_eq!(
            legacy_blocks_until_next_epoch(netuid, tempo, block),
            expected,
            "netuid {netuid} tempo {tempo} block {block}"
        );
    }
    assert_eq!(legacy_blocks_until_next_epoch(1, 0, 5), u64::MAX);
}

// ---- §8.5 Vector E: registration burn ------------------------------------------------------

#[test]
fn vector_e_decay_with_half_life_two() {
    let mut burn = 1_024;
    let mut seen = Vec::new();
    for _ in 0..4 {
        burn = decay_burn(burn, 2, 0, u64::MAX);
        seen.push(burn);
    }
    // Q32 flooring: 511 and 255, not 512 and 256.
    assert_eq!(seen[1], 511);
    assert_eq!(seen[3], 255);
    // Multiplier 1 leaves the burn unchanged.
    assert_eq!(
        burn_after_registration(burn, U64F64::from_num(1), 0, u64::MAX),
        255
    );
}

#[test]
fn vector_e_registration_doubles_then_decays() {
    let burn = burn_after_registration(1_000, U64F64::from_num(2), 0, u64::MAX);
    assert_eq!(burn, 2_000);
    assert_eq!(decay_burn(burn, 1_000, 0, u64::MAX), 1_998);
}

#[test]
fn vector_e_clamps() {
    let (min, max) = (100_000, 150_000);
    let burn = decay_burn(1, 1, min, max);
    assert_eq!(burn, 100_000);
    let burn = burn_after_registration(burn, U64F64::from_num(2), min, max);
    assert_eq!(burn, 150_000);
    assert_eq!(decay_burn(burn, 1, min, max), 100_000);
}

// ---- §8.6 Vector F: coinbase ---------------------------------------------------------------

#[test]
fn vector_f_tao_issuance_different_prices() {
    let emission = 100_000_000;
    let shares = split_tao_by_price(emission, &[I96F32::from_num(0.1), I96F32::from_num(0.2)]);
    assert_near(shares[0], emission / 3, 10, "subnet 1");
    assert_near(shares[1], 2 * emission / 3, 10, "subnet 2");
    // Whatever is not injected is spent buying alpha, so each pool's TAO grows by its share.
    let pools = [(100_000u64, 1_000_000u64), (100_000, 500_000)];
    for (share, (tao, alpha)) in shares.iter().zip(pools) {
        let spot = I96F32::from_num(tao) / I96F32::from_num(alpha);
        let inj = injection(*share, spot, block_emission_rao(alpha), I96F32::from_num(0));
        assert_eq!(inj.tao_in_rao + inj.excess_tao_rao, *share);
    }
}

#[test]
fn vector_f_tao_issuance_multiple() {
    let price = I96F32::from_num(1);
    let shares = split_tao_by_price(3_333_333, &[price, price, price]);
    for share in shares {
        assert_near(share, 1_111_111, 1, "equal subnet");
    }
}

#[test]
fn vector_f_owner_cut_base() {
    // Reserves 1e12 / 1e12: alpha issuance far below the first halving → 1 alpha per block.
    let alpha_emission = block_emission_rao(1_000_000_000_000);
    assert_eq!(alpha_emission, TAO);
    let root_prop = I96F32::from_num(0);
    assert_eq!(split_alpha_out(alpha_emission, 0, root_prop).owner_cut, 0);
    assert_eq!(
        split_alpha_out(alpha_emission, u16::MAX, root_prop).owner_cut,
        TAO
    );
}

#[test]
fn vector_f_dividend_distribution_totals() {
    let validator_pool = 183_123_567_452;
    let root_pool = 837_120_949_872;
    let hotkeys = [
        HotkeyDividend {
            alpha_stake: 4_859_302,
            root_stake_rao: 2_342_352,
            dividend: I96F32::from_num(77_783_738u64),
        },
        HotkeyDividend {
            alpha_stake: 23_423,
            root_stake_rao: 859_273,
            dividend: I96F32::from_num(19_283_940u64),
        },
    ];
    let out =
        split_dividends_by_stake_mix(validator_pool, root_pool, I96F32::from_num(0.18), &hotkeys);
    let alpha_total: u64 = out.iter().map(|d| d.alpha).sum();
    let root_total: u64 = out.iter().map(|d| d.root).sum();
    assert_near(alpha_total, validator_pool, 1_000, "alpha dividends");
    assert_near(root_total, root_pool, 1_000, "root dividends");
}

#[test]
fn vector_f_halving() {
    let cases = [
        (0, TAO),
        (10_500_000 * TAO - 1, TAO),
        (10_500_000 * TAO, TAO / 2),
        (15_750_000 * TAO - 1, TAO / 2),
        (15_750_000 * TAO, TAO / 4),
        (18_375_000 * TAO - 1, TAO / 4),
    ];
    for (issuance, expected) in cases {
        assert_eq!(
            block_emission_rao(issuance),
            expected,
            "issuance {issuance}"
        );
    }
}
