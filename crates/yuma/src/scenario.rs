//! Scenarios: a subnet's stake and a sequence of weight matrices, run epoch after epoch.
//!
//! This is the format of `tao-yuma run FILE.json` (documented in the crate README). Subnet
//! owners use it to try a weight scheme before going live; the test suite uses it to replay the
//! live chain's vectors.
//!
//! * Every neuron is registered at block 0 with the given stake.
//! * Epoch `k` (0-based) runs at block `k + 1`. An epoch with `weights` replaces the whole
//!   matrix: each uid's list is what it submits with `set_weights` at block `k + 1` (stored
//!   row max-upscaled, last update `k + 1`); an empty list means it sets no weights. An epoch
//!   without `weights` keeps the previous matrix and last updates.
//! * Permits used by epoch `k` are those computed by epoch `k − 1` (none before epoch 0).

use crate::input::{EpochInput, EpochOutput, EpochParams, YumaError};
use crate::storage::weight_row;
use serde::{Deserialize, Serialize};
use tao_primitives::{I32F32, I64F64, fixed_proportion_to_u16};

/// Largest scenario file accepted, in bytes.
pub const MAX_SCENARIO_BYTES: u64 = 256 * 1024 * 1024;

/// One `set_weights` submission per uid: `(destination uid, raw u16 value)` pairs.
pub type WeightRows = Vec<Vec<(u16, u16)>>;

/// A scenario after parsing and validation.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Hyperparameters and per-epoch emission.
    pub params: EpochParams,
    /// Alpha (rao) emitted per epoch.
    pub emission: u64,
    /// Stake per uid.
    pub stake: Vec<I64F64>,
    /// Per epoch: `Some(rows)` replaces the weight matrix, `None` keeps it.
    pub epochs: Vec<Option<WeightRows>>,
}

/// Why a scenario was rejected; `field` is a JSON path such as `epochs[1].weights[2]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ScenarioError {
    /// Where in the document the problem is.
    pub field: String,
    /// What is wrong, in words.
    pub message: String,
}

impl ScenarioError {
    /// An error about `field`; control characters a document smuggled into a key name (and
    /// so into the path or serde's message) are escaped, so the error stays one line.
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: one_line(&field.into()),
            message: one_line(&message.into()),
        }
    }
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    n: usize,
    #[serde(default)]
    params: RawParams,
    stake: Vec<serde_json::Number>,
    epochs: Vec<RawEpoch>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawParams {
    kappa: u16,
    bonds_penalty: u16,
    bonds_moving_average: u64,
    yuma3: bool,
    liquid_alpha: bool,
    alpha_low: f64,
    alpha_high: f64,
    alpha_sigmoid_steepness: i16,
    max_allowed_validators: u16,
    activity_cutoff: u64,
    emission: u64,
}

impl Default for RawParams {
    fn default() -> Self {
        let live = EpochParams::default();
        Self {
            kappa: live.kappa,
            bonds_penalty: live.bonds_penalty,
            bonds_moving_average: live.bonds_moving_average,
            yuma3: live.yuma3,
            liquid_alpha: live.liquid_alpha,
            alpha_low: u16_to_proportion(live.alpha_low),
            alpha_high: u16_to_proportion(live.alpha_high),
            alpha_sigmoid_steepness: live.alpha_sigmoid_steepness,
            max_allowed_validators: live.max_allowed_validators,
            activity_cutoff: live.activity_cutoff,
            emission: DEFAULT_EMISSION,
        }
    }
}

/// Default emission per epoch: one alpha.
pub const DEFAULT_EMISSION: u64 = 1_000_000_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEpoch {
    #[serde(default)]
    weights: Option<WeightRows>,
}

/// Parses and validates a scenario document.
///
/// # Errors
/// [`ScenarioError`] naming the first offending field.
pub fn parse(json: &str) -> Result<Scenario, ScenarioError> {
    // serde accepts a struct written as a list; a scenario is always an object.
    if json.trim_start().starts_with('[') {
        return Err(ScenarioError::new(
            "scenario",
            "must be a JSON object {\"n\": ..., \"stake\": ..., \"epochs\": ...}",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let located = |e: serde_path_to_error::Error<serde_json::Error>| {
        // The path names the offending key; an unknown key that is empty leaves it empty
        // (or ending in a dot), and then the enclosing object is the field.
        let path = e.path().to_string();
        let path = path.trim_end_matches('.');
        let field = if path.is_empty() || path == "?" {
            "scenario".to_owned()
        } else {
            path.to_owned()
        };
        ScenarioError::new(field, e.into_inner().to_string())
    };
    let raw: RawScenario = serde_path_to_error::deserialize(&mut deserializer).map_err(located)?;
    deserializer.end().map_err(|e| {
        ScenarioError::new(
            "scenario",
            format!("unexpected text after the scenario object ({e})"),
        )
    })?;
    let n = raw.n;
    if n > crate::input::MAX_NEURONS {
        return Err(ScenarioError::new(
            "n",
            format!("{n} exceeds the maximum of {}", crate::input::MAX_NEURONS),
        ));
    }
    if raw.stake.len() != n {
        return Err(ScenarioError::new(
            "stake",
            format!("has {} entries, expected n = {n}", raw.stake.len()),
        ));
    }
    let stake = raw
        .stake
        .iter()
        .enumerate()
        .map(|(i, s)| {
            parse_stake(s).ok_or_else(|| {
                ScenarioError::new(format!("stake[{i}]"), "must be a non-negative number")
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let params = raw.params.into_params()?;
    let epochs = raw
        .epochs
        .into_iter()
        .enumerate()
        .map(|(k, epoch)| {
            if let Some(rows) = &epoch.weights {
                check_weights(k, rows, n)?;
            }
            Ok(epoch.weights)
        })
        .collect::<Result<Vec<_>, ScenarioError>>()?;
    Ok(Scenario {
        emission: params.1,
        params: params.0,
        stake,
        epochs,
    })
}

/// A stake as written: a non-negative integer or finite number, saturating at the largest
/// `I64F64` as integers above `i64::MAX` do.
fn parse_stake(number: &serde_json::Number) -> Option<I64F64> {
    if let Some(v) = number.as_u64() {
        return Some(I64F64::saturating_from_num(v));
    }
    let v = number.as_f64()?;
    if !(v.is_finite() && v >= 0.0) {
        return None;
    }
    // `substrate-fixed`'s saturating conversion panics on floats far above the range
    // (1e308 ends in "NaN"), so the saturation happens here: 2^63 is the first value out.
    Some(if v >= 9_223_372_036_854_775_808.0 {
        I64F64::max_value()
    } else {
        I64F64::saturating_from_num(v)
    })
}

impl RawParams {
    fn into_params(self) -> Result<(EpochParams, u64), ScenarioError> {
        let alpha_low = proportion_to_u16("params.alpha_low", self.alpha_low)?;
        let alpha_high = proportion_to_u16("params.alpha_high", self.alpha_high)?;
        let params = EpochParams {
            kappa: self.kappa,
            bonds_penalty: self.bonds_penalty,
            bonds_moving_average: self.bonds_moving_average,
            yuma3: self.yuma3,
            liquid_alpha: self.liquid_alpha,
            alpha_low,
            alpha_high,
            alpha_sigmoid_steepness: self.alpha_sigmoid_steepness,
            max_allowed_validators: self.max_allowed_validators,
            activity_cutoff: self.activity_cutoff,
            stake_threshold: 0,
        };
        params.validate().map_err(|e| match e {
            YumaError::InvalidParam { name, reason } => {
                ScenarioError::new(format!("params.{name}"), reason)
            }
            other => ScenarioError::new("params", other.to_string()),
        })?;
        Ok((params, self.emission))
    }
}

/// A proportion in `[0, 1]` as the chain stores it: `floor(x · 65535)` in fixed point.
fn proportion_to_u16(field: &str, x: f64) -> Result<u16, ScenarioError> {
    if !(0.0..=1.0).contains(&x) {
        return Err(ScenarioError::new(
            field,
            format!("{x} is not a proportion in 0..1"),
        ));
    }
    Ok(fixed_proportion_to_u16(I32F32::saturating_from_num(x)))
}

fn check_weights(epoch: usize, rows: &[Vec<(u16, u16)>], n: usize) -> Result<(), ScenarioError> {
    if rows.len() != n {
        return Err(ScenarioError::new(
            format!("epochs[{epoch}].weights"),
            format!("has {} rows, expected one per uid (n = {n})", rows.len()),
        ));
    }
    for (i, row) in rows.iter().enumerate() {
        let field = || format!("epochs[{epoch}].weights[{i}]");
        let mut seen = vec![false; n];
        for &(uid, _) in row {
            match seen.get_mut(usize::from(uid)) {
                None => {
                    return Err(ScenarioError::new(
                        field(),
                        format!("uid {uid} is out of range (n = {n})"),
                    ));
                }
                Some(true) => {
                    return Err(ScenarioError::new(
                        field(),
                        format!("uid {uid} appears more than once"),
                    ));
                }
                Some(flag) => *flag = true,
            }
        }
    }
    Ok(())
}

/// One epoch's result in the scenario output format.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpochReport {
    /// Consensus per uid, as its stored u16 fraction of 65 535.
    pub consensus: Vec<f64>,
    /// Incentive per uid.
    pub incentive: Vec<f64>,
    /// Dividends per uid.
    pub dividends: Vec<f64>,
    /// Validator trust per uid.
    pub validator_trust: Vec<f64>,
    /// Permits granted for the next epoch.
    pub validator_permit: Vec<bool>,
    /// Stored bonds, dense `n × n`, as fractions of 65 535.
    pub bonds: Vec<Vec<f64>>,
    /// Miner emission per uid (rao).
    pub server_emission: Vec<u64>,
    /// Validator emission per uid (rao).
    pub validator_emission: Vec<u64>,
}

/// The whole scenario output: `{"epochs": [...]}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScenarioReport {
    /// One report per epoch, in order.
    pub epochs: Vec<EpochReport>,
}

/// Runs every epoch of the scenario; returns the raw outputs.
///
/// # Errors
/// A [`YumaError`] if an epoch rejects its input (cannot happen for a parsed scenario).
pub fn run(scenario: &Scenario) -> Result<Vec<EpochOutput>, YumaError> {
    let n = scenario.stake.len();
    let mut input = EpochInput {
        params: scenario.params.clone(),
        emission: scenario.emission,
        stake: scenario.stake.clone(),
        last_update: vec![0; n],
        block_at_registration: vec![0; n],
        validator_permit: vec![false; n],
        weights: vec![Vec::new(); n],
        bonds: vec![Vec::new(); n],
        ..EpochInput::default()
    };
    let mut outputs = Vec::with_capacity(scenario.epochs.len());
    for (block, epoch) in (1u64..).zip(&scenario.epochs) {
        input.current_block = block;
        // Epoch k − 1 ran at block k, so the live `last_tempo` is k + 1 = this block; before the
        // first epoch it is `current_block − tempo` = 0.
        input.last_tempo_block = if block == 1 { 0 } else { block };
        if let Some(rows) = epoch {
            for ((stored, updated), submitted) in input
                .weights
                .iter_mut()
                .zip(&mut input.last_update)
                .zip(rows)
            {
                let (uids, values): (Vec<u16>, Vec<u16>) = submitted.iter().copied().unzip();
                *stored = weight_row(&uids, &values);
                if !submitted.is_empty() {
                    *updated = block;
                }
            }
        }
        let output = crate::epoch(&input)?;
        input.validator_permit.clone_from(&output.validator_permit);
        input.bonds.clone_from(&output.bonds);
        outputs.push(output);
    }
    Ok(outputs)
}

/// Formats raw outputs as the scenario report.
pub fn report(outputs: &[EpochOutput]) -> ScenarioReport {
    let fractions = |values: &[I32F32]| -> Vec<f64> {
        values
            .iter()
            .map(|v| u16_to_proportion(fixed_proportion_to_u16(*v)))
            .collect()
    };
    ScenarioReport {
        epochs: outputs
            .iter()
            .map(|out| EpochReport {
                consensus: fractions(&out.consensus),
                incentive: fractions(&out.incentive),
                dividends: fractions(&out.dividends),
                validator_trust: fractions(&out.validator_trust),
                validator_permit: out.validator_permit.clone(),
                bonds: out
                    .bonds_dense()
                    .iter()
                    .map(|row| row.iter().map(|b| u16_to_proportion(*b)).collect())
                    .collect(),
                server_emission: out.server_emission.clone(),
                validator_emission: out.validator_emission.clone(),
            })
            .collect(),
    }
}

impl ScenarioReport {
    /// The report as JSON: one line, or with `pretty` one line per field (and per bond row)
    /// so that vectors of a few dozen uids stay readable.
    pub fn to_json(&self, pretty: bool) -> String {
        if !pretty {
            return compact(self);
        }
        let epochs: Vec<String> = self
            .epochs
            .iter()
            .map(|e| {
                let bonds: Vec<String> = e.bonds.iter().map(compact).collect();
                let fields = [
                    format!("\"consensus\": {}", compact(&e.consensus)),
                    format!("\"incentive\": {}", compact(&e.incentive)),
                    format!("\"dividends\": {}", compact(&e.dividends)),
                    format!("\"validator_trust\": {}", compact(&e.validator_trust)),
                    format!("\"validator_permit\": {}", compact(&e.validator_permit)),
                    format!("\"bonds\": [\n      {}\n    ]", bonds.join(",\n      ")),
                    format!("\"server_emission\": {}", compact(&e.server_emission)),
                    format!("\"validator_emission\": {}", compact(&e.validator_emission)),
                ];
                format!("  {{\n    {}\n  }}", fields.join(",\n    "))
            })
            .collect();
        format!("{{\"epochs\": [\n{}\n]}}", epochs.join(",\n"))
    }
}

/// Compact JSON of a value; serialising numbers, booleans and vectors of them cannot fail.
fn compact<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// A stored u16 as its fraction of 65 535, for display.
#[allow(clippy::float_arithmetic)] // presentation only: runs after the epoch, never feeds back
fn u16_to_proportion(value: u16) -> f64 {
    f64::from(value) / f64::from(u16::MAX)
}

/// Reads a scenario file (`-` for standard input), refusing more than
/// [`MAX_SCENARIO_BYTES`]; the error is one line naming the path.
pub fn read_source(path: &str) -> Result<String, String> {
    use std::io::Read;
    let mut text = String::new();
    let limit = MAX_SCENARIO_BYTES.saturating_add(1);
    let read = if path == "-" {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_string(&mut text)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_string(&mut text))
    };
    read.map_err(|e| format!("cannot read scenario {path}: {e}"))?;
    if u64::try_from(text.len()).unwrap_or(u64::MAX) > MAX_SCENARIO_BYTES {
        return Err(format!(
            "scenario {path} is larger than {MAX_SCENARIO_BYTES} bytes"
        ));
    }
    Ok(text)
}
