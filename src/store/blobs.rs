//! Attachment blobs across a store: which ones the sessions refer to, saving a turn's new ones,
//! loading a history's for a request, removing the ones no session refers to any more, and the
//! survey `agent store check` reports.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::seal::Codec;
use super::{LockWait, SessionStore, StoreLock, BLOB_LOCK};
use crate::document::SessionData;
use crate::{Attachment, Error, Message, Result};

/// Every blob a document refers to, history and compacted archive alike.
pub(crate) fn refs(data: &SessionData) -> impl Iterator<Item = &Attachment> {
    data.messages
        .iter()
        .chain(&data.archive)
        .flat_map(|m| &m.attachments)
}

/// The blobs every stored session refers to, with one session that refers to each.
fn referenced(store: &dyn SessionStore) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for id in store.list_sessions()? {
        // A document that does not read is `store check`'s to report; its blobs are kept
        // only if another session refers to them, so an unreadable document is not a reason
        // to keep everything for ever, nor to fail a removal.
        let Ok(Some(data)) = store.load_document(&id) else {
            continue;
        };
        for a in refs(&data) {
            out.entry(a.sha256.clone()).or_insert_with(|| id.clone());
        }
    }
    Ok(out)
}

/// Take the store's blob lock, polling until `timeout` (None: wait for ever); `on_wait` runs
/// once, when the lock is found taken. Blocks on the store.
pub fn lock_blobs(
    store: &dyn SessionStore,
    timeout: Option<Duration>,
    on_wait: &mut dyn FnMut(),
) -> Result<StoreLock> {
    let mut wait = LockWait::new(BLOB_LOCK, timeout);
    loop {
        if let Some(guard) = store.try_lock_blobs()? {
            return Ok(guard);
        }
        std::thread::sleep(wait.next(on_wait)?);
    }
}

/// Remove every blob no stored session refers to (after `rm`, `clear`, `undo`); the names
/// removed come back. The pass holds the blob lock (waiting for it as [`lock_blobs`] does), so
/// a turn cannot save a blob and the document that refers to it in between its listing and
/// its removals. Blocks on the store.
pub fn collect_garbage(
    store: &dyn SessionStore,
    timeout: Option<Duration>,
    on_wait: &mut dyn FnMut(),
) -> Result<Vec<String>> {
    let _lock = lock_blobs(store, timeout, on_wait)?;
    let blobs = store.list_blobs()?;
    if blobs.is_empty() {
        return Ok(Vec::new());
    }
    let keep = referenced(store)?;
    let mut removed = Vec::new();
    for sha in blobs {
        if !keep.contains_key(&sha) && store.delete_blob(&sha)? {
            removed.push(sha);
        }
    }
    Ok(removed)
}

/// What `agent store check` reports about blobs.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BlobSurvey {
    /// Blobs stored.
    pub stored: usize,
    /// Blobs no session refers to (`collect_garbage` removes them).
    pub orphans: Vec<String>,
    /// `(session id, blob)` for each blob a session refers to that is not stored.
    pub missing: Vec<(String, String)>,
}

/// Compare the stored blobs with the sessions' references. Blocks on the store.
pub fn survey_blobs(store: &dyn SessionStore) -> Result<BlobSurvey> {
    let stored: BTreeSet<String> = store.list_blobs()?.into_iter().collect();
    let wanted = referenced(store)?;
    Ok(BlobSurvey {
        stored: stored.len(),
        orphans: stored
            .iter()
            .filter(|s| !wanted.contains_key(*s))
            .cloned()
            .collect(),
        missing: wanted
            .iter()
            .filter(|(s, _)| !stored.contains(*s))
            .map(|(s, id)| (id.clone(), s.clone()))
            .collect(),
    })
}

/// Save the loaded attachments of `messages` (a finished turn's), each blob once.
pub(crate) fn save_new(store: &dyn SessionStore, messages: &[Message]) -> Result<()> {
    let mut seen = BTreeSet::new();
    for a in messages.iter().flat_map(|m| &m.attachments) {
        if let Some(bytes) = a.data() {
            if seen.insert(a.sha256.as_str()) {
                store.save_blob(&a.sha256, bytes)?;
            }
        }
    }
    Ok(())
}

/// Load the bytes of every attachment of `messages` not loaded yet, from `store` (a turn's
/// history, a `--dry-run` preview). A blob the store lacks fails, naming it. Blocks on the store.
pub fn load_attachments(store: &dyn SessionStore, messages: &mut [Message]) -> Result<()> {
    hydrate(store, messages)
}

/// Load what `store` has of the attachments of `messages` not loaded yet; the rest stay
/// unloaded (a preview from a store that is not the session's).
pub(crate) fn hydrate_available(store: &dyn SessionStore, messages: &mut [Message]) -> Result<()> {
    for m in messages.iter_mut() {
        for a in m.attachments.iter_mut().filter(|a| a.data().is_none()) {
            if let Some(bytes) = store.load_blob(&a.sha256)? {
                *a = a.clone().with_data(Bytes::from(bytes))?;
            }
        }
    }
    Ok(())
}

/// Load the bytes of every attachment of `messages` not loaded yet. A blob the store does not
/// have fails, naming it: the request would otherwise go without it.
pub(crate) fn hydrate(store: &dyn SessionStore, messages: &mut [Message]) -> Result<()> {
    let mut cache: BTreeMap<String, Bytes> = BTreeMap::new();
    for m in messages.iter_mut() {
        for a in m.attachments.iter_mut().filter(|a| a.data().is_none()) {
            let bytes = match cache.get(&a.sha256) {
                Some(b) => b.clone(),
                None => {
                    let b = Bytes::from(store.load_blob(&a.sha256)?.ok_or_else(|| {
                        Error::Other(format!(
                            "attachment {} ({}) is missing from {} (see `agent store check`)",
                            a.display_name(),
                            a.sha256,
                            store.describe()
                        ))
                    })?);
                    cache.insert(a.sha256.clone(), b.clone());
                    b
                }
            };
            *a = a.clone().with_data(bytes)?;
        }
    }
    Ok(())
}

/// [`hydrate`] off the runtime thread.
pub(crate) async fn hydrate_async(
    store: &Arc<dyn SessionStore>,
    mut messages: Vec<Message>,
) -> Result<Vec<Message>> {
    if !messages
        .iter()
        .any(|m| m.attachments.iter().any(|a| a.data().is_none()))
    {
        return Ok(messages);
    }
    let s = store.clone();
    super::offload::blocking(move || hydrate(&*s, &mut messages).map(|()| messages)).await
}

/// Save a finished turn's document, and first the blobs of its loaded attachments, off the
/// runtime thread. With attachments both saves happen under the blob lock (waited for as a turn
/// lock is, `timeout`), so a [`collect_garbage`] elsewhere sees either neither or both: never
/// a new blob that no document refers to yet.
pub(crate) async fn save_with_blobs(
    store: &Arc<dyn SessionStore>,
    data: SessionData,
    timeout: Option<Duration>,
) -> Result<SessionData> {
    let new: Vec<Message> = data
        .messages
        .iter()
        .filter(|m| m.attachments.iter().any(|a| a.data().is_some()))
        .cloned()
        .collect();
    if new.is_empty() {
        return super::save(store, data).await;
    }
    let _lock = super::offload::acquire_blobs(store, timeout).await?;
    let s = store.clone();
    super::offload::blocking(move || save_new(&*s, &new)).await?;
    super::save(store, data).await
}

/// Refuse a blob name that is not a SHA-256 before it becomes a path or key.
pub(crate) fn check_name(sha256: &str) -> Result<()> {
    match crate::attachment::is_sha256(sha256) {
        true => Ok(()),
        false => Err(Error::usage(format!(
            "invalid blob name '{}': a SHA-256 in lowercase hex",
            sha256.chars().take(70).collect::<String>().escape_debug()
        ))),
    }
}

/// The name a blob is sealed under: no session id has a `:`, so a blob cannot pass for one.
fn sealed_name(sha256: &str) -> String {
    format!("blob:{sha256}")
}

/// A blob's bytes as a store keeps them: sealed under [`sealed_name`] when it encrypts.
pub(crate) fn seal(codec: &Codec, sha256: &str, bytes: &[u8]) -> Vec<u8> {
    codec.seal_own(&sealed_name(sha256), bytes.to_vec())
}

/// A blob as read back from a store: opened when the store encrypts (a plain store keeps an
/// attachment's bytes as they are, whatever they begin with), then checked.
pub(crate) fn open(codec: &Codec, sha256: &str, stored: Vec<u8>) -> Result<Vec<u8>> {
    let plain = match codec.encrypts() {
        true => codec
            .open_own(&sealed_name(sha256), stored)
            .ok_or_else(|| Error::CannotDecrypt {
                id: sealed_name(sha256),
                reason: "it does not open with this store's key".into(),
            })?,
        false => stored,
    };
    check_loaded(sha256, &plain)?;
    Ok(plain)
}

/// A bound on a blob read back, so a hostile store cannot make a load unbounded.
fn check_loaded(sha256: &str, bytes: &[u8]) -> Result<()> {
    if bytes.len() as u64 > crate::limits::MAX_ATTACHMENT_BYTES {
        return Err(Error::Other(format!(
            "blob {sha256} is {} bytes, over the attachment limit",
            bytes.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_store_keeps_bytes_that_look_sealed() {
        // An attachment may itself be a sealed file; only an encrypting store opens envelopes.
        let bytes = [&[0x89, b'A', b'G', b'S'][..], b"not an envelope"].concat();
        let sha = "ab".repeat(32);
        let plain = Codec::default();
        let stored = seal(&plain, &sha, &bytes);
        assert_eq!(open(&plain, &sha, stored).unwrap(), bytes);
    }
    use crate::MemoryStore;

    #[test]
    fn blobs_live_while_a_session_refers_to_them() {
        let store = MemoryStore::new();
        let a = Attachment::from_bytes(&b"\x89PNG\r\n\x1a\n1"[..], None).unwrap();
        let mut one = SessionData::new("one");
        one.messages.push(Message::user("see").attach(a.clone()));
        save_new(&store, &one.messages).unwrap();
        super::super::save_data(&store, &one).unwrap();
        let mut two = one.clone();
        two.id = "two".into();
        super::super::save_data(&store, &two).unwrap();
        assert_eq!(store.list_blobs().unwrap(), vec![a.sha256.clone()]);

        store.delete("one").unwrap();
        assert!(collect_garbage(&store, None, &mut || ())
            .unwrap()
            .is_empty());
        let mut back = super::super::load_data(&store, "two").unwrap().messages;
        hydrate(&store, &mut back).unwrap();
        assert_eq!(
            back[0].attachments[0].data().unwrap().as_ref(),
            b"\x89PNG\r\n\x1a\n1"
        );

        store.delete("two").unwrap();
        assert_eq!(
            collect_garbage(&store, None, &mut || ()).unwrap(),
            vec![a.sha256.clone()]
        );
        assert_eq!(survey_blobs(&store).unwrap(), BlobSurvey::default());
    }

    #[test]
    fn the_blob_lock_excludes_a_collection_and_no_session_lock_is_it() {
        let store = MemoryStore::new();
        let held = lock_blobs(&store, None, &mut || ()).unwrap();
        assert!(store.try_lock_blobs().unwrap().is_none());
        let mut told = 0;
        let err = collect_garbage(&store, Some(std::time::Duration::ZERO), &mut || told += 1);
        assert!(matches!(err, Err(Error::Busy { .. })), "{err:?}");
        let shown = err.unwrap_err().to_string();
        assert!(
            shown.starts_with(
                "the store's attachments are busy: another process held their lock for "
            ),
            "{shown}"
        );
        assert_eq!(told, 1);
        // A session id cannot name it, and a session's lock is another lock.
        assert!(store.try_lock(BLOB_LOCK).is_err());
        assert!(store.try_lock("blobs").unwrap().is_some());
        drop(held);
        assert!(collect_garbage(&store, None, &mut || ())
            .unwrap()
            .is_empty());
    }
}
