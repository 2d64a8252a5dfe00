//! `tao miner run` and `tao validator run`: the subnets built into the binary, run on
//! `tao-sdk` with the flags a bittensor user knows.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use tao_sdk::{Chain, ChainConfig, MinerConfig, SdkError, ValidatorConfig};
use tao_subnet_forecast::ForecastSpec;
use tao_subnet_forecast::net::{self, CopySettings, ForecastService};
use tao_subnet_forecast::strategy::{self, ArConfig, StrategyConfig, StrategyKind};
use tao_subnet_template::{Behaviour, Template};

use crate::args::{FinalityArgs, NetworkArgs, WalletArgs};
use crate::output::usage;

/// The subnets this binary can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SubnetName {
    /// The template subnet: double the input (`subnets/template`).
    Template,
    /// Forecast: time series scored on truth that did not exist yet (`subnets/forecast`).
    Forecast,
}

/// What every neuron command needs.
#[derive(Debug, Args)]
pub struct NeuronArgs {
    /// Which subnet's code to run.
    #[arg(long, value_enum, default_value = "template")]
    subnet: SubnetName,
    /// The subnet's netuid on chain.
    #[arg(long)]
    netuid: u16,
    #[command(flatten)]
    network: NetworkArgs,
    #[command(flatten)]
    finality: FinalityArgs,
    #[command(flatten)]
    wallet: WalletArgs,
}

/// `tao miner …`.
#[derive(Debug, Subcommand)]
pub enum MinerCommand {
    /// Serve the subnet's synapse on an axon published on chain, until Ctrl-C.
    Run {
        #[command(flatten)]
        neuron: NeuronArgs,
        /// Port the axon listens on.
        #[arg(long = "axon.port", default_value_t = 8091)]
        axon_port: u16,
        /// Address the axon listens on.
        #[arg(long = "axon.ip", default_value = "0.0.0.0")]
        axon_ip: IpAddr,
        /// IP published on chain (default: the listen address, or 127.0.0.1 for 0.0.0.0 on
        /// chains that accept local addresses; required elsewhere).
        #[arg(long = "axon.external_ip")]
        axon_external_ip: Option<IpAddr>,
        /// Port published on chain (default: the listen port).
        #[arg(long = "axon.external_port")]
        axon_external_port: Option<u16>,
        #[command(flatten)]
        template: TemplateMinerArgs,
        #[command(flatten)]
        forecast: ForecastMinerArgs,
    },
}

/// The forecast subnet's spec (every neuron of a subnet must use the same).
#[derive(Debug, Args)]
pub struct ForecastSpecArgs {
    /// Forecast: the subnet's spec, a JSON file (missing fields take their defaults).
    #[arg(long = "forecast.spec")]
    forecast_spec: Option<PathBuf>,
}

impl ForecastSpecArgs {
    fn load(&self) -> anyhow::Result<ForecastSpec> {
        net::load_spec(self.forecast_spec.as_deref()).map_err(|e| usage(e.to_string()))
    }
}

/// The forecast miner's own options.
#[derive(Debug, Args)]
pub struct ForecastMinerArgs {
    #[command(flatten)]
    spec: ForecastSpecArgs,
    /// Forecast: the model (naive, seasonal, ar, learned; the cheats random, copier).
    #[arg(long, default_value = "ar", value_parser = strategy_kind)]
    strategy: StrategyKind,
    /// Forecast: seasons averaged by `seasonal`.
    #[arg(long = "forecast.seasons", default_value_t = 1)]
    seasons: usize,
    /// Forecast: AR lags (`ar`, `learned`).
    #[arg(long = "forecast.lags")]
    lags: Option<usize>,
    /// Forecast: steps of history the AR model is fitted on (`ar`, `learned`).
    #[arg(long = "forecast.window-steps")]
    window_steps: Option<usize>,
    /// Forecast: season harmonics of the AR model (`ar`, `learned`).
    #[arg(long = "forecast.harmonics")]
    harmonics: Option<usize>,
    /// Forecast: seed of `random` and of the boosting's subsampling (`learned`).
    #[arg(long = "forecast.seed", default_value_t = 0)]
    seed: u64,
    /// Forecast: leak each answer, once given to a validator, to this hotkey (SS58): what a
    /// copier could buy or scrape (for demonstrating the plagiarism check).
    #[arg(long = "forecast.leak-to")]
    leak_to: Vec<String>,
    /// Forecast: with `--strategy copier`, the uid whose answers to copy.
    #[arg(long = "forecast.copy-from")]
    copy_from: Option<u16>,
}

fn strategy_kind(text: &str) -> Result<StrategyKind, String> {
    text.parse()
        .map_err(|e: tao_subnet_forecast::Error| e.to_string())
}

impl ForecastMinerArgs {
    fn strategy(&self) -> StrategyConfig {
        let defaults = ArConfig::default();
        StrategyConfig {
            kind: self.strategy,
            seed: self.seed,
            seasons: self.seasons,
            ar: ArConfig {
                lags: self.lags.unwrap_or(defaults.lags),
                window_steps: self.window_steps.unwrap_or(defaults.window_steps),
                harmonics: self.harmonics.unwrap_or(defaults.harmonics),
                ..defaults
            },
            ..StrategyConfig::default()
        }
    }

    fn copy(&self) -> anyhow::Result<CopySettings> {
        let leak_to = self
            .leak_to
            .iter()
            .map(|text| {
                tao_keys::PublicKey::from_ss58(text)
                    .map_err(|e| usage(format!("--forecast.leak-to {text:?}: {e}")))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if self.copy_from.is_some() && self.strategy != StrategyKind::Copier {
            return Err(usage("--forecast.copy-from needs --strategy copier"));
        }
        Ok(CopySettings {
            leak_to,
            copy_from: self.copy_from,
        })
    }
}

/// The template miner's own options.
#[derive(Debug, Args)]
pub struct TemplateMinerArgs {
    /// Template: share of correct answers, 0..=1.
    #[arg(long, default_value_t = 1.0, value_parser = quality)]
    quality: f64,
    /// Template: publish the axon but do not serve (a miner that is down).
    #[arg(long)]
    offline: bool,
    /// Template: answer with another miner's answer (a cheat the validators must defeat).
    #[arg(long, conflicts_with = "offline")]
    copier: bool,
}

fn quality(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(q) if (0.0..=1.0).contains(&q) => Ok(q),
        _ => Err(format!("{text:?} is not a number between 0 and 1")),
    }
}

/// `tao validator …`.
#[derive(Debug, Subcommand)]
pub enum ValidatorCommand {
    /// Query the subnet's miners, score them and set weights on schedule, until Ctrl-C.
    Run {
        #[command(flatten)]
        neuron: NeuronArgs,
        /// Where scores and pending commits are kept (default:
        /// WALLET_DIR/validator/HOTKEY/NETUID).
        #[arg(long = "state-dir")]
        state_dir: Option<PathBuf>,
        /// Time between rounds, ms.
        #[arg(long = "round-interval-ms", default_value_t = 2_000)]
        round_interval_ms: u64,
        /// How long each miner has to answer, ms.
        #[arg(long = "query-timeout-ms", default_value_t = 12_000)]
        query_timeout_ms: u64,
        /// Miners queried per round (a fresh random sample); default: all.
        #[arg(long = "sample-size")]
        sample_size: Option<usize>,
        /// Weight of one round in each miner's moving average (0..=1).
        #[arg(long = "ema-alpha", default_value_t = 0.1, value_parser = quality)]
        ema_alpha: f64,
        /// Blocks between weight updates (0: once per tempo).
        #[arg(long = "weights-interval-blocks", default_value_t = 0)]
        weights_interval_blocks: u64,
        /// Version key sent with weights.
        #[arg(long = "version-key", default_value_t = 0)]
        version_key: u64,
        #[command(flatten)]
        forecast: ForecastValidatorArgs,
    },
}

/// The forecast validator's own options.
#[derive(Debug, Args)]
pub struct ForecastValidatorArgs {
    #[command(flatten)]
    spec: ForecastSpecArgs,
    /// Forecast: port of the axon that publishes the validator's ledger.
    #[arg(long = "axon.port", default_value_t = 8092)]
    axon_port: u16,
    /// Forecast: IP published with the ledger axon (as for miners).
    #[arg(long = "axon.external_ip")]
    axon_external_ip: Option<IpAddr>,
    /// Forecast, a dishonest validator for demonstrations: push this uid (the audit flags
    /// it).
    #[arg(long = "forecast.favour")]
    favour: Option<u16>,
    /// Forecast: the share of weight `--forecast.favour` gives its uid.
    #[arg(long = "forecast.favour-share", default_value_t = 0.3, value_parser = quality)]
    favour_share: f64,
}

impl NeuronArgs {
    fn hotkey(&self) -> anyhow::Result<tao_keys::Keypair> {
        let wallet = self.wallet.wallet()?;
        wallet
            .hotkey(&self.wallet.hotkey, || {
                Err(tao_wallet::WalletError::PasswordRequired)
            })
            .map_err(|error| match error {
                tao_wallet::WalletError::NotFound(path) => usage(format!(
                    "wallet {:?} has no hotkey {:?} ({} is missing): create it with `tao wallet new-hotkey` or pass --wallet.hotkey",
                    self.wallet.name,
                    self.wallet.hotkey,
                    path.display()
                )),
                other => other.into(),
            })
    }

    async fn chain(&self) -> anyhow::Result<Chain> {
        let config = ChainConfig {
            endpoint: self.network.network.clone(),
            request_timeout_ms: self.network.timeout_s.saturating_mul(1_000),
            finality_timeout_ms: self.finality.finality_s.saturating_mul(1_000),
            ..ChainConfig::default()
        };
        Chain::connect(config).await.map_err(sdk_error)
    }
}

/// SDK errors that come from how the command was called are usage errors (exit 2).
fn sdk_error(error: SdkError) -> anyhow::Error {
    match error {
        SdkError::NoSuchSubnet(_) | SdkError::NotRegistered { .. } | SdkError::Config(_) => {
            usage(error.to_string())
        }
        SdkError::Client(tao_client::ClientError::BadEndpoint(_)) => usage(error.to_string()),
        other => other.into(),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Runs `tao miner …`.
pub fn miner(command: MinerCommand) -> anyhow::Result<()> {
    let MinerCommand::Run {
        neuron,
        axon_port,
        axon_ip,
        axon_external_ip,
        axon_external_port,
        template,
        forecast,
    } = command;
    crate::commands::node::init_logs();
    let hotkey = neuron.hotkey()?;
    let config = MinerConfig {
        netuid: neuron.netuid,
        bind: SocketAddr::new(axon_ip, axon_port),
        external_ip: axon_external_ip,
        external_port: axon_external_port,
        offline: template.offline,
        ..MinerConfig::default()
    };
    runtime()?.block_on(async {
        let chain = neuron.chain().await?;
        match neuron.subnet {
            SubnetName::Template => {
                let behaviour = if template.copier {
                    Behaviour::Copier
                } else {
                    Behaviour::Honest(template.quality)
                };
                let subnet = Arc::new(Template::new(behaviour));
                tao_sdk::run_miner(subnet, hotkey, chain, config, ctrl_c()).await
            }
            SubnetName::Forecast => {
                let service = ForecastService::new(
                    forecast.spec.load()?,
                    neuron.netuid,
                    chain.clone(),
                    hotkey.clone(),
                    strategy::build(&forecast.strategy()),
                    forecast.copy()?,
                )?;
                tao_sdk::run_miner(Arc::new(service), hotkey, chain, config, ctrl_c()).await
            }
        }
        .map_err(sdk_error)
    })
}

/// Runs `tao validator …`.
pub fn validator(command: ValidatorCommand) -> anyhow::Result<()> {
    let ValidatorCommand::Run {
        neuron,
        state_dir,
        round_interval_ms,
        query_timeout_ms,
        sample_size,
        ema_alpha,
        weights_interval_blocks,
        version_key,
        forecast,
    } = command;
    crate::commands::node::init_logs();
    let hotkey = neuron.hotkey()?;
    let state_dir = match state_dir {
        Some(dir) => dir,
        None => neuron
            .wallet
            .wallet()?
            .dir()
            .join("validator")
            .join(hotkey.public().to_ss58())
            .join(neuron.netuid.to_string()),
    };
    runtime()?.block_on(async {
        let chain = neuron.chain().await?;
        match neuron.subnet {
            SubnetName::Template => {
                let config = ValidatorConfig {
                    netuid: neuron.netuid,
                    state_dir,
                    round_interval_ms,
                    query_timeout_ms,
                    sample_size,
                    ema_alpha,
                    weights_interval_blocks,
                    version_key,
                    ..ValidatorConfig::default()
                };
                let subnet = Arc::new(Template::new(Behaviour::Honest(1.0)));
                tao_sdk::run_validator(subnet, hotkey, chain, config, ctrl_c())
                    .await
                    .map_err(sdk_error)
            }
            SubnetName::Forecast => {
                let options = net::ValidatorOptions {
                    netuid: neuron.netuid,
                    state_dir,
                    round_interval_ms,
                    query_timeout_ms,
                    weights_interval_blocks,
                    version_key,
                    ledger_axon: MinerConfig {
                        netuid: neuron.netuid,
                        bind: SocketAddr::new(IpAddr::from([0, 0, 0, 0]), forecast.axon_port),
                        external_ip: forecast.axon_external_ip,
                        ..MinerConfig::default()
                    },
                    favour: forecast.favour.map(|uid| (uid, forecast.favour_share)),
                    ..net::ValidatorOptions::default()
                };
                let spec = forecast.spec.load()?;
                net::run_validator(spec, hotkey, chain, options, ctrl_c())
                    .await
                    .map_err(forecast_error)
            }
        }
    })
}

/// Forecast errors that come from how the command was called are usage errors (exit 2).
fn forecast_error(error: tao_subnet_forecast::Error) -> anyhow::Error {
    use tao_subnet_forecast::Error as E;
    match error {
        E::Spec { .. } | E::SpecFile { .. } => usage(error.to_string()),
        other => other.into(),
    }
}

/// Runs `tao subnets audit`: the forecast subnet's public audit and its miners' record.
pub async fn audit(
    netuid: u16,
    network: &NetworkArgs,
    spec: &ForecastSpecArgs,
    out: &crate::output::Output,
) -> anyhow::Result<()> {
    let spec = spec.load()?;
    let config = ChainConfig {
        endpoint: network.network.clone(),
        request_timeout_ms: network.timeout_s.saturating_mul(1_000),
        ..ChainConfig::default()
    };
    let chain = Chain::connect(config).await.map_err(sdk_error)?;
    let report = net::gather(&spec, &chain, netuid)
        .await
        .map_err(forecast_error)?;
    if out.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}
