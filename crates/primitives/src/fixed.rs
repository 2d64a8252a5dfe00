//! Fixed-point types and total conversions.

pub use substrate_fixed::types::{I32F32, I64F64, I96F32};

/// Division that yields zero instead of failing, as the live chain's `safe_div` does.
///
/// Both a zero divisor and a quotient that does not fit give `0`; callers rely on this to keep
/// normalisation of all-zero vectors a no-op.
pub trait SafeDiv: Sized {
    /// `self / rhs`, or `0` when `rhs == 0` or the quotient overflows.
    fn safe_div(self, rhs: Self) -> Self;
}

impl SafeDiv for I32F32 {
    #[inline]
    fn safe_div(self, rhs: Self) -> Self {
        self.checked_div(rhs).unwrap_or(Self::from_bits(0))
    }
}

impl SafeDiv for I64F64 {
    #[inline]
    fn safe_div(self, rhs: Self) -> Self {
        self.checked_div(rhs).unwrap_or(Self::from_bits(0))
    }
}

/// `floor(x · 65535)`, saturated into `u16`: how proportions in `[0, 1]` are stored on chain.
///
/// ```
/// use tao_primitives::{I32F32, fixed_proportion_to_u16};
/// assert_eq!(fixed_proportion_to_u16(I32F32::from_num(0.5)), 32767);
/// assert_eq!(fixed_proportion_to_u16(I32F32::from_num(3)), u16::MAX);
/// ```
#[inline]
pub fn fixed_proportion_to_u16(x: I32F32) -> u16 {
    x.saturating_mul(I32F32::from_num(u16::MAX))
        .saturating_to_num::<u16>()
}

/// `x / 65535` as fixed point: the inverse of [`fixed_proportion_to_u16`] up to flooring.
///
/// Bit-identical to `I32F32::from_num(x).safe_div(I32F32::from_num(65535))` (the live chain's
/// conversion) without a 128-bit division: `x · 2^32 = x · (65535 · 65537 + 1)`, so the floored
/// quotient is `x · 65537`, plus one when `x = 65535`.
#[inline]
pub fn u16_proportion_to_fixed(x: u16) -> I32F32 {
    let x = u64::from(x);
    let bits = x.wrapping_mul(65_537).wrapping_add(u64::from(x == 65_535));
    I32F32::from_bits(i64::try_from(bits).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_div_is_zero_on_zero_divisor_and_overflow() {
        let one = I32F32::from_num(1);
        assert_eq!(one.safe_div(I32F32::from_num(0)), I32F32::from_num(0));
        assert_eq!(
            I32F32::from_num(1_000_000).safe_div(I32F32::from_bits(1)),
            I32F32::from_num(0)
        );
        assert_eq!(one.safe_div(I32F32::from_num(4)), I32F32::from_num(0.25));
        assert_eq!(
            I64F64::from_num(3).safe_div(I64F64::from_num(0)),
            I64F64::from_num(0)
        );
    }

    #[test]
    fn u16_proportion_matches_the_live_division_for_every_value() {
        for x in 0..=u16::MAX {
            let live = I32F32::from_num(x).safe_div(I32F32::from_num(u16::MAX));
            assert_eq!(u16_proportion_to_fixed(x), live, "x = {x}");
        }
    }

    #[test]
    fn proportions_floor_and_saturate() {
        assert_eq!(fixed_proportion_to_u16(I32F32::from_num(1)), u16::MAX);
        assert_eq!(fixed_proportion_to_u16(I32F32::from_num(2)), u16::MAX);
        assert_eq!(fixed_proportion_to_u16(I32F32::from_num(-1)), 0);
        // 0.25 · 65535 = 16383.75 → 16383 (floor, as the live chain stores bonds).
        assert_eq!(fixed_proportion_to_u16(I32F32::from_num(0.25)), 16383);
        assert_eq!(u16_proportion_to_fixed(u16::MAX), I32F32::from_num(1));
        assert_eq!(u16_proportion_to_fixed(0), I32F32::from_num(0));
    }
}
