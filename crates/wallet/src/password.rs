//! Where a password comes from: a terminal prompt (never echoed), an environment variable or
//! a file, for automation. Passwords are never logged.

use std::io::IsTerminal;
use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::error::WalletError;

/// A source of the password for an encrypted keyfile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordSource {
    /// Ask on the terminal (fails when stdin is not a terminal).
    Prompt,
    /// Read the environment variable of this name.
    Env(String),
    /// Read the first line of this file.
    File(PathBuf),
}

impl PasswordSource {
    /// Reads the password.
    pub fn read(&self, prompt: &str) -> Result<Zeroizing<String>, WalletError> {
        match self {
            PasswordSource::Prompt => {
                if !std::io::stdin().is_terminal() {
                    return Err(WalletError::Password(
                        "stdin is not a terminal: pass --password-env VAR or --password-file PATH"
                            .into(),
                    ));
                }
                rpassword::prompt_password(prompt)
                    .map(Zeroizing::new)
                    .map_err(|e| WalletError::Password(e.to_string()))
            }
            PasswordSource::Env(var) => std::env::var(var).map(Zeroizing::new).map_err(|_| {
                WalletError::Password(format!("environment variable {var} is not set"))
            }),
            PasswordSource::File(path) => {
                let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|error| {
                    if error.kind() == std::io::ErrorKind::NotFound {
                        WalletError::Password(format!(
                            "the password file {} does not exist: check --password-file",
                            path.display()
                        ))
                    } else {
                        WalletError::io(path)(error)
                    }
                })?);
                Ok(Zeroizing::new(
                    text.lines().next().unwrap_or_default().to_owned(),
                ))
            }
        }
    }
}

/// The minimum a new coldkey password must meet: at least 6 characters (bittensor-wallet's
/// length rule) and not a single repeated character.
pub fn check_new_password(password: &str) -> Result<(), WalletError> {
    if password.chars().count() < 6 {
        return Err(WalletError::WeakPassword("use at least 6 characters"));
    }
    let mut chars = password.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Err(WalletError::WeakPassword(
            "use more than one distinct character",
        ));
    }
    Ok(())
}
