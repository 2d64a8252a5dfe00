//! The roles end to end: miners answer through [`ForecastMiner`], a validator runs through
//! [`ForecastValidator`] block by block, and the audit agrees with the weights it sets.

use tao_keys::Keypair;
use tao_primitives::{Hash256, NetUid, Uid};
use tao_subnet_forecast::audit::{self, ChainWeights, Flag, audit};
use tao_subnet_forecast::ledger::Roster;
use tao_subnet_forecast::node::{ForecastMiner, ForecastValidator};
use tao_subnet_forecast::score::{ScoreBook, to_u16};
use tao_subnet_forecast::strategy::{StrategyConfig, StrategyKind, build};
use tao_subnet_forecast::{Error, ForecastSpec, World};

const NETUID: NetUid = NetUid(3);

#[test]
fn validator_state_machine_matches_the_audit() {
    let spec = ForecastSpec::default();
    let kinds = [
        StrategyKind::Naive,
        StrategyKind::Seasonal,
        StrategyKind::Ar,
        StrategyKind::Random,
    ];
    let keys: Vec<Keypair> = (0..kinds.len())
        .map(|i| Keypair::from_mini_secret([i as u8 + 40; 32]))
        .collect();
    let mut miners: Vec<ForecastMiner> = kinds
        .iter()
        .zip(&keys)
        .map(|(kind, key)| {
            let strategy = build(&StrategyConfig {
                kind: *kind,
                ..StrategyConfig::default()
            });
            ForecastMiner::new(spec.clone(), NETUID, key.clone(), strategy).unwrap()
        })
        .collect();
    let roster: Roster = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (Uid(i as u16), k.public()))
        .collect();
    let validator_key = Keypair::from_mini_secret([77; 32]);
    let mut validator =
        ForecastValidator::new(spec.clone(), NETUID, validator_key.public()).unwrap();
    let mut world = World::new(spec.world.clone()).unwrap();
    let mut scored_rounds = 0;
    // Weights computed just before a round fell due, and the block it fell due at.
    let mut computed_before_due = None;
    for block in 0..150u64 {
        assert_eq!(world.next_block().unwrap(), block);
        world
            .extend(&Hash256::blake2(&block.to_le_bytes()))
            .unwrap();
        let before = validator.weights();
        let newly_scored = validator
            .score_due(&world, block, Some(&roster))
            .unwrap()
            .len();
        if newly_scored > 0 && scored_rounds >= 4 && computed_before_due.is_none() {
            computed_before_due = Some((before, block));
        }
        scored_rounds += newly_scored;
        if block % 10 != 0 {
            continue;
        }
        let challenge = match validator.challenge(block) {
            Err(Error::HistoryTooShort { .. }) => continue,
            other => other.unwrap(),
        };
        for (uid, miner) in miners.iter_mut().enumerate() {
            let answer = miner.answer(&world, &challenge).unwrap();
            // The AR miner's answer arrives a block late: too late only if that block already
            // drives the first target step — with lead 1 it does not.
            let arrival = if uid == 2 { block + 1 } else { block };
            validator.receive(Uid(uid as u16), answer, arrival).unwrap();
        }
    }
    assert!(scored_rounds >= 6, "rounds scored {scored_rounds}");
    let weights = validator.weights();
    assert_eq!(
        weights.iter().map(|(u, _)| u.0).collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
    assert!(
        weights[2].1 > weights[1].1 && weights[1].1 > 0.0,
        "{weights:?}"
    );
    // Naive is the baseline (exactly 0); random guesses can beat it in a lucky round, by little.
    assert_eq!(weights[0].1, 0.0);
    assert!(weights[3].1 < 0.01, "{weights:?}");

    // The book survives a JSON round trip (validators persist it).
    let text = serde_json::to_string(validator.book()).unwrap();
    assert_eq!(
        &serde_json::from_str::<ScoreBook>(&text).unwrap(),
        validator.book()
    );

    let chain = [ChainWeights {
        validator: validator_key.public(),
        set_at_block: 149,
        weights: to_u16(&weights),
    }];
    let ledger = validator.signed_ledger(&validator_key).unwrap();
    let report = audit(
        &spec,
        &world,
        Some(&roster),
        std::slice::from_ref(&ledger),
        &chain,
    )
    .unwrap();
    assert!(
        !report.validators[0].flagged(),
        "{:?}",
        report.validators[0]
    );
    assert_eq!(report.validators[0].rounds.len(), scored_rounds);

    // Weights computed a block before a round fell due and included three blocks later (the
    // round fell due in between) are the validator's honest weights: the audit replays the
    // inclusion window and does not flag them.
    let (early, due_at) = computed_before_due.unwrap();
    assert!(
        audit::distance(&early, &weights) > 1e-3,
        "the round changed nothing"
    );
    let late_inclusion = [ChainWeights {
        validator: validator_key.public(),
        set_at_block: due_at + 3,
        weights: to_u16(&early),
    }];
    let report = audit(
        &spec,
        &world,
        Some(&roster),
        std::slice::from_ref(&ledger),
        &late_inclusion,
    )
    .unwrap();
    assert!(
        !report.validators[0].flagged() && report.validators[0].distance < 1e-3,
        "{:?}",
        report.validators[0]
    );

    // The validator's whole state survives JSON (it is saved between runs); pruning keeps
    // the rounds not scored yet; the published ledger holds only rounds already due.
    let text = serde_json::to_string(&validator).unwrap();
    let mut restored: ForecastValidator = serde_json::from_str(&text).unwrap();
    assert_eq!(restored.weights(), validator.weights());
    let unscored = validator.ledger().rounds.len() - scored_rounds;
    assert!(unscored > 0);
    restored.prune(2);
    assert_eq!(restored.ledger().rounds.len(), 2 + unscored);
    assert_eq!(restored.weights(), validator.weights());
    let published = validator.published_ledger(149);
    assert_eq!(published.rounds.len(), scored_rounds);
    assert!(
        published
            .rounds
            .iter()
            .all(|r| audit::round_is_due(&spec, &r.challenge, 149))
    );

    // A ledger crafted to break the audit (a round the spec cannot issue, far beyond the
    // world) is flagged, not obeyed.
    let mut crafted = ledger.ledger.clone();
    crafted.rounds[0].challenge.horizon = 256;
    let crafted = crafted.sign(&validator_key).unwrap();
    let report = audit(&spec, &world, Some(&roster), &[crafted], &chain).unwrap();
    assert!(matches!(
        report.validators[0].flags[..],
        [Flag::MalformedLedger { .. }]
    ));

    // A miner for another subnet refuses the challenge.
    let mut stranger = ForecastMiner::new(
        spec.clone(),
        NetUid(9),
        keys[0].clone(),
        build(&StrategyConfig::default()),
    )
    .unwrap();
    let challenge = *validator
        .ledger()
        .rounds
        .last()
        .map(|r| &r.challenge)
        .unwrap();
    assert!(matches!(
        stranger.answer(&world, &challenge),
        Err(Error::WrongChallenge { .. })
    ));
}
