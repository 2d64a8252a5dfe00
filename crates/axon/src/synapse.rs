//! The synapse model: the [`Synapse`] trait for typed requests, the SDK's base fields
//! ([`Envelope`], [`TerminalInfo`]), and the body hash.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use sha3::{Digest, Sha3_256};

use crate::WireError;
use crate::pyrepr::py_str;

/// A typed request/response exchanged between a dendrite and an axon: the subclass fields of a
/// Python `bt.Synapse`, serialized as JSON object fields next to the SDK's base fields.
///
/// Every field the Python class declares must be a field here with the same name and a
/// JSON-compatible type (the Python client rebuilds its own class from the axon's JSON, so the
/// response must contain every field the peer requires). Do not use
/// `#[serde(deny_unknown_fields)]`: the type is flattened into an [`Envelope`].
///
/// ```
/// use serde::{Deserialize, Serialize};
/// #[derive(Clone, Debug, Serialize, Deserialize)]
/// struct Dummy { dummy_input: i64, dummy_output: Option<i64> }
/// impl tao_axon::Synapse for Dummy {
///     const NAME: &'static str = "Dummy";
///     const REQUIRED_FIELDS: &'static [&'static str] = &["dummy_input"];
///     const HASH_FIELDS: &'static [&'static str] = &["dummy_input"];
/// }
/// ```
pub trait Synapse: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The Python class name: the URL path (`/Dummy`) and the `name` header.
    const NAME: &'static str;
    /// Fields without a default in the Python class. Each gets a `bt_header_input_obj_<field>`
    /// header holding a placeholder of its type, without which a Python axon answers 500.
    const REQUIRED_FIELDS: &'static [&'static str] = &[];
    /// The class's `required_hash_fields`, in order: what the body hash covers.
    const HASH_FIELDS: &'static [&'static str] = &[];
}

/// The `dendrite` or `axon` part of a synapse (Python `TerminalInfo`): every field optional,
/// serialized with explicit `null`s as pydantic does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TerminalInfo {
    /// HTTP-like status code of the exchange (200 on success).
    pub status_code: Option<i64>,
    /// Human-readable status.
    pub status_message: Option<String>,
    /// Seconds spent (axon: in the handler; dendrite: the round trip).
    pub process_time: Option<f64>,
    /// IP address of the terminal.
    pub ip: Option<String>,
    /// Port of the terminal.
    pub port: Option<u64>,
    /// SDK version as `major·10⁶ + minor·10³ + patch`.
    pub version: Option<u64>,
    /// Request nonce: Unix time in nanoseconds at signing.
    pub nonce: Option<u64>,
    /// Stable identifier of the client instance.
    pub uuid: Option<String>,
    /// SS58 address of the terminal's hotkey.
    pub hotkey: Option<String>,
    /// `0x`-hex sr25519 signature.
    pub signature: Option<String>,
}

/// A synapse with the SDK's base fields: the exact JSON body a Python dendrite sends and a Python
/// axon returns. `null` base fields read as their defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<S> {
    /// The synapse name (Python class name).
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// The request timeout in seconds (the SDK's default is 12).
    #[serde(default = "default_timeout", deserialize_with = "null_timeout")]
    pub timeout: f64,
    /// Cosmetic size figure (CPython `getsizeof`); never checked by anyone.
    #[serde(default, deserialize_with = "null_default")]
    pub total_size: u64,
    /// Cosmetic size figure; never checked by anyone.
    #[serde(default, deserialize_with = "null_default")]
    pub header_size: u64,
    /// The client's terminal information.
    #[serde(default, deserialize_with = "null_default")]
    pub dendrite: TerminalInfo,
    /// The server's terminal information.
    #[serde(default, deserialize_with = "null_default")]
    pub axon: TerminalInfo,
    /// Always `""` in bodies (a frozen field in the SDK); the hash travels as a header.
    #[serde(default, deserialize_with = "null_default")]
    pub computed_body_hash: String,
    /// The typed fields.
    #[serde(flatten)]
    pub synapse: S,
}

/// The SDK's default synapse timeout, in seconds.
pub const DEFAULT_TIMEOUT: f64 = 12.0;

fn default_timeout() -> f64 {
    DEFAULT_TIMEOUT
}

fn null_default<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn null_timeout<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(DEFAULT_TIMEOUT))
}

impl<S: Synapse> Envelope<S> {
    /// A fresh envelope around `synapse`, as `Synapse()` is in Python: name set, timeout 12 s,
    /// empty terminals.
    pub fn new(synapse: S) -> Self {
        Self {
            name: S::NAME.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            total_size: 0,
            header_size: 0,
            dendrite: TerminalInfo::default(),
            axon: TerminalInfo::default(),
            computed_body_hash: String::new(),
            synapse,
        }
    }

    /// Parse a JSON body.
    ///
    /// # Errors
    /// [`WireError::BadBody`] when the JSON is invalid or lacks a required field.
    pub fn from_json(body: &[u8]) -> Result<Self, WireError> {
        serde_json::from_slice(body).map_err(|e| WireError::BadBody {
            synapse: S::NAME,
            reason: e.to_string(),
        })
    }

    /// The JSON body.
    ///
    /// # Errors
    /// [`WireError::Serialize`] when the synapse does not serialize (NaN floats, ...).
    pub fn to_json(&self) -> Result<Vec<u8>, WireError> {
        serde_json::to_vec(self).map_err(|e| WireError::Serialize(e.to_string()))
    }
}

/// sha3-256 of `data`, lowercase hex (the SDK's `get_hash`).
pub fn sha3_hex(data: &[u8]) -> String {
    hex::encode(Sha3_256::digest(data))
}

/// The body hash of `synapse` as the SDK computes it: sha3-256 hex of the concatenated sha3-256
/// hex digests of Python's `str()` of each field in [`Synapse::HASH_FIELDS`].
///
/// # Errors
/// [`WireError::Serialize`] when the synapse does not serialize.
pub fn body_hash<S: Synapse>(synapse: &S) -> Result<String, WireError> {
    let value = serde_json::to_value(synapse).map_err(|e| WireError::Serialize(e.to_string()))?;
    Ok(body_hash_of_value(&value, S::HASH_FIELDS))
}

/// [`body_hash`] over an already serialized synapse (a JSON object); a missing field hashes as
/// `None`.
pub fn body_hash_of_value(value: &Value, fields: &[&str]) -> String {
    let mut inner = String::with_capacity(64 * fields.len());
    for field in fields {
        let text = value.get(*field).map_or_else(|| "None".to_owned(), py_str);
        inner.push_str(&sha3_hex(text.as_bytes()));
    }
    sha3_hex(inner.as_bytes())
}

/// The `bt_header_input_obj_*` placeholder of a value: base64 of the JSON of an empty value of
/// the same Python type (`0`, `0.0`, `""`, `[]`, `{}`, `false`), as the SDK sends.
pub fn input_obj_placeholder(value: &Value) -> String {
    use base64::Engine;
    let json = match value {
        Value::Bool(_) => "false",
        Value::Number(n) if n.is_f64() => "0.0",
        Value::Number(_) => "0",
        Value::String(_) => "\"\"",
        Value::Array(_) => "[]",
        Value::Object(_) => "{}",
        Value::Null => "null",
    };
    base64::engine::general_purpose::STANDARD.encode(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
    struct Dummy {
        dummy_input: i64,
        dummy_output: Option<i64>,
    }
    impl Synapse for Dummy {
        const NAME: &'static str = "Dummy";
        const REQUIRED_FIELDS: &'static [&'static str] = &["dummy_input"];
        const HASH_FIELDS: &'static [&'static str] = &["dummy_input"];
    }

    #[test]
    fn body_hash_matches_the_sdk() {
        let d = Dummy {
            dummy_input: 21,
            dummy_output: None,
        };
        assert_eq!(
            sha3_hex(b"21"),
            "7faeca1b13d1a7f909f21989ff203fa36abb4be730336186f9c49c6e56a890c0"
        );
        assert_eq!(
            body_hash(&d).unwrap(),
            "92458924edc5f6c19fb90d1d8cec7ec179fd1a4dc293e2d97f8578f6f13ba970"
        );
        assert_eq!(
            body_hash_of_value(&Value::Null, &[]),
            "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
        );
    }

    #[test]
    fn placeholders() {
        assert_eq!(input_obj_placeholder(&serde_json::json!(21)), "MA==");
        assert_eq!(input_obj_placeholder(&serde_json::json!("x")), "IiI=");
        assert_eq!(input_obj_placeholder(&serde_json::json!([1])), "W10=");
    }

    #[test]
    fn python_body_parses_and_round_trips() {
        let body = br#"{"name": "Dummy", "timeout": 12.0, "total_size": 2981, "header_size": 0, "dendrite": {"status_code": null, "status_message": null, "process_time": null, "ip": "127.0.0.1", "port": null, "version": 10005000, "nonce": 1795608528163740329, "uuid": "f845f842-e8c8-11f1-85c1-02fc00000001", "hotkey": "5EPCUjPxiHAcNooYipQFWr9NmmXJKpNG5RhcntXwbtUySrgH", "signature": "0x2ae4"}, "axon": {"status_code": null, "status_message": null, "process_time": null, "ip": "127.0.0.1", "port": 8911, "version": null, "nonce": null, "uuid": null, "hotkey": "5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe", "signature": null}, "computed_body_hash": "", "dummy_input": 21, "dummy_output": null}"#;
        let env = Envelope::<Dummy>::from_json(body).unwrap();
        assert_eq!(env.synapse.dummy_input, 21);
        assert_eq!(env.dendrite.nonce, Some(1795608528163740329));
        assert_eq!(env.axon.port, Some(8911));
        let json = String::from_utf8(env.to_json().unwrap()).unwrap();
        assert!(json.starts_with(r#"{"name":"Dummy","timeout":12.0,"total_size":2981,"header_size":0,"dendrite":{"status_code":null"#), "{json}");
        assert!(
            json.ends_with(r#""computed_body_hash":"","dummy_input":21,"dummy_output":null}"#),
            "{json}"
        );
        assert!(Envelope::<Dummy>::from_json(br#"{"dummy_input": "x"}"#).is_err());
        assert!(Envelope::<Dummy>::from_json(br#"{"name": null, "dummy_input": 1}"#).is_ok());
    }
}
