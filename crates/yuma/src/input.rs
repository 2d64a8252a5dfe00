//! Inputs, outputs, parameters and errors of one epoch.

use std::borrow::Cow;
use tao_primitives::{I32F32, I64F64, SafeDiv, fixed_proportion_to_u16};

/// Largest subnet size the epoch accepts: uids are `u16`.
pub const MAX_NEURONS: usize = u16::MAX as usize;

/// Subnet hyperparameters that shape the epoch. [`Default`] gives the live chain's values for a
/// newly registered subnet (`init_new_network`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochParams {
    /// Consensus quantile as a u16 proportion (default 32 767 ≈ 0.5).
    pub kappa: u16,
    /// β: how far bonds follow clipped rather than raw weights, u16 proportion (default 65 535 = 1).
    pub bonds_penalty: u16,
    /// Bond EMA memory in millionths (default 900 000 ⇒ EMA α = 0.1); at most 1 000 000.
    pub bonds_moving_average: u64,
    /// Yuma 3 bonds (default true for new subnets); false selects original Yuma.
    pub yuma3: bool,
    /// Liquid alpha: a per-bond EMA α from a sigmoid (default false; Yuma 3 only).
    pub liquid_alpha: bool,
    /// Liquid alpha lower bound, u16 proportion (default 45 875 ≈ 0.7).
    pub alpha_low: u16,
    /// Liquid alpha upper bound, u16 proportion (default 58 982 ≈ 0.9); `alpha_low ≤ alpha_high`.
    pub alpha_high: u16,
    /// Liquid alpha sigmoid steepness ×100 (default 1 000 ⇒ 10).
    pub alpha_sigmoid_steepness: i16,
    /// How many validator permits the epoch grants (default 64).
    pub max_allowed_validators: u16,
    /// Blocks after its last weight update that a neuron still counts as active (default 5 000).
    pub activity_cutoff: u64,
    /// Stake below which a neuron's stake counts as zero, in stake units (default 0).
    pub stake_threshold: u64,
}

impl Default for EpochParams {
    fn default() -> Self {
        Self {
            kappa: 32_767,
            bonds_penalty: u16::MAX,
            bonds_moving_average: 900_000,
            yuma3: true,
            liquid_alpha: false,
            alpha_low: 45_875,
            alpha_high: 58_982,
            alpha_sigmoid_steepness: 1_000,
            max_allowed_validators: 64,
            activity_cutoff: 5_000,
            stake_threshold: 0,
        }
    }
}

/// Everything one epoch reads. All per-neuron vectors have length `n = stake.len()`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct EpochInput {
    /// Hyperparameters.
    pub params: EpochParams,
    /// The block the epoch runs at.
    pub current_block: u64,
    /// The first block after the previous epoch (the live chain's `last_tempo`:
    /// `LastMechanismStepBlock + 1`, or `current_block − tempo` before any epoch). Bonds to
    /// neurons registered at or after it are dropped: they belong to the uid's previous owner.
    pub last_tempo_block: u64,
    /// Alpha (rao) to distribute this epoch.
    pub emission: u64,
    /// The subnet owner's uid, if the owner hotkey is registered: it keeps a permit and its
    /// self-weight.
    pub owner_uid: Option<u16>,
    /// Raw stake weight per neuron (`α + τ·tao_weight`), any unit.
    pub stake: Vec<I64F64>,
    /// Block of each neuron's last weight update.
    pub last_update: Vec<u64>,
    /// Block each neuron was last registered at.
    pub block_at_registration: Vec<u64>,
    /// Validator permits granted by the previous epoch.
    pub validator_permit: Vec<bool>,
    /// Stored weight rows: `(uid, value)` with values row max-upscaled to 65 535.
    pub weights: Vec<Vec<(u16, u16)>>,
    /// Stored bond rows: u16 proportions (Yuma 3) or column max-upscaled values (original).
    pub bonds: Vec<Vec<(u16, u16)>>,
    /// With commit-reveal on: the block of each neuron's earliest unexpired weight commit
    /// (`u64::MAX` for none). Weights of a commit older than a miner's registration are masked.
    pub weight_commit_blocks: Option<Vec<u64>>,
}

/// What one epoch produces. Proportions are fixed point in `[0, 1]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochOutput {
    /// Whether each neuron updated weights within the activity cutoff.
    pub active: Vec<bool>,
    /// Normalised stake `S` after the stake threshold.
    pub stake: Vec<I32F32>,
    /// Normalised stake of active, permitted validators `A`.
    pub active_stake: Vec<I32F32>,
    /// Consensus weight per miner `C`.
    pub consensus: Vec<I32F32>,
    /// Incentive per miner `I` (sums to 1 or is all zero).
    pub incentive: Vec<I32F32>,
    /// Dividends per validator `D` (sums to 1 or is all zero).
    pub dividends: Vec<I32F32>,
    /// Sum of each validator's clipped weights `Tv`.
    pub validator_trust: Vec<I32F32>,
    /// Permits for the next epoch.
    pub validator_permit: Vec<bool>,
    /// Bond rows to store, in the bond model's storage form.
    pub bonds: Vec<Vec<(u16, u16)>>,
    /// Emission to each neuron as a miner (rao, floored).
    pub server_emission: Vec<u64>,
    /// Emission to each neuron as a validator (rao, floored).
    pub validator_emission: Vec<u64>,
    /// Combined emission per neuron as the chain records it (rao, floored).
    pub combined_emission: Vec<u64>,
}

impl EpochOutput {
    /// Number of neurons.
    pub fn n(&self) -> usize {
        self.stake.len()
    }

    /// Stored bonds as a dense `n × n` matrix of u16 values (absent entries are 0).
    pub fn bonds_dense(&self) -> Vec<Vec<u16>> {
        let n = self.n();
        self.bonds
            .iter()
            .map(|row| {
                let mut dense = vec![0u16; n];
                for &(j, value) in row {
                    if let Some(cell) = dense.get_mut(usize::from(j)) {
                        *cell = value;
                    }
                }
                dense
            })
            .collect()
    }
}

/// Converts proportions to the chain's stored u16 form (`floor(x · 65535)`).
pub fn to_u16_proportions(values: &[I32F32]) -> Vec<u16> {
    values.iter().map(|v| fixed_proportion_to_u16(*v)).collect()
}

/// Why an epoch input was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YumaError {
    /// More neurons than `u16` uids can address.
    #[error("n = {n} neurons exceeds the maximum of {max}")]
    TooManyNeurons {
        /// Neurons given.
        n: usize,
        /// The limit.
        max: usize,
    },
    /// A per-neuron vector does not have one entry per neuron.
    #[error("{field} has {actual} entries, expected n = {expected}")]
    LengthMismatch {
        /// The offending input.
        field: &'static str,
        /// `n`.
        expected: usize,
        /// Entries given.
        actual: usize,
    },
    /// A sparse row names a uid outside `0..n`.
    #[error("{field}[{row}] names uid {uid}, but n = {n}")]
    UidOutOfRange {
        /// The offending input.
        field: &'static str,
        /// Row index.
        row: usize,
        /// The uid.
        uid: u16,
        /// `n`.
        n: usize,
    },
    /// A sparse row names the same uid twice.
    #[error("{field}[{row}] names uid {uid} more than once")]
    DuplicateUid {
        /// The offending input.
        field: &'static str,
        /// Row index.
        row: usize,
        /// The uid.
        uid: u16,
    },
    /// A sparse row has more entries than there are neurons.
    #[error("{field}[{row}] has {len} entries, more than n = {n}")]
    RowTooLong {
        /// The offending input.
        field: &'static str,
        /// Row index.
        row: usize,
        /// Entries given.
        len: usize,
        /// `n`.
        n: usize,
    },
    /// A neuron's stake is negative.
    #[error("stake[{uid}] is negative")]
    NegativeStake {
        /// The neuron.
        uid: usize,
    },
    /// A hyperparameter is outside its valid range.
    #[error("params.{name}: {reason}")]
    InvalidParam {
        /// The parameter.
        name: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}

/// A validated stored row, sorted by uid: borrowed from the input when it already was.
pub(crate) type CanonicalRow<'a> = Cow<'a, [(u16, u16)]>;

/// An input that passed validation, with its sparse rows sorted by uid.
pub(crate) struct Checked<'a> {
    pub input: &'a EpochInput,
    pub n: usize,
    /// Stored weight rows, sorted.
    pub weights: Vec<CanonicalRow<'a>>,
    /// Stored bond rows, sorted.
    pub bonds: Vec<CanonicalRow<'a>>,
    /// `Σ_i bonds[i][j]` for each column `j`, when [`EpochInput::check_summing_bonds`] was
    /// asked for them (else empty).
    pub bond_sums: Vec<u64>,
}

impl Checked<'_> {
    /// How a stored bond value reads as fixed point: a proportion of 65 535 for Yuma 3, the raw
    /// column max-upscaled value for original Yuma.
    pub(crate) fn bond_reader(&self) -> fn(u16) -> I32F32 {
        if self.input.params.yuma3 {
            tao_primitives::u16_proportion_to_fixed
        } else {
            I32F32::from_num
        }
    }
}

impl EpochParams {
    /// Checks every parameter's range.
    pub fn validate(&self) -> Result<(), YumaError> {
        if self.bonds_moving_average > 1_000_000 {
            return Err(YumaError::InvalidParam {
                name: "bonds_moving_average",
                reason: "must be at most 1000000 (a proportion in millionths)",
            });
        }
        if self.alpha_low > self.alpha_high {
            return Err(YumaError::InvalidParam {
                name: "alpha_low",
                reason: "must not exceed alpha_high",
            });
        }
        Ok(())
    }

    /// κ as a proportion.
    pub(crate) fn kappa_fixed(&self) -> I32F32 {
        tao_primitives::u16_proportion_to_fixed(self.kappa)
    }

    /// β as a proportion.
    pub(crate) fn bonds_penalty_fixed(&self) -> I32F32 {
        tao_primitives::u16_proportion_to_fixed(self.bonds_penalty)
    }

    /// The fixed bond EMA coefficient `α = 1 − bonds_moving_average / 10^6`.
    pub(crate) fn ema_alpha(&self) -> I32F32 {
        let memory = I64F64::saturating_from_num(self.bonds_moving_average)
            .safe_div(I64F64::saturating_from_num(1_000_000));
        I32F32::saturating_from_num(1).saturating_sub(I32F32::saturating_from_num(memory))
    }
}

impl EpochInput {
    /// Number of neurons.
    pub fn n(&self) -> usize {
        self.stake.len()
    }

    /// Validates shapes, uids and parameters; sorts and converts the sparse rows.
    pub(crate) fn check(&self) -> Result<Checked<'_>, YumaError> {
        self.check_summing_bonds(false)
    }

    /// [`Self::check`], with the column sums of the stored bonds when `sum_bonds` (taken
    /// while the rows are checked, so that original Yuma does not read them once more).
    pub(crate) fn check_summing_bonds(&self, sum_bonds: bool) -> Result<Checked<'_>, YumaError> {
        let n = self.n();
        if n > MAX_NEURONS {
            return Err(YumaError::TooManyNeurons {
                n,
                max: MAX_NEURONS,
            });
        }
        self.params.validate()?;
        let lengths = [
            ("last_update", self.last_update.len()),
            ("block_at_registration", self.block_at_registration.len()),
            ("validator_permit", self.validator_permit.len()),
            ("weights", self.weights.len()),
            ("bonds", self.bonds.len()),
            (
                "weight_commit_blocks",
                self.weight_commit_blocks.as_ref().map_or(n, Vec::len),
            ),
        ];
        if let Some(uid) = self.stake.iter().position(|s| *s < 0) {
            return Err(YumaError::NegativeStake { uid });
        }
        if let Some(&(field, actual)) = lengths.iter().find(|(_, len)| *len != n) {
            return Err(YumaError::LengthMismatch {
                field,
                expected: n,
                actual,
            });
        }
        let mut bond_sums = if sum_bonds { vec![0; n] } else { Vec::new() };
        let sums = Some(bond_sums.as_mut_slice()).filter(|_| sum_bonds);
        Ok(Checked {
            input: self,
            n,
            weights: canonical_rows("weights", &self.weights, n, None)?,
            bonds: canonical_rows("bonds", &self.bonds, n, sums)?,
            bond_sums,
        })
    }
}

/// Validates sparse u16 rows (length ≤ n, uids < n, no duplicates) and returns them sorted by
/// uid: rows already in order are borrowed, only the others are copied. With `column_sums`,
/// adds each value to its column's sum on the way (meaningless when it returns an error).
fn canonical_rows<'a>(
    field: &'static str,
    rows: &'a [Vec<(u16, u16)>],
    n: usize,
    mut column_sums: Option<&mut [u64]>,
) -> Result<Vec<CanonicalRow<'a>>, YumaError> {
    rows.iter()
        .enumerate()
        .map(|(row, entries)| {
            if entries.len() > n {
                return Err(YumaError::RowTooLong {
                    field,
                    row,
                    len: entries.len(),
                    n,
                });
            }
            // Usual case: strictly ascending uids, so the last one is the largest and no uid
            // repeats. One branch-free pass over adjacent pairs decides it.
            let ascending = match column_sums.as_deref_mut() {
                Some(sums) => ascending_adding(entries, sums),
                None => entries
                    .windows(2)
                    .fold(true, |ok, pair| ok & matches!(pair, [a, b] if a.0 < b.0)),
            };
            if ascending && entries.last().is_none_or(|(uid, _)| usize::from(*uid) < n) {
                return Ok(Cow::Borrowed(entries.as_slice()));
            }
            if let Some(&(uid, _)) = entries.iter().find(|(uid, _)| usize::from(*uid) >= n) {
                return Err(YumaError::UidOutOfRange { field, row, uid, n });
            }
            let mut sorted = entries.clone();
            sorted.sort_unstable_by_key(|(uid, _)| *uid);
            let mut previous = None;
            for &(uid, _) in &sorted {
                if previous == Some(uid) {
                    return Err(YumaError::DuplicateUid { field, row, uid });
                }
                previous = Some(uid);
            }
            Ok(Cow::Owned(sorted))
        })
        .collect()
}

/// Whether the uids of `entries` ascend strictly, adding each value to its column's sum on
/// the way (at most 65 535 rows of values below 2^16: no sum reaches 2^32).
fn ascending_adding(entries: &[(u16, u16)], sums: &mut [u64]) -> bool {
    let mut ascending = true;
    // The smallest uid the next entry may have, as a u32 so that uid 65 535 has a successor.
    let mut least = 0u32;
    for &(uid, value) in entries {
        ascending &= u32::from(uid) >= least;
        least = u32::from(uid).wrapping_add(1);
        if let Some(sum) = sums.get_mut(usize::from(uid)) {
            *sum = sum.wrapping_add(u64::from(value));
        }
    }
    ascending
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use tao_primitives::I64F64;

    fn input(bonds: Vec<Vec<(u16, u16)>>) -> EpochInput {
        let n = bonds.len();
        EpochInput {
            stake: vec![I64F64::from_num(1); n],
            last_update: vec![0; n],
            block_at_registration: vec![0; n],
            validator_permit: vec![true; n],
            weights: vec![Vec::new(); n],
            bonds,
            ..EpochInput::default()
        }
    }

    #[test]
    fn bond_sums_cover_every_row_sorted_or_not() {
        // Row 1 is out of order (copied and sorted), row 2 uses the largest uid.
        let bonds = vec![
            vec![(0, 5), (2, 7)],
            vec![(2, 1), (1, 3)],
            vec![(2, 65_535)],
        ];
        let epoch = input(bonds.clone());
        let checked = epoch.check_summing_bonds(true).unwrap();
        assert_eq!(checked.bond_sums, vec![5, 3, 7 + 1 + 65_535]);
        assert_eq!(&*checked.bonds[1], &[(1, 3), (2, 1)]);
        assert!(input(bonds).check().unwrap().bond_sums.is_empty());
    }

    #[test]
    fn summing_bonds_rejects_what_check_rejects() {
        let duplicate = vec![vec![(1, 1), (1, 2)], vec![], vec![]];
        let out_of_range = vec![vec![(3, 1)], vec![], vec![]];
        for bonds in [duplicate, out_of_range] {
            let plain = input(bonds.clone()).check().map(|_| ()).unwrap_err();
            let summing = input(bonds)
                .check_summing_bonds(true)
                .map(|_| ())
                .unwrap_err();
            assert_eq!(plain, summing);
        }
    }
}
