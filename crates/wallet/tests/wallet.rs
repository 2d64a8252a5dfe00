//! Wallet directories and keyfiles end to end, with the real `$NACL` cost.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tao_keys::Keypair;
use tao_wallet::crypt::{self, KdfCost};
use tao_wallet::{Wallet, WalletError, list};

const PHRASE: &str = "legal winner thank year wave sausage worth useful legal winner thank yellow";

#[test]
fn nacl_bytes_match_libsodium() {
    // Produced with PyNaCl 1.6.2 (libsodium): argon2i.kdf(32, b"correct horse", <format salt>,
    // OPSLIMIT_SENSITIVE, MEMLIMIT_SENSITIVE), then SecretBox.encrypt(msg, nonce=0..23).
    let expected = "244e41434c000102030405060708090a0b0c0d0e0f1011121314151617d4e39f5e2e977dd066afb304fbeadb2c9a6a3bde0934037cfc101c407310f883df1eeaf87f";
    let nonce: [u8; 24] = core::array::from_fn(|i| i as u8);
    let sealed = crypt::encrypt_with(
        br#"{"secretSeed":"0x00"}"#,
        "correct horse",
        nonce,
        KdfCost::SENSITIVE,
    )
    .unwrap();
    assert_eq!(hex::encode(&sealed), expected);
}

#[test]
fn encrypted_coldkey_round_trip_wrong_password_and_public_file() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = Wallet::new(dir.path(), "alice").unwrap();
    let pair = Keypair::from_phrase(PHRASE, None).unwrap();
    wallet
        .write_coldkey(&pair, Some(PHRASE), Some("s3cret-pass"), false)
        .unwrap();
    let raw = std::fs::read(wallet.coldkey_path()).unwrap();
    assert!(raw.starts_with(b"$NACL"));
    assert_eq!(wallet.coldkeypub().unwrap(), pair.public());
    assert!(matches!(
        wallet.coldkey(|| Ok("wrong".into())),
        Err(WalletError::WrongPassword)
    ));
    let opened = wallet.coldkey(|| Ok("s3cret-pass".into())).unwrap();
    assert_eq!(
        opened.public().to_ss58(),
        "5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe"
    );
    assert!(matches!(
        wallet.write_coldkey(&pair, None, None, false),
        Err(WalletError::AlreadyExists(_))
    ));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for path in [wallet.coldkey_path(), wallet.coldkeypub_path()] {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
        }
    }
}

#[test]
fn hotkeys_are_plain_listed_and_reject_bad_names_and_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = Wallet::new(dir.path(), "w").unwrap();
    let cold = Keypair::from_uri("//Alice").unwrap();
    wallet.write_coldkey(&cold, None, None, false).unwrap();
    for (name, uri) in [("default", "//Alice//hot"), ("miner", "//Alice//m")] {
        wallet
            .write_hotkey(name, &Keypair::from_uri(uri).unwrap(), None, false)
            .unwrap();
    }
    let hot = wallet
        .hotkey("miner", || panic!("plain hotkeys need no password"))
        .unwrap();
    assert_eq!(
        hot.public(),
        Keypair::from_uri("//Alice//m").unwrap().public()
    );
    assert_eq!(
        wallet.hotkeys().unwrap(),
        vec!["default".to_string(), "miner".to_string()]
    );
    let listed = list(dir.path()).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].coldkey, Some(cold.public()));
    assert_eq!(listed[0].hotkeys.len(), 2);
    assert!(Wallet::new(dir.path(), "../escape").is_err());
    assert!(wallet.hotkey_path("a/b").is_err());
    assert!(matches!(
        wallet.hotkey("missing", || Ok(String::new())),
        Err(WalletError::NotFound(_))
    ));
    std::fs::write(wallet.hotkey_path("miner").unwrap(), b"{\"secretSeed\":").unwrap();
    assert!(matches!(
        wallet.hotkey("miner", || Ok(String::new())),
        Err(WalletError::BadKeyfile(_))
    ));
    assert_eq!(list(&dir.path().join("nothing-here")).unwrap(), vec![]);
}

#[cfg(unix)]
#[test]
fn a_planted_temporary_symlink_is_never_followed_and_no_file_is_clobbered() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let keyfile = dir.path().join("wallet").join("coldkey");
    std::fs::create_dir_all(keyfile.parent().unwrap()).unwrap();
    // Someone who can write the wallet directory plants the temporary name as a symlink.
    std::os::unix::fs::symlink(&victim, keyfile.with_file_name(".coldkey.tmp")).unwrap();
    tao_wallet::write_private(&keyfile, b"secret", false).unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert_eq!(std::fs::read(&keyfile).unwrap(), b"secret");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&keyfile).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    // Without overwrite an existing keyfile stays as it was, and no temporary is left behind.
    assert!(matches!(
        tao_wallet::write_private(&keyfile, b"other", false),
        Err(WalletError::AlreadyExists(_))
    ));
    assert_eq!(std::fs::read(&keyfile).unwrap(), b"secret");
    // A keyfile that is itself a symlink is refused too, not written through.
    let linked = dir.path().join("wallet").join("hotkey");
    std::os::unix::fs::symlink(&victim, &linked).unwrap();
    assert!(tao_wallet::write_private(&linked, b"secret", false).is_err());
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    let leftovers: Vec<_> = std::fs::read_dir(keyfile.parent().unwrap())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
