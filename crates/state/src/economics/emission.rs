//! Block emission: 1 TAO per block, halving by *issuance* (`subtensor.md` §3.2).
//!
//! The live chain computes `k = floor(log2(1 / (1 − issuance / 21e15)))` in I96F32 and pays
//! `1e9 / 2^k` rao. We compute the same `k` exactly in integers: `k` is the largest integer with
//! `2^k · (cap − issuance) ≤ cap`, i.e. `floor(log2(floor(cap / remaining)))` (flooring the
//! quotient first does not change the floor of its logarithm, because `2^k` is an integer).
//! Halvings therefore happen exactly at `cap · (1 − 2^−k)` — 10.5 M, 15.75 M, 18.375 M TAO —
//! where the fixed-point log can be a few million rao early or late.
//!
//! The same schedule applies per subnet to alpha issuance (`SubnetAlphaIn + SubnetAlphaOut`).

/// The supply cap: 21 million TAO in rao.
pub const MAX_ISSUANCE_RAO: u64 = 21_000_000_000_000_000;

/// Emission per block before the first halving: 1 TAO in rao.
pub const INITIAL_BLOCK_EMISSION_RAO: u64 = 1_000_000_000;

/// Number of halvings that have happened at `issuance_rao`, or `None` once the cap is reached.
///
/// ```
/// use tao_state::economics::emission::halvings;
/// assert_eq!(halvings(0), Some(0));
/// assert_eq!(halvings(10_500_000_000_000_000), Some(1));
/// assert_eq!(halvings(21_000_000_000_000_000), None);
/// ```
pub fn halvings(issuance_rao: u64) -> Option<u32> {
    let remaining_rao = MAX_ISSUANCE_RAO.checked_sub(issuance_rao)?;
    // `remaining ≤ cap`, so the quotient is at least 1 and `ilog2` is defined.
    let ratio = MAX_ISSUANCE_RAO.checked_div(remaining_rao)?;
    ratio.checked_ilog2()
}

/// Rao minted in the next block when `issuance_rao` have been issued.
///
/// Zero at and above [`MAX_ISSUANCE_RAO`], and never more than what is left under the cap, so
/// `issuance + emission ≤ cap` always holds.
///
/// ```
/// use tao_state::economics::emission::block_emission_rao;
/// assert_eq!(block_emission_rao(0), 1_000_000_000);
/// assert_eq!(block_emission_rao(10_500_000_000_000_000), 500_000_000);
/// assert_eq!(block_emission_rao(21_000_000_000_000_000), 0);
/// ```
pub fn block_emission_rao(issuance_rao: u64) -> u64 {
    let Some(k) = halvings(issuance_rao) else {
        return 0;
    };
    let remaining_rao = MAX_ISSUANCE_RAO.saturating_sub(issuance_rao);
    INITIAL_BLOCK_EMISSION_RAO
        .checked_shr(k)
        .unwrap_or(0)
        .min(remaining_rao)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TAO: u64 = 1_000_000_000;

    #[test]
    fn halving_table_at_and_just_below_each_threshold() {
        // threshold_k = cap · (1 − 2^−k)
        let table = [
            (0, TAO),
            (10_500_000 * TAO - 1, TAO),
            (10_500_000 * TAO, TAO / 2),
            (15_750_000 * TAO - 1, TAO / 2),
            (15_750_000 * TAO, TAO / 4),
            (18_375_000 * TAO - 1, TAO / 4),
            (18_375_000 * TAO, TAO / 8),
            (MAX_ISSUANCE_RAO - 1, 0),
            (MAX_ISSUANCE_RAO, 0),
            (u64::MAX, 0),
        ];
        for (issuance, expected) in table {
            assert_eq!(
                block_emission_rao(issuance),
                expected,
                "issuance {issuance}"
            );
        }
    }

    #[test]
    fn emission_stops_once_the_per_block_amount_floors_to_zero() {
        // 1e9 >> 30 = 0: about 19.6 M rao short of the cap the chain stops minting.
        let remaining = MAX_ISSUANCE_RAO >> 30;
        assert_eq!(block_emission_rao(MAX_ISSUANCE_RAO - remaining), 0);
    }

    #[test]
    fn cumulative_emission_never_crosses_the_cap() {
        // Jump to each block where the rate changes and mint the whole run at once.
        let mut issuance = 0u64;
        let mut steps = 0;
        loop {
            let per_block = block_emission_rao(issuance);
            if per_block == 0 {
                break;
            }
            let k = halvings(issuance).unwrap();
            // Next threshold cap·(1 − 2^−(k+1)), computed in u128.
            let cap = u128::from(MAX_ISSUANCE_RAO);
            let next = cap - (cap >> (k + 1));
            let gap = u64::try_from(next).unwrap() - issuance;
            let blocks = gap.div_ceil(per_block);
            // Mint block by block only near the threshold, in bulk before it.
            let bulk = blocks.saturating_sub(1);
            issuance += bulk * per_block;
            issuance += block_emission_rao(issuance);
            assert!(issuance <= MAX_ISSUANCE_RAO);
            steps += 1;
            assert!(steps < 200);
        }
        assert!(issuance <= MAX_ISSUANCE_RAO);
        assert!(MAX_ISSUANCE_RAO - issuance < TAO / 10);
    }

    proptest! {
        #[test]
        fn emission_is_monotone_non_increasing(a in any::<u64>(), b in any::<u64>()) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(block_emission_rao(lo) >= block_emission_rao(hi));
        }

        #[test]
        fn emission_never_mints_past_the_cap(issuance in any::<u64>()) {
            let e = block_emission_rao(issuance);
            prop_assert!(u128::from(issuance) + u128::from(e) <= u128::from(MAX_ISSUANCE_RAO)
                || e == 0);
        }
    }
}
