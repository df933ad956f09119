//! The one public error type, and the exit code each kind of failure maps to.

use std::fmt;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `agent`, grouped by what a caller does about it.
///
/// Match on the variant to tell a provider outage from a bad session file; the CLI maps each
/// variant to a documented exit code with [`Error::exit_code`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller asked for something impossible: a bad id, a bad flag value, a bad schema.
    #[error("{0}")]
    Usage(String),
    /// The provider answered with an error, the network failed, or a stream broke.
    #[error("{}", .0)]
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
    /// A stored document is not valid JSON or not a valid session document.
    #[error("invalid session {location}: {reason}")]
    InvalidSession {
        /// Where the document lives (a path, or a store key).
        location: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Another process held the session's lock for longer than the lock timeout.
    #[error("session '{id}' is busy: another turn held its lock for {waited_secs:.1}s (see --lock-timeout)")]
    Busy {
        /// The session id.
        id: String,
        /// How long we waited, in seconds.
        waited_secs: f64,
    },
    /// The turn was interrupted (Ctrl-C, SIGTERM, or the caller cancelled it).
    #[error("interrupted")]
    Interrupted,
    /// An I/O failure, with what we were doing.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the path.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Anything else (a bug, or a failure with no better category).
    #[error("{0}")]
    Other(String),
}

/// A provider failure in one line: who, HTTP status, error type and message.
#[derive(Debug, Clone)]
pub struct ProviderError {
    /// Provider name (`openai`, `anthropic`, ...).
    pub provider: String,
    /// HTTP status, when the failure came with one.
    pub status: Option<u16>,
    /// The provider's error type or code (`rate_limit_exceeded`, `overloaded_error`, ...).
    pub kind: Option<String>,
    /// Human-readable message.
    pub message: String,
    /// Whether sending the same request again may succeed (429, 5xx, connection errors).
    pub retryable: bool,
    /// Server-requested delay before retrying (`Retry-After`).
    pub retry_after: Option<std::time::Duration>,
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
        }
    }
}

impl Error {
    /// The process exit code the CLI uses for this error (see the README's table).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            Error::Provider(_) => 3,
            Error::Validation { .. } => 4,
            Error::SessionNotFound { .. } => 5,
            Error::InvalidSession { .. } => 6,
            Error::Busy { .. } => 7,
            Error::Interrupted => 130,
            Error::Io { .. } | Error::Other(_) => 1,
        }
    }

    /// Wrap an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    pub(crate) fn provider(e: ProviderError) -> Self {
        Error::Provider(e)
    }
}

/// The exit code for any error chain: the first `agent::Error` found decides, else 1.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Error>() {
            return e.exit_code();
        }
        if let Some(e) = cause.downcast_ref::<clap::Error>() {
            return e.exit_code() as u8;
        }
    }
    1
}

/// True when the error chain is a closed stdout (`agent ... | head -1`), which is not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let io = cause
            .downcast_ref::<std::io::Error>()
            .or(match cause.downcast_ref::<Error>() {
                Some(Error::Io { source, .. }) => Some(source),
                _ => None,
            });
        io.is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
