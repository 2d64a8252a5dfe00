//! The production epoch over compressed sparse rows: `O(nnz(W) + nnz(B) + n log n)`.
//!
//! The matrix work is a few sequential sweeps over the rows, each doing as much as the data
//! dependencies allow:
//! 1. build the masked, row-normalised W, and each column's maximum for consensus;
//! 2. consensus, straight from the rows (`consensus.rs`);
//! 3. one sweep that clips each weight, adds it to validator trust and ranks, forms the bond
//!    weight and — Yuma 3 — the new bond against the stored one, read in place;
//! 4. what needs column totals of step 3: dividends, and original Yuma's normalised EMA.
//!
//! The per-entry loops work on plain slices lined up entry by entry ([`RowScratch`]), with
//! per-column constants gathered into one array each, so that each compiles to a short loop
//! without calls or pushes. Entries of value 0 may stay in the working matrices: every step
//! treats a missing entry and a zero alike, and the stored rows keep only positive values.

use crate::common::{self, Prelude};
use crate::consensus::{self, consensus};
use crate::csr::{Csr, CsrRow};
use crate::input::{CanonicalRow, Checked, EpochInput, EpochOutput, YumaError};
use crate::liquid_alpha::LiquidAlpha;
use crate::math::{
    FastDiv, FracScale, IntRatio, ONE, ShareDiv, StoredForm, UnshiftedDiv, ZERO, add_nonneg,
    add_unit, is_unit, mul, normalize, to_u16_unit,
};
use tao_primitives::{I32F32, u16_proportion_to_fixed};

/// Runs one Yuma Consensus epoch (sparse implementation).
///
/// Works in this thread's [`Workspace`], kept between calls, so that repeated epochs do not
/// pay the page faults of fresh matrices (≈ 40 ms at n = 4 096, where the matrices take
/// ≈ 60 MB, which the thread then keeps). The result never depends on it: a workspace is
/// scratch memory, and [`Workspace::epoch`] on a new one gives the same bits. A caller that
/// wants that memory back, or one workspace per subnet, keeps its own [`Workspace`].
///
/// # Errors
/// [`YumaError`] when the input's shapes, uids or parameters are invalid; nothing is computed.
pub fn epoch(input: &EpochInput) -> Result<EpochOutput, YumaError> {
    thread_local! {
        static WORKSPACE: std::cell::RefCell<Workspace> = std::cell::RefCell::new(Workspace::default());
    }
    // An epoch never calls back into `epoch`, so the workspace is free; a fresh one if not.
    WORKSPACE.with(|workspace| match workspace.try_borrow_mut() {
        Ok(mut workspace) => workspace.epoch(input),
        Err(_) => Workspace::default().epoch(input),
    })
}

/// Reusable memory for an epoch: the working matrices of one epoch, kept between epochs so
/// that the next one does not pay for fresh pages (on a 4 096-neuron subnet they are ~60 MB).
#[derive(Debug, Default)]
pub struct Workspace {
    /// Masked, row-normalised weights; original Yuma turns them into ΔB in place.
    weights: Csr,
    /// The new bonds (Yuma 3) or the bond EMA (original Yuma).
    bonds: Csr,
    column_max: Vec<I32F32>,
    consensus: consensus::Scratch,
    row: RowScratch,
}

impl Workspace {
    /// Runs one epoch, reusing this workspace's memory. Same result as [`epoch`].
    ///
    /// # Errors
    /// [`YumaError`] when the input's shapes, uids or parameters are invalid.
    pub fn epoch(&mut self, input: &EpochInput) -> Result<EpochOutput, YumaError> {
        // Original Yuma divides by the stored bonds' column sums: taken during the check.
        let checked = input.check_summing_bonds(!input.params.yuma3)?;
        let n = checked.n;
        let params = &input.params;
        let prelude = Prelude::new(&checked);

        masked_weights(
            &mut self.weights,
            &mut self.column_max,
            &checked,
            &prelude,
            n,
        );
        let consensus = consensus(
            &mut self.consensus,
            &prelude.active_stake,
            &self.weights,
            &self.column_max,
            n,
            params.kappa_fixed(),
        );
        let clip = Clip {
            consensus: &consensus,
            beta: params.bonds_penalty_fixed(),
        };
        let bonds = StoredBonds::new(&checked, &prelude);
        let result = if params.yuma3 {
            yuma3(self, input, &prelude.active_stake, &clip, &bonds, n)
        } else {
            original(
                self,
                &prelude.active_stake,
                &clip,
                &bonds,
                n,
                params.ema_alpha(),
            )
        };
        Ok(common::finish(
            input,
            prelude,
            consensus,
            result.incentive,
            result.dividends,
            result.validator_trust,
            result.stored,
        ))
    }
}

/// What the bond step returns besides consensus.
struct BondResult {
    validator_trust: Vec<I32F32>,
    incentive: Vec<I32F32>,
    dividends: Vec<I32F32>,
    stored: Vec<Vec<(u16, u16)>>,
}

/// Weights of permitted validators after masking, each row normalised to sum to 1, and the
/// largest weight in each column.
#[inline(never)] // a phase of its own in profiles
fn masked_weights(
    weights: &mut Csr,
    column_max: &mut Vec<I32F32>,
    checked: &Checked<'_>,
    prelude: &Prelude<'_>,
    n: usize,
) {
    weights.clear_for_slots(n, total_len(&checked.weights));
    column_max.clear();
    column_max.resize(n, ZERO);
    let input = checked.input;
    let latest_registration = input.block_at_registration.iter().copied().max();
    for (i, row) in checked.weights.iter().enumerate() {
        if let Some(mask) = prelude.weight_mask(i) {
            // Usually nothing is masked: every miner registered before the weights were set
            // and the row holds no self-weight. Then the row is copied as it is.
            let self_weight = !mask.keeps_self
                && u16::try_from(i)
                    .is_ok_and(|uid| row.binary_search_by_key(&uid, |e| e.0).is_ok());
            let keeps_all = !self_weight && latest_registration.is_none_or(|r| mask.set_after > r);
            if keeps_all {
                push_row(weights, column_max, row.iter().copied());
            } else {
                let kept = row.iter().copied();
                push_row(
                    weights,
                    column_max,
                    kept.filter(|&(j, _)| mask.keeps(usize::from(j), input)),
                );
            }
        } else {
            weights.push_slots(0);
        }
    }
    weights.finish_slots();
}

/// Appends one weight row, normalised, to `weights`, and raises the column maxima to its
/// values.
fn push_row(
    weights: &mut Csr,
    column_max: &mut [I32F32],
    row: impl Iterator<Item = (u16, u16)> + Clone,
) {
    // < 65 536 entries of < 65 536 each: the sum stays below 2^32.
    let (len, total) = row.clone().fold((0usize, 0u64), |(len, total), (_, w)| {
        (len.wrapping_add(1), total.wrapping_add(u64::from(w)))
    });
    let (cols, vals) = weights.push_slots(len);
    // One loop per case, the division picked outside it.
    let out = (cols, vals, column_max);
    match RowScale::new(total) {
        RowScale::Zero => write_scaled(row, out, I32F32::from_num),
        RowScale::Ratio(ratio) => write_scaled(row, out, |w| ratio.apply(w)),
        RowScale::Saturated(div) => write_scaled(row, out, |w| div.apply(I32F32::from_num(w))),
    }
}

/// Writes a row's uids and scaled values by position, raising the column maxima.
#[inline(never)] // one call per row: a loop with the registers to itself
fn write_scaled(
    row: impl Iterator<Item = (u16, u16)>,
    (cols, vals, column_max): (&mut [u16], &mut [I32F32], &mut [I32F32]),
    scale: impl Fn(u16) -> I32F32,
) {
    for (((j, w), col), val) in row.zip(cols).zip(vals) {
        let v = scale(w);
        if let Some(max) = column_max.get_mut(usize::from(j)) {
            *max = I32F32::from_bits(max.to_bits().max(v.to_bits()));
        }
        *col = j;
        *val = v;
    }
}

/// How the values of one weight row normalise: `normalize` of `I32F32::from_num(w)` values
/// whose integers sum to `total`.
enum RowScale {
    /// All values are 0 and stay so (`normalize` leaves an all-zero row alone).
    Zero,
    /// The sum does not saturate (`total < 2^31`): `(w · 2^32) / (total · 2^32)` is the
    /// integer ratio `w / total`, one multiply with [`IntRatio`].
    Ratio(IntRatio),
    /// The saturating sum is `I32F32::MAX`, the divisor `normalize` then uses.
    Saturated(FastDiv),
}

impl RowScale {
    fn new(total: u64) -> Self {
        if total == 0 {
            Self::Zero
        } else if let Some(ratio) = IntRatio::new(total).filter(|_| total < 1 << 31) {
            Self::Ratio(ratio)
        } else {
            Self::Saturated(FastDiv::new(I32F32::from_bits(i64::MAX)))
        }
    }
}

/// Entries in all rows together.
fn total_len(rows: &[CanonicalRow<'_>]) -> usize {
    rows.iter()
        .map(|row| row.len())
        .fold(0, usize::saturating_add)
}

/// Clipping to consensus and the bond weight `W + β·(W̄ − W)`: the consensus and β that
/// [`Yuma3Arith::clip`] applies entry by entry.
struct Clip<'a> {
    consensus: &'a [I32F32],
    beta: I32F32,
}

/// [`mul`] on raw bits.
#[inline(always)]
fn mul_bits(a: i64, b: i64) -> i64 {
    mul(I32F32::from_bits(a), I32F32::from_bits(b)).to_bits()
}

/// Validator trust and ranks, accumulated while the clipped weights stream past.
struct Ranking {
    trust: Vec<I32F32>,
    ranks: Vec<I32F32>,
}

impl Ranking {
    /// Validator trust, and incentive (the normalised ranks).
    fn finish(self) -> (Vec<I32F32>, Vec<I32F32>) {
        let mut incentive = self.ranks;
        normalize(&mut incentive);
        (self.trust, incentive)
    }
}

/// The stored bonds as the epoch reads them, with bonds to neurons registered since the
/// previous epoch dropped.
struct StoredBonds<'a> {
    rows: &'a [CanonicalRow<'a>],
    /// Column sums of all stored bonds, carried or not, when the check took them (original
    /// Yuma), else empty.
    sums: &'a [u64],
    /// `carries[j]`: bonds to `j` were made before it registered and carry over.
    carries: Vec<bool>,
    all_carry: bool,
}

impl<'a> StoredBonds<'a> {
    fn new(checked: &'a Checked<'a>, prelude: &Prelude<'_>) -> Self {
        let carries: Vec<bool> = (0..checked.n).map(|j| prelude.keeps_bond_to(j)).collect();
        Self {
            rows: &checked.bonds,
            sums: &checked.bond_sums,
            all_carry: carries.iter().all(|c| *c),
            carries,
        }
    }

    /// Row `i` as stored, `(uid, raw value)`.
    fn row(&self, i: usize) -> &[(u16, u16)] {
        self.rows.get(i).map_or(&[], |row| row)
    }

    fn carries(&self, j: u16) -> bool {
        self.all_carry || self.carries.get(usize::from(j)).copied().unwrap_or(false)
    }
}

/// One row of a working matrix lined up with the same row of the stored bonds: equal-length
/// slices of uids, the matrix's values and the bonds' values (as `T`), 0 where a side has
/// no entry.
struct LinedUp<'r, T = I32F32> {
    cols: &'r [u16],
    new: &'r [I32F32],
    old: &'r [T],
}

/// Per-row working memory: the lined-up row when it has to be built, and a row's results.
#[derive(Debug, Default)]
struct RowScratch {
    cols: Vec<u16>,
    new: Vec<I32F32>,
    old: Vec<I32F32>,
    /// The lined-up stored bonds as their raw u16 values (original Yuma).
    old_raw: Vec<u16>,
    out: Vec<I32F32>,
}

impl RowScratch {
    /// Lines `row` up with stored bond row `i`, reading each stored value with `read`; with
    /// room for the row's results.
    fn line_up<'r>(
        &'r mut self,
        row: CsrRow<'r>,
        bonds: &StoredBonds<'_>,
        i: usize,
        read: impl Fn(u16) -> I32F32,
    ) -> (LinedUp<'r>, &'r mut Vec<I32F32>) {
        let lined = line_up(
            row,
            bonds,
            i,
            read,
            (&mut self.cols, &mut self.new, &mut self.old),
        );
        (lined, &mut self.out)
    }

    /// [`Self::line_up`] with the stored values as they are.
    fn line_up_raw<'r>(
        &'r mut self,
        row: CsrRow<'r>,
        bonds: &StoredBonds<'_>,
        i: usize,
    ) -> LinedUp<'r, u16> {
        line_up(
            row,
            bonds,
            i,
            |b| b,
            (&mut self.cols, &mut self.new, &mut self.old_raw),
        )
    }
}

/// Lines `row` up with stored bond row `i`, reading each stored value with `read`, in the
/// scratch vectors `(uids, values, bonds)`.
///
/// Steady state — every stored bond carries over and the validator bonds exactly the
/// miners it weights — borrows the row and only converts the bonds; otherwise the two
/// rows are merged by uid.
#[inline(never)] // one call per row; a function of its own in profiles
fn line_up<'r, T: Copy + Default>(
    (cols, vals): CsrRow<'r>,
    bonds: &StoredBonds<'_>,
    i: usize,
    read: impl Fn(u16) -> T,
    (merged, new, old): (&'r mut Vec<u16>, &'r mut Vec<I32F32>, &'r mut Vec<T>),
) -> LinedUp<'r, T> {
    let stored = bonds.row(i);
    old.clear();
    if bonds.all_carry && stored.len() <= cols.len() {
        // Near the steady state the stored uids are a subset of the weighted ones (bonds
        // that decayed to 0 were not stored): walk the row once, taking the next stored
        // bond where its uid comes up. If all were taken, the row itself is the union.
        let mut next = 0usize;
        old.extend(cols.iter().map(|&j| match stored.get(next) {
            Some(&(k, b)) if k == j => {
                next = next.wrapping_add(1);
                read(b)
            }
            _ => T::default(),
        }));
        if next == stored.len() {
            return LinedUp {
                cols,
                new: vals,
                old,
            };
        }
        old.clear();
    }
    merged.clear();
    new.clear();
    let mut stored = stored.iter().filter(|(j, _)| bonds.carries(*j)).peekable();
    let mut weights = cols.iter().zip(vals).peekable();
    loop {
        let (j, w, b) = match (weights.peek(), stored.peek()) {
            (Some(&(&ja, &w)), Some(&&(jb, b))) if ja == jb => {
                weights.next();
                stored.next();
                (ja, w, read(b))
            }
            (Some(&(&ja, &w)), Some(&&(jb, _))) if ja < jb => {
                weights.next();
                (ja, w, T::default())
            }
            (Some(&(&ja, &w)), None) => {
                weights.next();
                (ja, w, T::default())
            }
            (_, Some(&&(jb, b))) => {
                stored.next();
                (jb, ZERO, read(b))
            }
            (None, None) => break,
        };
        merged.push(j);
        new.push(w);
        old.push(b);
    }
    LinedUp {
        cols: merged,
        new,
        old,
    }
}

/// Whether a weight row and a stored bond row name the same uids, in one branch-free pass.
fn same_uids(cols: &[u16], stored: &[(u16, u16)]) -> bool {
    cols.len() == stored.len()
        && cols
            .iter()
            .zip(stored)
            .fold(0u16, |differ, (&j, &(k, _))| differ | (j ^ k))
            == 0
}

/// The bond EMA coefficient of one entry: fixed, or liquid alpha's sigmoid.
trait EmaAlpha {
    /// `(α, 1 − α)` as raw bits for bond weight `w`, bond `b` and the miner's consensus `c`.
    fn of(&self, w: i64, b: i64, c: i64) -> (i64, i64);
}

/// A fixed `(α, 1 − α)`.
struct FixedAlpha(i64, i64);

impl EmaAlpha for FixedAlpha {
    #[inline(always)]
    fn of(&self, _: i64, _: i64, _: i64) -> (i64, i64) {
        (self.0, self.1)
    }
}

impl EmaAlpha for LiquidAlpha {
    #[inline]
    fn of(&self, w: i64, b: i64, c: i64) -> (i64, i64) {
        let alpha = self.alpha(
            I32F32::from_bits(w),
            I32F32::from_bits(b),
            I32F32::from_bits(c),
        );
        (alpha.to_bits(), ONE.saturating_sub(alpha).to_bits())
    }
}

/// [`EmaAlpha`] for [`UnitArith`]: `(α, 1 − α)` as multiplications by proportions below 1,
/// for an epoch where every α lies strictly between 0 and 1.
trait UnitAlpha {
    /// `(α, 1 − α)` for the clipped weight `w` (the bond weight, β = 1), the bond `b` and
    /// the miner's consensus `c`.
    fn of(&self, w: i64, b: i64, c: i64) -> (FracScale, FracScale);
}

/// A fixed `(α, 1 − α)`, both below 1.
impl UnitAlpha for (FracScale, FracScale) {
    #[inline(always)]
    fn of(&self, _: i64, _: i64, _: i64) -> (FracScale, FracScale) {
        *self
    }
}

/// Liquid alpha with bounds strictly between 0 and 1, and its coefficient at distance 0.
struct UnitLiquid {
    liquid: LiquidAlpha,
    at_zero: (FracScale, FracScale),
}

impl UnitLiquid {
    /// `None` unless `0 < alpha_low` and `alpha_high < 1`, so that every α and `1 − α` is a
    /// proportion below 1.
    fn new(liquid: LiquidAlpha) -> Option<Self> {
        let (low, high) = liquid.bounds();
        let unit = low > ZERO && high < ONE;
        unit.then(|| Self {
            at_zero: unit_pair(liquid.at_distance(ZERO)),
            liquid,
        })
    }
}

impl UnitAlpha for UnitLiquid {
    /// With β = 1 the bond weight is the clipped weight, never above consensus, so a weight
    /// at or above its bond is at distance 0 (the sigmoid's input of every buy); only a bond
    /// above the weight (selling) needs the sigmoid. In a steady state most entries are the
    /// former, and the sigmoid (≈ 30 dependent multiply-divides) is what costs.
    #[inline(always)]
    fn of(&self, w: i64, b: i64, c: i64) -> (FracScale, FracScale) {
        if w >= b {
            return self.at_zero;
        }
        let alpha = self.liquid.alpha(
            I32F32::from_bits(w),
            I32F32::from_bits(b),
            I32F32::from_bits(c),
        );
        unit_pair(alpha)
    }
}

/// `(α, 1 − α)` for `low ≤ α ≤ high` with `0 < low` and `high < 1` ([`UnitLiquid::new`]):
/// both are proportions below 1, so the clamps are the identity.
#[inline(always)]
fn unit_pair(alpha: I32F32) -> (FracScale, FracScale) {
    (
        FracScale::clamped(alpha),
        FracScale::clamped(ONE.saturating_sub(alpha)),
    )
}

/// Yuma 3: per-element EMA of absolute bonds, dividends from column-normalised bonds.
///
/// A bond to a miner that the validator omits decays exactly like one to a miner it weights 0
/// (docs/adr/002-yuma3-omitted-bonds-decay.md).
#[inline(never)] // a phase of its own in profiles
fn yuma3(
    ws: &mut Workspace,
    input: &EpochInput,
    active_stake: &[I32F32],
    clip: &Clip<'_>,
    stored_bonds: &StoredBonds<'_>,
    n: usize,
) -> BondResult {
    let params = &input.params;
    let fixed_alpha = params.ema_alpha();
    let fixed = FixedAlpha(
        fixed_alpha.to_bits(),
        ONE.saturating_sub(fixed_alpha).to_bits(),
    );
    // The unit arithmetic's preconditions that hold for the whole epoch (see `UnitArith`);
    // α's own are checked by the `UnitAlpha` that is passed.
    let unit = clip.beta == ONE && clip.consensus.iter().all(|c| is_unit(*c));
    let sweep = if params.liquid_alpha && clip.consensus.iter().any(|c| *c != ZERO) {
        let liquid = LiquidAlpha::new(params);
        let unit_alpha = UnitLiquid::new(liquid).filter(|_| unit);
        yuma3_sweep(
            ws,
            active_stake,
            clip,
            stored_bonds,
            &liquid,
            unit_alpha.as_ref(),
            n,
        )
    } else {
        let unit_alpha = FracScale::new(fixed_alpha)
            .zip(FracScale::new(ONE.saturating_sub(fixed_alpha)))
            .filter(|_| unit);
        yuma3_sweep(
            ws,
            active_stake,
            clip,
            stored_bonds,
            &fixed,
            unit_alpha.as_ref(),
            n,
        )
    };
    let (ranking, column_totals, stored) = sweep;
    let (validator_trust, incentive) = ranking.finish();
    // Dividends read the column-normalised bonds; normalise on the fly instead of copying.
    let columns: Vec<(FastDiv, i64)> = column_totals
        .iter()
        .zip(&incentive)
        .map(|(total, incentive)| (FastDiv::new(*total), incentive.to_bits()))
        .collect();
    // Each share is at most 1 (a bond is part of its column's total) and so is incentive
    // (normalised): their products are of proportions.
    let unit: Option<Vec<(ShareDiv, FracScale)>> = column_totals
        .iter()
        .zip(&incentive)
        .map(|(total, incentive)| Some((ShareDiv::new(*total), FracScale::new(*incentive)?)))
        .collect();
    let mut dividends: Vec<I32F32> = ws
        .bonds
        .rows()
        .zip(active_stake)
        .map(|((cols, vals), a)| {
            let bonded = match unit
                .as_ref()
                .map(|unit| bonded_row::<UnitBonded>(cols, vals, unit))
            {
                Some((bonded, true)) => bonded,
                _ => bonded_row::<SaturatingBonded>(cols, vals, &columns).0,
            };
            I32F32::from_bits(mul_bits(bonded, a.to_bits()))
        })
        .collect();
    normalize(&mut dividends);
    BondResult {
        validator_trust,
        incentive,
        dividends,
        stored,
    }
}

/// The arithmetic of the dividends' `Σ_j (b_j / total_j) · incentive_j` over one row of new
/// bonds; [`bonded_row`] is written once over it.
trait BondedArith {
    /// Per column: the total's divisor and incentive.
    type Column;
    /// One entry's `(b / total) · incentive`, and whether it is exact (else the row is
    /// computed again with [`SaturatingBonded`]).
    fn term(column: &Self::Column, b: i64) -> (i64, bool);
    /// `acc + x` in the row's sum.
    fn add(acc: i64, x: i64) -> i64;
    /// Whether every term is exact: then a missing column is skipped; else the row gives up
    /// on it (not exact), which keeps the fast loop's exit out of its body.
    const ALWAYS_EXACT: bool;
}

/// Full divisions and saturating sums, for any totals and incentives.
struct SaturatingBonded;

impl BondedArith for SaturatingBonded {
    type Column = (FastDiv, i64);

    #[inline(always)]
    fn term((total, incentive): &Self::Column, b: i64) -> (i64, bool) {
        let share = total.apply_unless_zero(I32F32::from_bits(b)).to_bits();
        (mul_bits(share, *incentive), true)
    }

    #[inline(always)]
    fn add(acc: i64, x: i64) -> i64 {
        acc.saturating_add(x)
    }

    const ALWAYS_EXACT: bool = true;
}

/// When every incentive is below 1: shares are proportions, the division takes
/// [`ShareDiv::fast`] (inexact outside it) and the product a [`FracScale`] — the same bits.
struct UnitBonded;

impl BondedArith for UnitBonded {
    type Column = (ShareDiv, FracScale);

    #[inline(always)]
    fn term((total, incentive): &Self::Column, b: i64) -> (i64, bool) {
        let (share, exact) = total.fast(b);
        (incentive.apply(share), exact)
    }

    #[inline(always)]
    fn add(acc: i64, x: i64) -> i64 {
        add_unit(acc, x)
    }

    const ALWAYS_EXACT: bool = false;
}

/// `Σ_j (b_j / total_j) · incentive_j` over one row of new bonds, and whether every term was
/// exact.
#[inline(never)] // one call per row; a function of its own in profiles
fn bonded_row<K: BondedArith>(cols: &[u16], vals: &[I32F32], columns: &[K::Column]) -> (i64, bool) {
    let mut bonded = 0i64;
    let mut exact = true;
    for (&j, &b) in cols.iter().zip(vals) {
        let Some(column) = columns.get(usize::from(j)) else {
            if K::ALWAYS_EXACT {
                continue;
            }
            return (bonded, false);
        };
        let (term, ok) = K::term(column, b.to_bits());
        exact &= ok;
        bonded = K::add(bonded, term);
    }
    (bonded, exact)
}

/// What Yuma 3's first sweep returns: trust and ranks, the new bonds' column totals, and
/// the stored rows.
type Sweep = (Ranking, Vec<I32F32>, Vec<Vec<(u16, u16)>>);

/// Yuma 3's first sweep: clipping, trust and ranks, and the new bonds with their column
/// totals and stored rows.
#[inline(never)] // a phase of its own in profiles
fn yuma3_sweep(
    ws: &mut Workspace,
    active_stake: &[I32F32],
    clip: &Clip<'_>,
    stored_bonds: &StoredBonds<'_>,
    alpha: &impl EmaAlpha,
    unit_alpha: Option<&impl UnitAlpha>,
    n: usize,
) -> Sweep {
    let Workspace {
        weights,
        bonds: new_bonds,
        row: scratch,
        ..
    } = ws;
    let mut trust = vec![ZERO; n];
    let mut miners = MinerAcc::per_miner(clip.consensus, n);
    let mut stored = Vec::with_capacity(n);
    new_bonds.clear_for_slots(n, weights.nnz());
    for ((i, row), trust) in weights.rows().enumerate().zip(trust.iter_mut()) {
        let a = active_stake.get(i).copied().unwrap_or(ZERO);
        let unit = unit_alpha.and_then(|alpha| {
            Some(UnitArith {
                a: FracScale::new(a)?,
                alpha,
            })
        });
        let (cols, vals) = row;
        let stored_row_in = stored_bonds.row(i);
        let (row_trust, row_stored) = match &unit {
            // Steady state: the stored bonds are on exactly the weighted miners; read them
            // in place instead of lining the rows up.
            Some(unit) if stored_bonds.all_carry && same_uids(cols, stored_row_in) => {
                let bonds = stored_row_in
                    .iter()
                    .map(|&(_, b)| u16_proportion_to_fixed(b));
                let new = new_bonds.push_row_slot(cols);
                yuma3_row((cols, vals), bonds, new, &mut miners, unit)
            }
            _ => {
                let (lined, _) = scratch.line_up(row, stored_bonds, i, u16_proportion_to_fixed);
                let bonds = lined.old.iter().copied();
                let new = new_bonds.push_row_slot(lined.cols);
                let row = (lined.cols, lined.new);
                match &unit {
                    Some(unit) => yuma3_row(row, bonds, new, &mut miners, unit),
                    None => {
                        let general = SaturatingArith {
                            beta: clip.beta.to_bits(),
                            a: a.to_bits(),
                            alpha,
                        };
                        yuma3_row(row, bonds, new, &mut miners, &general)
                    }
                }
            }
        };
        stored.push(row_stored);
        *trust = I32F32::from_bits(row_trust);
    }
    new_bonds.finish_slots();
    let ranking = Ranking {
        trust,
        ranks: miners.iter().map(|m| I32F32::from_bits(m.rank)).collect(),
    };
    let totals = miners.iter().map(|m| I32F32::from_bits(m.total)).collect();
    (ranking, totals, stored)
}

/// Per miner, what Yuma 3's sweep reads and accumulates for it, side by side so that an
/// entry costs one bounds check and one cache line.
#[derive(Clone, Copy, Debug)]
struct MinerAcc {
    consensus: i64,
    /// Σ active stake · clipped weight.
    rank: i64,
    /// Σ new bonds.
    total: i64,
}

impl MinerAcc {
    /// One zeroed accumulator per miner `0..n`, holding its consensus (0 past its end).
    fn per_miner(consensus: &[I32F32], n: usize) -> Vec<MinerAcc> {
        (0..n)
            .map(|j| MinerAcc {
                consensus: consensus.get(j).map_or(0, |c| c.to_bits()),
                rank: 0,
                total: 0,
            })
            .collect()
    }
}

/// The arithmetic of Yuma 3's sweep over one entry, on raw bits: what differs between the
/// general kernel and the usual case. [`yuma3_row`] is written once over it, and so is
/// original Yuma's ΔB ([`delta_row`]), which shares the clipping and the ranks.
trait Yuma3Arith {
    /// `(clipped, bond weight)` of a weight `w ≥ 0` on a miner with consensus `c`: the
    /// clipped weight `min(w, c)` (an entry clipped to `≤ 0` is 0) and the positive part of
    /// `w + β·(clipped − w)`.
    fn clip(&self, w: i64, c: i64) -> (i64, i64);
    /// `acc + x` in the row's and the miners' sums.
    fn add(acc: i64, x: i64) -> i64;
    /// The row's active stake times a clipped weight, for the miner's rank.
    fn rank(&self, clipped: i64) -> i64;
    /// The new bond `min((1 − α)·b + max(α·w, 0), 1)`, at least 0, for bond weight `w`, bond
    /// `b` and consensus `c`.
    fn bond(&self, w: i64, b: i64, c: i64) -> i64;
    /// Original Yuma's ΔB entry `w · a` for bond weight `w`, given the rank's increment
    /// `rank = a · clipped`.
    fn delta(&self, w: i64, rank: i64) -> i64;
    /// Whether [`delta_row`] sums ΔB into the miners' totals (else they equal the ranks).
    const DELTA_TOTALS: bool;
}

/// Saturating arithmetic for any operands: the live chain's operations.
struct SaturatingArith<'a, A> {
    beta: i64,
    a: i64,
    alpha: &'a A,
}

impl<A: EmaAlpha> Yuma3Arith for SaturatingArith<'_, A> {
    #[inline(always)]
    fn clip(&self, w: i64, c: i64) -> (i64, i64) {
        let clipped = w.min(c).max(0);
        if self.beta == ONE.to_bits() {
            // `w + 1·(c − w) = c` exactly.
            return (clipped, clipped);
        }
        let interpolated = w.saturating_add(mul_bits(self.beta, clipped.saturating_sub(w)));
        (clipped, interpolated.max(0))
    }

    #[inline(always)]
    fn add(acc: i64, x: i64) -> i64 {
        acc.saturating_add(x)
    }

    #[inline(always)]
    fn rank(&self, clipped: i64) -> i64 {
        mul_bits(self.a, clipped)
    }

    #[inline(always)]
    fn bond(&self, w: i64, b: i64, c: i64) -> i64 {
        let (alpha, keep) = self.alpha.of(w, b, c);
        let decayed = mul_bits(keep, b);
        let gained = mul_bits(alpha, w).max(0);
        decayed.saturating_add(gained).min(ONE.to_bits()).max(0)
    }

    #[inline(always)]
    fn delta(&self, w: i64, _: i64) -> i64 {
        mul_bits(w, self.a)
    }

    const DELTA_TOTALS: bool = true;
}

/// The usual case — β = 1, and every factor a proportion, α fixed or liquid ([`UnitAlpha`])
/// — with [`FracScale`] products and [`add_unit`] sums: the same bits, far fewer
/// instructions.
///
/// Why every product is of proportions: consensus was checked to lie in `[0, 1]`, so the
/// clipped weight `min(w, c)` does too (and is the bond weight, β = 1); stored bonds read as
/// u16 proportions are at most 1; `a` was checked to be below 1, and so were every α and
/// 1 − α the [`UnitAlpha`] can give. Every term is non-negative.
struct UnitArith<'a, U> {
    /// The row's active stake.
    a: FracScale,
    /// The EMA coefficient and its complement, per entry.
    alpha: &'a U,
}

impl<U: UnitAlpha> Yuma3Arith for UnitArith<'_, U> {
    #[inline(always)]
    fn clip(&self, w: i64, c: i64) -> (i64, i64) {
        let clipped = w.min(c).max(0);
        (clipped, clipped)
    }

    #[inline(always)]
    fn add(acc: i64, x: i64) -> i64 {
        add_unit(acc, x)
    }

    #[inline(always)]
    fn rank(&self, clipped: i64) -> i64 {
        self.a.apply(clipped)
    }

    #[inline(always)]
    fn bond(&self, w: i64, b: i64, c: i64) -> i64 {
        let (alpha, keep) = self.alpha.of(w, b, c);
        add_unit(keep.apply(b), alpha.apply(w)).min(ONE.to_bits())
    }

    /// The bond weight is the clipped weight (β = 1), so `w · a` is the rank's increment.
    #[inline(always)]
    fn delta(&self, _: i64, rank: i64) -> i64 {
        rank
    }

    const DELTA_TOTALS: bool = false;
}

/// Yuma 3's first sweep over one row and its stored bonds: each new bond goes to its slot of
/// `new` and to its miner's total, clipped weights to the miners' ranks; returns the row's
/// trust and its stored form (the positive bonds, `floor(b · 65535)`).
///
/// The row is written by position — each new bond into its slot of the new bond matrix,
/// its stored form into a row sized for it — so the loop has no pushes, and with
/// [`UnitArith`] no calls that would keep its state in memory; the stored row keeps only
/// positive bonds, compacted after the loop in the rare row that has another. Every new bond
/// lies in `[0, 1]`, so its stored form is [`to_u16_unit`].
#[inline(never)] // one call per row; a function of its own in profiles
fn yuma3_row<K: Yuma3Arith>(
    (cols, weights): CsrRow<'_>,
    bonds: impl Iterator<Item = I32F32>,
    new: &mut [I32F32],
    miners: &mut [MinerAcc],
    arith: &K,
) -> (i64, Vec<(u16, u16)>) {
    let mut trust = 0i64;
    let mut all_positive = true;
    let mut stored = vec![(0u16, 0u16); cols.len()];
    let entries = cols.iter().zip(weights).zip(bonds);
    let outputs = new.iter_mut().zip(stored.iter_mut());
    for (((&j, &w), b), (new, stored)) in entries.zip(outputs) {
        let value = match miners.get_mut(usize::from(j)) {
            Some(miner) => {
                let (clipped, bond_weight) = arith.clip(w.to_bits(), miner.consensus);
                trust = K::add(trust, clipped);
                miner.rank = K::add(miner.rank, arith.rank(clipped));
                let value = arith.bond(bond_weight, b.to_bits(), miner.consensus);
                miner.total = K::add(miner.total, value);
                value
            }
            None => 0,
        };
        all_positive &= value > 0;
        *new = I32F32::from_bits(value);
        *stored = (j, to_u16_unit(value));
    }
    if !all_positive {
        let mut positive = new.iter().map(|v| *v > ZERO);
        stored.retain(|_| positive.next().unwrap_or(false));
    }
    (trust, stored)
}

/// Original Yuma: column-normalised bond EMA with a fixed α, stored column max-upscaled.
///
/// Three sweeps, each waiting for column totals of the one before: clip (trust, ranks) and
/// scale the bond weights by stake into ΔB in place; the EMA of the column-normalised ΔB and
/// stored bonds, with its column totals and maxima; dividends and the stored rows.
#[inline(never)] // a phase of its own in profiles
fn original(
    ws: &mut Workspace,
    active_stake: &[I32F32],
    clip: &Clip<'_>,
    stored_bonds: &StoredBonds<'_>,
    n: usize,
    alpha: I32F32,
) -> BondResult {
    let Workspace {
        weights: delta,
        bonds: ema,
        row: scratch,
        ..
    } = ws;
    // ΔB = W_b ∘ A, column-normalised below.
    // The unit kernel for every row or for none: it leaves ΔB's column totals to the ranks.
    let unit = clip.beta == ONE
        && clip.consensus.iter().all(|c| is_unit(*c))
        && active_stake.iter().all(|a| FracScale::new(*a).is_some());
    let mut trust = vec![ZERO; n];
    let mut miners = MinerAcc::per_miner(clip.consensus, n);
    delta.for_each_row_mut(|i, cols, vals| {
        let a = active_stake.get(i).copied().unwrap_or(ZERO);
        let row_trust = match FracScale::new(a).filter(|_| unit) {
            Some(a) => {
                let alpha = (FracScale::ZERO, FracScale::ZERO); // no bonds here
                delta_row(cols, vals, &mut miners, &UnitArith { a, alpha: &alpha })
            }
            None => {
                let general = SaturatingArith {
                    beta: clip.beta.to_bits(),
                    a: a.to_bits(),
                    alpha: &FixedAlpha(0, 0), // no bonds here
                };
                delta_row(cols, vals, &mut miners, &general)
            }
        };
        if let Some(t) = trust.get_mut(i) {
            *t = I32F32::from_bits(row_trust);
        }
    });
    if unit {
        miners.iter_mut().for_each(|m| m.total = m.rank);
    }
    let ranking = Ranking {
        trust,
        ranks: miners.iter().map(|m| I32F32::from_bits(m.rank)).collect(),
    };
    let (validator_trust, incentive) = ranking.finish();

    // One entry per column: the divisors of ΔB and of the stored bonds.
    let bond_totals = stored_bond_totals(stored_bonds, n);
    let delta_totals: Vec<ShareDiv> = miners
        .iter()
        .map(|miner| ShareDiv::new(I32F32::from_bits(miner.total)))
        .collect();
    let mut columns: Vec<EmaColumn> = delta_totals
        .iter()
        .zip(&bond_totals)
        .map(|(delta, &(_, bond_raw))| EmaColumn {
            delta: delta.unshifted_part(),
            // A column without bonds only ever divides 0: any ratio gives 0. A total too
            // large for a ratio leaves the epoch to the general kernel.
            bond: IntRatio::new(bond_raw.clamp(1, u64::from(u32::MAX))).unwrap_or(IntRatio::ONE),
            total: 0,
            max: 0,
        })
        .collect();
    // The fast kernel when α and 1 − α are below 1, every column's stored total is an
    // unsaturated integer and every ΔB total at most 1; else the general one, with full
    // divisions.
    let unit = FracScale::new(alpha)
        .zip(FracScale::new(ONE.saturating_sub(alpha)))
        .filter(|_| bond_totals.iter().all(|&(_, raw)| raw < 1 << 31))
        .filter(|_| delta_totals.iter().all(ShareDiv::unshifted));
    let general = EmaGeneral {
        delta: delta_totals,
        alpha: alpha.to_bits(),
        keep: ONE.saturating_sub(alpha).to_bits(),
        bond: bond_totals
            .iter()
            .map(|(bond, _)| FastDiv::new(*bond))
            .collect(),
    };
    EmaSweep {
        ema,
        delta,
        stored_bonds,
        scratch,
        columns: &mut columns,
    }
    .fast_or_general(unit, &general);
    let totals: Vec<I32F32> = columns.iter().map(|c| I32F32::from_bits(c.total)).collect();
    let maxima: Vec<I32F32> = columns.iter().map(|c| I32F32::from_bits(c.max)).collect();

    let columns = PayoutColumn::per_miner(&totals, &maxima, &incentive);
    let unit = incentive.iter().all(|i| FracScale::new(*i).is_some())
        && columns.iter().all(|c| c.total.unshifted());
    let mut dividends = Vec::with_capacity(n);
    let mut stored = Vec::with_capacity(n);
    for row in ema.rows() {
        let (dividend, row_stored) = match unit.then(|| payout_row::<UnitPayout>(row, &columns)) {
            Some((dividend, stored, true)) => (dividend, stored),
            _ => {
                let (dividend, stored, _) = payout_row::<SaturatingPayout>(row, &columns);
                (dividend, stored)
            }
        };
        dividends.push(I32F32::from_bits(dividend));
        stored.push(row_stored);
    }
    normalize(&mut dividends);
    BondResult {
        validator_trust,
        incentive,
        dividends,
        stored,
    }
}

/// Original Yuma's EMA sweep: ΔB row by row, lined up with the stored bonds, into the EMA.
struct EmaSweep<'a, 'b> {
    ema: &'a mut Csr,
    delta: &'a Csr,
    stored_bonds: &'a StoredBonds<'b>,
    scratch: &'a mut RowScratch,
    columns: &'a mut [EmaColumn],
}

impl EmaSweep<'_, '_> {
    /// The EMA with the fast kernel for every row (`unit`: `α` and `1 − α`) or, when an
    /// entry is outside it (no valid epoch has one), with the general kernel for every row,
    /// from the start.
    fn fast_or_general(&mut self, unit: Option<(FracScale, FracScale)>, general: &EmaGeneral) {
        let fast = unit.is_some_and(|(alpha, keep)| {
            let unit = EmaUnit { alpha, keep };
            self.run(|row, bonds, out, columns| ema_row(row, bonds, out, columns, &unit))
        });
        if !fast {
            self.columns
                .iter_mut()
                .for_each(|c| (c.total, c.max) = (0, 0));
            // Always exact.
            self.run(|row, bonds, out, columns| ema_row(row, bonds, out, columns, general));
        }
    }

    /// Writes every row of the EMA with `kernel(ΔB row, stored bonds, EMA row, columns)`;
    /// `false` as soon as the kernel returns `false`, with the EMA unfinished.
    fn run(
        &mut self,
        mut kernel: impl FnMut(CsrRow<'_>, BondsIn<'_>, &mut [I32F32], &mut [EmaColumn]) -> bool,
    ) -> bool {
        let Self {
            ema,
            delta,
            stored_bonds,
            scratch,
            columns,
        } = self;
        // Every slot of a row is written, by position; the rows' uids are those of ΔB (steady
        // state) or the lined-up union.
        ema.clear_for_slots(delta.row_count(), delta.nnz());
        for (i, row) in delta.rows().enumerate() {
            let stored_row_in = stored_bonds.row(i);
            let done = if stored_bonds.all_carry && same_uids(row.0, stored_row_in) {
                // Steady state: the stored bonds are on exactly the weighted miners.
                let out = ema.push_row_slot(row.0);
                kernel(row, BondsIn::Stored(stored_row_in), out, columns)
            } else {
                // Each lined-up bond is the stored u16 value itself, 0 where missing.
                let lined = scratch.line_up_raw(row, stored_bonds, i);
                let out = ema.push_row_slot(lined.cols);
                kernel(
                    (lined.cols, lined.new),
                    BondsIn::LinedUp(lined.old),
                    out,
                    columns,
                )
            };
            if !done {
                return false;
            }
        }
        ema.finish_slots();
        true
    }
}

/// Original Yuma's per-column divisors and accumulators for the EMA sweep.
struct EmaColumn {
    /// The column total of ΔB (each entry is part of it, so a share), as the fast path's
    /// divisor (the general kernel takes [`EmaGeneral::delta`]).
    delta: UnshiftedDiv,
    /// The column total of the stored u16 bonds, as an integer ratio (the stored value `x`
    /// reads as `x · 2^32`, the total as `t · 2^32`, their quotient is `x / t`); only read
    /// when every column's total is below 2^31, else [`EmaGeneral`] runs.
    bond: IntRatio,
    /// Σ and max of the column's EMA values so far (all ≥ 0).
    total: i64,
    max: i64,
}

/// The stored bonds of one row for original Yuma's EMA, entry by entry with the row:
/// the stored row itself when its uids are the row's, else lined up by [`RowScratch`]
/// with raw reads (each value the stored u16 itself, 0 where missing).
#[derive(Clone, Copy)]
enum BondsIn<'r> {
    Stored(&'r [(u16, u16)]),
    LinedUp(&'r [u16]),
}

/// The arithmetic of original Yuma's EMA entry `α · ΔB_j / ΣΔB_j + (1 − α) · B_j / ΣB_j`;
/// [`ema_row`] is written once over it.
trait EmaArith {
    /// The entry of column `j` (with its accumulators `column`) for ΔB `d` (raw bits) and
    /// the stored bond `x` (the u16 itself), and whether it is exact (else the caller starts
    /// the sweep over with [`EmaGeneral`]).
    fn value(&self, j: usize, column: &EmaColumn, d: i64, x: u16) -> (i64, bool);
    /// `acc + x` in the column's total.
    fn add(acc: i64, x: i64) -> i64;
}

/// The general EMA arithmetic, for any `α` and totals: `α` and `1 − α` as raw bits, and each
/// column's ΔB and stored-bond totals as full divisors.
struct EmaGeneral {
    alpha: i64,
    keep: i64,
    delta: Vec<ShareDiv>,
    bond: Vec<FastDiv>,
}

impl EmaArith for EmaGeneral {
    #[inline(always)]
    fn value(&self, j: usize, _: &EmaColumn, d: i64, x: u16) -> (i64, bool) {
        let Some((delta, bond)) = self.delta.get(j).zip(self.bond.get(j)) else {
            return (0, true);
        };
        let d = delta.apply_unless_zero(I32F32::from_bits(d)).to_bits();
        let b = bond.apply_unless_zero(I32F32::from_num(x)).to_bits();
        let value = mul_bits(self.alpha, d)
            .saturating_add(mul_bits(self.keep, b))
            .max(0);
        (value, true)
    }

    #[inline(always)]
    fn add(acc: i64, x: i64) -> i64 {
        add_nonneg(acc, x)
    }
}

/// The EMA when `α` and `1 − α` are below 1, every column's bond total is an integer ratio
/// and every ΔB total at most 1: shares of a column's total are proportions, so both terms
/// are [`FracScale`] products and their sum an [`add_unit`] — the same bits. The ΔB share
/// takes the column's [`UnshiftedDiv`], inexact outside its fast path.
struct EmaUnit {
    alpha: FracScale,
    keep: FracScale,
}

impl EmaArith for EmaUnit {
    #[inline(always)]
    fn value(&self, _: usize, column: &EmaColumn, d: i64, x: u16) -> (i64, bool) {
        let (d, exact) = column.delta.fast(d);
        let value = add_unit(
            self.alpha.apply(d),
            self.keep.apply(column.bond.apply(x).to_bits()),
        );
        (value, exact)
    }

    #[inline(always)]
    fn add(acc: i64, x: i64) -> i64 {
        add_unit(acc, x)
    }
}

/// Original Yuma's EMA over one row lined up with its stored bonds: writes each entry to its
/// slot of `out` and adds it to its column's total and maximum; `false` when an entry was
/// not exact (the column totals and maxima are then meaningless, and the caller starts over
/// with [`EmaGeneral`]).
fn ema_row<K: EmaArith>(
    row: CsrRow<'_>,
    bonds: BondsIn<'_>,
    out: &mut [I32F32],
    columns: &mut [EmaColumn],
    arith: &K,
) -> bool {
    match bonds {
        BondsIn::Stored(stored) => {
            ema_entries(row, stored.iter().map(|e| e.1), out, columns, arith)
        }
        BondsIn::LinedUp(raw) => ema_entries(row, raw.iter().copied(), out, columns, arith),
    }
}

/// [`ema_row`] for one source of the stored bonds: a function of its own for each, so
/// that each loop has the registers to itself.
#[inline(never)] // one call per row; a function of its own in profiles
fn ema_entries<K: EmaArith>(
    (cols, deltas): CsrRow<'_>,
    bonds: impl Iterator<Item = u16>,
    out: &mut [I32F32],
    columns: &mut [EmaColumn],
    arith: &K,
) -> bool {
    let mut exact = true;
    for (((&j, d), x), slot) in cols.iter().zip(deltas).zip(bonds).zip(out.iter_mut()) {
        let j = usize::from(j);
        *slot = I32F32::from_bits(columns.get_mut(j).map_or(0, |column| {
            let (value, ok) = arith.value(j, column, d.to_bits(), x);
            exact &= ok;
            column.total = K::add(column.total, value);
            column.max = column.max.max(value);
            value
        }));
    }
    exact
}

/// Original Yuma's per-column constants for the last sweep: the EMA's column total, the
/// normalised column maximum, and incentive.
struct PayoutColumn {
    total: ShareDiv,
    /// The stored form of a share: upscaled to the normalised column maximum.
    stored: StoredForm,
    incentive: i64,
    /// `incentive` as a [`FracScale`] when it is below 1 (else 0, and only the general
    /// kernel runs).
    incentive_frac: FracScale,
}

impl PayoutColumn {
    /// One per miner. Each entry is at most its column's total, where division is
    /// monotone: the maximum of the normalised column is the normalised maximum.
    fn per_miner(totals: &[I32F32], maxima: &[I32F32], incentive: &[I32F32]) -> Vec<Self> {
        totals
            .iter()
            .zip(maxima)
            .zip(incentive)
            .map(|((total, max), incentive)| {
                let total = ShareDiv::new(*total);
                Self {
                    stored: StoredForm::new(total.apply_unless_zero(*max)),
                    total,
                    incentive: incentive.to_bits(),
                    incentive_frac: FracScale::new(*incentive).unwrap_or(FracScale::ZERO),
                }
            })
            .collect()
    }
}

/// The arithmetic of original Yuma's last sweep over one entry: the share `b / total` of
/// its column, the dividend's term and the stored form. [`payout_row`] is written once over
/// it.
trait PayoutArith {
    /// `b / total` for a bond `b` (raw bits), and whether it is exact (else the row is
    /// computed again with [`SaturatingPayout`]).
    fn share(column: &PayoutColumn, b: i64) -> (i64, bool);
    /// `incentive · share`.
    fn dividend(column: &PayoutColumn, share: i64) -> i64;
    /// The stored form of a share, `share / max`.
    fn stored(column: &PayoutColumn, share: i64) -> u16;
    /// `acc + x` in the row's dividend.
    fn add(acc: i64, x: i64) -> i64;
    /// Whether every share is exact: then a missing column is skipped; else the row gives
    /// up on it (not exact), which keeps the fast loop's exit out of its body.
    const ALWAYS_EXACT: bool;
}

/// Full divisions and saturating sums, for any incentives and totals.
struct SaturatingPayout;

impl PayoutArith for SaturatingPayout {
    #[inline(always)]
    fn share(column: &PayoutColumn, b: i64) -> (i64, bool) {
        let share = column.total.apply_unless_zero(I32F32::from_bits(b));
        (share.to_bits(), true)
    }

    #[inline(always)]
    fn dividend(column: &PayoutColumn, share: i64) -> i64 {
        mul_bits(column.incentive, share)
    }

    #[inline(always)]
    fn stored(column: &PayoutColumn, share: i64) -> u16 {
        column.stored.apply(share)
    }

    #[inline(always)]
    fn add(acc: i64, x: i64) -> i64 {
        acc.saturating_add(x)
    }

    const ALWAYS_EXACT: bool = true;
}

/// When every incentive is below 1 and every column total at most 1: every share is a
/// proportion (an entry is part of its column's total), so the products are [`FracScale`]s
/// and the sum [`add_unit`]. The share takes [`ShareDiv::fast_unshifted`] (inexact outside
/// it), the stored form [`StoredForm::of_share`] — the same bits.
struct UnitPayout;

impl PayoutArith for UnitPayout {
    #[inline(always)]
    fn share(column: &PayoutColumn, b: i64) -> (i64, bool) {
        column.total.fast_unshifted(b)
    }

    #[inline(always)]
    fn dividend(column: &PayoutColumn, share: i64) -> i64 {
        column.incentive_frac.apply(share)
    }

    /// An exact share is at most the column's share of its maximum, as `b` is at most the
    /// maximum and division is monotone.
    #[inline(always)]
    fn stored(column: &PayoutColumn, share: i64) -> u16 {
        column.stored.of_share(share)
    }

    #[inline(always)]
    fn add(acc: i64, x: i64) -> i64 {
        add_unit(acc, x)
    }

    const ALWAYS_EXACT: bool = false;
}

/// Original Yuma's last sweep over one row of the bond EMA: the row's
/// `Σ_j incentive_j · b_j / total_j`, its stored form (`(b_j / total_j) / max_j` for each
/// positive entry), and whether every share was exact. The row is written whole, entry by
/// entry.
#[inline(never)] // one call per row; a function of its own in profiles
fn payout_row<K: PayoutArith>(
    (cols, vals): CsrRow<'_>,
    columns: &[PayoutColumn],
) -> (i64, Vec<(u16, u16)>, bool) {
    let mut dividend = 0i64;
    let mut exact = true;
    let mut stored = vec![(0u16, 0u16); cols.len()];
    // Entries are written at `kept`, which only the positive ones move past: the zero
    // entries are dropped without a branch.
    let mut kept = 0usize;
    for (&j, &b) in cols.iter().zip(vals) {
        let Some(column) = columns.get(usize::from(j)) else {
            if K::ALWAYS_EXACT {
                continue;
            }
            return (dividend, Vec::new(), false);
        };
        let (share, ok) = K::share(column, b.to_bits());
        exact &= ok;
        dividend = K::add(dividend, K::dividend(column, share));
        if let Some(slot) = stored.get_mut(kept) {
            *slot = (j, K::stored(column, share));
        }
        kept = kept.wrapping_add(usize::from(b > ZERO));
    }
    stored.truncate(kept);
    (dividend, stored, exact)
}

/// ΔB for one row: clipped weights to trust and ranks, `w_b · a` in place of each weight;
/// returns the row's trust. With [`SaturatingArith`], each entry also goes into its column's
/// total; with [`UnitArith`] (β = 1, consensus and `a` proportions) ΔB's entry `a · w_b` is
/// the rank's increment, so its column totals are the ranks, which the caller copies once
/// every row went through here.
#[inline(never)] // one call per row; a function of its own in profiles
fn delta_row<K: Yuma3Arith>(
    cols: &[u16],
    vals: &mut [I32F32],
    miners: &mut [MinerAcc],
    arith: &K,
) -> i64 {
    let mut trust = 0i64;
    for (&j, v) in cols.iter().zip(vals.iter_mut()) {
        let Some(miner) = miners.get_mut(usize::from(j)) else {
            continue;
        };
        let (clipped, bond_weight) = arith.clip(v.to_bits(), miner.consensus);
        trust = K::add(trust, clipped);
        let rank = arith.rank(clipped);
        miner.rank = K::add(miner.rank, rank);
        let d = arith.delta(bond_weight, rank);
        if K::DELTA_TOTALS {
            miner.total = K::add(miner.total, d);
        }
        *v = I32F32::from_bits(d);
    }
    trust
}

/// Column totals of the carried stored bonds read as `I32F32::from_num(u16)`: the live
/// saturating sum of `b · 2^32` is `min(Σb · 2^32, MAX)`, from the integer sums the check
/// took (0 for a column whose bonds do not carry over); with the integer sums themselves.
fn stored_bond_totals(bonds: &StoredBonds<'_>, n: usize) -> Vec<(I32F32, u64)> {
    debug_assert_eq!(
        bonds.sums.len(),
        n,
        "original Yuma checks its input summing bonds"
    );
    (0..n)
        .map(|j| {
            let carried = u16::try_from(j).is_ok_and(|j| bonds.carries(j));
            let total = bonds.sums.get(j).copied().filter(|_| carried).unwrap_or(0);
            let bits = i64::try_from(total)
                .ok()
                .and_then(|t| t.checked_mul(1 << 32))
                .unwrap_or(i64::MAX);
            (I32F32::from_bits(bits), total)
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn ema_column(delta_total: i64, bond_total: u64) -> EmaColumn {
        EmaColumn {
            delta: ShareDiv::new(I32F32::from_bits(delta_total)).unshifted_part(),
            bond: IntRatio::new(bond_total).unwrap(),
            total: 0,
            max: 0,
        }
    }

    /// A row with an entry outside the fast EMA path leaves no trace in the column totals,
    /// and the general kernel then gives the exact entries the values the fast path gave.
    #[test]
    fn failed_fast_ema_starts_over_with_the_general_kernel() {
        let (alpha, keep) = (1i64 << 30, 3i64 << 30); // 0.25 and 0.75
        let scale = |k| FracScale::new(I32F32::from_bits(k)).unwrap();
        let general = EmaGeneral {
            alpha,
            keep,
            delta: [1i64 << 31, 1 << 30]
                .map(|t| ShareDiv::new(I32F32::from_bits(t)))
                .to_vec(),
            bond: vec![FastDiv::new(I32F32::from_num(10)); 2],
        };
        // Row 0 is fine; row 1's entry in column 1 exceeds its column's ΔB total: not a
        // share, so outside the fast kernel, which has by then added row 0 to the columns.
        let mut delta = Csr::default();
        delta.extend([0, 1], [I32F32::from_bits(1 << 29); 2]);
        delta.end_row();
        delta.extend(
            [0, 1],
            [I32F32::from_bits(1 << 29), I32F32::from_bits(1 << 31)],
        );
        delta.end_row();
        let rows: Vec<CanonicalRow<'_>> = vec![
            std::borrow::Cow::Owned(vec![(0, 4), (1, 6)]),
            std::borrow::Cow::Owned(vec![(1, 4)]),
        ];
        let stored_bonds = StoredBonds {
            rows: &rows,
            sums: &[],
            carries: vec![true; 2],
            all_carry: true,
        };
        let run = |unit: Option<(FracScale, FracScale)>| {
            let mut columns = vec![ema_column(1 << 31, 10), ema_column(1 << 30, 10)];
            let mut ema = Csr::default();
            let mut scratch = RowScratch::default();
            let mut sweep = EmaSweep {
                ema: &mut ema,
                delta: &delta,
                stored_bonds: &stored_bonds,
                scratch: &mut scratch,
                columns: &mut columns,
            };
            let fast = unit.is_some_and(|(a, k)| {
                let unit = EmaUnit { alpha: a, keep: k };
                sweep.run(|row, bonds, out, columns| ema_row(row, bonds, out, columns, &unit))
            });
            sweep.fast_or_general(unit, &general);
            let rows: Vec<Vec<I32F32>> = ema.rows().map(|(_, vals)| vals.to_vec()).collect();
            let sums: Vec<(i64, i64)> = columns.iter().map(|c| (c.total, c.max)).collect();
            (fast, rows, sums)
        };
        let (fast, rows, sums) = run(Some((scale(alpha), scale(keep))));
        assert!(!fast, "the fast kernel must reject row 1");
        let (_, general_rows, general_sums) = run(None);
        // Column 0: α · ΔB share (2^30) twice, and (1 − α) · ⌊4 · 2^32 / 10⌋ once.
        assert_eq!(general_sums[0].0, (1 << 29) + 1_717_986_918 * 3 / 4);
        assert_eq!((rows, sums), (general_rows, general_sums));
    }
}
