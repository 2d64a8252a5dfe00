//! Golden vectors from the live chain's test suite (`reference/subtensor.md` §8).

use tao_yuma::scenario;
use tao_yuma::{EpochOutput, to_u16_proportions};

fn run(json: &str) -> Vec<EpochOutput> {
    let parsed = scenario::parse(json).unwrap_or_else(|e| panic!("bad test scenario: {e}"));
    scenario::run(&parsed).unwrap_or_else(|e| panic!("epoch failed: {e}"))
}

fn as_f64(values: &[tao_primitives::I32F32]) -> Vec<f64> {
    values.iter().map(|v| v.to_num::<f64>()).collect()
}

fn assert_close(actual: &[f64], expected: &[f64], tolerance: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tolerance,
            "{what}[{i}]: got {a}, expected {e} (±{tolerance})\n  all: {actual:?}"
        );
    }
}

fn assert_rao(actual: &[u64], expected: &[u64], what: &str) {
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            a.abs_diff(*e) <= 1,
            "{what}[{i}]: got {a}, expected {e} (±1 rao)\n  all: {actual:?}"
        );
    }
}

/// Vector A — original Yuma bonds (`tests/epoch.rs::test_bonds`): every step, emissions within
/// ±1 rao and stored bonds exact.
#[test]
fn vector_a_original_yuma_bonds() {
    let miners = "[[4, 16383], [5, 32767], [6, 49149], [7, 65535]]";
    let self_weight = |uid: u8| format!("[[{uid}, 65535]]");
    let epochs = [
        // Warm-up epoch: grants the permits the first weighted epoch uses.
        "{}".to_owned(),
        format!(r#"{{"weights": [{miners}, {miners}, {miners}, {miners}, [], [], [], []]}}"#),
        format!(
            r#"{{"weights": [{}, {miners}, {miners}, {miners}, [], [], [], []]}}"#,
            self_weight(0)
        ),
        format!(
            r#"{{"weights": [{}, {}, {miners}, {miners}, [], [], [], []]}}"#,
            self_weight(0),
            self_weight(1)
        ),
        format!(
            r#"{{"weights": [{}, {}, {}, {miners}, [], [], [], []]}}"#,
            self_weight(0),
            self_weight(1),
            self_weight(2)
        ),
        format!(
            r#"{{"weights": [{}, {}, [[7, 65535]], {miners}, [], [], [], []]}}"#,
            self_weight(0),
            self_weight(1)
        ),
        "{}".to_owned(),
        "{}".to_owned(),
    ];
    let json = format!(
        r#"{{"n": 8, "params": {{"yuma3": false, "max_allowed_validators": 8, "kappa": 32767,
            "bonds_penalty": 65535, "bonds_moving_average": 900000, "activity_cutoff": 5000,
            "emission": 1000000000}},
            "stake": [1, 2, 3, 4, 0, 0, 0, 0], "epochs": [{}]}}"#,
        epochs.join(",")
    );
    let out = run(&json);

    let step1 = &out[1];
    assert_close(
        &as_f64(&step1.stake),
        &[0.1, 0.2, 0.3, 0.4, 0.0, 0.0, 0.0, 0.0],
        1e-9,
        "S",
    );
    let w = [0.0999975584, 0.2000012207, 0.2999926754, 0.400008545];
    assert_close(
        &as_f64(&step1.consensus),
        &[0.0, 0.0, 0.0, 0.0, w[0], w[1], w[2], w[3]],
        1e-9,
        "C",
    );
    assert_close(
        &as_f64(&step1.validator_trust),
        &[1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        1e-9,
        "Tv",
    );
    assert_close(
        &as_f64(&step1.incentive),
        &[
            0.0,
            0.0,
            0.0,
            0.0,
            0.0999975582,
            0.2000012207,
            0.2999926752,
            0.4000085455,
        ],
        1e-9,
        "I",
    );
    assert_close(
        &as_f64(&step1.dividends),
        &[0.1, 0.2, 0.3, 0.4, 0.0, 0.0, 0.0, 0.0],
        1e-8,
        "D",
    );

    let expected_emission: [[u64; 8]; 7] = [
        [
            49999998, 99999999, 150000000, 200000001, 49998779, 100000610, 149996337, 200004272,
        ],
        [
            44998351, 101110561, 151667215, 202223870, 49998779, 100000610, 149996337, 200004272,
        ],
        [
            40496805, 90999783, 157929636, 210573773, 49998779, 100000610, 149996337, 200004272,
        ],
        [99999999, 199999999, 299999999, 399999999, 0, 0, 0, 0],
        [36443733, 81898628, 163565493, 218092144, 0, 0, 0, 500000000],
        [32799427, 73706612, 168638129, 224855830, 0, 0, 0, 500000000],
        [29518068, 66336137, 173203134, 230942659, 0, 0, 0, 500000000],
    ];
    // Stored bonds of validators 0..3 to miner 4 (steps 1–3) and miner 7 (steps 4–7).
    let expected_bonds: [(usize, [u16; 4]); 7] = [
        (4, [16383, 32767, 49151, 65535]),
        (4, [14582, 32767, 49151, 65535]),
        (4, [12603, 28321, 49151, 65535]),
        (7, [12602, 28320, 49150, 65535]),
        (7, [10951, 24609, 49150, 65535]),
        (7, [9559, 21482, 49150, 65535]),
        (7, [8376, 18824, 49150, 65535]),
    ];
    for (step, (emission, (miner, bonds))) in
        expected_emission.iter().zip(&expected_bonds).enumerate()
    {
        let epoch = &out[step + 1];
        assert_rao(
            &epoch.combined_emission,
            emission,
            &format!("step {} E", step + 1),
        );
        let paid: Vec<u64> = epoch
            .server_emission
            .iter()
            .zip(&epoch.validator_emission)
            .map(|(s, v)| s + v)
            .collect();
        assert_rao(
            &paid,
            emission,
            &format!("step {} server+validator", step + 1),
        );
        let stored = epoch.bonds_dense();
        let column: Vec<u16> = (0..4).map(|i| stored[i][*miner]).collect();
        assert_eq!(column, bonds, "step {} bonds[0..4][{miner}]", step + 1);
    }

    let d = |step: usize| as_f64(&out[step].dividends)[..4].to_vec();
    assert_close(
        &d(2),
        &[0.0899967032, 0.2022211233, 0.303334432, 0.404447741],
        1e-8,
        "step 2 D",
    );
    assert_close(
        &d(3),
        &[0.0809936118, 0.1819995677, 0.3158592721, 0.421147548],
        1e-8,
        "step 3 D",
    );
    assert_close(
        &d(5),
        &[0.0728874663, 0.1637972582, 0.3271309866, 0.4361842885],
        1e-8,
        "step 5 D",
    );
    // Step 4: only validator 3 (stake 0.4 < κ) weights miners, so consensus is zero everywhere.
    assert!(
        out[4]
            .consensus
            .iter()
            .chain(&out[4].incentive)
            .all(|v| *v == 0)
    );
    assert_eq!(to_u16_proportions(&out[5].consensus)[7], 26214); // floor(0.400008545 · 65535)
}

/// Vector B — Yuma 3 with liquid alpha, kappa moves first
/// (`tests/epoch.rs::test_yuma_3_kappa_moves_first`): dividends within 1e-3 and, although the
/// live test skips them, the bond table too.
#[test]
fn vector_b_yuma3_kappa_moves_first() {
    let to = |a: u16, b: u16| format!("[[3, {a}], [4, {b}]]");
    let (s3, s4) = (to(65535, 0), to(0, 65535));
    let round = |a: &str, b: &str, c: &str| format!(r#"{{"weights": [{a}, {b}, {c}, [], []]}}"#);
    let mut epochs = vec![
        "{}".to_owned(), // warm-up
        round(&s3, &s3, &s3),
        round(&s4, &s3, &s3),
        round(&s4, &s4, &s3),
    ];
    epochs.extend((0..3).map(|_| round(&s4, &s4, &s4)));
    let json = format!(
        r#"{{"n": 5, "params": {{"yuma3": true, "liquid_alpha": true, "alpha_low": 0.1, "alpha_high": 0.3,
            "alpha_sigmoid_steepness": 1000, "bonds_penalty": 0, "bonds_moving_average": 975000,
            "kappa": 32767, "max_allowed_validators": 3}},
            "stake": [8, 1, 1, 0, 0], "epochs": [{}]}}"#,
        epochs.join(",")
    );
    let out = run(&json);
    // Per epoch: bonds (to S3, S4) of validators A, B, C, then dividends of uids 0..4.
    type Row = ([(f64, f64); 3], [f64; 5]);
    let table: [Row; 6] = [
        (
            [(0.1013, 0.0), (0.1013, 0.0), (0.1013, 0.0)],
            [0.8, 0.1, 0.1, 0.0, 0.0],
        ),
        (
            [(0.0908, 0.1013), (0.3697, 0.0), (0.3697, 0.0)],
            [1.0, 0.0, 0.0, 0.0, 0.0],
        ),
        (
            [(0.0815, 0.1924), (0.3170, 0.1013), (0.5580, 0.0)],
            [0.9382, 0.0618, 0.0, 0.0, 0.0],
        ),
        (
            [(0.0731, 0.2742), (0.2765, 0.1924), (0.4306, 0.1013)],
            [0.8819, 0.0773, 0.0407, 0.0, 0.0],
        ),
        (
            [(0.0656, 0.3478), (0.2435, 0.2742), (0.3589, 0.1924)],
            [0.8564, 0.0844, 0.0592, 0.0, 0.0],
        ),
        (
            [(0.0588, 0.4139), (0.2157, 0.3478), (0.3089, 0.2742)],
            [0.8418, 0.0884, 0.0697, 0.0, 0.0],
        ),
    ];
    for (e, (bonds, dividends)) in table.iter().enumerate() {
        let epoch = &out[e + 1];
        assert_close(
            &as_f64(&epoch.dividends),
            dividends,
            1e-3,
            &format!("epoch {e} dividends"),
        );
        let stored = epoch.bonds_dense();
        for (v, (b3, b4)) in bonds.iter().enumerate() {
            let got = [
                f64::from(stored[v][3]) / 65535.0,
                f64::from(stored[v][4]) / 65535.0,
            ];
            assert_close(
                &got,
                &[*b3, *b4],
                1e-3,
                &format!("epoch {e} bonds of validator {v}"),
            );
        }
    }
}
