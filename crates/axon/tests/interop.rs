//! Interoperability with the real bittensor SDK (10.5.0) over loopback:
//! (a) a Python dendrite queries the Rust `dummy-axon` (plain, fan-out, streaming, and a bad
//! signature and a replay that must be refused), (b) the Rust dendrite queries a Python axon
//! (plain and streaming).
//!
//! Needs `.venv-bittensor` (create it with `scripts/install-python-sdk.sh`; `.ci/run` does).
//! Without it each Python test prints why and passes without checking anything. One test
//! needs no Python: the Rust `dummy-dendrite` against the `dummy-axon` binary.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use tao_axon::demo::{Dummy, DummyStream};
use tao_axon::{AxonTarget, Dendrite};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

fn python() -> Option<PathBuf> {
    let p = root().join(".venv-bittensor/bin/python");
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: {} is missing; run scripts/install-python-sdk.sh to enable the bittensor interop tests",
            p.display()
        );
        None
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the child on drop (a failing test must not leave servers behind).
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Wait up to `secs` for a stdout line containing `marker`.
fn wait_for_line(child: &mut Child, marker: &str, secs: u64) -> String {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(marker) => return line,
            Ok(_) => {}
            Err(_) => panic!("no line containing {marker:?} within {secs} s"),
        }
    }
}

#[test]
fn dummy_axon_refuses_an_input_whose_double_overflows() {
    let port = free_port();
    let mut axon = Guard(
        Command::new(env!("CARGO_BIN_EXE_dummy-axon"))
            .args(["--port", &port.to_string(), "--mnemonic", MINER_MN])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_for_line(&mut axon.0, "listening", 30);
    let target = format!("127.0.0.1:{port}:{MINER_SS58}");
    let query = |input: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_dummy-dendrite"))
            .args(["--mnemonic", VALI_MN, "--input", input, &target])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0].clone()
    };
    let fine = query("21");
    assert_eq!(fine["status_code"], 200, "{fine}");
    assert_eq!(fine["dummy_output"], 42, "{fine}");
    let overflow = query(&i64::MAX.to_string());
    assert_eq!(overflow["status_code"], 500, "{overflow}");
    assert!(
        overflow["status_message"]
            .as_str()
            .unwrap_or_default()
            .contains("overflows"),
        "{overflow}"
    );
    assert_eq!(
        overflow["dummy_output"],
        serde_json::Value::Null,
        "{overflow}"
    );
}

#[test]
fn python_dendrite_queries_rust_axon() {
    let Some(python) = python() else { return };
    let port = free_port();
    let mut axon = Guard(
        Command::new(env!("CARGO_BIN_EXE_dummy-axon"))
            .args(["--port", &port.to_string(), "--mnemonic", MINER_MN])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_for_line(&mut axon.0, "listening", 30);
    let out = Command::new(python)
        .current_dir(scripts())
        .args(["py_dendrite.py", &port.to_string()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["plain"]["status"], 200, "{v}");
    assert_eq!(v["plain"]["message"], "Success", "{v}");
    assert_eq!(v["plain"]["dummy_output"], 42, "{v}");
    assert_eq!(v["fanout"], serde_json::json!(vec![10; 16]), "{v}");
    assert_eq!(v["stream"]["status"], 200, "{v}");
    assert_eq!(
        v["stream"]["chunks"]
            .as_array()
            .map(|c| c.iter().filter_map(|s| s.as_str()).collect::<String>()),
        Some("hello from the stream ".to_owned()),
        "{v}"
    );
    assert_eq!(v["bad_signature"]["status"], 401, "{v}");
    assert!(
        v["bad_signature"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Signature mismatch"),
        "{v}"
    );
    assert_eq!(v["replay"]["first"]["status"], 200, "{v}");
    assert_eq!(v["replay"]["again"]["status"], 401, "{v}");
}

#[test]
fn rust_dendrite_queries_python_axon() {
    let Some(python) = python() else { return };
    let port = free_port();
    let mut axon = Guard(
        Command::new(python)
            .current_dir(scripts())
            .args(["py_axon.py", &port.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_for_line(&mut axon.0, "axon up", 90);
    // uvicorn starts in a thread after the line is printed: wait until it accepts connections.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the Python axon never listened"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let target = AxonTarget {
            ip: "127.0.0.1".into(),
            port,
            hotkey: MINER_SS58.into(),
        };
        let d = Dendrite::new(vali());
        let t = Duration::from_secs(12);
        let r = d
            .call(
                &target,
                Dummy {
                    dummy_input: 21,
                    dummy_output: None,
                },
                t,
            )
            .await;
        assert_eq!(r.status_code, 200, "{}", r.status_message);
        assert_eq!(r.status_message, "Success");
        assert_eq!(r.synapse.unwrap().dummy_output, Some(42));
        let many = d
            .query(
                &vec![target.clone(); 8],
                &Dummy {
                    dummy_input: 5,
                    dummy_output: None,
                },
                t,
            )
            .await;
        let codes: Vec<_> = many
            .iter()
            .map(|r| (r.status_code, r.status_message.clone()))
            .collect();
        assert!(
            many.iter()
                .all(|r| r.synapse.as_ref().and_then(|s| s.dummy_output) == Some(10)),
            "{codes:?}"
        );
        let mut s = d
            .call_stream(
                &target,
                &DummyStream {
                    text: "hello from the stream".into(),
                },
                t,
            )
            .await
            .unwrap();
        assert_eq!(s.status_code, 200, "{}", s.status_message);
        let text = String::from_utf8(s.collect().await.unwrap()).unwrap();
        assert_eq!(text, "hello from the stream ");
        // The Python axon refuses a request addressed to another hotkey.
        let mut wrong = target.clone();
        wrong.hotkey = VALI_SS58.into();
        let r = d
            .call(
                &wrong,
                Dummy {
                    dummy_input: 1,
                    dummy_output: None,
                },
                t,
            )
            .await;
        assert_eq!(r.status_code, 401, "{}", r.status_message);
    });
    // The example binary, as a user would run it.
    let out = Command::new(env!("CARGO_BIN_EXE_dummy-dendrite"))
        .args([
            "--mnemonic",
            VALI_MN,
            &format!("127.0.0.1:{port}:{MINER_SS58}"),
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["status_code"], 200, "{v}");
    assert_eq!(v[0]["dummy_output"], 42, "{v}");
}
