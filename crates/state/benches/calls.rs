//! What the calls whose work grows with the state cost: `cargo bench -p tao-state --bench calls`.
//!
//! * `remove_subnet/{n}uids_{v}validators_{p}positions`: the one-shot dissolution the chain ran
//!   before ADR 017 (`remove_subnet_at_once`): every stake position paid out and every record
//!   deleted in one call.
//! * `cleanup_step/…`: one block's step of the incremental dissolution that replaced it,
//!   bounded by its share of the block weight budget whatever the subnet's size.
//! * `kinds/{kind}`: one call of each kind on a 256-uid subnet (`tao_types::metering`).
//! * `register_full/{n}`: a burned registration into a full subnet (the uid to replace is
//!   chosen among all neurons).
//! * `unstake_all/{s}`: one coldkey's position on one hotkey sold on `s` subnets.
//!
//! Each iteration runs the call on a fresh overlay of the same store (nothing is committed).

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

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tao_primitives::{AccountId, NetUid, Uid};
use tao_state::calls;
use tao_state::ctx::Ctx;
use tao_state::overlay::Overlay;
use tao_state::schema::{Bonds, Globals, Hparams, SubnetEconomy, Weights};
use tao_state::spec::{ChainSpec, genesis_store};
use tao_state::store::{ChangeSet, MemoryStore};
use tao_types::params::{GlobalParams, Hyperparams};

const TAO: u64 = 1_000_000_000;

/// A distinct account for each `(tag, index)`.
fn key(tag: u8, index: u32) -> AccountId {
    let mut bytes = [tag; 32];
    bytes[..4].copy_from_slice(&index.to_le_bytes());
    AccountId(bytes)
}

const OWNER: u8 = 1;
const HOTKEY: u8 = 2;
const STAKER: u8 = 3;

/// A context over a fresh overlay of `store`, at a height past every immunity period.
fn ctx(store: &MemoryStore) -> Ctx<'_> {
    let state = Overlay::new(store);
    let globals: GlobalParams = state.get::<Globals>(&()).unwrap().unwrap();
    Ctx::new(state, 1_000_000, None, globals)
}

/// What `ctx` changed, to apply to its store.
fn changes(ctx: Ctx<'_>) -> ChangeSet {
    let (state, _) = ctx.into_parts();
    state.into_changes().unwrap().0
}

/// A chain with room for `subnets` new subnets and an owner rich enough to lock them all.
fn chain(subnets: u16) -> MemoryStore {
    let (mut store, _) = genesis_store(&ChainSpec::local()).unwrap();
    let mut ctx = ctx(&store);
    let mut globals = ctx.globals.clone();
    globals.subnet_limit = subnets.saturating_add(8);
    globals.network_rate_limit = 0;
    globals.start_call_delay = 0;
    ctx.state.put::<Globals>(&(), &globals);
    ctx.credit(&key(OWNER, 0), 100_000_000 * TAO).unwrap();
    let changes = changes(ctx);
    store.apply(&changes);
    store
}

/// Registers a subnet of `n` neurons whose first `validators` weight every uid and hold a
/// bond to each, with `positions` stake positions spread over the neurons' hotkeys.
fn subnet(store: &mut MemoryStore, tag: u32, n: u16, validators: u16, positions: u32) -> NetUid {
    let mut ctx = ctx(store);
    let owner = key(OWNER, 0);
    let before: Vec<NetUid> = subnet_ids(&ctx);
    // The lock cost doubles with each registration; a benchmark chain registers many.
    let mut chain = ctx.chain().unwrap();
    chain.last_lock_rao = 0;
    ctx.state.put::<tao_state::schema::Chain>(&(), &chain);
    calls::subnets::register_network(&mut ctx, &owner, &key(HOTKEY, tag << 16), None).unwrap();
    let netuid = *subnet_ids(&ctx)
        .iter()
        .find(|id| !before.contains(id))
        .unwrap();
    let params = Hyperparams {
        max_allowed_uids: n,
        immunity_period: 0,
        ..Hyperparams::default()
    };
    ctx.state.put::<Hparams>(&netuid, &params);
    for uid in 1..n {
        let hotkey = key(HOTKEY, (tag << 16) | u32::from(uid));
        calls::registration::put_neuron(&mut ctx, netuid, Uid(uid), &hotkey, &owner).unwrap();
    }
    let row: Vec<(u16, u16)> = (0..n).map(|m| (m, 1 + m % 60_000)).collect();
    for uid in 0..validators {
        ctx.state.put::<Weights>(&(netuid, Uid(uid)), &row);
        ctx.state.put::<Bonds>(&(netuid, Uid(uid)), &row);
    }
    let mut staked = 0;
    for p in 0..positions {
        let uid = p % u32::from(n);
        let hotkey = key(HOTKEY, (tag << 16) | uid);
        tao_state::stake::deposit(&mut ctx.state, netuid, &hotkey, &key(STAKER, p), TAO).unwrap();
        staked += TAO;
    }
    let mut economy = ctx.state.get::<SubnetEconomy>(&netuid).unwrap().unwrap();
    economy.alpha_out += staked;
    ctx.state.put::<SubnetEconomy>(&netuid, &economy);
    let changes = changes(ctx);
    store.apply(&changes);
    netuid
}

fn subnet_ids(ctx: &Ctx<'_>) -> Vec<NetUid> {
    ctx.state
        .scan::<tao_state::schema::Subnets>(&())
        .unwrap()
        .into_iter()
        .map(|(netuid, _)| netuid)
        .collect()
}

fn bench_remove_subnet(c: &mut Criterion) {
    let mut group = c.benchmark_group("remove_subnet");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for (n, validators, positions) in [
        (256, 64, 1_000),
        (4_096, 256, 10_000),
        (4_096, 1_024, 100_000),
    ] {
        let mut store = chain(1);
        let netuid = subnet(&mut store, 0, n, validators, positions);
        let id = format!("{n}uids_{validators}validators_{positions}positions");
        group.bench_function(BenchmarkId::from_parameter(id), |b| {
            b.iter(|| {
                let mut ctx = ctx(&store);
                calls::subnets::remove_subnet_at_once(&mut ctx, black_box(netuid)).unwrap();
                ctx
            })
        });
    }
    group.finish();
}

fn bench_register_full(c: &mut Criterion) {
    let mut group = c.benchmark_group("register_full");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    for n in [256, 4_096] {
        let mut store = chain(1);
        let netuid = subnet(&mut store, 0, n, 0, 0);
        let coldkey = key(OWNER, 0);
        let newcomer = key(HOTKEY, u32::MAX);
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                let mut ctx = ctx(&store);
                calls::registration::burned_register(
                    &mut ctx,
                    &coldkey,
                    netuid,
                    &newcomer,
                    u64::MAX,
                )
                .unwrap();
                ctx
            })
        });
    }
    group.finish();
}

fn bench_unstake_all(c: &mut Criterion) {
    let mut group = c.benchmark_group("unstake_all");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let subnets = 128;
    let mut store = chain(subnets);
    let coldkey = key(STAKER, 0);
    // The first subnet's owner hotkey, registered everywhere it is needed: on every subnet.
    let hotkey = key(HOTKEY, 1 << 16);
    for tag in 0..u32::from(subnets) {
        let netuid = subnet(&mut store, tag + 1, 2, 0, 0);
        let mut ctx = ctx(&store);
        ctx.credit(&coldkey, 10 * TAO).unwrap();
        calls::subnets::start_call(&mut ctx, &key(OWNER, 0), netuid).unwrap();
        calls::staking::add_stake(&mut ctx, &coldkey, &hotkey, netuid, TAO, None).unwrap();
        let changes = changes(ctx);
        store.apply(&changes);
    }
    group.bench_function(BenchmarkId::from_parameter(subnets), |b| {
        b.iter(|| {
            let mut ctx = ctx(&store);
            calls::staking::unstake_all(&mut ctx, &coldkey, &hotkey).unwrap();
            ctx
        })
    });
    group.finish();
}

/// One call of each kind whose work does not grow with the state (or grows with the call's
/// own rows), dispatched on a fresh overlay of a 256-uid started subnet, including the
/// lattice-root work of its writes (`into_changes`): the per-kind part of the weights in
/// `tao_types::metering`.
fn bench_kinds(c: &mut Criterion) {
    use tao_types::tx::{Call, HyperparamValue};
    let mut group = c.benchmark_group("kinds");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    let mut store = chain(2);
    let netuid = subnet(&mut store, 0, 256, 0, 0);
    let owner = key(OWNER, 0);
    let owner_hotkey = key(HOTKEY, 0);
    let staker = key(STAKER, 0);
    {
        let mut ctx = ctx(&store);
        calls::subnets::start_call(&mut ctx, &owner, netuid).unwrap();
        let mut params = ctx.hparams(netuid).unwrap();
        params.commit_reveal_enabled = false;
        ctx.state.put::<Hparams>(&netuid, &params);
        ctx.credit(&staker, 1_000 * TAO).unwrap();
        calls::staking::add_stake(&mut ctx, &staker, &owner_hotkey, netuid, 100 * TAO, None)
            .unwrap();
        let mut globals = ctx.globals.clone();
        globals.sudo = Some(owner);
        ctx.state.put::<Globals>(&(), &globals);
        let changes = changes(ctx);
        store.apply(&changes);
    }
    let row =
        |len: u16| -> (Vec<u16>, Vec<u16>) { ((0..len).collect(), vec![100; usize::from(len)]) };
    let (uids16, values16) = row(16);
    let (uids256, values256) = row(256);
    let (uids4096, values4096) = row(4_096);
    let big = subnet(&mut store, 1, 4_096, 0, 0);
    let big_hotkey = key(HOTKEY, 1 << 16);
    {
        let mut ctx = ctx(&store);
        let mut params = ctx.hparams(big).unwrap();
        params.commit_reveal_enabled = false;
        ctx.state.put::<Hparams>(&big, &params);
        let changes = changes(ctx);
        store.apply(&changes);
    }
    let globals: GlobalParams = Overlay::new(&store).get::<Globals>(&()).unwrap().unwrap();
    let cases: Vec<(&str, AccountId, Call)> = vec![
        (
            "transfer",
            staker,
            Call::Transfer {
                dest: key(STAKER, 9),
                amount_rao: TAO,
            },
        ),
        (
            "transfer_all",
            staker,
            Call::TransferAll {
                dest: key(STAKER, 9),
            },
        ),
        (
            "add_stake",
            staker,
            Call::AddStake {
                hotkey: owner_hotkey,
                netuid,
                amount_rao: TAO,
                limit: None,
            },
        ),
        (
            "remove_stake",
            staker,
            Call::RemoveStake {
                hotkey: owner_hotkey,
                netuid,
                alpha: TAO,
                limit: None,
            },
        ),
        (
            "move_stake",
            staker,
            Call::MoveStake {
                origin_hotkey: owner_hotkey,
                dest_hotkey: key(HOTKEY, 1),
                origin_netuid: netuid,
                dest_netuid: netuid,
                alpha: TAO,
            },
        ),
        (
            "swap_stake",
            staker,
            Call::SwapStake {
                hotkey: owner_hotkey,
                origin_netuid: netuid,
                dest_netuid: NetUid::ROOT,
                alpha: TAO,
                limit: None,
            },
        ),
        (
            "transfer_stake",
            staker,
            Call::TransferStake {
                dest_coldkey: key(STAKER, 9),
                hotkey: owner_hotkey,
                origin_netuid: netuid,
                dest_netuid: netuid,
                alpha: TAO,
            },
        ),
        (
            "unstake_all_1",
            staker,
            Call::UnstakeAll {
                hotkey: owner_hotkey,
            },
        ),
        (
            "register_network",
            owner,
            Call::RegisterNetwork {
                hotkey: key(HOTKEY, 77 << 16),
                identity: None,
            },
        ),
        (
            "set_hyperparam",
            owner,
            Call::SetHyperparam {
                netuid,
                value: HyperparamValue::Kappa(10),
            },
        ),
        (
            "sudo_set_globals",
            owner,
            Call::SudoSetGlobals {
                params: globals.clone(),
            },
        ),
        (
            "burned_register_not_full",
            owner,
            Call::BurnedRegister {
                netuid,
                hotkey: key(HOTKEY, 99),
                limit_rao: u64::MAX,
            },
        ),
        (
            "serve_axon",
            owner_hotkey,
            Call::ServeAxon {
                netuid,
                version: 1,
                ip: 0x0808_0808,
                port: 8091,
                ip_type: 4,
                protocol: 4,
            },
        ),
        (
            "decrease_take",
            owner,
            Call::DecreaseTake {
                hotkey: owner_hotkey,
                take: 1,
            },
        ),
        (
            "set_weights_16",
            owner_hotkey,
            Call::SetWeights {
                netuid,
                uids: uids16,
                values: values16,
                version_key: 0,
            },
        ),
        (
            "set_weights_256",
            owner_hotkey,
            Call::SetWeights {
                netuid,
                uids: uids256,
                values: values256,
                version_key: 0,
            },
        ),
        (
            "set_weights_4096",
            big_hotkey,
            Call::SetWeights {
                netuid: big,
                uids: uids4096,
                values: values4096,
                version_key: 0,
            },
        ),
    ];
    for (name, signer, call) in cases {
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                let mut ctx = ctx(&store);
                let result = calls::dispatch(&mut ctx, &signer, black_box(&call));
                assert!(
                    result.is_ok() || name == "burned_register_not_full",
                    "{name}: {result:?}"
                );
                changes(ctx)
            })
        });
    }
    group.finish();
}

/// One block's cleanup step of a dissolved subnet (ADR 017), whatever its size: the first
/// block (positions) and, for a subnet without positions, the rows.
fn bench_cleanup_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("cleanup_step");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    for (n, validators, positions) in [
        (256, 64, 1_000),
        (4_096, 256, 10_000),
        (4_096, 1_024, 100_000),
        (4_096, 4_096, 0),
    ] {
        let mut store = chain(1);
        let netuid = subnet(&mut store, 0, n, validators, positions);
        let mut begun = ctx(&store);
        tao_state::cleanup::begin(&mut begun, netuid).unwrap();
        let queued = changes(begun);
        store.apply(&queued);
        let id = format!("{n}uids_{validators}validators_{positions}positions");
        group.bench_function(BenchmarkId::from_parameter(id), |b| {
            b.iter(|| {
                let mut ctx = ctx(&store);
                let used = tao_state::cleanup::step(&mut ctx).unwrap();
                assert!(used > 0);
                changes(ctx)
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_kinds,
    bench_cleanup_step,
    bench_remove_subnet,
    bench_register_full,
    bench_unstake_all
);
criterion_main!(benches);
