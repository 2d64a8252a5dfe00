//! Process-level tests of the `tao-yuma` binary: the example scenarios, standard input, and the
//! error contract (exit status 2, one `error: FIELD: ...` line on stderr, nothing on stdout).

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Keys of every epoch object in the output.
const EPOCH_KEYS: [&str; 8] = [
    "consensus",
    "incentive",
    "dividends",
    "validator_trust",
    "validator_permit",
    "bonds",
    "server_emission",
    "validator_emission",
];

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Runs the binary with `args`, feeding `stdin` (empty if `None`).
fn tao_yuma(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tao-yuma"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tao-yuma");
    {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        if let Some(text) = stdin {
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
    } // dropping the pipe closes stdin
    child.wait_with_output().expect("wait for tao-yuma")
}

/// A scenario written to a uniquely named file under the temp dir, removed on drop.
struct TempScenario(PathBuf);

impl TempScenario {
    fn new(contents: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "tao-yuma-cli-{}-{}.json",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, contents).expect("write temp scenario");
        Self(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("temp path is UTF-8")
    }
}

impl Drop for TempScenario {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs `tao-yuma run FILE` on `scenario` written to a temp file.
fn run_text(scenario: &str) -> Output {
    let file = TempScenario::new(scenario);
    tao_yuma(&["run", file.path()], None)
}

fn stdout(output: &Output) -> &str {
    std::str::from_utf8(&output.stdout).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> &str {
    std::str::from_utf8(&output.stderr).expect("stderr is UTF-8")
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// Every `examples/*.json`, sorted.
fn example_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("read examples/")
        .map(|entry| entry.expect("examples/ entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect()
}

/// Parses a successful run's stdout and checks its shape against the scenario: one epoch per
/// scenario epoch, exactly [`EPOCH_KEYS`], `n` entries per vector, `n × n` bonds, proportions in
/// `[0, 1]`, and incentive and dividends each summing to ~1 or all 0.
fn check_report(output: &Output, scenario: &Value, what: &str) -> Vec<Value> {
    assert!(
        output.status.success(),
        "{what}: exit {:?}, stderr: {}",
        output.status,
        stderr(output)
    );
    assert!(
        output.stderr.is_empty(),
        "{what}: unexpected stderr: {}",
        stderr(output)
    );
    let report: Value =
        serde_json::from_str(stdout(output)).unwrap_or_else(|e| panic!("{what}: bad JSON: {e}"));
    let n = usize::try_from(scenario["n"].as_u64().expect("n")).expect("n fits usize");
    let epochs = report["epochs"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no epochs array"))
        .clone();
    assert_eq!(
        epochs.len(),
        scenario["epochs"].as_array().expect("epochs").len(),
        "{what}: epoch count"
    );
    for (k, epoch) in epochs.iter().enumerate() {
        let at = format!("{what}: epochs[{k}]");
        let mut keys: Vec<&str> = epoch
            .as_object()
            .expect("epoch object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut expected = EPOCH_KEYS;
        expected.sort_unstable();
        assert_eq!(keys, expected, "{at}: keys");
        for key in EPOCH_KEYS {
            assert_eq!(
                epoch[key].as_array().map(Vec::len),
                Some(n),
                "{at}.{key}: length"
            );
        }
        for row in epoch["bonds"].as_array().expect("bonds") {
            assert!(
                floats(row).iter().all(|b| (0.0..=1.0).contains(b)),
                "{at}.bonds: {row}"
            );
            assert_eq!(
                row.as_array().map(Vec::len),
                Some(n),
                "{at}.bonds: row length"
            );
        }
        for key in ["consensus", "incentive", "dividends", "validator_trust"] {
            assert!(
                floats(&epoch[key]).iter().all(|x| (0.0..=1.0).contains(x)),
                "{at}.{key}: {}",
                epoch[key]
            );
        }
        for key in ["incentive", "dividends"] {
            let values = floats(&epoch[key]);
            let total: f64 = values.iter().sum();
            let all_zero = values.iter().all(|x| *x == 0.0);
            assert!(
                all_zero || (total - 1.0).abs() < 1e-3,
                "{at}.{key} sums to {total}: {values:?}"
            );
        }
    }
    epochs
}

/// Runs `examples/NAME` and returns its scenario and checked epochs.
fn run_example(name: &str) -> (Value, Vec<Value>) {
    let path = examples_dir().join(name);
    let scenario = read_json(&path);
    let output = tao_yuma(&["run", path.to_str().expect("UTF-8 path")], None);
    let epochs = check_report(&output, &scenario, name);
    (scenario, epochs)
}

/// `epoch[key][uid]` as a float.
fn at(epoch: &Value, key: &str, uid: usize) -> f64 {
    epoch[key][uid]
        .as_f64()
        .unwrap_or_else(|| panic!("{key}[{uid}] is not a number"))
}

/// Each uid's dividends divided by its share of the total stake (1.0 = paid by stake).
fn dividends_per_stake(scenario: &Value, epoch: &Value) -> Vec<f64> {
    let stake = floats(&scenario["stake"]);
    let total: f64 = stake.iter().sum();
    floats(&epoch["dividends"])
        .iter()
        .zip(&stake)
        .map(|(d, s)| if *s > 0.0 { d * total / s } else { 0.0 })
        .collect()
}

/// Asserts the error contract: exit status 2, nothing on stdout, exactly one stderr line that
/// starts with `error: ` followed by `prefix`, and contains `detail`.
fn assert_rejected(output: &Output, prefix: &str, detail: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(2), "exit status; stderr: {err}");
    assert!(
        output.stdout.is_empty(),
        "stdout not empty: {}",
        stdout(output)
    );
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one stderr line, got: {err:?}");
    let line = lines.first().copied().unwrap_or_default();
    assert!(
        line.starts_with(&format!("error: {prefix}")),
        "expected `error: {prefix}…`, got: {line}"
    );
    assert!(line.contains(detail), "expected {detail:?} in: {line}");
}

/// A valid 5-uid scenario whose epochs are `epochs` (a JSON array body).
fn five_uids(epochs: &str) -> String {
    format!(r#"{{"n": 5, "stake": [10, 20, 0, 0, 0], "epochs": [{epochs}]}}"#)
}

// ---------------------------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------------------------

#[test]
fn every_example_runs_and_has_the_documented_shape() {
    let files = example_files();
    assert!(
        files.len() >= 3,
        "expected at least three examples, found {files:?}"
    );
    let readme =
        std::fs::read_to_string(examples_dir().join("README.md")).expect("examples/README.md");
    for path in files {
        let name = path
            .file_name()
            .and_then(|f| f.to_str())
            .expect("file name");
        let (_, epochs) = run_example(name);
        assert!(
            (4..=9).contains(&epochs.len()),
            "{name}: {} epochs",
            epochs.len()
        );
        assert!(
            readme.contains(&format!("`{name}`")),
            "{name} is not described in examples/README.md"
        );
    }
}

#[test]
fn clipping_example_clips_the_outlier() {
    let (scenario, epochs) = run_example("clipping.json");
    let (outlier, favourite) = (2, 5);
    let before = epochs.get(1).expect("epoch 1");
    let last = epochs.last().expect("last epoch");
    assert!(
        at(before, "validator_trust", outlier) > 0.99,
        "outlier agrees at first"
    );
    for epoch in &epochs[3..] {
        assert!(
            at(epoch, "consensus", favourite) < 0.01,
            "favourite miner's consensus"
        );
        assert!(
            at(epoch, "incentive", favourite) < 0.01,
            "favourite miner's incentive"
        );
        assert_eq!(epoch["server_emission"][favourite], 0);
        assert!(
            at(epoch, "validator_trust", outlier) < 0.5,
            "outlier's trust is clipped"
        );
        assert!(at(epoch, "validator_trust", 0) > 0.99 && at(epoch, "validator_trust", 1) > 0.99);
    }
    let per_stake = dividends_per_stake(&scenario, last);
    assert!(
        per_stake[outlier] < 0.75 * per_stake[0],
        "outlier's dividends drop: {per_stake:?}"
    );
    assert!(at(last, "dividends", outlier) < at(before, "dividends", outlier) - 0.05);
}

#[test]
fn weight_copier_example_earns_less_per_stake() {
    let (scenario, epochs) = run_example("weight_copier.json");
    let (honest, copier) = (0, 2);
    let mut totals = [0.0_f64; 3];
    for epoch in &epochs {
        let per_stake = dividends_per_stake(&scenario, epoch);
        for (total, value) in totals.iter_mut().zip(&per_stake) {
            *total += value;
        }
    }
    assert!(
        (totals[0] - totals[1]).abs() < 1e-3,
        "honest validators are paid alike: {totals:?}"
    );
    assert!(
        totals[copier] < 0.8 * totals[honest],
        "copier earns less per stake: {totals:?}"
    );
    // In the epochs where the honest validators switch miners the copier is one epoch late.
    for k in [3, 5] {
        let per_stake = dividends_per_stake(&scenario, &epochs[k]);
        assert!(
            per_stake[copier] < 0.5 * per_stake[honest],
            "epoch {k}: {per_stake:?}"
        );
    }
}

#[test]
fn colluding_minority_example_gets_nothing() {
    let (_, epochs) = run_example("colluding_minority.json");
    let (colluders, their_miner, honest_miners) = ([3, 4], 7, [5, 6]);
    for epoch in &epochs[1..] {
        assert!(
            at(epoch, "consensus", their_miner) < 0.01,
            "colluders' miner consensus"
        );
        assert!(
            at(epoch, "incentive", their_miner) < 0.01,
            "colluders' miner incentive"
        );
        let honest_incentive: f64 = honest_miners
            .iter()
            .map(|&j| at(epoch, "incentive", j))
            .sum();
        assert!(
            honest_incentive > 0.99,
            "honest miners get the incentive: {honest_incentive}"
        );
        for v in colluders {
            assert!(at(epoch, "validator_trust", v) < 0.01, "colluder {v} trust");
            assert!(at(epoch, "dividends", v) < 0.01, "colluder {v} dividends");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Input channels and options
// ---------------------------------------------------------------------------------------------

#[test]
fn stdin_and_pretty_give_the_same_report_as_a_file() {
    let path = examples_dir().join("clipping.json");
    let path_str = path.to_str().expect("UTF-8 path");
    let text = std::fs::read_to_string(&path).expect("read clipping.json");
    let from_file = tao_yuma(&["run", path_str], None);
    let from_stdin = tao_yuma(&["run", "-"], Some(&text));
    let pretty = tao_yuma(&["run", "--pretty", "-"], Some(&text));
    let scenario = read_json(&path);
    let expected = check_report(&from_file, &scenario, "file");
    assert_eq!(check_report(&from_stdin, &scenario, "stdin"), expected);
    assert_eq!(check_report(&pretty, &scenario, "pretty"), expected);
    assert!(
        stdout(&pretty).lines().count() > expected.len(),
        "--pretty spans several lines"
    );
    assert_eq!(
        stdout(&from_file).lines().count(),
        1,
        "compact output is one line"
    );
}

#[test]
fn help_and_version_exit_zero() {
    let help = tao_yuma(&["--help"], None);
    assert!(help.status.success());
    assert!(
        stdout(&help).contains("usage: tao-yuma run"),
        "{}",
        stdout(&help)
    );
    let version = tao_yuma(&["--version"], None);
    assert!(version.status.success());
    assert!(
        stdout(&version).starts_with("tao-yuma "),
        "{}",
        stdout(&version)
    );
}

// ---------------------------------------------------------------------------------------------
// Bad input: exit 2 and one `error: FIELD: …` line
// ---------------------------------------------------------------------------------------------

#[test]
fn malformed_json_is_rejected() {
    assert_rejected(&run_text("this is not JSON"), "scenario", "line 1 column");
    assert_rejected(
        &run_text(r#"{"n": 2, "stake": [1, 2,}"#),
        "stake",
        "line 1 column",
    );
    assert_rejected(
        &tao_yuma(&["run", "-"], Some(r#"{"n": 2, "stake": [1, 2,}"#)),
        "stake",
        "line 1 column",
    );
}

#[test]
fn stake_length_must_match_n() {
    let output = run_text(r#"{"n": 3, "stake": [1, 2], "epochs": []}"#);
    assert_rejected(&output, "stake:", "expected n = 3");
}

#[test]
fn weights_need_one_row_per_uid() {
    let output = run_text(&five_uids(r#"{"weights": [[], []]}"#));
    assert_rejected(&output, "epochs[0].weights:", "has 2 rows");
}

#[test]
fn weight_uid_must_be_in_range() {
    let output = run_text(&five_uids(
        r#"{}, {"weights": [[], [], [[7, 100]], [], []]}"#,
    ));
    assert_rejected(
        &output,
        "epochs[1].weights[2]:",
        "uid 7 is out of range (n = 5)",
    );
}

#[test]
fn weight_uid_must_not_repeat() {
    let output = run_text(&five_uids(
        r#"{"weights": [[], [[3, 1], [4, 2], [3, 5]], [], [], []]}"#,
    ));
    assert_rejected(
        &output,
        "epochs[0].weights[1]:",
        "uid 3 appears more than once",
    );
}

#[test]
fn unknown_fields_are_rejected() {
    let unknown_param = r#"{"n": 1, "params": {"kapa": 1}, "stake": [1], "epochs": []}"#;
    assert_rejected(&run_text(unknown_param), "params", "kapa");
    let unknown_top = r#"{"n": 1, "stake": [1], "epochs": [], "blocks": 3}"#;
    assert_rejected(&run_text(unknown_top), "blocks", "unknown field");
}

#[test]
fn alpha_low_must_be_a_proportion() {
    let output = run_text(r#"{"n": 1, "params": {"alpha_low": 1.5}, "stake": [1], "epochs": []}"#);
    assert_rejected(&output, "params.alpha_low:", "1.5");
}

#[test]
fn missing_file_is_rejected() {
    let path =
        std::env::temp_dir().join(format!("tao-yuma-cli-{}-missing.json", std::process::id()));
    let path = path.to_str().expect("UTF-8 path");
    assert_rejected(
        &tao_yuma(&["run", path], None),
        "cannot read scenario",
        path,
    );
}

#[test]
fn unknown_command_is_rejected() {
    assert_rejected(
        &tao_yuma(&["frobnicate"], None),
        "unknown command",
        "frobnicate",
    );
}

/// Argument errors exit 2 with nothing on stdout and an `error: ` first line.
#[test]
fn missing_arguments_are_rejected() {
    for (args, detail) in [
        (&[][..], "missing command"),
        (&["run"][..], "exactly one scenario file"),
    ] {
        let output = tao_yuma(args, None);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}: stdout not empty");
        let first = stderr(&output).lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: ") && first.contains(detail),
            "{args:?}: {first}"
        );
    }
}

/// The full contract for argument errors: ONE stderr line. Today `main.rs` appends the usage
/// text to the error, so stderr has eight lines.
#[test]
fn missing_arguments_give_one_line() {
    assert_rejected(&tao_yuma(&[], None), "missing command", "");
    assert_rejected(
        &tao_yuma(&["run"], None),
        "`run` takes exactly one scenario file",
        "",
    );
}

/// Text after the scenario document must be rejected, not ignored.
#[test]
fn trailing_text_is_rejected() {
    let output = run_text(r#"{"n": 1, "stake": [1], "epochs": [{}]} trailing"#);
    assert_rejected(&output, "scenario", "trailing");
}
