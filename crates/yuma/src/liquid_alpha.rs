//! Liquid alpha: a per-bond EMA coefficient that moves faster when a validator's weight leads
//! consensus (`reference/subtensor.md` §2.4, step 11).

use crate::input::EpochParams;
use crate::math::{ONE, ZERO};
use substrate_fixed::transcendental::exp;
use tao_primitives::{I32F32, u16_proportion_to_fixed};

/// The sigmoid's fixed inputs, prepared once per epoch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LiquidAlpha {
    low: I32F32,
    high: I32F32,
    /// `−steepness / 100`.
    slope: I32F32,
}

impl LiquidAlpha {
    /// Reads the bounds and steepness from the subnet's parameters.
    pub(crate) fn new(params: &EpochParams) -> Self {
        Self {
            low: u16_proportion_to_fixed(params.alpha_low),
            high: u16_proportion_to_fixed(params.alpha_high),
            slope: I32F32::from_num(params.alpha_sigmoid_steepness)
                .saturating_div(I32F32::from_num(-100)),
        }
    }

    /// EMA coefficient for one bond given the validator's weight, its bond and the miner's
    /// consensus: `low + sigmoid(d) · (high − low)`, clamped to `[low, high]`, where `d` is how
    /// far the weight is above consensus (buying) or below the bond (selling).
    pub(crate) fn alpha(&self, weight: I32F32, bond: I32F32, consensus: I32F32) -> I32F32 {
        let buy = weight.saturating_sub(consensus).clamp(ZERO, ONE);
        let sell = bond.saturating_sub(weight).clamp(ZERO, ONE);
        let distance = if weight >= bond { buy } else { sell };
        self.at_distance(distance)
    }

    /// `(alpha_low, alpha_high)`: every coefficient lies between them.
    pub(crate) fn bounds(&self) -> (I32F32, I32F32) {
        (self.low, self.high)
    }

    /// The EMA coefficient for a weight `distance` ahead of consensus or behind the bond.
    pub(crate) fn at_distance(&self, distance: I32F32) -> I32F32 {
        let exponent = self
            .slope
            .saturating_mul(distance.saturating_sub(I32F32::from_bits(1 << 31)));
        // The live chain treats an exp that overflows as 0 (sigmoid → 1).
        let e = fast_exp(exponent).unwrap_or(ZERO);
        let sigmoid = ONE.saturating_div(ONE.saturating_add(e));
        let alpha = self
            .low
            .saturating_add(sigmoid.saturating_mul(self.high.saturating_sub(self.low)));
        alpha.min(self.high).max(self.low)
    }
}

/// `substrate_fixed::transcendental::exp` for `I32F32`, bit for bit, several times faster.
///
/// The live chain's series: `1 + x + Σ_{i=2}^{31} tᵢ` with `tᵢ = ⌊tᵢ₋₁ · x⌋ / i` (each step
/// floored, failing on overflow), inverted for negative `x`. The library does every step with
/// an overflow-checked 128-bit multiply and a 128-bit division; here the multiply is one
/// widening product and the division by the integer `i` a 64-bit one, which give the same
/// bits because `(t · 2^32) / (i · 2^32) = t / i` exactly. `None` where the library fails.
fn fast_exp(x: I32F32) -> Option<I32F32> {
    if x == ZERO || x == ONE {
        return exp(x).ok(); // 1, and e from the library's own constant
    }
    let negative = x < ZERO;
    let operand = if negative { x.checked_neg()? } else { x }.to_bits();
    let mut result = operand.checked_add(ONE.to_bits())?;
    let mut term = operand;
    // Unrolled so that each division is by a literal, which compiles to a multiply. Once a
    // term floors to 0 every later one is 0 too, so the series can stop there.
    macro_rules! terms {
        ($series:lifetime: $($i:literal)*) => {$(
            if term == 0 {
                break $series;
            }
            let product = i128::from(term).checked_mul(i128::from(operand))? >> 32;
            term = i64::try_from(product).ok()?.checked_div($i)?;
            result = result.checked_add(term)?;
        )*};
    }
    'series: {
        terms!('series: 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
    }
    let result = I32F32::from_bits(result);
    if negative {
        ONE.checked_div(result)
    } else {
        Some(result)
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn fast_exp_matches_the_library_in_the_sigmoid_range(bits in -(400i64 << 32)..(400i64 << 32)) {
            let x = I32F32::from_bits(bits);
            prop_assert_eq!(fast_exp(x), exp::<I32F32, I32F32>(x).ok());
        }

        #[test]
        fn fast_exp_matches_the_library_everywhere(bits in any::<i64>()) {
            let x = I32F32::from_bits(bits);
            prop_assert_eq!(fast_exp(x), exp::<I32F32, I32F32>(x).ok());
        }
    }

    #[test]
    fn fast_exp_edges() {
        for bits in [
            0,
            1,
            -1,
            1 << 32,
            -(1 << 32),
            1 << 31,
            -(1 << 31),
            21 << 32,
            22 << 32,
            -(22 << 32),
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ] {
            let x = I32F32::from_bits(bits);
            assert_eq!(fast_exp(x), exp::<I32F32, I32F32>(x).ok(), "exp({x})");
        }
    }

    #[test]
    fn alpha_stays_in_bounds_and_rises_with_lead() {
        let la = LiquidAlpha::new(&EpochParams {
            alpha_low: 6553,
            alpha_high: 19660,
            ..EpochParams::default()
        });
        let (low, high) = (
            u16_proportion_to_fixed(6553),
            u16_proportion_to_fixed(19660),
        );
        let c = I32F32::from_num(0.2);
        let small = la.alpha(I32F32::from_num(0.25), ZERO, c);
        let large = la.alpha(I32F32::from_num(1), ZERO, c);
        assert!(
            low <= small && small < large && large <= high,
            "{small} {large}"
        );
        // Midpoint: d = 0.5 ⇒ sigmoid = 1/2.
        let mid = la.alpha(I32F32::from_num(0.7), ZERO, c);
        let expected = low + (high - low) / 2;
        assert!(
            (mid - expected).abs() < I32F32::from_num(1e-6),
            "{mid} vs {expected}"
        );
    }

    #[test]
    fn extreme_steepness_saturates_without_panicking() {
        for steepness in [i16::MIN, -1, 0, 1, i16::MAX] {
            let la = LiquidAlpha::new(&EpochParams {
                alpha_sigmoid_steepness: steepness,
                ..EpochParams::default()
            });
            for (w, b, c) in [
                (0.0, 0.0, 0.0),
                (1.0, 0.0, 0.0),
                (0.0, 1.0, 1.0),
                (0.5, 0.5, 0.5),
            ] {
                let a = la.alpha(
                    I32F32::from_num(w),
                    I32F32::from_num(b),
                    I32F32::from_num(c),
                );
                assert!(
                    a >= u16_proportion_to_fixed(45_875) && a <= u16_proportion_to_fixed(58_982)
                );
            }
        }
    }
}
