//! Attachment blobs seen from the commands: removing those no session refers to after `rm`,
//! `clear` and `prune`, and copying a session's along with it (`store copy`).

use std::sync::Arc;

use agent::document::SessionData;
use agent::store::{self, SessionStore};
use agent::Error;

use super::Ctx;

/// Remove the blobs no session refers to any more, saying how many went.
pub(crate) async fn collect(ctx: &Ctx, store: &Arc<dyn SessionStore>) -> agent::Result<()> {
    let s = store.clone();
    let removed = tokio::task::spawn_blocking(move || store::collect_garbage(&*s))
        .await
        .map_err(|e| Error::Other(format!("a store call failed to finish: {e}")))??;
    if !removed.is_empty() {
        ctx.out.note(format!(
            "removed {} attachment(s) no session refers to any more",
            removed.len()
        ));
    }
    Ok(())
}

/// Copy the blobs `data` refers to from `from` to `to` (each once; one already there stays).
/// A blob the source lacks fails the copy of that session, naming it.
pub(crate) fn copy(
    from: &dyn SessionStore,
    to: &dyn SessionStore,
    data: &SessionData,
) -> agent::Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    let refs = data
        .messages
        .iter()
        .chain(&data.archive)
        .flat_map(|m| &m.attachments);
    for a in refs {
        if !seen.insert(a.sha256.as_str()) {
            continue;
        }
        let bytes = from.load_blob(&a.sha256)?.ok_or_else(|| {
            Error::Other(format!(
                "'{}' in {}: attachment {} ({}) is missing",
                data.id,
                from.describe(),
                a.display_name(),
                a.sha256
            ))
        })?;
        to.save_blob(&a.sha256, &bytes)?;
    }
    Ok(())
}
