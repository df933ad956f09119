//! Attachment blobs seen from the commands: removing those no session refers to after `rm`,
//! `clear` and `prune`, and copying a session's along with it (`store copy`).

use std::sync::Arc;

use agent::document::SessionData;
use agent::store::{self, SessionStore};
use agent::Error;
use serde_json::Value;

use super::Ctx;

/// Remove the blobs no session refers to any more, saying how many went.
pub(crate) async fn collect(ctx: &Ctx, store: &Arc<dyn SessionStore>) -> agent::Result<()> {
    let (s, out, timeout) = (store.clone(), ctx.out.clone(), ctx.settings.lock_timeout);
    let removed = tokio::task::spawn_blocking(move || {
        store::collect_garbage(&*s, timeout, &mut || {
            out.note("waiting for the attachment lock: another process is saving a turn or removing attachments")
        })
    })
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
    for a in refs(data) {
        if !seen.insert(a.sha256.as_str()) {
            continue;
        }
        let bytes = from
            .load_blob(&a.sha256)?
            .ok_or_else(|| missing(data, from, a))?;
        to.save_blob(&a.sha256, &bytes)?;
    }
    Ok(())
}

/// The key under which `session export` embeds attachment bytes: `{"<sha256>": "<base64>"}`.
const EMBEDDED: &str = "blobs";

/// `data` as `session export` prints it: the document, plus the bytes of every attachment it
/// refers to (base64, by SHA-256), so `import` elsewhere restores it whole.
pub(crate) fn embed(store: &dyn SessionStore, data: &SessionData) -> agent::Result<Value> {
    use base64::Engine;
    let mut value = data.to_value();
    let mut blobs = serde_json::Map::new();
    for a in refs(data) {
        if blobs.contains_key(&a.sha256) {
            continue;
        }
        let bytes = store
            .load_blob(&a.sha256)?
            .ok_or_else(|| missing(data, store, a))?;
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        blobs.insert(a.sha256.clone(), Value::String(text));
    }
    if !blobs.is_empty() {
        value[EMBEDDED] = Value::Object(blobs);
    }
    Ok(value)
}

/// Take the embedded attachments out of an exported document, checked against their names;
/// they are saved (with [`save_restored`]) before the document that refers to them.
pub(crate) fn take_embedded(value: &mut Value) -> agent::Result<Vec<(String, Vec<u8>)>> {
    use base64::Engine;
    let Some(Value::Object(blobs)) = value.as_object_mut().and_then(|o| o.remove(EMBEDDED)) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (sha, text) in blobs {
        let bytes = text
            .as_str()
            .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
            .ok_or_else(|| Error::Usage(format!("embedded attachment {sha} is not base64")))?;
        if agent::attachment::sha256_hex(&bytes) != sha {
            return Err(Error::Usage(format!(
                "embedded attachment {sha} does not match its SHA-256"
            )));
        }
        out.push((sha, bytes));
    }
    Ok(out)
}

/// Save the attachments [`take_embedded`] took out; then check that `data` refers to none the
/// store still lacks.
pub(crate) fn save_restored(
    store: &dyn SessionStore,
    blobs: &[(String, Vec<u8>)],
    data: &SessionData,
) -> agent::Result<()> {
    for (sha, bytes) in blobs {
        store.save_blob(sha, bytes)?;
    }
    for a in refs(data) {
        if store.load_blob(&a.sha256)?.is_none() {
            return Err(missing(data, store, a));
        }
    }
    Ok(())
}

fn refs(data: &SessionData) -> impl Iterator<Item = &agent::Attachment> {
    data.messages
        .iter()
        .chain(&data.archive)
        .flat_map(|m| &m.attachments)
}

fn missing(data: &SessionData, store: &dyn SessionStore, a: &agent::Attachment) -> Error {
    Error::Other(format!(
        "'{}': attachment {} ({}) is missing from {}",
        data.id,
        a.display_name(),
        a.sha256,
        store.describe()
    ))
}
