//! Serde for [`AccountId`] as an SS58 address (and from `0x`-hex too).
//!
//! Use with `#[serde(with = "serde_account")]`, or `serde_account::vec` for `Vec<AccountId>`.
//! The only place the wire types decide how accounts look in JSON.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};
use tao_primitives::AccountId;

/// The account's SS58 address (prefix 42), as the bittensor tools print it.
pub fn to_text(account: &AccountId) -> String {
    tao_keys::PublicKey::from_bytes(account.0).to_ss58()
}

/// Parses an SS58 address (prefix 42) or `0x` followed by 64 hex digits.
pub fn from_text(text: &str) -> Option<AccountId> {
    let public = if text.starts_with("0x") {
        tao_keys::PublicKey::from_hex(text).ok()?
    } else {
        tao_keys::PublicKey::from_ss58(text).ok()?
    };
    Some(AccountId(public.to_bytes()))
}

/// Serializes an account as its SS58 address.
pub fn serialize<S: Serializer>(account: &AccountId, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&to_text(account))
}

/// Deserializes an account from SS58 or `0x`-hex.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<AccountId, D::Error> {
    let text = String::deserialize(deserializer)?;
    from_text(&text)
        .ok_or_else(|| D::Error::custom("expected an SS58 address or 0x followed by 64 hex digits"))
}

/// The same for a list of accounts.
pub mod vec {
    use serde::de::Error as _;
    use serde::ser::SerializeSeq as _;
    use serde::{Deserialize, Deserializer, Serializer};
    use tao_primitives::AccountId;

    /// Serializes accounts as a list of SS58 addresses.
    pub fn serialize<S: Serializer>(
        accounts: &[AccountId],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(accounts.len()))?;
        for account in accounts {
            seq.serialize_element(&super::to_text(account))?;
        }
        seq.end()
    }

    /// Deserializes a list of SS58 or `0x`-hex strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<AccountId>, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .iter()
            .map(|text| {
                super::from_text(text).ok_or_else(|| {
                    D::Error::custom("expected an SS58 address or 0x followed by 64 hex digits")
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_ss58_and_parse_from_ss58_or_hex() {
        // //Alice's well-known key.
        let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
        let account = from_text(alice).unwrap_or_default();
        assert_eq!(to_text(&account), alice);
        let hex = "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";
        assert_eq!(from_text(hex), Some(account));
        assert_eq!(from_text("abab"), None);
        assert_eq!(from_text(hex.get(..64).unwrap_or_default()), None);
        assert_eq!(from_text(alice.get(..40).unwrap_or_default()), None);
        assert_eq!(from_text(&format!("0x{}", "zz".repeat(32))), None);
    }
}
