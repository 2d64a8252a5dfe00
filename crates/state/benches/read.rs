//! Read API benchmarks: `cargo bench -p tao-state --bench read`.
//!
//! A 256-uid subnet in a [`MemoryStore`] where every hotkey has a share pool with two
//! nominators, 64 validators weight and bond every uid, and half the neurons serve an axon.
//! Targets: `metagraph` (what `tao subnets metagraph` serves) ≤ 5 ms, well inside the 100 ms
//! the command must answer in; `neurons` (with weights, bonds and nominators) ≤ 20 ms.

#![allow(missing_docs)] // criterion_group! generates an undocumented `benches` function

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tao_primitives::{AccountId, NetUid, Uid};
use tao_state::overlay::Overlay;
use tao_state::read;
use tao_state::schema::{
    Bonds, Chain, ChainInfo, Economy, Endpoint, HotkeyOwner, HotkeyPools, Hparams, Neuron, Neurons,
    SharePool, StakeIndex, StakeShares, SubnetEconomy, SubnetInfo, Subnets, UidOf, Weights,
};
use tao_state::store::MemoryStore;
use tao_types::params::Hyperparams;

/// The allocator the `tao` binary runs with (ADR 010), so that the numbers are the node's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const N: u16 = 256;
const VALIDATORS: u16 = 64;
const NETUID: NetUid = NetUid(1);

fn account(tag: u8, index: u16) -> AccountId {
    let mut bytes = [tag; 32];
    bytes[..2].copy_from_slice(&index.to_be_bytes());
    AccountId(bytes)
}

fn subnet() -> MemoryStore {
    let mut store = MemoryStore::default();
    let mut state = Overlay::new(&store);
    state.put::<Chain>(
        &(),
        &ChainInfo {
            height: 10_000,
            ..ChainInfo::default()
        },
    );
    state.put::<Subnets>(
        &NETUID,
        &SubnetInfo {
            owner_coldkey: account(1, 0),
            owner_hotkey: account(2, 0),
            n: N,
            ..SubnetInfo::default()
        },
    );
    state.put::<Hparams>(&NETUID, &Hyperparams::default());
    state.put::<SubnetEconomy>(
        &NETUID,
        &Economy {
            tao_reserve_rao: 1 << 40,
            alpha_reserve: 1 << 42,
            ..Economy::default()
        },
    );
    for uid in 0..N {
        let (hotkey, owner, nominator) = (account(2, uid), account(1, uid), account(3, uid));
        let axon = (uid % 2 == 0).then(|| Endpoint {
            ip: u128::from(0x0a00_0000u32 + u32::from(uid)),
            port: 8_091,
            ip_type: 4,
            ..Endpoint::default()
        });
        state.put::<Neurons>(
            &(NETUID, Uid(uid)),
            &Neuron {
                hotkey,
                axon,
                validator_permit: uid < VALIDATORS,
                ..Neuron::default()
            },
        );
        state.put::<UidOf>(&(NETUID, hotkey), &Uid(uid));
        state.put::<HotkeyOwner>(&hotkey, &owner);
        let alpha = 1_000_000_000 * (u64::from(uid) + 1);
        state.put::<HotkeyPools>(
            &(NETUID, hotkey),
            &SharePool {
                alpha: 2 * alpha,
                total_shares: u128::from(2 * alpha) << 32,
            },
        );
        for coldkey in [owner, nominator] {
            state.put::<StakeShares>(&(NETUID, hotkey, coldkey), &(u128::from(alpha) << 32));
            state.put::<StakeIndex>(&(coldkey, hotkey, NETUID), &());
        }
        if uid < VALIDATORS {
            let row: Vec<(u16, u16)> = (0..N).map(|j| (j, j.wrapping_mul(257))).collect();
            state.put::<Weights>(&(NETUID, Uid(uid)), &row);
            state.put::<Bonds>(&(NETUID, Uid(uid)), &row);
        }
    }
    let (changes, _) = state.into_changes().unwrap();
    store.apply(&changes);
    store
}

fn bench_read(c: &mut Criterion) {
    let store = subnet();
    let mut group = c.benchmark_group("read_256_uids");
    group.bench_function("metagraph", |b| {
        b.iter(|| read::metagraph(black_box(&store), NETUID).unwrap())
    });
    group.bench_function("neurons", |b| {
        b.iter(|| read::neurons(black_box(&store), NETUID).unwrap())
    });
    group.bench_function("metagraph_json", |b| {
        b.iter(|| serde_json::to_vec(&read::metagraph(black_box(&store), NETUID).unwrap()).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench_read);
criterion_main!(benches);
