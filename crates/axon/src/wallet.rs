//! A minimal reader of bittensor wallet hotkey files (`reference/sdk.md` §4.1–§4.2), enough for
//! the example binaries: `<path>/<wallet>/hotkeys/<hotkey>`, unencrypted JSON, keys taken in the
//! SDK's precedence `secretPhrase` → `secretSeed` → `privateKey`.
//!
//! This is the seed of the wallet issue: encrypted keyfiles (`$NACL`, Argon2i + XSalsa20-Poly1305)
//! and coldkeys are out of scope here and reported as [`WalletError::Encrypted`].

use std::path::{Path, PathBuf};

use serde_json::Value;
use tao_keys::{KeyError, Keypair};

/// Why a hotkey could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// The keyfile could not be read.
    #[error("cannot read keyfile {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The keyfile is encrypted (not supported by this reader).
    #[error("keyfile {0} is encrypted; only unencrypted hotkey files are supported")]
    Encrypted(PathBuf),
    /// The keyfile is not a JSON object.
    #[error("keyfile {path} is not keyfile JSON: {reason}")]
    BadJson {
        /// The file.
        path: PathBuf,
        /// The parse error.
        reason: String,
    },
    /// The keyfile holds no secret (a public-only file).
    #[error("keyfile {0} holds no secret (secretPhrase, secretSeed or privateKey)")]
    NoSecret(PathBuf),
    /// A secret in the keyfile is malformed.
    #[error("keyfile {path}: {source}")]
    Key {
        /// The file.
        path: PathBuf,
        /// The key error.
        source: KeyError,
    },
}

/// The default wallet root: `$BT_WALLET_PATH`, else `~/.bittensor/wallets`.
pub fn default_wallet_path() -> PathBuf {
    if let Ok(p) = std::env::var("BT_WALLET_PATH") {
        return expand_home(&p);
    }
    expand_home("~/.bittensor/wallets")
}

/// Expand a leading `~` to `$HOME`.
pub fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix('~'), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest.trim_start_matches('/')),
        _ => PathBuf::from(path),
    }
}

/// The hotkey file of wallet `name`, hotkey `hotkey`, under `root`.
pub fn hotkey_path(root: &Path, name: &str, hotkey: &str) -> PathBuf {
    root.join(name).join("hotkeys").join(hotkey)
}

/// Load the hotkey of wallet `name` under `root`.
///
/// # Errors
/// [`WalletError`] for a missing, encrypted, public-only or malformed file.
pub fn load_hotkey(root: &Path, name: &str, hotkey: &str) -> Result<Keypair, WalletError> {
    let path = hotkey_path(root, name, hotkey);
    let data = std::fs::read(&path).map_err(|source| WalletError::Io {
        path: path.clone(),
        source,
    })?;
    keypair_from_keyfile(&data, &path)
}

/// The key pair in keyfile bytes (`path` is for messages).
///
/// # Errors
/// As [`load_hotkey`].
pub fn keypair_from_keyfile(data: &[u8], path: &Path) -> Result<Keypair, WalletError> {
    for prefix in [&b"$NACL"[..], b"$ANSIBLE_VAULT", b"gAAAAA"] {
        if data.starts_with(prefix) {
            return Err(WalletError::Encrypted(path.to_owned()));
        }
    }
    let value: Value = serde_json::from_slice(data).map_err(|e| WalletError::BadJson {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let key_err = |source| WalletError::Key {
        path: path.to_owned(),
        source,
    };
    let field = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    if let Some(phrase) = field("secretPhrase") {
        return Keypair::from_phrase(phrase, None).map_err(key_err);
    }
    if let Some(seed) = field("secretSeed") {
        let bytes = decode_hex(seed, 32).map_err(key_err)?;
        let mut mini = [0u8; 32];
        mini.copy_from_slice(&bytes);
        return Ok(Keypair::from_mini_secret(mini));
    }
    if let Some(private) = field("privateKey") {
        let bytes = decode_hex(private, 64).map_err(key_err)?;
        let mut secret = [0u8; 64];
        secret.copy_from_slice(&bytes);
        return Keypair::from_secret_key_bytes(&secret).map_err(key_err);
    }
    Err(WalletError::NoSecret(path.to_owned()))
}

fn decode_hex(text: &str, len: usize) -> Result<Vec<u8>, KeyError> {
    let bytes = hex::decode(text.strip_prefix("0x").unwrap_or(text))
        .map_err(|e| KeyError::BadHex(e.to_string()))?;
    if bytes.len() == len {
        Ok(bytes)
    } else {
        Err(KeyError::BadLength {
            what: "keyfile secret",
            expected: len,
            actual: bytes.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINER: &str = "5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe";

    #[test]
    fn reads_the_sdk_keyfile_in_each_form() {
        let p = Path::new("hotkey");
        let seed = br#"{"secretSeed":"0x6fa2796b0071cac425d8a7851038318c2c37dcebfe4bae73197ce93e75909bd2","ss58Address":"x"}"#;
        assert_eq!(
            keypair_from_keyfile(seed, p).unwrap().public().to_ss58(),
            MINER
        );
        let private = br#"{"privateKey":"0xad8a44476e667ef8eab356d1d6f09303f21ba1ac44a3f8b96210bdd603d1900bb25d15f130020fffc3261f584f84168e7a6f0009f6c3abb2f3fa460f493b0595"}"#;
        assert_eq!(
            keypair_from_keyfile(private, p).unwrap().public().to_ss58(),
            MINER
        );
        let phrase = br#"{"secretPhrase":"legal winner thank year wave sausage worth useful legal winner thank yellow","secretSeed":"0x00"}"#;
        assert_eq!(
            keypair_from_keyfile(phrase, p).unwrap().public().to_ss58(),
            MINER
        );
        assert!(matches!(
            keypair_from_keyfile(b"$NACL....", p),
            Err(WalletError::Encrypted(_))
        ));
        assert!(matches!(
            keypair_from_keyfile(br#"{"ss58Address":"x"}"#, p),
            Err(WalletError::NoSecret(_))
        ));
        assert!(matches!(
            keypair_from_keyfile(b"{", p),
            Err(WalletError::BadJson { .. })
        ));
        assert!(matches!(
            keypair_from_keyfile(br#"{"secretSeed":"0x12"}"#, p),
            Err(WalletError::Key { .. })
        ));
    }
}
