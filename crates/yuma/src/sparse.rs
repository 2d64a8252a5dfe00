//! The production epoch over sparse rows: `O(nnz(W) + nnz(B) + n log n)`.

use crate::common::{self, Prelude};
use crate::input::{EpochInput, EpochOutput, SparseMatrix, YumaError};
use crate::liquid_alpha::LiquidAlpha;
use crate::math::{FastDiv, ONE, ZERO, mul, normalize, sum};
use crate::median::{Entry, weighted_median};
use tao_primitives::{I32F32, fixed_proportion_to_u16};

/// Runs one Yuma Consensus epoch (sparse implementation).
///
/// # Errors
/// [`YumaError`] when the input's shapes, uids or parameters are invalid; nothing is computed.
pub fn epoch(input: &EpochInput) -> Result<EpochOutput, YumaError> {
    let checked = input.check()?;
    let n = checked.n;
    let params = &input.params;
    let prelude = Prelude::new(&checked);

    // Weights: drop rows of non-permitted validators, self-weights (except the owner's), weights
    // set before the miner registered (and, with commit-reveal, committed before it), normalise.
    let mut weights: SparseMatrix = checked
        .weights
        .into_iter()
        .enumerate()
        .map(|(i, mut row)| {
            match prelude.weight_filter(i) {
                Some(keeps) => row.retain(|&(j, _)| keeps(usize::from(j))),
                None => row.clear(),
            }
            row
        })
        .collect();
    weights.iter_mut().for_each(|row| normalize_row(row));

    let consensus = consensus(&prelude.active_stake, &weights, n, params.kappa_fixed());
    // Bonds follow W + β·(W̄ − W); with the default β = 1 that is W̄ and W is not kept.
    let beta = params.bonds_penalty_fixed();
    let raw_weights = (beta != ONE).then(|| weights.clone());
    let mut clipped = weights;
    let mut validator_trust = vec![ZERO; n];
    let mut incentive = vec![ZERO; n];
    // One sweep per row while it is in cache: clip it, sum it, add its stake-weighted votes.
    for ((row, trust), stake) in clipped
        .iter_mut()
        .zip(&mut validator_trust)
        .zip(&prelude.active_stake)
    {
        clip_row(row, &consensus);
        *trust = row_sum(row);
        for &(j, w) in row.iter() {
            if let Some(rank) = incentive.get_mut(usize::from(j)) {
                *rank = rank.saturating_add(mul(*stake, w));
            }
        }
    }
    normalize(&mut incentive);
    let weights_for_bonds = match raw_weights {
        Some(raw) => interpolate(raw, &clipped, beta),
        None => clipped,
    };

    let mut bonds = checked.bonds;
    bonds
        .iter_mut()
        .for_each(|row| row.retain(|&(j, _)| prelude.keeps_bond_to(usize::from(j))));
    let (dividends, new_bonds) = if params.yuma3 {
        yuma3_bonds(
            input,
            &prelude,
            &weights_for_bonds,
            &bonds,
            &consensus,
            &incentive,
            n,
        )
    } else {
        original_bonds(
            &prelude,
            &weights_for_bonds,
            bonds,
            &incentive,
            n,
            params.ema_alpha(),
        )
    };

    Ok(common::finish(
        input,
        prelude,
        consensus,
        incentive,
        dividends,
        validator_trust,
        new_bonds,
    ))
}

/// Sum of one sparse row.
fn row_sum(row: &[(u16, I32F32)]) -> I32F32 {
    row.iter().fold(ZERO, |acc, (_, v)| acc.saturating_add(*v))
}

/// Scales a row to sum to 1 when its sum is positive.
fn normalize_row(row: &mut [(u16, I32F32)]) {
    let total = row_sum(row);
    if total > ZERO {
        let div = FastDiv::new(total);
        row.iter_mut().for_each(|(_, v)| *v = div.apply(*v));
    }
}

/// One divisor per column, folded over the column's entries with `fold` from 0.
fn column_divisors(
    matrix: &SparseMatrix,
    n: usize,
    fold: impl Fn(I32F32, I32F32) -> I32F32,
) -> Vec<FastDiv> {
    let mut totals = vec![ZERO; n];
    for &(j, v) in matrix.iter().flatten() {
        if let Some(total) = totals.get_mut(usize::from(j)) {
            *total = fold(*total, v);
        }
    }
    totals.into_iter().map(FastDiv::new).collect()
}

/// Divides each entry of column `j` by `divisors[j]` unless that divisor is 0.
fn divide_columns(matrix: &mut SparseMatrix, divisors: &[FastDiv]) {
    for (j, v) in matrix.iter_mut().flatten() {
        if let Some(div) = divisors.get(usize::from(*j)) {
            *v = div.apply_unless_zero(*v);
        }
    }
}

/// Divides every entry by its column's sum (columns summing to 0 are left alone).
fn col_normalize(matrix: &mut SparseMatrix, n: usize) {
    let divisors = column_divisors(matrix, n, |total, v| total.saturating_add(v));
    divide_columns(matrix, &divisors);
}

/// Divides every entry by its column's maximum, so each column's largest entry becomes 1.
fn col_max_upscale(matrix: &mut SparseMatrix, n: usize) {
    let divisors = column_divisors(matrix, n, |max, v| max.max(v));
    divide_columns(matrix, &divisors);
}

/// Columns transposed at a time by [`consensus`]: 64 columns of a 1 024-validator subnet are
/// 1 MiB, so a block stays in cache while its medians are taken.
const CONSENSUS_BLOCK_COLUMNS: usize = 64;

/// Consensus per column: the stake-weighted κ-quantile over validators with active stake,
/// missing entries counting as 0.
fn consensus(
    active_stake: &[I32F32],
    weights: &SparseMatrix,
    n: usize,
    kappa: I32F32,
) -> Vec<I32F32> {
    let mut voter_stake: Vec<I32F32> = active_stake.iter().copied().filter(|s| *s > ZERO).collect();
    normalize(&mut voter_stake);
    let total_stake = sum(&voter_stake);
    let minority = total_stake.saturating_sub(kappa);
    let voters: Vec<(&[(u16, I32F32)], I32F32)> = active_stake
        .iter()
        .zip(weights)
        .filter(|(s, _)| **s > ZERO)
        .map(|(_, row)| row.as_slice())
        .zip(voter_stake.iter().copied())
        .collect();
    let mut result = vec![ZERO; n];
    if voters.is_empty() {
        return result;
    }
    // Rows are sorted by uid, so one cursor per voter walks its row block by block.
    let mut cursors = vec![0usize; voters.len()];
    let mut columns: Vec<Vec<Entry>> = (0..CONSENSUS_BLOCK_COLUMNS)
        .map(|_| Vec::with_capacity(voters.len().saturating_add(1)))
        .collect();
    for (block, out) in result.chunks_mut(CONSENSUS_BLOCK_COLUMNS).enumerate() {
        let first = block.saturating_mul(CONSENSUS_BLOCK_COLUMNS);
        columns.iter_mut().for_each(Vec::clear);
        let mut given = [ZERO; CONSENSUS_BLOCK_COLUMNS];
        for ((row, stake), cursor) in voters.iter().zip(cursors.iter_mut()) {
            while let Some(&(j, w)) = row.get(*cursor) {
                let offset = usize::from(j).wrapping_sub(first);
                let (Some(column), Some(total)) = (columns.get_mut(offset), given.get_mut(offset))
                else {
                    break;
                };
                column.push((w, *stake));
                *total = total.saturating_add(*stake);
                *cursor = cursor.saturating_add(1);
            }
        }
        for ((median, column), given) in out.iter_mut().zip(columns.iter_mut()).zip(given) {
            // Voters that gave this miner no weight score 0: one entry carries their stake.
            if column.len() < voters.len() {
                column.push((ZERO, total_stake.saturating_sub(given)));
            }
            *median = weighted_median(column, minority);
        }
    }
    result
}

/// `W̄_ij = min(W_ij, C_j)` in place for one row; entries clipped to 0 are dropped.
fn clip_row(row: &mut Vec<(u16, I32F32)>, consensus: &[I32F32]) {
    row.retain_mut(|(j, w)| {
        let c = consensus.get(usize::from(*j)).copied().unwrap_or(ZERO);
        if c < *w {
            *w = c;
            c > ZERO
        } else {
            true
        }
    });
}

/// `W + β·(W̄ − W)` for `β` strictly between 0 and 1 (or 0), keeping positive entries.
fn interpolate(raw: SparseMatrix, clipped: &SparseMatrix, ratio: I32F32) -> SparseMatrix {
    if ratio == ZERO {
        return raw;
    }
    raw.iter()
        .zip(clipped)
        .map(|(raw_row, clipped_row)| {
            merge_rows(raw_row, clipped_row, |_, w, c| {
                w.saturating_add(mul(ratio, c.saturating_sub(w)))
            })
        })
        .collect()
}

/// Merges two sorted sparse rows entry by entry: `f(j, new, old)` for every uid in either (the
/// other side counting as 0); keeps positive results.
fn merge_rows(
    new: &[(u16, I32F32)],
    old: &[(u16, I32F32)],
    mut f: impl FnMut(u16, I32F32, I32F32) -> I32F32,
) -> Vec<(u16, I32F32)> {
    let mut out = Vec::with_capacity(new.len().max(old.len()));
    let mut emit = |j: u16, x: I32F32, y: I32F32| {
        let value = f(j, x, y);
        if value > ZERO {
            out.push((j, value));
        }
    };
    // Steady state: a validator weights the miners it is bonded to, so the uids coincide.
    if new.len() == old.len() && new.iter().zip(old).all(|(a, b)| a.0 == b.0) {
        new.iter()
            .zip(old)
            .for_each(|(&(j, x), &(_, y))| emit(j, x, y));
        return out;
    }
    let (mut a, mut b) = (0usize, 0usize);
    loop {
        match (new.get(a), old.get(b)) {
            (Some(&(ja, x)), Some(&(jb, y))) if ja == jb => {
                emit(ja, x, y);
                (a, b) = (a.wrapping_add(1), b.wrapping_add(1));
            }
            (Some(&(ja, x)), Some(&(jb, _))) if ja < jb => {
                emit(ja, x, ZERO);
                a = a.wrapping_add(1);
            }
            (Some(&(ja, x)), None) => {
                emit(ja, x, ZERO);
                a = a.wrapping_add(1);
            }
            (_, Some(&(jb, y))) => {
                emit(jb, ZERO, y);
                b = b.wrapping_add(1);
            }
            (None, None) => break,
        }
    }
    out
}

/// Yuma 3: per-element EMA of absolute bonds, dividends from column-normalised bonds.
///
/// A bond to a miner that the validator omits decays exactly like one to a miner it weights 0
/// (docs/adr/002-yuma3-omitted-bonds-decay.md).
fn yuma3_bonds(
    input: &EpochInput,
    prelude: &Prelude<'_>,
    weights_for_bonds: &SparseMatrix,
    bonds: &SparseMatrix,
    consensus: &[I32F32],
    incentive: &[I32F32],
    n: usize,
) -> (Vec<I32F32>, Vec<Vec<(u16, u16)>>) {
    let params = &input.params;
    let liquid = (params.liquid_alpha && consensus.iter().any(|c| *c != ZERO))
        .then(|| LiquidAlpha::new(params));
    let fixed_alpha = params.ema_alpha();
    let new_bonds: SparseMatrix = weights_for_bonds
        .iter()
        .zip(bonds)
        .map(|(w_row, b_row)| {
            merge_rows(w_row, b_row, |j, w, b| {
                let alpha = match &liquid {
                    Some(la) => {
                        la.alpha(w, b, consensus.get(usize::from(j)).copied().unwrap_or(ZERO))
                    }
                    None => fixed_alpha,
                };
                let decayed = mul(ONE.saturating_sub(alpha), b);
                let gained = mul(alpha, w).max(ZERO);
                decayed.saturating_add(gained).min(ONE)
            })
        })
        .collect();
    // Dividends read the column-normalised bonds; normalise on the fly instead of copying.
    let columns = column_divisors(&new_bonds, n, |total, b| total.saturating_add(b));
    let mut dividends: Vec<I32F32> = new_bonds
        .iter()
        .zip(&prelude.active_stake)
        .map(|(row, a)| {
            let bonded = row.iter().fold(ZERO, |acc, &(j, b)| {
                let j = usize::from(j);
                let share = columns.get(j).map_or(b, |div| div.apply_unless_zero(b));
                acc.saturating_add(mul(share, incentive.get(j).copied().unwrap_or(ZERO)))
            });
            mul(bonded, *a)
        })
        .collect();
    normalize(&mut dividends);
    (dividends, to_stored(&new_bonds))
}

/// Original Yuma: column-normalised bond EMA with a fixed α, stored column max-upscaled.
fn original_bonds(
    prelude: &Prelude,
    weights_for_bonds: &SparseMatrix,
    mut bonds: SparseMatrix,
    incentive: &[I32F32],
    n: usize,
    alpha: I32F32,
) -> (Vec<I32F32>, Vec<Vec<(u16, u16)>>) {
    col_normalize(&mut bonds, n);
    let mut delta: SparseMatrix = weights_for_bonds
        .iter()
        .zip(&prelude.active_stake)
        .map(|(row, a)| row.iter().map(|&(j, w)| (j, mul(w, *a))).collect())
        .collect();
    col_normalize(&mut delta, n);
    let keep = ONE.saturating_sub(alpha);
    let mut ema: SparseMatrix = delta
        .iter()
        .zip(&bonds)
        .map(|(d_row, b_row)| {
            merge_rows(d_row, b_row, |_, d, b| {
                mul(alpha, d).saturating_add(mul(keep, b))
            })
        })
        .collect();
    col_normalize(&mut ema, n);
    let mut dividends: Vec<I32F32> = ema
        .iter()
        .map(|row| {
            row.iter().fold(ZERO, |acc, &(j, b)| {
                acc.saturating_add(mul(
                    incentive.get(usize::from(j)).copied().unwrap_or(ZERO),
                    b,
                ))
            })
        })
        .collect();
    normalize(&mut dividends);
    col_max_upscale(&mut ema, n);
    (dividends, to_stored(&ema))
}

/// Stored form of bond proportions: `floor(b · 65535)` per entry.
fn to_stored(bonds: &SparseMatrix) -> Vec<Vec<(u16, u16)>> {
    bonds
        .iter()
        .map(|row| {
            row.iter()
                .map(|&(j, b)| (j, fixed_proportion_to_u16(b)))
                .collect()
        })
        .collect()
}
