//! The subnet's spec: the world, the question, and the scoring rule, with documented defaults.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::forecast::MAX_HORIZON_STEPS;
use crate::world::WorldSpec;

/// How validators turn forecasts into weights. Defaults: plagiarism correlation 0.99 and
/// distance 0.01, weights
/// ∝ score², EMA α 0.1, no weight before 3 scored rounds, audit tolerance 0.05.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoringSpec {
    /// Pearson correlation above which a later forecast counts as a copy (in `(0, 1]`).
    pub plagiarism_correlation: f64,
    /// Relative distance below which a later forecast counts as a copy (in `[0, 1)`): RMS of
    /// the quantile differences over the RMS of the earlier forecast's departure from the
    /// naive baseline.
    pub plagiarism_distance: f64,
    /// Exponent p of `weight ∝ score^p` (in `[1, 8]`): > 1 makes luck from spraying many
    /// guesses pay less than steady skill.
    pub weight_power: f64,
    /// EMA smoothing α of per-miner scores over rounds (in `(0, 1]`).
    pub ema_alpha: f64,
    /// Rounds a miner must have been scored in before it gets weight.
    pub min_rounds: u32,
    /// Total-variation distance between a validator's weights and the recomputed ones above
    /// which the audit flags it (in `(0, 1]`).
    pub audit_tolerance: f64,
}

impl Default for ScoringSpec {
    fn default() -> Self {
        Self {
            plagiarism_correlation: 0.99,
            plagiarism_distance: 0.01,
            weight_power: 2.0,
            ema_alpha: 0.1,
            min_rounds: 3,
            audit_tolerance: 0.05,
        }
    }
}

/// The whole spec. Defaults: [`WorldSpec::default`], 12-step horizon, a lead of 1 step
/// between the challenge's anchor and its first target (time to answer), reveals accepted
/// up to 12 blocks after the last target block, [`ScoringSpec::default`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForecastSpec {
    /// The world.
    pub world: WorldSpec,
    /// Number of steps forecast, H (1..=256).
    pub horizon_steps: u16,
    /// Steps between the anchor and the first target step (0..=256).
    pub lead_steps: u16,
    /// Blocks after the last target step's block during which a reveal still counts.
    pub reveal_grace_blocks: u64,
    /// Scoring.
    pub scoring: ScoringSpec,
}

impl Default for ForecastSpec {
    fn default() -> Self {
        Self {
            world: WorldSpec::default(),
            horizon_steps: 12,
            lead_steps: 1,
            reveal_grace_blocks: 12,
            scoring: ScoringSpec::default(),
        }
    }
}

fn in_range(field: &'static str, value: f64, low_exclusive: f64, high: f64) -> Result<(), Error> {
    if value.is_finite() && value > low_exclusive && value <= high {
        Ok(())
    } else {
        Err(Error::Spec {
            field,
            reason: format!("{value} is not in ({low_exclusive}, {high}]"),
        })
    }
}

impl ForecastSpec {
    /// Steps the world must have before a challenge can be issued: the naive baseline
    /// calibrates its quantiles on at least 8 past origins (2 steps apart), each after a full
    /// season, each `lead + H` steps from the end.
    pub fn min_history_steps(&self) -> u64 {
        use crate::strategy::{CALIBRATION_MIN_ORIGINS, CALIBRATION_STRIDE_STEPS};
        let span = (CALIBRATION_MIN_ORIGINS - 1) * CALIBRATION_STRIDE_STEPS;
        u64::from(self.world.season_period_steps.max(8))
            + span as u64
            + u64::from(self.lead_steps)
            + u64::from(self.horizon_steps)
    }

    /// Check every parameter.
    ///
    /// # Errors
    /// [`Error::Spec`] naming the first bad field.
    pub fn validate(&self) -> Result<(), Error> {
        self.world.validate()?;
        if !(1..=MAX_HORIZON_STEPS).contains(&self.horizon_steps) {
            return Err(Error::Spec {
                field: "horizon_steps",
                reason: "must be in 1..=256".into(),
            });
        }
        if self.lead_steps > MAX_HORIZON_STEPS {
            return Err(Error::Spec {
                field: "lead_steps",
                reason: "must be ≤ 256".into(),
            });
        }
        let s = &self.scoring;
        in_range(
            "scoring.plagiarism_correlation",
            s.plagiarism_correlation,
            0.0,
            1.0,
        )?;
        if !(s.plagiarism_distance.is_finite() && (0.0..1.0).contains(&s.plagiarism_distance)) {
            return Err(Error::Spec {
                field: "scoring.plagiarism_distance",
                reason: "must be in [0, 1)".into(),
            });
        }
        in_range("scoring.weight_power", s.weight_power, 0.999_999, 8.0)?;
        in_range("scoring.ema_alpha", s.ema_alpha, 0.0, 1.0)?;
        in_range("scoring.audit_tolerance", s.audit_tolerance, 0.0, 1.0)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_json_round_trips() {
        let spec = ForecastSpec::default();
        spec.validate().unwrap();
        let text = serde_json::to_string(&spec).unwrap();
        let back: ForecastSpec = serde_json::from_str(&text).unwrap();
        assert_eq!(back, spec);
        // Missing fields take defaults; unknown ones are rejected.
        let partial: ForecastSpec = serde_json::from_str(r#"{"horizon_steps": 6}"#).unwrap();
        assert_eq!(partial.horizon_steps, 6);
        assert_eq!(partial.world, WorldSpec::default());
        assert!(serde_json::from_str::<ForecastSpec>(r#"{"horizon": 6}"#).is_err());
    }

    #[test]
    fn bad_values_are_named() {
        let mut spec = ForecastSpec::default();
        spec.scoring.ema_alpha = 0.0;
        assert!(matches!(
            spec.validate(),
            Err(Error::Spec {
                field: "scoring.ema_alpha",
                ..
            })
        ));
        let spec = ForecastSpec {
            horizon_steps: 0,
            ..ForecastSpec::default()
        };
        assert!(spec.validate().is_err());
    }
}
