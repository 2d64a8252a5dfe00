//! `axon-bench`: load benchmark of the axon and the dendrite on loopback.
//!
//! 1. Throughput: a Rust axon (full signature and nonce verification, rate limit off) under
//!    `--connections` (64) keep-alive connections, each sending pre-signed `Dummy` requests back
//!    to back (signing happens before the clock starts so the client's sr25519 cost does not
//!    count against the axon on a shared machine). Prints verified requests/s, p50 and p99.
//! 2. Fan-out: one dendrite queries `--axons` (256) axons in this process; prints the time of
//!    the first (cold: new connections) and of later (warm: pooled) fan-outs.
//!
//! With `--target ip:port:hotkey` the throughput phase loads that axon instead (for example a
//! Python SDK axon, to compare) and the fan-out phase is skipped.
//!
//! `cargo run --release -p tao-axon --bin axon-bench -- [--connections 64] [--per-connection 400] [--axons 256] [--target IP:PORT:HOTKEY]`

use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tao_axon::demo::{Args, Dummy};
use tao_axon::{Axon, AxonConfig, Dendrite, Handler, PreparedRequest};
use tao_keys::Keypair;

fn main() -> ExitCode {
    let args = Args::parse(std::env::args().skip(1), &[]);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("axon-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("axon-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn config() -> AxonConfig {
    AxonConfig {
        bind: ([127, 0, 0, 1], 0).into(),
        rate_limit: None,
        max_concurrent: 1024,
        ..AxonConfig::default()
    }
}

fn dummy_axon(key: Keypair) -> Axon {
    let mut axon = Axon::new(key, config());
    axon.attach(Handler::<Dummy>::forward(|mut s, _| async move {
        s.dummy_output = Some(s.dummy_input.wrapping_mul(2)); // inputs here are small
        Ok(s)
    }));
    axon
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

async fn run(args: &Args) -> Result<(), String> {
    let connections: usize = args.parsed("connections", 64)?;
    let per_connection: usize = args.parsed("per-connection", 400)?;
    let axons: usize = args.parsed("axons", 256)?;
    let external: Option<tao_axon::AxonTarget> = match args.get("target") {
        Some(t) => Some(
            t.parse()
                .map_err(|e: tao_axon::ClientError| e.to_string())?,
        ),
        None => None,
    };
    let miner = Keypair::from_uri("//Miner").map_err(|e| e.to_string())?;
    let running = dummy_axon(miner).serve().await.map_err(|e| e.to_string())?;
    let target = external.clone().unwrap_or_else(|| running.target());

    // Pre-sign: one dendrite (uuid) per connection; timeout 60 s keeps the nonces fresh.
    let mut batches: Vec<Vec<PreparedRequest>> = Vec::new();
    for c in 0..connections {
        let d = Dendrite::new(Keypair::from_uri(&format!("//Vali{c}")).map_err(|e| e.to_string())?);
        let mut batch = Vec::with_capacity(per_connection);
        for i in 0..per_connection {
            let s = Dummy {
                dummy_input: i as i64,
                dummy_output: None,
            };
            batch.push(d.prepare(&target, &s, 60.0).map_err(|e| e.to_string())?);
        }
        batches.push(batch);
    }
    let addr: std::net::SocketAddr = match &external {
        Some(t) => format!("{}:{}", t.ip, t.port)
            .parse()
            .map_err(|e| format!("{e}"))?,
        None => running.local_addr(),
    };
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for batch in batches {
        tasks.spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| e.to_string())?;
            let _ = stream.set_nodelay(true);
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            let mut latencies = Vec::with_capacity(batch.len());
            let mut ok = 0usize;
            for p in batch {
                let mut b = http::Request::post(format!("/{}", "Dummy"));
                for (k, v) in &p.headers {
                    b = b.header(k.as_str(), v.as_str());
                }
                b = b.header("host", addr.to_string());
                let req = b
                    .body(Full::new(Bytes::from(p.body)))
                    .map_err(|e| e.to_string())?;
                let t = Instant::now();
                let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
                let status = resp.status();
                let _ = resp
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| e.to_string())?;
                latencies.push(t.elapsed());
                if status == 200 {
                    ok += 1;
                }
            }
            Ok::<_, String>((ok, latencies))
        });
    }
    let mut ok = 0;
    let mut latencies = Vec::new();
    while let Some(r) = tasks.join_next().await {
        let (n, l) = r.map_err(|e| e.to_string())??;
        ok += n;
        latencies.extend(l);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let total = connections * per_connection;
    println!(
        "throughput: {connections} connections, {total} requests, {ok} verified 200s in {:.2} s = {:.0} req/s; latency p50 {:.2} ms, p99 {:.2} ms",
        elapsed.as_secs_f64(),
        ok as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
    );
    if ok != total {
        return Err(format!("{} requests failed", total - ok));
    }
    drop(running);
    if external.is_some() {
        return Ok(());
    }

    // Fan-out.
    let mut handles = Vec::with_capacity(axons);
    for i in 0..axons {
        let key = Keypair::from_uri(&format!("//Miner{i}")).map_err(|e| e.to_string())?;
        handles.push(dummy_axon(key).serve().await.map_err(|e| e.to_string())?);
    }
    let targets: Vec<_> = handles.iter().map(|h| h.target()).collect();
    let dendrite = Dendrite::new(Keypair::from_uri("//Validator").map_err(|e| e.to_string())?);
    let synapse = Dummy {
        dummy_input: 21,
        dummy_output: None,
    };
    let mut times = Vec::new();
    for round in 0..6 {
        let t = Instant::now();
        let results = dendrite
            .query(&targets, &synapse, Duration::from_secs(12))
            .await;
        let took = t.elapsed();
        let good = results
            .iter()
            .filter(|r| r.synapse.as_ref().and_then(|s| s.dummy_output) == Some(42))
            .count();
        if good != axons {
            return Err(format!(
                "fan-out round {round}: only {good}/{axons} answered 42"
            ));
        }
        times.push(took);
    }
    let warm: Vec<f64> = times[1..].iter().map(|t| t.as_secs_f64() * 1e3).collect();
    let mut sorted = warm.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "fan-out: {axons} axons, all 200/42; cold {:.1} ms, warm median {:.1} ms (rounds {warm:.1?})",
        times[0].as_secs_f64() * 1e3,
        sorted[sorted.len() / 2],
    );
    Ok(())
}
