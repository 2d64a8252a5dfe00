//! Admission control for the axon: per-hotkey rate limits and a bounded priority queue.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tao_keys::PublicKey;
use tokio::sync::oneshot;

/// A token bucket per hotkey: `per_second` sustained, `burst` at once. Idle hotkeys are dropped
/// when the table grows past `max_keys`, so memory stays bounded.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    max_keys: usize,
    buckets: Mutex<HashMap<PublicKey, (f64, Instant)>>,
}

impl RateLimiter {
    /// A limiter allowing `per_second` requests per second per hotkey with bursts of `burst`.
    pub fn new(per_second: f64, burst: f64, max_keys: usize) -> Self {
        Self {
            per_second: per_second.max(0.0),
            burst: burst.max(1.0),
            max_keys: max_keys.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one token for `hotkey`; `false` when its bucket is empty.
    pub fn allow(&self, hotkey: &PublicKey, now: Instant) -> bool {
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if !map.contains_key(hotkey) && map.len() >= self.max_keys {
            let (rate, burst) = (self.per_second, self.burst);
            // Drop buckets that have refilled completely: forgetting them changes nothing.
            map.retain(|_, (tokens, at)| {
                *tokens + now.saturating_duration_since(*at).as_secs_f64() * rate < burst
            });
            if map.len() >= self.max_keys {
                return false;
            }
        }
        let (tokens, at) = map.entry(*hotkey).or_insert((self.burst, now));
        *tokens = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * self.per_second)
            .min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Why the priority gate refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    /// The queue is full of higher-priority requests (or this one was pushed out): 503.
    #[error("Service at capacity: request queue full")]
    Full,
    /// The request waited until its deadline: 408.
    #[error("timed out waiting for a worker")]
    Timeout,
}

/// Total order over `f64` priorities (NaN counts as lowest).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Prio(f64);
impl Eq for Prio {}
impl PartialOrd for Prio {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Prio {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let a = if self.0.is_nan() {
            f64::NEG_INFINITY
        } else {
            self.0
        };
        let b = if other.0.is_nan() {
            f64::NEG_INFINITY
        } else {
            other.0
        };
        a.total_cmp(&b)
    }
}

/// Waiting order: higher priority first, then first come first served (`Reverse(seq)`).
type WaitKey = (Prio, std::cmp::Reverse<u64>);

#[derive(Debug)]
struct GateState {
    active: usize,
    seq: u64,
    waiting: BTreeMap<WaitKey, oneshot::Sender<Permit>>,
}

#[derive(Debug)]
struct GateInner {
    max_active: usize,
    max_queue: usize,
    state: Mutex<GateState>,
}

/// At most `max_active` requests run at once; up to `max_queue` more wait, ordered by priority
/// (the caller's stake by default). When the queue is full a newcomer with a higher priority
/// pushes out the lowest waiting request (503); otherwise the newcomer is refused (503).
#[derive(Debug, Clone)]
pub struct PriorityGate {
    inner: Arc<GateInner>,
}

/// A running slot; dropping it hands the slot to the best waiting request.
#[derive(Debug)]
pub struct Permit {
    gate: Option<Arc<GateInner>>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let Some(gate) = self.gate.take() else {
            return;
        };
        let mut state = gate.state.lock().unwrap_or_else(|e| e.into_inner());
        while let Some((_, tx)) = state.waiting.pop_last() {
            let permit = Permit {
                gate: Some(gate.clone()),
            };
            match tx.send(permit) {
                Ok(()) => return,
                // The waiter gave up; defuse the returned permit (we hold the lock).
                Err(mut back) => back.gate = None,
            }
        }
        state.active = state.active.saturating_sub(1);
    }
}

impl PriorityGate {
    /// A gate with `max_active` running and `max_queue` waiting slots.
    pub fn new(max_active: usize, max_queue: usize) -> Self {
        Self {
            inner: Arc::new(GateInner {
                max_active: max_active.max(1),
                max_queue,
                state: Mutex::new(GateState {
                    active: 0,
                    seq: 0,
                    waiting: BTreeMap::new(),
                }),
            }),
        }
    }

    /// Wait (at most `wait`) for a slot.
    ///
    /// # Errors
    /// [`GateError::Full`] or [`GateError::Timeout`].
    pub async fn acquire(&self, priority: f64, wait: Duration) -> Result<Permit, GateError> {
        let (key, rx) = {
            let mut state = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
            if state.active < self.inner.max_active {
                state.active += 1;
                return Ok(Permit {
                    gate: Some(self.inner.clone()),
                });
            }
            state.seq += 1;
            let key = (Prio(priority), std::cmp::Reverse(state.seq));
            if state.waiting.len() >= self.inner.max_queue {
                match state.waiting.first_key_value() {
                    // Push out the lowest waiter (its sender drops: it sees `Full`).
                    Some((lowest, _)) if *lowest < key => {
                        state.waiting.pop_first();
                    }
                    _ => return Err(GateError::Full),
                }
            }
            let (tx, rx) = oneshot::channel();
            state.waiting.insert(key, tx);
            (key, rx)
        };
        match tokio::time::timeout(wait, rx).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) => Err(GateError::Full),
            Err(_) => {
                let mut state = self.inner.state.lock().unwrap_or_else(|e| e.into_inner());
                state.waiting.remove(&key);
                Err(GateError::Timeout)
            }
        }
    }

    /// Requests waiting for a slot.
    pub fn queue_depth(&self) -> usize {
        self.inner
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .waiting
            .len()
    }

    /// Requests holding a slot.
    pub fn active(&self) -> usize {
        self.inner
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_refills() {
        let r = RateLimiter::new(10.0, 2.0, 4);
        let k = PublicKey::from_bytes([1; 32]);
        let t = Instant::now();
        assert!(r.allow(&k, t));
        assert!(r.allow(&k, t));
        assert!(!r.allow(&k, t));
        assert!(r.allow(&k, t + Duration::from_millis(150)));
    }

    #[tokio::test]
    async fn gate_orders_by_priority_and_bounds_the_queue() {
        let gate = PriorityGate::new(1, 2);
        let running = gate.acquire(0.0, Duration::from_secs(1)).await.unwrap();
        let low = tokio::spawn({
            let g = gate.clone();
            async move { g.acquire(1.0, Duration::from_secs(5)).await.map(|_| ()) }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let high = tokio::spawn({
            let g = gate.clone();
            async move {
                let p = g.acquire(5.0, Duration::from_secs(5)).await;
                p.map(|_| Instant::now())
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(gate.queue_depth(), 2);
        // Queue full: a higher newcomer pushes out the lowest (priority 1).
        let top = tokio::spawn({
            let g = gate.clone();
            async move { g.acquire(9.0, Duration::from_secs(5)).await.map(|_| ()) }
        });
        assert_eq!(low.await.unwrap(), Err(GateError::Full));
        // A lower newcomer is refused outright.
        assert_eq!(
            gate.acquire(0.5, Duration::from_secs(1)).await.err(),
            Some(GateError::Full)
        );
        drop(running);
        top.await.unwrap().unwrap();
        high.await.unwrap().unwrap();
        assert_eq!(gate.active(), 0);
        // Timeouts leave no trace.
        let p = gate.acquire(0.0, Duration::from_secs(1)).await.unwrap();
        assert_eq!(
            gate.acquire(0.0, Duration::from_millis(10)).await.err(),
            Some(GateError::Timeout)
        );
        assert_eq!(gate.queue_depth(), 0);
        drop(p);
        assert_eq!(gate.active(), 0);
    }
}
