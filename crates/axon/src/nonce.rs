//! Replay protection for the axon: per (hotkey, uuid) nonce tracking with bounded memory.
//!
//! The SDK accepts the first nonce of a `(hotkey, uuid)` within `4 s + timeout` of now and then
//! demands strictly increasing nonces, keeping every key forever. Here:
//!
//! * every nonce must lie within the window (`4 s + min(timeout, cap)`), not only the first;
//! * a nonce is accepted once; nonces that arrive out of order (many requests in flight from one
//!   client) are accepted as long as they were not seen and lie above the key's floor;
//! * nonces older than the widest window are forgotten (raising the floor), whole keys are
//!   dropped when their newest nonce is out of every window, and the number of keys is capped.
//!
//! Replays stay impossible: a forgotten nonce is below the floor or outside every window.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// The SDK's fixed part of the nonce window (`ALLOWED_DELTA`), in nanoseconds.
pub const ALLOWED_DELTA_NS: u64 = 4_000_000_000;

/// Nonces remembered per key before the oldest is folded into the floor.
const PER_KEY_RECENT: usize = 4096;

/// Shards of the map (fewer lock collisions between cores).
const SHARDS: usize = 16;

/// Why a nonce was refused. The texts are the SDK's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NonceError {
    /// Older than the allowed window.
    #[error(
        "Nonce is too old: acceptable delta is {allowed_s:.2} seconds but request was {age_s:.2} seconds old"
    )]
    TooOld {
        /// The window in seconds.
        allowed_s: f64,
        /// The nonce's age in seconds.
        age_s: f64,
    },
    /// Already used, or below the newest nonce this key no longer remembers individually.
    #[error("Nonce is too old, a newer one was last processed")]
    Replayed,
    /// The table of clients is full of live entries (a flood of fresh uuids).
    #[error("Too many clients: nonce table full")]
    TableFull,
}

#[derive(Debug, Default)]
struct Entry {
    /// Every nonce at or below this is refused.
    floor: u64,
    /// Accepted nonces above the floor.
    recent: BTreeSet<u64>,
}

impl Entry {
    fn newest(&self) -> u64 {
        self.recent.last().copied().unwrap_or(self.floor)
    }
}

/// The axon's nonce table.
#[derive(Debug)]
pub struct NonceGuard {
    shards: Vec<Mutex<HashMap<String, Entry>>>,
    max_keys_per_shard: usize,
    max_timeout_ns: u64,
}

impl NonceGuard {
    /// A table holding at most about `max_keys` clients, for synapse timeouts capped at
    /// `max_timeout_s` seconds.
    pub fn new(max_keys: usize, max_timeout_s: f64) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            max_keys_per_shard: max_keys.div_ceil(SHARDS).max(1),
            max_timeout_ns: secs_to_ns(max_timeout_s),
        }
    }

    fn shard(&self, key: &str) -> &Mutex<HashMap<String, Entry>> {
        // FNV-1a: cheap and good enough to spread keys; collisions only cost lock contention.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in key.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let i = (h % SHARDS as u64) as usize;
        &self.shards[i.min(self.shards.len() - 1)]
    }

    /// The window for a request with this timeout, in nanoseconds.
    fn window_ns(&self, timeout_s: f64) -> u64 {
        ALLOWED_DELTA_NS + secs_to_ns(timeout_s).min(self.max_timeout_ns)
    }

    /// Check `nonce` for `key` without recording it (run before the signature check).
    ///
    /// # Errors
    /// [`NonceError::TooOld`] or [`NonceError::Replayed`].
    pub fn check(&self, key: &str, nonce: u64, timeout_s: f64, now: u64) -> Result<(), NonceError> {
        let window = self.window_ns(timeout_s);
        if nonce.saturating_add(window) <= now {
            return Err(NonceError::TooOld {
                allowed_s: window as f64 / 1e9,
                age_s: now.saturating_sub(nonce) as f64 / 1e9,
            });
        }
        let shard = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = shard.get(key)
            && (nonce <= entry.floor || entry.recent.contains(&nonce))
        {
            return Err(NonceError::Replayed);
        }
        Ok(())
    }

    /// Record `nonce` for `key` after its signature verified; re-checks atomically so that two
    /// copies of one request racing through [`check`](Self::check) cannot both pass.
    ///
    /// # Errors
    /// As [`check`](Self::check), plus [`NonceError::TableFull`].
    pub fn commit(&self, key: &str, nonce: u64, now: u64) -> Result<(), NonceError> {
        let horizon = now.saturating_sub(ALLOWED_DELTA_NS + self.max_timeout_ns);
        let mut shard = self.shard(key).lock().unwrap_or_else(|e| e.into_inner());
        if !shard.contains_key(key) && shard.len() >= self.max_keys_per_shard {
            shard.retain(|_, e| e.newest() > horizon);
            if shard.len() >= self.max_keys_per_shard {
                return Err(NonceError::TableFull);
            }
        }
        let entry = shard.entry(key.to_owned()).or_default();
        if nonce <= entry.floor || !entry.recent.insert(nonce) {
            return Err(NonceError::Replayed);
        }
        // Forget nonces no window can reach any more, and cap the per-key set.
        while let Some(&oldest) = entry.recent.first() {
            if oldest <= horizon || entry.recent.len() > PER_KEY_RECENT {
                entry.recent.pop_first();
                entry.floor = entry.floor.max(oldest);
            } else {
                break;
            }
        }
        Ok(())
    }

    /// Drop every key whose newest nonce is out of every window.
    pub fn prune(&self, now: u64) {
        let horizon = now.saturating_sub(ALLOWED_DELTA_NS + self.max_timeout_ns);
        for shard in &self.shards {
            shard
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|_, e| e.newest() > horizon);
        }
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn secs_to_ns(s: f64) -> u64 {
    if s.is_finite() && s > 0.0 {
        (s * 1e9).min(u64::MAX as f64) as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;
    const NOW: u64 = 1_800_000_000 * S;

    #[test]
    fn window_replay_and_out_of_order() {
        let g = NonceGuard::new(100, 60.0);
        assert!(matches!(
            g.check("k", NOW - 60 * S, 12.0, NOW),
            Err(NonceError::TooOld { .. })
        ));
        let e = g.check("k", NOW - 60 * S, 12.0, NOW).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Nonce is too old: acceptable delta is 16.00 seconds but request was 60.00 seconds old"
        );
        g.check("k", NOW - S, 12.0, NOW).unwrap();
        g.commit("k", NOW - S, NOW).unwrap();
        assert_eq!(g.check("k", NOW - S, 12.0, NOW), Err(NonceError::Replayed));
        assert_eq!(g.commit("k", NOW - S, NOW), Err(NonceError::Replayed));
        // Out of order but new: accepted.
        g.commit("k", NOW - 2 * S, NOW).unwrap();
        g.commit("k", NOW, NOW).unwrap();
        // Another uuid is another key.
        g.commit("k2", NOW - S, NOW).unwrap();
    }

    #[test]
    fn memory_stays_bounded() {
        let g = NonceGuard::new(32, 10.0);
        let mut now = NOW;
        for i in 0..10_000u64 {
            now += S / 10;
            let key = format!("key{i}");
            let _ = g.commit(&key, now, now);
        }
        assert!(g.len() <= 32 + SHARDS, "{}", g.len());
        g.prune(now + 100 * S);
        assert!(g.is_empty());
        // Per-key set capped; old nonces become the floor.
        for i in 0..(PER_KEY_RECENT as u64 + 10) {
            g.commit("one", now + i, now).unwrap();
        }
        assert_eq!(g.check("one", now, 10.0, now), Err(NonceError::Replayed));
    }
}
