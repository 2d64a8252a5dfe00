//! The chain's block: a header that commits to the transactions (`tx_root`) and to the state
//! after them (`state_root`), and the transactions themselves.
//!
//! Encoding (commonware-codec, all integers fixed-width big-endian; pinned by a golden test):
//!
//! ```text
//! parent (32) | height (8) | timestamp_ms (8) | proposer ed25519 key (32)
//! | author: 0x00, or 0x01 + account (32) | tx_root (32) | state_root (32)
//! | tx count (4) | per tx: length (4) + SCALE encoding of the SignedTx
//! ```
//!
//! The block digest is SHA-256 of everything before the transaction list; `tx_root` binds the
//! transactions. Decoding is bounded ([`MAX_BLOCK_TXS`], [`MAX_BLOCK_TX_BYTES`],
//! [`MAX_TX_BYTES`]) and canonical: every transaction must re-encode to its exact bytes.

use bytes::{Buf as _, BufMut};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, Write};
use commonware_consensus::types::Height;
use commonware_cryptography::{Digestible, Hasher, Sha256, ed25519, sha256};
use parity_scale_codec::Encode;
use tao_primitives::{AccountId, Hash256};
use tao_types::tx::{MAX_TX_BYTES, SignedTx};

/// The most transactions one block may carry.
pub const MAX_BLOCK_TXS: usize = 8_192;
/// The most transaction bytes (sum of encodings) one block may carry.
pub const MAX_BLOCK_TX_BYTES: usize = 4 * 1024 * 1024;
/// Encoded size of the header (everything before the transaction count), with an author.
const MAX_HEADER_BYTES: usize = 32 + 8 + 8 + 32 + 1 + 32 + 32 + 32;

/// The digest blocks are identified by.
pub type Digest = sha256::Digest;

/// A block of the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Digest of the parent block (all zero for genesis).
    pub parent: Digest,
    /// Height: the parent's plus one (genesis is 0).
    pub height: u64,
    /// Block time, ms since the Unix epoch; never before the parent's.
    pub timestamp_ms: u64,
    /// The consensus identity of the validator that proposed it.
    pub proposer: ed25519::PublicKey,
    /// The account that receives the block's fees (`None`: fees are recycled).
    pub author: Option<AccountId>,
    /// [`tx_root`] of `txs`.
    pub tx_root: Hash256,
    /// State root after executing the block.
    pub state_root: Hash256,
    /// The transactions, in execution order.
    pub txs: Vec<SignedTx>,
    /// Cached digest of the header.
    digest: Digest,
}

/// The root committing to an ordered list of transactions: blake2b-256 of a domain tag, the
/// count and every transaction's hash.
pub fn tx_root(txs: &[SignedTx]) -> Hash256 {
    let mut bytes = b"tao/txroot/v1".to_vec();
    bytes.extend_from_slice(&u64::try_from(txs.len()).unwrap_or(u64::MAX).to_be_bytes());
    for tx in txs {
        bytes.extend_from_slice(&tx.hash().0);
    }
    Hash256::blake2(&bytes)
}

impl Block {
    /// A block with its digest computed; `tx_root` is computed from `txs`.
    pub fn new(
        parent: Digest,
        height: u64,
        timestamp_ms: u64,
        proposer: ed25519::PublicKey,
        author: Option<AccountId>,
        state_root: Hash256,
        txs: Vec<SignedTx>,
    ) -> Block {
        let mut block = Block {
            parent,
            height,
            timestamp_ms,
            proposer,
            author,
            tx_root: tx_root(&txs),
            state_root,
            txs,
            digest: sha256::Digest([0; 32]),
        };
        block.digest = block.header_digest();
        block
    }

    /// The genesis block of a chain whose genesis state has root `state_root`.
    pub fn genesis(state_root: Hash256, proposer: ed25519::PublicKey) -> Block {
        Block::new(
            sha256::Digest([0; 32]),
            0,
            0,
            proposer,
            None,
            state_root,
            Vec::new(),
        )
    }

    fn write_header(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.parent.0);
        buf.put_u64(self.height);
        buf.put_u64(self.timestamp_ms);
        self.proposer.write(buf);
        match &self.author {
            None => buf.put_u8(0),
            Some(account) => {
                buf.put_u8(1);
                buf.put_slice(&account.0);
            }
        }
        buf.put_slice(&self.tx_root.0);
        buf.put_slice(&self.state_root.0);
    }

    fn header_digest(&self) -> Digest {
        let mut header = Vec::with_capacity(MAX_HEADER_BYTES);
        self.write_header(&mut header);
        Sha256::hash(&[b"tao/block/v1", &header])
    }

    /// The state machine's view of the header.
    pub fn state_header(&self) -> tao_state::block::Header {
        tao_state::block::Header {
            height: self.height,
            timestamp_ms: self.timestamp_ms,
            author: self.author,
        }
    }
}

fn read_array<const N: usize>(buf: &mut impl Buf) -> Result<[u8; N], CodecError> {
    if buf.remaining() < N {
        return Err(CodecError::EndOfBuffer);
    }
    let mut out = [0u8; N];
    buf.copy_to_slice(&mut out);
    Ok(out)
}

impl Write for Block {
    fn write(&self, buf: &mut impl BufMut) {
        self.write_header(buf);
        buf.put_u32(u32::try_from(self.txs.len()).unwrap_or(u32::MAX));
        for tx in &self.txs {
            let bytes = tx.encode();
            buf.put_u32(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
            buf.put_slice(&bytes);
        }
    }
}

impl EncodeSize for Block {
    fn encode_size(&self) -> usize {
        let header = if self.author.is_some() {
            MAX_HEADER_BYTES
        } else {
            MAX_HEADER_BYTES - 32
        };
        let txs: usize = self.txs.iter().map(|tx| 4 + tx.encoded_size()).sum();
        header + 4 + txs
    }
}

impl Read for Block {
    type Cfg = ();

    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let parent = sha256::Digest(read_array::<32>(buf)?);
        let height = u64::from_be_bytes(read_array::<8>(buf)?);
        let timestamp_ms = u64::from_be_bytes(read_array::<8>(buf)?);
        let proposer = ed25519::PublicKey::read_cfg(buf, &())?;
        let author = match read_array::<1>(buf)? {
            [0] => None,
            [1] => Some(AccountId(read_array::<32>(buf)?)),
            [tag] => return Err(CodecError::InvalidEnum(tag)),
        };
        let tx_root = Hash256(read_array::<32>(buf)?);
        let state_root = Hash256(read_array::<32>(buf)?);
        let count = usize::try_from(u32::from_be_bytes(read_array::<4>(buf)?))
            .map_err(|_| CodecError::InvalidLength(usize::MAX))?;
        if count > MAX_BLOCK_TXS {
            return Err(CodecError::InvalidLength(count));
        }
        let mut txs = Vec::with_capacity(count.min(1024));
        let mut total = 0usize;
        for _ in 0..count {
            let len = usize::try_from(u32::from_be_bytes(read_array::<4>(buf)?))
                .map_err(|_| CodecError::InvalidLength(usize::MAX))?;
            total = total.saturating_add(len);
            if len > MAX_TX_BYTES || total > MAX_BLOCK_TX_BYTES {
                return Err(CodecError::InvalidLength(len));
            }
            if buf.remaining() < len {
                return Err(CodecError::EndOfBuffer);
            }
            let mut bytes = vec![0u8; len];
            buf.copy_to_slice(&mut bytes);
            let tx = SignedTx::decode_bounded(&bytes)
                .map_err(|_| CodecError::Invalid("Block", "malformed transaction"))?;
            if tx.encode() != bytes {
                return Err(CodecError::Invalid("Block", "non-canonical transaction"));
            }
            txs.push(tx);
        }
        let block = Block::new(
            parent,
            height,
            timestamp_ms,
            proposer,
            author,
            state_root,
            txs,
        );
        if block.tx_root != tx_root {
            return Err(CodecError::Invalid(
                "Block",
                "tx_root does not match transactions",
            ));
        }
        Ok(block)
    }
}

impl Digestible for Block {
    type Digest = Digest;

    fn digest(&self) -> Digest {
        self.digest
    }
}

impl commonware_consensus::Heightable for Block {
    fn height(&self) -> Height {
        Height::new(self.height)
    }
}

impl commonware_consensus::Block for Block {
    fn parent(&self) -> Digest {
        self.parent
    }
}

impl commonware_consensus::BoundedBlock for Block {
    fn max_encode_size(_: &()) -> usize {
        MAX_HEADER_BYTES + 4 + MAX_BLOCK_TXS * 4 + MAX_BLOCK_TX_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use commonware_codec::{DecodeExt, Encode as _};
    use commonware_cryptography::Signer as _;
    use tao_keys::Keypair;
    use tao_types::tx::{Call, Mortality, UnsignedTx};

    fn transfer(nonce: u64) -> SignedTx {
        let alice = Keypair::from_uri("//Alice").expect("dev key");
        let bob = Keypair::from_uri("//Bob").expect("dev key");
        let tx = UnsignedTx {
            signer: AccountId(alice.public().to_bytes()),
            nonce,
            mortality: Mortality {
                birth: 0,
                period: 64,
            },
            call: Call::Transfer {
                dest: AccountId(bob.public().to_bytes()),
                amount_rao: 1_000,
            },
        };
        // A fixed signature: the codec does not check signatures, and the bytes stay stable.
        SignedTx {
            tx,
            signature: [7; 64],
        }
    }

    fn sample() -> Block {
        let proposer = ed25519::PrivateKey::from_seed(1).public_key();
        Block::new(
            sha256::Digest([1; 32]),
            5,
            1_700_000_000_000,
            proposer,
            Some(AccountId([2; 32])),
            Hash256([3; 32]),
            vec![transfer(0), transfer(1)],
        )
    }

    #[test]
    fn round_trips_and_rejects_trailing_or_truncated_bytes() {
        let block = sample();
        let bytes = block.encode();
        assert_eq!(bytes.len(), block.encode_size());
        let decoded = Block::decode(bytes.clone()).ok();
        assert_eq!(decoded.as_ref(), Some(&block));
        assert_eq!(decoded.map(|b| b.digest()), Some(block.digest()));
        let mut long = bytes.to_vec();
        long.push(0);
        assert!(Block::decode(Bytes::from(long)).is_err());
        for cut in [0, 10, 100, bytes.len() - 1] {
            assert!(Block::decode(bytes.slice(..cut)).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn rejects_a_wrong_tx_root_and_oversized_counts() {
        let mut bytes = sample().encode().to_vec();
        // tx_root starts after parent, height, timestamp, proposer and the 33-byte author.
        let root_at = 32 + 8 + 8 + 32 + 33;
        bytes[root_at] ^= 1;
        assert!(Block::decode(Bytes::from(bytes)).is_err());
        let mut empty = Block::new(
            sha256::Digest([0; 32]),
            1,
            0,
            ed25519::PrivateKey::from_seed(1).public_key(),
            None,
            Hash256([0; 32]),
            Vec::new(),
        )
        .encode()
        .to_vec();
        let count_at = empty.len() - 4;
        empty[count_at..].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(Block::decode(Bytes::from(empty)).is_err());
    }

    #[test]
    fn golden_bytes() {
        let block = sample();
        let bytes = block.encode();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let digest_hex: String = block
            .digest()
            .0
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        println!("block {hex}\ndigest {digest_hex}");
        assert_eq!(hex, GOLDEN_BLOCK);
        assert_eq!(digest_hex, GOLDEN_DIGEST);
    }

    const GOLDEN_BLOCK: &str = concat!(
        "010101010101010101010101010101010101010101010101010101010101010100000000000000050000018bcfe56800",
        "478b8e507e0bb2b18c0f9e0824769e8562d10df9abe2e774896f82b4b440526601020202020202020202020202020202",
        "02020202020202020202020202020202025276d08e90957be9f3c4837e33d9873057089b6bf85ebb32bf55e9876d0315",
        "b4030303030303030303030303030303030303030303030303030303030303030300000002000000a1d43593c715fdd3",
        "1c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d0000000000000000000000000000000040000000000000",
        "00008eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48e803000000000000070707070707",
        "070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707070707",
        "07070707070707070707000000a1d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d0100",
        "00000000000000000000000000004000000000000000008eaf04151687736326c9fea17e25fc5287613693c912909cb2",
        "26aa4794f26a48e803000000000000070707070707070707070707070707070707070707070707070707070707070707",
        "07070707070707070707070707070707070707070707070707070707070707",
    );
    const GOLDEN_DIGEST: &str = "ea165aab8f8fa3c065d44d452a8a946e7430f450f2bc960095da233ce316bd1c";
}
