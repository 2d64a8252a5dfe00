//! Axon (HTTP server) and dendrite (HTTP client) for Tao subnets, byte-compatible with the
//! bittensor SDK 10.x synapse protocol (DESIGN.md D8; `reference/sdk.md` §2).
//!
//! * [`Synapse`]: a typed request/response (JSON body next to the SDK's base fields, see
//!   [`Envelope`]), its `bt_header_*` headers ([`headers`]) and body hash ([`body_hash`], with
//!   Python's `str()` semantics from [`pyrepr`]).
//! * [`signing`]: the dot-joined signing message, `0x`-hex sr25519 signatures, nanosecond nonces.
//!
//! Nothing in the library panics on input from the network: parsers return [`WireError`].

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod error;
pub mod headers;
pub mod pyrepr;
pub mod signing;
mod synapse;

pub use error::{ClientError, WireError};
pub use synapse::{
    DEFAULT_TIMEOUT, Envelope, Synapse, TerminalInfo, body_hash, body_hash_of_value,
    input_obj_placeholder, sha3_hex,
};
