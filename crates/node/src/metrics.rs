//! The node's Prometheus metrics (`tao_*`) and the `/metrics` HTTP endpoint.
//!
//! The metrics are registered with the commonware runtime, so one scrape returns ours next to
//! the engine's own (p2p, simplex, marshal, storage). The endpoint is a deliberately small
//! HTTP/1.1 responder: it reads at most [`MAX_REQUEST_BYTES`] of a request, answers
//! `GET /metrics` and nothing else, and closes the connection.

use std::net::SocketAddr;
use std::time::Duration;

use commonware_runtime::telemetry::metrics::{
    Counter, CounterFamily, EncodeStruct, Gauge, Histogram, MetricsExt as _, Registered, raw,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::block_log::RefusalTally;

/// Largest request the endpoint reads, bytes.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// How long a scraper may take to send its request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Buckets of the latency histograms, seconds.
const SECONDS_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0,
];

/// Label of a rejected transaction: the state machine's (or the pool's) reason.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeStruct)]
pub struct Reason {
    /// Short snake-case reason, e.g. `bad_signature`, `stale_nonce`, `pool_full`.
    pub reason: &'static str,
}

/// Every `tao_*` metric of a node. Clones share the same values.
#[derive(Clone)]
pub struct NodeMetrics {
    /// Height of the last finalized (durable) block.
    pub finalized_height: Gauge,
    /// Height of the highest block verified or proposed here (finalized or not).
    pub best_height: Gauge,
    /// Seconds from a block's timestamp to its durable finalization here.
    pub finality_latency: Histogram,
    /// Transactions waiting in the pool.
    pub mempool_size: Gauge,
    /// Validators with an open authenticated connection.
    pub peers: Gauge,
    /// Transactions accepted into the pool (RPC and gossip).
    pub tx_accepted: Counter,
    /// Transactions refused by the pool, by reason.
    pub tx_rejected: CounterFamily<Reason>,
    /// Gossip messages dropped (over a peer's budget, from a peer cooling down, malformed),
    /// by reason.
    pub gossip_dropped: CounterFamily<Reason>,
    /// Seconds to execute a block (propose, verify, or catch-up re-execution).
    pub block_execution: Histogram,
    /// Seconds to execute a block that ran at least one subnet epoch.
    pub epoch_execution: Histogram,
    /// Refusals since the chain log's last line ([`crate::block_log`]).
    pub refusals: RefusalTally,
}

impl std::fmt::Debug for NodeMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeMetrics").finish_non_exhaustive()
    }
}

impl NodeMetrics {
    /// Registers the metrics with `context`; their names get the context's label as prefix,
    /// so a context labelled `tao` gives `tao_finalized_height` and so on.
    pub fn register(context: &impl commonware_runtime::Metrics) -> NodeMetrics {
        NodeMetrics {
            finalized_height: context.gauge("finalized_height", "last finalized block height"),
            best_height: context.gauge("best_height", "highest verified or proposed block"),
            finality_latency: context.histogram(
                "finality_latency_seconds",
                "block timestamp to durable finalization",
                SECONDS_BUCKETS,
            ),
            mempool_size: context.gauge("mempool_size", "transactions waiting in the pool"),
            peers: context.gauge("peers", "validators with an open connection"),
            tx_accepted: context.counter("tx_accepted", "transactions accepted into the pool"),
            tx_rejected: context.family("tx_rejected", "transactions refused, by reason"),
            gossip_dropped: context.family(
                "gossip_dropped",
                "transaction gossip messages dropped unread or cut short, by reason",
            ),
            block_execution: context.histogram(
                "block_execution_seconds",
                "time to execute a block",
                SECONDS_BUCKETS,
            ),
            epoch_execution: context.histogram(
                "epoch_block_execution_seconds",
                "time to execute a block that ran a subnet epoch",
                SECONDS_BUCKETS,
            ),
            refusals: RefusalTally::default(),
        }
    }

    /// Metrics that are kept but exported nowhere (unit tests, simulations without a registry).
    pub fn detached() -> NodeMetrics {
        let histogram = || Registered::detached(raw::Histogram::new(SECONDS_BUCKETS));
        NodeMetrics {
            finalized_height: Registered::detached(raw::Gauge::default()),
            best_height: Registered::detached(raw::Gauge::default()),
            finality_latency: histogram(),
            mempool_size: Registered::detached(raw::Gauge::default()),
            peers: Registered::detached(raw::Gauge::default()),
            tx_accepted: Registered::detached(raw::Counter::default()),
            tx_rejected: Registered::detached(raw::Family::default()),
            gossip_dropped: Registered::detached(raw::Family::default()),
            block_execution: histogram(),
            epoch_execution: histogram(),
            refusals: RefusalTally::default(),
        }
    }

    /// Counts a dropped gossip message.
    pub fn gossip_dropped(&self, reason: &'static str) {
        self.gossip_dropped.get_or_create(&Reason { reason }).inc();
    }

    /// Counts a refused transaction (also for the chain log's next line).
    pub fn rejected(&self, reason: &'static str) {
        self.tx_rejected.get_or_create(&Reason { reason }).inc();
        self.refusals.record(reason);
    }
}

/// Number of peers the p2p tracker reports as connected, read from an encoded scrape (the
/// `lookup` network exports one `..._tracker_directory_connected{peer=..}` sample per open
/// connection and has no other public counter of them).
pub fn connected_peers(encoded: &str) -> usize {
    encoded
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('{').map(|(name, _)| name))
        .filter(|name| name.contains("_tracker_") && name.ends_with("_connected"))
        .count()
}

/// Serves `GET /metrics` on `listener` with the text `encode` returns, until the task is
/// dropped. Every other request gets 404; a request longer than [`MAX_REQUEST_BYTES`] or
/// slower than [`REQUEST_TIMEOUT`] is dropped.
pub async fn serve(listener: TcpListener, encode: impl Fn() -> String + Send + Sync + 'static) {
    let encode = std::sync::Arc::new(encode);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let encode = std::sync::Arc::clone(&encode);
        tokio::spawn(async move {
            let _ = answer(stream, encode.as_ref()).await;
        });
    }
}

/// Binds the metrics endpoint (fails early, before the node starts, on a taken port).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

async fn answer(
    mut stream: TcpStream,
    encode: &(dyn Fn() -> String + Send + Sync),
) -> std::io::Result<()> {
    let mut request = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    let headers_read = tokio::time::timeout(REQUEST_TIMEOUT, async {
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let read = stream.read(&mut chunk).await?;
            if read == 0 || request.len() + read > MAX_REQUEST_BYTES {
                return Ok::<bool, std::io::Error>(false);
            }
            request.extend_from_slice(&chunk[..read]);
        }
        Ok(true)
    })
    .await;
    if !matches!(headers_read, Ok(Ok(true))) {
        return Ok(());
    }
    let line = request.split(|&b| b == b'\r').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (method, path) = (parts.next(), parts.next());
    let (status, content_type, body) = match (method, path) {
        (Some(b"GET"), Some(b"/metrics")) => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            encode(),
        ),
        _ => (
            "404 Not Found",
            "text/plain",
            "only GET /metrics\n".to_owned(),
        ),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connected_peers_counts_the_tracker_samples() {
        // As a `lookup` network really names them (read off a running localnet).
        let scrape = "# HELP network_tracker_directory_connected x\n\
                      network_tracker_directory_connected{peer=\"aa\"} 1795676791056\n\
                      network_tracker_directory_connected{peer=\"bb\"} 1795676788551\n\
                      network_tracker_directory_limits_total{peer=\"cc\"} 1\n\
                      tao_peers 0\n";
        assert_eq!(connected_peers(scrape), 2);
        assert_eq!(connected_peers(""), 0);
    }

    #[tokio::test]
    async fn the_endpoint_answers_metrics_and_refuses_the_rest() -> std::io::Result<()> {
        let listener = bind("127.0.0.1:0".parse().map_err(std::io::Error::other)?).await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(serve(listener, || "tao_finalized_height 7\n".to_owned()));
        let get = |request: &'static [u8]| async move {
            let mut stream = TcpStream::connect(addr).await?;
            stream.write_all(request).await?;
            let mut response = String::new();
            stream.read_to_string(&mut response).await?;
            Ok::<String, std::io::Error>(response)
        };
        let ok = get(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await?;
        assert!(ok.starts_with("HTTP/1.1 200 OK"), "{ok}");
        assert!(ok.ends_with("tao_finalized_height 7\n"), "{ok}");
        let other = get(b"POST /metrics HTTP/1.1\r\n\r\n").await?;
        assert!(other.starts_with("HTTP/1.1 404"), "{other}");
        // An endless header is cut off at the size bound: the connection closes unanswered.
        let huge = [b'a'; MAX_REQUEST_BYTES + 10];
        let mut stream = TcpStream::connect(addr).await?;
        let _ = stream.write_all(&huge).await;
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response).await;
        assert!(response.is_empty());
        server.abort();
        Ok(())
    }
}
