//! The streams of blocks a node's RPC subscribers follow: finalized blocks once durable, and
//! blocks proposed or verified here before finality.

use std::sync::Arc;

use tao_rpc_api::Bytes;
use tokio::sync::broadcast;

use crate::app::Chain;
use crate::archive::BlockRecord;
use crate::block::Block;
use crate::metrics::NodeMetrics;
use crate::storage::RedbStore;

/// A block seen by this node before it is final (what `author_submitAndWatch` reports as
/// in-block).
#[derive(Clone, Debug)]
pub struct PendingNotice {
    /// Its height.
    pub number: u64,
    /// Its digest.
    pub hash: Bytes,
    /// Hashes of its transactions, in order.
    pub tx_hashes: Vec<Bytes>,
}

/// The streams of blocks a node's RPC subscribers follow.
#[derive(Clone, Debug)]
pub struct ChainEvents {
    /// Every finalized block, once durable.
    pub finalized: broadcast::Sender<Arc<BlockRecord>>,
    /// Every block proposed or verified here, before finality.
    pub pending: broadcast::Sender<Arc<PendingNotice>>,
}

impl ChainEvents {
    /// Streams `chain`'s blocks, and observes finality latency (block time to durable
    /// finalization here) into `metrics`.
    pub fn attach(chain: &Chain<RedbStore>, metrics: &NodeMetrics) -> ChainEvents {
        let (finalized, _) = broadcast::channel::<Arc<BlockRecord>>(1_024);
        let (pending, _) = broadcast::channel::<Arc<PendingNotice>>(1_024);
        let events = ChainEvents {
            finalized: finalized.clone(),
            pending: pending.clone(),
        };
        let latency = metrics.finality_latency.clone();
        chain.set_listener(Arc::new(move |record: Arc<BlockRecord>| {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_millis());
            let lag_ms = now_ms.saturating_sub(u128::from(record.timestamp_ms));
            latency.observe(lag_ms as f64 / 1_000.0);
            let _ = finalized.send(record);
        }));
        chain.set_pending_listener(Arc::new(move |block: &Block, digest| {
            // Hashing every transaction is only worth it while someone watches.
            if pending.receiver_count() == 0 {
                return;
            }
            let _ = pending.send(Arc::new(PendingNotice {
                number: block.height,
                hash: Bytes(digest.0.to_vec()),
                tx_hashes: block
                    .txs
                    .iter()
                    .map(|tx| Bytes(tx.hash().0.to_vec()))
                    .collect(),
            }));
        }));
        events
    }
}
