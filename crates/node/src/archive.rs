//! What the node keeps about each finalized block for the RPC: the header, the transactions
//! and the receipts/events its execution produced.
//!
//! Choice: receipts are **stored**, not re-derived. The execution that finalizes a block
//! already produced them, so the record is written to redb in the same transaction as the
//! block's state changes ([`crate::storage::CommitStore::commit_with_record`]): a block is
//! committed with its record or not at all, and `kill -9` cannot leave one without the other.
//! The record is JSON of the RPC views (small, self-describing; the RPC serves it as is).

use commonware_cryptography::Digestible;
use parity_scale_codec::Encode;
use serde::{Deserialize, Serialize};
use tao_rpc_api::{Bytes, EventsView, HeaderView, ReceiptView};
use tao_state::block::Receipt;
use tao_types::events::Event;
use tao_types::serde_account;

use crate::block::Block;

/// A finalized block as the RPC serves it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRecord {
    /// Header.
    pub header: HeaderView,
    /// SCALE-encoded transactions.
    pub extrinsics: Vec<Bytes>,
    /// Hashes of the transactions, in order (for watchers).
    pub tx_hashes: Vec<Bytes>,
    /// Events of the block's own economics.
    pub block_events: Vec<Event>,
    /// One receipt per transaction.
    pub receipts: Vec<ReceiptView>,
}

/// The RPC header of `block`.
pub fn header(block: &Block) -> HeaderView {
    HeaderView {
        number: block.height,
        hash: Bytes(block.digest().0.to_vec()),
        parent_hash: Bytes(block.parent.0.to_vec()),
        state_root: Bytes(block.state_root.0.to_vec()),
        extrinsics_root: Bytes(block.tx_root.0.to_vec()),
        timestamp_ms: block.timestamp_ms,
        author: block.author.as_ref().map(serde_account::to_text),
    }
}

impl BlockRecord {
    /// The record of `block` executed with these receipts and block events.
    pub fn new(block: &Block, receipts: &[Receipt], block_events: &[Event]) -> BlockRecord {
        BlockRecord {
            header: header(block),
            extrinsics: block.txs.iter().map(|tx| Bytes(tx.encode())).collect(),
            tx_hashes: block
                .txs
                .iter()
                .map(|tx| Bytes(tx.hash().0.to_vec()))
                .collect(),
            block_events: block_events.to_vec(),
            receipts: receipts
                .iter()
                .map(|receipt| ReceiptView {
                    tx_hash: Bytes(receipt.tx_hash.0.to_vec()),
                    signer: serde_account::to_text(&receipt.signer),
                    fee_rao: receipt.fee_rao,
                    success: receipt.result.is_ok(),
                    error: receipt.result.as_ref().err().cloned(),
                    events: receipt.events.clone(),
                })
                .collect(),
        }
    }

    /// The bytes stored in redb.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<BlockRecord> {
        serde_json::from_slice(bytes).ok()
    }

    /// Receipts and events in the RPC's shape.
    pub fn events(&self) -> EventsView {
        EventsView {
            header: self.header.clone(),
            block_events: self.block_events.clone(),
            receipts: self.receipts.clone(),
        }
    }
}
