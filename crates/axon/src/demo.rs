//! Support for the example binaries `dummy-axon` and `dummy-dendrite`: the subnet template's
//! synapses, SDK-style flags (`--wallet.path`, `--wallet.name`, `--wallet.hotkey`,
//! `--mnemonic`), and key loading.

use serde::{Deserialize, Serialize};
use tao_keys::Keypair;

use crate::Synapse;

/// The subnet template's `Dummy` synapse: the miner answers `dummy_output = dummy_input * 2`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dummy {
    /// The validator's number.
    pub dummy_input: i64,
    /// The miner's answer.
    pub dummy_output: Option<i64>,
}

impl Synapse for Dummy {
    const NAME: &'static str = "Dummy";
    const REQUIRED_FIELDS: &'static [&'static str] = &["dummy_input"];
    const HASH_FIELDS: &'static [&'static str] = &["dummy_input"];
}

/// A streaming synapse: the miner streams the words of `text` back, one chunk per word (each
/// followed by a space).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DummyStream {
    /// The text to stream back.
    pub text: String,
}

impl Synapse for DummyStream {
    const NAME: &'static str = "DummyStream";
    const REQUIRED_FIELDS: &'static [&'static str] = &["text"];
    const HASH_FIELDS: &'static [&'static str] = &["text"];
}

/// Parsed command-line flags: `--name value` / `--name=value` pairs, `--flag` switches and
/// positional arguments.
#[derive(Debug, Default, Clone)]
pub struct Args {
    /// `(name without dashes, value)`; switches have an empty value.
    pub flags: Vec<(String, String)>,
    /// Everything not starting with `--`.
    pub positional: Vec<String>,
}

impl Args {
    /// Parse `args` (without the program name). `switches` are the flags that take no value.
    pub fn parse(args: impl IntoIterator<Item = String>, switches: &[&str]) -> Self {
        let mut out = Self::default();
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let Some(name) = arg.strip_prefix("--") else {
                out.positional.push(arg);
                continue;
            };
            if let Some((k, v)) = name.split_once('=') {
                out.flags.push((k.to_owned(), v.to_owned()));
            } else if switches.contains(&name) {
                out.flags.push((name.to_owned(), String::new()));
            } else {
                let value = it.next().unwrap_or_default();
                out.flags.push((name.to_owned(), value));
            }
        }
        out
    }

    /// The last value of flag `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether switch `name` was given.
    pub fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|(k, _)| k == name)
    }

    /// Flag `name` parsed, or `default` when absent.
    ///
    /// # Errors
    /// The value does not parse.
    pub fn parsed<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{name}: cannot parse {v:?}")),
        }
    }
}

/// The key from `--mnemonic` (or `--uri`, e.g. `//Alice`), else from the wallet flags
/// (`--wallet.path`, `--wallet.name`, `--wallet.hotkey`, defaulting to `$BT_WALLET_PATH` or
/// `~/.bittensor/wallets`, `$BT_WALLET_NAME` or `default`, `$BT_WALLET_HOTKEY` or `default`).
///
/// # Errors
/// A readable message.
pub fn keypair_from_args(args: &Args) -> Result<Keypair, String> {
    if let Some(phrase) = args.get("mnemonic") {
        return Keypair::from_phrase(phrase, None).map_err(|e| format!("--mnemonic: {e}"));
    }
    if let Some(uri) = args.get("uri") {
        return Keypair::from_uri(uri).map_err(|e| format!("--uri: {e}"));
    }
    let root = args
        .get("wallet.path")
        .map_or_else(tao_wallet::default_root, |path| {
            tao_wallet::expand_home(std::path::Path::new(path))
        });
    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| "default".into());
    let name = args
        .get("wallet.name")
        .map_or_else(|| env("BT_WALLET_NAME"), str::to_owned);
    let hotkey = args
        .get("wallet.hotkey")
        .map_or_else(|| env("BT_WALLET_HOTKEY"), str::to_owned);
    let no_password = || Err(tao_wallet::WalletError::PasswordRequired);
    tao_wallet::Wallet::new(root, &name)
        .and_then(|wallet| wallet.hotkey(&hotkey, no_password))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse() {
        let a = Args::parse(
            [
                "--wallet.name",
                "miner",
                "--port=9",
                "--json",
                "1.2.3.4:5:x",
            ]
            .map(String::from),
            &["json"],
        );
        assert_eq!(a.get("wallet.name"), Some("miner"));
        assert_eq!(a.parsed("port", 0u16), Ok(9));
        assert!(a.has("json"));
        assert_eq!(a.positional, ["1.2.3.4:5:x"]);
        assert!(a.parsed::<u16>("wallet.name", 0).is_err());
    }

    #[test]
    fn wallet_flags_read_a_keyfile() {
        let dir = std::env::temp_dir().join(format!("tao-axon-wallet-{}", std::process::id()));
        let hot = dir.join("w").join("hotkeys");
        std::fs::create_dir_all(&hot).unwrap();
        std::fs::write(
            hot.join("h"),
            r#"{"secretSeed":"0x6fa2796b0071cac425d8a7851038318c2c37dcebfe4bae73197ce93e75909bd2"}"#,
        )
        .unwrap();
        let a = Args::parse(
            [
                "--wallet.path",
                dir.to_str().unwrap(),
                "--wallet.name",
                "w",
                "--wallet.hotkey",
                "h",
            ]
            .map(String::from),
            &[],
        );
        assert_eq!(
            keypair_from_args(&a).unwrap().public().to_ss58(),
            "5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
