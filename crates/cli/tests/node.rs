//! Process tests with the real `tao` binary: a dev node, a 4-validator localnet, and a
//! validator killed with SIGKILL right after accepting transactions, which restarts from its
//! data directory and catches up; every transaction is finalized exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `n` consecutive free ports, held (bound) until the listeners are dropped.
fn port_block(n: u16) -> (u16, Vec<std::net::TcpListener>) {
    loop {
        let base = free_port();
        if base > u16::MAX - n {
            continue;
        }
        let held: Vec<_> = (0..n)
            .filter_map(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).ok())
            .collect();
        if held.len() == usize::from(n) {
            return (base, held);
        }
    }
}

/// One JSON-RPC call over plain HTTP; `None` while the node is not answering.
fn rpc(port: u16, method: &str, params: serde_json::Value) -> Option<serde_json::Value> {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        .to_string();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (_, json) = response.split_once("\r\n\r\n")?;
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    value.get("result").cloned()
}

fn finalized(port: u16) -> Option<u64> {
    rpc(port, "system_health", serde_json::json!([]))?["finalized_number"].as_u64()
}

fn wait_for(port: u16, height: u64, within: Duration) -> u64 {
    let deadline = Instant::now() + within;
    let mut last = 0;
    while Instant::now() < deadline {
        if let Some(h) = finalized(port) {
            last = h;
            if h >= height {
                return h;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("port {port}: finalized {last}, wanted {height} within {within:?}");
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn terminate(child: &Child) {
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
}

fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn dev_node_answers_health_finalizes_and_stops_on_sigterm() {
    let (rpc_port, held) = port_block(2);
    let p2p_port = rpc_port + 1;
    drop(held);
    let started = Instant::now();
    let mut node = Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(["node", "--dev", "--rpc-port", &rpc_port.to_string()])
        .args(["--p2p-port", &p2p_port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let height = wait_for(rpc_port, 3, Duration::from_secs(60));
    eprintln!("dev node: height {height} after {:?}", started.elapsed());
    let health = rpc(rpc_port, "system_health", serde_json::json!([])).unwrap();
    assert_eq!(health["should_have_peers"], false);
    let header = rpc(rpc_port, "chain_getHeader", serde_json::json!([1])).unwrap();
    assert_eq!(header["number"], 1);
    terminate(&node);
    let status = wait_exit(&mut node, Duration::from_secs(20));
    assert!(status.success(), "{status}");
}

#[test]
fn a_taken_metrics_port_is_a_clear_error() {
    let (rpc_port, held) = port_block(2);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics_port = taken.local_addr().unwrap().port();
    drop(held);
    let mut node = Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(["node", "--dev", "--rpc-port", &rpc_port.to_string()])
        .args(["--p2p-port", &(rpc_port + 1).to_string()])
        .args(["--metrics-port", &metrics_port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_exit(&mut node, Duration::from_secs(30));
    let mut stderr = String::new();
    node.stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--metrics-port"), "{stderr}");
}

#[test]
fn localnet_finalizes_and_exits_after_the_requested_height() {
    let dir = tempfile::tempdir().unwrap();
    let (rpc_port, rpc_held) = port_block(4);
    let (p2p_port, p2p_held) = port_block(4);
    let (metrics_port, metrics_held) = port_block(4);
    drop((rpc_held, p2p_held, metrics_held));
    let started = Instant::now();
    let mut localnet = Command::new(env!("CARGO_BIN_EXE_tao"))
        .arg("localnet")
        .arg("--base-dir")
        .arg(dir.path())
        .args(["--rpc-port", &rpc_port.to_string()])
        .args(["--p2p-port", &p2p_port.to_string()])
        .args(["--metrics-port", &metrics_port.to_string()])
        .args(["--exit-after-finalized", "5"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_exit(&mut localnet, Duration::from_secs(120));
    let mut stdout = String::new();
    localnet
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert!(status.success(), "{status}: {stdout}");
    assert!(
        stdout.contains(&format!("http://127.0.0.1:{rpc_port}")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("http://127.0.0.1:{}", rpc_port + 3)),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("http://127.0.0.1:{}/metrics", metrics_port + 3)),
        "{stdout}"
    );
    eprintln!(
        "localnet: 5 blocks finalized and stopped in {:?}",
        started.elapsed()
    );
}

fn start_validator(exe: &str, spec: &Path, base: &Path, index: usize, rpc_port: u16) -> Child {
    let log = std::fs::File::create(base.join(format!("validator-{index}.log"))).unwrap();
    Command::new(exe)
        .arg("node")
        .arg("--chain")
        .arg(spec)
        .args(["--validator-index", &index.to_string()])
        .arg("--data-dir")
        .arg(base.join(format!("validator-{index}")))
        .args(["--rpc-port", &rpc_port.to_string()])
        .args(["--block-time-ms", "250"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// `//Dave` pays `//Eve` `count` transfers through validator `port`'s RPC (as fast as it
/// accepts them); returns the signed transactions.
fn submit_transfers(
    runtime: &tokio::runtime::Runtime,
    port: u16,
    count: u64,
) -> Vec<tao_types::tx::SignedTx> {
    runtime.block_on(async {
        let client =
            tao_client::Client::connect(&format!("ws://127.0.0.1:{port}"), Duration::from_secs(10))
                .await
                .unwrap();
        let dave = tao_keys::Keypair::from_uri("//Dave").unwrap();
        let eve = tao_keys::Keypair::from_uri("//Eve").unwrap();
        let mut txs = Vec::new();
        for i in 0..count {
            let call = tao_types::tx::Call::Transfer {
                dest: tao_primitives::AccountId(eve.public().to_bytes()),
                amount_rao: 1_000_000 + i,
            };
            let tx = client.sign(&dave, call).await.unwrap();
            client.submit(&tx).await.unwrap();
            txs.push(tx);
        }
        txs
    })
}

fn account(port: u16, uri: &str) -> (u64, u64) {
    let address = tao_keys::Keypair::from_uri(uri).unwrap().public().to_ss58();
    let view = rpc(port, "state_getAccount", serde_json::json!([address])).unwrap();
    (
        view["nonce"].as_u64().unwrap(),
        view["free_rao"].as_u64().unwrap(),
    )
}

#[test]
fn a_validator_killed_with_sigkill_restarts_and_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path();
    let mut spec = tao_node::ChainSpec::local();
    let (p2p_port, p2p_held) = port_block(4);
    let (rpc_port, rpc_held) = port_block(4);
    drop((p2p_held, rpc_held));
    for (i, validator) in spec.validators.iter_mut().enumerate() {
        validator.address = format!("127.0.0.1:{}", p2p_port + i as u16);
    }
    let spec_path = base.join("chain.json");
    std::fs::write(&spec_path, serde_json::to_string(&spec).unwrap()).unwrap();
    let exe = env!("CARGO_BIN_EXE_tao");
    let ports: Vec<u16> = (0..4).map(|i| rpc_port + i).collect();
    let mut nodes: Vec<Child> = (0..4)
        .map(|i| start_validator(exe, &spec_path, base, i, ports[i]))
        .collect();
    for port in &ports {
        wait_for(*port, 5, Duration::from_secs(90));
    }
    // Every validator sees the other three (read off the p2p layer every 2 s).
    let deadline = Instant::now() + Duration::from_secs(20);
    while rpc(ports[0], "system_health", serde_json::json!([])).unwrap()["peers"] != 3 {
        assert!(
            Instant::now() < deadline,
            "validator 0 never reported 3 peers"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (_, eve_before) = account(ports[0], "//Eve");
    // Transactions accepted by validator 2, which is killed the moment the last is accepted.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let txs = submit_transfers(&runtime, ports[2], 20);
    nodes[2].kill().unwrap(); // SIGKILL
    nodes[2].wait().unwrap();
    let killed_at = Instant::now();
    // The other three keep finalizing (3 of 4 is a quorum).
    let before = finalized(ports[0]).unwrap();
    let ahead = wait_for(ports[0], before + 5, Duration::from_secs(60));
    nodes[2] = start_validator(exe, &spec_path, base, 2, ports[2]);
    let caught_up = wait_for(ports[2], ahead, Duration::from_secs(90));
    eprintln!(
        "validator 2 caught up to {caught_up} (network at {ahead} on restart) {:?} after the kill",
        killed_at.elapsed()
    );
    // Same blocks everywhere.
    let a = rpc(ports[0], "chain_getHeader", serde_json::json!([ahead])).unwrap();
    let b = rpc(ports[2], "chain_getHeader", serde_json::json!([ahead])).unwrap();
    assert_eq!(a, b);

    // Nothing was applied twice, and nothing is lost for good: the client resubmits every
    // transaction; those already final are refused (stale nonce), the rest land once.
    let (final_before_resubmit, _) = account(ports[0], "//Dave");
    let mut refused = 0;
    for tx in &txs {
        let hex = format!("0x{}", hex_encode(&parity_scale_codec::Encode::encode(tx)));
        if rpc(ports[0], "author_submitExtrinsic", serde_json::json!([hex])).is_none() {
            refused += 1;
        }
    }
    // Those final before resubmission are refused (more may finalize while resubmitting).
    assert!(
        refused >= final_before_resubmit,
        "{refused} < {final_before_resubmit}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while account(ports[0], "//Dave").0 < 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let paid: u64 = (0..20).map(|i| 1_000_000 + i).sum();
    wait_for(
        ports[2],
        finalized(ports[0]).unwrap(),
        Duration::from_secs(30),
    );
    for port in [ports[0], ports[2]] {
        let (dave_nonce, _) = account(port, "//Dave");
        let (_, eve_after) = account(port, "//Eve");
        assert_eq!(dave_nonce, 20, "port {port}");
        assert_eq!(
            eve_after - eve_before,
            paid,
            "port {port}: each transfer exactly once"
        );
    }
    eprintln!(
        "{final_before_resubmit} of 20 transfers accepted by the killed validator were \
         finalized through gossip without resubmission"
    );
    for node in &nodes {
        terminate(node);
    }
    for node in &mut nodes {
        let status = wait_exit(node, Duration::from_secs(30));
        assert!(status.success(), "{status}");
    }
}
