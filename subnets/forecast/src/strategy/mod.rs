//! Miner strategies: honest ones of different quality and the cheats a real subnet meets.
//!
//! | name | model |
//! |---|---|
//! | `naive` | persistence: the last value (also the validators' baseline) |
//! | `seasonal` | seasonal naive: the value one season earlier (or the mean over `seasons`) |
//! | `ar` | per-series least-squares AR(p) with season harmonics and the neighbour's lag |
//! | `learned` | `ar` plus gradient-boosted regression trees fitted on its one-step residuals |
//! | `random` | uniform guesses inside the recent range |
//! | `copier` | another miner's forecast ([`CopySource`]), naive when it has none |
//!
//! Every honest strategy is a point model; its quantiles come from its own errors on the
//! public history (the same model re-run at past origins: [`Calibration`]), so a strategy's
//! spread matches its accuracy.

mod ar;
mod cheats;
mod gbm;
mod linalg;

use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use ar::{ArConfig, ArModel};
pub use cheats::{Copier, CopySource, NoSource, RandomGuess};
pub use gbm::{GbmConfig, LearnedModel};

use crate::error::Error;
use crate::forecast::{Challenge, Forecast};
use crate::world::{Panel, WorldSpec};

/// A miner's way of answering a challenge.
pub trait Strategy: Send {
    /// The strategy's name (`naive`, `seasonal`, …).
    fn name(&self) -> &'static str;

    /// Forecast the challenge's target steps from the public `history` (every step known so
    /// far, step 0 first).
    ///
    /// # Errors
    /// [`Error::Late`] when the history already contains the first target step,
    /// [`Error::HistoryTooShort`] when the model cannot be fitted, shape errors.
    fn forecast(
        &mut self,
        spec: &WorldSpec,
        history: Panel<'_>,
        challenge: &Challenge,
    ) -> Result<Forecast, Error>;
}

/// A point model: the next `steps` rows (row-major, one value per series) after `history`.
pub(crate) trait PointModel {
    /// Predict `steps` rows after the last row of `history`.
    fn predict(&self, spec: &WorldSpec, history: Panel<'_>, steps: usize) -> Vec<f64>;
}

/// The strategies by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StrategyKind {
    /// Persistence.
    Naive,
    /// Seasonal naive.
    Seasonal,
    /// Least-squares AR.
    Ar,
    /// AR plus boosted trees.
    Learned,
    /// Random guesses (a cheat).
    Random,
    /// Copies another miner (a cheat).
    Copier,
}

impl StrategyKind {
    /// Every kind, in quality order for honest ones, cheats last.
    pub const ALL: [StrategyKind; 6] = [
        StrategyKind::Naive,
        StrategyKind::Seasonal,
        StrategyKind::Ar,
        StrategyKind::Learned,
        StrategyKind::Random,
        StrategyKind::Copier,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            StrategyKind::Naive => "naive",
            StrategyKind::Seasonal => "seasonal",
            StrategyKind::Ar => "ar",
            StrategyKind::Learned => "learned",
            StrategyKind::Random => "random",
            StrategyKind::Copier => "copier",
        }
    }
}

impl FromStr for StrategyKind {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        StrategyKind::ALL
            .into_iter()
            .find(|kind| kind.name() == text)
            .ok_or_else(|| Error::UnknownStrategy(text.chars().take(64).collect()))
    }
}

/// Steps between calibration origins: consecutive origins share most of their path, so every
/// other one carries nearly the same information at half the cost.
pub const CALIBRATION_STRIDE_STEPS: usize = 2;
/// The fewest calibration origins a forecast is made with.
pub const CALIBRATION_MIN_ORIGINS: usize = 8;

/// How a strategy turns its past errors into quantiles. Default: 64 past origins, every
/// [`CALIBRATION_STRIDE_STEPS`] steps (128 steps back: enough to mix the regimes; 48
/// consecutive origins gave bands holding 66 % of the truths instead of 80 %).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Calibration {
    /// Number of past origins the model is re-run from (8..=1024).
    pub origins: usize,
}

impl Default for Calibration {
    fn default() -> Self {
        Self { origins: 64 }
    }
}

/// A miner's configuration: the strategy and its knobs. Miners running one strategy should
/// differ in their knobs (window, lags, seasons, seed): identical models give identical
/// forecasts, and the plagiarism check zeroes all but the first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StrategyConfig {
    /// Which strategy.
    pub kind: StrategyKind,
    /// Quantile calibration.
    pub calibration: Calibration,
    /// AR settings (`ar` and the base of `learned`).
    pub ar: ArConfig,
    /// Boosting settings (`learned`).
    pub gbm: GbmConfig,
    /// Seed of `random` and of the row subsampling of `learned`.
    pub seed: u64,
    /// Seasons averaged by `seasonal` (1..=16).
    pub seasons: usize,
}

impl Default for StrategyConfig {
    fn default() -> Self {
        Self {
            kind: StrategyKind::Naive,
            calibration: Calibration::default(),
            ar: ArConfig::default(),
            gbm: GbmConfig::default(),
            seed: 0,
            seasons: 1,
        }
    }
}

/// Build the strategy of `config` (a copier without a source forecasts naively; give it
/// one with [`Copier::new`]).
pub fn build(config: &StrategyConfig) -> Box<dyn Strategy> {
    let calibration = config.calibration;
    match config.kind {
        StrategyKind::Naive => Box::new(Naive { calibration }),
        StrategyKind::Seasonal => Box::new(Seasonal {
            seasons: config.seasons,
            calibration,
        }),
        StrategyKind::Ar => Box::new(ArStrategy {
            config: config.ar.clone(),
            calibration,
        }),
        StrategyKind::Learned => Box::new(LearnedStrategy {
            ar: config.ar.clone(),
            gbm: config.gbm.clone(),
            seed: config.seed,
            calibration,
        }),
        StrategyKind::Random => Box::new(RandomGuess::new(config.seed)),
        StrategyKind::Copier => Box::new(Copier::new(NoSource)),
    }
}

/// Persistence: every target step equals the last known value.
#[derive(Clone, Copy, Debug, Default)]
pub struct Naive {
    /// Quantile calibration.
    pub calibration: Calibration,
}

struct Persistence;

impl PointModel for Persistence {
    fn predict(&self, _spec: &WorldSpec, history: Panel<'_>, steps: usize) -> Vec<f64> {
        let last = history
            .steps()
            .checked_sub(1)
            .and_then(|t| history.row(t))
            .unwrap_or_default();
        last.repeat(steps)
    }
}

impl Strategy for Naive {
    fn name(&self) -> &'static str {
        "naive"
    }

    fn forecast(
        &mut self,
        spec: &WorldSpec,
        history: Panel<'_>,
        challenge: &Challenge,
    ) -> Result<Forecast, Error> {
        probabilistic(&Persistence, spec, history, challenge, self.calibration)
    }
}

/// The validators' baseline: [`Naive`] with the default calibration from the history up to
/// the challenge's anchor step. Every validator and the audit must compute it identically, so
/// [`Calibration::default`] and [`CALIBRATION_STRIDE_STEPS`] are part of the subnet's
/// consensus, like the world.
///
/// # Errors
/// [`Error::HistoryTooShort`] when the history does not reach the anchor or is too short to
/// calibrate.
pub fn naive_baseline(
    spec: &WorldSpec,
    history: Panel<'_>,
    challenge: &Challenge,
) -> Result<Forecast, Error> {
    let known =
        usize::try_from(challenge.anchor_step.saturating_add(1)).map_err(|_| Error::Overflow)?;
    if history.steps() < known {
        return Err(Error::HistoryTooShort {
            needed: known as u64,
            have: history.steps() as u64,
        });
    }
    Naive::default().forecast(spec, history.prefix(known), challenge)
}

/// The validators' reference forecast for the plagiarism check: the `ar` strategy with the
/// default settings from the history up to the anchor (public, deterministic, a few ms;
/// [`ArConfig::default`] is therefore part of the subnet's consensus).
/// `None` when it cannot be fitted (too little history).
pub fn reference_forecast(
    spec: &WorldSpec,
    history: Panel<'_>,
    challenge: &Challenge,
) -> Option<Forecast> {
    let known = usize::try_from(challenge.anchor_step.checked_add(1)?).ok()?;
    let history = (history.steps() >= known).then(|| history.prefix(known))?;
    ArStrategy::default()
        .forecast(spec, history, challenge)
        .ok()
}

/// Seasonal naive: the mean of the values 1..=`seasons` seasons (P steps each) before each
/// target step (the classic seasonal naive is `seasons = 1`).
#[derive(Clone, Copy, Debug)]
pub struct Seasonal {
    /// Seasons averaged (1..=16).
    pub seasons: usize,
    /// Quantile calibration.
    pub calibration: Calibration,
}

impl Default for Seasonal {
    fn default() -> Self {
        Self {
            seasons: 1,
            calibration: Calibration::default(),
        }
    }
}

struct SeasonalNaive {
    seasons: usize,
}

impl PointModel for SeasonalNaive {
    fn predict(&self, spec: &WorldSpec, history: Panel<'_>, steps: usize) -> Vec<f64> {
        let period = spec.season_period_steps as usize;
        let n = history.steps();
        let k = history.series();
        let mut out = Vec::with_capacity(steps * k);
        for j in 0..steps {
            // The latest known steps congruent to n + j modulo P.
            let first_back = period * (j / period + 1);
            let rows: Vec<&[f64]> = (0..self.seasons)
                .filter_map(|m| (n + j).checked_sub(first_back + m * period))
                .filter_map(|t| history.row(t))
                .collect();
            for i in 0..k {
                let sum: f64 = rows.iter().filter_map(|row| row.get(i)).sum();
                out.push(sum / rows.len().max(1) as f64);
            }
        }
        out
    }
}

impl Strategy for Seasonal {
    fn name(&self) -> &'static str {
        "seasonal"
    }

    fn forecast(
        &mut self,
        spec: &WorldSpec,
        history: Panel<'_>,
        challenge: &Challenge,
    ) -> Result<Forecast, Error> {
        let seasons = self.seasons.clamp(1, 16);
        require_history(history, spec.season_period_steps as usize * seasons)?;
        let model = SeasonalNaive { seasons };
        probabilistic(&model, spec, history, challenge, self.calibration)
    }
}

/// The `ar` strategy: [`ArModel`] refitted on every challenge.
#[derive(Clone, Debug, Default)]
pub struct ArStrategy {
    /// Model settings.
    pub config: ArConfig,
    /// Quantile calibration.
    pub calibration: Calibration,
}

impl Strategy for ArStrategy {
    fn name(&self) -> &'static str {
        "ar"
    }

    fn forecast(
        &mut self,
        spec: &WorldSpec,
        history: Panel<'_>,
        challenge: &Challenge,
    ) -> Result<Forecast, Error> {
        let model = ArModel::fit(spec, history, &self.config)?;
        probabilistic(&model, spec, history, challenge, self.calibration)
    }
}

/// The `learned` strategy: [`LearnedModel`] refitted on every challenge.
#[derive(Clone, Debug, Default)]
pub struct LearnedStrategy {
    /// Base AR settings.
    pub ar: ArConfig,
    /// Boosting settings.
    pub gbm: GbmConfig,
    /// Row-subsampling seed.
    pub seed: u64,
    /// Quantile calibration.
    pub calibration: Calibration,
}

impl Strategy for LearnedStrategy {
    fn name(&self) -> &'static str {
        "learned"
    }

    fn forecast(
        &mut self,
        spec: &WorldSpec,
        history: Panel<'_>,
        challenge: &Challenge,
    ) -> Result<Forecast, Error> {
        let model = LearnedModel::fit(spec, history, &self.ar, &self.gbm, self.seed)?;
        probabilistic(&model, spec, history, challenge, self.calibration)
    }
}

fn require_history(history: Panel<'_>, needed: usize) -> Result<(), Error> {
    if history.steps() < needed {
        Err(Error::HistoryTooShort {
            needed: needed as u64,
            have: history.steps() as u64,
        })
    } else {
        Ok(())
    }
}

/// Steps between the end of `history` and the challenge's last target step, and the offset
/// of the first target step in that run.
fn steps_ahead(history: Panel<'_>, challenge: &Challenge) -> Result<(usize, usize), Error> {
    let known = history.steps() as u64;
    if challenge.start_step < known {
        return Err(Error::Late {
            start_step: challenge.start_step,
            known_steps: known,
        });
    }
    let lead = usize::try_from(challenge.start_step - known).map_err(|_| Error::Overflow)?;
    let total = lead
        .checked_add(usize::from(challenge.horizon))
        .filter(|total| *total <= 4096)
        .ok_or(Error::TooLarge {
            what: "steps ahead of the history",
            len: usize::MAX,
            max: 4096,
        })?;
    Ok((total, lead))
}

/// Turn a point model into a forecast: points for the target steps, quantiles from the
/// model's own errors at up to `calibration.origins` past origins, per series and horizon.
fn probabilistic(
    model: &dyn PointModel,
    spec: &WorldSpec,
    history: Panel<'_>,
    challenge: &Challenge,
    calibration: Calibration,
) -> Result<Forecast, Error> {
    if challenge.series != spec.series || usize::from(spec.series) != history.series() {
        return Err(Error::Shape {
            what: "series in challenge, spec and history",
            expected: history.series(),
            got: usize::from(challenge.series),
        });
    }
    let (total, lead) = steps_ahead(history, challenge)?;
    let k = history.series();
    let n = history.steps();
    let origins = calibration.origins.clamp(8, 1024);
    // Origins o with o + total ≤ n; at least one season of history before the first.
    let first_origin = (spec.season_period_steps as usize).max(8);
    let span = (CALIBRATION_MIN_ORIGINS - 1) * CALIBRATION_STRIDE_STEPS;
    let last_origin = n.checked_sub(total).filter(|o| *o >= first_origin + span);
    let Some(last_origin) = last_origin else {
        return Err(Error::HistoryTooShort {
            needed: (first_origin + span + total) as u64,
            have: n as u64,
        });
    };
    let origin_list: Vec<usize> = (first_origin..=last_origin)
        .rev()
        .step_by(CALIBRATION_STRIDE_STEPS)
        .take(origins)
        .collect();
    let horizon = usize::from(challenge.horizon);
    // errors[(i·H + h)] holds the errors of series i at horizon h.
    let mut errors = vec![Vec::with_capacity(origin_list.len()); k * horizon];
    for &origin in &origin_list {
        let predicted = model.predict(spec, history.prefix(origin), total);
        for h in 0..horizon {
            for i in 0..k {
                let actual = history.get(origin + lead + h, i);
                let guess = predicted.get((lead + h) * k + i);
                if let (Some(y), Some(p), Some(bucket)) =
                    (actual, guess, errors.get_mut(i * horizon + h))
                {
                    bucket.push(y - p);
                }
            }
        }
    }
    let points = model.predict(spec, history, total);
    let mut forecast = Forecast::zeros(challenge);
    for i in 0..k {
        for h in 0..horizon {
            let cell = i * horizon + h;
            let point = points.get((lead + h) * k + i).copied().unwrap_or(0.0);
            let bucket = errors.get_mut(cell).map(std::mem::take).unwrap_or_default();
            let [e10, e50, e90] = error_quantiles(bucket);
            set_cell(
                &mut forecast,
                cell,
                [point, point + e10, point + e50, point + e90],
            );
        }
    }
    sanitize(&mut forecast);
    Ok(forecast)
}

fn set_cell(forecast: &mut Forecast, cell: usize, values: [f64; 4]) {
    let [point, q10, q50, q90] = values;
    for (column, value) in [
        (&mut forecast.point, point),
        (&mut forecast.q10, q10),
        (&mut forecast.q50, q50),
        (&mut forecast.q90, q90),
    ] {
        if let Some(slot) = column.get_mut(cell) {
            *slot = value;
        }
    }
}

/// The 10/50/90 % empirical quantiles (linear interpolation) of `errors`; zeros when empty.
fn error_quantiles(mut errors: Vec<f64>) -> [f64; 3] {
    errors.sort_by(f64::total_cmp);
    [0.1, 0.5, 0.9].map(|q| quantile_sorted(&errors, q))
}

/// Empirical quantile of sorted values, linear interpolation between order statistics.
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0.0;
    };
    let position = q * last as f64;
    let below = position.floor() as usize;
    let fraction = position - below as f64;
    let low = sorted.get(below).copied().unwrap_or(0.0);
    let high = sorted.get(below + 1).copied().unwrap_or(low);
    low + fraction * (high - low)
}

/// Replace non-finite values (a diverging fit) by the median and restore quantile order, so
/// a strategy never sends a malformed forecast.
fn sanitize(forecast: &mut Forecast) {
    for cell in 0..forecast.cells() {
        let values = [&forecast.point, &forecast.q10, &forecast.q50, &forecast.q90]
            .map(|column| column.get(cell).copied().unwrap_or(0.0));
        let fallback = values.into_iter().find(|v| v.is_finite()).unwrap_or(0.0);
        let [point, mut q10, mut q50, mut q90] =
            values.map(|v| if v.is_finite() { v } else { fallback });
        q50 = q50.max(q10);
        q90 = q90.max(q50);
        q10 = q10.min(q50);
        set_cell(forecast, cell, [point, q10, q50, q90]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tao_primitives::{Hash256, NetUid};

    use crate::{ForecastSpec, World};

    fn world(steps: u32) -> World {
        let hashes: Vec<Hash256> = (0..steps)
            .map(|i| Hash256::blake2(&i.to_le_bytes()))
            .collect();
        World::from_hashes(WorldSpec::default(), &hashes).unwrap()
    }

    fn challenge(world: &World) -> Challenge {
        let block = world.steps() as u64 - 1;
        Challenge::at_block(&ForecastSpec::default(), NetUid(1), block).unwrap()
    }

    #[test]
    fn names_round_trip() {
        for kind in StrategyKind::ALL {
            assert_eq!(kind.name().parse::<StrategyKind>().unwrap(), kind);
            assert_eq!(
                build(&StrategyConfig {
                    kind,
                    ..Default::default()
                })
                .name(),
                kind.name()
            );
        }
        assert!(matches!(
            "gpt".parse::<StrategyKind>(),
            Err(Error::UnknownStrategy(_))
        ));
    }

    #[test]
    fn every_strategy_answers_validly() {
        let world = world(160);
        let c = challenge(&world);
        for kind in StrategyKind::ALL {
            let mut strategy = build(&StrategyConfig {
                kind,
                ..Default::default()
            });
            let forecast = strategy.forecast(world.spec(), world.panel(), &c).unwrap();
            forecast.validate(&c).unwrap();
        }
    }

    #[test]
    fn naive_and_seasonal_points_are_what_they_say() {
        let world = world(100);
        let c = challenge(&world);
        let panel = world.panel();
        let naive = Naive::default().forecast(world.spec(), panel, &c).unwrap();
        let seasonal = Seasonal::default()
            .forecast(world.spec(), panel, &c)
            .unwrap();
        for i in 0..8 {
            for h in 0..12 {
                let (point, q10, _, q90) = naive.cell(i, h).unwrap();
                assert_eq!(point, panel.get(99, i).unwrap());
                assert!(
                    q10 < point && point < q90,
                    "naive spread {q10} {point} {q90}"
                );
                // Target step 101 + h, one season (24) back.
                let (seasonal_point, ..) = seasonal.cell(i, h).unwrap();
                assert_eq!(seasonal_point, panel.get(101 + h - 24, i).unwrap());
            }
        }
    }

    #[test]
    fn late_and_short_histories_are_errors() {
        let world = world(100);
        let c = challenge(&world);
        let late = Challenge {
            start_step: 99,
            ..c
        };
        assert!(matches!(
            Naive::default().forecast(world.spec(), world.panel(), &late),
            Err(Error::Late { .. })
        ));
        let short = world.panel().prefix(20);
        assert!(matches!(
            Naive::default().forecast(world.spec(), short, &c),
            Err(Error::HistoryTooShort { .. })
        ));
    }

    #[test]
    fn quantile_interpolates() {
        assert_eq!(quantile_sorted(&[0.0, 10.0], 0.1), 1.0);
        assert_eq!(quantile_sorted(&[], 0.5), 0.0);
        assert_eq!(quantile_sorted(&[1.0, 2.0, 3.0], 0.5), 2.0);
    }
}
