//! The execution context of a block: the overlay, the header's facts and the events so far,
//! with the small typed helpers every call uses.

use tao_primitives::{AccountId, NetUid};

use crate::error::{StateError, TxError};
use crate::events::Event;
use crate::overlay::{Checkpoint, Overlay};
use crate::params::{GlobalParams, Hyperparams};
use crate::schema::{
    Accounts, Chain, ChainInfo, Economy, Hparams, SubnetEconomy, SubnetInfo, Subnets,
};

/// State plus the block being executed.
pub struct Ctx<'a> {
    /// Reads and writes.
    pub state: Overlay<'a>,
    /// Height of the block being executed.
    pub height: u64,
    /// Who produced the block (receives fees); `None` recycles them.
    pub author: Option<AccountId>,
    /// Chain-wide parameters as of the start of the block.
    pub globals: GlobalParams,
    events: Vec<Event>,
}

/// Where to return to when a transaction fails: writes and events.
#[derive(Clone, Copy, Debug)]
pub struct Savepoint {
    state: Checkpoint,
    events: usize,
}

impl<'a> Ctx<'a> {
    /// A context for the block at `height`.
    pub fn new(
        state: Overlay<'a>,
        height: u64,
        author: Option<AccountId>,
        globals: GlobalParams,
    ) -> Self {
        Ctx {
            state,
            height,
            author,
            globals,
            events: Vec::new(),
        }
    }

    /// Records an event.
    pub fn emit(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Events since `from` (an index returned by [`Ctx::event_count`]).
    pub fn events_since(&self, from: usize) -> Vec<Event> {
        self.events
            .get(from..)
            .map(<[Event]>::to_vec)
            .unwrap_or_default()
    }

    /// Number of events so far.
    pub fn event_count(&self) -> usize {
        self.events.len()
    }

    /// The context without the events, and the events.
    pub fn into_parts(self) -> (Overlay<'a>, Vec<Event>) {
        (self.state, self.events)
    }

    /// Marks the current writes and events.
    pub fn savepoint(&self) -> Savepoint {
        Savepoint {
            state: self.state.checkpoint(),
            events: self.events.len(),
        }
    }

    /// Undoes writes and events since `savepoint`.
    pub fn rollback(&mut self, savepoint: Savepoint) {
        self.state.rollback(savepoint.state);
        self.events.truncate(savepoint.events);
    }

    /// Chain-wide counters.
    pub fn chain(&self) -> Result<ChainInfo, StateError> {
        self.state
            .get::<Chain>(&())?
            .ok_or(StateError::Missing("chain info"))
    }

    /// Free balance of `who`, rao.
    pub fn free(&self, who: &AccountId) -> Result<u64, StateError> {
        Ok(self.state.get_or_default::<Accounts>(who)?.free_rao)
    }

    /// Adds to a free balance.
    pub fn credit(&mut self, who: &AccountId, amount_rao: u64) -> Result<(), TxError> {
        let mut account = self.state.get_or_default::<Accounts>(who)?;
        account.free_rao = account
            .free_rao
            .checked_add(amount_rao)
            .ok_or(TxError::Overflow)?;
        self.state.put::<Accounts>(who, &account);
        Ok(())
    }

    /// Takes from a free balance; fails without change if it is too low.
    pub fn debit(&mut self, who: &AccountId, amount_rao: u64) -> Result<(), TxError> {
        let mut account = self.state.get_or_default::<Accounts>(who)?;
        account.free_rao = account
            .free_rao
            .checked_sub(amount_rao)
            .ok_or(TxError::InsufficientBalance)?;
        self.state.put::<Accounts>(who, &account);
        Ok(())
    }

    /// Takes TAO out of existence (recycling lowers issuance, which delays halvings).
    pub fn recycle(&mut self, amount_rao: u64) -> Result<(), StateError> {
        let mut chain = self.chain()?;
        chain.total_issuance_rao = chain
            .total_issuance_rao
            .checked_sub(amount_rao)
            .ok_or(StateError::Overflow("recycle below zero issuance"))?;
        chain.recycled_rao = chain.recycled_rao.saturating_add(amount_rao);
        self.state.put::<Chain>(&(), &chain);
        Ok(())
    }

    /// A subnet's record.
    pub fn subnet(&self, netuid: NetUid) -> Result<SubnetInfo, TxError> {
        self.state
            .get::<Subnets>(&netuid)?
            .ok_or(TxError::SubnetNotExists)
    }

    /// A subnet's hyperparameters.
    pub fn hparams(&self, netuid: NetUid) -> Result<Hyperparams, TxError> {
        self.state
            .get::<Hparams>(&netuid)?
            .ok_or(TxError::SubnetNotExists)
    }

    /// A subnet's pool and emission record.
    pub fn economy(&self, netuid: NetUid) -> Result<Economy, TxError> {
        self.state
            .get::<SubnetEconomy>(&netuid)?
            .ok_or(TxError::SubnetNotExists)
    }
}
