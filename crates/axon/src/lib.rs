//! Axon (HTTP server) and dendrite (HTTP client) for Tao subnets, byte-compatible with the
//! bittensor SDK 10.x synapse protocol (DESIGN.md D8; `reference/sdk.md` §2).
//!
//! * [`Synapse`]: a typed request/response (JSON body next to the SDK's base fields, see
//!   [`Envelope`]), its `bt_header_*` headers ([`headers`]) and body hash ([`body_hash`], with
//!   Python's `str()` semantics from [`pyrepr`]).
//! * [`signing`]: the dot-joined signing message, `0x`-hex sr25519 signatures, nanosecond nonces.
//! * [`btauth`]: the SDK 11 `btauth/1` signing scheme for plain HTTP requests (sign and verify).
//! * [`Axon`]: the server. Handlers per synapse ([`Handler`]: `forward` or streaming, with
//!   `blacklist`, `priority`, `verify` hooks); signature and replay checks, allow-list by
//!   [`StakeView`], per-hotkey rate limit, bounded priority queue, body limit, server-side timeout,
//!   connection caps and timeouts (no body read before the caller is admitted), Prometheus
//!   metrics. Every limit is in [`AxonConfig`] (ADR 007).
//! * [`Dendrite`]: the client. One connection pool, concurrent fan-out ([`Dendrite::query`]),
//!   streaming ([`Dendrite::call_stream`]), every call bounded by its timeout, the answers
//!   buffered at once bounded by [`MAX_BUFFERED_BYTES`].
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use serde::{Deserialize, Serialize};
//! use tao_axon::{Axon, AxonConfig, Dendrite, Handler, Synapse};
//! use tao_keys::Keypair;
//!
//! #[derive(Clone, Debug, Serialize, Deserialize)]
//! struct Dummy { dummy_input: i64, dummy_output: Option<i64> }
//! impl Synapse for Dummy {
//!     const NAME: &'static str = "Dummy";
//!     const REQUIRED_FIELDS: &'static [&'static str] = &["dummy_input"];
//!     const HASH_FIELDS: &'static [&'static str] = &["dummy_input"];
//! }
//!
//! let miner = Keypair::from_uri("//Alice").map_err(std::io::Error::other)?;
//! let mut axon = Axon::new(miner, AxonConfig::default());
//! axon.attach(Handler::<Dummy>::forward(|mut s, _caller| async move {
//!     s.dummy_output = Some(s.dummy_input * 2);
//!     Ok(s)
//! }));
//! let running = axon.serve().await?;
//!
//! let validator = Dendrite::new(Keypair::from_uri("//Bob").map_err(std::io::Error::other)?);
//! let answers = validator
//!     .query(&[running.target()], &Dummy { dummy_input: 21, dummy_output: None },
//!            std::time::Duration::from_secs(12))
//!     .await;
//! assert_eq!(answers[0].synapse.as_ref().and_then(|s| s.dummy_output), Some(42));
//! # Ok(()) }
//! ```
//!
//! Nothing in the library panics on input from the network: parsers return [`WireError`].

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod body;
pub mod btauth;
mod client;
pub mod demo;
mod error;
pub mod headers;
pub mod limits;
mod metrics;
pub mod nonce;
pub mod pyrepr;
mod server;
pub mod signing;
mod synapse;

pub use body::AxonBody;
pub use client::{
    AxonTarget, Dendrite, DendriteResponse, MAX_BUFFERED_BYTES, MAX_RESPONSE_BYTES,
    PreparedRequest, SynapseStream,
};
pub use error::{ClientError, WireError};
pub use metrics::Metrics;
pub use server::{
    AllowList, Axon, AxonConfig, AxonHandle, Caller, ChunkSender, Handler, Ping, StakeView,
    StreamClosed,
};
pub use synapse::{
    DEFAULT_TIMEOUT, Envelope, Synapse, TerminalInfo, body_hash, body_hash_of_value,
    input_obj_placeholder, sha3_hex,
};
