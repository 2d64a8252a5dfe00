//! `tao-bench`: floods a running network with signed transfers and reports finalized
//! throughput and finality latency. See the crate README for the reproducing commands.

use std::time::Duration;

use clap::Parser;
use tao_bench::{FloodConfig, Report, run};

/// Flood a running Tao network (e.g. `tao localnet --block-time-ms 250`) with transfers.
#[derive(Debug, Parser)]
#[command(name = "tao-bench", version)]
struct Args {
    /// Validator WebSocket endpoints, comma-separated (default: the four of `tao localnet`).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ws://127.0.0.1:9944,ws://127.0.0.1:9945,ws://127.0.0.1:9946,ws://127.0.0.1:9947"
    )]
    endpoints: Vec<String>,
    /// Fresh accounts that send (funded from //Alice first).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    accounts: u32,
    /// Transfers per account (at most the pool's per-sender limit, 256).
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..=256))]
    txs_per_account: u32,
    /// Concurrent submissions per endpoint.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1024))]
    in_flight: u64,
    /// Offered load, transfers per second over all endpoints (0: as fast as they are accepted).
    #[arg(long, default_value_t = 2_000)]
    rate: u32,
    /// Seconds to wait for every transfer to finalize.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn print(report: &Report) {
    println!("submitted           {}", report.submitted);
    println!("accepted            {}", report.accepted);
    for (reason, count) in &report.rejected {
        println!("rejected            {count}  ({reason})");
    }
    println!("finalized           {}", report.finalized);
    println!("submit time         {:.2} s", report.submit_seconds);
    println!("first submit → last final {:.2} s", report.total_seconds);
    println!("finalized transfers {:.0} /s", report.finalized_per_second);
    println!(
        "finality latency    p50 {:.3} s  p99 {:.3} s  max {:.3} s",
        report.latency_p50, report.latency_p99, report.latency_max
    );
    println!(
        "blocks              {} (at most {} bench transfers in one)",
        report.blocks, report.max_block_txs
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = FloodConfig {
        endpoints: args.endpoints,
        accounts: args.accounts,
        txs_per_account: args.txs_per_account,
        in_flight: usize::try_from(args.in_flight)?,
        rate_per_second: (args.rate > 0).then_some(args.rate),
        timeout: Duration::from_secs(args.timeout_secs),
    };
    let report = run(&config).await?;
    if args.json {
        let rejected: serde_json::Map<String, serde_json::Value> = report
            .rejected
            .iter()
            .map(|(reason, count)| (reason.clone(), (*count).into()))
            .collect();
        let json = serde_json::json!({
            "submitted": report.submitted,
            "accepted": report.accepted,
            "rejected": rejected,
            "finalized": report.finalized,
            "submit_seconds": report.submit_seconds,
            "total_seconds": report.total_seconds,
            "finalized_per_second": report.finalized_per_second,
            "latency_seconds": {
                "p50": report.latency_p50,
                "p99": report.latency_p99,
                "max": report.latency_max,
            },
            "blocks": report.blocks,
            "max_block_txs": report.max_block_txs,
        });
        println!("{json:#}");
    } else {
        print(&report);
    }
    if report.finalized < report.accepted {
        anyhow::bail!(
            "{} accepted transfers were not finalized within {} s",
            report.accepted - report.finalized,
            args.timeout_secs
        );
    }
    Ok(())
}
