//! The one error type of this crate.

/// Everything that can go wrong turning text or bytes into keys, addresses or phrases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A mnemonic phrase does not have 12, 15, 18, 21 or 24 words.
    #[error("a mnemonic has 12, 15, 18, 21 or 24 words, not {0}")]
    MnemonicWordCount(usize),
    /// A word of a mnemonic phrase is not in the BIP39 English word list.
    #[error("word {index} of the mnemonic is not in the BIP39 English word list")]
    MnemonicUnknownWord {
        /// Zero-based position of the word in the phrase.
        index: usize,
    },
    /// The words of a mnemonic phrase are all known, but its checksum does not match.
    #[error("the mnemonic's checksum does not match (a mistyped word?)")]
    MnemonicChecksum,
    /// BIP39 entropy that is not 16, 20, 24, 28 or 32 bytes.
    #[error("BIP39 entropy is 16, 20, 24, 28 or 32 bytes, not {0}")]
    BadEntropyLength(usize),
    /// Text that should be hexadecimal is not (odd length or a non-hex digit).
    #[error("not valid hexadecimal: {0}")]
    BadHex(String),
    /// A seed, key, signature or entropy has the wrong number of bytes.
    #[error("{what} must be {expected} bytes, got {actual}")]
    BadLength {
        /// What was being read ("seed", "public key", ...).
        what: &'static str,
        /// The required length in bytes.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// 64 bytes that are not an sr25519 secret key (the scalar is not canonical).
    #[error("not a valid sr25519 secret key")]
    BadSecretKey,
    /// 32 bytes that are not an sr25519 public key (not a valid Ristretto point).
    #[error("not a valid sr25519 public key")]
    BadPublicKey,
    /// A derivation path in a secret URI is malformed (for example an empty junction `//`).
    #[error("bad derivation path: {0}")]
    BadDerivationPath(String),
    /// An address contains characters outside the base58 alphabet.
    #[error("an SS58 address must be base58 text")]
    Ss58Base58,
    /// An address decodes to the wrong number of bytes (a one-byte prefix address is 35 bytes).
    #[error("an SS58 address with a one-byte prefix decodes to 35 bytes")]
    Ss58Length,
    /// An address's two checksum bytes do not match its contents.
    #[error("the SS58 checksum does not match (a mistyped address?)")]
    Ss58Checksum,
    /// A valid address of another network (another SS58 prefix).
    #[error("SS58 prefix {found} where {expected} was expected")]
    Ss58WrongPrefix {
        /// The prefix required.
        expected: u8,
        /// The prefix found in the address.
        found: u8,
    },
    /// An SS58 prefix this crate does not support: two-byte prefixes (64 and up) and the reserved
    /// 46 and 47.
    #[error("unsupported SS58 prefix byte {0}")]
    Ss58UnsupportedPrefix(u8),
    /// The operating system's random number source failed.
    #[error("the operating system's random source failed: {0}")]
    Randomness(String),
}
