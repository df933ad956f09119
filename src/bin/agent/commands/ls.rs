//! Which sessions `session ls` shows, in what order (`--since`, `--search`, `--sort`,
//! `--limit`), and the most recently used session for `run -c`.

use anyhow::Result;
use serde_json::Value;

use agent::document::SessionSummary;
use agent::SessionStore;

use crate::cli::{LsArgs, LsSort};

/// Summaries filtered by `--search` (the only case that reads whole documents), sorted, limited.
/// Documents that are not valid are reported on stderr and left out; the caller fails with
/// the returned error after listing the rest.
pub(crate) fn select(
    store: &dyn SessionStore,
    args: &LsArgs,
) -> Result<(Vec<SessionSummary>, Option<agent::Error>)> {
    let (mut sessions, invalid) = store.survey()?;
    for e in &invalid {
        eprintln!("agent: error: {e}");
    }
    let failure = (!invalid.is_empty()).then(|| agent::Error::InvalidSession {
        location: store.describe(),
        reason: format!(
            "{} document(s) could not be read (named above); the other sessions are listed",
            invalid.len()
        ),
    });
    if let Some(age) = args.since {
        sessions.retain(|s| super::history::used_within(&s.updated_at, age));
    }
    if let Some(needle) = args.search.as_deref() {
        let needle = needle.to_lowercase();
        let mut kept = Vec::new();
        for s in sessions {
            if matches(store, &s, &needle)? {
                kept.push(s);
            }
        }
        sessions = kept;
    }
    sort(&mut sessions, args.sort);
    if let Some(n) = args.limit {
        sessions.truncate(n);
    }
    Ok((sessions, failure))
}

fn sort(sessions: &mut [SessionSummary], by: LsSort) {
    match by {
        LsSort::Updated => sessions.sort_by(|a, b| {
            b.updated_at
                .cmp(&a.updated_at)
                .then_with(|| a.id.cmp(&b.id))
        }),
        LsSort::Created => sessions.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| a.id.cmp(&b.id))
        }),
        LsSort::Id => sessions.sort_by(|a, b| a.id.cmp(&b.id)),
    }
}

/// Does the title or any message's text contain `needle` (already lower-case)?
fn matches(store: &dyn SessionStore, s: &SessionSummary, needle: &str) -> Result<bool> {
    let hit = |text: &str| text.to_lowercase().contains(needle);
    if s.title.as_deref().is_some_and(hit) {
        return Ok(true);
    }
    // Removed since the listing: not a match, not an error.
    let Some(doc) = store.load(&s.id)? else {
        return Ok(false);
    };
    let messages = doc.get("messages").and_then(Value::as_array);
    Ok(messages
        .into_iter()
        .flatten()
        .any(|m| m.get("content").and_then(Value::as_str).is_some_and(hit)))
}

/// The id of the session with the latest `updated_at` (the last one used), if any.
pub(crate) fn most_recent(store: &dyn SessionStore) -> Result<Option<String>> {
    let (mut sessions, invalid) = store.survey()?;
    for e in &invalid {
        eprintln!("agent: warning: skipping {e}");
    }
    sort(&mut sessions, LsSort::Updated);
    Ok(sessions.into_iter().next().map(|s| s.id))
}
