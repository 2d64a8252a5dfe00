//! The Tao chain node: the application that runs the `tao-state` state machine under
//! commonware simplex BFT consensus with marshal's ordered finalized-block delivery
//! ([`app::Chain`]), the block format ([`block::Block`]), the mempool
//! ([`mempool::Mempool`]), the committed state in redb ([`storage::RedbStore`]), JSON-RPC
//! ([`rpc`]), Prometheus metrics ([`metrics`]) and the running service ([`service`]).
//!
//! Commonware types stay inside this crate (DESIGN §2); every `commonware-*` crate is pinned to
//! one exact version in the workspace. The deterministic multi-validator simulation lives in
//! `tests/simulation.rs`.

pub mod app;
pub mod archive;
pub mod block;
pub mod block_log;
pub mod engine;
pub mod events;
pub mod gossip;
pub mod mempool;
pub mod metrics;
pub mod rpc;
pub mod service;
pub mod storage;

/// The chain spec a node starts from (genesis, validators, parameters), re-exported so that
/// binaries configure a node without depending on the state machine.
pub use tao_state::spec::{ChainSpec, SpecError, ValidatorSpec, parse_account};
