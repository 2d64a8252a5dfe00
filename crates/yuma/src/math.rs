//! Fixed-point vector helpers shared by the sparse and dense epochs.
//!
//! Every function is total: sums saturate, `x / 0 = 0`, and normalising an all-zero vector
//! leaves it unchanged, exactly as the live chain's `epoch/math.rs` behaves.

use tao_primitives::{I32F32, I64F64, SafeDiv};

/// Fixed-point zero.
pub(crate) const ZERO: I32F32 = I32F32::from_bits(0);
/// Fixed-point one.
pub(crate) const ONE: I32F32 = I32F32::from_bits(1 << 32);

/// Saturating sum of a vector.
pub(crate) fn sum(values: &[I32F32]) -> I32F32 {
    values.iter().fold(ZERO, |acc, v| acc.saturating_add(*v))
}

/// `a · b`, bit-identical to `a.saturating_mul(b)`.
///
/// `substrate-fixed` multiplies through a 128-bit overflow-checked product (a library call per
/// product); the exact product of two 64-bit values always fits in 128 bits, so one widening
/// multiply, a floor shift and a clamp give the same bits several times faster.
#[inline]
pub(crate) fn mul(a: I32F32, b: I32F32) -> I32F32 {
    let product = i128::from(a.to_bits()).wrapping_mul(i128::from(b.to_bits())) >> 32;
    I32F32::from_bits(i64::try_from(product).unwrap_or(if product < 0 {
        i64::MIN
    } else {
        i64::MAX
    }))
}

/// Whether the vector sums to zero (for the non-negative vectors of an epoch: all zero).
pub(crate) fn is_zero(values: &[I32F32]) -> bool {
    sum(values) == ZERO
}

/// Divides every element by `divisor` (no-op when `divisor == 0`).
pub(crate) fn normalize_using_sum(values: &mut [I32F32], divisor: I32F32) {
    if divisor == ZERO {
        return;
    }
    let div = FastDiv::new(divisor);
    values.iter_mut().for_each(|v| *v = div.apply(*v));
}

/// Scales the vector to sum to 1 (no-op when it sums to 0).
pub(crate) fn normalize(values: &mut [I32F32]) {
    let total = sum(values);
    normalize_using_sum(values, total);
}

/// Scales a 64-bit vector to sum to 1 (no-op when it sums to 0).
pub(crate) fn normalize_64(values: &mut [I64F64]) {
    let total = values
        .iter()
        .fold(I64F64::from_bits(0), |acc, v| acc.saturating_add(*v));
    if total == I64F64::from_bits(0) {
        return;
    }
    values.iter_mut().for_each(|v| *v = v.safe_div(total));
}

/// Sets `values[i] = 0` wherever `mask[i]` is true.
pub(crate) fn mask_vector(mask: &[bool], values: &mut [I32F32]) {
    values
        .iter_mut()
        .zip(mask)
        .filter(|(_, masked)| **masked)
        .for_each(|(v, _)| *v = ZERO);
}

/// Marks the `k` largest non-zero values; ties keep the lower index (stable ascending sort drops
/// the first `n - k` indices), as the live chain's `is_topk_nonzero`.
pub(crate) fn is_topk_nonzero(values: &[I32F32], k: usize) -> Vec<bool> {
    let mut result: Vec<bool> = values.iter().map(|v| *v != ZERO).collect();
    let n = values.len();
    if n < k {
        return result;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| values.get(i).copied().unwrap_or(ZERO));
    for &i in order.iter().take(n.saturating_sub(k)) {
        if let Some(cell) = result.get_mut(i) {
            *cell = false;
        }
    }
    result
}

/// Exact `floor(a / d)` for fixed-point values, with the live chain's `safe_div` semantics,
/// specialised for dividing many values by one divisor.
///
/// Normalisation divides millions of entries by a few thousand row or column sums; a 128-bit
/// hardware division per entry dominated the epoch. For `0 ≤ a ≤ d` this multiplies by a
/// precomputed reciprocal `⌊2^96 / d⌋` and corrects the estimate with one remainder check, which
/// gives the same bits as the division; any other operand falls back to the division itself.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FastDiv {
    divisor: I32F32,
    /// `d` as an unsigned integer, when the fast path applies (`d > 0`).
    d: u64,
    /// `⌊2^96 / d⌋ = hi · 2^64 + lo` (`hi < 2^33`); zero when the fast path does not apply.
    reciprocal_hi: u64,
    reciprocal_lo: u64,
}

impl FastDiv {
    /// Prepares division by `divisor`.
    pub(crate) fn new(divisor: I32F32) -> Self {
        let d = u64::try_from(divisor.to_bits()).unwrap_or(0);
        let reciprocal = (1u128 << 96).checked_div(u128::from(d)).unwrap_or(0);
        Self {
            divisor,
            d,
            reciprocal_hi: u64::try_from(reciprocal >> 64).unwrap_or(0),
            reciprocal_lo: reciprocal as u64,
        }
    }

    /// `a / divisor`, or `a` unchanged when the divisor is 0 (how column normalisation skips
    /// empty columns).
    #[inline]
    pub(crate) fn apply_unless_zero(&self, a: I32F32) -> I32F32 {
        if self.divisor == ZERO {
            a
        } else {
            self.apply(a)
        }
    }

    /// `a / divisor`, bit-identical to `a.safe_div(divisor)`.
    #[inline]
    pub(crate) fn apply(&self, a: I32F32) -> I32F32 {
        let Ok(a_bits) = u64::try_from(a.to_bits()) else {
            return a.safe_div(self.divisor);
        };
        if self.d == 0 || a_bits > self.d {
            return a.safe_div(self.divisor);
        }
        // 0 ≤ a ≤ d < 2^63: the estimate a·r / 2^64 is q or q − 1, and fits in 34 bits.
        let low = (u128::from(a_bits).wrapping_mul(u128::from(self.reciprocal_lo))) >> 64;
        let high = u128::from(a_bits).wrapping_mul(u128::from(self.reciprocal_hi));
        let mut quotient = low.wrapping_add(high);
        let remainder =
            (u128::from(a_bits) << 32).wrapping_sub(quotient.wrapping_mul(u128::from(self.d)));
        quotient = quotient.wrapping_add(u128::from(remainder >= u128::from(self.d)));
        // quotient ≤ 2^32 because a ≤ d, so it always fits an i64.
        I32F32::from_bits(i64::try_from(quotient).unwrap_or(0))
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fast_div_matches_safe_div(a in any::<i64>(), d in any::<i64>()) {
            let (a, d) = (I32F32::from_bits(a), I32F32::from_bits(d));
            prop_assert_eq!(FastDiv::new(d).apply(a), a.safe_div(d));
        }

        #[test]
        fn fast_div_matches_safe_div_in_normalisation_range(d in 1i64..=i64::MAX, frac in 0u64..=u64::MAX) {
            // a uniformly spread over [0, d], the range normalisation uses.
            let a = i64::try_from((u128::from(frac) * u128::from(d.unsigned_abs())) >> 64).unwrap();
            let (a, d) = (I32F32::from_bits(a), I32F32::from_bits(d));
            prop_assert_eq!(FastDiv::new(d).apply(a), a.safe_div(d));
        }
    }

    proptest! {
        #[test]
        fn mul_matches_saturating_mul(a in any::<i64>(), b in any::<i64>()) {
            let (a, b) = (I32F32::from_bits(a), I32F32::from_bits(b));
            prop_assert_eq!(mul(a, b), a.saturating_mul(b));
        }
    }

    #[test]
    fn mul_edges() {
        for a in [i64::MIN, i64::MIN + 1, -1, 0, 1, 1 << 32, i64::MAX] {
            for b in [i64::MIN, -1, 0, 1, 1 << 31, 1 << 32, 1 << 33, i64::MAX] {
                let (a, b) = (I32F32::from_bits(a), I32F32::from_bits(b));
                assert_eq!(mul(a, b), a.saturating_mul(b), "{a:?} * {b:?}");
            }
        }
    }

    #[test]
    fn fast_div_edges() {
        for (a, d) in [
            (0, 1),
            (1, 1),
            (i64::MAX, i64::MAX),
            (i64::MAX - 1, i64::MAX),
            (1, 3),
            (5, 0),
        ] {
            let (a, d) = (I32F32::from_bits(a), I32F32::from_bits(d));
            assert_eq!(FastDiv::new(d).apply(a), a.safe_div(d));
        }
    }

    #[test]
    fn topk_keeps_largest_nonzero_and_lower_index_on_ties() {
        let v: Vec<I32F32> = [0.0, 0.3, 0.3, 0.4, 0.0]
            .iter()
            .map(|x| I32F32::from_num(*x))
            .collect();
        assert_eq!(
            is_topk_nonzero(&v, 2),
            vec![false, false, true, true, false]
        );
        assert_eq!(
            is_topk_nonzero(&v, 10),
            vec![false, true, true, true, false]
        );
        assert_eq!(is_topk_nonzero(&v, 0), vec![false; 5]);
    }

    #[test]
    fn normalize_all_zero_is_noop() {
        let mut v = vec![ZERO; 3];
        normalize(&mut v);
        assert_eq!(v, vec![ZERO; 3]);
    }
}
