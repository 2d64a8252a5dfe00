//! `tao yuma run FILE`: the scenario tool of `tao-yuma`, inside `tao`.

use clap::Subcommand;
use tao_yuma::scenario;

use crate::output::Output;

/// Yuma scenario commands.
#[derive(Debug, Subcommand)]
pub enum YumaCommand {
    /// Run a scenario (JSON file, or - for stdin) and print each epoch's result as JSON.
    Run {
        /// The scenario (format: crates/yuma/README.md).
        file: String,
        /// Indent the JSON.
        #[arg(long)]
        pretty: bool,
    },
}

/// Runs a Yuma command.
pub fn run(command: YumaCommand, _out: &Output) -> anyhow::Result<()> {
    match command {
        YumaCommand::Run { file, pretty } => {
            let text = scenario::read_source(&file).map_err(anyhow::Error::msg)?;
            let parsed = scenario::parse(&text).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
            let outputs = scenario::run(&parsed).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
            println!("{}", scenario::report(&outputs).to_json(pretty));
            Ok(())
        }
    }
}
