//! Transport types of the RPC: hex bytes, block ids, headers, blocks, receipts, statuses.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tao_types::error::TxError;
use tao_types::events::Event;

/// Bytes as `0x`-prefixed lowercase hex.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("0x{}", hex::encode(&self.0)))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let digits = text
            .strip_prefix("0x")
            .ok_or_else(|| serde::de::Error::custom("expected 0x-prefixed hex"))?;
        hex::decode(digits)
            .map(Bytes)
            .map_err(|e| serde::de::Error::custom(format!("bad hex: {e}")))
    }
}

/// A block by hash (`"0x…"`) or height (a number).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BlockId {
    /// Height.
    Number(u64),
    /// Hash.
    Hash(Bytes),
}

/// Node health.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Connected peers.
    pub peers: u64,
    /// Whether the node is catching up.
    pub is_syncing: bool,
    /// Whether it should have peers (false for a single-validator dev chain).
    pub should_have_peers: bool,
    /// Highest block seen.
    pub best_number: u64,
    /// Highest finalized block.
    pub finalized_number: u64,
}

/// A block header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderView {
    /// Height.
    pub number: u64,
    /// Block hash.
    pub hash: Bytes,
    /// Parent's hash.
    pub parent_hash: Bytes,
    /// State root after the block.
    pub state_root: Bytes,
    /// Root of the transactions.
    pub extrinsics_root: Bytes,
    /// Block time, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// Author (SS58), if any.
    pub author: Option<String>,
}

/// A block: header and SCALE-encoded transactions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockView {
    /// Header.
    pub header: HeaderView,
    /// Transactions as submitted.
    pub extrinsics: Vec<Bytes>,
}

/// What one transaction did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptView {
    /// Its hash.
    pub tx_hash: Bytes,
    /// Signer (SS58).
    pub signer: String,
    /// Fee paid, rao.
    pub fee_rao: u64,
    /// Whether the call succeeded.
    pub success: bool,
    /// The call's error, when it failed (in JSON its live error name, e.g.
    /// `"InsufficientBalance"`; its `Display` is the message).
    pub error: Option<TxError>,
    /// Events of the call.
    pub events: Vec<Event>,
}

/// Receipts and block-level events of one block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsView {
    /// The block.
    pub header: HeaderView,
    /// Events of the block's own economics (emission, epochs).
    pub block_events: Vec<Event>,
    /// One per transaction, in order.
    pub receipts: Vec<ReceiptView>,
}

/// Progress of a watched transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxStatus {
    /// Accepted into the mempool.
    Ready,
    /// Included in a (not yet final) block.
    InBlock {
        /// The block's hash.
        block: Bytes,
        /// Its height.
        number: u64,
    },
    /// Included in a finalized block.
    Finalized {
        /// The block's hash.
        block: Bytes,
        /// Its height.
        number: u64,
        /// Whether the call succeeded (it paid its fee either way).
        success: bool,
        /// The call's error, when it failed.
        error: Option<TxError>,
    },
    /// Removed from the mempool without inclusion (expired, replaced, became invalid).
    Dropped {
        /// Why.
        error: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_block_ids_parse_strictly() -> Result<(), serde_json::Error> {
        let bytes: Bytes = serde_json::from_str("\"0x00ff\"")?;
        assert_eq!(bytes, Bytes(vec![0, 255]));
        assert_eq!(serde_json::to_string(&bytes)?, "\"0x00ff\"");
        assert!(serde_json::from_str::<Bytes>("\"00ff\"").is_err());
        assert!(serde_json::from_str::<Bytes>("\"0x0g\"").is_err());
        assert_eq!(serde_json::from_str::<BlockId>("12")?, BlockId::Number(12));
        assert_eq!(
            serde_json::from_str::<BlockId>("\"0x01\"")?,
            BlockId::Hash(Bytes(vec![1]))
        );
        assert!(serde_json::from_str::<BlockId>("-1").is_err());
        let status = TxStatus::InBlock {
            block: Bytes(vec![1]),
            number: 3,
        };
        assert_eq!(
            serde_json::to_string(&status)?,
            r#"{"in_block":{"block":"0x01","number":3}}"#
        );
        Ok(())
    }
}
