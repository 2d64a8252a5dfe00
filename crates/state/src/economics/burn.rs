//! Neuron registration burn price (`subtensor.md` §5.2, the live rule since 2026-01).
//!
//! Every block the burn decays by `f = 2^(−1/half_life)`; each registration multiplies it by
//! `BurnIncreaseMult` (1.26 on the live chain); both results are clamped to `[min, max]`.
//! The decay factor is a Q32 fixed-point number (`2^32` = 1.0) found by binary search, so that
//! it is bit-identical to the live chain: the largest `f` whose Q32 power `f^half_life`,
//! computed by square-and-multiply with flooring, is at most one half.

use substrate_fixed::types::U64F64;

/// 1.0 in Q32.
pub const ONE_Q32: u64 = 1 << 32;

/// 0.5 in Q32.
pub const HALF_Q32: u64 = 1 << 31;

/// `floor(value · factor_q32 / 2^32)`, saturated into `u64`.
///
/// ```
/// use tao_state::economics::burn::{mul_by_q32, HALF_Q32};
/// assert_eq!(mul_by_q32(1001, HALF_Q32), 500);
/// ```
pub fn mul_by_q32(value: u64, factor_q32: u64) -> u64 {
    // A u64 × u64 product always fits in u128.
    let product = u128::from(value).saturating_mul(u128::from(factor_q32));
    u64::try_from(product >> 32).unwrap_or(u64::MAX)
}

/// `base_q32^exp` in Q32 by square-and-multiply, flooring after every product as the live
/// chain does (so the result can be slightly below the exact power).
pub fn pow_q32(base_q32: u64, exp: u64) -> u64 {
    let mut result = ONE_Q32;
    let mut factor = base_q32;
    let mut power = exp;
    while power > 0 {
        if power & 1 == 1 {
            result = mul_by_q32(result, factor);
        }
        power >>= 1;
        if power > 0 {
            factor = mul_by_q32(factor, factor);
        }
    }
    result
}

/// The per-block decay factor in Q32: the largest `f` with `pow_q32(f, half_life) ≤ 0.5`.
///
/// A half-life of zero means "no decay" (factor 1.0). About 32 search steps of
/// `O(log half_life)` multiplications each; callers that run it every block for many subnets
/// may cache it per half-life.
///
/// ```
/// use tao_state::economics::burn::{decay_factor_q32, ONE_Q32, HALF_Q32};
/// assert_eq!(decay_factor_q32(0), ONE_Q32);
/// assert_eq!(decay_factor_q32(1), HALF_Q32);
/// ```
pub fn decay_factor_q32(half_life_blocks: u16) -> u64 {
    if half_life_blocks == 0 {
        return ONE_Q32;
    }
    let exp = u64::from(half_life_blocks);
    // Invariant: pow(lo) ≤ 0.5 < pow(hi) (pow(1.0) = 1.0 > 0.5).
    let mut lo = 0u64;
    let mut hi = ONE_Q32;
    while lo.saturating_add(1) < hi {
        let mid = lo.saturating_add(hi.saturating_sub(lo) >> 1);
        if pow_q32(mid, exp) > HALF_Q32 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    lo
}

/// Clamp a burn to `[min_burn_rao, max_burn_rao]`, checking the minimum first as the live
/// chain does (so a misconfigured `min > max` yields `max`).
pub fn clamp_burn(burn_rao: u64, min_burn_rao: u64, max_burn_rao: u64) -> u64 {
    burn_rao.max(min_burn_rao).min(max_burn_rao)
}

/// The burn after one block of decay, clamped.
///
/// The live chain skips the decay on blocks 0 and 1 (genesis); that check is the caller's, as
/// it depends on the block height. The clamp applies on every block either way.
///
/// ```
/// use tao_state::economics::burn::decay_burn;
/// // Half-life 2: 1024 → 724 → 511 (Q32 flooring, not 512).
/// let b1 = decay_burn(1024, 2, 0, u64::MAX);
/// assert_eq!(decay_burn(b1, 2, 0, u64::MAX), 511);
/// ```
pub fn decay_burn(
    burn_rao: u64,
    half_life_blocks: u16,
    min_burn_rao: u64,
    max_burn_rao: u64,
) -> u64 {
    let decayed = mul_by_q32(burn_rao, decay_factor_q32(half_life_blocks));
    clamp_burn(decayed, min_burn_rao, max_burn_rao)
}

/// The burn after a registration: `floor(burn · max(mult, 1))`, clamped.
///
/// `increase_mult` is the live storage type of `BurnIncreaseMult` (`U64F64`, default 1.26);
/// multipliers below 1 are raised to 1, so a registration never lowers the price.
///
/// ```
/// use substrate_fixed::types::U64F64;
/// use tao_state::economics::burn::burn_after_registration;
/// assert_eq!(burn_after_registration(1000, U64F64::from_num(2), 0, u64::MAX), 2000);
/// ```
pub fn burn_after_registration(
    burn_rao: u64,
    increase_mult: U64F64,
    min_burn_rao: u64,
    max_burn_rao: u64,
) -> u64 {
    let mult = increase_mult.max(U64F64::from_num(1));
    let raised = U64F64::from_num(burn_rao)
        .saturating_mul(mult)
        .saturating_to_num::<u64>();
    clamp_burn(raised, min_burn_rao, max_burn_rao)
}

/// The live default `BurnIncreaseMult` (1.26), as `U64F64::from_num(1.26)` stores it.
pub fn default_burn_increase_mult() -> U64F64 {
    U64F64::from_bits(DEFAULT_BURN_INCREASE_MULT_BITS)
}

/// Bits of `U64F64::from_num(1.26)`: the f64 nearest 1.26 (exact in 2^−52 steps) times
/// 2^64, which `from_num` converts exactly. Kept as bits to stay float-free.
const DEFAULT_BURN_INCREASE_MULT_BITS: u128 = 23_242_897_532_874_035_200;

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::float_arithmetic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn default_mult_matches_from_num() {
        assert_eq!(default_burn_increase_mult(), U64F64::from_num(1.26));
    }

    #[test]
    fn decay_factor_is_the_largest_with_power_at_most_half() {
        for half_life in [1u16, 2, 3, 7, 360, 1000, 36_100, u16::MAX] {
            let f = decay_factor_q32(half_life);
            let exp = u64::from(half_life);
            assert!(pow_q32(f, exp) <= HALF_Q32, "half_life {half_life}");
            assert!(pow_q32(f + 1, exp) > HALF_Q32, "half_life {half_life}");
        }
    }

    #[test]
    fn clamp_checks_min_first() {
        assert_eq!(clamp_burn(5, 10, 20), 10);
        assert_eq!(clamp_burn(25, 10, 20), 20);
        assert_eq!(clamp_burn(5, 30, 20), 20);
    }

    #[test]
    fn multiplier_below_one_is_raised_to_one() {
        assert_eq!(
            burn_after_registration(1000, U64F64::from_num(0.5), 0, u64::MAX),
            1000
        );
        assert_eq!(
            burn_after_registration(u64::MAX, U64F64::from_num(2), 0, u64::MAX),
            u64::MAX
        );
    }

    proptest! {
        #[test]
        fn decay_never_raises_the_unclamped_burn(burn in any::<u64>(), hl in any::<u16>()) {
            prop_assert!(decay_burn(burn, hl, 0, u64::MAX) <= burn);
        }

        #[test]
        fn registration_never_lowers_the_unclamped_burn(burn in any::<u64>(), bits in any::<u128>()) {
            prop_assert!(burn_after_registration(burn, U64F64::from_bits(bits), 0, u64::MAX) >= burn);
        }
    }
}
