//! `dummy-axon`: serve the subnet template's `Dummy` synapse (`dummy_output = dummy_input * 2`)
//! and the streaming `DummyStream` (the words of `text`, one chunk each). Prints one JSON line
//! when listening.

use std::process::ExitCode;

use tao_axon::demo::{Args, Dummy, DummyStream, keypair_from_args};
use tao_axon::{Axon, AxonConfig, Handler};

const USAGE: &str =
    "usage: dummy-axon [--port 8091] [--ip 0.0.0.0] [--external-ip IP] [--external-port PORT]
                  [--no-rate-limit] (--mnemonic PHRASE | --uri //Alice |
                  --wallet.path DIR --wallet.name NAME --wallet.hotkey HOTKEY)";

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse(
        std::env::args().skip(1),
        &["help", "no-rate-limit", "metrics"],
    );
    if args.has("help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dummy-axon: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: &Args) -> Result<(), String> {
    let key = keypair_from_args(args)?;
    let port: u16 = args.parsed("port", args.parsed("axon.port", 8091)?)?;
    let ip: std::net::IpAddr = args.parsed("ip", [0, 0, 0, 0].into())?;
    let mut config = AxonConfig {
        bind: (ip, port).into(),
        external_ip: args
            .get("external-ip")
            .or(args.get("axon.external_ip"))
            .map(str::to_owned),
        external_port: match args.get("external-port").or(args.get("axon.external_port")) {
            Some(p) => Some(p.parse().map_err(|_| format!("bad external port {p:?}"))?),
            None => None,
        },
        ..AxonConfig::default()
    };
    if args.has("no-rate-limit") {
        config.rate_limit = None;
    }
    config.serve_metrics = args.has("metrics");
    let mut axon = Axon::new(key, config);
    axon.attach(Handler::<Dummy>::forward(|mut s, _| async move {
        // An input whose double is not an i64 is refused (500), never answered wrongly.
        let doubled = s
            .dummy_input
            .checked_mul(2)
            .ok_or_else(|| format!("dummy_input {} * 2 overflows i64", s.dummy_input))?;
        s.dummy_output = Some(doubled);
        Ok(s)
    }));
    axon.attach(Handler::<DummyStream>::streaming(|s, _, tx| async move {
        for word in s.text.split_whitespace() {
            tx.send(format!("{word} "))
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }));
    let running = axon
        .serve()
        .await
        .map_err(|e| format!("cannot listen: {e}"))?;
    let target = running.target();
    println!(
        "{}",
        serde_json::json!({
            "event": "listening",
            "address": running.local_addr().to_string(),
            "external_ip": target.ip,
            "external_port": target.port,
            "hotkey": target.hotkey,
        })
    );
    std::future::pending::<()>().await;
    Ok(())
}
