//! [`PublicKey`] and [`Signature`]: plain byte arrays with SS58, hex, serde and SCALE forms.

use std::fmt;
use std::str::FromStr;

use blake2::{Blake2b512, Digest};
use parity_scale_codec::{Decode, Encode, MaxEncodedLen};

use crate::KeyError;

/// The SS58 prefix of Bittensor (and of generic Substrate) accounts; addresses start with `5`.
pub const SS58_PREFIX: u8 = 42;

/// Length of a decoded SS58 address with a one-byte prefix: prefix, key, two checksum bytes.
const SS58_LEN: usize = 1 + 32 + 2;

/// An sr25519 public key: the 32-byte compressed Ristretto point that is a Bittensor account id.
///
/// Any 32 bytes make a `PublicKey`; whether they are a valid point is only checked when a
/// signature is verified against it (invalid points never verify).
///
/// `Display`, `FromStr` and human-readable serde use the SS58 address with prefix 42; `Debug`
/// shows the same; SCALE and binary serde use the raw 32 bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, MaxEncodedLen)]
pub struct PublicKey([u8; 32]);

/// An sr25519 signature (64 bytes, schnorrkel encoding with the high bit of the last byte set).
///
/// `Display` and human-readable serde use `0x`-prefixed lowercase hex; SCALE and binary serde
/// use the raw 64 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, MaxEncodedLen)]
pub struct Signature([u8; 64]);

/// Decode optional-`0x` hex into exactly `N` bytes.
pub(crate) fn hex_to_array<const N: usize>(
    text: &str,
    what: &'static str,
) -> Result<[u8; N], KeyError> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    // The text itself is never echoed: it may be a secret seed.
    if let Some(index) = digits.bytes().position(|b| !b.is_ascii_hexdigit()) {
        let position = index + (text.len() - digits.len()) + 1;
        return Err(KeyError::BadHex(format!(
            "{what}: character {position} is not a hex digit"
        )));
    }
    if !digits.len().is_multiple_of(2) {
        return Err(KeyError::BadHex(format!(
            "{what}: an odd number of hex digits ({})",
            digits.len()
        )));
    }
    if digits.len() != N * 2 {
        return Err(KeyError::BadLength {
            what,
            expected: N,
            actual: digits.len() / 2,
        });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out).map_err(|e| KeyError::BadHex(format!("{what}: {e}")))?;
    Ok(out)
}

/// blake2b-512 of `"SS58PRE" ‖ data`; its first two bytes are an address's checksum.
fn ss58_hash(data: &[u8]) -> [u8; 64] {
    let mut hasher = Blake2b512::new();
    hasher.update(b"SS58PRE");
    hasher.update(data);
    hasher.finalize().into()
}

/// Whether `prefix` is a supported one-byte SS58 prefix (0..=63 except the reserved 46 and 47).
fn is_supported_prefix(prefix: u8) -> bool {
    prefix < 64 && prefix != 46 && prefix != 47
}

impl PublicKey {
    /// The key with these bytes (not checked to be a curve point).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The raw 32 bytes, by value.
    pub const fn to_bytes(self) -> [u8; 32] {
        self.0
    }

    /// The SS58 address with prefix 42 (`5…`), as the bittensor tools print it.
    pub fn to_ss58(&self) -> String {
        self.ss58_with(SS58_PREFIX)
    }

    /// The SS58 address with another one-byte prefix (0..=63 except the reserved 46 and 47).
    ///
    /// # Errors
    /// [`KeyError::Ss58UnsupportedPrefix`] for any other prefix.
    pub fn to_ss58_with_prefix(&self, prefix: u8) -> Result<String, KeyError> {
        if is_supported_prefix(prefix) {
            Ok(self.ss58_with(prefix))
        } else {
            Err(KeyError::Ss58UnsupportedPrefix(prefix))
        }
    }

    fn ss58_with(&self, prefix: u8) -> String {
        let mut data = [0u8; SS58_LEN];
        data[0] = prefix;
        data[1..33].copy_from_slice(&self.0);
        let hash = ss58_hash(&data[..33]);
        data[33] = hash[0];
        data[34] = hash[1];
        bs58::encode(data).into_string()
    }

    /// Parse an SS58 address with prefix 42.
    ///
    /// # Errors
    /// [`KeyError::Ss58Base58`], [`KeyError::Ss58Length`], [`KeyError::Ss58UnsupportedPrefix`],
    /// [`KeyError::Ss58Checksum`] for text that is no SS58 address, and
    /// [`KeyError::Ss58WrongPrefix`] for a valid address of another network.
    pub fn from_ss58(address: &str) -> Result<Self, KeyError> {
        let (key, prefix) = Self::from_ss58_any_prefix(address)?;
        if prefix == SS58_PREFIX {
            Ok(key)
        } else {
            Err(KeyError::Ss58WrongPrefix {
                expected: SS58_PREFIX,
                found: prefix,
            })
        }
    }

    /// Parse an SS58 address with any supported one-byte prefix, returning the prefix too.
    ///
    /// # Errors
    /// As [`PublicKey::from_ss58`], except that a foreign prefix is no error.
    pub fn from_ss58_any_prefix(address: &str) -> Result<(Self, u8), KeyError> {
        // Decoding onto a fixed buffer bounds the work for arbitrarily long input.
        let mut data = [0u8; SS58_LEN + 1];
        let len = bs58::decode(address)
            .onto(&mut data[..])
            .map_err(|e| match e {
                bs58::decode::Error::BufferTooSmall => KeyError::Ss58Length,
                _ => KeyError::Ss58Base58,
            })?;
        let prefix = data[0];
        // A well-formed address with a two-byte prefix (first byte 64..=127) is 36 bytes.
        let two_byte_prefix = len == SS58_LEN + 1 && (64..128).contains(&prefix);
        if len != SS58_LEN && !two_byte_prefix {
            return Err(KeyError::Ss58Length);
        }
        if two_byte_prefix || !is_supported_prefix(prefix) {
            return Err(KeyError::Ss58UnsupportedPrefix(prefix));
        }
        let hash = ss58_hash(&data[..33]);
        if data[33..35] != hash[..2] {
            return Err(KeyError::Ss58Checksum);
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&data[1..33]);
        Ok((Self(key), prefix))
    }

    /// `0x` followed by 64 lowercase hex digits (the keyfiles' `publicKey`/`accountId` form).
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }

    /// Parse 64 hex digits, with or without a leading `0x`.
    ///
    /// # Errors
    /// [`KeyError::BadHex`] or [`KeyError::BadLength`].
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        hex_to_array(text, "public key").map(Self)
    }
}

impl From<[u8; 32]> for PublicKey {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl From<PublicKey> for [u8; 32] {
    fn from(key: PublicKey) -> Self {
        key.0
    }
}

impl TryFrom<&[u8]> for PublicKey {
    type Error = KeyError;

    fn try_from(bytes: &[u8]) -> Result<Self, KeyError> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| KeyError::BadLength {
                what: "public key",
                expected: 32,
                actual: bytes.len(),
            })
    }
}

impl AsRef<[u8]> for PublicKey {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_ss58())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_ss58())
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::from_ss58(s)
    }
}

impl Signature {
    /// The signature with these bytes (not checked; invalid signatures never verify).
    pub const fn from_bytes(bytes: [u8; 64]) -> Self {
        Self(bytes)
    }

    /// The raw 64 bytes.
    pub const fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }

    /// The raw 64 bytes, by value.
    pub const fn to_bytes(self) -> [u8; 64] {
        self.0
    }

    /// `0x` followed by 128 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }

    /// Parse 128 hex digits, with or without a leading `0x`.
    ///
    /// # Errors
    /// [`KeyError::BadHex`] or [`KeyError::BadLength`].
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        hex_to_array(text, "signature").map(Self)
    }
}

impl From<[u8; 64]> for Signature {
    fn from(bytes: [u8; 64]) -> Self {
        Self(bytes)
    }
}

impl From<Signature> for [u8; 64] {
    fn from(sig: Signature) -> Self {
        sig.0
    }
}

impl TryFrom<&[u8]> for Signature {
    type Error = KeyError;

    fn try_from(bytes: &[u8]) -> Result<Self, KeyError> {
        <[u8; 64]>::try_from(bytes)
            .map(Self)
            .map_err(|_| KeyError::BadLength {
                what: "signature",
                expected: 64,
                actual: bytes.len(),
            })
    }
}

impl AsRef<[u8]> for Signature {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

impl FromStr for Signature {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::from_hex(s)
    }
}

mod serde_impls {
    //! Human-readable formats get text (SS58 / hex); binary formats get the raw bytes.

    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{self, SeqAccess, Visitor};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{PublicKey, Signature};
    use crate::KeyError;

    /// A fixed-size byte type with a text form.
    trait TextBytes<const N: usize>: Sized + From<[u8; N]> {
        const EXPECTING: &'static str;
        fn parse(text: &str) -> Result<Self, KeyError>;
    }

    impl TextBytes<32> for PublicKey {
        const EXPECTING: &'static str = "an SS58 address or 32 bytes";
        fn parse(text: &str) -> Result<Self, KeyError> {
            Self::from_ss58(text)
        }
    }

    impl TextBytes<64> for Signature {
        const EXPECTING: &'static str = "a 0x-hex signature or 64 bytes";
        fn parse(text: &str) -> Result<Self, KeyError> {
            Self::from_hex(text)
        }
    }

    struct BytesVisitor<T, const N: usize>(PhantomData<T>);

    impl<'de, T: TextBytes<N>, const N: usize> Visitor<'de> for BytesVisitor<T, N> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(T::EXPECTING)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            T::parse(v).map_err(E::custom)
        }

        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<T, E> {
            <[u8; N]>::try_from(v)
                .map(T::from)
                .map_err(|_| E::invalid_length(v.len(), &self))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
            let mut out = [0u8; N];
            for (i, slot) in out.iter_mut().enumerate() {
                *slot = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(i, &self))?;
            }
            if seq.next_element::<u8>()?.is_some() {
                return Err(de::Error::invalid_length(N.saturating_add(1), &self));
            }
            Ok(T::from(out))
        }
    }

    fn deserialize<'de, D: Deserializer<'de>, T: TextBytes<N>, const N: usize>(
        deserializer: D,
    ) -> Result<T, D::Error> {
        let visitor = BytesVisitor::<T, N>(PhantomData);
        if deserializer.is_human_readable() {
            deserializer.deserialize_str(visitor)
        } else {
            deserializer.deserialize_bytes(visitor)
        }
    }

    impl Serialize for PublicKey {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            if serializer.is_human_readable() {
                serializer.serialize_str(&self.to_ss58())
            } else {
                serializer.serialize_bytes(self.as_bytes())
            }
        }
    }

    impl<'de> Deserialize<'de> for PublicKey {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserialize::<D, Self, 32>(deserializer)
        }
    }

    impl Serialize for Signature {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            if serializer.is_human_readable() {
                serializer.serialize_str(&self.to_hex())
            } else {
                serializer.serialize_bytes(self.as_bytes())
            }
        }
    }

    impl<'de> Deserialize<'de> for Signature {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserialize::<D, Self, 64>(deserializer)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: [u8; 32] = [
        0xd4, 0x35, 0x93, 0xc7, 0x15, 0xfd, 0xd3, 0x1c, 0x61, 0x14, 0x1a, 0xbd, 0x04, 0xa9, 0x9f,
        0xd6, 0x82, 0x2c, 0x85, 0x58, 0x85, 0x4c, 0xcd, 0xe3, 0x9a, 0x56, 0x84, 0xe7, 0xa5, 0x6d,
        0xa2, 0x7d,
    ];
    const ALICE_SS58: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

    #[test]
    fn alice_ss58_both_ways() {
        let key = PublicKey::from_bytes(ALICE);
        assert_eq!(key.to_ss58(), ALICE_SS58);
        assert_eq!(key.to_string(), ALICE_SS58);
        assert_eq!(format!("{key:?}"), format!("PublicKey({ALICE_SS58})"));
        assert_eq!(PublicKey::from_ss58(ALICE_SS58), Ok(key));
        assert_eq!(ALICE_SS58.parse::<PublicKey>(), Ok(key));
    }

    #[test]
    fn polkadot_prefix_is_foreign() {
        // Alice's well-known Polkadot (prefix 0) address.
        let polkadot = "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5";
        let key = PublicKey::from_bytes(ALICE);
        assert_eq!(key.to_ss58_with_prefix(0).as_deref(), Ok(polkadot));
        assert_eq!(PublicKey::from_ss58_any_prefix(polkadot), Ok((key, 0)));
        assert_eq!(
            PublicKey::from_ss58(polkadot),
            Err(KeyError::Ss58WrongPrefix {
                expected: 42,
                found: 0
            })
        );
        assert_eq!(
            key.to_ss58_with_prefix(64),
            Err(KeyError::Ss58UnsupportedPrefix(64))
        );
        assert_eq!(
            key.to_ss58_with_prefix(46),
            Err(KeyError::Ss58UnsupportedPrefix(46))
        );
    }

    #[test]
    fn bad_addresses() {
        assert_eq!(PublicKey::from_ss58(""), Err(KeyError::Ss58Length));
        assert_eq!(PublicKey::from_ss58("0OIl"), Err(KeyError::Ss58Base58));
        assert_eq!(
            PublicKey::from_ss58(&ALICE_SS58[..40]),
            Err(KeyError::Ss58Length)
        );
        assert_eq!(
            PublicKey::from_ss58(&"5".repeat(10_000)),
            Err(KeyError::Ss58Length)
        );
        // Corrupt one checksum byte of an otherwise valid address.
        let mut raw = bs58::decode(ALICE_SS58).into_vec().unwrap_or_default();
        if let Some(last) = raw.last_mut() {
            *last ^= 1;
        }
        let corrupted = bs58::encode(&raw).into_string();
        assert_eq!(
            PublicKey::from_ss58(&corrupted),
            Err(KeyError::Ss58Checksum)
        );
        // A two-byte prefix (first byte 64..=127, one more byte).
        raw.push(0);
        raw[0] = 0x40;
        let two_byte = bs58::encode(&raw).into_string();
        assert_eq!(
            PublicKey::from_ss58(&two_byte),
            Err(KeyError::Ss58UnsupportedPrefix(0x40))
        );
    }

    #[test]
    fn hex_forms() {
        let key = PublicKey::from_bytes(ALICE);
        let text = key.to_hex();
        assert_eq!(
            text,
            "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
        );
        assert_eq!(PublicKey::from_hex(&text), Ok(key));
        assert_eq!(PublicKey::from_hex(&text[2..]), Ok(key));
        assert!(matches!(
            PublicKey::from_hex("0xabc"),
            Err(KeyError::BadHex(_))
        ));
        assert!(matches!(
            PublicKey::from_hex("0xzz"),
            Err(KeyError::BadHex(_))
        ));
        // The message says where the fault is and never repeats the text (it may be a seed).
        let secret = "0x00112233445566778899aabbccddeeff0011223344556677889900aabbccddXY";
        let message = PublicKey::from_hex(secret).err().map(|e| e.to_string());
        let message = message.unwrap_or_default();
        assert!(message.contains("character 65"), "{message}");
        assert!(!message.contains("0011"), "{message}");
        assert!(
            PublicKey::from_hex("0xabc")
                .err()
                .is_some_and(|e| e.to_string().contains("odd number of hex digits (3)"))
        );
        assert_eq!(
            PublicKey::from_hex("0xabcd"),
            Err(KeyError::BadLength {
                what: "public key",
                expected: 32,
                actual: 2
            })
        );
        let sig = Signature::from_bytes([7; 64]);
        assert_eq!(Signature::from_hex(&sig.to_hex()), Ok(sig));
        assert_eq!(sig.to_string().parse::<Signature>(), Ok(sig));
    }

    #[test]
    fn scale_is_raw_bytes() {
        let key = PublicKey::from_bytes(ALICE);
        assert_eq!(key.encode(), ALICE.to_vec());
        assert_eq!(PublicKey::decode(&mut &ALICE[..]), Ok(key));
        assert!(PublicKey::decode(&mut &ALICE[..31]).is_err());
        assert_eq!(PublicKey::max_encoded_len(), 32);
        let sig = Signature::from_bytes([9; 64]);
        assert_eq!(sig.encode(), vec![9; 64]);
        assert_eq!(Signature::decode(&mut &[9u8; 64][..]), Ok(sig));
        assert!(Signature::decode(&mut &[9u8; 63][..]).is_err());
        assert_eq!(Signature::max_encoded_len(), 64);
    }

    #[test]
    fn serde_json_uses_text() {
        let key = PublicKey::from_bytes(ALICE);
        let json = serde_json::to_string(&key).unwrap_or_default();
        assert_eq!(json, format!("\"{ALICE_SS58}\""));
        let back: Result<PublicKey, _> = serde_json::from_str(&json);
        assert_eq!(back.ok(), Some(key));
        assert!(serde_json::from_str::<PublicKey>("\"5Grw\"").is_err());
        assert!(serde_json::from_str::<PublicKey>("42").is_err());
        let sig = Signature::from_bytes([1; 64]);
        let json = serde_json::to_string(&sig).unwrap_or_default();
        assert_eq!(json.len(), 2 + 2 + 128);
        let back: Result<Signature, _> = serde_json::from_str(&json);
        assert_eq!(back.ok(), Some(sig));
    }
}
