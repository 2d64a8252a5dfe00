//! Exact `a · b / c` for `u128` with a 256-bit intermediate: share pools hold up to 2¹²⁸
//! shares, so the product of shares and alpha needs more than 128 bits.

const LOW_64: u128 = (1u128 << 64).wrapping_sub(1);

/// The full 256-bit product `a · b` as `(high, low)` halves.
pub fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    let (a1, a0) = (a.wrapping_shr(64), a & LOW_64);
    let (b1, b0) = (b.wrapping_shr(64), b & LOW_64);
    // Each partial product of two 64-bit halves fits in 128 bits.
    let p00 = a0.wrapping_mul(b0);
    let p01 = a0.wrapping_mul(b1);
    let p10 = a1.wrapping_mul(b0);
    let p11 = a1.wrapping_mul(b1);
    // At most 3 · (2⁶⁴ − 1): no overflow.
    let mid = p00
        .wrapping_shr(64)
        .wrapping_add(p01 & LOW_64)
        .wrapping_add(p10 & LOW_64);
    let low = (p00 & LOW_64) | mid.wrapping_shl(64);
    // The product is below 2²⁵⁶, so the high half cannot overflow.
    let high = p11
        .wrapping_add(p01.wrapping_shr(64))
        .wrapping_add(p10.wrapping_shr(64))
        .wrapping_add(mid.wrapping_shr(64));
    (high, low)
}

/// `floor(a · b / c)` with a 256-bit intermediate: exact for all inputs, `None` when `c` is 0
/// or the quotient does not fit in 128 bits.
pub fn mul_div_floor(a: u128, b: u128, c: u128) -> Option<u128> {
    if c == 0 {
        return None;
    }
    let (high, low) = mul_wide(a, b);
    if high == 0 {
        return low.checked_div(c);
    }
    if high >= c {
        return None;
    }
    // Long division of (high, low) by c, one bit of `low` at a time; `remainder < c` holds
    // throughout, so `2 · remainder + 1 < 2c` and one subtraction reduces it.
    let mut remainder = high;
    let mut quotient = 0u128;
    for bit in (0..128u32).rev() {
        let carry = remainder.wrapping_shr(127) == 1;
        remainder = remainder.wrapping_shl(1) | (low.wrapping_shr(bit) & 1);
        quotient = quotient.wrapping_shl(1);
        if carry || remainder >= c {
            remainder = remainder.wrapping_sub(c);
            quotient |= 1;
        }
    }
    Some(quotient)
}

/// `ceil(a · b / c)`; `None` when `c` is 0 or the quotient does not fit.
pub fn mul_div_ceil(a: u128, b: u128, c: u128) -> Option<u128> {
    let floor = mul_div_floor(a, b, c)?;
    if mul_wide(floor, c) == mul_wide(a, b) {
        Some(floor)
    } else {
        floor.checked_add(1)
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn mul_div_floor_is_exact(a in proptest::prelude::any::<u128>(), b in proptest::prelude::any::<u128>(), c in 1..=u128::MAX) {
            if let Some(q) = mul_div_floor(a, b, c) {
                // q·c ≤ a·b < (q + 1)·c, compared as 256-bit numbers.
                let ab = mul_wide(a, b);
                let qc = mul_wide(q, c);
                proptest::prop_assert!(qc <= ab);
                let (high, low) = qc;
                let (low, carry) = low.overflowing_add(c);
                let next = (high.wrapping_add(u128::from(carry)), low);
                proptest::prop_assert!(next > ab || next.0 < high);
            } else {
                // Only when the quotient needs more than 128 bits.
                proptest::prop_assert!(mul_wide(a, b).0 >= c);
            }
            // (a · b) / a = b exercises the long division whenever a · b ≥ 2^128.
            if a > 0 {
                proptest::prop_assert_eq!(mul_div_floor(a, b, a), Some(b));
                proptest::prop_assert_eq!(mul_div_floor(b, a, a), Some(b));
            }
        }

        #[test]
        fn mul_div_floor_matches_u128_when_it_fits(a in 0..u128::from(u64::MAX), b in 0..u128::from(u64::MAX), c in 1..=u128::MAX) {
            proptest::prop_assert_eq!(mul_div_floor(a, b, c), a.checked_mul(b).and_then(|p| p.checked_div(c)));
        }
    }

    #[test]
    fn ceil_rounds_up_only_when_inexact() {
        assert_eq!(mul_div_ceil(10, 3, 5), Some(6));
        assert_eq!(mul_div_ceil(10, 3, 4), Some(8));
        assert_eq!(
            mul_div_ceil(u128::MAX, u128::MAX, u128::MAX),
            Some(u128::MAX)
        );
        assert_eq!(mul_div_ceil(1, 1, 0), None);
    }
}
