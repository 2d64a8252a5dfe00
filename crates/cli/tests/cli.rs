//! The `tao` binary as a user runs it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::process::{Command, Output};

fn tao(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(args)
        .env_remove("BT_WALLET_PATH")
        .env_remove("BT_WALLET_NAME")
        .env_remove("BT_WALLET_HOTKEY")
        .output()
        .expect("run tao")
}

fn json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

const PHRASE: &str = "legal winner thank year wave sausage worth useful legal winner thank yellow";

#[test]
fn create_list_and_regen_wallets() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let created = json(&tao(&[
        "wallet",
        "create",
        "--wallet.path",
        root,
        "--wallet.name",
        "alice",
        "--no-password",
        "--json",
    ]));
    assert_eq!(created.as_array().unwrap().len(), 2);
    assert_eq!(
        created[0]["mnemonic"].as_str().unwrap().split(' ').count(),
        12
    );
    let again = tao(&[
        "wallet",
        "create",
        "--wallet.path",
        root,
        "--wallet.name",
        "alice",
        "--no-password",
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--overwrite"));

    let restored = json(&tao(&[
        "wallet",
        "regen-coldkey",
        "--wallet.path",
        root,
        "--wallet.name",
        "bob",
        "--mnemonic",
        PHRASE,
        "--no-password",
        "--json",
    ]));
    assert_eq!(
        restored[0]["ss58_address"],
        "5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe"
    );
    let listed = json(&tao(&["wallet", "list", "--wallet.path", root, "--json"]));
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob"]);
    assert_eq!(
        listed[1]["coldkey"],
        "5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe"
    );
}

#[test]
fn an_encrypted_coldkey_needs_a_password_source_without_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let refused = tao(&["wallet", "new-coldkey", "--wallet.path", root]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--password-env"));
    let weak = Command::new(env!("CARGO_BIN_EXE_tao"))
        .args([
            "wallet",
            "new-coldkey",
            "--wallet.path",
            root,
            "--password-env",
            "TAO_TEST_PW",
        ])
        .env("TAO_TEST_PW", "abc")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&weak.stderr).contains("too weak"));
    assert!(!dir.path().join("default").join("coldkey").exists());
}

#[test]
fn bad_input_gives_clear_errors_and_usage_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let bad = tao(&[
        "wallet",
        "regen-coldkey",
        "--wallet.path",
        root,
        "--mnemonic",
        "not a mnemonic",
        "--no-password",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("mnemonic"));
    assert_eq!(
        tao(&["wallet", "create", "--n-words", "13"]).status.code(),
        Some(2)
    );
    assert_eq!(tao(&["no-such-command"]).status.code(), Some(2));
    // A node's block time and metrics port are checked before anything starts.
    for bad_node in [
        &["node", "--dev", "--block-time-ms", "0"][..],
        &["node", "--dev", "--block-time-ms", "600001"][..],
        &["node", "--dev", "--metrics-port", "70000"][..],
        &["localnet", "--block-time-ms", "fast"][..],
        &["node", "--dev", "--rpc-calls-per-second", "0"][..],
        &["node", "--dev", "--rpc-calls-per-second", "NaN"][..],
        &["node", "--dev", "--rpc-heavy-reads-per-second", "-1"][..],
        &["node", "--dev", "--rpc-max-connections-per-ip", "0"][..],
    ] {
        let output = tao(bad_node);
        assert_eq!(output.status.code(), Some(2), "{bad_node:?}");
        assert!(!output.stderr.is_empty(), "{bad_node:?}");
    }
    let escape = tao(&[
        "wallet",
        "new-hotkey",
        "--wallet.path",
        root,
        "--wallet.hotkey",
        "../x",
    ]);
    assert_eq!(escape.status.code(), Some(1));
}

#[test]
fn yuma_run_prints_the_scenario_result() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../yuma/examples/clipping.json"
    );
    let result = json(&tao(&["yuma", "run", example]));
    assert!(result["epochs"].as_array().unwrap().len() > 1);
    let missing = tao(&["yuma", "run", "/nonexistent.json"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent.json"));
}

#[test]
fn chain_commands_fail_clearly_without_a_node_or_with_bad_arguments() {
    let offline = tao(&[
        "balance",
        "--address",
        "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
        "--network",
        "ws://127.0.0.1:1",
        "--timeout",
        "2",
    ]);
    assert_eq!(offline.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&offline.stderr).contains("tao node --dev"));
    let bad_network = tao(&["subnets", "list", "--network", "mainnet"]);
    assert_eq!(bad_network.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_network.stderr).contains("ws://"));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    let bad_dest = tao(&[
        "transfer",
        "--dest",
        "bogus",
        "--amount",
        "1",
        "--wallet.path",
        root,
    ]);
    assert!(String::from_utf8_lossy(&bad_dest.stderr).contains("not an SS58 address"));
    let bad_amount = tao(&[
        "transfer",
        "--dest",
        "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
        "--amount",
        "1.5.5",
        "--wallet.path",
        root,
    ]);
    assert!(String::from_utf8_lossy(&bad_amount.stderr).contains("not an amount"));
    let bad_param = tao(&[
        "subnets",
        "set-hyperparameter",
        "1",
        "tempo",
        "soon",
        "--wallet.path",
        root,
    ]);
    assert!(String::from_utf8_lossy(&bad_param.stderr).contains("not a valid number"));
    let mismatch = tao(&[
        "weights",
        "set",
        "--netuid",
        "1",
        "--uids",
        "1,2",
        "--weights",
        "1",
        "--wallet.path",
        root,
    ]);
    assert!(String::from_utf8_lossy(&mismatch.stderr).contains("one weight per uid"));
    // Mistakes in the arguments exit 2 before anything is read or sent.
    for (output, message) in [
        (&bad_dest, "not an SS58 address"),
        (&bad_amount, "not an amount"),
        (&bad_param, "not a valid number"),
        (&mismatch, "one weight per uid"),
    ] {
        assert_eq!(output.status.code(), Some(2), "{message}");
    }
    let usage = [
        (
            vec![
                "stake",
                "add",
                "--netuid",
                "1",
                "--amount",
                "1",
                "--allow-partial",
                "--unsafe",
            ],
            "needs a limit",
        ),
        (
            vec![
                "stake",
                "add",
                "--netuid",
                "1",
                "--amount",
                "1",
                "--tolerance",
                "200%",
            ],
            "below 100%",
        ),
        (
            vec![
                "stake",
                "swap",
                "--origin-netuid",
                "1",
                "--dest-netuid",
                "1",
                "--amount",
                "1",
            ],
            "are the same",
        ),
        (
            vec!["delegates", "take", "decrease", "ten"],
            "not a proportion",
        ),
        (
            vec![
                "weights",
                "commit",
                "--netuid",
                "1",
                "--uids",
                "1",
                "--weights",
                "1,2",
            ],
            "one weight per uid",
        ),
    ];
    for (args, message) in usage {
        let mut args = args;
        args.extend(["--wallet.path", root]);
        let output = tao(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

/// Issue 15 item 10: a command's help lists the flags that apply to it: reads do not wait for
/// finality, writes do.
#[test]
fn help_lists_the_flags_that_apply() {
    let help = |args: &[&str]| {
        let output = tao(args);
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    for read in [
        &["subnets", "list", "--help"][..],
        &["subnets", "metagraph", "--help"][..],
        &["stake", "list", "--help"][..],
        &["wallet", "balance", "--help"][..],
    ] {
        assert!(!help(read).contains("--wait-finality"), "{read:?}");
    }
    for write in [&["transfer", "--help"][..], &["stake", "add", "--help"][..]] {
        assert!(help(write).contains("--wait-finality"), "{write:?}");
    }
}
