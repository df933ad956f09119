//! The store contract, run through the library against every built-in store: documents, the
//! listing index, turn locks (exclusive, renewed, taken over after a crash), concurrent turns,
//! corrupt data and unknown fields.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use agent::provider::Scripted;
use agent::store::{self, SessionStore};
use agent::{Agent, DirStore, Error, PostgresStore, RedisStore, Role, SessionData, SqliteStore};

use crate::util::*;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Dir,
    Sqlite,
    Redis,
    Postgres,
}

/// Where a store of one kind lives for one test; every `open` is a new connection, as another
/// process would have.
pub(crate) struct Fixture {
    pub(crate) kind: Kind,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) redis: Option<RedisServer>,
    /// A schema of its own on the shared PostgreSQL server.
    pub(crate) postgres: Option<String>,
}

impl Fixture {
    pub(crate) fn new(kind: Kind) -> Self {
        let redis = matches!(kind, Kind::Redis).then(RedisServer::start);
        let postgres = matches!(kind, Kind::Postgres).then(|| PgServer::shared().fresh_url());
        Fixture {
            kind,
            dir: tempfile::tempdir().unwrap(),
            redis,
            postgres,
        }
    }

    /// The PostgreSQL schema of this fixture.
    pub(crate) fn schema(&self) -> String {
        let url = self.postgres.as_deref().expect("a PostgreSQL fixture");
        url.rsplit_once("schema=").unwrap().1.to_string()
    }

    /// Run `sql` with `params` on the fixture's database, as an admin would.
    pub(crate) fn sql(&self, sql: &str, params: &[&(dyn ::postgres::types::ToSql + Sync)]) -> u64 {
        let sql = sql.replace("{schema}", &self.schema());
        PgServer::shared().client().execute(&sql, params).unwrap()
    }

    /// The store's URL, as `--store` takes it.
    pub(crate) fn url(&self) -> String {
        match self.kind {
            Kind::Dir => format!("dir:{}", self.dir.path().join("data").display()),
            Kind::Sqlite => format!(
                "sqlite:{}",
                self.dir.path().join("db/sessions.db").display()
            ),
            Kind::Redis => self.redis.as_ref().unwrap().url(),
            Kind::Postgres => self.postgres.clone().unwrap(),
        }
    }

    pub(crate) fn open(&self) -> Arc<dyn SessionStore> {
        store::open(&self.url()).unwrap()
    }

    /// A lease-based store with a short lock TTL (not for `Kind::Dir`, whose flock needs none).
    fn open_ttl(&self, ttl: Duration) -> Arc<dyn SessionStore> {
        match self.kind {
            Kind::Dir => unreachable!("directory locks end with their process, not by expiry"),
            Kind::Sqlite => Arc::new(
                SqliteStore::open(self.dir.path().join("db/sessions.db"))
                    .unwrap()
                    .lock_ttl(ttl),
            ),
            Kind::Redis => Arc::new(RedisStore::open(&self.url()).unwrap().lock_ttl(ttl)),
            Kind::Postgres => Arc::new(PostgresStore::open(&self.url()).unwrap().lock_ttl(ttl)),
        }
    }

    /// Give `id`'s lock to another owner behind the holder's back, as a takeover after expiry.
    fn steal_lock(&self, id: &str) {
        match self.kind {
            Kind::Dir => unreachable!("directory locks cannot expire"),
            Kind::Sqlite => {
                let conn =
                    rusqlite::Connection::open(self.dir.path().join("db/sessions.db")).unwrap();
                let n = conn
                    .execute("UPDATE locks SET owner = 'thief' WHERE id = ?1", [id])
                    .unwrap();
                assert_eq!(n, 1);
            }
            Kind::Redis => {
                let client = ::redis::Client::open(self.url()).unwrap();
                let mut conn = client.get_connection().unwrap();
                ::redis::cmd("SET")
                    .arg(format!("agent:lock:{id}"))
                    .arg("thief")
                    .exec(&mut conn)
                    .unwrap();
            }
            Kind::Postgres => {
                let n = self.sql(
                    r#"UPDATE "{schema}".locks SET owner = 'thief' WHERE id = $1"#,
                    &[&id],
                );
                assert_eq!(n, 1);
            }
        }
    }

    /// Store `raw` under `id` bypassing the store's checks, as a bad disk or a hand edit would.
    pub(crate) fn corrupt(&self, id: &str, raw: &str) {
        match self.kind {
            Kind::Dir => {
                let path = DirStore::new(self.dir.path().join("data")).path(id);
                std::fs::write(path, raw).unwrap();
            }
            Kind::Sqlite => {
                let conn =
                    rusqlite::Connection::open(self.dir.path().join("db/sessions.db")).unwrap();
                let n = conn
                    .execute("UPDATE sessions SET doc = ?1 WHERE id = ?2", [raw, id])
                    .unwrap();
                assert_eq!(n, 1);
            }
            Kind::Redis => {
                let client = ::redis::Client::open(self.url()).unwrap();
                let mut conn = client.get_connection().unwrap();
                ::redis::cmd("SET")
                    .arg(format!("agent:session:{id}"))
                    .arg(raw)
                    .exec(&mut conn)
                    .unwrap();
            }
            Kind::Postgres => {
                let n = self.sql(
                    r#"UPDATE "{schema}".sessions SET doc = $1 WHERE id = $2"#,
                    &[&raw.as_bytes(), &id],
                );
                assert_eq!(n, 1);
            }
        }
    }
}

fn doc(id: &str, title: &str, messages: usize) -> Value {
    let mut data = SessionData::new(id);
    data.title = Some(title.to_string());
    data.provider = Some("openai".into());
    data.model = Some("m".into());
    for i in 0..messages {
        data.messages.push(agent::Message::user(format!("m{i}")));
    }
    data.to_value()
}

fn agent_on(store: Arc<dyn SessionStore>) -> Agent {
    Agent::builder()
        .provider_impl(Scripted::new())
        .model("m")
        .store_arc(store)
        .build()
        .unwrap()
}

fn crud(kind: Kind) {
    let f = Fixture::new(kind);
    let s = f.open();
    assert_eq!(s.load("a").unwrap(), None);
    assert!(!s.delete("a").unwrap());
    assert!(s.list_sessions().unwrap().is_empty());
    s.save("a", &doc("a", "first", 2)).unwrap();
    s.save("b", &doc("b", "second", 0)).unwrap();
    s.save("a", &doc("a", "first, again", 3)).unwrap();
    assert_eq!(s.load("a").unwrap(), Some(doc_with_title(&s, "a")));
    let mut ids = f.open().list_sessions().unwrap();
    ids.sort();
    assert_eq!(ids, ["a", "b"]);
    let mut sums = f.open().summaries().unwrap();
    sums.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(
        (sums[0].title.as_deref(), sums[0].message_count),
        (Some("first, again"), 3)
    );
    assert_eq!(
        (sums[1].model.as_deref(), sums[1].message_count),
        (Some("m"), 0)
    );
    assert!(s.delete("a").unwrap());
    assert_eq!(s.load("a").unwrap(), None);
    assert_eq!(f.open().summaries().unwrap().len(), 1);
    assert!(
        s.load("../x").is_err(),
        "ids are validated before the store is touched"
    );
}

fn doc_with_title(s: &Arc<dyn SessionStore>, id: &str) -> Value {
    let v = s.load(id).unwrap().unwrap();
    assert_eq!(v["title"], "first, again");
    v
}

fn unknown_fields_survive(kind: Kind) {
    let f = Fixture::new(kind);
    let mut raw = doc("u", "t", 1);
    raw["future_field"] = json!({"nested": [1, 2]});
    raw["messages"][0]["mood"] = json!("curious");
    let s = f.open();
    s.save("u", &raw).unwrap();
    let bytes = |v: &Value| serde_json::to_vec(v).unwrap();
    assert_eq!(
        bytes(&s.load("u").unwrap().unwrap()),
        bytes(&raw),
        "same JSON, same key order"
    );
    let mut session = agent::block_on(agent_on(f.open()).load_session("u")).unwrap();
    agent::block_on(session.add_message(agent::Message::assistant("ok"))).unwrap();
    let back = f.open().load("u").unwrap().unwrap();
    assert_eq!(back["future_field"], raw["future_field"]);
    assert_eq!(back["messages"][0]["mood"], "curious");
    assert_eq!(back["messages"].as_array().unwrap().len(), 2);
}

fn lock_is_exclusive(kind: Kind) {
    let f = Fixture::new(kind);
    let (a, b) = (f.open(), f.open());
    let held = a.try_lock("s").unwrap().expect("free lock");
    assert!(a.try_lock("s").unwrap().is_none(), "same store");
    assert!(b.try_lock("s").unwrap().is_none(), "another connection");
    assert!(
        b.try_lock("other").unwrap().is_some(),
        "locks are per session"
    );
    drop(held);
    assert!(b.try_lock("s").unwrap().is_some(), "released on drop");
    let _held = a.try_lock("s").unwrap().unwrap();
    let err = store::lock(&*b, "s", Some(Duration::from_millis(100)), &mut || {}).unwrap_err();
    assert!(matches!(err, Error::Busy { .. }), "{err}");
}

/// A holder that keeps its guard renews it past the TTL; one that crashed (its guard leaked
/// and its store gone, so nothing renews) loses the lock once the TTL runs out.
fn lock_expires_after_a_crash(kind: Kind) {
    let f = Fixture::new(kind);
    let ttl = Duration::from_millis(500);
    let (a, b) = (f.open_ttl(ttl), f.open_ttl(ttl));
    let held = a.try_lock("s").unwrap().unwrap();
    std::thread::sleep(ttl * 3);
    assert!(b.try_lock("s").unwrap().is_none(), "renewed while held");
    drop(held);

    let crashed = f.open_ttl(ttl);
    std::mem::forget(crashed.try_lock("s").unwrap().unwrap());
    drop(crashed);
    assert!(b.try_lock("s").unwrap().is_none(), "not before the TTL");
    let start = Instant::now();
    let taken = loop {
        if let Some(guard) = b.try_lock("s").unwrap() {
            break guard;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "never taken over");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        start.elapsed() >= ttl / 2,
        "taken over too early: {:?}",
        start.elapsed()
    );
    b.save("s", &doc("s", "new holder", 0)).unwrap();
    drop(taken);
}

/// A holder whose lock changed hands (it stalled past the TTL and another took it) must not
/// overwrite the newer turn: its save fails and the document is untouched.
fn lost_lock_refuses_the_save(kind: Kind) {
    let f = Fixture::new(kind);
    let s = f.open();
    s.save("s", &doc("s", "before", 0)).unwrap();
    let _held = s.try_lock("s").unwrap().unwrap();
    f.steal_lock("s");
    let err = s.save("s", &doc("s", "stale", 0)).unwrap_err();
    assert!(err.to_string().contains("lost the turn lock"), "{err}");
    assert_eq!(f.open().load("s").unwrap().unwrap()["title"], "before");
}

/// N threads, each with its own connection and runtime, run a turn on one session at once:
/// every turn is recorded, whole, in user/assistant pairs.
fn concurrent_turns(kind: Kind) {
    const N: usize = 6;
    let f = Fixture::new(kind);
    agent::block_on(agent_on(f.open()).session_with(agent::SessionOptions::new().session_id("s")))
        .unwrap();
    std::thread::scope(|scope| {
        for i in 0..N {
            let store = f.open();
            scope.spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let mut session = rt.block_on(agent_on(store).load_session("s")).unwrap();
                rt.block_on(session.run(format!("q{i}"))).unwrap();
            });
        }
    });
    let data = store::load_data(&*f.open(), "s").unwrap();
    assert_eq!(data.messages.len(), 2 * N);
    let mut asked: Vec<String> = Vec::new();
    for pair in data.messages.chunks(2) {
        assert_eq!((pair[0].role, pair[1].role), (Role::User, Role::Assistant));
        assert_eq!(pair[1].content, format!("You said: {}", pair[0].content));
        asked.push(pair[0].content.clone());
    }
    asked.sort();
    assert_eq!(asked, (0..N).map(|i| format!("q{i}")).collect::<Vec<_>>());
    let summary = f.open().summaries().unwrap();
    assert_eq!(
        summary[0].message_count,
        2 * N,
        "the index follows every save"
    );
}

/// A document that is not JSON, or not a session, is an `InvalidSession` (exit 6) naming it,
/// and `agent store check` reports each one without changing anything.
fn corrupt_data_is_reported(kind: Kind) {
    let f = Fixture::new(kind);
    let s = f.open();
    for id in ["good", "broken", "alien"] {
        s.save(id, &doc(id, "t", 1)).unwrap();
    }
    f.corrupt("broken", "{\"version\": 1, \"id\": \"bro");
    s.save("alien", &json!({"hello": "world"})).unwrap();
    for id in ["broken", "alien"] {
        let err = store::load_data(&*f.open(), id).unwrap_err();
        assert!(matches!(err, Error::InvalidSession { .. }), "{err}");
        assert!(err.to_string().contains(id), "names the document: {err}");
    }
    let env = TestEnv::new();
    let out = env.cmd().args(["store", "check", &f.url()]).code(6);
    let err = stderr(&out);
    assert!(
        err.contains("broken") && err.contains("alien") && !err.contains("good"),
        "{err}"
    );
    assert!(err.contains("2 of 3"), "{err}");
    assert_eq!(f.open().load("good").unwrap(), Some(doc_of(&f, "good")));
    f.open().delete("broken").unwrap();
    f.open().delete("alien").unwrap();
    let out = env
        .cmd()
        .args(["store", "check", &f.url()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

/// `?prefix=` keeps stores apart on one Redis; `?lock_ttl=` sets how long a lock outlives its
/// holder; both are agent's, not passed on to the Redis client; bad values are usage errors.
#[test]
fn redis_url_parameters() {
    let f = Fixture::new(Kind::Redis);
    let url = f.url();
    let team = |name: &str| store::open(&format!("{url}?prefix={name}&lock_ttl=0.5")).unwrap();
    let (a, b) = (team("team-a"), team("team-b"));
    a.save("s", &doc("s", "a's", 0)).unwrap();
    assert_eq!(b.load("s").unwrap(), None);
    assert_eq!(b.list_sessions().unwrap(), Vec::<String>::new());
    assert_eq!(a.list_sessions().unwrap(), ["s"]);
    assert_eq!(
        f.open().load("s").unwrap(),
        None,
        "the default prefix is apart too"
    );

    let mut conn = ::redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let exists: bool = ::redis::cmd("EXISTS")
        .arg("team-a:session:s")
        .query(&mut conn)
        .unwrap();
    assert!(exists);
    let _held = a.try_lock("s").unwrap().unwrap();
    let pttl: i64 = ::redis::cmd("PTTL")
        .arg("team-a:lock:s")
        .query(&mut conn)
        .unwrap();
    assert!((1..=500).contains(&pttl), "{pttl}");

    for bad in ["?prefix=", "?prefix=a b", "?lock_ttl=soon", "?lock_ttl=0"] {
        let err = store::open(&format!("{url}{bad}")).err().unwrap();
        assert!(matches!(err, Error::Usage(_)), "{bad}: {err}");
    }
}

fn doc_of(f: &Fixture, id: &str) -> Value {
    f.open().load(id).unwrap().unwrap()
}

/// One `#[test]` per store and scenario: `per_store!(sqlite: Sqlite; [crud])` makes
/// `sqlite::crud`, which runs `crud(Kind::Sqlite)`.
macro_rules! per_store {
    ($($module:ident: $kind:ident),+; $scenarios:tt) => {
        $(per_store!(@one $module $kind $scenarios);)+
    };
    (@one $module:ident $kind:ident [$($scenario:ident),* $(,)?]) => {
        mod $module {
            $(#[test] fn $scenario() { super::$scenario(crate::stores::Kind::$kind) })*
        }
    };
}
pub(crate) use per_store;

per_store!(dir: Dir, sqlite: Sqlite, redis: Redis, postgres: Postgres; [
    crud,
    unknown_fields_survive,
    lock_is_exclusive,
    concurrent_turns,
    corrupt_data_is_reported,
]);

// Leases with an expiry exist on the shared stores only; the directory store's flock dies
// with its process.
per_store!(sqlite_lease: Sqlite, redis_lease: Redis, postgres_lease: Postgres; [
    lock_expires_after_a_crash,
    lost_lock_refuses_the_save,
]);
