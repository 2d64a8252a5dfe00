//! The scenario decoder against hostile documents: the shipped examples mutated at random
//! (bytes flipped, cut, spliced, numbers replaced by extremes) never make `parse` panic, and
//! every document it accepts runs and reports without panicking. The same checks are the
//! libFuzzer target `yuma_scenario` in `crates/fuzz` (`scripts/fuzz.sh`).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use proptest::prelude::*;
use std::path::PathBuf;
use tao_testkit::mutate::{apply, edit};
use tao_yuma::scenario;

fn examples() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| std::fs::read_to_string(path).unwrap())
        .collect()
}

/// Numbers a mutation splices in: edges of every integer type the decoder reads, and values
/// that are not integers at all.
const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "65535",
    "65536",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
    "1e308",
    "-0.0",
    "0.5",
    "NaN",
    "null",
    "[]",
    "{}",
    "\"7\"",
];

/// What the binary does with a document, without the process: parse, and for an accepted
/// document small enough to run quickly, run every epoch and render the report.
fn decode_and_run(document: &str) {
    match scenario::parse(document) {
        Ok(parsed) => {
            if parsed.stake.len() <= 64
                && parsed.epochs.len() <= 16
                && let Ok(outputs) = scenario::run(&parsed)
            {
                assert_eq!(outputs.len(), parsed.epochs.len());
                let json = scenario::report(&outputs).to_json(false);
                assert!(json.starts_with('{'));
            }
        }
        Err(error) => {
            // One line naming the field, as the binary prints it.
            let line = error.to_string();
            assert!(
                !error.field.is_empty() && !error.message.is_empty(),
                "{line}"
            );
            assert!(!line.contains('\n'), "{line}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn mutated_examples_never_panic(
        example in 0usize..8,
        edits in proptest::collection::vec(edit(EXTREMES), 1..4),
    ) {
        let examples = examples();
        let mut document = examples[example % examples.len()].clone();
        for edit in &edits {
            document = apply(&document, edit);
        }
        decode_and_run(&document);
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        decode_and_run(&text);
    }
}

/// A two-neuron scenario with the given stake of uid 0, written as JSON.
fn with_stake(stake: &str) -> String {
    format!(
        r#"{{"n": 2, "stake": [{stake}, 1], "epochs": [{{}}, {{"weights": [[[1, 65535]], []]}}]}}"#
    )
}

/// Any finite non-negative stake is accepted (saturating at the largest `I64F64`, as integers
/// above `i64::MAX` do); `substrate-fixed`'s own saturating conversion panicked on 1e308.
#[test]
fn huge_and_tiny_stakes_decode_and_run() {
    for stake in [
        "1e308",
        "1.7976931348623157e308",
        "18446744073709551615",
        "9223372036854775808",
        "9.223372036854775807e18",
        "4.611686018427388e18",
        "1.5",
        "5e-324",
        "0",
    ] {
        let parsed = scenario::parse(&with_stake(stake)).unwrap();
        let outputs = scenario::run(&parsed).unwrap();
        assert_eq!(outputs.len(), 2, "{stake}");
    }
    for stake in ["-1", "-1e308", "-0.5"] {
        assert!(scenario::parse(&with_stake(stake)).is_err(), "{stake}");
    }
}

proptest! {
    #[test]
    fn any_finite_stake_decodes(bits in any::<u64>()) {
        let value = f64::from_bits(bits);
        prop_assume!(value.is_finite());
        decode_and_run(&with_stake(&format!("{value:e}")));
    }
}

/// An unknown key that is empty is blamed on the object that holds it, never on a blank field.
#[test]
fn empty_keys_name_the_enclosing_object() {
    for (document, field) in [
        (
            r#"{"": 1, "n": 1, "stake": [1], "epochs": [{}]}"#,
            "scenario",
        ),
        (
            r#"{"n": 1, "params": {"": 2}, "stake": [1], "epochs": [{}]}"#,
            "params",
        ),
        (
            r#"{"n": 1, "stake": [1], "epochs": [{"": 3}]}"#,
            "epochs[0]",
        ),
    ] {
        let error = scenario::parse(document).unwrap_err();
        assert_eq!(error.field, field, "{error}");
    }
}

#[test]
fn every_example_decodes_and_runs() {
    for document in examples() {
        let parsed = scenario::parse(&document).unwrap();
        assert!(!parsed.epochs.is_empty());
        decode_and_run(&document);
    }
}
