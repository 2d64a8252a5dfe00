//! The chain handle: a connection to a node plus the transactions a subnet participant sends
//! (burned registration, `serve_axon`, weights), each retried with backoff on transient
//! failures and reported with its final, typed error.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tao_client::{Client, Finalized};
use tao_keys::{Keypair, PublicKey};
use tao_primitives::{AccountId, Hash256, NetUid};
use tao_rpc_api::BlockId;
use tao_rpc_api::TaoApiClient;
use tao_types::error::TxError;
use tao_types::params::Hyperparams;
use tao_types::tx::Call;

use crate::error::{SdkError, client_error_is_transient};
use crate::retry::RetryPolicy;

/// Where the node is and how patient to be with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainConfig {
    /// `local` (ws://127.0.0.1:9944) or a `ws://` URL. Default `local`.
    pub endpoint: String,
    /// Connection and per-request timeout, ms. Default 10 000.
    pub request_timeout_ms: u64,
    /// How long to wait for a transaction to be finalized, ms. Default 60 000.
    pub finality_timeout_ms: u64,
    /// Retries on transient failures.
    pub retry: RetryPolicy,
}

impl Default for ChainConfig {
    fn default() -> Self {
        ChainConfig {
            endpoint: "local".into(),
            request_timeout_ms: 10_000,
            finality_timeout_ms: 60_000,
            retry: RetryPolicy::default(),
        }
    }
}

/// The most block hashes one [`Chain::block_hashes`] call returns.
pub const MAX_BLOCK_HASHES: u64 = 1 << 16;
/// Header requests [`Chain::block_hashes`] has in flight at once.
pub const BLOCK_HASH_BATCH: u64 = 64;

/// A connection to a node with the SDK's transactions.
#[derive(Debug, Clone)]
pub struct Chain {
    client: Arc<Client>,
    config: ChainConfig,
}

/// The address an axon announces on chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxonEndpoint {
    /// Public IP.
    pub ip: IpAddr,
    /// Public port.
    pub port: u16,
    /// Software version announced.
    pub version: u32,
}

impl AxonEndpoint {
    /// Whether the chain's record (`EndpointView`) already says this.
    pub fn matches(&self, on_chain: Option<&tao_types::views::EndpointView>) -> bool {
        on_chain.is_some_and(|view| {
            view.port == self.port
                && view.ip.parse::<IpAddr>().ok() == Some(self.ip)
                && view.version == self.version
        })
    }

    fn call(&self, netuid: u16) -> Call {
        let (ip, ip_type) = match self.ip {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 4),
            IpAddr::V6(v6) => (u128::from(v6), 6),
        };
        Call::ServeAxon {
            netuid: NetUid(netuid),
            version: self.version,
            ip,
            port: self.port,
            ip_type,
            protocol: 4,
        }
    }
}

impl Chain {
    /// Connects to the node, retrying transient failures per `config.retry`.
    ///
    /// # Errors
    /// [`SdkError::Client`] when the node cannot be reached (its message says what to try).
    pub async fn connect(config: ChainConfig) -> Result<Chain, SdkError> {
        let timeout = Duration::from_millis(config.request_timeout_ms);
        let mut backoff = config.retry.backoff();
        let mut attempt = 1;
        loop {
            match Client::connect(&config.endpoint, timeout).await {
                Ok(client) => {
                    return Ok(Chain {
                        client: Arc::new(client),
                        config,
                    });
                }
                Err(error)
                    if attempt < config.retry.attempts && client_error_is_transient(&error) =>
                {
                    tracing::warn!(target: "sdk.chain", %error, attempt, "cannot connect; retrying");
                    attempt += 1;
                    backoff.wait().await;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// The underlying client (every RPC read).
    pub fn client(&self) -> &Arc<Client> {
        &self.client
    }

    /// The height of the finalized head (0 before the first block).
    ///
    /// # Errors
    /// The node's error.
    pub async fn finalized_height(&self) -> Result<u64, SdkError> {
        let header = self
            .client
            .rpc()
            .await?
            .chain_get_header(None)
            .await
            .map_err(tao_client::ClientError::from)?;
        Ok(header.map_or(0, |header| header.number))
    }

    /// The hashes of finalized blocks `from..=to`, in order (what subnets seed their
    /// challenges or worlds with). At most [`MAX_BLOCK_HASHES`] per call; requested
    /// [`BLOCK_HASH_BATCH`] at a time over the one connection.
    ///
    /// # Errors
    /// [`SdkError::Config`] for an empty or oversized range, [`SdkError::BlockUnavailable`]
    /// for a block not finalized yet (or a header that is not the one asked for), or the
    /// node's error.
    pub async fn block_hashes(&self, from: u64, to: u64) -> Result<Vec<Hash256>, SdkError> {
        let count = to.checked_sub(from).map(|span| span.saturating_add(1));
        let count = match count {
            Some(count) if count <= MAX_BLOCK_HASHES => count,
            _ => {
                return Err(SdkError::Config(format!(
                    "block range {from}..={to} is empty or longer than {MAX_BLOCK_HASHES}"
                )));
            }
        };
        let finalized = self.finalized_height().await?;
        if to > finalized {
            return Err(SdkError::BlockUnavailable {
                number: to,
                reason: format!("the finalized head is block {finalized}"),
            });
        }
        let rpc = self.client.rpc().await?;
        let mut hashes = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        let mut next = from;
        while next <= to {
            let last = to.min(next.saturating_add(BLOCK_HASH_BATCH - 1));
            let batch = (next..=last).map(|number| {
                let rpc = rpc.clone();
                async move {
                    let header = rpc
                        .chain_get_header(Some(BlockId::Number(number)))
                        .await
                        .map_err(tao_client::ClientError::from)?;
                    match header {
                        Some(header) if header.number == number => {
                            <[u8; 32]>::try_from(header.hash.0)
                                .map(Hash256)
                                .map_err(|_| SdkError::BlockUnavailable {
                                    number,
                                    reason: "the node sent a hash that is not 32 bytes".into(),
                                })
                        }
                        _ => Err(SdkError::BlockUnavailable {
                            number,
                            reason: "the node has no such block".into(),
                        }),
                    }
                }
            });
            hashes.extend(futures::future::try_join_all(batch).await?);
            next = last.saturating_add(1);
        }
        Ok(hashes)
    }

    /// The subnet's hyperparameters.
    ///
    /// # Errors
    /// [`SdkError::NoSuchSubnet`], or the node's error.
    pub async fn hyperparams(&self, netuid: u16) -> Result<Hyperparams, SdkError> {
        self.client
            .rpc()
            .await?
            .subnet_info_get_subnet_hyperparams(NetUid(netuid))
            .await
            .map_err(tao_client::ClientError::from)?
            .ok_or(SdkError::NoSuchSubnet(netuid))
    }

    /// Signs and submits `call`, waits for finality and returns where it landed; transient
    /// failures (node unreachable, transaction dropped or lost) are retried with backoff.
    ///
    /// # Errors
    /// [`SdkError::Chain`] when the chain executed and refused the call, [`SdkError::Refused`]
    /// when the node would not include it (both final), or
    /// [`SdkError::RetriesExhausted`].
    pub async fn submit(
        &self,
        signer: &Keypair,
        call: Call,
        label: &'static str,
    ) -> Result<Finalized, SdkError> {
        let policy = self.config.retry;
        let mut backoff = policy.backoff();
        let finality = Duration::from_millis(self.config.finality_timeout_ms);
        let account = AccountId(signer.public().to_bytes());
        let mut attempt = 1;
        loop {
            let sent = self
                .client
                .submit_and_watch(signer, call.clone(), finality, |_| {})
                .await;
            let error = match sent {
                Ok(done) if done.success => return Ok(done),
                Ok(done) => {
                    return Err(SdkError::Chain {
                        call: label,
                        error: done.error.unwrap_or(TxError::Internal(
                            "the node reported a failure without its error".into(),
                        )),
                    });
                }
                Err(error) if client_error_is_transient(&error) => error,
                Err(tao_client::ClientError::Invalid(reason)) => {
                    return Err(SdkError::Refused {
                        call: label,
                        reason,
                    });
                }
                Err(error) => return Err(SdkError::Client(error)),
            };
            // The transaction may be lost: sign the next try with the chain's nonce again.
            self.client.forget_nonces(&account).await;
            if attempt >= policy.attempts {
                return Err(SdkError::RetriesExhausted {
                    call: label,
                    attempts: attempt,
                    last: error.to_string(),
                });
            }
            tracing::warn!(target: "sdk.chain", call = label, attempt, %error, "transient failure; retrying");
            attempt += 1;
            backoff.wait().await;
        }
    }

    /// Registers `hotkey` on `netuid` by burning the registration price from `coldkey`,
    /// refusing when the burn is above `limit_rao`; returns the new uid.
    ///
    /// # Errors
    /// [`SdkError::BurnAboveLimit`], [`SdkError::NoSuchSubnet`], or the chain's refusal.
    pub async fn burned_register(
        &self,
        coldkey: &Keypair,
        hotkey: &PublicKey,
        netuid: u16,
        limit_rao: u64,
    ) -> Result<u16, SdkError> {
        let burn_rao = self
            .client
            .rpc()
            .await?
            .subnet_info_get_burn(NetUid(netuid))
            .await
            .map_err(tao_client::ClientError::from)?
            .ok_or(SdkError::NoSuchSubnet(netuid))?;
        if burn_rao > limit_rao {
            return Err(SdkError::BurnAboveLimit {
                burn_rao,
                limit_rao,
            });
        }
        let call = Call::BurnedRegister {
            netuid: NetUid(netuid),
            hotkey: AccountId(hotkey.to_bytes()),
            limit_rao,
        };
        self.submit(coldkey, call, "burned_register").await?;
        let graph = crate::Metagraph::fetch(&self.client, netuid, false).await?;
        graph.uid_of(hotkey).ok_or_else(|| SdkError::NotRegistered {
            hotkey: hotkey.to_ss58(),
            netuid,
        })
    }

    /// Publishes the axon's address for `hotkey` on `netuid`.
    ///
    /// # Errors
    /// The chain's refusal (e.g. the serving rate limit).
    pub async fn serve_axon(
        &self,
        hotkey: &Keypair,
        netuid: u16,
        endpoint: &AxonEndpoint,
    ) -> Result<Finalized, SdkError> {
        self.submit(hotkey, endpoint.call(netuid), "serve_axon")
            .await
    }
}
