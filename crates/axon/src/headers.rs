//! `bt_header_*` headers: what a dendrite sends, what an axon reads back, what an axon answers.
//!
//! Names are lowercase with underscores, as the SDK emits them (HTTP/1.1 keeps underscores; some
//! reverse proxies drop them unless told otherwise). Values are plain strings; numbers use Python's
//! `str()` (`12.0` for the timeout).

use http::HeaderMap;
use serde_json::Value;

use crate::WireError;
use crate::pyrepr::py_float;
use crate::synapse::{Envelope, Synapse, TerminalInfo, input_obj_placeholder};

/// Prefix of the server terminal's headers.
pub const AXON_PREFIX: &str = "bt_header_axon_";
/// Prefix of the client terminal's headers.
pub const DENDRITE_PREFIX: &str = "bt_header_dendrite_";
/// Prefix of the required-field placeholder headers.
pub const INPUT_OBJ_PREFIX: &str = "bt_header_input_obj_";

/// The synapse fields an axon reads from request headers before it looks at the body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestHeaders {
    /// `name`.
    pub name: Option<String>,
    /// `timeout` in seconds.
    pub timeout: Option<f64>,
    /// `bt_header_axon_*`.
    pub axon: TerminalInfo,
    /// `bt_header_dendrite_*`.
    pub dendrite: TerminalInfo,
    /// `computed_body_hash`.
    pub computed_body_hash: Option<String>,
}

fn bad(name: &str, reason: impl Into<String>) -> WireError {
    WireError::BadHeader {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

fn parse_num<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, WireError> {
    value
        .trim()
        .parse()
        .map_err(|_| bad(name, format!("not a number: {value:?}")))
}

/// Set one `TerminalInfo` field from its header; unknown fields are ignored (as pydantic does).
fn set_terminal_field(
    info: &mut TerminalInfo,
    field: &str,
    name: &str,
    value: &str,
) -> Result<(), WireError> {
    match field {
        "status_code" => info.status_code = Some(parse_num(name, value)?),
        "status_message" => info.status_message = Some(value.to_owned()),
        "process_time" => info.process_time = Some(parse_num(name, value)?),
        "ip" => info.ip = Some(value.to_owned()),
        "port" => info.port = Some(parse_num(name, value)?),
        "version" => info.version = Some(parse_num(name, value)?),
        "nonce" => info.nonce = Some(parse_num(name, value)?),
        "uuid" => info.uuid = Some(value.to_owned()),
        "hotkey" => info.hotkey = Some(value.to_owned()),
        "signature" => info.signature = Some(value.to_owned()),
        _ => {}
    }
    Ok(())
}

impl RequestHeaders {
    /// Read the synapse headers of a request (or response). Header names match case-insensitively
    /// (HTTP lowercases them); headers that are not synapse headers are ignored.
    ///
    /// # Errors
    /// [`WireError::BadHeader`] for a non-text value or a non-number where a number belongs.
    pub fn parse(headers: &HeaderMap) -> Result<Self, WireError> {
        let mut out = Self::default();
        for (name, value) in headers {
            let name = name.as_str();
            let interesting = name.starts_with("bt_header_")
                || matches!(name, "name" | "timeout" | "computed_body_hash");
            if !interesting {
                continue;
            }
            let value = value
                .to_str()
                .map_err(|_| bad(name, "not visible ASCII text"))?;
            if let Some(field) = name.strip_prefix(AXON_PREFIX) {
                set_terminal_field(&mut out.axon, field, name, value)?;
            } else if let Some(field) = name.strip_prefix(DENDRITE_PREFIX) {
                set_terminal_field(&mut out.dendrite, field, name, value)?;
            } else {
                match name {
                    "name" => out.name = Some(value.to_owned()),
                    "timeout" => out.timeout = Some(parse_num(name, value)?),
                    "computed_body_hash" => out.computed_body_hash = Some(value.to_owned()),
                    _ => {}
                }
            }
        }
        Ok(out)
    }
}

/// Replace characters a header value cannot carry (controls, non-ASCII) with `?`.
pub fn header_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// Append `bt_header_{prefix}_{field}` for every set field of `info`, as `to_headers` does.
pub fn push_terminal(out: &mut Vec<(String, String)>, prefix: &str, info: &TerminalInfo) {
    let mut push = |field: &str, value: String| out.push((format!("{prefix}{field}"), value));
    if let Some(v) = info.status_code {
        push("status_code", v.to_string());
    }
    if let Some(v) = &info.status_message {
        push("status_message", header_safe(v));
    }
    if let Some(v) = info.process_time {
        push("process_time", py_float(v));
    }
    if let Some(v) = &info.ip {
        push("ip", header_safe(v));
    }
    if let Some(v) = info.port {
        push("port", v.to_string());
    }
    if let Some(v) = info.version {
        push("version", v.to_string());
    }
    if let Some(v) = info.nonce {
        push("nonce", v.to_string());
    }
    if let Some(v) = &info.uuid {
        push("uuid", header_safe(v));
    }
    if let Some(v) = &info.hotkey {
        push("hotkey", header_safe(v));
    }
    if let Some(v) = &info.signature {
        push("signature", header_safe(v));
    }
}

/// The headers of a synapse, as the SDK's `Synapse.to_headers` builds them: `name`, `timeout`,
/// the set terminal fields, one placeholder per required field, `header_size`, `total_size` and
/// `computed_body_hash`. `fields` is the serialized typed synapse (for the placeholders);
/// `body_len` stands in for the cosmetic `total_size`.
pub fn synapse_headers<S: Synapse>(
    envelope: &Envelope<S>,
    fields: &Value,
    body_hash: &str,
    body_len: usize,
) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(16 + S::REQUIRED_FIELDS.len());
    out.push(("name".to_owned(), header_safe(&envelope.name)));
    out.push(("timeout".to_owned(), py_float(envelope.timeout)));
    push_terminal(&mut out, AXON_PREFIX, &envelope.axon);
    push_terminal(&mut out, DENDRITE_PREFIX, &envelope.dendrite);
    for field in S::REQUIRED_FIELDS {
        let placeholder = input_obj_placeholder(fields.get(*field).unwrap_or(&Value::Null));
        out.push((format!("{INPUT_OBJ_PREFIX}{field}"), placeholder));
    }
    let header_size: usize = out.iter().map(|(k, v)| k.len() + v.len()).sum();
    out.push(("header_size".to_owned(), header_size.to_string()));
    out.push(("total_size".to_owned(), body_len.to_string()));
    out.push(("computed_body_hash".to_owned(), body_hash.to_owned()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn parses_the_worked_example() {
        let mut map = HeaderMap::new();
        for (k, v) in [
            ("name", "Dummy"),
            ("timeout", "12.0"),
            ("bt_header_axon_ip", "127.0.0.1"),
            ("bt_header_axon_port", "8911"),
            (
                "bt_header_axon_hotkey",
                "5EHgWw2Af1pnoc7f1A8bfmM97W3DAYW8xr82RfhLL9oAabAe",
            ),
            ("bt_header_dendrite_version", "10005000"),
            ("bt_header_dendrite_nonce", "1795608528163740329"),
            (
                "BT_HEADER_DENDRITE_UUID",
                "f845f842-e8c8-11f1-85c1-02fc00000001",
            ),
            ("bt_header_input_obj_dummy_input", "MA=="),
            ("computed_body_hash", "9245"),
            ("user-agent", "x"),
        ] {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_static(v),
            );
        }
        let h = RequestHeaders::parse(&map).unwrap();
        assert_eq!(h.name.as_deref(), Some("Dummy"));
        assert_eq!(h.timeout, Some(12.0));
        assert_eq!(h.axon.port, Some(8911));
        assert_eq!(h.dendrite.nonce, Some(1795608528163740329));
        assert_eq!(h.dendrite.version, Some(10005000));
        assert_eq!(
            h.dendrite.uuid.as_deref(),
            Some("f845f842-e8c8-11f1-85c1-02fc00000001")
        );
        assert_eq!(h.computed_body_hash.as_deref(), Some("9245"));
        map.insert("bt_header_dendrite_nonce", HeaderValue::from_static("abc"));
        assert!(RequestHeaders::parse(&map).is_err());
    }
}
