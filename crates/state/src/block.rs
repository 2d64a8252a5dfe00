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
use crate::per_block;
use crate::schema::{Accounts, Chain, Globals};
use crate::store::{ChangeSet, Store};
use crate::tx::{MAX_TX_BYTES, SignedTx};

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
        let globals = state.get::<Globals>(&())?.unwrap_or_default();
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
            receipts: Vec::new(),
            block_events,
        })
    }

    /// Verifies and applies one transaction. An invalid transaction changes nothing and must
    /// not be included; a valid one is included even if its call fails.
    pub fn apply(&mut self, tx: &SignedTx) -> Result<&Receipt, InvalidTx> {
        let payload = tx.tx.signing_payload(&self.genesis_hash);
        let signer = PublicKey::from_bytes(tx.tx.signer.0);
        if !tao_keys::verify(&signer, &payload, &Signature::from_bytes(tx.signature)) {
            return Err(InvalidTx::BadSignature);
        }
        self.apply_verified(tx)
    }

    /// Applies a transaction whose signature was already checked (see [`execute_block`]).
    fn apply_verified(&mut self, tx: &SignedTx) -> Result<&Receipt, InvalidTx> {
        let receipt = apply_checked(&mut self.ctx, tx)?;
        self.receipts.push(receipt);
        self.receipts
            .last()
            .ok_or(InvalidTx::Storage("receipt not recorded".into()))
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
/// transaction valid, or the block is rejected.
pub fn execute_block(
    parent: &dyn Store,
    header: &Header,
    txs: &[SignedTx],
) -> Result<BlockOutcome, BlockError> {
    let mut builder = BlockBuilder::begin(parent, header)?;
    verify_signatures(&builder.genesis_hash, txs)?;
    for (index, tx) in txs.iter().enumerate() {
        builder
            .apply_verified(tx)
            .map_err(|error| BlockError::InvalidTransaction { index, error })?;
    }
    builder.finish()
}

/// Checks a transaction against the state after `parent` without keeping anything: what a
/// mempool runs at submission.
pub fn validate_transaction(parent: &dyn Store, tx: &SignedTx) -> Result<Receipt, InvalidTx> {
    let state = Overlay::new(parent);
    let storage = |error: StateError| InvalidTx::Storage(error.to_string());
    let chain = state
        .get::<Chain>(&())
        .map_err(storage)?
        .ok_or_else(|| InvalidTx::Storage("no chain info".into()))?;
    let globals = state
        .get::<Globals>(&())
        .map_err(storage)?
        .unwrap_or_default();
    let payload = tx.tx.signing_payload(&chain.genesis_hash);
    if !tao_keys::verify(
        &PublicKey::from_bytes(tx.tx.signer.0),
        &payload,
        &Signature::from_bytes(tx.signature),
    ) {
        return Err(InvalidTx::BadSignature);
    }
    let mut ctx = Ctx::new(state, chain.height.saturating_add(1), None, globals);
    apply_checked(&mut ctx, tx)
}

/// Batch-verifies all signatures; on failure finds the first bad one.
fn verify_signatures(genesis_hash: &Hash256, txs: &[SignedTx]) -> Result<(), BlockError> {
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
        return Ok(());
    }
    let index = items
        .iter()
        .position(|(key, message, signature)| !tao_keys::verify(key, message, signature))
        .unwrap_or(0);
    Err(BlockError::InvalidTransaction {
        index,
        error: InvalidTx::BadSignature,
    })
}

/// Mortality, size, nonce and fee checks, then the call. The signature is checked already.
fn apply_checked(ctx: &mut Ctx<'_>, signed: &SignedTx) -> Result<Receipt, InvalidTx> {
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
    let fee_rao = tx.call.fee_rao(size, &ctx.globals);
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
    Ok(Receipt {
        tx_hash: signed.hash(),
        signer: tx.signer,
        fee_rao,
        result,
        events: ctx.events_since(first_event),
    })
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
