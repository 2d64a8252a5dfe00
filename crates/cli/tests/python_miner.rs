//! A miner written with the bittensor SDK 10.5 (Python) on a Tao subnet: its hotkey is
//! registered with `tao register`, its address published with `tao axon serve`, and it
//! serves the template's `Dummy` synapse; the Rust validator (`tao validator run --subnet
//! template`) queries and scores it like any other miner, and Yuma pays it.
//!
//! Needs `.venv-bittensor` (`scripts/install-python-sdk.sh`; CI runs it). Without it the test
//! prints `SKIPPED` and passes without checking anything.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Env, Proc, column, free_port, index_of, start_node, wait_for_node};

/// The Python miner's hotkey mnemonic (`crates/axon/tests/interop/common.py`).
const MINER_MNEMONIC: &str =
    "legal winner thank year wave sausage worth useful legal winner thank yellow";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_rust_validator_scores_a_python_miner() {
    let python = root().join(".venv-bittensor/bin/python");
    if !python.exists() {
        eprintln!(
            "SKIPPED: {} is missing; run scripts/install-python-sdk.sh to enable this test",
            python.display()
        );
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let node = start_node(&data.path().join("node"), port);
    let env = Env {
        wallets: tempfile::tempdir().unwrap(),
        logs: tempfile::tempdir().unwrap(),
        network: format!("ws://127.0.0.1:{port}"),
    };
    wait_for_node(&env);
    let netuid = common::subnet(&env);
    common::validator(&env, &netuid, "validator");

    // The Python miner's keys in a Tao wallet: registered and served with the tao CLI.
    for kind in ["regen-coldkey", "regen-hotkey"] {
        env.json(&[
            "wallet",
            kind,
            "--wallet.name",
            "pyminer",
            "--mnemonic",
            MINER_MNEMONIC,
            "--no-password",
        ]);
    }
    let coldkey = env.wallet_field("pyminer", "coldkey");
    env.json(&[
        "transfer",
        "--wallet.name",
        "alice",
        "--dest",
        &coldkey,
        "--amount",
        "10",
    ]);
    env.json(&["register", "--netuid", &netuid, "--wallet.name", "pyminer"]);
    let axon_port = free_port().to_string();
    env.json(&[
        "axon",
        "serve",
        "--netuid",
        &netuid,
        "--ip",
        "127.0.0.1",
        "--port",
        &axon_port,
        "--wallet.name",
        "pyminer",
    ]);
    let log = env.logs.path().join("py_axon.log");
    let scripts = root().join("crates/axon/tests/interop");
    let _python_miner = Proc {
        child: Command::new(&python)
            .arg(scripts.join("py_axon.py"))
            .arg(&axon_port)
            .current_dir(&scripts)
            .env("BT_TEST_WALLETS", env.logs.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start the Python axon"),
        log,
    };
    let validator = common::spawn_validator(&env, &netuid, "validator");

    let hotkey = env.wallet_field("pyminer", "hotkey");
    let started = Instant::now();
    loop {
        let graph = env.metagraph(&netuid);
        let incentive = column(&graph, "incentive", index_of(&graph, &hotkey));
        if incentive > 60_000 {
            eprintln!("the Python miner's incentive: {incentive} / 65535");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the Python miner earned nothing: {}",
            validator.log_tail()
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    let log = std::fs::read_to_string(&validator.log).unwrap();
    assert!(log.contains("answered=1"), "{log}");
    drop(node);
}
