//! Consensus: the stake-weighted κ-quantile of every column of the weight matrix, computed
//! straight from the compressed rows, without transposing them.
//!
//! The columns are taken 128 at a time ([`BLOCK`]). A first sweep over the voters' rows adds
//! each voter's stake to a histogram of its column, binned by the top 6 bits of the score below
//! the column's maximum (one 64-bin histogram per column, all of them in the L1/L2 cache). The
//! bin whose cumulative stake first exceeds the minority holds the answer; a second sweep
//! copies only that bin's entries out, and the quickselect of [`crate::median`] finishes on
//! them, told the stake of the lower bins. With scores spread over the column's range that is a handful of entries
//! per column instead of every voter, and no sorting at all.
//!
//! Binning is monotone in the score (scores above the assumed maximum share the highest bin),
//! so every score in a lower bin is smaller than every score in the chosen bin: the answer is
//! exact for any per-column maximum, which only decides how well the scores spread over the
//! bins. Scores are normalised weights, never negative.

use crate::csr::Csr;
use crate::math::{ZERO, add_unit, normalize, sum};
use crate::median::{Entry, weighted_median};
use tao_primitives::I32F32;

/// Columns per block: their histograms (128 × 0.5 KiB) stay in cache while the voters' rows
/// stream past, and one block of a row is a short contiguous run.
const BLOCK: usize = 128;
/// Bins per column: 6 bits of the score, so the occupied bins fit one `u64` mask.
const BINS: usize = 64;
const BIN_BITS: u32 = 6;
const LAST_BIN: u64 = BINS as u64 - 1;

/// Working memory of [`consensus`], kept by a `Workspace` between epochs.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    candidates: Vec<Vec<Entry>>,
    cursors: Vec<usize>,
    block_starts: Vec<usize>,
}

/// The first radix digit of one block of columns: per column, stake per bin of its scores.
///
/// Plain arrays of raw fixed-point bits, indexed by the column's offset in the block: the
/// first sweep's inner loop is a handful of instructions per weight.
struct Histograms {
    /// `stake[offset][bin]`: stake of the voters whose score falls in the bin.
    stake: [[i64; BINS]; BLOCK],
    /// `count[offset][bin]`: how many voters' scores fall in the bin (at most the number of
    /// voters, `< 2^16`): which bins hold a score, even with zero stake, and how many voters
    /// gave the column an entry.
    count: [[u16; BINS]; BLOCK],
    /// Scores are binned by `key >> shift`.
    shift: [u32; BLOCK],
}

impl Histograms {
    fn new() -> Self {
        Self {
            stake: [[0; BINS]; BLOCK],
            count: [[0; BINS]; BLOCK],
            shift: [0; BLOCK],
        }
    }

    /// Empties the histograms for columns whose scores are at most `maxima[offset]`.
    fn reset(&mut self, maxima: impl Iterator<Item = I32F32>) {
        self.stake = [[0; BINS]; BLOCK];
        self.count = [[0; BINS]; BLOCK];
        self.shift = [0; BLOCK];
        for (shift, max) in self.shift.iter_mut().zip(maxima) {
            // The bit length of `max`, less 6: `max >> shift < 64`, with the top bin in use.
            let bits = u64::BITS.wrapping_sub(bin_key(max).leading_zeros());
            *shift = bits.saturating_sub(BIN_BITS);
        }
    }

    /// Adds a voter's `score` with `stake` (a proportion, normalised over the voters) to
    /// column `offset`; `false` when the offset is past the block. `COUNTED`: also count the
    /// voter, which [`Self::target`] needs only when some voter has no stake.
    #[inline(always)]
    fn add<const COUNTED: bool>(&mut self, offset: usize, score: I32F32, stake: i64) -> bool {
        let (Some(bins), Some(counts), Some(&shift)) = (
            self.stake.get_mut(offset),
            self.count.get_mut(offset),
            self.shift.get(offset),
        ) else {
            return false;
        };
        let bin = bin_of(score, shift);
        if let Some(cell) = bins.get_mut(bin) {
            *cell = add_unit(*cell, stake);
        }
        if COUNTED && let Some(count) = counts.get_mut(bin) {
            *count = count.wrapping_add(1);
        }
        true
    }

    /// Column `offset`'s target: the bin that holds the quantile, as the range of keys it
    /// covers, and the stake of all lower bins. The voters that gave no entry score 0
    /// together with the rest of the stake; `absent` is that entry when it exists and falls
    /// in the target bin.
    ///
    /// `voters`: how many voters there are, when they were counted ([`Self::add`]); `None`
    /// when every voter has positive stake, so that a bin holds a score exactly when it holds
    /// stake, and a voter gave no entry exactly when the given stake falls short of the total.
    fn target(&self, offset: usize, total: i64, voters: Option<usize>, minority: i64) -> Target {
        let (Some(bins), Some(counts), Some(&shift)) = (
            self.stake.get(offset),
            self.count.get(offset),
            self.shift.get(offset),
        ) else {
            return Target::default();
        };
        let mut bins = *bins;
        let given = bins.iter().fold(0i64, |acc, s| acc.saturating_add(*s));
        let (some_absent, mut occupied) = match voters {
            Some(voters) => {
                let present = counts
                    .iter()
                    .fold(0usize, |n, c| n.wrapping_add(usize::from(*c)));
                let occupied = counts
                    .iter()
                    .enumerate()
                    .fold(0u64, |mask, (bin, c)| mask | (u64::from(*c != 0) << bin));
                (present < voters, occupied)
            }
            None => {
                let occupied = bins
                    .iter()
                    .enumerate()
                    .fold(0u64, |mask, (bin, s)| mask | (u64::from(*s > 0) << bin));
                (given < total, occupied)
            }
        };
        let absent = some_absent.then(|| {
            let stake = total.saturating_sub(given);
            let bin = bin_of(ZERO, shift);
            if let Some(cell) = bins.get_mut(bin) {
                *cell = cell.saturating_add(stake);
            }
            occupied |= 1u64 << bin;
            stake
        });
        // The first occupied bin whose cumulative stake exceeds the minority, else the
        // highest occupied bin (where the largest score is).
        let mut below = 0i64;
        let mut remaining = occupied;
        let mut chosen = (0usize, 0i64);
        while remaining != 0 {
            let bin = usize::try_from(remaining.trailing_zeros()).unwrap_or(0);
            remaining &= remaining.wrapping_sub(1);
            chosen = (bin, below);
            below = below.saturating_add(bins.get(bin).copied().unwrap_or(0));
            if below > minority {
                break;
            }
        }
        let (bin, below) = chosen;
        let bin_u64 = u64::try_from(bin).unwrap_or(0);
        let low = bin_u64.checked_shl(shift).unwrap_or(u64::MAX);
        // The top bin also holds every larger key.
        let width = if bin == BINS - 1 {
            u64::MAX.wrapping_sub(low)
        } else {
            1u64.checked_shl(shift).unwrap_or(u64::MAX)
        };
        Target {
            low,
            width,
            below,
            absent: absent.filter(|_| bin_of(ZERO, shift) == bin),
        }
    }
}

/// Where one column's quantile lies: keys in `[low, low + width)`, above `below` stake.
#[derive(Clone, Copy, Debug, Default)]
struct Target {
    low: u64,
    width: u64,
    below: i64,
    absent: Option<i64>,
}

impl Target {
    #[inline(always)]
    fn holds(&self, score: I32F32) -> bool {
        bin_key(score).wrapping_sub(self.low) < self.width
    }
}

/// The bin of `score` under `shift`: monotone non-decreasing in the score, at most 63.
#[inline(always)]
fn bin_of(score: I32F32, shift: u32) -> usize {
    let bin = (bin_key(score) >> shift).min(LAST_BIN);
    usize::try_from(bin).unwrap_or(BINS - 1)
}

/// A score (never negative) as the unsigned key its bin is taken from.
#[inline(always)]
fn bin_key(score: I32F32) -> u64 {
    score.to_bits() as u64
}

/// Consensus per column: the stake-weighted κ-quantile over validators with active stake,
/// missing entries counting as 0. The weights are never negative. `column_max[j]` bounds
/// column `j`'s scores (any value gives the exact answer; the true maximum spreads the scores
/// best).
#[inline(never)] // a phase of its own in profiles
pub(crate) fn consensus(
    scratch: &mut Scratch,
    active_stake: &[I32F32],
    weights: &Csr,
    column_max: &[I32F32],
    n: usize,
    kappa: I32F32,
) -> Vec<I32F32> {
    let mut voter_stake: Vec<I32F32> = active_stake.iter().copied().filter(|s| *s > ZERO).collect();
    normalize(&mut voter_stake);
    let total_stake = sum(&voter_stake);
    let minority = total_stake.saturating_sub(kappa);
    let voters: Vec<(&[u16], &[I32F32], I32F32)> = active_stake
        .iter()
        .zip(weights.rows())
        .filter(|(s, _)| **s > ZERO)
        .map(|(_, row)| row)
        .zip(voter_stake.iter().copied())
        .map(|((cols, vals), stake)| (cols, vals, stake))
        .collect();
    let mut result = vec![ZERO; n];
    if voters.is_empty() {
        return result;
    }
    // Voters are counted only when one has no stake (normalised to 0).
    let counted_voters = voter_stake
        .iter()
        .any(|s| *s <= ZERO)
        .then_some(voters.len());
    let Scratch {
        candidates,
        cursors,
        block_starts,
    } = scratch;
    let mut histograms = Box::new(Histograms::new());
    candidates.resize_with(BLOCK, Vec::new);
    // Rows are sorted by uid, so one cursor per voter walks its row block by block.
    cursors.clear();
    cursors.resize(voters.len(), 0);
    for (block, out) in result.chunks_mut(BLOCK).enumerate() {
        let first = block.saturating_mul(BLOCK);
        histograms.reset(tail(column_max, first).iter().copied());
        // Sweep 1: histograms. Each voter's entries in this block are one contiguous run,
        // walked linearly: it is short, and a binary search's probes would each miss the
        // cache where the walk streams the row through it.
        block_starts.clone_from(cursors);
        match counted_voters {
            Some(_) => sweep_histograms::<true>(&mut histograms, &voters, cursors, first),
            None => sweep_histograms::<false>(&mut histograms, &voters, cursors, first),
        }
        // Choose each column's bin.
        let mut targets = [Target::default(); BLOCK];
        for (offset, (target, column)) in targets.iter_mut().zip(candidates.iter_mut()).enumerate()
        {
            *target = histograms.target(
                offset,
                total_stake.to_bits(),
                counted_voters,
                minority.to_bits(),
            );
            column.clear();
            if let Some(stake) = target.absent {
                column.push((ZERO, I32F32::from_bits(stake)));
            }
        }
        // Sweep 2: copy out the entries of the chosen bins.
        for ((cols, vals, stake), (&start, &stop)) in
            voters.iter().zip(block_starts.iter().zip(cursors.iter()))
        {
            let (Some(cols), Some(vals)) = (cols.get(start..stop), vals.get(start..stop)) else {
                continue;
            };
            for (&j, &score) in cols.iter().zip(vals) {
                let offset = usize::from(j).wrapping_sub(first);
                if let (Some(target), Some(column)) =
                    (targets.get(offset), candidates.get_mut(offset))
                    && target.holds(score)
                {
                    column.push((score, *stake));
                }
            }
        }
        for ((median, column), target) in out.iter_mut().zip(candidates.iter_mut()).zip(&targets) {
            let below = I32F32::from_bits(target.below);
            *median = weighted_median(column, minority.saturating_sub(below));
        }
    }
    result
}

/// Sweep 1 over one block: every voter's run of entries in the block (from its cursor, which
/// moves past the run) into the histograms.
#[inline(never)] // a phase of its own in profiles
fn sweep_histograms<const COUNTED: bool>(
    histograms: &mut Histograms,
    voters: &[(&[u16], &[I32F32], I32F32)],
    cursors: &mut [usize],
    first: usize,
) {
    for ((cols, vals, stake), cursor) in voters.iter().zip(cursors.iter_mut()) {
        let stake = stake.to_bits();
        let mut run = 0usize;
        for (&j, &score) in tail(cols, *cursor).iter().zip(tail(vals, *cursor)) {
            // Uids below `first` were consumed by earlier blocks: the offset is < 128
            // exactly while the entry belongs to this block.
            if !histograms.add::<COUNTED>(usize::from(j).wrapping_sub(first), score, stake) {
                break;
            }
            run = run.wrapping_add(1);
        }
        *cursor = cursor.saturating_add(run);
    }
}

/// `values[from..]`, empty past the end.
fn tail<T>(values: &[T], from: usize) -> &[T] {
    values.get(from..).unwrap_or_default()
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
mod tests {
    use super::*;
    use crate::median::weighted_median_by_sort;
    use proptest::prelude::*;

    /// Consensus by the definition: one column at a time, sorted.
    fn by_sort(
        active_stake: &[I32F32],
        rows: &[Vec<(u16, I32F32)>],
        n: usize,
        kappa: I32F32,
    ) -> Vec<I32F32> {
        let mut stakes: Vec<I32F32> = active_stake.iter().copied().filter(|s| *s > ZERO).collect();
        normalize(&mut stakes);
        let minority = sum(&stakes).saturating_sub(kappa);
        let voters: Vec<&Vec<(u16, I32F32)>> = active_stake
            .iter()
            .zip(rows)
            .filter(|(s, _)| **s > ZERO)
            .map(|(_, row)| row)
            .collect();
        if voters.is_empty() {
            return vec![ZERO; n];
        }
        (0..n)
            .map(|j| {
                let mut entries: Vec<Entry> = Vec::new();
                let mut given = ZERO;
                for (row, stake) in voters.iter().zip(&stakes) {
                    if let Some(&(_, w)) = row.iter().find(|(c, _)| usize::from(*c) == j) {
                        entries.push((w, *stake));
                        given += *stake;
                    }
                }
                if entries.len() < voters.len() {
                    entries.push((ZERO, sum(&stakes) - given));
                }
                weighted_median_by_sort(&entries, minority)
            })
            .collect()
    }

    /// `(n, stake per row, rows, κ as u16, column maxima)`.
    type Case = (
        usize,
        Vec<I32F32>,
        Vec<Vec<(u16, I32F32)>>,
        u16,
        Vec<I32F32>,
    );

    /// A random matrix of `n` columns: sparse rows, scores from a few levels (ties, zeros) or
    /// spread widely, stakes with zeros and all-equal runs.
    fn matrix() -> impl Strategy<Value = Case> {
        (1usize..200, 0usize..5).prop_flat_map(|(n, rows)| {
            let score = prop_oneof![
                (0i64..4).prop_map(|x| x << 30),
                Just(0i64),
                0i64..=(1 << 32),
                0i64..64,
                any::<i64>().prop_map(|x| x & i64::MAX),
            ];
            let row = proptest::collection::btree_map(0..n as u16, score, 0..=n).prop_map(|m| {
                m.into_iter()
                    .map(|(j, w)| (j, I32F32::from_bits(w)))
                    .collect::<Vec<_>>()
            });
            let stake = prop_oneof![Just(0i64), Just(1i64 << 20), 0i64..(1 << 32)];
            let max = prop_oneof![Just(None), (0i64..=i64::MAX).prop_map(Some)];
            (
                Just(n),
                proptest::collection::vec(stake.prop_map(I32F32::from_bits), rows..=rows * 40 + 1),
                proptest::collection::vec(row, rows..=rows * 40 + 1),
                any::<u16>(),
                proptest::collection::vec(max, n),
            )
                .prop_map(|(n, stake, rows, kappa, max)| {
                    let m = stake.len().min(rows.len());
                    let rows: Vec<_> = rows.into_iter().take(m).collect();
                    // The true column maxima, or a wrong bound to show it only affects speed.
                    let column_max = (0..n)
                        .map(|j| {
                            max[j].map_or_else(
                                || {
                                    rows.iter()
                                        .flatten()
                                        .filter(|(c, _)| usize::from(*c) == j)
                                        .map(|(_, w)| *w)
                                        .max()
                                        .unwrap_or(ZERO)
                                },
                                I32F32::from_bits,
                            )
                        })
                        .collect();
                    (
                        n,
                        stake.into_iter().take(m).collect(),
                        rows,
                        kappa,
                        column_max,
                    )
                })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn histogram_consensus_matches_sorting((n, stake, rows, kappa, column_max) in matrix()) {
            let mut csr = Csr::default();
            for row in &rows {
                csr.extend(row.iter().map(|e| e.0), row.iter().map(|e| e.1));
                csr.end_row();
            }
            let kappa = tao_primitives::u16_proportion_to_fixed(kappa);
            let mut scratch = Scratch::default();
            let fast = consensus(&mut scratch, &stake, &csr, &column_max, n, kappa);
            prop_assert_eq!(&fast, &by_sort(&stake, &rows, n, kappa));
            // Reused scratch gives the same answer.
            prop_assert_eq!(consensus(&mut scratch, &stake, &csr, &column_max, n, kappa), fast);
        }
    }
}
