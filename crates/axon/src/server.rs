//! The axon: an HTTP/1.1 server (hyper) answering synapse requests like the SDK's axon, with the
//! protections a miner on a real network needs.
//!
//! Pipeline per request (ADR 007; `server/pipeline.rs`): size limit → route → btauth/1's
//! body-free checks, if present → headers → nonce and signature (then the optional `verify`
//! hook) → allow-list / stake view → `blacklist` hook → per-hotkey rate limit → nonce recorded
//! → priority queue (by the `priority` hook, else the caller's stake) → body (size-limited) →
//! body hash or btauth/1 signature → handler → response. The synapse timeout (capped by
//! [`AxonConfig::max_timeout_s`]) bounds everything from arrival to the handler's answer; the
//! connection limits (`server/connections.rs`) bound what a connection may hold before that.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::{Deserialize, Serialize};
use tao_keys::{Keypair, PublicKey, VerifyingKey};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::body::AxonBody;
use crate::headers::{
    AXON_PREFIX, DENDRITE_PREFIX, RequestHeaders, push_terminal, synapse_headers,
};
use crate::limits::{Permit, PriorityGate, RateLimiter};
use crate::metrics::Metrics;
use crate::nonce::{NonceGuard, NonceLimits};
use crate::pyrepr::py_float;
use crate::signing::{SDK_VERSION, now_ns};
use crate::synapse::{Envelope, Synapse, TerminalInfo, body_hash_of_value};

mod auth;
mod connections;
mod pipeline;

use connections::{Activity, Answering, Watched};
use pipeline::pipeline;
use tao_limits::{ConnectionLimits, ConnectionSlot};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Who is calling, established before the handler runs. `hotkey` and `nonce` are verified
/// (signature checked, nonce fresh and not seen before) by the time any hook sees a `Caller`;
/// the nonce is recorded once the caller is admitted, so a copy of the request racing this one
/// may reach the hooks too, but never the handler.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The caller's hotkey (verified).
    pub hotkey: PublicKey,
    /// The same, as the SS58 text the caller sent.
    pub hotkey_ss58: String,
    /// The caller's client uuid.
    pub uuid: String,
    /// The request nonce (ns).
    pub nonce: u64,
    /// The caller's SDK version, if sent.
    pub version: Option<u64>,
    /// TCP peer address.
    pub peer: SocketAddr,
    /// The caller's stake according to the axon's [`StakeView`], if it has one.
    pub stake: Option<f64>,
    /// The synapse name (route).
    pub synapse: String,
    /// The effective timeout in seconds.
    pub timeout: f64,
}

/// The axon's view of the network: which hotkeys may call and with what stake. `tao-sdk` feeds
/// it from the metagraph.
pub trait StakeView: Send + Sync + 'static {
    /// The stake of `hotkey`, or `None` when it is not registered (such callers get 403).
    fn stake(&self, hotkey: &PublicKey) -> Option<f64>;
}

/// A fixed allow-list: registered hotkeys and their stake.
#[derive(Debug, Clone, Default)]
pub struct AllowList(pub HashMap<PublicKey, f64>);

impl StakeView for AllowList {
    fn stake(&self, hotkey: &PublicKey) -> Option<f64> {
        self.0.get(hotkey).copied()
    }
}

/// Axon settings. The defaults protect a miner: 8 MiB bodies, timeouts capped at 60 s, 256
/// handlers at once with 1024 waiting, 100 requests/s (burst 200) per hotkey, 1024 connections
/// (256 per host) closed after 20 s without headers or traffic, a nonce table of 100 000.
#[derive(Debug, Clone)]
pub struct AxonConfig {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// The IP announced to callers and in responses (`--external-ip`); defaults to the bind IP.
    /// Never looked up on the internet.
    pub external_ip: Option<String>,
    /// The port announced (`--external-port`); defaults to the bound port.
    pub external_port: Option<u16>,
    /// Largest accepted request body, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Cap on the synapse timeout used server-side and in the nonce window, in seconds.
    pub max_timeout_s: f64,
    /// Handlers running at once.
    pub max_concurrent: usize,
    /// Requests waiting for a handler slot (503 beyond).
    pub max_queue: usize,
    /// Per-hotkey rate limit `(requests per second, burst)`; `None` disables it (429 beyond).
    pub rate_limit: Option<(f64, f64)>,
    /// Nonces the replay table remembers at most, over all callers (401 `Too many clients`
    /// only when it is full of callers with at least the newcomer's stake); also the most
    /// hotkeys the rate limiter tracks. Default 100 000 (about 35 MiB at worst, with one
    /// hotkey per nonce).
    pub max_nonce_entries: usize,
    /// Nonces remembered at most per hotkey, whatever its uuids; beyond, its oldest is folded
    /// into its floor, so one key cannot fill the table. Default 4096: 64 requests a second
    /// over the widest window (64 s); folding refuses only nonces older than a hotkey's 4096
    /// newest, which honest clients, signing in order, do not send.
    pub max_nonces_per_hotkey: usize,
    /// How far ahead of the axon's clock a request's nonce may be, in milliseconds (401
    /// beyond), so that every entry of the table ages out. Default 4000, the SDK's tolerance
    /// for a client's clock in the other direction (`ALLOWED_DELTA`).
    pub max_nonce_lead_ms: u64,
    /// With a stake view: callers with less stake get 403.
    pub min_stake: Option<f64>,
    /// Connections open at most; beyond, a new connection is closed at once (the caller sees
    /// 503 at once instead of waiting in the kernel's backlog). Default 1024: keep it below the
    /// process's open-file limit (`ulimit -n`).
    pub max_connections: usize,
    /// Connections open at most per client host (an IPv4 address, an IPv6 /64); beyond, a new
    /// connection is closed at once. Default 256, as many as `max_concurrent`: one host gains
    /// nothing from more, and cannot hold every connection.
    pub max_connections_per_ip: usize,
    /// Largest request head (request line and headers) a connection buffers, in bytes
    /// (431 beyond, and the connection is closed); also the size of its read buffer, so what
    /// a connection holds before its caller is authenticated is bounded by this. At least
    /// 8192 (hyper's minimum). Default 65 536: an SDK request's head is about 2 KiB.
    pub max_header_bytes: usize,
    /// Time a connection has to deliver a request's headers, in milliseconds, counted from
    /// when the axon waits for them: hyper starts this clock after each answer too, so it
    /// also closes a keep-alive connection that sends no next request. Default 20 000:
    /// longer than the keep-alive of the SDK's client (aiohttp, 15 s) and the dendrite's pool
    /// (10 s), so that they close idle connections first.
    pub header_read_timeout_ms: u64,
    /// A connection that moves no bytes for this long while none of its requests is being
    /// answered is closed, in milliseconds: a client that stops reading its answer or sending
    /// its body. A request counts as being answered (a handler at work, a quiet stream) for at
    /// most `max_timeout_s`. Default 20 000.
    pub idle_timeout_ms: u64,
    /// Answer `GET /metrics` with the Prometheus exposition (off by default: the axon port is
    /// public, so scrape it only where the port is not reachable from the internet).
    pub serve_metrics: bool,
}

impl Default for AxonConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([0, 0, 0, 0], 8091)),
            external_ip: None,
            external_port: None,
            max_body_bytes: 8 << 20,
            max_timeout_s: 60.0,
            max_concurrent: 256,
            max_queue: 1024,
            rate_limit: Some((100.0, 200.0)),
            max_nonce_entries: 100_000,
            max_nonces_per_hotkey: 4096,
            max_nonce_lead_ms: 4_000,
            min_stake: None,
            max_connections: 1024,
            max_connections_per_ip: 256,
            max_header_bytes: 64 << 10,
            header_read_timeout_ms: 20_000,
            idle_timeout_ms: 20_000,
            serve_metrics: false,
        }
    }
}

/// A streaming handler's output channel: each chunk is sent to the client as it comes.
#[derive(Debug, Clone)]
pub struct ChunkSender(mpsc::Sender<Bytes>);

impl ChunkSender {
    /// Send one chunk. `Err` when the client has gone away (stop producing).
    ///
    /// # Errors
    /// The client disconnected or the stream's deadline passed.
    pub async fn send(&self, chunk: impl Into<Bytes>) -> Result<(), StreamClosed> {
        self.0.send(chunk.into()).await.map_err(|_| StreamClosed)
    }
}

/// The stream's receiver is gone (client disconnected or deadline passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the stream's receiver is gone")]
pub struct StreamClosed;

type PlainFn<S> = dyn Fn(S, Caller) -> BoxFuture<Result<S, String>> + Send + Sync;
type StreamFn<S> = dyn Fn(S, Caller, ChunkSender) -> BoxFuture<Result<(), String>> + Send + Sync;
type CheckFn = dyn Fn(&Caller) -> Result<(), String> + Send + Sync;
type PriorityFn = dyn Fn(&Caller) -> f64 + Send + Sync;

enum Forward<S> {
    Plain(Arc<PlainFn<S>>),
    Stream(Arc<StreamFn<S>>),
}

/// The functions serving one synapse type: `forward` (required) and the optional `blacklist`,
/// `priority` and `verify` hooks of the SDK.
pub struct Handler<S: Synapse> {
    forward: Forward<S>,
    blacklist: Option<Arc<CheckFn>>,
    priority: Option<Arc<PriorityFn>>,
    verify: Option<Arc<CheckFn>>,
}

impl<S: Synapse> Handler<S> {
    /// Serve `S` with `forward`, which returns the filled-in synapse (`Err` → 500).
    pub fn forward<F, Fut>(forward: F) -> Self
    where
        F: Fn(S, Caller) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<S, String>> + Send + 'static,
    {
        Self::with(Forward::Plain(Arc::new(move |s, c| {
            Box::pin(forward(s, c))
        })))
    }

    /// Serve `S` as a streaming synapse: headers (200) go out at once, then every chunk the
    /// handler sends, as a chunked `text/event-stream` body.
    pub fn streaming<F, Fut>(forward: F) -> Self
    where
        F: Fn(S, Caller, ChunkSender) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Self::with(Forward::Stream(Arc::new(move |s, c, tx| {
            Box::pin(forward(s, c, tx))
        })))
    }

    fn with(forward: Forward<S>) -> Self {
        Self {
            forward,
            blacklist: None,
            priority: None,
            verify: None,
        }
    }

    /// Refuse callers (403 `Forbidden. Key is blacklisted: {reason}.`) when `f` returns
    /// `Err(reason)`. Runs after the signature check, so the hotkey is proven.
    pub fn blacklist(
        mut self,
        f: impl Fn(&Caller) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.blacklist = Some(Arc::new(f));
        self
    }

    /// The request's priority in the queue (default: the caller's stake, or 0).
    pub fn priority(mut self, f: impl Fn(&Caller) -> f64 + Send + Sync + 'static) -> Self {
        self.priority = Some(Arc::new(f));
        self
    }

    /// An extra check after the signature and nonce checks (which always run); `Err(msg)` →
    /// 401 `Not Verified with error: {msg}`.
    pub fn verify(
        mut self,
        f: impl Fn(&Caller) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.verify = Some(Arc::new(f));
        self
    }
}

/// A refusal: HTTP status and the SDK's message.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reject {
    status: u16,
    message: String,
}

fn reject(status: u16, message: impl Into<String>) -> Reject {
    Reject {
        status,
        message: message.into(),
    }
}

/// What a route needs besides the body.
struct Ctx {
    started: Instant,
    deadline: Instant,
    /// The SDK body hash to check, or `None` when btauth/1 already authenticated the raw body.
    header_hash: Option<String>,
    axon_terminal: TerminalInfo,
    /// The request's slot among `max_concurrent`: held until the answer is complete, which
    /// for a stream is when its handler ends, not when its headers go out.
    permit: Permit,
}

trait Route: Send + Sync {
    fn blacklist(&self, caller: &Caller) -> Result<(), String>;
    fn priority(&self, caller: &Caller) -> Option<f64>;
    fn verify(&self, caller: &Caller) -> Result<(), String>;
    fn run(
        &self,
        ctx: Ctx,
        body: Bytes,
        caller: Caller,
    ) -> BoxFuture<Result<Response<AxonBody>, Reject>>;
}

impl<S: Synapse> Route for Handler<S> {
    fn blacklist(&self, caller: &Caller) -> Result<(), String> {
        self.blacklist.as_ref().map_or(Ok(()), |f| f(caller))
    }

    fn priority(&self, caller: &Caller) -> Option<f64> {
        self.priority.as_ref().map(|f| f(caller))
    }

    fn verify(&self, caller: &Caller) -> Result<(), String> {
        self.verify.as_ref().map_or(Ok(()), |f| f(caller))
    }

    fn run(
        &self,
        ctx: Ctx,
        body: Bytes,
        caller: Caller,
    ) -> BoxFuture<Result<Response<AxonBody>, Reject>> {
        let forward = match &self.forward {
            Forward::Plain(f) => Forward::Plain(f.clone()),
            Forward::Stream(f) => Forward::Stream(f.clone()),
        };
        Box::pin(run_route::<S>(forward, ctx, body, caller))
    }
}

async fn run_route<S: Synapse>(
    forward: Forward<S>,
    ctx: Ctx,
    body: Bytes,
    caller: Caller,
) -> Result<Response<AxonBody>, Reject> {
    let mut env = Envelope::<S>::from_json(&body).map_err(|e| reject(422, e.to_string()))?;
    let fields = serde_json::to_value(&env.synapse).map_err(|e| reject(500, e.to_string()))?;
    let hash = body_hash_of_value(&fields, S::HASH_FIELDS);
    if let Some(header_hash) = &ctx.header_hash
        && hash != *header_hash
    {
        return Err(reject(
            500,
            format!(
                "Internal Server Error: hash mismatch between header body hash {header_hash} and parsed body hash {hash}"
            ),
        ));
    }
    fill_axon(&mut env.axon, &ctx.axon_terminal);
    match forward {
        Forward::Plain(f) => {
            let out = f(env.synapse, caller)
                .await
                .map_err(|e| reject(500, format!("Internal Server Error: {e}")))?;
            env.synapse = out;
            env.axon.status_code = Some(200);
            env.axon.status_message = Some("Success".into());
            env.axon.process_time = Some(ctx.started.elapsed().as_secs_f64());
            let fields =
                serde_json::to_value(&env.synapse).map_err(|e| reject(500, e.to_string()))?;
            let json = env.to_json().map_err(|e| reject(500, e.to_string()))?;
            let hash = body_hash_of_value(&fields, S::HASH_FIELDS);
            let headers = synapse_headers(&env, &fields, &hash, json.len());
            Ok(build(
                200,
                "application/json",
                headers,
                AxonBody::full(json),
            ))
        }
        Forward::Stream(f) => {
            env.axon.status_code = Some(200);
            env.axon.status_message = Some("Success".into());
            env.axon.process_time = Some(ctx.started.elapsed().as_secs_f64());
            let headers = synapse_headers(&env, &fields, &hash, body.len());
            let (tx, rx) = mpsc::channel(16);
            let deadline = tokio::time::Instant::from_std(ctx.deadline);
            let permit = ctx.permit;
            tokio::spawn(async move {
                // The stream ends at the deadline or when the handler returns; errors after the
                // headers went out can only end the stream.
                let _ = tokio::time::timeout_at(deadline, f(env.synapse, caller, ChunkSender(tx)))
                    .await;
                drop(permit);
            });
            Ok(build(
                200,
                "text/event-stream",
                headers,
                AxonBody::Stream(rx),
            ))
        }
    }
}

/// Fill the axon terminal fields the client left empty (ip, port, hotkey).
fn fill_axon(axon: &mut TerminalInfo, ours: &TerminalInfo) {
    if axon.ip.is_none() {
        axon.ip.clone_from(&ours.ip);
    }
    if axon.port.is_none() {
        axon.port = ours.port;
    }
    if axon.hotkey.is_none() {
        axon.hotkey.clone_from(&ours.hotkey);
    }
}

fn build(
    status: u16,
    content_type: &'static str,
    headers: Vec<(String, String)>,
    body: AxonBody,
) -> Response<AxonBody> {
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let map = response.headers_mut();
    map.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            map.insert(name, value);
        }
    }
    response
}

/// The built-in `Synapse` route (the SDK's ping): the base synapse with no fields of its own.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ping {}

impl Synapse for Ping {
    const NAME: &'static str = "Synapse";
}

/// State shared by every connection.
struct Shared {
    hotkey_ss58: String,
    btauth: crate::btauth::Verifier,
    config: AxonConfig,
    routes: HashMap<String, Arc<dyn Route>>,
    stake_view: Option<Arc<dyn StakeView>>,
    nonces: NonceGuard,
    rate: Option<RateLimiter>,
    gate: PriorityGate,
    keys: Mutex<HashMap<String, VerifyingKey>>,
    axon_uuid: String,
    terminal: TerminalInfo,
    metrics: Metrics,
    connections: Arc<ConnectionLimits>,
}

/// An axon being configured: attach handlers, then [`serve`](Axon::serve).
pub struct Axon {
    keypair: Keypair,
    config: AxonConfig,
    routes: HashMap<String, Arc<dyn Route>>,
    stake_view: Option<Arc<dyn StakeView>>,
}

impl Axon {
    /// An axon answering as `keypair`'s hotkey, with the built-in `Synapse` ping route.
    pub fn new(keypair: Keypair, config: AxonConfig) -> Self {
        let mut axon = Self {
            keypair,
            config,
            routes: HashMap::new(),
            stake_view: None,
        };
        axon.attach(Handler::<Ping>::forward(|s, _| async move { Ok(s) }));
        axon
    }

    /// Serve synapse `S` (route `/{S::NAME}`) with `handler`; replaces an earlier one.
    pub fn attach<S: Synapse>(&mut self, handler: Handler<S>) -> &mut Self {
        self.routes.insert(S::NAME.to_owned(), Arc::new(handler));
        self
    }

    /// Admit only hotkeys `view` knows (and with at least [`AxonConfig::min_stake`]); queue by
    /// their stake.
    pub fn stake_view(&mut self, view: Arc<dyn StakeView>) -> &mut Self {
        self.stake_view = Some(view);
        self
    }

    /// Bind and start serving in the background.
    ///
    /// # Errors
    /// The listening socket could not be bound.
    pub async fn serve(self) -> std::io::Result<AxonHandle> {
        let listener = TcpListener::bind(self.config.bind).await?;
        let local = listener.local_addr()?;
        let external_ip = self
            .config
            .external_ip
            .clone()
            .unwrap_or_else(|| local.ip().to_string());
        let external_port = self.config.external_port.unwrap_or(local.port());
        let hotkey_ss58 = self.keypair.public().to_ss58();
        let shared = Arc::new(Shared {
            nonces: NonceGuard::new(NonceLimits {
                max_entries: self.config.max_nonce_entries,
                max_per_hotkey: self.config.max_nonces_per_hotkey,
                max_timeout_s: self.config.max_timeout_s,
                max_lead_ns: self.config.max_nonce_lead_ms.saturating_mul(1_000_000),
            }),
            rate: self.config.rate_limit.map(|(per_second, burst)| {
                RateLimiter::new(per_second, burst, self.config.max_nonce_entries)
            }),
            gate: PriorityGate::new(self.config.max_concurrent, self.config.max_queue),
            keys: Mutex::new(HashMap::new()),
            axon_uuid: crate::signing::new_uuid(),
            terminal: TerminalInfo {
                ip: Some(external_ip.clone()),
                port: Some(u64::from(external_port)),
                hotkey: Some(hotkey_ss58.clone()),
                ..TerminalInfo::default()
            },
            metrics: Metrics::default(),
            connections: ConnectionLimits::new(
                self.config.max_connections,
                self.config.max_connections_per_ip,
            ),
            btauth: crate::btauth::Verifier::new(&hotkey_ss58, true),
            hotkey_ss58,
            config: self.config,
            routes: self.routes,
            stake_view: self.stake_view,
        });
        let task = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(AxonHandle {
            local,
            external_ip,
            external_port,
            shared,
            task,
        })
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = tokio::task::JoinSet::new();
    let mut prune = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else {
                    // Out of file descriptors and the like: back off briefly.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                // At a cap the stream is dropped, which closes it.
                if let Some(slot) = shared.connections.admit(peer.ip()) {
                    connections.spawn(serve_connection(shared.clone(), stream, peer, slot));
                }
            }
            _ = prune.tick() => shared.nonces.prune(now_ns()),
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// The smallest read buffer hyper accepts (it panics below).
const HYPER_MIN_BUF_BYTES: usize = 8192;

/// Serves one connection until the client closes it, it breaks a timeout, or it stays idle.
async fn serve_connection(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    slot: ConnectionSlot,
) {
    let _ = stream.set_nodelay(true);
    let activity = Activity::new(
        Duration::try_from_secs_f64(shared.config.max_timeout_s).unwrap_or(Duration::ZERO),
    );
    let io = TokioIo::new(Watched::new(stream, activity.clone()));
    let config = &shared.config;
    let header_read_timeout = Duration::from_millis(config.header_read_timeout_ms);
    let idle_timeout = Duration::from_millis(config.idle_timeout_ms);
    let service = {
        let (shared, activity) = (shared.clone(), activity.clone());
        hyper::service::service_fn(move |req| {
            let shared = shared.clone();
            let busy = activity.busy();
            async move {
                let response = handle(shared, peer, req).await;
                Ok::<_, Infallible>(response.map(|body| Answering::new(body, busy)))
            }
        })
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_buf_size(config.max_header_bytes.max(HYPER_MIN_BUF_BYTES))
        .serve_connection(io, service);
    // Leaving the select drops the connection, which closes the socket.
    tokio::select! {
        _ = connection => {}
        () = activity.idle_for(idle_timeout) => {}
    }
    drop(slot);
}

/// A running axon. Dropping it (or [`shutdown`](AxonHandle::shutdown)) stops the server and
/// every open connection.
pub struct AxonHandle {
    local: SocketAddr,
    external_ip: String,
    external_port: u16,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl AxonHandle {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The announced endpoint (external ip/port and hotkey), as a dendrite target.
    pub fn target(&self) -> crate::AxonTarget {
        crate::AxonTarget {
            ip: self.external_ip.clone(),
            port: self.external_port,
            hotkey: self.shared.hotkey_ss58.clone(),
        }
    }

    /// Requests waiting for a handler slot.
    pub fn queue_depth(&self) -> usize {
        self.shared.gate.queue_depth()
    }

    /// Prometheus text exposition of the axon's metrics.
    pub fn metrics_text(&self) -> String {
        self.shared.metrics.render(self.shared.gate.queue_depth())
    }

    /// Stop serving.
    pub fn shutdown(self) {
        self.task.abort();
    }
}

impl Drop for AxonHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Header-derived terminal info for error responses.
struct ErrCtx<'a> {
    started: Instant,
    headers: Option<&'a RequestHeaders>,
    peer: SocketAddr,
    name: &'a str,
}

fn error_response(shared: &Shared, ctx: &ErrCtx<'_>, r: &Reject) -> Response<AxonBody> {
    let mut axon = shared.terminal.clone();
    axon.status_code = Some(i64::from(r.status));
    axon.status_message = Some(r.message.clone());
    axon.process_time = Some(ctx.started.elapsed().as_secs_f64());
    axon.version = Some(SDK_VERSION);
    axon.nonce = Some(now_ns());
    axon.uuid = Some(shared.axon_uuid.clone());
    let mut dendrite = ctx.headers.map(|h| h.dendrite.clone()).unwrap_or_default();
    dendrite.ip = Some(ctx.peer.ip().to_string());
    dendrite.port = Some(u64::from(ctx.peer.port()));
    let mut headers = vec![
        ("name".to_owned(), crate::headers::header_safe(ctx.name)),
        (
            "timeout".to_owned(),
            py_float(
                ctx.headers
                    .and_then(|h| h.timeout)
                    .unwrap_or(crate::DEFAULT_TIMEOUT),
            ),
        ),
    ];
    push_terminal(&mut headers, AXON_PREFIX, &axon);
    push_terminal(&mut headers, DENDRITE_PREFIX, &dendrite);
    let body = serde_json::json!({ "message": r.message }).to_string();
    build(r.status, "application/json", headers, AxonBody::full(body))
}

async fn handle(
    shared: Arc<Shared>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<AxonBody> {
    let started = Instant::now();
    if shared.config.serve_metrics
        && req.method() == http::Method::GET
        && req.uri().path() == "/metrics"
    {
        let text = shared.metrics.render(shared.gate.queue_depth());
        return build(
            200,
            "text/plain; version=0.0.4",
            Vec::new(),
            AxonBody::full(text),
        );
    }
    let name = req
        .uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("")
        .to_owned();
    let parsed = RequestHeaders::parse(req.headers());
    let ctx = ErrCtx {
        started,
        headers: parsed.as_ref().ok(),
        peer,
        name: &name,
    };
    let response = match pipeline(&shared, peer, &name, req, started).await {
        Ok(response) => response,
        Err(r) => error_response(&shared, &ctx, &r),
    };
    shared
        .metrics
        .observe(&name, response.status().as_u16(), started.elapsed());
    response
}

impl std::fmt::Debug for Axon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Axon")
            .field("hotkey", &self.keypair.public())
            .field("config", &self.config)
            .field("routes", &self.routes.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for AxonHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AxonHandle")
            .field("local", &self.local)
            .field("hotkey", &self.shared.hotkey_ss58)
            .finish_non_exhaustive()
    }
}
