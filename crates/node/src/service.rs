//! A running node: the tokio runtime, authenticated `lookup` p2p between the chain spec's
//! validators, the consensus engine ([`crate::engine::start`]) and the JSON-RPC server, until
//! Ctrl-C / SIGTERM (or a requested number of finalized blocks).
//!
//! Data directory layout: `state.redb` (committed state, finalized height, block records)
//! and `consensus/` (the runtime's storage: marshal archives and simplex journals).
//!
//! Validator keys: a spec validator's `identity` is either a hex ed25519 public key or, on
//! local networks, a seed string such as `//Validator0`. The key of a seed string is
//! [`key_from_seed`]: the ed25519 secret is `blake3::derive_key("tao validator identity
//! v1", seed)`. Anyone can derive it, so seed identities are for local networks only. A real
//! validator loads its key from a file ([`load_key`]: 64 hex digits of the ed25519 secret).

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use commonware_codec::DecodeExt as _;
use commonware_cryptography::{ChaCha20Poly1305, Signer as _, ed25519};
use commonware_p2p::{Address, AddressableManager as _, authenticated::lookup};
use commonware_runtime::telemetry::metrics::GaugeExt as _;
use commonware_runtime::{
    Metrics as _, Quota, Runner as _, Spawner as _, Supervisor as _, tokio as runtime,
};
use commonware_stream::{
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::{NZU32, NZUsize, ordered::Map, ordered::Set};
use tao_state::spec::{ChainSpec, ValidatorSpec};
use tokio::sync::{broadcast, oneshot};

use crate::app::{Chain, ChainConfig};
use crate::engine::{self, Channels, EngineConfig};
use crate::events::ChainEvents;
use crate::gossip;
use crate::metrics::{self, NodeMetrics};
use crate::rpc::Rpc;
use crate::storage::RedbStore;

/// Why the node could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Bad configuration (the message says what to fix).
    #[error("node: {0}")]
    Config(String),
    /// The store could not be opened.
    #[error("node: {0}")]
    Storage(#[from] crate::storage::StorageError),
    /// The application could not start.
    #[error("node: {0}")]
    Chain(#[from] crate::app::ChainError),
    /// The consensus engine could not start.
    #[error("node: {0}")]
    Engine(#[from] engine::EngineError),
    /// I/O (RPC socket, data directory).
    #[error("node: {0}")]
    Io(#[from] std::io::Error),
    /// A port the node must listen on is taken.
    #[error(
        "node: the {what} port {port} is already in use (address {addr}): stop what holds it, \
         or pick another port with {flag} PORT"
    )]
    PortInUse {
        /// `RPC` or `p2p`.
        what: &'static str,
        /// The port.
        port: u16,
        /// The address that could not be bound.
        addr: SocketAddr,
        /// The flag that chooses the port.
        flag: &'static str,
    },
}

/// Everything a node needs to run.
#[derive(Debug)]
pub struct NodeConfig {
    /// The chain.
    pub spec: ChainSpec,
    /// This validator's consensus key.
    pub key: ed25519::PrivateKey,
    /// Where state and consensus data live.
    pub data_dir: PathBuf,
    /// JSON-RPC listen address (HTTP and WebSocket).
    pub rpc_addr: SocketAddr,
    /// p2p listen port; `None`: the port of this validator's address in the spec.
    pub p2p_port: Option<u16>,
    /// Stop by itself once this height is finalized (smoke tests, CI).
    pub exit_after_finalized: Option<u64>,
    /// Least time between blocks, ms; `None`: the spec's `block_time_ms`. Every validator of
    /// a chain must use the same value (verifiers refuse blocks that come faster).
    pub block_time_ms: Option<u64>,
    /// Where to serve Prometheus `GET /metrics`; `None`: not served.
    pub metrics_addr: Option<SocketAddr>,
    /// Connection and call budgets of the JSON-RPC server.
    pub rpc_limits: crate::rpc::RpcLimits,
}

/// The deterministic key of a seed identity (`//Validator0`); see the module docs.
pub fn key_from_seed(seed: &str) -> ed25519::PrivateKey {
    let secret = blake3::derive_key("tao validator identity v1", seed.as_bytes());
    ed25519::PrivateKey::decode(bytes::BytesMut::from(&secret[..]))
        .unwrap_or_else(|_| ed25519::PrivateKey::from_seed(0))
}

/// Loads a validator key file: 64 hex digits (optionally `0x`-prefixed) of the ed25519 secret.
pub fn load_key(path: &Path) -> Result<ed25519::PrivateKey, NodeError> {
    let text = std::fs::read_to_string(path)?;
    let text = text.trim();
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let bytes = decode_hex32(digits).ok_or_else(|| {
        NodeError::Config(format!(
            "{}: expected 64 hex digits (an ed25519 secret key)",
            path.display()
        ))
    })?;
    ed25519::PrivateKey::decode(bytes::BytesMut::from(&bytes[..]))
        .map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))
}

fn decode_hex32(digits: &str) -> Option<[u8; 32]> {
    if digits.len() != 64 || !digits.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(digits.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The consensus public key of a spec validator.
pub fn validator_public_key(validator: &ValidatorSpec) -> Result<ed25519::PublicKey, NodeError> {
    if validator.identity.starts_with("//") {
        return Ok(key_from_seed(&validator.identity).public_key());
    }
    let text = validator.identity.as_str();
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let bytes = decode_hex32(digits).ok_or_else(|| {
        NodeError::Config(format!(
            "validator {}: identity must be a //seed or 64 hex digits",
            validator.name
        ))
    })?;
    ed25519::PublicKey::decode(bytes::BytesMut::from(&bytes[..]))
        .map_err(|e| NodeError::Config(format!("validator {}: {e}", validator.name)))
}

/// The `--dev` chain: the local spec with only its first validator.
pub fn dev_spec() -> ChainSpec {
    let mut spec = ChainSpec::local();
    spec.validators.truncate(1);
    spec
}

/// The key of the spec validator `index` when its identity is a seed string.
pub fn seed_key(spec: &ChainSpec, index: usize) -> Result<ed25519::PrivateKey, NodeError> {
    let validator = spec
        .validators
        .get(index)
        .ok_or_else(|| NodeError::Config(format!("the spec has no validator {index}")))?;
    if !validator.identity.starts_with("//") {
        return Err(NodeError::Config(format!(
            "validator {} has no seed identity: pass --validator-key",
            validator.name
        )));
    }
    Ok(key_from_seed(&validator.identity))
}

/// A node running on its own thread (tests, in-process embedding).
pub struct NodeHandle {
    /// The bound JSON-RPC address.
    pub rpc_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), NodeError>>>,
}

impl NodeHandle {
    /// Stops the node and waits for it.
    pub fn stop(mut self) -> Result<(), NodeError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), NodeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(NodeError::Config("node thread panicked".into()))),
            None => Ok(()),
        }
    }
}

impl Drop for NodeHandle {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

impl NodeConfig {
    /// Where this validator listens for p2p: its address in the spec, with `p2p_port` if set.
    pub fn p2p_listen_addr(&self) -> Result<SocketAddr, NodeError> {
        let me = self.key.public_key();
        for validator in &self.spec.validators {
            if validator_public_key(validator)? != me {
                continue;
            }
            let address: SocketAddr = validator.address.parse().map_err(|e| {
                NodeError::Config(format!(
                    "validator {}: address {:?}: {e}",
                    validator.name, validator.address
                ))
            })?;
            return Ok(SocketAddr::new(
                address.ip(),
                self.p2p_port.unwrap_or(address.port()),
            ));
        }
        Err(NodeError::Config(format!(
            "this validator key ({me}) is not one of the chain spec's validators"
        )))
    }

    /// Fails with [`NodeError::PortInUse`] when the RPC or p2p port is taken (checked by
    /// binding each once, before the node starts).
    pub fn check_ports(&self) -> Result<(), NodeError> {
        let ports = [
            ("RPC", self.rpc_addr, "--rpc-port"),
            ("p2p", self.p2p_listen_addr()?, "--p2p-port"),
        ];
        for (what, addr, flag) in ports {
            match std::net::TcpListener::bind(addr) {
                Ok(_) => {}
                Err(error) if error.kind() == std::io::ErrorKind::AddrInUse => {
                    return Err(NodeError::PortInUse {
                        what,
                        port: addr.port(),
                        addr,
                        flag,
                    });
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }
}

/// Starts a node on a new thread and returns once its RPC server listens.
pub fn spawn(config: NodeConfig) -> Result<NodeHandle, NodeError> {
    let (stop, stopped) = oneshot::channel::<()>();
    let (ready, ready_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        run_until(config, Some(ready), async move {
            let _ = stopped.await;
        })
    });
    match ready_rx.recv() {
        Ok(rpc_addr) => Ok(NodeHandle {
            rpc_addr,
            stop: Some(stop),
            thread: Some(thread),
        }),
        Err(_) => Err(thread
            .join()
            .unwrap_or_else(|_| Err(NodeError::Config("node thread panicked".into())))
            .err()
            .unwrap_or_else(|| NodeError::Config("node stopped before it was ready".into()))),
    }
}

/// Runs a node until Ctrl-C or SIGTERM (or `exit_after_finalized`).
pub fn run(config: NodeConfig) -> Result<(), NodeError> {
    run_until(config, None, async {
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(term) => term,
                    Err(_) => {
                        let _ = tokio::signal::ctrl_c().await;
                        return;
                    }
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    })
}

/// The p2p channel of transaction gossip (0-4 are consensus, see [`Channels`]).
pub const GOSSIP_CHANNEL: u64 = 5;
const CHANNEL_QUOTA: Quota = Quota::per_second(NZU32!(10_000));
const MAX_MESSAGE_BYTES: u32 = 8 * 1024 * 1024;

/// Runs a node until `shutdown` resolves; sends the bound RPC address on `ready`.
pub fn run_until(
    config: NodeConfig,
    ready: Option<std::sync::mpsc::Sender<SocketAddr>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    std::fs::create_dir_all(&config.data_dir)?;
    // Validators in spec order: the first one is the genesis block's recorded proposer.
    let mut validators = Vec::new();
    for validator in &config.spec.validators {
        let public = validator_public_key(validator)?;
        let address: SocketAddr = validator.address.parse().map_err(|e| {
            NodeError::Config(format!(
                "validator {}: address {:?}: {e}",
                validator.name, validator.address
            ))
        })?;
        validators.push((public, address));
    }
    let listen = config.p2p_listen_addr()?;
    let genesis_proposer = validators
        .first()
        .map(|(public, _)| public.clone())
        .ok_or_else(|| NodeError::Config("the chain spec has no validators".into()))?;
    let genesis_hash = config
        .spec
        .genesis()
        .map_err(crate::app::ChainError::from)?
        .genesis_hash;
    let block_time_ms = config.block_time_ms.unwrap_or(config.spec.block_time_ms);
    if block_time_ms == 0 {
        return Err(NodeError::Config(
            "the block time must be at least 1 ms".into(),
        ));
    }
    let store = RedbStore::open(&config.data_dir.join("state.redb"))?;
    let chain = Chain::open(
        store.clone(),
        &config.spec,
        genesis_proposer,
        ChainConfig {
            block_time_ms,
            ..ChainConfig::default()
        },
    )?;
    let args = ServeArgs {
        listen,
        namespace: [b"tao/".as_slice(), genesis_hash.0.as_slice()].concat(),
        block_time: Duration::from_millis(block_time_ms),
        validators,
        chain,
        store,
        ready,
    };
    let runtime_config = runtime::Config::new()
        .with_storage_directory(config.data_dir.join("consensus"))
        .with_worker_threads(2)
        .with_catch_panics(false);
    runtime::Runner::new(runtime_config).start(|context| async move {
        let stopper = context.child("stop");
        let result = serve(context, config, args, shutdown).await;
        // Stop every actor, also after a start-up error (else the runtime would keep them).
        let _ = stopper.stop(0, Some(Duration::from_secs(5))).await;
        result
    })
}

/// What [`run_until`] works out before the runtime starts.
struct ServeArgs {
    listen: SocketAddr,
    namespace: Vec<u8>,
    block_time: Duration,
    validators: Vec<(ed25519::PublicKey, SocketAddr)>,
    chain: Chain<RedbStore>,
    store: RedbStore,
    ready: Option<std::sync::mpsc::Sender<SocketAddr>>,
}

/// Connects the validators, starts consensus, the RPC server and the metrics endpoint, and
/// runs until `shutdown` (or the requested finalized height).
async fn serve(
    context: runtime::Context,
    config: NodeConfig,
    args: ServeArgs,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    let metrics_listener = match config.metrics_addr {
        Some(addr) => Some(metrics::bind(addr).await.map_err(|e| {
            NodeError::Config(format!(
                "cannot serve metrics on {addr}: {e} (choose another --metrics-port)"
            ))
        })?),
        None => None,
    };
    let metrics = NodeMetrics::register(&context.child("tao"));
    args.chain.set_metrics(metrics.clone());
    let events = ChainEvents::attach(&args.chain, &metrics);

    let me = config.key.public_key();
    let participants = Set::try_from(
        args.validators
            .iter()
            .map(|(public, _)| public.clone())
            .collect::<Vec<_>>(),
    )
    .map_err(|_| NodeError::Config("duplicate validator identities in the spec".into()))?;
    let handshake = Cups::<_, ChaCha20Poly1305>::new(
        Sake {
            signer: config.key.clone(),
            synchrony_bound: Duration::from_secs(5),
            max_handshake_age: Duration::from_secs(10),
            version: sake::Version::V1,
        },
        cups::Version::V1,
    );
    let p2p_config = lookup::Config::local(
        handshake,
        &args.namespace,
        args.listen,
        NZUsize!(args.validators.len().max(1)),
        MAX_MESSAGE_BYTES,
        NZUsize!(1_024),
    );
    let (mut network, mut oracle) = lookup::Network::new(context.child("network"), p2p_config);
    let peers: Map<ed25519::PublicKey, Address> = Map::try_from(
        args.validators
            .iter()
            .map(|(public, address)| (public.clone(), Address::from(*address)))
            .collect::<Vec<_>>(),
    )
    .map_err(|_| NodeError::Config("duplicate validator identities in the spec".into()))?;
    let _ = oracle.track(0, peers);
    let channels = Channels {
        votes: network.register(0, CHANNEL_QUOTA),
        certificates: network.register(1, CHANNEL_QUOTA),
        simplex_resolver: network.register(2, CHANNEL_QUOTA),
        backfill: network.register(3, CHANNEL_QUOTA),
        blocks: network.register(4, CHANNEL_QUOTA),
    };
    let transactions = network.register(GOSSIP_CHANNEL, CHANNEL_QUOTA);
    network.start();
    gossip::start(context.child("tao"), &args.chain, transactions);
    engine::start(
        context.child("engine"),
        &EngineConfig::for_block_time(&args.namespace, "tao", args.block_time),
        config.key,
        participants,
        args.chain.genesis(),
        args.chain.clone(),
        oracle.clone(),
        oracle,
        channels,
    )
    .await?;

    // Peers are read off the p2p tracker's metrics (see `metrics::connected_peers`).
    let sampler = {
        let context = context.child("peers");
        let peers = metrics.peers.clone();
        tokio::spawn(async move {
            loop {
                let _ = peers.try_set(metrics::connected_peers(&context.encode()));
                tokio::time::sleep(PEERS_SAMPLE_INTERVAL).await;
            }
        })
    };
    let exporter = metrics_listener.map(|listener| {
        let context = context.child("exporter");
        tokio::spawn(metrics::serve(listener, move || context.encode()))
    });

    let mut heads = events.finalized.subscribe();
    let block_log = tokio::spawn(crate::block_log::run(
        events.finalized.subscribe(),
        metrics.refusals.clone(),
    ));
    let rpc = Rpc::new(args.chain.clone(), args.store, config.spec, events, metrics)
        .map_err(crate::app::ChainError::from)?;
    let (bound, server) = rpc.serve_with(config.rpc_addr, config.rpc_limits).await?;
    tracing::info!(%bound, p2p = %args.listen, validator = %me, "node started");
    if let Some(ready) = args.ready {
        let _ = ready.send(bound);
    }
    let chain = args.chain.clone();
    let target = async move {
        match config.exit_after_finalized {
            Some(target) if chain.committed().0 < target => loop {
                match heads.recv().await {
                    Ok(record) if record.number >= target => break,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        if chain.committed().0 >= target {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            },
            Some(_) => {}
            None => futures::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = shutdown => tracing::info!("shutting down"),
        _ = target => tracing::info!("reached the requested finalized height; stopping"),
    }
    // The engine's actors run until the runtime stops them, seconds after this returns; the
    // store stops changing now.
    args.chain.halt();
    let _ = server.stop();
    server.stopped().await;
    sampler.abort();
    block_log.abort();
    if let Some(exporter) = exporter {
        exporter.abort();
    }
    Ok(())
}

/// How often the peer count is read off the p2p layer.
const PEERS_SAMPLE_INTERVAL: Duration = Duration::from_secs(2);
