//! Session stores: the [`SessionStore`] trait and its built-in implementations.
//!
//! A store keeps documents (the JSON of [`crate::SessionData`]) by id. Besides the four methods
//! of the specification it can offer a cross-process turn lock ([`SessionStore::try_lock`]) and a
//! cheap listing ([`SessionStore::summaries`]); both have defaults so a custom store needs only
//! the four.

pub(crate) mod blobs;
mod dir;
mod dir_cache;
mod expiry;
#[cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]
mod lease;
mod memory;
mod offload;
#[cfg(feature = "postgres")]
mod pg_tls;
#[cfg(feature = "postgres")]
mod pg_url;
#[cfg(feature = "postgres")]
mod postgres;
mod redact;
#[cfg(feature = "redis")]
mod redis;
mod seal;
#[cfg(feature = "sqlite")]
mod sqlite;
mod url;

pub use blobs::{collect_garbage, load_attachments, lock_blobs, survey_blobs, BlobSurvey};
pub use dir::DirStore;
#[cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]
pub use lease::DEFAULT_LOCK_TTL;
pub use memory::MemoryStore;
pub use offload::{acquire, acquire_blobs, delete, exists, load, save};
pub use seal::EncryptionKey;

#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use redact::redact;
#[cfg(feature = "redis")]
pub use redis::RedisStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use url::{key_env_vars, open, DEFAULT_KEY_VAR};

use std::any::Any;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::document::{SessionData, SessionSummary};
use crate::{Error, Result};

/// Where sessions are kept. Implement the first four methods for your own backend.
pub trait SessionStore: Send + Sync {
    /// Store `data` under `id`, replacing what was there, atomically.
    fn save(&self, id: &str, data: &Value) -> Result<()>;
    /// The document stored under `id`, if any.
    fn load(&self, id: &str) -> Result<Option<Value>>;
    /// Remove `id`; true when it existed.
    fn delete(&self, id: &str) -> Result<bool>;
    /// Every stored id, in no particular order.
    fn list_sessions(&self) -> Result<Vec<String>>;

    /// The typed document stored under `id`, if any. The default converts [`SessionStore::load`];
    /// a store that reads bytes parses them straight into the document instead, which for a
    /// long conversation is several times faster than building a JSON value first.
    fn load_document(&self, id: &str) -> Result<Option<SessionData>> {
        let location = store_location(self.describe(), id);
        self.load(id)?
            .map(|value| SessionData::from_value(value, &location))
            .transpose()
    }

    /// Summaries for listings. The default loads every document; stores with an index override it.
    fn summaries(&self) -> Result<Vec<SessionSummary>> {
        let mut out = Vec::new();
        for id in self.list_sessions()? {
            if let Some(value) = self.load(&id)? {
                out.push(SessionSummary::of(&SessionData::from_value(value, &id)?));
            }
        }
        Ok(out)
    }

    /// Summaries of every valid document, plus an `InvalidSession` error for each stored
    /// document that is not one, so a listing can show the rest and report those. The default
    /// is [`SessionStore::summaries`] with nothing invalid.
    fn survey(&self) -> Result<(Vec<SessionSummary>, Vec<Error>)> {
        Ok((self.summaries()?, Vec::new()))
    }

    /// Valid session ids, the most recently changed first, each with its title: what shell
    /// completion offers on every TAB, so a store may answer it more cheaply than
    /// [`SessionStore::survey`] (the directory store reads its warm listing cache without
    /// copying it). The default sorts the survey.
    fn recent_ids(&self) -> Result<RecentIds> {
        Ok(by_recency(self.survey()?.0))
    }

    /// Try to take the exclusive turn lock for `id` without waiting. `None` means another holder
    /// has it. The lock is released when the returned guard is dropped. The default grants it
    /// always: override it when several processes share the store.
    fn try_lock(&self, _id: &str) -> Result<Option<StoreLock>> {
        Ok(Some(StoreLock::none()))
    }

    /// Try to take the store-wide blob lock without waiting: a turn holds it while it saves its
    /// blobs and then the document that refers to them, [`collect_garbage`] for its whole pass,
    /// so no blob is removed between being saved and being referred to. `None` means another
    /// holder has it. The default grants it always, as [`SessionStore::try_lock`] does.
    fn try_lock_blobs(&self) -> Result<Option<StoreLock>> {
        Ok(Some(StoreLock::none()))
    }

    /// Store a typed document under its own id. The default converts it for
    /// [`SessionStore::save`]; a store that writes bytes can serialize it straight to its
    /// destination instead, so saving a long conversation does not hold it twice more.
    fn save_document(&self, data: &SessionData) -> Result<()> {
        check_size(data)?;
        self.save(&data.id, &data.to_value())
    }

    /// A short description for messages (paths, redacted URLs).
    fn describe(&self) -> String {
        "custom store".to_string()
    }

    /// The ids of stored sessions whose TTL has run out: the ones every other method already
    /// treats as gone, which [`SessionStore::delete`] removes for good. The default has none.
    fn expired(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Keep `bytes` as the attachment blob named `sha256` (its SHA-256, lowercase hex), once:
    /// saving a blob already there changes nothing. The default refuses: a store that keeps
    /// no blobs cannot keep sessions with attachments.
    fn save_blob(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        let _ = (sha256, bytes);
        Err(Error::usage(format!(
            "{} cannot keep attachments",
            self.describe()
        )))
    }

    /// The bytes of blob `sha256`, if stored. The default has none.
    fn load_blob(&self, _sha256: &str) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }

    /// Remove blob `sha256`; true when it existed. The default has none to remove.
    fn delete_blob(&self, _sha256: &str) -> Result<bool> {
        Ok(false)
    }

    /// The names of every stored blob, in no particular order. The default has none.
    fn list_blobs(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Rewrite `id` in the store's own format when it is stored otherwise: a document in
    /// clear in a store that encrypts is sealed. True when it was rewritten. The caller holds
    /// the session's lock. The default rewrites nothing.
    fn migrate(&self, _id: &str) -> Result<bool> {
        Ok(false)
    }
}

/// A writer that fails once more than `limit` bytes went through it: a document that would be
/// too large to load again is refused while it is written, before it replaces anything.
pub(crate) struct Limited<W> {
    inner: W,
    written: u64,
    limit: u64,
}

impl<W> Limited<W> {
    pub(crate) fn new(inner: W, limit: u64) -> Self {
        Limited {
            inner,
            written: 0,
            limit,
        }
    }
}

/// The message of the I/O error a [`Limited`] writer fails with.
const OVER_LIMIT: &str = "the document is over the size limit";

impl<W: std::io::Write> std::io::Write for Limited<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.written += buf.len() as u64;
        if self.written > self.limit {
            return Err(std::io::Error::other(OVER_LIMIT));
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Whether an I/O error is a [`Limited`] writer's refusal.
pub(crate) fn is_over_limit(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::Other && e.to_string() == OVER_LIMIT
}

/// The error for a document a save refused as too large.
pub(crate) fn too_large(id: &str) -> Error {
    Error::TooLarge {
        what: crate::Oversized::Document(id.to_string()),
        size: crate::limits::MAX_DOCUMENT_BYTES + 1,
        limit: crate::limits::MAX_DOCUMENT_BYTES,
    }
}

/// Refuse a document larger than a store may keep (see [`crate::limits::MAX_DOCUMENT_BYTES`]),
/// counting its compact JSON without building it, and stopping at the limit.
pub(crate) fn check_size(data: &SessionData) -> Result<()> {
    let mut counter = Limited::new(std::io::sink(), crate::limits::MAX_DOCUMENT_BYTES);
    match serde_json::to_writer(&mut counter, data) {
        Err(e) if e.io_error_kind().is_some() => Err(too_large(&data.id)),
        _ => Ok(()),
    }
}

pub(crate) use crate::error::BLOB_LOCK;

/// A held turn lock; dropping it releases the lock.
pub struct StoreLock(#[allow(dead_code)] Option<Box<dyn Any + Send + Sync>>);

impl StoreLock {
    /// A guard that holds nothing (for stores without locking).
    pub fn none() -> Self {
        StoreLock(None)
    }

    /// A guard that releases the lock when `inner` is dropped.
    pub fn new(inner: impl Any + Send + Sync) -> Self {
        StoreLock(Some(Box::new(inner)))
    }
}

impl std::fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreLock")
    }
}

/// The waiting side of a turn lock: jittered exponential back-off (so many waiters do not wake
/// in lockstep), one notice when the lock is first found taken, and the timeout. Shared by the
/// blocking [`lock`] and the turn engine's async wait.
pub(crate) struct LockWait<'a> {
    id: &'a str,
    timeout: Option<Duration>,
    start: Instant,
    pause: Duration,
    told: bool,
}

impl<'a> LockWait<'a> {
    pub(crate) fn new(id: &'a str, timeout: Option<Duration>) -> Self {
        LockWait {
            id,
            timeout,
            start: Instant::now(),
            pause: Duration::from_millis(2),
            told: false,
        }
    }

    /// The lock was taken: how long to sleep before trying again, or `Busy` past the timeout.
    /// `on_wait` runs the first time only.
    pub(crate) fn next(&mut self, on_wait: &mut dyn FnMut()) -> Result<Duration> {
        if !self.told {
            on_wait();
            self.told = true;
        }
        let waited = self.start.elapsed();
        if self.timeout.is_some_and(|t| waited >= t) {
            return Err(Error::Busy {
                id: self.id.to_string(),
                waited_secs: waited.as_secs_f64(),
            });
        }
        let sleep = self.pause + Duration::from_micros(fastrand::u64(..2000));
        self.pause = (self.pause * 2).min(Duration::from_millis(50));
        Ok(sleep)
    }
}

/// Take `id`'s turn lock, polling until `timeout` (None: wait for ever). `on_wait` runs once,
/// when the lock is found taken, so a CLI can say why it is waiting.
pub fn lock(
    store: &dyn SessionStore,
    id: &str,
    timeout: Option<Duration>,
    on_wait: &mut dyn FnMut(),
) -> Result<StoreLock> {
    let mut wait = LockWait::new(id, timeout);
    loop {
        if let Some(guard) = store.try_lock(id)? {
            return Ok(guard);
        }
        std::thread::sleep(wait.next(on_wait)?);
    }
}

/// Load and validate the document for `id`, or fail with `SessionNotFound`.
pub fn load_data(store: &dyn SessionStore, id: &str) -> Result<SessionData> {
    crate::document::validate_id(id)?;
    let data = match store.load_document(id)? {
        Some(data) => data,
        None => return Err(Error::SessionNotFound { id: id.to_string() }),
    };
    check_id(data, id, &store_location(store.describe(), id))
}

/// A document stored under another id than its own (a file copied by hand) is invalid: a save
/// would land under its own id, not where it was read from.
pub(crate) fn check_id(data: SessionData, id: &str, location: &str) -> Result<SessionData> {
    if data.id == id {
        return Ok(data);
    }
    Err(Error::InvalidSession {
        location: location.to_string(),
        reason: format!(
            "the document's id is '{}', not '{id}' (a copied file? fix its \"id\" or its name)",
            data.id
        ),
    })
}

/// Save a document under its own id.
pub fn save_data(store: &dyn SessionStore, data: &SessionData) -> Result<()> {
    store.save_document(data)
}

fn store_location(store: String, id: &str) -> String {
    format!("'{id}' in {store}")
}

/// The index fields of a document, read leniently: a store keeps whatever it is given, and
/// `agent store check` is where invalid documents are reported.
#[cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]
pub(crate) fn summary_of(id: &str, doc: &Value) -> SessionSummary {
    let text = |k: &str| doc.get(k).and_then(|v| v.as_str()).map(str::to_string);
    SessionSummary {
        id: id.to_string(),
        title: text("title"),
        created_at: text("created_at").unwrap_or_default(),
        updated_at: text("updated_at").unwrap_or_default(),
        provider: text("provider"),
        model: text("model"),
        message_count: doc
            .get("messages")
            .and_then(|m| m.as_array())
            .map_or(0, Vec::len),
        expires_at: crate::time::expiry(
            doc.get("updated_at").and_then(|v| v.as_str()).unwrap_or(""),
            doc.get("ttl").and_then(|v| v.as_str()),
        ),
    }
}

/// Session ids with their titles, the most recently changed first: what
/// [`SessionStore::recent_ids`] returns.
pub type RecentIds = Vec<(String, Option<String>)>;

/// Ids and titles, the most recently changed first (ties by id, descending).
pub(crate) fn by_recency(mut all: Vec<SessionSummary>) -> RecentIds {
    all.sort_unstable_by(|a, b| (&b.updated_at, &b.id).cmp(&(&a.updated_at, &a.id)));
    all.into_iter().map(|s| (s.id, s.title)).collect()
}
