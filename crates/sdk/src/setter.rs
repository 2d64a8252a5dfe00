//! Sending a validator's weights the way its subnet is configured: `set_weights`, or a commit
//! and later its reveal in the reveal epoch when commit-reveal is on; never faster than
//! `weights_rate_limit` and never with a version key below `weights_version_key`.
//!
//! A pending commit is saved (as [`SavedCommit`]) before the commit is sent, so a validator
//! that restarts still reveals it.

use std::path::PathBuf;

use tao_keys::Keypair;
use tao_primitives::NetUid;
use tao_rpc_api::TaoApiClient;

use crate::chain::Chain;
use crate::commit::SavedCommit;
use crate::error::SdkError;
use crate::metagraph::Metagraph;
use crate::weights::{WeightLimits, WeightRow, weights_from_scores};
use tao_types::tx::Call;

/// What [`WeightSetter::send`] or [`WeightSetter::reveal_due`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WeightsOutcome {
    /// `set_weights` finalized at this block.
    Set {
        /// Block of inclusion.
        block: u64,
        /// Entries in the row.
        entries: usize,
    },
    /// A commit finalized at `block`, to be revealed in epoch `reveal_epoch`.
    Committed {
        /// Block of inclusion.
        block: u64,
        /// The epoch index of the reveal window.
        reveal_epoch: u64,
    },
    /// A commit was revealed at this block.
    Revealed {
        /// Block of inclusion.
        block: u64,
    },
    /// Nothing was sent; why.
    Waiting(String),
}

/// Sends one validator's weights on one subnet.
#[derive(Debug)]
pub struct WeightSetter {
    chain: Chain,
    hotkey: Keypair,
    netuid: u16,
    version_key: u64,
    pending_path: PathBuf,
    pending: Option<(SavedCommit, u64)>,
    /// Block of the last weights this run sent (set or committed).
    last_sent_block: Option<u64>,
}

impl WeightSetter {
    /// A setter for `hotkey` on `netuid` that keeps its pending commit at `pending_path`.
    /// A commit saved there by an earlier run is picked up (its reveal epoch is read from the
    /// chain on the next [`reveal_due`](Self::reveal_due)).
    pub fn new(
        chain: Chain,
        hotkey: Keypair,
        netuid: u16,
        version_key: u64,
        pending_path: PathBuf,
    ) -> WeightSetter {
        let pending = SavedCommit::load(&pending_path)
            .ok()
            .filter(|saved| saved.netuid == netuid && saved.hotkey == hotkey.public().to_ss58())
            .map(|saved| (saved, u64::MAX));
        WeightSetter {
            chain,
            hotkey,
            netuid,
            version_key,
            pending_path,
            pending,
            last_sent_block: None,
        }
    }

    /// What a validator calls every round: reveals a due commit, and sends `scores` when
    /// `interval_blocks` (0: one tempo) have passed since its last weights — this run's, or
    /// the chain's `last_update` after a restart. `None` when nothing was due; failures are
    /// reported as [`WeightsOutcome::Waiting`], never returned.
    pub async fn on_schedule(
        &mut self,
        graph: &Metagraph,
        interval_blocks: u64,
        scores: &[(u16, f64)],
    ) -> Option<WeightsOutcome> {
        match self.reveal_due(graph).await {
            Ok(Some(outcome)) => return Some(outcome),
            Ok(None) => {}
            Err(error) => return Some(WeightsOutcome::Waiting(format!("reveal failed: {error}"))),
        }
        let interval = match interval_blocks {
            0 => u64::from(graph.dynamic.tempo.max(1)),
            blocks => blocks,
        };
        let last = self.last_sent_block.or_else(|| {
            graph
                .neuron_of(&self.hotkey.public())
                .filter(|n| n.last_update != n.registered_at)
                .map(|n| n.last_update)
        });
        if last.is_some_and(|last| graph.block.saturating_sub(last) < interval) {
            return None;
        }
        let outcome = match self.send(graph, scores).await {
            Ok(outcome) => outcome,
            Err(error) => WeightsOutcome::Waiting(format!("not sent: {error}")),
        };
        if matches!(
            outcome,
            WeightsOutcome::Set { .. } | WeightsOutcome::Committed { .. }
        ) {
            self.last_sent_block = Some(graph.block);
        }
        Some(outcome)
    }

    /// Whether a commit waits for its reveal.
    pub fn has_pending_commit(&self) -> bool {
        self.pending.is_some()
    }

    /// Turns `scores` into a row within the subnet's limits and sends it (set or commit), or
    /// says why not yet (no permit, rate limit, a commit still pending).
    ///
    /// # Errors
    /// [`SdkError::Weights`], [`SdkError::VersionKeyTooLow`], [`SdkError::NotRegistered`], or
    /// the chain's refusal.
    pub async fn send(
        &mut self,
        graph: &Metagraph,
        scores: &[(u16, f64)],
    ) -> Result<WeightsOutcome, SdkError> {
        let params = &graph.hyperparams;
        if params.weights_version_key != 0 && self.version_key < params.weights_version_key {
            return Err(SdkError::VersionKeyTooLow {
                ours: self.version_key,
                required: params.weights_version_key,
            });
        }
        let me = graph
            .neuron_of(&self.hotkey.public())
            .ok_or_else(|| SdkError::NotRegistered {
                hotkey: self.hotkey.public().to_ss58(),
                netuid: self.netuid,
            })?;
        let is_owner = graph.dynamic.owner_hotkey.0 == self.hotkey.public().to_bytes();
        if !me.validator_permit && !is_owner {
            return Ok(WeightsOutcome::Waiting("no validator permit yet".into()));
        }
        let since = graph.block.saturating_sub(me.last_update);
        if since < params.weights_rate_limit && me.last_update != me.registered_at {
            return Ok(WeightsOutcome::Waiting(format!(
                "rate limit: {since} of {} blocks since the last update",
                params.weights_rate_limit
            )));
        }
        let limits = WeightLimits {
            n: u16::try_from(graph.n()).unwrap_or(u16::MAX),
            min_allowed_weights: params.min_allowed_weights,
            max_weight_limit: params.max_weight_limit,
        };
        let row = weights_from_scores(scores, limits)?;
        if params.commit_reveal_enabled {
            self.commit(graph, row).await
        } else {
            let entries = row.uids.len();
            let call = Call::SetWeights {
                netuid: NetUid(self.netuid),
                uids: row.uids,
                values: row.values,
                version_key: self.version_key,
            };
            let done = self.chain.submit(&self.hotkey, call, "set_weights").await?;
            Ok(WeightsOutcome::Set {
                block: done.number,
                entries,
            })
        }
    }

    async fn commit(
        &mut self,
        graph: &Metagraph,
        row: WeightRow,
    ) -> Result<WeightsOutcome, SdkError> {
        if self.pending.is_some() {
            return Ok(WeightsOutcome::Waiting(
                "a commit is waiting for its reveal".into(),
            ));
        }
        let saved = SavedCommit::new(
            &self.hotkey.public(),
            self.netuid,
            row.uids,
            row.values,
            self.version_key,
        )?;
        // Saved before sending: a commit on chain without its salt could never be revealed.
        saved.save(&self.pending_path, true)?;
        let call = Call::CommitWeights {
            netuid: NetUid(self.netuid),
            hash: saved.hash_value(),
        };
        let done = match self
            .chain
            .submit(&self.hotkey, call, "commit_weights")
            .await
        {
            Ok(done) => done,
            Err(error) => {
                let _ = std::fs::remove_file(&self.pending_path);
                return Err(error);
            }
        };
        let reveal_epoch = self.reveal_epoch_on_chain(&saved.hash).await?.unwrap_or(
            graph
                .dynamic
                .epoch_index
                .saturating_add(graph.hyperparams.reveal_period_epochs),
        );
        self.pending = Some((saved, reveal_epoch));
        Ok(WeightsOutcome::Committed {
            block: done.number,
            reveal_epoch,
        })
    }

    async fn reveal_epoch_on_chain(&self, hash: &str) -> Result<Option<u64>, SdkError> {
        let commits = self
            .chain
            .client()
            .rpc()
            .await?
            .subnet_info_get_weight_commits(NetUid(self.netuid), self.hotkey.public().to_ss58())
            .await
            .map_err(tao_client::ClientError::from)?;
        Ok(commits
            .into_iter()
            .find(|c| c.hash.eq_ignore_ascii_case(hash))
            .map(|c| c.reveal_epoch))
    }

    /// Reveals the pending commit if its epoch has come (drops it if it expired or is no
    /// longer on chain); `None` when there is nothing to do now.
    ///
    /// # Errors
    /// The chain's refusal of the reveal.
    pub async fn reveal_due(
        &mut self,
        graph: &Metagraph,
    ) -> Result<Option<WeightsOutcome>, SdkError> {
        let Some((saved, mut reveal_epoch)) = self.pending.clone() else {
            return Ok(None);
        };
        if reveal_epoch == u64::MAX {
            // Restored from disk: ask the chain when.
            match self.reveal_epoch_on_chain(&saved.hash).await? {
                Some(epoch) => {
                    reveal_epoch = epoch;
                    self.pending = Some((saved.clone(), epoch));
                }
                None => {
                    self.drop_pending();
                    return Ok(Some(WeightsOutcome::Waiting(
                        "the saved commit is not on chain (revealed or expired); dropped".into(),
                    )));
                }
            }
        }
        let epoch = graph.dynamic.epoch_index;
        if epoch < reveal_epoch {
            return Ok(None);
        }
        if epoch > reveal_epoch {
            self.drop_pending();
            return Ok(Some(WeightsOutcome::Waiting(format!(
                "commit expired (reveal epoch {reveal_epoch}, now {epoch}); dropped"
            ))));
        }
        let call = Call::RevealWeights {
            netuid: NetUid(self.netuid),
            uids: saved.uids,
            values: saved.weights,
            salt: saved.salt,
            version_key: saved.version_key,
        };
        let result = self
            .chain
            .submit(&self.hotkey, call, "reveal_weights")
            .await;
        self.drop_pending();
        let done = result?;
        Ok(Some(WeightsOutcome::Revealed { block: done.number }))
    }

    fn drop_pending(&mut self) {
        self.pending = None;
        let _ = std::fs::remove_file(&self.pending_path);
    }
}
