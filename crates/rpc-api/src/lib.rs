//! The Tao JSON-RPC interface, shared by the node (server) and `tao-client`.
//!
//! Method names follow the live network where it has the same method (`neuronInfo_getNeurons`,
//! `subnetInfo_getMetagraph`, ...; DESIGN D7). Reads answer from committed (finalized) state.
//! Accounts are SS58 addresses (or `0x`-hex), hashes and transactions `0x`-hex, amounts rao.
//! Response types of the state reads are `tao_types::views`.

use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::types::ErrorObjectOwned;
use tao_primitives::{NetUid, Uid};
use tao_types::error::InvalidTx;
use tao_types::params::{GlobalParams, Hyperparams};
use tao_types::views::{
    AccountView, DelegateView, DynamicView, MetagraphView, NeuronView, StakeView, SubnetView,
    WeightCommitView,
};

mod types;

pub use types::{BlockId, BlockView, Bytes, EventsView, HeaderView, Health, ReceiptView, TxStatus};

/// Result of an RPC method.
pub type RpcResult<T> = Result<T, ErrorObjectOwned>;

/// Application error codes (JSON-RPC reserves −32768..−32000 for the protocol).
pub mod codes {
    /// A transaction was rejected at submission; the message is the state machine's error.
    pub const INVALID_TRANSACTION: i32 = 1010;
    /// The mempool is full or the sender has too many bytes of transactions waiting (a nonce
    /// too far ahead or fees the balance cannot cover are `INVALID_TRANSACTION`).
    pub const POOL_FULL: i32 = 1014;
    /// The connection used up its call budget; the message says when to retry and `data` is
    /// `{"retry_after_ms": N}`. The connection stays open.
    pub const RATE_LIMITED: i32 = 1029;
    /// A parameter is malformed (bad address, bad hex, out-of-range number).
    pub const BAD_PARAMS: i32 = -32602;
    /// The node cannot answer (storage error); see its logs.
    pub const INTERNAL: i32 = -32603;
}

/// The chain's JSON-RPC methods.
#[rpc(server, client)]
pub trait TaoApi {
    /// Peers, sync state, best and finalized heights.
    #[method(name = "system_health")]
    async fn system_health(&self) -> RpcResult<Health>;

    /// The chain spec the node runs.
    #[method(name = "system_chainSpec")]
    async fn system_chain_spec(&self) -> RpcResult<serde_json::Value>;

    /// A block header by hash or height (the finalized head when omitted).
    #[method(name = "chain_getHeader")]
    async fn chain_get_header(&self, at: Option<BlockId>) -> RpcResult<Option<HeaderView>>;

    /// A block with its transactions (the finalized head when omitted).
    #[method(name = "chain_getBlock")]
    async fn chain_get_block(&self, at: Option<BlockId>) -> RpcResult<Option<BlockView>>;

    /// The chain's genesis hash: what every transaction signs (replay protection).
    #[method(name = "chain_getGenesisHash")]
    async fn chain_get_genesis_hash(&self) -> RpcResult<Bytes>;

    /// Hash of the last finalized block.
    #[method(name = "chain_getFinalizedHead")]
    async fn chain_get_finalized_head(&self) -> RpcResult<Bytes>;

    /// Receipts and events of a block (the finalized head when omitted).
    #[method(name = "chain_getEvents")]
    async fn chain_get_events(&self, at: Option<BlockId>) -> RpcResult<Option<EventsView>>;

    /// Every finalized header, as it is finalized.
    #[subscription(name = "chain_subscribeFinalizedHeads" => "chain_finalizedHead", unsubscribe = "chain_unsubscribeFinalizedHeads", item = HeaderView)]
    async fn chain_subscribe_finalized_heads(&self) -> SubscriptionResult;

    /// Submits a SCALE-encoded signed transaction; returns its hash.
    #[method(name = "author_submitExtrinsic")]
    async fn author_submit_extrinsic(&self, tx: Bytes) -> RpcResult<Bytes>;

    /// Submits a transaction and reports its progress until it is finalized or dropped.
    #[subscription(name = "author_submitAndWatch" => "author_extrinsicUpdate", unsubscribe = "author_unwatchExtrinsic", item = TxStatus)]
    async fn author_submit_and_watch(&self, tx: Bytes) -> SubscriptionResult;

    /// The nonce an account's next transaction must use (counting pending ones).
    #[method(name = "account_nextIndex")]
    async fn account_next_index(&self, account: String) -> RpcResult<u64>;

    /// An account's free balance and nonce.
    #[method(name = "state_getAccount")]
    async fn state_get_account(&self, account: String) -> RpcResult<AccountView>;

    /// The chain-wide parameters in force (fees, minimum stake, take bounds, rate limits).
    #[method(name = "state_getGlobalParams")]
    async fn state_get_global_params(&self) -> RpcResult<GlobalParams>;

    /// Every subnet.
    #[method(name = "subnetInfo_getSubnetsInfo")]
    async fn subnet_info_get_subnets_info(&self) -> RpcResult<Vec<SubnetView>>;

    /// One subnet.
    #[method(name = "subnetInfo_getSubnetInfo")]
    async fn subnet_info_get_subnet_info(&self, netuid: NetUid) -> RpcResult<Option<SubnetView>>;

    /// A subnet's hyperparameters.
    #[method(name = "subnetInfo_getSubnetHyperparams")]
    async fn subnet_info_get_subnet_hyperparams(
        &self,
        netuid: NetUid,
    ) -> RpcResult<Option<Hyperparams>>;

    /// A subnet's pool, prices and emissions.
    #[method(name = "subnetInfo_getDynamicInfo")]
    async fn subnet_info_get_dynamic_info(&self, netuid: NetUid) -> RpcResult<Option<DynamicView>>;

    /// A subnet's metagraph (struct of arrays).
    #[method(name = "subnetInfo_getMetagraph")]
    async fn subnet_info_get_metagraph(&self, netuid: NetUid) -> RpcResult<Option<MetagraphView>>;

    /// What registering a subnet costs now, rao.
    #[method(name = "subnetInfo_getLockCost")]
    async fn subnet_info_get_lock_cost(&self) -> RpcResult<u64>;

    /// A subnet's current registration burn, rao.
    #[method(name = "subnetInfo_getBurn")]
    async fn subnet_info_get_burn(&self, netuid: NetUid) -> RpcResult<Option<u64>>;

    /// Every neuron of a subnet with weights and bonds.
    #[method(name = "neuronInfo_getNeurons")]
    async fn neuron_info_get_neurons(&self, netuid: NetUid) -> RpcResult<Vec<NeuronView>>;

    /// One neuron.
    #[method(name = "neuronInfo_getNeuron")]
    async fn neuron_info_get_neuron(
        &self,
        netuid: NetUid,
        uid: Uid,
    ) -> RpcResult<Option<NeuronView>>;

    /// A hotkey's unrevealed weight commits on a subnet, oldest first.
    #[method(name = "subnetInfo_getWeightCommits")]
    async fn subnet_info_get_weight_commits(
        &self,
        netuid: NetUid,
        hotkey: String,
    ) -> RpcResult<Vec<WeightCommitView>>;

    /// Every stake position of a coldkey.
    #[method(name = "stakeInfo_getStakeInfoForColdkey")]
    async fn stake_info_get_stake_info_for_coldkey(
        &self,
        coldkey: String,
    ) -> RpcResult<Vec<StakeView>>;

    /// Every delegate (hotkeys others stake to).
    #[method(name = "delegateInfo_getDelegates")]
    async fn delegate_info_get_delegates(&self) -> RpcResult<Vec<DelegateView>>;
}

/// An error object with an application code.
pub fn error(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, message.into(), None::<()>)
}

/// The error a node answers a refused transaction with: code [`codes::INVALID_TRANSACTION`],
/// the reason as the message and, as `data`, the typed [`InvalidTx`] clients branch on.
pub fn invalid_transaction(invalid: &InvalidTx) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(
        codes::INVALID_TRANSACTION,
        invalid.to_string(),
        Some(invalid),
    )
}

/// The typed reason of an [`invalid_transaction`] error; `None` for any other error.
pub fn invalid_transaction_of(error: &ErrorObjectOwned) -> Option<InvalidTx> {
    if error.code() != codes::INVALID_TRANSACTION {
        return None;
    }
    serde_json::from_str(error.data()?.get()).ok()
}

/// Parses an account parameter (SS58 or `0x`-hex) or returns a `BAD_PARAMS` error.
pub fn parse_account(text: &str) -> RpcResult<tao_primitives::AccountId> {
    tao_types::serde_account::from_text(text).ok_or_else(|| {
        error(
            codes::BAD_PARAMS,
            format!("invalid account {text:?}: expected an SS58 address or 0x + 64 hex digits"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tao_types::error::TxError;

    #[test]
    fn a_refused_transaction_carries_its_typed_reason() {
        let refused = InvalidTx::FreeCallFailed(TxError::SettingWeightsTooFast);
        let object = invalid_transaction(&refused);
        assert_eq!(object.code(), codes::INVALID_TRANSACTION);
        assert_eq!(object.message(), refused.to_string());
        assert_eq!(invalid_transaction_of(&object), Some(refused));
        // Any other error, or one whose data is not an `InvalidTx`, has no typed reason.
        assert_eq!(
            invalid_transaction_of(&error(codes::POOL_FULL, "full")),
            None
        );
        let untyped = ErrorObjectOwned::owned(codes::INVALID_TRANSACTION, "x", Some("junk"));
        assert_eq!(invalid_transaction_of(&untyped), None);
    }
}
