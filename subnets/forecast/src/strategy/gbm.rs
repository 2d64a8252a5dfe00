//! The `learned` model: the [`ArModel`] as a base and gradient-boosted regression trees
//! (histogram splits, squared loss, shrinkage, row subsampling) fitted on its one-step
//! residuals. The trees see what the linear model cannot use: the deviation from a fitted
//! seasonal profile, the neighbour's deviation, recent volatility (a proxy of the hidden
//! regime, whose persistence differs) and the season's phase.
#![allow(
    clippy::indexing_slicing,
    reason = "feature, bin and node arrays sized in this module"
)]

use serde::{Deserialize, Serialize};

use super::PointModel;
use super::ar::{ArConfig, ArModel, Extended, recursive, season_features};
use super::linalg::NormalEquations;
use crate::error::Error;
use crate::world::{Panel, WorldSpec};

/// Number of tree features.
const FEATURES: usize = 6;
/// Steps in the volatility feature.
const VOLATILITY_STEPS: usize = 6;

/// Boosting settings. Defaults: 60 trees of depth 3, learning rate 0.1, leaves of ≥ 20 rows,
/// 80 % row subsampling, 32 bins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GbmConfig {
    /// Number of trees (1..=1000).
    pub trees: usize,
    /// Tree depth (1..=6).
    pub depth: usize,
    /// Shrinkage (0, 1].
    pub learning_rate: f64,
    /// Fewest rows in a leaf (≥ 1).
    pub min_leaf: usize,
    /// Share of rows each tree sees (0, 1].
    pub subsample: f64,
    /// Histogram bins per feature (2..=256).
    pub bins: usize,
}

impl Default for GbmConfig {
    fn default() -> Self {
        Self {
            trees: 60,
            depth: 3,
            learning_rate: 0.1,
            min_leaf: 20,
            subsample: 0.8,
            bins: 32,
        }
    }
}

impl GbmConfig {
    fn validate(&self) -> Result<(), Error> {
        let ok = (1..=1000).contains(&self.trees)
            && (1..=6).contains(&self.depth)
            && self.learning_rate > 0.0
            && self.learning_rate <= 1.0
            && self.min_leaf >= 1
            && self.subsample > 0.0
            && self.subsample <= 1.0
            && (2..=256).contains(&self.bins);
        if ok {
            Ok(())
        } else {
            Err(Error::Spec {
                field: "gbm",
                reason: "trees 1..=1000, depth 1..=6, learning_rate and subsample in (0, 1], \
                         min_leaf ≥ 1, bins 2..=256"
                    .into(),
            })
        }
    }
}

#[derive(Clone, Debug)]
enum Node {
    Leaf(f64),
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
}

#[derive(Clone, Debug)]
struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    fn predict(&self, x: &[f64; FEATURES]) -> f64 {
        let mut index = 0;
        // Depth ≤ 6, so the walk ends; the bound guards a malformed tree all the same.
        for _ in 0..=self.nodes.len() {
            match self.nodes.get(index) {
                Some(Node::Leaf(value)) => return *value,
                Some(Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                }) => {
                    index = if x[*feature] < *threshold {
                        *left
                    } else {
                        *right
                    }
                }
                None => return 0.0,
            }
        }
        0.0
    }
}

/// A fitted learned model.
#[derive(Clone, Debug)]
pub struct LearnedModel {
    base: ArModel,
    /// Per series: level and harmonics of the seasonal profile.
    profile: Vec<Vec<f64>>,
    period: usize,
    trees: Vec<Tree>,
}

impl LearnedModel {
    /// Fit the AR base, the seasonal profile and the trees on the last `ar.window_steps`.
    ///
    /// # Errors
    /// [`Error::Spec`] for bad settings, [`Error::HistoryTooShort`].
    pub fn fit(
        spec: &WorldSpec,
        history: Panel<'_>,
        ar: &ArConfig,
        gbm: &GbmConfig,
        seed: u64,
    ) -> Result<Self, Error> {
        gbm.validate()?;
        let base = ArModel::fit(spec, history, ar)?;
        let period = spec.season_period_steps.max(1) as usize;
        let n = history.steps();
        let first = n.saturating_sub(ar.window_steps).max(VOLATILITY_STEPS + 1);
        let profile = fit_profiles(history, first, period)?;
        let mut model = Self {
            base,
            profile,
            period,
            trees: Vec::new(),
        };
        let values = Extended::new(history, 0);
        let mut rows = Vec::new();
        let mut residuals = Vec::new();
        for t in first..n {
            for i in 0..history.series() {
                rows.push(model.features(&values, t, i));
                residuals.push(values.get(t, i) - model.base.one_step(&values, t, i));
            }
        }
        model.trees = boost(&rows, &mut residuals, gbm, seed);
        Ok(model)
    }

    fn seasonal(&self, t: usize, i: usize) -> f64 {
        let mut row = vec![1.0];
        season_features(t, self.period, 2, &mut row);
        let coefficients = self.profile.get(i).map_or(&[][..], Vec::as_slice);
        row.iter().zip(coefficients).map(|(x, c)| x * c).sum()
    }

    fn deviation(&self, values: &Extended<'_>, t: usize, i: usize) -> f64 {
        values.get(t, i) - self.seasonal(t, i % self.profile.len().max(1))
    }

    /// Tree features of `y[i,t]`, from values before `t` (`t ≥ VOLATILITY_STEPS + 1`).
    fn features(&self, values: &Extended<'_>, t: usize, i: usize) -> [f64; FEATURES] {
        let k = self.profile.len().max(1);
        let previous = t.saturating_sub(1);
        let volatility = (1..=VOLATILITY_STEPS)
            .map(|lag| {
                let s = t.saturating_sub(lag);
                (self.deviation(values, s, i) - self.deviation(values, s.saturating_sub(1), i))
                    .abs()
            })
            .sum::<f64>()
            / VOLATILITY_STEPS as f64;
        let mut phase = Vec::with_capacity(2);
        season_features(t, self.period, 1, &mut phase);
        [
            self.deviation(values, previous, i),
            self.deviation(values, previous, i + k - 1),
            volatility,
            phase.first().copied().unwrap_or(0.0),
            phase.get(1).copied().unwrap_or(0.0),
            self.deviation(values, previous, i) * volatility,
        ]
    }

    fn one_step(&self, values: &Extended<'_>, t: usize, i: usize) -> f64 {
        let x = self.features(values, t, i);
        self.base.one_step(values, t, i)
            + self.trees.iter().map(|tree| tree.predict(&x)).sum::<f64>()
    }
}

impl PointModel for LearnedModel {
    fn predict(&self, _spec: &WorldSpec, history: Panel<'_>, steps: usize) -> Vec<f64> {
        recursive(history, steps, |values, t, i| self.one_step(values, t, i))
    }
}

/// Least-squares level + two harmonics per series over steps `first..`.
fn fit_profiles(history: Panel<'_>, first: usize, period: usize) -> Result<Vec<Vec<f64>>, Error> {
    let mut profiles = Vec::with_capacity(history.series());
    let mut row = Vec::with_capacity(5);
    for i in 0..history.series() {
        let mut equations = NormalEquations::new(5);
        for t in first..history.steps() {
            row.clear();
            row.push(1.0);
            season_features(t, period, 2, &mut row);
            equations.add(&row, history.get(t, i).unwrap_or(0.0));
        }
        profiles.push(equations.solve(1e-6).ok_or(Error::HistoryTooShort {
            needed: (first + 20) as u64,
            have: history.steps() as u64,
        })?);
    }
    Ok(profiles)
}

/// SplitMix64: a deterministic, seedable stream for row subsampling.
fn splitmix(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Quantile bin edges of each feature (distinct, ascending).
fn bin_edges(rows: &[[f64; FEATURES]], bins: usize) -> Vec<Vec<f64>> {
    (0..FEATURES)
        .map(|f| {
            let mut column: Vec<f64> = rows.iter().map(|x| x[f]).collect();
            column.sort_by(f64::total_cmp);
            let mut edges: Vec<f64> = (1..bins)
                .filter_map(|b| column.get(b * column.len() / bins).copied())
                .collect();
            edges.dedup();
            edges
        })
        .collect()
}

/// Fit `config.trees` trees to `residuals` (updated in place to what the trees leave).
fn boost(
    rows: &[[f64; FEATURES]],
    residuals: &mut [f64],
    config: &GbmConfig,
    seed: u64,
) -> Vec<Tree> {
    let edges = bin_edges(rows, config.bins);
    // binned[r * FEATURES + f] = number of edges of f that are ≤ the value.
    let binned: Vec<u8> = rows
        .iter()
        .flat_map(|x| (0..FEATURES).map(move |f| (f, x[f])))
        .map(|(f, v)| edges[f].partition_point(|edge| *edge <= v) as u8)
        .collect();
    let keep = (config.subsample * u64::MAX as f64) as u64;
    let mut trees = Vec::with_capacity(config.trees);
    for tree_index in 0..config.trees {
        let tree_seed = splitmix(seed ^ splitmix(tree_index as u64));
        let mut sample: Vec<usize> = (0..rows.len())
            .filter(|&r| splitmix(tree_seed ^ r as u64) <= keep)
            .collect();
        let builder = TreeBuilder {
            binned: &binned,
            edges: &edges,
            residuals,
            config,
        };
        let mut nodes = Vec::new();
        builder.grow(&mut sample, 0, &mut nodes);
        let tree = Tree { nodes };
        for (r, x) in rows.iter().enumerate() {
            residuals[r] -= tree.predict(x);
        }
        trees.push(tree);
    }
    trees
}

struct TreeBuilder<'a> {
    binned: &'a [u8],
    edges: &'a [Vec<f64>],
    residuals: &'a [f64],
    config: &'a GbmConfig,
}

impl TreeBuilder<'_> {
    /// Grow the subtree of `rows` at `depth`, appending its nodes; returns its root index.
    fn grow(&self, rows: &mut [usize], depth: usize, nodes: &mut Vec<Node>) -> usize {
        let index = nodes.len();
        let sum: f64 = rows.iter().map(|&r| self.residuals[r]).sum();
        let leaf = Node::Leaf(self.config.learning_rate * sum / rows.len().max(1) as f64);
        nodes.push(leaf);
        if depth >= self.config.depth {
            return index;
        }
        let Some((feature, bin)) = self.best_split(rows, sum) else {
            return index;
        };
        let mut split = 0;
        for position in 0..rows.len() {
            if usize::from(self.binned[rows[position] * FEATURES + feature]) < bin {
                rows.swap(split, position);
                split += 1;
            }
        }
        let (left_rows, right_rows) = rows.split_at_mut(split);
        let left = self.grow(left_rows, depth + 1, nodes);
        let right = self.grow(right_rows, depth + 1, nodes);
        nodes[index] = Node::Split {
            feature,
            threshold: self.edges[feature][bin - 1],
            left,
            right,
        };
        index
    }

    /// The (feature, bin) whose split `bin(x) < bin` most reduces the squared error.
    fn best_split(&self, rows: &[usize], total: f64) -> Option<(usize, usize)> {
        let n = rows.len();
        let min_leaf = self.config.min_leaf;
        if n < 2 * min_leaf {
            return None;
        }
        let base = total * total / n as f64;
        let mut best: Option<(f64, usize, usize)> = None;
        for feature in 0..FEATURES {
            let bins = self.edges[feature].len() + 1;
            let mut sums = vec![0.0; bins];
            let mut counts = vec![0usize; bins];
            for &r in rows {
                let b = usize::from(self.binned[r * FEATURES + feature]);
                sums[b] += self.residuals[r];
                counts[b] += 1;
            }
            let (mut left_sum, mut left_count) = (0.0, 0);
            for bin in 1..bins {
                left_sum += sums[bin - 1];
                left_count += counts[bin - 1];
                let right_count = n - left_count;
                if left_count < min_leaf || right_count < min_leaf {
                    continue;
                }
                let right_sum = total - left_sum;
                let gain = left_sum * left_sum / left_count as f64
                    + right_sum * right_sum / right_count as f64
                    - base;
                if gain > best.map_or(1e-12, |(g, ..)| g) {
                    best = Some((gain, feature, bin));
                }
            }
        }
        best.map(|(_, feature, bin)| (feature, bin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boosting_learns_a_step_function() {
        // residual = 1 when feature 0 ≥ 4 else −1: trees must drive the error near 0.
        let rows: Vec<[f64; FEATURES]> = (0..400)
            .map(|r| {
                let mut x = [0.0; FEATURES];
                x[0] = f64::from(r % 8);
                x[1] = f64::from(r % 7);
                x
            })
            .collect();
        let mut residuals: Vec<f64> = rows
            .iter()
            .map(|x| if x[0] >= 4.0 { 1.0 } else { -1.0 })
            .collect();
        let config = GbmConfig {
            trees: 40,
            learning_rate: 0.3,
            ..GbmConfig::default()
        };
        let trees = boost(&rows, &mut residuals, &config, 7);
        let left: f64 = residuals.iter().map(|r| r * r).sum::<f64>() / 400.0;
        assert!(left < 0.01, "mean squared residual {left}");
        let x = rows[5];
        let prediction: f64 = trees.iter().map(|t| t.predict(&x)).sum();
        assert!((prediction - 1.0).abs() < 0.1);
        assert!(
            GbmConfig {
                bins: 1,
                ..GbmConfig::default()
            }
            .validate()
            .is_err()
        );
    }
}
