//! The validator runner: the subnet template's loop, done right. Each round: sync the
//! metagraph, choose miners, send each a fresh challenge in parallel (bounded by the
//! timeout), score the answers (timeouts, errors and garbage score 0), fold the scores into
//! per-miner moving averages saved to disk, and on schedule send them as weights within the
//! chain's limits. No failure stops the loop.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tao_axon::Dendrite;
use tao_keys::Keypair;
use tracing::Instrument;

use crate::chain::Chain;
use crate::error::SdkError;
use crate::metagraph::{Metagraph, MetagraphSync};
use crate::scores::ScoreBook;
use crate::setter::{WeightSetter, WeightsOutcome};
use crate::subnet::{Rng, Subnet, Target};

/// How a validator runs.
#[derive(Clone, Debug)]
pub struct ValidatorConfig {
    /// The subnet.
    pub netuid: u16,
    /// Where scores and the pending weight commit are kept.
    pub state_dir: PathBuf,
    /// Time between the starts of two rounds, ms. Default 2 000.
    pub round_interval_ms: u64,
    /// How long a miner has to answer, ms. Default 12 000 (the SDK's synapse timeout).
    pub query_timeout_ms: u64,
    /// Miners queried per round (a fresh sample each round); `None`: all. Default `None`.
    pub sample_size: Option<usize>,
    /// Seed of the challenge and sampling generator; `None`: from the OS (the default: miners
    /// must not predict challenges).
    pub seed: Option<u64>,
    /// Weight of a round's score in the moving average. Default 0.1.
    pub ema_alpha: f64,
    /// Blocks between weight updates; 0: once per tempo. The chain's rate limit applies on
    /// top. Default 0.
    pub weights_interval_blocks: u64,
    /// Version key sent with weights. Default 0.
    pub version_key: u64,
    /// Largest answer read from a miner, bytes. Default 1 MiB.
    pub max_response_bytes: usize,
    /// Stop after this many rounds (tests, benchmarks); `None`: run until shutdown.
    pub max_rounds: Option<u64>,
}

impl Default for ValidatorConfig {
    fn default() -> Self {
        ValidatorConfig {
            netuid: 1,
            state_dir: PathBuf::from("validator-state"),
            round_interval_ms: 2_000,
            query_timeout_ms: 12_000,
            sample_size: None,
            seed: None,
            ema_alpha: 0.1,
            weights_interval_blocks: 0,
            version_key: 0,
            max_response_bytes: 1 << 20,
            max_rounds: None,
        }
    }
}

/// What one round did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoundReport {
    /// The round number (continues across restarts).
    pub round: u64,
    /// The block of the metagraph used.
    pub block: u64,
    /// `(uid, score)` of every miner queried this round.
    pub scores: Vec<(u16, f64)>,
    /// Miners that answered with status 200.
    pub answered: usize,
    /// Time from the first query to the last answer.
    pub query_time: Duration,
    /// Time spent in the subnet's scoring function.
    pub scoring_time: Duration,
    /// What happened to weights this round, if anything was due.
    pub weights: Option<WeightsOutcome>,
    /// Time spent on weights (building the row, submitting, waiting for finality).
    pub weights_time: Duration,
}

/// A validator's state between rounds.
pub struct Validator<S: Subnet> {
    subnet: Arc<S>,
    hotkey: Keypair,
    config: ValidatorConfig,
    sync: MetagraphSync,
    dendrite: Dendrite,
    book: ScoreBook,
    setter: WeightSetter,
    rng: Rng,
}

impl<S: Subnet> std::fmt::Debug for Validator<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("hotkey", &self.hotkey.public())
            .field("netuid", &self.config.netuid)
            .field("rounds", &self.book.rounds)
            .finish_non_exhaustive()
    }
}

impl<S: Subnet> Validator<S> {
    /// A validator of `subnet` as `hotkey`, with the scores saved by an earlier run restored.
    ///
    /// # Errors
    /// The node cannot be reached, the subnet does not exist, the hotkey is not registered,
    /// or the saved scores are unreadable.
    pub async fn new(
        subnet: Arc<S>,
        hotkey: Keypair,
        chain: Chain,
        config: ValidatorConfig,
    ) -> Result<Validator<S>, SdkError> {
        let mut sync = MetagraphSync::new(chain.client().clone(), config.netuid, false);
        let graph = sync.sync().await?;
        if graph.uid_of(&hotkey.public()).is_none() {
            return Err(SdkError::NotRegistered {
                hotkey: hotkey.public().to_ss58(),
                netuid: config.netuid,
            });
        }
        let book = match ScoreBook::load(&scores_path(&config))? {
            Some(mut book) => {
                tracing::info!(target: "sdk.validator", rounds = book.rounds, miners = book.miners.len(), "restored scores");
                book.alpha = ScoreBook::new(config.ema_alpha).alpha;
                book
            }
            None => ScoreBook::new(config.ema_alpha),
        };
        let dendrite = Dendrite::new(hotkey.clone());
        dendrite.set_max_response_bytes(config.max_response_bytes);
        let setter = WeightSetter::new(
            chain,
            hotkey.clone(),
            config.netuid,
            config.version_key,
            config.state_dir.join("pending_commit.json"),
        );
        let rng = config.seed.map_or_else(Rng::from_os, Rng::seeded);
        Ok(Validator {
            subnet,
            hotkey,
            config,
            sync,
            dendrite,
            book,
            setter,
            rng,
        })
    }

    /// The moving averages.
    pub fn scores(&self) -> &ScoreBook {
        &self.book
    }

    /// One round: query, score, save, and send weights when due.
    ///
    /// # Errors
    /// Only when the metagraph cannot be read (the node is down) or the scores cannot be
    /// saved; miners' failures score 0 and weight failures are reported in the result.
    pub async fn round(&mut self) -> Result<RoundReport, SdkError> {
        let graph = self.sync.sync().await?;
        let round = self.book.rounds.saturating_add(1);
        let targets = self.choose(&graph, round);
        let timeout = Duration::from_millis(self.config.query_timeout_ms);
        let mut report = query_round(
            self.subnet.as_ref(),
            &self.dendrite,
            &graph,
            &targets,
            &mut self.rng,
            timeout,
        )
        .await;
        report.round = round;
        for (uid, score) in &report.scores {
            if let Some(neuron) = graph.neuron(*uid) {
                self.book.record(*uid, &neuron.hotkey.to_ss58(), *score);
            }
        }
        self.book
            .forget_changed(|uid| graph.neuron(uid).map(|n| n.hotkey.to_ss58()));
        self.book.rounds = round;
        self.book.save(&scores_path(&self.config))?;
        let weights = Instant::now();
        report.weights = self.weights(&graph).await;
        report.weights_time = weights.elapsed();
        Ok(report)
    }

    /// Miners to query this round: every other neuron that serves an axon or has no validator
    /// permit (offline miners included: they score 0), or a fresh random sample of them.
    fn choose(&mut self, graph: &Metagraph, round: u64) -> Vec<Target> {
        let me = self.hotkey.public();
        let mut targets: Vec<Target> = graph
            .neurons
            .iter()
            .filter(|n| n.hotkey != me && (n.axon.is_some() || !n.validator_permit))
            .map(|n| Target {
                uid: n.uid,
                hotkey: n.hotkey,
                round,
            })
            .collect();
        if let Some(size) = self.config.sample_size {
            // Partial Fisher–Yates: the first `size` entries become the sample.
            let len = targets.len();
            for i in 0..size.min(len) {
                let j = i + self.rng.below((len - i) as u64) as usize;
                targets.swap(i, j);
            }
            targets.truncate(size);
        }
        targets
    }

    /// Reveals a due commit, and sends new weights when the interval has passed.
    async fn weights(&mut self, graph: &Metagraph) -> Option<WeightsOutcome> {
        self.setter
            .on_schedule(
                graph,
                self.config.weights_interval_blocks,
                &self.book.scores(),
            )
            .await
    }
}

/// Sends each target its own fresh challenge, all at once, and scores the answers (no
/// answer, an error status or an unreadable reply: 0). Fills `block`, `scores`, `answered`,
/// `query_time` and `scoring_time` of the report.
pub async fn query_round<S: Subnet>(
    subnet: &S,
    dendrite: &Dendrite,
    graph: &Metagraph,
    targets: &[Target],
    rng: &mut Rng,
    timeout: Duration,
) -> RoundReport {
    let mut pending: Vec<(u16, S::Truth, Option<S::Synapse>)> = Vec::with_capacity(targets.len());
    let started = Instant::now();
    let mut requests = Vec::with_capacity(targets.len());
    for target in targets {
        let (synapse, truth) = subnet.challenge(target, rng);
        pending.push((target.uid, truth, None));
        requests.push((target.uid, synapse));
    }
    query_all(dendrite, graph, requests, timeout, |index, _uid, answer| {
        if let Some(slot) = pending.get_mut(index) {
            slot.2 = answer;
        }
    })
    .await;
    let mut report = RoundReport {
        block: graph.block,
        query_time: started.elapsed(),
        ..RoundReport::default()
    };
    let scoring = Instant::now();
    for (uid, truth, answer) in pending {
        let score = match answer {
            Some(answer) => {
                report.answered += 1;
                clamp_score(subnet.score(&truth, &answer))
            }
            None => 0.0,
        };
        report.scores.push((uid, score));
    }
    report.scoring_time = scoring.elapsed();
    report
}

/// Sends each `(uid, request)` to that miner's axon, all at once, and hands every answer to
/// `arrived(index, uid, answer)` in the order the answers arrive (`None`: no axon, a timeout,
/// an error status or an unreadable reply). For validators that keep their own record of
/// arrivals (ADR 013); [`query_round`] is built on it.
pub async fn query_all<T: tao_axon::Synapse>(
    dendrite: &Dendrite,
    graph: &Metagraph,
    requests: Vec<(u16, T)>,
    timeout: Duration,
    mut arrived: impl FnMut(usize, u16, Option<T>),
) {
    let mut calls = tokio::task::JoinSet::new();
    let mut unreachable = Vec::new();
    for (index, (uid, request)) in requests.into_iter().enumerate() {
        let Some(address) = graph.axon_target(uid) else {
            unreachable.push((index, uid));
            continue;
        };
        let dendrite = dendrite.clone();
        calls.spawn(async move { (index, uid, dendrite.call(&address, request, timeout).await) });
    }
    for (index, uid) in unreachable {
        arrived(index, uid, None);
    }
    while let Some(joined) = calls.join_next().await {
        let Ok((index, uid, response)) = joined else {
            continue;
        };
        if !response.is_success() {
            tracing::debug!(target: "sdk.validator", uid, status = response.status_code, message = %response.status_message, "no answer");
        }
        arrived(
            index,
            uid,
            response.synapse.filter(|_| response.status_code == 200),
        );
    }
}

fn clamp_score(score: f64) -> f64 {
    if score.is_finite() {
        score.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

fn scores_path(config: &ValidatorConfig) -> PathBuf {
    config.state_dir.join("scores.json")
}

/// Runs validator rounds until `shutdown` completes (or `max_rounds`), logging each round.
///
/// # Errors
/// Only at start (see [`Validator::new`]); later failures are logged and retried.
pub async fn run_validator<S: Subnet>(
    subnet: Arc<S>,
    hotkey: Keypair,
    chain: Chain,
    config: ValidatorConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SdkError> {
    let interval = Duration::from_millis(config.round_interval_ms);
    let max_rounds = config.max_rounds;
    let mut validator = Validator::new(subnet, hotkey, chain, config).await?;
    let mut backoff = crate::retry::Backoff::new(
        interval.max(Duration::from_millis(100)),
        Duration::from_secs(10),
    );
    let run = async {
        let mut done = 0u64;
        loop {
            let started = Instant::now();
            let span =
                tracing::info_span!("sdk.validator.round", round = validator.scores().rounds + 1);
            match validator.round().instrument(span).await {
                Ok(report) => {
                    backoff.reset();
                    log_round(&report);
                    done += 1;
                    if max_rounds.is_some_and(|max| done >= max) {
                        return;
                    }
                    tokio::time::sleep(interval.saturating_sub(started.elapsed())).await;
                }
                Err(error) => {
                    tracing::warn!(target: "sdk.validator", %error, "round failed; retrying");
                    backoff.wait().await;
                }
            }
        }
    };
    tokio::select! {
        () = run => {}
        () = shutdown => tracing::info!(target: "sdk.validator", "shutting down"),
    }
    Ok(())
}

fn log_round(report: &RoundReport) {
    let scores = report
        .scores
        .iter()
        .map(|(uid, score)| format!("{uid}:{score:.2}"))
        .collect::<Vec<_>>()
        .join(" ");
    tracing::info!(
        target: "sdk.validator",
        round = report.round,
        block = report.block,
        queried = report.scores.len(),
        answered = report.answered,
        query_ms = report.query_time.as_millis() as u64,
        "round: scores {scores}"
    );
    match &report.weights {
        Some(WeightsOutcome::Set { block, entries }) => {
            let weights_ms = report.weights_time.as_millis() as u64;
            tracing::info!(target: "sdk.validator", block, entries, weights_ms, "weights set at block {block}")
        }
        Some(WeightsOutcome::Committed {
            block,
            reveal_epoch,
        }) => {
            tracing::info!(target: "sdk.validator", block, reveal_epoch, "weights committed at block {block}")
        }
        Some(WeightsOutcome::Revealed { block }) => {
            tracing::info!(target: "sdk.validator", block, "weights revealed at block {block}")
        }
        Some(WeightsOutcome::Waiting(why)) => {
            tracing::info!(target: "sdk.validator", "weights not sent: {why}")
        }
        None => {}
    }
}
