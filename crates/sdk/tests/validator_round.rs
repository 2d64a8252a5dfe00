//! One validator round against real axons on loopback: an honest miner, a wrong one, one
//! whose handler fails, one answering malformed JSON, one answering a body far over the
//! limit (the same answer, small, scores), a slow one, one whose port is closed and one that never served. Only the honest
//! miner scores; every other reply scores 0 and the round completes.

mod common;

use std::time::Duration;

use tao_axon::demo::Dummy;
use tao_axon::{Axon, AxonConfig, Dendrite, Handler};
use tao_sdk::{MinerContext, Rng, Subnet, Target, query_round};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Double;

impl Subnet for Double {
    type Synapse = Dummy;
    type Truth = i64;

    async fn answer(&self, request: Dummy, _miner: &MinerContext) -> Result<Dummy, String> {
        Ok(request)
    }

    fn challenge(&self, _target: &Target, rng: &mut Rng) -> (Dummy, i64) {
        let input = rng.below(1_000_000) as i64;
        (
            Dummy {
                dummy_input: input,
                dummy_output: None,
            },
            input * 2,
        )
    }

    fn score(&self, truth: &i64, answer: &Dummy) -> f64 {
        f64::from(u8::from(answer.dummy_output == Some(*truth)))
    }
}

fn local() -> AxonConfig {
    AxonConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..AxonConfig::default()
    }
}

async fn axon(index: usize, offset: Option<i64>, delay: Duration) -> tao_axon::AxonHandle {
    let mut axon = Axon::new(common::key(index), local());
    axon.attach(Handler::<Dummy>::forward(move |mut s, _| async move {
        tokio::time::sleep(delay).await;
        match offset {
            Some(offset) => {
                s.dummy_output = Some(s.dummy_input * 2 + offset);
                Ok(s)
            }
            None => Err("the model crashed".into()),
        }
    }));
    axon.serve().await.unwrap()
}

/// A hand-written miner: reads the request and answers status 200 with the correct answer
/// padded to `padding` bytes, or with `{"dummy_output":` (malformed) when `malformed`.
async fn raw_server(padding: usize, malformed: bool) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Some(input) = read_input(&mut stream).await else {
                    return;
                };
                let body = if malformed {
                    b"{\"dummy_output\":".to_vec()
                } else {
                    serde_json::to_vec(&serde_json::json!({
                        "dummy_input": input,
                        "dummy_output": input * 2,
                        "padding": "x".repeat(padding),
                    }))
                    .unwrap()
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    port
}

/// The `dummy_input` of one HTTP request on `stream`.
async fn read_input(stream: &mut tokio::net::TcpStream) -> Option<i64> {
    let mut data = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&data);
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })?
                .parse()
                .ok()?;
            if data.len() >= end + 4 + length {
                let body: serde_json::Value =
                    serde_json::from_slice(&data[end + 4..end + 4 + length]).ok()?;
                return body["dummy_input"].as_i64();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_correct_answers_score_and_bad_replies_score_zero() {
    let honest = axon(1, Some(0), Duration::ZERO).await;
    let wrong = axon(2, Some(1), Duration::ZERO).await;
    let failing = axon(3, None, Duration::ZERO).await;
    let slow = axon(4, Some(0), Duration::from_secs(30)).await;
    let padded = raw_server(1024, false).await;
    let malformed = raw_server(0, true).await;
    let huge = raw_server(8 << 20, false).await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let port = |h: &tao_axon::AxonHandle| Some(h.local_addr().port());
    let neurons = vec![
        common::neuron(0, common::key(0).public(), true, None),
        common::neuron(1, common::key(1).public(), false, port(&honest)),
        common::neuron(2, common::key(2).public(), false, port(&wrong)),
        common::neuron(3, common::key(3).public(), false, port(&failing)),
        common::neuron(4, common::key(4).public(), false, port(&slow)),
        common::neuron(5, common::key(5).public(), false, Some(malformed)),
        common::neuron(6, common::key(6).public(), false, Some(huge)),
        common::neuron(7, common::key(7).public(), false, Some(closed)),
        common::neuron(8, common::key(8).public(), false, None),
        common::neuron(9, common::key(9).public(), false, Some(padded)),
    ];
    let graph = common::graph(neurons);
    let targets = common::miner_targets(&graph);
    let dendrite = Dendrite::new(common::key(0));
    dendrite.set_max_response_bytes(1 << 20);
    let mut rng = Rng::seeded(7);
    for _ in 0..2 {
        let report = query_round(
            &Double,
            &dendrite,
            &graph,
            &targets,
            &mut rng,
            Duration::from_secs(2),
        )
        .await;
        let expected: Vec<(u16, f64)> = (1..=9)
            .map(|uid| (uid, if uid == 1 || uid == 9 { 1.0 } else { 0.0 }))
            .collect();
        assert_eq!(report.scores, expected);
        // The honest, wrong and padded miners answered usably; nobody else did (the same
        // padded answer over the 1 MiB limit is refused).
        assert_eq!(report.answered, 3);
    }
}
