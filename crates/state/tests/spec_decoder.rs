//! Chain spec files against hostile edits: `tao node --chain FILE` parses whatever an
//! operator points it at, so the shipped specs mutated at random (numbers swapped for edge
//! values, bytes flipped, cut, spliced) never make parsing or genesis panic, and a spec that is
//! refused says why.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use proptest::prelude::*;
use tao_state::spec::ChainSpec;
use tao_testkit::mutate::{apply, edit};

const SPECS: [&str; 2] = [
    include_str!("../specs/local.json"),
    include_str!("../specs/finney.json"),
];

/// Values a number in the spec is swapped for: the edges of every integer type a spec holds,
/// and values that are not integers at all.
const EXTREMES: &[&str] = &[
    "0",
    "1",
    "-1",
    "255",
    "256",
    "65535",
    "65536",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "18446744073709551615",
    "18446744073709551616",
    "1e308",
    "0.5",
    "null",
    "[]",
    "{}",
    "\"x\"",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn mutated_specs_never_panic(
        spec in 0usize..2,
        edits in proptest::collection::vec(edit(EXTREMES), 1..4),
    ) {
        let mut document = SPECS[spec].to_owned();
        for edit in &edits {
            document = apply(&document, edit);
        }
        match ChainSpec::from_json(&document) {
            Ok(parsed) => {
                if let Err(error) = parsed.genesis() {
                    prop_assert!(!error.to_string().is_empty());
                }
            }
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
    }
}

#[test]
fn shipped_specs_build_their_genesis() {
    for document in SPECS {
        ChainSpec::from_json(document).unwrap().genesis().unwrap();
    }
}

#[test]
fn a_spec_whose_fees_nobody_could_pay_is_refused() {
    let mut spec = ChainSpec::local();
    spec.globals.byte_fee_rao = u64::MAX;
    let error = spec.genesis().unwrap_err();
    assert_eq!(
        error.to_string(),
        "chain spec: globals.byte_fee_rao is out of range"
    );
}

#[test]
fn the_mainnet_like_spec_ships_no_well_known_key() {
    let finney = ChainSpec::finney();
    assert_eq!(finney.sudo, None);
    assert!(finney.balances.is_empty());
    finney.genesis().unwrap();
}
