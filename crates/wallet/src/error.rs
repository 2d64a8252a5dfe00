//! Errors of wallet files.

use std::path::PathBuf;

/// What can go wrong reading or writing a wallet.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// A file or directory could not be read or written.
    /// (The OS error is part of the message, not a source: shown once in an error chain.)
    #[error("{path}: {error}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The keyfile does not exist.
    #[error("{0}: no such keyfile (create it with `tao wallet create` or regenerate it)")]
    NotFound(PathBuf),
    /// A keyfile exists where a new one would be written.
    #[error("{0}: already exists (pass --overwrite to replace it)")]
    AlreadyExists(PathBuf),
    /// The keyfile's JSON is not a bittensor keyfile.
    #[error("bad keyfile: {0}")]
    BadKeyfile(String),
    /// The password does not decrypt the keyfile (or the file was altered).
    #[error("wrong password, or the keyfile is corrupted")]
    WrongPassword,
    /// The keyfile is encrypted and no password was given.
    #[error("the keyfile is encrypted: a password is needed")]
    PasswordRequired,
    /// A legacy encryption this tool does not read.
    #[error(
        "keyfile uses the legacy {0} encryption; re-encrypt it with `btcli wallet update` first"
    )]
    UnsupportedLegacyFormat(&'static str),
    /// The password is too weak for a new coldkey.
    #[error("password too weak: {0}")]
    WeakPassword(&'static str),
    /// The key material inside is invalid.
    #[error(transparent)]
    Key(#[from] tao_keys::KeyError),
    /// The operating system's random source failed.
    #[error("no randomness available: {0}")]
    Randomness(String),
    /// Reading a password failed.
    #[error("password: {0}")]
    Password(String),
}

impl WalletError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> WalletError {
        let path = path.into();
        move |error| WalletError::Io { path, error }
    }
}
