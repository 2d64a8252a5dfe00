//! Benchmarks of the SDK (table and reproducing command in the crate README):
//!
//! * `metagraph_sync/{256,4096}`: the client's part of a sync — decoding the node's
//!   `subnetInfo_getMetagraph` JSON and building the [`Metagraph`] (hotkey index included).
//! * `validator_round/256_miners`: one round against 256 template-style axons in this
//!   process, from the first query to the weight row ready to send (the subnet's scoring is
//!   timed separately by the round report and printed).
//! * `miner_request/{bare_axon,sdk_miner}`: one request through a bare axon and through the
//!   SDK miner's axon (stake view, permit and stake admission, context), sequentially.

#![allow(missing_docs)] // criterion_group! generates an undocumented `benches` function

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tao_axon::demo::Dummy;
use tao_axon::{Axon, AxonConfig, Dendrite, Handler};
use tao_sdk::{
    Metagraph, MinerConfig, MinerContext, Rng, SharedMetagraph, Subnet, Target, WeightLimits,
    miner_axon, query_round, weights_from_scores,
};
use tao_types::views::MetagraphView;

struct Double;

impl Subnet for Double {
    type Synapse = Dummy;
    type Truth = i64;

    async fn answer(&self, mut request: Dummy, _miner: &MinerContext) -> Result<Dummy, String> {
        request.dummy_output = Some(request.dummy_input * 2);
        Ok(request)
    }

    fn challenge(&self, _target: &Target, rng: &mut Rng) -> (Dummy, i64) {
        let input = rng.below(1 << 40) as i64;
        let request = Dummy {
            dummy_input: input,
            dummy_output: None,
        };
        (request, input * 2)
    }

    fn score(&self, truth: &i64, answer: &Dummy) -> f64 {
        f64::from(u8::from(answer.dummy_output == Some(*truth)))
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

fn metagraph_sync(c: &mut Criterion) {
    let mut group = c.benchmark_group("metagraph_sync");
    for n in [256u16, 4096] {
        let json = common::metagraph_json(n);
        group.bench_function(n.to_string(), |b| {
            b.iter(|| {
                let view: MetagraphView = serde_json::from_str(black_box(&json)).expect("a view");
                black_box(Metagraph::from_views(view, None))
            })
        });
    }
    group.finish();
}

async fn serve(index: usize, sdk: Option<&SharedMetagraph>) -> tao_axon::AxonHandle {
    let config = AxonConfig {
        bind: "127.0.0.1:0".parse().expect("an address"),
        rate_limit: None,
        ..AxonConfig::default()
    };
    let axon = match sdk {
        Some(graph) => {
            let miner = MinerConfig {
                bind: config.bind,
                rate_limit: None,
                ..MinerConfig::default()
            };
            miner_axon(Arc::new(Double), common::key(index), &miner, graph)
        }
        None => {
            let mut axon = Axon::new(common::key(index), config);
            axon.attach(Handler::<Dummy>::forward(|mut s, _| async move {
                s.dummy_output = Some(s.dummy_input * 2);
                Ok(s)
            }));
            axon
        }
    };
    axon.serve().await.expect("an axon")
}

fn validator_round(c: &mut Criterion) {
    let rt = runtime();
    let (graph, _axons) = rt.block_on(async {
        let mut axons = Vec::new();
        let mut neurons = vec![common::neuron(0, common::key(0).public(), true, None)];
        for uid in 1..=256u16 {
            let handle = serve(usize::from(uid), None).await;
            let port = handle.local_addr().port();
            neurons.push(common::neuron(
                uid,
                common::key(usize::from(uid)).public(),
                false,
                Some(port),
            ));
            axons.push(handle);
        }
        (common::graph(neurons), axons)
    });
    let targets = common::miner_targets(&graph);
    let dendrite = Dendrite::new(common::key(0));
    let limits = WeightLimits {
        n: 257,
        min_allowed_weights: 1,
        max_weight_limit: u16::MAX,
    };
    let mut rng = Rng::seeded(1);
    let mut scoring = Duration::ZERO;
    let mut rounds = 0u32;
    c.bench_function("validator_round/256_miners", |b| {
        b.iter(|| {
            rt.block_on(async {
                let report = query_round(
                    &Double,
                    &dendrite,
                    &graph,
                    &targets,
                    &mut rng,
                    Duration::from_secs(5),
                )
                .await;
                assert_eq!(report.answered, 256);
                scoring += report.scoring_time;
                rounds += 1;
                black_box(weights_from_scores(&report.scores, limits).expect("weights"))
            })
        })
    });
    eprintln!(
        "validator_round/256_miners: the subnet's scoring took {:.1} µs per round (included above)",
        scoring.as_secs_f64() * 1e6 / f64::from(rounds.max(1))
    );
}

fn miner_request(c: &mut Criterion) {
    let rt = runtime();
    let graph = SharedMetagraph::new(Arc::new(common::graph(vec![
        common::neuron(0, common::key(0).public(), false, None),
        common::neuron(1, common::key(1).public(), true, None),
    ])));
    let (bare, sdk) = rt.block_on(async { (serve(0, None).await, serve(0, Some(&graph)).await) });
    let dendrite = Dendrite::new(common::key(1));
    let mut group = c.benchmark_group("miner_request");
    for (name, handle) in [("bare_axon", &bare), ("sdk_miner", &sdk)] {
        let target = handle.target();
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let request = Dummy {
                        dummy_input: 21,
                        dummy_output: None,
                    };
                    let answer = dendrite
                        .call(&target, request, Duration::from_secs(5))
                        .await;
                    assert_eq!(answer.status_code, 200, "{}", answer.status_message);
                })
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = metagraph_sync, validator_round, miner_request
}
criterion_main!(benches);
