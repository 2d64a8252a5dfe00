//! Stake-weighted κ-quantile ("weighted median") of one column of scores.
//!
//! The live chain defines consensus as the value returned by a mid-pivot quickselect over
//! `(stake, score)` pairs. That value is fully determined by the data: it is the smallest score
//! `v` whose cumulative stake `Σ{stake_i : score_i ≤ v}` exceeds `minority = Σstake − κ`; when no
//! score qualifies (κ ≤ 0) it is the largest score, and an empty column gives 0. Fixed-point
//! addition is exact, so the cumulative sums carry no rounding and any correct selection
//! algorithm returns the same bits. Two implementations live here: a fast in-place quickselect
//! for production (run by `consensus.rs` on the one histogram bin that holds the answer) and a
//! sort-based one that states the definition, used by the dense reference.

use crate::math::ZERO;
use tao_primitives::I32F32;

/// A scored validator: `(score, stake)`.
pub(crate) type Entry = (I32F32, I32F32);

/// Weighted κ-quantile by in-place quickselect; reorders `entries`.
///
/// `minority` is `Σstake − κ`; entries may carry zero stake. Each round first measures the
/// stake below and at the pivot in a read-only pass, then keeps only the side that holds the
/// answer by compacting it to the front; both passes are branch-free, since scores of honest
/// validators are noisy and a branch per comparison would mispredict half the time. The pivot
/// is the median of the first, middle and last scores; the answer does not depend on it.
pub(crate) fn weighted_median(entries: &mut [Entry], minority: I32F32) -> I32F32 {
    // Invariant: `below` is the stake of all discarded entries scoring below every entry of
    // `part`; the answer is a score inside `part`.
    let mut len = entries.len();
    let mut below = ZERO;
    loop {
        let part = entries.get_mut(..len).unwrap_or_default();
        let Some(pivot) = pivot_of(part) else {
            return ZERO;
        };
        let (mut lower_len, mut lower_stake, mut equal_len, mut equal_stake) =
            (0usize, ZERO, 0usize, ZERO);
        for &(score, stake) in part.iter() {
            let (lower, equal) = (score < pivot, score == pivot);
            lower_stake = lower_stake.saturating_add(if lower { stake } else { ZERO });
            equal_stake = equal_stake.saturating_add(if equal { stake } else { ZERO });
            lower_len = lower_len.wrapping_add(usize::from(lower));
            equal_len = equal_len.wrapping_add(usize::from(equal));
        }
        let with_lower = below.saturating_add(lower_stake);
        let with_equal = with_lower.saturating_add(equal_stake);
        if minority < with_lower && lower_len > 0 {
            len = compact(part, |score| score < pivot);
        } else if with_equal <= minority && lower_len.wrapping_add(equal_len) < len {
            below = with_equal;
            len = compact(part, |score| score > pivot);
        } else {
            return pivot;
        }
    }
}

/// Median of the first, middle and last scores, or `None` for an empty slice.
fn pivot_of(part: &[Entry]) -> Option<I32F32> {
    let first = part.first()?.0;
    let middle = part.get(part.len().checked_div(2)?)?.0;
    let last = part.last()?.0;
    Some(first.max(middle).min(first.min(middle).max(last)))
}

/// Moves the entries whose score satisfies `keep` to the front, in order, without branching on
/// the test; returns how many there are. The rest of the slice is left unspecified.
fn compact(part: &mut [Entry], keep: impl Fn(I32F32) -> bool) -> usize {
    let mut kept = 0usize;
    for i in 0..part.len() {
        let Some(&entry) = part.get(i) else { break };
        // kept ≤ i: writing behind the read position never clobbers an unread entry.
        if let Some(slot) = part.get_mut(kept) {
            *slot = entry;
        }
        kept = kept.wrapping_add(usize::from(keep(entry.0)));
    }
    kept
}

/// Weighted κ-quantile straight from its definition (sort, then scan cumulative stake).
pub(crate) fn weighted_median_by_sort(entries: &[Entry], minority: I32F32) -> I32F32 {
    let mut sorted = entries.to_vec();
    sorted.sort_by_key(|(score, _)| *score);
    let mut cumulative = ZERO;
    let mut index = 0;
    while let Some(&(score, _)) = sorted.get(index) {
        // Sum the whole run of equal scores before testing: the quantile is a score, not a slot.
        while let Some(&(next_score, stake)) = sorted.get(index) {
            if next_score != score {
                break;
            }
            cumulative = cumulative.saturating_add(stake);
            index = index.wrapping_add(1);
        }
        if cumulative > minority {
            return score;
        }
    }
    sorted.last().map_or(ZERO, |(score, _)| *score)
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

    fn fx(x: f64) -> I32F32 {
        I32F32::from_num(x)
    }

    fn median(stake: &[f64], score: &[f64], majority: f64) -> I32F32 {
        let mut entries: Vec<Entry> = score
            .iter()
            .zip(stake)
            .map(|(s, w)| (fx(*s), fx(*w)))
            .collect();
        let total = entries.iter().fold(ZERO, |a, e| a + e.1);
        let minority = total - fx(majority);
        let by_sort = weighted_median_by_sort(&entries, minority);
        let fast = weighted_median(&mut entries, minority);
        assert_eq!(fast, by_sort);
        fast
    }

    /// Vector C (reference/subtensor.md §8.3): the live chain's `tests/math.rs` cases.
    #[test]
    fn live_weighted_median_vectors() {
        assert_eq!(median(&[0.49, 0.51], &[0.5, 1.0], 0.51), fx(1.0));
        assert_eq!(median(&[0.51, 0.49], &[0.5, 1.0], 0.51), fx(0.5));
        assert_eq!(median(&[0.49, 0.0, 0.51], &[0.5, 0.7, 1.0], 0.51), fx(1.0));
        assert_eq!(median(&[0.49, 0.01, 0.5], &[0.5, 0.7, 1.0], 0.51), fx(0.7));
        assert_eq!(median(&[0.49, 0.51, 0.0], &[0.5, 0.7, 1.0], 0.51), fx(0.7));
        assert_eq!(median(&[0.0, 0.49, 0.51], &[0.5, 0.7, 1.0], 0.51), fx(1.0));
    }

    #[test]
    fn empty_column_is_zero() {
        assert_eq!(weighted_median(&mut [], fx(0.5)), ZERO);
        assert_eq!(weighted_median_by_sort(&[], fx(0.5)), ZERO);
    }

    proptest! {
        #[test]
        fn quickselect_matches_definition(
            entries in proptest::collection::vec((0u32..6, 0u32..5), 0..40),
            minority_steps in -3i64..25,
        ) {
            // Few distinct scores and stakes so ties and zero stake are common.
            let mut entries: Vec<Entry> = entries
                .into_iter()
                .map(|(score, stake)| (I32F32::from_num(score) / 5, I32F32::from_num(stake) / 8))
                .collect();
            let minority = I32F32::from_num(minority_steps) / 8;
            let expected = weighted_median_by_sort(&entries, minority);
            prop_assert_eq!(weighted_median(&mut entries, minority), expected);
        }
    }
}
