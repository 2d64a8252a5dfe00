//! Forecast subnet benchmarks: `cargo bench -p tao-subnet-forecast --bench forecast`.
//!
//! * `world/step` — one step of the default 8-series world from a block hash;
//!   `world/recompute_1000` — a history of 1000 steps from scratch.
//! * `miner/<strategy>` — one forecast (fit + calibration + 12 steps × 8 series) from 512
//!   steps of history, per strategy.
//! * `validator/round_<n>` — scoring one round of `n` miners from a signed ledger
//!   (signatures, digests, truth, baseline, reference model, skill, plagiarism); divide by `n`
//!   for the cost per miner.

#![allow(missing_docs)] // criterion_group! generates an undocumented `benches` function

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use tao_keys::Keypair;
use tao_primitives::{Hash256, NetUid, Uid};
use tao_subnet_forecast::ledger::{Ledger, SignedCommitment};
use tao_subnet_forecast::score::score_round;
use tao_subnet_forecast::strategy::{self, StrategyConfig, StrategyKind};
use tao_subnet_forecast::{Challenge, ForecastSpec, World};

/// The allocator the `tao` binary runs with (ADR 010).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const NETUID: NetUid = NetUid(1);

fn hashes(n: u64) -> Vec<Hash256> {
    (0..n).map(|t| Hash256::blake2(&t.to_le_bytes())).collect()
}

fn world_benches(c: &mut Criterion) {
    let spec = ForecastSpec::default();
    let hashes = hashes(1000);
    let small = World::from_hashes(spec.world.clone(), &hashes[..16]).unwrap();
    c.bench_function("world/step", |b| {
        b.iter_batched(
            || small.clone(),
            |mut world| {
                world.extend(black_box(&hashes[16])).unwrap();
                world
            },
            BatchSize::SmallInput,
        )
    });
    c.bench_function("world/recompute_1000", |b| {
        b.iter(|| World::from_hashes(spec.world.clone(), black_box(&hashes)).unwrap())
    });
}

fn miner_benches(c: &mut Criterion) {
    let spec = ForecastSpec::default();
    let world = World::from_hashes(spec.world.clone(), &hashes(512)).unwrap();
    let challenge = Challenge::at_block(&spec, NETUID, 511).unwrap();
    for kind in StrategyKind::ALL {
        let mut miner = strategy::build(&StrategyConfig {
            kind,
            ..StrategyConfig::default()
        });
        c.bench_function(&format!("miner/{}", kind.name()), |b| {
            b.iter(|| {
                miner
                    .forecast(&spec.world, world.panel(), black_box(&challenge))
                    .unwrap()
            })
        });
    }
}

fn validator_benches(c: &mut Criterion) {
    let spec = ForecastSpec::default();
    let world = World::from_hashes(spec.world.clone(), &hashes(530)).unwrap();
    let challenge = Challenge::at_block(&spec, NETUID, 511).unwrap();
    let history = world.panel().prefix(512);
    let kinds = [
        StrategyKind::Seasonal,
        StrategyKind::Ar,
        StrategyKind::Random,
        StrategyKind::Learned,
    ];
    for miners in [16usize, 64] {
        let mut ledger = Ledger::new(NETUID, Keypair::from_mini_secret([0; 32]).public());
        ledger.open_round(challenge).unwrap();
        for i in 0..miners {
            // Distinct seeds and windows so that nobody is a copy.
            let config = StrategyConfig {
                kind: kinds[i % kinds.len()],
                seed: i as u64,
                seasons: 1 + i % 3,
                ..StrategyConfig::default()
            };
            let forecast = strategy::build(&config)
                .forecast(&spec.world, history, &challenge)
                .unwrap();
            let key = Keypair::from_mini_secret([i as u8 + 1; 32]);
            let commitment = SignedCommitment::create(&key, NETUID, &forecast);
            ledger
                .record_answer(Uid(i as u16), commitment, forecast, 511)
                .unwrap();
        }
        let round = &ledger.rounds[0];
        c.bench_function(&format!("validator/round_{miners}"), |b| {
            b.iter(|| score_round(&spec, world.panel(), black_box(round), None).unwrap())
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = world_benches, miner_benches, validator_benches
}
criterion_main!(benches);
