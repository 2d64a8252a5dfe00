//! A typed async client of a Tao node (JSON-RPC over WebSocket).
//!
//! * [`Client::connect`] resolves `local` (`ws://127.0.0.1:9944`) or a `ws://` URL, with a
//!   timeout, and reconnects on the next call after the connection drops.
//! * Every read of [`tao_rpc_api::TaoApiClient`] through [`Client::rpc`].
//! * [`Client::sign`] fills in the nonce (the chain's next index, or one past the last this
//!   client signed for that account, whichever is higher, so several transactions can be in
//!   flight), a mortality window from the finalized head, and the genesis hash.
//! * [`Client::submit_and_watch`] follows a transaction until it is finalized or dropped and
//!   returns the call's result.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jsonrpsee::core::client::{ClientT, Subscription, SubscriptionClientT};
use jsonrpsee_ws_client::{WsClient, WsClientBuilder};
use parity_scale_codec::Encode;
use tao_keys::Keypair;
use tao_primitives::{AccountId, Hash256};
use tao_rpc_api::{Bytes, TaoApiClient, TxStatus};
use tao_types::error::{InvalidTx, TxError};
use tao_types::tx::{Call, Mortality, SignedTx, UnsignedTx};
use tokio::sync::{Mutex, RwLock};

/// The endpoint of a local node (`tao node --dev`, the first node of `tao localnet`).
pub const LOCAL_ENDPOINT: &str = "ws://127.0.0.1:9944";
/// Blocks a signed transaction stays valid.
pub const MORTALITY_BLOCKS: u64 = 256;
/// Largest JSON-RPC response accepted (a 256-uid `neuronInfo_getNeurons` is ≈ 1 MiB).
const MAX_RESPONSE_BYTES: u32 = 64 * 1024 * 1024;

/// What can go wrong talking to a node.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The endpoint is neither a known network name nor a `ws://` URL.
    #[error("unknown network or URL {0:?}: use `local` or ws://host:port")]
    BadEndpoint(String),
    /// No connection could be made in time.
    #[error("cannot connect to {url}: {reason} (is a node running? try `tao node --dev`)")]
    Connect {
        /// The URL tried.
        url: String,
        /// Why it failed.
        reason: String,
    },
    /// The node answered with an error (the message is the node's).
    #[error("{0}")]
    Rpc(String),
    /// The node refused a submitted transaction; nothing was included and no fee was paid.
    #[error("transaction refused: {0}")]
    Invalid(InvalidTx),
    /// The node's answer does not make sense.
    #[error("unexpected answer from the node: {0}")]
    BadResponse(String),
    /// The transaction left the pool without being included.
    #[error("transaction dropped: {0}")]
    Dropped(String),
    /// No answer before the deadline.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

impl From<jsonrpsee::core::client::Error> for ClientError {
    fn from(error: jsonrpsee::core::client::Error) -> Self {
        match error {
            jsonrpsee::core::client::Error::Call(object) => {
                match tao_rpc_api::invalid_transaction_of(&object) {
                    Some(invalid) => ClientError::Invalid(invalid),
                    None => ClientError::Rpc(object.message().to_owned()),
                }
            }
            other => ClientError::Rpc(other.to_string()),
        }
    }
}

/// Where a finalized transaction landed and what its call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finalized {
    /// The transaction's hash (blake2b-256 of its encoding).
    pub tx_hash: Vec<u8>,
    /// Block hash.
    pub block: Vec<u8>,
    /// Block height.
    pub number: u64,
    /// Whether the call succeeded (the fee is paid either way).
    pub success: bool,
    /// The call's error when it failed.
    pub error: Option<TxError>,
}

/// A connection to a node.
pub struct Client {
    url: String,
    timeout: Duration,
    rpc: RwLock<Arc<WsClient>>,
    genesis_hash: Hash256,
    next_nonces: Mutex<BTreeMap<AccountId, u64>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The URL of a network name (`local`) or a `ws://` URL as given.
pub fn resolve_endpoint(endpoint: &str) -> Result<String, ClientError> {
    match endpoint {
        "local" | "dev" => Ok(LOCAL_ENDPOINT.to_owned()),
        url if url.starts_with("ws://") => Ok(url.to_owned()),
        other => Err(ClientError::BadEndpoint(other.to_owned())),
    }
}

async fn open(url: &str, timeout: Duration) -> Result<WsClient, ClientError> {
    WsClientBuilder::default()
        .connection_timeout(timeout)
        .request_timeout(timeout)
        .max_response_size(MAX_RESPONSE_BYTES)
        .build(url)
        .await
        .map_err(|error| ClientError::Connect {
            url: url.to_owned(),
            reason: error.to_string(),
        })
}

impl Client {
    /// Connects to `endpoint` (`local` or `ws://…`), waiting at most `timeout` (also the
    /// per-request timeout).
    pub async fn connect(endpoint: &str, timeout: Duration) -> Result<Client, ClientError> {
        let url = resolve_endpoint(endpoint)?;
        let rpc = open(&url, timeout).await?;
        let genesis = rpc.chain_get_genesis_hash().await?;
        let genesis_hash = <[u8; 32]>::try_from(genesis.0.as_slice())
            .map(Hash256)
            .map_err(|_| ClientError::BadResponse("genesis hash is not 32 bytes".into()))?;
        Ok(Client {
            url,
            timeout,
            rpc: RwLock::new(Arc::new(rpc)),
            genesis_hash,
            next_nonces: Mutex::new(BTreeMap::new()),
        })
    }

    /// The JSON-RPC client (every method of [`TaoApiClient`]); reconnects first if the
    /// connection dropped.
    pub async fn rpc(&self) -> Result<Arc<WsClient>, ClientError> {
        {
            let current = self.rpc.read().await;
            if current.is_connected() {
                return Ok(current.clone());
            }
        }
        let mut slot = self.rpc.write().await;
        if !slot.is_connected() {
            *slot = Arc::new(open(&self.url, self.timeout).await?);
        }
        Ok(slot.clone())
    }

    /// The chain's genesis hash (what transactions sign).
    pub fn genesis_hash(&self) -> Hash256 {
        self.genesis_hash
    }

    /// Signs `call` by `signer` with the next free nonce and a window from the finalized head.
    pub async fn sign(&self, signer: &Keypair, call: Call) -> Result<SignedTx, ClientError> {
        let rpc = self.rpc().await?;
        let account = AccountId(signer.public().to_bytes());
        let chain_next = rpc.account_next_index(signer.public().to_ss58()).await?;
        let finalized = rpc
            .chain_get_header(None)
            .await?
            .ok_or_else(|| ClientError::BadResponse("no finalized head".into()))?;
        let nonce = {
            let mut nonces = self.next_nonces.lock().await;
            let next = nonces.get(&account).copied().unwrap_or(0).max(chain_next);
            nonces.insert(account, next.saturating_add(1));
            next
        };
        let tx = UnsignedTx {
            signer: account,
            nonce,
            mortality: Mortality {
                birth: finalized.number.saturating_add(1),
                period: MORTALITY_BLOCKS,
            },
            call,
        };
        let signature = signer
            .sign(&tx.signing_payload(&self.genesis_hash))
            .to_bytes();
        Ok(SignedTx { tx, signature })
    }

    /// The fee `call` would pay if `signer` sent it now, rao (0 for free calls): the chain's
    /// formula (`tao_types::metering`) over the encoded size (which does not depend on the
    /// nonce or mortality), the call's weight (a registration reads the subnet's size) and
    /// the fee parameters in force.
    pub async fn estimate_fee_rao(
        &self,
        signer: AccountId,
        call: &Call,
    ) -> Result<u64, ClientError> {
        if call.is_free() {
            return Ok(0);
        }
        let rpc = self.rpc().await?;
        let globals = rpc.state_get_global_params().await?;
        let mut inputs = tao_types::metering::WeightInputs::default();
        if let Call::BurnedRegister { netuid, .. } = call
            && let Some(subnet) = rpc.subnet_info_get_subnet_info(*netuid).await?
            && subnet.n >= subnet.max_allowed_uids
        {
            inputs.replace_among = subnet.n;
        }
        let weight = tao_types::metering::call_weight(call, &inputs, &globals);
        let tx = SignedTx {
            tx: UnsignedTx {
                signer,
                nonce: 0,
                mortality: Mortality {
                    birth: 0,
                    period: MORTALITY_BLOCKS,
                },
                call: call.clone(),
            },
            signature: [0; 64],
        };
        Ok(call.fee_rao(tx.encoded_size(), weight, &globals))
    }

    /// Submits a signed transaction; returns its hash. Rejections carry the state machine's
    /// reason.
    pub async fn submit(&self, tx: &SignedTx) -> Result<Vec<u8>, ClientError> {
        let rpc = self.rpc().await?;
        let result = rpc.author_submit_extrinsic(Bytes(tx.encode())).await;
        if result.is_err() {
            self.forget_nonce(tx).await;
        }
        Ok(result?.0)
    }

    /// Signs, submits and follows `call` until it is finalized (or dropped), reporting every
    /// status to `progress`; gives up after `deadline`.
    pub async fn submit_and_watch(
        &self,
        signer: &Keypair,
        call: Call,
        deadline: Duration,
        mut progress: impl FnMut(&TxStatus),
    ) -> Result<Finalized, ClientError> {
        let tx = self.sign(signer, call).await?;
        let tx_hash = tx.hash().0.to_vec();
        let rpc = self.rpc().await?;
        let subscribed: Result<Subscription<TxStatus>, _> =
            rpc.author_submit_and_watch(Bytes(tx.encode())).await;
        let mut subscription = match subscribed {
            Ok(subscription) => subscription,
            Err(error) => {
                self.forget_nonce(&tx).await;
                return Err(error.into());
            }
        };
        let watch = async {
            while let Some(status) = subscription.next().await {
                let status = status.map_err(|e| ClientError::BadResponse(e.to_string()))?;
                progress(&status);
                match status {
                    TxStatus::Finalized {
                        block,
                        number,
                        success,
                        error,
                    } => {
                        return Ok(Finalized {
                            tx_hash,
                            block: block.0,
                            number,
                            success,
                            error,
                        });
                    }
                    TxStatus::Dropped { error } => return Err(ClientError::Dropped(error)),
                    TxStatus::Ready | TxStatus::InBlock { .. } => {}
                }
            }
            Err(ClientError::BadResponse(
                "the node closed the subscription".into(),
            ))
        };
        tokio::time::timeout(deadline, watch)
            .await
            .map_err(|_| ClientError::Timeout(deadline))?
    }

    /// Forgets the nonces this client handed out for `account`, so that the next [`sign`]
    /// uses the chain's next index again (after a transaction was lost: timed out, dropped).
    ///
    /// [`sign`]: Client::sign
    pub async fn forget_nonces(&self, account: &AccountId) {
        self.next_nonces.lock().await.remove(account);
    }

    /// After a rejected submission the nonce is free again.
    async fn forget_nonce(&self, tx: &SignedTx) {
        let mut nonces = self.next_nonces.lock().await;
        if nonces.get(&tx.tx.signer) == Some(&tx.tx.nonce.saturating_add(1)) {
            nonces.insert(tx.tx.signer, tx.tx.nonce);
        }
    }

    /// A raw JSON-RPC call (for methods outside [`TaoApiClient`]).
    pub async fn request<R: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: jsonrpsee::core::params::ArrayParams,
    ) -> Result<R, ClientError> {
        Ok(self.rpc().await?.request(method, params).await?)
    }

    /// Subscribes by method name (for subscriptions outside [`TaoApiClient`]).
    pub async fn subscribe<N: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: jsonrpsee::core::params::ArrayParams,
        unsubscribe: &str,
    ) -> Result<Subscription<N>, ClientError> {
        Ok(self
            .rpc()
            .await?
            .subscribe(method, params, unsubscribe)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_resolve() {
        assert_eq!(
            resolve_endpoint("local").ok().as_deref(),
            Some(LOCAL_ENDPOINT)
        );
        assert_eq!(
            resolve_endpoint("ws://10.0.0.1:9000").ok().as_deref(),
            Some("ws://10.0.0.1:9000")
        );
        assert!(matches!(
            resolve_endpoint("finney"),
            Err(ClientError::BadEndpoint(_))
        ));
        assert!(matches!(
            resolve_endpoint("http://x"),
            Err(ClientError::BadEndpoint(_))
        ));
    }
}
