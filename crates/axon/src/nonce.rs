//! Replay protection for the axon: which nonces each hotkey has used, in bounded memory.
//!
//! The SDK accepts the first nonce of a `(hotkey, uuid)` within `4 s + timeout` of now and then
//! demands strictly increasing nonces, keeping every key forever. Here (ADR 007):
//!
//! * every nonce must lie within the window: at most `4 s + min(timeout, cap)` old and at most
//!   [`NonceLimits::max_lead_ns`] ahead of the axon's clock, so every entry ages out;
//! * a `(uuid, nonce)` pair is accepted once per hotkey, in any order, above the hotkey's floor
//!   (many requests in flight from one client may arrive out of order);
//! * the server records a nonce only for callers it admitted (stake view, blacklist, rate
//!   limit), so unregistered keys never take room;
//! * per hotkey at most [`NonceLimits::max_per_hotkey`] nonces are remembered; beyond, its
//!   oldest is folded into its floor, so a hotkey flooding fresh uuids crowds out only itself;
//! * the table holds at most [`NonceLimits::max_entries`] nonces. When it is full, room comes
//!   first from the biggest holders with at most the newcomer's stake: their oldest nonce folds
//!   into their own floor, so a flood pays for itself. Failing that (every holder keeps one
//!   nonce), the hotkey with the least stake, and among those the oldest newest nonce, is
//!   forgotten, provided its stake is at most the newcomer's and its newest nonce is not in the
//!   future; that nonce raises the floor for hotkeys the table does not know. A validator is
//!   thus never pushed out by callers with less stake, and a full table cannot refuse newcomers
//!   for long: the floor never passes the clock;
//! * [`prune`](NonceGuard::prune) drops what no window can reach any more.
//!
//! Replays stay impossible: a forgotten nonce is below a floor or outside every window.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::sync::Mutex;

use tao_keys::PublicKey;

/// The SDK's fixed part of the nonce window (`ALLOWED_DELTA`), in nanoseconds.
pub const ALLOWED_DELTA_NS: u64 = 4_000_000_000;

/// Shards of the table (fewer lock collisions between cores); every limit holds per shard.
const SHARDS: usize = 16;

/// The bounds of a [`NonceGuard`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NonceLimits {
    /// Nonces remembered at most, over all hotkeys (spread over the table's shards).
    pub max_entries: usize,
    /// Nonces remembered at most per hotkey, over all its uuids.
    pub max_per_hotkey: usize,
    /// Cap on the synapse timeout in the window, in seconds.
    pub max_timeout_s: f64,
    /// How far ahead of the axon's clock a nonce may be, in nanoseconds.
    pub max_lead_ns: u64,
}

/// Why a nonce was refused. The texts of the first two are the SDK's.
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
    /// Already used, or at or below a floor (nonces the table no longer remembers one by one).
    #[error("Nonce is too old, a newer one was last processed")]
    Replayed,
    /// Further ahead of the axon's clock than allowed (a wrong clock, or an attempt to keep an
    /// entry alive past every window).
    #[error(
        "Nonce is too far in the future: acceptable lead is {allowed_s:.2} seconds but request was {lead_s:.2} seconds ahead"
    )]
    TooNew {
        /// The allowed lead in seconds.
        allowed_s: f64,
        /// The nonce's lead in seconds.
        lead_s: f64,
    },
    /// The table is full of live entries of callers with at least this caller's stake, or
    /// with nonces ahead of the clock; the oldest of them age out within one window.
    #[error("Too many clients: nonce table full")]
    TableFull,
}

/// What one hotkey has used.
#[derive(Debug)]
struct Record {
    /// Every nonce at or below this is refused, whatever the uuid.
    floor: u64,
    /// Accepted `(nonce, uuid hash)` pairs above the floor.
    seen: BTreeSet<(u64, u64)>,
    /// The caller's stake at its last request, as an order key ([`stake_order`]).
    stake: u64,
}

impl Record {
    fn newest(&self) -> u64 {
        self.seen.last().map_or(self.floor, |(nonce, _)| *nonce)
    }

    /// Its position in the eviction order: least stake first, then oldest newest nonce.
    fn rank(&self, hotkey: PublicKey) -> Rank {
        (self.stake, self.newest(), hotkey)
    }
}

/// `(stake order, newest nonce, hotkey)`.
type Rank = (u64, u64, PublicKey);

/// Holders with the most nonces looked at when a full table makes room.
const BIGGEST_HOLDERS_TRIED: usize = 8;

#[derive(Debug, Default)]
struct Shard {
    records: HashMap<PublicKey, Record>,
    /// Every record's [`Rank`], to find the next to forget without a scan.
    ranks: BTreeSet<Rank>,
    /// Every record's `(nonces held, hotkey)`, to find the biggest holders without a scan.
    sizes: BTreeSet<(usize, PublicKey)>,
    /// Nonces held, over all records.
    entries: usize,
    /// The newest nonce of every hotkey forgotten while live: hotkeys the table does not know
    /// must be above it.
    forgotten_floor: u64,
}

impl Shard {
    /// Takes `hotkey`'s record out of the indexes, before it changes.
    fn unindex(&mut self, hotkey: &PublicKey) {
        if let Some(record) = self.records.get(hotkey) {
            self.ranks.remove(&record.rank(*hotkey));
            self.sizes.remove(&(record.seen.len(), *hotkey));
        }
    }

    /// Puts `hotkey`'s record back into the indexes, after it changed.
    fn index(&mut self, hotkey: &PublicKey) {
        if let Some(record) = self.records.get(hotkey) {
            self.ranks.insert(record.rank(*hotkey));
            self.sizes.insert((record.seen.len(), *hotkey));
        }
    }

    fn forget(&mut self, hotkey: &PublicKey) {
        self.unindex(hotkey);
        if let Some(record) = self.records.remove(hotkey) {
            self.entries -= record.seen.len();
            self.forgotten_floor = self.forgotten_floor.max(record.newest());
        }
    }

    /// Make room for a newcomer with `stake` at `now`. First from the biggest holders with at
    /// most its stake: their oldest nonce folds into their own floor, which touches nobody
    /// else (a flood pays for itself). Failing that, the first hotkey in the eviction order is
    /// forgotten, if the newcomer may push it out: its newest nonce becomes the floor of
    /// hotkeys the table does not know.
    fn make_room(&mut self, stake: u64, now: u64) -> Result<(), NonceError> {
        let biggest = self
            .sizes
            .iter()
            .rev()
            .take(BIGGEST_HOLDERS_TRIED)
            .find(|(held, hotkey)| {
                *held > 1 && self.records.get(hotkey).is_some_and(|r| r.stake <= stake)
            })
            .map(|(_, hotkey)| *hotkey);
        if let Some(hotkey) = biggest {
            self.unindex(&hotkey);
            if let Some(record) = self.records.get_mut(&hotkey)
                && let Some((oldest, _)) = record.seen.pop_first()
            {
                record.floor = record.floor.max(oldest);
                self.entries -= 1;
            }
            self.index(&hotkey);
            return Ok(());
        }
        match self.ranks.first() {
            Some(&(lowest, newest, hotkey)) if lowest <= stake && newest <= now => {
                self.forget(&hotkey);
                Ok(())
            }
            _ => Err(NonceError::TableFull),
        }
    }
}

/// The axon's nonce table.
#[derive(Debug)]
pub struct NonceGuard {
    shards: Vec<Mutex<Shard>>,
    max_entries_per_shard: usize,
    max_per_hotkey: usize,
    max_timeout_ns: u64,
    max_lead_ns: u64,
    /// Keyed per process, so that callers can neither choose uuids that collide nor hotkeys
    /// that share a shard.
    hasher: RandomState,
}

impl NonceGuard {
    /// An empty table with these bounds.
    pub fn new(limits: NonceLimits) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            max_entries_per_shard: limits.max_entries.div_ceil(SHARDS).max(1),
            max_per_hotkey: limits.max_per_hotkey.max(1),
            max_timeout_ns: secs_to_ns(limits.max_timeout_s),
            max_lead_ns: limits.max_lead_ns,
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, hotkey: &PublicKey) -> std::sync::MutexGuard<'_, Shard> {
        // Keyed, so that nobody can grind keys into one shard and fill it 16 times faster.
        let i = self.hasher.hash_one(hotkey) % self.shards.len() as u64;
        self.shards[i as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The window for a request with this timeout, in nanoseconds.
    fn window_ns(&self, timeout_s: f64) -> u64 {
        ALLOWED_DELTA_NS + secs_to_ns(timeout_s).min(self.max_timeout_ns)
    }

    /// Nonces at or below this are out of every window at `now`.
    fn horizon(&self, now: u64) -> u64 {
        now.saturating_sub(ALLOWED_DELTA_NS + self.max_timeout_ns)
    }

    /// Check `nonce` from `hotkey`'s client `uuid` without recording it (run before the
    /// signature check).
    ///
    /// # Errors
    /// [`NonceError::TooOld`], [`NonceError::TooNew`] or [`NonceError::Replayed`].
    pub fn check(
        &self,
        hotkey: &PublicKey,
        uuid: &str,
        nonce: u64,
        timeout_s: f64,
        now: u64,
    ) -> Result<(), NonceError> {
        let window = self.window_ns(timeout_s);
        if nonce.saturating_add(window) <= now {
            return Err(NonceError::TooOld {
                allowed_s: window as f64 / 1e9,
                age_s: now.saturating_sub(nonce) as f64 / 1e9,
            });
        }
        if nonce > now.saturating_add(self.max_lead_ns) {
            return Err(NonceError::TooNew {
                allowed_s: self.max_lead_ns as f64 / 1e9,
                lead_s: (nonce - now) as f64 / 1e9,
            });
        }
        let uuid = self.hasher.hash_one(uuid);
        if is_replay(&self.shard(hotkey), hotkey, nonce, uuid) {
            return Err(NonceError::Replayed);
        }
        Ok(())
    }

    /// Record `nonce` for an admitted caller with `stake` (0 when unknown); re-checks
    /// atomically so that two copies of one request racing through [`check`](Self::check)
    /// cannot both pass.
    ///
    /// # Errors
    /// [`NonceError::Replayed`] or [`NonceError::TableFull`].
    pub fn commit(
        &self,
        hotkey: &PublicKey,
        uuid: &str,
        nonce: u64,
        stake: f64,
        now: u64,
    ) -> Result<(), NonceError> {
        let uuid = self.hasher.hash_one(uuid);
        let stake = stake_order(stake);
        let horizon = self.horizon(now);
        let mut guard = self.shard(hotkey);
        let shard = &mut *guard;
        if is_replay(shard, hotkey, nonce, uuid) {
            return Err(NonceError::Replayed);
        }
        if shard.entries >= self.max_entries_per_shard {
            match shard.records.get(hotkey) {
                // A known hotkey makes room by forgetting its own oldest nonce, below.
                Some(record) if !record.seen.is_empty() => {}
                _ => shard.make_room(stake, now)?,
            }
        }
        let floor = shard.forgotten_floor;
        shard.unindex(hotkey);
        let record = shard.records.entry(*hotkey).or_insert_with(|| Record {
            floor,
            seen: BTreeSet::new(),
            stake,
        });
        record.stake = stake;
        record.seen.insert((nonce, uuid));
        shard.entries += 1;
        let own_limit = if shard.entries > self.max_entries_per_shard {
            record.seen.len() - 1
        } else {
            self.max_per_hotkey
        };
        // Fold what no window reaches any more, and what is over the limits, into the floor.
        while let Some(&(oldest, _)) = record.seen.first() {
            if oldest <= horizon || record.seen.len() > own_limit {
                record.seen.pop_first();
                record.floor = record.floor.max(oldest);
                shard.entries -= 1;
            } else {
                break;
            }
        }
        shard.index(hotkey);
        Ok(())
    }

    /// Drop every hotkey whose newest nonce is out of every window at `now`.
    pub fn prune(&self, now: u64) {
        let horizon = self.horizon(now);
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
            let stale: Vec<PublicKey> = shard
                .ranks
                .iter()
                .filter(|(_, newest, _)| *newest <= horizon)
                .map(|(_, _, hotkey)| *hotkey)
                .collect();
            for hotkey in &stale {
                shard.forget(hotkey);
            }
        }
    }

    /// Nonces held.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).entries)
            .sum()
    }

    /// Whether no nonce is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn is_replay(shard: &Shard, hotkey: &PublicKey, nonce: u64, uuid: u64) -> bool {
    match shard.records.get(hotkey) {
        Some(record) => nonce <= record.floor || record.seen.contains(&(nonce, uuid)),
        None => nonce <= shard.forgotten_floor,
    }
}

/// A stake as a key that sorts like the number (NaN and negative stakes count as 0).
fn stake_order(stake: f64) -> u64 {
    if stake.is_finite() && stake > 0.0 {
        // Positive floats sort like their bit patterns.
        stake.to_bits()
    } else {
        0
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

    fn guard(max_entries: usize, max_per_hotkey: usize) -> NonceGuard {
        NonceGuard::new(NonceLimits {
            max_entries,
            max_per_hotkey,
            max_timeout_s: 60.0,
            max_lead_ns: 4 * S,
        })
    }

    fn hotkey(i: u32) -> PublicKey {
        let mut bytes = [0u8; 32];
        bytes[..4].copy_from_slice(&i.to_le_bytes());
        PublicKey::from_bytes(bytes)
    }

    /// A table of one shard, so that its limits are exercised whatever the keys' shards.
    fn one_shard(mut g: NonceGuard) -> NonceGuard {
        g.shards.truncate(1);
        g
    }

    #[test]
    fn window_replay_and_out_of_order() {
        let g = guard(100, 100);
        let k = hotkey(1);
        assert!(matches!(
            g.check(&k, "u", NOW - 60 * S, 12.0, NOW),
            Err(NonceError::TooOld { .. })
        ));
        let e = g.check(&k, "u", NOW - 60 * S, 12.0, NOW).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Nonce is too old: acceptable delta is 16.00 seconds but request was 60.00 seconds old"
        );
        let e = g.check(&k, "u", NOW + 5 * S, 12.0, NOW).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Nonce is too far in the future: acceptable lead is 4.00 seconds but request was 5.00 seconds ahead"
        );
        g.check(&k, "u", NOW + 4 * S, 12.0, NOW).unwrap();
        g.check(&k, "u", NOW - S, 12.0, NOW).unwrap();
        g.commit(&k, "u", NOW - S, 0.0, NOW).unwrap();
        assert_eq!(
            g.check(&k, "u", NOW - S, 12.0, NOW),
            Err(NonceError::Replayed)
        );
        assert_eq!(
            g.commit(&k, "u", NOW - S, 0.0, NOW),
            Err(NonceError::Replayed)
        );
        // Out of order but new: accepted; another uuid with the same nonce is another request.
        g.commit(&k, "u", NOW - 2 * S, 0.0, NOW).unwrap();
        g.commit(&k, "u", NOW, 0.0, NOW).unwrap();
        g.commit(&k, "u2", NOW - S, 0.0, NOW).unwrap();
        assert_eq!(g.len(), 4);
    }

    #[test]
    fn a_hotkey_flooding_uuids_only_raises_its_own_floor() {
        let g = guard(1_000, 8);
        let flood = hotkey(1);
        for i in 0..100 {
            g.commit(&flood, &format!("u{i}"), NOW + i, 0.0, NOW)
                .unwrap();
        }
        assert_eq!(g.len(), 8);
        // Everything it sent before its newest eight is refused now, in any uuid.
        assert_eq!(
            g.check(&flood, "u0", NOW, 12.0, NOW),
            Err(NonceError::Replayed)
        );
        assert_eq!(
            g.check(&flood, "new", NOW + 91, 12.0, NOW),
            Err(NonceError::Replayed)
        );
        g.check(&flood, "new", NOW + 93, 12.0, NOW).unwrap();
        // Others are untouched.
        g.commit(&hotkey(2), "u0", NOW, 0.0, NOW).unwrap();
    }

    #[test]
    fn a_full_table_forgets_the_least_staked_oldest_and_stays_replay_safe() {
        // One shard of one entry.
        let g = one_shard(guard(16, 8));
        g.commit(&hotkey(1), "u", NOW - 3 * S, 1.0, NOW).unwrap();
        // A newcomer with as much stake pushes out the oldest.
        g.commit(&hotkey(2), "u", NOW - 2 * S, 1.0, NOW).unwrap();
        assert_eq!(g.len(), 1);
        // The forgotten request cannot be replayed: unknown hotkeys must be above its nonce.
        assert_eq!(
            g.check(&hotkey(1), "u", NOW - 3 * S, 12.0, NOW),
            Err(NonceError::Replayed)
        );
        // A newcomer with less stake cannot push out one with more...
        assert_eq!(
            g.commit(&hotkey(3), "u", NOW - S, 0.5, NOW),
            Err(NonceError::TableFull)
        );
        // ...but a validator with more can, and then is never pushed out by less.
        g.commit(&hotkey(4), "u", NOW - S, 1_000.0, NOW).unwrap();
        assert_eq!(
            g.commit(&hotkey(5), "u", NOW, 1.0, NOW),
            Err(NonceError::TableFull)
        );
        // A known hotkey in a full table keeps going by folding its own oldest nonce.
        g.commit(&hotkey(4), "u", NOW, 1_000.0, NOW).unwrap();
        assert_eq!(g.len(), 1);
        // An entry ahead of the clock is not pushed out (its floor would lock out newcomers).
        let g = one_shard(guard(16, 8));
        g.commit(&hotkey(1), "u", NOW + 3 * S, 0.0, NOW).unwrap();
        assert_eq!(
            g.commit(&hotkey(2), "u", NOW, 0.0, NOW),
            Err(NonceError::TableFull)
        );
        g.commit(&hotkey(2), "u", NOW + 4 * S, 0.0, NOW + 3 * S)
            .unwrap();
    }

    #[test]
    fn a_full_table_makes_room_from_the_biggest_holder_first() {
        // One shard of 8 entries, held by two flooding hotkeys.
        let g = one_shard(guard(16 * 8, 64));
        let (a, b) = (hotkey(1), hotkey(2));
        for i in 0..4 {
            g.commit(&a, &format!("a{i}"), NOW - S + i, 0.0, NOW)
                .unwrap();
            g.commit(&b, &format!("b{i}"), NOW - S / 2 + i, 0.0, NOW)
                .unwrap();
        }
        // A newcomer whose request was signed before the flooders' newest is still admitted:
        // room comes from a flooder's own oldest nonce, not from forgetting a whole hotkey
        // (whose newest nonce would become the floor of every hotkey the table does not know).
        g.commit(&hotkey(3), "c", NOW - 2 * S, 0.0, NOW).unwrap();
        g.commit(&hotkey(4), "d", NOW - 2 * S, 0.0, NOW).unwrap();
        assert_eq!(g.len(), 8);
        // Both flooders are still known, each refusing its own replays above its floor.
        assert_eq!(
            g.check(&a, "a3", NOW - S + 3, 12.0, NOW),
            Err(NonceError::Replayed)
        );
        assert_eq!(
            g.check(&b, "b3", NOW - S / 2 + 3, 12.0, NOW),
            Err(NonceError::Replayed)
        );
        g.check(&a, "new", NOW - S + 100, 12.0, NOW).unwrap();
    }

    #[test]
    fn memory_stays_bounded_and_ages_out() {
        let g = one_shard(guard(32, 4));
        let mut now = NOW;
        for i in 0..10_000u32 {
            now += S / 10;
            let _ = g.commit(&hotkey(i), "u", now, 0.0, now);
        }
        assert!(g.len() <= 2, "{}", g.len());
        g.prune(now + 100 * S);
        assert!(g.is_empty());
        // Old nonces are folded into the floor as they leave the window.
        let k = hotkey(7);
        g.commit(&k, "u", now + S, 0.0, now + S).unwrap();
        g.commit(&k, "u", now + 70 * S, 0.0, now + 70 * S).unwrap();
        assert_eq!(g.len(), 1);
    }
}
