//! The cheats a real subnet meets: random answers and copying another miner.

use super::{Naive, Strategy, set_cell};
use crate::error::Error;
use crate::forecast::{Challenge, Forecast};
use crate::world::{Panel, WorldSpec};

/// Random guesses: each point uniform in the range of the series over the last season, with
/// a quantile band a quarter of that range wide on each side. Looks plausible, knows nothing.
#[derive(Clone, Debug)]
pub struct RandomGuess {
    seed: u64,
}

impl RandomGuess {
    /// A guesser whose draws derive from `seed` and the challenge.
    pub fn new(seed: u64) -> Self {
        Self { seed }
    }

    fn uniform(&self, challenge: &Challenge, cell: usize) -> f64 {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"tao-forecast/random-miner");
        hasher.update(&self.seed.to_le_bytes());
        hasher.update(&challenge.start_step.to_le_bytes());
        hasher.update(&(cell as u64).to_le_bytes());
        let mut bytes = [0u8; 8];
        hasher.finalize_xof().fill(&mut bytes);
        (u64::from_le_bytes(bytes) >> 11) as f64 / 9_007_199_254_740_992.0
    }
}

impl Strategy for RandomGuess {
    fn name(&self) -> &'static str {
        "random"
    }

    fn forecast(
        &mut self,
        spec: &WorldSpec,
        history: Panel<'_>,
        challenge: &Challenge,
    ) -> Result<Forecast, Error> {
        let n = history.steps();
        if challenge.start_step < n as u64 {
            return Err(Error::Late {
                start_step: challenge.start_step,
                known_steps: n as u64,
            });
        }
        let recent = history.prefix(n).values();
        let window = (spec.season_period_steps as usize).saturating_mul(history.series());
        let tail = recent
            .get(recent.len().saturating_sub(window)..)
            .unwrap_or_default();
        let mut forecast = Forecast::zeros(challenge);
        let horizon = usize::from(challenge.horizon);
        for i in 0..history.series() {
            let column = tail.iter().skip(i).step_by(history.series().max(1));
            let (low, high) = column.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(*v), hi.max(*v))
            });
            let (low, high) = if low <= high { (low, high) } else { (0.0, 0.0) };
            let band = (high - low) / 4.0;
            for h in 0..horizon {
                let cell = i * horizon + h;
                let point = low + (high - low) * self.uniform(challenge, cell);
                set_cell(
                    &mut forecast,
                    cell,
                    [point, point - band, point, point + band],
                );
            }
        }
        Ok(forecast)
    }
}

/// Where a copier gets another miner's forecast (wired to the network by the SDK glue).
pub trait CopySource: Send {
    /// The victim's forecast for `challenge`, if the copier could get one in time.
    fn copy(&mut self, challenge: &Challenge) -> Option<Forecast>;
}

/// A source that never has anything: the copier then forecasts naively.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSource;

impl CopySource for NoSource {
    fn copy(&mut self, _challenge: &Challenge) -> Option<Forecast> {
        None
    }
}

impl<F: FnMut(&Challenge) -> Option<Forecast> + Send> CopySource for F {
    fn copy(&mut self, challenge: &Challenge) -> Option<Forecast> {
        self(challenge)
    }
}

/// Submits another miner's forecast, optionally scaled by `1 + jitter` around its own
/// naive anchor to dodge an exact-match check (a correlation check still sees it).
pub struct Copier<S> {
    source: S,
    /// Relative perturbation of the copied values (0 = verbatim).
    pub jitter: f64,
}

impl<S: CopySource> Copier<S> {
    /// A verbatim copier of `source`.
    pub fn new(source: S) -> Self {
        Self {
            source,
            jitter: 0.0,
        }
    }

    /// A copier that scales what it copies by `1 + jitter`.
    pub fn with_jitter(source: S, jitter: f64) -> Self {
        Self { source, jitter }
    }
}

impl<S: CopySource> Strategy for Copier<S> {
    fn name(&self) -> &'static str {
        "copier"
    }

    fn forecast(
        &mut self,
        spec: &WorldSpec,
        history: Panel<'_>,
        challenge: &Challenge,
    ) -> Result<Forecast, Error> {
        let copied = self
            .source
            .copy(challenge)
            .filter(|forecast| forecast.validate(challenge).is_ok());
        let Some(mut forecast) = copied else {
            return Naive::default().forecast(spec, history, challenge);
        };
        if self.jitter != 0.0 {
            let scale = 1.0 + self.jitter;
            for column in [
                &mut forecast.point,
                &mut forecast.q10,
                &mut forecast.q50,
                &mut forecast.q90,
            ] {
                column.iter_mut().for_each(|v| *v *= scale);
            }
        }
        Ok(forecast)
    }
}
