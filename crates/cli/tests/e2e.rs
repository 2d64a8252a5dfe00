//! The whole story through the real binaries: a `tao node --dev` process and `tao` commands
//! asserting on `--json` output — wallets, funding from //Alice, transfer, a subnet created
//! and started, registration, stake, weights, an epoch, emissions in the metagraph — and bad
//! input that gives the documented error and changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Env {
    wallets: tempfile::TempDir,
    network: String,
}

impl Env {
    fn tao(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_tao"))
            .args(args)
            .env("BT_WALLET_PATH", self.wallets.path())
            .env("TAO_NETWORK", &self.network)
            .env_remove("BT_WALLET_NAME")
            .env_remove("BT_WALLET_HOTKEY")
            .output()
            .expect("run tao")
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let output = self.tao(&all);
        assert!(
            output.status.success(),
            "tao {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("tao {args:?}: {e}"))
    }

    fn fails(&self, args: &[&str], message: &str) {
        let output = self.tao(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "tao {args:?}: {stderr}");
        assert!(
            stderr.contains(message),
            "tao {args:?}: expected {message:?} in {stderr}"
        );
    }

    fn address(&self, wallet: &str) -> String {
        let listed = self.json(&["wallet", "list"]);
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["name"] == wallet)
            .unwrap()["coldkey"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn free(&self, wallet: &str) -> u64 {
        self.json(&["balance", "--wallet.name", wallet])["free_rao"]
            .as_u64()
            .unwrap()
    }
}

const TAO: u64 = 1_000_000_000;

#[test]
fn a_user_story_on_a_dev_node() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let node = Node(
        Command::new(env!("CARGO_BIN_EXE_tao"))
            .args([
                "node",
                "--dev",
                "--rpc-port",
                &port.to_string(),
                "--data-dir",
            ])
            .arg(data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tao node --dev"),
    );
    let env = Env {
        wallets: tempfile::tempdir().unwrap(),
        network: format!("ws://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    while !env
        .tao(&["subnets", "list", "--json", "--timeout", "2"])
        .status
        .success()
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the dev node did not answer in 60 s"
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    // Wallets: //Alice (funded at genesis) and two new ones.
    env.json(&[
        "wallet",
        "regen-coldkey",
        "--wallet.name",
        "alice",
        "--uri",
        "//Alice",
        "--no-password",
    ]);
    env.json(&[
        "wallet",
        "create",
        "--wallet.name",
        "owner",
        "--no-password",
    ]);
    env.json(&[
        "wallet",
        "create",
        "--wallet.name",
        "miner",
        "--no-password",
    ]);
    let (owner, miner) = (env.address("owner"), env.address("miner"));

    // Fund and transfer.
    env.json(&[
        "transfer",
        "--wallet.name",
        "alice",
        "--dest",
        &owner,
        "--amount",
        "2000",
    ]);
    env.json(&[
        "transfer",
        "--wallet.name",
        "alice",
        "--dest",
        &miner,
        "--amount",
        "10tao",
    ]);
    assert_eq!(env.free("miner"), 10 * TAO);
    env.json(&[
        "transfer",
        "--wallet.name",
        "miner",
        "--dest",
        &owner,
        "--amount",
        "1000000000rao",
    ]);
    assert!(env.free("miner") < 9 * TAO, "1 τ and a fee left the miner");

    // A subnet: create, start, register a miner, stake, weights.
    let before = env.json(&["subnets", "list"]).as_array().unwrap().len();
    env.json(&["subnets", "create", "--wallet.name", "owner"]);
    let subnets = env.json(&["subnets", "list"]);
    assert_eq!(subnets.as_array().unwrap().len(), before + 1);
    let netuid = subnets
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["netuid"].as_u64().unwrap())
        .max()
        .unwrap()
        .to_string();
    env.json(&["subnets", "start", &netuid, "--wallet.name", "owner"]);
    env.json(&["register", "--netuid", &netuid, "--wallet.name", "miner"]);
    env.json(&[
        "stake",
        "add",
        "--netuid",
        &netuid,
        "--amount",
        "100",
        "--wallet.name",
        "owner",
    ]);
    let stakes = env.json(&["stake", "list", "--wallet.name", "owner"]);
    assert!(
        stakes
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["netuid"] == netuid.parse::<u64>().unwrap()
                && s["alpha"].as_u64().unwrap() > 0)
    );
    env.json(&[
        "weights",
        "set",
        "--netuid",
        &netuid,
        "--uids",
        "1",
        "--weights",
        "1",
        "--wallet.name",
        "owner",
    ]);

    // An epoch later the miner has incentive and emission.
    let waited = Instant::now();
    loop {
        let graph = env.json(&["subnets", "metagraph", &netuid]);
        if graph["incentive"][1].as_u64().unwrap_or(0) > 0
            && graph["emission"][1].as_u64().unwrap_or(0) > 0
        {
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(90),
            "no emission after 90 s: {graph}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }

    // Bad input: the documented errors, and nothing changes.
    let miner_before = env.free("miner");
    env.fails(
        &["register", "--netuid", "99", "--wallet.name", "miner"],
        "subnet does not exist",
    );
    env.fails(
        &[
            "transfer",
            "--wallet.name",
            "miner",
            "--dest",
            &owner,
            "--amount",
            "5000",
        ],
        "insufficient balance",
    );
    env.fails(
        &["register", "--netuid", &netuid, "--wallet.name", "miner"],
        "already registered",
    );
    env.fails(
        &[
            "transfer",
            "--wallet.name",
            "miner",
            "--dest",
            "5NotAnAddress",
            "--amount",
            "1",
        ],
        "not an SS58 address",
    );
    // Failed calls pay their fee only; malformed ones pay nothing.
    assert!(env.free("miner") < miner_before);
    assert!(env.free("miner") > miner_before - TAO / 100);
    drop(node);
}
