//! Encryption at rest on every store: nothing typed into a session is readable in what the
//! store keeps, a wrong or missing key is exit 6 and changes nothing, `store check --migrate`
//! seals what was stored before, `store copy` encrypts and decrypts as its URLs say, and the
//! key is never printed or written.

use crate::stores::{per_store, Fixture, Kind};
use crate::util::*;

/// Base64 of 32 bytes: the test's store key, and another one.
pub(crate) const STORE_KEY: &str = "S2V5LWZvci10aGUtdGVzdHMtMzItYnl0ZXMtbG9uZyE=";
const OTHER_KEY: &str = "QW5vdGhlci1rZXktMzItYnl0ZXMtbG9uZy4uLi4uLiE=";
/// Typed into a session: no stored byte may contain it.
const SECRET: &str = "correct-horse-battery-staple-42";

/// `url` with one more query parameter.
pub(crate) fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

/// Every byte the store keeps: its files, every Redis key and value, every PostgreSQL row.
fn stored_bytes(f: &Fixture) -> Vec<u8> {
    let mut out = Vec::new();
    match f.kind {
        Kind::Dir | Kind::Sqlite => {
            fn walk(dir: &std::path::Path, out: &mut Vec<u8>) {
                for e in std::fs::read_dir(dir).unwrap().flatten() {
                    let p = e.path();
                    out.extend(p.to_string_lossy().as_bytes());
                    match p.is_dir() {
                        true => walk(&p, out),
                        false => out.extend(std::fs::read(&p).unwrap()),
                    }
                }
            }
            walk(f.dir.path(), &mut out);
        }
        Kind::Redis => {
            let client = ::redis::Client::open(f.url()).unwrap();
            let mut conn = client.get_connection().unwrap();
            let keys: Vec<String> = ::redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
            assert!(!keys.is_empty());
            for key in keys {
                let dump: Vec<u8> = ::redis::cmd("DUMP").arg(&key).query(&mut conn).unwrap();
                out.extend(key.as_bytes());
                out.extend(dump);
            }
            // DUMP may compress (LZF) a long value: read the values as they are, too.
            let docs: Vec<String> = ::redis::cmd("KEYS")
                .arg("agent:session:*")
                .query(&mut conn)
                .unwrap();
            for key in docs {
                let v: Vec<u8> = ::redis::cmd("GET").arg(&key).query(&mut conn).unwrap();
                out.extend(v);
            }
            let hash: Vec<Vec<u8>> = ::redis::cmd("HGETALL")
                .arg("agent:summaries")
                .query(&mut conn)
                .unwrap();
            out.extend(hash.concat());
        }
        Kind::Postgres => {
            let mut client = PgServer::shared().client();
            let schema = f.schema();
            for row in client
                .query(
                    &format!(
                        r#"SELECT id, coalesce(title, ''), created_at, updated_at,
                                  coalesce(provider, ''), coalesce(model, ''),
                                  coalesce(meta, ''::bytea), doc
                           FROM "{schema}".sessions"#
                    ),
                    &[],
                )
                .unwrap()
            {
                for i in 0..6 {
                    out.extend(row.get::<_, String>(i).as_bytes());
                }
                out.extend(row.get::<_, Vec<u8>>(6));
                out.extend(row.get::<_, Vec<u8>>(7));
            }
            for row in client
                .query(&format!(r#"SELECT id || owner FROM "{schema}".locks"#), &[])
                .unwrap()
            {
                out.extend(row.get::<_, String>(0).as_bytes());
            }
        }
    }
    out
}

/// The stored document of `id`, as bytes, bypassing the store.
pub(crate) fn raw_doc(f: &Fixture, id: &str) -> Vec<u8> {
    match f.kind {
        Kind::Dir => std::fs::read(f.dir.path().join(format!("data/sessions/{id}.json"))).unwrap(),
        Kind::Sqlite => {
            let conn = rusqlite::Connection::open(f.dir.path().join("db/sessions.db")).unwrap();
            conn.query_row(
                "SELECT CAST(doc AS BLOB) FROM sessions WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap()
        }
        Kind::Redis => {
            let client = ::redis::Client::open(f.url()).unwrap();
            let mut conn = client.get_connection().unwrap();
            ::redis::cmd("GET")
                .arg(format!("agent:session:{id}"))
                .query(&mut conn)
                .unwrap()
        }
        Kind::Postgres => PgServer::shared()
            .client()
            .query_one(
                &format!(r#"SELECT doc FROM "{}".sessions WHERE id = $1"#, f.schema()),
                &[&id],
            )
            .unwrap()
            .get(0),
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn encrypted_at_rest(kind: Kind) {
    let f = Fixture::new(kind);
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.fallback(MockResponse::openai_stream(&["You said ", SECRET]));
    let url = with_param(&f.url(), "encrypt");
    let agent = |key: &str| {
        let mut c = env.agent(&server);
        c.env("AGENT_STORE", &url).env("AGENT_STORE_KEY", key);
        c
    };
    let title = format!("about {SECRET}");
    agent(STORE_KEY)
        .args([
            "session", "new", "--id", "s", "--title", &title, "--ttl", "30d",
        ])
        .passes();
    agent(STORE_KEY)
        .args(["session", "run", "s", &format!("remember {SECRET}")])
        .passes();
    let ls = stdout(&agent(STORE_KEY).args(["session", "ls"]).passes());
    assert!(ls.contains(&title), "listed with its title: {ls}");
    let show = stdout(&agent(STORE_KEY).args(["session", "show", "s"]).passes());
    assert!(show.contains(SECRET), "{show}");
    let stored = stored_bytes(&f);
    assert!(!contains(&stored, SECRET), "the secret is stored readable");
    assert!(
        !contains(&stored, "openai"),
        "the provider is stored readable"
    );
    assert!(!contains(&stored, STORE_KEY), "the key is stored");
    assert!(raw_doc(&f, "s").starts_with(b"\x89AGS"));

    // A wrong key and no key at all: exit 6, and the document stays as it was.
    let before = raw_doc(&f, "s");
    for (args, key) in [
        (vec!["session", "show", "s"], OTHER_KEY),
        (vec!["session", "run", "s", "more"], OTHER_KEY),
        (
            vec!["session", "add", "s", "--role", "user", "x"],
            OTHER_KEY,
        ),
    ] {
        let out = agent(key).args(&args).code(6);
        let err = stderr(&out);
        assert!(
            err.contains("cannot decrypt session 's'") && err.contains("another key"),
            "{err}"
        );
        assert!(
            !err.contains(STORE_KEY) && !err.contains(OTHER_KEY),
            "{err}"
        );
    }
    let out = env
        .cmd()
        .args(["--store", &f.url(), "session", "show", "s"])
        .code(6);
    assert!(
        stderr(&out).contains("cannot decrypt session 's'"),
        "{}",
        stderr(&out)
    );
    assert_eq!(raw_doc(&f, "s"), before, "nothing was rewritten");
    let out = env
        .cmd()
        .args(["--store", &url, "session", "show", "s"])
        .code(2);
    assert!(
        stderr(&out).contains("AGENT_STORE_KEY is not set"),
        "{}",
        stderr(&out)
    );
}

/// A store holding plaintext documents, opened with a key: they are refused until
/// `store check --migrate` seals them.
fn migrate_seals_plaintext(kind: Kind) {
    let f = Fixture::new(kind);
    let env = TestEnv::new();
    let plain = f.url();
    env.cmd()
        .args([
            "--store", &plain, "session", "new", "--id", "p", "--title", SECRET,
        ])
        .passes();
    let url = with_param(&plain, "encrypt=env:MY_KEY");
    let with_key = || {
        let mut c = env.cmd();
        c.env("MY_KEY", STORE_KEY);
        c
    };
    let out = with_key()
        .args(["--store", &url, "session", "show", "p"])
        .code(6);
    let err = stderr(&out);
    assert!(
        err.contains("unencrypted") && err.contains("--migrate"),
        "{err}"
    );
    let out = with_key().args(["store", "check", &url]).code(6);
    assert!(stderr(&out).contains("unencrypted"), "{}", stderr(&out));
    let out = with_key()
        .args(["store", "check", &url, "--migrate"])
        .passes();
    assert!(stderr(&out).contains("migrated 1"), "{}", stderr(&out));
    assert!(raw_doc(&f, "p").starts_with(b"\x89AGS"));
    assert!(!contains(&stored_bytes(&f), SECRET));
    let ls = stdout(&with_key().args(["--store", &url, "session", "ls"]).passes());
    assert!(ls.contains(SECRET), "{ls}");
    // Once more changes nothing.
    let out = with_key()
        .args(["store", "check", &url, "--migrate"])
        .passes();
    assert!(stderr(&out).contains("migrated 0"), "{}", stderr(&out));
}

per_store!(dir: Dir, sqlite: Sqlite, redis: Redis, postgres: Postgres; [
    encrypted_at_rest,
    migrate_seals_plaintext,
]);

#[test]
fn store_copy_encrypts_and_decrypts_as_the_urls_say() {
    let env = TestEnv::new();
    env.cmd()
        .args(["session", "new", "--id", "a", "--title", SECRET])
        .passes();
    env.cmd()
        .args(["session", "add", "a", "--role", "user", SECRET])
        .passes();
    let plain = format!("dir:{}", env.data_dir().display());
    let db = env.path().join("sealed.db");
    let sealed = format!("sqlite:{}?encrypt", db.display());
    let back = format!("dir:{}", env.path().join("back").display());
    let keyed = || {
        let mut c = env.cmd();
        c.env("AGENT_STORE_KEY", STORE_KEY);
        c
    };
    keyed().args(["store", "copy", &plain, &sealed]).passes();
    let bytes = std::fs::read(&db).unwrap();
    assert!(!contains(&bytes, SECRET));
    keyed().args(["store", "copy", &sealed, &back]).passes();
    let export = |store: &str| {
        stdout(
            &keyed()
                .args(["--store", store, "session", "export", "a"])
                .passes(),
        )
    };
    assert_eq!(export(&back), export(&plain));
    assert_eq!(export(&sealed), export(&plain));
    assert!(contains(
        &std::fs::read(env.path().join("back/sessions/a.json")).unwrap(),
        SECRET
    ));
}

#[test]
fn keygen_prints_a_fresh_key_that_works() {
    let env = TestEnv::new();
    let key = stdout(&env.cmd().args(["store", "keygen"]).passes());
    let again = stdout(&env.cmd().args(["store", "keygen"]).passes());
    assert_ne!(key, again);
    let key = key.trim();
    assert_eq!(key.len(), 44, "{key}");
    let url = format!("dir:{}?encrypt", env.path().join("k").display());
    env.cmd()
        .env("AGENT_STORE_KEY", key)
        .args(["--store", &url, "session", "new", "--id", "k"])
        .passes();
    let bad = env
        .cmd()
        .env("AGENT_STORE_KEY", "c2hvcnQ=")
        .args(["--store", &url, "session", "ls"])
        .code(2);
    assert!(
        stderr(&bad).contains("5 bytes; it must be 32"),
        "{}",
        stderr(&bad)
    );
    assert!(
        !stderr(&bad).contains("c2hvcnQ"),
        "the key is never printed"
    );
}

/// The key is in no file, no output (`-v` included), and not in a tool's environment.
#[test]
fn the_key_is_never_written_nor_passed_to_tools() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    let tool = env.path().join("env.yaml");
    std::fs::write(
        &tool,
        "name: env\ndescription: print the environment\ncommand: [env]\n\
         parameters: {type: object, properties: {}}\n",
    )
    .unwrap();
    server.push(MockResponse::sse_events(&openai_tool_call("env", "{}")));
    server.fallback(MockResponse::openai_stream(&["done"]));
    let url = format!("dir:{}?encrypt=env:TEAM_KEY", env.data_dir().display());
    let out = env
        .agent(&server)
        .env("TEAM_KEY", STORE_KEY)
        .env("AGENT_STORE_KEY", OTHER_KEY)
        .args(["-v", "--store", &url, "session", "run", "--create", "t"])
        .arg("--tool")
        .arg(&tool)
        .args(["--yes", "go"])
        .passes();
    let printed = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        !printed.contains(STORE_KEY) && !printed.contains(OTHER_KEY),
        "{printed}"
    );
    let result = server.body(1).to_string();
    assert!(result.contains("PATH="), "the tool ran: {result}");
    assert!(
        !result.contains("TEAM_KEY") && !result.contains("AGENT_STORE_KEY"),
        "the tool saw a key variable: {result}"
    );
    for file in env.all_files() {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!contains(&bytes, STORE_KEY), "{}", file.display());
    }
}

/// An OpenAI stream whose reply is one call of `name` with `arguments`.
fn openai_tool_call(name: &str, arguments: &str) -> Vec<String> {
    let chunk = |delta: serde_json::Value, finish: serde_json::Value| {
        format!(
            "data: {}\n\n",
            serde_json::json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    };
    vec![
        chunk(
            serde_json::json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1",
                "type": "function", "function": {"name": name, "arguments": arguments}}]}),
            serde_json::Value::Null,
        ),
        chunk(serde_json::json!({}), serde_json::json!("tool_calls")),
        "data: [DONE]\n\n".to_string(),
    ]
}

/// A PostgreSQL password, in the URL's user part or `?password=`, shows nowhere: not in
/// errors, not with `-v`; `sslmode=require` against a server without TLS fails, saying so.
#[test]
fn postgres_credentials_never_printed() {
    let env = TestEnv::new();
    let port = free_port(); // nothing listens there
    for url in [
        format!("postgres://app:hunter2-SECRET@127.0.0.1:{port}/db"),
        format!("postgres://app@127.0.0.1:{port}/db?password=hunter2-SECRET"),
    ] {
        for args in [
            vec!["-v", "--store", &url, "session", "ls"],
            vec!["store", "check", &url],
        ] {
            let out = env.cmd().args(&args).code(1);
            let text = format!("{}{}", stdout(&out), stderr(&out));
            assert!(
                text.contains("cannot open") && !text.contains("hunter2"),
                "{text}"
            );
        }
    }
    let url = format!("{}&sslmode=require", PgServer::shared().fresh_url());
    let out = env.cmd().args(["--store", &url, "session", "ls"]).code(1);
    assert!(stderr(&out).contains("TLS"), "{}", stderr(&out));
}

/// `encrypt:` in the config seals the default data directory as `?encrypt=` would; a key file
/// others can read is refused, as ssh refuses such a private key.
#[test]
fn config_encrypt_seals_the_data_directory() {
    let env = TestEnv::new();
    env.write_config("encrypt:\n  key_env: TEAM_KEY\n");
    env.cmd()
        .env("TEAM_KEY", STORE_KEY)
        .args(["session", "new", "--id", "c", "--system", SECRET])
        .passes();
    assert!(!contains(&env.raw("c"), SECRET), "sealed");
    let missing = env.cmd().args(["session", "show", "c"]).code(2);
    assert!(
        stderr(&missing).contains("TEAM_KEY is not set"),
        "{}",
        stderr(&missing)
    );

    let key_file = env.path().join("config/agent/store.key");
    std::fs::write(&key_file, STORE_KEY).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    env.write_config("encrypt:\n  key_file: store.key\n");
    let open = env.cmd().args(["session", "show", "c"]).code(2);
    assert!(stderr(&open).contains("chmod 600"), "{}", stderr(&open));
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let shown = env.cmd().args(["session", "show", "c", "--json"]).passes();
    assert!(stdout(&shown).contains(SECRET));
    // A URL that says how it is encrypted (or that it is not) is left as it is.
    let plain = format!("dir:{}", env.path().join("plain").display());
    env.write_config(&format!(
        "store: {plain}?encrypt=env:OTHER\nencrypt:\n  key_env: TEAM_KEY\n"
    ));
    let other = env.cmd().args(["session", "ls"]).code(2);
    assert!(
        stderr(&other).contains("OTHER is not set"),
        "{}",
        stderr(&other)
    );
}
