//! The error types of this crate: one for the wire format, one for the client.

/// What can be wrong with a synapse request or response on the wire (headers, body, signature).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A header value is not valid text or not a number where one is required.
    #[error("header {name} has an invalid value: {reason}")]
    BadHeader {
        /// The header's name.
        name: String,
        /// Why the value was rejected.
        reason: String,
    },
    /// The JSON body does not parse as the synapse.
    #[error("the body is not a valid {synapse}: {reason}")]
    BadBody {
        /// The synapse name.
        synapse: &'static str,
        /// The JSON error.
        reason: String,
    },
    /// A synapse could not be serialized to JSON (a map with non-string keys, a NaN float, ...).
    #[error("the synapse does not serialize to JSON: {0}")]
    Serialize(String),
    /// A signature header without the `0x` prefix, with bad hex, or of the wrong length.
    #[error("Invalid signature format. Expected hex string.")]
    BadSignatureFormat,
}

/// Why the dendrite could not get an answer; each maps onto the SDK's dendrite-side status code
/// ([`ClientError::status_code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The axon could not be reached (connection refused, reset, DNS, ...): 503.
    #[error("Service unavailable at {target}")]
    Unavailable {
        /// `ip:port/Name`, as the SDK prints it.
        target: String,
    },
    /// No complete answer within the timeout: 408.
    #[error("Request timeout after {seconds} seconds")]
    Timeout {
        /// The timeout in seconds, as given.
        seconds: String,
    },
    /// An answer arrived but is not a valid synapse (non-JSON, missing fields): 422.
    #[error("Failed to parse response: {0}")]
    BadResponse(String),
    /// The request could not be built (the synapse does not serialize, a bad address): 400.
    #[error("bad request: {0}")]
    BadRequest(String),
}

impl ClientError {
    /// The SDK's dendrite status code for this error (`DENDRITE_ERROR_MAPPING`).
    pub fn status_code(&self) -> u16 {
        match self {
            Self::Unavailable { .. } => 503,
            Self::Timeout { .. } => 408,
            Self::BadResponse(_) => 422,
            Self::BadRequest(_) => 400,
        }
    }
}
