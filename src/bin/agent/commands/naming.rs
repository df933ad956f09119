//! Ids as people type them: `last` for the session used most recently, wherever an id is
//! taken, and what to suggest when an id names no session (`--create`, or the nearest id).

use agent::Error;

use super::{ls, Ctx};
use crate::settings::{Action, RunTarget, LAST};

/// Replace every `last` in `action` by the id of the most recently used session.
pub(crate) fn resolve_last(ctx: &Ctx, action: &mut Action) -> agent::Result<()> {
    let mut ids: Vec<&mut String> = match action {
        Action::Run(r) => match &mut r.target {
            RunTarget::Session(id) => vec![id],
            _ => vec![],
        },
        Action::SessionRun(r) => vec![&mut r.id],
        Action::Retry { id, .. }
        | Action::Clear { id }
        | Action::Add { id, .. }
        | Action::Export { id }
        | Action::Rename { id, .. }
        | Action::Stats { id, .. }
        | Action::Undo { id, .. } => vec![id],
        Action::Json(j) => j.session.iter_mut().collect(),
        Action::SessionChat(c) => vec![&mut c.id],
        Action::Fork { src, .. } => vec![src],
        Action::Show(s) => vec![&mut s.id],
        Action::Rm(r) => r.ids.iter_mut().collect(),
        Action::Compact(c) => vec![&mut c.id],
        _ => vec![],
    };
    ids.retain(|id| id.as_str() == LAST);
    if ids.is_empty() {
        return Ok(());
    }
    let recent = ls::most_recent(ctx)
        .map_err(|e| Error::Other(format!("{e:#}")))?
        .ok_or_else(|| Error::Usage("`last` names no session: there are none yet".into()))?;
    for id in ids {
        *id = recent.clone();
    }
    Ok(())
}

/// Refuse to create a session called `last`: the name always means the most recent one.
pub(crate) fn refuse_last(id: &str) -> agent::Result<()> {
    if id == LAST {
        return Err(Error::Usage(format!(
            "a session cannot be called '{LAST}': it names the most recently used session"
        )));
    }
    Ok(())
}

/// What to suggest for an id that names no session: `--create` where the command takes it,
/// else the stored id nearest to it.
pub(crate) fn not_found_hint(ctx: &Ctx, action_takes_create: bool, id: &str) -> Option<String> {
    if action_takes_create {
        return Some(" (use --create to start it)".to_string());
    }
    let ids = ctx.store().ok()?.list_sessions().ok()?;
    let (distance, nearest) = ids
        .iter()
        .map(|other| (crate::similar::distance(id, other), other))
        .min()?;
    // Close enough to be a typo: at most a third of the id, and at most 3 edits.
    (distance <= 3 && distance * 3 <= id.len().max(3))
        .then(|| format!(" (did you mean '{nearest}'?)"))
}
