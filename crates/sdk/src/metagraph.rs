//! The metagraph: every neuron of one subnet as the chain saw it at one block, synced from a
//! node over `tao-client`.
//!
//! [`Metagraph::fetch`] reads it (one `subnetInfo_getMetagraph`, plus `neuronInfo_getNeurons`
//! when the weight and bond matrices are wanted); [`MetagraphSync::sync`] re-reads only when
//! the finalized block moved; [`watch`] follows finalized heads and publishes each new
//! snapshot. Rank and trust are not on chain (retired, as in the bittensor SDK 10.x).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tao_client::Client;
use tao_keys::PublicKey;
use tao_primitives::NetUid;
use tao_rpc_api::TaoApiClient;
use tao_types::params::Hyperparams;
use tao_types::views::{DynamicView, EndpointView, MetagraphView, NeuronView};
use tokio::sync::watch as channel;

use crate::error::SdkError;

/// Rao per whole alpha or TAO (nine decimals).
const UNITS: u128 = 1_000_000_000;

/// One neuron of the subnet.
#[derive(Clone, Debug, PartialEq)]
pub struct Neuron {
    /// Its slot.
    pub uid: u16,
    /// Hotkey.
    pub hotkey: PublicKey,
    /// The hotkey's owner.
    pub coldkey: PublicKey,
    /// Alpha staked to the hotkey on this subnet (nine decimals).
    pub alpha_stake: u64,
    /// The same alpha valued in TAO at the pool's spot price, rao. (TAO staked to the hotkey
    /// on the root subnet is not part of the subnet's metagraph view.)
    pub alpha_value_rao: u64,
    /// Consensus of the last epoch, u16 proportion.
    pub consensus: u16,
    /// Incentive of the last epoch, u16 proportion.
    pub incentive: u16,
    /// Dividends of the last epoch, u16 proportion.
    pub dividends: u16,
    /// Validator trust of the last epoch, u16 proportion.
    pub validator_trust: u16,
    /// Emission of the last epoch, alpha.
    pub emission: u64,
    /// Whether the last epoch gave it a validator permit.
    pub validator_permit: bool,
    /// Whether the last epoch counted it active.
    pub active: bool,
    /// Block its weights last changed.
    pub last_update: u64,
    /// Block it registered at.
    pub registered_at: u64,
    /// Its published axon, if any.
    pub axon: Option<EndpointView>,
}

impl Neuron {
    /// Stake in whole alpha, as the axon's stake view reports it.
    pub fn stake_alpha(&self) -> f64 {
        self.alpha_stake as f64 / UNITS as f64
    }
}

/// A subnet at one block.
#[derive(Clone, Debug)]
pub struct Metagraph {
    /// The subnet.
    pub netuid: u16,
    /// The block read.
    pub block: u64,
    /// Neurons, in uid order.
    pub neurons: Vec<Neuron>,
    /// The subnet's hyperparameters.
    pub hyperparams: Hyperparams,
    /// Its pool and schedule (tempo, epoch index, blocks until the next epoch).
    pub dynamic: DynamicView,
    /// Weight rows by position (`(uid, u16 weight)`), when synced with matrices.
    pub weights: Option<Vec<Vec<(u16, u16)>>>,
    /// Bond rows by position, when synced with matrices.
    pub bonds: Option<Vec<Vec<(u16, u16)>>>,
    by_hotkey: HashMap<PublicKey, usize>,
}

impl Metagraph {
    /// Builds the metagraph from the node's views (`neurons`: for the matrices, if read).
    pub fn from_views(view: MetagraphView, neurons: Option<Vec<NeuronView>>) -> Metagraph {
        let price = u128::from(view.dynamic.price_rao_per_alpha);
        let mut list = Vec::with_capacity(view.uids.len());
        for (index, uid) in view.uids.iter().enumerate() {
            let at = |v: &Vec<u16>| v.get(index).copied().unwrap_or(0);
            let alpha = view.stake_rao.get(index).copied().unwrap_or(0);
            let key = |v: &Vec<tao_primitives::AccountId>| {
                PublicKey::from_bytes(v.get(index).map_or([0; 32], |a| a.0))
            };
            list.push(Neuron {
                uid: *uid,
                hotkey: key(&view.hotkeys),
                coldkey: key(&view.coldkeys),
                alpha_stake: alpha,
                alpha_value_rao: u64::try_from(u128::from(alpha).saturating_mul(price) / UNITS)
                    .unwrap_or(u64::MAX),
                consensus: at(&view.consensus),
                incentive: at(&view.incentive),
                dividends: at(&view.dividends),
                validator_trust: at(&view.validator_trust),
                emission: view.emission_rao.get(index).copied().unwrap_or(0),
                validator_permit: view.validator_permit.get(index).copied().unwrap_or(false),
                active: view.active.get(index).copied().unwrap_or(false),
                last_update: view.last_update.get(index).copied().unwrap_or(0),
                registered_at: view.registered_at.get(index).copied().unwrap_or(0),
                axon: view.axons.get(index).cloned().flatten(),
            });
        }
        let (weights, bonds) = match neurons {
            Some(mut rows) => {
                rows.sort_by_key(|n| n.uid);
                let (w, b) = rows.into_iter().map(|n| (n.weights, n.bonds)).unzip();
                (Some(w), Some(b))
            }
            None => (None, None),
        };
        let mut graph = Metagraph::new(
            view.netuid,
            view.block,
            list,
            view.hyperparams,
            view.dynamic,
        );
        graph.weights = weights;
        graph.bonds = bonds;
        graph
    }

    /// A metagraph of `neurons` (in uid order) without matrices, for tools and tests that build
    /// one themselves.
    pub fn new(
        netuid: u16,
        block: u64,
        neurons: Vec<Neuron>,
        hyperparams: Hyperparams,
        dynamic: DynamicView,
    ) -> Metagraph {
        let by_hotkey = neurons
            .iter()
            .enumerate()
            .map(|(index, n)| (n.hotkey, index))
            .collect();
        Metagraph {
            netuid,
            block,
            neurons,
            hyperparams,
            dynamic,
            weights: None,
            bonds: None,
            by_hotkey,
        }
    }

    /// Reads the subnet from the node; with `matrices`, the weight and bond rows too.
    pub async fn fetch(
        client: &Client,
        netuid: u16,
        matrices: bool,
    ) -> Result<Metagraph, SdkError> {
        let rpc = client.rpc().await?;
        let view = rpc
            .subnet_info_get_metagraph(NetUid(netuid))
            .await
            .map_err(tao_client::ClientError::from)?
            .ok_or(SdkError::NoSuchSubnet(netuid))?;
        let neurons = if matrices {
            Some(
                rpc.neuron_info_get_neurons(NetUid(netuid))
                    .await
                    .map_err(tao_client::ClientError::from)?,
            )
        } else {
            None
        };
        Ok(Metagraph::from_views(view, neurons))
    }

    /// Number of neurons.
    pub fn n(&self) -> usize {
        self.neurons.len()
    }

    /// The uid of `hotkey`, if it is registered.
    pub fn uid_of(&self, hotkey: &PublicKey) -> Option<u16> {
        self.neuron_of(hotkey).map(|n| n.uid)
    }

    /// The neuron of `hotkey`, if it is registered.
    pub fn neuron_of(&self, hotkey: &PublicKey) -> Option<&Neuron> {
        self.by_hotkey
            .get(hotkey)
            .and_then(|index| self.neurons.get(*index))
    }

    /// Where to reach `uid`'s axon (its published endpoint and hotkey), if it serves one.
    pub fn axon_target(&self, uid: u16) -> Option<tao_axon::AxonTarget> {
        let neuron = self.neuron(uid)?;
        let axon = neuron.axon.as_ref()?;
        Some(tao_axon::AxonTarget {
            ip: axon.ip.clone(),
            port: axon.port,
            hotkey: neuron.hotkey.to_ss58(),
        })
    }

    /// The neuron at `uid`.
    pub fn neuron(&self, uid: u16) -> Option<&Neuron> {
        self.neurons
            .get(usize::from(uid))
            .filter(|n| n.uid == uid)
            .or_else(|| self.neurons.iter().find(|n| n.uid == uid))
    }
}

/// Keeps a metagraph current, reading the node only when the finalized block moved.
#[derive(Debug)]
pub struct MetagraphSync {
    client: Arc<Client>,
    netuid: u16,
    matrices: bool,
    current: Option<Arc<Metagraph>>,
}

impl MetagraphSync {
    /// Follows `netuid` through `client`; `matrices` also reads weights and bonds.
    pub fn new(client: Arc<Client>, netuid: u16, matrices: bool) -> MetagraphSync {
        MetagraphSync {
            client,
            netuid,
            matrices,
            current: None,
        }
    }

    /// The last snapshot read, if any.
    pub fn current(&self) -> Option<Arc<Metagraph>> {
        self.current.clone()
    }

    /// The metagraph at the finalized head: the last snapshot when the head has not moved
    /// (one header read), else a fresh one.
    pub async fn sync(&mut self) -> Result<Arc<Metagraph>, SdkError> {
        let head = self
            .client
            .rpc()
            .await?
            .chain_get_header(None)
            .await
            .map_err(tao_client::ClientError::from)?
            .map(|h| h.number);
        if let (Some(current), Some(head)) = (&self.current, head)
            && current.block == head
        {
            return Ok(current.clone());
        }
        let fresh = Arc::new(Metagraph::fetch(&self.client, self.netuid, self.matrices).await?);
        self.current = Some(fresh.clone());
        Ok(fresh)
    }
}

/// A metagraph shared between a runner's loop and the axon's request handlers.
#[derive(Clone, Debug)]
pub struct SharedMetagraph(Arc<RwLock<Arc<Metagraph>>>);

impl SharedMetagraph {
    /// Starts with `graph`.
    pub fn new(graph: Arc<Metagraph>) -> SharedMetagraph {
        SharedMetagraph(Arc::new(RwLock::new(graph)))
    }

    /// The current snapshot.
    pub fn get(&self) -> Arc<Metagraph> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the snapshot.
    pub fn set(&self, graph: Arc<Metagraph>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = graph;
    }
}

/// Follows finalized heads and publishes the metagraph after each block that moved it. The
/// task survives node restarts: it reconnects with backoff (up to `max_backoff`) and resumes.
/// It ends when every receiver is dropped.
pub async fn watch(
    client: Arc<Client>,
    netuid: u16,
    matrices: bool,
    max_backoff: Duration,
) -> Result<
    (
        channel::Receiver<Arc<Metagraph>>,
        tokio::task::JoinHandle<()>,
    ),
    SdkError,
> {
    let mut sync = MetagraphSync::new(client.clone(), netuid, matrices);
    let first = sync.sync().await?;
    let (sender, receiver) = channel::channel(first);
    let task = tokio::spawn(async move {
        let mut backoff = crate::retry::Backoff::new(Duration::from_millis(100), max_backoff);
        while !sender.is_closed() {
            let heads = async {
                client
                    .rpc()
                    .await?
                    .chain_subscribe_finalized_heads()
                    .await
                    .map_err(tao_client::ClientError::from)
            };
            let mut heads = match heads.await {
                Ok(heads) => {
                    tracing::info!(target: "sdk.metagraph", netuid, "following finalized heads");
                    heads
                }
                Err(error) => {
                    tracing::warn!(target: "sdk.metagraph", %error, "cannot follow heads; retrying");
                    backoff.wait().await;
                    continue;
                }
            };
            while let Some(Ok(_head)) = heads.next().await {
                match sync.sync().await {
                    Ok(graph) => {
                        backoff.reset();
                        sender.send_if_modified(|slot| {
                            let moved = slot.block != graph.block;
                            *slot = graph;
                            moved
                        });
                    }
                    Err(error) => tracing::warn!(target: "sdk.metagraph", %error, "sync failed"),
                }
                if sender.is_closed() {
                    return;
                }
            }
            backoff.wait().await;
        }
    });
    Ok((receiver, task))
}
