//! `agent session ls`: which sessions it shows, in what order (`--since`, `--search`, `--sort`,
//! `--limit`), as a table, ids or JSON; and the most recently used session for `run -c`.

use std::io::Write;

use anyhow::Result;
use serde_json::Value;

use agent::document::SessionSummary;
use agent::SessionStore;

use super::{history, Ctx};
use crate::choices::LsSort;
use crate::output::write_out;
use crate::settings::Ls;
use crate::transcript;

/// `session ls`: most recently used first; a table on a terminal, `--json` or `--ids` for scripts.
pub(crate) fn ls(ctx: &Ctx, args: Ls) -> Result<()> {
    let store = ctx.store()?;
    let (sessions, invalid) = select(ctx, &*store, &args)?;
    let mut text = Vec::new();
    if args.usage {
        text = history::ls_usage(&*store, &sessions, args.json)?;
    } else if args.json {
        serde_json::to_writer(&mut text, &sessions)?;
        text.push(b'\n');
    } else if args.ids {
        for s in &sessions {
            writeln!(text, "{}", s.id)?;
        }
    } else if ctx.out.stdout_tty {
        text.extend(transcript::table(&sessions, ctx.out.color).into_bytes());
    } else {
        let width = sessions
            .iter()
            .map(|s| s.id.len())
            .max()
            .unwrap_or(2)
            .max(2);
        for s in &sessions {
            let model = match (&s.provider, &s.model) {
                (Some(p), Some(m)) => format!("{p}/{m}"),
                (None, Some(m)) => m.clone(),
                _ => "-".to_string(),
            };
            writeln!(
                text,
                "{:width$}  {}  {:>5}  {}  {}",
                s.id,
                s.updated_at,
                s.message_count,
                model,
                s.title.as_deref().unwrap_or(""),
            )?;
        }
    }
    write_out(&text)?;
    match invalid {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// Summaries filtered by `--search` (the only case that reads whole documents), sorted, limited.
/// Documents that are not valid are reported on stderr and left out; the caller fails with
/// the returned error after listing the rest.
fn select(
    ctx: &Ctx,
    store: &dyn SessionStore,
    args: &Ls,
) -> Result<(Vec<SessionSummary>, Option<agent::Error>)> {
    let (mut sessions, invalid) = store.survey()?;
    for e in &invalid {
        ctx.out.error(e.to_string());
    }
    let failure = (!invalid.is_empty()).then(|| agent::Error::InvalidSession {
        location: store.describe(),
        reason: format!(
            "{} document(s) could not be read (named above); the other sessions are listed",
            invalid.len()
        ),
    });
    if let Some(age) = args.since {
        sessions.retain(|s| history::used_within(&s.updated_at, age));
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
pub(crate) fn most_recent(ctx: &Ctx) -> Result<Option<String>> {
    let (mut sessions, invalid) = ctx.store()?.survey()?;
    for e in &invalid {
        ctx.out.warn(format!("skipping {e}"));
    }
    sort(&mut sessions, LsSort::Updated);
    Ok(sessions.into_iter().next().map(|s| s.id))
}
