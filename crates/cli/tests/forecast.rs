//! The Forecast market through the real binaries (issue 12): one `tao node --dev`, one subnet,
//! 12 miners (`tao miner run --subnet forecast`: naive, three seasonal, three AR and three
//! learned variants, a random guesser and a copier fed by a leak) and four validators
//! (`tao validator run --subnet forecast`): three honest, one holding ≈ 30 % of validator
//! stake that pushes a mediocre miner. Nobody types weights. The test waits until incentive
//! has formed, then reads `tao subnets audit` — what any user can run — and checks:
//! Spearman's ρ between each miner's true skill (its mean round score, recomputed from the
//! chain and the honest validators' published ledgers) and its incentive ≥ 0.9; the random
//! guesser and the copier together earn < 2 % of miner incentive; the honest validators
//! agree; the audit flags the dishonest validator (and no honest one) from its first weights
//! on, and its favoured miner's incentive stays within 2 points of what honest weights give it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::{Duration, Instant};

use common::{Env, free_port, start_node, wait_for_node};

/// Miners: name, flags. The variants of one strategy differ in their knobs (identical models
/// give identical forecasts, and the plagiarism check pays only the first).
const MINERS: [(&str, &[&str]); 12] = [
    ("naive", &["--strategy", "naive"]),
    (
        "seas1",
        &["--strategy", "seasonal", "--forecast.seasons", "1"],
    ),
    (
        "seas2",
        &["--strategy", "seasonal", "--forecast.seasons", "2"],
    ),
    (
        "seas3",
        &["--strategy", "seasonal", "--forecast.seasons", "3"],
    ),
    (
        "ar2",
        &[
            "--strategy",
            "ar",
            "--forecast.lags",
            "2",
            "--forecast.window-steps",
            "512",
            "--forecast.harmonics",
            "2",
        ],
    ),
    (
        "ar3",
        &[
            "--strategy",
            "ar",
            "--forecast.lags",
            "3",
            "--forecast.window-steps",
            "128",
            "--forecast.harmonics",
            "2",
        ],
    ),
    (
        "ar1",
        &[
            "--strategy",
            "ar",
            "--forecast.lags",
            "1",
            "--forecast.window-steps",
            "256",
            "--forecast.harmonics",
            "1",
        ],
    ),
    (
        "gbm1",
        &[
            "--strategy",
            "learned",
            "--forecast.seed",
            "1",
            "--forecast.window-steps",
            "512",
        ],
    ),
    (
        "gbm2",
        &[
            "--strategy",
            "learned",
            "--forecast.seed",
            "2",
            "--forecast.window-steps",
            "160",
        ],
    ),
    (
        "gbm3",
        &[
            "--strategy",
            "learned",
            "--forecast.seed",
            "3",
            "--forecast.window-steps",
            "224",
        ],
    ),
    ("random", &["--strategy", "random", "--forecast.seed", "7"]),
    ("copier", &["--strategy", "copier"]),
];
const HONEST: [&str; 3] = ["v1", "v2", "v3"];
const DISHONEST: &str = "vbad";
/// The miner the dishonest validator pushes (a seasonal one: mediocre).
const FAVOURED: &str = "seas1";
/// The copier's victim (a good AR miner whose answers leak to the copier once given).
const VICTIM: &str = "ar2";

/// Three blocks a step (0.45 s at 150 ms blocks: time for every model to answer), a 6-step
/// horizon and a short reveal grace, so that rounds fall due within seconds.
const SPEC: &str =
    r#"{"world": {"blocks_per_step": 3}, "horizon_steps": 6, "reveal_grace_blocks": 4}"#;

/// Spearman's rank correlation (average ranks for ties).
fn spearman(a: &[f64], b: &[f64]) -> f64 {
    fn ranks(values: &[f64]) -> Vec<f64> {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
        let mut ranks = vec![0.0; values.len()];
        let mut start = 0;
        while start < order.len() {
            let mut end = start;
            while end + 1 < order.len() && values[order[end + 1]] == values[order[start]] {
                end += 1;
            }
            let rank = (start + end) as f64 / 2.0;
            for &index in &order[start..=end] {
                ranks[index] = rank;
            }
            start = end + 1;
        }
        ranks
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let mean = (a.len() as f64 - 1.0) / 2.0;
    let cov: f64 = ra
        .iter()
        .zip(&rb)
        .map(|(x, y)| (x - mean) * (y - mean))
        .sum();
    let var_a: f64 = ra.iter().map(|x| (x - mean).powi(2)).sum();
    let var_b: f64 = rb.iter().map(|y| (y - mean).powi(2)).sum();
    cov / (var_a * var_b).sqrt()
}

/// Alpha stake of `hotkey` in the metagraph.
fn stake_of(graph: &serde_json::Value, hotkey: &str) -> u64 {
    common::column(graph, "stake_rao", common::index_of(graph, hotkey))
}

#[test]
fn forecast_market_pays_skill_and_the_audit_catches_the_dishonest_validator() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let _node = start_node(&data.path().join("node"), port);
    let env = Env {
        wallets: tempfile::tempdir().unwrap(),
        logs: tempfile::tempdir().unwrap(),
        network: format!("ws://127.0.0.1:{port}"),
    };
    wait_for_node(&env);
    let spec = data.path().join("forecast.json");
    std::fs::write(&spec, SPEC).unwrap();
    let spec = spec.to_str().unwrap();

    let netuid = common::subnet(&env);
    // Stakes large next to an epoch's emission, small next to the pool; then adjusted.
    let validator_names: Vec<&str> = HONEST.iter().copied().chain([DISHONEST]).collect();
    for name in &validator_names {
        common::funded_wallet(&env, name, "2000");
        env.json(&["register", "--netuid", &netuid, "--wallet.name", name]);
        let amount = if *name == DISHONEST { "25" } else { "20" };
        env.json(&[
            "stake",
            "add",
            "--netuid",
            &netuid,
            "--amount",
            amount,
            "--unsafe",
            "--wallet.name",
            name,
        ]);
    }
    let hotkey = |name: &str| env.wallet_field(name, "hotkey");
    let share_of_bad = || {
        let graph = env.metagraph(&netuid);
        let honest: u64 = HONEST.iter().map(|v| stake_of(&graph, &hotkey(v))).sum();
        let bad = stake_of(&graph, &hotkey(DISHONEST)) as f64;
        bad / (bad + honest as f64)
    };
    // Epochs pay the validators' stake meanwhile (more to the earlier): adjust to ≈ 30 %.
    let mut bad_share = share_of_bad();
    for _ in 0..60 {
        let buyers: &[&str] = match bad_share {
            s if s < 0.29 => &[DISHONEST],
            s if s > 0.32 => &HONEST,
            _ => break,
        };
        // Steps in proportion to the gap: emission keeps moving the target.
        let amount = format!("{:.2}", (200.0 * (bad_share - 0.305).abs()).max(1.0));
        for name in buyers {
            env.json(&[
                "stake",
                "add",
                "--netuid",
                &netuid,
                "--amount",
                &amount,
                "--unsafe",
                "--wallet.name",
                name,
            ]);
        }
        bad_share = share_of_bad();
    }
    let graph = env.metagraph(&netuid);
    for name in &validator_names {
        eprintln!("{name}: stake {}", stake_of(&graph, &hotkey(name)));
    }
    eprintln!(
        "the dishonest validator holds {:.1} % of validator stake",
        bad_share * 100.0
    );
    assert!((0.28..0.34).contains(&bad_share), "{bad_share}");

    for (name, _) in MINERS {
        common::funded_wallet(&env, name, "100");
        env.json(&["register", "--netuid", &netuid, "--wallet.name", name]);
    }
    let graph = env.metagraph(&netuid);
    let uid = |name: &str| {
        graph["uids"][common::index_of(&graph, &hotkey(name))]
            .as_u64()
            .unwrap()
    };
    let (favoured, victim) = (uid(FAVOURED).to_string(), uid(VICTIM).to_string());
    let copier_hotkey = hotkey("copier");

    // `tao <role> run --subnet forecast` for wallet `name`, its axon on a free port.
    let neuron = |role: &'static str, name: &'static str, axon_port: &str| -> Vec<String> {
        [
            role,
            "run",
            "--subnet",
            "forecast",
            "--netuid",
            &netuid,
            "--wallet.name",
            name,
        ]
        .into_iter()
        .chain(["--axon.port", axon_port, "--forecast.spec", spec])
        .map(str::to_owned)
        .collect()
    };
    let _miners: Vec<common::Proc> = MINERS
        .iter()
        .map(|(name, flags)| {
            let mut args = neuron("miner", name, &free_port().to_string());
            args.extend(["--axon.ip", "127.0.0.1"].map(str::to_owned));
            args.extend(flags.iter().map(|f| (*f).to_owned()));
            if *name == VICTIM {
                args.extend(["--forecast.leak-to".to_owned(), copier_hotkey.clone()]);
            }
            if *name == "copier" {
                args.extend(["--forecast.copy-from".to_owned(), victim.clone()]);
            }
            env.spawn(name, &args.iter().map(String::as_str).collect::<Vec<_>>())
        })
        .collect();
    let spawn_validator = |name: &'static str, extra: &[&str]| {
        let mut args = neuron("validator", name, &free_port().to_string());
        args.extend(
            ["--round-interval-ms", "1000", "--query-timeout-ms", "2000"]
                .iter()
                .chain(extra)
                .map(|a| (*a).to_owned()),
        );
        env.spawn(name, &args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let validators: Vec<common::Proc> = HONEST
        .iter()
        .map(|name| spawn_validator(name, &[]))
        .chain([spawn_validator(
            DISHONEST,
            &[
                "--forecast.favour",
                &favoured,
                "--forecast.favour-share",
                "0.3",
            ],
        )])
        .collect();

    let audit = || {
        let output = env.tao(&[
            "subnets",
            "audit",
            "--netuid",
            &netuid,
            "--forecast.spec",
            spec,
            "--json",
        ]);
        assert!(
            output.status.success(),
            "audit: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    let verdicts = |report: &serde_json::Value| -> Vec<(String, bool)> {
        report["audit"]["validators"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                let flagged = !v["flags"].as_array().unwrap().is_empty();
                (
                    v["validator"].as_str().unwrap_or_default().to_owned(),
                    flagged,
                )
            })
            .collect()
    };
    let dump = |why: &str| -> ! {
        for (proc, name) in validators.iter().zip(HONEST.iter().chain([&DISHONEST])) {
            eprintln!("--- {name}\n{}", proc.log_tail());
        }
        panic!("{why}");
    };

    // The audit flags the dishonest validator from its first weights on.
    let started = Instant::now();
    let first = loop {
        let report = audit();
        let bad = verdicts(&report)
            .into_iter()
            .find(|(v, _)| *v == hotkey(DISHONEST));
        if let Some((_, flagged)) = bad {
            break (report, flagged);
        }
        if started.elapsed() > Duration::from_secs(180) {
            dump("the dishonest validator set no weights in 180 s");
        }
        std::thread::sleep(Duration::from_secs(2));
    };
    eprintln!(
        "first audit with the dishonest validator's weights:\n{}",
        first.0["audit"]
    );
    assert!(
        first.1,
        "not flagged at its first weights: {}",
        first.0["audit"]
    );

    // Ten tempos of 20 blocks after the first weights, the market has formed.
    std::thread::sleep(Duration::from_millis(10 * 20 * 150));
    let report = audit();
    let text = env.tao(&[
        "subnets",
        "audit",
        "--netuid",
        &netuid,
        "--forecast.spec",
        spec,
    ]);
    eprintln!("{}", String::from_utf8_lossy(&text.stdout));

    for (validator, flagged) in verdicts(&report) {
        let dishonest = validator == hotkey(DISHONEST);
        assert_eq!(flagged, dishonest, "{validator}: {}", report["audit"]);
    }
    let miners = report["miners"].as_array().unwrap();
    let line = |name: &str| {
        let key = hotkey(name);
        miners
            .iter()
            .find(|m| m["hotkey"] == key.as_str())
            .unwrap()
            .clone()
    };
    let skill: Vec<f64> = MINERS
        .iter()
        .map(|(n, _)| line(n)["mean_score"].as_f64().unwrap())
        .collect();
    let incentive: Vec<f64> = MINERS
        .iter()
        .map(|(n, _)| line(n)["incentive"].as_f64().unwrap())
        .collect();
    let rho = spearman(&skill, &incentive);
    eprintln!("Spearman's rho between true skill and incentive: {rho:.3}");
    let cheats = line("random")["incentive"].as_f64().unwrap()
        + line("copier")["incentive"].as_f64().unwrap();
    let miner_total: f64 = incentive.iter().sum();
    eprintln!(
        "random + copier: {:.2} % of miner incentive",
        100.0 * cheats / miner_total
    );
    // What its skill earns: its share in the honest validators' weights on chain (the
    // weights the same epochs saw; the ledger replay is as of now, a tempo later).
    let favoured_uid: u64 = favoured.parse().unwrap();
    let honest_shares: Vec<f64> = report["audit"]["validators"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["validator"] != hotkey(DISHONEST).as_str())
        .map(|v| {
            v["on_chain"]
                .as_array()
                .unwrap()
                .iter()
                .find(|entry| entry[0].as_u64() == Some(favoured_uid))
                .map_or(0.0, |entry| entry[1].as_f64().unwrap())
        })
        .collect();
    let honest_share = honest_shares.iter().sum::<f64>() / honest_shares.len() as f64;
    let favoured_line = line(FAVOURED);
    let gap = favoured_line["incentive"].as_f64().unwrap() / miner_total - honest_share;
    eprintln!(
        "favoured miner: incentive share − its share of honest weights = {:+.2} points \
         (honest weights {honest_shares:.4?}; replayed now {:.4})",
        gap * 100.0,
        favoured_line["honest_weight"].as_f64().unwrap()
    );
    let honest_distances: Vec<f64> = report["audit"]["validators"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["validator"] != hotkey(DISHONEST).as_str())
        .map(|v| v["distance_to_consensus"].as_f64().unwrap())
        .collect();
    eprintln!("honest validators' distance to the honest consensus: {honest_distances:?}");
    let graph = env.metagraph(&netuid);
    for name in HONEST.iter().chain([&DISHONEST]) {
        let i = common::index_of(&graph, &hotkey(name));
        eprintln!(
            "{name}: validator_trust {} dividends {}",
            common::column(&graph, "validator_trust", i),
            common::column(&graph, "dividends", i)
        );
    }
    // The copier's copies arrive in time: what stops it is the plagiarism check.
    let copier = line("copier");
    let (copies, rounds) = (
        copier["copies"].as_u64().unwrap(),
        copier["rounds"].as_u64().unwrap(),
    );
    eprintln!("the copier was zeroed as a copy in {copies} of {rounds} rounds");
    assert!(copies * 2 >= rounds, "{copier}");
    if rho < 0.9 || cheats >= 0.02 * miner_total || gap.abs() > 0.02 {
        dump(&format!(
            "rho {rho:.3}, cheats {cheats:.4} of {miner_total:.4}, favoured gap {gap:+.4}"
        ));
    }
    assert!(
        honest_distances.iter().all(|d| *d < 0.1),
        "{honest_distances:?}"
    );
}
