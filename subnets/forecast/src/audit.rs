//! The public audit: from the chain's block hashes, every validator's signed ledger and its
//! weights on chain, recompute what each validator's weights should have been and flag the
//! ones that differ.
//!
//! The truth is recomputable ([`World`]), the forecasts are signed by their miners and the
//! ledger by its validator, and scoring is a pure function ([`score_round`] then
//! [`ScoreBook`]). So an auditor replays each ledger's rounds that were due when the weights
//! were set and compares: a validator whose weights do not follow from its own evidence is
//! flagged ([`Flag::WeightsDeviate`]). A validator that instead doctors its evidence — drops
//! or "loses" entries of miners it dislikes — is caught by comparing ledgers: entries that a
//! majority of the other validators counted but it did not ([`Flag::SuppressedEntries`]).
//! What it cannot do is invent a forecast (miners sign them) or disown its ledger (it signed
//! it).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tao_keys::PublicKey;
use tao_primitives::{Hash256, Uid};

use crate::error::Error;
use crate::forecast::Challenge;
use crate::ledger::{Roster, SignedLedger, Verdict};
use crate::score::{ScoreBook, from_u16, score_round};
use crate::spec::ForecastSpec;
use crate::world::World;

/// The most validators one audit takes.
pub const MAX_VALIDATORS: usize = 1024;
/// Blocks a validator's weights may take from the moment it computes them to their
/// inclusion (`set_at_block`). A round that fell due in between was not in the validator's
/// moving average, so the audit also replays the ledger as of each block in this window where
/// the due rounds change, and judges the validator by the closest. (A validator can choose
/// among at most the one or two rounds falling due in 8 blocks: nothing to steer with.)
pub const INCLUSION_WINDOW_BLOCKS: u64 = 8;

/// A validator's weights as the chain holds them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainWeights {
    /// The validator's hotkey.
    pub validator: PublicKey,
    /// The block at which the weights were set: rounds due by then are replayed.
    pub set_at_block: u64,
    /// `(uid, raw u16 weight)` as `set_weights` submitted them.
    pub weights: Vec<(Uid, u16)>,
}

/// Whether a round is due for scoring at `block`: its last target block and the reveal
/// grace have passed. Validators score a round exactly when it becomes due; the audit
/// replays the rounds due when the weights were set.
pub fn round_is_due(spec: &ForecastSpec, challenge: &Challenge, block: u64) -> bool {
    spec.world
        .block_of_step(challenge.last_step())
        .is_ok_and(|last| last.saturating_add(spec.reveal_grace_blocks) <= block)
}

/// What the audit holds against a validator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Flag {
    /// It set weights but published no ledger.
    NoLedger,
    /// Its ledger is malformed (oversized, out of order, or with rounds the spec cannot
    /// issue); it is not replayed.
    MalformedLedger {
        /// What is wrong.
        reason: String,
    },
    /// Its ledger's signature is not its own.
    BadLedgerSignature,
    /// Its weights are further than the tolerance from the recomputed ones.
    WeightsDeviate {
        /// Total-variation distance.
        distance: f64,
    },
    /// It failed to count entries a majority of the other validators counted.
    SuppressedEntries {
        /// Entries suppressed.
        suppressed: usize,
        /// Entries the majority counted in its rounds.
        of: usize,
    },
}

/// The audit of one validator, with what is needed to recompute it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidatorAudit {
    /// The validator's hotkey.
    pub validator: PublicKey,
    /// blake2 of its ledger's canonical bytes (what it signed), when it has one.
    pub ledger_digest: Option<String>,
    /// First target steps of the rounds replayed, in order.
    pub rounds: Vec<u64>,
    /// Its weights on chain, normalised.
    pub on_chain: Vec<(Uid, f64)>,
    /// The weights its own ledger gives.
    pub recomputed: Vec<(Uid, f64)>,
    /// Total-variation distance between the two (0 = identical, 1 = disjoint).
    pub distance: f64,
    /// Total-variation distance between its weights and the honest consensus.
    pub distance_to_consensus: f64,
    /// Why it is flagged (empty: honest as far as the evidence shows).
    pub flags: Vec<Flag>,
}

impl ValidatorAudit {
    /// Whether anything is held against it.
    pub fn flagged(&self) -> bool {
        !self.flags.is_empty()
    }
}

/// The audit of a subnet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    /// The honest weight vector: per uid the median of the recomputed vectors of validators
    /// with a valid ledger, normalised.
    pub honest: Vec<(Uid, f64)>,
    /// One audit per validator with weights on chain, in input order.
    pub validators: Vec<ValidatorAudit>,
}

impl std::fmt::Display for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Flag::NoLedger => write!(f, "no ledger"),
            Flag::MalformedLedger { reason } => write!(f, "malformed ledger: {reason}"),
            Flag::BadLedgerSignature => write!(f, "ledger signature invalid"),
            Flag::WeightsDeviate { distance } => write!(f, "weights deviate by {distance:.4}"),
            Flag::SuppressedEntries { suppressed, of } => {
                write!(f, "suppressed {suppressed} of {of} entries")
            }
        }
    }
}

/// One line per validator: hotkey, rounds replayed, distance to its own recomputed weights and
/// to the honest consensus, and its flags (`ok` when none) — what `tao subnets audit` prints.
impl std::fmt::Display for AuditReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<48}  {:>6}  {:>8}  {:>9}  verdict",
            "validator", "rounds", "distance", "consensus"
        )?;
        for v in &self.validators {
            let flags: Vec<String> = v.flags.iter().map(ToString::to_string).collect();
            let verdict = if flags.is_empty() {
                "ok".to_owned()
            } else {
                format!("FLAGGED: {}", flags.join("; "))
            };
            writeln!(
                f,
                "{:<48}  {:>6}  {:>8.4}  {:>9.4}  {verdict}",
                v.validator.to_ss58(),
                v.rounds.len(),
                v.distance,
                v.distance_to_consensus,
            )?;
        }
        Ok(())
    }
}

/// Per (round start step, uid): whether that ledger counted the entry.
type Counted = BTreeMap<(u64, Uid), bool>;

/// A ledger replayed: its weights and what it counted.
struct Replay {
    rounds: Vec<u64>,
    weights: Vec<(Uid, f64)>,
    counted: Counted,
}

/// The replay as of the block in the inclusion window (see [`INCLUSION_WINDOW_BLOCKS`])
/// whose weights are closest to the ones on chain.
fn closest_replay(
    spec: &ForecastSpec,
    world: &World,
    ledger: &SignedLedger,
    weights: &ChainWeights,
    roster: Option<&Roster>,
) -> Result<Replay, Error> {
    let on_chain = from_u16(&weights.weights);
    let set_at = weights.set_at_block;
    let earliest = set_at.saturating_sub(INCLUSION_WINDOW_BLOCKS);
    // The due set changes only where a round falls due: replay just before each such block.
    let mut candidates: BTreeSet<u64> = BTreeSet::from([set_at]);
    for round in &ledger.ledger.rounds {
        let due_at = spec
            .world
            .block_of_step(round.challenge.last_step())
            .map(|block| block.saturating_add(spec.reveal_grace_blocks));
        if let Ok(due_at) = due_at
            && due_at > earliest
            && due_at <= set_at
        {
            candidates.insert(due_at - 1);
        }
    }
    let mut best: Option<(f64, Replay)> = None;
    for block in candidates {
        let candidate = replay(spec, world, ledger, block, roster)?;
        let gap = distance(&on_chain, &candidate.weights);
        if best.as_ref().is_none_or(|(best_gap, _)| gap < *best_gap) {
            best = Some((gap, candidate));
        }
    }
    match best {
        Some((_, replay)) => Ok(replay),
        None => replay(spec, world, ledger, set_at, roster),
    }
}

fn replay(
    spec: &ForecastSpec,
    world: &World,
    ledger: &SignedLedger,
    set_at_block: u64,
    roster: Option<&Roster>,
) -> Result<Replay, Error> {
    let mut book = ScoreBook::new();
    let mut rounds = Vec::new();
    let mut counted = Counted::new();
    for round in &ledger.ledger.rounds {
        if round.challenge.netuid != ledger.ledger.netuid
            || !round_is_due(spec, &round.challenge, set_at_block)
        {
            continue;
        }
        let scores = score_round(spec, world.panel(), round, roster)?;
        for score in &scores {
            let key = (round.challenge.start_step, score.uid);
            counted.insert(key, score.verdict == Verdict::Counted);
        }
        book.update(&spec.scoring, &scores);
        rounds.push(round.challenge.start_step);
    }
    Ok(Replay {
        rounds,
        weights: book.weights(&spec.scoring),
        counted,
    })
}

/// Total-variation distance `½·Σ|a − b|` over the union of uids.
pub fn distance(a: &[(Uid, f64)], b: &[(Uid, f64)]) -> f64 {
    let mut difference: BTreeMap<Uid, f64> = BTreeMap::new();
    for (uid, w) in a {
        *difference.entry(*uid).or_default() += w;
    }
    for (uid, w) in b {
        *difference.entry(*uid).or_default() -= w;
    }
    let total: f64 = difference.values().map(|d| d.abs()).sum::<f64>() / 2.0;
    if total.is_finite() { total } else { 1.0 }
}

/// Audit a subnet against an already computed world (it must reach every replayed round's
/// last target step).
///
/// # Errors
/// [`Error::TooLarge`] past [`MAX_VALIDATORS`], [`Error::HistoryTooShort`] when the world
/// is shorter than a due round, spec errors.
pub fn audit(
    spec: &ForecastSpec,
    world: &World,
    roster: Option<&Roster>,
    ledgers: &[SignedLedger],
    chain: &[ChainWeights],
) -> Result<AuditReport, Error> {
    spec.validate()?;
    for (what, len) in [
        ("audit ledgers", ledgers.len()),
        ("audit validators", chain.len()),
    ] {
        if len > MAX_VALIDATORS {
            return Err(Error::TooLarge {
                what,
                len,
                max: MAX_VALIDATORS,
            });
        }
    }
    let mut replays: Vec<Option<(Hash256, Replay)>> = Vec::with_capacity(chain.len());
    let mut signature_ok = Vec::with_capacity(chain.len());
    let mut malformed = Vec::with_capacity(chain.len());
    for weights in chain {
        let ledger = ledgers
            .iter()
            .find(|l| l.ledger.validator == weights.validator);
        signature_ok.push(ledger.is_some_and(SignedLedger::verify));
        let problem = ledger.and_then(|l| l.ledger.check(spec).err());
        malformed.push(problem.as_ref().map(ToString::to_string));
        replays.push(match ledger {
            Some(ledger) if problem.is_none() => Some((
                ledger.ledger.digest(),
                closest_replay(spec, world, ledger, weights, roster)?,
            )),
            _ => None,
        });
    }
    let honest = consensus(
        replays
            .iter()
            .zip(&signature_ok)
            .filter(|(_, ok)| **ok)
            .filter_map(|(r, _)| r.as_ref().map(|(_, replay)| replay.weights.as_slice())),
    );
    let validators = chain
        .iter()
        .enumerate()
        .map(|(index, weights)| {
            let on_chain = from_u16(&weights.weights);
            let replay = replays.get(index).and_then(Option::as_ref);
            let valid = signature_ok.get(index).copied().unwrap_or(false);
            let mut audit = judge(
                spec,
                weights.validator,
                on_chain,
                replay,
                valid,
                &replays,
                index,
                &honest,
            );
            if let Some(reason) = malformed.get(index).cloned().flatten() {
                audit.flags = vec![Flag::MalformedLedger { reason }];
            }
            audit
        })
        .collect();
    Ok(AuditReport { honest, validators })
}

/// Audit a subnet from the hashes of the blocks that drive steps `0..`.
///
/// # Errors
/// As [`audit`] and [`World::from_hashes`].
pub fn audit_from_hashes(
    spec: &ForecastSpec,
    step_hashes: &[Hash256],
    roster: Option<&Roster>,
    ledgers: &[SignedLedger],
    chain: &[ChainWeights],
) -> Result<AuditReport, Error> {
    let world = World::from_hashes(spec.world.clone(), step_hashes)?;
    audit(spec, &world, roster, ledgers, chain)
}

#[allow(clippy::too_many_arguments)]
fn judge(
    spec: &ForecastSpec,
    validator: PublicKey,
    on_chain: Vec<(Uid, f64)>,
    replay: Option<&(Hash256, Replay)>,
    signature_ok: bool,
    replays: &[Option<(Hash256, Replay)>],
    index: usize,
    honest: &[(Uid, f64)],
) -> ValidatorAudit {
    let mut flags = Vec::new();
    let distance_to_consensus = distance(&on_chain, honest);
    let Some((digest, replay)) = replay else {
        flags.push(Flag::NoLedger);
        return ValidatorAudit {
            validator,
            ledger_digest: None,
            rounds: Vec::new(),
            on_chain,
            recomputed: Vec::new(),
            distance: 1.0,
            distance_to_consensus,
            flags,
        };
    };
    if !signature_ok {
        flags.push(Flag::BadLedgerSignature);
    }
    let own_distance = distance(&on_chain, &replay.weights);
    if own_distance > spec.scoring.audit_tolerance {
        flags.push(Flag::WeightsDeviate {
            distance: own_distance,
        });
    }
    let (suppressed, of) = suppression(replay, replays, index);
    if of > 0 && suppressed as f64 > spec.scoring.audit_tolerance * of as f64 {
        flags.push(Flag::SuppressedEntries { suppressed, of });
    }
    ValidatorAudit {
        validator,
        ledger_digest: Some(format!("{digest}")),
        rounds: replay.rounds.clone(),
        on_chain,
        recomputed: replay.weights.clone(),
        distance: own_distance,
        distance_to_consensus,
        flags,
    }
}

/// Entries in this validator's rounds that a strict majority of the other validators with
/// the same round counted and it did not, and how many entries such majorities counted.
fn suppression(
    own: &Replay,
    replays: &[Option<(Hash256, Replay)>],
    index: usize,
) -> (usize, usize) {
    let others: Vec<&Replay> = replays
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != index)
        .filter_map(|(_, r)| r.as_ref().map(|(_, replay)| replay))
        .collect();
    let rounds: BTreeSet<u64> = own.rounds.iter().copied().collect();
    let mut keys: BTreeSet<(u64, Uid)> = BTreeSet::new();
    for other in &others {
        keys.extend(
            other
                .counted
                .keys()
                .filter(|(step, _)| rounds.contains(step)),
        );
    }
    let (mut suppressed, mut of) = (0, 0);
    for key in keys {
        let with_round: Vec<&&Replay> = others
            .iter()
            .filter(|r| r.rounds.contains(&key.0))
            .collect();
        let counting = with_round
            .iter()
            .filter(|r| r.counted.get(&key) == Some(&true))
            .count();
        if counting * 2 > with_round.len() {
            of += 1;
            if own.counted.get(&key) != Some(&true) {
                suppressed += 1;
            }
        }
    }
    (suppressed, of)
}

/// Per-uid median of the vectors, normalised.
fn consensus<'a>(vectors: impl Iterator<Item = &'a [(Uid, f64)]>) -> Vec<(Uid, f64)> {
    let vectors: Vec<BTreeMap<Uid, f64>> = vectors.map(|v| v.iter().copied().collect()).collect();
    let uids: BTreeSet<Uid> = vectors.iter().flat_map(|v| v.keys().copied()).collect();
    let medians: Vec<(Uid, f64)> = uids
        .into_iter()
        .map(|uid| {
            let mut values: Vec<f64> = vectors
                .iter()
                .map(|v| v.get(&uid).copied().unwrap_or(0.0))
                .collect();
            values.sort_by(f64::total_cmp);
            (uid, crate::strategy::quantile_sorted(&values, 0.5))
        })
        .collect();
    let total: f64 = medians.iter().map(|(_, w)| w).sum();
    medians
        .into_iter()
        .map(|(uid, w)| (uid, if total > 0.0 { w / total } else { 0.0 }))
        .collect()
}

/// The dishonest validator of the process test: give `favoured` a `share` (in `[0, 1]`) of
/// the weight on top of the honest vector scaled by `1 − share`.
pub fn favour(honest: &[(Uid, f64)], favoured: Uid, share: f64) -> Vec<(Uid, f64)> {
    let share = if share.is_finite() {
        share.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mut out: Vec<(Uid, f64)> = honest
        .iter()
        .map(|(uid, w)| (*uid, w * (1.0 - share)))
        .collect();
    match out.iter_mut().find(|(uid, _)| *uid == favoured) {
        Some((_, w)) => *w += share,
        None => out.push((favoured, share)),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_is_total_variation() {
        let a = [(Uid(0), 0.5), (Uid(1), 0.5)];
        let b = [(Uid(1), 0.5), (Uid(2), 0.5)];
        assert!((distance(&a, &b) - 0.5).abs() < 1e-12);
        assert_eq!(distance(&a, &a), 0.0);
        assert_eq!(distance(&a, &[(Uid(0), f64::NAN)]), 1.0);
    }

    #[test]
    fn favour_moves_weight_to_the_favourite() {
        let honest = [(Uid(0), 0.75), (Uid(1), 0.25)];
        let pushed = favour(&honest, Uid(1), 0.5);
        assert_eq!(pushed, vec![(Uid(0), 0.375), (Uid(1), 0.625)]);
        assert!((distance(&honest, &pushed) - 0.375).abs() < 1e-12);
        let new = favour(&honest, Uid(9), 0.2);
        assert_eq!(new.len(), 3);
    }

    #[test]
    fn consensus_is_a_normalised_median() {
        let a = [(Uid(0), 1.0)];
        let b = [(Uid(0), 0.5), (Uid(1), 0.5)];
        let c = [(Uid(0), 0.6), (Uid(1), 0.4)];
        let m = consensus([&a[..], &b[..], &c[..]].into_iter());
        // Medians 0.6 and 0.4.
        assert!((m[0].1 - 0.6).abs() < 1e-12 && (m[1].1 - 0.4).abs() < 1e-12);
    }
}
