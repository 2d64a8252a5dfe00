//! Chain commands over `tao-client`: balances, transfers, subnets, registration, stake,
//! weights, serving. Reads print tables (or `--json`); writes wait for finality and print the
//! block, or the chain's error.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use tao_client::{Client, Finalized};
use tao_keys::{Keypair, PublicKey};
use tao_primitives::{AccountId, NetUid};
use tao_rpc_api::{TaoApiClient, TxStatus};
use tao_state::tx::{Call, HyperparamValue};

use crate::amount::{format_amount, parse_amount};
use crate::commands::wallet::{PasswordArgs, WalletArgs};
use crate::output::{Output, table};

/// Which node to talk to.
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// `local` (ws://127.0.0.1:9944) or a ws:// URL.
    #[arg(
        long,
        env = "TAO_NETWORK",
        hide_env_values = true,
        default_value = "local"
    )]
    pub network: String,
    /// Seconds to wait for the node (connection, requests).
    #[arg(long = "timeout", default_value_t = 10)]
    pub timeout_s: u64,
    /// Seconds to wait for a transaction to be finalized.
    #[arg(long = "wait-finality", default_value_t = 60)]
    pub finality_s: u64,
}

impl NetworkArgs {
    async fn client(&self) -> anyhow::Result<Client> {
        Ok(Client::connect(&self.network, Duration::from_secs(self.timeout_s)).await?)
    }
}

/// Keys and network for a signed call.
#[derive(Debug, Args)]
pub struct SignerArgs {
    #[command(flatten)]
    network: NetworkArgs,
    #[command(flatten)]
    wallet: WalletArgs,
    #[command(flatten)]
    password: PasswordArgs,
}

impl SignerArgs {
    fn coldkey(&self, out: &Output) -> anyhow::Result<Keypair> {
        let wallet = self.wallet.wallet()?;
        let source = self.password.source();
        Ok(wallet.coldkey(|| {
            if source == tao_wallet::PasswordSource::Prompt && !out.prompt {
                return Err(tao_wallet::WalletError::Password(
                    "the coldkey is encrypted: pass --password-env VAR or --password-file PATH"
                        .into(),
                ));
            }
            Ok(source.read("Coldkey password: ")?.to_string())
        })?)
    }

    fn hotkey(&self) -> anyhow::Result<Keypair> {
        let wallet = self.wallet.wallet()?;
        Ok(wallet.hotkey(&self.wallet.hotkey, || {
            Err(tao_wallet::WalletError::PasswordRequired)
        })?)
    }

    fn hotkey_public(&self) -> anyhow::Result<PublicKey> {
        Ok(self.wallet.wallet()?.hotkeypub(&self.wallet.hotkey)?)
    }
}

/// Subnet commands.
#[derive(Debug, Subcommand)]
pub enum SubnetsCommand {
    /// Every subnet.
    List(NetworkArgs),
    /// One subnet's pool, prices and schedule.
    Show {
        /// The subnet.
        netuid: u16,
        #[command(flatten)]
        network: NetworkArgs,
    },
    /// A subnet's neurons with their stake and epoch terms.
    Metagraph {
        /// The subnet.
        netuid: u16,
        #[command(flatten)]
        network: NetworkArgs,
    },
    /// A subnet's hyperparameters.
    Hyperparameters {
        /// The subnet.
        netuid: u16,
        #[command(flatten)]
        network: NetworkArgs,
    },
    /// What creating a subnet costs now.
    LockCost(NetworkArgs),
    /// What registering on a subnet costs now.
    BurnCost {
        /// The subnet.
        netuid: u16,
        #[command(flatten)]
        network: NetworkArgs,
    },
    /// Create a subnet (the wallet's hotkey becomes uid 0), paying the lock cost.
    Create(SignerArgs),
    /// Start emissions on a subnet you own.
    Start {
        /// The subnet.
        netuid: u16,
        #[command(flatten)]
        signer: SignerArgs,
    },
    /// Set a hyperparameter of a subnet you own (or any, as sudo).
    SetHyperparameter {
        /// The subnet.
        netuid: u16,
        /// Parameter name, as `hyperparameters` prints it.
        parameter: String,
        /// New value (`true`/`false`, a number, or `low,high` for alpha_values).
        value: String,
        #[command(flatten)]
        signer: SignerArgs,
    },
}

/// Stake commands.
#[derive(Debug, Subcommand)]
pub enum StakeCommand {
    /// Stake TAO to a hotkey on a subnet.
    Add {
        /// The subnet.
        #[arg(long)]
        netuid: u16,
        /// TAO to stake (1.5, 1.5tao, 1500000000rao).
        #[arg(long)]
        amount: String,
        /// Hotkey to stake to (SS58); defaults to the wallet's hotkey.
        #[arg(long = "hotkey-address")]
        hotkey_address: Option<String>,
        #[command(flatten)]
        signer: SignerArgs,
    },
    /// Unstake alpha from a hotkey on a subnet.
    Remove {
        /// The subnet.
        #[arg(long)]
        netuid: u16,
        /// Alpha to unstake.
        #[arg(long)]
        amount: String,
        /// Hotkey staked to (SS58); defaults to the wallet's hotkey.
        #[arg(long = "hotkey-address")]
        hotkey_address: Option<String>,
        #[command(flatten)]
        signer: SignerArgs,
    },
    /// The wallet's stake positions.
    List {
        #[command(flatten)]
        network: NetworkArgs,
        #[command(flatten)]
        wallet: WalletArgs,
    },
}

/// Weight commands.
#[derive(Debug, Subcommand)]
pub enum WeightsCommand {
    /// Set the wallet hotkey's weights on a subnet.
    Set {
        /// The subnet.
        #[arg(long)]
        netuid: u16,
        /// Destination uids, comma-separated.
        #[arg(long, value_delimiter = ',')]
        uids: Vec<u16>,
        /// Weights in the same order (any scale).
        #[arg(long, value_delimiter = ',')]
        weights: Vec<u16>,
        /// Version key of your validator software.
        #[arg(long, default_value_t = 0)]
        version_key: u64,
        #[command(flatten)]
        signer: SignerArgs,
    },
}

/// Axon commands.
#[derive(Debug, Subcommand)]
pub enum AxonCommand {
    /// Publish the wallet hotkey's axon endpoint on a subnet.
    Serve {
        /// The subnet.
        #[arg(long)]
        netuid: u16,
        /// Public IPv4 address.
        #[arg(long)]
        ip: std::net::Ipv4Addr,
        /// Port.
        #[arg(long)]
        port: u16,
        #[command(flatten)]
        signer: SignerArgs,
    },
}

/// A node error as the client reports it (the node's message, e.g. the chain's error).
fn rpc_error(error: impl Into<tao_client::ClientError>) -> tao_client::ClientError {
    error.into()
}

/// A subnet read that must find the subnet.
fn found<T>(value: Option<T>, netuid: u16) -> anyhow::Result<T> {
    value.with_context(|| format!("subnet {netuid} does not exist (see `tao subnets list`)"))
}

/// Parses an SS58 address with a message that says what to do.
fn address(text: &str) -> anyhow::Result<AccountId> {
    let public = PublicKey::from_ss58(text)
        .with_context(|| format!("{text:?} is not an SS58 address (5…)"))?;
    Ok(AccountId(public.to_bytes()))
}

#[derive(Debug, Serialize)]
struct TxReport {
    block: String,
    number: u64,
    success: bool,
    error: Option<String>,
}

/// Submits `call` signed by `pair`, shows progress, and fails with the chain's error.
async fn submit(
    network: &NetworkArgs,
    pair: &Keypair,
    call: Call,
    out: &Output,
) -> anyhow::Result<()> {
    let client = network.client().await?;
    let quiet = out.json;
    let finalized: Finalized = client
        .submit_and_watch(
            pair,
            call,
            Duration::from_secs(network.finality_s),
            |status| {
                if !quiet {
                    match status {
                        TxStatus::Ready => eprintln!("… submitted, waiting for a block"),
                        TxStatus::InBlock { number, .. } => {
                            eprintln!("… in block {number}, waiting for finality")
                        }
                        _ => {}
                    }
                }
            },
        )
        .await?;
    let report = TxReport {
        block: format!(
            "0x{}",
            finalized
                .block
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ),
        number: finalized.number,
        success: finalized.success,
        error: finalized.error.clone(),
    };
    out.show(&report, || {
        let mut t = table(&["finalized in block", "hash", "result"]);
        let result = if report.success {
            "ok".to_owned()
        } else {
            format!("failed: {}", report.error.clone().unwrap_or_default())
        };
        t.add_row(vec![
            report.number.to_string(),
            report.block.clone(),
            result,
        ]);
        t
    })?;
    if !finalized.success {
        bail!(
            "the call failed on chain: {} (the fee was paid)",
            finalized.error.unwrap_or_default()
        );
    }
    Ok(())
}

/// `tao balance`.
pub async fn balance(
    network: &NetworkArgs,
    wallet: &WalletArgs,
    address_text: Option<&str>,
    out: &Output,
) -> anyhow::Result<()> {
    let who = match address_text {
        Some(text) => PublicKey::from_bytes(address(text)?.0),
        None => wallet.wallet()?.coldkeypub()?,
    };
    let client = network.client().await?;
    let view = client
        .rpc()
        .await?
        .state_get_account(who.to_ss58())
        .await
        .map_err(rpc_error)?;
    #[derive(Serialize)]
    struct Balance {
        address: String,
        free_rao: u64,
        nonce: u64,
    }
    let balance = Balance {
        address: who.to_ss58(),
        free_rao: view.free_rao,
        nonce: view.nonce,
    };
    out.show(&balance, || {
        let mut t = table(&["address", "free"]);
        t.add_row(vec![
            balance.address.clone(),
            format_amount(balance.free_rao, "τ"),
        ]);
        t
    })
}

/// `tao transfer`.
pub async fn transfer(
    signer: &SignerArgs,
    dest: &str,
    amount: &str,
    out: &Output,
) -> anyhow::Result<()> {
    let dest = address(dest)?;
    let amount_rao = parse_amount(amount).map_err(anyhow::Error::msg)?;
    let pair = signer.coldkey(out)?;
    submit(
        &signer.network,
        &pair,
        Call::Transfer { dest, amount_rao },
        out,
    )
    .await
}

/// `tao register`.
pub async fn register(signer: &SignerArgs, netuid: u16, out: &Output) -> anyhow::Result<()> {
    let hotkey = AccountId(signer.hotkey_public()?.to_bytes());
    let pair = signer.coldkey(out)?;
    submit(
        &signer.network,
        &pair,
        Call::BurnedRegister {
            netuid: NetUid(netuid),
            hotkey,
            limit_rao: u64::MAX,
        },
        out,
    )
    .await
}

/// `tao subnets …`.
pub async fn subnets(command: SubnetsCommand, out: &Output) -> anyhow::Result<()> {
    match command {
        SubnetsCommand::List(network) => {
            let subnets = network
                .client()
                .await?
                .rpc()
                .await?
                .subnet_info_get_subnets_info()
                .await
                .map_err(rpc_error)?;
            out.show(&subnets, || {
                let mut t = table(&["netuid", "symbol", "owner", "n", "tempo", "burn", "started"]);
                for s in &subnets {
                    t.add_row(vec![
                        s.netuid.to_string(),
                        s.symbol.clone(),
                        s.owner_coldkey.to_ss58_text(),
                        s.n.to_string(),
                        s.tempo.to_string(),
                        format_amount(s.burn_rao, "τ"),
                        s.started.to_string(),
                    ]);
                }
                t
            })
        }
        SubnetsCommand::Show { netuid, network } => {
            let rpc = network.client().await?.rpc().await?;
            let info = rpc
                .subnet_info_get_dynamic_info(NetUid(netuid))
                .await
                .map_err(rpc_error)?;
            let info = found(info, netuid)?;
            out.show(&info, || {
                let mut t = table(&["field", "value"]);
                t.add_row(vec![
                    "price".to_owned(),
                    format_amount(info.price_rao_per_alpha, "τ/α"),
                ]);
                t.add_row(vec![
                    "TAO in pool".to_owned(),
                    format_amount(info.tao_in_rao, "τ"),
                ]);
                t.add_row(vec![
                    "alpha in pool".to_owned(),
                    format_amount(info.alpha_in, &info.symbol),
                ]);
                t.add_row(vec![
                    "alpha staked".to_owned(),
                    format_amount(info.alpha_out, &info.symbol),
                ]);
                t.add_row(vec!["tempo".to_owned(), info.tempo.to_string()]);
                t.add_row(vec![
                    "next epoch in (blocks)".to_owned(),
                    info.blocks_until_next_epoch.to_string(),
                ]);
                t
            })
        }
        SubnetsCommand::Metagraph { netuid, network } => {
            let rpc = network.client().await?.rpc().await?;
            let graph = rpc
                .subnet_info_get_metagraph(NetUid(netuid))
                .await
                .map_err(rpc_error)?;
            let graph = found(graph, netuid)?;
            out.show(&graph, || {
                let mut t = table(&[
                    "uid",
                    "hotkey",
                    "stake",
                    "incentive",
                    "dividends",
                    "emission",
                    "vpermit",
                ]);
                for i in 0..graph.uids.len() {
                    t.add_row(vec![
                        graph.uids[i].to_string(),
                        graph.hotkeys[i].to_ss58_text(),
                        format_amount(graph.stake[i], &graph.dynamic.symbol),
                        format!("{:.4}", f64::from(graph.incentive[i]) / 65_535.0),
                        format!("{:.4}", f64::from(graph.dividends[i]) / 65_535.0),
                        format_amount(graph.emission[i], &graph.dynamic.symbol),
                        graph.validator_permit[i].to_string(),
                    ]);
                }
                t
            })
        }
        SubnetsCommand::Hyperparameters { netuid, network } => {
            let rpc = network.client().await?.rpc().await?;
            let params = rpc
                .subnet_info_get_subnet_hyperparams(NetUid(netuid))
                .await
                .map_err(rpc_error)?;
            let params = found(params, netuid)?;
            out.show(&params, || {
                let mut t = table(&["hyperparameter", "value"]);
                if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(&params) {
                    for (name, value) in map {
                        t.add_row(vec![name, value.to_string()]);
                    }
                }
                t
            })
        }
        SubnetsCommand::LockCost(network) => {
            let cost = network
                .client()
                .await?
                .rpc()
                .await?
                .subnet_info_get_lock_cost()
                .await
                .map_err(rpc_error)?;
            out.show(&serde_json::json!({ "lock_cost_rao": cost }), || {
                let mut t = table(&["lock cost"]);
                t.add_row(vec![format_amount(cost, "τ")]);
                t
            })
        }
        SubnetsCommand::BurnCost { netuid, network } => {
            let burn = network
                .client()
                .await?
                .rpc()
                .await?
                .subnet_info_get_burn(NetUid(netuid))
                .await
                .map_err(rpc_error)?;
            let burn = found(burn, netuid)?;
            out.show(
                &serde_json::json!({ "netuid": netuid, "burn_rao": burn }),
                || {
                    let mut t = table(&["netuid", "registration burn"]);
                    t.add_row(vec![netuid.to_string(), format_amount(burn, "τ")]);
                    t
                },
            )
        }
        SubnetsCommand::Create(signer) => {
            let hotkey = AccountId(signer.hotkey_public()?.to_bytes());
            let pair = signer.coldkey(out)?;
            submit(
                &signer.network,
                &pair,
                Call::RegisterNetwork {
                    hotkey,
                    identity: None,
                },
                out,
            )
            .await
        }
        SubnetsCommand::Start { netuid, signer } => {
            let pair = signer.coldkey(out)?;
            submit(
                &signer.network,
                &pair,
                Call::StartCall {
                    netuid: NetUid(netuid),
                },
                out,
            )
            .await
        }
        SubnetsCommand::SetHyperparameter {
            netuid,
            parameter,
            value,
            signer,
        } => {
            let value = HyperparamValue::parse(&parameter, &value).map_err(anyhow::Error::msg)?;
            let pair = signer.coldkey(out)?;
            submit(
                &signer.network,
                &pair,
                Call::SetHyperparam {
                    netuid: NetUid(netuid),
                    value,
                },
                out,
            )
            .await
        }
    }
}

/// `tao stake …`.
pub async fn stake(command: StakeCommand, out: &Output) -> anyhow::Result<()> {
    match command {
        StakeCommand::Add {
            netuid,
            amount,
            hotkey_address,
            signer,
        } => {
            let hotkey = staked_hotkey(&signer, hotkey_address.as_deref())?;
            let amount_rao = parse_amount(&amount).map_err(anyhow::Error::msg)?;
            let pair = signer.coldkey(out)?;
            submit(
                &signer.network,
                &pair,
                Call::AddStake {
                    hotkey,
                    netuid: NetUid(netuid),
                    amount_rao,
                    limit: None,
                },
                out,
            )
            .await
        }
        StakeCommand::Remove {
            netuid,
            amount,
            hotkey_address,
            signer,
        } => {
            let hotkey = staked_hotkey(&signer, hotkey_address.as_deref())?;
            let alpha = parse_amount(&amount).map_err(anyhow::Error::msg)?;
            let pair = signer.coldkey(out)?;
            submit(
                &signer.network,
                &pair,
                Call::RemoveStake {
                    hotkey,
                    netuid: NetUid(netuid),
                    alpha,
                    limit: None,
                },
                out,
            )
            .await
        }
        StakeCommand::List { network, wallet } => {
            let coldkey = wallet.wallet()?.coldkeypub()?;
            let rpc = network.client().await?.rpc().await?;
            let stakes = rpc
                .stake_info_get_stake_info_for_coldkey(coldkey.to_ss58())
                .await
                .map_err(rpc_error)?;
            out.show(&stakes, || {
                let mut t = table(&["netuid", "hotkey", "alpha", "value"]);
                for s in &stakes {
                    t.add_row(vec![
                        s.netuid.to_string(),
                        s.hotkey.to_ss58_text(),
                        format_amount(s.alpha, "α"),
                        format_amount(s.tao_value_rao, "τ"),
                    ]);
                }
                t
            })
        }
    }
}

fn staked_hotkey(signer: &SignerArgs, given: Option<&str>) -> anyhow::Result<AccountId> {
    match given {
        Some(text) => address(text),
        None => Ok(AccountId(signer.hotkey_public()?.to_bytes())),
    }
}

/// `tao weights set`.
pub async fn weights(command: WeightsCommand, out: &Output) -> anyhow::Result<()> {
    let WeightsCommand::Set {
        netuid,
        uids,
        weights,
        version_key,
        signer,
    } = command;
    if uids.len() != weights.len() {
        bail!(
            "--uids has {} entries and --weights {}: give one weight per uid",
            uids.len(),
            weights.len()
        );
    }
    let pair = signer.hotkey()?;
    submit(
        &signer.network,
        &pair,
        Call::SetWeights {
            netuid: NetUid(netuid),
            uids,
            values: weights,
            version_key,
        },
        out,
    )
    .await
}

/// `tao axon serve`.
pub async fn axon(command: AxonCommand, out: &Output) -> anyhow::Result<()> {
    let AxonCommand::Serve {
        netuid,
        ip,
        port,
        signer,
    } = command;
    let pair = signer.hotkey()?;
    let call = Call::ServeAxon {
        netuid: NetUid(netuid),
        version: 1,
        ip: u128::from(u32::from(ip)),
        port,
        ip_type: 4,
        protocol: 4,
    };
    submit(&signer.network, &pair, call, out).await
}

/// Accounts as SS58 in tables.
trait Ss58Text {
    fn to_ss58_text(&self) -> String;
}

impl Ss58Text for AccountId {
    fn to_ss58_text(&self) -> String {
        PublicKey::from_bytes(self.0).to_ss58()
    }
}
