//! Failures a program can read: with `--format json` or `jsonl`, a failed command also prints
//! one `{"type":"error",…}` object on stdout (the one-line error still goes to stderr), so a
//! pipeline reading stdout is told what happened and which exit code follows.

use serde_json::{json, Value};

use crate::choices::Format;
use crate::exit;
use crate::settings::Action;

/// The `--format` of a command that takes one.
pub(crate) fn format_of(action: &Action) -> Option<Format> {
    match action {
        Action::Run(a) => Some(a.turn.format),
        Action::SessionRun(a) => Some(a.turn.format),
        Action::Retry { turn, .. } => Some(turn.format),
        Action::Json(a) => Some(a.json.turn.format),
        _ => None,
    }
}

/// The library error that decides the exit code, if one does.
fn library_error(err: &anyhow::Error) -> Option<&agent::Error> {
    if let Some(h) = err.downcast_ref::<exit::Hinted>() {
        return library_error(h.inner());
    }
    err.chain().find_map(|c| c.downcast_ref::<agent::Error>())
}

/// What kind of failure an exit code is, for programs: one word per documented code.
fn kind(code: u8) -> &'static str {
    match code {
        2 => "usage",
        3 => "provider",
        4 => "validation",
        5 => "session_not_found",
        6 => "invalid_session",
        7 => "busy",
        8 => "not_recorded",
        9 => "over_budget",
        130 => "interrupted",
        _ => "internal",
    }
}

/// The error object: `{"type":"error","session_id","exit_code","error":{"kind","message",
/// "provider","status"}}`.
pub(crate) fn object(err: &anyhow::Error, session_id: Option<&str>) -> Value {
    let code = exit::code(err);
    let provider = match library_error(err) {
        Some(agent::Error::Provider(p)) => Some(p),
        Some(agent::Error::ContextOverflow { provider, .. }) => provider.as_deref(),
        _ => None,
    };
    let mut error = json!({
        "kind": kind(code),
        "message": exit::message(err),
        "provider": provider.map(|p| p.provider.clone()),
        "status": provider.and_then(|p| p.status),
    });
    match library_error(err) {
        Some(agent::Error::NotRecorded { hash, closest, .. }) => {
            error["hash"] = json!(hash);
            error["closest"] = json!(closest);
        }
        Some(agent::Error::OverBudget { spent, limit, .. }) => {
            error["spent_usd"] = json!(agent::pricing::round_usd(*spent));
            error["limit_usd"] = json!(agent::pricing::round_usd(*limit));
        }
        _ => {}
    }
    json!({
        "type": "error",
        "session_id": session_id,
        "exit_code": code,
        "error": error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_error_names_its_provider_and_status() {
        let e = agent::ProviderError::http("openai", 503, None, "down".into());
        let err = anyhow::Error::from(agent::Error::Provider(e));
        assert_eq!(
            object(&err, Some("s")),
            json!({"type": "error", "session_id": "s", "exit_code": 3, "error": {
                "kind": "provider", "message": "openai: HTTP 503: down",
                "provider": "openai", "status": 503}})
        );
    }
}
