//! Scoring: CRPS skill against naive persistence, the plagiarism check, the per-miner moving
//! average, and weights.
//!
//! * CRPS of a forecast at one cell, from its three quantiles: `(2/3)·Σ_τ ρ_τ(y − q_τ)` for
//!   τ ∈ {0.1, 0.5, 0.9}, with the pinball loss `ρ_τ(e) = max(τ·e, (τ − 1)·e)` — twice the
//!   mean quantile loss, the standard discretisation of `CRPS = 2∫ρ_τ dτ`. The same formula
//!   scores the miner and the baseline, so the constant cancels.
//! * Skill of series `i`: `1 − mean_h CRPS_miner / mean_h CRPS_naive` (a ratio of horizon
//!   means: per-cell ratios explode where the naive CRPS happens to be near 0). The score is
//!   the mean over series, clipped to `[0, 1]`; anything non-finite scores 0.
//! * Plagiarism ([`Fingerprint`]): a counted forecast is zeroed when one committed earlier —
//!   earlier block, or the same block and earlier in the validator's arrival order — has the
//!   same quantiles, or quantile deviations from the reference forecast
//!   ([`reference_forecast`]) correlated above `plagiarism_correlation`, or quantiles closer
//!   than `plagiarism_distance` of the earlier one's departure from the naive baseline.

use std::collections::BTreeMap;

use tao_primitives::Uid;

use crate::error::Error;
use crate::forecast::{Challenge, Forecast};
use crate::ledger::{Roster, Round, Verdict};
use crate::spec::{ForecastSpec, ScoringSpec};
use crate::strategy::{naive_baseline, reference_forecast};
use crate::world::Panel;

/// The quantile levels.
const LEVELS: [f64; 3] = [0.1, 0.5, 0.9];

/// The pinball loss of quantile level `tau` at error `y − q`.
fn pinball(tau: f64, y: f64, q: f64) -> f64 {
    let error = y - q;
    (tau * error).max((tau - 1.0) * error)
}

/// The three-quantile CRPS approximation at one cell.
pub fn crps(quantiles: [f64; 3], y: f64) -> f64 {
    let sum: f64 = LEVELS
        .iter()
        .zip(quantiles)
        .map(|(tau, q)| pinball(*tau, y, q))
        .sum();
    2.0 * sum / 3.0
}

/// The true values of the challenge's cells (cell `i·H + h` = series `i` at `start + h`).
///
/// # Errors
/// [`Error::HistoryTooShort`] until the last target step is known.
pub fn truth(history: Panel<'_>, challenge: &Challenge) -> Result<Vec<f64>, Error> {
    let needed = challenge.last_step().saturating_add(1);
    let missing = || Error::HistoryTooShort {
        needed,
        have: history.steps() as u64,
    };
    if (history.steps() as u64) < needed || history.series() != usize::from(challenge.series) {
        return Err(missing());
    }
    let start = usize::try_from(challenge.start_step).map_err(|_| Error::Overflow)?;
    let mut values = Vec::with_capacity(challenge.cells());
    for i in 0..history.series() {
        for h in 0..usize::from(challenge.horizon) {
            values.push(history.get(start + h, i).ok_or_else(missing)?);
        }
    }
    Ok(values)
}

/// Mean CRPS per series of `forecast` against `truth`.
fn series_crps(forecast: &Forecast, truth: &[f64]) -> Vec<f64> {
    let horizon = usize::from(forecast.horizon).max(1);
    (0..usize::from(forecast.series))
        .map(|i| {
            let total: f64 = (0..horizon)
                .filter_map(|h| {
                    let (_, q10, q50, q90) = forecast.cell(i, h)?;
                    let y = truth.get(i * horizon + h)?;
                    Some(crps([q10, q50, q90], *y))
                })
                .sum();
            total / horizon as f64
        })
        .collect()
}

/// `1 − CRPS_forecast / CRPS_baseline` per series, averaged, clipped to `[0, 1]`; 0 for
/// anything non-finite. Series where the baseline is perfect (CRPS 0) are left out.
pub fn skill(forecast: &Forecast, baseline: &Forecast, truth: &[f64]) -> f64 {
    let ratios: Vec<f64> = series_crps(forecast, truth)
        .into_iter()
        .zip(series_crps(baseline, truth))
        .filter(|(_, base)| *base > 0.0)
        .map(|(own, base)| 1.0 - own / base)
        .collect();
    if ratios.is_empty() {
        return 0.0;
    }
    let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
    if mean.is_finite() {
        mean.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Pearson correlation, `None` when either side has no variance or lengths differ.
pub fn correlation(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let n = a.len() as f64;
    let (mean_a, mean_b) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - mean_a, y - mean_b);
        ab += dx * dy;
        aa += dx * dx;
        bb += dy * dy;
    }
    let r = ab / (aa * bb).sqrt();
    (aa > 0.0 && bb > 0.0 && r.is_finite()).then_some(r)
}

/// The scored columns (q10, q50, q90) of a forecast, concatenated.
fn quantiles(forecast: &Forecast) -> Vec<f64> {
    [&forecast.q10, &forecast.q50, &forecast.q90]
        .into_iter()
        .flat_map(|column| column.iter().copied())
        .collect()
}

fn difference(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}

fn rms(values: &[f64]) -> f64 {
    (values.iter().map(|v| v * v).sum::<f64>() / values.len().max(1) as f64).sqrt()
}

/// What the plagiarism check knows of one forecast.
#[derive(Clone, Debug)]
pub struct Fingerprint {
    /// The quantile columns.
    quantiles: Vec<f64>,
    /// Their deviation from the reference forecast's quantiles.
    deviation: Vec<f64>,
    /// RMS departure of the quantiles from the naive baseline's.
    departure: f64,
}

impl Fingerprint {
    /// The fingerprint of `forecast` given the round's reference and naive baseline.
    pub fn new(forecast: &Forecast, reference: &Forecast, baseline: &Forecast) -> Self {
        let own = quantiles(forecast);
        let deviation = difference(&own, &quantiles(reference));
        let departure = rms(&difference(&own, &quantiles(baseline)));
        Self {
            quantiles: own,
            deviation,
            departure,
        }
    }

    /// Whether `self` (committed later) copies `earlier`: identical quantiles, deviations from
    /// the reference correlated above `scoring.plagiarism_correlation`, or closer than
    /// `scoring.plagiarism_distance` of the earlier forecast's departure from the baseline.
    pub fn copies(&self, earlier: &Fingerprint, scoring: &ScoringSpec) -> bool {
        let identical = self.quantiles.len() == earlier.quantiles.len()
            && self
                .quantiles
                .iter()
                .zip(&earlier.quantiles)
                .all(|(a, b)| a.to_bits() == b.to_bits());
        let correlated = correlation(&self.deviation, &earlier.deviation)
            .is_some_and(|r| r > scoring.plagiarism_correlation);
        let gap = rms(&difference(&self.quantiles, &earlier.quantiles));
        let close = gap < scoring.plagiarism_distance * earlier.departure;
        identical || correlated || close
    }
}

/// One miner's result in one round.
#[derive(Clone, Debug, PartialEq)]
pub struct MinerScore {
    /// The miner.
    pub uid: Uid,
    /// Whether its entry counted, and why not.
    pub verdict: Verdict,
    /// Skill before the plagiarism check (0 when it did not count).
    pub skill: f64,
    /// The earlier miner it copied, if any.
    pub copied_from: Option<Uid>,
    /// The round's score: the skill, or 0 for a copy.
    pub score: f64,
}

/// Score one round once its last target step is known: every entry, plus a `Missing` zero
/// for each roster uid without one. Results are sorted by uid.
///
/// # Errors
/// [`Error::HistoryTooShort`] before the horizon has passed (or when the baseline cannot be
/// calibrated), shape errors when the history does not match the spec.
pub fn score_round(
    spec: &ForecastSpec,
    history: Panel<'_>,
    round: &Round,
    roster: Option<&Roster>,
) -> Result<Vec<MinerScore>, Error> {
    let challenge = &round.challenge;
    let truth = truth(history, challenge)?;
    let baseline = naive_baseline(&spec.world, history, challenge)?;
    let reference =
        reference_forecast(&spec.world, history, challenge).unwrap_or_else(|| baseline.clone());
    let mut results: BTreeMap<Uid, MinerScore> = BTreeMap::new();
    // (arrival order, uid, deviations) of counted forecasts, in commitment order.
    let mut counted: Vec<(u64, usize, Uid, &Forecast)> = Vec::new();
    for (order, entry) in round.entries.iter().enumerate() {
        let verdict = if results.contains_key(&entry.uid) {
            Err(Verdict::Duplicate)
        } else {
            entry.check(spec, challenge, roster)
        };
        match verdict {
            Ok(forecast) => counted.push((entry.committed_at, order, entry.uid, forecast)),
            Err(Verdict::Duplicate) => {}
            Err(verdict) => {
                results.insert(entry.uid, zero(entry.uid, verdict));
            }
        }
        results
            .entry(entry.uid)
            .or_insert_with(|| zero(entry.uid, Verdict::Counted));
    }
    counted.sort_by_key(|(block, order, ..)| (*block, *order));
    let prints: Vec<Fingerprint> = counted
        .iter()
        .map(|(.., forecast)| Fingerprint::new(forecast, &reference, &baseline))
        .collect();
    for (((_, _, uid, forecast), mine), index) in counted.iter().zip(&prints).zip(0..) {
        let skill = skill(forecast, &baseline, &truth);
        let copied_from = counted
            .iter()
            .zip(&prints)
            .take(index)
            .find(|(_, earlier)| mine.copies(earlier, &spec.scoring))
            .map(|((.., source, _), _)| *source);
        let score = if copied_from.is_some() { 0.0 } else { skill };
        results.insert(
            *uid,
            MinerScore {
                uid: *uid,
                verdict: Verdict::Counted,
                skill,
                copied_from,
                score,
            },
        );
    }
    for uid in roster.into_iter().flat_map(|r| r.keys()) {
        results
            .entry(*uid)
            .or_insert_with(|| zero(*uid, Verdict::Missing));
    }
    Ok(results.into_values().collect())
}

fn zero(uid: Uid, verdict: Verdict) -> MinerScore {
    MinerScore {
        uid,
        verdict,
        skill: 0.0,
        copied_from: None,
        score: 0.0,
    }
}

/// Per-miner exponential moving averages of round scores (with the number of rounds), and
/// the weights they give. Serde, for validators that persist it.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScoreBook {
    averages: BTreeMap<Uid, (f64, u32)>,
}

impl ScoreBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fold one round's scores in: `avg ← (1 − α)·avg + α·score` (the first round sets it).
    /// Non-finite scores count as 0.
    pub fn update(&mut self, scoring: &ScoringSpec, scores: &[MinerScore]) {
        let alpha = scoring.ema_alpha.clamp(0.0, 1.0);
        for score in scores {
            let value = if score.score.is_finite() {
                score.score.clamp(0.0, 1.0)
            } else {
                0.0
            };
            let slot = self.averages.entry(score.uid).or_insert((value, 0));
            if slot.1 > 0 {
                slot.0 = (1.0 - alpha) * slot.0 + alpha * value;
            }
            slot.1 = slot.1.saturating_add(1);
        }
    }

    /// The moving average and the number of rounds of `uid`.
    pub fn get(&self, uid: Uid) -> Option<(f64, u32)> {
        self.averages.get(&uid).copied()
    }

    /// Weights from the averages of miners with at least `min_rounds` rounds.
    pub fn weights(&self, scoring: &ScoringSpec) -> Vec<(Uid, f64)> {
        let eligible: Vec<(Uid, f64)> = self
            .averages
            .iter()
            .map(|(uid, (average, rounds))| {
                (
                    *uid,
                    if *rounds >= scoring.min_rounds {
                        *average
                    } else {
                        0.0
                    },
                )
            })
            .collect();
        weights(&eligible, scoring.weight_power)
    }
}

/// Normalised weights `∝ score^power`; negative or non-finite scores count as 0; all zeros
/// when nothing scores.
pub fn weights(scores: &[(Uid, f64)], power: f64) -> Vec<(Uid, f64)> {
    let raised: Vec<(Uid, f64)> = scores
        .iter()
        .map(|(uid, score)| {
            let base = if score.is_finite() {
                score.max(0.0)
            } else {
                0.0
            };
            let value = libm::pow(base, power);
            (*uid, if value.is_finite() { value } else { 0.0 })
        })
        .collect();
    let total: f64 = raised.iter().map(|(_, v)| v).sum();
    raised
        .into_iter()
        .map(|(uid, v)| (uid, if total > 0.0 { v / total } else { 0.0 }))
        .collect()
}

/// Weights as the chain stores them: scaled so the largest is 65535 (rounded), zeros kept.
pub fn to_u16(weights: &[(Uid, f64)]) -> Vec<(Uid, u16)> {
    let max = weights
        .iter()
        .map(|(_, w)| *w)
        .filter(|w| w.is_finite())
        .fold(0.0, f64::max);
    weights
        .iter()
        .map(|(uid, w)| {
            let scaled = if max > 0.0 && w.is_finite() {
                (w / max * 65535.0).round()
            } else {
                0.0
            };
            (*uid, scaled.clamp(0.0, 65535.0) as u16)
        })
        .collect()
}

/// Chain weights normalised to sum 1 (all zeros stay zeros).
pub fn from_u16(weights: &[(Uid, u16)]) -> Vec<(Uid, f64)> {
    let total: f64 = weights.iter().map(|(_, w)| f64::from(*w)).sum();
    weights
        .iter()
        .map(|(uid, w)| {
            (
                *uid,
                if total > 0.0 {
                    f64::from(*w) / total
                } else {
                    0.0
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(value: f64) -> Vec<f64> {
        vec![value; 4]
    }

    fn forecast(point: f64, spread: f64) -> Forecast {
        Forecast {
            start_step: 1,
            series: 2,
            horizon: 2,
            point: cells(point),
            q10: cells(point - spread),
            q50: cells(point),
            q90: cells(point + spread),
        }
    }

    #[test]
    fn crps_is_zero_only_when_sharp_and_right() {
        assert_eq!(crps([1.0, 1.0, 1.0], 1.0), 0.0);
        assert!(crps([0.0, 1.0, 2.0], 1.0) > 0.0);
        // Wider and centred beats sharp and wrong.
        assert!(crps([0.0, 1.0, 2.0], 1.5) < crps([3.0, 3.0, 3.0], 1.5));
    }

    #[test]
    fn skill_against_baseline() {
        let truth = cells(1.0);
        let baseline = forecast(0.0, 0.5);
        assert_eq!(skill(&baseline, &baseline, &truth), 0.0);
        assert_eq!(skill(&forecast(1.0, 0.0), &baseline, &truth), 1.0);
        let between = skill(&forecast(0.7, 0.3), &baseline, &truth);
        assert!(between > 0.0 && between < 1.0);
        // Worse than the baseline clips to 0; garbage scores 0.
        assert_eq!(skill(&forecast(9.0, 0.1), &baseline, &truth), 0.0);
        assert_eq!(skill(&forecast(f64::INFINITY, 0.1), &baseline, &truth), 0.0);
        assert_eq!(skill(&forecast(1.0, 0.0), &forecast(1.0, 0.0), &truth), 0.0);
    }

    #[test]
    fn copies_are_detected() {
        let scoring = ScoringSpec::default();
        let reference = forecast(0.0, 1.0);
        let baseline = forecast(-1.0, 1.0);
        let print = |f: &Forecast| Fingerprint::new(f, &reference, &baseline);
        let mut source = forecast(0.5, 1.0);
        source.q90[1] = 2.0;
        // Verbatim, scaled, and nudged copies.
        assert!(print(&source).copies(&print(&source), &scoring));
        // Twice the source's departure from the reference: perfectly correlated.
        let mut scaled = source.clone();
        for (mine, theirs) in [
            (&mut scaled.q10, &reference.q10),
            (&mut scaled.q50, &reference.q50),
            (&mut scaled.q90, &reference.q90),
        ] {
            mine.iter_mut()
                .zip(theirs)
                .for_each(|(v, r)| *v = r + 2.0 * (*v - r));
        }
        assert!(print(&scaled).copies(&print(&source), &scoring));
        let mut nudged = source.clone();
        nudged.q50[0] += 1e-4;
        assert!(print(&nudged).copies(&print(&source), &scoring));
        // The reference itself is far from the source: not a copy (zero deviation).
        assert!(!print(&reference).copies(&print(&source), &scoring));
        let mut other = forecast(0.3, 0.8);
        other.q10[2] = -2.0;
        assert!(!print(&other).copies(&print(&source), &scoring));
        // Two copies of the baseline: identical.
        assert!(print(&baseline).copies(&print(&baseline), &scoring));
        assert_eq!(correlation(&[1.0], &[1.0, 2.0]), None);
    }

    #[test]
    fn weights_normalise_and_reject_garbage() {
        let w = weights(
            &[
                (Uid(0), 0.5),
                (Uid(1), 0.25),
                (Uid(2), f64::NAN),
                (Uid(3), -1.0),
            ],
            2.0,
        );
        assert_eq!(
            w,
            vec![(Uid(0), 0.8), (Uid(1), 0.2), (Uid(2), 0.0), (Uid(3), 0.0)]
        );
        assert!(
            weights(&[(Uid(0), 0.0)], 2.0)
                .iter()
                .all(|(_, w)| *w == 0.0)
        );
        assert_eq!(
            to_u16(&w),
            vec![(Uid(0), 65535), (Uid(1), 16384), (Uid(2), 0), (Uid(3), 0)]
        );
        let back = from_u16(&to_u16(&w));
        assert!((back[0].1 - 0.8).abs() < 1e-4);
    }

    #[test]
    fn score_book_averages_and_waits_for_min_rounds() {
        let scoring = ScoringSpec {
            min_rounds: 2,
            ema_alpha: 0.5,
            ..ScoringSpec::default()
        };
        let round = |a: f64, b: f64| vec![zero_with(Uid(0), a), zero_with(Uid(1), b)];
        let mut book = ScoreBook::new();
        book.update(&scoring, &round(0.4, 0.2));
        assert!(book.weights(&scoring).iter().all(|(_, w)| *w == 0.0));
        book.update(&scoring, &round(0.2, f64::NAN));
        assert_eq!(book.get(Uid(0)), Some((0.30000000000000004, 2)));
        assert_eq!(book.get(Uid(1)), Some((0.1, 2)));
        let w = book.weights(&scoring);
        assert!((w[0].1 - 0.9).abs() < 1e-12 && (w[1].1 - 0.1).abs() < 1e-12);
    }

    fn zero_with(uid: Uid, score: f64) -> MinerScore {
        MinerScore {
            score,
            ..zero(uid, Verdict::Counted)
        }
    }
}
