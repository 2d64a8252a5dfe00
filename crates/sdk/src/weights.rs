//! Scores → a weight row the chain accepts: normalized, every weight within
//! `max_weight_limit`, at least `min_allowed_weights` entries, quantized to `u16` with the
//! largest weight at 65 535 (rounding up) (as the bittensor SDK's `process_weights_for_netuid` does, but
//! checked against the chain's own integer test before sending).

use crate::error::SdkError;

/// The subnet's limits on one weight row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeightLimits {
    /// Neurons in the subnet (uids `0..n`).
    pub n: u16,
    /// Fewest entries a row must have (capped at `n`).
    pub min_allowed_weights: u16,
    /// Largest normalized weight, u16 proportion (65 535: no limit).
    pub max_weight_limit: u16,
}

/// A weight row: uids ascending and their `u16` weights.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WeightRow {
    /// Destination uids, ascending, distinct.
    pub uids: Vec<u16>,
    /// Weights in the same order.
    pub values: Vec<u16>,
}

/// Headroom below the limit so that quantization never pushes a weight over it.
const LIMIT_MARGIN: f64 = 1e-4;

/// Turns per-uid scores (any non-negative scale; NaN, infinite and negative count as 0; uids
/// at or past `n` are ignored) into a row that satisfies `limits`.
///
/// # Errors
/// [`SdkError::Weights`] when every score is 0, or when `n · limit < 1` makes the limit
/// impossible to meet.
pub fn weights_from_scores(
    scores: &[(u16, f64)],
    limits: WeightLimits,
) -> Result<WeightRow, SdkError> {
    let mut dense = vec![0.0_f64; usize::from(limits.n)];
    for (uid, score) in scores {
        if let Some(slot) = dense.get_mut(usize::from(*uid))
            && score.is_finite()
            && *score > 0.0
        {
            *slot = *score;
        }
    }
    let sum: f64 = dense.iter().sum();
    if sum <= 0.0 || !sum.is_finite() {
        return Err(SdkError::Weights("every score is 0".into()));
    }
    let limit = f64::from(limits.max_weight_limit) / f64::from(u16::MAX);
    let capped = if limits.max_weight_limit == u16::MAX {
        dense.iter().map(|w| w / sum).collect()
    } else {
        cap_weights(&dense, limit * (1.0 - LIMIT_MARGIN))?
    };
    let row = quantize(
        &capped,
        usize::from(limits.min_allowed_weights.min(limits.n)),
    );
    if !within_limit(&row.values, limits.max_weight_limit) {
        return Err(SdkError::Weights(format!(
            "cannot meet max_weight_limit {} with {} neurons",
            limits.max_weight_limit, limits.n
        )));
    }
    Ok(row)
}

/// Normalized weights with none above `limit`: the largest are lowered to a common cap and
/// the rest scaled up (water-filling); when too few are positive to share the total under the
/// limit, mixed with the uniform distribution over all uids.
fn cap_weights(dense: &[f64], limit: f64) -> Result<Vec<f64>, SdkError> {
    let n = dense.len() as f64;
    if n * limit < 1.0 {
        return Err(SdkError::Weights(format!(
            "max_weight_limit {:.4} is below 1/{} : no row of this subnet can meet it",
            limit,
            dense.len()
        )));
    }
    let sum: f64 = dense.iter().sum();
    let normalized: Vec<f64> = dense.iter().map(|w| w / sum).collect();
    let positive = dense.iter().filter(|w| **w > 0.0).count() as f64;
    if positive * limit < 1.0 {
        // Mix with uniform: (1 − t)·w + t/n has maximum ≤ limit for this t.
        let max = normalized.iter().copied().fold(0.0, f64::max);
        let t = ((max - limit) / (max - 1.0 / n)).clamp(0.0, 1.0);
        return Ok(normalized.iter().map(|w| (1.0 - t) * w + t / n).collect());
    }
    let mut sorted = normalized.clone();
    sorted.sort_by(|a, b| b.total_cmp(a));
    // With the j largest clipped to c: c = limit · (j·c + rest_j)  ⇒  c = limit·rest_j / (1 − limit·j).
    let mut rest: f64 = sorted.iter().sum();
    for (j, value) in sorted.iter().enumerate() {
        let clipped = j as f64;
        let cap = limit * rest / (1.0 - limit * clipped);
        if *value <= cap {
            if j == 0 {
                return Ok(normalized);
            }
            let total = clipped * cap + rest;
            return Ok(normalized.iter().map(|w| w.min(cap) / total).collect());
        }
        rest -= value;
    }
    Ok(vec![1.0 / n; dense.len()])
}

/// Scales so the largest weight is 65 535 and rounds up (so the row's sum never shrinks and
/// the largest weight's share never grows); keeps every positive weight and, to
/// reach `min_entries`, the lowest uids with weight 0.
fn quantize(weights: &[f64], min_entries: usize) -> WeightRow {
    let max = weights.iter().copied().fold(0.0, f64::max);
    let mut row = WeightRow::default();
    let mut zeros_needed = min_entries.saturating_sub(weights.iter().filter(|w| **w > 0.0).count());
    for (uid, weight) in weights.iter().enumerate() {
        let Ok(uid) = u16::try_from(uid) else { break };
        let value = if max > 0.0 {
            (weight / max * f64::from(u16::MAX)).ceil() as u16
        } else {
            0
        };
        if *weight > 0.0 {
            row.uids.push(uid);
            row.values.push(value);
        } else if zeros_needed > 0 {
            zeros_needed -= 1;
            row.uids.push(uid);
            row.values.push(0);
        }
    }
    row
}

/// The chain's test: no weight above `limit` of the row's sum (65 535 disables it).
pub fn within_limit(values: &[u16], limit: u16) -> bool {
    if limit == u16::MAX {
        return true;
    }
    let sum: u64 = values.iter().map(|w| u64::from(*w)).sum();
    let max = values.iter().map(|w| u64::from(*w)).max().unwrap_or(0);
    max.saturating_mul(u64::from(u16::MAX)) <= u64::from(limit).saturating_mul(sum)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn limits(n: u16, min: u16, max: u16) -> WeightLimits {
        WeightLimits {
            n,
            min_allowed_weights: min,
            max_weight_limit: max,
        }
    }

    #[test]
    fn proportional_without_limits() {
        let row =
            weights_from_scores(&[(1, 1.0), (2, 0.5), (3, 0.0)], limits(4, 1, u16::MAX)).unwrap();
        assert_eq!(row.uids, vec![1, 2]);
        assert_eq!(row.values, vec![65_535, 32_768]);
    }

    #[test]
    fn zero_garbage_and_out_of_range_scores_are_ignored() {
        let row = weights_from_scores(
            &[
                (0, f64::NAN),
                (1, -3.0),
                (2, f64::INFINITY),
                (3, 2.0),
                (9, 5.0),
            ],
            limits(4, 1, u16::MAX),
        )
        .unwrap();
        assert_eq!(row.uids, vec![3]);
        assert!(weights_from_scores(&[(0, 0.0)], limits(4, 1, u16::MAX)).is_err());
    }

    #[test]
    fn the_max_weight_limit_is_met_by_capping() {
        // 50 % cap: one dominant score must share with the others.
        let row =
            weights_from_scores(&[(0, 100.0), (1, 1.0), (2, 1.0)], limits(3, 1, 32_768)).unwrap();
        assert!(within_limit(&row.values, 32_768), "{row:?}");
        assert_eq!(row.uids, vec![0, 1, 2]);
    }

    #[test]
    fn too_few_positive_scores_mix_in_the_others() {
        let row = weights_from_scores(&[(0, 1.0)], limits(4, 1, 26_214)).unwrap();
        assert!(within_limit(&row.values, 26_214), "{row:?}");
        assert_eq!(row.uids.len(), 4);
        assert!(weights_from_scores(&[(0, 1.0)], limits(2, 1, 16_000)).is_err());
    }

    #[test]
    fn min_allowed_weights_adds_zero_entries() {
        let row = weights_from_scores(&[(5, 1.0)], limits(8, 3, u16::MAX)).unwrap();
        assert_eq!(row.uids, vec![0, 1, 5]);
        assert_eq!(row.values, vec![0, 0, 65_535]);
    }

    proptest! {
        #[test]
        fn rows_always_pass_the_chain_checks(
            scores in proptest::collection::vec((0u16..64, 0.0f64..1e6), 1..64),
            n in 1u16..64,
            min in 0u16..80,
            limit in 1u16..=u16::MAX,
        ) {
            let limits = limits(n, min, limit);
            if let Ok(row) = weights_from_scores(&scores, limits) {
                prop_assert_eq!(row.uids.len(), row.values.len());
                prop_assert!(row.uids.windows(2).all(|w| w[0] < w[1]));
                prop_assert!(row.uids.iter().all(|u| *u < n));
                prop_assert!(row.uids.len() >= usize::from(min.min(n)));
                prop_assert!(within_limit(&row.values, limit));
            }
        }
    }
}
