//! Transaction gossip between validators: a transaction accepted over RPC by one validator
//! reaches every validator's pool, so it is included by whichever leader proposes next.
//!
//! Validators are fully connected (every one tracks the whole set), so one hop suffices: a
//! transaction is sent once, by the validator that accepted it from a client, to all others,
//! and a gossiped transaction is never forwarded again. Sends are batched (up to
//! [`MAX_BATCH_TXS`] transactions or [`MAX_BATCH_BYTES`] bytes per message) and best effort: a
//! validator that misses one still sees the transaction in the block that includes it.
//!
//! Wire format of a message: SCALE `Vec<Vec<u8>>`, each element one SCALE [`SignedTx`]. The
//! receiver decodes each with [`SignedTx::decode_bounded`] and checks it against its own
//! committed state like any submission.
//!
//! Budgets ([`GossipLimits`]), per sending peer: bytes and transactions per second (token
//! buckets charged from a message's length and its element count, before anything is
//! decoded), and a cool-down for a peer that sent a malformed message or a transaction with
//! a bad signature (an honest validator checked every signature it sends): its messages are
//! dropped unread until the cool-down ends, so one peer costs at most one failed signature
//! check per cool-down. Dropped messages are counted in `tao_gossip_dropped_total{reason}`.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::{Clock, IoBuf, Spawner, Supervisor};
use futures::StreamExt as _;
use futures::channel::mpsc;
use parity_scale_codec::{Compact, Decode as _, Encode as _};
use tao_types::error::InvalidTx;
use tao_types::tx::{MAX_TX_BYTES, SignedTx};

use crate::app::Chain;
use crate::mempool::MempoolError;
use crate::metrics::NodeMetrics;
use crate::storage::CommitStore;
use tao_limits::TokenBucket;

/// Most transactions in one gossip message.
pub const MAX_BATCH_TXS: usize = 512;
/// Most transaction bytes in one gossip message.
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// Transactions waiting to be gossiped; beyond this, new ones are not gossiped (the pool
/// still holds them and this validator includes them when it leads).
pub const QUEUE_LEN: usize = 16 * 1024;

/// What one peer may make this node read and check.
///
/// The defaults are above what an honest validator sends: it gossips only what its clients
/// submit, and the chain includes about 2 000 transfers/s (`crates/bench/README.md`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GossipLimits {
    /// Message bytes per second one peer may send (default 16 MiB).
    pub bytes_per_second: f64,
    /// Message bytes one peer may send at once after resting (default 32 MiB: 32 full
    /// messages).
    pub byte_burst: f64,
    /// Transactions per second one peer may send (default 4 000).
    pub txs_per_second: f64,
    /// Transactions one peer may send at once after resting (default 16 384: 32 full
    /// messages).
    pub tx_burst: f64,
    /// How long a peer's messages are dropped unread after it sent a malformed message or a
    /// bad signature, in milliseconds (default 10 000).
    pub cooldown_ms: u64,
}

impl Default for GossipLimits {
    fn default() -> Self {
        GossipLimits {
            bytes_per_second: 16.0 * 1024.0 * 1024.0,
            byte_burst: 32.0 * 1024.0 * 1024.0,
            txs_per_second: 4_000.0,
            tx_burst: 16_384.0,
            cooldown_ms: 10_000,
        }
    }
}

/// Why a gossip message was dropped (the `reason` label of `tao_gossip_dropped_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dropped {
    /// The peer is cooling down after a malformed message or a bad signature.
    CoolingDown,
    /// The peer used up its byte budget.
    Bytes,
    /// The peer used up its transaction budget.
    Txs,
    /// The message does not decode (the peer cools down).
    Malformed,
    /// A transaction's signature is bad: the rest of the message is not checked (the peer
    /// cools down).
    BadSignature,
}

impl Dropped {
    /// Short snake-case name (the metric's label).
    pub fn reason(self) -> &'static str {
        match self {
            Dropped::CoolingDown => "cooling_down",
            Dropped::Bytes => "bytes",
            Dropped::Txs => "txs",
            Dropped::Malformed => "malformed",
            Dropped::BadSignature => "bad_signature",
        }
    }
}

/// One peer's budgets.
#[derive(Debug)]
struct PeerBudget {
    bytes: TokenBucket,
    txs: TokenBucket,
    cooling_until: Option<Duration>,
}

/// The budgets of every peer that sent something. Peers are the chain's validators (the p2p
/// layer admits no one else), so there are at most as many entries as validators.
#[derive(Debug)]
pub struct PeerBudgets<K> {
    limits: GossipLimits,
    peers: BTreeMap<K, PeerBudget>,
}

impl<K: Ord + Clone> PeerBudgets<K> {
    /// No peer has spent anything yet.
    pub fn new(limits: GossipLimits) -> PeerBudgets<K> {
        PeerBudgets {
            limits,
            peers: BTreeMap::new(),
        }
    }

    fn peer(&mut self, peer: &K, now: Duration) -> &mut PeerBudget {
        let limits = self.limits;
        self.peers
            .entry(peer.clone())
            .or_insert_with(|| PeerBudget {
                bytes: TokenBucket::new(limits.bytes_per_second, limits.byte_burst, now),
                txs: TokenBucket::new(limits.txs_per_second, limits.tx_burst, now),
                cooling_until: None,
            })
    }

    /// Charges `message` from `peer` to its budgets at `now` (the runtime's clock, so that
    /// simulations replay), reading only its length and element count; the transactions to
    /// check, or why the message is dropped unread.
    pub fn admit(
        &mut self,
        peer: &K,
        message: &[u8],
        now: Duration,
    ) -> Result<Vec<SignedTx>, Dropped> {
        let cooldown = Duration::from_millis(self.limits.cooldown_ms);
        let budget = self.peer(peer, now);
        if budget.cooling_until.is_some_and(|until| now < until) {
            return Err(Dropped::CoolingDown);
        }
        budget.cooling_until = None;
        let count = match Compact::<u32>::decode(&mut &message[..]) {
            Ok(Compact(count)) if usize::try_from(count).is_ok_and(|n| n <= MAX_BATCH_TXS) => count,
            _ => {
                budget.cooling_until = now.checked_add(cooldown);
                return Err(Dropped::Malformed);
            }
        };
        budget
            .bytes
            .take(message.len() as f64, now)
            .map_err(|_| Dropped::Bytes)?;
        budget
            .txs
            .take(f64::from(count), now)
            .map_err(|_| Dropped::Txs)?;
        decode_batch(message).ok_or_else(|| {
            budget.cooling_until = now.checked_add(cooldown);
            Dropped::Malformed
        })
    }

    /// `peer` sent a transaction with a bad signature: its messages are dropped for the
    /// cool-down.
    pub fn cool_down(&mut self, peer: &K, now: Duration) {
        let cooldown = Duration::from_millis(self.limits.cooldown_ms);
        self.peer(peer, now).cooling_until = now.checked_add(cooldown);
    }
}

/// Admits what `peer` sent within its budgets into `chain`'s pool; how many transactions
/// were admitted, or why (the rest of) the message was dropped.
pub fn receive<K: Ord + Clone, St: CommitStore>(
    chain: &Chain<St>,
    budgets: &mut PeerBudgets<K>,
    peer: &K,
    message: &[u8],
    now: Duration,
) -> Result<usize, Dropped> {
    let mut admitted = 0;
    let txs = budgets.admit(peer, message, now)?;
    for result in chain.receive_gossip_batch(txs) {
        match result {
            Ok(()) => admitted += 1,
            Err(MempoolError::Invalid(InvalidTx::BadSignature)) => {
                budgets.cool_down(peer, now);
                return Err(Dropped::BadSignature);
            }
            // Otherwise invalid or refused by the pool: counted by the pool's metrics. These
            // transactions verified, so each costs the peer its share of the budget.
            Err(_) => {}
        }
    }
    Ok(admitted)
}

/// Starts gossip for `chain` on the p2p channel `(sender, receiver)`: what the chain accepts
/// from clients goes out, what peers send comes in.
pub fn start<E, S, R, St>(context: E, chain: &Chain<St>, (sender, receiver): (S, R))
where
    E: Spawner + Supervisor + Clock,
    S: Sender,
    R: Receiver,
    St: CommitStore,
{
    let (queue, outgoing) = mpsc::channel(QUEUE_LEN);
    chain.set_gossip(queue);
    context
        .child("gossip_out")
        .spawn(move |_| send_loop(outgoing, sender));
    let chain = chain.clone();
    context
        .child("gossip_in")
        .spawn(move |context| receive_loop(context, chain, receiver));
}

async fn send_loop<S: Sender>(mut outgoing: mpsc::Receiver<SignedTx>, mut sender: S) {
    while let Some(first) = outgoing.next().await {
        let mut batch = vec![first.encode()];
        let mut bytes = batch[0].len();
        // Whatever else is already queued goes in the same message.
        while batch.len() < MAX_BATCH_TXS && bytes + MAX_TX_BYTES <= MAX_BATCH_BYTES {
            match outgoing.try_recv() {
                Ok(tx) => {
                    let encoded = tx.encode();
                    bytes += encoded.len();
                    batch.push(encoded);
                }
                _ => break,
            }
        }
        let _ = sender.send(Recipients::All, IoBuf::from(batch.encode()), false);
    }
}

async fn receive_loop<C: Clock, R: Receiver, St: CommitStore>(
    clock: C,
    chain: Chain<St>,
    mut receiver: R,
) {
    let metrics: NodeMetrics = chain.metrics();
    let mut budgets = PeerBudgets::new(GossipLimits::default());
    while let Ok((peer, message)) = receiver.recv().await {
        let now = clock
            .current()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        if let Err(dropped) = receive(&chain, &mut budgets, &peer, message.as_ref(), now) {
            metrics.gossip_dropped(dropped.reason());
            if matches!(dropped, Dropped::Malformed | Dropped::BadSignature) {
                tracing::debug!(%peer, reason = dropped.reason(), "bad transaction gossip; peer cooling down");
            }
        }
    }
}

/// Decodes a gossip message; `None` if it is malformed or over the bounds.
pub fn decode_batch(bytes: &[u8]) -> Option<Vec<SignedTx>> {
    if bytes.len() > MAX_BATCH_BYTES.saturating_add(MAX_BATCH_TXS.saturating_mul(8)) {
        return None;
    }
    let mut input = bytes;
    let encoded = Vec::<Vec<u8>>::decode(&mut input).ok()?;
    if !input.is_empty() || encoded.len() > MAX_BATCH_TXS {
        return None;
    }
    encoded
        .iter()
        .map(|tx| SignedTx::decode_bounded(tx).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::ChainConfig;
    use crate::metrics::Reason;
    use crate::storage::RedbStore;
    use tao_primitives::AccountId;
    use tao_state::spec::ChainSpec;
    use tao_types::tx::{Call, Mortality, UnsignedTx};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn chain() -> Result<Chain<RedbStore>, Box<dyn std::error::Error>> {
        Ok(Chain::open(
            RedbStore::in_memory()?,
            &ChainSpec::local(),
            {
                use commonware_cryptography::Signer as _;
                commonware_cryptography::ed25519::PrivateKey::from_seed(0).public_key()
            },
            ChainConfig::default(),
        )?)
    }

    /// Transfers from //Alice at `nonces`, signed for `chain`.
    fn signed(
        chain: &Chain<RedbStore>,
        nonces: std::ops::Range<u64>,
    ) -> Result<Vec<SignedTx>, Box<dyn std::error::Error>> {
        let alice = tao_keys::Keypair::from_uri("//Alice")?;
        let genesis_hash = chain.read(|store| tao_state::block::genesis_hash(store))?;
        Ok(nonces
            .map(|nonce| {
                let mut tx = self::tx(nonce);
                tx.tx.signer = AccountId(alice.public().to_bytes());
                tx.signature = alice.sign(&tx.tx.signing_payload(&genesis_hash)).to_bytes();
                tx
            })
            .collect())
    }

    fn message(txs: &[SignedTx]) -> Vec<u8> {
        txs.iter().map(|t| t.encode()).collect::<Vec<_>>().encode()
    }

    fn bad_signatures_checked(chain: &Chain<RedbStore>) -> u64 {
        chain
            .metrics()
            .tx_rejected
            .get_or_create(&Reason {
                reason: "bad_signature",
            })
            .get()
    }

    const BYZANTINE: u8 = 1;
    const HONEST: u8 = 2;

    #[test]
    fn a_peer_sending_bad_signatures_cools_down_while_an_honest_peer_is_heard() -> TestResult {
        let chain = chain()?;
        let mut budgets = PeerBudgets::new(GossipLimits::default());
        let now = Duration::from_secs(1_000);
        let mut forged = signed(&chain, 0..16)?;
        for tx in &mut forged {
            tx.signature[0] ^= 1;
        }
        // The first bad signature ends the message: one check, not 16...
        let forged = message(&forged);
        assert_eq!(
            receive(&chain, &mut budgets, &BYZANTINE, &forged, now),
            Err(Dropped::BadSignature)
        );
        assert_eq!(bad_signatures_checked(&chain), 1);
        // ...and whatever the peer sends during the cool-down is dropped unread, while the
        // honest peer's transactions are admitted.
        for _ in 0..100 {
            assert_eq!(
                receive(&chain, &mut budgets, &BYZANTINE, &forged, now),
                Err(Dropped::CoolingDown)
            );
        }
        let valid = message(&signed(&chain, 0..1)?);
        assert_eq!(
            receive(&chain, &mut budgets, &BYZANTINE, &valid, now),
            Err(Dropped::CoolingDown)
        );
        assert_eq!(bad_signatures_checked(&chain), 1);
        assert_eq!(receive(&chain, &mut budgets, &HONEST, &valid, now), Ok(1));
        // Garbage cools a peer down too; after the cool-down it is heard again.
        assert_eq!(
            receive(&chain, &mut budgets, &HONEST, &[0xff; 64], now),
            Err(Dropped::Malformed)
        );
        let later = now + Duration::from_millis(GossipLimits::default().cooldown_ms);
        let next = message(&signed(&chain, 1..2)?);
        assert_eq!(
            receive(&chain, &mut budgets, &BYZANTINE, &next, later),
            Ok(1)
        );
        assert_eq!(chain.mempool_len(), 2);
        Ok(())
    }

    #[test]
    fn a_flooding_peer_is_held_to_its_budgets_before_decoding() -> TestResult {
        let chain = chain()?;
        let limits = GossipLimits {
            txs_per_second: 10.0,
            tx_burst: 4.0,
            bytes_per_second: 10_000.0,
            byte_burst: 20_000.0,
            ..GossipLimits::default()
        };
        let mut budgets = PeerBudgets::new(limits);
        let now = Duration::from_secs(1_000);
        let three = message(&signed(&chain, 0..3)?);
        assert_eq!(
            receive(&chain, &mut budgets, &BYZANTINE, &three, now),
            Ok(3)
        );
        // One transaction of budget left: a message claiming three is dropped from its
        // element count alone (the rest is garbage, never read, so no cool-down).
        let mut claims_three = Compact(3u32).encode();
        claims_three.extend([0xff; 100]);
        assert_eq!(
            receive(&chain, &mut budgets, &BYZANTINE, &claims_three, now),
            Err(Dropped::Txs)
        );
        // Bytes are charged from the length: a message over the byte budget is dropped.
        let mut large = Compact(1u32).encode();
        large.extend(vec![0; 20_000]);
        assert_eq!(
            receive(&chain, &mut budgets, &BYZANTINE, &large, now),
            Err(Dropped::Bytes)
        );
        // A count above a message's bound is malformed, whatever the budget.
        let claims_many = Compact(1_000_000u32).encode();
        assert_eq!(
            receive(&chain, &mut budgets, &3, &claims_many, now),
            Err(Dropped::Malformed)
        );
        // The honest peer has budgets of its own.
        let honest = message(&signed(&chain, 3..5)?);
        assert_eq!(receive(&chain, &mut budgets, &HONEST, &honest, now), Ok(2));
        // The flooder's budget refills at its rate: 10 transactions a second.
        let later = now + Duration::from_millis(300);
        let next = message(&signed(&chain, 5..8)?);
        assert_eq!(
            receive(&chain, &mut budgets, &BYZANTINE, &next, later),
            Ok(3)
        );
        assert_eq!(chain.mempool_len(), 8);
        Ok(())
    }

    fn tx(nonce: u64) -> SignedTx {
        SignedTx {
            tx: UnsignedTx {
                signer: AccountId([1; 32]),
                nonce,
                mortality: Mortality {
                    birth: 0,
                    period: 64,
                },
                call: Call::Transfer {
                    dest: AccountId([2; 32]),
                    amount_rao: 5,
                },
            },
            signature: [3; 64],
        }
    }

    #[test]
    fn batches_round_trip_and_bad_ones_are_refused() {
        let txs = vec![tx(0), tx(1)];
        let message: Vec<Vec<u8>> = txs.iter().map(|t| t.encode()).collect();
        let bytes = message.encode();
        assert_eq!(decode_batch(&bytes), Some(txs));
        // Trailing bytes, a corrupt element, too many elements, garbage.
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(decode_batch(&trailing), None);
        assert_eq!(decode_batch(&vec![vec![1u8, 2, 3]].encode()), None);
        let many = vec![tx(0).encode(); MAX_BATCH_TXS + 1].encode();
        assert_eq!(decode_batch(&many), None);
        assert_eq!(decode_batch(&[0xff; 64]), None);
        assert_eq!(decode_batch(&[]), None);
    }
}
