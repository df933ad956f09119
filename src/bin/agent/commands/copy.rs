//! `agent store copy|check`: move sessions between stores and audit what a store holds.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::Result;
use serde_json::Value;

use agent::document::{validate_id, SessionData, SessionSummary};
use agent::store::{self, SessionStore};
use agent::Error;

use crate::cli::{StoreCheckArgs, StoreCopyArgs};
use crate::settings::Settings;

/// `store copy FROM TO [--ids ID...] [--force]`: every requested id is checked before anything
/// is written, so a typo or a conflict copies nothing. Each copy is read back and compared
/// byte for byte with the source document.
pub(crate) fn copy(settings: &Settings, args: StoreCopyArgs) -> Result<()> {
    let from = store::open(&args.from)?;
    let to = store::open(&args.to)?;
    if from.describe() == to.describe() {
        return Err(
            Error::Usage(format!("{} is both source and destination", to.describe())).into(),
        );
    }
    let present: HashSet<String> = from.list_sessions()?.into_iter().collect();
    let mut ids = if args.ids.is_empty() {
        present.iter().cloned().collect()
    } else {
        for id in &args.ids {
            validate_id(id)?;
            if !present.contains(id) {
                return Err(Error::SessionNotFound { id: id.clone() }.into());
            }
        }
        args.ids.clone()
    };
    ids.sort();
    ids.dedup();
    if !args.force {
        let existing: HashSet<String> = to.list_sessions()?.into_iter().collect();
        let clash: Vec<&str> = ids
            .iter()
            .filter(|id| existing.contains(*id))
            .map(String::as_str)
            .collect();
        if !clash.is_empty() {
            return Err(Error::Usage(format!(
                "{} session(s) already exist in {}: {} (use --force to replace them)",
                clash.len(),
                to.describe(),
                clash.join(", ")
            ))
            .into());
        }
    }
    let lock_timeout = settings.lock_timeout(None)?;
    let (mut copied, mut invalid) = (0, 0);
    for id in &ids {
        let location = format!("'{id}' in {}", from.describe());
        // An invalid document is reported and left behind: copying it would only spread it.
        let value = match from.load(id) {
            Ok(Some(value)) => value,
            Ok(None) => continue, // deleted since the listing
            Err(e @ Error::InvalidSession { .. }) => {
                eprintln!("agent: not copied: {e}");
                invalid += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        match SessionData::from_value(value.clone(), &location) {
            Ok(data) if data.id == *id => {}
            Ok(data) => {
                eprintln!(
                    "agent: not copied: {location}: the document's id is '{}'",
                    data.id
                );
                invalid += 1;
                continue;
            }
            Err(e) => {
                eprintln!("agent: not copied: {e}");
                invalid += 1;
                continue;
            }
        }
        // Hold the destination's lock so a turn running there is not overwritten mid-way.
        let _lock = store::lock(&*to, id, lock_timeout, &mut || {})?;
        to.save(id, &value)?;
        verify(&*to, id, &value)?;
        copied += 1;
    }
    if !settings.quiet {
        eprintln!(
            "agent: copied {copied} session(s) from {} to {}, each read back and verified",
            from.describe(),
            to.describe()
        );
    }
    if invalid > 0 {
        return Err(Error::InvalidSession {
            location: format!("documents in {}", from.describe()),
            reason: format!(
                "{invalid} of {} could not be copied (listed above)",
                ids.len()
            ),
        }
        .into());
    }
    Ok(())
}

fn verify(store: &dyn SessionStore, id: &str, expected: &Value) -> Result<()> {
    let back = store.load(id)?;
    let same =
        back.as_ref().map(serde_json::to_vec).transpose()? == Some(serde_json::to_vec(expected)?);
    if !same {
        return Err(Error::Other(format!(
            "the copy of '{id}' in {} differs from the source after saving",
            store.describe()
        ))
        .into());
    }
    Ok(())
}

/// `store check [URL]`: validate every document (and, where the store keeps one, its index
/// entry), print each problem on stderr, change nothing; exit 6 if anything is wrong.
pub(crate) fn check(settings: &Settings, args: StoreCheckArgs) -> Result<()> {
    let store: Arc<dyn SessionStore> = match &args.url {
        Some(url) => store::open(url)?,
        None => settings.store()?,
    };
    let mut ids = store.list_sessions()?;
    ids.sort();
    // A directory store's "index" is the documents themselves; it fails on the first bad
    // file, and the per-document checks below report that file anyway.
    let index: Option<HashMap<String, SessionSummary>> = store
        .summaries()
        .ok()
        .map(|all| all.into_iter().map(|s| (s.id.clone(), s)).collect());
    let mut bad = 0;
    for id in &ids {
        if let Some(problem) = check_one(&*store, id, index.as_ref()) {
            eprintln!("agent: {problem}");
            bad += 1;
        }
    }
    if bad > 0 {
        return Err(Error::InvalidSession {
            location: format!("documents in {}", store.describe()),
            reason: format!("{bad} of {} failed the check (listed above)", ids.len()),
        }
        .into());
    }
    if !settings.quiet {
        eprintln!("agent: {} session(s) OK in {}", ids.len(), store.describe());
    }
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
        Ok(None) => return Some(format!("{location}: listed, but has no document")),
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
