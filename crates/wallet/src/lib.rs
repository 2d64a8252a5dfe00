//! Wallets that the bittensor tools can read and write.
//!
//! * [`Wallet`]: the directory layout of bittensor-wallet (`~/.bittensor/wallets/<name>/…`,
//!   `BT_WALLET_PATH`), files written atomically with mode 0600.
//! * [`keyfile`]: the keyfile JSON (`secretPhrase`, `secretSeed`, `privateKey`, ...).
//! * [`crypt`]: `$NACL` encryption (XSalsa20-Poly1305, Argon2i with libsodium's sensitive
//!   cost and the format's fixed salt). Legacy Ansible Vault and Fernet files are recognised
//!   and refused with a clear error.
//! * [`PasswordSource`]: terminal prompt, environment variable or file.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

pub mod crypt;
mod error;
pub mod keyfile;
mod password;
mod wallet;

pub use error::WalletError;
pub use password::{PasswordSource, check_new_password};
pub use wallet::{
    WALLET_PATH_ENV, Wallet, WalletSummary, default_root, expand_home, list, write_private,
};
