//! [`Keypair`]: sr25519 secret keys from seeds, BIP39 phrases and Substrate secret URIs.

use std::fmt;

use bip39::{Language, Mnemonic};
use blake2::Blake2b;
use blake2::digest::{Digest, consts::U32};
use parity_scale_codec::Encode;
use schnorrkel::derive::{ChainCode, Derivation};
use schnorrkel::{ExpansionMode, MiniSecretKey, SecretKey};
use sha2::Sha512;
use zeroize::Zeroizing;

use crate::public::hex_to_array;
use crate::{KeyError, PublicKey, Signature, signing_context};

/// The phrase behind Substrate's well-known development accounts (`//Alice`, `//Bob`, ...).
///
/// A secret URI with no phrase (`//Alice`) uses this phrase. Never hold real funds with it.
pub const DEV_PHRASE: &str =
    "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

/// One step of a derivation path: a 32-byte chain code, hard (`//code`) or soft (`/code`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum DeriveJunction {
    /// Soft derivation (`/code`): the child public key follows from the parent public key.
    Soft([u8; 32]),
    /// Hard derivation (`//code`): the child needs the parent secret.
    Hard([u8; 32]),
}

impl DeriveJunction {
    /// The junction a path segment names, as Substrate reads it: a segment that parses as `u64`
    /// is that number in 8 little-endian bytes; anything else is the SCALE-encoded string.
    /// Encodings up to 32 bytes are zero-padded; longer ones are hashed with blake2b-256.
    pub fn from_code(code: &str, hard: bool) -> Self {
        let encoded = match code.parse::<u64>() {
            Ok(n) => n.encode(),
            Err(_) => code.encode(),
        };
        let mut chain_code = [0u8; 32];
        if encoded.len() > 32 {
            chain_code = Blake2b::<U32>::digest(&encoded).into();
        } else if let Some(prefix) = chain_code.get_mut(..encoded.len()) {
            prefix.copy_from_slice(&encoded);
        }
        if hard {
            Self::Hard(chain_code)
        } else {
            Self::Soft(chain_code)
        }
    }

    /// The 32-byte chain code.
    pub const fn chain_code(&self) -> &[u8; 32] {
        match self {
            Self::Soft(cc) | Self::Hard(cc) => cc,
        }
    }
}

/// Parse the path part of a secret URI (`//hard/soft//0`); `path` is empty or starts with `/`.
fn parse_path(path: &str) -> Result<Vec<DeriveJunction>, KeyError> {
    let mut junctions = Vec::new();
    let mut rest = path;
    while let Some(after_slash) = rest.strip_prefix('/') {
        let (hard, segment_and_tail) = match after_slash.strip_prefix('/') {
            Some(tail) => (true, tail),
            None => (false, after_slash),
        };
        let end = segment_and_tail.find('/').unwrap_or(segment_and_tail.len());
        let (code, tail) = segment_and_tail.split_at(end);
        if code.is_empty() {
            return Err(KeyError::BadDerivationPath(format!(
                "empty junction in {path:?}"
            )));
        }
        junctions.push(DeriveJunction::from_code(code, hard));
        rest = tail;
    }
    Ok(junctions)
}

/// An sr25519 key pair (schnorrkel, Ed25519 expansion mode, signing context `substrate`).
///
/// It remembers the 32-byte mini secret ("seed") it was made from while that is still meaningful:
/// after hard derivations, but not after a soft one (as in Substrate).
#[derive(Clone)]
pub struct Keypair {
    pair: schnorrkel::Keypair,
    public: PublicKey,
    mini_secret: Option<Zeroizing<[u8; 32]>>,
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keypair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// BIP39 word counts and the entropy length (bytes) behind each.
const WORD_COUNTS: [(usize, usize); 5] = [(12, 16), (15, 20), (18, 24), (21, 28), (24, 32)];

/// Entropy bytes for a word count, if it is a valid one.
fn entropy_len(words: usize) -> Result<usize, KeyError> {
    WORD_COUNTS
        .iter()
        .find(|(w, _)| *w == words)
        .map(|(_, bytes)| *bytes)
        .ok_or(KeyError::MnemonicWordCount(words))
}

/// Map the `bip39` crate's error for a phrase of `words` words onto ours.
fn mnemonic_error(e: bip39::Error, words: usize) -> KeyError {
    match e {
        bip39::Error::UnknownWord(index) => KeyError::MnemonicUnknownWord { index },
        bip39::Error::InvalidChecksum => KeyError::MnemonicChecksum,
        // Only English is parsed, so the language is never ambiguous; entropy lengths are checked
        // before `bip39` sees them. What is left is a bad word count.
        bip39::Error::BadWordCount(_)
        | bip39::Error::BadEntropyBitCount(_)
        | bip39::Error::AmbiguousLanguages(_) => KeyError::MnemonicWordCount(words),
    }
}

impl Keypair {
    fn from_schnorrkel(pair: schnorrkel::Keypair, mini_secret: Option<[u8; 32]>) -> Self {
        let public = PublicKey::from_bytes(pair.public.to_bytes());
        Self {
            pair,
            public,
            mini_secret: mini_secret.map(Zeroizing::new),
        }
    }

    /// The key pair of a 32-byte mini secret (the keyfiles' `secretSeed`), expanded in Ed25519
    /// mode as Substrate and bittensor do.
    pub fn from_mini_secret(mini_secret: [u8; 32]) -> Self {
        let mini = Zeroizing::new(mini_secret);
        // `from_bytes` rejects only slices whose length is not 32; this one is 32 by type.
        #[expect(clippy::expect_used, reason = "cannot fail: the length is 32 by type")]
        let mini_key = MiniSecretKey::from_bytes(&mini[..]).expect("32 bytes are a mini secret");
        Self::from_schnorrkel(
            mini_key.expand_to_keypair(ExpansionMode::Ed25519),
            Some(*mini),
        )
    }

    /// The key pair of a 64-byte schnorrkel secret key (scalar ‖ nonce, the keyfiles'
    /// `privateKey`). The mini secret is then unknown.
    ///
    /// # Errors
    /// [`KeyError::BadSecretKey`] when the scalar half is not canonical.
    pub fn from_secret_key_bytes(secret: &[u8; 64]) -> Result<Self, KeyError> {
        let secret = SecretKey::from_bytes(secret).map_err(|_| KeyError::BadSecretKey)?;
        Ok(Self::from_schnorrkel(secret.to_keypair(), None))
    }

    /// The key pair of BIP39 entropy: Substrate's mini secret is
    /// `PBKDF2-HMAC-SHA512(entropy, "mnemonic" ‖ password, 2048)[..32]` (of the entropy, not of the
    /// phrase as in standard BIP39).
    ///
    /// # Errors
    /// [`KeyError::BadEntropyLength`] unless the entropy is 16, 20, 24, 28 or 32 bytes.
    pub fn from_entropy(entropy: &[u8], password: Option<&str>) -> Result<Self, KeyError> {
        if !WORD_COUNTS.iter().any(|(_, len)| *len == entropy.len()) {
            return Err(KeyError::BadEntropyLength(entropy.len()));
        }
        let salt = Zeroizing::new(format!("mnemonic{}", password.unwrap_or("")));
        let mut seed = Zeroizing::new([0u8; 64]);
        pbkdf2::pbkdf2_hmac::<Sha512>(entropy, salt.as_bytes(), 2048, &mut seed[..]);
        let mut mini = Zeroizing::new([0u8; 32]);
        mini.copy_from_slice(&seed[..32]);
        Ok(Self::from_mini_secret(*mini))
    }

    /// The key pair of an English BIP39 phrase (12 to 24 words, checksum checked), as
    /// `sp_core::sr25519::Pair::from_phrase` and the bittensor wallet make it.
    ///
    /// # Errors
    /// [`KeyError::MnemonicWordCount`], [`KeyError::MnemonicUnknownWord`] or
    /// [`KeyError::MnemonicChecksum`].
    pub fn from_phrase(phrase: &str, password: Option<&str>) -> Result<Self, KeyError> {
        let words = phrase.split_whitespace().count();
        let mnemonic = Mnemonic::parse_in_normalized(Language::English, phrase)
            .map_err(|e| mnemonic_error(e, words))?;
        let (entropy, len) = mnemonic.to_entropy_array();
        let entropy = Zeroizing::new(entropy);
        let entropy = entropy
            .get(..len)
            .ok_or(KeyError::MnemonicWordCount(words))?;
        Self::from_entropy(entropy, password)
    }

    /// The key pair of a Substrate secret URI: `PHRASE`, `0xSEED` (64 hex digits) or nothing (the
    /// [`DEV_PHRASE`]), then any derivation junctions `//hard` and `/soft`, then optionally
    /// `///password`. `//Alice` is the well-known development account.
    ///
    /// As in Substrate, the password only applies to phrases; with a hex seed it is ignored.
    ///
    /// # Errors
    /// Mnemonic, hex and length errors for the root, and [`KeyError::BadDerivationPath`] for an
    /// empty junction.
    pub fn from_uri(uri: &str) -> Result<Self, KeyError> {
        let (body, password) = match uri.split_once("///") {
            Some((body, password)) => (body, Some(password)),
            None => (uri, None),
        };
        let (phrase, path) = body.split_at(body.find('/').unwrap_or(body.len()));
        let junctions = parse_path(path)?;
        let root = if phrase.is_empty() {
            Self::from_phrase(DEV_PHRASE, password)?
        } else if let Some(digits) = phrase.strip_prefix("0x") {
            let seed = Zeroizing::new(hex_to_array::<32>(digits, "seed")?);
            Self::from_mini_secret(*seed)
        } else {
            Self::from_phrase(phrase, password)?
        };
        Ok(root.derive(junctions))
    }

    /// The key pair at the end of a derivation path. Hard junctions use schnorrkel's
    /// `hard_derive_mini_secret_key` (so the mini secret stays known); soft ones use
    /// `derived_key_simple` (after which it is not).
    #[must_use]
    pub fn derive(&self, path: impl IntoIterator<Item = DeriveJunction>) -> Self {
        let mut secret = self.pair.secret.clone();
        let mut mini = self.mini_secret.as_ref().map(|m| **m);
        for junction in path {
            match junction {
                DeriveJunction::Soft(cc) => {
                    secret = secret.derived_key_simple(ChainCode(cc), []).0;
                    mini = None;
                }
                DeriveJunction::Hard(cc) => {
                    let child = secret
                        .hard_derive_mini_secret_key(Some(ChainCode(cc)), [])
                        .0;
                    secret = child.expand(ExpansionMode::Ed25519);
                    mini = mini.map(|_| child.to_bytes());
                }
            }
        }
        let pair = Self::from_schnorrkel(secret.to_keypair(), None);
        Self {
            mini_secret: mini.map(Zeroizing::new),
            ..pair
        }
    }

    /// A new English BIP39 phrase of `words` words (12, 15, 18, 21 or 24) from caller-supplied
    /// entropy of exactly 16, 20, 24, 28 or 32 bytes respectively.
    ///
    /// # Errors
    /// [`KeyError::MnemonicWordCount`] for another word count, [`KeyError::BadLength`] when the
    /// entropy does not fit it.
    pub fn generate_mnemonic(words: usize, entropy: &[u8]) -> Result<String, KeyError> {
        let expected = entropy_len(words)?;
        if entropy.len() != expected {
            return Err(KeyError::BadLength {
                what: "entropy",
                expected,
                actual: entropy.len(),
            });
        }
        Mnemonic::from_entropy_in(Language::English, entropy)
            .map(|m| m.to_string())
            .map_err(|e| mnemonic_error(e, words))
    }

    /// A new English BIP39 phrase of `words` words from the operating system's random source.
    ///
    /// # Errors
    /// [`KeyError::MnemonicWordCount`] for a bad word count, [`KeyError::Randomness`] when the
    /// OS source fails.
    pub fn random_mnemonic(words: usize) -> Result<String, KeyError> {
        let len = entropy_len(words)?;
        let mut entropy = Zeroizing::new([0u8; 32]);
        let entropy = entropy
            .get_mut(..len)
            .ok_or(KeyError::MnemonicWordCount(words))?;
        getrandom::getrandom(entropy).map_err(|e| KeyError::Randomness(e.to_string()))?;
        Self::generate_mnemonic(words, entropy)
    }

    /// The public key (account id).
    pub const fn public(&self) -> PublicKey {
        self.public
    }

    /// The 32-byte mini secret this pair was made from, when known (see [`Keypair`]).
    pub fn mini_secret(&self) -> Option<[u8; 32]> {
        self.mini_secret.as_ref().map(|m| **m)
    }

    /// The 64-byte schnorrkel secret key (scalar ‖ nonce), the keyfiles' `privateKey`.
    pub fn secret_key_bytes(&self) -> Zeroizing<[u8; 64]> {
        Zeroizing::new(self.pair.secret.to_bytes())
    }

    /// Sign `message` in the `substrate` signing context. Signatures are randomised (the nonce
    /// mixes in OS randomness), so two signatures of one message differ; both verify.
    pub fn sign(&self, message: &[u8]) -> Signature {
        let sig = self.pair.sign(signing_context().bytes(message));
        Signature::from_bytes(sig.to_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junction_codes() {
        // A number is its u64 little-endian bytes.
        let mut one = [0u8; 32];
        one[0] = 1;
        assert_eq!(
            DeriveJunction::from_code("1", true),
            DeriveJunction::Hard(one)
        );
        // A string is SCALE: compact length (5 << 2 = 20) then the bytes.
        let mut alice = [0u8; 32];
        alice[..6].copy_from_slice(&[20, b'A', b'l', b'i', b'c', b'e']);
        assert_eq!(
            DeriveJunction::from_code("Alice", false),
            DeriveJunction::Soft(alice)
        );
        // Longer than 32 bytes encoded: blake2b-256 of the encoding.
        let long = "x".repeat(40);
        let encoded = long.encode();
        let hashed: [u8; 32] = Blake2b::<U32>::digest(&encoded).into();
        assert_eq!(DeriveJunction::from_code(&long, true).chain_code(), &hashed);
    }

    #[test]
    fn paths() {
        assert_eq!(parse_path(""), Ok(vec![]));
        assert_eq!(
            parse_path("//a/b//0"),
            Ok(vec![
                DeriveJunction::from_code("a", true),
                DeriveJunction::from_code("b", false),
                DeriveJunction::from_code("0", true),
            ])
        );
        assert!(parse_path("//").is_err());
        assert!(parse_path("/a/").is_err());
        assert!(parse_path("//a//").is_err());
    }

    #[test]
    fn word_counts() {
        for (words, bytes) in WORD_COUNTS {
            let phrase = Keypair::generate_mnemonic(words, &vec![0x5a; bytes]);
            let phrase = phrase.unwrap_or_default();
            assert_eq!(phrase.split(' ').count(), words);
            assert!(Keypair::from_phrase(&phrase, None).is_ok());
        }
        assert_eq!(
            Keypair::generate_mnemonic(13, &[0; 16]),
            Err(KeyError::MnemonicWordCount(13))
        );
        assert_eq!(
            Keypair::generate_mnemonic(12, &[0; 32]),
            Err(KeyError::BadLength {
                what: "entropy",
                expected: 16,
                actual: 32
            })
        );
    }

    #[test]
    fn debug_hides_secrets() {
        let pair = Keypair::from_mini_secret([3; 32]);
        let text = format!("{pair:?}");
        assert!(text.contains(&pair.public().to_ss58()));
        assert!(!text.contains("030303"));
    }
}
