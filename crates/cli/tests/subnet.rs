//! A subnet that runs itself, through the real binaries: one `tao node --dev`, one subnet
//! with a short tempo, 2 validators (`tao validator run`) and 6 template miners (`tao miner
//! run`: quality 1.0, 0.8, 0.5, 0.2, offline, copier). Nobody types weights. After a few
//! tempos the miners' incentive follows quality, the offline miner and the copier get
//! nothing and the validators earn dividends. Then a validator and the node are killed and
//! restarted mid-run: the scores survive, the rounds continue, nothing is counted twice.
//! Then the subnet switches to commit-reveal and the validators follow by themselves.
//! Bad input (unknown netuid, missing hotkey, unregistered hotkey, node down, bad flags) is
//! refused with a clear message and the documented exit status.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when dropped.
struct Proc {
    child: Child,
    log: PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
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
    logs: tempfile::TempDir,
    network: String,
}

impl Env {
    fn command(&self, args: &[&str]) -> Command {
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

    fn tao(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run tao")
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

    /// Runs a write, retrying a few times (an owner or sudo call can land in the admin
    /// freeze window before an epoch).
    fn json_retry(&self, args: &[&str]) -> serde_json::Value {
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

    fn exits(&self, code: i32, args: &[&str], message: &str) {
        let output = self.tao(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "tao {args:?}: {stderr}");
        assert!(
            stderr.contains(message),
            "tao {args:?}: expected {message:?} in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }

    fn spawn(&self, name: &str, args: &[&str]) -> Proc {
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

    fn wallet_field(&self, wallet: &str, field: &str) -> String {
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

    fn metagraph(&self, netuid: &str) -> serde_json::Value {
        self.json(&["subnets", "metagraph", netuid])
    }
}

fn start_node(data: &Path, port: u16) -> Proc {
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
            "--data-dir",
        ])
        .arg(data)
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("start tao node --dev");
    Proc { child, log }
}

fn wait_for_node(env: &Env) {
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
fn index_of(graph: &serde_json::Value, hotkey: &str) -> usize {
    graph["hotkeys"]
        .as_array()
        .unwrap()
        .iter()
        .position(|h| h == hotkey)
        .unwrap()
}

fn column(graph: &serde_json::Value, name: &str, index: usize) -> u64 {
    graph[name][index].as_u64().unwrap_or(0)
}

const MINERS: [(&str, &[&str]); 6] = [
    ("m10", &["--quality", "1.0"]),
    ("m08", &["--quality", "0.8"]),
    ("m05", &["--quality", "0.5"]),
    ("m02", &["--quality", "0.2"]),
    ("moff", &["--offline"]),
    ("mcopy", &["--copier"]),
];
const VALIDATORS: [&str; 2] = ["v1", "v2"];

/// Whether incentive is ordered by quality with the cheats at ~0 and both validators paid.
fn settled(graph: &serde_json::Value, hotkeys: &[String]) -> bool {
    let incentive: Vec<u64> = hotkeys
        .iter()
        .take(6)
        .map(|h| column(graph, "incentive", index_of(graph, h)))
        .collect();
    let dividends: Vec<u64> = hotkeys[6..]
        .iter()
        .map(|h| column(graph, "dividends", index_of(graph, h)))
        .collect();
    let total: u64 = incentive.iter().sum();
    total > 0
        && incentive[0] > incentive[1]
        && incentive[1] > incentive[2]
        && incentive[2] > incentive[3]
        && incentive[3] > incentive[4].max(incentive[5])
        && incentive[4] * 50 <= total
        && incentive[5] * 50 <= total
        && dividends.iter().all(|d| *d > 0)
}

fn print_metagraph(graph: &serde_json::Value, names: &[(&str, String)]) {
    eprintln!("uid  name   stake(α)        incentive  dividends  permit  last_update");
    for (name, hotkey) in names {
        let i = index_of(graph, hotkey);
        eprintln!(
            "{:<4} {:<6} {:<15} {:<10} {:<10} {:<7} {}",
            graph["uids"][i],
            name,
            column(graph, "stake", i),
            column(graph, "incentive", i),
            column(graph, "dividends", i),
            graph["validator_permit"][i],
            column(graph, "last_update", i),
        );
    }
}

/// The validator's saved score book.
fn scores(path: &Path) -> Option<serde_json::Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

#[test]
fn a_subnet_runs_itself_and_survives_restarts() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().join("node");
    let port = free_port();
    let mut node = start_node(&data_dir, port);
    let env = Env {
        wallets: tempfile::tempdir().unwrap(),
        logs: tempfile::tempdir().unwrap(),
        network: format!("ws://127.0.0.1:{port}"),
    };
    wait_for_node(&env);

    // Wallets, funded from //Alice (the dev chain's sudo).
    env.json(&[
        "wallet",
        "regen-coldkey",
        "--wallet.name",
        "alice",
        "--uri",
        "//Alice",
        "--no-password",
    ]);
    let names: Vec<&str> = std::iter::once("owner")
        .chain(MINERS.iter().map(|(name, _)| *name))
        .chain(VALIDATORS)
        .collect();
    for name in &names {
        env.json(&["wallet", "create", "--wallet.name", name, "--no-password"]);
        let amount = if name.starts_with('v') || *name == "owner" {
            "3000"
        } else {
            "10"
        };
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

    // The subnet, with a short tempo.
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
    let sudo = |name: &str, value: &str| {
        env.json_retry(&[
            "subnets",
            "set-hyperparameter",
            &netuid,
            name,
            value,
            "--wallet.name",
            "alice",
        ]);
    };
    sudo("tempo", "20");
    for name in MINERS.iter().map(|(n, _)| *n).chain(VALIDATORS) {
        env.json(&["register", "--netuid", &netuid, "--wallet.name", name]);
    }
    for validator in VALIDATORS {
        env.json(&[
            "stake",
            "add",
            "--netuid",
            &netuid,
            "--amount",
            "100",
            "--wallet.name",
            validator,
        ]);
    }
    // Permits need 1 α (the offline miner and the copier never earn one), and a neuron that
    // sets no weights for 3 tempos is inactive: the miners' stake (their incentive is staked
    // to them) does not count in consensus, the validators' does.
    let hotkeys: Vec<String> = MINERS
        .iter()
        .map(|(n, _)| *n)
        .chain(VALIDATORS)
        .map(|n| env.wallet_field(n, "hotkey"))
        .collect();
    let graph = env.metagraph(&netuid);
    let least = hotkeys[6..]
        .iter()
        .map(|h| column(&graph, "stake", index_of(&graph, h)))
        .min()
        .unwrap();
    assert!(least > 1_000_000_000, "validators hold stake");
    sudo("min_validator_stake", "1000000000");
    sudo("activity_cutoff", "60");

    // Bad input, with the node up and the subnet in place.
    env.exits(
        2,
        &["validator", "run", "--netuid", "99", "--wallet.name", "v1"],
        "subnet 99 does not exist",
    );
    env.json(&[
        "wallet",
        "new-coldkey",
        "--wallet.name",
        "nohot",
        "--no-password",
    ]);
    env.exits(
        2,
        &[
            "miner",
            "run",
            "--netuid",
            &netuid,
            "--wallet.name",
            "nohot",
        ],
        "has no hotkey",
    );
    env.exits(
        2,
        &[
            "miner",
            "run",
            "--netuid",
            &netuid,
            "--wallet.name",
            "owner",
            "--wallet.hotkey",
            "default",
            "--quality",
            "1.5",
        ],
        "between 0 and 1",
    );
    env.json(&[
        "wallet",
        "create",
        "--wallet.name",
        "stranger",
        "--no-password",
    ]);
    env.exits(
        2,
        &[
            "validator",
            "run",
            "--netuid",
            &netuid,
            "--wallet.name",
            "stranger",
        ],
        "is not registered on subnet",
    );
    env.exits(
        1,
        &[
            "validator",
            "run",
            "--netuid",
            &netuid,
            "--wallet.name",
            "v1",
            "--network",
            &format!("ws://127.0.0.1:{}", free_port()),
            "--timeout",
            "1",
        ],
        "is a node running?",
    );

    // Six miners and two validators; nobody types weights.
    let mut miners = Vec::new();
    for (name, extra) in MINERS {
        let axon_port = free_port().to_string();
        let mut args = vec![
            "miner",
            "run",
            "--netuid",
            &netuid,
            "--wallet.name",
            name,
            "--axon.ip",
            "127.0.0.1",
            "--axon.port",
            &axon_port,
        ];
        args.extend_from_slice(extra);
        miners.push(env.spawn(name, &args));
    }
    let validator_args = |name: &'static str| -> Vec<String> {
        [
            "validator",
            "run",
            "--netuid",
            &netuid,
            "--wallet.name",
            name,
            "--round-interval-ms",
            "400",
            "--query-timeout-ms",
            "1500",
            "--ema-alpha",
            "0.1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let spawn_validator = |name: &'static str| {
        let args = validator_args(name);
        env.spawn(name, &args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let mut v1 = spawn_validator("v1");
    let v2 = spawn_validator("v2");

    let mut labels: Vec<(&str, String)> = MINERS
        .iter()
        .map(|(n, _)| *n)
        .chain(VALIDATORS)
        .zip(hotkeys.iter().cloned())
        .collect();
    labels.insert(0, ("owner", env.wallet_field("owner", "hotkey")));
    let wait_settled = |what: &str, limit: Duration| {
        let started = Instant::now();
        loop {
            let graph = env.metagraph(&netuid);
            if settled(&graph, &hotkeys) {
                return graph;
            }
            if started.elapsed() > limit {
                print_metagraph(&graph, &labels);
                for (proc, name) in miners.iter().zip(MINERS.iter().map(|(n, _)| n)) {
                    eprintln!("--- {name}\n{}", proc.log_tail());
                }
                panic!("{what}: incentive not ordered by quality after {limit:?}");
            }
            std::thread::sleep(Duration::from_secs(2));
        }
    };
    let graph = wait_settled("first run", Duration::from_secs(150));
    eprintln!("settled after the first run:");
    print_metagraph(&graph, &labels);

    // Restart a validator (killed, as by a crash) and the node, mid-run.
    let v1_state = env
        .wallets
        .path()
        .join("v1/validator")
        .join(&hotkeys[6])
        .join(&netuid)
        .join("scores.json");
    drop(v1);
    let before = scores(&v1_state).expect("v1 saved its scores");
    let rounds_before = before["rounds"].as_u64().unwrap();
    assert!(rounds_before > 5, "{before}");
    let best_before = before["miners"]
        .as_object()
        .unwrap()
        .values()
        .map(|m| m["score"].as_f64().unwrap())
        .fold(0.0, f64::max);
    let _ = node.child.kill();
    let _ = node.child.wait();
    std::thread::sleep(Duration::from_secs(2));
    node = start_node(&data_dir, port);
    wait_for_node(&env);
    let restarted_at = env.metagraph(&netuid)["block"].as_u64().unwrap();
    v1 = spawn_validator("v1");

    // The rounds continue from the saved ones, the averages were not reset, and every miner
    // has at most one sample per round.
    let started = Instant::now();
    let after = loop {
        if let Some(after) = scores(&v1_state)
            && after["rounds"].as_u64().unwrap() >= rounds_before + 10
        {
            break after;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "v1 did not resume: {}",
            v1.log_tail()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let log = std::fs::read_to_string(&v1.log).unwrap();
    assert!(log.contains("restored scores"), "{log}");
    let rounds_after = after["rounds"].as_u64().unwrap();
    for (uid, miner) in after["miners"].as_object().unwrap() {
        let samples = miner["samples"].as_u64().unwrap();
        assert!(
            samples <= rounds_after,
            "uid {uid}: {samples} samples in {rounds_after} rounds"
        );
        if let Some(old) = before["miners"].get(uid) {
            assert!(
                samples > old["samples"].as_u64().unwrap(),
                "uid {uid} was not reset"
            );
        }
    }
    let best_after = after["miners"]
        .as_object()
        .unwrap()
        .values()
        .map(|m| m["score"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert!(
        best_after > best_before * 0.5,
        "{best_before} → {best_after}"
    );

    // Both validators set weights again after the restart, and the order holds.
    let v1_index = index_of(&env.metagraph(&netuid), &hotkeys[6]);
    let started = Instant::now();
    loop {
        let graph = env.metagraph(&netuid);
        if column(&graph, "last_update", v1_index) > restarted_at && settled(&graph, &hotkeys) {
            eprintln!("after the restarts:");
            print_metagraph(&graph, &labels);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "no weights from v1 after the restart: {}",
            v1.log_tail()
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    let v1_log = std::fs::read_to_string(&v1.log).unwrap();
    assert!(v1_log.contains("weights set at block"), "{v1_log}");
    assert!(v2.log_tail().contains("round"), "{}", v2.log_tail());

    // Commit-reveal switched on: the validators commit, reveal in the next epoch, and the
    // revealed rows keep incentive ordered.
    sudo("commit_reveal_enabled", "true");
    let switched_at = env.metagraph(&netuid)["block"].as_u64().unwrap();
    let started = Instant::now();
    loop {
        let graph = env.metagraph(&netuid);
        let revealed = [&v1, &v2].iter().all(|v| {
            std::fs::read_to_string(&v.log)
                .is_ok_and(|log| log.contains("weights revealed at block"))
        });
        let updated = hotkeys[6..]
            .iter()
            .all(|h| column(&graph, "last_update", index_of(&graph, h)) > switched_at);
        if revealed && updated && settled(&graph, &hotkeys) {
            eprintln!("with commit-reveal:");
            print_metagraph(&graph, &labels);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "no revealed weights: {}",
            v1.log_tail()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    drop(miners);
    drop(node);
}
