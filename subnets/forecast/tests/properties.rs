//! Property tests: the world is bit-identical however it is computed, scores stay in
//! `[0, 1]`, the naive strategy has exactly zero skill, and hostile input never panics.

use proptest::prelude::*;
use tao_keys::Keypair;
use tao_primitives::{Hash256, NetUid, Uid};
use tao_subnet_forecast::audit::{ChainWeights, audit, round_is_due};
use tao_subnet_forecast::ledger::{Ledger, Roster, SignedCommitment, Verdict};
use tao_subnet_forecast::score::{ScoreBook, score_round, skill, to_u16};
use tao_subnet_forecast::strategy::{
    Naive, Strategy as _, StrategyConfig, StrategyKind, build, naive_baseline,
};
use tao_subnet_forecast::world::RegimeSpec;
use tao_subnet_forecast::{Challenge, Forecast, ForecastSpec, World, WorldSpec};

/// Generated cell: miner centre, lower and upper spread, baseline centre and spread, truth.
type Cell = (f64, f64, f64, f64, f64, f64);

fn bits(world: &World) -> Vec<u64> {
    world.panel().values().iter().map(|v| v.to_bits()).collect()
}

fn hashes(seed: u64, n: usize) -> Vec<Hash256> {
    (0..n as u64)
        .map(|t| Hash256::blake2(&[seed.to_le_bytes(), t.to_le_bytes()].concat()))
        .collect()
}

prop_compose! {
    /// Valid world specs across the whole parameter space.
    fn world_spec()(
        series in 1u16..=10,
        period in 2u32..=50,
        amplitude in 0.0f64..100.0,
        spacing in -50.0f64..50.0,
        coupling in -0.3f64..0.3,
        regimes in prop::collection::vec((-0.69f64..0.69, 0.001f64..10.0, 0.0f64..=1.0), 1..=4),
    ) -> WorldSpec {
        WorldSpec {
            series,
            season_period_steps: period,
            season_amplitude: amplitude,
            level_spacing: spacing,
            coupling,
            regimes: regimes
                .into_iter()
                .map(|(persistence, volatility, stay_probability)| RegimeSpec {
                    persistence,
                    volatility,
                    stay_probability,
                })
                .collect(),
            ..WorldSpec::default()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Two validators that see the same chain compute bit-identical ground truth, and the
    /// incremental computation equals the one from scratch.
    #[test]
    fn world_is_bit_identical_from_scratch_and_incrementally(
        spec in world_spec(),
        raw in prop::collection::vec(any::<[u8; 32]>(), 1..120),
        split in 0usize..120,
    ) {
        let hashes: Vec<Hash256> = raw.into_iter().map(Hash256).collect();
        let one = World::from_hashes(spec.clone(), &hashes).unwrap();
        let two = World::from_hashes(spec.clone(), &hashes).unwrap();
        prop_assert_eq!(bits(&one), bits(&two));
        let split = split.min(hashes.len());
        let mut incremental = World::from_hashes(spec.clone(), &hashes[..split]).unwrap();
        for hash in &hashes[split..] {
            incremental.extend(hash).unwrap();
        }
        prop_assert_eq!(bits(&incremental), bits(&one));
        prop_assert_eq!(incremental.regime(), one.regime());
        prop_assert_eq!(one.steps(), hashes.len());
        prop_assert!(one.panel().values().iter().all(|v| v.is_finite()));
        // A prefix of the history never depends on later hashes.
        let prefix = World::from_hashes(spec, &hashes[..split]).unwrap();
        prop_assert_eq!(&bits(&one)[..prefix.panel().values().len()], &bits(&prefix)[..]);
    }

    /// A forecast sent as JSON still matches its commitment: every finite f64 survives the
    /// round trip bit for bit (serde_json's `float_roundtrip`, which this crate enables).
    #[test]
    fn json_round_trip_keeps_the_digest(
        values in prop::collection::vec(
            prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
            4,
        ),
    ) {
        let forecast = Forecast {
            start_step: 9,
            series: 1,
            horizon: 1,
            point: vec![values[0]],
            q10: vec![values[1]],
            q50: vec![values[2]],
            q90: vec![values[3]],
        };
        let text = serde_json::to_string(&forecast).unwrap();
        let back: Forecast = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back.digest(NetUid(1)), forecast.digest(NetUid(1)));
    }

    /// Skill is in [0, 1] for any forecast, baseline and truth, garbage included.
    #[test]
    fn skill_is_in_unit_interval(
        cells in prop::collection::vec(
            (-1e6f64..1e6, 0.0f64..1e3, 0.0f64..1e3, -1e6f64..1e6, 0.0f64..1e3, -1e6f64..1e6),
            6,
        ),
        poison in prop::option::of((
            0usize..6,
            prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(-f64::INFINITY)],
        )),
    ) {
        let build = |centre: &dyn Fn(&Cell) -> (f64, f64, f64)| {
            let triples: Vec<(f64, f64, f64)> = cells.iter().map(centre).collect();
            Forecast {
                start_step: 0,
                series: 2,
                horizon: 3,
                point: triples.iter().map(|t| t.1).collect(),
                q10: triples.iter().map(|t| t.0).collect(),
                q50: triples.iter().map(|t| t.1).collect(),
                q90: triples.iter().map(|t| t.2).collect(),
            }
        };
        let mut miner = build(&|c| (c.0 - c.1, c.0, c.0 + c.2));
        let baseline = build(&|c| (c.3 - c.4, c.3, c.3 + c.4));
        let mut truth: Vec<f64> = cells.iter().map(|c| c.5).collect();
        if let Some((index, bad)) = poison {
            miner.q50[index] = bad;
            truth[(index + 1) % 6] = bad;
        }
        let s = skill(&miner, &baseline, &truth);
        prop_assert!((0.0..=1.0).contains(&s), "skill {}", s);
        prop_assert_eq!(skill(&baseline, &baseline, &truth), 0.0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// The naive strategy, signed, recorded and scored like any miner, has exactly zero
    /// skill: it is the baseline.
    #[test]
    fn naive_scores_zero_against_itself(seed in any::<u64>(), block in 60u64..100) {
        let spec = ForecastSpec::default();
        let world = World::from_hashes(spec.world.clone(), &hashes(seed, 120)).unwrap();
        let challenge = Challenge::at_block(&spec, NetUid(1), block).unwrap();
        let known = world.panel().prefix(block as usize + 1);
        let forecast = Naive::default().forecast(&spec.world, known, &challenge).unwrap();
        let baseline = naive_baseline(&spec.world, world.panel(), &challenge).unwrap();
        prop_assert_eq!(&forecast, &baseline);
        let key = Keypair::from_mini_secret([9; 32]);
        let mut ledger = Ledger::new(NetUid(1), key.public());
        ledger.open_round(challenge).unwrap();
        let commitment = SignedCommitment::create(&key, NetUid(1), &forecast);
        ledger.record_answer(Uid(0), commitment, forecast, block).unwrap();
        let scores = score_round(&spec, world.panel(), &ledger.rounds[0], None).unwrap();
        prop_assert_eq!(scores.len(), 1);
        prop_assert_eq!(&scores[0].verdict, &Verdict::Counted);
        prop_assert_eq!(scores[0].skill, 0.0);
    }

    /// Malformed reveals (any lengths, any floats) are judged, never panic, never score.
    #[test]
    fn malformed_reveals_score_nothing(
        lengths in prop::array::uniform4(0usize..200),
        value in prop_oneof![any::<f64>(), Just(f64::NAN)],
        start_offset in 0u64..3,
        series in 0u16..12,
        horizon in 0u16..20,
    ) {
        let spec = ForecastSpec::default();
        let world = World::from_hashes(spec.world.clone(), &hashes(1, 120)).unwrap();
        let challenge = Challenge::at_block(&spec, NetUid(1), 90).unwrap();
        let [a, b, c, d] = lengths;
        let forecast = Forecast {
            start_step: challenge.start_step + start_offset,
            series,
            horizon,
            point: vec![value; a],
            q10: vec![value; b],
            q50: vec![value; c],
            q90: vec![value; d],
        };
        let well_formed = forecast.validate(&challenge).is_ok();
        let key = Keypair::from_mini_secret([3; 32]);
        let mut ledger = Ledger::new(NetUid(1), key.public());
        ledger.open_round(challenge).unwrap();
        let commitment = SignedCommitment {
            start_step: challenge.start_step,
            ..SignedCommitment::create(&key, NetUid(1), &forecast)
        };
        // Re-sign for the challenge's start step so only the reveal is at fault.
        let commitment = SignedCommitment {
            signature: key.sign(&commitment.message()),
            ..commitment
        };
        ledger.record_commitment(Uid(0), commitment, 90).unwrap();
        let _ = ledger.record_reveal(Uid(0), forecast, 91);
        let scores = score_round(&spec, world.panel(), &ledger.rounds[0], None).unwrap();
        prop_assert_eq!(scores.len(), 1);
        if !well_formed {
            prop_assert_ne!(&scores[0].verdict, &Verdict::Counted);
            prop_assert_eq!(scores[0].score, 0.0);
        }
        prop_assert!((0.0..=1.0).contains(&scores[0].score));
    }
}

#[test]
fn hostile_json_is_rejected_not_panicked() {
    for text in [
        "",
        "{}",
        r#"{"netuid": 1, "validator": "nope", "rounds": []}"#,
        r#"{"world": {"series": 70000}}"#,
        r#"{"world": {"regimes": []}}"#,
    ] {
        let ledger = serde_json::from_str::<Ledger>(text);
        assert!(ledger.is_err(), "{text}");
        if let Ok(spec) = serde_json::from_str::<ForecastSpec>(text) {
            // Parsed specs must still be validated.
            let _ = spec.validate();
        }
    }
    let empty_regimes: ForecastSpec =
        serde_json::from_str(r#"{"world": {"regimes": []}}"#).unwrap();
    assert!(empty_regimes.validate().is_err());
    assert!(World::new(empty_regimes.world).is_err());
}

/// A small honest subnet: the world, a roster of three miners, one validator's signed ledger
/// and its weights at the last block.
fn small_subnet() -> (ForecastSpec, World, Roster, Keypair, Ledger, u64) {
    let spec = ForecastSpec::default();
    let steps = 110u64;
    let world = World::from_hashes(spec.world.clone(), &hashes(5, steps as usize)).unwrap();
    let keys: Vec<Keypair> = (0..3u8)
        .map(|i| Keypair::from_mini_secret([i + 60; 32]))
        .collect();
    let roster: Roster = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (Uid(i as u16), k.public()))
        .collect();
    let validator = Keypair::from_mini_secret([99; 32]);
    let mut ledger = Ledger::new(NetUid(1), validator.public());
    for block in [60u64, 70, 80] {
        let challenge = Challenge::at_block(&spec, NetUid(1), block).unwrap();
        ledger.open_round(challenge).unwrap();
        let known = world.panel().prefix(block as usize + 1);
        for (uid, key) in keys.iter().enumerate() {
            let config = StrategyConfig {
                kind: [
                    StrategyKind::Naive,
                    StrategyKind::Seasonal,
                    StrategyKind::Random,
                ][uid],
                ..StrategyConfig::default()
            };
            let forecast = build(&config)
                .forecast(&spec.world, known, &challenge)
                .unwrap();
            let commitment = SignedCommitment::create(key, NetUid(1), &forecast);
            ledger
                .record_answer(Uid(uid as u16), commitment, forecast, block)
                .unwrap();
        }
    }
    (spec, world, roster, validator, ledger, steps - 1)
}

/// One way to tamper with a ledger.
#[derive(Clone, Debug)]
enum Tamper {
    CommittedAt(usize, usize, u64),
    RevealedAt(usize, usize, Option<u64>),
    Uid(usize, usize, u16),
    Value(usize, usize, usize, f64),
    Truncate(usize, usize, usize),
    StartStep(usize, u64),
    Horizon(usize, u16),
    Duplicate(usize, usize),
    DropRound(usize),
}

fn tamper() -> impl Strategy<Value = Tamper> {
    let at = (0usize..3, 0usize..3);
    prop_oneof![
        (at.clone(), any::<u64>()).prop_map(|((r, e), b)| Tamper::CommittedAt(r, e, b)),
        (at.clone(), any::<Option<u64>>()).prop_map(|((r, e), b)| Tamper::RevealedAt(r, e, b)),
        (at.clone(), any::<u16>()).prop_map(|((r, e), u)| Tamper::Uid(r, e, u)),
        (at.clone(), 0usize..96, any::<f64>()).prop_map(|((r, e), c, v)| Tamper::Value(r, e, c, v)),
        (at.clone(), 0usize..200).prop_map(|((r, e), n)| Tamper::Truncate(r, e, n)),
        (0usize..3, any::<u64>()).prop_map(|(r, s)| Tamper::StartStep(r, s)),
        (0usize..3, any::<u16>()).prop_map(|(r, h)| Tamper::Horizon(r, h)),
        at.prop_map(|(r, e)| Tamper::Duplicate(r, e)),
        (0usize..3).prop_map(Tamper::DropRound),
    ]
}

fn apply(ledger: &mut Ledger, tamper: &Tamper) {
    match *tamper {
        Tamper::CommittedAt(r, e, b) => {
            if let Some(x) = ledger.rounds.get_mut(r).and_then(|r| r.entries.get_mut(e)) {
                x.committed_at = b;
            }
        }
        Tamper::RevealedAt(r, e, b) => {
            if let Some(x) = ledger.rounds.get_mut(r).and_then(|r| r.entries.get_mut(e)) {
                x.revealed_at = b;
            }
        }
        Tamper::Uid(r, e, u) => {
            if let Some(x) = ledger.rounds.get_mut(r).and_then(|r| r.entries.get_mut(e)) {
                x.uid = Uid(u);
            }
        }
        Tamper::Value(r, e, c, v) => {
            let reveal = ledger
                .rounds
                .get_mut(r)
                .and_then(|r| r.entries.get_mut(e))
                .and_then(|x| x.reveal.as_mut());
            if let Some(slot) = reveal.and_then(|f| f.q50.get_mut(c)) {
                *slot = v;
            }
        }
        Tamper::Truncate(r, e, n) => {
            let reveal = ledger
                .rounds
                .get_mut(r)
                .and_then(|r| r.entries.get_mut(e))
                .and_then(|x| x.reveal.as_mut());
            if let Some(f) = reveal {
                f.q90.truncate(n);
            }
        }
        Tamper::StartStep(r, s) => {
            if let Some(round) = ledger.rounds.get_mut(r) {
                round.challenge.start_step = s;
            }
        }
        Tamper::Horizon(r, h) => {
            if let Some(round) = ledger.rounds.get_mut(r) {
                round.challenge.horizon = h;
            }
        }
        Tamper::Duplicate(r, e) => {
            if let Some(round) = ledger.rounds.get_mut(r)
                && let Some(x) = round.entries.get(e).cloned()
            {
                round.entries.push(x);
            }
        }
        Tamper::DropRound(r) => {
            if r < ledger.rounds.len() {
                ledger.rounds.remove(r);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The audit consumes ledgers nobody vouches for: however one is tampered with (and
    /// re-signed by its validator), the audit answers with a report, never an error or a
    /// panic, and an untampered honest validator stays unflagged.
    #[test]
    fn tampered_ledgers_never_break_the_audit(tampers in prop::collection::vec(tamper(), 1..6)) {
        let (spec, world, roster, validator, ledger, block) = small_subnet();
        let honest = ledger.clone().sign(&validator).unwrap();
        let weights = {
            let mut book = ScoreBook::new();
            for round in &ledger.rounds {
                if round_is_due(&spec, &round.challenge, block) {
                    book.update(&spec.scoring, &score_round(&spec, world.panel(), round, Some(&roster)).unwrap());
                }
            }
            to_u16(&book.weights(&spec.scoring))
        };
        let mut tampered = ledger;
        let other = Keypair::from_mini_secret([98; 32]);
        tampered.validator = other.public();
        for t in &tampers {
            apply(&mut tampered, t);
        }
        let tampered = tampered.sign(&other).unwrap();
        let chain = [
            ChainWeights { validator: validator.public(), set_at_block: block, weights: weights.clone() },
            ChainWeights { validator: other.public(), set_at_block: block, weights },
        ];
        let report = audit(&spec, &world, Some(&roster), &[honest, tampered], &chain);
        prop_assert!(report.is_ok(), "{:?}", report);
        let report = report.unwrap();
        prop_assert!(!report.validators[0].flagged(), "{:?}", report.validators[0]);
    }
}
