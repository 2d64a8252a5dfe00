//! Epoch benchmarks: `cargo bench -p tao-yuma --bench epoch`.
//!
//! Subnets of n neurons where every validator weights every miner, with the bonds of a
//! previous epoch over the same weights, for both bond models and liquid alpha off and on;
//! `,moved` rows change the weights after that epoch, so that about half the bonds lead their
//! weights (liquid alpha's expensive case). The plain rows run each epoch in a new
//! [`Workspace`] (its allocations included); `,reused` rows keep one between epochs, as
//! [`epoch`] does per thread and a node does. Targets (one core): ≤ 1 ms for n = 256; for
//! n = 4096, ≤ 50 ms with liquid alpha off and ≤ 60 ms with it on.

#![allow(missing_docs)] // criterion_group! generates an undocumented `benches` function

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use tao_primitives::I64F64;
use tao_yuma::{EpochInput, EpochParams, Workspace, epoch};

/// The allocator the `tao` binary runs with (ADR 010), so that the numbers are the node's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Deterministic pseudo-random u16 for cell (i, j) (SplitMix64 finaliser).
fn cell(i: usize, j: usize) -> u16 {
    let mut z = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (j as u64).wrapping_add(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as u16
}

/// Weight rows of `validators` validators (uids `0..validators`) weighting every miner.
fn weights(n: usize, validators: usize, seed: usize) -> Vec<Vec<(u16, u16)>> {
    (0..n)
        .map(|i| {
            if i < validators {
                (validators..n)
                    .map(|j| (j as u16, cell(i.wrapping_add(seed), j)))
                    .collect()
            } else {
                Vec::new()
            }
        })
        .collect()
}

/// A subnet with `validators` validators weighting every miner, with the bonds of an
/// earlier epoch over the same weights (`moved: false`; every bond then trails its weight)
/// or over other weights (`moved: true`; about half the bonds lead theirs, and liquid alpha
/// computes its sigmoid for each of those).
fn subnet(n: usize, validators: usize, yuma3: bool, liquid_alpha: bool, moved: bool) -> EpochInput {
    let mut input = EpochInput {
        params: EpochParams {
            yuma3,
            liquid_alpha,
            max_allowed_validators: validators as u16,
            ..EpochParams::default()
        },
        current_block: 1_000,
        last_tempo_block: 640,
        emission: 1_000_000_000,
        owner_uid: None,
        stake: (0..n)
            .map(|i| {
                I64F64::from_num(if i < validators {
                    1_000 + u64::from(cell(i, 0))
                } else {
                    0
                })
            })
            .collect(),
        last_update: vec![999; n],
        block_at_registration: vec![0; n],
        validator_permit: (0..n).map(|i| i < validators).collect(),
        weights: weights(n, validators, 0),
        bonds: vec![Vec::new(); n],
        weight_commit_blocks: None,
    };
    let warm = epoch(&input).expect("valid benchmark input");
    input.bonds = warm.bonds;
    if moved {
        input.weights = weights(n, validators, 7);
    }
    input
}

fn bench_epoch(c: &mut Criterion) {
    let mut group = c.benchmark_group("epoch");
    for (n, validators) in [(256, 64), (1024, 256), (4096, 1024)] {
        for (model, yuma3) in [("yuma3", true), ("original", false)] {
            for (liquid_alpha, moved) in [(false, false), (true, false), (true, true)] {
                if liquid_alpha && !yuma3 {
                    continue; // liquid alpha only exists for Yuma 3 bonds
                }
                let input = subnet(n, validators, yuma3, liquid_alpha, moved);
                let id = format!(
                    "{model}{}{}/n={n},v={validators}",
                    if liquid_alpha { "+liquid" } else { "" },
                    if moved { ",moved" } else { "" }
                );
                if n >= 4096 || liquid_alpha {
                    group.sample_size(10).measurement_time(Duration::from_secs(
                        if liquid_alpha && n >= 1024 { 30 } else { 8 },
                    ));
                } else {
                    group
                        .sample_size(30)
                        .measurement_time(Duration::from_secs(5));
                }
                group.bench_with_input(BenchmarkId::from_parameter(&id), &input, |b, input| {
                    b.iter(|| {
                        Workspace::default()
                            .epoch(black_box(input))
                            .expect("valid benchmark input")
                    })
                });
                if !liquid_alpha {
                    // What a node does: keep one workspace across epochs.
                    let mut workspace = Workspace::default();
                    group.bench_with_input(
                        BenchmarkId::from_parameter(format!("{id},reused")),
                        &input,
                        |b, input| {
                            b.iter(|| {
                                workspace
                                    .epoch(black_box(input))
                                    .expect("valid benchmark input")
                            })
                        },
                    );
                }
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench_epoch);
criterion_main!(benches);
