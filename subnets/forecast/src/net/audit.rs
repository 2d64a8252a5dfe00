//! The public audit over the network: weights from the chain, ledgers from the validators'
//! axons, the world from the block hashes — and, beside it, each miner's record.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use tao_axon::Dendrite;
use tao_keys::Keypair;
use tao_primitives::Uid;
use tao_sdk::{Chain, Metagraph, MetagraphSync};

use super::{LedgerSynapse, SharedWorld};
use crate::audit::{AuditReport, ChainWeights, audit, round_is_due};
use crate::error::Error;
use crate::ledger::{Roster, SignedLedger, Verdict};
use crate::score::score_round;
use crate::spec::ForecastSpec;

/// How long a validator has to send its ledger.
const LEDGER_TIMEOUT: Duration = Duration::from_secs(20);
/// The largest ledger read from a validator, bytes.
const MAX_LEDGER_BYTES: usize = 64 << 20;

/// One miner as the subnet sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MinerLine {
    /// Its uid.
    pub uid: u16,
    /// Its hotkey, SS58.
    pub hotkey: String,
    /// Round scores counted (over the unflagged validators' ledgers).
    pub rounds: usize,
    /// Its mean round score (skill after the plagiarism check) in those rounds.
    pub mean_score: f64,
    /// Rounds in which it was zeroed as a copy of an earlier forecast.
    pub copies: usize,
    /// Rounds in which its entry did not count (missing, late, malformed, …).
    pub uncounted: usize,
    /// Its share of the honest weight vector.
    pub honest_weight: f64,
    /// Its share of the incentive on chain.
    pub incentive: f64,
}

/// What `tao subnets audit` prints: the audit and the miners' record.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SubnetReport {
    /// The subnet.
    pub netuid: u16,
    /// The finalized block the report is of.
    pub block: u64,
    /// Validators with weights whose ledger could not be fetched, and why.
    pub unreachable: Vec<(String, String)>,
    /// The audit.
    pub audit: AuditReport,
    /// Every neuron that serves an axon and has no weights on chain, by uid.
    pub miners: Vec<MinerLine>,
}

impl std::fmt::Display for SubnetReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Forecast subnet {} at block {}", self.netuid, self.block)?;
        writeln!(f)?;
        write!(f, "{}", self.audit)?;
        for (validator, why) in &self.unreachable {
            writeln!(f, "{validator}: ledger not fetched: {why}")?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:>4}  {:<48}  {:>6}  {:>9}  {:>6}  {:>10}  {:>13}  {:>9}",
            "uid",
            "miner",
            "rounds",
            "uncounted",
            "copies",
            "mean score",
            "honest weight",
            "incentive"
        )?;
        for m in &self.miners {
            writeln!(
                f,
                "{:>4}  {:<48}  {:>6}  {:>9}  {:>6}  {:>10.4}  {:>13.4}  {:>9.4}",
                m.uid,
                m.hotkey,
                m.rounds,
                m.uncounted,
                m.copies,
                m.mean_score,
                m.honest_weight,
                m.incentive
            )?;
        }
        Ok(())
    }
}

/// Audits subnet `netuid` now: every validator with weights on chain, its ledger fetched from
/// its axon, the world recomputed from the chain's block hashes.
///
/// # Errors
/// The node's errors, [`Error::Spec`], or the audit's own.
pub async fn gather(
    spec: &ForecastSpec,
    chain: &Chain,
    netuid: u16,
) -> Result<SubnetReport, Error> {
    spec.validate()?;
    let graph = MetagraphSync::new(chain.client().clone(), netuid, true)
        .sync()
        .await?;
    let weights = chain_weights(&graph);
    let (ledgers, unreachable) = fetch_ledgers(&graph, &weights).await;
    let world = SharedWorld::new(spec)?;
    world.catch_up(chain, graph.block).await?;
    let roster: Roster = graph
        .neurons
        .iter()
        .map(|n| (Uid(n.uid), n.hotkey))
        .collect();
    let report = world.read(|w| audit(spec, w, Some(&roster), &ledgers, &weights))?;
    let trusted: Vec<&SignedLedger> = ledgers
        .iter()
        .filter(|l| {
            report
                .validators
                .iter()
                .any(|v| v.validator == l.ledger.validator && !v.flagged())
        })
        .collect();
    let records = world.read(|w| miner_records(spec, w, graph.block, &trusted, &roster))?;
    let miners = miner_lines(&graph, &report, &records);
    Ok(SubnetReport {
        netuid,
        block: graph.block,
        unreachable,
        audit: report,
        miners,
    })
}

/// Every neuron's weights on chain, set at its `last_update`.
fn chain_weights(graph: &Metagraph) -> Vec<ChainWeights> {
    let rows = graph.weights.as_deref().unwrap_or_default();
    graph
        .neurons
        .iter()
        .filter_map(|n| {
            let row = rows.get(usize::from(n.uid))?;
            (!row.is_empty()).then(|| ChainWeights {
                validator: n.hotkey,
                set_at_block: n.last_update,
                weights: row.iter().map(|(uid, w)| (Uid(*uid), *w)).collect(),
            })
        })
        .collect()
}

/// The ledgers of the validators with weights, from their axons (with an ephemeral key:
/// ledgers are public).
async fn fetch_ledgers(
    graph: &Metagraph,
    weights: &[ChainWeights],
) -> (Vec<SignedLedger>, Vec<(String, String)>) {
    let mut seed = [0u8; 32];
    let _ = getrandom::getrandom(&mut seed);
    let dendrite = Dendrite::new(Keypair::from_mini_secret(seed));
    dendrite.set_max_response_bytes(MAX_LEDGER_BYTES);
    let (mut ledgers, mut unreachable) = (Vec::new(), Vec::new());
    for validator in weights {
        let name = validator.validator.to_ss58();
        let target = graph
            .uid_of(&validator.validator)
            .and_then(|uid| graph.axon_target(uid));
        let Some(target) = target else {
            unreachable.push((name, "no axon on chain".into()));
            continue;
        };
        let request = LedgerSynapse {
            netuid: graph.netuid,
            ledger: None,
        };
        let reply = dendrite.call(&target, request, LEDGER_TIMEOUT).await;
        match reply.synapse.and_then(|s| s.ledger) {
            Some(ledger) => ledgers.push(ledger),
            None => unreachable.push((
                name,
                format!("{} {}", reply.status_code, reply.status_message),
            )),
        }
    }
    (ledgers, unreachable)
}

/// One miner's record over the due rounds of the trusted ledgers.
#[derive(Clone, Copy, Debug, Default)]
struct Record {
    rounds: usize,
    total_score: f64,
    copies: usize,
    uncounted: usize,
}

/// Per uid, its record over the due rounds of `ledgers`.
fn miner_records(
    spec: &ForecastSpec,
    world: &crate::world::World,
    block: u64,
    ledgers: &[&SignedLedger],
    roster: &Roster,
) -> Result<BTreeMap<u16, Record>, Error> {
    let mut records: BTreeMap<u16, Record> = BTreeMap::new();
    for ledger in ledgers {
        for round in &ledger.ledger.rounds {
            if !round_is_due(spec, &round.challenge, block) {
                continue;
            }
            for score in score_round(spec, world.panel(), round, Some(roster))? {
                let record = records.entry(score.uid.0).or_default();
                record.rounds += 1;
                record.total_score += score.score;
                record.copies += usize::from(score.copied_from.is_some());
                record.uncounted += usize::from(score.verdict != Verdict::Counted);
            }
        }
    }
    Ok(records)
}

fn miner_lines(
    graph: &Metagraph,
    report: &AuditReport,
    records: &BTreeMap<u16, Record>,
) -> Vec<MinerLine> {
    let incentive_total: f64 = graph.neurons.iter().map(|n| f64::from(n.incentive)).sum();
    let rows = graph.weights.as_deref().unwrap_or_default();
    graph
        .neurons
        .iter()
        .filter(|n| n.axon.is_some() && rows.get(usize::from(n.uid)).is_none_or(Vec::is_empty))
        .map(|n| {
            let record = records.get(&n.uid).copied().unwrap_or_default();
            let rounds = record.rounds;
            MinerLine {
                uid: n.uid,
                hotkey: n.hotkey.to_ss58(),
                rounds,
                mean_score: if rounds > 0 {
                    record.total_score / rounds as f64
                } else {
                    0.0
                },
                copies: record.copies,
                uncounted: record.uncounted,
                honest_weight: report
                    .honest
                    .iter()
                    .find(|(uid, _)| uid.0 == n.uid)
                    .map_or(0.0, |(_, w)| *w),
                incentive: if incentive_total > 0.0 {
                    f64::from(n.incentive) / incentive_total
                } else {
                    0.0
                },
            }
        })
        .collect()
}
