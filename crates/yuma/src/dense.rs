//! The reference epoch over dense `n × n` matrices, written for clarity and kept for tests.
//!
//! It shares only the vector steps (`common`) with the sparse implementation; the matrix work,
//! the consensus quantile (by sorting) and the divisions (plain `safe_div`) are independent, so
//! `dense == sparse` checks the production code against a direct reading of the algorithm.

use crate::common::{self, Prelude};
use crate::input::{CanonicalRow, EpochInput, EpochOutput, YumaError};
use crate::liquid_alpha::LiquidAlpha;
use crate::math::{ONE, ZERO, sum};
use crate::median::{Entry, weighted_median_by_sort};
use tao_primitives::{I32F32, SafeDiv, fixed_proportion_to_u16};

type Matrix = Vec<Vec<I32F32>>;

/// Runs one Yuma Consensus epoch on dense matrices. Same contract as [`crate::epoch`]; use it
/// for tests and small subnets, it is `O(n²)` in time and memory.
///
/// # Errors
/// [`YumaError`] when the input's shapes, uids or parameters are invalid.
pub fn epoch_dense(input: &EpochInput) -> Result<EpochOutput, YumaError> {
    let checked = input.check()?;
    let n = checked.n;
    let params = &input.params;
    let prelude = Prelude::new(&checked);

    let mut weights = densify(&checked.weights, n, I32F32::from_num);
    for (i, row) in weights.iter_mut().enumerate() {
        let keeps = prelude.weight_filter(i);
        for (j, w) in row.iter_mut().enumerate() {
            if !keeps.as_ref().is_some_and(|keeps| keeps(j)) {
                *w = ZERO;
            }
        }
        let total = sum(row);
        if total > ZERO {
            row.iter_mut().for_each(|w| *w = w.safe_div(total));
        }
    }

    let active_stake = &prelude.active_stake;
    let consensus = column_quantiles(active_stake, &weights, params.kappa_fixed());
    let clipped: Matrix = weights
        .iter()
        .map(|row| {
            row.iter()
                .zip(&consensus)
                .map(|(w, c)| (*w).min(*c))
                .collect()
        })
        .collect();
    let validator_trust: Vec<I32F32> = clipped.iter().map(|row| sum(row)).collect();
    let mut incentive = matmul(&clipped, active_stake, n);
    normalize_plain(&mut incentive);

    let beta = params.bonds_penalty_fixed();
    let weights_for_bonds: Matrix = weights
        .iter()
        .zip(&clipped)
        .map(|(w_row, c_row)| {
            w_row
                .iter()
                .zip(c_row)
                .map(|(w, c)| w.saturating_add(beta.saturating_mul(c.saturating_sub(*w))))
                .collect()
        })
        .collect();
    let mut bonds = densify(&checked.bonds, n, checked.bond_reader());
    for row in &mut bonds {
        for (j, b) in row.iter_mut().enumerate() {
            if !prelude.keeps_bond_to(j) {
                *b = ZERO;
            }
        }
    }

    let (dividends, stored) = if params.yuma3 {
        let liquid = (params.liquid_alpha && consensus.iter().any(|c| *c != ZERO))
            .then(|| LiquidAlpha::new(params));
        let fixed_alpha = params.ema_alpha();
        let new_bonds: Matrix = weights_for_bonds
            .iter()
            .zip(&bonds)
            .map(|(w_row, b_row)| {
                w_row
                    .iter()
                    .zip(b_row)
                    .zip(&consensus)
                    .map(|((w, b), c)| {
                        let alpha = liquid.map_or(fixed_alpha, |la| la.alpha(*w, *b, *c));
                        ONE.saturating_sub(alpha)
                            .saturating_mul(*b)
                            .saturating_add(alpha.saturating_mul(*w).max(ZERO))
                            .min(ONE)
                    })
                    .collect()
            })
            .collect();
        let mut normalized = new_bonds.clone();
        col_normalize(&mut normalized, n);
        let mut dividends: Vec<I32F32> = normalized
            .iter()
            .zip(active_stake)
            .map(|(row, a)| dot(row, &incentive).saturating_mul(*a))
            .collect();
        normalize_plain(&mut dividends);
        (dividends, to_stored(&new_bonds))
    } else {
        col_normalize(&mut bonds, n);
        let mut delta: Matrix = weights_for_bonds
            .iter()
            .zip(active_stake)
            .map(|(row, a)| row.iter().map(|w| w.saturating_mul(*a)).collect())
            .collect();
        col_normalize(&mut delta, n);
        let alpha = params.ema_alpha();
        let keep = ONE.saturating_sub(alpha);
        let mut ema: Matrix = delta
            .iter()
            .zip(&bonds)
            .map(|(d_row, b_row)| {
                d_row
                    .iter()
                    .zip(b_row)
                    .map(|(d, b)| {
                        alpha
                            .saturating_mul(*d)
                            .saturating_add(keep.saturating_mul(*b))
                    })
                    .collect()
            })
            .collect();
        col_normalize(&mut ema, n);
        let mut dividends: Vec<I32F32> = ema.iter().map(|row| dot(row, &incentive)).collect();
        normalize_plain(&mut dividends);
        let maxima: Vec<I32F32> = (0..n)
            .map(|j| {
                ema.iter()
                    .filter_map(|row| row.get(j))
                    .fold(ZERO, |m, v| m.max(*v))
            })
            .collect();
        for row in &mut ema {
            for (v, max) in row.iter_mut().zip(&maxima) {
                if *max != ZERO {
                    *v = v.safe_div(*max);
                }
            }
        }
        (dividends, to_stored(&ema))
    };

    Ok(common::finish(
        input,
        prelude,
        consensus,
        incentive,
        dividends,
        validator_trust,
        stored,
    ))
}

fn densify(rows: &[CanonicalRow<'_>], n: usize, read: impl Fn(u16) -> I32F32) -> Matrix {
    rows.iter()
        .map(|row| {
            let mut dense = vec![ZERO; n];
            for &(j, v) in row.iter() {
                if let Some(cell) = dense.get_mut(usize::from(j)) {
                    *cell = read(v);
                }
            }
            dense
        })
        .collect()
}

fn normalize_plain(values: &mut [I32F32]) {
    let total = sum(values);
    if total != ZERO {
        values.iter_mut().for_each(|v| *v = v.safe_div(total));
    }
}

fn dot(a: &[I32F32], b: &[I32F32]) -> I32F32 {
    a.iter()
        .zip(b)
        .fold(ZERO, |acc, (x, y)| acc.saturating_add(x.saturating_mul(*y)))
}

/// `result_j = Σ_i vector_i · matrix_ij`.
fn matmul(matrix: &Matrix, vector: &[I32F32], n: usize) -> Vec<I32F32> {
    let mut result = vec![ZERO; n];
    for (row, s) in matrix.iter().zip(vector) {
        for (cell, w) in result.iter_mut().zip(row) {
            *cell = cell.saturating_add(s.saturating_mul(*w));
        }
    }
    result
}

fn col_normalize(matrix: &mut Matrix, n: usize) {
    let totals: Vec<I32F32> = (0..n)
        .map(|j| {
            matrix
                .iter()
                .filter_map(|row| row.get(j))
                .fold(ZERO, |acc, v| acc.saturating_add(*v))
        })
        .collect();
    for row in matrix.iter_mut() {
        for (v, total) in row.iter_mut().zip(&totals) {
            if *total != ZERO {
                *v = v.safe_div(*total);
            }
        }
    }
}

/// Consensus per column over validators with positive active stake (renormalised).
fn column_quantiles(active_stake: &[I32F32], weights: &Matrix, kappa: I32F32) -> Vec<I32F32> {
    let voters: Vec<(I32F32, &Vec<I32F32>)> = active_stake
        .iter()
        .zip(weights)
        .filter(|(s, _)| **s > ZERO)
        .map(|(s, row)| (*s, row))
        .collect();
    let mut stakes: Vec<I32F32> = voters.iter().map(|(s, _)| *s).collect();
    normalize_plain(&mut stakes);
    let minority = sum(&stakes).saturating_sub(kappa);
    let n = weights.len();
    (0..n)
        .map(|j| {
            let entries: Vec<Entry> = voters
                .iter()
                .zip(&stakes)
                .map(|((_, row), s)| (row.get(j).copied().unwrap_or(ZERO), *s))
                .collect();
            weighted_median_by_sort(&entries, minority)
        })
        .collect()
}

/// Stored form: positive entries as `floor(b · 65535)`.
fn to_stored(matrix: &Matrix) -> Vec<Vec<(u16, u16)>> {
    matrix
        .iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .filter(|(_, v)| **v > ZERO)
                .filter_map(|(j, v)| {
                    u16::try_from(j)
                        .ok()
                        .map(|j| (j, fixed_proportion_to_u16(*v)))
                })
                .collect()
        })
        .collect()
}
