//! `docs/subnet-guide.md`, run as written: every `tao` command of its `sh` blocks, in order,
//! against a dev node (started here on a free port instead of `tao node --dev`), with the
//! `<… coldkey>` placeholders filled in and free ports for the axons. `miner run` and
//! `validator run` go to the background. Then what the guide promises: the better miner
//! earns more, and the validator earns dividends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::{Duration, Instant};

use common::{Env, column, free_port, index_of, start_node, wait_for_node};

/// The `tao` command lines of the guide's `sh` blocks, comments and `&` removed.
fn guide_commands() -> Vec<String> {
    let text = include_str!("../../../docs/subnet-guide.md");
    let mut commands = Vec::new();
    let mut in_sh = false;
    for line in text.lines() {
        match line.trim() {
            "```sh" => in_sh = true,
            "```" => in_sh = false,
            command if in_sh && command.starts_with("tao ") => {
                let command = command.split(" #").next().unwrap_or(command);
                commands.push(command.trim().trim_end_matches('&').trim().to_owned());
            }
            _ => {}
        }
    }
    commands
}

#[test]
fn the_subnet_guide_works_as_written() {
    let commands = guide_commands();
    assert!(commands.len() > 20, "{commands:?}");
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let node = start_node(&data.path().join("node"), port);
    let env = Env {
        wallets: tempfile::tempdir().unwrap(),
        logs: tempfile::tempdir().unwrap(),
        network: format!("ws://127.0.0.1:{port}"),
    };
    wait_for_node(&env);

    let mut background = Vec::new();
    for command in &commands {
        if command == "tao node --dev" {
            continue;
        }
        let mut line = command.clone();
        while let Some(start) = line.find('<') {
            let end = line[start..].find('>').unwrap() + start;
            let wallet = line[start + 1..end]
                .split_whitespace()
                .next()
                .unwrap()
                .to_owned();
            line.replace_range(start..=end, &env.wallet_field(&wallet, "coldkey"));
        }
        for fixed in ["8091", "8092"] {
            line = line.replace(
                &format!("--axon.port {fixed}"),
                &format!("--axon.port {}", free_port()),
            );
        }
        let args: Vec<&str> = line.split_whitespace().skip(1).collect();
        if line.contains(" run ") {
            let name = format!("{}-{}", args[0], background.len());
            background.push(env.spawn(&name, &args));
            continue;
        }
        // A hyperparameter sent in the admin freeze window is refused: "send it again".
        let tries = if line.contains("set-hyperparameter") {
            8
        } else {
            1
        };
        let mut failure = None;
        for attempt in 0..tries {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(700));
            }
            let output = env.tao(&args);
            failure = (!output.status.success())
                .then(|| String::from_utf8_lossy(&output.stderr).into_owned());
            if failure.is_none() {
                break;
            }
        }
        assert!(failure.is_none(), "`{line}` failed: {failure:?}");
    }

    // The subnet is netuid 3, as the guide says, and the better miner earns more.
    let (miner1, miner2, validator) = (
        env.wallet_field("miner1", "hotkey"),
        env.wallet_field("miner2", "hotkey"),
        env.wallet_field("validator", "hotkey"),
    );
    let started = Instant::now();
    loop {
        let graph = env.metagraph("3");
        let incentive = |h: &str| column(&graph, "incentive", index_of(&graph, h));
        let dividends = column(&graph, "dividends", index_of(&graph, &validator));
        if incentive(&miner2) > 0 && incentive(&miner1) > incentive(&miner2) && dividends > 0 {
            eprintln!(
                "miner1 {} miner2 {} validator dividends {dividends}",
                incentive(&miner1),
                incentive(&miner2)
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the guide's subnet did not pay by quality: {graph}\n{}",
            background.last().map(|p| p.log_tail()).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    // Issue 15 item 8: the miners' axons said they answered (the first request at once).
    let miners: Vec<_> = background
        .iter()
        .filter(|p| {
            p.log
                .file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("miner"))
        })
        .collect();
    assert!(!miners.is_empty());
    for miner in miners {
        let log = std::fs::read_to_string(&miner.log).unwrap();
        assert!(
            log.contains("axon: answered requests since the last summary"),
            "{}",
            miner.log_tail()
        );
    }
    drop(background);
    drop(node);
}
