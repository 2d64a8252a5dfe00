//! The JSON-RPC server: implements [`TaoApiServer`] over the node's committed state.
//!
//! Every read answers from the committed (finalized, durable) state in redb, never from a
//! pending block. Finalized blocks, their transactions and receipts come from the records
//! written with each block ([`crate::archive`]). HTTP and WebSocket share one port.
//! Each state read runs on its own redb read snapshot, so one answer never mixes two heights and
//! never waits for a block to execute or commit.
//!
//! Budgets ([`RpcLimits`]): connections in all and per client host (an IPv4 address, an IPv6
//! /64) are capped at accept, a connection beyond is closed at once; each connection has a
//! token bucket of method calls (calls whose answer grows with the state cost more), the
//! state-sized reads ([`HEAVY_METHODS`]) of all connections together share one node-wide
//! bucket, and a call beyond either is answered with [`codes::RATE_LIMITED`] saying when to
//! retry, the connection staying open.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonrpsee::core::{SubscriptionResult, async_trait};
use jsonrpsee::server::middleware::rpc::{
    Batch, BatchEntry, BatchEntryErr, MethodResponse, Notification, Request, RpcServiceBuilder,
    RpcServiceT,
};
use jsonrpsee::server::{
    BatchRequestConfig, Methods, PendingSubscriptionSink, PingConfig, ServerBuilder, ServerConfig,
    ServerHandle, StopHandle, serve_with_graceful_shutdown, stop_channel,
};
use jsonrpsee::types::ErrorObjectOwned;
use tao_primitives::{NetUid, Uid};
use tao_rpc_api::{
    BlockId, BlockView, Bytes, EventsView, HeaderView, Health, RpcResult, TaoApiServer, TxStatus,
    codes, error, invalid_transaction, parse_account,
};
use tao_state::read;
use tao_state::spec::ChainSpec;
use tao_state::store::Store;
use tao_types::params::{GlobalParams, Hyperparams};
use tao_types::tx::SignedTx;
use tao_types::views::{
    AccountView, DelegateView, DynamicView, MetagraphView, NeuronView, StakeView, SubnetView,
    WeightCommitView,
};
use tokio::sync::broadcast;

use crate::app::Chain;
use crate::archive::BlockRecord;
use crate::events::ChainEvents;
use crate::mempool::MempoolError;
use crate::metrics::NodeMetrics;
use crate::storage::{CommitStore as _, RedbStore};
use tao_limits::{ConnectionLimits, TokenBucket};

/// Largest JSON-RPC request body, bytes (a transaction is far smaller).
pub const MAX_REQUEST_BYTES: u32 = 512 * 1024;
/// Largest JSON-RPC response body, bytes (a full metagraph fits).
pub const MAX_RESPONSE_BYTES: u32 = 32 * 1024 * 1024;
/// Most subscriptions per connection.
pub const MAX_SUBSCRIPTIONS: u32 = 64;
/// Most calls in one batch.
pub const MAX_BATCH: u32 = 32;
/// How often the server pings each WebSocket client.
pub const WS_PING_INTERVAL: Duration = Duration::from_secs(30);
/// A WebSocket that answers nothing (not even a ping) for this long is closed: dead and
/// half-open connections give their slot back instead of holding it until the OS notices.
pub const WS_INACTIVE_LIMIT: Duration = Duration::from_secs(60);

/// Connection and call budgets of the RPC server.
///
/// The defaults leave the project's own clients unlimited in normal use: `tao-bench
/// transfers` (one submitting connection per validator, up to the whole offered rate, 4 000/s
/// in the README's runs, on one), `tao-bench --readers` (one reader loop per connection,
/// 35–100 block and subnet reads/s measured, 2 000 tokens/s at most), the SDK's
/// `Chain::block_hashes` (64 cheap header reads in flight on one connection), the CLI and
/// validators (a few calls per block).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RpcLimits {
    /// Most open connections (default 256).
    pub max_connections: u32,
    /// Most open connections from one client host, an IPv4 address or an IPv6 /64 (default
    /// 64: a quarter of the total, so one host cannot hold them all; a localnet with its
    /// bench and tools on one machine stays far below).
    pub max_connections_per_ip: u32,
    /// Calls per second one connection may sustain, in tokens (a cheap call costs 1; default
    /// 5000).
    pub calls_per_second: f64,
    /// Tokens a connection may spend at once after resting (default 10 000: two seconds).
    pub call_burst: f64,
    /// What a call whose answer grows with the chain's state costs ([`HEAVY_METHODS`];
    /// default 20, so 250 of them per second per connection: the reads that cost finality
    /// 5× at about 1 100/s over the whole node).
    pub heavy_call_cost: f64,
    /// State-sized reads ([`HEAVY_METHODS`]) per second the node serves over all its
    /// connections together, with a burst of two seconds' worth (default 500: finality stayed
    /// within 2× of quiet up to about 500 reads/s and was 5× at 1 100/s on a 2-core host,
    /// `crates/bench/README.md`). Many hosts, each within its own budgets, cannot spend more
    /// of the node's CPU on them; cheap calls are not counted here.
    pub heavy_reads_per_second: f64,
}

impl Default for RpcLimits {
    fn default() -> Self {
        RpcLimits {
            max_connections: 256,
            max_connections_per_ip: 64,
            calls_per_second: 5_000.0,
            call_burst: 10_000.0,
            heavy_call_cost: 20.0,
            heavy_reads_per_second: 500.0,
        }
    }
}

/// Methods whose answer grows with the chain's state (a block with its transactions, every
/// subnet, neuron or delegate): they cost [`RpcLimits::heavy_call_cost`].
pub const HEAVY_METHODS: [&str; 6] = [
    "chain_getBlock",
    "chain_getEvents",
    "subnetInfo_getSubnetsInfo",
    "subnetInfo_getMetagraph",
    "neuronInfo_getNeurons",
    "delegateInfo_getDelegates",
];

/// The node-wide budget of state-sized reads ([`RpcLimits::heavy_reads_per_second`]), shared
/// by every connection; its time origin is the server's start.
#[derive(Debug)]
struct HeavyReads {
    bucket: Mutex<TokenBucket>,
    started: Instant,
}

impl HeavyReads {
    fn new(limits: &RpcLimits) -> Arc<HeavyReads> {
        let per_second = limits.heavy_reads_per_second;
        Arc::new(HeavyReads {
            bucket: Mutex::new(TokenBucket::new(
                per_second,
                2.0 * per_second,
                Duration::ZERO,
            )),
            started: Instant::now(),
        })
    }

    fn take(&self) -> Result<(), Duration> {
        self.bucket
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(1.0, self.started.elapsed())
    }
}

/// One connection's call budget, shared by every request of an HTTP keep-alive connection
/// and every call of a WebSocket, and the node-wide budget of heavy reads.
#[derive(Clone, Debug)]
struct CallBudget {
    bucket: Arc<Mutex<TokenBucket>>,
    heavy_call_cost: f64,
    /// Shared by all connections.
    node: Arc<HeavyReads>,
    /// The bucket's time origin.
    opened: Instant,
    /// Refusals of this connection being held back now.
    held: Arc<AtomicUsize>,
}

/// A refusal being held back; lets its place go when dropped.
struct Held(Arc<AtomicUsize>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl CallBudget {
    fn new(limits: &RpcLimits, node: Arc<HeavyReads>) -> CallBudget {
        CallBudget {
            node,
            bucket: Arc::new(Mutex::new(TokenBucket::new(
                limits.calls_per_second,
                limits.call_burst,
                Duration::ZERO,
            ))),
            heavy_call_cost: limits.heavy_call_cost,
            opened: Instant::now(),
            held: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// How long to hold back a refusal whose budget pays after `wait`, and the place it takes
    /// among [`MAX_HELD_REFUSALS`]; no delay when they are taken.
    fn hold(&self, wait: Duration) -> (Duration, Option<Held>) {
        let taken = self
            .held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                (held < MAX_HELD_REFUSALS).then_some(held.saturating_add(1))
            });
        match taken {
            Ok(_) => (
                wait.min(MAX_REFUSAL_DELAY),
                Some(Held(Arc::clone(&self.held))),
            ),
            Err(_) => (Duration::ZERO, None),
        }
    }

    /// Charges a call of `method`; when the budget is spent, how long until it would pay.
    ///
    /// A heavy call is charged to the connection first, then to the node: a connection over
    /// its own budget never spends the node's, and a heavy call the node refuses still costs
    /// its connection (a client spinning on node-wide refusals slows itself).
    fn charge(&self, method: &str) -> Result<(), Duration> {
        let heavy = HEAVY_METHODS.contains(&method);
        let cost = if heavy { self.heavy_call_cost } else { 1.0 };
        self.bucket
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take(cost, self.opened.elapsed())?;
        if heavy { self.node.take() } else { Ok(()) }
    }
}

/// Longest a refusal is held back (by the call-budget middleware).
pub const MAX_REFUSAL_DELAY: Duration = Duration::from_secs(1);
/// Most refusals held back at once per connection (by the call-budget middleware).
pub const MAX_HELD_REFUSALS: usize = 4;

/// The error of a call refused for `wait` whose answer was held back `delay`.
fn rate_limited(wait: Duration, delay: Duration) -> ErrorObjectOwned {
    let retry_after_ms = u64::try_from(wait.saturating_sub(delay).as_millis()).unwrap_or(u64::MAX);
    let delayed_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    ErrorObjectOwned::owned(
        codes::RATE_LIMITED,
        format!("rate limited, retry in {retry_after_ms} ms (answer held back {delayed_ms} ms)"),
        Some(serde_json::json!({ "retry_after_ms": retry_after_ms, "delayed_ms": delayed_ms })),
    )
}

/// RPC middleware that charges each call (one in a batch too) to its connection's
/// [`CallBudget`]; notifications are not answered, so they pass.
///
/// A refusal is answered once the budget would have paid, at most [`MAX_REFUSAL_DELAY`]
/// later: a client that waits for its answers is slowed to its budget instead of spinning on
/// instant refusals (measured: one HTTP connection sent 130 000 refused calls/s, each still
/// parsed by the node). A held refusal keeps its request's bytes, so at most
/// [`MAX_HELD_REFUSALS`] per connection are held (a WebSocket may pipeline calls); beyond,
/// refusals are answered at once.
#[derive(Clone, Debug)]
struct Budgeted<S> {
    service: S,
    budget: CallBudget,
}

impl<S> RpcServiceT for Budgeted<S>
where
    S: RpcServiceT<MethodResponse = MethodResponse> + Send + Sync + Clone + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = S::NotificationResponse;
    type BatchResponse = S::BatchResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let charged = self.budget.charge(request.method_name());
        let service = self.service.clone();
        let budget = self.budget.clone();
        async move {
            match charged {
                Ok(()) => service.call(request).await,
                Err(wait) => {
                    let (delay, held) = budget.hold(wait);
                    tokio::time::sleep(delay).await;
                    drop(held);
                    MethodResponse::error(request.id(), rate_limited(wait, delay))
                }
            }
        }
    }

    fn batch<'a>(
        &self,
        mut requests: Batch<'a>,
    ) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        let waits: Vec<Option<Duration>> = requests
            .iter()
            .map(|entry| match entry {
                Ok(BatchEntry::Call(request)) => self.budget.charge(request.method_name()).err(),
                _ => None,
            })
            .collect();
        // Held back until the budget would pay every refused call, about the sum of their
        // waits (each refused take leaves the bucket as it was).
        let refused_wait = waits
            .iter()
            .flatten()
            .fold(None, |sum: Option<Duration>, wait| {
                Some(sum.map_or(*wait, |sum| sum.saturating_add(*wait)))
            });
        let (delay, held) =
            refused_wait.map_or((Duration::ZERO, None), |wait| self.budget.hold(wait));
        for (entry, wait) in requests.iter_mut().zip(waits) {
            let refusal = match (&*entry, wait) {
                (Ok(BatchEntry::Call(request)), Some(wait)) => {
                    Some(BatchEntryErr::new(request.id(), rate_limited(wait, delay)))
                }
                _ => None,
            };
            if let Some(refusal) = refusal {
                *entry = Err(refusal);
            }
        }
        let service = self.service.clone();
        async move {
            tokio::time::sleep(delay).await;
            drop(held);
            service.batch(requests).await
        }
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl Future<Output = Self::NotificationResponse> + Send + 'a {
        let service = self.service.clone();
        async move { service.notification(n).await }
    }
}

/// The server's limits: body sizes, connections, subscriptions, batches, WebSocket keep-alive.
fn server_config(
    max_connections: u32,
    ws_ping_interval: Duration,
    ws_inactive_limit: Duration,
) -> ServerConfig {
    ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .max_response_body_size(MAX_RESPONSE_BYTES)
        .max_connections(max_connections)
        .max_subscriptions_per_connection(MAX_SUBSCRIPTIONS)
        .set_batch_request_config(BatchRequestConfig::Limit(MAX_BATCH))
        .enable_ws_ping(
            PingConfig::new()
                .ping_interval(ws_ping_interval)
                .inactive_limit(ws_inactive_limit),
        )
        .build()
}
/// How long a watched transaction may wait for inclusion before it is reported dropped.
pub const WATCH_TIMEOUT: Duration = Duration::from_secs(120);

/// What the RPC reads: the chain (mempool, submission) and its committed store.
#[derive(Clone)]
pub struct Rpc {
    chain: Chain<RedbStore>,
    store: RedbStore,
    spec: Arc<ChainSpec>,
    genesis_hash: tao_primitives::Hash256,
    events: ChainEvents,
    metrics: NodeMetrics,
}

fn internal(e: impl std::fmt::Display) -> jsonrpsee::types::ErrorObjectOwned {
    error(codes::INTERNAL, e.to_string())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn to_raw(value: &impl serde::Serialize) -> Option<Box<serde_json::value::RawValue>> {
    serde_json::value::to_raw_value(value).ok()
}

impl Rpc {
    /// The RPC of `chain` (whose store is `store`), following its blocks through `events`;
    /// submissions are counted in `metrics`, and health reads its peer count.
    pub fn new(
        chain: Chain<RedbStore>,
        store: RedbStore,
        spec: ChainSpec,
        events: ChainEvents,
        metrics: NodeMetrics,
    ) -> Result<Rpc, tao_state::spec::SpecError> {
        Ok(Rpc {
            chain,
            store,
            genesis_hash: spec.genesis()?.genesis_hash,
            spec: Arc::new(spec),
            events,
            metrics,
        })
    }

    fn record_at(&self, at: Option<BlockId>) -> RpcResult<Option<BlockRecord>> {
        let wanted_hash = match &at {
            Some(BlockId::Hash(hash)) => Some(hash.clone()),
            _ => None,
        };
        let height = match at {
            None => match self.store.finalized() {
                Some((height, _)) => height,
                None => return Ok(None),
            },
            Some(BlockId::Number(height)) => height,
            Some(BlockId::Hash(hash)) => {
                if hash.0.len() != 32 {
                    return Err(error(
                        codes::BAD_PARAMS,
                        format!("a block hash is 32 bytes, got {}", hash.0.len()),
                    ));
                }
                match self.store.block_height(&hash.0).map_err(internal)? {
                    Some(height) => height,
                    None => return Ok(None),
                }
            }
        };
        let Some(bytes) = self.store.block_record(height).map_err(internal)? else {
            return Ok(None);
        };
        let record = BlockRecord::from_bytes(&bytes)
            .ok_or_else(|| internal(format!("corrupt block record at height {height}")))?;
        // The hash index is a plain redb table: check that it led to the block asked for.
        if wanted_hash.is_some_and(|hash| hash.0[..] != record.hash.0[..]) {
            return Err(internal(format!(
                "the block index is damaged at height {height}; see the node's log"
            )));
        }
        Ok(Some(record))
    }

    /// Runs a state query on its own snapshot of the committed state: one redb read
    /// transaction, so the answer is of one finalized height, the query takes no lock the
    /// node's execution needs, and a failed read fails this answer only (it does not mark the
    /// node's store as failed).
    fn read<T, E: std::fmt::Display>(
        &self,
        query: impl FnOnce(&dyn Store) -> Result<T, E>,
    ) -> RpcResult<T> {
        let snapshot = self.store.snapshot().map_err(internal)?;
        let answer = query(&snapshot).map_err(internal)?;
        if snapshot.failed() {
            return Err(internal("the node could not read its state; see its log"));
        }
        Ok(answer)
    }

    fn decode_tx(bytes: &Bytes) -> RpcResult<SignedTx> {
        SignedTx::decode_bounded(&bytes.0).map_err(|e| invalid_transaction(&e))
    }

    fn submit(&self, tx: SignedTx) -> RpcResult<()> {
        self.chain.submit(tx).map_err(|e| {
            // Per refusal at debug: a flood of bad submissions must not flood the log too
            // (`tao_tx_rejected` counts them by reason).
            tracing::debug!(target: "node.rpc", reason = %e, "transaction refused");
            Self::refusal(e)
        })
    }

    fn refusal(e: MempoolError) -> jsonrpsee::types::ErrorObjectOwned {
        match e {
            MempoolError::Full(_) | MempoolError::SenderFull(_) => {
                error(codes::POOL_FULL, e.to_string())
            }
            MempoolError::Invalid(invalid) => invalid_transaction(&invalid),
        }
    }

    /// Starts the server on `addr` (HTTP and WebSocket on one port) with the default
    /// [`RpcLimits`].
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<(SocketAddr, ServerHandle)> {
        self.serve_with(addr, RpcLimits::default()).await
    }

    /// Starts the server on `addr` with these limits.
    pub async fn serve_with(
        self,
        addr: SocketAddr,
        limits: RpcLimits,
    ) -> std::io::Result<(SocketAddr, ServerHandle)> {
        serve_methods(
            self.into_rpc().into(),
            addr,
            limits,
            WS_PING_INTERVAL,
            WS_INACTIVE_LIMIT,
        )
        .await
    }
}

/// Serves `methods` on `addr` under `limits`: our own accept loop, so that connections are
/// counted per client host before anything is read from them, and each connection gets its
/// own call budget.
async fn serve_methods(
    methods: Methods,
    addr: SocketAddr,
    limits: RpcLimits,
    ws_ping_interval: Duration,
    ws_inactive_limit: Duration,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let (stop, handle) = stop_channel();
    let config = server_config(limits.max_connections, ws_ping_interval, ws_inactive_limit);
    let connections = ConnectionLimits::new(
        usize::try_from(limits.max_connections).unwrap_or(usize::MAX),
        usize::try_from(limits.max_connections_per_ip).unwrap_or(usize::MAX),
    );
    let heavy_reads = HeavyReads::new(&limits);
    tokio::spawn(accept_loop(
        listener,
        methods,
        config,
        limits,
        connections,
        heavy_reads,
        stop,
    ));
    Ok((local, handle))
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    methods: Methods,
    config: ServerConfig,
    limits: RpcLimits,
    connections: Arc<ConnectionLimits>,
    heavy_reads: Arc<HeavyReads>,
    stop: StopHandle,
) {
    loop {
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => {
                    // Out of file descriptors and the like: back off briefly.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = stop.clone().shutdown() => return,
        };
        // At a cap the socket is dropped, which closes it before anything is read.
        let Some(slot) = connections.admit(peer.ip()) else {
            tracing::debug!(target: "node.rpc", %peer, "connection refused: at the connection cap");
            continue;
        };
        let _ = socket.set_nodelay(true);
        let budget = CallBudget::new(&limits, Arc::clone(&heavy_reads));
        // A service builder per connection: its call budget is this connection's (jsonrpsee's
        // own connection guard is then per connection too; `connections` counts them all).
        let service = ServerBuilder::with_config(config.clone())
            .set_rpc_middleware(RpcServiceBuilder::new().layer_fn(move |service| Budgeted {
                service,
                budget: budget.clone(),
            }))
            .to_service_builder()
            .build(methods.clone(), stop.clone());
        let stopped = stop.clone().shutdown();
        tokio::spawn(async move {
            let _ = serve_with_graceful_shutdown(socket, service, stopped).await;
            drop(slot);
        });
    }
}

#[async_trait]
impl TaoApiServer for Rpc {
    async fn system_health(&self) -> RpcResult<Health> {
        let head = self.record_at(None)?;
        let finalized_number = head.as_ref().map_or(0, |r| r.number);
        let head_ms = head.as_ref().map_or(0, |r| r.timestamp_ms);
        let lag_limit = self.spec.block_time_ms.saturating_mul(10).max(10_000);
        Ok(Health {
            peers: u64::try_from(self.metrics.peers.get()).unwrap_or(0),
            is_syncing: finalized_number > 0 && now_ms().saturating_sub(head_ms) > lag_limit,
            should_have_peers: self.spec.validators.len() > 1,
            best_number: self.chain.best_height().max(finalized_number),
            finalized_number,
        })
    }

    async fn system_chain_spec(&self) -> RpcResult<serde_json::Value> {
        serde_json::to_value(&*self.spec).map_err(internal)
    }

    async fn chain_get_header(&self, at: Option<BlockId>) -> RpcResult<Option<HeaderView>> {
        Ok(self.record_at(at)?.map(|r| r.header()))
    }

    async fn chain_get_block(&self, at: Option<BlockId>) -> RpcResult<Option<BlockView>> {
        Ok(self.record_at(at)?.map(|r| r.block()))
    }

    async fn chain_get_genesis_hash(&self) -> RpcResult<Bytes> {
        Ok(Bytes(self.genesis_hash.0.to_vec()))
    }

    async fn chain_get_finalized_head(&self) -> RpcResult<Bytes> {
        let (_, digest) = self
            .store
            .finalized()
            .ok_or_else(|| internal("no finalized block"))?;
        Ok(Bytes(digest.to_vec()))
    }

    async fn chain_get_events(&self, at: Option<BlockId>) -> RpcResult<Option<EventsView>> {
        Ok(self.record_at(at)?.map(|r| r.events()))
    }

    async fn chain_subscribe_finalized_heads(
        &self,
        pending: PendingSubscriptionSink,
    ) -> SubscriptionResult {
        let mut finalized = self.events.finalized.subscribe();
        let sink = pending.accept().await?;
        loop {
            tokio::select! {
                _ = sink.closed() => return Ok(()),
                next = finalized.recv() => match next {
                    Ok(record) => {
                        let Some(raw) = to_raw(&record.header()) else { continue };
                        if sink.send(raw).await.is_err() {
                            return Ok(());
                        }
                    }
                    // A slow subscriber skips heads rather than holding the node back.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
            }
        }
    }

    async fn author_submit_extrinsic(&self, tx: Bytes) -> RpcResult<Bytes> {
        let tx = Self::decode_tx(&tx)?;
        let hash = tx.hash();
        self.submit(tx)?;
        Ok(Bytes(hash.0.to_vec()))
    }

    async fn author_submit_and_watch(
        &self,
        pending: PendingSubscriptionSink,
        tx: Bytes,
    ) -> SubscriptionResult {
        let tx = match Self::decode_tx(&tx) {
            Ok(tx) => tx,
            Err(e) => {
                pending.reject(e).await;
                return Ok(());
            }
        };
        let hash = Bytes(tx.hash().0.to_vec());
        // Subscribe before submitting so that no block is missed.
        let mut finalized = self.events.finalized.subscribe();
        let mut blocks = self.events.pending.subscribe();
        if let Err(e) = self.submit(tx.clone()) {
            pending.reject(e).await;
            return Ok(());
        }
        let sink = pending.accept().await?;
        let send = |status: TxStatus| {
            let sink = sink.clone();
            async move {
                match to_raw(&status) {
                    Some(raw) => sink.send(raw).await.is_ok(),
                    None => false,
                }
            }
        };
        if !send(TxStatus::Ready).await {
            return Ok(());
        }
        let deadline = tokio::time::sleep(WATCH_TIMEOUT);
        tokio::pin!(deadline);
        // The last pending block reported as holding the transaction (reported again if the
        // transaction finalizes in a different block, after a fork).
        let mut in_block: Option<Bytes> = None;
        loop {
            tokio::select! {
                _ = sink.closed() => return Ok(()),
                _ = &mut deadline => {
                    send(TxStatus::Dropped { error: "not included before the watch timed out".into() }).await;
                    return Ok(());
                }
                next = blocks.recv() => match next {
                    Ok(notice) => {
                        if notice.tx_hashes.contains(&hash) && in_block.as_ref() != Some(&notice.hash) {
                            in_block = Some(notice.hash.clone());
                            if !send(TxStatus::InBlock { block: notice.hash.clone(), number: notice.number }).await {
                                return Ok(());
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
                next = finalized.recv() => match next {
                    Ok(record) => {
                        if let Some(index) = record.receipts.iter().position(|r| r.tx_hash.0[..] == hash.0[..]) {
                            let block = Bytes(record.hash.0.to_vec());
                            let number = record.number;
                            if in_block.as_ref() != Some(&block) {
                                send(TxStatus::InBlock { block: block.clone(), number }).await;
                            }
                            let receipt = record.receipts.get(index);
                            send(TxStatus::Finalized {
                                block,
                                number,
                                success: receipt.is_some_and(|r| r.result.is_ok()),
                                error: receipt.and_then(|r| r.result.clone().err()),
                            })
                            .await;
                            return Ok(());
                        }
                        if !self.chain.in_mempool(&tx) {
                            send(TxStatus::Dropped {
                                error: "removed from the pool without inclusion (invalid on the latest state)".into(),
                            })
                            .await;
                            return Ok(());
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
            }
        }
    }

    async fn account_next_index(&self, account: String) -> RpcResult<u64> {
        let who = parse_account(&account)?;
        self.chain.next_nonce(&who).map_err(internal)
    }

    async fn state_get_account(&self, account: String) -> RpcResult<AccountView> {
        let who = parse_account(&account)?;
        self.read(|store| read::account(store, &who))
    }

    async fn state_get_global_params(&self) -> RpcResult<GlobalParams> {
        self.read(|store| read::global_params(store))
    }

    async fn subnet_info_get_subnets_info(&self) -> RpcResult<Vec<SubnetView>> {
        self.read(|store| read::subnets_info(store))
    }

    async fn subnet_info_get_subnet_info(&self, netuid: NetUid) -> RpcResult<Option<SubnetView>> {
        self.read(|store| read::subnet_info(store, netuid))
    }

    async fn subnet_info_get_subnet_hyperparams(
        &self,
        netuid: NetUid,
    ) -> RpcResult<Option<Hyperparams>> {
        self.read(|store| read::subnet_hyperparams(store, netuid))
    }

    async fn subnet_info_get_dynamic_info(&self, netuid: NetUid) -> RpcResult<Option<DynamicView>> {
        self.read(|store| read::dynamic_info(store, netuid))
    }

    async fn subnet_info_get_metagraph(&self, netuid: NetUid) -> RpcResult<Option<MetagraphView>> {
        self.read(|store| read::metagraph(store, netuid))
    }

    async fn subnet_info_get_lock_cost(&self) -> RpcResult<u64> {
        self.read(|store| read::lock_cost(store))
    }

    async fn subnet_info_get_burn(&self, netuid: NetUid) -> RpcResult<Option<u64>> {
        self.read(|store| read::registration_burn(store, netuid))
    }

    async fn neuron_info_get_neurons(&self, netuid: NetUid) -> RpcResult<Vec<NeuronView>> {
        self.read(|store| read::neurons(store, netuid))
    }

    async fn neuron_info_get_neuron(
        &self,
        netuid: NetUid,
        uid: Uid,
    ) -> RpcResult<Option<NeuronView>> {
        self.read(|store| read::neuron(store, netuid, uid))
    }

    async fn subnet_info_get_weight_commits(
        &self,
        netuid: NetUid,
        hotkey: String,
    ) -> RpcResult<Vec<WeightCommitView>> {
        let hotkey = parse_account(&hotkey)?;
        self.read(|store| read::weight_commits(store, netuid, &hotkey))
    }

    async fn stake_info_get_stake_info_for_coldkey(
        &self,
        coldkey: String,
    ) -> RpcResult<Vec<StakeView>> {
        let who = parse_account(&coldkey)?;
        self.read(|store| read::stake_info_for_coldkey(store, &who))
    }

    async fn delegate_info_get_delegates(&self) -> RpcResult<Vec<DelegateView>> {
        self.read(|store| read::delegates(store))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonrpsee::RpcModule;
    use jsonrpsee::core::client::ClientT as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// A server with these limits and a fast keep-alive, answering `hello` (cheap) and
    /// `chain_getBlock` (heavy).
    async fn server_with(limits: RpcLimits) -> (SocketAddr, ServerHandle) {
        let mut module = RpcModule::new(());
        module.register_method("hello", |_, _, _| "world").unwrap();
        module
            .register_method("chain_getBlock", |_, _, _| "block")
            .unwrap();
        serve_methods(
            module.into(),
            SocketAddr::from(([127, 0, 0, 1], 0)),
            limits,
            Duration::from_millis(100),
            Duration::from_millis(300),
        )
        .await
        .unwrap()
    }

    async fn server() -> (SocketAddr, ServerHandle) {
        server_with(RpcLimits::default()).await
    }

    /// A raw connection to `server` from `local` (a loopback address).
    async fn connect_from(local: [u8; 4], server: SocketAddr) -> tokio::net::TcpStream {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from((local, 0))).unwrap();
        socket.connect(server).await.unwrap()
    }

    /// Whether the server answers a `hello` over `stream` (an HTTP/1.1 POST).
    async fn answers(stream: &mut tokio::net::TcpStream) -> bool {
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"hello","params":[]}"#;
        let request = format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(request.as_bytes()).await.is_err() {
            return false;
        }
        let mut buffer = [0u8; 1024];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await;
        match read {
            Ok(Ok(n)) => String::from_utf8_lossy(&buffer[..n]).contains("\"world\""),
            _ => false,
        }
    }

    #[tokio::test]
    async fn connections_beyond_the_per_host_cap_are_closed_and_other_hosts_served() {
        let (addr, _server) = server_with(RpcLimits {
            max_connections_per_ip: 2,
            ..RpcLimits::default()
        })
        .await;
        let mut first = connect_from([127, 0, 0, 1], addr).await;
        let mut second = connect_from([127, 0, 0, 1], addr).await;
        assert!(answers(&mut first).await && answers(&mut second).await);
        // The third from the same host is closed before anything is read...
        let mut third = connect_from([127, 0, 0, 1], addr).await;
        assert!(!answers(&mut third).await, "a third connection was served");
        // ...while another host still gets in (Linux routes all of 127/8 to loopback).
        let mut other = connect_from([127, 0, 0, 2], addr).await;
        assert!(answers(&mut other).await, "another host was refused");
        // A closed connection gives its slot back.
        drop(first);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut again = connect_from([127, 0, 0, 1], addr).await;
        assert!(answers(&mut again).await, "the slot did not come back");
    }

    /// The retry-after and held-back times of a rate-limit refusal.
    fn rate_limited_after(error: jsonrpsee::core::client::Error) -> (Duration, Duration) {
        let jsonrpsee::core::client::Error::Call(object) = error else {
            panic!("not a call error: {error}");
        };
        assert_eq!(object.code(), codes::RATE_LIMITED);
        assert!(object.message().starts_with("rate limited, retry in "));
        let data: serde_json::Value = serde_json::from_str(object.data().unwrap().get()).unwrap();
        let ms = |key: &str| Duration::from_millis(data[key].as_u64().unwrap());
        (ms("retry_after_ms"), ms("delayed_ms"))
    }

    async fn hello(
        client: &jsonrpsee_ws_client::WsClient,
    ) -> Result<String, jsonrpsee::core::client::Error> {
        client.request("hello", jsonrpsee::rpc_params![]).await
    }

    #[test]
    fn at_most_a_few_refusals_per_connection_are_held_back() {
        let limits = RpcLimits::default();
        let budget = CallBudget::new(&limits, HeavyReads::new(&limits));
        let wait = Duration::from_millis(300);
        let held: Vec<_> = (0..MAX_HELD_REFUSALS).map(|_| budget.hold(wait)).collect();
        assert!(
            held.iter()
                .all(|(delay, place)| *delay == wait && place.is_some())
        );
        let (delay, place) = budget.hold(wait);
        assert!(
            delay.is_zero() && place.is_none(),
            "a fifth refusal was held"
        );
        drop(held);
        assert_eq!(budget.hold(Duration::from_secs(5)).0, MAX_REFUSAL_DELAY);
    }

    #[tokio::test]
    async fn a_flooding_connection_is_rate_limited_and_others_are_served() {
        let (addr, _server) = server_with(RpcLimits {
            calls_per_second: 20.0,
            call_burst: 5.0,
            heavy_call_cost: 4.0,
            ..RpcLimits::default()
        })
        .await;
        let url = format!("ws://{addr}");
        let flood = jsonrpsee_ws_client::WsClientBuilder::default()
            .build(&url)
            .await
            .unwrap();
        // A heavy call takes 4 of the 5 tokens, a cheap one the last...
        let block: String = flood
            .request("chain_getBlock", jsonrpsee::rpc_params![])
            .await
            .unwrap();
        assert_eq!(block, "block");
        hello(&flood).await.unwrap();
        // ...and the next is refused, the connection staying open. The refusal is held back
        // until the budget would pay (a token at 20/s: 50 ms), so it says retry now.
        let asked = Instant::now();
        let (retry_after, delayed) = rate_limited_after(hello(&flood).await.unwrap_err());
        assert!(
            asked.elapsed() >= Duration::from_millis(45),
            "{:?}",
            asked.elapsed()
        );
        assert_eq!(retry_after, Duration::ZERO);
        assert!(delayed > Duration::from_millis(40) && delayed <= Duration::from_millis(50));
        assert_eq!(hello(&flood).await.unwrap(), "world");
        // Another connection has its own budget.
        let other = jsonrpsee_ws_client::WsClientBuilder::default()
            .build(&url)
            .await
            .unwrap();
        assert_eq!(hello(&other).await.unwrap(), "world");
        // Calls in a batch are charged one by one.
        let mut batch = jsonrpsee::core::params::BatchRequestBuilder::new();
        for _ in 0..8 {
            batch.insert("hello", jsonrpsee::rpc_params![]).unwrap();
        }
        let answers = other.batch_request::<String>(batch).await.unwrap();
        let refused = answers.iter().filter(|answer| answer.is_err()).count();
        assert!((3..8).contains(&refused), "{refused} of 8 refused");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_connections_together_are_held_to_the_node_wide_heavy_read_budget() {
        const NODE_RATE: f64 = 40.0;
        let (addr, _server) = server_with(RpcLimits {
            heavy_reads_per_second: NODE_RATE,
            ..RpcLimits::default()
        })
        .await;
        let url = format!("ws://{addr}");
        // 16 connections, each far within its own budget (250 heavy reads/s, 500 at once),
        // read blocks in a loop for the window.
        let window = Duration::from_millis(1_500);
        let started = Instant::now();
        let served = Arc::new(AtomicUsize::new(0));
        let mut readers = Vec::new();
        for _ in 0..16 {
            let client = jsonrpsee_ws_client::WsClientBuilder::default()
                .build(&url)
                .await
                .unwrap();
            let served = Arc::clone(&served);
            readers.push(tokio::spawn(async move {
                while started.elapsed() < window {
                    let read: Result<String, _> = client
                        .request("chain_getBlock", jsonrpsee::rpc_params![])
                        .await;
                    match read {
                        Ok(_) => {
                            served.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(error) => {
                            rate_limited_after(error);
                        }
                    }
                }
            }));
        }
        // A cheap call still gets through at once, on a new connection too.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let light = jsonrpsee_ws_client::WsClientBuilder::default()
            .build(&url)
            .await
            .unwrap();
        let asked = Instant::now();
        assert_eq!(hello(&light).await.unwrap(), "world");
        // Answered, and not held back as a refusal would be.
        assert!(asked.elapsed() < MAX_REFUSAL_DELAY, "{:?}", asked.elapsed());
        for reader in readers {
            reader.await.unwrap();
        }
        // At most the burst (two seconds' worth) plus the rate over the time the readers ran
        // (the window and a last held-back refusal).
        let ran = started.elapsed().as_secs_f64();
        let served = served.load(Ordering::Relaxed) as f64;
        let most = 2.0 * NODE_RATE + NODE_RATE * ran + 3.0;
        println!("{served} heavy reads served in {ran:.2} s (at most {most:.0})");
        assert!(served <= most, "{served} heavy reads served in {ran:.2} s");
        assert!(served >= 2.0 * NODE_RATE, "only {served} served");
    }

    #[tokio::test]
    async fn a_silent_websocket_is_closed_and_a_live_one_kept() {
        let (addr, _server) = server().await;
        // A client that completes the handshake and then never answers anything.
        let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
        let handshake = format!(
            "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        silent.write_all(handshake.as_bytes()).await.unwrap();
        let mut buffer = [0u8; 1024];
        let read = silent.read(&mut buffer).await.unwrap();
        assert!(
            String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&buffer[..read])
        );
        // A live client answers the pings by itself.
        let live = jsonrpsee_ws_client::WsClientBuilder::default()
            .build(format!("ws://{addr}"))
            .await
            .unwrap();
        // The server pings the silent client, hears nothing and closes it (reads end in EOF
        // or a reset); the guard only bounds a broken build.
        let closed = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                match silent.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a silent WebSocket was never closed");
        let answer: String = live
            .request("hello", jsonrpsee::rpc_params![])
            .await
            .unwrap();
        assert_eq!(answer, "world");
    }
}
