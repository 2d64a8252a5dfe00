//! Challenges and forecasts: what a validator asks and what a miner answers, with the
//! canonical bytes that are hashed and signed.

use serde::{Deserialize, Serialize};
use tao_primitives::{Hash256, NetUid};

use crate::error::Error;
use crate::spec::ForecastSpec;

/// The most cells (series × horizon) a forecast may have.
pub const MAX_CELLS: usize = 64 * 256;
/// The longest horizon, in steps.
pub const MAX_HORIZON_STEPS: u16 = 256;
/// Domain separation of the forecast digest.
const FORECAST_DOMAIN: &[u8] = b"tao-forecast/forecast/v1";

/// One round's question: forecast steps `start_step .. start_step + horizon` of every series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    /// The subnet.
    pub netuid: NetUid,
    /// The last step known when the challenge was made: the naive baseline's anchor.
    pub anchor_step: u64,
    /// The first target step (`anchor_step + 1 + lead_steps`).
    pub start_step: u64,
    /// Number of target steps H.
    pub horizon: u16,
    /// Number of series K.
    pub series: u16,
}

impl Challenge {
    /// The challenge a validator issues when `block` is its latest finalized block.
    ///
    /// # Errors
    /// [`Error::HistoryTooShort`] before [`ForecastSpec::min_history_steps`] steps exist
    /// (the baseline could not be calibrated), [`Error::Overflow`].
    pub fn at_block(spec: &ForecastSpec, netuid: NetUid, block: u64) -> Result<Self, Error> {
        let known = spec.world.steps_known_at(block);
        let needed = spec.min_history_steps();
        if known < needed {
            return Err(Error::HistoryTooShort {
                needed,
                have: known,
            });
        }
        let anchor_step = known.checked_sub(1).ok_or(Error::Overflow)?;
        let start_step = anchor_step
            .checked_add(1 + u64::from(spec.lead_steps))
            .ok_or(Error::Overflow)?;
        Ok(Self {
            netuid,
            anchor_step,
            start_step,
            horizon: spec.horizon_steps,
            series: spec.world.series,
        })
    }

    /// Whether this is a challenge the spec can issue: its horizon and series, and the lead
    /// between anchor and first target step.
    pub fn conforms(&self, spec: &ForecastSpec) -> bool {
        self.horizon == spec.horizon_steps
            && self.series == spec.world.series
            && self
                .anchor_step
                .checked_add(1 + u64::from(spec.lead_steps))
                .is_some_and(|start| start == self.start_step)
            && self.anchor_step >= spec.min_history_steps().saturating_sub(1)
    }

    /// The last target step.
    pub fn last_step(&self) -> u64 {
        self.start_step
            .saturating_add(u64::from(self.horizon).saturating_sub(1))
    }

    /// Number of cells K·H.
    pub fn cells(&self) -> usize {
        usize::from(self.series) * usize::from(self.horizon)
    }
}

/// A probabilistic forecast: for each series `i` and horizon `h` (cell `i·H + h`), a point
/// value and the 10/50/90 % quantiles of target step `start_step + h`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forecast {
    /// The first target step.
    pub start_step: u64,
    /// Number of series K.
    pub series: u16,
    /// Number of target steps H.
    pub horizon: u16,
    /// Point forecasts.
    pub point: Vec<f64>,
    /// 10 % quantiles.
    pub q10: Vec<f64>,
    /// Medians.
    pub q50: Vec<f64>,
    /// 90 % quantiles.
    pub q90: Vec<f64>,
}

impl Forecast {
    /// An all-zero forecast of the challenge's shape (filled in by strategies).
    pub fn zeros(challenge: &Challenge) -> Self {
        let cells = challenge.cells();
        Self {
            start_step: challenge.start_step,
            series: challenge.series,
            horizon: challenge.horizon,
            point: vec![0.0; cells],
            q10: vec![0.0; cells],
            q50: vec![0.0; cells],
            q90: vec![0.0; cells],
        }
    }

    /// Number of cells K·H.
    pub fn cells(&self) -> usize {
        usize::from(self.series) * usize::from(self.horizon)
    }

    /// Check sizes, finiteness and quantile order, and that it answers `challenge`.
    ///
    /// # Errors
    /// [`Error::TooLarge`], [`Error::Shape`], [`Error::NotFinite`], [`Error::QuantilesCrossed`].
    pub fn validate(&self, challenge: &Challenge) -> Result<(), Error> {
        if self.horizon > MAX_HORIZON_STEPS || self.cells() > MAX_CELLS {
            return Err(Error::TooLarge {
                what: "forecast cells",
                len: self.cells(),
                max: MAX_CELLS,
            });
        }
        if self.start_step != challenge.start_step
            || self.series != challenge.series
            || self.horizon != challenge.horizon
        {
            return Err(Error::Shape {
                what: "forecast shape (start step, series, horizon)",
                expected: challenge.cells(),
                got: self.cells(),
            });
        }
        for column in [&self.point, &self.q10, &self.q50, &self.q90] {
            if column.len() != self.cells() {
                return Err(Error::Shape {
                    what: "forecast column length",
                    expected: self.cells(),
                    got: column.len(),
                });
            }
            if column.iter().any(|v| !v.is_finite()) {
                return Err(Error::NotFinite { what: "forecast" });
            }
        }
        let horizon = usize::from(self.horizon).max(1);
        let crossed = self
            .q10
            .iter()
            .zip(&self.q50)
            .zip(&self.q90)
            .position(|((lo, mid), hi)| lo > mid || mid > hi);
        match crossed {
            Some(cell) => Err(Error::QuantilesCrossed {
                series: cell / horizon,
                horizon: cell % horizon,
            }),
            None => Ok(()),
        }
    }

    /// The canonical bytes: domain ‖ netuid ‖ start step ‖ K ‖ H ‖ point ‖ q10 ‖ q50 ‖ q90,
    /// integers little-endian, floats as their IEEE-754 bits little-endian.
    pub fn canonical_bytes(&self, netuid: NetUid) -> Vec<u8> {
        let mut out = Vec::with_capacity(FORECAST_DOMAIN.len() + 14 + 32 * self.point.len());
        out.extend_from_slice(FORECAST_DOMAIN);
        out.extend_from_slice(&netuid.0.to_le_bytes());
        out.extend_from_slice(&self.start_step.to_le_bytes());
        out.extend_from_slice(&self.series.to_le_bytes());
        out.extend_from_slice(&self.horizon.to_le_bytes());
        for column in [&self.point, &self.q10, &self.q50, &self.q90] {
            for value in column.iter() {
                out.extend_from_slice(&value.to_bits().to_le_bytes());
            }
        }
        out
    }

    /// blake2b-256 of the canonical bytes: what a miner commits to.
    pub fn digest(&self, netuid: NetUid) -> Hash256 {
        Hash256::blake2(&self.canonical_bytes(netuid))
    }

    /// Cell `(series, horizon)` as `(point, q10, q50, q90)`.
    pub fn cell(&self, series: usize, horizon: usize) -> Option<(f64, f64, f64, f64)> {
        let index = series
            .checked_mul(usize::from(self.horizon))?
            .checked_add(horizon)?;
        Some((
            *self.point.get(index)?,
            *self.q10.get(index)?,
            *self.q50.get(index)?,
            *self.q90.get(index)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge() -> Challenge {
        Challenge::at_block(&ForecastSpec::default(), NetUid(3), 99).unwrap()
    }

    #[test]
    fn challenge_leaves_a_lead() {
        let c = challenge();
        assert_eq!((c.anchor_step, c.start_step, c.last_step()), (99, 101, 112));
        assert!(c.conforms(&ForecastSpec::default()));
        let skewed = Challenge {
            start_step: 100,
            ..c
        };
        assert!(!skewed.conforms(&ForecastSpec::default()));
        let early = Challenge {
            anchor_step: 5,
            start_step: 7,
            ..c
        };
        assert!(!early.conforms(&ForecastSpec::default()));
        let spec = ForecastSpec {
            world: crate::WorldSpec {
                origin_block: 5,
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(Challenge::at_block(&spec, NetUid(3), 4).is_err());
        // 50 steps (blocks 5..=54) are one short of the baseline's calibration.
        assert_eq!(spec.min_history_steps(), 51);
        assert!(Challenge::at_block(&spec, NetUid(3), 54).is_err());
        assert!(Challenge::at_block(&spec, NetUid(3), 55).is_ok());
    }

    #[test]
    fn validation_catches_bad_forecasts() {
        let c = challenge();
        let good = Forecast::zeros(&c);
        assert!(good.validate(&c).is_ok());
        let mut nan = good.clone();
        nan.q50[3] = f64::NAN;
        assert_eq!(nan.validate(&c), Err(Error::NotFinite { what: "forecast" }));
        let mut short = good.clone();
        short.q90.pop();
        assert!(matches!(short.validate(&c), Err(Error::Shape { .. })));
        let mut crossed = good.clone();
        crossed.q10[13] = 1.0;
        assert_eq!(
            crossed.validate(&c),
            Err(Error::QuantilesCrossed {
                series: 1,
                horizon: 1
            })
        );
        let mut other = good.clone();
        other.start_step += 1;
        assert!(other.validate(&c).is_err());
    }

    #[test]
    fn digest_binds_every_field() {
        let c = challenge();
        let base = Forecast::zeros(&c);
        let mut changed = base.clone();
        changed.q90[95] = 1e-300;
        assert_ne!(base.digest(NetUid(3)), changed.digest(NetUid(3)));
        assert_ne!(base.digest(NetUid(3)), base.digest(NetUid(4)));
        // -0.0 and 0.0 are different bits, hence different commitments.
        let mut negative = base.clone();
        negative.point[0] = -0.0;
        assert_ne!(base.digest(NetUid(3)), negative.digest(NetUid(3)));
    }
}
