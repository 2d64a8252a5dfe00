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
#[inline(always)]
pub(crate) fn mul(a: I32F32, b: I32F32) -> I32F32 {
    let product = i128::from(a.to_bits()).wrapping_mul(i128::from(b.to_bits())) >> 32;
    I32F32::from_bits(i64::try_from(product).unwrap_or(if product < 0 {
        i64::MIN
    } else {
        i64::MAX
    }))
}

/// Multiplication by a fixed proportion `k < 1`: `mul(k, x)` for every proportion `x`, as
/// one plain multiply and a shift (`k · x < 2^64`), with no case for `k = 1`. Kernels that
/// use it fall back to general code for the rare epoch with a factor of exactly 1.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FracScale {
    k: u64,
}

impl FracScale {
    /// Multiplication by 0.
    pub(crate) const ZERO: Self = Self { k: 0 };

    /// `None` unless `0 ≤ k < 1`.
    pub(crate) fn new(k: I32F32) -> Option<Self> {
        (0..ONE.to_bits()).contains(&k.to_bits()).then(|| Self {
            k: k.to_bits() as u64,
        })
    }

    /// `k` clamped into `[0, 1)`: for a factor already known to be a proportion below 1,
    /// where the clamp is the identity.
    #[inline(always)]
    pub(crate) fn clamped(k: I32F32) -> Self {
        Self {
            k: k.to_bits().clamp(0, ONE.to_bits().wrapping_sub(1)) as u64,
        }
    }

    /// `k · x` for a proportion `x` (meaningless outside that range, never used there).
    #[inline(always)]
    pub(crate) fn apply(self, x: i64) -> i64 {
        (self.k.wrapping_mul(x as u64) >> 32) as i64
    }
}

/// `acc.saturating_add(x)` for `x ≥ 0`, the only direction such a sum can overflow in: one
/// add and a conditional move instead of the general sign test.
#[inline(always)]
pub(crate) fn add_nonneg(acc: i64, x: i64) -> i64 {
    acc.checked_add(x).unwrap_or(i64::MAX)
}

/// `acc.saturating_add(x)` in a sum of proportions: a plain add. Such a sum never saturates:
/// an epoch accumulates at most [`crate::MAX_NEURONS`] `< 2^16` terms per row or column,
/// each at most `2^32`, so every partial sum stays below `2^48`. Only for sums of checked
/// proportions (the unit kernels), never for general operands.
#[inline(always)]
pub(crate) fn add_unit(acc: i64, x: i64) -> i64 {
    acc.wrapping_add(x)
}

/// Whether `x` is a proportion, `0 ≤ x ≤ 1`.
#[inline(always)]
pub(crate) fn is_unit(x: I32F32) -> bool {
    (0..=ONE.to_bits()).contains(&x.to_bits())
}

/// `floor(x · 65535)` clamped to `u16`: the stored form of a proportion, bit-identical to
/// `tao_primitives::fixed_proportion_to_u16` (whose `substrate-fixed` multiply is a 128-bit
/// overflow-checked library call). The exact product fits an `i128`, and clamping it gives
/// what saturating first and converting after does.
#[inline(always)]
pub(crate) fn to_u16_proportion(x: I32F32) -> u16 {
    let bits = x.to_bits();
    if is_unit(x) {
        return to_u16_unit(bits);
    }
    let scaled = i128::from(bits).wrapping_mul(65_535) >> 32;
    u16::try_from(scaled.clamp(0, 65_535)).unwrap_or(u16::MAX)
}

/// [`to_u16_proportion`] of a proportion's raw bits `0 ≤ x ≤ 2^32`: one multiply (meaningless
/// outside that range; callers check it, or discard the result).
#[inline(always)]
pub(crate) fn to_u16_unit(x: i64) -> u16 {
    // x ≤ 2^32: the product is below 2^48 and the result at most 65 535.
    ((x as u64).wrapping_mul(65_535) >> 32) as u16
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
    /// `d + 1` when `d > 0`, else 0: `a < bound` is the fast path's whole test (`0 ≤ a ≤ d`,
    /// a negative `a` reading as a huge unsigned value).
    bound: u64,
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
            // d < 2^63, so d + 1 does not overflow.
            bound: if d == 0 { 0 } else { d.wrapping_add(1) },
            reciprocal_hi: u64::try_from(reciprocal >> 64).unwrap_or(0),
            reciprocal_lo: reciprocal as u64,
        }
    }

    /// `a / divisor`, or `a` unchanged when the divisor is 0 (how column normalisation skips
    /// empty columns).
    #[inline(always)]
    pub(crate) fn apply_unless_zero(&self, a: I32F32) -> I32F32 {
        match self.fast(a) {
            Some(q) => q,
            None if self.divisor == ZERO => a,
            None => a.safe_div(self.divisor),
        }
    }

    /// `a / divisor`, bit-identical to `a.safe_div(divisor)`.
    #[inline(always)]
    pub(crate) fn apply(&self, a: I32F32) -> I32F32 {
        self.fast(a).unwrap_or_else(|| a.safe_div(self.divisor))
    }

    /// The quotient when `0 ≤ a ≤ d` and `d > 0`, else `None`.
    #[inline(always)]
    fn fast(&self, a: I32F32) -> Option<I32F32> {
        let a_bits = a.to_bits() as u64;
        if a_bits >= self.bound {
            return None;
        }
        // 0 ≤ a ≤ d < 2^63: the estimate a·r / 2^64 is q or q − 1 ≤ 2^32, so it and the
        // high partial product fit a u64.
        let low = (u128::from(a_bits).wrapping_mul(u128::from(self.reciprocal_lo))) >> 64;
        let mut quotient = (low as u64).wrapping_add(a_bits.wrapping_mul(self.reciprocal_hi));
        // The true remainder a·2^32 − estimate·d lies in [0, 2d) ⊂ [0, 2^64), so computing it
        // modulo 2^64 is exact: one 64-bit multiply instead of a 128-bit one.
        let remainder = (a_bits << 32).wrapping_sub(quotient.wrapping_mul(self.d));
        quotient = quotient.wrapping_add(u64::from(remainder >= self.d));
        // quotient ≤ 2^32 because a ≤ d, so it always fits an i64.
        Some(I32F32::from_bits(quotient as i64))
    }
}

/// [`FastDiv::apply_unless_zero`] with one widening multiply for the usual operand: a
/// proportion `0 ≤ a ≤ 1` that is at most the divisor (a share of a column total).
///
/// For such an `a` the quotient is `⌊N / d⌋` with `N = a · 2^32 ≤ 2^64`. With `ℓ` the bit
/// length of `d` (`2^(ℓ−1) ≤ d < 2^ℓ`), `k = 64 + ℓ` and `m = ⌊2^k / d⌋ + 1`, the estimate
/// `N · m / 2^k = a · m / 2^(32+ℓ)` exceeds `N / d` by `N · (m·d − 2^k) / (d · 2^k)`, where
/// `0 < m·d − 2^k ≤ d`: by more than 0 and at most `N / 2^k ≤ 2^−ℓ < 1 / d`. The fraction of
/// `N / d` is at most `(d − 1) / d`, so the excess never reaches the next integer and the
/// floor is exact (Granlund–Montgomery).
///
/// The shift by `32 + ℓ` is split so that no 128-bit shift remains: for `ℓ ≤ 32` the magic is
/// stored as `M = m · 2^(32−ℓ)` and the quotient is the high word of `a · M`; for `ℓ > 32`
/// `M = m` and the high word is shifted right by `ℓ − 32 < 32`. Either way `M < 2^97`, so
/// `M = hi · 2^64 + lo` with `hi ≤ 2^32`, and the high word of `a · M` is the high word of
/// `a · lo` plus `a · hi` — one widening and one plain multiply, both exact: `a < 2^ℓ` gives
/// `a · hi < 2^33`, and the high word is at most `2^32` (ℓ ≤ 32) or `q · 2^(ℓ−32) < 2^64`.
/// Every other operand (negative, above 1 or above the divisor, a divisor ≤ 0) takes
/// [`FastDiv`]'s path, so the result is the same for every input.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ShareDiv {
    /// `min(d, 1) + 1` as raw bits for `d > 0`, else 0: `a < bound` is the fast path's test
    /// (a negative `a` reads as a huge unsigned value).
    bound: u64,
    /// `M = magic_hi · 2^64 + magic_lo`.
    magic_lo: u64,
    magic_hi: u64,
    /// `ℓ − 32` for `ℓ > 32`, else 0.
    shift: u32,
    divisor: I32F32,
}

impl ShareDiv {
    /// Prepares division by `divisor`.
    pub(crate) fn new(divisor: I32F32) -> Self {
        let d = u64::try_from(divisor.to_bits()).unwrap_or(0);
        let bits = u64::BITS.wrapping_sub(d.leading_zeros());
        let magic = (1u128 << 64u32.wrapping_add(bits).min(127))
            .checked_div(u128::from(d))
            .map_or(0, |m| m.wrapping_add(1));
        // ℓ ≤ 32: m < 2^65 + 2, so m · 2^(32−ℓ) < 2^97 fits; d = 2^32 (ℓ = 33) divides a
        // by 1, so M = 2^64; other ℓ > 32: m < 2^66. So every divisor of a share of a
        // proportion (d ≤ 1) needs no shift.
        let (magic, shift) = match 32u32.checked_sub(bits) {
            Some(up) => (magic << up, 0),
            None if d == ONE.to_bits() as u64 => (1u128 << 64, 0),
            None => (magic, bits.wrapping_sub(32)),
        };
        match (d, u64::try_from(magic >> 64)) {
            (1.., Ok(magic_hi)) => Self {
                bound: d.min(ONE.to_bits() as u64).wrapping_add(1),
                magic_lo: magic as u64,
                magic_hi,
                shift,
                divisor,
            },
            _ => Self {
                bound: 0,
                magic_lo: 0,
                magic_hi: 0,
                shift: 0,
                divisor,
            },
        }
    }

    /// `a / divisor`, or `a` unchanged when the divisor is 0; bit-identical to
    /// [`FastDiv::apply_unless_zero`].
    #[inline(always)]
    pub(crate) fn apply_unless_zero(&self, a: I32F32) -> I32F32 {
        match self.fast(a.to_bits()) {
            (quotient, true) => I32F32::from_bits(quotient),
            (_, false) => self.slow(a),
        }
    }

    /// The fast path alone, on raw bits: `(a / divisor, true)` when `a` is a share this
    /// divides exactly (`0 ≤ a ≤ min(d, 1)`), else `(meaningless, false)`. Without a call in
    /// it, a hot loop keeps its registers, and checks the flag once per row.
    #[inline(always)]
    pub(crate) fn fast(&self, a: i64) -> (i64, bool) {
        let a_bits = a as u64;
        let high = (u128::from(a_bits).wrapping_mul(u128::from(self.magic_lo)) >> 64) as u64;
        let high = high.wrapping_add(a_bits.wrapping_mul(self.magic_hi));
        // The quotient is at most 2^32 because a ≤ d; the shift is below 32.
        ((high >> (self.shift & 63)) as i64, a_bits < self.bound)
    }

    /// Whether [`Self::fast_unshifted`] applies: the divisor is at most 1 (or not positive,
    /// and then the fast path never applies anyway).
    pub(crate) fn unshifted(&self) -> bool {
        self.shift == 0
    }

    /// [`Self::fast`] for a divisor that is [`Self::unshifted`] (meaningless otherwise): no
    /// shift at all, so a hot loop keeps its count register.
    #[inline(always)]
    pub(crate) fn fast_unshifted(&self, a: i64) -> (i64, bool) {
        self.unshifted_part().fast(a)
    }

    /// The three words [`Self::fast_unshifted`] reads.
    pub(crate) fn unshifted_part(&self) -> UnshiftedDiv {
        UnshiftedDiv {
            bound: self.bound,
            magic_lo: self.magic_lo,
            magic_hi: self.magic_hi,
        }
    }

    #[cold]
    #[inline(never)]
    fn slow(&self, a: I32F32) -> I32F32 {
        FastDiv::new(self.divisor).apply_unless_zero(a)
    }
}

/// The stored form of a share `s` of a column whose largest share is `m`:
/// `to_u16_proportion(s / m)`, which original Yuma stores for each bond after it upscales
/// the column to its maximum — in the common case with one widening multiply instead of a
/// division and a multiply.
///
/// With `Y = s · 65535 / m` and `f` the part of `s · 2^32 / m` that the division floors
/// away, the stored value is `⌊Y − f · 65535 / 2^32⌋`: `⌊Y⌋`, unless `Y` lies less than
/// `2^-16` above an integer. `F = ⌊65535 · 2^64 / m⌋` (a `u64` for `m ≥ 2^16`) gives
/// `s · F ≤ Y · 2^64 < s · F + 2^32`; so when the low word of `s · F` is at least `2^48`
/// (`frac(Y) ≥ 2^-16`) and below `2^64 − 2^32` (no carry into the high word), the high word
/// is the stored value. Else — about one share in 65 536, a share above `m`, or a column
/// with `m < 2^16`, which no valid epoch has (a largest share is at least `1/65535`), or
/// `m > 1`, which is no share — the division itself.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StoredForm {
    /// `F`, or 0 (every share then takes the division) unless `2^16 ≤ m ≤ 2^32`.
    factor: u64,
    /// `m` as raw bits; shares above it take the division.
    max_bits: u64,
    /// Division by `m`.
    max: ShareDiv,
}

impl StoredForm {
    /// For a column whose largest share is `max`.
    pub(crate) fn new(max: I32F32) -> Self {
        let max_bits = u64::try_from(max.to_bits()).unwrap_or(0);
        let factor = (u128::from(u16::MAX) << 64)
            .checked_div(u128::from(max_bits))
            .and_then(|f| u64::try_from(f).ok())
            .filter(|_| (1 << 16..=1 << 32).contains(&max_bits))
            .unwrap_or(0);
        Self {
            factor,
            max_bits,
            max: ShareDiv::new(max),
        }
    }

    /// `to_u16_proportion(s / m)` for any `s`.
    #[inline(always)]
    pub(crate) fn apply(&self, s: i64) -> u16 {
        match self.product(s) {
            Some(stored) if (s as u64) <= self.max_bits => stored,
            _ => to_u16_proportion(self.max.apply_unless_zero(I32F32::from_bits(s))),
        }
    }

    /// [`Self::apply`] for a share `0 ≤ s ≤ m ≤ 1` (meaningless otherwise: callers know
    /// the bounds). The rare share near an integer `Y` takes the division inline (a call
    /// would make a hot loop keep its state in memory).
    #[inline(always)]
    pub(crate) fn of_share(&self, s: i64) -> u16 {
        match self.product(s) {
            Some(stored) => stored,
            None => to_u16_unit(self.max.fast_unshifted(s).0),
        }
    }

    /// The high word of `s · F` when the low word shows it is the stored form.
    #[inline(always)]
    fn product(&self, s: i64) -> Option<u16> {
        let product = u128::from(s as u64).wrapping_mul(u128::from(self.factor));
        let low = product as u64;
        // 2^48 ≤ low < 2^64 − 2^32.
        let clear = low.wrapping_sub(1 << 48) < (u64::MAX - (1 << 32) - (1 << 48) + 1);
        clear.then_some((product >> 64) as u16)
    }
}

/// [`ShareDiv::fast_unshifted`] alone: 24 bytes, for a per-column array read once per weight.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UnshiftedDiv {
    bound: u64,
    magic_lo: u64,
    magic_hi: u64,
}

impl UnshiftedDiv {
    /// [`ShareDiv::fast_unshifted`] of the divisor this was taken from.
    #[inline(always)]
    pub(crate) fn fast(&self, a: i64) -> (i64, bool) {
        let a_bits = a as u64;
        let high = (u128::from(a_bits).wrapping_mul(u128::from(self.magic_lo)) >> 64) as u64;
        (
            high.wrapping_add(a_bits.wrapping_mul(self.magic_hi)) as i64,
            a_bits < self.bound,
        )
    }
}

/// Exact `⌊x · 2^32 / s⌋` for an integer `x < 2^16` and `0 < s < 2^32`: the fixed-point
/// quotient `x / s` of two integers, as a weight row whose (unsaturated) sum is `s` normalises.
///
/// With `ℓ = ⌈log₂ s⌉`, `k = 48 + ℓ` and `m = ⌊2^k / s⌋ + 1`, `⌊t·m / 2^k⌋ = ⌊t / s⌋` for every
/// `t < 2^48` (Granlund–Montgomery: `m·s − 2^k ≤ s ≤ 2^ℓ`, so the excess `t·(m·s − 2^k)/(s·2^k)`
/// stays below `1/s`, too little to reach the next integer). One widening multiply then replaces
/// [`FastDiv`]'s three for the most common division of the epoch.
///
/// As `t = x · 2^32`, `⌊t·m / 2^k⌋ = ⌊x·m / 2^s⌋` with `s = k − 32 = 16 + ℓ ≤ 48`. The shift
/// is folded into the magic: with `M = m · 2^(64−s)` (`< 2^97`, so `M = hi · 2^64 + lo` with
/// `hi < 2^33`), `⌊x·m / 2^s⌋ = ⌊x·M / 2^64⌋`, the high word of `x · lo` plus `x · hi` — one
/// widening and one plain multiply, and no variable shift (whose count register a hot loop
/// would have to give up).
#[derive(Clone, Copy, Debug)]
pub(crate) struct IntRatio {
    magic_lo: u64,
    magic_hi: u64,
}

impl IntRatio {
    /// Division by 1: `⌊x · 2^32 / 1⌋`, i.e. `M = 2^96`.
    pub(crate) const ONE: Self = Self {
        magic_lo: 0,
        magic_hi: 1 << 32,
    };

    /// Prepares division by `s`; `None` when `s` is 0 or not below 2^32.
    pub(crate) fn new(s: u64) -> Option<Self> {
        let s32 = u32::try_from(s).ok().filter(|s| *s > 0)?;
        let ceil_log2 = u32::BITS.wrapping_sub(s32.wrapping_sub(1).leading_zeros());
        let shift = ceil_log2.wrapping_add(16);
        // m ≤ 2^k / s + 1 ≤ 2^49 + 1 because s > 2^(ℓ−1).
        let magic = (1u128 << shift.wrapping_add(32))
            .checked_div(u128::from(s))?
            .wrapping_add(1);
        // shift ≥ 16: M = m · 2^(64 − shift) < 2^(50 + 48) fits a u128.
        let magic = magic << 64u32.wrapping_sub(shift);
        Some(Self {
            magic_lo: magic as u64,
            magic_hi: u64::try_from(magic >> 64).ok()?,
        })
    }

    /// `x / s` as fixed point: `⌊x · 2^32 / s⌋`.
    #[inline]
    pub(crate) fn apply(&self, x: u16) -> I32F32 {
        let x = u64::from(x);
        let high = (u128::from(x).wrapping_mul(u128::from(self.magic_lo)) >> 64) as u64;
        // x · hi < 2^49, and the quotient is at most 2^48: always an i64.
        I32F32::from_bits(high.wrapping_add(x.wrapping_mul(self.magic_hi)) as i64)
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

    proptest! {
        #[test]
        fn to_u16_proportion_matches_primitive(x in any::<i64>(), y in 0i64..=(1 << 32)) {
            for bits in [x, y] {
                let x = I32F32::from_bits(bits);
                prop_assert_eq!(to_u16_proportion(x), tao_primitives::fixed_proportion_to_u16(x));
            }
        }
    }

    proptest! {
        #[test]
        fn int_ratio_matches_safe_div(s in 1u64..(1 << 32), x in any::<u16>(), small in 1u64..70_000) {
            for s in [s, small] {
                let ratio = IntRatio::new(s).unwrap();
                let expected = I32F32::from_num(x).safe_div(I32F32::from_bits((s << 32).min(i64::MAX as u64) as i64));
                if s < 1 << 31 {
                    prop_assert_eq!(ratio.apply(x), expected);
                }
                prop_assert_eq!(u128::from(ratio.apply(x).to_bits() as u64), (u128::from(x) << 32) / u128::from(s));
            }
        }
    }

    #[test]
    fn int_ratio_edges() {
        assert!(IntRatio::new(0).is_none());
        assert!(IntRatio::new(1 << 32).is_none());
        let mut divisors = vec![1u64, 2, 3, 65_535, 65_537, (1 << 31) - 1, (1 << 32) - 1];
        for p in 1..32 {
            divisors.extend([(1u64 << p) - 1, 1 << p, (1 << p) + 1]);
        }
        for s in divisors {
            let ratio = IntRatio::new(s).unwrap();
            for x in [0u16, 1, 2, 3, 255, 32_767, 32_768, 65_534, 65_535] {
                let exact = (u128::from(x) << 32) / u128::from(s);
                assert_eq!(
                    u128::from(ratio.apply(x).to_bits() as u64),
                    exact,
                    "{x} / {s}"
                );
            }
        }
    }

    #[test]
    fn int_ratio_one_divides_by_one() {
        for x in [0u16, 1, 2, 255, 32_768, u16::MAX] {
            assert_eq!(IntRatio::ONE.apply(x), I32F32::from_num(x));
            assert_eq!(IntRatio::ONE.apply(x), IntRatio::new(1).unwrap().apply(x));
        }
    }

    #[test]
    fn to_u16_proportion_edges() {
        for bits in [
            i64::MIN,
            -1,
            0,
            1,
            65_536,
            (1 << 32) - 1,
            1 << 32,
            (1 << 32) + 1,
            i64::MAX,
        ] {
            let x = I32F32::from_bits(bits);
            assert_eq!(
                to_u16_proportion(x),
                tao_primitives::fixed_proportion_to_u16(x)
            );
        }
    }

    proptest! {
        #[test]
        fn apply_unless_zero_matches_safe_div(a in any::<i64>(), d in prop_oneof![Just(0i64), any::<i64>(), 0i64..(1 << 40)]) {
            let (a, d) = (I32F32::from_bits(a), I32F32::from_bits(d));
            let expected = if d == ZERO { a } else { a.safe_div(d) };
            prop_assert_eq!(FastDiv::new(d).apply_unless_zero(a), expected);
        }
    }

    proptest! {
        #[test]
        fn frac_scale_matches_mul(k in 0i64..(1 << 32), x in 0i64..=(1 << 32), edge in 0usize..4) {
            let k = [k, 0, 1, (1 << 32) - 1][edge];
            for x in [x, 0, 1, (1 << 32) - 1, 1 << 32] {
                let scale = FracScale::new(I32F32::from_bits(k)).unwrap();
                prop_assert_eq!(scale.apply(x), mul(I32F32::from_bits(k), I32F32::from_bits(x)).to_bits());
            }
        }

        #[test]
        fn add_nonneg_matches_saturating_add(acc in any::<i64>(), x in 0i64..=i64::MAX, edge in 0usize..3) {
            let acc = [acc, i64::MAX, i64::MIN][edge];
            prop_assert_eq!(add_nonneg(acc, x), acc.saturating_add(x));
        }
    }

    proptest! {
        #[test]
        fn stored_form_matches_division(
            m in prop_oneof![1i64..(1 << 16), (1i64 << 16)..=(1 << 32), any::<i64>()],
            s in any::<u64>(),
            edge in 0usize..12,
        ) {
            let form = StoredForm::new(I32F32::from_bits(m));
            let divided = FastDiv::new(I32F32::from_bits(m));
            // Shares of the column, edges, and anything at all.
            let share = if m > 0 { (s % (m as u64 + 1)) as i64 } else { s as i64 };
            for s in [share, share_edges(s as i64)[edge], m, m.wrapping_sub(1)] {
                let expected = to_u16_proportion(divided.apply_unless_zero(I32F32::from_bits(s)));
                prop_assert_eq!(form.apply(s), expected, "s = {}, m = {}", s, m);
                if (0..=m).contains(&s) && m <= 1 << 32 {
                    prop_assert_eq!(form.of_share(s), expected, "s = {}, m = {}", s, m);
                }
            }
        }
    }

    #[test]
    fn stored_form_near_integers() {
        // Shares whose Y = s · 65535 / m lies just above, at or just below an integer: the
        // cases the fast path hands to the division, and their neighbours.
        for m in [1i64 << 16, 65_537, 1 << 20, 3 << 29, (1 << 32) - 1, 1 << 32] {
            let form = StoredForm::new(I32F32::from_bits(m));
            let divided = FastDiv::new(I32F32::from_bits(m));
            for k in [1i64, 2, 3, 12_345, 32_768, 65_534, 65_535] {
                let centre = (i128::from(k) * i128::from(m) / 65_535) as i64;
                for s in centre.saturating_sub(3)..=centre.saturating_add(3).min(m) {
                    let expected =
                        to_u16_proportion(divided.apply_unless_zero(I32F32::from_bits(s)));
                    assert_eq!(form.apply(s), expected, "s = {s}, m = {m}");
                    if s >= 0 {
                        assert_eq!(form.of_share(s), expected, "s = {s}, m = {m}");
                    }
                }
            }
        }
    }

    /// Divisors and operands at the edges of [`ShareDiv`]'s fast path.
    fn share_edges(x: i64) -> [i64; 12] {
        [
            x,
            0,
            1,
            2,
            (1 << 32) - 1,
            1 << 32,
            (1 << 32) + 1,
            1 << 33,
            i64::MAX,
            -1,
            i64::MIN,
            3,
        ]
    }

    proptest! {
        #[test]
        fn share_div_matches_fast_div(
            a in any::<i64>(),
            unit in 0i64..=(1 << 32),
            d in prop_oneof![any::<i64>(), 0i64..(1 << 42), 0i64..=(1 << 33), (0u32..63).prop_map(|p| 1i64 << p)],
            frac in 0u64..=u64::MAX,
            edge in 0usize..12,
            edge_a in 0usize..12,
        ) {
            let d = share_edges(d)[edge];
            // a spread over [0, min(d, 1)], the range of a share of a column total.
            let share = i64::try_from((u128::from(frac) * u128::from(d.clamp(0, 1 << 32).unsigned_abs())) >> 64).unwrap();
            let div = ShareDiv::new(I32F32::from_bits(d));
            for a in [a, unit, share, d, d.saturating_sub(1), d.saturating_add(1), share_edges(a)[edge_a]] {
                let (a, d) = (I32F32::from_bits(a), I32F32::from_bits(d));
                let expected = if d == ZERO { a } else { a.safe_div(d) };
                prop_assert_eq!(div.apply_unless_zero(a), expected, "{:?} / {:?}", a, d);
                assert_fast_paths(&div, a, expected);
            }
        }
    }

    #[test]
    fn share_div_edges() {
        let mut divisors = vec![i64::MIN, -1, 0, i64::MAX, i64::MAX - 1];
        for p in 0..63 {
            divisors.extend([(1i64 << p) - 1, 1 << p, (1i64 << p).saturating_add(1)]);
        }
        for d in divisors {
            let div = ShareDiv::new(I32F32::from_bits(d));
            let unit = d.clamp(0, 1 << 32);
            for a in [
                0,
                1,
                2,
                unit - 1,
                unit,
                unit + 1,
                unit / 2,
                unit / 3,
                (1 << 32) - 1,
                1 << 32,
                -1,
                i64::MAX,
            ] {
                let (a, d) = (I32F32::from_bits(a), I32F32::from_bits(d));
                let expected = if d == ZERO { a } else { a.safe_div(d) };
                assert_eq!(div.apply_unless_zero(a), expected, "{a:?} / {d:?}");
                assert_fast_paths(&div, a, expected);
            }
            // Every divisor of a share of a proportion takes the unshifted path.
            assert_eq!(div.unshifted(), d <= 1 << 32, "{d}");
        }
    }

    /// Where `ShareDiv`'s fast paths claim `a`, they give `expected`.
    fn assert_fast_paths(div: &ShareDiv, a: I32F32, expected: I32F32) {
        let (quotient, exact) = div.fast(a.to_bits());
        if exact {
            assert_eq!(quotient, expected.to_bits(), "fast {a:?}");
        }
        if div.unshifted() {
            let (quotient, exact_unshifted) = div.fast_unshifted(a.to_bits());
            assert_eq!(exact, exact_unshifted);
            if exact {
                assert_eq!(quotient, expected.to_bits(), "fast_unshifted {a:?}");
            }
        }
    }

    #[test]
    fn frac_scale_rejects_one_and_non_proportions() {
        assert!(FracScale::new(I32F32::from_bits(-1)).is_none());
        assert!(FracScale::new(I32F32::from_bits(1 << 32)).is_none());
        assert!(FracScale::new(I32F32::from_bits((1 << 32) + 1)).is_none());
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
