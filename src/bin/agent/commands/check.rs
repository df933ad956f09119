//! `agent store check`: validate what a store holds, changing nothing.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Result;

use agent::document::{SessionData, SessionSummary};
use agent::store::{self, SessionStore};
use agent::Error;

use super::Ctx;

/// `store check [URL] [--migrate]`: validate every document (and, where the store keeps one,
/// its index entry), print each problem on stderr, change nothing; exit 6 if anything is
/// wrong. With `--migrate`, first rewrite each document the store holds in another format
/// (unencrypted in an encrypting store), under its lock.
pub(crate) async fn check(ctx: &Ctx, url: Option<&str>, migrate: bool) -> Result<()> {
    let store: Arc<dyn SessionStore> = match url {
        Some(url) => store::open(url)?,
        None => ctx.store()?,
    };
    let mut ids = store.list_sessions()?;
    ids.sort();
    if migrate {
        let mut rewritten = 0;
        for id in &ids {
            let _lock = store::acquire(&store, id, ctx.settings.lock_timeout, &mut || {}).await?;
            let (s, key) = (store.clone(), id.clone());
            let done = tokio::task::spawn_blocking(move || s.migrate(&key))
                .await
                .map_err(|e| Error::Other(format!("a store call failed to finish: {e}")))??;
            if done {
                rewritten += 1;
            }
        }
        ctx.out.note(format!(
            "migrated {rewritten} session(s) in {} to its format (encrypted where it encrypts)",
            store.describe()
        ));
    }
    // A directory store's "index" is the documents themselves; it fails on the first bad
    // file, and the per-document checks below report that file anyway.
    let index: Option<HashMap<String, SessionSummary>> = store
        .summaries()
        .ok()
        .map(|all| all.into_iter().map(|s| (s.id.clone(), s)).collect());
    let mut bad = 0;
    for id in &ids {
        if let Some(problem) = check_one(&*store, id, index.as_ref()) {
            ctx.out.report(problem);
            bad += 1;
        }
    }
    let s = store.clone();
    let blobs = tokio::task::spawn_blocking(move || store::survey_blobs(&*s))
        .await
        .map_err(|e| Error::Other(format!("a store call failed to finish: {e}")))??;
    for (id, sha) in &blobs.missing {
        ctx.out.report(format!(
            "'{id}' in {}: attachment {sha} is missing",
            store.describe()
        ));
        bad += 1;
    }
    for sha in &blobs.orphans {
        ctx.out.report(format!(
            "attachment {sha} in {}: no session refers to it (the next `session rm` or `clear` removes it)",
            store.describe()
        ));
    }
    if bad > 0 {
        return Err(Error::InvalidSession {
            location: format!("documents in {}", store.describe()),
            reason: format!("{bad} of {} failed the check (listed above)", ids.len()),
        }
        .into());
    }
    let attachments = match blobs.stored {
        0 => String::new(),
        n => format!(", {n} attachment(s)"),
    };
    ctx.out.note(format!(
        "{} session(s) OK in {}{attachments}",
        ids.len(),
        store.describe()
    ));
    Ok(())
}

/// What is wrong with `id`, if anything.
fn check_one(
    store: &dyn SessionStore,
    id: &str,
    index: Option<&HashMap<String, SessionSummary>>,
) -> Option<String> {
    let location = format!("'{id}' in {}", store.describe());
    let value = match store.load(id) {
        Ok(Some(value)) => value,
        // Expired, or removed since the listing.
        Ok(None) => return None,
        Err(e) => return Some(e.to_string()),
    };
    let data = match SessionData::from_value(value, &location) {
        Ok(data) => data,
        Err(e) => return Some(e.to_string()),
    };
    if data.id != id {
        return Some(format!("{location}: the document's id is '{}'", data.id));
    }
    let indexed = index.map(|all| all.get(id));
    match indexed {
        Some(entry) if entry != Some(&SessionSummary::of(&data)) => Some(format!(
            "{location}: the listing index is out of step with the document \
             (`agent session export {id} | agent session import --force -` rewrites both)"
        )),
        _ => None,
    }
}
