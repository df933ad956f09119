//! `SqliteStore`: every session in one SQLite file, with index columns for listings and a lock
//! table for turns.

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::Value;

use super::expiry::Expiry;
use super::lease::{self, locked, Held, Lease, DEFAULT_LOCK_TTL};
use super::seal::{self, Codec, EncryptionKey};
use super::{SessionStore, StoreLock};
use crate::document::{validate_id, SessionSummary};
use crate::{Error, Result};

/// The schema this build writes (`PRAGMA user_version`). 2 added `meta` and `expires_at`;
/// 3 added `blobs`.
const SCHEMA_VERSION: i64 = 3;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sessions (
    id            TEXT PRIMARY KEY,
    title         TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    provider      TEXT,
    model         TEXT,
    message_count INTEGER NOT NULL,
    -- When the document's own TTL runs out (RFC 3339), if it has one.
    expires_at    TEXT,
    -- Sealed {title, provider, model} when the store encrypts; those columns are NULL then.
    meta          BLOB,
    -- Last: a listing then reads each row's head, never the document's overflow pages.
    -- JSON text, or a sealed envelope (a BLOB) when the store encrypts.
    doc           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_update ON sessions (updated_at);
CREATE TABLE IF NOT EXISTS locks (
    id         TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
-- Attachment bytes by SHA-256, once for every message and session that refers to them
-- (sealed when the store encrypts).
CREATE TABLE IF NOT EXISTS blobs (
    sha256 TEXT PRIMARY KEY,
    data   BLOB NOT NULL
);
";

/// Sessions in one SQLite file (WAL mode, so readers never wait for a writer).
///
/// - `sessions`: the document JSON (the same JSON a [`super::DirStore`] file holds) plus index
///   columns, so [`SessionStore::summaries`] never parses a document.
/// - `locks`: one row per held turn lock, with an owner token and an expiry that a background
///   thread pushes forward while the guard lives. No write transaction is held across a model
///   call, and a crashed holder's row expires and can be taken over.
///
/// Every save is one `BEGIN IMMEDIATE` transaction; waits on the file lock use `busy_timeout`.
/// Cloning shares the connection.
///
/// With [`SqliteStore::encryption`], `doc` holds the sealed document and `meta` the sealed
/// title, provider and model (unless [`SqliteStore::clear_index`]).
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
    lock_ttl: Duration,
    codec: Codec,
    expiry: Expiry,
}

struct Inner {
    path: PathBuf,
    conn: Mutex<Connection>,
    held: Held,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl SqliteStore {
    /// Open (creating, mode 0600, with its directory 0700) the database at `path`.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let conn = connect(&path)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                conn: Mutex::new(conn),
                held: Held::default(),
            }),
            lock_ttl: DEFAULT_LOCK_TTL,
            codec: Codec::default(),
            expiry: Expiry::default(),
        })
    }

    /// How long a turn lock outlives its holder's last renewal (default 30 s).
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock_ttl = ttl;
        self
    }

    /// Seal every document, and the listing's titles, providers and models, under `key`; read
    /// only documents it sealed.
    pub fn encryption(mut self, key: EncryptionKey) -> Self {
        self.codec = Codec::new(Some(Arc::new(key)), false);
        self
    }

    /// With [`Self::encryption`]: keep titles, providers and models in clear in the index.
    pub fn clear_index(mut self) -> Self {
        self.codec = Codec::new(self.codec_key(), true);
        self
    }

    fn codec_key(&self) -> Option<Arc<EncryptionKey>> {
        self.codec.key()
    }

    /// Keep sessions without a TTL of their own for `ttl` after their last update.
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.expiry.default = Some(ttl);
        self
    }

    pub(crate) fn with_codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }

    /// The stored bytes of `id`, whatever they are.
    fn load_raw(&self, id: &str) -> Result<Option<Vec<u8>>> {
        validate_id(id)?;
        let conn = locked(&self.inner.conn);
        let mut stmt = conn
            .prepare("SELECT doc FROM sessions WHERE id = ?1")
            .map_err(|e| self.fail("cannot read", e))?;
        let raw = stmt
            .query_row([id], |r| {
                Ok(match r.get_ref(0)? {
                    ValueRef::Text(b) | ValueRef::Blob(b) => Ok(b.to_vec()),
                    other => Err(format!("the document is {:?}, not text", other.data_type())),
                })
            })
            .optional()
            .map_err(|e| self.fail(&format!("cannot load '{id}'"), e))?;
        match raw {
            None => Ok(None),
            Some(Ok(bytes)) => Ok(Some(bytes)),
            Some(Err(reason)) => Err(Error::InvalidSession {
                location: self.location(id),
                reason,
            }),
        }
    }

    /// Every summary, expired ones included (hidden fields opened).
    fn all_summaries(&self) -> Result<Vec<SessionSummary>> {
        let rows: Vec<(SessionSummary, Option<Vec<u8>>)> = {
            let conn = locked(&self.inner.conn);
            let fail = |e| self.fail("cannot list sessions", e);
            let mut stmt = conn
                .prepare(
                    "SELECT id, title, created_at, updated_at, provider, model, message_count,
                            expires_at, meta
                     FROM sessions ORDER BY updated_at DESC, id",
                )
                .map_err(fail)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        SessionSummary {
                            id: r.get(0)?,
                            title: r.get(1)?,
                            created_at: r.get(2)?,
                            updated_at: r.get(3)?,
                            provider: r.get(4)?,
                            model: r.get(5)?,
                            message_count: r.get::<_, i64>(6)?.max(0) as usize,
                            expires_at: r.get(7)?,
                        },
                        r.get(8)?,
                    ))
                })
                .map_err(fail)?;
            rows.collect::<rusqlite::Result<_>>().map_err(fail)?
        };
        rows.into_iter()
            .map(|(mut s, meta)| self.codec.reveal(&mut s, meta).map(|()| s))
            .collect()
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn fail(&self, what: &str, e: rusqlite::Error) -> Error {
        sql_error(&self.inner.path, what, e)
    }

    fn location(&self, id: &str) -> String {
        format!("'{id}' in {}", self.describe())
    }
}

fn sql_error(path: &Path, what: &str, e: rusqlite::Error) -> Error {
    Error::backend(format!("sqlite:{}: {what}", path.display()), e)
}

/// Create the file privately before SQLite sees it (SQLite would use the umask), then set up
/// the connection and schema. The WAL and shared-memory files inherit the database's mode.
fn connect(path: &Path) -> Result<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
    let fail = |e| sql_error(path, "cannot open", e);
    let mut conn = Connection::open(path).map_err(fail)?;
    // Many agents may open the file at once (parallel turns): wait for each other, don't fail.
    conn.busy_timeout(Duration::from_secs(10)).map_err(fail)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(fail)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Other(format!(
            "sqlite:{}: cannot switch to WAL mode (journal_mode is {mode})",
            path.display()
        )));
    }
    // Read first: an up-to-date file (the usual case) then costs no write lock at all.
    if schema_version(&conn, path)? < SCHEMA_VERSION {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        // Another process may have created the schema while we waited for the lock.
        let version = schema_version(&tx, path)?;
        if version == 1 {
            tx.execute_batch(
                "ALTER TABLE sessions ADD COLUMN expires_at TEXT;
                 ALTER TABLE sessions ADD COLUMN meta BLOB;",
            )
            .map_err(fail)?;
        }
        if version < SCHEMA_VERSION {
            tx.execute_batch(SCHEMA).map_err(fail)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(fail)?;
        }
        tx.commit().map_err(fail)?;
    }
    Ok(conn)
}

fn schema_version(conn: &Connection, path: &Path) -> Result<i64> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| sql_error(path, "cannot open", e))?;
    if version > SCHEMA_VERSION {
        return Err(Error::Other(format!(
            "sqlite:{}: schema version {version} was written by a newer agent (this one reads {SCHEMA_VERSION})",
            path.display()
        )));
    }
    Ok(version)
}

impl SessionStore for SqliteStore {
    fn save(&self, id: &str, data: &Value) -> Result<()> {
        validate_id(id)?;
        let bytes = self
            .codec
            .encode(id, |buf| serde_json::to_writer(&mut *buf, data))?;
        // JSON stays TEXT, readable with the sqlite3 shell; a sealed document is a BLOB.
        let doc: rusqlite::types::Value = match self.codec.encrypts() {
            true => rusqlite::types::Value::Blob(bytes),
            false => rusqlite::types::Value::Text(
                String::from_utf8(bytes).expect("serde_json writes UTF-8"),
            ),
        };
        let mut s = super::summary_of(id, data);
        let meta = self.codec.hide(&mut s);
        let token = self.inner.held.token(id);
        let mut conn = locked(&self.inner.conn);
        let fail = |e| self.fail(&format!("cannot save '{id}'"), e);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        if let Some(token) = token {
            let owner: Option<String> = tx
                .query_row("SELECT owner FROM locks WHERE id = ?1", [id], |r| r.get(0))
                .optional()
                .map_err(fail)?;
            if owner.as_deref() != Some(token.as_str()) {
                return Err(lease::lost_lock(id, &self.describe()));
            }
        }
        tx.execute(
            "INSERT INTO sessions (id, doc, title, created_at, updated_at, provider, model, message_count,
                                   expires_at, meta)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, title = excluded.title,
                 created_at = excluded.created_at, updated_at = excluded.updated_at,
                 provider = excluded.provider, model = excluded.model,
                 message_count = excluded.message_count, expires_at = excluded.expires_at,
                 meta = excluded.meta",
            params![id, doc, s.title, s.created_at, s.updated_at, s.provider, s.model, s.message_count as i64,
                    s.expires_at, meta],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)
    }

    fn load(&self, id: &str) -> Result<Option<Value>> {
        let Some(bytes) = self.load_raw(id)? else {
            return Ok(None);
        };
        let bytes = self.codec.decode(id, bytes)?;
        let doc: Value = serde_json::from_slice(&bytes).map_err(|e| Error::InvalidSession {
            location: self.location(id),
            reason: format!("not valid JSON: {e}"),
        })?;
        Ok(Some(doc).filter(|doc| !self.expiry.doc_is_gone(doc)))
    }

    fn delete(&self, id: &str) -> Result<bool> {
        validate_id(id)?;
        let conn = locked(&self.inner.conn);
        conn.execute("DELETE FROM sessions WHERE id = ?1", [id])
            .map(|n| n > 0)
            .map_err(|e| self.fail(&format!("cannot delete '{id}'"), e))
    }

    fn list_sessions(&self) -> Result<Vec<String>> {
        let conn = locked(&self.inner.conn);
        let fail = |e| self.fail("cannot list sessions", e);
        let mut stmt = conn
            .prepare("SELECT id, updated_at, expires_at FROM sessions ORDER BY id")
            .map_err(fail)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SessionSummary {
                    id: r.get(0)?,
                    updated_at: r.get(1)?,
                    expires_at: r.get(2)?,
                    title: None,
                    created_at: String::new(),
                    provider: None,
                    model: None,
                    message_count: 0,
                })
            })
            .map_err(fail)?;
        let all = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(fail)?;
        Ok(self.expiry.split(all).0.into_iter().map(|s| s.id).collect())
    }

    /// Reads the index columns only.
    fn summaries(&self) -> Result<Vec<SessionSummary>> {
        Ok(self.expiry.split(self.all_summaries()?).0)
    }

    fn expired(&self) -> Result<Vec<String>> {
        Ok(self.expiry.split(self.all_summaries()?).1)
    }

    fn migrate(&self, id: &str) -> Result<bool> {
        let Some(bytes) = self.load_raw(id)? else {
            return Ok(false);
        };
        if !self.codec.encrypts() || seal::is_sealed(&bytes) {
            return Ok(false);
        }
        let doc: Value = serde_json::from_slice(&bytes).map_err(|e| Error::InvalidSession {
            location: self.location(id),
            reason: format!("not valid JSON: {e}"),
        })?;
        self.save(id, &doc).map(|()| true)
    }

    fn try_lock(&self, id: &str) -> Result<Option<StoreLock>> {
        validate_id(id)?;
        self.lease(id)
    }

    fn try_lock_blobs(&self) -> Result<Option<StoreLock>> {
        self.lease(super::BLOB_LOCK)
    }

    fn describe(&self) -> String {
        format!("sqlite:{}", self.inner.path.display())
    }

    fn save_blob(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        super::blobs::check_name(sha256)?;
        let data = super::blobs::seal(&self.codec, sha256, bytes);
        locked(&self.inner.conn)
            .execute(
                "INSERT OR IGNORE INTO blobs (sha256, data) VALUES (?1, ?2)",
                params![sha256, data],
            )
            .map(|_| ())
            .map_err(|e| self.fail(&format!("cannot save blob {sha256}"), e))
    }

    fn load_blob(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        super::blobs::check_name(sha256)?;
        let row: Option<Vec<u8>> = locked(&self.inner.conn)
            .query_row("SELECT data FROM blobs WHERE sha256 = ?1", [sha256], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.fail(&format!("cannot read blob {sha256}"), e))?;
        let Some(bytes) = row else { return Ok(None) };
        super::blobs::open(&self.codec, sha256, bytes).map(Some)
    }

    fn delete_blob(&self, sha256: &str) -> Result<bool> {
        locked(&self.inner.conn)
            .execute("DELETE FROM blobs WHERE sha256 = ?1", [sha256])
            .map(|n| n > 0)
            .map_err(|e| self.fail(&format!("cannot delete blob {sha256}"), e))
    }

    fn list_blobs(&self) -> Result<Vec<String>> {
        let conn = locked(&self.inner.conn);
        let fail = |e| self.fail("cannot list blobs", e);
        let mut stmt = conn.prepare("SELECT sha256 FROM blobs").map_err(fail)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(fail)?;
        rows.collect::<rusqlite::Result<Vec<String>>>()
            .map_err(fail)
    }
}

impl SqliteStore {
    /// Insert a lock row, or take over one whose holder stopped renewing it or died on this
    /// machine; single statements, so no transaction is held open.
    /// `id` is a session's (a valid id) or the blob lock (a name no id can have).
    fn lease(&self, id: &str) -> Result<Option<StoreLock>> {
        let token = lease::token();
        let now = lease::now_ms();
        let ttl = self.lock_ttl.as_millis() as i64;
        let fail = |e| self.fail(&format!("cannot lock '{id}'"), e);
        let conn = locked(&self.inner.conn);
        let mut taken = conn
            .execute(
                "INSERT INTO locks (id, owner, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                 WHERE locks.expires_at <= ?4",
                params![id, token, now + ttl, now],
            )
            .map_err(fail)?;
        if taken == 0 {
            let owner: Option<String> = conn
                .query_row("SELECT owner FROM locks WHERE id = ?1", [id], |r| r.get(0))
                .optional()
                .map_err(fail)?;
            if let Some(owner) = owner.filter(|o| lease::holder_is_gone(o)) {
                // Compare-and-set: only if the dead holder's row is still the one there.
                taken = conn
                    .execute(
                        "UPDATE locks SET owner = ?1, expires_at = ?2 WHERE id = ?3 AND owner = ?4",
                        params![token, now + ttl, id, owner],
                    )
                    .map_err(fail)?;
            }
        }
        drop(conn);
        if taken == 0 {
            return Ok(None);
        }
        self.inner.held.insert(id, &token);
        // The thread holds only a weak reference: when the store is gone (the process is
        // ending), renewal stops and the row expires, as it would after a crash.
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let (renew_id, renew_token) = (id.to_string(), token.clone());
        let renew = move || {
            let Some(inner) = weak.upgrade() else {
                return false;
            };
            let updated = locked(&inner.conn).execute(
                "UPDATE locks SET expires_at = ?1 WHERE id = ?2 AND owner = ?3",
                params![lease::now_ms() + ttl, renew_id, renew_token],
            );
            // A transient failure is retried next tick; zero rows means the lock was lost.
            !matches!(updated, Ok(0))
        };
        let weak = Arc::downgrade(&self.inner);
        let id = id.to_string();
        let release = move || {
            if let Some(inner) = weak.upgrade() {
                inner.held.forget(&id, &token);
                let _ = locked(&inner.conn).execute(
                    "DELETE FROM locks WHERE id = ?1 AND owner = ?2",
                    params![id, token],
                );
            }
        };
        Ok(Some(StoreLock::new(Lease::start(
            self.lock_ttl,
            renew,
            release,
        ))))
    }
}
