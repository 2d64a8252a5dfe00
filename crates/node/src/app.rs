//! The application that plugs `tao-state` into commonware: proposing and verifying blocks on
//! the parent's pending state ([`Chain`] implements marshal's [`Application`]) and applying
//! finalized blocks to the store ([`Chain`] is marshal's [`Reporter`] of [`Update`]s).
//!
//! Pending (verified, not yet finalized) blocks keep their own change set; the state after a
//! pending block is the committed store seen through the merged change sets of the pending
//! blocks from the committed tip up to it ([`Layered`]). Finalization writes the block's change
//! set and its height to the store in one transaction, and is idempotent by height: a block at
//! or below the committed height is acknowledged without touching anything.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, UNIX_EPOCH};

use commonware_actor::Feedback;
use commonware_consensus::marshal::Update;
use commonware_consensus::marshal::ancestry::Ancestry;
use commonware_consensus::simplex::types::Context;
use commonware_consensus::{Application, Reporter};
use commonware_cryptography::{Digested, Digestible, ed25519};
use commonware_runtime::Clock;
use commonware_runtime::telemetry::metrics::GaugeExt as _;
use commonware_utils::Acknowledgement;
use futures::StreamExt;
use tao_primitives::{AccountId, Hash256};
use tao_state::block::{BlockBuilder, BlockOutcome, Receipt, VerifiedTx, execute_block_with};
use tao_state::store::{ChangeSet, Layered, Store};
use tao_types::events::Event;
use tao_types::tx::SignedTx;

use crate::archive::BlockRecord;
use crate::block::{Block, Digest, MAX_BLOCK_TX_BYTES, MAX_BLOCK_TXS, tx_root};
use crate::mempool::{Mempool, MempoolError, MempoolLimits};
use crate::metrics::NodeMetrics;
use crate::storage::{CommitStore, StorageError};

/// Where a node puts the transactions it accepted from clients, for gossip (`crate::gossip`
/// drains it).
pub type GossipQueue = futures::channel::mpsc::Sender<SignedTx>;

/// The consensus context simplex hands to the application.
pub type ConsensusContext = Context<Digest, ed25519::PublicKey>;
/// The signing scheme of validator votes and certificates.
pub type SigningScheme = commonware_consensus::simplex::scheme::ed25519::Scheme;

/// How far ahead of a validator's clock a block time may be; a block further ahead is refused.
pub const MAX_FUTURE_DRIFT_MS: u64 = 2_000;

/// Why the application could not start or commit.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The genesis state could not be built.
    #[error(transparent)]
    Spec(#[from] tao_state::spec::SpecError),
    /// A block could not be executed on its parent's state.
    #[error("block {height}: {reason}")]
    Block {
        /// Height of the block.
        height: u64,
        /// What went wrong.
        reason: String,
    },
    /// The store holds a different chain than this genesis.
    #[error("the store's genesis does not match the chain spec")]
    GenesisMismatch,
    /// The committed state does not decode.
    #[error("the committed state is unreadable: {0}")]
    State(#[from] tao_state::error::StateError),
    /// The node is stopping ([`Chain::halt`]): nothing is committed any more.
    #[error("the node is stopping; block {height} was not committed")]
    Halted {
        /// Height of the block not committed.
        height: u64,
    },
}

/// Settings of the application.
#[derive(Clone, Debug)]
pub struct ChainConfig {
    /// Account credited with the fees of blocks this node proposes (`None`: recycled).
    pub author: Option<AccountId>,
    /// Most transactions a proposed block carries (default 4 096, at most [`MAX_BLOCK_TXS`];
    /// bytes are bounded by [`MAX_BLOCK_TX_BYTES`]). 4 096 transfers execute in ≈ 30 ms, and at
    /// 250 ms blocks they let the chain take 16 000 transfers/s, more than two cores verify.
    pub max_block_txs: usize,
    /// Mempool bounds.
    pub mempool: MempoolLimits,
    /// Least time between a block's timestamp and its parent's, ms (default 1 000; the chain
    /// spec's `block_time_ms` in a node). Proposers wait for it and verifiers enforce it, so
    /// no leader can make blocks faster than this.
    pub block_time_ms: u64,
}

impl Default for ChainConfig {
    fn default() -> Self {
        ChainConfig {
            author: None,
            max_block_txs: 4_096,
            mempool: MempoolLimits::default(),
            block_time_ms: 1_000,
        }
    }
}

/// A verified block waiting for finalization.
#[derive(Debug)]
struct Pending {
    height: u64,
    parent: Digest,
    changes: ChangeSet,
    receipts: Vec<Receipt>,
    block_events: Vec<Event>,
}

/// Called with the record of every block this node finalizes, after it is durable.
pub type FinalizedListener = Arc<dyn Fn(Arc<BlockRecord>) + Send + Sync>;

/// Called with every block this node proposes or verifies (not yet final), and its digest.
pub type PendingListener = Arc<dyn Fn(&Block, Digest) + Send + Sync>;

/// A finalized block as recorded by this node (for RPC and tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalizedBlock {
    /// Height.
    pub height: u64,
    /// Block digest.
    pub digest: Digest,
    /// State root after it.
    pub state_root: Hash256,
    /// Number of transactions in it.
    pub txs: usize,
    /// The validator that proposed it.
    pub proposer: ed25519::PublicKey,
}

/// What the executor owns: the committed tip, the pending forks and what finalization reports.
/// Held while a block is built, verified or committed.
struct Exec {
    config: ChainConfig,
    genesis: Block,
    committed_height: u64,
    committed_digest: Digest,
    pending: BTreeMap<Digest, Pending>,
    finalized: Vec<FinalizedBlock>,
    redelivered: u64,
    listener: Option<FinalizedListener>,
    pending_listener: Option<PendingListener>,
    metrics: NodeMetrics,
    /// Set by [`Chain::halt`]: finalized blocks are no longer committed.
    halted: bool,
}

/// The transaction pool and where admitted transactions are gossiped. Held only briefly:
/// admission inserts, builders and verifiers copy what they need.
struct Pool {
    mempool: Mempool,
    metrics: NodeMetrics,
    gossip: Option<GossipQueue>,
}

impl Exec {
    /// Keeps the outcome of a block executed since `started` until it is finalized or
    /// abandoned, and records its metrics. Returns the listener to call once the lock is
    /// released.
    fn keep_pending(
        &mut self,
        block: &Block,
        digest: Digest,
        outcome: BlockOutcome,
        started: Instant,
    ) -> Option<PendingListener> {
        let seconds = started.elapsed().as_secs_f64();
        self.metrics.block_execution.observe(seconds);
        if outcome
            .block_events
            .iter()
            .any(|event| matches!(event, Event::EpochRun { .. }))
        {
            self.metrics.epoch_execution.observe(seconds);
        }
        let _ = self.metrics.best_height.try_set_max(block.height);
        self.pending.insert(
            digest,
            Pending {
                height: block.height,
                parent: block.parent,
                changes: outcome.changes,
                receipts: outcome.receipts,
                block_events: outcome.block_events,
            },
        );
        self.pending_listener.clone()
    }

    /// The state changes from the committed tip to `digest`, if known here.
    fn parent_state(&self, digest: Digest) -> ParentState {
        let mut chain: Vec<&ChangeSet> = Vec::new();
        let mut cursor = digest;
        loop {
            if cursor == self.committed_digest {
                break;
            }
            match self.pending.get(&cursor) {
                Some(pending) if pending.height > self.committed_height => {
                    chain.push(&pending.changes);
                    cursor = pending.parent;
                }
                Some(_) => return ParentState::Dead,
                None => return ParentState::Missing,
            }
        }
        let mut merged = ChangeSet::default();
        for changes in chain.into_iter().rev() {
            merged = ChangeSet::merged(&merged, changes);
        }
        ParentState::Known(merged)
    }
}

/// How many times admission judges a transaction again when a block commits while it reads
/// the store; the last judgement stands (finalization settles the pool anyway).
const MAX_ADMISSION_ATTEMPTS: u32 = 4;

/// The Tao application: state, pending forks and mempool of one node.
///
/// Two locks, taken in this order and never the other way round: the executor's (building,
/// verifying and committing blocks) and the pool's. Admission takes only the pool's, after
/// judging the transaction on the committed store without any lock, so submissions and
/// gossip do not wait for a block to execute or for a commit's fsync (issue 14 §2).
pub struct Chain<S> {
    store: Arc<S>,
    exec: Arc<Mutex<Exec>>,
    pool: Arc<Mutex<Pool>>,
    /// The committed height, published after each commit: admission, which reads the store
    /// without the executor's lock, judges again if a block committed meanwhile.
    committed: Arc<AtomicU64>,
    /// What signatures commit to; known at open, so they are checked without a lock.
    genesis_hash: Hash256,
}

impl<S> std::fmt::Debug for Chain<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (committed_height, pending) = {
            let exec = lock(&self.exec);
            (exec.committed_height, exec.pending.len())
        };
        f.debug_struct("Chain")
            .field("committed_height", &committed_height)
            .field("pending", &pending)
            .field("mempool", &lock(&self.pool).mempool.len())
            .finish()
    }
}

impl<S> Clone for Chain<S> {
    fn clone(&self) -> Self {
        Chain {
            store: Arc::clone(&self.store),
            exec: Arc::clone(&self.exec),
            pool: Arc::clone(&self.pool),
            committed: Arc::clone(&self.committed),
            genesis_hash: self.genesis_hash,
        }
    }
}

/// Where the parent's state could be found.
enum ParentState {
    /// The merged change sets from the committed tip to the parent.
    Known(ChangeSet),
    /// Some ancestors of the parent are not executed here yet.
    Missing,
    /// The parent is on a fork that conflicts with the committed chain.
    Dead,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<S: CommitStore> Chain<S> {
    /// Opens the application on `store`, writing the genesis state if the store is empty.
    /// `genesis_proposer` names the (fixed) proposer key recorded in the genesis block.
    pub fn open(
        store: S,
        spec: &tao_state::spec::ChainSpec,
        genesis_proposer: ed25519::PublicKey,
        config: ChainConfig,
    ) -> Result<Chain<S>, ChainError> {
        let genesis_state = spec.genesis()?;
        let genesis = Block::genesis(genesis_state.state_root, genesis_proposer);
        let (height, digest) = match store.finalized() {
            Some((height, digest)) => (height, sha_digest(digest)),
            None => {
                let record = BlockRecord::new(&genesis, Vec::new(), Vec::new());
                store.commit_with_record(
                    0,
                    genesis.digest().0,
                    &genesis_state.changes,
                    &record.to_bytes(),
                )?;
                (0, genesis.digest())
            }
        };
        if height == 0 && digest != genesis.digest() {
            return Err(ChainError::GenesisMismatch);
        }
        let genesis_hash = tao_state::block::genesis_hash(&store)?;
        // One set of values, counted into by both halves.
        let metrics = NodeMetrics::detached();
        Ok(Chain {
            genesis_hash,
            committed: Arc::new(AtomicU64::new(height)),
            pool: Arc::new(Mutex::new(Pool {
                mempool: Mempool::new(config.mempool),
                metrics: metrics.clone(),
                gossip: None,
            })),
            exec: Arc::new(Mutex::new(Exec {
                config,
                genesis,
                committed_height: height,
                committed_digest: digest,
                pending: BTreeMap::new(),
                finalized: Vec::new(),
                redelivered: 0,
                listener: None,
                pending_listener: None,
                metrics,
                halted: false,
            })),
            store: Arc::new(store),
        })
    }

    /// The genesis block (marshal's anchor at height 0).
    pub fn genesis(&self) -> Block {
        lock(&self.exec).genesis.clone()
    }

    /// The committed (finalized and durable) height and block digest.
    pub fn committed(&self) -> (u64, Digest) {
        let exec = lock(&self.exec);
        (exec.committed_height, exec.committed_digest)
    }

    /// Calls `listener` with the record of every block finalized from now on.
    pub fn set_listener(&self, listener: FinalizedListener) {
        lock(&self.exec).listener = Some(listener);
    }

    /// Calls `listener` with every block proposed or verified from now on.
    pub fn set_pending_listener(&self, listener: PendingListener) {
        lock(&self.exec).pending_listener = Some(listener);
    }

    /// Reports into `metrics` from now on (instead of detached ones).
    pub fn set_metrics(&self, metrics: NodeMetrics) {
        let mut exec = lock(&self.exec);
        let _ = metrics.finalized_height.try_set(exec.committed_height);
        exec.metrics = metrics.clone();
        lock(&self.pool).metrics = metrics;
    }

    /// The metrics this chain counts into.
    pub fn metrics(&self) -> NodeMetrics {
        lock(&self.exec).metrics.clone()
    }

    /// The highest block proposed or verified here (final or not), or the committed height.
    pub fn best_height(&self) -> u64 {
        let exec = lock(&self.exec);
        let pending = exec.pending.values().map(|p| p.height).max();
        pending.unwrap_or(0).max(exec.committed_height)
    }

    /// Whether the mempool holds this transaction (by signer and nonce, same bytes).
    pub fn in_mempool(&self, tx: &SignedTx) -> bool {
        lock(&self.pool).mempool.contains(tx)
    }

    /// The nonce the signer's next transaction should use: the committed nonce, advanced past
    /// the consecutive nonces already waiting in the mempool.
    pub fn next_nonce(&self, signer: &AccountId) -> Result<u64, tao_state::error::StateError> {
        let committed = tao_state::read::account(&*self.store, signer)?.nonce;
        Ok(lock(&self.pool).mempool.next_nonce(signer, committed))
    }

    /// Finalized blocks applied by this process, in order.
    pub fn finalized(&self) -> Vec<FinalizedBlock> {
        lock(&self.exec).finalized.clone()
    }

    /// How many finalized blocks were delivered again at or below the committed height and
    /// skipped (after a restart marshal redelivers what it had not seen acknowledged).
    pub fn redelivered(&self) -> u64 {
        lock(&self.exec).redelivered
    }

    /// Reads the committed state (no block commits during the read).
    pub fn read<T>(&self, f: impl FnOnce(&dyn Store) -> T) -> T {
        let _exec = lock(&self.exec);
        f(&*self.store)
    }

    /// Number of transactions waiting in the mempool.
    pub fn mempool_len(&self) -> usize {
        lock(&self.pool).mempool.len()
    }

    /// Stops committing: every finalized block delivered from now on is refused (and not
    /// acknowledged), so the store no longer changes once this returns (a commit in progress
    /// finishes first: it holds the lock). A node halts its chain as soon as it is told to
    /// stop, because its actors keep running until the runtime stops them, seconds later.
    pub fn halt(&self) {
        lock(&self.exec).halted = true;
    }

    /// Sends the transactions clients submit from now on to the other validators.
    pub fn set_gossip(&self, queue: GossipQueue) {
        lock(&self.pool).gossip = Some(queue);
    }

    /// Checks a client's transaction against the committed state, queues it for proposal and
    /// gossips it to the other validators.
    /// The same transaction again is refused as already known before any signature or state
    /// work, and is not gossiped again.
    pub fn submit(&self, tx: SignedTx) -> Result<(), MempoolError> {
        {
            let pool = lock(&self.pool);
            if pool.mempool.contains(&tx) {
                let error = MempoolError::Invalid(tao_types::error::InvalidTx::AlreadyKnown);
                pool.metrics.rejected(error.reason());
                return Err(error);
            }
        }
        let verified = self.verify(tx.clone())?;
        let mut pool = self.admit(verified)?;
        // Admission refuses it as already known if it arrived meanwhile, so what passes is
        // new here and gossiped once. A full queue only costs the gossip: this node still
        // includes it when it leads.
        if let Some(gossip) = pool.gossip.as_mut() {
            let _ = gossip.try_send(tx);
        }
        Ok(())
    }

    /// Checks a transaction another validator gossiped and queues it (it is not sent on).
    pub fn receive_gossip(&self, tx: SignedTx) -> Result<(), MempoolError> {
        self.receive_gossip_batch(vec![tx]).pop().unwrap_or(Ok(()))
    }

    /// Checks the transactions of one gossip message, their signatures in one batch, and
    /// queues them (they are not sent on). One result per transaction looked at: first `Ok`
    /// for each one the pool holds already, then the others in order up to the first bad
    /// signature, which ends the message (what follows it is not looked at).
    pub fn receive_gossip_batch(&self, txs: Vec<SignedTx>) -> Vec<Result<(), MempoolError>> {
        let (known, fresh): (Vec<SignedTx>, Vec<SignedTx>) = {
            let pool = lock(&self.pool);
            txs.into_iter().partition(|tx| pool.mempool.contains(tx))
        };
        let (verified, bad) = VerifiedTx::verify_all(fresh, &self.genesis_hash);
        let mut results: Vec<Result<(), MempoolError>> = known.iter().map(|_| Ok(())).collect();
        results.extend(verified.into_iter().map(|tx| self.admit(tx).map(drop)));
        if bad.is_some() {
            let error = MempoolError::Invalid(tao_types::error::InvalidTx::BadSignature);
            lock(&self.pool).metrics.rejected(error.reason());
            results.push(Err(error));
        }
        results
    }

    /// Checks a signature outside any lock (the expensive part of admission, done once per
    /// transaction here: blocks reuse the result through the mempool).
    fn verify(&self, tx: SignedTx) -> Result<VerifiedTx, MempoolError> {
        VerifiedTx::verify(tx, &self.genesis_hash).map_err(|error| {
            let error = MempoolError::Invalid(error);
            lock(&self.pool).metrics.rejected(error.reason());
            error
        })
    }

    /// Judges `tx` on the committed store (without the executor's lock) and inserts it into
    /// the pool; returns the pool, still locked, when it was admitted.
    fn admit(&self, tx: VerifiedTx) -> Result<MutexGuard<'_, Pool>, MempoolError> {
        let mut attempts = 0;
        let (judged, mut pool) = loop {
            let height = self.committed.load(Ordering::Acquire);
            let judged = Self::judge(&*self.store, &tx);
            let pool = lock(&self.pool);
            attempts += 1;
            // A block committed while the store was read: the reads may mix two heights.
            if self.committed.load(Ordering::Acquire) == height
                || attempts >= MAX_ADMISSION_ATTEMPTS
            {
                break (judged, pool);
            }
        };
        let result =
            judged.and_then(|(fee_rao, account)| pool.mempool.insert(tx, fee_rao, &account));
        match &result {
            Ok(()) => {
                pool.metrics.tx_accepted.inc();
            }
            Err(error) => pool.metrics.rejected(error.reason()),
        }
        let _ = pool.metrics.mempool_size.try_set(pool.mempool.len());
        result.map(|()| pool)
    }

    /// A transaction's fee and its signer's account on the committed `store`. A nonce past the
    /// account's waits for the ones before it; it is judged as if they were used (its fee
    /// against the free balance, a free call run), and the pool checks that the account can
    /// pay for everything it would have waiting.
    fn judge(
        store: &S,
        tx: &VerifiedTx,
    ) -> Result<(u64, tao_types::views::AccountView), MempoolError> {
        let signer = tx.signed().tx.signer;
        tao_state::block::validate_ahead(store, tx)
            .and_then(|receipt| {
                tao_state::read::account(store, &signer)
                    .map(|account| (receipt.fee_rao, account))
                    .map_err(|error| tao_types::error::InvalidTx::Storage(error.to_string()))
            })
            .map_err(MempoolError::from)
    }

    /// Whether the pool holds `tx` (its signature is then checked already).
    fn pooled(&self, tx: &SignedTx) -> bool {
        lock(&self.pool).mempool.contains(tx)
    }

    /// Makes sure the state after `parent` is known, executing missing ancestors taken from
    /// `ancestry` (newest first, starting at `parent`). Returns its change set from the
    /// committed tip, or `None` when it cannot be built (dead fork, invalid ancestor).
    async fn ensure_parent(
        &self,
        parent: &Digested<Block>,
        ancestry: &mut (impl Ancestry<Block> + 'static),
    ) -> Option<ChangeSet> {
        match lock(&self.exec).parent_state(parent.digest()) {
            ParentState::Known(changes) => return Some(changes),
            ParentState::Dead => return None,
            ParentState::Missing => {}
        }
        // Collect the unexecuted ancestors, newest first.
        let mut missing: Vec<Digested<Block>> = Vec::new();
        while let Some(block) = ancestry.next().await {
            let (done, is_known) = {
                let exec = lock(&self.exec);
                let parent = block.inner().parent;
                let done = block.inner().height <= exec.committed_height.saturating_add(1)
                    || exec.pending.contains_key(&parent)
                    || parent == exec.committed_digest;
                (done, exec.pending.contains_key(&block.digest()))
            };
            if !is_known {
                missing.push(block);
            }
            if done || is_known {
                break;
            }
        }
        for block in missing.into_iter().rev() {
            let mut exec = lock(&self.exec);
            let ParentState::Known(changes) = exec.parent_state(block.inner().parent) else {
                return None;
            };
            let started = Instant::now();
            let outcome = {
                let view = Layered::new(&*self.store, &changes);
                execute_block_with(
                    &view,
                    &block.inner().state_header(),
                    &block.inner().txs,
                    |tx| self.pooled(tx),
                )
                .ok()?
            };
            if outcome.state_root != block.inner().state_root || self.store.failed() {
                return None;
            }
            let listener = exec.keep_pending(block.inner(), block.digest(), outcome, started);
            drop(exec);
            if let Some(listener) = listener {
                listener(block.inner(), block.digest());
            }
        }
        match lock(&self.exec).parent_state(parent.digest()) {
            ParentState::Known(changes) => Some(changes),
            _ => None,
        }
    }

    /// Builds a block on `parent` at `timestamp_ms` from the mempool.
    fn build(
        &self,
        parent: &Digested<Block>,
        parent_changes: &ChangeSet,
        timestamp_ms: u64,
        proposer: ed25519::PublicKey,
    ) -> Option<Block> {
        let mut exec = lock(&self.exec);
        let height = parent.inner().height.checked_add(1)?;
        let author = exec.config.author;
        let header = tao_state::block::Header {
            height,
            timestamp_ms,
            author,
        };
        let max = exec.config.max_block_txs.min(MAX_BLOCK_TXS);
        let started = Instant::now();
        let (outcome, included, rejected) = {
            let view = Layered::new(&*self.store, parent_changes);
            // Only what the parent's chain has not included yet (pooled transactions stay until
            // finalized, so pending ancestors may carry some). The pool is held only while
            // they are chosen; they execute without it.
            let candidates = lock(&self.pool).mempool.candidates(max, |who| {
                tao_state::read::account(&view, who).map_or(0, |account| account.nonce)
            });
            let mut builder = BlockBuilder::begin(&view, &header).ok()?;
            let mut included = Vec::new();
            let mut rejected = Vec::new();
            let mut tx_bytes = 0_usize;
            for tx in candidates {
                // What would pass the decoders' byte bound waits for a later block.
                let size = parity_scale_codec::Encode::encoded_size(tx.signed());
                if tx_bytes.saturating_add(size) > MAX_BLOCK_TX_BYTES {
                    continue;
                }
                match builder.apply_verified(&tx) {
                    Ok(_) => {
                        tx_bytes = tx_bytes.saturating_add(size);
                        included.push(tx.into_signed());
                    }
                    // Nonce trouble on a pending parent is not final: the parent may be
                    // abandoned, and finalization prunes used nonces anyway. A transaction
                    // the block has no weight left for waits for the next one.
                    Err(
                        tao_types::error::InvalidTx::StaleNonce { .. }
                        | tao_types::error::InvalidTx::FutureNonce { .. }
                        | tao_types::error::InvalidTx::BlockFull { .. },
                    ) => {}
                    Err(error) => {
                        tracing::debug!(%error, "transaction not included");
                        rejected.push(tx.into_signed());
                    }
                }
            }
            (builder.finish().ok()?, included, rejected)
        };
        if self.store.failed() {
            return None;
        }
        if !rejected.is_empty() {
            let mut pool = lock(&self.pool);
            for tx in &rejected {
                pool.mempool.remove(tx);
            }
        }
        let block = Block::new(
            parent.digest(),
            height,
            timestamp_ms,
            proposer,
            author,
            outcome.state_root,
            included,
        );
        let digest = block.digest();
        let listener = exec.keep_pending(&block, digest, outcome, started);
        drop(exec);
        if let Some(listener) = listener {
            listener(&block, digest);
        }
        Some(block)
    }

    /// Re-executes `block` on its parent's state and checks its roots.
    fn check(&self, block: &Digested<Block>, parent_changes: &ChangeSet) -> bool {
        let mut exec = lock(&self.exec);
        let b = block.inner();
        if b.tx_root != tx_root(&b.txs) {
            return false;
        }
        let started = Instant::now();
        let outcome = {
            let view = Layered::new(&*self.store, parent_changes);
            match execute_block_with(&view, &b.state_header(), &b.txs, |tx| self.pooled(tx)) {
                Ok(outcome) => outcome,
                Err(error) => {
                    tracing::info!(height = b.height, %error, "rejecting block");
                    return false;
                }
            }
        };
        if self.store.failed() {
            return false;
        }
        if outcome.state_root != b.state_root {
            tracing::info!(height = b.height, "rejecting block: state root mismatch");
            return false;
        }
        let listener = exec.keep_pending(b, block.digest(), outcome, started);
        drop(exec);
        if let Some(listener) = listener {
            listener(b, block.digest());
        }
        true
    }

    /// Applies a finalized block to the store (idempotent by height).
    fn finalize(&self, block: &Digested<Block>) -> Result<(), ChainError> {
        let mut exec = lock(&self.exec);
        let b = block.inner();
        if exec.halted {
            return Err(ChainError::Halted { height: b.height });
        }
        if b.height <= exec.committed_height {
            exec.redelivered = exec.redelivered.saturating_add(1);
            return Ok(());
        }
        if b.parent != exec.committed_digest {
            return Err(ChainError::Block {
                height: b.height,
                reason: "finalized block does not extend the committed tip".into(),
            });
        }
        let (changes, receipts, block_events) = match exec.pending.remove(&block.digest()) {
            Some(pending) => (pending.changes, pending.receipts, pending.block_events),
            None => {
                let outcome = execute_block_with(&*self.store, &b.state_header(), &b.txs, |tx| {
                    self.pooled(tx)
                })
                .map_err(|error| ChainError::Block {
                    height: b.height,
                    reason: error.to_string(),
                })?;
                if outcome.state_root != b.state_root {
                    return Err(ChainError::Block {
                        height: b.height,
                        reason: "state root mismatch on a finalized block".into(),
                    });
                }
                (outcome.changes, outcome.receipts, outcome.block_events)
            }
        };
        let record = Arc::new(BlockRecord::new(b, receipts, block_events));
        self.store
            .commit_with_record(b.height, block.digest().0, &changes, &record.to_bytes())?;
        self.committed.store(b.height, Ordering::Release);
        // Debug builds (every test and simulation) check the conservation laws at each
        // finalized block: TAO or alpha created or destroyed stops the node at that block.
        debug_assert_eq!(
            tao_state::invariants::check(&*self.store),
            Ok(()),
            "state invariant broken by block {}",
            b.height
        );
        exec.committed_height = b.height;
        exec.committed_digest = block.digest();
        exec.pending.retain(|_, pending| pending.height > b.height);
        let mut pool = lock(&self.pool);
        for tx in &b.txs {
            pool.mempool.remove(tx);
        }
        // Drop what can no longer be included: used nonces (another transaction of the same
        // sender and nonce), fees the senders' balances no longer cover (only a sender's own
        // transactions lower its balance) and closed mortality windows.
        let signers: std::collections::BTreeSet<AccountId> =
            b.txs.iter().map(|tx| tx.tx.signer).collect();
        for signer in signers {
            if let Ok(account) = tao_state::read::account(&*self.store, &signer) {
                pool.mempool.settle(signer, &account);
            }
        }
        pool.mempool.prune_expired(b.height);
        let _ = pool.metrics.mempool_size.try_set(pool.mempool.len());
        drop(pool);
        let _ = exec.metrics.finalized_height.try_set(b.height);
        exec.finalized.push(FinalizedBlock {
            height: b.height,
            digest: block.digest(),
            state_root: b.state_root,
            txs: b.txs.len(),
            proposer: b.proposer.clone(),
        });
        // Only the last few are kept in memory (tests read them; the RPC reads redb).
        if exec.finalized.len() > 4_096 {
            exec.finalized.drain(..2_048);
        }
        let listener = exec.listener.clone();
        drop(exec);
        if let Some(listener) = listener {
            listener(record);
        }
        Ok(())
    }
}
impl<S> Chain<S> {
    /// The earliest timestamp a child of `parent` may carry: the parent's plus the block time
    /// (the genesis block's time is 0, so the first block is never held back).
    fn earliest_child_ms(&self, parent: &Block) -> u64 {
        let block_time_ms = lock(&self.exec).config.block_time_ms;
        parent.timestamp_ms.saturating_add(block_time_ms)
    }

    /// Whether `block`'s time fits: no earlier than its parent's plus the block time, and no
    /// further ahead of `now_ms` than clocks drift apart. A block from the future is refused,
    /// not waited for: waiting would let a leader stall this verifier as long as it likes.
    fn timely(&self, block: &Block, parent: &Block, now_ms: u64) -> bool {
        if block.timestamp_ms < self.earliest_child_ms(parent) {
            return false;
        }
        if block.timestamp_ms > now_ms.saturating_add(MAX_FUTURE_DRIFT_MS) {
            tracing::info!(
                height = block.height,
                "rejecting block: timestamp too far ahead"
            );
            return false;
        }
        true
    }
}

fn sha_digest(bytes: [u8; 32]) -> Digest {
    commonware_cryptography::sha256::Digest(bytes)
}

fn now_ms(clock: &impl Clock) -> u64 {
    clock
        .current()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl<E, S> Application<E> for Chain<S>
where
    E: Clock + Send + 'static,
    S: CommitStore,
{
    type SigningScheme = SigningScheme;
    type Context = ConsensusContext;
    type Block = Block;
    type Input = ();

    async fn propose(
        &mut self,
        (runtime, context): (E, Self::Context),
        mut ancestry: impl Ancestry<Self::Block>,
        _input: (),
    ) -> Option<Digested<Self::Block>> {
        let parent = ancestry.peek()?.clone();
        let changes = self.ensure_parent(&parent, &mut ancestry).await?;
        // Pace the chain: no block before its parent's time plus the block time.
        let earliest_ms = self.earliest_child_ms(parent.inner());
        let now = now_ms(&runtime);
        if now < earliest_ms {
            runtime
                .sleep(Duration::from_millis(earliest_ms - now))
                .await;
        }
        let timestamp_ms = now_ms(&runtime).max(earliest_ms);
        let block = self.build(&parent, &changes, timestamp_ms, context.leader)?;
        let digest = block.digest();
        Some(Digested::precomputed(block, digest))
    }

    async fn verify(
        &mut self,
        (runtime, context): (E, Self::Context),
        mut ancestry: impl Ancestry<Self::Block>,
    ) -> bool {
        let Some(block) = ancestry.next().await else {
            return false;
        };
        if lock(&self.exec).pending.contains_key(&block.digest()) {
            return true;
        }
        let Some(parent) = ancestry.peek().cloned() else {
            return false;
        };
        let b = block.inner();
        if b.proposer != context.leader || !self.timely(b, parent.inner(), now_ms(&runtime)) {
            return false;
        }
        let Some(changes) = self.ensure_parent(&parent, &mut ancestry).await else {
            return false;
        };
        self.check(&block, &changes)
    }
}

impl<S: CommitStore> Reporter for Chain<S> {
    type Activity = Update<Block>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        match activity {
            Update::Block(block, ack) => match self.finalize(&block) {
                Ok(()) => ack.acknowledge(),
                // Stopping: marshal redelivers the block after a restart.
                Err(ChainError::Halted { .. }) => drop(ack),
                Err(error) => {
                    // Not acknowledging stops marshal: this node cannot follow the chain.
                    tracing::error!(%error, "cannot apply finalized block");
                    drop(ack);
                }
            },
            Update::Tip(..) => {}
        }
        Feedback::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::RedbStore;
    use commonware_cryptography::Signer as _;
    use tao_state::spec::ChainSpec;
    use tao_types::error::InvalidTx;
    use tao_types::tx::{Call, Mortality, UnsignedTx};

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn proposer() -> ed25519::PublicKey {
        ed25519::PrivateKey::from_seed(0).public_key()
    }

    fn chain() -> Result<Chain<RedbStore>, ChainError> {
        Chain::open(
            RedbStore::in_memory()?,
            &ChainSpec::local(),
            proposer(),
            ChainConfig::default(),
        )
    }

    fn transfer(nonce: u64) -> Result<SignedTx, Box<dyn std::error::Error>> {
        let alice = tao_keys::Keypair::from_uri("//Alice")?;
        let bob = tao_keys::Keypair::from_uri("//Bob")?;
        let tx = UnsignedTx {
            signer: AccountId(alice.public().to_bytes()),
            nonce,
            mortality: Mortality {
                birth: 0,
                period: 64,
            },
            call: Call::Transfer {
                dest: AccountId(bob.public().to_bytes()),
                amount_rao: 5_000,
            },
        };
        let genesis_hash = ChainSpec::local().genesis()?.genesis_hash;
        let signature = alice.sign(&tx.signing_payload(&genesis_hash)).to_bytes();
        Ok(SignedTx { tx, signature })
    }

    fn digested(block: Block) -> Digested<Block> {
        let digest = block.digest();
        Digested::precomputed(block, digest)
    }

    #[test]
    fn a_proposed_block_verifies_elsewhere_and_finalizes_idempotently() -> TestResult {
        let proposer_node = chain()?;
        let verifier = chain()?;
        proposer_node.submit(transfer(0)?)?;
        proposer_node.submit(transfer(1)?)?;
        let genesis = digested(proposer_node.genesis());
        let block = proposer_node
            .build(&genesis, &ChangeSet::default(), 1_000, proposer())
            .ok_or("no block")?;
        assert_eq!(block.txs.len(), 2);
        let block = digested(block);
        assert!(verifier.check(&block, &ChangeSet::default()));

        verifier.finalize(&block)?;
        verifier.finalize(&block)?; // redelivery: nothing happens
        assert_eq!(verifier.committed(), (1, block.digest()));
        assert_eq!(verifier.finalized().len(), 1);
        assert_eq!(verifier.redelivered(), 1);
        proposer_node.finalize(&block)?;
        assert_eq!(proposer_node.mempool_len(), 0);
        let nonce = |node: &Chain<RedbStore>| {
            node.read(|store| {
                tao_state::read::account(store, &transfer(0).ok()?.tx.signer)
                    .ok()
                    .map(|a| a.nonce)
            })
        };
        assert_eq!(nonce(&verifier), Some(2));
        assert_eq!(nonce(&proposer_node), Some(2));
        Ok(())
    }

    #[test]
    fn wrong_state_root_or_earlier_timestamp_is_rejected() -> TestResult {
        let proposer_node = chain()?;
        let verifier = chain()?;
        proposer_node.submit(transfer(0)?)?;
        let genesis = digested(proposer_node.genesis());
        let good = proposer_node
            .build(&genesis, &ChangeSet::default(), 1_000, proposer())
            .ok_or("no block")?;
        let bad_root = Block::new(
            good.parent,
            good.height,
            good.timestamp_ms,
            good.proposer.clone(),
            good.author,
            Hash256([9; 32]),
            good.txs.clone(),
        );
        assert!(!verifier.check(&digested(bad_root), &ChangeSet::default()));
        let good = digested(good);
        assert!(verifier.check(&good, &ChangeSet::default()));
        // A child whose time is before its parent's cannot execute.
        let ParentState::Known(parent_changes) = lock(&verifier.exec).parent_state(good.digest())
        else {
            return Err("parent state unknown".into());
        };
        let early = Block::new(
            good.digest(),
            2,
            999,
            proposer(),
            None,
            good.inner().state_root,
            Vec::new(),
        );
        assert!(!verifier.check(&digested(early), &parent_changes));
        Ok(())
    }

    #[test]
    fn blocks_too_far_ahead_of_the_clock_are_refused() -> TestResult {
        let node = chain()?;
        let genesis = node.genesis();
        let at = |timestamp_ms| {
            Block::new(
                sha_digest([1; 32]),
                1,
                timestamp_ms,
                proposer(),
                None,
                Hash256([0; 32]),
                Vec::new(),
            )
        };
        let now_ms = 10_000;
        assert!(node.timely(&at(now_ms), &genesis, now_ms));
        assert!(node.timely(&at(now_ms + MAX_FUTURE_DRIFT_MS), &genesis, now_ms));
        assert!(!node.timely(&at(now_ms + MAX_FUTURE_DRIFT_MS + 1), &genesis, now_ms));
        assert!(!node.timely(&at(u64::MAX), &genesis, now_ms));
        Ok(())
    }

    #[test]
    fn a_halted_chain_commits_nothing() -> TestResult {
        let node = chain()?;
        node.submit(transfer(0)?)?;
        let block = node
            .build(
                &digested(node.genesis()),
                &ChangeSet::default(),
                1_000,
                proposer(),
            )
            .ok_or("no block")?;
        node.halt();
        assert!(matches!(
            node.finalize(&digested(block)),
            Err(ChainError::Halted { height: 1 })
        ));
        assert_eq!(node.committed().0, 0);
        assert_eq!(node.store.finalized().map(|(height, _)| height), Some(0));
        Ok(())
    }

    #[test]
    fn finalizing_a_block_that_skips_the_tip_is_an_error() -> TestResult {
        let node = chain()?;
        let orphan = Block::new(
            sha_digest([5; 32]),
            1,
            1_000,
            proposer(),
            None,
            Hash256([0; 32]),
            Vec::new(),
        );
        assert!(node.finalize(&digested(orphan)).is_err());
        assert_eq!(node.committed().0, 0);
        Ok(())
    }

    /// A node on the local spec plus `extra` genesis balances, with these pool limits.
    fn chain_with(
        extra: &[(&str, u64)],
        mempool: MempoolLimits,
    ) -> Result<Chain<RedbStore>, ChainError> {
        let mut spec = ChainSpec::local();
        spec.balances
            .extend(extra.iter().map(|(uri, rao)| ((*uri).to_owned(), *rao)));
        Chain::open(
            RedbStore::in_memory()?,
            &spec,
            proposer(),
            ChainConfig {
                mempool,
                ..ChainConfig::default()
            },
        )
    }

    fn account_of(key: &tao_keys::Keypair) -> AccountId {
        AccountId(key.public().to_bytes())
    }

    fn dev(uri: &str) -> Result<tao_keys::Keypair, Box<dyn std::error::Error>> {
        Ok(tao_keys::Keypair::from_uri(uri)?)
    }

    /// `call` signed by `key` at `nonce` for `node`'s chain, valid from genesis on.
    fn signed(
        node: &Chain<RedbStore>,
        key: &tao_keys::Keypair,
        nonce: u64,
        call: Call,
    ) -> SignedTx {
        let tx = UnsignedTx {
            signer: account_of(key),
            nonce,
            mortality: Mortality {
                birth: 0,
                period: 64,
            },
            call,
        };
        let signature = key.sign(&tx.signing_payload(&node.genesis_hash)).to_bytes();
        SignedTx { tx, signature }
    }

    /// The attack's call: a subnet registration whose identity fills the transaction to
    /// nearly `MAX_TX_BYTES`, so it declares one of the highest fees there are (16.5 M rao
    /// against a transfer's 0.26 M).
    fn large_call() -> Call {
        Call::RegisterNetwork {
            hotkey: AccountId([7; 32]),
            identity: Some(tao_types::tx::SubnetIdentity {
                name: Vec::new(),
                repo: Vec::new(),
                contact: Vec::new(),
                url: Vec::new(),
                description: vec![b'x'; 16_000],
            }),
        }
    }

    fn pay(dest: &tao_keys::Keypair, amount_rao: u64) -> Call {
        Call::Transfer {
            dest: account_of(dest),
            amount_rao,
        }
    }

    fn fee_of(node: &Chain<RedbStore>, tx: &SignedTx) -> Result<u64, Box<dyn std::error::Error>> {
        let globals = node.read(tao_state::read::global_params)?;
        let weight = tao_types::metering::call_weight(
            &tx.tx.call,
            &tao_types::metering::WeightInputs::default(),
            &globals,
        );
        Ok(tx.tx.call.fee_rao(
            parity_scale_codec::Encode::encoded_size(tx),
            weight,
            &globals,
        ))
    }

    fn free_rao(
        node: &Chain<RedbStore>,
        key: &tao_keys::Keypair,
    ) -> Result<u64, Box<dyn std::error::Error>> {
        Ok(node
            .read(|store| tao_state::read::account(store, &account_of(key)))?
            .free_rao)
    }

    /// Builds a block on `parent` (the committed tip) from `node`'s pool and finalizes it
    /// there and on `others`.
    fn finalize_child(
        parent: &Block,
        node: &Chain<RedbStore>,
        others: &[&Chain<RedbStore>],
    ) -> Result<Block, Box<dyn std::error::Error>> {
        let timestamp_ms = parent.timestamp_ms + 1_000;
        let block = node
            .build(
                &digested(parent.clone()),
                &ChangeSet::default(),
                timestamp_ms,
                proposer(),
            )
            .ok_or("no block")?;
        let sealed = digested(block.clone());
        for chain in std::iter::once(node).chain(others.iter().copied()) {
            chain.finalize(&sealed)?;
        }
        Ok(block)
    }

    /// Large transactions beyond the block's byte bound wait for the next block: a block
    /// over it would be refused by every decoder (and its views lost).
    #[test]
    fn a_block_stays_within_the_byte_bound_the_decoders_enforce() -> TestResult {
        let node = chain_with(&[], MempoolLimits::default())?;
        let senders = ["//Alice", "//Bob", "//Charlie", "//Dave", "//Eve"];
        let mut submitted_bytes = 0;
        for uri in senders {
            let key = dev(uri)?;
            for nonce in 0..60 {
                let tx = signed(&node, &key, nonce, large_call());
                submitted_bytes += parity_scale_codec::Encode::encoded_size(&tx);
                node.submit(tx)?;
            }
        }
        assert!(submitted_bytes > MAX_BLOCK_TX_BYTES);
        let first = finalize_child(&node.genesis(), &node, &[])?;
        let first_bytes: usize = first
            .txs
            .iter()
            .map(parity_scale_codec::Encode::encoded_size)
            .sum();
        assert!(first_bytes <= MAX_BLOCK_TX_BYTES, "{first_bytes} bytes");
        let decoded = <Block as commonware_codec::DecodeExt<()>>::decode(
            commonware_codec::Encode::encode(&first),
        )?;
        assert_eq!(decoded, first);
        let second = finalize_child(&first, &node, &[])?;
        assert_eq!(first.txs.len() + second.txs.len(), senders.len() * 60);
        Ok(())
    }

    /// Transfers past the block's weight budget stay in the pool for the next block.
    #[test]
    fn transactions_beyond_the_weight_budget_wait_in_the_pool() -> TestResult {
        let mut spec = ChainSpec::local();
        spec.globals.max_block_weight = tao_types::params::MIN_BLOCK_WEIGHT;
        let node = Chain::open(
            RedbStore::in_memory()?,
            &spec,
            proposer(),
            ChainConfig::default(),
        )?;
        let fits = spec.globals.max_block_weight / tao_types::metering::TRANSFER_WEIGHT;
        let (alice, bob, ferdie) = (dev("//Alice")?, dev("//Bob")?, dev("//Ferdie")?);
        let per_sender = fits * 3 / 4;
        for key in [&alice, &bob] {
            for nonce in 0..per_sender {
                node.submit(signed(&node, key, nonce, pay(&ferdie, 1_000)))?;
            }
        }
        let first = finalize_child(&node.genesis(), &node, &[])?;
        assert_eq!(first.txs.len() as u64, fits, "the budget fills the block");
        assert_eq!(node.mempool_len() as u64, 2 * per_sender - fits);
        let second = finalize_child(&first, &node, &[])?;
        assert_eq!((first.txs.len() + second.txs.len()) as u64, 2 * per_sender);
        assert_eq!(node.mempool_len(), 0);
        Ok(())
    }

    #[test]
    fn submission_rejects_bad_signatures_and_queues_future_nonces() -> TestResult {
        let node = chain()?;
        let mut forged = transfer(0)?;
        forged.signature[0] ^= 1;
        assert!(matches!(
            node.submit(forged),
            Err(MempoolError::Invalid(
                tao_types::error::InvalidTx::BadSignature
            ))
        ));
        // A future nonce waits in the pool for its predecessors.
        node.submit(transfer(3)?)?;
        assert_eq!(node.mempool_len(), 1);
        Ok(())
    }

    /// Issue 14 §2: admission needs only the pool's lock, so a submission is served while a
    /// block executes or commits (here: while the executor's lock is held).
    #[test]
    fn submissions_do_not_wait_for_the_executor() -> TestResult {
        let node = chain()?;
        let executing = lock(&node.exec);
        let (done, finished) = std::sync::mpsc::channel();
        let submitter = node.clone();
        let tx = transfer(0)?;
        std::thread::spawn(move || {
            let _ = done.send(submitter.submit(tx).map(|()| submitter.mempool_len()));
        });
        // Were admission to take the executor's lock it would wait until `executing` drops,
        // which happens only after this: the timeout is a deadlock guard, not a measurement.
        let admitted = finished.recv_timeout(Duration::from_secs(60));
        drop(executing);
        assert_eq!(admitted, Ok(Ok(1)));
        Ok(())
    }

    #[test]
    fn a_resubmission_is_known_and_a_replacement_must_pay_more() -> TestResult {
        let node = chain()?;
        let (queue, mut gossiped) = futures::channel::mpsc::channel(16);
        node.set_gossip(queue);
        let alice = dev("//Alice")?;
        let bob = dev("//Bob")?;
        let first = signed(&node, &alice, 0, pay(&bob, 5_000));
        node.submit(first.clone())?;
        // The same bytes again: refused as known, neither admitted again nor gossiped again.
        assert_eq!(
            node.submit(first.clone()),
            Err(MempoolError::Invalid(InvalidTx::AlreadyKnown))
        );
        assert_eq!(node.receive_gossip(first.clone()), Ok(()));
        // Another transfer at the same nonce has the same size, so the same fee: refused.
        let same_fee = signed(&node, &alice, 0, pay(&bob, 6_000));
        let fee_rao = fee_of(&node, &first)?;
        let underpriced = Err(MempoolError::Invalid(InvalidTx::ReplacementUnderpriced {
            fee_rao,
            min_fee_rao: fee_rao + fee_rao.div_ceil(10),
        }));
        assert_eq!(node.submit(same_fee.clone()), underpriced);
        assert_eq!(node.receive_gossip(same_fee.clone()), underpriced);
        assert!(node.in_mempool(&first));
        // A larger call pays more than the bump, replaces it and is gossiped.
        let dearer = signed(&node, &alice, 0, large_call());
        assert!(fee_of(&node, &dearer)? >= fee_rao + fee_rao.div_ceil(10));
        node.submit(dearer.clone())?;
        assert!(node.in_mempool(&dearer) && !node.in_mempool(&first));
        assert_eq!(node.mempool_len(), 1);
        assert_eq!(gossiped.try_recv().ok(), Some(first));
        assert_eq!(gossiped.try_recv().ok(), Some(dearer));
        assert!(gossiped.try_recv().is_err(), "gossiped once each");
        Ok(())
    }

    /// Pool bounds small enough for an attack to fill them quickly.
    fn small_pool(max_len: usize) -> MempoolLimits {
        MempoolLimits {
            max_len,
            ..MempoolLimits::default()
        }
    }

    /// Issue 13, hole 1: `keys` fresh keys that hold nothing each send nonces 1 to
    /// `nonces_per_key` (future: their nonce 0 never comes), every one a call declaring one of
    /// the highest fees there are, half submitted and half gossiped. Each must be refused, and
    /// an honest transfer from a funded account must then get in and finalize.
    fn unfunded_future_flood(
        node: &Chain<RedbStore>,
        keys: u32,
        nonces_per_key: u64,
    ) -> TestResult {
        let call = large_call();
        for index in 0..keys {
            let mut seed = [0xa7; 32];
            seed[..4].copy_from_slice(&index.to_le_bytes());
            let attacker = tao_keys::Keypair::from_mini_secret(seed);
            for nonce in 1..=nonces_per_key {
                let tx = signed(node, &attacker, nonce, call.clone());
                let result = if index % 2 == 0 {
                    node.submit(tx)
                } else {
                    node.receive_gossip(tx)
                };
                assert!(matches!(
                    result,
                    Err(MempoolError::Invalid(InvalidTx::CannotPayFee { .. }))
                ));
            }
        }
        let (alice, bob) = (dev("//Alice")?, dev("//Bob")?);
        let before_rao = free_rao(node, &bob)?;
        node.submit(signed(node, &alice, 0, pay(&bob, 5_000)))?;
        assert_eq!(node.mempool_len(), 1, "only the honest transfer waits");
        let block = finalize_child(&node.genesis(), node, &[])?;
        assert_eq!(block.txs.len(), 1);
        assert_eq!(free_rao(node, &bob)?, before_rao + 5_000);
        Ok(())
    }

    /// The flood on a pool of 64: more attackers than slots, one nonce each (92 keys) and
    /// many (4 keys × 16 nonces).
    #[test]
    fn unfunded_future_nonces_cannot_keep_an_honest_transfer_out() -> TestResult {
        unfunded_future_flood(&chain_with(&[], small_pool(64))?, 92, 1)?;
        unfunded_future_flood(&chain_with(&[], small_pool(64))?, 4, 16)
    }

    /// The flood as measured on main (257 keys × 256 nonces, 65 792 transactions, more than
    /// the default pool's 65 536 slots), against the default limits.
    #[test]
    fn the_measured_future_nonce_flood_leaves_the_default_pool_open() -> TestResult {
        unfunded_future_flood(&chain_with(&[], MempoolLimits::default())?, 257, 256)
    }

    #[test]
    fn a_sender_cannot_queue_more_fees_than_its_free_balance() -> TestResult {
        let node = chain_with(&[("//Poor", 40_000_000)], MempoolLimits::default())?;
        let poor = dev("//Poor")?;
        let txs: Vec<SignedTx> = (0..3)
            .map(|nonce| signed(&node, &poor, nonce, large_call()))
            .collect();
        let fee_rao = fee_of(&node, &txs[0])?;
        assert!(2 * fee_rao <= 40_000_000 && 3 * fee_rao > 40_000_000);
        node.submit(txs[0].clone())?; // the next nonce
        node.submit(txs[1].clone())?; // a future one, still covered
        // A third fee is more than the account holds, whichever way it arrives.
        let refused = Err(MempoolError::Invalid(InvalidTx::CannotPayPending {
            pending_fee_rao: 3 * fee_rao,
            free_rao: 40_000_000,
        }));
        assert_eq!(node.submit(txs[2].clone()), refused);
        assert_eq!(node.receive_gossip(txs[2].clone()), refused);
        assert_eq!(node.mempool_len(), 2);
        Ok(())
    }

    #[test]
    fn spending_the_balance_drops_pending_transactions_it_no_longer_covers() -> TestResult {
        let funds = [("//Poor", 40_000_000)];
        let leader = chain_with(&funds, MempoolLimits::default())?;
        let follower = chain_with(&funds, MempoolLimits::default())?;
        let (poor, bob) = (dev("//Poor")?, dev("//Bob")?);
        let spend_all = signed(
            &leader,
            &poor,
            0,
            Call::TransferAll {
                dest: account_of(&bob),
            },
        );
        let next = signed(&leader, &poor, 1, pay(&bob, 1_000));
        leader.submit(spend_all.clone())?;
        follower.receive_gossip(spend_all)?;
        follower.receive_gossip(next.clone())?;
        assert_eq!(follower.mempool_len(), 2);
        // The leader's block carries only the first: it empties the account, so the second's
        // fee can no longer be paid and the follower stops holding it.
        let block = finalize_child(&leader.genesis(), &leader, &[&follower])?;
        assert_eq!(block.txs.len(), 1);
        assert_eq!(free_rao(&follower, &poor)?, 0);
        assert!(!follower.in_mempool(&next));
        assert_eq!(follower.mempool_len(), 0);
        Ok(())
    }

    #[test]
    fn nonces_far_ahead_of_the_account_are_refused() -> TestResult {
        let node = chain()?;
        let (alice, bob) = (dev("//Alice")?, dev("//Bob")?);
        let max_ahead = MempoolLimits::default().max_nonce_ahead;
        assert_eq!(
            node.submit(signed(&node, &alice, max_ahead + 1, pay(&bob, 5_000))),
            Err(MempoolError::Invalid(InvalidTx::NonceTooFarAhead {
                expected: 0,
                max_ahead
            }))
        );
        assert_eq!(node.mempool_len(), 0);
        node.submit(signed(&node, &alice, max_ahead, pay(&bob, 5_000)))?;
        assert_eq!(node.mempool_len(), 1);
        Ok(())
    }

    /// A full pool of future transactions from a funded account, each declaring 60 times a
    /// transfer's fee, yields to a transfer that can go in the next block.
    #[test]
    fn a_ready_transfer_evicts_future_transactions_from_a_full_pool() -> TestResult {
        let node = chain_with(&[], small_pool(8))?;
        let (alice, bob, charlie) = (dev("//Alice")?, dev("//Bob")?, dev("//Charlie")?);
        // Nonces 1..=8 with nonce 0 missing: none can be included.
        let future: Vec<SignedTx> = (1..=8)
            .map(|nonce| signed(&node, &alice, nonce, large_call()))
            .collect();
        for tx in &future {
            node.submit(tx.clone())?;
        }
        let transfer = signed(&node, &bob, 0, pay(&charlie, 5_000));
        assert!(fee_of(&node, &transfer)? * 60 < fee_of(&node, &future[0])?);
        node.submit(transfer.clone())?;
        assert_eq!(node.mempool_len(), 8);
        assert!(node.in_mempool(&transfer));
        assert!(
            !node.in_mempool(&future[7]),
            "the last future nonce made room"
        );
        let before_rao = free_rao(&node, &charlie)?;
        let block = finalize_child(&node.genesis(), &node, &[])?;
        assert_eq!(block.txs, vec![transfer]);
        assert_eq!(free_rao(&node, &charlie)?, before_rao + 5_000);
        Ok(())
    }

    #[test]
    fn keys_without_a_registration_cannot_queue_future_free_calls() -> TestResult {
        let node = chain()?;
        let stranger = tao_keys::Keypair::from_mini_secret([9; 32]);
        let weights = Call::SetWeights {
            netuid: tao_primitives::NetUid(1),
            uids: vec![0; 4_000],
            values: vec![1; 4_000],
            version_key: 0,
        };
        let refused = |result| {
            matches!(
                result,
                Err(MempoolError::Invalid(InvalidTx::FreeCallFailed(_)))
            )
        };
        assert!(refused(node.submit(signed(
            &node,
            &stranger,
            1,
            weights.clone()
        ))));
        assert!(refused(
            node.receive_gossip(signed(&node, &stranger, 2, weights))
        ));
        assert_eq!(node.mempool_len(), 0);
        Ok(())
    }
}
