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
use crate::output::{Output, table, usage};
use crate::progress::Progress;

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
    /// Connects to the node.
    pub async fn client(&self) -> anyhow::Result<Client> {
        Ok(Client::connect(&self.network, Duration::from_secs(self.timeout_s)).await?)
    }

    /// How long to wait for a transaction to be finalized.
    pub fn finality(&self) -> Duration {
        Duration::from_secs(self.finality_s)
    }
}

/// Keys and network for a signed call.
#[derive(Debug, Args)]
pub struct SignerArgs {
    #[command(flatten)]
    pub network: NetworkArgs,
    #[command(flatten)]
    pub wallet: WalletArgs,
    #[command(flatten)]
    pub password: PasswordArgs,
}

impl SignerArgs {
    /// The wallet's coldkey pair (asks for its password when allowed).
    pub fn coldkey(&self, out: &Output) -> anyhow::Result<Keypair> {
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

    /// The wallet's hotkey pair.
    pub fn hotkey(&self) -> anyhow::Result<Keypair> {
        let wallet = self.wallet.wallet()?;
        Ok(wallet.hotkey(&self.wallet.hotkey, || {
            Err(tao_wallet::WalletError::PasswordRequired)
        })?)
    }

    /// The wallet hotkey's public key.
    pub fn hotkey_public(&self) -> anyhow::Result<PublicKey> {
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
pub fn rpc_error(error: impl Into<tao_client::ClientError>) -> tao_client::ClientError {
    error.into()
}

/// A subnet read that must find the subnet.
pub fn found<T>(value: Option<T>, netuid: u16) -> anyhow::Result<T> {
    value.with_context(|| {
        format!("subnet does not exist: no subnet {netuid} (see `tao subnets list`)")
    })
}

/// Parses an SS58 address with a message that says what to do.
pub fn address(text: &str) -> anyhow::Result<AccountId> {
    let public = PublicKey::from_ss58(text)
        .map_err(|_| usage(format!("{text:?} is not an SS58 address (5…)")))?;
    Ok(AccountId(public.to_bytes()))
}

/// Where a transaction was finalized and what its call did.
#[derive(Debug, Serialize)]
pub struct TxReport {
    /// Block hash, `0x`-hex.
    pub block: String,
    /// Block height.
    pub number: u64,
    /// Whether the call succeeded (the fee is paid either way).
    pub success: bool,
    /// The chain's error when it failed.
    pub error: Option<String>,
}

impl TxReport {
    /// `Ok` when the call succeeded, else the chain's error with what to do about it.
    pub fn into_result(self) -> anyhow::Result<()> {
        if self.success {
            return Ok(());
        }
        let error = self.error.unwrap_or_default();
        bail!(
            "the call failed on chain: {error} (the fee was paid){}",
            hint_suffix(&error)
        )
    }
}

/// What to do about a chain error, by its message (`reference/subtensor.md` §6.3 names).
fn hint(error: &str) -> Option<&'static str> {
    const HINTS: &[(&str, &str)] = &[
        (
            "insufficient balance",
            "check `tao wallet balance`; the fee comes out of the free balance too",
        ),
        (
            "slippage too high",
            "the price moved past your limit: raise --tolerance or --limit-price, or add --allow-partial",
        ),
        (
            "delegate take rate limit",
            "a take may rise only once per `take_rate_limit` blocks; lowering it is not rate-limited",
        ),
        (
            "delegate take too high",
            "an increase may not exceed the chain's maximum and a decrease must go below the current take (see `tao delegates list`)",
        ),
        (
            "delegate take too low",
            "an increase must go above the current take and a decrease may not go below the chain's minimum (see `tao delegates list`)",
        ),
        (
            "not enough stake to withdraw",
            "see `tao stake list` for what you hold",
        ),
        (
            "transfer disallowed",
            "the subnet owner has disabled stake transfers (hyperparameter transfers_enabled)",
        ),
        (
            "subnet not started",
            "the owner must run `tao subnets start` first",
        ),
        (
            "hotkey account does not exist",
            "the destination hotkey must be registered somewhere (or owned) first",
        ),
        (
            "commit-reveal is enabled",
            "this subnet uses commit-reveal: `tao weights commit`, then `tao weights reveal`",
        ),
        (
            "commit-reveal is disabled",
            "this subnet takes weights directly: `tao weights set`",
        ),
        (
            "reveal too early",
            "wait for the reveal epoch: `tao weights reveal --wait`",
        ),
        (
            "weight commit expired",
            "the reveal window passed: commit again",
        ),
        (
            "reveal does not match",
            "the saved uids, weights or salt differ from the commit",
        ),
        (
            "no weights commit found",
            "commit first with `tao weights commit`",
        ),
        (
            "already registered",
            "see `tao wallet overview` for the hotkey's registrations",
        ),
        ("subnet does not exist", "see `tao subnets list`"),
    ];
    HINTS
        .iter()
        .find(|(needle, _)| error.contains(needle))
        .map(|(_, hint)| *hint)
}

fn hint_suffix(error: &str) -> String {
    hint(error).map(|h| format!("; {h}")).unwrap_or_default()
}

/// A client error with what to do about it where the message is a chain error.
pub fn explain(error: tao_client::ClientError) -> anyhow::Error {
    let text = error.to_string();
    anyhow::anyhow!("{text}{}", hint_suffix(&text))
}

fn hex(bytes: &[u8]) -> String {
    format!(
        "0x{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// Signs and submits `call`, shows progress until it is finalized, and reports where.
pub async fn send(
    client: &Client,
    network: &NetworkArgs,
    pair: &Keypair,
    call: Call,
    out: &Output,
) -> anyhow::Result<TxReport> {
    let progress = Progress::start(out.json, "submitting");
    let watched = client
        .submit_and_watch(pair, call, network.finality(), |status| match status {
            TxStatus::Ready => progress.set("in the pool, waiting for a block"),
            TxStatus::InBlock { number, .. } => {
                progress.set(&format!("in block {number}, waiting for finality"))
            }
            _ => {}
        })
        .await;
    let finalized: Finalized = match watched {
        Ok(finalized) => finalized,
        Err(error) => {
            progress.finish("✗ not included");
            return Err(explain(error));
        }
    };
    let report = TxReport {
        block: hex(&finalized.block),
        number: finalized.number,
        success: finalized.success,
        error: finalized.error,
    };
    let mark = if report.success { "✓" } else { "✗" };
    progress.finish(&format!(
        "{mark} finalized in block {} ({})",
        report.number, report.block
    ));
    Ok(report)
}

/// Prints a transaction's report: JSON (with `details` under its key), or a table.
pub fn show_tx<T: Serialize>(
    out: &Output,
    report: &TxReport,
    details: Option<(&str, &T)>,
) -> anyhow::Result<()> {
    let mut json = serde_json::to_value(report)?;
    if let (Some((key, value)), serde_json::Value::Object(map)) = (details, &mut json) {
        map.insert(key.to_owned(), serde_json::to_value(value)?);
    }
    out.show(&json, || {
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
    })
}

/// Submits `call` signed by `pair`, shows progress, and fails with the chain's error.
async fn submit(
    network: &NetworkArgs,
    pair: &Keypair,
    call: Call,
    out: &Output,
) -> anyhow::Result<()> {
    let client = network.client().await?;
    submit_on(&client, network, pair, call, out).await
}

/// [`submit`] on an open connection.
pub async fn submit_on(
    client: &Client,
    network: &NetworkArgs,
    pair: &Keypair,
    call: Call,
    out: &Output,
) -> anyhow::Result<()> {
    let report = send(client, network, pair, call, out).await?;
    show_tx::<()>(out, &report, None)?;
    report.into_result()
}

/// Fails, before anything is signed, when `payer` cannot pay `amount_rao` plus the fee of
/// `call`: "insufficient balance: have …, need … plus … fee".
pub async fn ensure_affordable(
    client: &Client,
    payer: &PublicKey,
    amount_rao: u64,
    call: &Call,
) -> anyhow::Result<()> {
    let fee_rao = client
        .estimate_fee_rao(AccountId(payer.to_bytes()), call)
        .await?;
    let free_rao = client
        .rpc()
        .await?
        .state_get_account(payer.to_ss58())
        .await
        .map_err(rpc_error)?
        .free_rao;
    if free_rao < amount_rao.saturating_add(fee_rao) {
        bail!(
            "insufficient balance: have {}, need {} plus {} fee (see `tao wallet balance`)",
            format_amount(free_rao, "τ"),
            format_amount(amount_rao, "τ"),
            format_amount(fee_rao, "τ")
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
    let amount_rao = parse_amount(amount).map_err(usage)?;
    let client = signer.network.client().await?;
    let call = Call::Transfer { dest, amount_rao };
    let coldkey = signer.wallet.wallet()?.coldkeypub()?;
    ensure_affordable(&client, &coldkey, amount_rao, &call).await?;
    let pair = signer.coldkey(out)?;
    submit_on(&client, &signer.network, &pair, call, out).await
}

/// `tao register`.
pub async fn register(signer: &SignerArgs, netuid: u16, out: &Output) -> anyhow::Result<()> {
    let hotkey = AccountId(signer.hotkey_public()?.to_bytes());
    let client = signer.network.client().await?;
    let burn_rao = client
        .rpc()
        .await?
        .subnet_info_get_burn(NetUid(netuid))
        .await
        .map_err(rpc_error)?;
    let burn_rao = found(burn_rao, netuid)?;
    let call = Call::BurnedRegister {
        netuid: NetUid(netuid),
        hotkey,
        limit_rao: u64::MAX,
    };
    let coldkey = signer.wallet.wallet()?.coldkeypub()?;
    ensure_affordable(&client, &coldkey, burn_rao, &call).await?;
    let pair = signer.coldkey(out)?;
    submit_on(&client, &signer.network, &pair, call, out).await
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
            let value = HyperparamValue::parse(&parameter, &value).map_err(usage)?;
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
pub trait Ss58Text {
    /// The SS58 address.
    fn to_ss58_text(&self) -> String;
}

impl Ss58Text for AccountId {
    fn to_ss58_text(&self) -> String {
        PublicKey::from_bytes(self.0).to_ss58()
    }
}
