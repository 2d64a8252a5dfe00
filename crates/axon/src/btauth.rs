//! `btauth/1`: the SDK 11 request-signing scheme for plain HTTP (`reference/sdk.md` §2.13),
//! sr25519 only.
//!
//! The signed payload is the `\n`-joined lines `btauth/1`, scheme, METHOD, request target (path
//! and `?query` as sent), sha256 hex of the raw body, nonce (ns), sender SS58, receiver SS58 or
//! `-`. [`Verifier::verify`] checks, in the scheme's order: header shape → receiver → freshness
//! (at most 10 s old, 2 s ahead) → signature → replay store (60 s retention, written only after
//! the signature verified).

use std::collections::HashMap;
use std::sync::Mutex;

use http::HeaderMap;
use sha2::{Digest, Sha256};
use tao_keys::{Keypair, PublicKey, VerifyingKey};

use crate::signing::{parse_signature, verify_message};

/// `X-Bittensor-Version`.
pub const H_VERSION: &str = "x-bittensor-version";
/// `X-Bittensor-Hotkey`.
pub const H_HOTKEY: &str = "x-bittensor-hotkey";
/// `X-Bittensor-Receiver`.
pub const H_RECEIVER: &str = "x-bittensor-receiver";
/// `X-Bittensor-Nonce`.
pub const H_NONCE: &str = "x-bittensor-nonce";
/// `X-Bittensor-Crypto`.
pub const H_CRYPTO: &str = "x-bittensor-crypto";
/// `X-Bittensor-Signature`.
pub const H_SIGNATURE: &str = "x-bittensor-signature";

/// Largest age of an accepted nonce, ns.
pub const MAX_AGE_NS: u64 = 10_000_000_000;
/// Largest lead of an accepted nonce over the verifier's clock, ns.
pub const MAX_LEAD_NS: u64 = 2_000_000_000;
/// How long a (hotkey, nonce) is remembered, ns.
pub const REPLAY_RETENTION_NS: u64 = 60_000_000_000;

/// Why a `btauth/1` request was refused (the scheme's error names).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Missing or malformed headers, or an unsupported scheme.
    #[error("MalformedAuth: {0}")]
    MalformedAuth(String),
    /// Addressed to another hotkey, or no receiver where one is required.
    #[error("WrongReceiver")]
    WrongReceiver,
    /// The nonce is too old or too far in the future.
    #[error("StaleRequest")]
    StaleRequest,
    /// The signature does not verify.
    #[error("BadSignature")]
    BadSignature,
    /// This (hotkey, nonce) was already accepted.
    #[error("ReplayedRequest")]
    ReplayedRequest,
}

impl AuthError {
    /// The HTTP status an app answers with: 403 for a wrong receiver, 401 otherwise.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::WrongReceiver => 403,
            _ => 401,
        }
    }
}

/// The signed payload.
pub fn payload(
    method: &str,
    target: &str,
    body: &[u8],
    nonce: u64,
    sender: &str,
    receiver: Option<&str>,
) -> String {
    let body_hash = hex::encode(Sha256::digest(body));
    format!(
        "btauth/1\nsr25519\n{}\n{target}\n{body_hash}\n{nonce}\n{sender}\n{}",
        method.to_ascii_uppercase(),
        receiver.unwrap_or("-")
    )
}

/// The headers that sign a request (`X-Bittensor-Crypto` omitted: sr25519).
pub fn sign(
    keypair: &Keypair,
    method: &str,
    target: &str,
    body: &[u8],
    receiver: Option<&str>,
    nonce: u64,
) -> Vec<(&'static str, String)> {
    let sender = keypair.public().to_ss58();
    let message = payload(method, target, body, nonce, &sender, receiver);
    let mut out = vec![
        (H_VERSION, "1".to_owned()),
        (H_HOTKEY, sender),
        (H_NONCE, nonce.to_string()),
        (H_SIGNATURE, keypair.sign(message.as_bytes()).to_hex()),
    ];
    if let Some(r) = receiver {
        out.push((H_RECEIVER, r.to_owned()));
    }
    out
}

/// Checks `btauth/1` requests addressed to one hotkey, remembering accepted nonces.
#[derive(Debug)]
pub struct Verifier {
    me: String,
    require_receiver: bool,
    seen: Mutex<HashMap<(String, u64), u64>>,
}

impl Verifier {
    /// A verifier for requests to `me` (SS58); `require_receiver` refuses requests without
    /// `X-Bittensor-Receiver` (the scheme's default).
    pub fn new(me: &str, require_receiver: bool) -> Self {
        Self {
            me: me.to_owned(),
            require_receiver,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// The checks that need no body: header shape, receiver and freshness. An axon runs them
    /// before it reads a body, so that a request it would refuse costs it no body bytes.
    ///
    /// # Errors
    /// [`AuthError::MalformedAuth`], [`AuthError::WrongReceiver`] or
    /// [`AuthError::StaleRequest`].
    pub fn check_headers(&self, headers: &HeaderMap, now: u64) -> Result<(), AuthError> {
        self.parse(headers, now).map(|_| ())
    }

    /// Verify a request; `Ok(sender)` on success.
    ///
    /// # Errors
    /// [`AuthError`], in the scheme's check order.
    pub fn verify(
        &self,
        method: &str,
        target: &str,
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
    ) -> Result<PublicKey, AuthError> {
        let signed = self.parse(headers, now)?;
        let message = payload(
            method,
            target,
            body,
            signed.nonce,
            signed.sender,
            signed.receiver,
        );
        if !verify_message(&signed.key, message.as_bytes(), &signed.signature) {
            return Err(AuthError::BadSignature);
        }
        let (sender, nonce) = (signed.sender, signed.nonce);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > 100_000 {
            seen.retain(|_, expiry| *expiry > now);
        }
        let entry = (sender.to_owned(), nonce);
        if seen.get(&entry).is_some_and(|expiry| *expiry > now) {
            return Err(AuthError::ReplayedRequest);
        }
        seen.insert(entry, now.saturating_add(REPLAY_RETENTION_NS));
        Ok(signed.key.public())
    }

    /// Header shape → receiver → freshness.
    fn parse<'h>(&self, headers: &'h HeaderMap, now: u64) -> Result<Signed<'h>, AuthError> {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let malformed = |what: &str| AuthError::MalformedAuth(what.to_owned());
        if get(H_VERSION) != Some("1") {
            return Err(malformed("X-Bittensor-Version must be 1"));
        }
        match get(H_CRYPTO) {
            None | Some("sr25519") => {}
            Some(_) => return Err(malformed("only sr25519 is supported")),
        }
        let sender = get(H_HOTKEY).ok_or_else(|| malformed("missing X-Bittensor-Hotkey"))?;
        let key = PublicKey::from_ss58(sender)
            .ok()
            .and_then(|p| VerifyingKey::new(&p).ok())
            .ok_or_else(|| malformed("bad X-Bittensor-Hotkey"))?;
        let nonce: u64 = get(H_NONCE)
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| malformed("bad X-Bittensor-Nonce"))?;
        let signature = get(H_SIGNATURE)
            .and_then(|s| parse_signature(s).ok())
            .ok_or_else(|| malformed("bad X-Bittensor-Signature"))?;
        let receiver = get(H_RECEIVER);
        match receiver {
            Some(r) if r != self.me => return Err(AuthError::WrongReceiver),
            None if self.require_receiver => return Err(AuthError::WrongReceiver),
            _ => {}
        }
        if now.saturating_sub(nonce) > MAX_AGE_NS || nonce.saturating_sub(now) > MAX_LEAD_NS {
            return Err(AuthError::StaleRequest);
        }
        Ok(Signed {
            sender,
            key,
            nonce,
            signature,
            receiver,
        })
    }
}

/// The parsed signing headers of a request.
struct Signed<'h> {
    sender: &'h str,
    key: VerifyingKey,
    nonce: u64,
    signature: tao_keys::Signature,
    receiver: Option<&'h str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn sign_verify_and_every_refusal() {
        let alice = Keypair::from_uri("//Alice").unwrap();
        let bob = Keypair::from_uri("//Bob").unwrap().public().to_ss58();
        let now = 1_800_000_000_000_000_000;
        let v = Verifier::new(&bob, true);
        let signed = sign(&alice, "post", "/v1/x?a=1", b"{}", Some(&bob), now);
        let h = headers(&signed);
        assert_eq!(
            v.verify("POST", "/v1/x?a=1", &h, b"{}", now).unwrap(),
            alice.public()
        );
        assert_eq!(
            v.verify("POST", "/v1/x?a=1", &h, b"{}", now),
            Err(AuthError::ReplayedRequest)
        );
        let fresh = headers(&sign(&alice, "POST", "/v1/x", b"{}", Some(&bob), now + 1));
        assert_eq!(
            v.verify("POST", "/v1/x", &fresh, b"{x}", now),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            v.verify("GET", "/v1/x", &fresh, b"{}", now),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            v.verify("POST", "/v1/x", &fresh, b"{}", now + 11_000_000_000),
            Err(AuthError::StaleRequest)
        );
        let other = Verifier::new(&alice.public().to_ss58(), true);
        // The body-free checks alone: receiver and freshness, and nothing is remembered.
        v.check_headers(&fresh, now).unwrap();
        assert_eq!(
            other.check_headers(&fresh, now),
            Err(AuthError::WrongReceiver)
        );
        assert_eq!(
            v.check_headers(&fresh, now + 11_000_000_000),
            Err(AuthError::StaleRequest)
        );
        assert_eq!(
            other.verify("POST", "/v1/x", &fresh, b"{}", now),
            Err(AuthError::WrongReceiver)
        );
        let no_receiver = headers(&sign(&alice, "POST", "/", b"", None, now));
        assert_eq!(
            v.verify("POST", "/", &no_receiver, b"", now),
            Err(AuthError::WrongReceiver)
        );
        assert!(
            Verifier::new(&bob, false)
                .verify("POST", "/", &no_receiver, b"", now)
                .is_ok()
        );
        assert!(matches!(
            v.verify("POST", "/", &HeaderMap::new(), b"", now),
            Err(AuthError::MalformedAuth(_))
        ));
        assert!(payload("get", "/p", b"", 5, "S", None).ends_with(
            "\nGET\n/p\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n5\nS\n-"
        ));
    }
}
