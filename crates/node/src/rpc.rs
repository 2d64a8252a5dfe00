//! The JSON-RPC server: implements [`TaoApiServer`] over the node's committed state.
//!
//! Every read answers from the committed (finalized, durable) state in redb, never from a
//! pending block. Finalized blocks, their transactions and receipts come from the records
//! written with each block ([`crate::archive`]). HTTP and WebSocket share one port.
//! State reads run under the application's lock, so one answer never mixes two heights.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonrpsee::core::{SubscriptionResult, async_trait};
use jsonrpsee::server::{
    BatchRequestConfig, PendingSubscriptionSink, PingConfig, ServerBuilder, ServerConfig,
    ServerHandle,
};
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

/// Largest JSON-RPC request body, bytes (a transaction is far smaller).
pub const MAX_REQUEST_BYTES: u32 = 512 * 1024;
/// Largest JSON-RPC response body, bytes (a full metagraph fits).
pub const MAX_RESPONSE_BYTES: u32 = 32 * 1024 * 1024;
/// Most simultaneous connections.
pub const MAX_CONNECTIONS: u32 = 256;
/// Most subscriptions per connection.
pub const MAX_SUBSCRIPTIONS: u32 = 64;
/// Most calls in one batch.
pub const MAX_BATCH: u32 = 32;
/// How often the server pings each WebSocket client.
pub const WS_PING_INTERVAL: Duration = Duration::from_secs(30);
/// A WebSocket that answers nothing (not even a ping) for this long is closed: dead and
/// half-open connections give their slot back instead of holding it until the OS notices.
pub const WS_INACTIVE_LIMIT: Duration = Duration::from_secs(60);

/// The server's limits: body sizes, connections, subscriptions, batches, WebSocket keep-alive.
fn server_config(ws_ping_interval: Duration, ws_inactive_limit: Duration) -> ServerConfig {
    ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .max_response_body_size(MAX_RESPONSE_BYTES)
        .max_connections(MAX_CONNECTIONS)
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
        BlockRecord::from_bytes(&bytes)
            .map(Some)
            .ok_or_else(|| internal(format!("corrupt block record at height {height}")))
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

    /// Starts the server on `addr` (HTTP and WebSocket on one port).
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<(SocketAddr, ServerHandle)> {
        let config = server_config(WS_PING_INTERVAL, WS_INACTIVE_LIMIT);
        let server = ServerBuilder::with_config(config).build(addr).await?;
        let local = server.local_addr()?;
        Ok((local, server.start(self.into_rpc())))
    }
}

#[async_trait]
impl TaoApiServer for Rpc {
    async fn system_health(&self) -> RpcResult<Health> {
        let head = self.record_at(None)?;
        let finalized_number = head.as_ref().map_or(0, |r| r.header.number);
        let head_ms = head.as_ref().map_or(0, |r| r.header.timestamp_ms);
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
        Ok(self.record_at(at)?.map(|r| r.header))
    }

    async fn chain_get_block(&self, at: Option<BlockId>) -> RpcResult<Option<BlockView>> {
        Ok(self.record_at(at)?.map(|r| BlockView {
            header: r.header,
            extrinsics: r.extrinsics,
        }))
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
                        let Some(raw) = to_raw(&record.header) else { continue };
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
                        if let Some(index) = record.tx_hashes.iter().position(|h| *h == hash) {
                            let block = record.header.hash.clone();
                            let number = record.header.number;
                            if in_block.as_ref() != Some(&block) {
                                send(TxStatus::InBlock { block: block.clone(), number }).await;
                            }
                            let receipt = record.receipts.get(index);
                            send(TxStatus::Finalized {
                                block,
                                number,
                                success: receipt.is_some_and(|r| r.success),
                                error: receipt.and_then(|r| r.error.clone()),
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

    /// A server with our limits and a fast keep-alive, answering `hello`.
    async fn server() -> (SocketAddr, ServerHandle) {
        let config = server_config(Duration::from_millis(100), Duration::from_millis(300));
        let server = ServerBuilder::with_config(config)
            .build(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let mut module = RpcModule::new(());
        module.register_method("hello", |_, _, _| "world").unwrap();
        (server.local_addr().unwrap(), server.start(module))
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
