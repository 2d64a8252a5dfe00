//! The axon under attack (issue 13): each test replays one denial-of-service attack measured on
//! the axon and asserts on what an honest caller, or the attacker, sees. No timing assertions:
//! read timeouts below only keep a test from hanging when a defence is missing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use tao_axon::signing::{new_uuid, now_ns};
use tao_axon::{AllowList, AxonConfig, AxonTarget, Dendrite, PreparedRequest};
use tao_keys::Keypair;

const T: Duration = Duration::from_secs(12);

fn dummy(n: i64) -> Dummy {
    Dummy {
        dummy_input: n,
        dummy_output: None,
    }
}

fn key(name: &str) -> Keypair {
    Keypair::from_uri(&format!("//{name}")).unwrap()
}

/// A request from `keypair` with its own fresh client uuid, as a flood of new clients sends.
fn from_new_client(keypair: Keypair, target: &AxonTarget) -> PreparedRequest {
    Dendrite::with_identity(keypair, "127.0.0.1", new_uuid())
        .prepare(target, &dummy(1), 12.0)
        .unwrap()
}

// ---- Hole 2: nonce table exhaustion ------------------------------------------------------

/// The measured attack: one unregistered key sends signed requests from many fresh uuids. It
/// is refused (403) and leaves nothing in the nonce table, so the honest validator still gets
/// in.
#[tokio::test]
async fn an_unregistered_key_cannot_fill_the_nonce_table() {
    let config = AxonConfig {
        max_nonce_entries: 32,
        ..local_config()
    };
    let list = AllowList([(vali().public(), 10.0)].into_iter().collect());
    let axon = start(config, |a| {
        a.stake_view(Arc::new(list));
    })
    .await;
    let attacker = key("Mallory");
    for _ in 0..200 {
        let reply = send_raw(&from_new_client(attacker.clone(), &axon.target())).await;
        assert_eq!(reply.status, 403, "{}", reply.message());
    }
    let honest = Dendrite::new(vali())
        .call(&axon.target(), dummy(2), T)
        .await;
    assert_eq!(honest.status_code, 200, "{}", honest.status_message);
}

/// An admitted key (an open axon: no stake view) flooding fresh uuids only fills its own share
/// of the table; a new honest client is still served.
#[tokio::test]
async fn one_key_flooding_fresh_uuids_cannot_lock_out_a_new_client() {
    let config = AxonConfig {
        max_nonce_entries: 256,
        rate_limit: None,
        ..local_config()
    };
    let axon = start(config, |_| {}).await;
    let attacker = key("Mallory");
    for _ in 0..600 {
        let reply = send_raw(&from_new_client(attacker.clone(), &axon.target())).await;
        assert!([200, 401].contains(&reply.status), "{}", reply.message());
    }
    let honest = Dendrite::new(vali())
        .call(&axon.target(), dummy(2), T)
        .await;
    assert_eq!(honest.status_code, 200, "{}", honest.status_message);
}

/// Many admitted keys (free keys against an open axon, or registered low-stake keys) fill the
/// table: the oldest of the least-staked entries make room, so a newcomer, and above all a
/// validator with stake, is still served.
#[tokio::test]
async fn a_full_table_still_admits_a_staked_newcomer() {
    let keys: Vec<Keypair> = (0..300).map(|i| key(&format!("flood{i}"))).collect();
    let mut stakes: std::collections::HashMap<_, _> =
        keys.iter().map(|k| (k.public(), 1.0)).collect();
    stakes.insert(vali().public(), 1_000.0);
    let config = AxonConfig {
        max_nonce_entries: 64,
        rate_limit: None,
        ..local_config()
    };
    let axon = start(config, |a| {
        a.stake_view(Arc::new(AllowList(stakes)));
    })
    .await;
    for k in &keys {
        let reply = send_raw(&from_new_client(k.clone(), &axon.target())).await;
        assert!([200, 401].contains(&reply.status), "{}", reply.message());
    }
    let honest = Dendrite::new(vali())
        .call(&axon.target(), dummy(2), T)
        .await;
    assert_eq!(honest.status_code, 200, "{}", honest.status_message);
}

/// A nonce far in the future would keep its entry alive past every window; it is refused.
#[tokio::test]
async fn a_far_future_nonce_is_401() {
    let axon = start(local_config(), |_| {}).await;
    let d = Dendrite::new(vali());
    let future = d
        .prepare_with_nonce(
            &axon.target(),
            &dummy(1),
            12.0,
            now_ns() + 3_600_000_000_000,
        )
        .unwrap();
    let reply = send_raw(&future).await;
    assert_eq!(reply.status, 401, "{}", reply.message());
    assert!(
        reply.message().contains("too far in the future"),
        "{}",
        reply.message()
    );
}
