//! Chain spec files against hostile edits: `tao node --chain FILE` parses whatever an
//! operator points it at, so the shipped specs mutated at random (numbers swapped for edge
//! values, bytes flipped, cut, spliced) never make parsing or genesis panic, and a spec that is
//! refused says why.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use proptest::prelude::*;
use tao_state::spec::ChainSpec;

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

#[derive(Debug, Clone)]
enum Edit {
    /// Replace the n-th run of digits with other text.
    Number(usize, String),
    /// Replace the byte at this position (modulo the length).
    Flip(usize, u8),
    /// Cut the document at this position.
    Cut(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Mostly number swaps, which keep the document JSON and so reach genesis.
    prop_oneof![
        4 => (any::<usize>(), 0u64..100_000).prop_map(|(run, v)| Edit::Number(run, v.to_string())),
        3 => (any::<usize>(), 0..EXTREMES.len()).prop_map(|(run, v)| Edit::Number(run, EXTREMES[v].to_owned())),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Edit::Flip(at, byte)),
        1 => any::<usize>().prop_map(Edit::Cut),
    ]
}

fn apply(document: &str, edit: &Edit) -> String {
    let mut bytes = document.as_bytes().to_vec();
    let len = bytes.len().max(1);
    match edit {
        Edit::Number(run, text) => {
            let starts: Vec<usize> = (0..bytes.len())
                .filter(|&i| {
                    bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
                })
                .collect();
            if !starts.is_empty() {
                let start = starts[run % starts.len()];
                let end = (start..bytes.len())
                    .find(|&i| !bytes[i].is_ascii_digit())
                    .unwrap_or(bytes.len());
                bytes.splice(start..end, text.bytes());
            }
        }
        Edit::Flip(at, byte) => {
            if let Some(b) = bytes.get_mut(at % len) {
                *b = *byte;
            }
        }
        Edit::Cut(at) => bytes.truncate(at % len),
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn mutated_specs_never_panic(
        spec in 0usize..2,
        edits in proptest::collection::vec(edit(), 1..4),
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
