//! `PostgresStore`: sessions in a PostgreSQL schema, so runners on several machines share them
//! through a database they already run.
//!
//! The sync `postgres::Client` owns a small Tokio runtime and blocks on it in the calling
//! thread, so using it, or even dropping it, on a thread that drives a Tokio runtime panics.
//! The store therefore keeps its client on a connection thread of its own and sends it jobs:
//! any caller (a plain thread, `spawn_blocking`, a runtime thread, which then just waits as it
//! would on SQLite) gets the same behaviour, and the client is dropped where it was made.

mod pg_blobs;

use std::sync::{mpsc, Arc, Weak};
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{Client, Statement};
use serde_json::Value;

use super::expiry::Expiry;
use super::lease::{self, Held, Lease, DEFAULT_LOCK_TTL};
use super::pg_tls::{self, Connector};
use super::pg_url::{self, PgUrl};
use super::redact::redact;
use super::seal::{self, Codec, EncryptionKey};
use super::{SessionStore, StoreLock};
use crate::document::{validate_id, SessionSummary};
use crate::{Error, Result};

/// The schema version this build writes (`meta.schema_version`); 2 added `blobs`.
const SCHEMA_VERSION: i32 = 2;

/// The tables of one schema (its name validated, then quoted).
fn ddl(s: &str) -> String {
    format!(
        r#"
CREATE TABLE IF NOT EXISTS "{s}".meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE IF NOT EXISTS "{s}".sessions (
    id            text PRIMARY KEY,
    title         text,
    created_at    text NOT NULL,
    updated_at    text NOT NULL,
    provider      text,
    model         text,
    message_count integer NOT NULL,
    -- when the document's own TTL runs out (RFC 3339), if it has one
    expires_at    text,
    -- sealed {{title, provider, model}} when the store encrypts; those columns are NULL then
    meta          bytea,
    -- the document: its exact JSON bytes (jsonb would reorder keys), or a sealed envelope
    doc           bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_update ON "{s}".sessions (updated_at DESC, id);
CREATE TABLE IF NOT EXISTS "{s}".locks (
    id         text PRIMARY KEY,
    owner      text NOT NULL,
    expires_at timestamptz NOT NULL
);
-- attachment bytes by SHA-256, once for every session that refers to them
CREATE TABLE IF NOT EXISTS "{s}".blobs (
    sha256 text PRIMARY KEY,
    data   bytea NOT NULL
);
"#
    )
}

/// The statements, prepared once per connection.
struct Statements {
    upsert: Statement,
    upsert_locked: Statement,
    load: Statement,
    delete: Statement,
    summaries: Statement,
    lock: Statement,
    owner: Statement,
    take_over: Statement,
    renew: Statement,
    release: Statement,
}

impl Statements {
    fn prepare(c: &mut Client, s: &str) -> std::result::Result<Self, postgres::Error> {
        let cols = "id, doc, title, created_at, updated_at, provider, model, message_count, \
                    expires_at, meta";
        let set = "doc = EXCLUDED.doc, title = EXCLUDED.title, created_at = EXCLUDED.created_at, \
                   updated_at = EXCLUDED.updated_at, provider = EXCLUDED.provider, \
                   model = EXCLUDED.model, message_count = EXCLUDED.message_count, \
                   expires_at = EXCLUDED.expires_at, meta = EXCLUDED.meta";
        Ok(Statements {
            upsert: c.prepare(&format!(
                r#"INSERT INTO "{s}".sessions ({cols}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                   ON CONFLICT (id) DO UPDATE SET {set}"#
            ))?,
            // One statement, so one transaction: the lock row stays share-locked until the
            // upsert commits, a take-over (an UPDATE of that row) waits for it, and a lost lock
            // inserts nothing. FOR KEY SHARE would not block the take-over's UPDATE.
            upsert_locked: c.prepare(&format!(
                r#"WITH held AS (
                       SELECT 1 FROM "{s}".locks WHERE id = $1 AND owner = $11 FOR SHARE
                   )
                   INSERT INTO "{s}".sessions ({cols})
                   SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM held
                   ON CONFLICT (id) DO UPDATE SET {set}"#
            ))?,
            load: c.prepare(&format!(r#"SELECT doc FROM "{s}".sessions WHERE id = $1"#))?,
            delete: c.prepare(&format!(r#"DELETE FROM "{s}".sessions WHERE id = $1"#))?,
            summaries: c.prepare(&format!(
                r#"SELECT id, title, created_at, updated_at, provider, model, message_count,
                          expires_at, meta
                   FROM "{s}".sessions ORDER BY updated_at DESC, id"#
            ))?,
            // The server's clock, so clients on several machines agree on expiry. The second
            // arm makes a retry after a lost connection find its own lock taken.
            lock: c.prepare(&format!(
                r#"INSERT INTO "{s}".locks AS l (id, owner, expires_at)
                   VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3))
                   ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
                   WHERE l.expires_at <= clock_timestamp() OR l.owner = EXCLUDED.owner"#
            ))?,
            owner: c.prepare(&format!(r#"SELECT owner FROM "{s}".locks WHERE id = $1"#))?,
            take_over: c.prepare(&format!(
                r#"UPDATE "{s}".locks SET owner = $1, expires_at = clock_timestamp() + make_interval(secs => $2)
                   WHERE id = $3 AND owner = $4"#
            ))?,
            renew: c.prepare(&format!(
                r#"UPDATE "{s}".locks SET expires_at = clock_timestamp() + make_interval(secs => $3)
                   WHERE id = $1 AND owner = $2"#
            ))?,
            release: c.prepare(&format!(
                r#"DELETE FROM "{s}".locks WHERE id = $1 AND owner = $2"#
            ))?,
        })
    }
}

/// The client's error in one line: the server's message and SQLSTATE, or the whole cause
/// chain (a TLS failure's reason is two sources down).
#[derive(Debug)]
struct PgError(String);

impl std::fmt::Display for PgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PgError {}

impl From<postgres::Error> for PgError {
    fn from(e: postgres::Error) -> Self {
        if let Some(db) = e.as_db_error() {
            return PgError(format!("{} ({})", db.message(), db.code().code()));
        }
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            let more = cause.to_string();
            if !text.contains(&more) {
                text.push_str(": ");
                text.push_str(&more);
            }
            source = cause.source();
        }
        PgError(text)
    }
}

/// Why a store could not be opened: the client's error, or a schema from a newer agent,
/// which is refused (exit 6, as a newer session document is) and never altered.
#[derive(Debug)]
enum OpenFailure {
    Pg(PgError),
    Newer(String),
}

impl From<PgError> for OpenFailure {
    fn from(e: PgError) -> Self {
        OpenFailure::Pg(e)
    }
}

impl From<postgres::Error> for OpenFailure {
    fn from(e: postgres::Error) -> Self {
        OpenFailure::Pg(e.into())
    }
}

/// What the connection thread owns.
struct Conn {
    url: PgUrl,
    connector: Connector,
    client: Option<(Client, Statements)>,
}

fn connect(url: &PgUrl, connector: &Connector) -> std::result::Result<Client, postgres::Error> {
    match connector {
        Connector::Plain => url.config.connect(postgres::NoTls),
        Connector::Rustls(tls) => url.config.connect(tls.clone()),
    }
}

impl Conn {
    /// The live client, connecting again (and preparing again) after a lost connection.
    fn get(&mut self) -> std::result::Result<(&mut Client, &Statements), PgError> {
        if self.client.as_ref().is_some_and(|(c, _)| c.is_closed()) {
            self.client = None;
        }
        if self.client.is_none() {
            let mut client = connect(&self.url, &self.connector)?;
            let statements = Statements::prepare(&mut client, &self.url.schema)?;
            self.client = Some((client, statements));
        }
        let (client, statements) = self.client.as_mut().expect("connected above");
        Ok((client, statements))
    }

    fn closed(&self) -> bool {
        self.client.as_ref().is_some_and(|(c, _)| c.is_closed())
    }
}

type Job = Box<dyn FnOnce(&mut Conn) + Send>;

struct Inner {
    jobs: mpsc::Sender<Job>,
    /// The URL without credentials, for messages.
    shown: String,
    held: Held,
}

impl Inner {
    /// Run `f` on the connection thread and wait for its answer (a plain blocking wait, fine
    /// on any thread). A call that failed on a connection that turned out closed (a server
    /// restart, a failover) runs once more on a new one: every call here is idempotent.
    fn call<T: Send + 'static>(
        &self,
        what: &str,
        f: impl Fn(&mut Conn) -> std::result::Result<T, PgError> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = mpsc::sync_channel(1);
        let gone = || Error::Other(format!("{}: the connection thread is gone", self.shown));
        self.jobs
            .send(Box::new(move |conn| {
                let mut result = f(conn);
                if result.is_err() && conn.closed() {
                    result = f(conn);
                }
                let _ = tx.send(result);
            }))
            .map_err(|_| gone())?;
        rx.recv()
            .map_err(|_| gone())?
            .map_err(|e| Error::backend(format!("{}: {what}", self.shown), e))
    }
}

/// Sessions in PostgreSQL (`postgres://[user[:pass]@]host[:port]/db`).
///
/// Tables in the schema `agent` (or the URL's `?schema=NAME`, created if missing): `sessions`
/// holds each document's exact JSON bytes (`bytea`) beside index columns, so
/// [`SessionStore::summaries`] never reads a document; `locks` holds turn locks as leases on
/// the server's clock, renewed while held, so a crashed holder's lock expires (`?lock_ttl=`);
/// `meta` records the schema version. A save is one statement; a save under a lock that was
/// lost inserts nothing and fails.
///
/// TLS follows libpq's `sslmode` (`prefer` by default; `prefer` and `require` encrypt without
/// checking the certificate, as libpq does; `verify-ca` and `verify-full` check it against
/// `sslrootcert`, or the system's roots). The password may also come from `PGPASSWORD`.
///
/// With [`PostgresStore::encryption`], `doc` holds the sealed document and `meta` the sealed
/// title, provider and model (unless [`PostgresStore::clear_index`]).
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
    lock_ttl: Duration,
    codec: Codec,
    expiry: Expiry,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.inner.shown)
            .finish()
    }
}

impl PostgresStore {
    /// Connect to the database at `url` and create or check the schema; connection errors are
    /// reported here, not at first use.
    pub fn open(url: &str) -> Result<Self> {
        let shown = redact(url);
        let parsed = pg_url::parse(url, &shown)?;
        let connector = pg_tls::connector(parsed.ssl_mode, &parsed.tls)
            .map_err(|e| Error::Usage(format!("{shown}: {e}")))?;
        let lock_ttl = parsed.lock_ttl.unwrap_or(DEFAULT_LOCK_TTL);
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready_tx, ready) = mpsc::sync_channel::<std::result::Result<(), OpenFailure>>(1);
        std::thread::Builder::new()
            .name("agent-postgres".into())
            .spawn(move || {
                let opened = (|| -> std::result::Result<_, OpenFailure> {
                    let mut client = connect(&parsed, &connector)?;
                    migrate(&mut client, &parsed.schema)?;
                    let statements = Statements::prepare(&mut client, &parsed.schema)?;
                    Ok((client, statements))
                })();
                let mut conn = match opened {
                    Ok(pair) => {
                        let _ = ready_tx.send(Ok(()));
                        Conn {
                            url: parsed,
                            connector,
                            client: Some(pair),
                        }
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                for job in queue {
                    job(&mut conn);
                }
                // The client, and its runtime, end here on their own thread.
            })
            .map_err(|e| Error::io("cannot start the PostgreSQL connection thread", e))?;
        let gone = || Error::Other(format!("{shown}: the connection thread died"));
        ready.recv().map_err(|_| gone())?.map_err(|e| match e {
            OpenFailure::Pg(e) => Error::backend(format!("{shown}: cannot open"), e),
            OpenFailure::Newer(reason) => Error::InvalidSession {
                location: shown.clone(),
                reason,
            },
        })?;
        Ok(PostgresStore {
            inner: Arc::new(Inner {
                jobs,
                shown,
                held: Held::default(),
            }),
            lock_ttl,
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
        self.codec = Codec::new(self.codec.key(), true);
        self
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

    fn location(&self, id: &str) -> String {
        format!("'{id}' in {}", self.inner.shown)
    }

    /// The stored bytes of `id`, whatever they are.
    fn load_raw(&self, id: &str) -> Result<Option<Vec<u8>>> {
        validate_id(id)?;
        let key = id.to_string();
        self.inner.call(&format!("cannot load '{id}'"), move |c| {
            let (client, st) = c.get()?;
            let row = client.query_opt(&st.load, &[&key])?;
            Ok(row.map(|r| r.get::<_, Vec<u8>>(0)))
        })
    }

    /// Every summary, expired ones included (hidden fields opened off the connection thread).
    fn all_summaries(&self) -> Result<Vec<SessionSummary>> {
        let rows = self.inner.call("cannot list sessions", |c| {
            let (client, st) = c.get()?;
            let rows = client.query(&st.summaries, &[])?;
            Ok(rows
                .iter()
                .map(|r| {
                    let summary = SessionSummary {
                        id: r.get(0),
                        title: r.get(1),
                        created_at: r.get(2),
                        updated_at: r.get(3),
                        provider: r.get(4),
                        model: r.get(5),
                        message_count: r.get::<_, i32>(6).max(0) as usize,
                        expires_at: r.get(7),
                    };
                    (summary, r.get::<_, Option<Vec<u8>>>(8))
                })
                .collect::<Vec<_>>())
        })?;
        rows.into_iter()
            .map(|(mut s, meta)| self.codec.reveal(&mut s, meta).map(|()| s))
            .collect()
    }
}

/// Create or check the schema. Concurrent first opens are serialized by a transaction-scoped
/// advisory lock: two racing `CREATE … IF NOT EXISTS` can otherwise fail on a unique index of
/// the catalog.
fn migrate(c: &mut Client, schema: &str) -> std::result::Result<(), OpenFailure> {
    let current = |v: Option<i32>| -> std::result::Result<bool, OpenFailure> {
        match v {
            Some(v) if v > SCHEMA_VERSION => Err(OpenFailure::Newer(format!(
                "schema {schema} is version {v}, written by a newer agent (this one knows {SCHEMA_VERSION})"
            ))),
            Some(v) => Ok(v == SCHEMA_VERSION),
            None => Ok(false),
        }
    };
    if current(schema_version(c, schema)?)? {
        return Ok(()); // the usual case: one read, no lock
    }
    let mut tx = c.transaction()?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('agent schema'), hashtext($1))",
        &[&schema],
    )?;
    let has_schema: bool = tx
        .query_one("SELECT to_regnamespace($1) IS NOT NULL", &[&schema])?
        .get(0);
    if !has_schema {
        // Only when missing: CREATE SCHEMA IF NOT EXISTS needs the database's CREATE right
        // even when the schema exists, which a user given a ready-made schema may lack.
        tx.batch_execute(&format!(r#"CREATE SCHEMA "{schema}""#))?;
    }
    tx.batch_execute(&ddl(schema))?;
    // lz4 saves large, poorly compressible documents (and sealed ones) from pglz's slow
    // attempts; servers before 14, or built without lz4, keep the default.
    tx.batch_execute("SAVEPOINT lz4")?;
    match tx.batch_execute(&format!(
        r#"ALTER TABLE "{schema}".sessions ALTER COLUMN doc SET COMPRESSION lz4"#
    )) {
        Ok(()) => tx.batch_execute("RELEASE SAVEPOINT lz4")?,
        Err(_) => tx.batch_execute("ROLLBACK TO SAVEPOINT lz4")?,
    }
    if !current(schema_version(&mut tx, schema)?)? {
        tx.execute(
            &format!(
                r#"INSERT INTO "{schema}".meta (key, value) VALUES ('schema_version', $1)
                   ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"#
            ),
            &[&SCHEMA_VERSION.to_string()],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The version `schema` records, `None` before it has tables.
fn schema_version(
    c: &mut impl postgres::GenericClient,
    schema: &str,
) -> std::result::Result<Option<i32>, PgError> {
    // to_regclass: no error (nor a line in the server's log) when the table is missing.
    let exists: bool = c
        .query_one(
            &format!(r#"SELECT to_regclass('"{schema}".meta') IS NOT NULL"#),
            &[],
        )?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let row = c.query_opt(
        &format!(r#"SELECT value::int FROM "{schema}".meta WHERE key = 'schema_version'"#),
        &[],
    )?;
    Ok(row.map(|r| r.get(0)))
}

impl SessionStore for PostgresStore {
    fn save(&self, id: &str, data: &Value) -> Result<()> {
        validate_id(id)?;
        let doc = self
            .codec
            .encode(id, |buf| serde_json::to_writer(&mut *buf, data))?;
        let mut s = super::summary_of(id, data);
        let meta = self.codec.hide(&mut s);
        let token = self.inner.held.token(id);
        let key = id.to_string();
        let count = s.message_count.min(i32::MAX as usize) as i32;
        let saved = self.inner.call(&format!("cannot save '{id}'"), move |c| {
            let (client, st) = c.get()?;
            let params: [&(dyn ToSql + Sync); 10] = [
                &key,
                &doc,
                &s.title,
                &s.created_at,
                &s.updated_at,
                &s.provider,
                &s.model,
                &count,
                &s.expires_at,
                &meta,
            ];
            Ok(match &token {
                None => client.execute(&st.upsert, &params)? > 0,
                Some(token) => {
                    let mut with_token = params.to_vec();
                    with_token.push(token);
                    client.execute(&st.upsert_locked, &with_token)? > 0
                }
            })
        })?;
        match saved {
            true => Ok(()),
            false => Err(lease::lost_lock(id, &self.inner.shown)),
        }
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
        let key = id.to_string();
        self.inner.call(&format!("cannot delete '{id}'"), move |c| {
            let (client, st) = c.get()?;
            Ok(client.execute(&st.delete, &[&key])? > 0)
        })
    }

    fn list_sessions(&self) -> Result<Vec<String>> {
        let mut ids: Vec<String> = self.summaries()?.into_iter().map(|s| s.id).collect();
        ids.sort();
        Ok(ids)
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
        self.inner.shown.clone()
    }

    fn save_blob(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        self.blob_save(sha256, bytes)
    }
    fn load_blob(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        self.blob_load(sha256)
    }
    fn delete_blob(&self, sha256: &str) -> Result<bool> {
        self.blob_delete(sha256)
    }
    fn list_blobs(&self) -> Result<Vec<String>> {
        self.blob_list()
    }
}

impl PostgresStore {
    /// Insert a lock row, or take over one that expired or whose holder died on this
    /// machine; single statements, so no transaction stays open.
    /// `id` is a session's (a valid id) or the blob lock (a name no id can have).
    fn lease(&self, id: &str) -> Result<Option<StoreLock>> {
        let token = lease::token();
        let ttl = self.lock_ttl.as_secs_f64();
        let (key, mine) = (id.to_string(), token.clone());
        let taken = self.inner.call(&format!("cannot lock '{id}'"), move |c| {
            let (client, st) = c.get()?;
            let mut n = client.execute(&st.lock, &[&key, &mine, &ttl])?;
            if n == 0 {
                let owner: Option<String> = client.query_opt(&st.owner, &[&key])?.map(|r| r.get(0));
                if let Some(owner) = owner.filter(|o| lease::holder_is_gone(o)) {
                    // Compare-and-set: only if the dead holder's row is still the one there.
                    n = client.execute(&st.take_over, &[&mine, &ttl, &key, &owner])?;
                }
            }
            Ok(n > 0)
        })?;
        if !taken {
            return Ok(None);
        }
        self.inner.held.insert(id, &token);
        // Weak, so renewal stops when the store is gone (the process is ending) and the row
        // then expires, as it would after a crash.
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let (renew_id, renew_token) = (id.to_string(), token.clone());
        let renew = move || {
            let Some(inner) = weak.upgrade() else {
                return false;
            };
            let (key, mine) = (renew_id.clone(), renew_token.clone());
            let renewed = inner.call("cannot renew a lock", move |c| {
                let (client, st) = c.get()?;
                Ok(client.execute(&st.renew, &[&key, &mine, &ttl])?)
            });
            // A transient failure is retried next tick; zero rows means the lock was lost.
            !matches!(renewed, Ok(0))
        };
        let weak = Arc::downgrade(&self.inner);
        let id = id.to_string();
        let release = move || {
            if let Some(inner) = weak.upgrade() {
                inner.held.forget(&id, &token);
                let _ = inner.call("cannot release a lock", move |c| {
                    let (client, st) = c.get()?;
                    Ok(client.execute(&st.release, &[&id, &token])?)
                });
            }
        };
        Ok(Some(StoreLock::new(Lease::start(
            self.lock_ttl,
            renew,
            release,
        )?)))
    }
}
