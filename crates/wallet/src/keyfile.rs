//! Keyfile JSON as bittensor-wallet writes it (`reference/sdk.md` §4.2).
//!
//! ```json
//! {"secretPhrase": "...", "secretSeed": "0x…32 bytes", "privateKey": "0x…64 bytes",
//!  "publicKey": "0x…", "accountId": "0x…", "ss58Address": "5…", "cryptoType": 1}
//! ```
//! Loading takes the first of `secretPhrase`, `secretSeed`, `privateKey`, and falls back to a
//! public-only key from `ss58Address`/`publicKey`. Only sr25519 (`cryptoType` 1 or absent) is
//! supported.

use serde_json::{Map, Value, json};
use tao_keys::{Keypair, PublicKey};
use zeroize::Zeroizing;

use crate::error::WalletError;

/// What a keyfile holds.
#[derive(Debug)]
pub enum Key {
    /// A full key pair (a coldkey or hotkey with its secret).
    Pair(Box<Keypair>),
    /// Only the public key (the `…pub.txt` files).
    Public(PublicKey),
}

impl Key {
    /// The public key either way.
    pub fn public(&self) -> PublicKey {
        match self {
            Key::Pair(pair) => pair.public(),
            Key::Public(public) => *public,
        }
    }
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn public_fields(public: &PublicKey) -> Map<String, Value> {
    let hex = hex0x(public.as_bytes());
    let mut map = Map::new();
    map.insert("accountId".into(), Value::String(hex.clone()));
    map.insert("publicKey".into(), Value::String(hex));
    map.insert("ss58Address".into(), Value::String(public.to_ss58()));
    map.insert("cryptoType".into(), json!(1));
    map
}

/// The JSON of a secret keyfile for `pair` (with the phrase it came from, if any).
pub fn secret_json(pair: &Keypair, phrase: Option<&str>) -> Zeroizing<Vec<u8>> {
    let mut map = public_fields(&pair.public());
    if let Some(phrase) = phrase {
        map.insert("secretPhrase".into(), Value::String(phrase.to_owned()));
    }
    if let Some(seed) = pair.mini_secret() {
        map.insert("secretSeed".into(), Value::String(hex0x(&seed)));
    }
    map.insert(
        "privateKey".into(),
        Value::String(hex0x(pair.secret_key_bytes().as_ref())),
    );
    Zeroizing::new(Value::Object(map).to_string().into_bytes())
}

/// The JSON of a public keyfile.
pub fn public_json(public: &PublicKey) -> Vec<u8> {
    Value::Object(public_fields(public))
        .to_string()
        .into_bytes()
}

/// Parses a keyfile's JSON.
pub fn parse(bytes: &[u8]) -> Result<Key, WalletError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| WalletError::BadKeyfile(format!("not JSON: {e}")))?;
    let map = value
        .as_object()
        .ok_or_else(|| WalletError::BadKeyfile("not a JSON object".into()))?;
    let text = |name: &str| map.get(name).and_then(Value::as_str);
    match map.get("cryptoType").and_then(Value::as_u64) {
        None | Some(1) => {}
        Some(0) => {
            return Err(WalletError::BadKeyfile(
                "ed25519 keyfiles are not supported".into(),
            ));
        }
        Some(other) => {
            return Err(WalletError::BadKeyfile(format!(
                "unknown cryptoType {other}"
            )));
        }
    }
    let pair = if let Some(phrase) = text("secretPhrase") {
        Some(Keypair::from_phrase(phrase, None)?)
    } else if let Some(seed) = text("secretSeed") {
        Some(Keypair::from_mini_secret(fixed::<32>(seed, "secretSeed")?))
    } else if let Some(secret) = text("privateKey") {
        Some(Keypair::from_secret_key_bytes(&fixed::<64>(
            secret,
            "privateKey",
        )?)?)
    } else {
        None
    };
    let stated = match (text("ss58Address"), text("publicKey")) {
        (Some(ss58), _) => Some(PublicKey::from_ss58(ss58)?),
        (None, Some(hex)) => Some(PublicKey::from_hex(hex)?),
        (None, None) => None,
    };
    match (pair, stated) {
        (Some(pair), Some(stated)) if pair.public() != stated => Err(WalletError::BadKeyfile(
            "the secret does not match the stated public key".into(),
        )),
        (Some(pair), _) => Ok(Key::Pair(Box::new(pair))),
        (None, Some(public)) => Ok(Key::Public(public)),
        (None, None) => Err(WalletError::BadKeyfile("no key in the file".into())),
    }
}

fn fixed<const N: usize>(text: &str, field: &str) -> Result<[u8; N], WalletError> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let bytes = Zeroizing::new(
        hex::decode(digits).map_err(|_| WalletError::BadKeyfile(format!("{field} is not hex")))?,
    );
    <[u8; N]>::try_from(bytes.as_slice())
        .map_err(|_| WalletError::BadKeyfile(format!("{field} must be {N} bytes")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sdk.md §4.2's keyfile, as bittensor-wallet wrote it.
    const LIVE: &str = r#"{"secretPhrase":"legal winner thank year wave sausage worth useful legal winner thank yellow",
 "publicKey":"0x625e25364c7b68e0a83065ccb40afed43f8fe933e669b24f3d69a57eddb3b715",
 "secretSeed":"0x6fa2796b0071cac425d8a7851038318c2c37dcebfe4bae73197ce93e75909bd2",
 "ss58Address":"5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe",
 "cryptoType":1,
 "accountId":"0x625e25364c7b68e0a83065ccb40afed43f8fe933e669b24f3d69a57eddb3b715",
 "privateKey":"0xad8a44476e667ef8eab356d1d6f09303f21ba1ac44a3f8b96210bdd603d1900bb25d15f130020fffc3261f584f84168e7a6f0009f6c3abb2f3fa460f493b0595"}"#;

    #[test]
    fn reads_the_live_keyfile_by_every_field() -> Result<(), WalletError> {
        let key = parse(LIVE.as_bytes())?;
        assert_eq!(
            key.public().to_ss58(),
            "5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe"
        );
        let mut map: Map<String, Value> =
            serde_json::from_str(LIVE).map_err(|e| WalletError::BadKeyfile(e.to_string()))?;
        map.remove("secretPhrase");
        assert_eq!(
            parse(Value::Object(map.clone()).to_string().as_bytes())?.public(),
            key.public()
        );
        map.remove("secretSeed");
        assert!(matches!(
            parse(Value::Object(map.clone()).to_string().as_bytes())?,
            Key::Pair(_)
        ));
        map.remove("privateKey");
        assert!(matches!(
            parse(Value::Object(map).to_string().as_bytes())?,
            Key::Public(_)
        ));
        Ok(())
    }

    #[test]
    fn writes_what_it_reads_with_the_same_private_key() -> Result<(), WalletError> {
        let Key::Pair(pair) = parse(LIVE.as_bytes())? else {
            return Err(WalletError::BadKeyfile("expected a pair".into()));
        };
        let written = secret_json(
            &pair,
            Some("legal winner thank year wave sausage worth useful legal winner thank yellow"),
        );
        let ours: Value =
            serde_json::from_slice(&written).map_err(|e| WalletError::BadKeyfile(e.to_string()))?;
        let theirs: Value =
            serde_json::from_str(LIVE).map_err(|e| WalletError::BadKeyfile(e.to_string()))?;
        assert_eq!(ours, theirs);
        let public: Value = serde_json::from_slice(&public_json(&pair.public()))
            .map_err(|e| WalletError::BadKeyfile(e.to_string()))?;
        assert_eq!(public.get("ss58Address"), theirs.get("ss58Address"));
        Ok(())
    }

    #[test]
    fn rejects_bad_keyfiles() {
        for bad in [
            "",
            "[]",
            "{}",
            "not json",
            r#"{"secretSeed":"0x12"}"#,
            r#"{"secretSeed":"zz"}"#,
            r#"{"cryptoType":0,"ss58Address":"5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe"}"#,
            r#"{"secretSeed":"0x6fa2796b0071cac425d8a7851038318c2c37dcebfe4bae73197ce93e75909bd2","ss58Address":"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"}"#,
            r#"{"ss58Address":"5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAf"}"#,
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
