//! The validator's loop: each round, bring the world up to the finalized head, score the
//! rounds that fell due, issue the block's challenge to every miner and record the answers
//! as they arrive (stamped with the finalized block then), send weights on schedule, and
//! publish the signed ledger of the due rounds on its axon for anyone's audit.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tao_axon::Dendrite;
use tao_keys::Keypair;
use tao_primitives::{NetUid, Uid};
use tao_sdk::{Chain, Metagraph, MinerConfig, MinerContext, MinerService, WeightSetter};
use tokio::sync::watch;

use super::{ForecastSynapse, LedgerSynapse, SharedWorld};
use crate::audit::favour;
use crate::error::Error;
use crate::ledger::{Roster, SignedLedger};
use crate::node::ForecastValidator;
use crate::spec::ForecastSpec;

/// How a forecast validator runs.
#[derive(Clone, Debug)]
pub struct ValidatorOptions {
    /// The subnet.
    pub netuid: u16,
    /// Where the validator's state (ledger, moving averages, pending commit) is kept.
    pub state_dir: PathBuf,
    /// Time between the starts of two rounds, ms (a round is skipped while the chain has
    /// not moved to a new step). Default 2 000.
    pub round_interval_ms: u64,
    /// How long a miner has to answer, ms (an answer stamped at or after the first target
    /// block counts for nothing anyway). Default 12 000.
    pub query_timeout_ms: u64,
    /// Blocks between weight updates; 0: once per tempo. Default 0.
    pub weights_interval_blocks: u64,
    /// Version key sent with weights. Default 0.
    pub version_key: u64,
    /// Scored rounds kept in the ledger (and published). Default 64.
    pub ledger_window_rounds: usize,
    /// The axon that publishes the ledger (its address goes on chain).
    pub ledger_axon: MinerConfig,
    /// A dishonest validator, for demonstrations: give this uid this share of the weight
    /// (the audit flags it). Default `None`.
    pub favour: Option<(u16, f64)>,
    /// Stop after this many rounds; `None`: until shutdown.
    pub max_rounds: Option<u64>,
}

impl Default for ValidatorOptions {
    fn default() -> Self {
        Self {
            netuid: 1,
            state_dir: PathBuf::from("forecast-validator"),
            round_interval_ms: 2_000,
            query_timeout_ms: 12_000,
            weights_interval_blocks: 0,
            version_key: 0,
            ledger_window_rounds: 64,
            ledger_axon: MinerConfig::default(),
            favour: None,
            max_rounds: None,
        }
    }
}

/// The validator's axon service: its signed ledger of due rounds, to anyone.
struct LedgerService {
    netuid: u16,
    published: Arc<RwLock<Option<SignedLedger>>>,
}

impl MinerService for LedgerService {
    type Request = LedgerSynapse;

    async fn respond(
        &self,
        mut request: LedgerSynapse,
        _context: &MinerContext,
    ) -> Result<LedgerSynapse, String> {
        if request.netuid != self.netuid {
            return Err(format!("this validator serves subnet {}", self.netuid));
        }
        request.ledger = self
            .published
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        Ok(request)
    }

    fn serves_non_validators(&self) -> bool {
        true
    }
}

struct Runner {
    hotkey: Keypair,
    chain: Chain,
    options: ValidatorOptions,
    heads: watch::Receiver<Arc<Metagraph>>,
    world: SharedWorld,
    validator: ForecastValidator,
    dendrite: Dendrite,
    setter: WeightSetter,
    published: Arc<RwLock<Option<SignedLedger>>>,
}

/// Runs a forecast validator until `shutdown` completes (or `max_rounds`).
///
/// # Errors
/// At start: the node cannot be reached, the hotkey is not registered, the state file is
/// unreadable, the ledger axon cannot listen. Later failures are logged and retried.
pub async fn run_validator(
    spec: ForecastSpec,
    hotkey: Keypair,
    chain: Chain,
    options: ValidatorOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let (heads, follower) = tao_sdk::metagraph::watch(
        chain.client().clone(),
        options.netuid,
        false,
        Duration::from_secs(5),
    )
    .await?;
    if heads.borrow().uid_of(&hotkey.public()).is_none() {
        follower.abort();
        return Err(tao_sdk::SdkError::NotRegistered {
            hotkey: hotkey.public().to_ss58(),
            netuid: options.netuid,
        }
        .into());
    }
    let validator = restore(&spec, &hotkey, &options)?;
    let published = Arc::new(RwLock::new(None));
    let service = LedgerService {
        netuid: options.netuid,
        published: published.clone(),
    };
    let (stop_serving, serving_stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(tao_sdk::run_miner(
        Arc::new(service),
        hotkey.clone(),
        chain.clone(),
        options.ledger_axon.clone(),
        async {
            let _ = serving_stopped.await;
        },
    ));
    let mut runner = Runner {
        world: SharedWorld::new(&spec)?,
        dendrite: Dendrite::new(hotkey.clone()),
        setter: WeightSetter::new(
            chain.clone(),
            hotkey.clone(),
            options.netuid,
            options.version_key,
            options.state_dir.join("pending_commit.json"),
        ),
        hotkey,
        chain,
        heads,
        validator,
        published,
        options,
    };
    tokio::select! {
        () = runner.run() => {}
        () = shutdown => tracing::info!(target: "forecast.validator", "shutting down"),
    }
    let _ = stop_serving.send(());
    let _ = serving.await;
    follower.abort();
    Ok(())
}

fn state_path(options: &ValidatorOptions) -> PathBuf {
    options.state_dir.join("forecast-validator.json")
}

/// The state saved by an earlier run, when it is this validator's under this spec.
fn restore(
    spec: &ForecastSpec,
    hotkey: &Keypair,
    options: &ValidatorOptions,
) -> Result<ForecastValidator, Error> {
    let fresh = || ForecastValidator::new(spec.clone(), NetUid(options.netuid), hotkey.public());
    let path = state_path(options);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return fresh(),
        Err(e) => return Err(state_error(&path, e)),
    };
    let saved: ForecastValidator =
        serde_json::from_str(&text).map_err(|e| state_error(&path, e))?;
    let ledger = saved.ledger();
    if saved.spec() != spec
        || ledger.validator != hotkey.public()
        || ledger.netuid != NetUid(options.netuid)
    {
        tracing::warn!(target: "forecast.validator", path = %path.display(), "saved state is for another spec, hotkey or subnet: starting afresh");
        return fresh();
    }
    tracing::info!(target: "forecast.validator", rounds = ledger.rounds.len(), "restored the ledger and moving averages");
    Ok(saved)
}

fn state_error(path: &Path, error: impl std::fmt::Display) -> Error {
    Error::StateFile {
        path: path.display().to_string(),
        message: error.to_string(),
    }
}

impl Runner {
    async fn run(&mut self) {
        let interval = Duration::from_millis(self.options.round_interval_ms.max(10));
        let mut rounds = 0u64;
        loop {
            let started = Instant::now();
            if let Err(error) = self.round().await {
                tracing::warn!(target: "forecast.validator", %error, "round failed; retrying");
            }
            rounds += 1;
            if self.options.max_rounds.is_some_and(|max| rounds >= max) {
                return;
            }
            tokio::time::sleep(interval.saturating_sub(started.elapsed())).await;
        }
    }

    async fn round(&mut self) -> Result<(), Error> {
        // The query first: an answer counts only if it arrives before the first target
        // block, a few blocks away; scoring can wait.
        let graph = self.heads.borrow().clone();
        self.world.catch_up(&self.chain, graph.block).await?;
        self.query(&graph).await;
        let graph = self.heads.borrow().clone();
        self.world.catch_up(&self.chain, graph.block).await?;
        let roster: Roster = graph
            .neurons
            .iter()
            .map(|n| (Uid(n.uid), n.hotkey))
            .collect();
        let scored = self
            .world
            .read(|world| self.validator.score_due(world, graph.block, Some(&roster)))?;
        for (start_step, scores) in scored {
            let line: Vec<String> = scores
                .iter()
                .map(|s| format!("{}:{:.3}", s.uid.0, s.score))
                .collect();
            tracing::info!(target: "forecast.validator", block = graph.block, start_step, "scored round: {}", line.join(" "));
        }
        self.send_weights(&graph).await;
        self.validator.prune(self.options.ledger_window_rounds);
        let ledger = self
            .validator
            .published_ledger(graph.block)
            .sign(&self.hotkey)?;
        *self
            .published
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(ledger);
        self.save()
    }

    /// Issues this block's challenge to every miner and records the answers as they arrive.
    async fn query(&mut self, graph: &Metagraph) {
        let challenge = match self.validator.challenge(graph.block) {
            Ok(challenge) => challenge,
            // The chain has not reached a new step since the last round.
            Err(Error::WrongChallenge { .. }) => return,
            Err(error) => {
                tracing::info!(target: "forecast.validator", block = graph.block, %error, "no challenge this round");
                return;
            }
        };
        let me = self.hotkey.public();
        let requests: Vec<(u16, ForecastSynapse)> = graph
            .neurons
            .iter()
            // Every other neuron that serves: a validator's ledger axon answers 404 and is
            // simply not recorded; a miner with a permit (its incentive is staked to it) is
            // still a miner.
            .filter(|n| n.hotkey != me && n.axon.is_some())
            .map(|n| {
                let request = ForecastSynapse {
                    challenge,
                    answer: None,
                };
                (n.uid, request)
            })
            .collect();
        let timeout = Duration::from_millis(self.options.query_timeout_ms);
        let (validator, heads) = (&mut self.validator, &self.heads);
        tao_sdk::query_all(&self.dendrite, graph, requests, timeout, |_, uid, reply| {
            let Some(answer) = reply.and_then(|reply| reply.answer) else {
                return;
            };
            // The stamp that decides whether the answer was in time: the finalized head now.
            let block = heads.borrow().block;
            if let Err(error) = validator.receive(Uid(uid), answer, block) {
                tracing::debug!(target: "forecast.validator", uid, %error, "answer not recorded");
            }
        })
        .await;
    }

    async fn send_weights(&mut self, graph: &Metagraph) {
        let mut weights = self.validator.weights();
        if weights.iter().all(|(_, w)| *w <= 0.0) {
            return;
        }
        if let Some((uid, share)) = self.options.favour {
            weights = favour(&weights, Uid(uid), share);
        }
        let scores: Vec<(u16, f64)> = weights.iter().map(|(uid, w)| (uid.0, *w)).collect();
        let outcome = self
            .setter
            .on_schedule(graph, self.options.weights_interval_blocks, &scores)
            .await;
        if let Some(outcome) = outcome {
            tracing::info!(target: "forecast.validator", block = graph.block, "weights: {outcome:?}");
        }
    }

    fn save(&self) -> Result<(), Error> {
        let path = state_path(&self.options);
        std::fs::create_dir_all(&self.options.state_dir).map_err(|e| state_error(&path, e))?;
        let text = serde_json::to_vec(&self.validator).map_err(|e| state_error(&path, e))?;
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, text).map_err(|e| state_error(&path, e))?;
        std::fs::rename(&temporary, &path).map_err(|e| state_error(&path, e))
    }
}
