//! `tao wallet …`: create, regenerate and list wallets in bittensor-wallet's layout.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use tao_keys::Keypair;
use tao_wallet::{PasswordSource, Wallet, check_new_password};
use zeroize::Zeroizing;

use crate::args::{PasswordArgs, WalletArgs};
use crate::output::{Output, table};

/// Wallet commands.
#[derive(Debug, Subcommand)]
pub enum WalletCommand {
    /// Create a coldkey and a hotkey with new mnemonics.
    Create(NewKeys),
    /// Create only a coldkey.
    NewColdkey(NewKeys),
    /// Create only a hotkey.
    NewHotkey(NewKeys),
    /// Restore a coldkey from its mnemonic or seed.
    RegenColdkey(Regen),
    /// Restore a hotkey from its mnemonic or seed.
    RegenHotkey(Regen),
    /// Free and staked TAO of the wallet's coldkey (of every wallet with --all).
    Balance {
        /// Every wallet under the wallet path.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        network: crate::args::NetworkArgs,
        #[command(flatten)]
        wallet: WalletArgs,
    },
    /// The wallet on chain: coldkey balance, and per hotkey its registrations (netuid, uid),
    /// stake per subnet with its TAO value, and last emission.
    Overview {
        #[command(flatten)]
        network: crate::args::NetworkArgs,
        #[command(flatten)]
        wallet: WalletArgs,
    },
    /// Send TAO from the wallet's coldkey (btcli's spelling of `tao transfer`).
    Transfer(crate::commands::chain::TransferArgs),
    /// List wallets and their keys.
    List {
        /// Directory holding the wallets.
        #[arg(
            long = "wallet.path",
            alias = "wallet-path",
            env = "BT_WALLET_PATH",
            hide_env_values = true
        )]
        path: Option<PathBuf>,
    },
}

/// Options for new keys.
#[derive(Debug, Args)]
pub struct NewKeys {
    #[command(flatten)]
    wallet: WalletArgs,
    #[command(flatten)]
    password: PasswordArgs,
    /// Mnemonic length.
    #[arg(long = "n-words", alias = "words", default_value_t = 12, value_parser = parse_words)]
    words: usize,
    /// Store the coldkey unencrypted (test networks only).
    #[arg(long = "no-password")]
    no_password: bool,
    /// Replace existing keyfiles.
    #[arg(long)]
    overwrite: bool,
}

/// Options to restore a key.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("secret").required(true).multiple(false)))]
pub struct Regen {
    #[command(flatten)]
    wallet: WalletArgs,
    #[command(flatten)]
    password: PasswordArgs,
    /// The mnemonic (12–24 words).
    #[arg(long, group = "secret")]
    mnemonic: Option<String>,
    /// The 32-byte seed as 0x-hex.
    #[arg(long, group = "secret")]
    seed: Option<String>,
    /// A secret URI such as `//Alice` (development accounts) or `PHRASE//hard/soft`.
    #[arg(long, group = "secret")]
    uri: Option<String>,
    /// Store the coldkey unencrypted (test networks only).
    #[arg(long = "no-password")]
    no_password: bool,
    /// Replace existing keyfiles.
    #[arg(long)]
    overwrite: bool,
}

/// A key as reported after creating or restoring it.
#[derive(Debug, Serialize)]
struct KeyReport {
    wallet: String,
    kind: &'static str,
    name: String,
    ss58_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    mnemonic: Option<String>,
}

/// Runs a wallet command.
pub fn run(command: WalletCommand, out: &Output) -> anyhow::Result<()> {
    match command {
        WalletCommand::Create(args) => {
            let mut reports = vec![new_coldkey(&args, out)?];
            reports.push(new_hotkey(&args)?);
            show_keys(&reports, out)
        }
        WalletCommand::NewColdkey(args) => show_keys(&[new_coldkey(&args, out)?], out),
        WalletCommand::NewHotkey(args) => show_keys(&[new_hotkey(&args)?], out),
        WalletCommand::RegenColdkey(args) => {
            let (pair, phrase) = restore(&args)?;
            let wallet = args.wallet.wallet()?;
            let password = coldkey_password(args.no_password, &args.password, out)?;
            wallet.write_coldkey(
                &pair,
                phrase.as_deref().map(|p| p.as_str()),
                password.as_deref().map(|p| p.as_str()),
                args.overwrite,
            )?;
            show_keys(&[report(&wallet, "coldkey", "coldkey", &pair, None)], out)
        }
        WalletCommand::RegenHotkey(args) => {
            let (pair, phrase) = restore(&args)?;
            let wallet = args.wallet.wallet()?;
            wallet.write_hotkey(
                &args.wallet.hotkey,
                &pair,
                phrase.as_deref().map(|p| p.as_str()),
                args.overwrite,
            )?;
            show_keys(
                &[report(&wallet, "hotkey", &args.wallet.hotkey, &pair, None)],
                out,
            )
        }
        WalletCommand::List { path } => list(path, out),
        WalletCommand::Balance {
            all,
            network,
            wallet,
        } => crate::block_on(crate::commands::accounts::balance(
            &network, &wallet, all, out,
        )),
        WalletCommand::Overview { network, wallet } => {
            crate::block_on(crate::commands::accounts::overview(&network, &wallet, out))
        }
        WalletCommand::Transfer(transfer) => {
            crate::block_on(crate::commands::chain::transfer(&transfer, out))
        }
    }
}

fn new_coldkey(args: &NewKeys, out: &Output) -> anyhow::Result<KeyReport> {
    let wallet = args.wallet.wallet()?;
    let phrase = Zeroizing::new(Keypair::random_mnemonic(args.words)?);
    let pair = Keypair::from_phrase(&phrase, None)?;
    let password = coldkey_password(args.no_password, &args.password, out)?;
    wallet.write_coldkey(
        &pair,
        Some(&phrase),
        password.as_deref().map(|p| p.as_str()),
        args.overwrite,
    )?;
    Ok(report(&wallet, "coldkey", "coldkey", &pair, Some(&phrase)))
}

fn new_hotkey(args: &NewKeys) -> anyhow::Result<KeyReport> {
    let wallet = args.wallet.wallet()?;
    let phrase = Zeroizing::new(Keypair::random_mnemonic(args.words)?);
    let pair = Keypair::from_phrase(&phrase, None)?;
    wallet.write_hotkey(&args.wallet.hotkey, &pair, Some(&phrase), args.overwrite)?;
    Ok(report(
        &wallet,
        "hotkey",
        &args.wallet.hotkey,
        &pair,
        Some(&phrase),
    ))
}

fn restore(args: &Regen) -> anyhow::Result<(Keypair, Option<Zeroizing<String>>)> {
    if let Some(uri) = &args.uri {
        return Ok((
            Keypair::from_uri(uri).context("the secret URI is not valid")?,
            None,
        ));
    }
    match (&args.mnemonic, &args.seed) {
        (Some(phrase), _) => {
            let phrase = Zeroizing::new(phrase.split_whitespace().collect::<Vec<_>>().join(" "));
            Ok((
                Keypair::from_phrase(&phrase, None).context("the mnemonic is not valid")?,
                Some(phrase),
            ))
        }
        (None, Some(seed)) => {
            let uri = if seed.starts_with("0x") {
                seed.clone()
            } else {
                format!("0x{seed}")
            };
            Ok((
                Keypair::from_uri(&uri).context("the seed must be 32 bytes of 0x-hex")?,
                None,
            ))
        }
        (None, None) => bail!("give --mnemonic, --seed or --uri"),
    }
}

/// The password for a new coldkey: none with `--no-password`, else from the chosen source
/// (prompted twice on a terminal), checked for minimal strength.
fn coldkey_password(
    no_password: bool,
    args: &PasswordArgs,
    out: &Output,
) -> anyhow::Result<Option<Zeroizing<String>>> {
    if no_password {
        return Ok(None);
    }
    let source = args.source();
    if source == PasswordSource::Prompt && !out.prompt {
        bail!(
            "a coldkey password is needed: pass --password-env VAR, --password-file PATH or --no-password"
        );
    }
    let password = source.read("Coldkey password: ")?;
    check_new_password(&password)?;
    if source == PasswordSource::Prompt {
        let again = source.read("Retype the password: ")?;
        if again != password {
            bail!("the passwords differ; nothing was written");
        }
    }
    Ok(Some(password))
}

fn report(
    wallet: &Wallet,
    kind: &'static str,
    name: &str,
    pair: &Keypair,
    phrase: Option<&str>,
) -> KeyReport {
    KeyReport {
        wallet: wallet.name().to_owned(),
        kind,
        name: name.to_owned(),
        ss58_address: pair.public().to_ss58(),
        mnemonic: phrase.map(str::to_owned),
    }
}

fn show_keys(reports: &[KeyReport], out: &Output) -> anyhow::Result<()> {
    out.show(&reports, || {
        let mut t = table(&["wallet", "key", "name", "address"]);
        for r in reports {
            t.add_row(vec![
                r.wallet.clone(),
                r.kind.to_owned(),
                r.name.clone(),
                r.ss58_address.clone(),
            ]);
        }
        t
    })?;
    if !out.json {
        for r in reports.iter().filter(|r| r.mnemonic.is_some()) {
            println!(
                "\n{} mnemonic (write it down and keep it offline; anyone with it controls the key):\n  {}",
                r.kind,
                r.mnemonic.as_deref().unwrap_or_default()
            );
        }
    }
    Ok(())
}

#[derive(Debug, Serialize)]
struct ListedWallet {
    name: String,
    coldkey: Option<String>,
    hotkeys: Vec<ListedHotkey>,
}

#[derive(Debug, Serialize)]
struct ListedHotkey {
    name: String,
    address: Option<String>,
}

fn list(path: Option<PathBuf>, out: &Output) -> anyhow::Result<()> {
    let root = path
        .as_deref()
        .map(tao_wallet::expand_home)
        .unwrap_or_else(tao_wallet::default_root);
    let wallets: Vec<ListedWallet> = tao_wallet::list(&root)?
        .into_iter()
        .map(|w| ListedWallet {
            name: w.name,
            coldkey: w.coldkey.map(|k| k.to_ss58()),
            hotkeys: w
                .hotkeys
                .into_iter()
                .map(|(name, key)| ListedHotkey {
                    name,
                    address: key.map(|k| k.to_ss58()),
                })
                .collect(),
        })
        .collect();
    out.show(&wallets, || {
        let mut t = table(&["wallet", "coldkey", "hotkey", "hotkey address"]);
        for w in &wallets {
            let coldkey = w.coldkey.clone().unwrap_or_else(|| "?".into());
            if w.hotkeys.is_empty() {
                t.add_row(vec![
                    w.name.clone(),
                    coldkey.clone(),
                    String::new(),
                    String::new(),
                ]);
            }
            for h in &w.hotkeys {
                t.add_row(vec![
                    w.name.clone(),
                    coldkey.clone(),
                    h.name.clone(),
                    h.address.clone().unwrap_or_else(|| "?".into()),
                ]);
            }
        }
        t
    })
}

/// Mnemonic lengths bip39 allows.
fn parse_words(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(words @ (12 | 15 | 18 | 21 | 24)) => Ok(words),
        _ => Err("must be 12, 15, 18, 21 or 24".into()),
    }
}
