//! Who is calling: the SDK's header signature and btauth/1, each with its replay rules.

use std::net::SocketAddr;

use tao_keys::{PublicKey, VerifyingKey};

use super::{Caller, Reject, Shared, reject};
use crate::headers::RequestHeaders;
use crate::signing::{now_ns, parse_signature, signing_message, verify_message};

/// Decompressed keys cached at most (then the cache starts over).
const KEY_CACHE: usize = 65_536;

/// A btauth/1 request's signing parts: its signature covers the raw body, so it is verified
/// once the body is read, after the caller passed the SDK header checks and admission.
pub(super) struct BtAuthRequest {
    method: String,
    target: String,
    headers: http::HeaderMap,
    arrived_ns: u64,
}

impl BtAuthRequest {
    /// The btauth/1 parts of a request that carries them (`None` without
    /// `X-Bittensor-Version`), after the checks that need no body: header shape, receiver
    /// (403 when it is another hotkey) and freshness.
    pub(super) fn from_request<B>(
        shared: &Shared,
        req: &http::Request<B>,
    ) -> Result<Option<Self>, Reject> {
        if !req.headers().contains_key(crate::btauth::H_VERSION) {
            return Ok(None);
        }
        let arrived_ns = now_ns();
        shared
            .btauth
            .check_headers(req.headers(), arrived_ns)
            .map_err(btauth_reject)?;
        Ok(Some(Self {
            method: req.method().as_str().to_owned(),
            target: req
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned(),
            headers: req.headers().clone(),
            arrived_ns,
        }))
    }

    /// btauth/1 (`reference/sdk.md` §2.13) over the raw body: the signature, then the replay
    /// store; the signer must be the caller the SDK headers proved.
    pub(super) fn verify(
        &self,
        shared: &Shared,
        body: &[u8],
        caller: &Caller,
    ) -> Result<(), Reject> {
        let sender = shared
            .btauth
            .verify(
                &self.method,
                &self.target,
                &self.headers,
                body,
                self.arrived_ns,
            )
            .map_err(btauth_reject)?;
        if sender != caller.hotkey {
            return Err(reject(
                401,
                format!(
                    "Not Verified with error: btauth/1 signer {} is not the caller {}",
                    sender.to_ss58(),
                    caller.hotkey_ss58
                ),
            ));
        }
        Ok(())
    }
}

fn btauth_reject(e: crate::btauth::AuthError) -> Reject {
    reject(e.status_code(), format!("Not Verified with error: {e}"))
}

/// The SDK's `default_verify`, with the nonce rules of [`NonceGuard`]: the nonce is checked
/// here and recorded only once the caller is admitted ([`commit_nonce`]).
pub(super) fn verify(
    shared: &Shared,
    headers: &RequestHeaders,
    peer: SocketAddr,
    name: &str,
    timeout: f64,
) -> Result<Caller, Reject> {
    let fail = |msg: String| reject(401, format!("Not Verified with error: {msg}"));
    let d = &headers.dendrite;
    let Some(hotkey_ss58) = d.hotkey.as_deref() else {
        return Err(fail(
            "No SS58 formatted address or public key provided.".into(),
        ));
    };
    let key = verifying_key(shared, hotkey_ss58)
        .ok_or_else(|| fail(format!("Invalid SS58 address {hotkey_ss58}")))?;
    let Some(nonce) = d.nonce else {
        return Err(fail("Missing Nonce".into()));
    };
    let uuid = d.uuid.as_deref().unwrap_or("None");
    let hotkey = key.public();
    shared
        .nonces
        .check(&hotkey, uuid, nonce, timeout, now_ns())
        .map_err(|e| fail(e.to_string()))?;
    let Some(signature_text) = d.signature.as_deref().filter(|s| !s.is_empty()) else {
        return Err(fail("Missing Signature".into()));
    };
    let signature = parse_signature(signature_text).map_err(|e| fail(e.to_string()))?;
    let body_hash = headers.computed_body_hash.as_deref().unwrap_or("");
    let message = signing_message(nonce, hotkey_ss58, &shared.hotkey_ss58, uuid, body_hash);
    if !verify_message(&key, message.as_bytes(), &signature) {
        return Err(fail(format!(
            "Signature mismatch with {message} and {signature_text}"
        )));
    }
    Ok(Caller {
        stake: shared.stake_view.as_ref().and_then(|v| v.stake(&hotkey)),
        hotkey,
        hotkey_ss58: hotkey_ss58.to_owned(),
        uuid: uuid.to_owned(),
        nonce,
        version: d.version,
        peer,
        synapse: name.to_owned(),
        timeout,
    })
}

/// Records an admitted caller's nonce; refuses a copy of the request that got there first.
pub(super) fn commit_nonce(shared: &Shared, caller: &Caller) -> Result<(), Reject> {
    shared
        .nonces
        .commit(
            &caller.hotkey,
            &caller.uuid,
            caller.nonce,
            caller.stake.unwrap_or(0.0),
            now_ns(),
        )
        .map_err(|e| reject(401, format!("Not Verified with error: {e}")))
}

fn verifying_key(shared: &Shared, ss58: &str) -> Option<VerifyingKey> {
    if let Some(key) = shared
        .keys
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(ss58)
    {
        return Some(*key);
    }
    let key = VerifyingKey::new(&PublicKey::from_ss58(ss58).ok()?).ok()?;
    let mut cache = shared.keys.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= KEY_CACHE {
        cache.clear();
    }
    cache.insert(ss58.to_owned(), key);
    Some(key)
}
