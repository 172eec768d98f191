//! The crate's error types (house rule 6): structured fields, terminal or retryable.

use thiserror::Error;

/// How much of an offending payload an error keeps: enough to recognise it, never a whole frame.
pub const PAYLOAD_EXCERPT: usize = 160;

pub fn excerpt(s: &str) -> String {
    if s.len() <= PAYLOAD_EXCERPT {
        return s.to_owned();
    }
    let mut end = PAYLOAD_EXCERPT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// A frame that a venue parser could not turn into observations. Always skipped and counted,
/// never fatal to the connection.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ParseError {
    #[error("{venue}: malformed frame ({reason}): {payload}")]
    Malformed {
        venue: &'static str,
        reason: String,
        payload: String,
    },
    #[error("{venue}: bad number {value:?} in field {field}")]
    BadNumber {
        venue: &'static str,
        field: &'static str,
        value: String,
    },
    #[error("{venue}: unknown message: {payload}")]
    Unknown {
        venue: &'static str,
        payload: String,
    },
    /// The venue answered with an error of its own (Kraken `{"error":["EAPI:Invalid key"]}`).
    #[error("{venue}: venue error: {message}")]
    Venue {
        venue: &'static str,
        message: String,
    },
}

impl ParseError {
    pub fn malformed(venue: &'static str, reason: impl ToString, frame: &str) -> Self {
        ParseError::Malformed {
            venue,
            reason: reason.to_string(),
            payload: excerpt(frame),
        }
    }
    pub fn venue(&self) -> &'static str {
        match self {
            ParseError::Malformed { venue, .. }
            | ParseError::BadNumber { venue, .. }
            | ParseError::Unknown { venue, .. }
            | ParseError::Venue { venue, .. } => venue,
        }
    }
}

/// Why a connector's connection or poll ended: what the loops reconnect or retry on, and what
/// stops them. The text is the `reason` of the feed-status record that follows (the connector
/// is a field of the log line and of the record, not part of the text).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ConnectorError {
    /// Network trouble, a venue error reply, silence or a venue that replaced the connection:
    /// reconnect (or poll again) after a backoff.
    #[error("{reason}")]
    Unavailable { reason: String },
    /// The venue refused the credentials or the subscription: DOWN, retried slowly (the venue
    /// said no; a tight loop of refused logins only risks a ban).
    #[error("{reason}")]
    Refused { reason: String },
    /// The venue asked us to slow down: retried after `wait` at the soonest.
    #[error("{reason}")]
    RateLimited {
        reason: String,
        wait: std::time::Duration,
    },
    /// The pipeline stopped accepting observations: the connector stops.
    #[error("the pipeline stopped accepting observations")]
    PipelineClosed,
    /// The connector was cancelled (shutdown): it stops.
    #[error("cancelled")]
    Cancelled,
}

impl ConnectorError {
    pub fn unavailable(reason: impl Into<String>) -> Self {
        ConnectorError::Unavailable {
            reason: reason.into(),
        }
    }
    pub fn refused(reason: impl Into<String>) -> Self {
        ConnectorError::Refused {
            reason: reason.into(),
        }
    }
    /// Retryable errors lead to a reconnect (or the next poll) with backoff; terminal ones
    /// stop the connector.
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            ConnectorError::PipelineClosed | ConnectorError::Cancelled
        )
    }
}
