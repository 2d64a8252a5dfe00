//! Weight commits: the random salt and what must be kept to reveal a commit later. The `tao
//! weights commit` command and the validator runner save the same record.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tao_keys::PublicKey;
use tao_primitives::{AccountId, NetUid};
use tao_types::weights::commit_hash;

use crate::error::SdkError;

/// Salt length in u16 words (what the bittensor SDK uses).
pub const SALT_WORDS: usize = 8;
/// Largest saved commit file read back, bytes.
pub const MAX_COMMIT_FILE_BYTES: u64 = 1024 * 1024;

/// What a commit needs kept until its reveal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedCommit {
    /// The subnet.
    pub netuid: u16,
    /// The committing hotkey (SS58).
    pub hotkey: String,
    /// Destination uids.
    pub uids: Vec<u16>,
    /// Weights.
    pub weights: Vec<u16>,
    /// The random salt.
    pub salt: Vec<u16>,
    /// Version key.
    pub version_key: u64,
    /// The committed hash, `0x`-hex.
    pub hash: String,
}

impl SavedCommit {
    /// A commit of `uids`/`weights` by `hotkey` with a fresh random salt.
    ///
    /// # Errors
    /// [`SdkError::Config`] when the operating system has no randomness to give.
    pub fn new(
        hotkey: &PublicKey,
        netuid: u16,
        uids: Vec<u16>,
        weights: Vec<u16>,
        version_key: u64,
    ) -> Result<SavedCommit, SdkError> {
        let salt = random_salt()?;
        let hash = commit_hash(
            &AccountId(hotkey.to_bytes()),
            NetUid(netuid),
            &uids,
            &weights,
            &salt,
            version_key,
        );
        Ok(SavedCommit {
            netuid,
            hotkey: hotkey.to_ss58(),
            uids,
            weights,
            salt,
            version_key,
            hash: hash.to_string(),
        })
    }

    /// The hash as the chain stores it.
    pub fn hash_value(&self) -> tao_primitives::Hash256 {
        let hotkey = PublicKey::from_ss58(&self.hotkey)
            .map(|k| AccountId(k.to_bytes()))
            .unwrap_or(AccountId([0; 32]));
        commit_hash(
            &hotkey,
            NetUid(self.netuid),
            &self.uids,
            &self.weights,
            &self.salt,
            self.version_key,
        )
    }

    /// Saves the record (mode 0600, written atomically).
    ///
    /// # Errors
    /// [`SdkError::File`] when it cannot be written.
    pub fn save(&self, path: &Path, overwrite: bool) -> Result<(), SdkError> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| SdkError::file(path, e))?;
        tao_wallet::write_private(path, &bytes, overwrite).map_err(|e| SdkError::file(path, e))
    }

    /// Reads a saved record (at most [`MAX_COMMIT_FILE_BYTES`]).
    ///
    /// # Errors
    /// [`SdkError::File`] when it is missing, too large or not a saved commit.
    pub fn load(path: &Path) -> Result<SavedCommit, SdkError> {
        let bytes = crate::scores::read_bounded(path, MAX_COMMIT_FILE_BYTES)?;
        serde_json::from_slice(&bytes).map_err(|e| SdkError::file(path, e))
    }
}

/// A fresh random salt of [`SALT_WORDS`] words.
///
/// # Errors
/// [`SdkError::Config`] when the operating system has no randomness to give.
pub fn random_salt() -> Result<Vec<u16>, SdkError> {
    let mut bytes = [0u8; SALT_WORDS * 2];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| SdkError::Config(format!("no randomness for the salt: {e}")))?;
    Ok(bytes
        .chunks_exact(2)
        .map(|pair| <[u8; 2]>::try_from(pair).map_or(0, u16::from_le_bytes))
        .collect())
}
