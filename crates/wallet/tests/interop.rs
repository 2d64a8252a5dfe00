//! Interoperability with the real bittensor-wallet (4.1.1, installed with `bittensor==10.5.0` by
//! `scripts/install-python-sdk.sh`, which CI runs): a wallet made by either tool opens in the
//! other. Without the virtualenv the test says SKIPPED and passes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use tao_keys::Keypair;
use tao_wallet::Wallet;

const PHRASE: &str = "legal winner thank year wave sausage worth useful legal winner thank yellow";
const PASSWORD: &str = "pw-123456";

fn python() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv-bittensor/bin/python");
    path.exists().then_some(path)
}

fn run_python(python: &PathBuf, script: &str, root: &str) -> String {
    let output = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(root)
        .output()
        .expect("run python");
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[test]
fn wallets_open_in_both_directions() {
    let Some(python) = python() else {
        eprintln!("SKIPPED: run scripts/install-python-sdk.sh to test against bittensor-wallet");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();

    // bittensor-wallet writes, tao reads.
    let made_by_python = format!(
        r#"
import sys, bittensor_wallet as bw
w = bw.Wallet(name="py", hotkey="hk", path=sys.argv[1])
kp = bw.Keypair.create_from_mnemonic("{PHRASE}")
w.coldkey_file.set_keypair(kp, encrypt=True, overwrite=True, password="{PASSWORD}")
w.coldkeypub_file.set_keypair(bw.Keypair(ss58_address=kp.ss58_address), encrypt=False, overwrite=True)
w.hotkey_file.set_keypair(bw.Keypair.create_from_uri("//Alice"), encrypt=False, overwrite=True)
print("ok")
"#
    );
    assert_eq!(run_python(&python, &made_by_python, root), "ok");
    let wallet = Wallet::new(root, "py").unwrap();
    let cold = wallet.coldkey(|| Ok(PASSWORD.into())).unwrap();
    assert_eq!(
        cold.public().to_ss58(),
        "5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe"
    );
    assert_eq!(wallet.coldkeypub().unwrap(), cold.public());
    let hot = wallet
        .hotkey("hk", || unreachable!("hotkeys are plain"))
        .unwrap();
    assert_eq!(
        hot.public().to_ss58(),
        "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    );

    // tao writes, bittensor-wallet reads (and signs with the key).
    let ours = Wallet::new(root, "rs").unwrap();
    let pair = Keypair::from_phrase(PHRASE, None).unwrap();
    ours.write_coldkey(&pair, Some(PHRASE), Some(PASSWORD), false)
        .unwrap();
    ours.write_hotkey("default", &Keypair::from_uri("//Bob").unwrap(), None, false)
        .unwrap();
    let read_by_python = format!(
        r#"
import sys, bittensor_wallet as bw
w = bw.Wallet(name="rs", hotkey="default", path=sys.argv[1])
cold = w.coldkey_file.get_keypair(password="{PASSWORD}")
assert cold.verify(b"tao", cold.sign(b"tao"))
print(cold.ss58_address, w.coldkeypub.ss58_address, w.hotkey.ss58_address)
"#
    );
    let seen = run_python(&python, &read_by_python, root);
    assert_eq!(
        seen,
        "5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe 5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
    );
}
