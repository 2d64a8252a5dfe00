//! `tao-bench`: load tools for a running network. `transfers` floods it with signed transfers
//! and reports finalized throughput and finality latency; `metagraph` fills a subnet and times
//! `tao subnets metagraph`. See the crate README for the reproducing commands.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tao_bench::metagraph::{self, Timing};
use tao_bench::{FloodConfig, Report, run};
use tao_client::Client;
use tao_primitives::NetUid;

/// Load tools for a running Tao network (e.g. `tao localnet --block-time-ms 250`).
#[derive(Debug, Parser)]
#[command(name = "tao-bench", version)]
struct Args {
    #[command(subcommand)]
    command: Bench,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Flood the validators with signed transfers; report finalized tx/s and finality latency.
    Transfers(TransferArgs),
    /// Fill a subnet with neurons (sudo //Alice) and time `tao subnets metagraph` on it.
    Metagraph(MetagraphArgs),
}

#[derive(Debug, clap::Args)]
struct TransferArgs {
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
    /// Connections per endpoint reading the chain in a loop during the flood (finality under
    /// RPC read load).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=256))]
    readers: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct MetagraphArgs {
    /// Node WebSocket endpoint.
    #[arg(long, default_value = "ws://127.0.0.1:9944")]
    endpoint: String,
    /// Subnet to fill and read.
    #[arg(long, default_value_t = 1)]
    netuid: u16,
    /// Neurons the subnet should hold.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u16).range(1..=4096))]
    uids: u16,
    /// Timed runs of each measurement.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    runs: u64,
    /// The `tao` binary to time (default: the one next to this binary).
    #[arg(long)]
    tao: Option<PathBuf>,
    /// Seconds to wait for the set-up transactions to finalize.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
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
    if report.reads_per_second > 0.0 {
        println!("reads meanwhile     {:.0} /s", report.reads_per_second);
    }
}

fn print_json(report: &Report) {
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
        "reads_per_second": report.reads_per_second,
    });
    println!("{json:#}");
}

async fn transfers(args: TransferArgs) -> anyhow::Result<()> {
    let config = FloodConfig {
        endpoints: args.endpoints,
        accounts: args.accounts,
        txs_per_account: args.txs_per_account,
        in_flight: usize::try_from(args.in_flight)?,
        rate_per_second: (args.rate > 0).then_some(args.rate),
        timeout: Duration::from_secs(args.timeout_secs),
        readers: usize::try_from(args.readers)?,
    };
    let report = run(&config).await?;
    if args.json {
        print_json(&report);
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

fn row(what: &str, timing: &Timing) {
    println!(
        "{what:<44} min {:>7.2} ms  p50 {:>7.2} ms  p90 {:>7.2} ms  ({} runs)",
        timing.min * 1e3,
        timing.p50 * 1e3,
        timing.p90 * 1e3,
        timing.runs
    );
}

async fn metagraph_bench(args: MetagraphArgs) -> anyhow::Result<()> {
    let tao = match args.tao {
        Some(path) => path,
        None => std::env::current_exe()?
            .parent()
            .context("no directory for this binary")?
            .join("tao"),
    };
    let netuid = NetUid(args.netuid);
    let runs = usize::try_from(args.runs)?;
    let client = Client::connect(&args.endpoint, Duration::from_secs(10)).await?;
    let timeout = Duration::from_secs(args.timeout_secs);
    let neurons = metagraph::fill_subnet(&client, netuid, args.uids, timeout).await?;
    println!("subnet {} holds {neurons} neurons", args.netuid);
    row(
        "metagraph read (JSON-RPC, open connection)",
        &metagraph::time_reads(&client, netuid, runs).await?,
    );
    let url = args.endpoint.clone();
    let command = tokio::task::spawn_blocking(move || {
        let json = metagraph::time_command(&tao, &url, netuid, &["--json"], runs)?;
        let table = metagraph::time_command(&tao, &url, netuid, &[], runs)?;
        anyhow::Ok((json, table))
    })
    .await??;
    row("`tao subnets metagraph --json` (process)", &command.0);
    row("`tao subnets metagraph` (process, table)", &command.1);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().command {
        Bench::Transfers(args) => transfers(args).await,
        Bench::Metagraph(args) => metagraph_bench(args).await,
    }
}
