//! The whole story through the real binaries: a `tao node --dev` process and `tao` commands
//! asserting on `--json` output — wallets, funding from //Alice, transfer, a subnet created
//! and started, registration, stake, weights, an epoch, emissions in the metagraph — and bad
//! input that gives the documented error and changes nothing. A second chapter on the same
//! node: wallet balance and overview, stake move, swap and transfer, a refused limit price,
//! delegate takes, and weights by commit-reveal.
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

    /// A failure (exit 1) whose message contains `message`.
    fn fails(&self, args: &[&str], message: &str) {
        self.exits(1, args, message);
    }

    fn exits(&self, code: i32, args: &[&str], message: &str) {
        let output = self.tao(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "tao {args:?}: {stderr}");
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

    fn hotkey(&self, wallet: &str) -> String {
        let listed = self.json(&["wallet", "list"]);
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["name"] == wallet)
            .unwrap()["hotkeys"][0]["address"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Alpha of `wallet`'s coldkey on `hotkey` on `netuid` (0 without a position).
    fn staked(&self, wallet: &str, hotkey: &str, netuid: u64) -> u64 {
        self.json(&["stake", "list", "--wallet.name", wallet])
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["hotkey"] == hotkey && s["netuid"] == netuid)
            .map_or(0, |s| s["alpha_rao"].as_u64().unwrap())
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
    let node_log = data.path().join("node.log");
    let node = Node(
        Command::new(env!("CARGO_BIN_EXE_tao"))
            .args([
                "node",
                "--dev",
                "--block-time-ms",
                "50",
                "--rpc-port",
                &port.to_string(),
                "--data-dir",
            ])
            .arg(data.path().join("chain"))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&node_log).unwrap())
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
    let created = env.json(&["subnets", "create", "--wallet.name", "owner"]);
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
    let registered = env.json(&["register", "--netuid", &netuid, "--wallet.name", "miner"]);
    results_reported(&env, &netuid, &created, &registered);
    safe_staking_by_default(&env, &netuid);
    let stakes = env.json(&["stake", "list", "--wallet.name", "owner"]);
    assert!(
        stakes
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["netuid"] == netuid.parse::<u64>().unwrap()
                && s["alpha_rao"].as_u64().unwrap() > 0)
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
            && graph["emission_rao"][1].as_u64().unwrap_or(0) > 0
        {
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(90),
            "no emission after 90 s: {graph}"
        );
        std::thread::sleep(Duration::from_secs(1));
    }

    metagraph_explained(&env, &netuid);
    amounts_carry_their_unit(&env, &netuid);

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
    env.exits(
        2,
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
    // Refused before sending and malformed calls pay nothing.
    assert_eq!(env.free("miner"), miner_before);
    avoidable_failures_cost_nothing(&env, &netuid);
    inputs_users_type(&env, &netuid);

    let chapter = Instant::now();
    stake_delegates_and_commit_reveal(&env, &netuid);
    eprintln!("second chapter: {:.1} s", chapter.elapsed().as_secs_f64());
    // The chain log counts refusals (the weights set refused under commit-reveal) on its
    // next line, at most 5 s later.
    let waited = Instant::now();
    while !std::fs::read_to_string(&node_log)
        .unwrap()
        .contains(" transactions refused ")
        && waited.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(node);
    node_says_what_happened(&std::fs::read_to_string(&node_log).unwrap());
}

/// Issue 15 item 8: the node logs finalized blocks with the transactions and epochs since
/// the last line (rate-limited), transactions whose call failed, with the chain's error, and
/// the transactions it refused, counted by reason.
fn node_says_what_happened(log: &str) {
    for expected in [
        " finalized height=",
        " transaction failed height=",
        " transactions refused refused=",
    ] {
        assert!(
            log.contains(expected),
            "{expected:?} in the node's log:\n{log}"
        );
    }
    assert!(
        log.lines()
            .any(|l| l.contains(" transactions refused ") && l.contains("free_call_failed")),
        "the refused weights in the node's log:\n{log}"
    );
    // Hundreds of 50 ms blocks: fewer lines than blocks, each counting those since the last.
    let finalized_lines = log
        .lines()
        .filter(|l| l.contains(" finalized height="))
        .count();
    let last_height: u64 = log
        .lines()
        .filter_map(|l| l.split(" finalized height=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .max()
        .unwrap();
    assert!(
        (finalized_lines as u64) < last_height,
        "{finalized_lines} lines for {last_height} blocks"
    );
    let epochs: u64 = log
        .lines()
        .filter_map(|l| l.split(" epochs=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    assert!(epochs > 0, "no epochs counted:\n{log}");
}

/// Issue 15 item 3: a transaction reports what it did — the new netuid, the uid and burn of
/// a registration, the fee, the block and the transaction's own hash (not the block's) — in
/// JSON and in the table; a transfer asks on a terminal, and "no" sends nothing.
fn results_reported(
    env: &Env,
    netuid: &str,
    created: &serde_json::Value,
    registered: &serde_json::Value,
) {
    let event = |report: &serde_json::Value, name: &str| {
        report["events"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|e| e.get(name).cloned())
            .unwrap_or_else(|| panic!("no {name} in {report}"))
    };
    assert_eq!(event(created, "NetworkAdded")["netuid"].to_string(), netuid);
    let registration = event(registered, "NeuronRegistered");
    assert_eq!(registration["uid"], 1);
    assert!(registration["burn_rao"].as_u64().unwrap() > 0);
    for report in [created, registered] {
        let (tx_hash, block) = (
            report["tx_hash"].as_str().unwrap(),
            report["block"].as_str().unwrap(),
        );
        assert_eq!(tx_hash.len(), 66, "{report}");
        assert_ne!(tx_hash, block, "the tx hash is not the block's");
        assert!(report["fee_rao"].as_u64().unwrap() > 0, "{report}");
    }
    assert_ne!(created["tx_hash"], registered["tx_hash"]);

    // The table says the same to people.
    let owner = env.address("owner");
    let table = env.tao(&[
        "transfer",
        "--wallet.name",
        "miner",
        "--dest",
        &owner,
        "--amount",
        "0.5",
    ]);
    let stdout = String::from_utf8_lossy(&table.stdout);
    for row in [
        "result",
        "transferred",
        "0.500000000 τ from ",
        "fee",
        "block",
        "tx hash",
    ] {
        assert!(stdout.contains(row), "{row:?} in {stdout}");
    }

    // On a terminal a transfer shows what it would do and asks; "n" sends nothing.
    let free_before = env.free("miner");
    let tao = env!("CARGO_BIN_EXE_tao");
    let line = format!("{tao} transfer --wallet.name miner --dest {owner} --amount 0.25");
    let mut asked = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("BT_WALLET_PATH", env.wallets.path())
        .env("TAO_NETWORK", &env.network)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) runs tao on a terminal");
    std::io::Write::write_all(asked.stdin.as_mut().unwrap(), b"n\n").unwrap();
    let asked = asked.wait_with_output().unwrap();
    let shown = String::from_utf8_lossy(&asked.stdout);
    for expected in [
        "0.250000000 τ",
        "Send this transfer? [y/N]",
        "cancelled: nothing was sent",
    ] {
        assert!(shown.contains(expected), "{expected:?} in {shown}");
    }
    assert_eq!(asked.status.code(), Some(1), "{shown}");
    assert_eq!(env.free("miner"), free_before);
}

/// Issue 15 item 2: stake is shown at the spot price and at what selling it would return
/// (price impact and swap fee), labelled, in `stake list`, `balance` and `wallet overview`.
fn sale_values_beside_spot(env: &Env, netuid: u64) {
    let stakes = env.json(&["stake", "list", "--wallet.name", "owner"]);
    let position = stakes
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["netuid"] == netuid)
        .unwrap();
    let (spot, sale) = (
        position["tao_value_rao"].as_u64().unwrap(),
        position["sale_value_rao"].as_u64().unwrap(),
    );
    assert!(0 < sale && sale < spot, "sale {sale} vs spot {spot}");
    let balance = env.json(&["wallet", "balance", "--all"]);
    let totals = &balance["totals"];
    let staked_sale = totals["staked_sale_rao"].as_u64().unwrap();
    assert!(0 < staked_sale && staked_sale < totals["staked_rao"].as_u64().unwrap());
    let overview = env.json(&["wallet", "overview", "--wallet.name", "owner"]);
    let overview_sale = overview["staked_sale_rao"].as_u64().unwrap();
    assert!(0 < overview_sale && overview_sale < overview["staked_rao"].as_u64().unwrap());
    for args in [
        &["stake", "list", "--wallet.name", "owner"][..],
        &["wallet", "overview", "--wallet.name", "owner"][..],
        &["wallet", "balance", "--all"][..],
    ] {
        let table = String::from_utf8_lossy(&env.tao(args).stdout).into_owned();
        for label in ["at spot", "sold"] {
            assert!(table.contains(label), "{label:?} in {args:?}: {table}");
        }
    }
}

/// Issue 15 items 5 and 9: every amount in `--json` output names its unit (`alpha_rao`, not
/// `alpha`), and a transaction's table shows alpha with its subnet's symbol.
fn amounts_carry_their_unit(env: &Env, netuid: &str) {
    /// Words that name an amount; a numeric field containing one must end its name in a unit.
    const AMOUNT_WORDS: [&str; 14] = [
        "alpha",
        "amount",
        "stake",
        "staked",
        "emission",
        "emitted",
        "burn",
        "lock",
        "fee",
        "free",
        "value",
        "cut",
        "received",
        "executable",
    ];
    fn unitless(json: &serde_json::Value, path: &str, found: &mut Vec<String>) {
        match json {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    let numeric = value.is_number()
                        || value
                            .as_array()
                            .is_some_and(|a| a.iter().any(|v| v.is_number()));
                    let parts: Vec<&str> = key.split('_').collect();
                    // `first_emission_block` is a height, not an amount.
                    let amount = parts.iter().any(|part| AMOUNT_WORDS.contains(part))
                        && !parts.iter().any(|part| part.starts_with("block"));
                    if numeric && amount && !key.contains("_rao") {
                        found.push(format!("{path}.{key}"));
                    }
                    // Parameters keep the chain's names: they are what `set` takes.
                    if key != "hyperparams" {
                        unitless(value, &format!("{path}.{key}"), found);
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    unitless(item, &format!("{path}[]"), found);
                }
            }
            _ => {}
        }
    }
    let stake_a_little = [
        "stake",
        "add",
        "--netuid",
        netuid,
        "--amount",
        "0.01",
        "--wallet.name",
        "owner",
    ];
    let mut found = Vec::new();
    for (name, json) in [
        ("stake add", env.json(&stake_a_little)),
        (
            "stake list",
            env.json(&["stake", "list", "--wallet.name", "owner"]),
        ),
        (
            "overview",
            env.json(&["wallet", "overview", "--wallet.name", "owner"]),
        ),
        ("metagraph", env.json(&["subnets", "metagraph", netuid])),
        ("subnets list", env.json(&["subnets", "list"])),
        ("delegates", env.json(&["delegates", "list"])),
    ] {
        unitless(&json, name, &mut found);
    }
    assert!(found.is_empty(), "amounts without a unit: {found:?}");

    let symbol = env.json(&["subnets", "show", netuid])["symbol"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(
        symbol, "α",
        "a subnet whose symbol differs from the generic one"
    );
    let table = env.tao(&stake_a_little);
    let stdout = String::from_utf8_lossy(&table.stdout);
    let staked = stdout.lines().find(|l| l.contains("staked")).unwrap_or("");
    assert!(
        staked.contains(&format!(" {symbol} on netuid {netuid}")),
        "{stdout}"
    );
}

/// Issue 15 item 5: the metagraph shows btcli's columns and fits 80 columns; the
/// hyperparameters are shown in their units beside the raw values (raw in `--json`); one
/// symbol for the subnet's token.
fn metagraph_explained(env: &Env, netuid: &str) {
    let output = Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(["subnets", "metagraph", "--netuid", netuid])
        .env("TAO_NETWORK", &env.network)
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    let (table, notes) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    eprintln!("subnets metagraph at 80 columns:\n{table}{notes}");
    assert!(output.status.success(), "{notes}");
    for line in table.lines().chain(notes.lines()) {
        assert!(line.chars().count() <= 80, "wider than 80: {line}");
    }
    let notes = notes.lines().collect::<Vec<_>>().join(" ");
    let header = table.lines().nth(1).unwrap();
    // (Columns that do not fit are hidden and named: hotkey and axon here, more with larger
    // amounts; those that explain incentive and dividends stay.)
    for column in ["uid", "stake", " I ", " D ", " C ", " VT ", " A "] {
        assert!(header.contains(column), "{column:?} in {header}");
    }
    assert!(
        notes.contains("C consensus, VT validator trust")
            && notes.contains("hidden to fit 80 columns: hotkey"),
        "{notes}"
    );
    let symbol = env.json(&["subnets", "show", netuid])["symbol"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(table.contains(&symbol), "{symbol} in {table}");
    let stakes =
        String::from_utf8_lossy(&env.tao(&["stake", "list", "--wallet.name", "owner"]).stdout)
            .into_owned();
    assert!(
        stakes.contains(&format!(" {symbol}")),
        "{symbol} in {stakes}"
    );

    let params = env.json(&["subnets", "hyperparameters", netuid]);
    let kappa = params["kappa"].as_u64().unwrap();
    let shown = String::from_utf8_lossy(&env.tao(&["subnets", "hyperparameters", netuid]).stdout)
        .into_owned();
    let row = shown.lines().find(|l| l.contains("kappa")).unwrap();
    assert!(row.contains(&kappa.to_string()), "raw {kappa} in {row}");
    if kappa == 32_767 {
        assert!(row.contains("0.5000 (50.00%)"), "{row}");
    }
    let tempo = shown.lines().find(|l| l.contains("tempo")).unwrap();
    assert!(tempo.contains(" blocks"), "{tempo}");
}

/// Issue 15 item 6 (decimal weights are in the commit-reveal chapter): a bad checksum is
/// named, an unknown hyperparameter lists the names, a missing password file is said once,
/// and btcli's spellings work.
fn inputs_users_type(env: &Env, netuid: &str) {
    let owner = env.address("owner");
    let last = owner.chars().last().unwrap();
    let mistyped = format!(
        "{}{}",
        &owner[..owner.len() - 1],
        if last == 'a' { 'b' } else { 'a' }
    );
    env.exits(
        2,
        &[
            "transfer",
            "--wallet.name",
            "miner",
            "--dest",
            &mistyped,
            "--amount",
            "1",
        ],
        "is not an SS58 address (5…): the SS58 checksum does not match (a mistyped address?)",
    );
    env.exits(
        2,
        &[
            "subnets",
            "set-hyperparameter",
            netuid,
            "kapa",
            "1",
            "--wallet.name",
            "owner",
        ],
        "unknown hyperparameter \"kapa\"; the names are tempo, kappa, bonds_penalty,",
    );
    // An encrypted wallet, in a directory of its own (the story counts its wallets).
    let elsewhere = tempfile::tempdir().unwrap();
    let root = elsewhere.path().to_str().unwrap();
    let password = elsewhere.path().join("password");
    std::fs::write(&password, "correct horse\n").unwrap();
    env.json(&[
        "wallet",
        "create",
        "--wallet.path",
        root,
        "--password-file",
        password.to_str().unwrap(),
    ]);
    let missing = elsewhere.path().join("no-such-password");
    let output = env.tao(&[
        "subnets",
        "create",
        "--wallet.path",
        root,
        "--password-file",
        missing.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!(
            "error: password: the password file {} does not exist: check --password-file",
            missing.display()
        )
    );

    // btcli's spellings: --netuid for subnet reads, `wallet transfer`, `subnets register`,
    // short group names.
    let by_flag = env.json(&["subnets", "metagraph", "--netuid", netuid]);
    assert_eq!(
        by_flag["hotkeys"],
        env.json(&["subnets", "metagraph", netuid])["hotkeys"]
    );
    env.json(&["s", "hyperparameters", "--netuid", netuid]);
    let sent = env.json(&[
        "wallet",
        "transfer",
        "--wallet.name",
        "miner",
        "--dest",
        &owner,
        "--amount",
        "0.1",
    ]);
    assert_eq!(sent["success"], true);
    env.fails(
        &[
            "subnets",
            "register",
            "--netuid",
            netuid,
            "--wallet.name",
            "miner",
        ],
        "is already registered on subnet",
    );
    let positions = |group: &str| {
        env.json(&[group, "list", "--wallet.name", "owner"])
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["netuid"].clone(), s["hotkey"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(positions("st"), positions("stake"));
    env.json(&["w", "balance", "--wallet.name", "owner"]);
}

/// Issue 15 item 4: what the chain would refuse is refused before sending, with the reason
/// and when to retry, and costs nothing.
fn avoidable_failures_cost_nothing(env: &Env, netuid: &str) {
    let (owner, miner_hot) = (env.address("owner"), env.hotkey("miner"));
    let (owner_before, miner_before) = (env.free("owner"), env.free("miner"));
    fn as_miner<'a>(args: &[&'a str]) -> Vec<&'a str> {
        let mut all = args.to_vec();
        all.extend(["--wallet.name", "miner"]);
        all
    }
    for args in [
        vec!["transfer", "--dest", owner.as_str(), "--amount", "0"],
        vec!["stake", "add", "--netuid", netuid, "--amount", "0rao"],
        vec!["stake", "remove", "--netuid", netuid, "--amount", "0.0"],
    ] {
        env.exits(2, &as_miner(&args), "is zero: give an amount above 0");
    }
    // Issue 15 item 9: with --json the error comes as JSON on stderr too.
    let error_json = |args: &[&str]| {
        let mut all = as_miner(args);
        all.push("--json");
        let output = env.tao(&all);
        let error: serde_json::Value = serde_json::from_slice(&output.stderr)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
        (output.status.code(), error["error"].clone())
    };
    let (status, error) = error_json(&["transfer", "--dest", owner.as_str(), "--amount", "0"]);
    assert_eq!(status, Some(2));
    assert_eq!(
        error,
        serde_json::json!({
            "code": "usage",
            "message": "\"0\" is zero: give an amount above 0",
            "hint": null,
            "exit_status": 2,
        })
    );
    let (status, error) = error_json(&["register", "--netuid", netuid]);
    assert_eq!((status, &error["code"]), (Some(1), &"failed".into()));
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("is already registered"),
        "{error}"
    );
    env.fails(
        &as_miner(&["register", "--netuid", netuid]),
        &format!(
            "error: hotkey {miner_hot} is already registered on subnet {netuid} as uid 1: nothing \
             to do (nothing was sent; see `tao wallet overview`)"
        ),
    );
    env.fails(
        &as_miner(&[
            "subnets",
            "set-hyperparameter",
            netuid,
            "immunity_period",
            "100",
        ]),
        &format!(
            "error: not the subnet owner: subnet {netuid} belongs to {owner}; only its owner or \
             the sudo key may change its hyperparameters (nothing was sent)"
        ),
    );
    env.fails(
        &as_miner(&[
            "weights",
            "commit",
            "--netuid",
            netuid,
            "--uids",
            "0,7",
            "--weights",
            "1,1",
        ]),
        &format!(
            "error: uid 7 does not exist on subnet {netuid}: it has 2 neurons (uids 0 to 1); see \
             `tao subnets metagraph --netuid {netuid}` (nothing was sent)"
        ),
    );
    // With a tempo no longer than the freeze window (2 blocks on the dev chain) every block
    // is inside it.
    let tempo = env.json(&["subnets", "hyperparameters", netuid])["tempo"].to_string();
    let sudo = |name: &str, value: &str| {
        env.json(&[
            "subnets",
            "set-hyperparameter",
            netuid,
            name,
            value,
            "--wallet.name",
            "alice",
        ])
    };
    sudo("tempo", "2");
    let frozen = env.tao(&[
        "subnets",
        "set-hyperparameter",
        netuid,
        "immunity_period",
        "100",
        "--wallet.name",
        "owner",
    ]);
    let stderr = String::from_utf8_lossy(&frozen.stderr);
    assert_eq!(frozen.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "blocks before an epoch and subnet {netuid}'s next epoch is in "
        )) && stderr.contains("error: admin calls are frozen in the last ")
            && stderr.contains(" blocks: send it again in "),
        "{stderr}"
    );
    sudo("tempo", &tempo);
    assert_eq!(
        (env.free("owner"), env.free("miner")),
        (owner_before, miner_before),
        "refusals cost nothing"
    );
}

/// Issue 15 item 1: without a terminal or flags a stake is limited to 0.5 % of price
/// movement. A first stake of 100 τ into the new subnet's thin pool is refused before it is
/// sent (no fee), with the flag that accepts the price; that flag then works.
fn safe_staking_by_default(env: &Env, netuid: &str) {
    let stake = |extra: &[&str]| {
        let mut args = vec![
            "stake",
            "add",
            "--netuid",
            netuid,
            "--amount",
            "100",
            "--wallet.name",
            "owner",
        ];
        args.extend(extra);
        env.tao(&args)
    };
    let free_before = env.free("owner");
    let refused = stake(&[]);
    let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    for expected in [
        "error: not sent (no fee charged): the trade would move the price by ",
        &format!("subnet {netuid}'s pool is thin (it holds "),
        "so a trade this size moves its price a lot. To accept that price pass ",
        "; --allow-partial trades only what fits; or trade a smaller amount",
    ] {
        assert!(stderr.contains(expected), "{expected:?} in {stderr}");
    }
    assert_eq!(env.free("owner"), free_before, "a refusal costs nothing");
    // The quote shown with it prices in the subnet's own symbol (item 5).
    let symbol = env.json(&["subnets", "show", netuid])["symbol"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(stderr.contains(&format!(" τ/{symbol} → ")), "{stderr}");
    // The flag the message names: `--tolerance N%` or `--unsafe`.
    let accept = stderr
        .split("To accept that price pass ")
        .nth(1)
        .unwrap()
        .split(" (")
        .next()
        .unwrap();
    let flags: Vec<&str> = accept.split(' ').collect();
    assert!(
        flags == ["--unsafe"] || (flags.len() == 2 && flags[0] == "--tolerance"),
        "{accept}"
    );
    let mut args = flags.clone();
    args.push("--json");
    let accepted = stake(&args);
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    assert!(env.free("owner") < free_before - 99 * TAO);
}

/// Wallet reads, stake operations with their quotes, a refused limit, delegate takes and
/// weights by commit-reveal, on the subnet of the first chapter.
fn stake_delegates_and_commit_reveal(env: &Env, netuid: &str) {
    let n: u64 = netuid.parse().unwrap();
    let (owner_hot, miner_hot) = (env.hotkey("owner"), env.hotkey("miner"));
    let miner = env.address("miner");

    // Balances: free + staked, for one wallet and for all.
    let one = env.json(&["wallet", "balance", "--wallet.name", "owner"]);
    let w = &one["wallets"][0];
    assert_eq!(w["wallet"], "owner");
    assert!(w["staked_rao"].as_u64().unwrap() > 0);
    assert_eq!(
        w["total_rao"].as_u64().unwrap(),
        w["free_rao"].as_u64().unwrap() + w["staked_rao"].as_u64().unwrap()
    );
    let all = env.json(&["wallet", "balance", "--all"]);
    assert_eq!(all["wallets"].as_array().unwrap().len(), 3);
    let free_sum: u64 = all["wallets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["free_rao"].as_u64().unwrap())
        .sum();
    assert_eq!(all["totals"]["free_rao"].as_u64().unwrap(), free_sum);

    sale_values_beside_spot(env, n);

    // Overview: the owner hotkey holds uid 0 and stake on the subnet.
    let overview = env.json(&["wallet", "overview", "--wallet.name", "owner"]);
    let hot = overview["hotkeys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hotkey"] == owner_hot.as_str())
        .unwrap();
    assert_eq!(hot["name"], "default");
    assert!(
        hot["registrations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["netuid"] == n && r["uid"] == 0)
    );
    assert!(
        hot["stakes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["netuid"] == n)
    );
    assert!(overview["total_rao"].as_u64().unwrap() > overview["free_rao"].as_u64().unwrap());

    // Move 1 α to the miner's hotkey on the same subnet: shares change hands, no swap.
    let moved = env.json(&[
        "stake",
        "move",
        "--origin-netuid",
        netuid,
        "--dest-hotkey",
        &miner_hot,
        "--amount",
        "1",
        "--wallet.name",
        "owner",
    ]);
    assert_eq!(moved["success"], true);
    assert_eq!(moved["quote"]["operation"], "move");
    assert_eq!(moved["quote"]["legs"].as_array().unwrap().len(), 0);
    assert_eq!(moved["quote"]["received_rao"], TAO);
    // (The origin position also earns dividends meanwhile; the new one is the clear check.)
    assert!(env.staked("owner", &miner_hot, n) >= TAO - 1);

    // Swap 1 α to genesis subnet 1 with a generous tolerance: sold here, bought there.
    let swapped = env.json(&[
        "stake",
        "swap",
        "--origin-netuid",
        netuid,
        "--dest-netuid",
        "1",
        "--amount",
        "1",
        "--tolerance",
        "50%",
        "--wallet.name",
        "owner",
    ]);
    assert_eq!(swapped["quote"]["legs"].as_array().unwrap().len(), 2);
    assert_eq!(swapped["quote"]["limit"]["outcome"], "full");
    let on_one = env.staked("owner", &owner_hot, 1);
    assert!(on_one > 0);
    let expected = swapped["quote"]["received_rao"].as_u64().unwrap();
    // Close to the quote (the pools get emission every block between quote and execution).
    assert!(
        on_one.abs_diff(expected) <= expected / 20,
        "{on_one} vs quoted {expected}"
    );

    // Transfer 1 α to the miner's coldkey.
    env.json(&[
        "stake",
        "transfer",
        "--dest",
        &miner,
        "--origin-netuid",
        netuid,
        "--amount",
        "1",
        "--wallet.name",
        "owner",
    ]);
    assert!(env.staked("miner", &owner_hot, n) >= TAO - 1);

    // A limit below the price is refused before sending: nothing is charged.
    let free_before = env.free("owner");
    env.fails(
        &[
            "stake",
            "add",
            "--netuid",
            netuid,
            "--amount",
            "1",
            "--limit-price",
            "1rao",
            "--wallet.name",
            "owner",
            "--json",
        ],
        "not sent (no fee charged): the trade would move the price by",
    );
    assert_eq!(env.free("owner"), free_before);

    // Delegate take: lower it, see it listed, and the chain's bounds and rate limit.
    env.json(&[
        "delegates",
        "take",
        "decrease",
        "10",
        "--wallet.name",
        "owner",
    ]);
    let delegates = env.json(&["delegates", "list"]);
    let me = delegates
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["hotkey"] == owner_hot.as_str())
        .unwrap();
    assert_eq!(me["take"], 6_553);
    assert_eq!(me["take_percent"], "10.00%");
    assert!(me["nominator_count"].as_u64().unwrap() >= 1, "{me}");
    assert!(me["registrations"].as_array().unwrap().contains(&n.into()));
    env.fails(
        &[
            "delegates",
            "take",
            "increase",
            "50",
            "--wallet.name",
            "owner",
        ],
        "above the chain's maximum",
    );
    env.json(&[
        "delegates",
        "take",
        "increase",
        "11",
        "--wallet.name",
        "owner",
    ]);
    env.fails(
        &[
            "delegates",
            "take",
            "increase",
            "12",
            "--wallet.name",
            "owner",
        ],
        "rate limit",
    );

    // Weights by commit-reveal (sudo turns it on for the subnet, with a tempo long enough
    // that the one-epoch reveal window, 2 s of 50 ms blocks, outlasts a few requests).
    env.json(&[
        "subnets",
        "set-hyperparameter",
        netuid,
        "commit_reveal_enabled",
        "true",
        "--wallet.name",
        "alice",
    ]);
    env.json(&[
        "subnets",
        "set-hyperparameter",
        netuid,
        "tempo",
        "40",
        "--wallet.name",
        "alice",
    ]);
    env.fails(
        &[
            "weights",
            "set",
            "--netuid",
            netuid,
            "--uids",
            "1",
            "--weights",
            "1",
            "--wallet.name",
            "owner",
        ],
        "commit-reveal is enabled",
    );
    let committed = env.json(&[
        "weights",
        "commit",
        "--netuid",
        netuid,
        "--uids",
        "0,1",
        // Decimals, as btcli users type them: the same row as 1,3.
        "--weights",
        "0.25,0.75",
        "--wallet.name",
        "owner",
    ]);
    let saved = std::path::PathBuf::from(committed["commit"]["saved_to"].as_str().unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&saved).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(committed["commit"]["reveal_epoch"].as_u64().is_some());
    let reveal_command = committed["commit"]["reveal_command"].as_str().unwrap();
    assert!(
        reveal_command.contains("weights reveal"),
        "{reveal_command}"
    );
    // The wallet directory in use is part of the command to run next.
    let wallet_path = format!("--wallet.path {}", env.wallets.path().display());
    assert!(reveal_command.contains(&wallet_path), "{reveal_command}");
    let revealed = env.json(&[
        "weights",
        "reveal",
        "--netuid",
        netuid,
        "--wait",
        "--wallet.name",
        "owner",
    ]);
    assert_eq!(revealed["revealed"]["hash"], committed["commit"]["hash"]);
    assert!(
        !saved.exists(),
        "the saved commit is deleted after the reveal"
    );
    let rows = env.json(&["weights", "show", netuid]);
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["uid"] == 0)
        .unwrap();
    assert_eq!(row["weights"], serde_json::json!([[0, 21845], [1, 65535]]));
}

/// Issue 15 item 7: a taken RPC or p2p port stops `tao node` before its banner with a message
/// naming the port and the flag that changes it (exit 1, no panic).
#[test]
fn a_taken_port_is_named_before_the_banner() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port().to_string();
    let free = free_port().to_string();
    for (rpc_port, p2p_port, message) in [
        (
            &taken_port,
            &free,
            format!(
                "error: node: the RPC port {taken_port} is already in use (address \
                 127.0.0.1:{taken_port}): stop what holds it, or pick another port with \
                 --rpc-port PORT"
            ),
        ),
        (
            &free,
            &taken_port,
            format!(
                "error: node: the p2p port {taken_port} is already in use (address \
                 127.0.0.1:{taken_port}): stop what holds it, or pick another port with \
                 --p2p-port PORT"
            ),
        ),
    ] {
        let data = tempfile::tempdir().unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_tao"))
            .args([
                "node",
                "--dev",
                "--rpc-port",
                rpc_port,
                "--p2p-port",
                p2p_port,
                "--data-dir",
            ])
            .arg(data.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(&message), "{message:?} in {stderr}");
        assert!(!stderr.contains("tao node: chain"), "no banner: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
