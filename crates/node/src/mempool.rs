//! A simple in-memory transaction pool: transactions keyed by `(signer, nonce)`, so a proposer
//! reads them in per-sender nonce order. Fee priority, gossip, per-sender limits and eviction
//! by age are not here yet (issue 4).

use std::collections::BTreeMap;

use tao_primitives::AccountId;
use tao_state::tx::SignedTx;

/// Pending transactions, ordered by signer and nonce.
#[derive(Debug, Default)]
pub struct Mempool {
    txs: BTreeMap<(AccountId, u64), SignedTx>,
    max_len: usize,
}

/// Why the pool did not take a transaction.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MempoolError {
    /// The pool is full.
    #[error("mempool: full ({0} transactions)")]
    Full(usize),
    /// The state machine rejects the transaction against the committed state.
    #[error("mempool: invalid transaction: {0}")]
    Invalid(#[from] tao_state::error::InvalidTx),
}

impl Mempool {
    /// An empty pool holding at most `max_len` transactions.
    pub fn new(max_len: usize) -> Mempool {
        Mempool {
            txs: BTreeMap::new(),
            max_len,
        }
    }

    /// Adds a transaction (replacing one with the same signer and nonce).
    pub fn insert(&mut self, tx: SignedTx) -> Result<(), MempoolError> {
        let key = (tx.tx.signer, tx.tx.nonce);
        if self.txs.len() >= self.max_len && !self.txs.contains_key(&key) {
            return Err(MempoolError::Full(self.txs.len()));
        }
        self.txs.insert(key, tx);
        Ok(())
    }

    /// Up to `max` transactions in signer-then-nonce order.
    pub fn candidates(&self, max: usize) -> Vec<SignedTx> {
        self.txs.values().take(max).cloned().collect()
    }

    /// Drops a transaction (included in a block, or invalid).
    pub fn remove(&mut self, tx: &SignedTx) {
        self.txs.remove(&(tx.tx.signer, tx.tx.nonce));
    }

    /// Drops every transaction of `signer` with a nonce below `next_nonce` (already used).
    pub fn prune_sender(&mut self, signer: AccountId, next_nonce: u64) {
        let stale: Vec<(AccountId, u64)> = self
            .txs
            .range((signer, 0)..(signer, next_nonce))
            .map(|(key, _)| *key)
            .collect();
        for key in stale {
            self.txs.remove(&key);
        }
    }

    /// Whether this exact transaction is waiting.
    pub fn contains(&self, tx: &SignedTx) -> bool {
        self.txs.get(&(tx.tx.signer, tx.tx.nonce)) == Some(tx)
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
