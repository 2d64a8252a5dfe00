//! The production epoch over sparse rows: `O(nnz(W) + nnz(B) + n log n)`.

use crate::input::{Checked, EpochInput, EpochOutput, SparseMatrix, YumaError};
use crate::liquid_alpha::LiquidAlpha;
use crate::math::{FastDiv, ONE, ZERO, normalize, sum};
use crate::median::{Entry, weighted_median};
use crate::common::{self, Prelude};
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
        .iter()
        .enumerate()
        .map(|(i, row)| {
            if !prelude.old_permit.get(i).copied().unwrap_or(false) {
                return Vec::new();
            }
            row.iter()
                .copied()
                .filter(|&(j, _)| prelude.keeps_weight(i, usize::from(j)))
                .collect()
        })
        .collect();
    weights.iter_mut().for_each(|row| normalize_row(row));

    let consensus = consensus(&prelude.active_stake, &weights, n, params.kappa_fixed());
    let clipped = clip(&weights, &consensus);
    let validator_trust: Vec<I32F32> = clipped.iter().map(|row| row_sum(row)).collect();
    let mut incentive = col_weighted_sum(&clipped, &prelude.active_stake, n);
    normalize(&mut incentive);

    let weights_for_bonds = interpolate(&weights, &clipped, params.bonds_penalty_fixed());
    let mut bonds = checked.bonds.clone();
    bonds.iter_mut().for_each(|row| row.retain(|&(j, _)| prelude.keeps_bond_to(usize::from(j))));
    let (dividends, new_bonds) = if params.yuma3 {
        yuma3_bonds(&checked, &prelude, &weights_for_bonds, bonds, &consensus, &incentive)
    } else {
        original_bonds(&prelude, &weights_for_bonds, bonds, &incentive, n, params.ema_alpha())
    };

    Ok(common::finish(
        &checked,
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

/// `result_j = Σ_i vector_i · matrix_ij`.
fn col_weighted_sum(matrix: &SparseMatrix, vector: &[I32F32], n: usize) -> Vec<I32F32> {
    let mut result = vec![ZERO; n];
    for (row, scale) in matrix.iter().zip(vector) {
        for &(j, v) in row {
            if let Some(cell) = result.get_mut(usize::from(j)) {
                *cell = cell.saturating_add(scale.saturating_mul(v));
            }
        }
    }
    result
}

/// Divides every entry by its column's sum (columns summing to 0 are left alone).
fn col_normalize(matrix: &mut SparseMatrix, n: usize) {
    let mut totals = vec![ZERO; n];
    for &(j, v) in matrix.iter().flatten() {
        if let Some(total) = totals.get_mut(usize::from(j)) {
            *total = total.saturating_add(v);
        }
    }
    divide_columns(matrix, &totals);
}

/// Divides every entry by its column's maximum, so each column's largest entry becomes 1.
fn col_max_upscale(matrix: &mut SparseMatrix, n: usize) {
    let mut maxima = vec![ZERO; n];
    for &(j, v) in matrix.iter().flatten() {
        if let Some(max) = maxima.get_mut(usize::from(j)) {
            *max = (*max).max(v);
        }
    }
    divide_columns(matrix, &maxima);
}

/// Divides each entry of column `j` by `divisors[j]` unless that divisor is 0.
fn divide_columns(matrix: &mut SparseMatrix, divisors: &[I32F32]) {
    let divs: Vec<FastDiv> = divisors.iter().map(|d| FastDiv::new(*d)).collect();
    for (j, v) in matrix.iter_mut().flatten() {
        let j = usize::from(*j);
        if let (Some(div), Some(d)) = (divs.get(j), divisors.get(j))
            && *d != ZERO
        {
            *v = div.apply(*v);
        }
    }
}

/// Consensus per column: the stake-weighted κ-quantile over validators with active stake,
/// missing entries counting as 0.
fn consensus(active_stake: &[I32F32], weights: &SparseMatrix, n: usize, kappa: I32F32) -> Vec<I32F32> {
    let mut voter_stake: Vec<I32F32> = active_stake.iter().copied().filter(|s| *s > ZERO).collect();
    normalize(&mut voter_stake);
    let minority = sum(&voter_stake).saturating_sub(kappa);
    let voters = voter_stake.len();
    // Column-major scores of the voters; absent entries stay 0.
    let mut columns: Vec<Vec<Entry>> = (0..n).map(|_| Vec::new()).collect();
    let voter_rows = active_stake.iter().zip(weights).filter(|(s, _)| **s > ZERO).map(|(_, row)| row);
    for (voter, row) in voter_rows.enumerate() {
        let stake = voter_stake.get(voter).copied().unwrap_or(ZERO);
        for &(j, w) in row {
            if let Some(column) = columns.get_mut(usize::from(j)) {
                column.push((w, stake));
            }
        }
    }
    columns
        .iter_mut()
        .map(|column| {
            if voters == 0 {
                return ZERO;
            }
            // Voters that gave this miner no weight score 0: one entry carries their stake.
            let given = column.iter().fold(ZERO, |acc, (_, s)| acc.saturating_add(*s));
            if column.len() < voters {
                column.push((ZERO, sum(&voter_stake).saturating_sub(given)));
            }
            weighted_median(column, minority)
        })
        .collect()
}

/// `W̄_ij = min(W_ij, C_j)`; entries clipped to 0 are dropped.
fn clip(weights: &SparseMatrix, consensus: &[I32F32]) -> SparseMatrix {
    weights
        .iter()
        .map(|row| {
            row.iter()
                .filter_map(|&(j, w)| {
                    let c = consensus.get(usize::from(j)).copied().unwrap_or(ZERO);
                    if c < w {
                        (c > ZERO).then_some((j, c))
                    } else {
                        Some((j, w))
                    }
                })
                .collect()
        })
        .collect()
}

/// `W + β·(W̄ − W)`, keeping positive entries.
fn interpolate(raw: &SparseMatrix, clipped: &SparseMatrix, ratio: I32F32) -> SparseMatrix {
    if ratio == ZERO {
        return raw.clone();
    }
    if ratio == ONE {
        return clipped.clone();
    }
    raw.iter()
        .zip(clipped)
        .map(|(raw_row, clipped_row)| {
            // Clipping only lowers or drops entries of the same row, so walk both in step.
            let mut clipped_iter = clipped_row.iter().peekable();
            raw_row
                .iter()
                .filter_map(|&(j, w)| {
                    let c = match clipped_iter.peek() {
                        Some(&&(cj, cv)) if cj == j => {
                            clipped_iter.next();
                            cv
                        }
                        _ => ZERO,
                    };
                    let value = w.saturating_add(ratio.saturating_mul(c.saturating_sub(w)));
                    (value > ZERO).then_some((j, value))
                })
                .collect()
        })
        .collect()
}

/// Merges two sorted sparse rows entry by entry: `f(j, new, old)` for every uid in either.
fn merge_rows(
    new: &[(u16, I32F32)],
    old: &[(u16, I32F32)],
    mut f: impl FnMut(u16, I32F32, I32F32) -> Option<I32F32>,
) -> Vec<(u16, I32F32)> {
    let mut out = Vec::with_capacity(new.len().max(old.len()));
    let (mut a, mut b) = (new.iter().peekable(), old.iter().peekable());
    loop {
        let (j, x, y) = match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(&&(ja, va)), Some(&&(jb, _))) if ja < jb => {
                a.next();
                (ja, va, ZERO)
            }
            (Some(&&(ja, va)), Some(&&(jb, vb))) if ja == jb => {
                a.next();
                b.next();
                (ja, va, vb)
            }
            (Some(_), Some(&&(jb, vb))) | (None, Some(&&(jb, vb))) => {
                b.next();
                (jb, ZERO, vb)
            }
            (Some(&&(ja, va)), None) => {
                a.next();
                (ja, va, ZERO)
            }
        };
        if let Some(value) = f(j, x, y).filter(|v| *v > ZERO) {
            out.push((j, value));
        }
    }
    out
}

/// Yuma 3: per-element EMA of absolute bonds, dividends from column-normalised bonds.
///
/// A bond to a miner that the validator omits decays exactly like one to a miner it weights 0
/// (docs/adr/002-yuma3-omitted-bonds-decay.md).
fn yuma3_bonds(
    checked: &Checked<'_>,
    prelude: &Prelude,
    weights_for_bonds: &SparseMatrix,
    bonds: SparseMatrix,
    consensus: &[I32F32],
    incentive: &[I32F32],
) -> (Vec<I32F32>, Vec<Vec<(u16, u16)>>) {
    let params = &checked.input.params;
    let liquid = (params.liquid_alpha && consensus.iter().any(|c| *c != ZERO)).then(|| LiquidAlpha::new(params));
    let fixed_alpha = params.ema_alpha();
    let new_bonds: SparseMatrix = weights_for_bonds
        .iter()
        .zip(&bonds)
        .map(|(w_row, b_row)| {
            merge_rows(w_row, b_row, |j, w, b| {
                let alpha = match &liquid {
                    Some(la) => la.alpha(w, b, consensus.get(usize::from(j)).copied().unwrap_or(ZERO)),
                    None => fixed_alpha,
                };
                let decayed = ONE.saturating_sub(alpha).saturating_mul(b);
                let gained = alpha.saturating_mul(w).max(ZERO);
                Some(decayed.saturating_add(gained).min(ONE))
            })
        })
        .collect();
    let mut normalized = new_bonds.clone();
    col_normalize(&mut normalized, checked.n);
    let mut dividends: Vec<I32F32> = normalized
        .iter()
        .zip(&prelude.active_stake)
        .map(|(row, a)| {
            let bonded = row.iter().fold(ZERO, |acc, &(j, b)| {
                acc.saturating_add(b.saturating_mul(incentive.get(usize::from(j)).copied().unwrap_or(ZERO)))
            });
            bonded.saturating_mul(*a)
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
        .map(|(row, a)| row.iter().map(|&(j, w)| (j, w.saturating_mul(*a))).collect())
        .collect();
    col_normalize(&mut delta, n);
    let keep = ONE.saturating_sub(alpha);
    let mut ema: SparseMatrix = delta
        .iter()
        .zip(&bonds)
        .map(|(d_row, b_row)| {
            merge_rows(d_row, b_row, |_, d, b| {
                Some(alpha.saturating_mul(d).saturating_add(keep.saturating_mul(b)))
            })
        })
        .collect();
    col_normalize(&mut ema, n);
    let mut dividends: Vec<I32F32> = ema
        .iter()
        .map(|row| {
            row.iter().fold(ZERO, |acc, &(j, b)| {
                acc.saturating_add(incentive.get(usize::from(j)).copied().unwrap_or(ZERO).saturating_mul(b))
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
        .map(|row| row.iter().map(|&(j, b)| (j, fixed_proportion_to_u16(b))).collect())
        .collect()
}
