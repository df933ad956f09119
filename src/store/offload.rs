//! Async access to a store: every call runs on Tokio's blocking pool, and a lock is waited for
//! with timer sleeps, so a store on the network or a slow disk never stalls the runtime (a
//! streaming reply, a signal handler) while it works.

use std::sync::Arc;
use std::time::Duration;

use super::{LockWait, SessionStore, StoreLock};
use crate::document::SessionData;
use crate::{Error, Result};

/// Run a blocking store call on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Other(format!("a store call failed to finish: {e}")))?
}

/// Take `id`'s turn lock, waiting at most `timeout` (`None`: for ever) without blocking the
/// runtime; `on_wait` runs once, when the lock is first found taken. Dropping the future stops
/// the wait at once. Needs a Tokio runtime.
pub async fn acquire(
    store: &Arc<dyn SessionStore>,
    id: &str,
    timeout: Option<Duration>,
    on_wait: &mut (dyn FnMut() + Send),
) -> Result<StoreLock> {
    let key = id.to_string();
    wait_for(store, id, timeout, on_wait, move |s| s.try_lock(&key)).await
}

/// Take the store's blob lock ([`SessionStore::try_lock_blobs`]) as [`acquire`] takes a turn
/// lock: hold it while saving blobs and then the document that refers to them. It is held for
/// milliseconds (a turn's saves) or one garbage collection, so the wait tells nobody. Take it
/// after the session's lock, never before, as a turn does.
pub async fn acquire_blobs(
    store: &Arc<dyn SessionStore>,
    timeout: Option<Duration>,
) -> Result<StoreLock> {
    let take = |s: &dyn SessionStore| s.try_lock_blobs();
    wait_for(store, super::BLOB_LOCK, timeout, &mut || (), take).await
}

/// Poll `take` until it grants the lock `name` names, or past `timeout`.
async fn wait_for(
    store: &Arc<dyn SessionStore>,
    name: &str,
    timeout: Option<Duration>,
    on_wait: &mut (dyn FnMut() + Send),
    take: impl Fn(&dyn SessionStore) -> Result<Option<StoreLock>> + Clone + Send + 'static,
) -> Result<StoreLock> {
    let mut wait = LockWait::new(name, timeout);
    loop {
        let (s, take) = (store.clone(), take.clone());
        if let Some(guard) = blocking(move || take(&*s)).await? {
            return Ok(guard);
        }
        tokio::time::sleep(wait.next(on_wait)?).await;
    }
}

/// [`super::load_data`] off the runtime thread.
pub async fn load(store: &Arc<dyn SessionStore>, id: &str) -> Result<SessionData> {
    let (s, key) = (store.clone(), id.to_string());
    blocking(move || super::load_data(&*s, &key)).await
}

/// [`super::save_data`] off the runtime thread; the document comes back for further use.
pub async fn save(store: &Arc<dyn SessionStore>, data: SessionData) -> Result<SessionData> {
    let s = store.clone();
    blocking(move || super::save_data(&*s, &data).map(|()| data)).await
}

/// Whether `id` is stored, off the runtime thread.
pub async fn exists(store: &Arc<dyn SessionStore>, id: &str) -> Result<bool> {
    let (s, key) = (store.clone(), id.to_string());
    blocking(move || s.load(&key).map(|d| d.is_some())).await
}

/// [`SessionStore::delete`] off the runtime thread.
pub async fn delete(store: &Arc<dyn SessionStore>, id: &str) -> Result<bool> {
    let (s, key) = (store.clone(), id.to_string());
    blocking(move || s.delete(&key)).await
}
