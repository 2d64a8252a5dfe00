//! What a running node says about its chain at `info`: finalized blocks (at most one line per
//! [`LINE_INTERVAL`], counting the blocks, transactions and epochs in between, so fast dev
//! chains stay readable), every transaction whose call failed, with the chain's error, and the
//! transactions the node refused since the last line, counted by reason (one line however
//! many: a flood of bad submissions must not flood the log); each epoch at `debug`.
//! `RUST_LOG` filters it like any other target (`tao_node::block_log`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tao_types::events::Event;
use tokio::sync::broadcast;

use crate::archive::BlockRecord;

/// Least time between two lines about finalized blocks.
pub const LINE_INTERVAL: Duration = Duration::from_secs(5);

/// Transactions refused since the chain log's last line, by reason. Clones share the counts
/// (the node's metrics record into one, the chain log takes them out).
#[derive(Clone, Debug, Default)]
pub struct RefusalTally(Arc<Mutex<BTreeMap<&'static str, u64>>>);

impl RefusalTally {
    /// Counts one refusal for `reason`.
    pub fn record(&self, reason: &'static str) {
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(reason).or_default();
        *count = count.saturating_add(1);
    }

    /// The refusals since the last call, as `(total, "reason count, ...")` with the most
    /// frequent reasons first; `None` when there were none.
    pub fn take_summary(&self) -> Option<(u64, String)> {
        let counts = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        let total = counts.values().fold(0_u64, |sum, n| sum.saturating_add(*n));
        if total == 0 {
            return None;
        }
        let mut by_count: Vec<(&'static str, u64)> = counts.into_iter().collect();
        by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let reasons: Vec<String> = by_count
            .iter()
            .map(|(reason, count)| format!("{reason} {count}"))
            .collect();
        Some((total, reasons.join(", ")))
    }
}

/// Logs the finalized blocks of `heads`, and the refusals counted in `refusals`, until the
/// stream closes.
pub async fn run(mut heads: broadcast::Receiver<Arc<BlockRecord>>, refusals: RefusalTally) {
    let mut last_line: Option<Instant> = None;
    let (mut blocks, mut transactions, mut epochs) = (0_u64, 0_usize, 0_usize);
    loop {
        let record = match heads.recv().await {
            Ok(record) => record,
            Err(broadcast::error::RecvError::Lagged(skipped)) => {
                tracing::debug!(skipped, "block log fell behind");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let height = record.number;
        blocks = blocks.saturating_add(1);
        transactions = transactions.saturating_add(record.extrinsics.len());
        for event in &record.block_events {
            if let Event::EpochRun {
                netuid,
                emitted_rao: emitted,
            } = event
            {
                epochs = epochs.saturating_add(1);
                tracing::debug!(height, netuid = netuid.0, emitted, "epoch");
            }
        }
        for receipt in &record.receipts {
            if let Err(error) = &receipt.result {
                let signer = tao_types::serde_account::to_text(&receipt.signer);
                tracing::info!(height, %signer, %error, "transaction failed");
            }
        }
        if last_line.is_none_or(|at| at.elapsed() >= LINE_INTERVAL) {
            tracing::info!(height, blocks, transactions, epochs, "finalized");
            if let Some((refused, reasons)) = refusals.take_summary() {
                tracing::info!(refused, %reasons, "transactions refused");
            }
            last_line = Some(Instant::now());
            (blocks, transactions, epochs) = (0, 0, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RefusalTally;

    #[test]
    fn refusals_are_summed_by_reason_and_taken_once() {
        let tally = RefusalTally::default();
        assert_eq!(tally.take_summary(), None);
        let shared = tally.clone();
        for reason in [
            "stale_nonce",
            "pool_full",
            "stale_nonce",
            "bad_signature",
            "stale_nonce",
        ] {
            shared.record(reason);
        }
        assert_eq!(
            tally.take_summary(),
            Some((5, "stale_nonce 3, bad_signature 1, pool_full 1".to_owned()))
        );
        assert_eq!(
            tally.take_summary(),
            None,
            "counted since the last line only"
        );
    }
}
