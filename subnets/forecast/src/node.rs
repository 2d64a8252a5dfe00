//! The two roles as state machines, so that the SDK glue only moves messages and hashes:
//! [`ForecastMiner`] answers a challenge, [`ForecastValidator`] issues challenges, records
//! answers, scores rounds as they fall due and keeps the moving average the weights come from
//! — in exactly the order the audit replays them.

use serde::{Deserialize, Serialize};
use tao_keys::{Keypair, PublicKey};
use tao_primitives::{NetUid, Uid};

use crate::audit::round_is_due;
use crate::error::Error;
use crate::forecast::{Challenge, Forecast};
use crate::ledger::{Ledger, Roster, SignedCommitment, SignedLedger};
use crate::score::{MinerScore, ScoreBook, score_round};
use crate::spec::ForecastSpec;
use crate::strategy::Strategy;
use crate::world::World;

/// A miner's reply to a challenge: the signed commitment and, in the one-message protocol,
/// the forecast itself (`None` when it is revealed later).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// The signed commitment.
    pub commitment: SignedCommitment,
    /// The forecast, when revealed with the commitment.
    pub forecast: Option<Forecast>,
}

/// A miner: a strategy and a hotkey.
pub struct ForecastMiner {
    spec: ForecastSpec,
    netuid: NetUid,
    key: Keypair,
    strategy: Box<dyn Strategy>,
}

impl ForecastMiner {
    /// A miner of `netuid` signing with `key`.
    ///
    /// # Errors
    /// [`Error::Spec`] for an invalid spec.
    pub fn new(
        spec: ForecastSpec,
        netuid: NetUid,
        key: Keypair,
        strategy: Box<dyn Strategy>,
    ) -> Result<Self, Error> {
        spec.validate()?;
        Ok(Self {
            spec,
            netuid,
            key,
            strategy,
        })
    }

    /// Answer `challenge` from the world as far as this miner knows it.
    ///
    /// # Errors
    /// [`Error::WrongChallenge`] for a challenge of another subnet or shape, the strategy's
    /// errors ([`Error::Late`], [`Error::HistoryTooShort`], …).
    pub fn answer(&mut self, world: &World, challenge: &Challenge) -> Result<Answer, Error> {
        if challenge.netuid != self.netuid
            || challenge.horizon != self.spec.horizon_steps
            || challenge.series != self.spec.world.series
        {
            return Err(Error::WrongChallenge {
                what: "challenge netuid, horizon or series",
            });
        }
        let forecast = self
            .strategy
            .forecast(&self.spec.world, world.panel(), challenge)?;
        let commitment = SignedCommitment::create(&self.key, self.netuid, &forecast);
        Ok(Answer {
            commitment,
            forecast: Some(forecast),
        })
    }
}

/// A validator's state for one subnet (serde: a validator saves it between runs).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForecastValidator {
    spec: ForecastSpec,
    ledger: Ledger,
    book: ScoreBook,
    /// Rounds `..scored` of the ledger have been folded into the book.
    scored: usize,
}

impl ForecastValidator {
    /// A validator of `netuid` with hotkey `validator`.
    ///
    /// # Errors
    /// [`Error::Spec`] for an invalid spec.
    pub fn new(spec: ForecastSpec, netuid: NetUid, validator: PublicKey) -> Result<Self, Error> {
        spec.validate()?;
        Ok(Self {
            spec,
            ledger: Ledger::new(netuid, validator),
            book: ScoreBook::new(),
            scored: 0,
        })
    }

    /// Issue and open the challenge for `block`, the latest finalized block.
    ///
    /// # Errors
    /// As [`Challenge::at_block`] and [`Ledger::open_round`].
    pub fn challenge(&mut self, block: u64) -> Result<Challenge, Error> {
        let challenge = Challenge::at_block(&self.spec, self.ledger.netuid, block)?;
        self.ledger.open_round(challenge)?;
        Ok(challenge)
    }

    /// Record `uid`'s answer, arrived when `block` was the latest finalized block.
    ///
    /// # Errors
    /// As [`Ledger::record_commitment`] and [`Ledger::record_reveal`].
    pub fn receive(&mut self, uid: Uid, answer: Answer, block: u64) -> Result<(), Error> {
        match answer.forecast {
            Some(forecast) => self
                .ledger
                .record_answer(uid, answer.commitment, forecast, block),
            None => self.ledger.record_commitment(uid, answer.commitment, block),
        }
    }

    /// Record a later reveal.
    ///
    /// # Errors
    /// As [`Ledger::record_reveal`].
    pub fn reveal(&mut self, uid: Uid, forecast: Forecast, block: u64) -> Result<(), Error> {
        self.ledger.record_reveal(uid, forecast, block)
    }

    /// Score, in ledger order, every round due at `block` not scored yet, folding each into
    /// the moving average. Returns `(first target step, scores)` per round scored.
    ///
    /// # Errors
    /// [`Error::HistoryTooShort`] when `world` has not reached a due round's last target step
    /// (nothing after that round is scored; call again once the world has caught up).
    pub fn score_due(
        &mut self,
        world: &World,
        block: u64,
        roster: Option<&Roster>,
    ) -> Result<Vec<(u64, Vec<MinerScore>)>, Error> {
        let mut out = Vec::new();
        while let Some(round) = self.ledger.rounds.get(self.scored) {
            if !round_is_due(&self.spec, &round.challenge, block) {
                break;
            }
            let scores = score_round(&self.spec, world.panel(), round, roster)?;
            self.book.update(&self.spec.scoring, &scores);
            out.push((round.challenge.start_step, scores));
            self.scored += 1;
        }
        Ok(out)
    }

    /// Forget all but the last `keep` rounds that were already scored (unscored rounds are
    /// always kept): bounds the ledger a long-running validator keeps and publishes.
    pub fn prune(&mut self, keep: usize) {
        let drop = self.scored.saturating_sub(keep);
        if drop > 0 {
            self.ledger.rounds.drain(..drop);
            self.scored -= drop;
        }
    }

    /// The ledger as it may be published at `block`: only rounds already due, so that no
    /// forecast leaks before its targets exist.
    pub fn published_ledger(&self, block: u64) -> Ledger {
        let mut ledger = self.ledger.clone();
        ledger
            .rounds
            .retain(|round| round_is_due(&self.spec, &round.challenge, block));
        ledger
    }

    /// The spec this validator scores by.
    pub fn spec(&self) -> &ForecastSpec {
        &self.spec
    }

    /// The normalised weights of the moving averages.
    pub fn weights(&self) -> Vec<(Uid, f64)> {
        self.book.weights(&self.spec.scoring)
    }

    /// The moving averages.
    pub fn book(&self) -> &ScoreBook {
        &self.book
    }

    /// The ledger so far.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The ledger signed by `key`, to publish with the weights.
    ///
    /// # Errors
    /// [`Error::WrongChallenge`] when `key` is not this validator's.
    pub fn signed_ledger(&self, key: &Keypair) -> Result<SignedLedger, Error> {
        self.ledger.clone().sign(key)
    }
}
