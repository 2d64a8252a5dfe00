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
        let exponent = self
            .slope
            .saturating_mul(distance.saturating_sub(I32F32::from_bits(1 << 31)));
        // The live chain treats an exp that overflows as 0 (sigmoid → 1).
        let e: I32F32 = exp(exponent).unwrap_or(ZERO);
        let sigmoid = ONE.saturating_div(ONE.saturating_add(e));
        let alpha = self
            .low
            .saturating_add(sigmoid.saturating_mul(self.high.saturating_sub(self.low)));
        alpha.min(self.high).max(self.low)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
