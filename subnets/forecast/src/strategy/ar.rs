//! The `ar` model: per series, least squares of `y[i,t]` on a constant, its own `lags` past
//! values, the previous series' last value and `harmonics` sine/cosine pairs of the season.
//! A seasonal mean plus an AR deviation is exactly linear in these features, so the model
//! is well specified for the world's linear part.

use serde::{Deserialize, Serialize};

use super::PointModel;
use super::linalg::NormalEquations;
use crate::error::Error;
use crate::world::{Panel, WorldSpec};

/// AR settings. Defaults: 2 lags, the last 512 steps, 2 harmonics, ridge 1e-6.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArConfig {
    /// Own lags p (1..=8).
    pub lags: usize,
    /// Steps of history fitted (≥ 32; the most recent ones).
    pub window_steps: usize,
    /// Season harmonics (0..=4).
    pub harmonics: usize,
    /// Ridge penalty per row (≥ 0, finite).
    pub ridge: f64,
}

impl Default for ArConfig {
    fn default() -> Self {
        Self {
            lags: 2,
            window_steps: 512,
            harmonics: 2,
            ridge: 1e-6,
        }
    }
}

/// Values known (history) or predicted (appended after it), addressed by absolute step.
pub(crate) struct Extended<'a> {
    history: Panel<'a>,
    ahead: Vec<f64>,
}

impl<'a> Extended<'a> {
    pub(crate) fn new(history: Panel<'a>, steps: usize) -> Self {
        Self {
            history,
            ahead: Vec::with_capacity(steps * history.series()),
        }
    }

    /// The value of series `i` at step `t` (wrapping `i`), 0 when unknown.
    pub(crate) fn get(&self, t: usize, i: usize) -> f64 {
        let k = self.history.series();
        let i = i % k.max(1);
        let n = self.history.steps();
        let value = if t < n {
            self.history.get(t, i)
        } else {
            self.ahead.get((t - n) * k + i).copied()
        };
        value.unwrap_or(0.0)
    }

    pub(crate) fn push(&mut self, value: f64) {
        self.ahead.push(value);
    }

    pub(crate) fn into_ahead(self) -> Vec<f64> {
        self.ahead
    }
}

/// Run a one-step model recursively for `steps` steps after `history`.
pub(crate) fn recursive(
    history: Panel<'_>,
    steps: usize,
    one_step: impl Fn(&Extended<'_>, usize, usize) -> f64,
) -> Vec<f64> {
    let n = history.steps();
    let mut extended = Extended::new(history, steps);
    for t in n..n + steps {
        for i in 0..history.series() {
            let value = one_step(&extended, t, i);
            extended.push(value);
        }
    }
    extended.into_ahead()
}

/// A fitted AR model.
#[derive(Clone, Debug)]
pub struct ArModel {
    lags: usize,
    harmonics: usize,
    period: usize,
    coefficients: Vec<Vec<f64>>,
}

impl ArModel {
    /// Fit on the last `window_steps` of `history`.
    ///
    /// # Errors
    /// [`Error::Spec`] for bad settings, [`Error::HistoryTooShort`] with fewer than four rows
    /// per coefficient.
    pub fn fit(spec: &WorldSpec, history: Panel<'_>, config: &ArConfig) -> Result<Self, Error> {
        config.validate()?;
        let mut model = Self {
            lags: config.lags,
            harmonics: config.harmonics,
            period: spec.season_period_steps.max(1) as usize,
            coefficients: Vec::new(),
        };
        let n = history.steps();
        let first = n.saturating_sub(config.window_steps).max(model.lags);
        let dim = model.dim();
        if n < first + 4 * dim {
            return Err(Error::HistoryTooShort {
                needed: (model.lags + 4 * dim) as u64,
                have: n as u64,
            });
        }
        let values = Extended::new(history, 0);
        let mut row = Vec::with_capacity(dim);
        for i in 0..history.series() {
            let mut equations = NormalEquations::new(dim);
            for t in first..n {
                model.features(&values, t, i, &mut row);
                equations.add(&row, values.get(t, i));
            }
            let solution = equations
                .solve(config.ridge)
                .ok_or(Error::HistoryTooShort {
                    needed: (first + 4 * dim) as u64,
                    have: n as u64,
                })?;
            model.coefficients.push(solution);
        }
        Ok(model)
    }

    fn dim(&self) -> usize {
        2 + self.lags + 2 * self.harmonics
    }

    /// The regressors of `y[i,t]` into `row`.
    fn features(&self, values: &Extended<'_>, t: usize, i: usize, row: &mut Vec<f64>) {
        row.clear();
        row.push(1.0);
        for lag in 1..=self.lags {
            row.push(t.checked_sub(lag).map_or(0.0, |s| values.get(s, i)));
        }
        let k = values.history.series();
        row.push(t.checked_sub(1).map_or(0.0, |s| values.get(s, i + k - 1)));
        season_features(t, self.period, self.harmonics, row);
    }

    /// The one-step prediction of `y[i,t]` from the values before `t`.
    pub(crate) fn one_step(&self, values: &Extended<'_>, t: usize, i: usize) -> f64 {
        let mut row = Vec::with_capacity(self.dim());
        self.features(values, t, i, &mut row);
        let coefficients = self.coefficients.get(i).map_or(&[][..], Vec::as_slice);
        row.iter().zip(coefficients).map(|(x, c)| x * c).sum()
    }
}

/// `harmonics` sine/cosine pairs of step `t`'s phase in a season of `period` steps.
pub(crate) fn season_features(t: usize, period: usize, harmonics: usize, row: &mut Vec<f64>) {
    let phase = (t % period.max(1)) as f64 / period.max(1) as f64;
    for m in 1..=harmonics {
        let angle = 2.0 * core::f64::consts::PI * m as f64 * phase;
        row.push(libm::sin(angle));
        row.push(libm::cos(angle));
    }
}

impl ArConfig {
    /// Check the settings.
    ///
    /// # Errors
    /// [`Error::Spec`] naming the bad field.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |field, reason: &str| {
            Err(Error::Spec {
                field,
                reason: reason.into(),
            })
        };
        if !(1..=8).contains(&self.lags) {
            return bad("ar.lags", "must be in 1..=8");
        }
        if self.window_steps < 32 {
            return bad("ar.window_steps", "must be ≥ 32");
        }
        if self.harmonics > 4 {
            return bad("ar.harmonics", "must be ≤ 4");
        }
        if !(self.ridge.is_finite() && self.ridge >= 0.0) {
            return bad("ar.ridge", "must be finite and ≥ 0");
        }
        Ok(())
    }
}

impl PointModel for ArModel {
    fn predict(&self, _spec: &WorldSpec, history: Panel<'_>, steps: usize) -> Vec<f64> {
        recursive(history, steps, |values, t, i| self.one_step(values, t, i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::World;
    use tao_primitives::Hash256;

    #[test]
    fn fitted_persistence_is_near_the_truth() {
        // One calm regime, no coupling: y = mean + z, z = 0.8 z + σ ε. The lag-1 coefficient
        // must come out near 0.8.
        let spec = WorldSpec {
            coupling: 0.0,
            regimes: vec![crate::world::RegimeSpec {
                persistence: 0.8,
                volatility: 0.5,
                stay_probability: 1.0,
            }],
            ..WorldSpec::default()
        };
        let hashes: Vec<Hash256> = (0..600u32)
            .map(|i| Hash256::blake2(&i.to_le_bytes()))
            .collect();
        let world = World::from_hashes(spec.clone(), &hashes).unwrap();
        let config = ArConfig {
            lags: 1,
            ..ArConfig::default()
        };
        let model = ArModel::fit(&spec, world.panel(), &config).unwrap();
        for coefficients in &model.coefficients {
            let phi = coefficients[1];
            assert!((phi - 0.8).abs() < 0.08, "phi {phi}");
        }
        assert!(ArModel::fit(&spec, world.panel().prefix(10), &config).is_err());
        let bad = ArConfig {
            lags: 0,
            ..ArConfig::default()
        };
        assert!(ArModel::fit(&spec, world.panel(), &bad).is_err());
    }
}
