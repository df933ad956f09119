//! What the library's notices say to people: the stderr line of each (`openai answered 429,
//! retrying in 2.0 s (1 of 2)`), what the spinner waits for meanwhile, and the `message` a
//! `--format jsonl` notice event carries. Printing is [`crate::output`]'s.

use agent::Notice;

/// The one line a notice prints on stderr (after `agent: `).
pub(crate) fn line(notice: &Notice) -> Option<String> {
    Some(match notice {
        Notice::WaitingForLock { id } => {
            format!("waiting for session '{id}': another turn is running")
        }
        Notice::Trimmed { id, dropped } => format!(
            "session '{id}' does not fit the model's context window: the oldest {dropped} messages were left out of this request"
        ),
        Notice::Compacted { id, replaced } => {
            format!("compacted session '{id}': a summary replaced {replaced} messages")
        }
        Notice::Retrying {
            provider,
            status,
            error,
            delay_ms,
            attempt,
            retries,
        } => {
            let what = match status {
                Some(s) => format!("{provider} answered {s}"),
                None => error.clone(),
            };
            format!(
                "{what}, retrying in {:.1} s ({attempt} of {retries})",
                *delay_ms as f64 / 1000.0
            )
        }
        Notice::FallingBack {
            from_provider,
            from_model,
            to_provider,
            to_model,
            error,
        } => format!(
            "{from_provider} ({from_model}) failed: {error}; falling back to {to_provider} ({to_model})"
        ),
        Notice::Rejected {
            attempt,
            errors,
            retries,
        } => {
            let shown: Vec<&str> = errors.iter().take(5).map(String::as_str).collect();
            let more = match errors.len().saturating_sub(shown.len()) {
                0 => String::new(),
                n => format!("; and {n} more"),
            };
            format!(
                "attempt {attempt} did not match the schema: {}{more}; asking again ({attempt} of {retries} corrections)",
                shown.join("; ")
            )
        }
        _ => return None,
    })
}

/// What a terminal's spinner says it waits for while the notice holds.
pub(crate) fn waiting(notice: &Notice) -> Option<String> {
    match notice {
        Notice::WaitingForLock { id } => Some(format!(
            "waiting for session '{id}' (another turn holds it)"
        )),
        Notice::FallingBack {
            to_provider,
            to_model,
            ..
        } => Some(format!("waiting for {to_provider} ({to_model})")),
        Notice::Retrying {
            provider,
            delay_ms,
            attempt,
            retries,
            ..
        } => Some(format!(
            "waiting {:.1} s to retry {provider} ({attempt} of {retries})",
            *delay_ms as f64 / 1000.0
        )),
        _ => None,
    }
}

/// How long the wait a notice announces lasts: a retry's delay, nothing for a fallback, `None`
/// for a lock held by another turn (until it lets go).
pub(crate) fn wait_length(notice: &Notice) -> Option<std::time::Duration> {
    match notice {
        Notice::Retrying { delay_ms, .. } => Some(std::time::Duration::from_millis(*delay_ms)),
        Notice::WaitingForLock { .. } => None,
        _ => Some(std::time::Duration::ZERO),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_lines_name_the_status_and_the_delay() {
        let n = Notice::Retrying {
            provider: "openai".into(),
            status: Some(429),
            error: "openai: HTTP 429: slow down".into(),
            delay_ms: 2000,
            attempt: 1,
            retries: 2,
        };
        assert_eq!(
            line(&n).unwrap(),
            "openai answered 429, retrying in 2.0 s (1 of 2)"
        );
        assert_eq!(
            waiting(&n).unwrap(),
            "waiting 2.0 s to retry openai (1 of 2)"
        );
    }
}
