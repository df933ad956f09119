//! `RedisStore`: sessions in Redis, so runners on several machines continue the same session.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use redis::{Connection, RedisResult, Script};
use serde_json::Value;

use super::lease::{self, locked, Held, Lease, DEFAULT_LOCK_TTL};
use super::url::redact;
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
/// A save is one `MULTI`/`EXEC` of the document and both index entries.
///
/// The connection is synchronous because [`SessionStore`] is: it is the trait a custom store
/// implements, and every call is one short round trip.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
    lock_ttl: Duration,
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
}

impl From<SessionSummary> for Entry {
    fn from(s: SessionSummary) -> Self {
        Entry {
            id: s.id,
            title: s.title,
            created_at: s.created_at,
            updated_at: s.updated_at,
            provider: s.provider,
            model: s.model,
            message_count: s.message_count,
        }
    }
}

impl From<Entry> for SessionSummary {
    fn from(e: Entry) -> Self {
        SessionSummary {
            id: e.id,
            title: e.title,
            created_at: e.created_at,
            updated_at: e.updated_at,
            provider: e.provider,
            model: e.model,
            message_count: e.message_count,
        }
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
            if let Some(secret) = super::url::credentials(&url) {
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
        })
    }

    /// How long a turn lock outlives its holder's last renewal (default 30 s).
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock_ttl = ttl;
        self
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
        let doc = serde_json::to_string(data).map_err(|e| Error::Other(e.to_string()))?;
        let summary = super::summary_of(id, data);
        let score = crate::time::parse(&summary.updated_at)
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or_else(lease::now_ms, |d| d.as_millis() as i64);
        let summary = serde_json::to_string(&Entry::from(summary))
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
            let reply: redis::Value = redis::pipe()
                .atomic()
                .set(&doc_key, &doc)
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
        validate_id(id)?;
        let key = self.inner.keys.doc(id);
        let bytes: Option<Vec<u8>> = self.run(&format!("cannot load '{id}'"), |c| {
            redis::cmd("GET").arg(&key).query(c)
        })?;
        bytes
            .map(|b| {
                serde_json::from_slice(&b).map_err(|e| Error::InvalidSession {
                    location: self.location(id),
                    reason: format!("not valid JSON: {e}"),
                })
            })
            .transpose()
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

    fn list_sessions(&self) -> Result<Vec<String>> {
        self.run("cannot list sessions", |c| {
            redis::cmd("ZRANGE")
                .arg(&self.inner.keys.index)
                .arg(0)
                .arg(-1)
                .query(c)
        })
    }

    /// Reads the index only: the sorted set (most recent first) and the summary hash, in one
    /// round trip.
    fn summaries(&self) -> Result<Vec<SessionSummary>> {
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
            out.push(entry.into());
        }
        Ok(out)
    }

    fn try_lock(&self, id: &str) -> Result<Option<StoreLock>> {
        validate_id(id)?;
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

    fn describe(&self) -> String {
        self.inner.shown.clone()
    }
}
