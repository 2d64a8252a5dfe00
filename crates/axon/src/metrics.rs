//! Prometheus metrics of an axon: requests by synapse and status, a latency histogram, queue
//! depth. Rendered in the text exposition format by [`Metrics::render`]. The same counts make
//! the axon's log: each request at `debug`, and at `info` a summary of the requests answered
//! (at the first, then at most once per [`SUMMARY_INTERVAL`]).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Least time between two `info` summaries of answered requests.
pub const SUMMARY_INTERVAL: Duration = Duration::from_secs(60);

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, u16), u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
    /// Requests by status since the last summary line, and when that was.
    unsummarized: BTreeMap<u16, u64>,
    last_summary: Option<Instant>,
}

/// Counters updated once per request.
#[derive(Debug, Default)]
pub struct Metrics(Mutex<Inner>);

/// Synapse names kept as metric labels at most; others count as `other` (unknown routes are
/// attacker-chosen text).
const MAX_LABELS: usize = 256;

impl Metrics {
    /// Count one answered request (and log it, see the module's doc).
    pub fn observe(&self, synapse: &str, status: u16, latency: Duration) {
        tracing::debug!(
            synapse,
            status,
            latency_ms = latency.as_millis(),
            "axon request"
        );
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *m.unsummarized.entry(status).or_default() += 1;
        if m.last_summary
            .is_none_or(|at| at.elapsed() >= SUMMARY_INTERVAL)
        {
            let by_status: Vec<String> = m
                .unsummarized
                .iter()
                .map(|(status, n)| format!("{n}×{status}"))
                .collect();
            let answered: u64 = m.unsummarized.values().sum();
            tracing::info!(
                answered,
                by_status = %by_status.join(" "),
                "axon: answered requests since the last summary"
            );
            m.unsummarized.clear();
            m.last_summary = Some(Instant::now());
        }
        let label = if status == 404
            || (m.requests.len() >= MAX_LABELS
                && !m.requests.contains_key(&(synapse.to_owned(), status)))
        {
            "other".to_owned()
        } else {
            synapse.to_owned()
        };
        *m.requests.entry((label, status)).or_default() += 1;
        let secs = latency.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                m.buckets[i] += 1;
            }
        }
        m.count += 1;
        m.sum += secs;
    }

    /// The text exposition format, with the current queue depth.
    pub fn render(&self, queue_depth: usize) -> String {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP axon_requests_total Requests answered, by synapse and status."
        );
        let _ = writeln!(out, "# TYPE axon_requests_total counter");
        for ((synapse, status), n) in &m.requests {
            let synapse: String = synapse
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let _ = writeln!(
                out,
                "axon_requests_total{{synapse=\"{synapse}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP axon_request_seconds Time from arrival to answer."
        );
        let _ = writeln!(out, "# TYPE axon_request_seconds histogram");
        for (bound, n) in BUCKETS.iter().zip(m.buckets) {
            let _ = writeln!(out, "axon_request_seconds_bucket{{le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "axon_request_seconds_bucket{{le=\"+Inf\"}} {}",
            m.count
        );
        let _ = writeln!(out, "axon_request_seconds_sum {}", m.sum);
        let _ = writeln!(out, "axon_request_seconds_count {}", m.count);
        let _ = writeln!(
            out,
            "# HELP axon_queue_depth Requests waiting for a handler slot."
        );
        let _ = writeln!(out, "# TYPE axon_queue_depth gauge");
        let _ = writeln!(out, "axon_queue_depth {queue_depth}");
        out
    }
}
