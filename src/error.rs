//! The one public error type, grouped by what a caller does about a failure.
//!
//! Messages say what happened in the library's terms; they name no command-line flag. The
//! `agent` binary maps each variant to its documented exit code and adds its own hints.

use std::fmt;
use std::time::Duration;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `agent`, grouped by what a caller does about it.
///
/// Match on the variant to tell a provider outage from a bad session file. Variants that wrap
/// another error ([`Error::Io`], [`Error::Backend`]) display only what was being done and
/// return the cause from [`std::error::Error::source`], so a report that walks the chain
/// prints it once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller asked for something impossible: a bad id, a bad value, a bad schema.
    #[error("{0}")]
    Usage(String),
    /// The provider answered with an error, the network failed, or a stream broke.
    #[error("{0}")]
    Provider(ProviderError),
    /// The model's output did not validate against the schema (after correction retries).
    #[error("{message}")]
    Validation {
        /// What did not validate, one line.
        message: String,
        /// The last raw reply, kept so nothing is lost.
        raw: String,
    },
    /// No session with this id exists in the store.
    #[error("session '{id}' not found")]
    SessionNotFound {
        /// The id that was asked for.
        id: String,
    },
    /// A session with this id exists already and replacing it was not asked for.
    #[error("session '{id}' already exists")]
    SessionExists {
        /// The id.
        id: String,
    },
    /// The provider's own API would be called without its key.
    #[error("no API key for provider '{provider}': set {variable}")]
    MissingKey {
        /// The provider's name.
        provider: String,
        /// The variable the key is read from.
        variable: String,
    },
    /// A stored document is not valid JSON or not a valid session document.
    #[error("invalid session {location}: {reason}")]
    InvalidSession {
        /// Where the document lives (a path, or a store key).
        location: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A stored session cannot be decrypted: the store has no key or another key, the data
    /// was modified, or it is stored unencrypted in a store that encrypts.
    #[error("cannot decrypt session '{id}': {reason}")]
    CannotDecrypt {
        /// The session id.
        id: String,
        /// Why, without any key material.
        reason: String,
    },
    /// Another process held the session's lock for longer than the lock timeout.
    #[error("{}", busy(.id, *.waited_secs))]
    Busy {
        /// The session id.
        id: String,
        /// How long we waited, in seconds.
        waited_secs: f64,
    },
    /// The request does not fit the model's context window: by our estimate before sending,
    /// or by the provider's own error.
    #[error("{}", context_overflow(.id, .model, *.estimate, *.window, .provider.as_deref()))]
    ContextOverflow {
        /// The session id.
        id: String,
        /// The model asked.
        model: String,
        /// Our estimate of the request, in tokens (when we refused it ourselves).
        estimate: Option<u64>,
        /// The model's context window, in tokens (when known).
        window: Option<u64>,
        /// The provider's error, when it refused the request.
        provider: Option<Box<ProviderError>>,
    },
    /// Something is larger than the library accepts (see [`crate::limits`]). Nothing was sent
    /// or saved because of it.
    #[error("{what} is over the limit of {} ({size} bytes at least)", human(*.limit))]
    TooLarge {
        /// What was too large.
        what: Oversized,
        /// Its size in bytes (at least, when it was not read to the end).
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The model was still calling tools when the turn's request limit was reached.
    #[error("the model was still calling tools after {steps} requests")]
    TooManySteps {
        /// Requests made, the first included.
        steps: u32,
    },
    /// Replaying recorded exchanges, a request had no recording: nothing was sent, and the
    /// turn saved nothing.
    #[error("no recorded exchange for this request (hash {hash}){}", closest_recorded(.closest.as_deref(), .differs_at.as_deref()))]
    NotRecorded {
        /// The hash of the request's canonical form (its cassette file's name).
        hash: String,
        /// The recorded request most like it, by hash.
        closest: Option<String>,
        /// Where the request first differs from the closest one (a JSON pointer).
        differs_at: Option<String>,
    },
    /// A spending limit stopped the turn before its next request.
    #[error("{}", over_budget(.what, *.spent, *.limit, .next, *.estimate))]
    OverBudget {
        /// Which limit (`the turn's limit`, `session 's' budget`).
        what: String,
        /// What was spent so far (with the estimate of the next request, when that decided).
        spent: f64,
        /// The limit, in US dollars.
        limit: f64,
        /// What was not sent (`the first request`, `request 3`).
        next: String,
        /// The estimated cost of the first request's input, when that decided.
        estimate: Option<f64>,
    },
    /// The turn was interrupted (Ctrl-C, SIGTERM, or the caller cancelled it).
    #[error("interrupted")]
    Interrupted,
    /// An I/O failure, with what we were doing.
    #[error("{context}")]
    Io {
        /// What was being done, naming the path.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A database store failed (SQLite, Redis), with what we were doing.
    #[error("{context}")]
    Backend {
        /// What was being done, naming the store.
        context: String,
        /// The database client's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Anything else (a bug, or a failure with no better category).
    #[error("{0}")]
    Other(String),
}

/// What [`Error::TooLarge`] was about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Oversized {
    /// A turn's prompt.
    Prompt,
    /// A turn's reply, all its steps together.
    Reply,
    /// The document of this session, as a save would write it.
    Document(String),
}

impl fmt::Display for Oversized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Oversized::Prompt => f.write_str("the prompt"),
            Oversized::Reply => f.write_str("the reply"),
            Oversized::Document(id) => write!(f, "session '{id}'"),
        }
    }
}

/// `64 MiB`, `1 KiB`, `12 bytes`.
fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// The name of the store-wide blob lock (`SessionStore::try_lock_blobs`) where a store keeps
/// it beside the session locks. A session id starts with a letter or a digit
/// (`document::validate_id`), so no session's lock can have this name. It lives here so that
/// a timeout on it reads as what it is.
pub(crate) const BLOB_LOCK: &str = "-blobs";

/// A session's lock, or the store-wide lock of attachment blobs (whose name no session id
/// can take), held past the lock timeout.
fn busy(id: &str, waited_secs: f64) -> String {
    match id == BLOB_LOCK {
        true => format!(
            "the store's attachments are busy: another process held their lock for {waited_secs:.1}s"
        ),
        false => format!("session '{id}' is busy: another turn held its lock for {waited_secs:.1}s"),
    }
}

fn context_overflow(
    id: &str,
    model: &str,
    estimate: Option<u64>,
    window: Option<u64>,
    provider: Option<&ProviderError>,
) -> String {
    match (provider, estimate, window) {
        (Some(p), _, _) => p.to_string(),
        (None, Some(e), Some(w)) => format!(
            "session '{id}' needs about {e} tokens, more than {model}'s context window of {w}"
        ),
        _ => format!("session '{id}' does not fit {model}'s context window"),
    }
}

fn over_budget(what: &str, spent: f64, limit: f64, next: &str, estimate: Option<f64>) -> String {
    // Six decimals at most, without trailing zeros (pricing rounds the same way, but this
    // module imports nothing above it).
    let usd = |v: f64| {
        let text = format!("{v:.6}");
        format!("${}", text.trim_end_matches('0').trim_end_matches('.'))
    };
    match estimate {
        Some(e) => format!(
            "{what} of {} would be passed: {} spent, and {next} alone is estimated at {}; it was not sent",
            usd(limit),
            usd(spent),
            usd(e)
        ),
        None => format!(
            "{what} of {} is reached: {} spent; stopped before {next}",
            usd(limit),
            usd(spent)
        ),
    }
}

fn closest_recorded(closest: Option<&str>, at: Option<&str>) -> String {
    match (closest, at) {
        (Some(c), Some(at)) => format!("; the closest recorded is {c}, which differs at {at}"),
        (Some(c), None) => format!("; the closest recorded is {c}"),
        _ => "; nothing is recorded".to_string(),
    }
}

/// A provider failure in one line: who, HTTP status, error type and message.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProviderError {
    /// Provider name (`openai`, `anthropic`, ...).
    pub provider: String,
    /// HTTP status, when the failure came with one.
    pub status: Option<u16>,
    /// The provider's error type or code (`rate_limit_exceeded`, `overloaded_error`, ...).
    pub kind: Option<String>,
    /// Human-readable message.
    pub message: String,
    /// Whether sending the same request again may succeed and cannot have been processed
    /// (a connection refused, a 429 or 5xx answer).
    pub retryable: bool,
    /// Server-requested delay before retrying (`Retry-After`).
    pub retry_after: Option<Duration>,
    /// The failure is our own timeout expiring (no answer, or a stream that went quiet).
    pub timed_out: bool,
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.provider)?;
        if let Some(status) = self.status {
            write!(f, ": HTTP {status}")?;
        }
        if let Some(kind) = &self.kind {
            write!(f, " ({kind})")?;
        }
        write!(f, ": {}", self.message)?;
        if self.status == Some(401) || self.status == Some(403) {
            write!(f, " (check the API key for provider '{}')", self.provider)?;
        }
        Ok(())
    }
}

impl ProviderError {
    /// A failure before or during the HTTP exchange that carries no status.
    pub fn network(provider: &str, message: impl Into<String>, retryable: bool) -> Self {
        ProviderError {
            provider: provider.to_string(),
            status: None,
            kind: None,
            message: message.into(),
            retryable,
            retry_after: None,
            timed_out: false,
        }
    }

    /// An HTTP error answer: `status`, the provider's error type and message.
    pub fn http(provider: &str, status: u16, kind: Option<String>, message: String) -> Self {
        ProviderError {
            status: Some(status),
            kind,
            ..ProviderError::network(provider, message, false)
        }
    }

    /// Our own timeout expired.
    pub(crate) fn timeout(provider: &str, message: impl Into<String>) -> Self {
        ProviderError {
            timed_out: true,
            ..ProviderError::network(provider, message, false)
        }
    }

    /// Whether the provider said the request is longer than the model's context window.
    pub fn is_context_overflow(&self) -> bool {
        let kind = self.kind.as_deref().unwrap_or("");
        let msg = self.message.to_ascii_lowercase();
        kind.contains("context_length")
            || msg.contains("context length")
            || msg.contains("context window")
            || msg.contains("prompt is too long")
    }
}

impl Error {
    /// Wrap an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Wrap a database client's error with what was being done.
    pub fn backend(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Backend {
            context: context.into(),
            source: Box::new(source),
        }
    }

    pub(crate) fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    /// The error and its causes on one line (`cannot save …: No space left on device`),
    /// each cause once: what a failed turn records and what a report prints.
    pub fn line(&self) -> String {
        let mut line = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !line.contains(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            source = cause.source();
        }
        line.replace('\n', " ")
    }
}
