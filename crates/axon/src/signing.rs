//! Dendrite → axon request signing: the SDK's dot-joined message, `0x`-hex sr25519 signatures,
//! nanosecond nonces and per-client uuids.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tao_keys::{Keypair, Signature, VerifyingKey};

use crate::WireError;

/// The SDK version this crate speaks, as `version_as_int` (10.5.0). Versions from 7.2.0
/// (`7002000`) on enable the axon's nonce time window.
pub const SDK_VERSION: u64 = 10_005_000;

/// The first SDK version whose nonces are checked against a time window (7.2.0).
pub const V_7_2_0: u64 = 7_002_000;

/// The message a dendrite signs: `{nonce}.{dendrite_hotkey}.{axon_hotkey}.{uuid}.{body_hash}`.
pub fn signing_message(
    nonce: u64,
    dendrite_hotkey: &str,
    axon_hotkey: &str,
    uuid: &str,
    body_hash: &str,
) -> String {
    format!("{nonce}.{dendrite_hotkey}.{axon_hotkey}.{uuid}.{body_hash}")
}

/// Sign `message` and format it as the SDK does: `0x` and 128 lowercase hex digits.
pub fn sign_hex(pair: &Keypair, message: &str) -> String {
    pair.sign(message.as_bytes()).to_hex()
}

/// Parse a signature header. Like the SDK's verifier, the `0x` prefix is required.
///
/// # Errors
/// [`WireError::BadSignatureFormat`] without the prefix, with bad hex or a wrong length.
pub fn parse_signature(text: &str) -> Result<Signature, WireError> {
    let hex = text
        .strip_prefix("0x")
        .ok_or(WireError::BadSignatureFormat)?;
    Signature::from_hex(hex).map_err(|_| WireError::BadSignatureFormat)
}

/// Whether `signature` signs `message` under `key`, directly or wrapped in `<Bytes>…</Bytes>`
/// (polkadot.js signers), as the SDK's `Keypair.verify` accepts.
pub fn verify_message(key: &VerifyingKey, message: &[u8], signature: &Signature) -> bool {
    if key.verify(message, signature) {
        return true;
    }
    let mut wrapped = Vec::with_capacity(message.len() + 15);
    wrapped.extend_from_slice(b"<Bytes>");
    wrapped.extend_from_slice(message);
    wrapped.extend_from_slice(b"</Bytes>");
    key.verify(&wrapped, signature)
}

/// Unix time in nanoseconds (`time.time_ns()`); 0 if the clock is before 1970.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Nonces for one client: the current time in nanoseconds, but strictly increasing even when two
/// requests are signed within the same nanosecond or the clock steps back.
#[derive(Debug, Default)]
pub struct NonceSource {
    last: AtomicU64,
}

impl NonceSource {
    /// A new source.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next nonce: `max(now_ns, previous + 1)`.
    pub fn next(&self) -> u64 {
        let now = now_ns();
        let mut prev = self.last.load(Ordering::Relaxed);
        loop {
            let next = now.max(prev.saturating_add(1));
            match self
                .last
                .compare_exchange_weak(prev, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(actual) => prev = actual,
            }
        }
    }
}

/// A random version-4 uuid string (the SDK uses `uuid1`; any unique text works).
pub fn new_uuid() -> String {
    let mut b = [0u8; 16];
    if getrandom::getrandom(&mut b).is_err() {
        // No OS randomness: fall back to the clock, still unique per process start.
        b[..8].copy_from_slice(&now_ns().to_le_bytes());
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tao_keys::PublicKey;

    const VALI: &str = "5EPCUjPxiHAcNooYipQFWr9NmmXJKpNG5RhcntXwbtUySrgH";
    const MINER: &str = "5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe";

    /// sdk.md §2.11: the message and signature a Python 10.5.0 dendrite sent.
    #[test]
    fn worked_example_signature_verifies() {
        let message = signing_message(
            1795608528163740329,
            VALI,
            MINER,
            "f845f842-e8c8-11f1-85c1-02fc00000001",
            "92458924edc5f6c19fb90d1d8cec7ec179fd1a4dc293e2d97f8578f6f13ba970",
        );
        assert_eq!(
            message,
            "1795608528163740329.5EPCUjPxiHAcNooYipQFWr9NmmXJKpNG5RhcntXwbtUySrgH.5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe.f845f842-e8c8-11f1-85c1-02fc00000001.92458924edc5f6c19fb90d1d8cec7ec179fd1a4dc293e2d97f8578f6f13ba970"
        );
        let sig = parse_signature("0x2ae4509e6909b3fa87b781a3a262b69988ca18d80d9390b13828a7a3e8a3773470531459f3b851973c11eb96f5dbb5ab46150268e70ea530f634813826f7db8e").unwrap();
        let key = VerifyingKey::new(&PublicKey::from_ss58(VALI).unwrap()).unwrap();
        assert!(verify_message(&key, message.as_bytes(), &sig));
        assert!(!verify_message(&key, b"other", &sig));
        let miner = VerifyingKey::new(&PublicKey::from_ss58(MINER).unwrap()).unwrap();
        assert!(!verify_message(&miner, message.as_bytes(), &sig));
    }

    #[test]
    fn our_signatures_verify_and_need_0x() {
        let pair = Keypair::from_phrase(
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
            None,
        )
        .unwrap();
        assert_eq!(pair.public().to_ss58(), VALI);
        let sig = sign_hex(&pair, "m");
        assert!(sig.starts_with("0x") && sig.len() == 130);
        let key = VerifyingKey::new(&pair.public()).unwrap();
        assert!(verify_message(&key, b"m", &parse_signature(&sig).unwrap()));
        assert_eq!(
            parse_signature(&sig[2..]),
            Err(WireError::BadSignatureFormat)
        );
        let wrapped = pair.sign(b"<Bytes>m</Bytes>");
        assert!(verify_message(&key, b"m", &wrapped));
    }

    #[test]
    fn nonces_increase_and_uuids_differ() {
        let s = NonceSource::new();
        let a = s.next();
        let b = s.next();
        assert!(b > a && a > 1_700_000_000_000_000_000);
        let (u, v) = (new_uuid(), new_uuid());
        assert_ne!(u, v);
        assert_eq!(u.len(), 36);
    }
}
