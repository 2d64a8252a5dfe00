//! The production epoch over compressed sparse rows: `O(nnz(W) + nnz(B) + n log n)`.

use crate::common::{self, Prelude};
use crate::csr::{Csr, CsrRow};
use crate::input::{CanonicalRow, Checked, EpochInput, EpochOutput, YumaError};
use crate::liquid_alpha::LiquidAlpha;
use crate::math::{FastDiv, ONE, ZERO, mul, normalize, sum};
use crate::median::{Entry, weighted_median};
use tao_primitives::{I32F32, fixed_proportion_to_u16};

/// Runs one Yuma Consensus epoch (sparse implementation).
///
/// Allocates its working matrices afresh; a caller running many epochs should keep a
/// [`Workspace`] instead.
///
/// # Errors
/// [`YumaError`] when the input's shapes, uids or parameters are invalid; nothing is computed.
pub fn epoch(input: &EpochInput) -> Result<EpochOutput, YumaError> {
    Workspace::default().epoch(input)
}

/// Reusable memory for [`epoch`]: the working matrices of one epoch, kept between epochs so
/// that the next one does not pay for fresh pages (on a 4 096-neuron subnet they are ~100 MB).
#[derive(Debug, Default)]
pub struct Workspace {
    weights: Csr,
    raw_weights: Csr,
    bonds: Csr,
    scratch: Csr,
    columns: Vec<Vec<Entry>>,
}

impl Workspace {
    /// Runs one epoch, reusing this workspace's memory. Same result as [`epoch`].
    ///
    /// # Errors
    /// [`YumaError`] when the input's shapes, uids or parameters are invalid.
    pub fn epoch(&mut self, input: &EpochInput) -> Result<EpochOutput, YumaError> {
        let checked = input.check()?;
        let n = checked.n;
        let params = &input.params;
        let prelude = Prelude::new(&checked);

        masked_weights(&mut self.weights, &checked, &prelude, n);
        let consensus = consensus(
            &mut self.columns,
            &prelude.active_stake,
            &self.weights,
            n,
            params.kappa_fixed(),
        );
        // Bonds follow W + β·(W̄ − W); with the default β = 1 that is W̄ and W is not kept.
        let beta = params.bonds_penalty_fixed();
        if beta != ONE {
            self.raw_weights.clone_from(&self.weights);
        }
        let (validator_trust, incentive) =
            clip_and_rank(&mut self.weights, &consensus, &prelude.active_stake, n);
        if beta != ONE {
            interpolate(&mut self.scratch, &self.raw_weights, &self.weights, beta);
            core::mem::swap(&mut self.weights, &mut self.scratch);
        }
        carried_bonds(&mut self.bonds, &checked, &prelude);

        let (dividends, new_bonds) = if params.yuma3 {
            yuma3_bonds(
                &mut self.scratch,
                input,
                &prelude,
                &self.weights,
                &self.bonds,
                &consensus,
                &incentive,
                n,
            )
        } else {
            original_bonds(
                &mut self.scratch,
                &prelude,
                &mut self.weights,
                &self.bonds,
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
}

/// Weights of permitted validators after masking, each row normalised to sum to 1.
fn masked_weights(weights: &mut Csr, checked: &Checked<'_>, prelude: &Prelude<'_>, n: usize) {
    weights.clear();
    weights.reserve(n, total_len(&checked.weights));
    for (i, row) in checked.weights.iter().enumerate() {
        if let Some(keeps) = prelude.weight_filter(i) {
            for &(j, w) in row.iter() {
                if keeps(usize::from(j)) {
                    weights.push(j, I32F32::from_num(w));
                }
            }
            // Non-negative values: `sum > 0` (the live row test) is `sum != 0` (`normalize`'s).
            normalize(weights.open_row_mut());
        }
        weights.end_row();
    }
}

/// Entries in all rows together.
fn total_len(rows: &[CanonicalRow<'_>]) -> usize {
    rows.iter()
        .map(|row| row.len())
        .fold(0, usize::saturating_add)
}

/// Clips the weights to consensus in place (entries clipped to 0 are dropped) and returns
/// validator trust (each row's clipped sum) and incentive (normalised stake-weighted ranks).
fn clip_and_rank(
    weights: &mut Csr,
    consensus: &[I32F32],
    active_stake: &[I32F32],
    n: usize,
) -> (Vec<I32F32>, Vec<I32F32>) {
    let mut trust = vec![ZERO; n];
    let mut ranks = vec![ZERO; n];
    weights.retain(|i, j, w| {
        let c = consensus.get(usize::from(j)).copied().unwrap_or(ZERO);
        if c < *w {
            *w = c;
            if c <= ZERO {
                return false;
            }
        }
        if let (Some(t), Some(r)) = (trust.get_mut(i), ranks.get_mut(usize::from(j))) {
            *t = t.saturating_add(*w);
            *r = r.saturating_add(mul(active_stake.get(i).copied().unwrap_or(ZERO), *w));
        }
        true
    });
    normalize(&mut ranks);
    (trust, ranks)
}

/// `out = W + β·(W̄ − W)` for `0 ≤ β < 1`, keeping positive entries.
fn interpolate(out: &mut Csr, raw: &Csr, clipped: &Csr, ratio: I32F32) {
    out.clear();
    for (raw_row, clipped_row) in raw.rows().zip(clipped.rows()) {
        merge(raw_row, clipped_row, |j, w, c| {
            let value = w.saturating_add(mul(ratio, c.saturating_sub(w)));
            if value > ZERO {
                out.push(j, value);
            }
        });
        out.end_row();
    }
}

/// The stored bonds as the epoch reads them: converted to fixed point, with bonds to neurons
/// registered since the previous epoch dropped.
fn carried_bonds(bonds: &mut Csr, checked: &Checked<'_>, prelude: &Prelude<'_>) {
    let carries: Vec<bool> = (0..checked.n).map(|j| prelude.keeps_bond_to(j)).collect();
    let read = checked.bond_reader();
    bonds.clear();
    bonds.reserve(checked.n, total_len(&checked.bonds));
    for row in &checked.bonds {
        for &(j, b) in row.iter() {
            if carries.get(usize::from(j)).copied().unwrap_or(false) {
                bonds.push(j, read(b));
            }
        }
        bonds.end_row();
    }
}

/// Walks two uid-sorted rows together: `f(uid, new, old)` for every uid in either, the side
/// without it counting as 0.
fn merge(new: CsrRow<'_>, old: CsrRow<'_>, mut f: impl FnMut(u16, I32F32, I32F32)) {
    let ((new_cols, new_vals), (old_cols, old_vals)) = (new, old);
    // Steady state: a validator weights the miners it is bonded to, so the uids coincide.
    if new_cols == old_cols {
        for ((&j, &x), &y) in new_cols.iter().zip(new_vals).zip(old_vals) {
            f(j, x, y);
        }
        return;
    }
    let (mut a, mut b) = (0usize, 0usize);
    loop {
        match (new_cols.get(a), old_cols.get(b)) {
            (Some(&ja), Some(&jb)) if ja == jb => {
                f(ja, value_at(new_vals, a), value_at(old_vals, b));
                (a, b) = (a.wrapping_add(1), b.wrapping_add(1));
            }
            (Some(&ja), Some(&jb)) if ja < jb => {
                f(ja, value_at(new_vals, a), ZERO);
                a = a.wrapping_add(1);
            }
            (Some(&ja), None) => {
                f(ja, value_at(new_vals, a), ZERO);
                a = a.wrapping_add(1);
            }
            (_, Some(&jb)) => {
                f(jb, ZERO, value_at(old_vals, b));
                b = b.wrapping_add(1);
            }
            (None, None) => break,
        }
    }
}

fn value_at(values: &[I32F32], k: usize) -> I32F32 {
    values.get(k).copied().unwrap_or(ZERO)
}

/// Columns transposed at a time by [`consensus`]: 64 columns of a 1 024-validator subnet are
/// 1 MiB, so a block stays in cache while its medians are taken.
const CONSENSUS_BLOCK_COLUMNS: usize = 64;

/// Consensus per column: the stake-weighted κ-quantile over validators with active stake,
/// missing entries counting as 0.
fn consensus(
    columns: &mut Vec<Vec<Entry>>,
    active_stake: &[I32F32],
    weights: &Csr,
    n: usize,
    kappa: I32F32,
) -> Vec<I32F32> {
    let mut voter_stake: Vec<I32F32> = active_stake.iter().copied().filter(|s| *s > ZERO).collect();
    normalize(&mut voter_stake);
    let total_stake = sum(&voter_stake);
    let minority = total_stake.saturating_sub(kappa);
    let voters: Vec<(CsrRow<'_>, I32F32)> = active_stake
        .iter()
        .zip(weights.rows())
        .filter(|(s, _)| **s > ZERO)
        .map(|(_, row)| row)
        .zip(voter_stake.iter().copied())
        .collect();
    let mut result = vec![ZERO; n];
    if voters.is_empty() {
        return result;
    }
    // Rows are sorted by uid, so one cursor per voter walks its row block by block.
    let mut cursors = vec![0usize; voters.len()];
    columns.resize_with(CONSENSUS_BLOCK_COLUMNS, Vec::new);
    for (block, out) in result.chunks_mut(CONSENSUS_BLOCK_COLUMNS).enumerate() {
        let first = block.saturating_mul(CONSENSUS_BLOCK_COLUMNS);
        columns.iter_mut().for_each(Vec::clear);
        let mut given = [ZERO; CONSENSUS_BLOCK_COLUMNS];
        for (((cols, vals), stake), cursor) in voters.iter().zip(cursors.iter_mut()) {
            while let (Some(&j), Some(&w)) = (cols.get(*cursor), vals.get(*cursor)) {
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

/// One divisor per column.
fn divisors(totals: Vec<I32F32>) -> Vec<FastDiv> {
    totals.into_iter().map(FastDiv::new).collect()
}

/// `value / divisors[j]`, or `value` when that column's divisor is 0.
fn divide(divisors: &[FastDiv], j: u16, value: I32F32) -> I32F32 {
    divisors
        .get(usize::from(j))
        .map_or(value, |div| div.apply_unless_zero(value))
}

/// Yuma 3: per-element EMA of absolute bonds, dividends from column-normalised bonds.
///
/// A bond to a miner that the validator omits decays exactly like one to a miner it weights 0
/// (docs/adr/002-yuma3-omitted-bonds-decay.md).
#[allow(clippy::too_many_arguments)] // the epoch's intermediate vectors, passed by reference
fn yuma3_bonds(
    new_bonds: &mut Csr,
    input: &EpochInput,
    prelude: &Prelude<'_>,
    weights_for_bonds: &Csr,
    bonds: &Csr,
    consensus: &[I32F32],
    incentive: &[I32F32],
    n: usize,
) -> (Vec<I32F32>, Vec<Vec<(u16, u16)>>) {
    let params = &input.params;
    let liquid = (params.liquid_alpha && consensus.iter().any(|c| *c != ZERO))
        .then(|| LiquidAlpha::new(params));
    let fixed_alpha = params.ema_alpha();
    new_bonds.clear();
    new_bonds.reserve(n, weights_for_bonds.nnz());
    let mut stored = Vec::with_capacity(n);
    for (i, w_row) in weights_for_bonds.rows().enumerate() {
        let mut stored_row = Vec::with_capacity(w_row.0.len());
        merge(w_row, bonds.row(i), |j, w, b| {
            let alpha = match &liquid {
                Some(la) => la.alpha(w, b, consensus.get(usize::from(j)).copied().unwrap_or(ZERO)),
                None => fixed_alpha,
            };
            let decayed = mul(ONE.saturating_sub(alpha), b);
            let gained = mul(alpha, w).max(ZERO);
            let value = decayed.saturating_add(gained).min(ONE);
            if value > ZERO {
                new_bonds.push(j, value);
                stored_row.push((j, fixed_proportion_to_u16(value)));
            }
        });
        new_bonds.end_row();
        stored.push(stored_row);
    }
    // Dividends read the column-normalised bonds; normalise on the fly instead of copying.
    let columns = divisors(new_bonds.column_fold(n, I32F32::saturating_add));
    let mut dividends: Vec<I32F32> = new_bonds
        .rows()
        .zip(&prelude.active_stake)
        .map(|((cols, vals), a)| {
            let bonded = cols.iter().zip(vals).fold(ZERO, |acc, (&j, &b)| {
                let share = divide(&columns, j, b);
                acc.saturating_add(mul(
                    share,
                    incentive.get(usize::from(j)).copied().unwrap_or(ZERO),
                ))
            });
            mul(bonded, *a)
        })
        .collect();
    normalize(&mut dividends);
    (dividends, stored)
}

/// Original Yuma: column-normalised bond EMA with a fixed α, stored column max-upscaled.
/// `weights_for_bonds` is consumed (scaled into ΔB in place).
fn original_bonds(
    ema: &mut Csr,
    prelude: &Prelude<'_>,
    weights_for_bonds: &mut Csr,
    bonds: &Csr,
    incentive: &[I32F32],
    n: usize,
    alpha: I32F32,
) -> (Vec<I32F32>, Vec<Vec<(u16, u16)>>) {
    let bond_columns = divisors(bonds.column_fold(n, I32F32::saturating_add));
    // ΔB = W_b ∘ A, column-normalised.
    let delta = weights_for_bonds;
    delta.retain(|i, _, w| {
        *w = mul(*w, prelude.active_stake.get(i).copied().unwrap_or(ZERO));
        true
    });
    let delta_columns = divisors(delta.column_fold(n, I32F32::saturating_add));
    let keep = ONE.saturating_sub(alpha);
    ema.clear();
    ema.reserve(n, delta.nnz());
    for (i, delta_row) in delta.rows().enumerate() {
        merge(delta_row, bonds.row(i), |j, d, b| {
            let d = divide(&delta_columns, j, d);
            let b = divide(&bond_columns, j, b);
            let value = mul(alpha, d).saturating_add(mul(keep, b));
            if value > ZERO {
                ema.push(j, value);
            }
        });
        ema.end_row();
    }
    let ema_columns = divisors(ema.column_fold(n, I32F32::saturating_add));
    ema.map_values(|j, b| divide(&ema_columns, j, b));
    let mut dividends: Vec<I32F32> = ema
        .rows()
        .map(|(cols, vals)| {
            cols.iter().zip(vals).fold(ZERO, |acc, (&j, &b)| {
                acc.saturating_add(mul(
                    incentive.get(usize::from(j)).copied().unwrap_or(ZERO),
                    b,
                ))
            })
        })
        .collect();
    normalize(&mut dividends);
    let maxima = divisors(ema.column_fold(n, I32F32::max));
    let stored = ema
        .rows()
        .map(|(cols, vals)| {
            cols.iter()
                .zip(vals)
                .map(|(&j, &b)| (j, fixed_proportion_to_u16(divide(&maxima, j, b))))
                .collect()
        })
        .collect();
    (dividends, stored)
}
