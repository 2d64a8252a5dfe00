//! The miner runner: serves the subnet's synapse on an axon whose stake view and blacklist
//! come from the metagraph, publishes (and re-publishes) the axon's address on chain, follows
//! the metagraph block by block through node restarts, and stops cleanly on shutdown.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tao_axon::{Axon, AxonConfig, Caller, Dendrite, Handler, StakeView};
use tao_keys::{Keypair, PublicKey};
use tao_rpc_api::TaoApiClient;
use tracing::Instrument;

use crate::chain::{AxonEndpoint, Chain};
use crate::error::SdkError;
use crate::metagraph::{Metagraph, SharedMetagraph};
use crate::subnet::{MinerContext, MinerService};

/// How a miner runs.
#[derive(Clone, Debug)]
pub struct MinerConfig {
    /// The subnet.
    pub netuid: u16,
    /// Address the axon listens on. Default `0.0.0.0:8091`.
    pub bind: SocketAddr,
    /// IP published on chain and announced to callers; default: the bind IP, or 127.0.0.1
    /// when binding to all interfaces (local networks). Never looked up on the internet.
    pub external_ip: Option<IpAddr>,
    /// Port published on chain; default: the bound port.
    pub external_port: Option<u16>,
    /// Longest wait between attempts to reach the node again after it went away, ms (the
    /// metagraph follows finalized heads; the axon keeps serving meanwhile). Default 5 000.
    pub reconnect_backoff_ms: u64,
    /// Per-hotkey rate limit of the axon, `(requests per second, burst)`; `None` disables it.
    /// Default 100/s with bursts of 200.
    pub rate_limit: Option<(f64, f64)>,
    /// Largest request body the axon accepts, bytes. Default 1 MiB.
    pub max_body_bytes: usize,
    /// Software version published with the axon. Default 1.
    pub version: u32,
    /// Publish the axon's address but do not listen (a miner that is down; for tests and
    /// demonstrations). Default false.
    pub offline: bool,
}

impl Default for MinerConfig {
    fn default() -> Self {
        MinerConfig {
            netuid: 1,
            bind: SocketAddr::from(([0, 0, 0, 0], 8091)),
            external_ip: None,
            external_port: None,
            reconnect_backoff_ms: 5_000,
            rate_limit: Some((100.0, 200.0)),
            max_body_bytes: 1 << 20,
            version: 1,
            offline: false,
        }
    }
}

/// The axon's stake view: registered hotkeys with their stake in whole alpha.
#[derive(Debug, Clone)]
pub struct MetagraphStakeView(pub SharedMetagraph);

impl StakeView for MetagraphStakeView {
    fn stake(&self, hotkey: &PublicKey) -> Option<f64> {
        self.0.get().neuron_of(hotkey).map(|n| n.stake_alpha())
    }
}

/// The miner's admission rule: callers need a validator permit and the subnet's
/// `min_validator_stake`, unless the subnet is open to everyone.
fn admit(graph: &SharedMetagraph, caller: &Caller, open: bool) -> Result<(), String> {
    if open {
        return Ok(());
    }
    let graph = graph.get();
    let Some(neuron) = graph.neuron_of(&caller.hotkey) else {
        return Err("hotkey not registered".into());
    };
    if !neuron.validator_permit {
        return Err("no validator permit".into());
    }
    let min = graph.hyperparams.min_validator_stake;
    if neuron.alpha_stake < min {
        return Err(format!(
            "stake {} below the subnet's minimum {min}",
            neuron.alpha_stake
        ));
    }
    Ok(())
}

/// Runs a miner of `subnet` as `hotkey` until `shutdown` completes.
///
/// # Errors
/// At start: the node cannot be reached, the subnet does not exist, the hotkey is not
/// registered, the port cannot be bound. Later failures (node restarts, a refused
/// `serve_axon`) are logged and retried; the axon keeps serving meanwhile.
pub async fn run_miner<S: MinerService>(
    subnet: Arc<S>,
    hotkey: Keypair,
    chain: Chain,
    config: MinerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SdkError> {
    let max_backoff = Duration::from_millis(config.reconnect_backoff_ms.max(10));
    let (updates, follower) =
        crate::metagraph::watch(chain.client().clone(), config.netuid, false, max_backoff).await?;
    let first = updates.borrow().clone();
    let me = hotkey.public();
    let uid = first.uid_of(&me).ok_or_else(|| SdkError::NotRegistered {
        hotkey: me.to_ss58(),
        netuid: config.netuid,
    })?;
    let allow_local = chain
        .client()
        .rpc()
        .await?
        .state_get_global_params()
        .await
        .map_err(tao_client::ClientError::from)?
        .allow_local_endpoints;
    let ip = published_ip(&config, allow_local)?;
    let graph = SharedMetagraph::new(first);
    let (running, port) = if config.offline {
        (None, config.external_port.unwrap_or(config.bind.port()))
    } else {
        let axon = miner_axon(subnet, hotkey.clone(), &config, &graph);
        let handle = axon.serve().await.map_err(|e| SdkError::Serve {
            addr: config.bind,
            message: e.to_string(),
        })?;
        let port = config.external_port.unwrap_or(handle.local_addr().port());
        (Some(handle), port)
    };
    let endpoint = AxonEndpoint {
        ip,
        port,
        version: config.version,
    };
    tracing::info!(target: "sdk.miner", uid, netuid = config.netuid, ip = %endpoint.ip, port, offline = config.offline, "miner started");
    let maintain = maintain(&chain, &hotkey, config.netuid, updates, &graph, endpoint)
        .instrument(tracing::info_span!("sdk.miner", uid));
    tokio::select! {
        () = maintain => {}
        () = shutdown => tracing::info!(target: "sdk.miner", "shutting down"),
    }
    follower.abort();
    if let Some(handle) = running {
        handle.shutdown();
    }
    Ok(())
}

/// The IP to publish: `external_ip`, else the bind address (127.0.0.1 for all interfaces); a
/// loopback or private address only where the chain accepts local endpoints.
fn published_ip(config: &MinerConfig, allow_local: bool) -> Result<IpAddr, SdkError> {
    if let Some(ip) = config.external_ip {
        return Ok(ip);
    }
    let ip = match config.bind.ip() {
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    };
    let local =
        ip.is_loopback() || matches!(ip, IpAddr::V4(v4) if v4.is_private() || v4.is_link_local());
    if local && !allow_local {
        return Err(SdkError::Config(format!(
            "this chain does not accept the local address {ip} for an axon: pass the public address to publish (--axon.external_ip)"
        )));
    }
    Ok(ip)
}

/// The miner's axon, ready to serve: `subnet`'s synapse, admission and priority from
/// `graph` (what [`run_miner`] serves; for custom runners, tests and benchmarks).
pub fn miner_axon<S: MinerService>(
    subnet: Arc<S>,
    hotkey: Keypair,
    config: &MinerConfig,
    graph: &SharedMetagraph,
) -> Axon {
    let context = MinerContext {
        hotkey: hotkey.public(),
        metagraph: graph.clone(),
        dendrite: Dendrite::new(hotkey.clone()),
        caller: None,
    };
    let open = subnet.serves_non_validators();
    let mut axon = Axon::new(
        hotkey,
        AxonConfig {
            bind: config.bind,
            external_ip: config.external_ip.map(|ip| ip.to_string()),
            external_port: config.external_port,
            max_body_bytes: config.max_body_bytes,
            rate_limit: config.rate_limit,
            ..AxonConfig::default()
        },
    );
    if !open {
        axon.stake_view(Arc::new(MetagraphStakeView(graph.clone())));
    }
    let admission = graph.clone();
    let handler = Handler::<S::Request>::forward(move |request, caller| {
        let subnet = subnet.clone();
        let mut context = context.clone();
        context.caller = Some(Arc::new(caller));
        async move { subnet.respond(request, &context).await }
    })
    .blacklist(move |caller| admit(&admission, caller, open));
    axon.attach(handler);
    axon
}

/// Blocks to wait after a refused `serve_axon` before trying again.
const REPUBLISH_AFTER_BLOCKS: u64 = 10;

/// Follows the metagraph (each finalized block that moved it) and keeps the axon published;
/// returns only if the follower stops.
async fn maintain(
    chain: &Chain,
    hotkey: &Keypair,
    netuid: u16,
    mut updates: tokio::sync::watch::Receiver<Arc<Metagraph>>,
    graph: &SharedMetagraph,
    endpoint: AxonEndpoint,
) {
    let me = hotkey.public();
    let mut refused_at: Option<u64> = None;
    let mut registered = true;
    loop {
        let current = updates.borrow_and_update().clone();
        graph.set(current.clone());
        let waiting = refused_at.is_some_and(|at| current.block < at + REPUBLISH_AFTER_BLOCKS);
        if current.neuron_of(&me).is_some() && !registered {
            registered = true;
            tracing::info!(target: "sdk.miner", block = current.block, "hotkey registered again");
        }
        match current.neuron_of(&me) {
            None if registered => {
                registered = false;
                tracing::warn!(target: "sdk.miner", block = current.block, "hotkey no longer registered: callers are still served, nothing is published; register again to earn")
            }
            None => {}
            Some(neuron) if !waiting && !endpoint.matches(neuron.axon.as_ref()) => {
                match chain.serve_axon(hotkey, netuid, &endpoint).await {
                    Ok(done) => {
                        refused_at = None;
                        tracing::info!(target: "sdk.miner", block = done.number, ip = %endpoint.ip, port = endpoint.port, "axon published");
                    }
                    Err(error) => {
                        refused_at = Some(current.block);
                        tracing::warn!(target: "sdk.miner", %error, "serve_axon failed; will retry");
                    }
                }
            }
            Some(_) => {}
        }
        if updates.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_addresses_are_published_only_where_the_chain_takes_them() {
        let config = |bind: &str, external: Option<&str>| MinerConfig {
            bind: bind.parse().unwrap(),
            external_ip: external.map(|ip| ip.parse().unwrap()),
            ..MinerConfig::default()
        };
        let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert_eq!(
            published_ip(&config("0.0.0.0:1", None), true).unwrap(),
            localhost
        );
        assert!(matches!(
            published_ip(&config("0.0.0.0:1", None), false),
            Err(SdkError::Config(_))
        ));
        assert!(published_ip(&config("10.1.2.3:1", None), false).is_err());
        let public = config("0.0.0.0:1", Some("203.0.113.7"));
        assert_eq!(
            published_ip(&public, false).unwrap(),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            published_ip(&config("198.51.100.2:1", None), false).unwrap(),
            "198.51.100.2".parse::<IpAddr>().unwrap()
        );
    }
}
