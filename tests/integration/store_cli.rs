//! The CLI on SQLite, Redis and PostgreSQL stores: `store copy` round trips, parallel turns from separate
//! processes, two machines (data dirs) sharing one Redis, store selection and redaction.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use serde_json::Value;

use crate::stores::{per_store, Fixture, Kind};
use crate::util::*;

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        stderr(out)
    );
    stdout(out)
}

#[test]
fn copy_dir_to_sqlite_and_back_is_byte_equivalent() {
    let env = TestEnv::new();
    for id in ["a", "b", "c"] {
        ok(&env
            .cmd()
            .args(["session", "new", "--id", id, "--title", id])
            .output()
            .unwrap());
        ok(&env
            .cmd()
            .args(["session", "add", id, "--role", "user", "hello"])
            .output()
            .unwrap());
    }
    let db = format!("sqlite:{}", env.path().join("s.db").display());
    let copy = env
        .cmd()
        .args([
            "store",
            "copy",
            &format!("dir:{}", env.data_dir().display()),
            &db,
        ])
        .output()
        .unwrap();
    ok(&copy);
    assert!(
        stderr(&copy).contains("copied 3 session(s)"),
        "{}",
        stderr(&copy)
    );
    let mode = std::fs::metadata(env.path().join("s.db"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the database is private");
    let back = format!("dir:{}", env.path().join("back").display());
    ok(&env
        .cmd()
        .args(["store", "copy", &db, &back, "--ids", "b"])
        .output()
        .unwrap());
    let export = |store: &str, id: &str| {
        ok(&env
            .cmd()
            .args(["--store", store, "session", "export", id])
            .output()
            .unwrap())
    };
    for id in ["a", "b", "c"] {
        assert_eq!(
            export(&db, id),
            export(&format!("dir:{}", env.data_dir().display()), id)
        );
    }
    assert_eq!(export(&back, "b"), export(&db, "b"));
    assert_eq!(
        ok(&env
            .cmd()
            .args(["--store", &back, "session", "ls"])
            .output()
            .unwrap())
        .lines()
        .count(),
        1
    );
    // A clash copies nothing without --force; an unknown id copies nothing at all.
    let again = env
        .cmd()
        .args(["store", "copy", &db, &back])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(stderr(&again).contains("already exist") && stderr(&again).contains('b'));
    let missing = env
        .cmd()
        .args(["store", "copy", &db, &back, "--ids", "a", "nope"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(5), "{}", stderr(&missing));
    assert_eq!(
        ok(&env
            .cmd()
            .args(["--store", &back, "session", "ls"])
            .output()
            .unwrap())
        .lines()
        .count(),
        1
    );
    ok(&env
        .cmd()
        .args(["store", "copy", &db, &back, "--force"])
        .output()
        .unwrap());
    assert_eq!(
        ok(&env
            .cmd()
            .args(["--store", &back, "session", "ls"])
            .output()
            .unwrap())
        .lines()
        .count(),
        3
    );
}

/// Ten `agent session run` processes on one session at once: twenty new messages, each prompt
/// followed by its own reply, and each request carried every earlier turn.
fn parallel_runs(kind: Kind) {
    let f = Fixture::new(kind);
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.fallback(MockResponse::openai_stream(&["Hel", "lo"]).slow(Duration::from_millis(20)));
    let url = f.url();
    ok(&env
        .cmd()
        .args(["--store", &url, "session", "new", "--id", "s"])
        .output()
        .unwrap());
    let cmds = (0..10)
        .map(|i| {
            let mut c = env.agent(&server);
            c.args(["--store", &url, "session", "run", "s", &format!("q{i}")]);
            to_std(&c)
        })
        .collect();
    for out in run_all(cmds) {
        assert_eq!(ok(&out), "Hello\n");
    }
    let doc: Value = serde_json::from_str(&ok(&env
        .cmd()
        .args(["--store", &url, "session", "export", "s"])
        .output()
        .unwrap()))
    .unwrap();
    let messages = doc["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 20);
    let mut prompts: Vec<&str> = Vec::new();
    for pair in messages.chunks(2) {
        assert_eq!(
            (pair[0]["role"].as_str(), pair[1]["role"].as_str()),
            (Some("user"), Some("assistant"))
        );
        assert_eq!(pair[1]["content"], "Hello");
        prompts.push(pair[0]["content"].as_str().unwrap());
    }
    prompts.sort();
    assert_eq!(
        prompts,
        ["q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9"]
    );
    let mut sent: Vec<usize> = (0..10)
        .map(|i| server.body(i)["messages"].as_array().unwrap().len())
        .collect();
    sent.sort();
    assert_eq!(
        sent,
        (0..10).map(|k| 2 * k + 1).collect::<Vec<_>>(),
        "turns ran one after another"
    );
}

/// Two runners with their own data dirs (two machines) continue one session kept in Redis.
#[test]
fn two_data_dirs_share_a_redis_session() {
    let redis = RedisServer::start();
    let (one, two, server) = (TestEnv::new(), TestEnv::new(), MockServer::start());
    server.fallback(MockResponse::openai_stream(&["Hel", "lo"]));
    let run = |env: &TestEnv, prompt: &str| {
        let mut c = env.agent(&server);
        c.env("AGENT_STORE", redis.url())
            .args(["session", "run", "--create", "shared", prompt]);
        ok(&c.output().unwrap())
    };
    run(&one, "My name is Alice");
    run(&two, "What is my name?");
    let sent = server.body(1)["messages"].clone();
    let contents: Vec<&str> = sent
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["My name is Alice", "Hello", "What is my name?"]);
    assert!(!one.data_dir().join("sessions").exists() && !two.data_dir().join("sessions").exists());
    let ls = ok(&one
        .cmd()
        .env("AGENT_STORE", redis.url())
        .args(["session", "ls"])
        .output()
        .unwrap());
    assert!(ls.starts_with("shared ") && ls.contains("    4  "), "{ls}");
}

/// `--store` beats `AGENT_STORE`, which beats `store:` in config.yaml.
#[test]
fn store_precedence() {
    let env = TestEnv::new();
    let db = |name: &str| format!("sqlite:{}", env.path().join(name).display());
    env.write_config(&format!("store: {}\n", db("config.db")));
    ok(&env
        .cmd()
        .args(["session", "new", "--id", "c"])
        .output()
        .unwrap());
    ok(&env
        .cmd()
        .env("AGENT_STORE", db("env.db"))
        .args(["session", "new", "--id", "e"])
        .output()
        .unwrap());
    ok(&env
        .cmd()
        .env("AGENT_STORE", db("env.db"))
        .args(["--store", &db("flag.db"), "session", "new", "--id", "f"])
        .output()
        .unwrap());
    for (store, id) in [("config.db", "c"), ("env.db", "e"), ("flag.db", "f")] {
        let ls = ok(&env
            .cmd()
            .args(["--store", &db(store), "session", "ls"])
            .output()
            .unwrap());
        assert!(
            ls.starts_with(&format!("{id} ")) && ls.lines().count() == 1,
            "{store}: {ls}"
        );
    }
    assert!(
        !env.data_dir().join("sessions").exists(),
        "the data dir store was not used"
    );
}

#[test]
fn credentials_never_printed() {
    let env = TestEnv::new();
    // Nothing listens on port 1: the connection is refused at once.
    let url = "redis://admin:hunter2-SECRET@127.0.0.1:1/0";
    for args in [
        vec!["-v", "--store", url, "session", "ls"],
        vec!["store", "check", url],
    ] {
        let out = env.cmd().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            text.contains("redis://***@127.0.0.1:1/0") && !text.contains("hunter2"),
            "{text}"
        );
    }
    let out = env
        .cmd()
        .env("AGENT_STORE", url)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        !stdout(&out).contains("hunter2"),
        "--help hides the env value"
    );
    let out = env
        .cmd()
        .args(["--store", "mongodb://u:hunter2@h/x", "session", "ls"])
        .code(2);
    assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));
}

/// A PostgreSQL schema written by a newer agent is refused with exit 6, and never altered.
#[test]
fn a_newer_postgres_schema_is_refused_untouched() {
    let env = TestEnv::new();
    let url = crate::pg::PgServer::shared().fresh_url();
    env.cmd()
        .args(["--store", &url, "session", "new", "--id", "a"])
        .passes();
    let schema = url.rsplit_once("schema=").unwrap().1;
    let mut pg = crate::pg::PgServer::shared().client();
    let meta = format!(r#"UPDATE "{schema}".meta SET value = '99' WHERE key = 'schema_version'"#);
    assert_eq!(pg.execute(&meta, &[]).unwrap(), 1);
    let out = env
        .cmd()
        .args(["--store", &url, "session", "new", "--id", "b"])
        .code(6);
    assert!(
        stderr(&out).contains("version 99, written by a newer agent"),
        "{}",
        stderr(&out)
    );
    let version: String = pg
        .query_one(
            &format!(r#"SELECT value FROM "{schema}".meta WHERE key = 'schema_version'"#),
            &[],
        )
        .unwrap()
        .get(0);
    let ids: Vec<String> = pg
        .query(&format!(r#"SELECT id FROM "{schema}".sessions"#), &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!((version.as_str(), ids), ("99", vec!["a".to_string()]));
}

/// `rediss://` through rustls: a server with a certificate from a private CA is trusted once
/// `SSL_CERT_FILE` names the CA, refused otherwise, and the password never shows.
#[test]
fn rediss_uses_tls() {
    let certs = tempfile::tempdir().unwrap();
    let openssl = |args: &str| {
        let ok = std::process::Command::new("openssl")
            .args(args.split(' '))
            .current_dir(certs.path())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl is needed to make test certificates: apt-get install -y openssl");
        assert!(ok.success(), "openssl {args}");
    };
    std::fs::write(certs.path().join("ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl("req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=ca");
    openssl("req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1");
    openssl("x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 -extfile ext");
    let tls_port = free_port();
    let path = |f: &str| certs.path().join(f).display().to_string();
    let args = [
        "--tls-port",
        &tls_port.to_string(),
        "--tls-cert-file",
        &path("srv.crt"),
    ]
    .into_iter()
    .chain([
        "--tls-key-file",
        &path("srv.key"),
        "--tls-ca-cert-file",
        &path("ca.crt"),
    ])
    .chain([
        "--tls-auth-clients",
        "no",
        "--requirepass",
        "hunter2-SECRET",
    ])
    .map(str::to_string)
    .collect::<Vec<_>>();
    let _redis = RedisServer::start_with(&args);
    let env = TestEnv::new();
    let url = format!("rediss://:hunter2-SECRET@127.0.0.1:{tls_port}/0");
    let trusted = |c: &mut assert_cmd::Command| {
        c.env("SSL_CERT_FILE", path("ca.crt"))
            .env("AGENT_STORE", &url);
    };
    let mut new = env.cmd();
    trusted(&mut new);
    ok(&new.args(["session", "new", "--id", "t"]).output().unwrap());
    let mut ls = env.cmd();
    trusted(&mut ls);
    assert!(ok(&ls.args(["session", "ls"]).output().unwrap()).starts_with("t "));
    let refused = env
        .cmd()
        .env("AGENT_STORE", &url)
        .args(["session", "ls"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let err = stderr(&refused);
    assert!(
        err.contains("certificate") && !err.contains("hunter2"),
        "{err}"
    );
}

/// Every `session` command, unchanged, on a store other than the data directory.
fn every_command(kind: Kind) {
    let f = Fixture::new(kind);
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(MockResponse::openai_error(500, "boom", "server_error"));
    server.push(MockResponse::openai_error(500, "boom", "server_error"));
    server.push(MockResponse::openai_error(500, "boom", "server_error"));
    server.fallback(MockResponse::openai_stream(&["Hel", "lo"]));
    let url = f.url();
    let run = |args: &[&str]| {
        let mut c = env.agent(&server);
        c.env("AGENT_STORE", &url).args(args).output().unwrap()
    };
    ok(&run(&[
        "session",
        "new",
        "--id",
        "s",
        "--system",
        "Be brief.",
    ]));
    let failed = run(&["session", "run", "s", "first"]);
    assert_eq!(failed.status.code(), Some(3), "{}", stderr(&failed));
    assert_eq!(ok(&run(&["session", "retry", "s"])), "Hello\n");
    ok(&run(&["session", "add", "s", "--role", "user", "noted"]));
    assert_eq!(
        ok(&run(&["session", "fork", "s", "--id", "f", "--at", "2"])),
        "f\n"
    );
    let show = ok(&run(&["session", "show", "f"]));
    assert!(show.contains("first") && !show.contains("noted"), "{show}");
    let export = ok(&run(&["session", "export", "s"]));
    let doc: Value = serde_json::from_str(&export).unwrap();
    assert_eq!(doc["messages"].as_array().unwrap().len(), 3);
    assert!(
        doc.get("failed_turn").is_none(),
        "retry cleared the failed turn"
    );
    ok(&run(&["session", "clear", "s"]));
    ok(&run(&["session", "rm", "s"]));
    let mut import = env.cmd();
    import
        .env("AGENT_STORE", &url)
        .args(["session", "import", "-"])
        .write_stdin(export.clone());
    assert_eq!(ok(&import.output().unwrap()), "s\n");
    assert_eq!(
        ok(&run(&["session", "export", "s"])),
        export,
        "byte-equivalent round trip"
    );
    let ls = ok(&run(&["session", "ls"]));
    assert_eq!(ls.lines().count(), 2, "{ls}");
    let gone = run(&["session", "show", "nope"]);
    assert_eq!(gone.status.code(), Some(5));
}

/// A turn killed with `kill -9` holds its lock until the TTL (30 s) on a shared store; on the
/// same machine the next turn sees the holder is dead and goes ahead at once.
fn a_dead_holders_lock_is_taken_at_once(kind: Kind) {
    let f = Fixture::new(kind);
    let (env, server) = (TestEnv::new(), MockServer::start());
    let url = f.url();
    ok(&env
        .cmd()
        .args(["--store", &url, "session", "new", "--id", "s"])
        .output()
        .unwrap());
    let slow: Vec<&str> = vec!["tick "; 100];
    server.push(MockResponse::openai_stream(&slow).slow(Duration::from_millis(50)));
    server.push(MockResponse::openai_stream(&["after"]));
    let mut victim = to_std(
        env.agent(&server)
            .args(["--store", &url, "session", "run", "s", "first"]),
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    // The lock is taken before the request is sent.
    for _ in 0..250 {
        if !server.requests().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.requests().len(), 1, "the first turn never started");
    victim.kill().unwrap();
    victim.wait().unwrap();
    // Far below the TTL: only a take-over lets this turn run.
    let out = env
        .agent(&server)
        .args([
            "--store",
            &url,
            "session",
            "run",
            "s",
            "--lock-timeout",
            "5",
            "next",
        ])
        .output()
        .unwrap();
    assert_eq!(ok(&out), "after\n");
    assert_eq!(contents(&server.body(1)["messages"]), ["next"]);
}

per_store!(sqlite: Sqlite, redis: Redis, postgres: Postgres; [
    parallel_runs,
    every_command,
    a_dead_holders_lock_is_taken_at_once,
]);
