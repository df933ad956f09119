//! `agent store copy`: move sessions between stores, each copy read back and verified.

use std::collections::HashSet;

use anyhow::Result;
use serde_json::Value;

use agent::document::{validate_id, SessionData};
use agent::store::{self, SessionStore};
use agent::Error;

use super::Ctx;
use crate::settings::StoreCopy;

/// `store copy FROM TO [--ids ID...] [--force]`: every requested id is checked before anything
/// is written, so a typo or a conflict copies nothing. Each copy is read back and compared
/// byte for byte with the source document.
pub(crate) async fn copy(ctx: &Ctx, args: StoreCopy) -> Result<()> {
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
    let lock_timeout = ctx.settings.lock_timeout;
    let (mut copied, mut invalid) = (0, 0);
    for id in &ids {
        let location = format!("'{id}' in {}", from.describe());
        // An invalid document is reported and left behind: copying it would only spread it.
        let value = match from.load(id) {
            Ok(Some(value)) => value,
            Ok(None) => continue, // deleted since the listing
            Err(e @ Error::InvalidSession { .. }) => {
                ctx.out.report(format!("not copied: {e}"));
                invalid += 1;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let data = match SessionData::from_value(value.clone(), &location) {
            Ok(data) if data.id == *id => data,
            Ok(data) => {
                ctx.out.report(format!(
                    "not copied: {location}: the document's id is '{}'",
                    data.id
                ));
                invalid += 1;
                continue;
            }
            Err(e) => {
                ctx.out.report(format!("not copied: {e}"));
                invalid += 1;
                continue;
            }
        };
        // Hold the destination's lock so a turn running there is not overwritten mid-way, and
        // its blob lock so no collection there removes the attachments before the copy refers
        // to them; the attachments first, so the copy never refers to a blob it lacks.
        let _lock = store::acquire(&to, id, lock_timeout, &mut || {}).await?;
        let _blobs = store::acquire_blobs(&to, lock_timeout).await?;
        super::garbage::copy(&*from, &*to, &data)?;
        to.save(id, &value)?;
        verify(&*to, id, &value)?;
        copied += 1;
    }
    ctx.out.note(format!(
        "copied {copied} session(s) from {} to {}, each read back and verified",
        from.describe(),
        to.describe()
    ));
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
