//! A simulated subnet: synthetic block hashes drive the world, miners of every strategy
//! answer each round, three validators record signed ledgers and score them, one more
//! validator pushes a favoured miner, and the audit replays it all.
//!
//! Shows: true skill is ordered as the models' quality (learned ≈ ar > seasonal > naive = 0,
//! random ≈ 0), the copier is zeroed by the plagiarism check, the weights follow, and the
//! audit flags the dishonest validators and no honest one.

use std::sync::{Arc, Mutex};

use tao_keys::Keypair;
use tao_primitives::{Hash256, NetUid, Uid};
use tao_subnet_forecast::audit::{ChainWeights, Flag, audit, favour, round_is_due};
use tao_subnet_forecast::ledger::{Ledger, Roster, SignedCommitment, SignedLedger, Verdict};
use tao_subnet_forecast::score::{MinerScore, ScoreBook, score_round, to_u16, truth};
use tao_subnet_forecast::strategy::{
    self, ArConfig, Copier, Strategy, StrategyConfig, StrategyKind,
};
use tao_subnet_forecast::{Challenge, Forecast, ForecastSpec, World};

const NETUID: NetUid = NetUid(7);
/// Steps simulated, first challenge, steps between challenges.
const STEPS: u64 = 264;
const WARMUP: u64 = 96;
const EVERY: u64 = 12;

struct Miner {
    uid: Uid,
    key: Keypair,
    label: &'static str,
    strategy: Box<dyn Strategy>,
}

fn hash(t: u64) -> Hash256 {
    Hash256::blake2(&[b"simulated block ".as_slice(), &t.to_le_bytes()].concat())
}

fn config(kind: StrategyKind) -> StrategyConfig {
    StrategyConfig {
        kind,
        ..StrategyConfig::default()
    }
}

/// The seven miners of the main run.
fn seven() -> Vec<(&'static str, StrategyConfig)> {
    let second_ar = StrategyConfig {
        ar: ArConfig {
            lags: 3,
            window_steps: 96,
            harmonics: 1,
            ..ArConfig::default()
        },
        ..config(StrategyKind::Ar)
    };
    vec![
        ("naive", config(StrategyKind::Naive)),
        ("seasonal", config(StrategyKind::Seasonal)),
        ("ar", config(StrategyKind::Ar)),
        ("ar-small", second_ar),
        ("learned", config(StrategyKind::Learned)),
        ("random", config(StrategyKind::Random)),
        ("copier", config(StrategyKind::Copier)),
    ]
}

/// Build the miners; a copier copies the miner labelled `ar` through `shared`.
fn miners(
    configs: Vec<(&'static str, StrategyConfig)>,
    shared: &Arc<Mutex<Option<Forecast>>>,
) -> Vec<Miner> {
    configs
        .into_iter()
        .enumerate()
        .map(|(i, (label, config))| {
            let strategy: Box<dyn Strategy> = if config.kind == StrategyKind::Copier {
                let shared = shared.clone();
                let source = move |_: &Challenge| shared.lock().ok().and_then(|f| f.clone());
                Box::new(Copier::with_jitter(source, 1e-4))
            } else {
                strategy::build(&config)
            };
            Miner {
                uid: Uid(i as u16),
                key: Keypair::from_mini_secret([i as u8 + 1; 32]),
                label,
                strategy,
            }
        })
        .collect()
}

struct Run {
    labels: Vec<&'static str>,
    /// Per round, per uid.
    scores: Vec<Vec<MinerScore>>,
    ledgers: Vec<SignedLedger>,
    validator_keys: Vec<Keypair>,
    world: World,
    roster: Roster,
    spec: ForecastSpec,
}

fn simulate(configs: Vec<(&'static str, StrategyConfig)>) -> Run {
    simulate_in(ForecastSpec::default(), configs)
}

fn simulate_in(spec: ForecastSpec, configs: Vec<(&'static str, StrategyConfig)>) -> Run {
    let shared = Arc::new(Mutex::new(None));
    let mut miners = miners(configs, &shared);
    let roster: Roster = miners.iter().map(|m| (m.uid, m.key.public())).collect();
    let validator_keys: Vec<Keypair> = (0..3u8)
        .map(|i| Keypair::from_mini_secret([100 + i; 32]))
        .collect();
    let mut ledgers: Vec<Ledger> = validator_keys
        .iter()
        .map(|k| Ledger::new(NETUID, k.public()))
        .collect();
    let mut world = World::new(spec.world.clone()).unwrap();
    for t in 0..STEPS {
        world.extend(&hash(t)).unwrap();
        // Block t is finalized (one step per block from block 0).
        if t < WARMUP || !(t - WARMUP).is_multiple_of(EVERY) {
            continue;
        }
        let challenge = Challenge::at_block(&spec, NETUID, t).unwrap();
        if challenge.last_step() >= STEPS {
            continue;
        }
        ledgers
            .iter_mut()
            .for_each(|l| l.open_round(challenge).unwrap());
        for miner in &mut miners {
            let forecast = miner
                .strategy
                .forecast(world.spec(), world.panel(), &challenge)
                .unwrap();
            if miner.label == "ar" {
                *shared.lock().unwrap() = Some(forecast.clone());
            }
            let commitment = SignedCommitment::create(&miner.key, NETUID, &forecast);
            // Every answer arrives while block t is the latest: before block t + 2 drives
            // the first target step. Arrival order = uid order (the copier comes last).
            for ledger in &mut ledgers {
                ledger
                    .record_answer(miner.uid, commitment.clone(), forecast.clone(), t)
                    .unwrap();
            }
        }
    }
    let ledgers: Vec<SignedLedger> = ledgers
        .into_iter()
        .zip(&validator_keys)
        .map(|(l, k)| l.sign(k).unwrap())
        .collect();
    let scores = ledgers[0]
        .ledger
        .rounds
        .iter()
        .map(|round| score_round(&spec, world.panel(), round, Some(&roster)).unwrap())
        .collect();
    Run {
        labels: miners.iter().map(|m| m.label).collect(),
        scores,
        ledgers,
        validator_keys,
        world,
        roster,
        spec,
    }
}

/// Share of the truths inside `[q10, q90]` of miner `uid`'s forecasts over all rounds.
fn coverage(run: &Run, uid: usize) -> f64 {
    let (mut inside, mut total) = (0usize, 0usize);
    for round in &run.ledgers[0].ledger.rounds {
        let truth = truth(run.world.panel(), &round.challenge).unwrap();
        let forecast = round.entries[uid].reveal.as_ref().unwrap();
        for ((y, lo), hi) in truth.iter().zip(&forecast.q10).zip(&forecast.q90) {
            inside += usize::from(lo <= y && y <= hi);
            total += 1;
        }
    }
    inside as f64 / total as f64
}

fn mean_skill(run: &Run, uid: usize) -> f64 {
    run.scores.iter().map(|round| round[uid].skill).sum::<f64>() / run.scores.len() as f64
}

/// The weights a validator sets at `block` from the rounds then due.
fn weights_of(run: &Run, ledger: &SignedLedger, block: u64) -> Vec<(Uid, f64)> {
    let mut book = ScoreBook::new();
    let due = ledger
        .ledger
        .rounds
        .iter()
        .filter(|r| round_is_due(&run.spec, &r.challenge, block));
    for round in due {
        let scores = score_round(&run.spec, run.world.panel(), round, Some(&run.roster)).unwrap();
        book.update(&run.spec.scoring, &scores);
    }
    book.weights(&run.spec.scoring)
}

#[test]
fn skill_ranks_strategies_copier_is_zeroed_and_the_audit_flags_cheating_validators() {
    let run = simulate(seven());
    assert!(run.scores.len() >= 12, "rounds {}", run.scores.len());
    let skill: Vec<f64> = (0..run.labels.len()).map(|u| mean_skill(&run, u)).collect();
    for (label, s) in run.labels.iter().zip(&skill) {
        println!("{label:>9}: true skill {s:.3}");
    }
    let [naive, seasonal, ar, ar_small, learned, random, _] = skill[..] else {
        panic!("seven miners")
    };

    // Quality order. Naive is the baseline itself: exactly 0 every round.
    assert!(run.scores.iter().all(|round| round[0].skill == 0.0));
    assert_eq!(naive, 0.0);
    assert!(seasonal > 0.15, "seasonal {seasonal}");
    assert!(ar > seasonal + 0.1, "ar {ar} vs seasonal {seasonal}");
    assert!(
        ar_small > seasonal,
        "ar-small {ar_small} vs seasonal {seasonal}"
    );
    assert!(learned > ar - 0.03, "learned {learned} vs ar {ar}");
    assert!(random < 0.02, "random {random}");

    // Honest models that differ are not copies; the copier is, every round.
    for round in &run.scores {
        for honest in &round[..6] {
            assert_eq!(honest.copied_from, None, "{honest:?}");
            assert_eq!(honest.verdict, Verdict::Counted);
        }
        let copier = &round[6];
        assert_eq!(copier.copied_from, Some(Uid(2)));
        assert_eq!(copier.score, 0.0);
        assert!(copier.skill > 0.0, "the copy itself is good");
    }

    // Quantiles are calibrated-ish: the 10–90 % band of each honest model holds roughly 80 %
    // of the truths (the models are fitted on the errors' period too, so a little narrow).
    for (uid, label) in [(0, "naive"), (1, "seasonal"), (2, "ar"), (4, "learned")] {
        let share = coverage(&run, uid);
        println!("{label:>9}: 10-90 % band coverage {share:.3}");
        assert!((0.6..=0.95).contains(&share), "{label} coverage {share}");
    }

    // Weights follow skill; cheats get nothing.
    let end = STEPS - 1;
    let weights = weights_of(&run, &run.ledgers[0], end);
    let w = |uid: usize| weights[uid].1;
    assert_eq!((w(0), w(5), w(6)), (0.0, 0.0, 0.0));
    assert!(w(2) > w(1) && w(4) > w(1) && w(3) > w(1) && w(1) > 0.0);

    // Three honest validators set their weights at the end; a fourth pushes the random miner.
    let mut ledgers = run.ledgers.clone();
    let mut chain: Vec<ChainWeights> = ledgers
        .iter()
        .map(|l| ChainWeights {
            validator: l.ledger.validator,
            set_at_block: end,
            weights: to_u16(&weights_of(&run, l, end)),
        })
        .collect();
    let dishonest = Keypair::from_mini_secret([200; 32]);
    let mut copy = run.ledgers[0].ledger.clone();
    copy.validator = dishonest.public();
    ledgers.push(copy.sign(&dishonest).unwrap());
    chain.push(ChainWeights {
        validator: dishonest.public(),
        set_at_block: end,
        weights: to_u16(&favour(&weights, Uid(5), 0.3)),
    });
    // A fifth validator suppresses the learned miner's entries and weights consistently.
    let suppressor = Keypair::from_mini_secret([201; 32]);
    let mut doctored = run.ledgers[1].ledger.clone();
    doctored.validator = suppressor.public();
    doctored
        .rounds
        .iter_mut()
        .for_each(|r| r.entries.retain(|e| e.uid != Uid(4)));
    let doctored = doctored.sign(&suppressor).unwrap();
    chain.push(ChainWeights {
        validator: suppressor.public(),
        set_at_block: end,
        weights: to_u16(&weights_of(&run, &doctored, end)),
    });
    ledgers.push(doctored);
    // A sixth publishes no ledger.
    chain.push(ChainWeights {
        validator: Keypair::from_mini_secret([202; 32]).public(),
        set_at_block: end,
        weights: to_u16(&weights),
    });

    let due_rounds = run.ledgers[0]
        .ledger
        .rounds
        .iter()
        .filter(|r| round_is_due(&run.spec, &r.challenge, end))
        .count();
    assert!(due_rounds + 2 >= run.scores.len());
    let report = audit(&run.spec, &run.world, Some(&run.roster), &ledgers, &chain).unwrap();
    let table = report.to_string();
    println!("{table}");
    assert_eq!(table.lines().count(), 1 + chain.len());
    assert_eq!(table.matches("FLAGGED").count(), 3);
    for honest in &report.validators[..3] {
        assert!(!honest.flagged(), "{honest:?}");
        assert!(
            honest.distance < 1e-4,
            "only u16 rounding: {}",
            honest.distance
        );
        assert_eq!(honest.rounds.len(), due_rounds);
    }
    assert!(matches!(
        report.validators[3].flags[..],
        [Flag::WeightsDeviate { distance }] if distance > 0.25
    ));
    assert!(matches!(
        report.validators[4].flags[..],
        [Flag::SuppressedEntries { suppressed, .. }] if suppressed == due_rounds
    ));
    assert_eq!(report.validators[5].flags, vec![Flag::NoLedger]);
    assert!(
        tao_subnet_forecast::audit::distance(&report.honest, &weights) < 1e-9,
        "the honest consensus is the honest validators' vector"
    );

    // Rounds are due only once the last target block and the reveal grace have passed.
    let last = &run.ledgers[0].ledger.rounds.last().unwrap().challenge;
    let due = run.spec.world.block_of_step(last.last_step()).unwrap() + 12;
    assert!(!round_is_due(&run.spec, last, due - 1));
    assert!(round_is_due(&run.spec, last, due));
    let _ = &run.validator_keys;
}

/// The process test's line-up — several miners per strategy, differing in their knobs —
/// must not trip the plagiarism check among honest miners (except naive ones, which are all
/// the baseline itself and earn nothing anyway), while the copier still does.
#[test]
fn honest_variants_are_not_copies() {
    let ar = |lags, window_steps, harmonics| StrategyConfig {
        ar: ArConfig {
            lags,
            window_steps,
            harmonics,
            ..ArConfig::default()
        },
        ..config(StrategyKind::Ar)
    };
    let learned = |seed, window_steps| StrategyConfig {
        seed,
        ar: ArConfig {
            window_steps,
            ..ArConfig::default()
        },
        ..config(StrategyKind::Learned)
    };
    let seasonal = |seasons| StrategyConfig {
        seasons,
        ..config(StrategyKind::Seasonal)
    };
    let run = simulate(vec![
        ("naive", config(StrategyKind::Naive)),
        ("seasonal-1", seasonal(1)),
        ("seasonal-2", seasonal(2)),
        ("seasonal-3", seasonal(3)),
        ("ar", ar(2, 512, 2)),
        ("ar-3", ar(3, 128, 2)),
        ("ar-1", ar(1, 256, 1)),
        ("learned-1", learned(1, 512)),
        ("learned-2", learned(2, 160)),
        ("learned-3", learned(3, 224)),
        ("random", config(StrategyKind::Random)),
        ("copier", config(StrategyKind::Copier)),
    ]);
    for (uid, label) in run.labels.iter().enumerate() {
        let rounds = run.scores.len() as f64;
        let skill = run.scores.iter().map(|r| r[uid].skill).sum::<f64>() / rounds;
        let copied = run
            .scores
            .iter()
            .filter(|r| r[uid].copied_from.is_some())
            .count();
        println!("{label:>10}: true skill {skill:.3}, flagged as a copy in {copied} rounds");
    }
    for round in &run.scores {
        for honest in &round[1..10] {
            assert_eq!(
                honest.copied_from, None,
                "{}: {honest:?}",
                run.labels[honest.uid.0 as usize]
            );
        }
        assert_eq!(round[11].copied_from, Some(Uid(4)));
    }
}

/// The same order in a world whose season is the weekly shape of US births (7 steps, not a
/// sine): persistence loses to every model of the season, modelling beats copying the last
/// season.
#[test]
fn births_season_keeps_the_order() {
    let spec = ForecastSpec {
        world: tao_subnet_forecast::WorldSpec::births_weekly(),
        ..ForecastSpec::default()
    };
    let run = simulate_in(spec, seven());
    let skill: Vec<f64> = (0..run.labels.len()).map(|u| mean_skill(&run, u)).collect();
    for (label, s) in run.labels.iter().zip(&skill) {
        println!("{label:>9}: true skill {s:.3} (births season)");
    }
    let [naive, seasonal, ar, _, learned, random, _] = skill[..] else {
        panic!("seven miners")
    };
    assert_eq!(naive, 0.0);
    assert!(seasonal > 0.1, "seasonal {seasonal}");
    assert!(
        ar > seasonal && learned > seasonal,
        "ar {ar}, learned {learned}, seasonal {seasonal}"
    );
    assert!(random < 0.02, "random {random}");
    assert!(run.scores.iter().all(|round| round[6].score == 0.0));
}
