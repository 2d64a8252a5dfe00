//! The dendrite: one pooled HTTP/1.1 client that signs synapse requests and fans them out to
//! many axons at once. Every call ends within its timeout; failures map onto the SDK's
//! dendrite-side codes (503 unreachable, 408 timeout, 422 unreadable reply).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{HeaderName, HeaderValue, Request};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tao_keys::Keypair;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::ClientError;
use crate::headers::{RequestHeaders, synapse_headers};
use crate::pyrepr::py_float;
use crate::signing::{NonceSource, SDK_VERSION, new_uuid, sign_hex, signing_message};
use crate::synapse::{Envelope, Synapse, TerminalInfo, body_hash_of_value};

/// Largest response body a dendrite reads (bigger answers are a 422).
pub const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// Default bound on the answers a dendrite buffers at once over all its calls, in bytes: 1 GiB,
/// room for 16 answers at [`MAX_RESPONSE_BYTES`], or a fan-out to 256 miners answering 4 MiB
/// each. Without it a fan-out could buffer `MAX_RESPONSE_BYTES` per target. (Each connection
/// also holds at most hyper's read buffer, about 400 KiB, of an answer not yet taken.)
pub const MAX_BUFFERED_BYTES: usize = 1 << 30;

/// The room left for buffered answers: one permit per byte.
#[derive(Debug, Clone)]
struct ReplyBudget {
    room: Arc<Semaphore>,
    bytes: usize,
}

impl ReplyBudget {
    fn new(bytes: usize) -> Self {
        let bytes = bytes.min(Semaphore::MAX_PERMITS);
        Self {
            room: Arc::new(Semaphore::new(bytes)),
            bytes,
        }
    }
}

/// An answer's body and its share of the budget, given back when dropped.
struct Buffered {
    bytes: Bytes,
    _share: Option<OwnedSemaphorePermit>,
}

/// Reads an answer of at most `limit` bytes, taking room in `budget` for each chunk as it
/// arrives: an axon that announces a large answer but sends little holds only what it sent.
/// Waits (within the caller's timeout) while the budget is full.
async fn read_answer(
    mut body: Incoming,
    limit: usize,
    budget: ReplyBudget,
) -> Result<Buffered, ClientError> {
    let limit = limit.min(budget.bytes);
    let too_large = || ClientError::BadResponse(format!("the answer exceeds {limit} bytes"));
    let mut data = BytesMut::new();
    let mut share: Option<OwnedSemaphorePermit> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ClientError::BadResponse(e.to_string()))?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        if data.len() + chunk.len() > limit {
            return Err(too_large());
        }
        let n = u32::try_from(chunk.len()).map_err(|_| too_large())?;
        let room = budget
            .room
            .clone()
            .acquire_many_owned(n)
            .await
            .map_err(|_| ClientError::BadResponse("the answer budget is closed".into()))?;
        match &mut share {
            Some(share) => share.merge(room),
            None => share = Some(room),
        }
        data.extend_from_slice(&chunk);
    }
    Ok(Buffered {
        bytes: data.freeze(),
        _share: share,
    })
}

/// An axon endpoint: where it listens and which hotkey it answers as.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AxonTarget {
    /// IP address (v4 or v6) or host name.
    pub ip: String,
    /// TCP port.
    pub port: u16,
    /// The axon's hotkey, SS58.
    pub hotkey: String,
}

impl AxonTarget {
    /// The URL of synapse `name` at this axon.
    pub fn url(&self, name: &str) -> String {
        if self.ip.contains(':') {
            format!("http://[{}]:{}/{name}", self.ip, self.port)
        } else {
            format!("http://{}:{}/{name}", self.ip, self.port)
        }
    }
}

impl fmt::Display for AxonTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.ip, self.port, self.hotkey)
    }
}

impl FromStr for AxonTarget {
    type Err = ClientError;

    /// `ip:port:hotkey_ss58` (an IPv6 address may contain colons; the last two fields are split
    /// off from the right).
    fn from_str(s: &str) -> Result<Self, ClientError> {
        let bad = || ClientError::BadRequest(format!("expected ip:port:hotkey, got {s:?}"));
        let (rest, hotkey) = s.rsplit_once(':').ok_or_else(bad)?;
        let (ip, port) = rest.rsplit_once(':').ok_or_else(bad)?;
        let port = port.parse().map_err(|_| bad())?;
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        if ip.is_empty() || hotkey.is_empty() {
            return Err(bad());
        }
        Ok(Self {
            ip: ip.to_owned(),
            port,
            hotkey: hotkey.to_owned(),
        })
    }
}

/// One axon's answer to one call.
#[derive(Debug, Clone)]
pub struct DendriteResponse<S> {
    /// 200 on success; otherwise the axon's or the dendrite's SDK status code.
    pub status_code: u16,
    /// `Success` or the reason.
    pub status_message: String,
    /// Round-trip time as the dendrite measured it.
    pub latency: Duration,
    /// The filled-in synapse (on success).
    pub synapse: Option<S>,
    /// The axon's terminal information from the reply (status, process time, ...).
    pub axon: TerminalInfo,
}

impl<S> DendriteResponse<S> {
    /// Whether the call succeeded (status 200).
    pub fn is_success(&self) -> bool {
        self.status_code == 200
    }

    fn failed(error: &ClientError, started: Instant) -> Self {
        Self {
            status_code: error.status_code(),
            status_message: error.to_string(),
            latency: started.elapsed(),
            synapse: None,
            axon: TerminalInfo::default(),
        }
    }
}

/// A signed request, ready to send (exposed for tests and tools that bring their own client).
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    /// `http://ip:port/Name`.
    pub url: String,
    /// Synapse headers (plus `content-type`).
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: Vec<u8>,
    /// The signed message.
    pub message: String,
}

struct Inner {
    keypair: Keypair,
    /// Also sign every request with btauth/1 (the axon then verifies that scheme).
    btauth: bool,
    hotkey: String,
    uuid: String,
    external_ip: String,
    nonces: NonceSource,
    /// Largest response body read, bytes.
    max_response_bytes: std::sync::atomic::AtomicUsize,
    /// Bound on answers buffered at once over all calls.
    budget: Mutex<ReplyBudget>,
    client: Client<HttpConnector, Full<Bytes>>,
    /// Free uuid lanes per axon endpoint (see [`Lane`]).
    lanes: Mutex<HashMap<String, Vec<String>>>,
}

/// Endpoints whose free lanes are remembered at most (then the table starts over).
const MAX_LANE_ENDPOINTS: usize = 16_384;

/// A client uuid held for one in-flight request to one axon.
///
/// The SDK's axon demands strictly increasing nonces per (hotkey, uuid), so concurrent requests
/// with one uuid that arrive out of order are refused (401). Each in-flight request to an
/// endpoint therefore holds its own uuid: the dendrite's main uuid first, then extra ones, reused
/// once free, so an axon sees as many uuids as the peak concurrency towards it and, per uuid,
/// one request at a time with increasing nonces.
struct Lane<'a> {
    inner: &'a Inner,
    endpoint: String,
    uuid: Option<String>,
}

impl<'a> Lane<'a> {
    fn take(inner: &'a Inner, endpoint: String) -> Self {
        let mut lanes = inner.lanes.lock().unwrap_or_else(|e| e.into_inner());
        if !lanes.contains_key(&endpoint) && lanes.len() >= MAX_LANE_ENDPOINTS {
            lanes.clear();
        }
        let free = lanes
            .entry(endpoint.clone())
            .or_insert_with(|| vec![inner.uuid.clone()]);
        let uuid = free.pop().unwrap_or_else(new_uuid);
        Self {
            inner,
            endpoint,
            uuid: Some(uuid),
        }
    }

    fn uuid(&self) -> &str {
        self.uuid.as_deref().unwrap_or_default()
    }
}

impl Drop for Lane<'_> {
    fn drop(&mut self) {
        if let Some(uuid) = self.uuid.take() {
            let mut lanes = self.inner.lanes.lock().unwrap_or_else(|e| e.into_inner());
            lanes
                .entry(std::mem::take(&mut self.endpoint))
                .or_default()
                .push(uuid);
        }
    }
}

/// A synapse client. Cheap to clone (one shared connection pool); one uuid per `Dendrite`.
#[derive(Clone)]
pub struct Dendrite(Arc<Inner>);

impl fmt::Debug for Dendrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dendrite")
            .field("hotkey", &self.0.hotkey)
            .field("uuid", &self.0.uuid)
            .finish_non_exhaustive()
    }
}

impl Dendrite {
    /// A dendrite signing as `keypair`, announcing `127.0.0.1` as its IP (see
    /// [`with_identity`](Self::with_identity)); never looks anything up on the internet.
    pub fn new(keypair: Keypair) -> Self {
        Self::with_identity(keypair, "127.0.0.1", new_uuid())
    }

    /// A dendrite with an explicit external IP (informational: sent in `bt_header_dendrite_ip`)
    /// and client uuid.
    pub fn with_identity(keypair: Keypair, external_ip: &str, uuid: String) -> Self {
        Self::build(keypair, external_ip, uuid, false)
    }

    fn build(keypair: Keypair, external_ip: &str, uuid: String, btauth: bool) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.enforce_http(true);
        let client = Client::builder(TokioExecutor::new())
            // Shorter than the axon's keep-alive (`AxonConfig::header_read_timeout_ms`, 20 s), so
            // the pool drops an idle connection before the axon closes it under a new request.
            .pool_idle_timeout(Duration::from_secs(10))
            .build(connector);
        Self(Arc::new(Inner {
            btauth,
            hotkey: keypair.public().to_ss58(),
            keypair,
            uuid,
            external_ip: external_ip.to_owned(),
            nonces: NonceSource::new(),
            max_response_bytes: std::sync::atomic::AtomicUsize::new(MAX_RESPONSE_BYTES),
            budget: Mutex::new(ReplyBudget::new(MAX_BUFFERED_BYTES)),
            client,
            lanes: Mutex::new(HashMap::new()),
        }))
    }

    /// A dendrite that signs with btauth/1 (`reference/sdk.md` §2.13) as well: method, path,
    /// SHA-256 of the exact body, nonce, sender and receiver. Our axon verifies that scheme
    /// when its headers are present, so the body itself is authenticated.
    pub fn with_btauth(keypair: Keypair) -> Self {
        Self::build(keypair, "127.0.0.1", new_uuid(), true)
    }

    /// Read at most `bytes` of each answer from now on (default [`MAX_RESPONSE_BYTES`]); a
    /// longer answer is a 422. Applies to every clone of this dendrite.
    pub fn set_max_response_bytes(&self, bytes: usize) {
        self.0
            .max_response_bytes
            .store(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// Buffer at most `bytes` of answers at once, over every call of this dendrite and its
    /// clones (default [`MAX_BUFFERED_BYTES`]), for calls that start from now on. A call
    /// whose answer does not fit waits for room, within its timeout; an answer larger than
    /// the whole budget is a 422.
    pub fn set_max_buffered_bytes(&self, bytes: usize) {
        *self.0.budget.lock().unwrap_or_else(|e| e.into_inner()) = ReplyBudget::new(bytes);
    }

    /// Bytes of answers buffered now, over every call (what the budget holds).
    pub fn buffered_bytes(&self) -> usize {
        let budget = self.budget();
        budget.bytes.saturating_sub(budget.room.available_permits())
    }

    fn budget(&self) -> ReplyBudget {
        self.0
            .budget
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn max_response_bytes(&self) -> usize {
        self.0
            .max_response_bytes
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The dendrite's hotkey, SS58.
    pub fn hotkey(&self) -> &str {
        &self.0.hotkey
    }

    /// The client's main uuid (concurrent requests to one axon use extra ones, see
    /// [`call`](Self::call)).
    pub fn uuid(&self) -> &str {
        &self.0.uuid
    }

    /// Build and sign a request for `synapse` to `target` with a fresh nonce.
    ///
    /// # Errors
    /// [`ClientError::BadRequest`] when the synapse does not serialize.
    pub fn prepare<S: Synapse>(
        &self,
        target: &AxonTarget,
        synapse: &S,
        timeout: f64,
    ) -> Result<PreparedRequest, ClientError> {
        self.prepare_with_nonce(target, synapse, timeout, self.0.nonces.next())
    }

    /// [`prepare`](Self::prepare) with a given nonce.
    ///
    /// # Errors
    /// [`ClientError::BadRequest`] when the synapse does not serialize.
    pub fn prepare_with_nonce<S: Synapse>(
        &self,
        target: &AxonTarget,
        synapse: &S,
        timeout: f64,
        nonce: u64,
    ) -> Result<PreparedRequest, ClientError> {
        self.prepare_as(target, synapse, timeout, nonce, &self.0.uuid)
    }

    fn prepare_as<S: Synapse>(
        &self,
        target: &AxonTarget,
        synapse: &S,
        timeout: f64,
        nonce: u64,
        uuid: &str,
    ) -> Result<PreparedRequest, ClientError> {
        let bad = |e: serde_json::Error| ClientError::BadRequest(e.to_string());
        let fields = serde_json::to_value(synapse).map_err(bad)?;
        let hash = body_hash_of_value(&fields, S::HASH_FIELDS);
        let message = signing_message(nonce, &self.0.hotkey, &target.hotkey, uuid, &hash);
        let mut env = Envelope::new(synapse.clone());
        env.timeout = timeout;
        env.dendrite = TerminalInfo {
            ip: Some(self.0.external_ip.clone()),
            version: Some(SDK_VERSION),
            nonce: Some(nonce),
            uuid: Some(uuid.to_owned()),
            hotkey: Some(self.0.hotkey.clone()),
            signature: Some(sign_hex(&self.0.keypair, &message)),
            ..TerminalInfo::default()
        };
        env.axon = TerminalInfo {
            ip: Some(target.ip.clone()),
            port: Some(u64::from(target.port)),
            hotkey: Some(target.hotkey.clone()),
            ..TerminalInfo::default()
        };
        // The SDK stores the (cosmetic) total size in the body before serializing it.
        let draft = serde_json::to_vec(&env).map_err(bad)?;
        env.total_size = draft.len() as u64;
        let body = serde_json::to_vec(&env).map_err(bad)?;
        let mut headers = synapse_headers(&env, &fields, &hash, draft.len());
        headers.push(("content-type".into(), "application/json".into()));
        if self.0.btauth {
            let path = format!("/{}", S::NAME);
            let signed = crate::btauth::sign(
                &self.0.keypair,
                "POST",
                &path,
                &body,
                Some(&target.hotkey),
                nonce,
            );
            headers.extend(
                signed
                    .into_iter()
                    .map(|(name, value)| (name.to_owned(), value)),
            );
        }
        Ok(PreparedRequest {
            url: target.url(S::NAME),
            headers,
            body,
            message,
        })
    }

    async fn send(
        &self,
        prepared: PreparedRequest,
        target: &str,
    ) -> Result<hyper::Response<Incoming>, ClientError> {
        let mut builder = Request::post(&prepared.url);
        if let Some(map) = builder.headers_mut() {
            for (name, value) in &prepared.headers {
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(value),
                ) {
                    map.insert(n, v);
                }
            }
        }
        let request = builder
            .body(Full::new(Bytes::from(prepared.body)))
            .map_err(|e| ClientError::BadRequest(e.to_string()))?;
        self.0
            .client
            .request(request)
            .await
            .map_err(|_| ClientError::Unavailable {
                target: target.to_owned(),
            })
    }

    /// Call one axon; always returns within `timeout` (plus scheduling noise). Concurrent calls
    /// to one axon sign with distinct uuids so that SDK axons, which demand increasing nonces per
    /// uuid, accept them in any arrival order.
    pub async fn call<S: Synapse>(
        &self,
        target: &AxonTarget,
        synapse: S,
        timeout: Duration,
    ) -> DendriteResponse<S> {
        let started = Instant::now();
        let secs = timeout.as_secs_f64();
        let where_ = format!("{}:{}/{}", target.ip, target.port, S::NAME);
        let work = async {
            let lane = Lane::take(&self.0, format!("{}:{}", target.ip, target.port));
            let prepared =
                self.prepare_as(target, &synapse, secs, self.0.nonces.next(), lane.uuid())?;
            let response = self.send(prepared, &where_).await?;
            let status = response.status().as_u16();
            let headers = RequestHeaders::parse(response.headers()).unwrap_or_default();
            let body = read_answer(
                response.into_body(),
                self.max_response_bytes(),
                self.budget(),
            )
            .await?;
            drop(lane);
            Ok::<_, ClientError>((status, headers, body))
        };
        let (status, headers, body) = match tokio::time::timeout(timeout, work).await {
            Err(_) => {
                let e = ClientError::Timeout {
                    seconds: py_float(secs),
                };
                return DendriteResponse::failed(&e, started);
            }
            Ok(Err(e)) => return DendriteResponse::failed(&e, started),
            Ok(Ok(parts)) => parts,
        };
        process_response(status, &headers, &body.bytes, started)
    }

    /// Call every axon in `targets` concurrently with the same synapse; results in the same
    /// order. Each call is bounded by `timeout`.
    pub async fn query<S: Synapse>(
        &self,
        targets: &[AxonTarget],
        synapse: &S,
        timeout: Duration,
    ) -> Vec<DendriteResponse<S>> {
        let mut set = tokio::task::JoinSet::new();
        for (i, target) in targets.iter().enumerate() {
            let (d, t, s) = (self.clone(), target.clone(), synapse.clone());
            set.spawn(async move { (i, d.call(&t, s, timeout).await) });
        }
        let mut out: Vec<Option<DendriteResponse<S>>> = (0..targets.len()).map(|_| None).collect();
        while let Some(joined) = set.join_next().await {
            if let Ok((i, r)) = joined
                && let Some(slot) = out.get_mut(i)
            {
                *slot = Some(r);
            }
        }
        out.into_iter()
            .map(|r| {
                r.unwrap_or_else(|| DendriteResponse {
                    status_code: 500,
                    status_message: "internal error: call task failed".into(),
                    latency: timeout,
                    synapse: None,
                    axon: TerminalInfo::default(),
                })
            })
            .collect()
    }

    /// Call a streaming synapse: the reply's status, then its chunks as they arrive. The whole
    /// stream must finish within `timeout`.
    ///
    /// # Errors
    /// Unreachable axon (503) or no reply headers within the timeout (408).
    pub async fn call_stream<S: Synapse>(
        &self,
        target: &AxonTarget,
        synapse: &S,
        timeout: Duration,
    ) -> Result<SynapseStream, ClientError> {
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + timeout;
        let secs = timeout.as_secs_f64();
        let timed_out = || ClientError::Timeout {
            seconds: py_float(secs),
        };
        let where_ = format!("{}:{}/{}", target.ip, target.port, S::NAME);
        // A stream keeps its lane only until the reply headers: an SDK axon checks the nonce
        // before it answers, so later requests on the lane cannot overtake this one.
        let lane = Lane::take(&self.0, format!("{}:{}", target.ip, target.port));
        let prepared = self.prepare_as(target, synapse, secs, self.0.nonces.next(), lane.uuid())?;
        let response = tokio::time::timeout_at(deadline, self.send(prepared, &where_))
            .await
            .map_err(|_| timed_out())??;
        drop(lane);
        let status = response.status().as_u16();
        let headers = RequestHeaders::parse(response.headers()).unwrap_or_default();
        let mut stream = SynapseStream {
            status_code: status,
            status_message: headers.axon.status_message.clone().unwrap_or_default(),
            axon: headers.axon,
            body: None,
            deadline,
            secs,
            started,
        };
        if status == 200 {
            stream.body = Some(response.into_body());
        } else {
            let body = tokio::time::timeout_at(
                deadline,
                read_answer(
                    response.into_body(),
                    self.max_response_bytes(),
                    self.budget(),
                ),
            )
            .await
            .map_err(|_| timed_out())??;
            stream.status_message = error_message(&body.bytes).unwrap_or_else(|| {
                stream.status_code = 422;
                "Failed to parse response".into()
            });
        }
        Ok(stream)
    }
}

/// A streaming reply: status first, then raw chunks (the SDK imposes no framing).
#[derive(Debug)]
pub struct SynapseStream {
    /// HTTP status (200 when the axon accepted the call).
    pub status_code: u16,
    /// The axon's status message.
    pub status_message: String,
    /// The axon's terminal information from the reply headers.
    pub axon: TerminalInfo,
    body: Option<Incoming>,
    deadline: tokio::time::Instant,
    secs: f64,
    started: Instant,
}

impl SynapseStream {
    /// The next chunk; `None` at the end of the stream (or for a refused call).
    ///
    /// # Errors
    /// The stream broke off (503) or passed the call's timeout (408).
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes, ClientError>> {
        let body = self.body.as_mut()?;
        loop {
            match tokio::time::timeout_at(self.deadline, body.frame()).await {
                Err(_) => {
                    self.body = None;
                    return Some(Err(ClientError::Timeout {
                        seconds: py_float(self.secs),
                    }));
                }
                Ok(None) => {
                    self.body = None;
                    return None;
                }
                Ok(Some(Err(e))) => {
                    self.body = None;
                    return Some(Err(ClientError::Unavailable {
                        target: format!("stream broke off: {e}"),
                    }));
                }
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data()
                        && !data.is_empty()
                    {
                        return Some(Ok(data));
                    }
                }
            }
        }
    }

    /// Read every remaining chunk and concatenate them.
    ///
    /// # Errors
    /// As [`next_chunk`](Self::next_chunk).
    pub async fn collect(&mut self) -> Result<Vec<u8>, ClientError> {
        let mut out = Vec::new();
        while let Some(chunk) = self.next_chunk().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    /// Time since the call started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

fn error_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    Some(value.get("message")?.as_str()?.to_owned())
}

/// The SDK's `process_server_response`.
fn process_response<S: Synapse>(
    status: u16,
    headers: &RequestHeaders,
    body: &[u8],
    started: Instant,
) -> DendriteResponse<S> {
    let latency = started.elapsed();
    if status != 200 {
        let (code, message) = match error_message(body) {
            Some(m) => (status, m),
            None => (422, "Failed to parse response".to_owned()),
        };
        let mut axon = headers.axon.clone();
        axon.status_code = Some(i64::from(status));
        return DendriteResponse {
            status_code: code,
            status_message: message,
            latency,
            synapse: None,
            axon,
        };
    }
    match Envelope::<S>::from_json(body) {
        Err(e) => DendriteResponse {
            status_code: 422,
            status_message: format!("Failed to parse response: {e}"),
            latency,
            synapse: None,
            axon: headers.axon.clone(),
        },
        Ok(env) => {
            let mut axon = env.axon;
            overlay(&mut axon, &headers.axon);
            let code = axon
                .status_code
                .and_then(|c| u16::try_from(c).ok())
                .unwrap_or(200);
            DendriteResponse {
                status_code: code,
                status_message: axon
                    .status_message
                    .clone()
                    .unwrap_or_else(|| "Success".into()),
                latency,
                synapse: Some(env.synapse),
                axon,
            }
        }
    }
}

/// Header values override body values where set (as the SDK's `from_headers` overlay).
fn overlay(axon: &mut TerminalInfo, from: &TerminalInfo) {
    macro_rules! take {
        ($($f:ident),*) => { $( if from.$f.is_some() { axon.$f.clone_from(&from.$f); } )* };
    }
    take!(
        status_code,
        status_message,
        process_time,
        ip,
        port,
        version,
        nonce,
        uuid,
        hotkey,
        signature
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        let t: AxonTarget = "127.0.0.1:8091:5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe"
            .parse()
            .unwrap();
        assert_eq!(t.port, 8091);
        assert_eq!(t.url("Dummy"), "http://127.0.0.1:8091/Dummy");
        let v6: AxonTarget = "[::1]:9:5Ex".parse().unwrap();
        assert_eq!(v6.ip, "::1");
        assert_eq!(v6.url("A"), "http://[::1]:9/A");
        assert!("nope".parse::<AxonTarget>().is_err());
        assert!("1.2.3.4:x:5E".parse::<AxonTarget>().is_err());
    }
}
