//! Budgets that keep one client or peer from taking more than its share of a server (issue
//! 13): token buckets (a node's RPC calls per connection, gossip bytes and transactions per
//! peer) and open connections in all and per client host (the node's RPC server, the axon).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A token bucket: `burst` tokens at most, refilled at `per_second`.
///
/// Times are durations since an origin the caller picks (a process `Instant`, or the
/// runtime's clock where a deterministic simulation must replay), never read here; a time
/// before the last one refills nothing.
#[derive(Clone, Copy, Debug)]
pub struct TokenBucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    at: Duration,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(per_second: f64, burst: f64, now: Duration) -> TokenBucket {
        let burst = burst.max(1.0);
        TokenBucket {
            per_second: per_second.max(0.0),
            burst,
            tokens: burst,
            at: now,
        }
    }

    fn refill(&mut self, now: Duration) {
        let elapsed_s = now.saturating_sub(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed_s * self.per_second).min(self.burst);
        self.at = self.at.max(now);
    }

    /// Takes `cost` tokens (at most `burst`, so any cost can be paid after a wait), or says
    /// how long until they are there; a refused take takes nothing.
    pub fn take(&mut self, cost: f64, now: Duration) -> Result<(), Duration> {
        self.refill(now);
        let cost = cost.clamp(0.0, self.burst);
        if self.tokens >= cost {
            self.tokens -= cost;
            return Ok(());
        }
        let missing = cost - self.tokens;
        if self.per_second > 0.0 {
            Err(Duration::from_secs_f64(missing / self.per_second).max(Duration::from_millis(1)))
        } else {
            Err(Duration::MAX)
        }
    }

    /// Whether the bucket is full at `now` (forgetting it would change nothing).
    pub fn is_full(&mut self, now: Duration) -> bool {
        self.refill(now);
        self.tokens >= self.burst
    }
}

/// Open connections, in all and per client host (see [`host_of`]).
#[derive(Debug)]
pub struct ConnectionLimits {
    max_total: usize,
    max_per_host: usize,
    open: Mutex<OpenConnections>,
}

#[derive(Debug, Default)]
struct OpenConnections {
    total: usize,
    per_host: HashMap<IpAddr, usize>,
}

impl ConnectionLimits {
    /// At most `max_total` connections, `max_per_host` from one host.
    pub fn new(max_total: usize, max_per_host: usize) -> Arc<ConnectionLimits> {
        Arc::new(ConnectionLimits {
            max_total,
            max_per_host,
            open: Mutex::new(OpenConnections::default()),
        })
    }

    /// A slot for a connection from `ip`, or `None` when its host or the server is at its
    /// cap. The slot is given back when dropped.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<ConnectionSlot> {
        let host = host_of(ip);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let from_host = open.per_host.get(&host).copied().unwrap_or(0);
        if open.total >= self.max_total || from_host >= self.max_per_host {
            return None;
        }
        open.total = open.total.saturating_add(1);
        open.per_host.insert(host, from_host.saturating_add(1));
        Some(ConnectionSlot {
            limits: Arc::clone(self),
            host,
        })
    }
}

/// One open connection's place among the [`ConnectionLimits`].
#[derive(Debug)]
pub struct ConnectionSlot {
    limits: Arc<ConnectionLimits>,
    host: IpAddr,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.per_host.get_mut(&self.host) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.per_host.remove(&self.host);
            }
        }
    }
}

/// The host a per-host cap counts against: IPv4 as is, IPv6 by its /64 (one subscriber's
/// allocation: counting single addresses would give one host 2^64 slots), an IPv4-mapped
/// IPv6 address as its IPv4 host.
pub fn host_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !u128::from(u64::MAX);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_bucket_refills_at_its_rate_up_to_its_burst() {
        let start = Duration::from_secs(1_000);
        let mut bucket = TokenBucket::new(10.0, 5.0, start);
        assert_eq!(bucket.take(4.0, start), Ok(()));
        // 1 left: a cost of 3 waits for 2 tokens, 200 ms, and takes nothing meanwhile.
        assert_eq!(bucket.take(3.0, start), Err(Duration::from_millis(200)));
        assert_eq!(bucket.take(1.0, start), Ok(()));
        let later = start + Duration::from_millis(300);
        assert_eq!(bucket.take(3.0, later), Ok(()));
        // Never more than the burst, however long it rests; a cost above it costs the burst.
        let much_later = start + Duration::from_secs(60);
        assert!(bucket.is_full(much_later));
        assert_eq!(bucket.take(50.0, much_later), Ok(()));
        assert!(bucket.take(1.0, much_later).is_err());
    }

    #[test]
    fn caps_per_host_and_in_all_and_slots_come_back() {
        let limits = ConnectionLimits::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = limits.admit(a).unwrap();
        let _second = limits.admit(a).unwrap();
        assert!(limits.admit(a).is_none());
        let _third = limits.admit(b).unwrap();
        assert!(limits.admit(b).is_none());
        drop(first);
        assert!(limits.admit(a).is_some());
    }

    #[test]
    fn ipv6_hosts_count_by_their_64_prefix() {
        let limits = ConnectionLimits::new(10, 1);
        let _one = limits.admit("2001:db8::1".parse().unwrap()).unwrap();
        assert!(limits.admit("2001:db8::ffff:2".parse().unwrap()).is_none());
        assert!(limits.admit("2001:db8:0:1::1".parse().unwrap()).is_some());
        let _v4 = limits.admit("10.0.0.9".parse().unwrap()).unwrap();
        assert!(limits.admit("::ffff:10.0.0.9".parse().unwrap()).is_none());
    }
}
