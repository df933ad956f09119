//! History management: `session stats`, `compact`, `undo`, and the age filters of `ls` and `rm`.

use std::io::Write;
use std::time::{Duration, SystemTime};

use anyhow::Result;
use serde_json::json;

use std::sync::Arc;

use agent::document::{validate_id, SessionData, SessionSummary};
use agent::session::{CompactOptions, Stats};
use agent::store::{self, load_data};
use agent::{Error, SessionStore};

use super::drive::dollars;
use super::{open, Ctx};
use crate::output::write_out;
use crate::settings::{Ask, Compact};

/// `session stats ID [--json]`
pub(crate) fn stats(ctx: &Ctx, id: &str, json: bool) -> Result<()> {
    let data = load_data(&*ctx.store()?, id)?;
    let s = Stats::of(&data);
    if json {
        let mut line = serde_json::to_vec(&s)?;
        line.push(b'\n');
        write_out(&line)?;
        return Ok(());
    }
    let mut text = Vec::new();
    writeln!(text, "session      {}", s.id)?;
    writeln!(text, "turns        {}", s.turns)?;
    let archived = if s.archived > 0 {
        format!(" (+{} archived by compaction)", s.archived)
    } else {
        String::new()
    };
    writeln!(text, "messages     {}{archived}", s.messages)?;
    writeln!(
        text,
        "tokens       {} in, {} out",
        s.input_tokens, s.output_tokens
    )?;
    let unpriced = match s.unpriced_replies {
        0 => String::new(),
        n => format!(" (+{n} replies of models with no known price)"),
    };
    let budget = match s.budget_usd {
        Some(b) => format!(" of a {} budget", dollars(b)),
        None => String::new(),
    };
    writeln!(
        text,
        "cost         {}{budget}{unpriced}",
        dollars(s.cost_usd)
    )?;
    writeln!(
        text,
        "models       {}",
        if s.models.is_empty() {
            "-".to_string()
        } else {
            s.models.join(", ")
        }
    )?;
    writeln!(
        text,
        "first        {}",
        s.first_activity.as_deref().unwrap_or("-")
    )?;
    writeln!(text, "last         {}", s.last_activity)?;
    write_out(&text)?;
    Ok(())
}

/// `session compact ID [--keep N] [-m MODEL] [--instructions TEXT]`
pub(crate) async fn compact(ctx: &Ctx, args: Compact) -> Result<()> {
    let ask = Ask {
        call: args.call,
        stream: true,
        lock_timeout: ctx.settings.lock_timeout,
        usage: false,
        context: Default::default(),
        auto_compact: None,
        max_reply_bytes: agent::limits::DEFAULT_MAX_REPLY_BYTES,
        max_cost: None,
        tools: Default::default(),
    };
    let mut session = open::stored(ctx, &args.id, &ask, None).await?;
    let options = CompactOptions {
        keep: args.keep,
        model: None,
        instructions: args.instructions,
    };
    let replaced = session.compact(options).await?;
    match replaced {
        0 => ctx.out.note(format!(
            "session '{}' has nothing to compact (keeping the last {})",
            args.id, args.keep
        )),
        n => ctx.out.note(format!(
            "compacted session '{}': a summary replaced {n} messages ({} kept; the replaced ones are in the archive, see `show --all`)",
            args.id,
            session.data().messages.len()
        )),
    }
    Ok(())
}

/// `session undo ID [N]`: what was removed goes to stderr, so nothing vanishes unseen.
pub(crate) async fn undo(ctx: &Ctx, id: &str, n: usize) -> Result<()> {
    let store = ctx.store()?;
    validate_id(id)?;
    let data = store::load(&store, id).await?;
    let agent = open::offline(ctx, Some(&data))?;
    let removed = agent.resume(data).undo(n).await?;
    if removed.is_empty() {
        return Err(Error::Usage(format!("session '{id}' has no exchange to undo")).into());
    }
    ctx.out.note(format!(
        "removed {} messages from session '{id}':",
        removed.len()
    ));
    for m in &removed {
        let first = m.content.lines().next().unwrap_or("");
        let short: String = first.chars().take(100).collect();
        let more = if short.len() < m.content.len() {
            "…"
        } else {
            ""
        };
        ctx.out
            .plain(format!("  [{}] {short}{more}", m.role.as_str()));
    }
    Ok(())
}

/// The summary and the archived messages, for `show --all`.
pub(crate) fn compacted(data: &SessionData) -> String {
    let mut s = String::new();
    if let Some(summary) = &data.summary {
        s.push_str(&format!(
            "[summary of {} earlier messages]\n{summary}\n\n",
            data.archive.len()
        ));
    }
    for m in &data.archive {
        s.push_str(&format!(
            "[archived {}] {}\n{}\n\n",
            m.role.as_str(),
            m.created_at.as_deref().unwrap_or(""),
            m.content
        ));
    }
    s
}

/// Whether a session last used at `updated_at` was used within `age` of now.
pub(crate) fn used_within(updated_at: &str, age: Duration) -> bool {
    let cutoff = SystemTime::now()
        .checked_sub(age)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    agent::time::parse(updated_at).is_some_and(|t| t >= cutoff)
}

/// `session rm --older-than AGE`
pub(crate) async fn rm_older_than(
    ctx: &Ctx,
    store: &Arc<dyn SessionStore>,
    age: Duration,
    dry_run: bool,
) -> Result<()> {
    let old: Vec<SessionSummary> = store
        .summaries()?
        .into_iter()
        .filter(|s| !used_within(&s.updated_at, age))
        .collect();
    if dry_run {
        for s in &old {
            ctx.out.report(format!(
                "would remove {} (last used {})",
                s.id, s.updated_at
            ));
        }
        ctx.out.report(format!(
            "dry run: {} session(s) unused for {} would be removed; nothing was",
            old.len(),
            humantime::format_duration(age)
        ));
        return Ok(());
    }
    let mut removed = 0;
    for s in &old {
        let _lock = store::acquire(store, &s.id, ctx.settings.lock_timeout, &mut || {}).await?;
        // Used again while we looked: keep it.
        if store::load(store, &s.id)
            .await
            .is_ok_and(|d| used_within(&d.updated_at, age))
        {
            continue;
        }
        store::delete(store, &s.id).await?;
        removed += 1;
        ctx.out
            .note(format!("removed {} (last used {})", s.id, s.updated_at));
    }
    ctx.out.note(format!(
        "removed {removed} session(s) unused for {}",
        humantime::format_duration(age)
    ));
    Ok(())
}

/// `ls --usage`: the listing plus token and cost totals, which needs every document.
pub(crate) fn ls_usage(
    store: &dyn SessionStore,
    sessions: &[SessionSummary],
    as_json: bool,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut rows = Vec::new();
    for s in sessions {
        let stats = match load_data(store, &s.id) {
            Ok(d) => Stats::of(&d),
            Err(Error::SessionNotFound { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        rows.push((s, stats));
    }
    if as_json {
        let list: Vec<_> = rows
            .iter()
            .map(|(s, st)| {
                let mut v = serde_json::to_value(s).expect("summaries serialize");
                v["input_tokens"] = json!(st.input_tokens);
                v["output_tokens"] = json!(st.output_tokens);
                v["cost_usd"] = json!(st.cost_usd);
                v
            })
            .collect();
        serde_json::to_writer(&mut out, &list)?;
        out.push(b'\n');
        return Ok(out);
    }
    let width = rows
        .iter()
        .map(|(s, _)| s.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    for (s, st) in rows {
        writeln!(
            out,
            "{:width$}  {}  {:>5}  {:>9} in  {:>8} out  {:>10}  {}",
            s.id,
            s.updated_at,
            s.message_count,
            st.input_tokens,
            st.output_tokens,
            dollars(st.cost_usd),
            s.title.as_deref().unwrap_or("")
        )?;
    }
    Ok(out)
}
