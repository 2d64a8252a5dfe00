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

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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

/// Commands that print no results and never prompt: the global output flags are hidden from
/// their help (and still accepted).
const WITHOUT_OUTPUT_FLAGS: [&str; 4] = ["node", "localnet", "miner", "validator"];

/// The command tree as users see it: [`Cli`] with `--json` and `--no-prompt` listed only
/// where they apply.
fn command() -> clap::Command {
    let command = Cli::command();
    // clap does not copy a global flag into a subcommand that defines the same id, so a
    // hidden copy there (itself global, for its own subcommands) replaces the listed one.
    let hidden: Vec<clap::Arg> = command
        .get_arguments()
        .filter(|arg| arg.is_global_set())
        .map(|arg| arg.clone().hide(true))
        .collect();
    command.mut_subcommands(|sub| {
        if WITHOUT_OUTPUT_FLAGS.contains(&sub.get_name()) {
            sub.args(hidden.iter().cloned())
        } else {
            sub
        }
    })
}

fn main() -> ExitCode {
    let cli = Cli::from_arg_matches(&command().get_matches()).unwrap_or_else(|e| e.exit());
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
            print!("{}", output::markdown_help(command()));
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
        super::command().debug_assert();
    }

    #[test]
    fn output_flags_are_listed_only_where_they_apply() {
        let help = |path: &[&str]| {
            let args = ["tao"].iter().chain(path).chain(&["--help"]);
            let shown = super::command().try_get_matches_from(args).unwrap_err();
            assert_eq!(shown.kind(), clap::error::ErrorKind::DisplayHelp);
            shown.render().to_string()
        };
        for path in [
            &["node"][..],
            &["localnet"],
            &["miner", "run"],
            &["validator", "run"],
        ] {
            let text = help(path);
            assert!(
                text.contains("--rpc-port") || text.contains("--subnet"),
                "{text}"
            );
            assert!(!text.contains("--json"), "{path:?}: {text}");
            assert!(!text.contains("--no-prompt"), "{path:?}: {text}");
        }
        for path in [&["balance"][..], &["stake", "add"], &["subnets", "list"]] {
            assert!(help(path).contains("--json"), "{path:?}");
        }
        // Still accepted where hidden: scripts that pass it everywhere keep working.
        let node = super::command().try_get_matches_from(["tao", "node", "--json", "--dev"]);
        assert!(node.is_ok(), "{node:?}");
    }
}
