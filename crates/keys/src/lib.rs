//! Tao account keys, compatible with the bittensor wallet and Substrate (DESIGN.md D4).
//!
//! * [`Keypair`]: sr25519 (schnorrkel, Ed25519 expansion, signing context `substrate`) from a
//!   32-byte mini secret, a BIP39 phrase (Substrate's variant: the seed is PBKDF2 of the
//!   *entropy*), or a Substrate secret URI such as `//Alice` or `PHRASE//hot/0///password`.
//! * [`PublicKey`] (the account id) and [`Signature`]: plain byte arrays with SS58 (prefix 42),
//!   `0x`-hex, serde and SCALE (`parity-scale-codec`, raw bytes) forms.
//! * [`verify`] and [`verify_batch`]: total functions, `false` on any bad input; batch
//!   verification is deterministic (no randomness), so every node reaches the same verdict.
//!   [`VerifyingKey`] and [`verify_batch_prepared`] skip decompressing keys a caller has cached.
//!
//! Nothing here panics on input; every parser returns [`KeyError`].
//!
//! ```
//! use tao_keys::{Keypair, PublicKey, verify};
//!
//! let alice = Keypair::from_uri("//Alice")?;
//! assert_eq!(alice.public().to_ss58(), "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
//! let signature = alice.sign(b"hello");
//! let address: PublicKey = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY".parse()?;
//! assert!(verify(&address, b"hello", &signature));
//! # Ok::<(), tao_keys::KeyError>(())
//! ```

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

/// A public key already decompressed to a curve point, for verifying many signatures by one
/// account (decompression is a noticeable part of the cost of a verification).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey(schnorrkel::PublicKey);

impl VerifyingKey {
    /// Decompress `public`.
    ///
    /// # Errors
    /// [`KeyError::BadPublicKey`] when the bytes are not a valid Ristretto point.
    pub fn new(public: &PublicKey) -> Result<Self, KeyError> {
        schnorrkel::PublicKey::from_bytes(public.as_bytes())
            .map(Self)
            .map_err(|_| KeyError::BadPublicKey)
    }

    /// The compressed key.
    pub fn public(&self) -> PublicKey {
        PublicKey::from_bytes(self.0.to_bytes())
    }

    /// Whether `signature` is this key's signature of `message` (as [`verify`]).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> bool {
        let Ok(sig) = schnorrkel::Signature::from_bytes(signature.as_bytes()) else {
            return false;
        };
        self.0
            .verify(signing_context().bytes(message), &sig)
            .is_ok()
    }
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifyingKey({})", self.public())
    }
}

/// Whether `signature` is `public`'s signature of `message`. `false` for any malformed key or
/// signature bytes; never panics.
pub fn verify(public: &PublicKey, message: &[u8], signature: &Signature) -> bool {
    VerifyingKey::new(public).is_ok_and(|key| key.verify(message, signature))
}

/// Whether every `(public key, message, signature)` triple verifies, checked together (about
/// twice as fast as one by one). `true` for an empty batch; `false` if any key or signature is
/// malformed or any signature is wrong (it does not say which: fall back to [`verify`] for that).
///
/// Deterministic: the batch's random linear combination is derived from its contents
/// (schnorrkel `verify_batch_deterministic`), not from an RNG, so every node agrees.
pub fn verify_batch(items: &[(PublicKey, &[u8], Signature)]) -> bool {
    let mut keys = Vec::with_capacity(items.len());
    for (public, _, _) in items {
        let Ok(key) = VerifyingKey::new(public) else {
            return false;
        };
        keys.push(key);
    }
    batch(
        items
            .iter()
            .zip(&keys)
            .map(|((_, message, signature), key)| (key, *message, signature)),
    )
}

/// [`verify_batch`] with keys decompressed beforehand.
pub fn verify_batch_prepared(items: &[(VerifyingKey, &[u8], Signature)]) -> bool {
    batch(
        items
            .iter()
            .map(|(key, message, signature)| (key, *message, signature)),
    )
}

/// The deterministic batch check shared by [`verify_batch`] and [`verify_batch_prepared`].
fn batch<'a>(
    items: impl ExactSizeIterator<Item = (&'a VerifyingKey, &'a [u8], &'a Signature)>,
) -> bool {
    let mut keys = Vec::with_capacity(items.len());
    let mut sigs = Vec::with_capacity(items.len());
    let mut messages = Vec::with_capacity(items.len());
    for (key, message, signature) in items {
        let Ok(sig) = schnorrkel::Signature::from_bytes(signature.as_bytes()) else {
            return false;
        };
        keys.push(key.0);
        sigs.push(sig);
        messages.push(message);
    }
    let context = signing_context();
    let transcripts = messages.iter().map(|message| context.bytes(message));
    schnorrkel::verify_batch_deterministic(transcripts, &sigs, &keys, false).is_ok()
}
