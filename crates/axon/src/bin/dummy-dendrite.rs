//! `dummy-dendrite`: query one or more axons (`ip:port:hotkey_ss58`) with the `Dummy` synapse, or
//! with `DummyStream` given `--stream TEXT`, and print the results as a JSON array.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;
use tao_axon::demo::{Args, Dummy, DummyStream, keypair_from_args};
use tao_axon::{AxonTarget, Dendrite};

const USAGE: &str = "usage: dummy-dendrite [--input 21 | --stream TEXT] [--timeout 12]
                      (--mnemonic PHRASE | --uri //Alice |
                      --wallet.path DIR --wallet.name NAME --wallet.hotkey HOTKEY)
                      IP:PORT:HOTKEY...";

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse(std::env::args().skip(1), &["help"]);
    if args.has("help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match run(&args).await {
        Ok(all_ok) => {
            if all_ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("dummy-dendrite: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: &Args) -> Result<bool, String> {
    let key = keypair_from_args(args)?;
    let targets = args
        .positional
        .iter()
        .map(|t| t.parse::<AxonTarget>().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    if targets.is_empty() {
        return Err("no axon given".into());
    }
    let timeout = Duration::from_secs_f64(args.parsed("timeout", 12.0f64)?.max(0.001));
    let dendrite = Dendrite::new(key);
    let mut out = Vec::new();
    if let Some(text) = args.get("stream") {
        let synapse = DummyStream {
            text: text.to_owned(),
        };
        for target in &targets {
            let entry = match dendrite.call_stream(target, &synapse, timeout).await {
                Err(e) => {
                    json!({"axon": target.to_string(), "status_code": e.status_code(), "status_message": e.to_string()})
                }
                Ok(mut stream) => {
                    let mut chunks = Vec::new();
                    let mut error = None;
                    while let Some(chunk) = stream.next_chunk().await {
                        match chunk {
                            Ok(c) => chunks.push(String::from_utf8_lossy(&c).into_owned()),
                            Err(e) => error = Some(e),
                        }
                    }
                    let (code, message) = match error {
                        Some(e) => (e.status_code(), e.to_string()),
                        None => (stream.status_code, stream.status_message.clone()),
                    };
                    json!({
                        "axon": target.to_string(),
                        "status_code": code,
                        "status_message": message,
                        "latency_ms": stream.elapsed().as_secs_f64() * 1e3,
                        "chunks": chunks,
                        "text": chunks.concat(),
                    })
                }
            };
            out.push(entry);
        }
    } else {
        let synapse = Dummy {
            dummy_input: args.parsed("input", 21i64)?,
            dummy_output: None,
        };
        for (target, r) in targets
            .iter()
            .zip(dendrite.query(&targets, &synapse, timeout).await)
        {
            out.push(json!({
                "axon": target.to_string(),
                "status_code": r.status_code,
                "status_message": r.status_message,
                "latency_ms": r.latency.as_secs_f64() * 1e3,
                "dummy_output": r.synapse.and_then(|s| s.dummy_output),
            }));
        }
    }
    let all_ok = out.iter().all(|e| e["status_code"] == 200);
    println!("{}", serde_json::Value::Array(out));
    Ok(all_ok)
}
