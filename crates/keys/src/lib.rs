//! Tao account keys, compatible with the bittensor wallet and Substrate (DESIGN.md D4).
//!
//! * [`Keypair`]: sr25519 (schnorrkel, Ed25519 expansion, signing context `substrate`) from a
//!   32-byte mini secret, a BIP39 phrase (Substrate's variant: the seed is PBKDF2 of the
//!   *entropy*), or a Substrate secret URI such as `//Alice` or `PHRASE//hot/0///password`.
//! * [`PublicKey`] (the account id) and [`Signature`]: plain byte arrays with SS58 (prefix 42),
//!   `0x`-hex, serde and SCALE (`parity-scale-codec`, raw bytes) forms.
//! * [`verify`] and [`verify_batch`]: total functions, `false` on any bad input; batch
//!   verification is deterministic (no randomness), so every node reaches the same verdict.
//!
//! Nothing here panics on input; every parser returns [`KeyError`].

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod error;
mod pair;
mod public;

use std::sync::LazyLock;

use schnorrkel::context::SigningContext;

pub use error::KeyError;
pub use pair::{DEV_PHRASE, DeriveJunction, Keypair};
pub use public::{PublicKey, SS58_PREFIX, Signature};

/// The schnorrkel signing context of Substrate account signatures.
pub const SIGNING_CONTEXT: &[u8] = b"substrate";

/// The `substrate` signing context, built once (each use clones its transcript).
fn signing_context() -> &'static SigningContext {
    static CONTEXT: LazyLock<SigningContext> =
        LazyLock::new(|| schnorrkel::signing_context(SIGNING_CONTEXT));
    &CONTEXT
}

/// Whether `signature` is `public`'s signature of `message`. `false` for any malformed key or
/// signature bytes; never panics.
pub fn verify(public: &PublicKey, message: &[u8], signature: &Signature) -> bool {
    let Ok(key) = schnorrkel::PublicKey::from_bytes(public.as_bytes()) else {
        return false;
    };
    let Ok(sig) = schnorrkel::Signature::from_bytes(signature.as_bytes()) else {
        return false;
    };
    key.verify(signing_context().bytes(message), &sig).is_ok()
}

/// Whether every `(public key, message, signature)` triple verifies, checked together (about
/// twice as fast as one by one). `true` for an empty batch; `false` if any key or signature is
/// malformed or any signature is wrong (it does not say which: fall back to [`verify`] for that).
///
/// Deterministic: the batch's random linear combination is derived from its contents
/// (schnorrkel `verify_batch_deterministic`), not from an RNG.
pub fn verify_batch(items: &[(PublicKey, &[u8], Signature)]) -> bool {
    let mut keys = Vec::with_capacity(items.len());
    let mut sigs = Vec::with_capacity(items.len());
    for (public, _, signature) in items {
        let Ok(key) = schnorrkel::PublicKey::from_bytes(public.as_bytes()) else {
            return false;
        };
        let Ok(sig) = schnorrkel::Signature::from_bytes(signature.as_bytes()) else {
            return false;
        };
        keys.push(key);
        sigs.push(sig);
    }
    let context = signing_context();
    let transcripts = items.iter().map(|(_, message, _)| context.bytes(message));
    schnorrkel::verify_batch_deterministic(transcripts, &sigs, &keys, false).is_ok()
}
