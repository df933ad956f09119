//! `agent session prune`: delete expired sessions, and those past the retention limits.

use std::collections::BTreeSet;

use anyhow::Result;

use agent::document::SessionSummary;
use agent::store;
use agent::Error;

use super::history::used_within;
use super::Ctx;
use crate::output::write_out;
use crate::settings::Prune;

/// `session prune [--older-than AGE] [--keep N] [--dry-run]`: every expired session, every one
/// not used within AGE, and all but the N most recently used. Each is deleted under its lock
/// and checked again first, so a session used meanwhile stays. The ids go to stdout.
pub(crate) async fn prune(ctx: &Ctx, args: Prune) -> Result<()> {
    let store = ctx.store()?;
    let expired: BTreeSet<String> = store.expired()?.into_iter().collect();
    let mut live: Vec<SessionSummary> = store.summaries()?;
    live.sort_by(|a, b| {
        b.updated_at
            .cmp(&a.updated_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    // (id, whether it expired rather than fell past a retention limit)
    let mut doomed: Vec<(String, bool)> = expired.iter().map(|id| (id.clone(), true)).collect();
    for (rank, s) in live.iter().enumerate() {
        let old = args
            .older_than
            .is_some_and(|age| !used_within(&s.updated_at, age));
        if old || args.keep.is_some_and(|keep| rank >= keep) {
            doomed.push((s.id.clone(), false));
        }
    }
    let mut out = String::new();
    let mut removed = 0;
    for (id, expired) in &doomed {
        if args.dry_run {
            out.push_str(&format!("{id}\n"));
            continue;
        }
        let _lock = store::acquire(&store, id, ctx.settings.lock_timeout, &mut || {}).await?;
        // Used again while we waited for its lock: it is no longer what we chose.
        if !expired {
            let fresh = match store::load(&store, id).await {
                Ok(d) => d,
                Err(Error::SessionNotFound { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            if live
                .iter()
                .find(|s| s.id == *id)
                .is_some_and(|s| s.updated_at != fresh.updated_at)
            {
                continue;
            }
        }
        store::delete(&store, id).await?;
        out.push_str(&format!("{id}\n"));
        removed += 1;
    }
    write_out(out.as_bytes())?;
    if removed > 0 {
        super::garbage::collect(ctx, &store).await?;
    }
    match args.dry_run {
        true => ctx.out.note(format!(
            "would delete {} session(s) from {} (dry run: nothing deleted)",
            doomed.len(),
            store.describe()
        )),
        false => ctx.out.note(format!(
            "deleted {removed} session(s) from {}",
            store.describe()
        )),
    }
    Ok(())
}
