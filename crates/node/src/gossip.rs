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

use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::{IoBuf, Spawner, Supervisor};
use futures::StreamExt as _;
use futures::channel::mpsc;
use parity_scale_codec::{Decode as _, Encode as _};
use tao_types::tx::{MAX_TX_BYTES, SignedTx};

use crate::app::Chain;
use crate::storage::CommitStore;

/// Most transactions in one gossip message.
pub const MAX_BATCH_TXS: usize = 512;
/// Most transaction bytes in one gossip message.
pub const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// Transactions waiting to be gossiped; beyond this, new ones are not gossiped (the pool
/// still holds them and this validator includes them when it leads).
pub const QUEUE_LEN: usize = 16 * 1024;

/// Starts gossip for `chain` on the p2p channel `(sender, receiver)`: what the chain accepts
/// from clients goes out, what peers send comes in.
pub fn start<E, S, R, St>(context: E, chain: &Chain<St>, (sender, receiver): (S, R))
where
    E: Spawner + Supervisor,
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
        .spawn(move |_| receive_loop(chain, receiver));
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

async fn receive_loop<R: Receiver, St: CommitStore>(chain: Chain<St>, mut receiver: R) {
    while let Ok((peer, message)) = receiver.recv().await {
        match decode_batch(message.as_ref()) {
            Some(txs) => {
                for tx in txs {
                    // Invalid or already-known transactions are counted by the pool's metrics.
                    let _ = chain.receive_gossip(tx);
                }
            }
            None => tracing::debug!(%peer, "malformed transaction gossip"),
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
    use tao_primitives::AccountId;
    use tao_types::tx::{Call, Mortality, UnsignedTx};

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
