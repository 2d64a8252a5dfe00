//! What a running node says about its chain at `info`: finalized blocks (at most one line per
//! [`LINE_INTERVAL`], counting the blocks, transactions and epochs in between, so fast dev
//! chains stay readable) and every transaction whose call failed, with the chain's error; each
//! epoch at `debug`. `RUST_LOG` filters it like any other target (`tao_node::block_log`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tao_types::events::Event;
use tokio::sync::broadcast;

use crate::archive::BlockRecord;

/// Least time between two lines about finalized blocks.
pub const LINE_INTERVAL: Duration = Duration::from_secs(5);

/// Logs the finalized blocks of `heads` until the stream closes.
pub async fn run(mut heads: broadcast::Receiver<Arc<BlockRecord>>) {
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
        let height = record.header.number;
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
        for receipt in record.receipts.iter().filter(|receipt| !receipt.success) {
            let error = receipt
                .error
                .as_ref()
                .map_or_else(|| "unknown".to_owned(), ToString::to_string);
            tracing::info!(height, signer = %receipt.signer, %error, "transaction failed");
        }
        if last_line.is_none_or(|at| at.elapsed() >= LINE_INTERVAL) {
            tracing::info!(height, blocks, transactions, epochs, "finalized");
            last_line = Some(Instant::now());
            (blocks, transactions, epochs) = (0, 0, 0);
        }
    }
}
