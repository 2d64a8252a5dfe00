//! The vector steps every epoch implementation shares: activity, stake, permits and active
//! stake before the matrix work; the emission split and what is stored after it.

use crate::input::{Checked, EpochInput, EpochOutput};
use crate::math::{
    ZERO, is_topk_nonzero, is_zero, mask_vector, normalize, normalize_64, normalize_using_sum, sum,
};
use tao_primitives::{I32F32, I64F64, I96F32};

/// Per-neuron facts computed before the weights are touched.
pub(crate) struct Prelude<'a> {
    input: &'a EpochInput,
    /// Updated weights within the activity cutoff.
    pub active: Vec<bool>,
    /// Normalised stake after the threshold (`S`).
    pub stake: Vec<I32F32>,
    /// Permits from the previous epoch, the owner's forced on.
    pub old_permit: Vec<bool>,
    /// Permits for the next epoch: top-k non-zero stake, the owner's forced on.
    pub new_permit: Vec<bool>,
    /// `S` of active, previously permitted neurons, normalised (`A`).
    pub active_stake: Vec<I32F32>,
}

impl<'a> Prelude<'a> {
    /// Steps 1–4 of the epoch: activity, stake, permits, active stake.
    pub(crate) fn new(checked: &Checked<'a>) -> Self {
        let input = checked.input;
        let params = &input.params;
        let active: Vec<bool> = input
            .last_update
            .iter()
            .map(|updated| updated.saturating_add(params.activity_cutoff) >= input.current_block)
            .collect();

        let mut raw: Vec<I64F64> = input
            .stake
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let below = s.saturating_to_num::<u64>() < params.stake_threshold;
                if below && !is_owner(input, i) {
                    I64F64::from_bits(0)
                } else {
                    *s
                }
            })
            .collect();
        normalize_64(&mut raw);
        let stake: Vec<I32F32> = raw
            .iter()
            .map(|s| I32F32::saturating_from_num(*s))
            .collect();

        let force_owner = |mut permits: Vec<bool>| {
            if let Some(cell) = input
                .owner_uid
                .and_then(|o| permits.get_mut(usize::from(o)))
            {
                *cell = true;
            }
            permits
        };
        let old_permit = force_owner(input.validator_permit.clone());
        let new_permit = force_owner(is_topk_nonzero(
            &stake,
            usize::from(params.max_allowed_validators),
        ));

        let mut active_stake = stake.clone();
        let inactive: Vec<bool> = active.iter().map(|a| !a).collect();
        let forbidden: Vec<bool> = old_permit.iter().map(|p| !p).collect();
        mask_vector(&inactive, &mut active_stake);
        mask_vector(&forbidden, &mut active_stake);
        normalize(&mut active_stake);

        Self {
            input,
            active,
            stake,
            old_permit,
            new_permit,
            active_stake,
        }
    }

    /// The mask of validator `i`'s weight row: `None` when `i` held no permit (the whole row is
    /// dropped), otherwise whether its weight on miner `j` survives: no self-weight (except the
    /// owner's), not set before `j` registered, and with commit-reveal not committed before it.
    pub(crate) fn weight_filter(&self, i: usize) -> Option<impl Fn(usize) -> bool + '_> {
        let mask = self.weight_mask(i)?;
        Some(move |j: usize| mask.keeps(j, self.input))
    }

    /// [`Prelude::weight_filter`]'s parts, for callers that test a whole row at once.
    pub(crate) fn weight_mask(&self, i: usize) -> Option<WeightMask> {
        if !self.old_permit.get(i).copied().unwrap_or(false) {
            return None;
        }
        let input = self.input;
        let updated = input.last_update.get(i).copied().unwrap_or(0);
        let committed = input
            .weight_commit_blocks
            .as_ref()
            .and_then(|blocks| blocks.get(i).copied())
            .unwrap_or(u64::MAX);
        Some(WeightMask {
            row: i,
            keeps_self: is_owner(input, i),
            // A weight survives only if both its update and its commit came after j registered.
            set_after: updated.min(committed.saturating_add(1)),
        })
    }

    /// Whether bonds to miner `j` were made before it (re)registered and so carry over.
    pub(crate) fn keeps_bond_to(&self, j: usize) -> bool {
        self.input
            .block_at_registration
            .get(j)
            .is_none_or(|registered| self.input.last_tempo_block > *registered)
    }
}

/// The weight mask of one permitted validator's row.
pub(crate) struct WeightMask {
    /// The validator's uid.
    pub row: usize,
    /// Whether its self-weight survives (the owner's does).
    pub keeps_self: bool,
    /// Weights survive on miners registered before this block.
    pub set_after: u64,
}

impl WeightMask {
    /// Whether the weight on miner `j` survives.
    pub(crate) fn keeps(&self, j: usize, input: &EpochInput) -> bool {
        let registered = input.block_at_registration.get(j).copied().unwrap_or(0);
        (j != self.row || self.keeps_self) && self.set_after > registered
    }
}

fn is_owner(input: &EpochInput, i: usize) -> bool {
    input.owner_uid.is_some_and(|o| usize::from(o) == i)
}

/// Steps 12–13: splits the emission between miners and validators and assembles the output.
pub(crate) fn finish(
    input: &EpochInput,
    prelude: Prelude<'_>,
    consensus: Vec<I32F32>,
    incentive: Vec<I32F32>,
    dividends: Vec<I32F32>,
    validator_trust: Vec<I32F32>,
    new_bonds: Vec<Vec<(u16, u16)>>,
) -> EpochOutput {
    let mut combined: Vec<I32F32> = incentive
        .iter()
        .zip(&dividends)
        .map(|(i, d)| i.saturating_add(*d))
        .collect();
    let total = sum(&combined);
    let mut server = incentive.clone();
    let mut validator = dividends.clone();
    normalize_using_sum(&mut server, total);
    normalize_using_sum(&mut validator, total);
    normalize(&mut combined);
    if total == ZERO {
        // No usable weights: validators are paid by stake so the subnet still emits.
        let fallback = if is_zero(&prelude.active_stake) {
            &prelude.stake
        } else {
            &prelude.active_stake
        };
        validator.clone_from(fallback);
        combined.clone_from(fallback);
    }
    let rao = |shares: &[I32F32]| -> Vec<u64> {
        let emission = I96F32::saturating_from_num(input.emission);
        shares
            .iter()
            .map(|x| {
                I96F32::saturating_from_num(*x)
                    .saturating_mul(emission)
                    .saturating_to_num::<u64>()
            })
            .collect()
    };

    let bonds = new_bonds
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            if prelude.new_permit.get(i).copied().unwrap_or(false) {
                row
            } else if prelude.old_permit.get(i).copied().unwrap_or(false) {
                Vec::new()
            } else {
                input.bonds.get(i).cloned().unwrap_or_default()
            }
        })
        .collect();

    EpochOutput {
        server_emission: rao(&server),
        validator_emission: rao(&validator),
        combined_emission: rao(&combined),
        active: prelude.active,
        stake: prelude.stake,
        active_stake: prelude.active_stake,
        consensus,
        incentive,
        dividends,
        validator_trust,
        validator_permit: prelude.new_permit,
        bonds,
    }
}
