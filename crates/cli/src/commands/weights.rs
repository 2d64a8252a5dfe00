//! `tao weights …`: set directly, or commit a hash and reveal it later (commit-reveal), and
//! show the rows on chain.
//!
//! `commit` saves what the reveal needs (uids, weights, salt, version key) under the wallet,
//! `<wallet>/weight_commits/<hotkey SS58>/<netuid>-<hash>.json` (mode 0600), before it sends
//! anything; `reveal` finds it there, and deletes it once the reveal is finalized.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Subcommand;
use serde::Serialize;
use tao_client::Client;
use tao_primitives::{AccountId, NetUid};
use tao_rpc_api::TaoApiClient;
use tao_sdk::commit::SavedCommit;
use tao_types::serde_account;
use tao_types::tx::Call;
use tao_types::views::WeightCommitView;

use crate::amount::parse_decimal;
use crate::args::{NetworkArgs, SignerArgs};
use crate::output::{Output, table, usage};
use crate::tx::{found, rpc_error, send, show_tx};

/// Most uids in one weight row (a `u16` uid space).
const MAX_UIDS: usize = 1 << 16;
/// How often `reveal --wait` looks at the chain.
const POLL: Duration = Duration::from_millis(200);

/// Weight commands.
#[derive(Debug, Subcommand)]
pub enum WeightsCommand {
    /// Set the wallet hotkey's weights on a subnet (subnets without commit-reveal).
    Set {
        #[command(flatten)]
        row: WeightRow,
        #[command(flatten)]
        signer: SignerArgs,
    },
    /// Commit to weights by their hash (commit-reveal subnets); saves the salt to reveal later.
    Commit {
        #[command(flatten)]
        row: WeightRow,
        #[command(flatten)]
        signer: SignerArgs,
    },
    /// Reveal weights committed with `tao weights commit` (in the reveal epoch).
    Reveal {
        /// The subnet.
        #[arg(long)]
        netuid: u16,
        /// Which commit (0x-hash as `commit` printed it); default: the oldest saved one still
        /// on chain.
        #[arg(long)]
        hash: Option<String>,
        /// Wait for the reveal window to open instead of failing when it is early.
        #[arg(long)]
        wait: bool,
        /// Longest wait for the window, seconds.
        #[arg(long = "wait-timeout", default_value_t = 600)]
        wait_timeout_s: u64,
        #[command(flatten)]
        signer: SignerArgs,
    },
    /// The weight rows on chain of a subnet's neurons.
    Show {
        /// The subnet.
        netuid: u16,
        #[command(flatten)]
        network: NetworkArgs,
    },
}

/// A weight row as given on the command line.
#[derive(Debug, clap::Args)]
pub struct WeightRow {
    /// The subnet.
    #[arg(long)]
    netuid: u16,
    /// Destination uids, comma-separated.
    #[arg(long, value_delimiter = ',')]
    uids: Vec<u16>,
    /// Weights in the same order, any scale (0.7,0.2,0.1 or 7,2,1): sent scaled so the
    /// largest is 65535.
    #[arg(long, value_delimiter = ',')]
    weights: Vec<String>,
    /// Version key of your validator software.
    #[arg(long, default_value_t = 0)]
    version_key: u64,
}

impl WeightRow {
    /// The weights as the chain takes them, after checking the row's shape.
    fn values(&self) -> anyhow::Result<Vec<u16>> {
        if self.uids.len() != self.weights.len() {
            return Err(usage(format!(
                "--uids has {} entries and --weights {}: give one weight per uid",
                self.uids.len(),
                self.weights.len()
            )));
        }
        if self.uids.is_empty() || self.uids.len() > MAX_UIDS {
            return Err(usage("give at least one uid (and at most 65536)"));
        }
        let weights = self
            .weights
            .iter()
            .map(|text| parse_weight(text))
            .collect::<Result<Vec<u64>, String>>()
            .map_err(usage)?;
        scale_weights(&weights).map_err(usage)
    }

    /// Fails, before anything is signed, when a uid has no neuron on the subnet (the chain
    /// would refuse the weights, or for a commit only the reveal, later).
    async fn ensure_uids_exist(&self, client: &Client) -> anyhow::Result<()> {
        let subnet = client
            .rpc()
            .await?
            .subnet_info_get_subnet_info(NetUid(self.netuid))
            .await
            .map_err(rpc_error)?;
        let neurons = found(subnet, self.netuid)?.n;
        if let Some(uid) = self.uids.iter().find(|uid| **uid >= neurons) {
            bail!(
                "uid {uid} does not exist on subnet {}: it has {neurons} neurons (uids 0 to {}); \
                 see `tao subnets metagraph --netuid {}` (nothing was sent)",
                self.netuid,
                neurons.saturating_sub(1),
                self.netuid
            );
        }
        Ok(())
    }
}

/// Parses one weight: a non-negative decimal number (at most 9 decimals), in billionths.
fn parse_weight(text: &str) -> Result<u64, String> {
    let plain =
        !text.trim().is_empty() && text.trim().chars().all(|c| c.is_ascii_digit() || c == '.');
    if !plain {
        return Err(format!(
            "{text:?} is not a weight: use non-negative numbers such as 0.7,0.2,0.1 or 7,2,1"
        ));
    }
    parse_decimal(text).map_err(|_| format!("{text:?} is not a weight (at most 9 decimals)"))
}

/// Weights of any scale as the chain's `u16`s, the largest at 65535 (rounded to nearest).
fn scale_weights(weights: &[u64]) -> Result<Vec<u16>, String> {
    let largest = weights.iter().copied().max().unwrap_or(0);
    if largest == 0 {
        return Err("all weights are 0: give at least one above 0".to_owned());
    }
    Ok(weights
        .iter()
        .map(|weight| {
            let scaled = (u128::from(*weight) * u128::from(u16::MAX) * 2 + u128::from(largest))
                / (u128::from(largest) * 2);
            u16::try_from(scaled).unwrap_or(u16::MAX)
        })
        .collect())
}

/// What `commit` reports after the commit is finalized.
#[derive(Debug, Serialize)]
struct CommitReport {
    hash: String,
    netuid: u16,
    hotkey: String,
    saved_to: String,
    reveal_epoch: Option<u64>,
    reveal_opens_in_blocks: Option<u64>,
    reveal_command: String,
}

/// `tao weights …`.
pub async fn run(command: WeightsCommand, out: &Output) -> anyhow::Result<()> {
    match command {
        WeightsCommand::Set { row, signer } => {
            let values = row.values()?;
            let pair = signer.hotkey()?;
            let client = signer.network.client().await?;
            row.ensure_uids_exist(&client).await?;
            let call = Call::SetWeights {
                netuid: NetUid(row.netuid),
                uids: row.uids,
                values,
                version_key: row.version_key,
            };
            let report = send(&client, &signer.finality, &pair, call, out).await?;
            show_tx::<()>(out, &report, None)?;
            report.into_result()
        }
        WeightsCommand::Commit { row, signer } => commit(row, &signer, out).await,
        WeightsCommand::Reveal {
            netuid,
            hash,
            wait,
            wait_timeout_s,
            signer,
        } => {
            let deadline = wait.then(|| Duration::from_secs(wait_timeout_s));
            reveal(netuid, hash.as_deref(), deadline, &signer, out).await
        }
        WeightsCommand::Show { netuid, network } => show(netuid, &network, out).await,
    }
}

fn commits_dir(signer: &SignerArgs, hotkey: &str) -> anyhow::Result<PathBuf> {
    Ok(signer
        .wallet
        .wallet()?
        .dir()
        .join("weight_commits")
        .join(hotkey))
}

fn commit_path(dir: &Path, netuid: u16, hash: &str) -> PathBuf {
    dir.join(format!("{netuid}-{hash}.json"))
}

async fn commit(row: WeightRow, signer: &SignerArgs, out: &Output) -> anyhow::Result<()> {
    let values = row.values()?;
    let pair = signer.hotkey()?;
    let client = signer.network.client().await?;
    row.ensure_uids_exist(&client).await?;
    let hotkey_text = pair.public().to_ss58();
    let netuid = NetUid(row.netuid);
    let saved = SavedCommit::new(
        &pair.public(),
        row.netuid,
        row.uids,
        values,
        row.version_key,
    )?;
    let hash_value = saved.hash_value();
    let hash = saved.hash.clone();
    // Saved before sending: a commit on chain without its salt could never be revealed.
    let dir = commits_dir(signer, &hotkey_text)?;
    let path = commit_path(&dir, row.netuid, &hash);
    saved.save(&path, false)?;

    let call = Call::CommitWeights {
        netuid,
        hash: hash_value,
    };
    let report = match send(&client, &signer.finality, &pair, call, out).await {
        Ok(report) => report,
        Err(error) => {
            let _ = std::fs::remove_file(&path);
            return Err(error);
        }
    };
    let on_chain = chain_commit(&client, row.netuid, &hotkey_text, &hash).await?;
    let opens_in = match &on_chain {
        Some(commit) => Some(blocks_until_epoch(&client, row.netuid, commit.reveal_epoch).await?),
        None => None,
    };
    let wallet = &signer.wallet;
    let commit_report = CommitReport {
        hash: hash.clone(),
        netuid: row.netuid,
        hotkey: hotkey_text,
        saved_to: path.display().to_string(),
        reveal_epoch: on_chain.as_ref().map(|c| c.reveal_epoch),
        reveal_opens_in_blocks: opens_in,
        reveal_command: format!(
            "tao weights reveal --netuid {}{} --wallet.name {} --wallet.hotkey {} --hash {hash}",
            row.netuid,
            wallet
                .path
                .as_ref()
                .map(|path| format!(" --wallet.path {}", path.display()))
                .unwrap_or_default(),
            wallet.name,
            wallet.hotkey
        ),
    };
    show_tx(out, &report, Some(("commit", &commit_report)))?;
    if !report.success {
        let _ = std::fs::remove_file(&path);
        return report.into_result();
    }
    if !out.json {
        match (commit_report.reveal_epoch, opens_in) {
            (Some(epoch), Some(blocks)) => println!(
                "Committed {hash}; reveal in epoch {epoch} of subnet {} (opens in about {blocks} blocks).\nNext: {} (add --wait to wait for the window)",
                row.netuid, commit_report.reveal_command
            ),
            _ => println!("Committed {hash}. Next: {}", commit_report.reveal_command),
        }
    }
    Ok(())
}

/// The chain's record of this hotkey's commit with `hash`, if it holds one.
async fn chain_commit(
    client: &Client,
    netuid: u16,
    hotkey: &str,
    hash: &str,
) -> anyhow::Result<Option<WeightCommitView>> {
    let commits = client
        .rpc()
        .await?
        .subnet_info_get_weight_commits(NetUid(netuid), hotkey.to_owned())
        .await
        .map_err(rpc_error)?;
    Ok(commits.into_iter().find(|c| c.hash == hash))
}

/// The subnet's epoch index now, and about how many blocks until epoch `target` starts (0
/// when it has).
async fn epoch_and_wait(client: &Client, netuid: u16, target: u64) -> anyhow::Result<(u64, u64)> {
    let info = client
        .rpc()
        .await?
        .subnet_info_get_dynamic_info(NetUid(netuid))
        .await
        .map_err(rpc_error)?;
    let info = found(info, netuid)?;
    let blocks = match target.checked_sub(info.epoch_index) {
        None | Some(0) => 0,
        Some(epochs) => info.blocks_until_next_epoch.saturating_add(
            epochs
                .saturating_sub(1)
                .saturating_mul(u64::from(info.tempo)),
        ),
    };
    Ok((info.epoch_index, blocks))
}

async fn blocks_until_epoch(client: &Client, netuid: u16, target: u64) -> anyhow::Result<u64> {
    Ok(epoch_and_wait(client, netuid, target).await?.1)
}

/// The saved commits of a hotkey on a subnet (unreadable files are skipped with a warning).
fn saved_commits(dir: &Path, netuid: u16) -> anyhow::Result<Vec<(PathBuf, SavedCommit)>> {
    let prefix = format!("{netuid}-");
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut commits = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if !name.is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".json")) {
            continue;
        }
        match SavedCommit::load(&path) {
            Ok(saved) if saved.netuid == netuid => commits.push((path, saved)),
            Ok(_) => {}
            Err(error) => eprintln!("warning: skipping {}: {error:#}", path.display()),
        }
    }
    Ok(commits)
}

async fn reveal(
    netuid: u16,
    hash: Option<&str>,
    wait: Option<Duration>,
    signer: &SignerArgs,
    out: &Output,
) -> anyhow::Result<()> {
    let pair = signer.hotkey()?;
    let hotkey_text = pair.public().to_ss58();
    let dir = commits_dir(signer, &hotkey_text)?;
    let saved = saved_commits(&dir, netuid)?;
    if saved.is_empty() {
        bail!(
            "no saved commit of hotkey {hotkey_text} on subnet {netuid} under {}: run `tao weights commit` first",
            dir.display()
        );
    }
    let client = signer.network.client().await?;
    let on_chain = client
        .rpc()
        .await?
        .subnet_info_get_weight_commits(NetUid(netuid), hotkey_text.clone())
        .await
        .map_err(rpc_error)?;
    // Oldest first: the chain's order.
    let chosen = on_chain.iter().find_map(|commit| {
        let wanted = hash.is_none_or(|h| h.eq_ignore_ascii_case(&commit.hash));
        let local = saved.iter().find(|(_, s)| s.hash == commit.hash);
        local
            .filter(|_| wanted)
            .map(|local| (commit.clone(), local))
    });
    let Some((commit, (path, saved))) = chosen else {
        bail!(
            "none of the {} saved commit(s) under {} {} on chain (revealed already, expired and pruned, or never finalized): commit again",
            saved.len(),
            dir.display(),
            if hash.is_some() {
                "with that hash is"
            } else {
                "is"
            }
        );
    };

    let started = Instant::now();
    loop {
        let (epoch, blocks) = epoch_and_wait(&client, netuid, commit.reveal_epoch).await?;
        if epoch > commit.reveal_epoch {
            bail!(
                "weight commit expired: it had to be revealed in epoch {} and subnet {netuid} is in epoch {epoch}; commit again",
                commit.reveal_epoch
            );
        }
        if epoch == commit.reveal_epoch {
            break;
        }
        match wait {
            Some(limit) if started.elapsed() < limit => tokio::time::sleep(POLL).await,
            Some(_) => bail!("timed out waiting for epoch {}", commit.reveal_epoch),
            None => bail!(
                "reveal too early: the window is epoch {} (subnet {netuid} is in epoch {epoch}, about {blocks} blocks to go); run again then, or add --wait",
                commit.reveal_epoch
            ),
        }
    }

    let call = Call::RevealWeights {
        netuid: NetUid(netuid),
        uids: saved.uids.clone(),
        values: saved.weights.clone(),
        salt: saved.salt.clone(),
        version_key: saved.version_key,
    };
    let report = send(&client, &signer.finality, &pair, call, out).await?;
    show_tx(out, &report, Some(("revealed", saved)))?;
    if report.success {
        std::fs::remove_file(path)
            .with_context(|| format!("revealed, but cannot delete {}", path.display()))?;
    }
    report.into_result()
}

/// One neuron's weight row.
#[derive(Debug, Serialize)]
struct WeightsOf {
    uid: u16,
    #[serde(with = "serde_account")]
    hotkey: AccountId,
    last_update: u64,
    weights: Vec<(u16, u16)>,
}

async fn show(netuid: u16, network: &NetworkArgs, out: &Output) -> anyhow::Result<()> {
    let neurons = network
        .client()
        .await?
        .rpc()
        .await?
        .neuron_info_get_neurons(NetUid(netuid))
        .await
        .map_err(rpc_error)?;
    if neurons.is_empty() {
        bail!("subnet does not exist or has no neurons: {netuid} (see `tao subnets list`)");
    }
    let rows: Vec<WeightsOf> = neurons
        .into_iter()
        .map(|n| WeightsOf {
            uid: n.uid,
            hotkey: n.hotkey,
            last_update: n.last_update,
            weights: n.weights,
        })
        .collect();
    out.show(&rows, || {
        let mut t = table(&["uid", "hotkey", "last update", "weights (uid: u16)"]);
        for row in &rows {
            t.add_row(vec![
                row.uid.to_string(),
                serde_account::to_text(&row.hotkey),
                row.last_update.to_string(),
                row.weights
                    .iter()
                    .map(|(uid, w)| format!("{uid}: {w}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ]);
        }
        t
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_of_any_scale_become_the_chains_u16s() {
        let parsed: Vec<u64> = ["0.7", "0.2", "0.1"]
            .iter()
            .map(|w| parse_weight(w).unwrap_or_default())
            .collect();
        assert_eq!(scale_weights(&parsed), Ok(vec![65_535, 18_724, 9_362]));
        let integers: Vec<u64> = ["1", "3"]
            .iter()
            .map(|w| parse_weight(w).unwrap_or_default())
            .collect();
        assert_eq!(scale_weights(&integers), Ok(vec![21_845, 65_535]));
        assert!(scale_weights(&[0, 0]).is_err());
        for bad in ["", "-1", "1e3", "0.5tao", "abc", "0.0000000001"] {
            assert!(parse_weight(bad).is_err(), "{bad}");
        }
    }
}
