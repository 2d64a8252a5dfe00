//! `tao`: the command line of the Tao network. Thin: parsing and printing here, the work in
//! the library crates.
//!
//! Exit status: 0 success, 1 failure (the message says what to do next), 2 bad usage.

mod amount;
mod args;
mod commands;
mod output;
mod progress;
mod quote;
mod tx;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The node's allocator (ADR 010): an epoch's output, megabytes of bond rows on a large
/// subnet, is freed and allocated again every epoch, and glibc's malloc hands such memory
/// back to the kernel in between, to fault it in again page by page.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Tao network's command line: wallets, the Yuma scenario tool, nodes and local networks.
#[derive(Debug, Parser)]
#[command(
    name = "tao",
    version,
    about,
    propagate_version = true,
    after_help = "Exit status: 0 success, 1 failure (the message says what to do next), 2 bad usage.\nNetwork: --network local (ws://127.0.0.1:9944) or a ws:// URL; wallets: ~/.bittensor/wallets or $BT_WALLET_PATH."
)]
struct Cli {
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    /// Never prompt (also implied when stdin is not a terminal).
    #[arg(long = "no-prompt", short = 'y', global = true)]
    no_prompt: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create, regenerate and list wallets (bittensor-wallet compatible).
    #[command(subcommand, visible_aliases = ["w", "wallets"])]
    Wallet(commands::wallet::WalletCommand),
    /// Free balance of the wallet's coldkey (or any address).
    Balance {
        /// Any SS58 address instead of the wallet's coldkey.
        #[arg(long)]
        address: Option<String>,
        #[command(flatten)]
        network: args::NetworkArgs,
        #[command(flatten)]
        wallet: args::WalletArgs,
    },
    /// Send TAO from the wallet's coldkey.
    Transfer(commands::chain::TransferArgs),
    /// Register the wallet's hotkey on a subnet (pays the burn from the coldkey).
    Register {
        /// The subnet.
        #[arg(long)]
        netuid: u16,
        #[command(flatten)]
        signer: args::SignerArgs,
    },
    /// Subnets: list, show, metagraph, hyperparameters, costs, create, start, set.
    #[command(subcommand, visible_aliases = ["s", "subnet"])]
    Subnets(commands::chain::SubnetsCommand),
    /// Stake: add, remove, move, swap, transfer (price-limited, 0.5 % by default), list.
    #[command(subcommand, visible_aliases = ["st", "stakes"])]
    Stake(commands::stake::StakeCommand),
    /// Delegates: list them, change your take.
    #[command(subcommand)]
    Delegates(commands::delegates::DelegatesCommand),
    /// Weights: set, commit, reveal, show.
    #[command(subcommand, visible_aliases = ["wt", "weight"])]
    Weights(commands::weights::WeightsCommand),
    /// Axon: publish an endpoint.
    #[command(subcommand)]
    Axon(commands::chain::AxonCommand),
    /// Run a miner of a subnet built into this binary (`--subnet template`).
    #[command(subcommand)]
    Miner(commands::neuron::MinerCommand),
    /// Run a validator of a subnet built into this binary (`--subnet template`).
    #[command(subcommand)]
    Validator(commands::neuron::ValidatorCommand),
    /// The Yuma Consensus scenario tool.
    #[command(subcommand)]
    Yuma(commands::yuma::YumaCommand),
    /// Run a chain node (validator) with JSON-RPC.
    Node(commands::node::NodeArgs),
    /// Run a 4-validator local network on loopback (RPC on 127.0.0.1:9944..9947).
    Localnet(commands::node::LocalnetArgs),
    /// Print the command reference as Markdown (what docs/cli.md holds).
    #[command(hide = true, name = "markdown-help")]
    MarkdownHelp,
}

/// Runs a chain command on a single-threaded runtime.
fn block_on(work: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(work)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let out = output::Output {
        json: cli.json,
        prompt: !cli.no_prompt && output::stdin_is_terminal(),
    };
    let result = match cli.command {
        Command::Wallet(command) => commands::wallet::run(command, &out),
        Command::Yuma(command) => commands::yuma::run(command, &out),
        Command::Node(args) => commands::node::run_node(args),
        Command::Miner(command) => commands::neuron::miner(command),
        Command::Validator(command) => commands::neuron::validator(command),
        Command::Localnet(args) => commands::node::run_localnet(args),
        Command::Balance {
            address,
            network,
            wallet,
        } => block_on(commands::chain::balance(
            &network,
            &wallet,
            address.as_deref(),
            &out,
        )),
        Command::Transfer(transfer) => block_on(commands::chain::transfer(&transfer, &out)),
        Command::Register { netuid, signer } => {
            block_on(commands::chain::register(&signer, netuid, &out))
        }
        Command::Subnets(command) => block_on(commands::chain::subnets(command, &out)),
        Command::Stake(command) => block_on(commands::stake::run(command, &out)),
        Command::Delegates(command) => block_on(commands::delegates::run(command, &out)),
        Command::Weights(command) => block_on(commands::weights::run(command, &out)),
        Command::Axon(command) => block_on(commands::chain::axon(command, &out)),
        Command::MarkdownHelp => {
            print!(
                "{}",
                output::markdown_help(<Cli as clap::CommandFactory>::command())
            );
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let usage = error.downcast_ref::<output::UsageError>().is_some();
            let status: u8 = if usage { 2 } else { 1 };
            if json {
                eprintln!("{}", error_json(&error, usage, status));
            } else {
                eprintln!("error: {error:#}");
            }
            ExitCode::from(status)
        }
    }
}

/// An error as `--json` prints it on stderr: `{"error": {code, message, hint, exit_status}}`,
/// the code the chain's or node's error name where there is one, else `usage` or `failed`.
fn error_json(error: &anyhow::Error, usage: bool, status: u8) -> serde_json::Value {
    let refusal = error.downcast_ref::<tx::Refusal>();
    let fallback = if usage { "usage" } else { "failed" };
    serde_json::json!({
        "error": {
            "code": refusal.map_or(fallback, |r| r.code.as_str()),
            "message": refusal.map_or_else(|| format!("{error:#}"), |r| r.message.clone()),
            "hint": refusal.and_then(|r| r.hint),
            "exit_status": status,
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_tree_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
