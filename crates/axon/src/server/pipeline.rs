//! One request from arrival to answer (ADR 007): size limit → route → authentication → the
//! route's `verify` hook → allow-list / stake view → `blacklist` hook → rate limit → nonce
//! recorded → priority queue → body → handler, all within the synapse's deadline. Only admitted
//! callers take room in the nonce table.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::auth::{BtAuthRequest, commit_nonce, verify};
use super::{Caller, Ctx, Reject, Route, Shared, reject};
use crate::body::AxonBody;
use crate::headers::RequestHeaders;
use crate::limits::GateError;
use crate::pyrepr::py_float;

/// Answers one synapse request, or says why not.
pub(super) async fn pipeline(
    shared: &Shared,
    peer: SocketAddr,
    name: &str,
    req: Request<Incoming>,
    started: Instant,
) -> Result<Response<AxonBody>, Reject> {
    check_declared_length(&req, shared.config.max_body_bytes)?;
    let route = route_for(shared, name)?;
    let request = authenticate(shared, peer, name, req, started)?;
    route
        .verify(&request.caller)
        .map_err(|e| reject(401, format!("Not Verified with error: {e}")))?;
    admit(shared, route.as_ref(), &request.caller)?;
    commit_nonce(shared, &request.caller)?;
    respond(shared, route, request, started).await
}

/// Refuses a body declared larger than the limit (it is limited again while read).
fn check_declared_length(req: &Request<Incoming>, max_body_bytes: usize) -> Result<(), Reject> {
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body_bytes as u64) {
        return Err(reject(
            413,
            format!("Payload Too Large: the limit is {max_body_bytes} bytes"),
        ));
    }
    Ok(())
}

/// The synapse's route, or 404 listing the ones served.
fn route_for(shared: &Shared, name: &str) -> Result<Arc<dyn Route>, Reject> {
    shared.routes.get(name).cloned().ok_or_else(|| {
        let mut names: Vec<&str> = shared.routes.keys().map(String::as_str).collect();
        names.sort_unstable();
        reject(
            404,
            format!("Synapse name '{name}' not found. Available synapses {names:?}"),
        )
    })
}

/// A request whose caller is authenticated by its headers; its body is still on the wire.
struct Authenticated {
    caller: Caller,
    body: Incoming,
    check: BodyCheck,
    deadline: Instant,
    timeout_s: f64,
}

/// How the body, once read, is tied to the signed headers.
enum BodyCheck {
    /// The SDK's hash of the synapse's fields, as the signed headers claim it.
    HeaderHash(String),
    /// btauth/1, whose signature covers the raw body.
    BtAuth(Box<BtAuthRequest>),
}

/// Establishes the caller from the headers alone: the SDK's signed headers, plus the body-free
/// checks of btauth/1 when present. No body byte is read before the caller is authenticated
/// and admitted, so a flood of large unauthenticated bodies costs only the connections' read
/// buffers.
fn authenticate(
    shared: &Shared,
    peer: SocketAddr,
    name: &str,
    req: Request<Incoming>,
    started: Instant,
) -> Result<Authenticated, Reject> {
    let config = &shared.config;
    let btauth = BtAuthRequest::from_request(shared, &req)?;
    let headers = RequestHeaders::parse(req.headers()).map_err(|e| reject(500, e.to_string()))?;
    let timeout_s = match headers.timeout {
        Some(t) if t.is_finite() && t > 0.0 => t.min(config.max_timeout_s),
        _ => crate::DEFAULT_TIMEOUT.min(config.max_timeout_s),
    };
    let caller = verify(shared, &headers, peer, name, timeout_s)?;
    let check = match btauth {
        Some(btauth) => BodyCheck::BtAuth(Box::new(btauth)),
        None => BodyCheck::HeaderHash(headers.computed_body_hash.unwrap_or_default()),
    };
    Ok(Authenticated {
        caller,
        body: req.into_body(),
        check,
        deadline: started + Duration::from_secs_f64(timeout_s),
        timeout_s,
    })
}

/// The allow-list or stake view, the route's blacklist, then the per-hotkey rate limit.
fn admit(shared: &Shared, route: &dyn Route, caller: &Caller) -> Result<(), Reject> {
    if shared.stake_view.is_some() {
        match caller.stake {
            None => {
                return Err(reject(
                    403,
                    "Forbidden. Key is blacklisted: hotkey not registered.",
                ));
            }
            Some(stake) if shared.config.min_stake.is_some_and(|min| stake < min) => {
                return Err(reject(
                    403,
                    format!(
                        "Forbidden. Key is blacklisted: stake {stake} below the minimum {}.",
                        shared.config.min_stake.unwrap_or(0.0)
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    route
        .blacklist(caller)
        .map_err(|reason| reject(403, format!("Forbidden. Key is blacklisted: {reason}.")))?;
    if let Some(rate) = &shared.rate
        && !rate.allow(&caller.hotkey, Instant::now())
    {
        return Err(reject(
            429,
            format!("Too Many Requests from {}", caller.hotkey_ss58),
        ));
    }
    Ok(())
}

/// Waits for a slot in the priority queue, then reads the body and runs the handler, all
/// before the deadline; the slot goes with the request to the handler (a stream keeps it
/// until it ends).
async fn respond(
    shared: &Shared,
    route: Arc<dyn Route>,
    request: Authenticated,
    started: Instant,
) -> Result<Response<AxonBody>, Reject> {
    let Authenticated {
        caller,
        body,
        check,
        deadline,
        timeout_s,
    } = request;
    let priority = route
        .priority(&caller)
        .unwrap_or(caller.stake.unwrap_or(0.0));
    let permit = shared
        .gate
        .acquire(priority, deadline.saturating_duration_since(Instant::now()))
        .await
        .map_err(|e| match e {
            GateError::Full => reject(503, e.to_string()),
            GateError::Timeout => timeout_reject(timeout_s),
        })?;
    let limit = shared.config.max_body_bytes;
    let work = async move {
        let body = read_body(body, limit, deadline, timeout_s).await?;
        let header_hash = match check {
            BodyCheck::HeaderHash(hash) => Some(hash),
            BodyCheck::BtAuth(btauth) => {
                btauth.verify(shared, &body, &caller)?;
                None
            }
        };
        let ctx = Ctx {
            started,
            deadline,
            header_hash,
            axon_terminal: shared.terminal.clone(),
            permit,
        };
        route.run(ctx, body, caller).await
    };
    tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), work)
        .await
        .map_err(|_| timeout_reject(timeout_s))?
}

fn timeout_reject(timeout_s: f64) -> Reject {
    reject(
        408,
        format!("Response timeout after: {}s", py_float(timeout_s)),
    )
}

/// Reads a body of at most `limit` bytes before `deadline`.
async fn read_body(
    body: Incoming,
    limit: usize,
    deadline: Instant,
    timeout_s: f64,
) -> Result<Bytes, Reject> {
    let read = Limited::new(body, limit).collect();
    let collected = tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), read)
        .await
        .map_err(|_| timeout_reject(timeout_s))?;
    collected.map(|c| c.to_bytes()).map_err(|e| {
        if e.is::<http_body_util::LengthLimitError>() {
            reject(
                413,
                format!("Payload Too Large: the limit is {limit} bytes"),
            )
        } else {
            reject(400, format!("Bad request body: {e}"))
        }
    })
}
