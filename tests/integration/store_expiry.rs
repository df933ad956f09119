//! Session expiry and pruning on every store: `session new --ttl`, a store URL's `?ttl=`, the
//! sessions past it hidden from `ls`, `show` and completion, `session prune` with its limits
//! and the config's `retention:`, and Redis's own key expiry refreshed by every save.

use serde_json::Value;

use crate::stores::{per_store, Fixture, Kind};
use crate::util::*;

const LONG_AGO: &str = "2020-01-02T03:04:05.000Z";

/// Import a session `id` last used at `updated_at`, with `ttl` if given.
fn import(env: &TestEnv, url: &str, id: &str, updated_at: &str, ttl: Option<&str>) {
    let mut doc: Value = serde_json::json!({
        "version": 1, "id": id, "title": null, "created_at": updated_at,
        "updated_at": updated_at, "provider": null, "model": null, "system": null,
        "options": {}, "messages": [], "forked_from": null
    });
    if let Some(ttl) = ttl {
        doc["ttl"] = ttl.into();
    }
    env.cmd()
        .args(["--store", url, "session", "import", "-"])
        .write_stdin(doc.to_string())
        .passes();
}

fn ls_ids(env: &TestEnv, url: &str) -> Vec<String> {
    let out = stdout(
        &env.cmd()
            .args(["--store", url, "session", "ls", "--ids"])
            .passes(),
    );
    let mut ids: Vec<String> = out.lines().map(str::to_string).collect();
    ids.sort();
    ids
}

/// Ids `agent session show <TAB>` offers.
fn completed(env: &TestEnv, url: &str) -> Vec<String> {
    // fish's protocol: the words on the line, the last one being completed; one per line.
    let out = env
        .cmd()
        .env("AGENT_COMPLETE", "fish")
        .env("AGENT_STORE", url)
        .args(["--", "agent", "session", "show", ""])
        .passes();
    let mut ids: Vec<String> = stdout(&out)
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .filter(|c| !c.starts_with('-'))
        .collect();
    ids.sort();
    ids
}

fn expired_sessions_are_gone_until_pruned(kind: Kind) {
    let f = Fixture::new(kind);
    let env = TestEnv::new();
    let url = f.url();
    let fresh = stdout(
        &env.cmd()
            .args(["--store", &url, "session", "new", "--ttl", "7d"])
            .passes(),
    );
    let fresh = fresh.trim().to_string();
    import(&env, &url, "old", LONG_AGO, Some("1d"));
    import(&env, &url, "kept", LONG_AGO, None);
    let doc: Value = serde_json::from_slice(
        &env.cmd()
            .args(["--store", &url, "session", "export", &fresh])
            .passes()
            .stdout,
    )
    .unwrap();
    assert_eq!(doc["ttl"], "7days");
    let mut live = vec!["kept".to_string(), fresh.clone()];
    live.sort();
    assert_eq!(ls_ids(&env, &url), live);
    assert_eq!(completed(&env, &url), live);
    env.cmd()
        .args(["--store", &url, "session", "show", "old"])
        .code(5);
    let json = stdout(
        &env.cmd()
            .args(["--store", &url, "session", "ls", "--json"])
            .passes(),
    );
    assert!(json.contains("\"expires_at\""), "{json}");

    // A store default: sessions without a TTL of their own expire 30 days after their last use.
    let short = crate::store_crypt::with_param(&url, "ttl=30d");
    assert_eq!(ls_ids(&env, &short), std::slice::from_ref(&fresh));

    let dry = env
        .cmd()
        .args(["--store", &short, "session", "prune", "--dry-run"])
        .passes();
    assert_eq!(stdout(&dry), "kept\nold\n");
    assert!(stderr(&dry).contains("would delete 2"), "{}", stderr(&dry));
    assert_eq!(ls_ids(&env, &url), live, "a dry run deletes nothing");
    let pruned = env
        .cmd()
        .args(["--store", &url, "session", "prune"])
        .passes();
    assert_eq!(stdout(&pruned), "old\n");
    assert_eq!(ls_ids(&env, &url), live);
    let pruned = env
        .cmd()
        .args(["--store", &short, "session", "prune"])
        .passes();
    assert_eq!(stdout(&pruned), "kept\n");
    assert_eq!(ls_ids(&env, &url), [fresh]);
}

fn prune_keeps_the_newest_and_the_recent(kind: Kind) {
    let f = Fixture::new(kind);
    let env = TestEnv::new();
    let url = f.url();
    for (id, at) in [
        ("a", "2021-01-01T00:00:00.000Z"),
        ("b", "2022-01-01T00:00:00.000Z"),
        ("c", "2023-01-01T00:00:00.000Z"),
    ] {
        import(&env, &url, id, at, None);
    }
    env.cmd()
        .args(["--store", &url, "session", "new", "--id", "now"])
        .passes();
    let out = env
        .cmd()
        .args([
            "--store",
            &url,
            "session",
            "prune",
            "--keep",
            "3",
            "--dry-run",
        ])
        .passes();
    assert_eq!(stdout(&out), "a\n");
    env.write_config("retention:\n  max_count: 3\n");
    assert_eq!(
        stdout(
            &env.cmd()
                .args(["--store", &url, "session", "prune"])
                .passes()
        ),
        "a\n"
    );
    // c is from 2023: a limit of mid-2022 keeps it, whatever year the test runs in.
    let cutoff = crate::util::days_since("2022-06-01T00:00:00.000Z");
    env.write_config(&format!("retention:\n  max_age: {cutoff}d\n"));
    let out = env
        .cmd()
        .args(["--store", &url, "session", "prune"])
        .passes();
    assert_eq!(stdout(&out), "b\n", "older than mid-2022");
    let out = env
        .cmd()
        .args(["--store", &url, "session", "prune", "--older-than", "1h"])
        .passes();
    assert_eq!(stdout(&out), "c\n", "the flag beats the config");
    assert_eq!(ls_ids(&env, &url), ["now"]);
    env.write_config("retention:\n  max_age: soon\n");
    env.cmd()
        .args(["--store", &url, "session", "prune"])
        .code(2);
}

per_store!(dir: Dir, sqlite: Sqlite, redis: Redis, postgres: Postgres; [
    expired_sessions_are_gone_until_pruned,
    prune_keeps_the_newest_and_the_recent,
]);

/// Redis drops an expired session itself: its key expires at the last update plus the TTL,
/// set again by every save.
#[test]
fn redis_key_expiry_follows_every_save() {
    let f = Fixture::new(Kind::Redis);
    let env = TestEnv::new();
    let url = f.url();
    env.cmd()
        .args([
            "--store", &url, "session", "new", "--id", "s", "--ttl", "1h",
        ])
        .passes();
    let mut conn = ::redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let pttl = |conn: &mut ::redis::Connection| -> i64 {
        ::redis::cmd("PTTL")
            .arg("agent:session:s")
            .query(conn)
            .unwrap()
    };
    let first = pttl(&mut conn);
    assert!((3_500_000..=3_600_000).contains(&first), "{first}");
    ::redis::cmd("PEXPIRE")
        .arg("agent:session:s")
        .arg(60_000)
        .exec(&mut conn)
        .unwrap();
    env.cmd()
        .args([
            "--store", &url, "session", "add", "s", "--role", "user", "hi",
        ])
        .passes();
    assert!(pttl(&mut conn) > 3_500_000, "the save set the expiry again");
    let plain = crate::store_crypt::with_param(&url, "prefix=other&ttl=2h");
    env.cmd()
        .args(["--store", &plain, "session", "new", "--id", "d"])
        .passes();
    let default: i64 = ::redis::cmd("PTTL")
        .arg("other:session:d")
        .query(&mut conn)
        .unwrap();
    assert!((7_100_000..=7_200_000).contains(&default), "{default}");
    env.cmd()
        .args(["--store", &url, "session", "new", "--id", "forever"])
        .passes();
    let none: i64 = ::redis::cmd("PTTL")
        .arg("agent:session:forever")
        .query(&mut conn)
        .unwrap();
    assert_eq!(none, -1, "no TTL, no expiry");
}
