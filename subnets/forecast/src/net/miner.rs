//! The miner's axon service: answers each challenge from a world kept in step with the
//! chain, computing each distinct challenge once (validators of one block ask the same).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tao_keys::{Keypair, PublicKey};
use tao_primitives::NetUid;
use tao_sdk::{Chain, MinerContext, MinerService};

use super::{ForecastSynapse, SharedWorld};
use crate::error::Error;
use crate::forecast::Challenge;
use crate::ledger::SignedCommitment;
use crate::node::{Answer, ForecastMiner};
use crate::spec::ForecastSpec;
use crate::strategy::Strategy;

/// Answers kept for validators that ask the same challenge later.
const CACHED_ANSWERS: usize = 16;
/// How long a miner waits for the chain to reach a challenge's anchor step.
const ANCHOR_PATIENCE: Duration = Duration::from_secs(3);
/// How long a leak waits for the answer to be given to a validator.
const LEAK_PATIENCE: Duration = Duration::from_secs(3);
/// How long after an answer is given it leaks: a copier sees it later than the validators
/// (still well before the first target block, so only the plagiarism check stops it).
const LEAK_DELAY: Duration = Duration::from_millis(100);
/// How long a copier waits for its source.
const COPY_TIMEOUT: Duration = Duration::from_secs(5);

/// A leak and the copier who lives off it: a miner may hand each answer, once it has given it
/// to a validator, to other hotkeys (what a copier could buy or scrape); a `copier` miner
/// asks its source for every challenge and submits the answer as its own. The plagiarism
/// check must pay it nothing.
#[derive(Clone, Debug, Default)]
pub struct CopySettings {
    /// Hotkeys this miner leaks its answers to.
    pub leak_to: Vec<PublicKey>,
    /// The uid whose answers a `copier` miner submits as its own.
    pub copy_from: Option<u16>,
}

/// Who asks a miner.
enum Caller {
    /// A validator with a permit.
    Validator,
    /// A hotkey the miner leaks its answers to.
    Leak,
    /// Anyone else: refused.
    Stranger,
}

/// A forecast miner: a strategy behind an axon.
pub struct ForecastService {
    spec: ForecastSpec,
    netuid: NetUid,
    chain: Chain,
    key: Keypair,
    world: SharedWorld,
    miner: Arc<Mutex<ForecastMiner>>,
    answers: tokio::sync::Mutex<BTreeMap<u64, Answer>>,
    copy: CopySettings,
}

impl ForecastService {
    /// A miner of `netuid` answering with `strategy`.
    ///
    /// # Errors
    /// [`Error::Spec`] for a bad spec.
    pub fn new(
        spec: ForecastSpec,
        netuid: u16,
        chain: Chain,
        key: Keypair,
        strategy: Box<dyn Strategy>,
        copy: CopySettings,
    ) -> Result<Self, Error> {
        let world = SharedWorld::new(&spec)?;
        let miner = ForecastMiner::new(spec.clone(), NetUid(netuid), key.clone(), strategy)?;
        Ok(Self {
            spec,
            netuid: NetUid(netuid),
            chain,
            key,
            world,
            miner: Arc::new(Mutex::new(miner)),
            answers: tokio::sync::Mutex::new(BTreeMap::new()),
            copy,
        })
    }

    /// Who is asking: a validator with a permit, a hotkey leaked to, or neither.
    fn caller(&self, context: &MinerContext) -> Caller {
        let Some(caller) = &context.caller else {
            return Caller::Stranger;
        };
        let validator = context
            .graph()
            .neuron_of(&caller.hotkey)
            .is_some_and(|n| n.validator_permit);
        if validator {
            Caller::Validator
        } else if self.copy.leak_to.contains(&caller.hotkey) {
            Caller::Leak
        } else {
            Caller::Stranger
        }
    }

    /// A leak: the answer to `challenge` a while after a validator has been given it.
    async fn leaked(&self, challenge: &Challenge) -> Option<Answer> {
        let deadline = tokio::time::Instant::now() + LEAK_PATIENCE;
        loop {
            let given = self
                .answers
                .lock()
                .await
                .get(&challenge.start_step)
                .cloned();
            if let Some(answer) = given {
                tokio::time::sleep(LEAK_DELAY).await;
                return Some(answer);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn answer(&self, challenge: Challenge, context: &MinerContext) -> Result<Answer, Error> {
        if challenge.netuid != self.netuid || !challenge.conforms(&self.spec) {
            return Err(Error::WrongChallenge {
                what: "challenge netuid, horizon, series or lead",
            });
        }
        let mut answers = self.answers.lock().await;
        if let Some(answer) = answers.get(&challenge.start_step) {
            return Ok(answer.clone());
        }
        if !self
            .world
            .wait_for_step(&self.chain, challenge.anchor_step, ANCHOR_PATIENCE)
            .await?
        {
            return Err(Error::HistoryTooShort {
                needed: challenge.anchor_step.saturating_add(1),
                have: self.world.read(|w| w.steps() as u64),
            });
        }
        let answer = match self.copied(&challenge, context).await {
            Some(answer) => answer,
            None => self.compute(challenge).await?,
        };
        answers.insert(challenge.start_step, answer.clone());
        while answers.len() > CACHED_ANSWERS {
            answers.pop_first();
        }
        Ok(answer)
    }

    /// The model's answer, computed off the async threads.
    async fn compute(&self, challenge: Challenge) -> Result<Answer, Error> {
        let (miner, world) = (self.miner.clone(), self.world.clone());
        tokio::task::spawn_blocking(move || {
            let mut miner = miner.lock().unwrap_or_else(PoisonError::into_inner);
            world.read(|world| miner.answer(world, &challenge))
        })
        .await
        .map_err(|e| Error::Network(format!("the forecast task failed: {e}")))?
    }

    /// A copier's answer: the victim's forecast under this miner's own signature.
    async fn copied(&self, challenge: &Challenge, context: &MinerContext) -> Option<Answer> {
        let victim = context.graph().axon_target(self.copy.copy_from?)?;
        let request = ForecastSynapse {
            challenge: *challenge,
            answer: None,
        };
        let reply = context.dendrite.call(&victim, request, COPY_TIMEOUT).await;
        let forecast = reply.synapse?.answer?.forecast?;
        Some(Answer {
            commitment: SignedCommitment::create(&self.key, self.netuid, &forecast),
            forecast: Some(forecast),
        })
    }
}

impl MinerService for ForecastService {
    type Request = ForecastSynapse;

    async fn respond(
        &self,
        mut request: ForecastSynapse,
        context: &MinerContext,
    ) -> Result<ForecastSynapse, String> {
        request.answer = match self.caller(context) {
            Caller::Validator => Some(
                self.answer(request.challenge, context)
                    .await
                    .map_err(|e| e.to_string())?,
            ),
            Caller::Leak => self.leaked(&request.challenge).await,
            Caller::Stranger => return Err("only validators of this subnet may ask".into()),
        };
        Ok(request)
    }

    fn serves_non_validators(&self) -> bool {
        // Admission is checked in `respond` (validators, plus the hotkeys leaked to).
        !self.copy.leak_to.is_empty()
    }
}
