//! `RedisStore`: sessions in Redis, so runners on several machines continue the same session.

mod hash_blobs;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use redis::{Connection, RedisResult, Script};
use serde_json::Value;

use base64::Engine;

use super::expiry::Expiry;
use super::lease::{self, locked, Held, Lease, DEFAULT_LOCK_TTL};
use super::redact::redact;
use super::seal::{self, Codec, EncryptionKey};
use super::{SessionStore, StoreLock};
use crate::document::{validate_id, SessionSummary};
use crate::{Error, Result};

/// Every key starts with this and a colon unless the URL says `?prefix=`, so one Redis can
/// serve other programs, and several teams, too.
const DEFAULT_PREFIX: &str = "agent";

/// Renew a lock only if we still own it.
const RENEW: &str = r"if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0";

/// Release a lock only if we still own it: an expired lock taken over by another holder must
/// not be deleted by the old one.
const RELEASE: &str = r"if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// Take over a lock whose holder died, only if that holder's token is still the one there.
const TAKE_OVER: &str = r"if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) and 1
end
return 0";

/// Sessions in Redis (`redis://[user:pass@]host:port[/db]`, or `rediss://` for TLS).
///
/// Keys (all under `agent:`, or the URL's `?prefix=NAME` and a colon; `?lock_ttl=SECS` sets the
/// lock TTL): `session:<id>` holds the document (the same JSON a
/// [`super::DirStore`] file holds); `sessions` is a sorted set of ids by last update (ms);
/// `summaries` is a hash of id → summary JSON, so [`SessionStore::summaries`] reads the index
/// only; `lock:<id>` is a turn lock taken with `SET NX PX`, renewed while held and released by a
/// compare-and-delete script, so a crashed holder's lock expires on its own.
///
/// A save is one `MULTI`/`EXEC` of the document and both index entries. A session with a TTL
/// (its own, or [`RedisStore::session_ttl`]) gets a key expiry at its last update plus the
/// TTL, set again by every save, so Redis drops it itself.
///
/// With [`RedisStore::encryption`], `session:<id>` holds the sealed document and each summary
/// keeps its title, provider and model sealed (unless [`RedisStore::clear_index`]).
///
/// The connection is synchronous because [`SessionStore`] is: it is the trait a custom store
/// implements, and every call is one short round trip.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
    lock_ttl: Duration,
    codec: Codec,
    expiry: Expiry,
}

struct Inner {
    client: redis::Client,
    /// The URL without credentials, for messages.
    shown: String,
    /// The password, scrubbed from any error text that might echo it.
    secret: Option<String>,
    conn: Mutex<Option<Connection>>,
    held: Held,
    renew: Script,
    release: Script,
    take_over: Script,
    keys: Keys,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.inner.shown)
            .finish()
    }
}

/// The keys of one store: every one starts with its prefix.
#[derive(Debug)]
struct Keys {
    prefix: String,
    /// Sorted set: id by last update (ms since the epoch).
    index: String,
    /// Hash: id to summary JSON.
    summaries: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        Keys {
            prefix: prefix.to_string(),
            index: format!("{prefix}:sessions"),
            summaries: format!("{prefix}:summaries"),
        }
    }

    fn doc(&self, id: &str) -> String {
        format!("{}:session:{id}", self.prefix)
    }

    fn lock(&self, id: &str) -> String {
        format!("{}:lock:{id}", self.prefix)
    }
}

/// The URL without agent's own query parameters, the key prefix and the lock TTL they set.
fn own_params(url: &str, shown: &str) -> Result<(String, String, Option<Duration>)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), DEFAULT_PREFIX.to_string(), None));
    };
    let bad = |what: &str| Error::Usage(format!("invalid Redis URL '{shown}': {what}"));
    let (mut prefix, mut ttl, mut rest) = (DEFAULT_PREFIX.to_string(), None, Vec::new());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("prefix", p)) => {
                let ok = (1..=64).contains(&p.len())
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
                if !ok {
                    return Err(bad("prefix must be 1 to 64 of A-Z a-z 0-9 . _ : -"));
                }
                prefix = p.to_string();
            }
            Some(("lock_ttl", t)) => {
                let secs: f64 = t.parse().map_err(|_| bad("lock_ttl must be seconds"))?;
                if !(0.1..=86_400.0).contains(&secs) {
                    return Err(bad("lock_ttl must be between 0.1 and 86400 seconds"));
                }
                ttl = Some(Duration::from_secs_f64(secs));
            }
            _ => rest.push(pair),
        }
    }
    let url = match rest.is_empty() {
        true => base.to_string(),
        false => format!("{base}?{}", rest.join("&")),
    };
    Ok((url, prefix, ttl))
}

/// A summary as kept in the `summaries` hash. Its own type because [`SessionSummary`] reads
/// `message_count` from a document's `messages` array, not from a number.
#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    id: String,
    title: Option<String>,
    created_at: String,
    updated_at: String,
    provider: Option<String>,
    model: Option<String>,
    message_count: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    /// Base64 of the sealed title, provider and model, when the store hides them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hidden: Option<String>,
}

impl Entry {
    fn new(s: SessionSummary, hidden: Option<Vec<u8>>) -> Self {
        Entry {
            id: s.id,
            title: s.title,
            created_at: s.created_at,
            updated_at: s.updated_at,
            provider: s.provider,
            model: s.model,
            message_count: s.message_count,
            expires_at: s.expires_at,
            hidden: hidden.map(|h| base64::engine::general_purpose::STANDARD.encode(h)),
        }
    }

    /// The summary, and the sealed fields still to open.
    fn split(self) -> (SessionSummary, Option<Vec<u8>>) {
        let hidden = self
            .hidden
            .and_then(|h| base64::engine::general_purpose::STANDARD.decode(h).ok());
        let summary = SessionSummary {
            id: self.id,
            title: self.title,
            created_at: self.created_at,
            updated_at: self.updated_at,
            provider: self.provider,
            model: self.model,
            message_count: self.message_count,
            expires_at: self.expires_at,
        };
        (summary, hidden)
    }
}

impl RedisStore {
    /// A store at `url`. Nothing connects until the first call.
    pub fn open(url: &str) -> Result<Self> {
        let shown = redact(url);
        let (url, prefix, ttl) = own_params(url, &shown)?;
        let client = redis::Client::open(url.as_str()).map_err(|e| {
            // The client's message may quote the URL, password and all.
            let mut why = e.to_string();
            if let Some(secret) = super::redact::credentials(&url) {
                why = why.replace(&secret, "***");
            }
            Error::Usage(format!("invalid Redis URL '{shown}': {why}"))
        })?;
        let secret = client
            .get_connection_info()
            .redis_settings()
            .password()
            .map(str::to_string)
            .filter(|p| !p.is_empty());
        Ok(RedisStore {
            inner: Arc::new(Inner {
                client,
                shown,
                secret,
                conn: Mutex::new(None),
                held: Held::default(),
                renew: Script::new(RENEW),
                release: Script::new(RELEASE),
                take_over: Script::new(TAKE_OVER),
                keys: Keys::new(&prefix),
            }),
            lock_ttl: ttl.unwrap_or(DEFAULT_LOCK_TTL),
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

    /// The stored bytes of `id`, whatever they are.
    fn load_raw(&self, id: &str) -> Result<Option<Vec<u8>>> {
        validate_id(id)?;
        let key = self.inner.keys.doc(id);
        self.run(&format!("cannot load '{id}'"), |c| {
            redis::cmd("GET").arg(&key).query(c)
        })
    }

    /// Every index entry, most recent first, expired ones included (hidden fields sealed).
    fn entries(&self) -> Result<Vec<(SessionSummary, Option<Vec<u8>>)>> {
        let (ids, mut rows): (Vec<String>, HashMap<String, String>) =
            self.run("cannot list sessions", |c| {
                redis::pipe()
                    .cmd("ZREVRANGE")
                    .arg(&self.inner.keys.index)
                    .arg(0)
                    .arg(-1)
                    .cmd("HGETALL")
                    .arg(&self.inner.keys.summaries)
                    .query(c)
            })?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(row) = rows.remove(&id) else {
                continue; // deleted between the two reads of another client's pipeline
            };
            let entry: Entry = serde_json::from_str(&row).map_err(|e| Error::InvalidSession {
                location: format!("the index entry of {}", self.location(&id)),
                reason: e.to_string(),
            })?;
            out.push(entry.split());
        }
        Ok(out)
    }

    fn run<T>(&self, what: &str, f: impl FnMut(&mut Connection) -> RedisResult<T>) -> Result<T> {
        self.inner.run(what, f)
    }

    fn location(&self, id: &str) -> String {
        format!("'{id}' in {}", self.inner.shown)
    }

    /// Take the lock at `key` when its holder ran on this machine and has died, rather than
    /// waiting out the TTL.
    fn take_over_from_the_dead(&self, key: &str, token: &str, ttl: u64) -> Result<bool> {
        let owner: Option<String> = self.run("cannot read a lock", |c| {
            redis::cmd("GET").arg(key).query(c)
        })?;
        let Some(owner) = owner.filter(|o| lease::holder_is_gone(o)) else {
            return Ok(false);
        };
        let taken: i64 = self.run("cannot take over a lock", |c| {
            self.inner
                .take_over
                .key(key)
                .arg(&owner)
                .arg(token)
                .arg(ttl)
                .invoke(c)
        })?;
        Ok(taken == 1)
    }
}

impl Inner {
    /// Run `f` on the shared connection, connecting first if needed. A dropped connection (a
    /// restarted server) is reconnected and `f` tried once more: every call here is idempotent.
    fn run<T>(
        &self,
        what: &str,
        mut f: impl FnMut(&mut Connection) -> RedisResult<T>,
    ) -> Result<T> {
        let mut slot = locked(&self.conn);
        for attempt in 0..2 {
            if slot.is_none() {
                *slot = Some(
                    self.connect()
                        .map_err(|e| self.error("cannot connect", e))?,
                );
            }
            let conn = slot.as_mut().expect("connected above");
            match f(conn) {
                Ok(v) => return Ok(v),
                Err(e) if e.is_connection_dropped() || e.is_io_error() || e.is_timeout() => {
                    *slot = None;
                    if attempt == 1 || e.is_timeout() {
                        return Err(self.error(what, e));
                    }
                }
                Err(e) => return Err(self.error(what, e)),
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    fn connect(&self) -> RedisResult<Connection> {
        let conn = self
            .client
            .get_connection_with_timeout(Duration::from_secs(10))?;
        conn.set_read_timeout(Some(Duration::from_secs(30)))?;
        conn.set_write_timeout(Some(Duration::from_secs(30)))?;
        Ok(conn)
    }

    fn error(&self, what: &str, e: redis::RedisError) -> Error {
        let context = format!("{}: {what}", self.shown);
        // The client's own text may quote the URL it was given: never let a password through.
        match &self.secret {
            Some(secret) if e.to_string().contains(secret.as_str()) => Error::backend(
                context,
                Redacted(e.to_string().replace(secret.as_str(), "***")),
            ),
            _ => Error::backend(context, e),
        }
    }
}

/// A client error whose text quoted a secret, with the secret taken out.
#[derive(Debug)]
struct Redacted(String);

impl std::fmt::Display for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Redacted {}

impl SessionStore for RedisStore {
    fn save(&self, id: &str, data: &Value) -> Result<()> {
        validate_id(id)?;
        let doc = self
            .codec
            .encode(id, |buf| serde_json::to_writer(&mut *buf, data))?;
        let mut summary = super::summary_of(id, data);
        let ms = |t: &str| {
            crate::time::parse(t)
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_millis() as i64)
        };
        let score = ms(&summary.updated_at).unwrap_or_else(lease::now_ms);
        // The key expires when the session does: its own TTL, else the store's.
        let expire_at = self.expiry.doc_expiry(data).map(|t| ms(&t).unwrap_or(0));
        let hidden = self.codec.hide(&mut summary);
        let summary = serde_json::to_string(&Entry::new(summary, hidden))
            .map_err(|e| Error::Other(e.to_string()))?;
        let token = self.inner.held.token(id);
        let (doc_key, lock_key) = (self.inner.keys.doc(id), self.inner.keys.lock(id));
        let saved = self.run(&format!("cannot save '{id}'"), |c| {
            // Under our lock, WATCH it: if it expired and changed hands, EXEC does nothing.
            if let Some(token) = &token {
                redis::cmd("WATCH").arg(&lock_key).exec(c)?;
                let owner: Option<String> = redis::cmd("GET").arg(&lock_key).query(c)?;
                if owner.as_ref() != Some(token) {
                    redis::cmd("UNWATCH").exec(c)?;
                    return Ok(false);
                }
            }
            let mut pipe = redis::pipe();
            pipe.atomic().set(&doc_key, &doc);
            if let Some(at) = expire_at {
                pipe.cmd("PEXPIREAT").arg(&doc_key).arg(at.max(1)).ignore();
            }
            let reply: redis::Value = pipe
                .zadd(&self.inner.keys.index, id, score)
                .hset(&self.inner.keys.summaries, id, &summary)
                .query(c)?;
            Ok(!matches!(reply, redis::Value::Nil))
        })?;
        if saved {
            Ok(())
        } else {
            Err(lease::lost_lock(id, &self.inner.shown))
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
        let key = self.inner.keys.doc(id);
        let (removed, _, _): (i64, i64, i64) = self.run(&format!("cannot delete '{id}'"), |c| {
            redis::pipe()
                .atomic()
                .del(&key)
                .zrem(&self.inner.keys.index, id)
                .hdel(&self.inner.keys.summaries, id)
                .query(c)
        })?;
        Ok(removed > 0)
    }

    /// The ids in the index that have not expired.
    fn list_sessions(&self) -> Result<Vec<String>> {
        let all = self.entries()?.into_iter().map(|(s, _)| s).collect();
        Ok(self.expiry.split(all).0.into_iter().map(|s| s.id).collect())
    }

    /// Reads the index only: the sorted set (most recent first) and the summary hash, in one
    /// round trip.
    fn summaries(&self) -> Result<Vec<SessionSummary>> {
        let mut live = Vec::new();
        for (mut s, hidden) in self.entries()? {
            self.expiry.fill(&mut s);
            if !Expiry::is_gone(&s) {
                self.codec.reveal(&mut s, hidden)?;
                live.push(s);
            }
        }
        Ok(live)
    }

    /// Index entries of sessions past their TTL: Redis has dropped (or is about to drop)
    /// their documents; `delete` clears the entries.
    fn expired(&self) -> Result<Vec<String>> {
        let all = self.entries()?.into_iter().map(|(s, _)| s).collect();
        Ok(self.expiry.split(all).1)
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

impl RedisStore {
    /// Set the lock key with NX and an expiry, or take over one whose holder died here.
    /// `id` is a session's (a valid id) or the blob lock (a name no id can have).
    fn lease(&self, id: &str) -> Result<Option<StoreLock>> {
        let key = self.inner.keys.lock(id);
        let token = lease::token();
        let ttl = self.lock_ttl.as_millis() as u64;
        let reply: Option<String> = self.run(&format!("cannot lock '{id}'"), |c| {
            redis::cmd("SET")
                .arg(&key)
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(ttl)
                .query(c)
        })?;
        if reply.is_none() && !self.take_over_from_the_dead(&key, &token, ttl)? {
            return Ok(None);
        }
        self.inner.held.insert(id, &token);
        // Weak, so renewal stops when the store is gone (the process is ending) and the key
        // then expires, as it would after a crash.
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let (renew_key, renew_token) = (key.clone(), token.clone());
        let renew = move || {
            let Some(inner) = weak.upgrade() else {
                return false;
            };
            let renewed: Result<i64> = inner.run("cannot renew a lock", |c| {
                inner
                    .renew
                    .key(&renew_key)
                    .arg(&renew_token)
                    .arg(ttl)
                    .invoke(c)
            });
            // A transient failure is retried next tick; 0 means the lock was lost.
            !matches!(renewed, Ok(0))
        };
        let weak = Arc::downgrade(&self.inner);
        let id = id.to_string();
        let release = move || {
            if let Some(inner) = weak.upgrade() {
                inner.held.forget(&id, &token);
                let _: Result<i64> = inner.run("cannot release a lock", |c| {
                    inner.release.key(&key).arg(&token).invoke(c)
                });
            }
        };
        Ok(Some(StoreLock::new(Lease::start(
            self.lock_ttl,
            renew,
            release,
        ))))
    }
}
