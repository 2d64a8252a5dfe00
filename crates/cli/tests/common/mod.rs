//! Helpers of the subnet process tests: a dev node, `tao` commands with a wallet directory,
//! background neurons with log files, metagraph columns.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when dropped.
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Env {
    pub wallets: tempfile::TempDir,
    pub logs: tempfile::TempDir,
    pub network: String,
}

impl Env {
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tao"));
        command
            .args(args)
            .env("BT_WALLET_PATH", self.wallets.path())
            .env("TAO_NETWORK", &self.network)
            .env("RUST_LOG", "info")
            .env_remove("BT_WALLET_NAME")
            .env_remove("BT_WALLET_HOTKEY");
        command
    }

    pub fn tao(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run tao")
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
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

    /// Runs a write, retrying a few times (an owner or sudo call can land in the admin
    /// freeze window before an epoch).
    pub fn json_retry(&self, args: &[&str]) -> serde_json::Value {
        for _ in 0..8 {
            let mut all = args.to_vec();
            all.push("--json");
            let output = self.tao(&all);
            if output.status.success() {
                return serde_json::from_slice(&output.stdout).unwrap();
            }
            std::thread::sleep(Duration::from_millis(700));
        }
        self.json(args)
    }

    pub fn exits(&self, code: i32, args: &[&str], message: &str) {
        let output = self.tao(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "tao {args:?}: {stderr}");
        assert!(
            stderr.contains(message),
            "tao {args:?}: expected {message:?} in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }

    pub fn spawn(&self, name: &str, args: &[&str]) -> Proc {
        let log = self.logs.path().join(format!("{name}.log"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = self
            .command(args)
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn tao");
        Proc { child, log }
    }

    pub fn wallet_field(&self, wallet: &str, field: &str) -> String {
        let listed = self.json(&["wallet", "list"]);
        let entry = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["name"] == wallet)
            .unwrap()
            .clone();
        match field {
            "coldkey" => entry["coldkey"].as_str().unwrap().to_owned(),
            _ => entry["hotkeys"][0]["address"].as_str().unwrap().to_owned(),
        }
    }

    pub fn metagraph(&self, netuid: &str) -> serde_json::Value {
        self.json(&["subnets", "metagraph", netuid])
    }
}

pub fn start_node(data: &Path, port: u16) -> Proc {
    let log = data.with_extension("log");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tao"))
        .args([
            "node",
            "--dev",
            "--block-time-ms",
            "150",
            "--rpc-port",
            &port.to_string(),
            // Not the spec's 30333, which a `tao localnet` on the same machine may hold.
            "--p2p-port",
            &free_port().to_string(),
            "--data-dir",
        ])
        .arg(data)
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("start tao node --dev");
    Proc { child, log }
}

pub fn wait_for_node(env: &Env) {
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
}

/// Position of `hotkey` in the metagraph's arrays.
pub fn index_of(graph: &serde_json::Value, hotkey: &str) -> usize {
    graph["hotkeys"]
        .as_array()
        .unwrap()
        .iter()
        .position(|h| h == hotkey)
        .unwrap()
}

pub fn column(graph: &serde_json::Value, name: &str, index: usize) -> u64 {
    graph[name][index].as_u64().unwrap_or(0)
}

/// Creates wallet `name` (no password) and sends it `amount` TAO from //Alice.
pub fn funded_wallet(env: &Env, name: &str, amount: &str) {
    env.json(&["wallet", "create", "--wallet.name", name, "--no-password"]);
    let coldkey = env.wallet_field(name, "coldkey");
    env.json(&[
        "transfer",
        "--wallet.name",
        "alice",
        "--dest",
        &coldkey,
        "--amount",
        amount,
    ]);
}

/// The //Alice wallet (funded and sudo on the dev chain), a funded `owner`, and a started
/// subnet with tempo 20, permits from 1 α and a 60-block activity cutoff (so neurons that set
/// no weights do not count in consensus); returns its netuid.
pub fn subnet(env: &Env) -> String {
    env.json(&[
        "wallet",
        "regen-coldkey",
        "--wallet.name",
        "alice",
        "--uri",
        "//Alice",
        "--no-password",
    ]);
    funded_wallet(env, "owner", "3000");
    env.json(&["subnets", "create", "--wallet.name", "owner"]);
    let netuid = env
        .json(&["subnets", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["netuid"].as_u64().unwrap())
        .max()
        .unwrap()
        .to_string();
    env.json(&["subnets", "start", &netuid, "--wallet.name", "owner"]);
    for (name, value) in [
        ("tempo", "20"),
        ("min_validator_stake", "1000000000"),
        ("activity_cutoff", "60"),
    ] {
        sudo(env, &netuid, name, value);
    }
    netuid
}

/// Sets a hyperparameter as //Alice (retried through the admin freeze window).
pub fn sudo(env: &Env, netuid: &str, name: &str, value: &str) {
    env.json_retry(&[
        "subnets",
        "set-hyperparameter",
        netuid,
        name,
        value,
        "--wallet.name",
        "alice",
    ]);
}

/// A funded, registered validator wallet with 100 TAO staked on `netuid`.
pub fn validator(env: &Env, netuid: &str, name: &str) {
    funded_wallet(env, name, "3000");
    env.json(&["register", "--netuid", netuid, "--wallet.name", name]);
    env.json(&[
        "stake",
        "add",
        "--netuid",
        netuid,
        "--amount",
        "100",
        "--unsafe",
        "--wallet.name",
        name,
    ]);
}

/// `tao validator run` for wallet `name`, 400 ms rounds, 1.5 s timeout.
pub fn spawn_validator(env: &Env, netuid: &str, name: &str) -> Proc {
    env.spawn(
        name,
        &[
            "validator",
            "run",
            "--netuid",
            netuid,
            "--wallet.name",
            name,
            "--round-interval-ms",
            "400",
            "--query-timeout-ms",
            "1500",
            "--ema-alpha",
            "0.1",
        ],
    )
}
