//! The transaction pool of a node.
//!
//! - **Order.** Per sender, transactions leave in nonce order; across senders, the proposer
//!   takes the waiting sender head with the highest fee first, then the one that arrived first
//!   ([`Mempool::candidates`]). Fees are the state machine's (base + per byte), so a larger
//!   call pays more and goes first; there is no tip.
//! - **Bounds.** At most `max_len` transactions in all and `max_per_sender` per sender. A full
//!   pool makes room by evicting the cheapest *last* transaction of some sender (evicting a
//!   middle nonce would strand the ones after it) when the newcomer pays more; otherwise the
//!   newcomer is refused.
//! - **Staleness.** Transactions whose nonce the committed state has passed
//!   ([`Mempool::prune_sender`]) or whose mortality window has closed ([`Mempool::prune_expired`])
//!   are dropped as blocks finalize.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use tao_primitives::AccountId;
use tao_state::block::VerifiedTx;
use tao_types::tx::SignedTx;

/// Pool limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MempoolLimits {
    /// Most transactions in the pool (default 65 536).
    pub max_len: usize,
    /// Most transactions of one sender (default 256).
    pub max_per_sender: usize,
}

impl Default for MempoolLimits {
    fn default() -> Self {
        MempoolLimits {
            max_len: 65_536,
            max_per_sender: 256,
        }
    }
}

#[derive(Debug)]
struct Entry {
    tx: VerifiedTx,
    fee_rao: u64,
    /// Arrival order (ties between equal fees go to the earlier one).
    seq: u64,
}

/// Pending transactions, ordered by signer and nonce.
#[derive(Debug, Default)]
pub struct Mempool {
    txs: BTreeMap<(AccountId, u64), Entry>,
    per_sender: BTreeMap<AccountId, usize>,
    limits: MempoolLimits,
    next_seq: u64,
}

/// Why the pool did not take a transaction.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MempoolError {
    /// The pool is full of transactions paying at least as much.
    #[error("mempool: full ({0} transactions); retry later")]
    Full(usize),
    /// The sender already has the most transactions one sender may have waiting.
    #[error("mempool: this sender already has {0} transactions waiting; wait for some to finalize")]
    SenderFull(usize),
    /// The state machine rejects the transaction against the committed state.
    #[error("mempool: invalid transaction: {0}")]
    Invalid(#[from] tao_types::error::InvalidTx),
}

impl MempoolError {
    /// Short snake-case name of the reason (the `reason` label of the rejection metric).
    pub fn reason(&self) -> &'static str {
        use tao_types::error::InvalidTx as I;
        match self {
            MempoolError::Full(_) => "pool_full",
            MempoolError::SenderFull(_) => "sender_full",
            MempoolError::Invalid(invalid) => match invalid {
                I::BadSignature => "bad_signature",
                I::StaleNonce { .. } => "stale_nonce",
                I::FutureNonce { .. } => "future_nonce",
                I::OutsideMortality { .. } => "outside_mortality",
                I::BadMortality { .. } => "bad_mortality",
                I::CannotPayFee { .. } => "cannot_pay_fee",
                I::TooLarge { .. } => "too_large",
                I::Malformed => "malformed",
                I::Storage(_) => "storage",
                I::FreeCallFailed(_) => "free_call_failed",
            },
        }
    }
}

impl Mempool {
    /// An empty pool with these limits.
    pub fn new(limits: MempoolLimits) -> Mempool {
        Mempool {
            limits,
            ..Mempool::default()
        }
    }

    /// Adds a transaction that pays `fee_rao`, replacing one with the same signer and nonce.
    pub fn insert(&mut self, tx: VerifiedTx, fee_rao: u64) -> Result<(), MempoolError> {
        let key = (tx.signed().tx.signer, tx.signed().tx.nonce);
        let replacing = self.txs.contains_key(&key);
        if !replacing {
            let sender_len = self.per_sender.get(&key.0).copied().unwrap_or(0);
            if sender_len >= self.limits.max_per_sender {
                return Err(MempoolError::SenderFull(sender_len));
            }
            if self.txs.len() >= self.limits.max_len {
                self.evict_cheaper_than(fee_rao, &key.0)?;
            }
            *self.per_sender.entry(key.0).or_insert(0) += 1;
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.txs.insert(key, Entry { tx, fee_rao, seq });
        Ok(())
    }

    /// Evicts the cheapest last transaction of another sender if it pays less than `fee_rao`.
    fn evict_cheaper_than(
        &mut self,
        fee_rao: u64,
        newcomer: &AccountId,
    ) -> Result<(), MempoolError> {
        let mut tails: BTreeMap<AccountId, (u64, u64)> = BTreeMap::new();
        for ((signer, nonce), entry) in &self.txs {
            if signer != newcomer {
                tails.insert(*signer, (*nonce, entry.fee_rao));
            }
        }
        let cheapest = tails
            .into_iter()
            .min_by_key(|(_, (_, fee))| *fee)
            .filter(|(_, (_, fee))| *fee < fee_rao);
        match cheapest {
            Some((signer, (nonce, _))) => {
                self.remove_key(&(signer, nonce));
                Ok(())
            }
            None => Err(MempoolError::Full(self.txs.len())),
        }
    }

    fn remove_key(&mut self, key: &(AccountId, u64)) {
        if self.txs.remove(key).is_none() {
            return;
        }
        if let Some(count) = self.per_sender.get_mut(&key.0) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.per_sender.remove(&key.0);
            }
        }
    }

    /// Up to `max` transactions for a block whose parent state gives each sender's next nonce
    /// (`next_nonce`): per sender the consecutive run from exactly that nonce (lower ones are
    /// already in the parent's chain, a gap ends the run), across senders highest fee first
    /// (then earliest arrival).
    pub fn candidates(
        &self,
        max: usize,
        mut next_nonce: impl FnMut(&AccountId) -> u64,
    ) -> Vec<VerifiedTx> {
        let mut runs: BTreeMap<AccountId, Vec<&Entry>> = BTreeMap::new();
        let mut expected: Option<(AccountId, u64)> = None;
        for ((signer, nonce), entry) in &self.txs {
            let want = match expected {
                Some((who, want)) if who == *signer => want,
                _ => next_nonce(signer),
            };
            if *nonce == want {
                runs.entry(*signer).or_default().push(entry);
                expected = Some((*signer, want.saturating_add(1)));
            } else {
                // Below the parent's nonce (already included) or past a gap: skipped.
                expected = Some((*signer, want));
            }
        }
        let mut heads: BinaryHeap<(u64, Reverse<u64>, AccountId, usize)> = runs
            .iter()
            .filter_map(|(signer, run)| {
                run.first().map(|e| (e.fee_rao, Reverse(e.seq), *signer, 0))
            })
            .collect();
        let mut out = Vec::with_capacity(max.min(self.txs.len()));
        while out.len() < max {
            let Some((_, _, signer, index)) = heads.pop() else {
                break;
            };
            let Some(run) = runs.get(&signer) else {
                continue;
            };
            if let Some(entry) = run.get(index) {
                out.push(entry.tx.clone());
            }
            if let Some(next) = run.get(index + 1) {
                heads.push((next.fee_rao, Reverse(next.seq), signer, index + 1));
            }
        }
        out
    }

    /// Drops a transaction (included in a block, or invalid).
    pub fn remove(&mut self, tx: &SignedTx) {
        self.remove_key(&(tx.tx.signer, tx.tx.nonce));
    }

    /// Drops every transaction of `signer` with a nonce below `next_nonce` (already used).
    pub fn prune_sender(&mut self, signer: AccountId, next_nonce: u64) {
        let stale: Vec<(AccountId, u64)> = self
            .txs
            .range((signer, 0)..(signer, next_nonce))
            .map(|(key, _)| *key)
            .collect();
        for key in stale {
            self.remove_key(&key);
        }
    }

    /// Drops every transaction whose mortality window ends at or before `height` (it can no
    /// longer be included in any block after `height`). Returns how many were dropped.
    pub fn prune_expired(&mut self, height: u64) -> usize {
        let expired: Vec<(AccountId, u64)> = self
            .txs
            .iter()
            .filter(|(_, entry)| {
                let mortality = entry.tx.signed().tx.mortality;
                mortality.birth.saturating_add(mortality.period) <= height.saturating_add(1)
            })
            .map(|(key, _)| *key)
            .collect();
        for key in &expired {
            self.remove_key(key);
        }
        expired.len()
    }

    /// Whether this exact transaction is waiting.
    pub fn contains(&self, tx: &SignedTx) -> bool {
        self.txs
            .get(&(tx.tx.signer, tx.tx.nonce))
            .is_some_and(|e| e.tx.signed() == tx)
    }

    /// `committed` advanced past the consecutive nonces of `signer` waiting here.
    pub fn next_nonce(&self, signer: &AccountId, committed: u64) -> u64 {
        let mut next = committed;
        while self.txs.contains_key(&(*signer, next)) {
            next = next.saturating_add(1);
        }
        next
    }

    /// Number of pending transactions.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use super::*;
    use tao_keys::Keypair;
    use tao_primitives::Hash256;
    use tao_types::tx::{Call, Mortality, UnsignedTx};

    const GENESIS: Hash256 = Hash256([5; 32]);

    fn key(signer: u8) -> Keypair {
        Keypair::from_mini_secret([signer; 32])
    }

    fn account(signer: u8) -> AccountId {
        AccountId(key(signer).public().to_bytes())
    }

    /// The test's name (1, 2, 3) of a signer.
    fn name(who: &AccountId) -> u8 {
        (1..=3).find(|i| account(*i) == *who).unwrap_or(0)
    }

    fn tx(signer: u8, nonce: u64, period: u64) -> VerifiedTx {
        let tx = UnsignedTx {
            signer: account(signer),
            nonce,
            mortality: Mortality { birth: 10, period },
            call: Call::Transfer {
                dest: AccountId([0; 32]),
                amount_rao: 1,
            },
        };
        let signature = key(signer).sign(&tx.signing_payload(&GENESIS)).to_bytes();
        VerifiedTx::verify(SignedTx { tx, signature }, &GENESIS).expect("signed")
    }

    fn named(txs: &[VerifiedTx]) -> Vec<(u8, u64)> {
        txs.iter()
            .map(|t| (name(&t.signed().tx.signer), t.signed().tx.nonce))
            .collect()
    }

    fn order(pool: &Mempool, max: usize) -> Vec<(u8, u64)> {
        named(&pool.candidates(max, |_| 0))
    }

    #[test]
    fn candidates_follow_nonces_per_sender_and_fees_across_senders() -> Result<(), MempoolError> {
        let mut pool = Mempool::new(MempoolLimits::default());
        pool.insert(tx(1, 1, 64), 10)?;
        pool.insert(tx(1, 0, 64), 10)?;
        pool.insert(tx(2, 0, 64), 30)?;
        pool.insert(tx(2, 1, 64), 5)?;
        pool.insert(tx(3, 0, 64), 10)?; // same fee as sender 1's head, arrived later
        pool.insert(tx(3, 2, 64), 99)?; // after a gap: not offered
        assert_eq!(
            order(&pool, 10),
            vec![(2, 0), (1, 0), (1, 1), (3, 0), (2, 1)]
        );
        assert_eq!(order(&pool, 2), vec![(2, 0), (1, 0)]);
        // On a parent where sender 1 already used nonce 0 and sender 3 nonces 0 and 1, the
        // runs start there: sender 3's nonce 2 is now next.
        let on_parent = named(&pool.candidates(10, |who| match name(who) {
            1 => 1,
            3 => 2,
            _ => 0,
        }));
        assert_eq!(on_parent, vec![(3, 2), (2, 0), (1, 1), (2, 1)]);
        Ok(())
    }

    #[test]
    fn limits_refuse_or_evict_the_cheapest_tail() -> Result<(), MempoolError> {
        let mut pool = Mempool::new(MempoolLimits {
            max_len: 3,
            max_per_sender: 2,
        });
        pool.insert(tx(1, 0, 64), 10)?;
        pool.insert(tx(1, 1, 64), 4)?;
        assert_eq!(
            pool.insert(tx(1, 2, 64), 50),
            Err(MempoolError::SenderFull(2))
        );
        pool.insert(tx(2, 0, 64), 7)?;
        // Full: a newcomer paying no more than the cheapest tail is refused...
        assert_eq!(pool.insert(tx(3, 0, 64), 4), Err(MempoolError::Full(3)));
        // ...one paying more evicts sender 1's last transaction (fee 4), never its first.
        pool.insert(tx(3, 0, 64), 5)?;
        assert_eq!(order(&pool, 10), vec![(1, 0), (2, 0), (3, 0)]);
        // Replacing an existing (signer, nonce) never counts against the limits.
        pool.insert(tx(3, 0, 64), 6)?;
        assert_eq!(pool.len(), 3);
        Ok(())
    }

    #[test]
    fn stale_and_expired_transactions_are_pruned() -> Result<(), MempoolError> {
        let mut pool = Mempool::new(MempoolLimits::default());
        pool.insert(tx(1, 0, 64), 1)?;
        pool.insert(tx(1, 1, 64), 1)?;
        pool.insert(tx(2, 0, 5), 1)?; // valid in blocks 10..15
        pool.prune_sender(account(1), 1);
        assert_eq!(pool.len(), 2);
        let after_nonce_0 = |pool: &Mempool| -> Vec<(u8, u64)> {
            named(&pool.candidates(10, |who| u64::from(name(who) == 1)))
        };
        assert_eq!(after_nonce_0(&pool), vec![(1, 1), (2, 0)]);
        assert_eq!(pool.prune_expired(13), 0);
        assert_eq!(pool.prune_expired(14), 1); // block 15 is the first it is not valid in
        assert_eq!(after_nonce_0(&pool), vec![(1, 1)]);
        assert_eq!(pool.next_nonce(&account(1), 1), 2);
        Ok(())
    }
}
