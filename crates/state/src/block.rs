//! Block execution: `begin` runs the per-block economics, `apply` runs transactions, `finish`
//! yields the writes and the new state root.

use parity_scale_codec::{Decode, Encode};
use tao_keys::{PublicKey, Signature};
use tao_primitives::{AccountId, Hash256};

use crate::calls;
use crate::ctx::Ctx;
use crate::error::{BlockError, InvalidTx, StateError, TxError};
use crate::events::Event;
use crate::overlay::Overlay;
use crate::params::GlobalParams;
use crate::per_block;
use crate::schema::{Accounts, Chain, Globals, Hparams, Subnets};
use crate::store::{ChangeSet, Store};
use crate::tx::{Call, MAX_TX_BYTES, SignedTx};
use tao_types::metering::{WeightInputs, call_weight};

/// A transaction whose signature was checked against the chain's genesis hash. The node
/// checks each signature once, at admission, and carries this proof to the block it builds
/// ([`BlockBuilder::apply_verified`]) and past the blocks it verifies ([`execute_block_with`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTx(SignedTx);

impl VerifiedTx {
    /// Checks `tx`'s signature for the chain with `genesis_hash`.
    pub fn verify(tx: SignedTx, genesis_hash: &Hash256) -> Result<VerifiedTx, InvalidTx> {
        let payload = tx.tx.signing_payload(genesis_hash);
        let signer = PublicKey::from_bytes(tx.tx.signer.0);
        if tao_keys::verify(&signer, &payload, &Signature::from_bytes(tx.signature)) {
            Ok(VerifiedTx(tx))
        } else {
            Err(InvalidTx::BadSignature)
        }
    }

    /// Checks the signatures of `txs` in one batch (about twice as fast as one by one): the
    /// transactions before the first bad signature, verified, and that transaction, if any
    /// (the ones after it are not checked and are dropped).
    pub fn verify_all(
        mut txs: Vec<SignedTx>,
        genesis_hash: &Hash256,
    ) -> (Vec<VerifiedTx>, Option<SignedTx>) {
        let signed: Vec<&SignedTx> = txs.iter().collect();
        let bad = first_bad_signature(genesis_hash, &signed).map(|position| {
            txs.truncate(position.saturating_add(1));
            txs.pop()
        });
        (txs.into_iter().map(VerifiedTx).collect(), bad.flatten())
    }

    /// The transaction.
    pub fn signed(&self) -> &SignedTx {
        &self.0
    }

    /// The transaction, giving up the proof.
    pub fn into_signed(self) -> SignedTx {
        self.0
    }
}

/// The genesis hash recorded in a chain's state (what signatures commit to).
pub fn genesis_hash(store: &dyn Store) -> Result<Hash256, StateError> {
    Overlay::new(store)
        .get::<Chain>(&())?
        .map(|chain| chain.genesis_hash)
        .ok_or(StateError::Missing("chain info"))
}

/// What the state machine needs from a block header.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Header {
    /// Height: the parent's plus one.
    pub height: u64,
    /// Block time, ms since the Unix epoch; never before the parent's.
    pub timestamp_ms: u64,
    /// Who proposed the block; receives fees (`None`: fees are recycled).
    pub author: Option<AccountId>,
}

/// The result of one included transaction.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Receipt {
    /// Hash of the transaction.
    pub tx_hash: Hash256,
    /// Its signer.
    pub signer: AccountId,
    /// Fee paid, rao.
    pub fee_rao: u64,
    /// Whether the call succeeded, and why not.
    pub result: Result<(), TxError>,
    /// Events of the call (none when it failed).
    pub events: Vec<Event>,
}

/// Everything a block produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockOutcome {
    /// Writes to apply to the parent state.
    pub changes: ChangeSet,
    /// Root of the state after the block.
    pub state_root: Hash256,
    /// One receipt per transaction, in order.
    pub receipts: Vec<Receipt>,
    /// Events of the block's own economics (emissions, epochs).
    pub block_events: Vec<Event>,
}

/// Builds (proposer) or replays (verifier) one block.
pub struct BlockBuilder<'a> {
    ctx: Ctx<'a>,
    genesis_hash: Hash256,
    /// Weight of the transactions applied so far.
    weight: u64,
    receipts: Vec<Receipt>,
    block_events: Vec<Event>,
}

impl<'a> BlockBuilder<'a> {
    /// Starts the block on top of `parent` and runs its per-block economics.
    pub fn begin(parent: &'a dyn Store, header: &Header) -> Result<Self, BlockError> {
        let state = Overlay::new(parent);
        let mut chain = state
            .get::<Chain>(&())?
            .ok_or(StateError::Missing("chain info"))?;
        if header.height != chain.height.saturating_add(1) {
            return Err(BlockError::BadHeight {
                parent: chain.height,
                got: header.height,
            });
        }
        if header.timestamp_ms < chain.timestamp_ms {
            return Err(BlockError::BadTimestamp {
                parent: chain.timestamp_ms,
                got: header.timestamp_ms,
            });
        }
        let globals = state
            .get::<Globals>(&())?
            .ok_or(StateError::Missing("global parameters"))?;
        let genesis_hash = chain.genesis_hash;
        chain.height = header.height;
        chain.timestamp_ms = header.timestamp_ms;
        let mut ctx = Ctx::new(state, header.height, header.author, globals);
        ctx.state.put::<Chain>(&(), &chain);
        per_block::on_block(&mut ctx)?;
        let block_events = ctx.events_since(0);
        ctx.state.commit_journal();
        Ok(BlockBuilder {
            ctx,
            genesis_hash,
            weight: 0,
            receipts: Vec::new(),
            block_events,
        })
    }

    /// Verifies and applies one transaction. An invalid transaction changes nothing and must
    /// not be included; a valid one is included even if its call fails. A transaction the
    /// block has no weight left for is [`InvalidTx::BlockFull`]: a builder leaves it for a
    /// later block.
    pub fn apply(&mut self, tx: &SignedTx) -> Result<&Receipt, InvalidTx> {
        let verified = VerifiedTx::verify(tx.clone(), &self.genesis_hash)?;
        self.apply_verified(&verified)
    }

    /// [`BlockBuilder::apply`] for a transaction whose signature is checked already.
    pub fn apply_verified(&mut self, tx: &VerifiedTx) -> Result<&Receipt, InvalidTx> {
        self.apply_unchecked(tx.signed())
    }

    /// Applies a transaction whose signature the caller checked.
    fn apply_unchecked(&mut self, tx: &SignedTx) -> Result<&Receipt, InvalidTx> {
        let (receipt, weight) = apply_checked(&mut self.ctx, tx, Some(self.weight))?;
        self.weight = self.weight.saturating_add(weight);
        self.receipts.push(receipt);
        self.receipts
            .last()
            .ok_or(InvalidTx::Storage("receipt not recorded".into()))
    }

    /// Weight of the transactions applied so far (at most `max_block_weight`).
    pub fn weight(&self) -> u64 {
        self.weight
    }

    /// Receipts so far.
    pub fn receipts(&self) -> &[Receipt] {
        &self.receipts
    }

    /// Ends the block: the writes and the new state root.
    pub fn finish(self) -> Result<BlockOutcome, BlockError> {
        let (state, _) = self.ctx.into_parts();
        let (changes, lattice) = state.into_changes()?;
        Ok(BlockOutcome {
            changes,
            state_root: lattice.root(),
            receipts: self.receipts,
            block_events: self.block_events,
        })
    }
}

/// Executes a whole block as a verifier does: every signature checked in one batch, every
/// transaction valid and their weights within `max_block_weight`, or the block is rejected.
pub fn execute_block(
    parent: &dyn Store,
    header: &Header,
    txs: &[SignedTx],
) -> Result<BlockOutcome, BlockError> {
    execute_block_with(parent, header, txs, |_| false)
}

/// [`execute_block`] that skips the signatures of the transactions `verified` says were
/// checked already (a node's own mempool: each signature is checked once per node).
pub fn execute_block_with(
    parent: &dyn Store,
    header: &Header,
    txs: &[SignedTx],
    verified: impl Fn(&SignedTx) -> bool,
) -> Result<BlockOutcome, BlockError> {
    let mut builder = BlockBuilder::begin(parent, header)?;
    let unchecked: Vec<(usize, &SignedTx)> = txs
        .iter()
        .enumerate()
        .filter(|(_, tx)| !verified(tx))
        .collect();
    verify_signatures(&builder.genesis_hash, &unchecked)?;
    for (index, tx) in txs.iter().enumerate() {
        builder
            .apply_unchecked(tx)
            .map_err(|error| BlockError::InvalidTransaction { index, error })?;
    }
    builder.finish()
}

/// Checks a transaction against the state after `parent` without keeping anything: what a
/// mempool runs at submission.
pub fn validate_transaction(parent: &dyn Store, tx: &SignedTx) -> Result<Receipt, InvalidTx> {
    let genesis = genesis_hash(parent).map_err(|error| InvalidTx::Storage(error.to_string()))?;
    validate_verified(parent, &VerifiedTx::verify(tx.clone(), &genesis)?)
}

/// [`validate_transaction`] for a transaction whose signature is checked already.
pub fn validate_verified(parent: &dyn Store, tx: &VerifiedTx) -> Result<Receipt, InvalidTx> {
    apply_checked(&mut validation_ctx(parent)?, tx.signed(), None).map(|(receipt, _)| receipt)
}

/// [`validate_verified`] for a transaction that may wait behind the signer's earlier ones (a
/// mempool's admission): a nonce past the account's next one is judged as if the nonces before
/// it were used, so its mortality, size and fee (against the free balance after `parent`) are
/// checked and a free call must succeed on that state. What the earlier transactions would
/// change is not seen; a used nonce is still [`InvalidTx::StaleNonce`].
pub fn validate_ahead(parent: &dyn Store, tx: &VerifiedTx) -> Result<Receipt, InvalidTx> {
    let mut ctx = validation_ctx(parent)?;
    let signed = tx.signed();
    let mut account = ctx
        .state
        .get_or_default::<Accounts>(&signed.tx.signer)
        .map_err(storage)?;
    if signed.tx.nonce > account.nonce {
        // Only in this throwaway overlay: nothing is written.
        account.nonce = signed.tx.nonce;
        ctx.state.put::<Accounts>(&signed.tx.signer, &account);
    }
    apply_checked(&mut ctx, signed, None).map(|(receipt, _)| receipt)
}

fn storage(error: StateError) -> InvalidTx {
    InvalidTx::Storage(error.to_string())
}

/// The context of the block after `parent`, for judging one transaction without keeping it.
fn validation_ctx(parent: &dyn Store) -> Result<Ctx<'_>, InvalidTx> {
    let state = Overlay::new(parent);
    let chain = state
        .get::<Chain>(&())
        .map_err(storage)?
        .ok_or_else(|| InvalidTx::Storage("no chain info".into()))?;
    let globals = state
        .get::<Globals>(&())
        .map_err(storage)?
        .ok_or_else(|| InvalidTx::Storage("no global parameters".into()))?;
    Ok(Ctx::new(
        state,
        chain.height.saturating_add(1),
        None,
        globals,
    ))
}

/// Batch-verifies the signatures of `txs` (each with its index in the block); on failure finds
/// the first bad one.
fn verify_signatures(genesis_hash: &Hash256, txs: &[(usize, &SignedTx)]) -> Result<(), BlockError> {
    let signed: Vec<&SignedTx> = txs.iter().map(|(_, tx)| *tx).collect();
    match first_bad_signature(genesis_hash, &signed) {
        None => Ok(()),
        Some(position) => Err(BlockError::InvalidTransaction {
            // `position` is within `txs`; the fallback is never used.
            index: txs.get(position).map_or(0, |(index, _)| *index),
            error: InvalidTx::BadSignature,
        }),
    }
}

/// The position in `txs` of the first transaction whose signature is bad, if any: one batch
/// check (about twice as fast as one by one), and only when it fails, one by one to say which.
fn first_bad_signature(genesis_hash: &Hash256, txs: &[&SignedTx]) -> Option<usize> {
    let payloads: Vec<Vec<u8>> = txs
        .iter()
        .map(|tx| tx.tx.signing_payload(genesis_hash))
        .collect();
    let items: Vec<(PublicKey, &[u8], Signature)> = txs
        .iter()
        .zip(&payloads)
        .map(|(tx, payload)| {
            (
                PublicKey::from_bytes(tx.tx.signer.0),
                payload.as_slice(),
                Signature::from_bytes(tx.signature),
            )
        })
        .collect();
    if tao_keys::verify_batch(&items) {
        return None;
    }
    // The batch failed, so one signature is bad; the fallback position is never used.
    Some(
        items
            .iter()
            .position(|(key, message, signature)| !tao_keys::verify(key, message, signature))
            .unwrap_or(0),
    )
}

/// The weight of `call` at this point of the block: [`tao_types::metering::call_weight`] over
/// the O(1) counters it reads from the state.
pub fn weight_of(
    state: &Overlay<'_>,
    call: &Call,
    globals: &GlobalParams,
) -> Result<u64, StateError> {
    let mut inputs = WeightInputs::default();
    if let Call::BurnedRegister { netuid, .. } = call {
        let n = state.get::<Subnets>(netuid)?.map_or(0, |info| info.n);
        let max = state
            .get::<Hparams>(netuid)?
            .map_or(u16::MAX, |params| params.max_allowed_uids);
        if n >= max {
            inputs.replace_among = n;
        }
    }
    Ok(call_weight(call, &inputs, globals))
}

/// Mortality, size, nonce, weight and fee checks, then the call; returns the receipt and the
/// call's weight. `used`: the weight of the block so far, when building or verifying one
/// (`None` when judging a transaction alone). The signature is checked already.
fn apply_checked(
    ctx: &mut Ctx<'_>,
    signed: &SignedTx,
    used: Option<u64>,
) -> Result<(Receipt, u64), InvalidTx> {
    let tx = &signed.tx;
    tx.mortality.check(ctx.height)?;
    let size = signed.encoded_size();
    if size > MAX_TX_BYTES {
        return Err(InvalidTx::too_large(size));
    }
    let internal = |error: StateError| InvalidTx::Storage(error.to_string());
    let mut account = ctx
        .state
        .get_or_default::<Accounts>(&tx.signer)
        .map_err(internal)?;
    if tx.nonce < account.nonce {
        return Err(InvalidTx::StaleNonce {
            expected: account.nonce,
        });
    }
    if tx.nonce > account.nonce {
        return Err(InvalidTx::FutureNonce {
            expected: account.nonce,
        });
    }
    let weight = weight_of(&ctx.state, &tx.call, &ctx.globals).map_err(internal)?;
    let max = ctx.globals.max_block_weight;
    if weight > max {
        return Err(InvalidTx::TooHeavy { weight, max });
    }
    if let Some(used) = used
        && used.saturating_add(weight) > max
    {
        return Err(InvalidTx::BlockFull { used, weight, max });
    }
    let fee_rao = tx.call.fee_rao(size, weight, &ctx.globals);
    account.free_rao = account
        .free_rao
        .checked_sub(fee_rao)
        .ok_or(InvalidTx::CannotPayFee { fee_rao })?;
    let start = ctx.savepoint();
    let first_event = ctx.event_count();
    account.nonce = account.nonce.saturating_add(1);
    ctx.state.put::<Accounts>(&tx.signer, &account);
    pay_fee(ctx, &tx.signer, fee_rao).map_err(|_| InvalidTx::CannotPayFee { fee_rao })?;
    let after_fee = ctx.savepoint();
    let result = calls::dispatch(ctx, &tx.signer, &tx.call);
    if let Err(error) = &result {
        if tx.call.is_free() {
            ctx.rollback(start);
            return Err(InvalidTx::FreeCallFailed(error.clone()));
        }
        ctx.rollback(after_fee);
    }
    ctx.state.commit_journal();
    let receipt = Receipt {
        tx_hash: signed.hash(),
        signer: tx.signer,
        fee_rao,
        result,
        events: ctx.events_since(first_event),
    };
    Ok((receipt, weight))
}

/// Fees go to the block author, or leave circulation when there is none.
fn pay_fee(ctx: &mut Ctx<'_>, payer: &AccountId, fee_rao: u64) -> Result<(), TxError> {
    if fee_rao == 0 {
        return Ok(());
    }
    match ctx.author {
        Some(author) => ctx.credit(&author, fee_rao)?,
        None => ctx.recycle(fee_rao)?,
    }
    ctx.emit(Event::FeePaid {
        who: *payer,
        amount_rao: fee_rao,
    });
    Ok(())
}
