//! The flag groups every chain command shares: which node, which wallet, how to unlock it.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tao_client::Client;
use tao_keys::{Keypair, PublicKey};
use tao_primitives::AccountId;
use tao_wallet::{PasswordSource, Wallet};

use crate::output::{Output, usage};

/// Which node to talk to.
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// `local` (ws://127.0.0.1:9944) or a ws:// URL.
    #[arg(
        long,
        env = "TAO_NETWORK",
        hide_env_values = true,
        default_value = "local"
    )]
    pub network: String,
    /// Seconds to wait for the node (connection, requests).
    #[arg(long = "timeout", default_value_t = 10)]
    pub timeout_s: u64,
}

/// How long a command that sends transactions waits for them.
#[derive(Debug, Args)]
pub struct FinalityArgs {
    /// Seconds to wait for a transaction to be finalized.
    #[arg(long = "wait-finality", default_value_t = 60)]
    pub finality_s: u64,
}

impl FinalityArgs {
    /// How long to wait for a transaction to be finalized.
    pub fn finality(&self) -> Duration {
        Duration::from_secs(self.finality_s)
    }
}

impl NetworkArgs {
    /// Connects to the node.
    pub async fn client(&self) -> anyhow::Result<Client> {
        Ok(Client::connect(&self.network, Duration::from_secs(self.timeout_s)).await?)
    }
}

/// Keys and network for a signed call.
#[derive(Debug, Args)]
pub struct SignerArgs {
    #[command(flatten)]
    pub network: NetworkArgs,
    #[command(flatten)]
    pub finality: FinalityArgs,
    #[command(flatten)]
    pub wallet: WalletArgs,
    #[command(flatten)]
    pub password: PasswordArgs,
}

impl SignerArgs {
    /// The wallet's coldkey pair (asks for its password when allowed).
    pub fn coldkey(&self, out: &Output) -> anyhow::Result<Keypair> {
        let wallet = self.wallet.wallet()?;
        let source = self.password.source();
        Ok(wallet.coldkey(|| {
            if source == tao_wallet::PasswordSource::Prompt && !out.prompt {
                return Err(tao_wallet::WalletError::Password(
                    "the coldkey is encrypted: pass --password-env VAR or --password-file PATH"
                        .into(),
                ));
            }
            Ok(source.read("Coldkey password: ")?.to_string())
        })?)
    }

    /// The wallet's hotkey pair.
    pub fn hotkey(&self) -> anyhow::Result<Keypair> {
        let wallet = self.wallet.wallet()?;
        Ok(wallet.hotkey(&self.wallet.hotkey, || {
            Err(tao_wallet::WalletError::PasswordRequired)
        })?)
    }

    /// The wallet hotkey's public key.
    pub fn hotkey_public(&self) -> anyhow::Result<PublicKey> {
        Ok(self.wallet.wallet()?.hotkeypub(&self.wallet.hotkey)?)
    }
}

/// Which wallet (the bittensor tools' flag names and environment variables).
#[derive(Debug, Args)]
pub struct WalletArgs {
    /// Directory holding the wallets.
    #[arg(
        long = "wallet.path",
        alias = "wallet-path",
        env = "BT_WALLET_PATH",
        hide_env_values = true
    )]
    pub path: Option<PathBuf>,
    /// Wallet name.
    #[arg(
        long = "wallet.name",
        alias = "wallet-name",
        env = "BT_WALLET_NAME",
        hide_env_values = true,
        default_value = "default"
    )]
    pub name: String,
    /// Hotkey name.
    #[arg(
        long = "wallet.hotkey",
        alias = "wallet-hotkey",
        env = "BT_WALLET_HOTKEY",
        hide_env_values = true,
        default_value = "default"
    )]
    pub hotkey: String,
}

impl WalletArgs {
    /// The wallet these flags name.
    pub fn wallet(&self) -> anyhow::Result<Wallet> {
        let root = self
            .path
            .as_deref()
            .map(tao_wallet::expand_home)
            .unwrap_or_else(tao_wallet::default_root);
        Ok(Wallet::new(root, &self.name)?)
    }
}

/// Where a coldkey password comes from.
#[derive(Debug, Args)]
pub struct PasswordArgs {
    /// Read the password from this environment variable.
    #[arg(long = "password-env", value_name = "VAR")]
    pub env: Option<String>,
    /// Read the password from the first line of this file.
    #[arg(long = "password-file", value_name = "PATH", conflicts_with = "env")]
    pub file: Option<PathBuf>,
}

impl PasswordArgs {
    pub(crate) fn source(&self) -> PasswordSource {
        match (&self.env, &self.file) {
            (Some(var), _) => PasswordSource::Env(var.clone()),
            (None, Some(path)) => PasswordSource::File(path.clone()),
            (None, None) => PasswordSource::Prompt,
        }
    }
}

/// Parses an SS58 address with a message that says what to do.
pub fn address(text: &str) -> anyhow::Result<AccountId> {
    let public = PublicKey::from_ss58(text)
        .map_err(|error| usage(format!("{text:?} is not an SS58 address (5…): {error}")))?;
    Ok(AccountId(public.to_bytes()))
}
