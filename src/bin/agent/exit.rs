//! How a failure ends the process: its exit code (the README's table, `--help`'s list), the hint
//! the command line adds to the library's message, and the one line that reports it. A closed
//! stdout (`agent … | head -1`) is not a failure at all.

use agent::Error;

/// The documented exit codes, for `--help` and the man page's EXIT STATUS.
pub(crate) const TABLE: &str = "\
Exit status:
  0    success
  1    internal error
  2    usage error (bad flag, bad id, bad schema, no prompt)
  3    provider or network error (HTTP error, broken stream, timeout)
  4    output failed schema validation
  5    session not found
  6    session file invalid (not JSON, not a session document, too large, cannot decrypt)
  7    session busy (another turn held the lock past --lock-timeout)
  8    no recorded exchange for a request (--replay)
  9    spending limit reached (--max-cost, a session's --budget)
  130  interrupted (Ctrl-C or SIGTERM)";

/// The exit code of an error chain: the first library error decides, else 1.
pub(crate) fn code(err: &anyhow::Error) -> u8 {
    if let Some(h) = err.downcast_ref::<Hinted>() {
        return code(&h.inner);
    }
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Error>() {
            return code_of(e);
        }
        if let Some(e) = cause.downcast_ref::<clap::Error>() {
            return e.exit_code() as u8;
        }
    }
    1
}

/// The exit code of one library error.
pub(crate) fn code_of(e: &Error) -> u8 {
    match e {
        Error::Usage(_) | Error::SessionExists { .. } | Error::MissingKey { .. } => 2,
        Error::Provider(_) | Error::ContextOverflow { .. } | Error::TooManySteps { .. } => 3,
        Error::Validation { .. } => 4,
        Error::SessionNotFound { .. } => 5,
        Error::InvalidSession { .. } | Error::CannotDecrypt { .. } => 6,
        Error::Busy { .. } => 7,
        Error::NotRecorded { .. } => 8,
        Error::OverBudget { .. } => 9,
        Error::TooLarge { what, .. } => match what {
            agent::Oversized::Prompt => 2,
            agent::Oversized::Reply => 3,
            _ => 6,
        },
        Error::Interrupted => 130,
        _ => 1,
    }
}

/// True when the error chain is a closed stdout, which is not a failure.
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
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

/// An error with a hint the command that failed can give (`--create`, a nearby id).
#[derive(Debug)]
pub(crate) struct Hinted {
    inner: anyhow::Error,
    hint: String,
}

impl Hinted {
    /// The error the hint was added to.
    pub(crate) fn inner(&self) -> &anyhow::Error {
        &self.inner
    }

    pub(crate) fn wrap(inner: anyhow::Error, hint: String) -> anyhow::Error {
        anyhow::Error::new(Hinted { inner, hint })
    }
}

impl std::fmt::Display for Hinted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", message(&self.inner), self.hint)
    }
}

impl std::error::Error for Hinted {}

/// What the command line adds to a library error: the flag or command that helps.
fn hint(e: &Error) -> Option<String> {
    Some(match e {
        Error::SessionExists { .. } => " (use --force to replace it)".to_string(),
        Error::MissingKey { .. } => " (or api_key_env in config.yaml)".to_string(),
        Error::Busy { .. } => " (see --lock-timeout)".to_string(),
        Error::OverBudget { what, .. } if what.contains("turn") => " (see --max-cost)".to_string(),
        Error::TooManySteps { .. } => " (raise --max-steps)".to_string(),
        Error::ContextOverflow { id, provider, .. } => {
            let advice = format!(
                "run `agent session compact {id}`, or use --context trim or --context compact"
            );
            match provider {
                Some(_) => format!(" ({advice})"),
                None => format!(": {advice}"),
            }
        }
        Error::Provider(p) if p.timed_out => " (see --timeout)".to_string(),
        Error::TooLarge {
            what: agent::Oversized::Reply,
            ..
        } => " (see --max-reply-bytes)".to_string(),
        Error::CannotDecrypt { reason, .. } if reason.contains("unencrypted") => {
            " (`agent store check --migrate` encrypts such sessions)".to_string()
        }
        _ => return None,
    })
}

/// The error, its causes and the command line's hint on one line, each cause once.
pub(crate) fn message(err: &anyhow::Error) -> String {
    if let Some(h) = err.downcast_ref::<Hinted>() {
        return h.to_string();
    }
    let mut line = String::new();
    let mut hinted = None;
    for cause in err.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        if hinted.is_none() {
            hinted = cause.downcast_ref::<Error>().and_then(hint);
        }
    }
    if let Some(h) = hinted {
        line.push_str(&h);
    }
    line.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_hints() {
        let busy = anyhow::Error::from(Error::Busy {
            id: "s".into(),
            waited_secs: 1.0,
        });
        assert_eq!(code(&busy), 7);
        assert_eq!(
            message(&busy),
            "session 's' is busy: another turn held its lock for 1.0s (see --lock-timeout)"
        );
        let io = anyhow::Error::from(Error::io(
            "cannot save /x",
            std::io::Error::other("disk full"),
        ));
        assert_eq!(message(&io), "cannot save /x: disk full");
        assert_eq!(code(&io), 1);
        let pipe = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(is_broken_pipe(&pipe));
    }
}
