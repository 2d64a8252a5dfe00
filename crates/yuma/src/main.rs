//! `tao-yuma`: run a Yuma Consensus scenario and print each epoch's result as JSON.

use std::io::Write;
use std::process::ExitCode;
use tao_yuma::scenario;

const USAGE: &str = "\
usage: tao-yuma run [--pretty] FILE.json
       tao-yuma --help | --version

Runs the Yuma Consensus epochs of a scenario (FILE.json, or - for standard input) and prints
{\"epochs\": [...]} as JSON on standard output. The format is described in crates/yuma/README.md;
examples are in crates/yuma/examples/.
Exit status: 0 on success, 2 on bad arguments or bad input (one line on standard error).";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let (command, rest) = args
        .split_first()
        .ok_or("missing command; try `tao-yuma --help`")?;
    match command.as_str() {
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        "-V" | "--version" => {
            println!("tao-yuma {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        "run" => {
            let pretty = rest.iter().any(|a| a == "--pretty");
            let files: Vec<&String> = rest.iter().filter(|a| *a != "--pretty").collect();
            let [file] = files.as_slice() else {
                return Err(
                    "`run` takes exactly one scenario file; try `tao-yuma --help`".to_owned(),
                );
            };
            run_scenario(file, pretty)
        }
        other => Err(format!("unknown command `{other}`; try `tao-yuma --help`")),
    }
}

fn run_scenario(path: &str, pretty: bool) -> Result<(), String> {
    let text = scenario::read_source(path)?;
    let parsed = scenario::parse(&text).map_err(|e| e.to_string())?;
    let outputs = scenario::run(&parsed).map_err(|e| e.to_string())?;
    let json = scenario::report(&outputs).to_json(pretty);
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{json}").map_err(|e| format!("cannot write the result: {e}"))
}
