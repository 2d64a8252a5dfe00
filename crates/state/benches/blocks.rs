//! Block execution benchmarks: `cargo bench -p tao-state --bench blocks`.
//!
//! * `transfers/10000`: one block of 10 000 signed transfers from distinct senders, signatures
//!   batch-verified (target ≥ 10 000 transfers per second per core).
//! * `set_weights/1000`: one block of 1 000 `set_weights` by 64 validators of a 256-uid
//!   subnet, each weighting all 191 miners.
//! * `epochs/32x256`, `epochs/128x256`: one block in which 32 or 128 subnets of 256 uids (64
//!   validators weighting every miner, bonds from a previous epoch) all run their epoch
//!   (target for 128: ≤ 100 ms).
//! * `sr25519_verify`: the bare signature check, for the fraction reported in the README.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::Duration;

/// The allocator the `tao` binary runs with (ADR 010), so that the numbers are the node's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{Criterion, criterion_group, criterion_main};
use tao_keys::Keypair;
use tao_primitives::{AccountId, NetUid, Uid};
use tao_state::block::{Header, execute_block};
use tao_state::calls;
use tao_state::ctx::Ctx;
use tao_state::overlay::Overlay;
use tao_state::schema::{Globals, Hparams, Neurons, SubnetEconomy, Weights};
use tao_state::spec::{ChainSpec, genesis_store};
use tao_state::store::MemoryStore;
use tao_types::params::{GlobalParams, Hyperparams};
use tao_types::tx::{Call, Mortality, SignedTx, UnsignedTx};

const TAO: u64 = 1_000_000_000;
const N: u16 = 256;
const VALIDATORS: u16 = 64;

fn pair(tag: u8, index: u32) -> Keypair {
    let mut seed = [tag; 32];
    seed[..4].copy_from_slice(&index.to_le_bytes());
    Keypair::from_mini_secret(seed)
}

fn account(pair: &Keypair) -> AccountId {
    AccountId(pair.public().to_bytes())
}

fn spec(funded: &[Keypair]) -> ChainSpec {
    let mut spec = ChainSpec::local();
    // The transfer block (10 000 transfers weigh 0.52 s) is bigger than the default weight
    // budget allows; it is kept at that size to compare with earlier runs.
    spec.globals.max_block_weight = tao_types::params::MAX_BLOCK_WEIGHT;
    spec.balances
        .extend(funded.iter().map(|p| (p.public().to_ss58(), 1_000 * TAO)));
    spec
}

fn sign(pair: &Keypair, nonce: u64, call: Call, genesis: &tao_primitives::Hash256) -> SignedTx {
    let tx = UnsignedTx {
        signer: account(pair),
        nonce,
        mortality: Mortality {
            birth: 1,
            period: 4096,
        },
        call,
    };
    let signature = pair.sign(&tx.signing_payload(genesis)).to_bytes();
    SignedTx { tx, signature }
}

fn header(store: &MemoryStore) -> Header {
    let chain = Overlay::new(store)
        .get::<tao_state::schema::Chain>(&())
        .unwrap()
        .unwrap();
    Header {
        height: chain.height + 1,
        timestamp_ms: (chain.height + 1) * 1000,
        author: None,
    }
}

fn bench_transfers(c: &mut Criterion) {
    let senders: Vec<Keypair> = (0..10_000).map(|i| pair(1, i)).collect();
    let (store, genesis) = genesis_store(&spec(&senders)).unwrap();
    let dest = account(&pair(2, 0));
    let txs: Vec<SignedTx> = senders
        .iter()
        .map(|p| {
            sign(
                p,
                0,
                Call::Transfer {
                    dest,
                    amount_rao: TAO,
                },
                &genesis.genesis_hash,
            )
        })
        .collect();
    let mut group = c.benchmark_group("block");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("transfers/10000", |b| {
        b.iter(|| execute_block(&store, &header(&store), black_box(&txs)).unwrap())
    });
    group.finish();
}

/// Writes `subnets` subnets of 256 uids with 64 staked validators weighting every miner.
fn populated(subnets: u16, validators: &[Keypair]) -> MemoryStore {
    let (mut store, _) = genesis_store(&spec(validators)).unwrap();
    let mut state = Overlay::new(&store);
    let mut globals: GlobalParams = state.get::<Globals>(&()).unwrap().unwrap();
    globals.subnet_limit = 1_000;
    globals.max_epochs_per_block = subnets.max(64);
    state.put::<Globals>(&(), &globals);
    let mut ctx = Ctx::new(state, 0, None, globals);
    let owner = AccountId([9; 32]);
    ctx.credit(&owner, 1_000_000 * TAO).unwrap();
    let first_new = ctx
        .state
        .scan::<tao_state::schema::Subnets>(&())
        .unwrap()
        .len() as u16;
    for s in 0..subnets {
        let netuid = NetUid(first_new + s);
        let mut hotkey = [0u8; 32];
        hotkey[..2].copy_from_slice(&netuid.0.to_le_bytes());
        calls::subnets::register_network(&mut ctx, &owner, &AccountId(hotkey), None).unwrap();
        let params = Hyperparams {
            max_allowed_uids: N,
            weights_rate_limit: 0,
            commit_reveal_enabled: false,
            tempo: 100,
            ..Hyperparams::default()
        };
        ctx.state.put::<Hparams>(&netuid, &params);
        for uid in 1..N {
            let hotkey = if uid <= VALIDATORS {
                account(&validators[usize::from(uid - 1)])
            } else {
                account(&pair(3, u32::from(uid)))
            };
            calls::registration::put_neuron(&mut ctx, netuid, Uid(uid), &hotkey, &owner).unwrap();
        }
        for uid in 0..N {
            let mut neuron = ctx
                .state
                .get::<Neurons>(&(netuid, Uid(uid)))
                .unwrap()
                .unwrap();
            neuron.validator_permit = uid <= VALIDATORS;
            neuron.registered_at = 0;
            let hotkey = neuron.hotkey;
            ctx.state.put::<Neurons>(&(netuid, Uid(uid)), &neuron);
            if (1..=VALIDATORS).contains(&uid) {
                let row: Vec<(u16, u16)> = (VALIDATORS + 1..N)
                    .map(|m| (m, 1 + (m * 97 + uid * 31) % 65_000))
                    .collect();
                ctx.state.put::<Weights>(&(netuid, Uid(uid)), &row);
                tao_state::stake::deposit(
                    &mut ctx.state,
                    netuid,
                    &hotkey,
                    &owner,
                    1_000 * TAO + u64::from(uid),
                )
                .unwrap();
                let mut economy = ctx.state.get::<SubnetEconomy>(&netuid).unwrap().unwrap();
                economy.alpha_out += 1_000 * TAO + u64::from(uid);
                ctx.state.put::<SubnetEconomy>(&netuid, &economy);
            }
        }
        let mut info = ctx.subnet(netuid).unwrap();
        info.first_emission_block = Some(1);
        ctx.state.put::<tao_state::schema::Subnets>(&netuid, &info);
    }
    // Start well after genesis so epochs can be scheduled a full tempo back.
    let mut chain = ctx.chain().unwrap();
    chain.height = 1_000;
    chain.timestamp_ms = 1_000_000;
    ctx.state.put::<tao_state::schema::Chain>(&(), &chain);
    let (state, _) = ctx.into_parts();
    let (changes, _) = state.into_changes().unwrap();
    store.apply(&changes);
    store
}

fn bench_set_weights(c: &mut Criterion) {
    let validators: Vec<Keypair> = (0..u32::from(VALIDATORS)).map(|i| pair(4, i)).collect();
    let store = populated(1, &validators);
    let genesis = Overlay::new(&store)
        .get::<tao_state::schema::Chain>(&())
        .unwrap()
        .unwrap()
        .genesis_hash;
    let netuid = NetUid(3);
    let uids: Vec<u16> = (VALIDATORS + 1..N).collect();
    let txs: Vec<SignedTx> = (0..1_000u64)
        .map(|i| {
            let validator = &validators[(i % u64::from(VALIDATORS)) as usize];
            let values: Vec<u16> = uids
                .iter()
                .map(|u| 1 + (u64::from(*u) * 7 + i) as u16 % 1000)
                .collect();
            let call = Call::SetWeights {
                netuid,
                uids: uids.clone(),
                values,
                version_key: 0,
            };
            sign(validator, i / u64::from(VALIDATORS), call, &genesis)
        })
        .collect();
    let outcome = execute_block(&store, &header(&store), &txs).unwrap();
    assert!(
        outcome.receipts.iter().all(|r| r.result.is_ok()),
        "{:?}",
        outcome.receipts.iter().find(|r| r.result.is_err())
    );
    let mut group = c.benchmark_group("block");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("set_weights/1000", |b| {
        b.iter(|| execute_block(&store, &header(&store), black_box(&txs)).unwrap())
    });
    group.finish();
}

fn bench_epochs(c: &mut Criterion) {
    for subnets in [32, 128] {
        bench_epochs_of(c, subnets);
    }
}

/// One block in which `subnets` subnets run their epochs.
fn bench_epochs_of(c: &mut Criterion, subnets: u16) {
    let validators: Vec<Keypair> = (0..u32::from(VALIDATORS)).map(|i| pair(5, i)).collect();
    let mut store = populated(subnets, &validators);
    // Run one round of epochs so bonds exist, then make every subnet due in the same block.
    let due = |store: &MemoryStore| {
        let mut state = Overlay::new(store);
        let height = state
            .get::<tao_state::schema::Chain>(&())
            .unwrap()
            .unwrap()
            .height;
        for (netuid, mut economy) in state.scan::<SubnetEconomy>(&()).unwrap() {
            if netuid != NetUid::ROOT {
                economy.last_epoch_block = (height + 1).saturating_sub(100);
                state.put::<SubnetEconomy>(&netuid, &economy);
            }
        }
        state.into_changes().unwrap().0
    };
    let changes = due(&store);
    store.apply(&changes);
    let outcome = execute_block(&store, &header(&store), &[]).unwrap();
    let epochs = outcome
        .block_events
        .iter()
        .filter(|e| matches!(e, tao_types::events::Event::EpochRun { .. }))
        .count();
    assert!(epochs >= usize::from(subnets), "{epochs} epochs ran");
    store.apply(&outcome.changes);
    let changes = due(&store);
    store.apply(&changes);
    let mut group = c.benchmark_group("block");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function(format!("epochs/{subnets}x256"), |b| {
        b.iter(|| execute_block(&store, &header(&store), &[]).unwrap())
    });
    group.finish();
}

fn bench_verify(c: &mut Criterion) {
    let signer = pair(6, 0);
    let message = [7u8; 160];
    let signature = signer.sign(&message);
    let public = signer.public();
    c.bench_function("sr25519_verify", |b| {
        b.iter(|| tao_keys::verify(&public, black_box(&message), &signature))
    });
}

criterion_group!(
    benches,
    bench_verify,
    bench_transfers,
    bench_set_weights,
    bench_epochs
);
criterion_main!(benches);
