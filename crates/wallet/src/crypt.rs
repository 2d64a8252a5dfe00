//! Keyfile encryption as bittensor-wallet writes it: `$NACL ‖ nonce(24) ‖ secretbox`, the
//! XSalsa20-Poly1305 key derived with Argon2i v1.3 (libsodium's "sensitive" cost: 8 passes over
//! 512 MiB) from the password and a fixed salt (`reference/sdk.md` §4.3).

use argon2::{Algorithm, Argon2, Params, Version};
use crypto_secretbox::aead::{Aead, KeyInit};
use crypto_secretbox::{Nonce, XSalsa20Poly1305};
use zeroize::Zeroizing;

use crate::error::WalletError;

/// Prefix of NaCl-encrypted keyfiles.
pub const NACL_PREFIX: &[u8] = b"$NACL";
/// The salt every bittensor wallet uses (fixed by the format).
const SALT: [u8; 16] = *b"\x13q\x83\xdf\xf1Z\t\xbc\x9c\x90\xb5Q\x879\xe9\xb1";
const NONCE_LEN: usize = 24;

/// How a keyfile's bytes are protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `$NACL` (current bittensor-wallet).
    Nacl,
    /// Ansible Vault (legacy, not read).
    AnsibleVault,
    /// Fernet (legacy, not read; bittensor-wallet 4 cannot read it either).
    Fernet,
    /// Plain JSON (hotkeys, public files).
    Plain,
}

/// Recognises the format from the first bytes.
pub fn format_of(data: &[u8]) -> Format {
    if data.starts_with(NACL_PREFIX) {
        Format::Nacl
    } else if data.starts_with(b"$ANSIBLE_VAULT") {
        Format::AnsibleVault
    } else if data.starts_with(b"gAAAAA") {
        Format::Fernet
    } else {
        Format::Plain
    }
}

/// Argon2i cost. [`KdfCost::SENSITIVE`] is the format's; anything else only makes sense in
/// tests of this crate, since other tools would not open the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfCost {
    /// Memory, KiB.
    pub memory_kib: u32,
    /// Passes.
    pub passes: u32,
}

impl KdfCost {
    /// libsodium's `OPSLIMIT_SENSITIVE`/`MEMLIMIT_SENSITIVE`, as bittensor-wallet uses.
    pub const SENSITIVE: KdfCost = KdfCost {
        memory_kib: 512 * 1024,
        passes: 8,
    };
}

fn derive_key(password: &str, cost: KdfCost) -> Result<Zeroizing<[u8; 32]>, WalletError> {
    let params = Params::new(cost.memory_kib, cost.passes, 1, Some(32))
        .map_err(|e| WalletError::BadKeyfile(format!("argon2 parameters: {e}")))?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2i, Version::V0x13, params)
        .hash_password_into(password.as_bytes(), &SALT, key.as_mut())
        .map_err(|e| WalletError::BadKeyfile(format!("argon2: {e}")))?;
    Ok(key)
}

/// Encrypts a keyfile with a fresh random nonce.
pub fn encrypt(plaintext: &[u8], password: &str) -> Result<Vec<u8>, WalletError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::getrandom(&mut nonce).map_err(|e| WalletError::Randomness(e.to_string()))?;
    encrypt_with(plaintext, password, nonce, KdfCost::SENSITIVE)
}

/// Encrypts with a given nonce and cost (tests; [`encrypt`] for real files).
pub fn encrypt_with(
    plaintext: &[u8],
    password: &str,
    nonce: [u8; NONCE_LEN],
    cost: KdfCost,
) -> Result<Vec<u8>, WalletError> {
    let key = derive_key(password, cost)?;
    let cipher = XSalsa20Poly1305::new(key.as_ref().into());
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), plaintext)
        .map_err(|_| WalletError::BadKeyfile("encryption failed".into()))?;
    let mut out = Vec::with_capacity(NACL_PREFIX.len() + NONCE_LEN + sealed.len());
    out.extend_from_slice(NACL_PREFIX);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Decrypts a `$NACL` keyfile; other formats give a typed error.
pub fn decrypt(data: &[u8], password: &str) -> Result<Zeroizing<Vec<u8>>, WalletError> {
    decrypt_with(data, password, KdfCost::SENSITIVE)
}

/// Decrypts with a given cost (tests; [`decrypt`] for real files).
pub fn decrypt_with(
    data: &[u8],
    password: &str,
    cost: KdfCost,
) -> Result<Zeroizing<Vec<u8>>, WalletError> {
    match format_of(data) {
        Format::Nacl => {}
        Format::AnsibleVault => return Err(WalletError::UnsupportedLegacyFormat("Ansible Vault")),
        Format::Fernet => return Err(WalletError::UnsupportedLegacyFormat("Fernet")),
        Format::Plain => return Err(WalletError::BadKeyfile("not encrypted".into())),
    }
    let body = data.get(NACL_PREFIX.len()..).unwrap_or_default();
    let (nonce, sealed) = body
        .split_at_checked(NONCE_LEN)
        .ok_or(WalletError::WrongPassword)?;
    let key = derive_key(password, cost)?;
    let cipher = XSalsa20Poly1305::new(key.as_ref().into());
    let plain = cipher
        .decrypt(Nonce::from_slice(nonce), sealed)
        .map_err(|_| WalletError::WrongPassword)?;
    Ok(Zeroizing::new(plain))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: KdfCost = KdfCost {
        memory_kib: 64,
        passes: 1,
    };

    #[test]
    fn formats_are_recognised() {
        assert_eq!(format_of(b"$NACLxyz"), Format::Nacl);
        assert_eq!(format_of(b"$ANSIBLE_VAULT;1.1"), Format::AnsibleVault);
        assert_eq!(format_of(b"gAAAAABk"), Format::Fernet);
        assert_eq!(format_of(b"{\"a\":1}"), Format::Plain);
    }

    #[test]
    fn round_trip_wrong_password_and_tampering() {
        let sealed = encrypt_with(b"secret", "pw", [1; 24], CHEAP).unwrap_or_default();
        assert_eq!(
            decrypt_with(&sealed, "pw", CHEAP).map(|p| p.to_vec()).ok(),
            Some(b"secret".to_vec())
        );
        assert!(matches!(
            decrypt_with(&sealed, "other", CHEAP),
            Err(WalletError::WrongPassword)
        ));
        for index in NACL_PREFIX.len()..sealed.len() {
            let mut bad = sealed.clone();
            if let Some(byte) = bad.get_mut(index) {
                *byte ^= 1;
            }
            assert!(
                matches!(
                    decrypt_with(&bad, "pw", CHEAP),
                    Err(WalletError::WrongPassword)
                ),
                "byte {index}"
            );
        }
        assert!(matches!(
            decrypt_with(b"$NACLshort", "pw", CHEAP),
            Err(WalletError::WrongPassword)
        ));
        assert!(matches!(
            decrypt_with(b"gAAAAAx", "pw", CHEAP),
            Err(WalletError::UnsupportedLegacyFormat(_))
        ));
    }
}
