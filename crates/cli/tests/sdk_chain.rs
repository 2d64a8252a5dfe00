//! `tao-sdk` against a real node (`tao node --dev`): burned registration with a price limit
//! (refused above it, typed final error when already registered), `serve_axon` and its
//! record, an unknown subnet, a metagraph with weight and bond matrices, `watch()`
//! following finalized heads, and a validator round with a sampled miner set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use common::{Env, free_port, start_node, wait_for_node};
use tao_sdk::{
    AxonEndpoint, Chain, ChainConfig, Metagraph, SdkError, Validator, ValidatorConfig,
    metagraph::watch,
};
use tao_subnet_template::{Behaviour, Template};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_registers_serves_and_syncs_against_a_node() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let node = start_node(&data.path().join("node"), port);
    let env = Env {
        wallets: tempfile::tempdir().unwrap(),
        logs: tempfile::tempdir().unwrap(),
        network: format!("ws://127.0.0.1:{port}"),
    };
    let netuid: u16 = tokio::task::block_in_place(|| {
        wait_for_node(&env);
        let netuid = common::subnet(&env);
        common::funded_wallet(&env, "neuron", "100");
        for i in 0..3 {
            let name = format!("miner{i}");
            common::funded_wallet(&env, &name, "10");
            env.json(&["register", "--netuid", &netuid, "--wallet.name", &name]);
        }
        netuid.parse().unwrap()
    });
    let wallet = tao_wallet::Wallet::new(env.wallets.path(), "neuron").unwrap();
    let coldkey = wallet
        .coldkey(|| Err(tao_wallet::WalletError::PasswordRequired))
        .unwrap();
    let hotkey = wallet
        .hotkey("default", || Err(tao_wallet::WalletError::PasswordRequired))
        .unwrap();

    let chain = Chain::connect(ChainConfig {
        endpoint: env.network.clone(),
        ..ChainConfig::default()
    })
    .await
    .unwrap();
    assert!(matches!(
        chain.hyperparams(99).await,
        Err(SdkError::NoSuchSubnet(99))
    ));

    // Registration: refused above the limit, then done, then a final chain error.
    let refused = chain
        .burned_register(&coldkey, &hotkey.public(), netuid, 1)
        .await;
    assert!(
        matches!(refused, Err(SdkError::BurnAboveLimit { limit_rao: 1, .. })),
        "{refused:?}"
    );
    let uid = chain
        .burned_register(&coldkey, &hotkey.public(), netuid, u64::MAX)
        .await
        .unwrap();
    let again = chain
        .burned_register(&coldkey, &hotkey.public(), netuid, u64::MAX)
        .await;
    match again {
        Err(SdkError::Chain { call, error }) => {
            assert_eq!(call, "burned_register");
            assert_eq!(
                error,
                tao_types::error::TxError::HotKeyAlreadyRegisteredInSubNet
            );
        }
        other => panic!("expected a chain error, got {other:?}"),
    }

    // The axon's address on chain.
    let endpoint = AxonEndpoint {
        ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        port: 40_123,
        version: 7,
    };
    chain.serve_axon(&hotkey, netuid, &endpoint).await.unwrap();
    let graph = Metagraph::fetch(chain.client(), netuid, true)
        .await
        .unwrap();
    assert_eq!(graph.uid_of(&hotkey.public()), Some(uid));
    let me = graph.neuron(uid).unwrap();
    assert!(endpoint.matches(me.axon.as_ref()), "{:?}", me.axon);
    let target = graph.axon_target(uid).unwrap();
    assert_eq!((target.ip.as_str(), target.port), ("127.0.0.1", 40_123));
    assert_eq!(graph.weights.as_ref().unwrap().len(), graph.n());
    assert_eq!(graph.bonds.as_ref().unwrap().len(), graph.n());
    assert_eq!(graph.n(), 5, "owner, three miners and this neuron");

    // watch(): a new snapshot as finalized heads arrive.
    let (mut updates, follower) = watch(
        chain.client().clone(),
        netuid,
        false,
        Duration::from_secs(1),
    )
    .await
    .unwrap();
    let first = updates.borrow_and_update().block;
    tokio::time::timeout(Duration::from_secs(10), updates.changed())
        .await
        .expect("a new block within 10 s")
        .unwrap();
    assert!(updates.borrow().block > first);
    follower.abort();

    // A validator round over a sample of one miner (the others are not queried).
    let state = tempfile::tempdir().unwrap();
    let mut validator = Validator::new(
        Arc::new(Template::new(Behaviour::Honest(1.0))),
        hotkey,
        chain,
        ValidatorConfig {
            netuid,
            state_dir: state.path().to_path_buf(),
            sample_size: Some(1),
            query_timeout_ms: 500,
            ..ValidatorConfig::default()
        },
    )
    .await
    .unwrap();
    let report = validator.round().await.unwrap();
    assert_eq!(report.round, 1);
    assert_eq!(report.scores.len(), 1, "{report:?}");
    assert_ne!(report.scores[0].0, uid, "a validator does not query itself");
    assert!(state.path().join("scores.json").exists());
    drop(node);
}
