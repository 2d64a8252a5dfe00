//! Load tools for a running Tao network: a transfer flood ([`run`]) and the metagraph
//! timings of [`metagraph`].
//!
//! [`run`] funds `accounts` fresh accounts from `//Alice`, pre-signs `txs_per_account`
//! transfers for each, submits them all as fast as the nodes accept them (spread over every
//! endpoint, `in_flight` requests at a time per endpoint, optionally paced to a fixed offered
//! rate), and follows the finalized blocks of
//! the first endpoint until every accepted transfer is final. It reports finalized transfers
//! per second (first submission to last finalization) and the finality latency of each
//! transfer (its submission to the moment the bench saw its block finalized).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures::StreamExt as _;
use parity_scale_codec::Encode as _;
use tao_client::Client;
use tao_keys::Keypair;
use tao_primitives::AccountId;
use tao_rpc_api::{BlockId, Bytes, TaoApiClient};
use tao_types::tx::{Call, Mortality, SignedTx, UnsignedTx};

pub mod metagraph;

/// Settings of a flood.
#[derive(Clone, Debug)]
pub struct FloodConfig {
    /// WebSocket endpoints of the validators (`ws://127.0.0.1:9944`, ...).
    pub endpoints: Vec<String>,
    /// Fresh sending accounts (`//Bench0`, `//Bench1`, ...).
    pub accounts: u32,
    /// Transfers each account sends.
    pub txs_per_account: u32,
    /// Concurrent submissions per endpoint.
    pub in_flight: usize,
    /// Offered load, transfers per second over all endpoints; `None`: as fast as the nodes
    /// accept them (which measures queueing as much as finality).
    pub rate_per_second: Option<u32>,
    /// Give up waiting for finality after this long.
    pub timeout: Duration,
    /// Connections per endpoint that read the chain in a loop while the flood runs (the
    /// finalized block with its transactions, then every subnet), to measure finality under
    /// RPC read load; 0: none.
    pub readers: usize,
}

/// What a flood measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Transfers sent.
    pub submitted: u64,
    /// Transfers the nodes accepted into their pools.
    pub accepted: u64,
    /// Rejections, by the node's message.
    pub rejected: Vec<(String, u64)>,
    /// Accepted transfers seen finalized.
    pub finalized: u64,
    /// Seconds from the first submission to the last.
    pub submit_seconds: f64,
    /// Seconds from the first submission to the last finalization seen.
    pub total_seconds: f64,
    /// Finalized transfers per second over `total_seconds`.
    pub finalized_per_second: f64,
    /// Finality latency percentiles, seconds: p50, p99, max.
    pub latency_p50: f64,
    /// 99th percentile.
    pub latency_p99: f64,
    /// Slowest.
    pub latency_max: f64,
    /// Finalized blocks that carried at least one bench transfer.
    pub blocks: u64,
    /// Most bench transfers in one block.
    pub max_block_txs: u64,
    /// Reads the readers completed per second (0 without readers).
    pub reads_per_second: f64,
}

/// Amount each bench account is funded with, rao (1 TAO: fees and transfers with room left).
const FUNDING_RAO: u64 = 1_000_000_000;
/// Amount of each bench transfer, rao.
const TRANSFER_RAO: u64 = 1_000;
/// Funding transfers signed by `//Alice` per round (below the pool's per-sender limit).
const FUNDING_ROUND: usize = 200;

fn bench_key(index: u32) -> anyhow::Result<Keypair> {
    Keypair::from_uri(&format!("//Bench{index}")).context("deriving a bench key")
}

fn account_id(pair: &Keypair) -> AccountId {
    AccountId(pair.public().to_bytes())
}

/// Runs a flood against a live network.
pub async fn run(config: &FloodConfig) -> anyhow::Result<Report> {
    if config.endpoints.is_empty() || config.accounts == 0 || config.txs_per_account == 0 {
        bail!("need at least one endpoint, account and transfer");
    }
    let mut clients = Vec::new();
    for endpoint in &config.endpoints {
        let client = Client::connect(endpoint, Duration::from_secs(10))
            .await
            .with_context(|| format!("connecting to {endpoint}"))?;
        clients.push(Arc::new(client));
    }
    let keys = (0..config.accounts)
        .map(bench_key)
        .collect::<anyhow::Result<Vec<_>>>()?;
    fund(&clients[0], &keys, config.timeout).await?;
    let txs = sign_all(&clients[0], &keys, config.txs_per_account).await?;
    flood(&clients, txs, config).await
}

/// `//Alice` gives every bench account [`FUNDING_RAO`]; waits until the last is funded.
async fn fund(client: &Client, keys: &[Keypair], timeout: Duration) -> anyhow::Result<()> {
    let alice = Keypair::from_uri("//Alice")?;
    for round in keys.chunks(FUNDING_ROUND) {
        for key in round {
            let call = Call::Transfer {
                dest: account_id(key),
                amount_rao: FUNDING_RAO,
            };
            let tx = client.sign(&alice, call).await?;
            client
                .submit(&tx)
                .await
                .context("funding a bench account")?;
        }
        let last = round
            .last()
            .map(|k| k.public().to_ss58())
            .unwrap_or_default();
        let deadline = Instant::now() + timeout;
        loop {
            let account = client.rpc().await?.state_get_account(last.clone()).await?;
            if account.free_rao >= FUNDING_RAO {
                break;
            }
            if Instant::now() > deadline {
                bail!("the funding transfers were not finalized within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// Pre-signs every transfer (nonces from each account's current one, to `//Ferdie`), each with
/// the index of its account, in sending order: the accounts interleaved, so that every block
/// mixes many senders.
async fn sign_all(
    client: &Client,
    keys: &[Keypair],
    per_account: u32,
) -> anyhow::Result<Vec<(usize, SignedTx)>> {
    let rpc = client.rpc().await?;
    let head = rpc
        .chain_get_header(None)
        .await?
        .context("the node has no finalized head")?;
    let sink = account_id(&Keypair::from_uri("//Ferdie")?);
    let genesis_hash = client.genesis_hash();
    let mut txs = Vec::new();
    for (index, key) in keys.iter().enumerate() {
        let first = rpc.account_next_index(key.public().to_ss58()).await?;
        for nonce in first..first + u64::from(per_account) {
            let tx = UnsignedTx {
                signer: account_id(key),
                nonce,
                mortality: Mortality {
                    birth: head.number.saturating_add(1),
                    period: tao_types::tx::MAX_MORTALITY_BLOCKS,
                },
                call: Call::Transfer {
                    dest: sink,
                    amount_rao: TRANSFER_RAO,
                },
            };
            let signature = key.sign(&tx.signing_payload(&genesis_hash)).to_bytes();
            txs.push((index, SignedTx { tx, signature }));
        }
    }
    txs.sort_by_key(|(index, tx)| (tx.tx.nonce, *index));
    Ok(txs)
}

/// When each transfer was sent, by hash (entered before sending, removed when refused).
type Sent = Arc<Mutex<HashMap<[u8; 32], Instant>>>;

/// What the finality observer saw.
#[derive(Default)]
struct Observed {
    latencies: Vec<f64>,
    blocks: u64,
    max_block_txs: u64,
    last_final: Option<Instant>,
}

async fn flood(
    clients: &[Arc<Client>],
    txs: Vec<(usize, SignedTx)>,
    config: &FloodConfig,
) -> anyhow::Result<Report> {
    let sent: Sent = Arc::new(Mutex::new(HashMap::new()));
    let rejections: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let total = txs.len() as u64;
    // Finalized blocks are followed from before the first submission, while submitting.
    let heads = clients[0]
        .rpc()
        .await?
        .chain_subscribe_finalized_heads()
        .await?;
    let expected = Arc::new(AtomicU64::new(u64::MAX));
    let observer = tokio::spawn(observe(
        Arc::clone(&clients[0]),
        heads,
        Arc::clone(&sent),
        Arc::clone(&expected),
        config.timeout,
    ));
    let readers = start_readers(config).await?;
    let start = Instant::now();
    let mut senders = Vec::new();
    // The k-th transfer (in sending order) is due at `start + k / rate`; each account sends
    // through one endpoint (account i through endpoint i mod n), so its nonces arrive in order.
    let spacing = config
        .rate_per_second
        .map(|rate| Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    for (endpoint, client) in clients.iter().enumerate() {
        let share: Vec<(usize, SignedTx)> = txs
            .iter()
            .enumerate()
            .filter(|(_, (account, _))| account % clients.len() == endpoint)
            .map(|(k, (_, tx))| (k, tx.clone()))
            .collect();
        let (client, sent, rejections) = (
            Arc::clone(client),
            Arc::clone(&sent),
            Arc::clone(&rejections),
        );
        let in_flight = config.in_flight;
        senders.push(tokio::spawn(async move {
            futures::stream::iter(share)
                .map(|(k, tx)| {
                    let (client, sent) = (Arc::clone(&client), Arc::clone(&sent));
                    async move {
                        if let Some(spacing) = spacing {
                            let due = start + spacing.mul_f64(k as f64);
                            tokio::time::sleep_until(due.into()).await;
                        }
                        let hash = tx.hash().0;
                        lock(&sent).insert(hash, Instant::now());
                        let result = match client.rpc().await {
                            Ok(rpc) => rpc
                                .author_submit_extrinsic(Bytes(tx.encode()))
                                .await
                                .map_err(|e| e.to_string()),
                            Err(e) => Err(e.to_string()),
                        };
                        if result.is_err() {
                            lock(&sent).remove(&hash);
                        }
                        result
                    }
                })
                .buffer_unordered(in_flight)
                .for_each(|result| {
                    if let Err(error) = result {
                        *lock(&rejections).entry(error).or_insert(0) += 1;
                    }
                    futures::future::ready(())
                })
                .await;
        }));
    }
    for sender in senders {
        sender.await?;
    }
    let submit_seconds = start.elapsed().as_secs_f64();
    let accepted = lock(&sent).len() as u64;
    expected.store(accepted, Ordering::SeqCst);
    let mut observed = observer.await??;
    let reads_per_second = readers.stop(start.elapsed());
    observed.latencies.sort_by(f64::total_cmp);
    let total_seconds = observed
        .last_final
        .map_or(0.0, |at| at.saturating_duration_since(start).as_secs_f64());
    let finalized = observed.latencies.len() as u64;
    let mut rejected: Vec<(String, u64)> = lock(&rejections).drain().collect();
    rejected.sort();
    Ok(Report {
        submitted: total,
        accepted,
        rejected,
        finalized,
        submit_seconds,
        total_seconds,
        finalized_per_second: if total_seconds > 0.0 {
            finalized as f64 / total_seconds
        } else {
            0.0
        },
        latency_p50: percentile(&observed.latencies, 50),
        latency_p99: percentile(&observed.latencies, 99),
        latency_max: observed.latencies.last().copied().unwrap_or(0.0),
        blocks: observed.blocks,
        max_block_txs: observed.max_block_txs,
        reads_per_second,
    })
}

/// The read load: tasks that read until stopped, and what they read.
struct Readers {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    reads: Arc<AtomicU64>,
}

impl Readers {
    /// Stops the readers; their reads per second over `elapsed`.
    fn stop(self, elapsed: Duration) -> f64 {
        self.tasks.iter().for_each(tokio::task::JoinHandle::abort);
        let seconds = elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.reads.load(Ordering::SeqCst) as f64 / seconds
        } else {
            0.0
        }
    }
}

/// `config.readers` connections per endpoint, each reading the finalized block (with its
/// transactions) and every subnet's summary in a loop.
async fn start_readers(config: &FloodConfig) -> anyhow::Result<Readers> {
    let reads = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for endpoint in &config.endpoints {
        for _ in 0..config.readers {
            let client = Client::connect(endpoint, Duration::from_secs(10))
                .await
                .with_context(|| format!("connecting a reader to {endpoint}"))?;
            let reads = Arc::clone(&reads);
            tasks.push(tokio::spawn(async move {
                while let Ok(rpc) = client.rpc().await {
                    let block = rpc.chain_get_block(None).await;
                    let subnets = rpc.subnet_info_get_subnets_info().await;
                    if block.is_err() || subnets.is_err() {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                    reads.fetch_add(2, Ordering::Relaxed);
                }
            }));
        }
    }
    Ok(Readers { tasks, reads })
}

/// Follows finalized blocks until `expected` bench transfers (unknown, `u64::MAX`, while
/// still sending) were seen final, or until `timeout` after the last one seen.
async fn observe(
    client: Arc<Client>,
    mut heads: jsonrpsee::core::client::Subscription<tao_rpc_api::HeaderView>,
    sent: Sent,
    expected: Arc<AtomicU64>,
    timeout: Duration,
) -> anyhow::Result<Observed> {
    let rpc = client.rpc().await?;
    let mut observed = Observed::default();
    while (observed.latencies.len() as u64) < expected.load(Ordering::SeqCst) {
        let header = match tokio::time::timeout(timeout, heads.next()).await {
            Err(_) => break,
            Ok(Some(Ok(header))) => header,
            Ok(_) => bail!("the finalized-heads subscription ended"),
        };
        let seen = Instant::now();
        let Some(block) = block_at(&*rpc, header.number).await? else {
            continue;
        };
        let mut in_block = 0u64;
        for extrinsic in &block.extrinsics {
            let Ok(tx) = SignedTx::decode_bounded(&extrinsic.0) else {
                continue;
            };
            if let Some(at) = lock(&sent).get(&tx.hash().0) {
                observed
                    .latencies
                    .push(seen.saturating_duration_since(*at).as_secs_f64());
                in_block += 1;
            }
        }
        if in_block > 0 {
            observed.blocks += 1;
            observed.max_block_txs = observed.max_block_txs.max(in_block);
            observed.last_final = Some(seen);
        }
    }
    Ok(observed)
}

/// The finalized block at `number`, waiting out the node's budget of heavy reads when the
/// readers (or anyone else) have spent it.
async fn block_at(
    rpc: &(impl TaoApiClient + Sync),
    number: u64,
) -> anyhow::Result<Option<tao_rpc_api::BlockView>> {
    loop {
        match rpc.chain_get_block(Some(BlockId::Number(number))).await {
            Err(jsonrpsee::core::ClientError::Call(error))
                if error.code() == tao_rpc_api::codes::RATE_LIMITED =>
            {
                let retry_after_ms = error
                    .data()
                    .and_then(|data| serde_json::from_str::<serde_json::Value>(data.get()).ok())
                    .and_then(|data| data.get("retry_after_ms")?.as_u64())
                    .unwrap_or(10);
                tokio::time::sleep(Duration::from_millis(retry_after_ms.max(1))).await;
            }
            answer => return Ok(answer?),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The `p`th percentile (nearest rank) of sorted values; 0 when empty.
pub fn percentile(sorted: &[f64], p: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (sorted.len() * p).div_ceil(100).clamp(1, sorted.len());
    sorted.get(rank - 1).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50), 50.0);
        assert_eq!(percentile(&values, 99), 99.0);
        assert_eq!(percentile(&[3.0], 99), 3.0);
        assert_eq!(percentile(&[], 50), 0.0);
    }
}
