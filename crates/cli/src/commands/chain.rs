//! Chain commands over `tao-client`: balances, transfers, subnets, registration, stake,
//! weights, serving. Reads print tables (or `--json`); writes wait for finality and print the
//! block, or the chain's error.

use anyhow::bail;
use clap::{Args, Subcommand};
use serde::Serialize;
use tao_client::Client;
use tao_keys::PublicKey;
use tao_primitives::{AccountId, NetUid};
use tao_rpc_api::TaoApiClient;
use tao_types::tx::{Call, HyperparamValue};

use crate::amount::{
    format_amount, format_proportion, format_short, format_u16_percent, parse_amount,
};
use crate::args::{NetworkArgs, SignerArgs, WalletArgs, address};
use crate::output::{Output, Ss58Text, fit_to_terminal, table, usage};
use crate::tx::{ensure_affordable, found, rpc_error, submit, submit_on};
use comfy_table::Table;
use tao_types::params::Hyperparams;
use tao_types::views::MetagraphView;

/// Subnet commands.
#[derive(Debug, Subcommand)]
pub enum SubnetsCommand {
    /// Every subnet.
    List(NetworkArgs),
    /// One subnet's pool, prices and schedule.
    Show {
        #[command(flatten)]
        netuid: NetuidArg,
        #[command(flatten)]
        network: NetworkArgs,
    },
    /// A subnet's neurons with their stake and epoch terms.
    Metagraph {
        #[command(flatten)]
        netuid: NetuidArg,
        #[command(flatten)]
        network: NetworkArgs,
    },
    /// The public audit of a Forecast subnet: every validator's weights recomputed from its
    /// published ledger and the chain, the dishonest flagged; and each miner's record.
    Audit {
        /// The subnet.
        #[arg(long)]
        netuid: u16,
        #[command(flatten)]
        spec: crate::commands::neuron::ForecastSpecArgs,
        #[command(flatten)]
        network: NetworkArgs,
    },
    /// A subnet's hyperparameters.
    Hyperparameters {
        #[command(flatten)]
        netuid: NetuidArg,
        #[command(flatten)]
        network: NetworkArgs,
    },
    /// What creating a subnet costs now.
    LockCost(NetworkArgs),
    /// What registering on a subnet costs now.
    BurnCost {
        #[command(flatten)]
        netuid: NetuidArg,
        #[command(flatten)]
        network: NetworkArgs,
    },
    /// Create a subnet (the wallet's hotkey becomes uid 0), paying the lock cost.
    Create(SignerArgs),
    /// Start emissions on a subnet you own.
    Start {
        #[command(flatten)]
        netuid: NetuidArg,
        #[command(flatten)]
        signer: SignerArgs,
    },
    /// Register the wallet's hotkey on a subnet (btcli's spelling of `tao register`).
    Register {
        /// The subnet.
        #[arg(long)]
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

/// A subnet, named positionally (`3`) or as btcli names it (`--netuid 3`).
#[derive(Debug, Args)]
pub struct NetuidArg {
    /// The subnet.
    #[arg(
        value_name = "NETUID",
        required_unless_present = "netuid_flag",
        conflicts_with = "netuid_flag"
    )]
    netuid: Option<u16>,
    /// The subnet (instead of the positional NETUID, as btcli spells it).
    #[arg(long = "netuid", value_name = "NETUID")]
    netuid_flag: Option<u16>,
}

impl NetuidArg {
    /// The subnet given (clap requires one of the two).
    pub fn get(&self) -> u16 {
        self.netuid.or(self.netuid_flag).unwrap_or_default()
    }
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

/// What `tao transfer` (also `tao wallet transfer`) sends.
#[derive(Debug, Args)]
pub struct TransferArgs {
    /// Receiver (SS58).
    #[arg(long)]
    dest: String,
    /// Amount: 1.5, 1.5tao or 1500000000rao.
    #[arg(long)]
    amount: String,
    #[command(flatten)]
    signer: SignerArgs,
}

/// `tao transfer`.
pub async fn transfer(transfer: &TransferArgs, out: &Output) -> anyhow::Result<()> {
    let signer = &transfer.signer;
    let dest = address(&transfer.dest)?;
    let amount_rao = parse_amount(&transfer.amount).map_err(usage)?;
    let client = signer.network.client().await?;
    let call = Call::Transfer { dest, amount_rao };
    let coldkey = signer.wallet.wallet()?.coldkeypub()?;
    let fee_rao = ensure_affordable(&client, &coldkey, amount_rao, &call).await?;
    let mut preview = table(&["transfer", ""]);
    preview.add_row(vec!["from".to_owned(), coldkey.to_ss58()]);
    preview.add_row(vec!["to".to_owned(), dest.to_ss58_text()]);
    preview.add_row(vec!["amount".to_owned(), format_amount(amount_rao, "τ")]);
    preview.add_row(vec!["fee".to_owned(), format_amount(fee_rao, "τ")]);
    if !out.confirm(Some(&preview), "Send this transfer?")? {
        bail!("cancelled: nothing was sent");
    }
    let pair = signer.coldkey(out)?;
    submit_on(&client, &signer.finality, &pair, call, out).await
}

/// The uid `hotkey` holds on `netuid`, if any.
async fn registered_uid(
    client: &Client,
    netuid: u16,
    hotkey: &AccountId,
) -> anyhow::Result<Option<u16>> {
    let neurons = client
        .rpc()
        .await?
        .neuron_info_get_neurons(NetUid(netuid))
        .await
        .map_err(rpc_error)?;
    Ok(neurons
        .iter()
        .find(|neuron| neuron.hotkey == *hotkey)
        .map(|neuron| neuron.uid))
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
    if let Some(uid) = registered_uid(&client, netuid, &hotkey).await? {
        bail!(
            "hotkey {} is already registered on subnet {netuid} as uid {uid}: nothing to do \
             (nothing was sent; see `tao wallet overview`)",
            hotkey.to_ss58_text()
        );
    }
    let call = Call::BurnedRegister {
        netuid: NetUid(netuid),
        hotkey,
        limit_rao: u64::MAX,
    };
    let coldkey = signer.wallet.wallet()?.coldkeypub()?;
    ensure_affordable(&client, &coldkey, burn_rao, &call).await?;
    let pair = signer.coldkey(out)?;
    submit_on(&client, &signer.finality, &pair, call, out).await
}

/// Fails, before anything is signed, when the chain would refuse `signer`'s hyperparameter
/// call on `netuid`: neither its owner nor the sudo key, or (for the owner) inside the admin
/// freeze window before an epoch, with how many blocks to wait.
async fn ensure_admin_allowed(
    client: &Client,
    signer: &PublicKey,
    netuid: u16,
) -> anyhow::Result<()> {
    let rpc = client.rpc().await?;
    let subnet = rpc
        .subnet_info_get_subnet_info(NetUid(netuid))
        .await
        .map_err(rpc_error)?;
    let subnet = found(subnet, netuid)?;
    let globals = rpc.state_get_global_params().await.map_err(rpc_error)?;
    // The RPC's global parameters leave the sudo key out; the chain spec names it.
    let spec = rpc.system_chain_spec().await.map_err(rpc_error)?;
    let sudo = spec
        .get("sudo")
        .and_then(serde_json::Value::as_str)
        .and_then(|text| tao_node::parse_account(text).ok());
    let signer = AccountId(signer.to_bytes());
    if sudo == Some(signer) {
        return Ok(());
    }
    if subnet.owner_coldkey != signer {
        bail!(
            "not the subnet owner: subnet {netuid} belongs to {}; only its owner or the sudo key \
             may change its hyperparameters (nothing was sent)",
            subnet.owner_coldkey.to_ss58_text()
        );
    }
    // The call executes in the next block, one block closer to the epoch.
    let remaining = subnet.blocks_until_next_epoch.saturating_sub(1);
    if remaining <= globals.admin_freeze_window {
        bail!(
            "admin calls are frozen in the last {} blocks before an epoch and subnet {netuid}'s \
             next epoch is in {} blocks: send it again in {} blocks (nothing was sent)",
            globals.admin_freeze_window,
            subnet.blocks_until_next_epoch,
            subnet.blocks_until_next_epoch.saturating_add(1)
        );
    }
    Ok(())
}

/// The metagraph for people: btcli's columns, narrowed to the terminal (`--json` has all).
fn metagraph_table(graph: &MetagraphView) -> Table {
    let symbol = graph.dynamic.symbol.as_str();
    let mut t = table(&[
        "uid", "stake", "I", "D", "C", "VT", "emission", "VP", "A", "upd", "axon", "hotkey",
    ]);
    let yes_no = |flag: bool| if flag { "✓" } else { "-" }.to_owned();
    for i in 0..graph.uids.len() {
        let at = |column: &Vec<u16>| format_proportion(column.get(i).copied().unwrap_or(0));
        let axon = graph
            .axons
            .get(i)
            .and_then(Option::as_ref)
            .map_or("-".to_owned(), |axon| format!("{}:{}", axon.ip, axon.port));
        let updated = graph.last_update.get(i).copied().unwrap_or(0);
        t.add_row(vec![
            graph.uids[i].to_string(),
            format_short(graph.stake_rao.get(i).copied().unwrap_or(0), symbol),
            at(&graph.incentive),
            at(&graph.dividends),
            at(&graph.consensus),
            at(&graph.validator_trust),
            format_short(graph.emission_rao.get(i).copied().unwrap_or(0), symbol),
            yes_no(graph.validator_permit.get(i).copied().unwrap_or(false)),
            yes_no(graph.active.get(i).copied().unwrap_or(false)),
            graph.block.saturating_sub(updated).to_string(),
            axon,
            graph.hotkeys[i].to_ss58_text(),
        ]);
    }
    // Hidden first when the terminal is narrow: hotkey, axon, emission, permit, updated,
    // active (what explains incentive and dividends stays longest).
    fit_to_terminal(
        t,
        &[11, 10, 6, 7, 9, 8],
        "I incentive, D dividends, C consensus, VT validator trust, VP validator permit (✓), \
         A active (✓), upd blocks since its last weights",
    )
}

/// Hyperparameters for people: human values (κ 0.5, 90 %, 1.5 τ) beside the raw ones.
fn hyperparameters_table(params: &Hyperparams) -> Table {
    let mut t = table(&["hyperparameter", "value", "raw"]);
    if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(params) {
        for (name, raw) in map {
            let human = human_hyperparameter(&name, &raw);
            t.add_row(vec![name, human, raw.to_string()]);
        }
    }
    t
}

/// A raw hyperparameter (as its JSON value) in the unit its name gives.
fn human_hyperparameter(name: &str, raw: &serde_json::Value) -> String {
    let Some(number) = raw.as_u64() else {
        return raw.to_string();
    };
    let as_u16 = || u16::try_from(number).unwrap_or(u16::MAX);
    match name {
        "kappa" | "bonds_penalty" | "alpha_low" | "alpha_high" | "max_weight_limit"
        | "swap_fee_rate" => format!(
            "{} ({})",
            format_proportion(as_u16()),
            format_u16_percent(as_u16())
        ),
        "bonds_moving_average" => format!("{}.{:04}%", number / 10_000, number % 10_000),
        "burn_increase_mult_milli" => format!("×{}.{:03}", number / 1_000, number % 1_000),
        "min_validator_stake" => format_amount(number, "α"),
        name if name.ends_with("_rao") => format_amount(number, "τ"),
        "tempo" | "immunity_period" | "activity_cutoff" | "weights_rate_limit"
        | "burn_half_life" | "serving_rate_limit" => format!("{number} blocks"),
        "reveal_period_epochs" => format!("{number} epochs"),
        _ => number.to_string(),
    }
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
            let netuid = netuid.get();
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
                    format_amount(info.price_rao_per_alpha, &format!("τ/{}", info.symbol)),
                ]);
                t.add_row(vec![
                    "TAO in pool".to_owned(),
                    format_amount(info.tao_in_rao, "τ"),
                ]);
                t.add_row(vec![
                    "alpha in pool".to_owned(),
                    format_amount(info.alpha_in_rao, &info.symbol),
                ]);
                t.add_row(vec![
                    "alpha staked".to_owned(),
                    format_amount(info.alpha_out_rao, &info.symbol),
                ]);
                t.add_row(vec!["tempo".to_owned(), info.tempo.to_string()]);
                t.add_row(vec![
                    "next epoch in (blocks)".to_owned(),
                    info.blocks_until_next_epoch.to_string(),
                ]);
                t
            })
        }
        SubnetsCommand::Audit {
            netuid,
            spec,
            network,
        } => crate::commands::neuron::audit(netuid, &network, &spec, out).await,
        SubnetsCommand::Metagraph { netuid, network } => {
            let netuid = netuid.get();
            let rpc = network.client().await?.rpc().await?;
            let graph = rpc
                .subnet_info_get_metagraph(NetUid(netuid))
                .await
                .map_err(rpc_error)?;
            let graph = found(graph, netuid)?;
            out.show(&graph, || metagraph_table(&graph))
        }
        SubnetsCommand::Hyperparameters { netuid, network } => {
            let netuid = netuid.get();
            let rpc = network.client().await?.rpc().await?;
            let params = rpc
                .subnet_info_get_subnet_hyperparams(NetUid(netuid))
                .await
                .map_err(rpc_error)?;
            let params = found(params, netuid)?;
            out.show(&params, || hyperparameters_table(&params))
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
            let netuid = netuid.get();
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
                &signer,
                &pair,
                Call::RegisterNetwork {
                    hotkey,
                    identity: None,
                },
                out,
            )
            .await
        }
        SubnetsCommand::Register { netuid, signer } => register(&signer, netuid, out).await,
        SubnetsCommand::Start { netuid, signer } => {
            let netuid = netuid.get();
            let pair = signer.coldkey(out)?;
            submit(
                &signer,
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
            let client = signer.network.client().await?;
            let coldkey = signer.wallet.wallet()?.coldkeypub()?;
            ensure_admin_allowed(&client, &coldkey, netuid).await?;
            let pair = signer.coldkey(out)?;
            submit_on(
                &client,
                &signer.finality,
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
    submit(&signer, &pair, call, out).await
}
