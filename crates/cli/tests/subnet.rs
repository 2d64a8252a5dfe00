//! A subnet that runs itself, through the real binaries: one `tao node --dev`, one subnet
//! with a short tempo, 2 validators (`tao validator run`) and 6 template miners (`tao miner
//! run`: quality 1.0, 0.8, 0.5, 0.2, offline, copier). Nobody types weights. After a few
//! tempos the miners' incentive follows quality, the offline miner and the copier get
//! nothing and the validators earn dividends. Then a validator and the node are killed and
//! restarted mid-run: the scores survive, the rounds continue, nothing is counted twice.
//! The best miner moves to another port and republishes its address. Then the subnet switches
//! to commit-reveal and the validators follow by themselves, and a newcomer takes the
//! offline miner's uid: the validator's average for it starts over.
//! Ctrl-C stops a validator and a miner cleanly. Bad input (unknown netuid, missing hotkey,
//! unregistered hotkey, node down, bad flags) is refused with a clear message and the
//! documented exit status.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Env, column, free_port, index_of, start_node, wait_for_node};

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

    // A subnet with a short tempo (common::subnet: permits need 1 α, so the offline miner
    // and the copier never hold one; neurons that set no weights for 3 tempos are inactive,
    // so the miners' stake — their incentive is staked to them — does not count in
    // consensus), 2 staked validators and 6 registered miners.
    let netuid = common::subnet(&env);
    for name in VALIDATORS {
        common::validator(&env, &netuid, name);
    }
    for (name, _) in MINERS {
        common::funded_wallet(&env, name, "10");
        env.json(&["register", "--netuid", &netuid, "--wallet.name", name]);
    }
    let hotkeys: Vec<String> = MINERS
        .iter()
        .map(|(n, _)| *n)
        .chain(VALIDATORS)
        .map(|n| env.wallet_field(n, "hotkey"))
        .collect();
    let sudo = |name: &str, value: &str| common::sudo(&env, &netuid, name, value);

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
    let spawn_miner = |name: &str, extra: &[&str], axon_port: u16| {
        let axon_port = axon_port.to_string();
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
        env.spawn(name, &args)
    };
    let mut miners: Vec<common::Proc> = MINERS
        .iter()
        .map(|(name, extra)| spawn_miner(name, extra, free_port()))
        .collect();
    let spawn_validator = |name: &str| common::spawn_validator(&env, &netuid, name);
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
    for line in v1_log
        .lines()
        .filter(|l| l.contains("weights set at block"))
        .take(3)
    {
        eprintln!("v1: {line}");
    }
    assert!(v2.log_tail().contains("round"), "{}", v2.log_tail());

    // The best miner moves to another port: it publishes the new address, and the
    // validators follow it there.
    let new_port = free_port();
    miners[0] = spawn_miner(MINERS[0].0, MINERS[0].1, new_port);
    let m10 = index_of(&env.metagraph(&netuid), &hotkeys[0]);
    let started = Instant::now();
    while env.metagraph(&netuid)["axons"][m10]["port"] != new_port {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the moved axon was not republished: {}",
            miners[0].log_tail()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let answered_from = std::fs::read_to_string(&v2.log).unwrap().len();
    let started = Instant::now();
    while !std::fs::read_to_string(&v2.log).unwrap()[answered_from..]
        .contains(&format!("{m10}:1.00"))
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "v2 did not reach the moved miner: {}",
            v2.log_tail()
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    // Commit-reveal switched on: the validators commit, reveal in the next epoch, and the
    // revealed rows keep incentive ordered.
    sudo("commit_reveal_enabled", "true");
    let switched_at = env.metagraph(&netuid)["block"].as_u64().unwrap();

    // v1 is killed right after a commit and restarted: it reveals the saved commit before it
    // commits anything new.
    let log_len = |v: &common::Proc| std::fs::read_to_string(&v.log).unwrap().len();
    let from = log_len(&v1);
    let started = Instant::now();
    while !std::fs::read_to_string(&v1.log).unwrap()[from..].contains("weights committed") {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "v1 never committed: {}",
            v1.log_tail()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(v1);
    let restart_from = std::fs::read_to_string(env.logs.path().join("v1.log"))
        .unwrap()
        .len();
    v1 = spawn_validator("v1");
    let started = Instant::now();
    let after_restart = loop {
        let text = std::fs::read_to_string(&v1.log).unwrap()[restart_from..].to_owned();
        if text.contains("weights revealed at block") {
            break text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the saved commit was not revealed: {}",
            v1.log_tail()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let revealed_at = after_restart.find("weights revealed at block").unwrap();
    assert!(
        !after_restart[..revealed_at].contains("weights committed"),
        "{after_restart}"
    );

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
    // The miners followed the node through its restart (they subscribed to heads again).
    for miner in &miners {
        let log = std::fs::read_to_string(&miner.log).unwrap();
        assert!(
            log.matches("following finalized heads").count() >= 2,
            "{log}"
        );
    }

    // A full subnet gives the offline miner's uid to a newcomer: v1's average for that uid
    // starts over under the new hotkey.
    let moff = index_of(&env.metagraph(&netuid), &hotkeys[4]).to_string();
    let old_samples = scores(&v1_state).unwrap()["miners"][&moff]["samples"]
        .as_u64()
        .unwrap();
    sudo("max_allowed_uids", "9");
    common::funded_wallet(&env, "newcomer", "10");
    env.json(&["register", "--netuid", &netuid, "--wallet.name", "newcomer"]);
    let newcomer = env.wallet_field("newcomer", "hotkey");
    assert_eq!(
        index_of(&env.metagraph(&netuid), &newcomer).to_string(),
        moff
    );
    let started = Instant::now();
    loop {
        let book = scores(&v1_state).unwrap();
        let entry = &book["miners"][&moff];
        if entry["hotkey"] == newcomer.as_str() {
            assert!(entry["samples"].as_u64().unwrap() < old_samples, "{entry}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "v1 kept the old average: {entry}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    // The replaced miner says so once, not at every block.
    let count = || {
        std::fs::read_to_string(&miners[4].log)
            .unwrap()
            .matches("hotkey no longer registered")
            .count()
    };
    let started = Instant::now();
    while count() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}",
            miners[4].log_tail()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(count(), 1, "{}", miners[4].log_tail());

    // Ctrl-C stops a validator and a miner cleanly (exit 0).
    for proc in [&mut v1, &mut miners[0]] {
        let pid = proc.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-INT", &pid])
                .status()
                .unwrap()
                .success()
        );
        let started = Instant::now();
        let status = loop {
            if let Some(status) = proc.child.try_wait().unwrap() {
                break status;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "no clean stop");
            std::thread::sleep(Duration::from_millis(100));
        };
        assert!(status.success(), "{status}: {}", proc.log_tail());
        assert!(
            proc.log_tail().contains("shutting down"),
            "{}",
            proc.log_tail()
        );
    }
    drop(miners);
    drop(node);
}
