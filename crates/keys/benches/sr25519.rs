//! sr25519 throughput on one core: sign, verify, and deterministic batch verification of 64.
//!
//! `CARGO_TARGET_DIR=/work/target-keys taskset -c 0 cargo bench -p tao-keys --bench sr25519`

#![allow(missing_docs)] // criterion_group! generates an undocumented `benches` function

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tao_keys::{
    Keypair, PublicKey, Signature, VerifyingKey, verify, verify_batch, verify_batch_prepared,
};

/// A 128-byte message, about the size of a signed transaction payload.
fn message(i: u8) -> Vec<u8> {
    (0..128u8)
        .map(|j| j.wrapping_mul(31).wrapping_add(i))
        .collect()
}

fn bench(c: &mut Criterion) {
    let pairs: Vec<Keypair> = (0u8..64)
        .map(|i| Keypair::from_mini_secret([i; 32]))
        .collect();
    let messages: Vec<Vec<u8>> = (0u8..64).map(message).collect();
    let signed: Vec<(PublicKey, &[u8], Signature)> = pairs
        .iter()
        .zip(&messages)
        .map(|(pair, msg)| (pair.public(), msg.as_slice(), pair.sign(msg)))
        .collect();

    let mut group = c.benchmark_group("sr25519");
    group.throughput(Throughput::Elements(1));
    let alice = &pairs[0];
    let msg = messages[0].as_slice();
    group.bench_function("sign", |b| b.iter(|| alice.sign(black_box(msg))));
    let (public, _, sig) = signed[0];
    group.bench_function("verify", |b| {
        b.iter(|| verify(black_box(&public), black_box(msg), black_box(&sig)))
    });
    let Ok(prepared_key) = VerifyingKey::new(&public) else {
        return;
    };
    group.bench_function("verify_prepared", |b| {
        b.iter(|| black_box(&prepared_key).verify(black_box(msg), black_box(&sig)))
    });
    let prepared: Vec<(VerifyingKey, &[u8], Signature)> = signed
        .iter()
        .filter_map(|(public, msg, sig)| Some((VerifyingKey::new(public).ok()?, *msg, *sig)))
        .collect();
    group.throughput(Throughput::Elements(64));
    group.bench_function("verify_batch_64", |b| {
        b.iter(|| verify_batch(black_box(&signed)))
    });
    group.bench_function("verify_batch_64_prepared", |b| {
        b.iter(|| verify_batch_prepared(black_box(&prepared)))
    });
    group.bench_function("verify_64_one_by_one", |b| {
        b.iter(|| {
            signed
                .iter()
                .all(|(public, msg, sig)| verify(black_box(public), msg, sig))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
