//! The transaction pool of a node.
//!
//! - **Order.** Per sender, transactions leave in nonce order; across senders, the proposer
//!   takes the waiting sender head with the highest fee first, then the one that arrived first
//!   ([`Mempool::candidates`]). Fees are the state machine's (base + per byte), so a larger
//!   call pays more and goes first; there is no tip.
//! - **Funds.** Everything waiting is paid for: the fees of a sender's waiting transactions
//!   (its next nonce and every later one) never exceed its free balance in the committed state.
//!   [`Mempool::insert`] checks it, and [`Mempool::settle`] keeps it true as the sender's
//!   transactions finalize, dropping the last ones the balance no longer covers. A fee can
//!   therefore only be declared by an account holding it, and only ranks a transaction that
//!   can pay it.
//! - **Bounds.** At most [`MempoolLimits::max_len`] transactions and
//!   [`MempoolLimits::max_bytes`] bytes in all; per sender, nonces at most
//!   [`MempoolLimits::max_nonce_ahead`] past its committed one (so at most that many plus one
//!   transactions) and at most [`MempoolLimits::max_sender_bytes`] bytes.
//! - **Eviction.** A full pool makes room by evicting the lowest-ranked *last* transaction of
//!   another sender (evicting a middle nonce would strand the ones after it), if the newcomer
//!   outranks it; otherwise the newcomer is refused. A future transaction (a nonce between
//!   its sender's committed one and it is missing) ranks below every ready one; then the lower
//!   fee ranks lower, then the later arrival. Senders' last transactions are kept ordered by
//!   rank, so making room costs O(log n) per evicted transaction, never a walk over the pool.
//! - **Replacement.** A transaction with the signer and nonce of a waiting one replaces it
//!   only if its fee is at least [`MempoolLimits::replace_bump_percent`] higher (and at least
//!   1 rao), so a sender cannot make every validator verify and store an endless stream of
//!   same-priced variants; the same transaction again is refused as already known.
//! - **Staleness.** Transactions whose nonce the committed state has passed
//!   ([`Mempool::settle`]) or whose mortality window has closed ([`Mempool::prune_expired`])
//!   are dropped as blocks finalize.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use parity_scale_codec::Encode as _;
use tao_primitives::AccountId;
use tao_state::block::VerifiedTx;
use tao_types::error::InvalidTx;
use tao_types::tx::SignedTx;
use tao_types::views::AccountView;

/// Pool limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MempoolLimits {
    /// Most transactions in the pool (default 65 536).
    pub max_len: usize,
    /// Most encoded transaction bytes in the pool (default 64 MiB): what bounds its memory,
    /// since 65 536 transactions of up to 16 KiB would be 1 GiB.
    pub max_bytes: usize,
    /// Furthest a waiting nonce may be past its sender's committed next nonce (default 255):
    /// with nonces distinct, one sender has at most this many transactions waiting plus one
    /// (256, the earlier per-sender limit, which batch tools such as `tao-bench` fill).
    pub max_nonce_ahead: u64,
    /// Most encoded bytes of one sender's waiting transactions (default 1 MiB, 64 of the
    /// largest).
    pub max_sender_bytes: usize,
    /// How much more, in percent of the waiting one's fee, a transaction must pay to replace
    /// the waiting one with the same signer and nonce (default 10, geth's price bump; and at
    /// least 1 rao more). Fees are the state machine's (base + per byte, no tip), so a
    /// replacement is a larger call; each one costs its sender a tenth more than the last.
    pub replace_bump_percent: u64,
}

impl Default for MempoolLimits {
    fn default() -> Self {
        MempoolLimits {
            max_len: 65_536,
            max_bytes: 64 * 1024 * 1024,
            max_nonce_ahead: 255,
            max_sender_bytes: 1024 * 1024,
            replace_bump_percent: 10,
        }
    }
}

#[derive(Debug)]
struct Entry {
    tx: VerifiedTx,
    fee_rao: u64,
    size_bytes: usize,
    /// Arrival order (ties between equal fees go to the earlier one).
    seq: u64,
}

/// Where a sender's last transaction stands in the eviction order, lowest first: a future one
/// before a ready one, then the lower fee, then the later arrival.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    /// Whether every nonce from the sender's committed one up to this one is waiting, so it
    /// can be included as soon as they are.
    ready: bool,
    fee_rao: u64,
    newer: Reverse<u64>,
    signer: AccountId,
    nonce: u64,
}

impl Rank {
    /// What a newcomer must beat to evict this transaction.
    fn priority(&self) -> (bool, u64) {
        (self.ready, self.fee_rao)
    }
}

/// What the pool keeps per sender.
#[derive(Debug)]
struct Sender {
    /// The account's next nonce in the committed state, as last seen.
    committed_nonce: u64,
    len: usize,
    size_bytes: usize,
    /// Sum of the fees of its waiting transactions; at most its free balance when last seen.
    fees_rao: u64,
    /// Its last transaction's entry in [`Mempool::tails`].
    tail: Option<Rank>,
}

/// Pending transactions, ordered by signer and nonce.
#[derive(Debug, Default)]
pub struct Mempool {
    txs: BTreeMap<(AccountId, u64), Entry>,
    senders: BTreeMap<AccountId, Sender>,
    /// Every sender's last transaction, lowest rank first: the eviction order.
    tails: BTreeSet<Rank>,
    size_bytes: usize,
    limits: MempoolLimits,
    next_seq: u64,
}

/// Why the pool did not take a transaction.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MempoolError {
    /// The pool is full of transactions that rank at least as high.
    #[error("mempool: full ({0} transactions); retry later")]
    Full(usize),
    /// The sender already has the most bytes one sender may have waiting.
    #[error(
        "mempool: this sender already has {0} bytes of transactions waiting; wait for some to finalize"
    )]
    SenderFull(usize),
    /// The state machine or the pool's per-account rules reject the transaction against the
    /// committed state.
    #[error("mempool: invalid transaction: {0}")]
    Invalid(#[from] InvalidTx),
}

impl MempoolError {
    /// Short snake-case name of the reason (the `reason` label of the rejection metric).
    pub fn reason(&self) -> &'static str {
        use InvalidTx as I;
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
                I::NonceTooFarAhead { .. } => "nonce_too_far_ahead",
                I::CannotPayPending { .. } => "cannot_pay_pending",
                I::AlreadyKnown => "already_known",
                I::ReplacementUnderpriced { .. } => "replacement_underpriced",
                I::TooHeavy { .. } => "too_heavy",
                I::BlockFull { .. } => "block_full",
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

    /// Adds a transaction that pays `fee_rao` from a sender that has `account` in the
    /// committed state, replacing one with the same signer and nonce if it pays the
    /// replacement bump more. Refused if it is already waiting, if its nonce is used or too
    /// far ahead, if it does not pay enough to replace the waiting one, if the account cannot
    /// pay the fees of all it would have waiting, if the sender's bytes would pass their
    /// limit, or if the pool is full of transactions that rank at least as high.
    pub fn insert(
        &mut self,
        tx: VerifiedTx,
        fee_rao: u64,
        account: &AccountView,
    ) -> Result<(), MempoolError> {
        let signer = tx.signed().tx.signer;
        let nonce = tx.signed().tx.nonce;
        let ahead = nonce
            .checked_sub(account.nonce)
            .ok_or(InvalidTx::StaleNonce {
                expected: account.nonce,
            })?;
        if ahead > self.limits.max_nonce_ahead {
            return Err(InvalidTx::NonceTooFarAhead {
                expected: account.nonce,
                max_ahead: self.limits.max_nonce_ahead,
            }
            .into());
        }
        // Catch up with the committed state first: what it used or no longer pays for leaves.
        self.settle(signer, account);
        let size_bytes = tx.signed().encoded_size();
        let replaced = match self.txs.get(&(signer, nonce)) {
            Some(entry) if entry.tx.signed() == tx.signed() => {
                return Err(InvalidTx::AlreadyKnown.into());
            }
            Some(entry) => {
                let min_fee_rao = self.replacement_fee_rao(entry.fee_rao);
                if fee_rao < min_fee_rao {
                    return Err(InvalidTx::ReplacementUnderpriced {
                        fee_rao,
                        min_fee_rao,
                    }
                    .into());
                }
                Some((entry.fee_rao, entry.size_bytes))
            }
            None => None,
        };
        let (replaced_fee_rao, replaced_bytes) = replaced.unwrap_or((0, 0));
        let (sender_fees_rao, sender_bytes) = self
            .senders
            .get(&signer)
            .map_or((0, 0), |sender| (sender.fees_rao, sender.size_bytes));
        let pending_fee_rao = sender_fees_rao
            .saturating_sub(replaced_fee_rao)
            .saturating_add(fee_rao);
        if pending_fee_rao > account.free_rao {
            return Err(InvalidTx::CannotPayPending {
                pending_fee_rao,
                free_rao: account.free_rao,
            }
            .into());
        }
        let new_sender_bytes = sender_bytes
            .saturating_sub(replaced_bytes)
            .saturating_add(size_bytes);
        if new_sender_bytes > self.limits.max_sender_bytes {
            return Err(MempoolError::SenderFull(sender_bytes));
        }
        let priority = (self.would_be_ready(signer, nonce, account.nonce), fee_rao);
        let victims = self.make_room(
            signer,
            priority,
            usize::from(replaced.is_none()),
            size_bytes.saturating_sub(replaced_bytes),
        )?;
        for key in victims {
            self.remove_key(&key);
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let entry = Entry {
            tx,
            fee_rao,
            size_bytes,
            seq,
        };
        if let Some(old) = self.txs.insert((signer, nonce), entry) {
            self.forget(&signer, &old);
        }
        let sender = self.senders.entry(signer).or_insert(Sender {
            committed_nonce: account.nonce,
            len: 0,
            size_bytes: 0,
            fees_rao: 0,
            tail: None,
        });
        sender.len = sender.len.saturating_add(1);
        sender.size_bytes = sender.size_bytes.saturating_add(size_bytes);
        sender.fees_rao = sender.fees_rao.saturating_add(fee_rao);
        self.size_bytes = self.size_bytes.saturating_add(size_bytes);
        self.reindex(signer);
        Ok(())
    }

    /// The least fee that replaces a waiting transaction paying `fee_rao`: the bump more,
    /// rounded up, and at least 1 rao more.
    fn replacement_fee_rao(&self, fee_rao: u64) -> u64 {
        let bump_rao = (u128::from(fee_rao) * u128::from(self.limits.replace_bump_percent))
            .div_ceil(100)
            .max(1);
        u64::try_from(u128::from(fee_rao).saturating_add(bump_rao)).unwrap_or(u64::MAX)
    }

    /// Whether `signer`'s transaction at `nonce` could be included as soon as the ones waiting
    /// before it: every nonce from the committed one up to it is here. At most
    /// `max_nonce_ahead` entries are counted.
    fn would_be_ready(&self, signer: AccountId, nonce: u64, committed_nonce: u64) -> bool {
        let waiting = self
            .txs
            .range((signer, committed_nonce)..(signer, nonce))
            .count();
        u64::try_from(waiting).is_ok_and(|waiting| waiting == nonce.saturating_sub(committed_nonce))
    }

    /// The last transactions of other senders to evict so that `len_added` more transactions
    /// and `bytes_added` more bytes fit, lowest rank first; refused unless a newcomer of
    /// `priority` outranks every one of them.
    fn make_room(
        &self,
        signer: AccountId,
        priority: (bool, u64),
        len_added: usize,
        bytes_added: usize,
    ) -> Result<Vec<(AccountId, u64)>, MempoolError> {
        let mut len_over = self
            .txs
            .len()
            .saturating_add(len_added)
            .saturating_sub(self.limits.max_len);
        let mut bytes_over = self
            .size_bytes
            .saturating_add(bytes_added)
            .saturating_sub(self.limits.max_bytes);
        let mut victims = Vec::new();
        // Each victim frees one transaction and at least its bytes, so this visits at most
        // one tail per transaction evicted plus the newcomer's own.
        for tail in &self.tails {
            if len_over == 0 && bytes_over == 0 {
                break;
            }
            if tail.signer == signer {
                continue;
            }
            if tail.priority() >= priority {
                break;
            }
            let freed_bytes = self
                .txs
                .get(&(tail.signer, tail.nonce))
                .map_or(0, |entry| entry.size_bytes);
            victims.push((tail.signer, tail.nonce));
            len_over = len_over.saturating_sub(1);
            bytes_over = bytes_over.saturating_sub(freed_bytes);
        }
        if len_over == 0 && bytes_over == 0 {
            Ok(victims)
        } else {
            Err(MempoolError::Full(self.txs.len()))
        }
    }

    /// Takes `entry`, no longer in `txs`, off its sender's and the pool's totals.
    fn forget(&mut self, signer: &AccountId, entry: &Entry) {
        self.size_bytes = self.size_bytes.saturating_sub(entry.size_bytes);
        if let Some(sender) = self.senders.get_mut(signer) {
            sender.len = sender.len.saturating_sub(1);
            sender.size_bytes = sender.size_bytes.saturating_sub(entry.size_bytes);
            sender.fees_rao = sender.fees_rao.saturating_sub(entry.fee_rao);
        }
    }

    /// Puts `signer`'s last transaction back in the eviction order after its transactions or
    /// committed nonce changed, or forgets the sender when it has none left.
    fn reindex(&mut self, signer: AccountId) {
        let Some(sender) = self.senders.get_mut(&signer) else {
            return;
        };
        if let Some(old) = sender.tail.take() {
            self.tails.remove(&old);
        }
        let mut waiting = self.txs.range((signer, 0)..=(signer, u64::MAX));
        let first = waiting.next();
        let Some(((_, last_nonce), last)) = waiting.next_back().or(first) else {
            self.senders.remove(&signer);
            return;
        };
        let first_nonce = first.map_or(*last_nonce, |((_, nonce), _)| *nonce);
        let span = last_nonce.saturating_sub(first_nonce).saturating_add(1);
        let rank = Rank {
            ready: first_nonce == sender.committed_nonce
                && u64::try_from(sender.len).is_ok_and(|len| len == span),
            fee_rao: last.fee_rao,
            newer: Reverse(last.seq),
            signer,
            nonce: *last_nonce,
        };
        sender.tail = Some(rank);
        self.tails.insert(rank);
    }

    fn remove_key(&mut self, key: &(AccountId, u64)) {
        if let Some(entry) = self.txs.remove(key) {
            self.forget(&key.0, &entry);
            self.reindex(key.0);
        }
    }

    /// Brings `signer`'s waiting transactions in line with its committed `account`: drops the
    /// nonces it has used, then, in nonce order, every transaction from the first whose fee
    /// (with those of the ones before it) the free balance no longer covers.
    pub fn settle(&mut self, signer: AccountId, account: &AccountView) {
        let Some(sender) = self.senders.get_mut(&signer) else {
            return;
        };
        sender.committed_nonce = account.nonce;
        let mut covered_rao = 0u64;
        let dropped: Vec<(AccountId, u64)> = self
            .txs
            .range((signer, 0)..=(signer, u64::MAX))
            .filter(|((_, nonce), entry)| {
                if *nonce < account.nonce {
                    return true;
                }
                covered_rao = covered_rao.saturating_add(entry.fee_rao);
                covered_rao > account.free_rao
            })
            .map(|(key, _)| *key)
            .collect();
        for key in &dropped {
            if let Some(entry) = self.txs.remove(key) {
                self.forget(&signer, &entry);
            }
        }
        self.reindex(signer);
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
        let call = Call::Transfer {
            dest: AccountId([0; 32]),
            amount_rao: 1,
        };
        signed_with(signer, nonce, Mortality { birth: 10, period }, call).expect("signed")
    }

    fn signed_by(signer: u8, nonce: u64, call: Call) -> Result<VerifiedTx, MempoolError> {
        signed_with(
            signer,
            nonce,
            Mortality {
                birth: 10,
                period: 64,
            },
            call,
        )
    }

    fn signed_with(
        signer: u8,
        nonce: u64,
        mortality: Mortality,
        call: Call,
    ) -> Result<VerifiedTx, MempoolError> {
        let tx = UnsignedTx {
            signer: account(signer),
            nonce,
            mortality,
            call,
        };
        let signature = key(signer).sign(&tx.signing_payload(&GENESIS)).to_bytes();
        Ok(VerifiedTx::verify(SignedTx { tx, signature }, &GENESIS)?)
    }

    fn named(txs: &[VerifiedTx]) -> Vec<(u8, u64)> {
        txs.iter()
            .map(|t| (name(&t.signed().tx.signer), t.signed().tx.nonce))
            .collect()
    }

    fn order(pool: &Mempool, max: usize) -> Vec<(u8, u64)> {
        named(&pool.candidates(max, |_| 0))
    }

    /// An account that can pay anything, at `nonce`.
    fn rich(nonce: u64) -> AccountView {
        AccountView {
            free_rao: u64::MAX,
            nonce,
        }
    }

    fn limits(max_len: usize) -> MempoolLimits {
        MempoolLimits {
            max_len,
            ..MempoolLimits::default()
        }
    }

    #[test]
    fn candidates_follow_nonces_per_sender_and_fees_across_senders() -> Result<(), MempoolError> {
        let mut pool = Mempool::new(MempoolLimits::default());
        pool.insert(tx(1, 1, 64), 10, &rich(0))?;
        pool.insert(tx(1, 0, 64), 10, &rich(0))?;
        pool.insert(tx(2, 0, 64), 30, &rich(0))?;
        pool.insert(tx(2, 1, 64), 5, &rich(0))?;
        pool.insert(tx(3, 0, 64), 10, &rich(0))?; // same fee as sender 1's head, arrived later
        pool.insert(tx(3, 2, 64), 99, &rich(0))?; // after a gap: not offered
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
    fn a_full_pool_refuses_or_evicts_the_lowest_ranked_tail() -> Result<(), MempoolError> {
        let mut pool = Mempool::new(limits(3));
        pool.insert(tx(1, 0, 64), 10, &rich(0))?;
        pool.insert(tx(1, 1, 64), 4, &rich(0))?;
        pool.insert(tx(2, 0, 64), 7, &rich(0))?;
        // Full: a newcomer paying no more than the cheapest tail is refused...
        assert_eq!(
            pool.insert(tx(3, 0, 64), 4, &rich(0)),
            Err(MempoolError::Full(3))
        );
        // ...one paying more evicts sender 1's last transaction (fee 4), never its first.
        pool.insert(tx(3, 0, 64), 5, &rich(0))?;
        assert_eq!(order(&pool, 10), vec![(1, 0), (2, 0), (3, 0)]);
        // Replacing an existing (signer, nonce) never counts against the limits.
        pool.insert(tx(3, 0, 65), 6, &rich(0))?;
        assert_eq!(pool.len(), 3);
        Ok(())
    }

    #[test]
    fn future_transactions_go_first_and_never_evict_ready_ones() -> Result<(), MempoolError> {
        let mut pool = Mempool::new(limits(3));
        // Sender 1 waits at nonces 1 and 2 behind a missing 0: both future, however they pay.
        pool.insert(tx(1, 1, 64), 1_000, &rich(0))?;
        pool.insert(tx(1, 2, 64), 1_000, &rich(0))?;
        pool.insert(tx(2, 0, 64), 1, &rich(0))?;
        // A ready transaction paying a thousandth evicts the future tail...
        pool.insert(tx(3, 0, 64), 1, &rich(0))?;
        assert!(!pool.txs.contains_key(&(account(1), 2)));
        // ...and sender 1's next nonce makes its nonce 1 ready: it now ranks with the ready
        // ones by fee, so it evicts the cheapest of them (of equal fees, the later arrival).
        pool.insert(tx(1, 0, 64), 1_000, &rich(0))?;
        assert_eq!(order(&pool, 10), vec![(1, 0), (1, 1), (2, 0)]);
        // A future newcomer cannot evict a ready transaction, whatever it declares.
        assert_eq!(
            pool.insert(tx(2, 5, 64), u64::MAX, &rich(0)),
            Err(MempoolError::Full(3))
        );
        Ok(())
    }

    #[test]
    fn a_sender_pays_for_everything_it_has_waiting() -> Result<(), MempoolError> {
        let mut pool = Mempool::new(MempoolLimits::default());
        let holds = |free_rao| AccountView { free_rao, nonce: 0 };
        pool.insert(tx(1, 0, 64), 40, &holds(100))?;
        pool.insert(tx(1, 1, 64), 40, &holds(100))?;
        assert_eq!(
            pool.insert(tx(1, 2, 64), 30, &holds(100)),
            Err(MempoolError::Invalid(InvalidTx::CannotPayPending {
                pending_fee_rao: 110,
                free_rao: 100
            }))
        );
        // A replacement counts its own fee once (instead of the one it replaces).
        pool.insert(tx(1, 1, 65), 60, &holds(100))?;
        assert_eq!(pool.len(), 2);
        // The balance fell to 70 (nonce 0 finalized elsewhere, paying 40 and spending 30):
        // nonce 1's fee of 60 is no longer covered, and nonce 0 is used.
        pool.settle(
            account(1),
            &AccountView {
                free_rao: 59,
                nonce: 1,
            },
        );
        assert!(pool.is_empty());
        // Nothing is charged to an account that holds nothing and pays nothing.
        pool.insert(tx(2, 3, 64), 0, &holds(0))?;
        assert_eq!(
            pool.insert(tx(3, 3, 64), 1, &holds(0)),
            Err(MempoolError::Invalid(InvalidTx::CannotPayPending {
                pending_fee_rao: 1,
                free_rao: 0
            }))
        );
        Ok(())
    }

    #[test]
    fn nonces_and_bytes_per_sender_are_bounded() -> Result<(), MempoolError> {
        let size_bytes = tx(1, 0, 64).signed().encoded_size();
        let mut pool = Mempool::new(MempoolLimits {
            max_nonce_ahead: 2,
            max_sender_bytes: 2 * size_bytes,
            ..MempoolLimits::default()
        });
        assert_eq!(
            pool.insert(tx(1, 8, 64), 1, &rich(5)),
            Err(MempoolError::Invalid(InvalidTx::NonceTooFarAhead {
                expected: 5,
                max_ahead: 2
            }))
        );
        assert_eq!(
            pool.insert(tx(1, 4, 64), 1, &rich(5)),
            Err(MempoolError::Invalid(InvalidTx::StaleNonce { expected: 5 }))
        );
        pool.insert(tx(1, 7, 64), 1, &rich(5))?;
        pool.insert(tx(1, 5, 64), 1, &rich(5))?;
        assert_eq!(
            pool.insert(tx(1, 6, 64), 1, &rich(5)),
            Err(MempoolError::SenderFull(2 * size_bytes))
        );
        assert_eq!(pool.len(), 2);
        Ok(())
    }

    #[test]
    fn the_byte_budget_evicts_as_many_tails_as_it_takes() -> Result<(), MempoolError> {
        let size_bytes = tx(1, 0, 64).signed().encoded_size();
        let mut pool = Mempool::new(MempoolLimits {
            max_bytes: 3 * size_bytes,
            ..MempoolLimits::default()
        });
        pool.insert(tx(1, 0, 64), 1, &rich(0))?;
        pool.insert(tx(2, 0, 64), 2, &rich(0))?;
        pool.insert(tx(3, 0, 64), 3, &rich(0))?;
        // A newcomer larger than one of them but no larger than two needs two out.
        let weights = Call::SetWeights {
            netuid: tao_primitives::NetUid(1),
            uids: vec![0; size_bytes / 4],
            values: vec![0; size_bytes / 4],
            version_key: 0,
        };
        let large = |fee_rao| signed_by(4, 0, weights.clone()).map(|tx| (tx, fee_rao));
        let (newcomer, _) = large(0)?;
        let large_bytes = newcomer.signed().encoded_size();
        assert!(size_bytes < large_bytes && large_bytes <= 2 * size_bytes);
        let (cheap, fee_rao) = large(2)?;
        assert_eq!(
            pool.insert(cheap, fee_rao, &rich(0)),
            Err(MempoolError::Full(3))
        );
        let (dear, fee_rao) = large(5)?;
        pool.insert(dear, fee_rao, &rich(0))?;
        assert_eq!(pool.len(), 2);
        assert!(pool.txs.contains_key(&(account(3), 0)));
        assert_eq!(pool.size_bytes, size_bytes + large_bytes);
        Ok(())
    }

    #[test]
    fn a_replacement_must_pay_the_bump_and_the_same_transaction_is_known()
    -> Result<(), MempoolError> {
        let mut pool = Mempool::new(MempoolLimits::default());
        let holds = |free_rao| AccountView { free_rao, nonce: 0 };
        // (Signatures are randomized: each `tx(..)` call makes a different transaction.)
        let first = tx(1, 0, 64);
        pool.insert(first.clone(), 100, &holds(1_000))?;
        pool.insert(tx(1, 1, 64), 100, &holds(1_000))?;
        assert_eq!(
            pool.insert(first.clone(), 100, &holds(1_000)),
            Err(MempoolError::Invalid(InvalidTx::AlreadyKnown))
        );
        // A different transaction at a waiting nonce must pay 10 % more: 109 is not enough,
        // and neither is the same fee or less.
        for fee_rao in [50, 100, 109] {
            assert_eq!(
                pool.insert(tx(1, 0, 65), fee_rao, &holds(1_000)),
                Err(MempoolError::Invalid(InvalidTx::ReplacementUnderpriced {
                    fee_rao,
                    min_fee_rao: 110
                }))
            );
        }
        let replacement = tx(1, 0, 65);
        pool.insert(replacement.clone(), 110, &holds(1_000))?;
        assert!(pool.contains(replacement.signed()));
        assert!(!pool.contains(first.signed()));
        assert_eq!(pool.len(), 2);
        assert_eq!(pool.senders.get(&account(1)).map(|s| s.fees_rao), Some(210));
        // The replacement's fee counts against the balance instead of the old one: 210 are
        // pending, so a replacement of nonce 1 at 300 needs 410.
        assert_eq!(
            pool.insert(tx(1, 1, 65), 300, &holds(400)),
            Err(MempoolError::Invalid(InvalidTx::CannotPayPending {
                pending_fee_rao: 410,
                free_rao: 400
            }))
        );
        pool.insert(tx(1, 1, 65), 300, &holds(410))?;
        assert_eq!(pool.senders.get(&account(1)).map(|s| s.fees_rao), Some(410));
        // A free transaction is replaced only by one paying at least 1 rao.
        pool.insert(tx(2, 0, 64), 0, &holds(0))?;
        assert_eq!(
            pool.insert(tx(2, 0, 65), 0, &holds(0)),
            Err(MempoolError::Invalid(InvalidTx::ReplacementUnderpriced {
                fee_rao: 0,
                min_fee_rao: 1
            }))
        );
        Ok(())
    }

    #[test]
    fn stale_and_expired_transactions_are_pruned() -> Result<(), MempoolError> {
        let mut pool = Mempool::new(MempoolLimits::default());
        pool.insert(tx(1, 0, 64), 1, &rich(0))?;
        pool.insert(tx(1, 1, 64), 1, &rich(0))?;
        pool.insert(tx(2, 0, 5), 1, &rich(0))?; // valid in blocks 10..15
        pool.settle(account(1), &rich(1));
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
