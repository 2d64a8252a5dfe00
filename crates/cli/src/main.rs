//! `tao`: the command line of the Tao network. Thin: parsing and printing here, the work in
//! the library crates.
//!
//! Exit status: 0 success, 1 failure (the message says what to do next), 2 bad usage.

mod commands;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The Tao network's command line: wallets, the Yuma scenario tool, and (soon) the chain.
#[derive(Debug, Parser)]
#[command(name = "tao", version, about, propagate_version = true)]
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
    #[command(subcommand)]
    Wallet(commands::wallet::WalletCommand),
    /// The Yuma Consensus scenario tool.
    #[command(subcommand)]
    Yuma(commands::yuma::YumaCommand),
    /// Print the command reference as Markdown (what docs/cli.md holds).
    #[command(hide = true, name = "markdown-help")]
    MarkdownHelp,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = output::Output {
        json: cli.json,
        prompt: !cli.no_prompt && output::stdin_is_terminal(),
    };
    let result = match cli.command {
        Command::Wallet(command) => commands::wallet::run(command, &out),
        Command::Yuma(command) => commands::yuma::run(command, &out),
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
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}
