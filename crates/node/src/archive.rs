//! What the node keeps about each finalized block for the RPC: the header, the transactions
//! and the receipts/events its execution produced.
//!
//! Choice: receipts are **stored**, not re-derived. The execution that finalizes a block
//! already produced them, so the record is written to redb in the same transaction as the
//! block's state changes ([`crate::storage::CommitStore::commit_with_record`]): a block is
//! committed with its record or not at all, and `kill -9` cannot leave one without the other.
//!
//! The record keeps the typed values (accounts as bytes) and is stored as SCALE. The RPC's
//! JSON views (SS58 accounts, hex) are built when a reader asks for them: every validator
//! writes a record per block, few blocks are ever read, and building the views at write time
//! (JSON with SS58 accounts, as records were stored before) took about a fifth of a node's CPU
//! under a transfer flood.

use commonware_cryptography::Digestible;
use parity_scale_codec::{Decode, Encode};
use tao_primitives::{AccountId, Hash256};
use tao_rpc_api::{BlockView, Bytes, EventsView, HeaderView, ReceiptView};
use tao_state::block::Receipt;
use tao_types::events::Event;
use tao_types::serde_account;

use crate::block::Block;

/// A finalized block as the node keeps it for the RPC.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct BlockRecord {
    /// Height.
    pub number: u64,
    /// Block hash.
    pub hash: Hash256,
    /// Parent's hash.
    pub parent_hash: Hash256,
    /// State root after the block.
    pub state_root: Hash256,
    /// Root of the transactions.
    pub extrinsics_root: Hash256,
    /// Block time, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// The account credited for the block, if any.
    pub author: Option<AccountId>,
    /// SCALE-encoded transactions.
    pub extrinsics: Vec<Vec<u8>>,
    /// Events of the block's own economics.
    pub block_events: Vec<Event>,
    /// One receipt per transaction, in order (with its hash, for watchers).
    pub receipts: Vec<Receipt>,
}

impl BlockRecord {
    /// The record of `block` executed with these receipts and block events.
    pub fn new(block: &Block, receipts: Vec<Receipt>, block_events: Vec<Event>) -> BlockRecord {
        BlockRecord {
            number: block.height,
            hash: Hash256(block.digest().0),
            parent_hash: Hash256(block.parent.0),
            state_root: block.state_root,
            extrinsics_root: block.tx_root,
            timestamp_ms: block.timestamp_ms,
            author: block.author,
            extrinsics: block.txs.iter().map(Encode::encode).collect(),
            block_events,
            receipts,
        }
    }

    /// The bytes stored in redb.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Sized exactly (`encode` goes by a size hint that undercounts receipts): growing a
        // block's record by doubling faulted in fresh pages at every step.
        let mut bytes = Vec::with_capacity(self.encoded_size());
        self.encode_to(&mut bytes);
        bytes
    }

    /// Parses stored bytes (all of them).
    pub fn from_bytes(mut bytes: &[u8]) -> Option<BlockRecord> {
        let record = BlockRecord::decode(&mut bytes).ok()?;
        bytes.is_empty().then_some(record)
    }

    /// The RPC header.
    pub fn header(&self) -> HeaderView {
        HeaderView {
            number: self.number,
            hash: hash_bytes(&self.hash),
            parent_hash: hash_bytes(&self.parent_hash),
            state_root: hash_bytes(&self.state_root),
            extrinsics_root: hash_bytes(&self.extrinsics_root),
            timestamp_ms: self.timestamp_ms,
            author: self.author.as_ref().map(serde_account::to_text),
        }
    }

    /// The block as the RPC serves it.
    pub fn block(&self) -> BlockView {
        BlockView {
            header: self.header(),
            extrinsics: self.extrinsics.iter().cloned().map(Bytes).collect(),
        }
    }

    /// Receipts and events in the RPC's shape.
    pub fn events(&self) -> EventsView {
        EventsView {
            header: self.header(),
            block_events: self.block_events.clone(),
            receipts: self.receipts.iter().map(receipt_view).collect(),
        }
    }
}

/// The RPC view of one receipt.
pub fn receipt_view(receipt: &Receipt) -> ReceiptView {
    ReceiptView {
        tx_hash: hash_bytes(&receipt.tx_hash),
        signer: serde_account::to_text(&receipt.signer),
        fee_rao: receipt.fee_rao,
        success: receipt.result.is_ok(),
        error: receipt.result.as_ref().err().cloned(),
        events: receipt.events.clone(),
    }
}

fn hash_bytes(hash: &Hash256) -> Bytes {
    Bytes(hash.0.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tao_types::error::TxError;

    fn record() -> BlockRecord {
        let alice = AccountId([1; 32]);
        let bob = AccountId([2; 32]);
        BlockRecord {
            number: 7,
            hash: Hash256([3; 32]),
            parent_hash: Hash256([4; 32]),
            state_root: Hash256([5; 32]),
            extrinsics_root: Hash256([6; 32]),
            timestamp_ms: 1_700_000_000_000,
            author: Some(bob),
            extrinsics: vec![vec![9, 8, 7], vec![6]],
            block_events: vec![Event::FeePaid {
                who: alice,
                amount_rao: 5,
            }],
            receipts: vec![
                Receipt {
                    tx_hash: Hash256([10; 32]),
                    signer: alice,
                    fee_rao: 5,
                    result: Ok(()),
                    events: vec![Event::Transfer {
                        from: alice,
                        to: bob,
                        amount_rao: 1_000,
                    }],
                },
                Receipt {
                    tx_hash: Hash256([11; 32]),
                    signer: bob,
                    fee_rao: 6,
                    result: Err(TxError::InsufficientBalance),
                    events: Vec::new(),
                },
            ],
        }
    }

    #[test]
    fn a_record_round_trips_and_damaged_bytes_are_refused() {
        let record = record();
        let bytes = record.to_bytes();
        assert_eq!(BlockRecord::from_bytes(&bytes), Some(record));
        let (last, cut) = bytes.split_last().unwrap_or((&0, &[]));
        assert_eq!(BlockRecord::from_bytes(cut), None, "truncated");
        let mut longer = bytes.clone();
        longer.push(*last);
        assert_eq!(BlockRecord::from_bytes(&longer), None, "trailing bytes");
        assert_eq!(BlockRecord::from_bytes(&[]), None);
    }

    #[test]
    fn views_carry_the_record() {
        let record = record();
        let events = record.events();
        assert_eq!(events.header.number, 7);
        assert_eq!(events.receipts.len(), 2);
        assert!(events.receipts[0].success);
        assert_eq!(events.receipts[1].error, Some(TxError::InsufficientBalance));
        assert_eq!(
            events.receipts[0].signer,
            serde_account::to_text(&AccountId([1; 32]))
        );
        assert_eq!(record.block().extrinsics[1].0, vec![6]);
    }
}
