//! A validator's memory of its miners: one exponential moving average of scores per uid,
//! reset when the uid changes hands, saved to disk after every round and restored on start.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::SdkError;

/// Largest score file read back, bytes (65 536 uids fit comfortably).
pub const MAX_SCORE_FILE_BYTES: u64 = 16 << 20;

/// One miner's average.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MinerScore {
    /// The hotkey (SS58) the average belongs to.
    pub hotkey: String,
    /// The moving average, 0..=1.
    pub score: f64,
    /// Samples folded in.
    pub samples: u64,
}

/// Per-uid moving averages of scores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreBook {
    /// Weight of a new sample (0..=1).
    pub alpha: f64,
    /// Rounds folded in so far (a restarted validator continues from here).
    pub rounds: u64,
    /// Averages by uid.
    pub miners: BTreeMap<u16, MinerScore>,
}

impl ScoreBook {
    /// An empty book; `alpha` is clamped to 0..=1.
    pub fn new(alpha: f64) -> ScoreBook {
        ScoreBook {
            alpha: if alpha.is_finite() {
                alpha.clamp(0.0, 1.0)
            } else {
                0.1
            },
            rounds: 0,
            miners: BTreeMap::new(),
        }
    }

    /// Folds one sample (clamped to 0..=1; NaN counts as 0) into `uid`'s average, starting
    /// over when `hotkey` is not the one the average belongs to.
    pub fn record(&mut self, uid: u16, hotkey: &str, sample: f64) {
        let sample = if sample.is_finite() {
            sample.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let entry = self.miners.entry(uid).or_insert_with(|| MinerScore {
            hotkey: hotkey.to_owned(),
            score: 0.0,
            samples: 0,
        });
        if entry.hotkey != hotkey {
            *entry = MinerScore {
                hotkey: hotkey.to_owned(),
                score: 0.0,
                samples: 0,
            };
        }
        entry.score = self.alpha * sample + (1.0 - self.alpha) * entry.score;
        entry.samples = entry.samples.saturating_add(1);
    }

    /// Drops averages of uids whose hotkey is no longer `hotkey_of(uid)` (deregistered or
    /// replaced).
    pub fn forget_changed(&mut self, hotkey_of: impl Fn(u16) -> Option<String>) {
        self.miners
            .retain(|uid, entry| hotkey_of(*uid).is_some_and(|h| h == entry.hotkey));
    }

    /// `(uid, average)` pairs.
    pub fn scores(&self) -> Vec<(u16, f64)> {
        self.miners.iter().map(|(uid, m)| (*uid, m.score)).collect()
    }

    /// Loads a saved book, or `None` when there is no file yet.
    ///
    /// # Errors
    /// [`SdkError::File`] when the file exists but is unreadable, too large or not a book.
    pub fn load(path: &Path) -> Result<Option<ScoreBook>, SdkError> {
        if !path.exists() {
            return Ok(None);
        }
        let bytes = read_bounded(path, MAX_SCORE_FILE_BYTES)?;
        let book: ScoreBook =
            serde_json::from_slice(&bytes).map_err(|e| SdkError::file(path, e))?;
        let sane = book.alpha.is_finite()
            && book
                .miners
                .values()
                .all(|m| m.score.is_finite() && (0.0..=1.0).contains(&m.score));
        if !sane {
            return Err(SdkError::file(path, "scores out of range"));
        }
        Ok(Some(book))
    }

    /// Saves the book atomically (a temporary file renamed over the old one).
    ///
    /// # Errors
    /// [`SdkError::File`] when it cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), SdkError> {
        let bytes = serde_json::to_vec(self).map_err(|e| SdkError::file(path, e))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| SdkError::file(dir, e))?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes).map_err(|e| SdkError::file(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| SdkError::file(path, e))
    }
}

/// Reads at most `limit` bytes of `path`; a longer file is an error.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, SdkError> {
    let file = std::fs::File::open(path).map_err(|e| SdkError::file(path, e))?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| SdkError::file(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(SdkError::file(path, format!("larger than {limit} bytes")));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_reset_when_the_uid_changes_hands() {
        let mut book = ScoreBook::new(0.5);
        book.record(3, "a", 1.0);
        book.record(3, "a", 1.0);
        assert_eq!(book.miners[&3].score, 0.75);
        book.record(3, "b", 1.0);
        assert_eq!(book.miners[&3].score, 0.5);
        assert_eq!(book.miners[&3].samples, 1);
        book.record(4, "c", f64::NAN);
        book.record(5, "d", 7.0);
        assert_eq!(book.miners[&4].score, 0.0);
        assert_eq!(book.miners[&5].score, 0.5);
        book.forget_changed(|uid| (uid == 3).then(|| "b".to_owned()));
        assert_eq!(book.miners.keys().copied().collect::<Vec<_>>(), vec![3]);
    }

    #[test]
    fn books_round_trip_and_bad_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scores.json");
        assert_eq!(ScoreBook::load(&path).unwrap(), None);
        let mut book = ScoreBook::new(0.1);
        book.rounds = 7;
        book.record(1, "a", 1.0);
        book.save(&path).unwrap();
        assert_eq!(ScoreBook::load(&path).unwrap(), Some(book));
        std::fs::write(&path, b"{not json").unwrap();
        assert!(ScoreBook::load(&path).is_err());
        std::fs::write(
            &path,
            br#"{"alpha":0.1,"rounds":1,"miners":{"1":{"hotkey":"a","score":9.0,"samples":1}}}"#,
        )
        .unwrap();
        assert!(ScoreBook::load(&path).is_err());
    }
}
