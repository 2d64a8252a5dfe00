//! `tao node` (one validator) and `tao localnet` (four validator processes on loopback).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use tao_node::ChainSpec;
use tao_node::rpc::RpcLimits;
use tao_node::service::{self, NodeConfig};

/// The port the bittensor tools expect for a local chain.
pub const DEFAULT_RPC_PORT: u16 = 9944;
/// Prometheus port of `tao localnet`'s validator 0 (substrate's default metrics port).
pub const DEFAULT_METRICS_PORT: u16 = 9615;
/// Block time of `tao node --dev`, ms: quick feedback while developing.
pub const DEV_BLOCK_TIME_MS: u64 = 250;

/// `tao node`.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// One validator on the local spec, temporary data directory, RPC on 9944.
    #[arg(long)]
    dev: bool,
    /// Chain spec: `local`, `finney`, or a JSON file.
    #[arg(long, default_value = "local")]
    chain: String,
    /// File with this validator's ed25519 secret key (64 hex digits).
    #[arg(long, value_name = "FILE")]
    validator_key: Option<PathBuf>,
    /// Use the key derived from the seed identity of the spec's validator N (local specs).
    #[arg(long, value_name = "N", conflicts_with = "validator_key")]
    validator_index: Option<usize>,
    /// Data directory (state and consensus data); `--dev` uses a temporary one by default.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// JSON-RPC port (HTTP and WebSocket).
    #[arg(long, default_value_t = DEFAULT_RPC_PORT)]
    rpc_port: u16,
    /// JSON-RPC listen address.
    #[arg(long, default_value = "127.0.0.1")]
    rpc_addr: IpAddr,
    /// p2p port (default: this validator's port in the spec).
    #[arg(long)]
    p2p_port: Option<u16>,
    /// Stop after this height is finalized (smoke tests).
    #[arg(long, value_name = "HEIGHT")]
    exit_after_finalized: Option<u64>,
    /// Least time between blocks, ms (default: the spec's block time; 250 with `--dev`).
    /// Every validator of a chain must use the same value.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=600_000))]
    block_time_ms: Option<u64>,
    /// Serve Prometheus metrics on this port (`GET /metrics` on the RPC address); off unless
    /// given.
    #[arg(long, value_name = "PORT")]
    metrics_port: Option<u16>,
    /// Most RPC connections from one host (an IPv4 address or an IPv6 /64).
    #[arg(long, value_name = "N", default_value_t = RpcLimits::default().max_connections_per_ip,
          value_parser = clap::value_parser!(u32).range(1..))]
    rpc_max_connections_per_ip: u32,
    /// RPC calls per second one connection may sustain (heavy reads count 20).
    #[arg(long, value_name = "N", default_value_t = RpcLimits::default().calls_per_second,
          value_parser = positive_rate)]
    rpc_calls_per_second: f64,
    /// State-sized RPC reads (blocks, every subnet, neuron or delegate) per second the node
    /// serves over all connections together.
    #[arg(long, value_name = "N", default_value_t = RpcLimits::default().heavy_reads_per_second,
          value_parser = positive_rate)]
    rpc_heavy_reads_per_second: f64,
}

/// A rate above zero.
fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!("{text:?} is not a rate above 0 (calls per second)")),
    }
}

fn load_spec(chain: &str) -> anyhow::Result<ChainSpec> {
    if let Some(spec) = ChainSpec::named(chain) {
        return Ok(spec);
    }
    let text = std::fs::read_to_string(chain)
        .with_context(|| format!("--chain {chain}: not local, finney or a readable file"))?;
    ChainSpec::from_json(&text).with_context(|| format!("--chain {chain}"))
}

pub(crate) fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Runs `tao node`.
pub fn run_node(args: NodeArgs) -> anyhow::Result<()> {
    init_logs();
    let spec = if args.dev {
        service::dev_spec()
    } else {
        load_spec(&args.chain)?
    };
    let key = match (&args.validator_key, args.validator_index, args.dev) {
        (Some(path), _, _) => service::load_key(path)?,
        (None, Some(index), _) => service::seed_key(&spec, index)?,
        (None, None, true) => service::seed_key(&spec, 0)?,
        (None, None, false) => {
            bail!("pass --validator-key FILE (or --validator-index N on a local spec, or --dev)")
        }
    };
    let temporary;
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None if args.dev => {
            temporary = tempfile::Builder::new().prefix("tao-dev-").tempdir()?;
            temporary.path().to_path_buf()
        }
        None => bail!("pass --data-dir DIR"),
    };
    let config = NodeConfig {
        spec,
        key,
        data_dir,
        rpc_addr: SocketAddr::new(args.rpc_addr, args.rpc_port),
        p2p_port: args.p2p_port,
        exit_after_finalized: args.exit_after_finalized,
        block_time_ms: args.block_time_ms.or(args.dev.then_some(DEV_BLOCK_TIME_MS)),
        metrics_addr: args
            .metrics_port
            .map(|port| SocketAddr::new(args.rpc_addr, port)),
        rpc_limits: RpcLimits {
            max_connections_per_ip: args.rpc_max_connections_per_ip,
            calls_per_second: args.rpc_calls_per_second,
            // Two seconds' worth of calls at once after a rest, as by default.
            call_burst: 2.0 * args.rpc_calls_per_second,
            heavy_reads_per_second: args.rpc_heavy_reads_per_second,
            ..RpcLimits::default()
        },
    };
    config.check_ports()?;
    eprintln!(
        "tao node: chain {}, data {}, rpc http://{} and ws://{}",
        config.spec.id,
        config.data_dir.display(),
        config.rpc_addr,
        config.rpc_addr
    );
    service::run(config)?;
    Ok(())
}

/// `tao localnet`.
#[derive(Debug, Args)]
pub struct LocalnetArgs {
    /// Where the validators' data directories, logs and chain spec go (default: a temporary
    /// directory removed on exit).
    #[arg(long, value_name = "DIR")]
    base_dir: Option<PathBuf>,
    /// RPC port of validator 0; validator i listens on this + i.
    #[arg(long, default_value_t = DEFAULT_RPC_PORT)]
    rpc_port: u16,
    /// p2p port of validator 0; validator i listens on this + i.
    #[arg(long, default_value_t = 30333)]
    p2p_port: u16,
    /// Every validator stops after this height is finalized (smoke tests, CI).
    #[arg(long, value_name = "HEIGHT")]
    exit_after_finalized: Option<u64>,
    /// Prometheus port of validator 0; validator i serves `GET /metrics` on this + i.
    #[arg(long, default_value_t = DEFAULT_METRICS_PORT)]
    metrics_port: u16,
    /// Least time between blocks, ms (default: the local spec's, 1 000).
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=600_000))]
    block_time_ms: Option<u64>,
}

fn stop_requested() -> anyhow::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&flag);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::spawn(move || {
        runtime.block_on(async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{SignalKind, signal};
                if let Ok(mut term) = signal(SignalKind::terminate()) {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                } else {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            #[cfg(not(unix))]
            let _ = tokio::signal::ctrl_c().await;
        });
        set.store(true, Ordering::SeqCst);
    });
    Ok(flag)
}

fn terminate(child: &Child) {
    // SIGTERM through kill(1): the workspace forbids `unsafe`, so no direct libc call.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Runs `tao localnet`.
pub fn run_localnet(args: LocalnetArgs) -> anyhow::Result<()> {
    let stop = stop_requested()?;
    let temporary;
    let base = match args.base_dir {
        Some(dir) => dir,
        None => {
            temporary = tempfile::Builder::new().prefix("tao-localnet-").tempdir()?;
            temporary.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&base)?;
    let mut spec = ChainSpec::local();
    for (i, validator) in spec.validators.iter_mut().enumerate() {
        let port = args
            .p2p_port
            .checked_add(u16::try_from(i)?)
            .context("--p2p-port too high")?;
        validator.address = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port).to_string();
    }
    let spec_path = base.join("chain.json");
    std::fs::write(&spec_path, serde_json::to_string_pretty(&spec)?)?;
    let exe = std::env::current_exe()?;
    let mut children: Vec<(usize, Child)> = Vec::new();
    println!(
        "tao localnet: {} validators, data under {}",
        spec.validators.len(),
        base.display()
    );
    for i in 0..spec.validators.len() {
        let rpc_port = args
            .rpc_port
            .checked_add(u16::try_from(i)?)
            .context("--rpc-port too high")?;
        let metrics_port = args
            .metrics_port
            .checked_add(u16::try_from(i)?)
            .context("--metrics-port too high")?;
        let data_dir = base.join(format!("validator-{i}"));
        let log = std::fs::File::create(base.join(format!("validator-{i}.log")))?;
        let mut command = Command::new(&exe);
        command
            .arg("node")
            .arg("--chain")
            .arg(&spec_path)
            .arg("--validator-index")
            .arg(i.to_string())
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--rpc-port")
            .arg(rpc_port.to_string())
            .arg("--metrics-port")
            .arg(metrics_port.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        if let Some(height) = args.exit_after_finalized {
            command
                .arg("--exit-after-finalized")
                .arg(height.to_string());
        }
        if let Some(block_time_ms) = args.block_time_ms {
            command
                .arg("--block-time-ms")
                .arg(block_time_ms.to_string());
        }
        let child = command.spawn().context("starting a validator")?;
        println!(
            "  validator-{i}: rpc http://127.0.0.1:{rpc_port} ws://127.0.0.1:{rpc_port}  metrics http://127.0.0.1:{metrics_port}/metrics  log {}",
            base.join(format!("validator-{i}.log")).display()
        );
        children.push((i, child));
    }
    println!("Ctrl-C stops the network.");
    let mut failure = None;
    let mut stopping = false;
    while !children.is_empty() {
        if stop.load(Ordering::SeqCst) && !stopping {
            stopping = true;
            for (_, child) in &children {
                terminate(child);
            }
        }
        let mut still = Vec::new();
        for (i, mut child) in children {
            match child.try_wait()? {
                Some(status) => {
                    if !status.success() && !stopping && failure.is_none() {
                        failure = Some(format!("validator-{i} exited with {status}"));
                    }
                }
                None => still.push((i, child)),
            }
        }
        children = still;
        if failure.is_some() && !stopping {
            stopping = true;
            for (_, child) in &children {
                terminate(child);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    match failure {
        Some(message) => bail!("{message} (see its log under {})", base.display()),
        None => {
            println!("tao localnet: all validators stopped");
            Ok(())
        }
    }
}
