//! Sessions as documents: creating, showing, listing, forking, importing and removing them.

use std::os::unix::fs::PermissionsExt;

use serde_json::{json, Value};

use crate::util::*;

#[test]
fn new_prints_only_the_id_and_creates_a_private_file() {
    let env = TestEnv::new();
    let out = env
        .cmd()
        .args(["session", "new", "--system", "Be brief."])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let id = stdout(&out);
    assert!(id.ends_with('\n') && id.trim().len() == 22, "{id:?}");
    let id = id.trim();
    let doc = env.doc(id);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["id"], id);
    assert_eq!(doc["system"], "Be brief.");
    assert_eq!(doc["messages"], json!([]));
    let mode = std::fs::metadata(env.session_path(id))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let dir_mode = std::fs::metadata(env.data_dir())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    let _: Value = doc;
}

#[test]
fn bad_ids_are_refused_before_touching_the_disk() {
    let env = TestEnv::new();
    let long = "a".repeat(129);
    for bad in ["../x", "a/b", "", ".x", long.as_str()] {
        for args in [
            vec!["session", "new", "--id", bad],
            vec!["session", "show", bad],
            vec!["session", "run", bad, "hi"],
        ] {
            let out = env.cmd().args(&args).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            assert!(
                stderr(&out).contains("invalid session id"),
                "{}",
                stderr(&out)
            );
        }
    }
    assert!(!env.data_dir().exists());
}

#[test]
fn a_corrupt_session_file_is_reported_and_never_overwritten() {
    let env = TestEnv::new();
    let server = MockServer::start();
    new_session(&env, &["--id", "c"]);
    std::fs::write(
        env.session_path("c"),
        b"{\"version\": 1, \"id\": \"c\", \"messa",
    )
    .unwrap();
    for args in [
        vec!["session", "run", "c", "hi"],
        vec!["session", "show", "c"],
        vec!["session", "add", "c", "--role", "user", "x"],
    ] {
        let out = env.agent(&server).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(6), "{args:?}");
        assert!(
            stderr(&out).contains(&env.session_path("c").display().to_string()),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(env.raw("c"), b"{\"version\": 1, \"id\": \"c\", \"messa");
    assert!(server.requests().is_empty());
}

#[test]
fn fork_copies_a_prefix_and_leaves_the_source_alone() {
    let env = TestEnv::new();
    let msgs = r#"[{"role":"user","content":"Trip to Japan"},{"role":"assistant","content":"Nice"},{"role":"user","content":"Tokyo and Kyoto"},{"role":"assistant","content":"Great"}]"#;
    env.cmd()
        .args([
            "session",
            "new",
            "--id",
            "trip",
            "--system",
            "Plan.",
            "--messages",
            "-",
        ])
        .write_stdin(msgs)
        .assert()
        .success()
        .stdout("trip\n");
    let before = env.raw("trip");
    env.cmd()
        .args(["session", "fork", "trip", "--id", "alt", "--at", "2"])
        .assert()
        .success()
        .stdout("alt\n");
    assert_eq!(env.raw("trip"), before);
    let alt = env.doc("alt");
    assert_eq!(
        roles_and_contents(&alt),
        pairs(&[("user", "Trip to Japan"), ("assistant", "Nice")])
    );
    assert_eq!(alt["system"], "Plan.");
    assert_eq!(alt["forked_from"]["id"], "trip");
    assert_eq!(alt["forked_from"]["messages"], 2);
    let out = env
        .cmd()
        .args(["session", "fork", "trip"])
        .output()
        .unwrap();
    let generated = stdout(&out).trim().to_string();
    assert_eq!(roles_and_contents(&env.doc(&generated)).len(), 4);
    env.cmd()
        .args(["session", "fork", "trip", "--at", "9"])
        .code(2);
}

#[test]
fn new_refuses_an_existing_id_unless_forced_and_validates_messages() {
    let env = TestEnv::new();
    new_session(&env, &["--id", "x", "--title", "first"]);
    env.cmd().args(["session", "new", "--id", "x"]).code(2);
    assert_eq!(env.doc("x")["title"], "first");
    new_session(&env, &["--id", "x", "--force", "--title", "second"]);
    assert_eq!(env.doc("x")["title"], "second");
    let out = env
        .cmd()
        .args(["session", "new", "--messages", "-"])
        .write_stdin(r#"[{"role":"system","content":"x"}]"#)
        .code(2);
    assert!(
        stderr(&out).contains("role must be user or assistant"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn show_prints_a_transcript_and_json_is_the_stored_document() {
    let env = TestEnv::new();
    new_session(&env, &["--id", "s", "--system", "Sys.", "--title", "Demo"]);
    env.cmd()
        .args(["session", "add", "s", "--role", "user", "Question?"])
        .assert()
        .success();
    env.cmd()
        .args(["session", "add", "s", "--role", "assistant"])
        .write_stdin("Answer.")
        .assert()
        .success();
    let out = env.cmd().args(["session", "show", "s"]).output().unwrap();
    let text = stdout(&out);
    assert!(
        text.starts_with("# s — Demo (gpt-4o-mini, 2 messages)\n\n[system]\nSys.\n\n[user] "),
        "{text}"
    );
    assert!(
        text.contains("Question?\n\n[assistant] ") && text.ends_with("\nAnswer.\n"),
        "{text}"
    );
    let last = stdout(
        &env.cmd()
            .args(["session", "show", "s", "--last", "1"])
            .output()
            .unwrap(),
    );
    assert!(
        !last.contains("Question?") && last.contains("Answer."),
        "{last}"
    );
    let json_out = env
        .cmd()
        .args(["session", "show", "s", "--json"])
        .output()
        .unwrap();
    assert_eq!(json_out.stdout, env.raw("s"));
    let export = env.cmd().args(["session", "export", "s"]).output().unwrap();
    assert_eq!(export.stdout, env.raw("s"));
}

#[test]
fn export_import_round_trips_and_import_refuses_to_overwrite() {
    let env = TestEnv::new();
    new_session(&env, &["--id", "s", "--system", "Sys."]);
    env.cmd()
        .args(["session", "add", "s", "--role", "user", "hi"])
        .assert()
        .success();
    let exported = env
        .cmd()
        .args(["session", "export", "s"])
        .output()
        .unwrap()
        .stdout;
    let other = TestEnv::new();
    other
        .cmd()
        .args(["session", "import", "-"])
        .write_stdin(exported.clone())
        .assert()
        .success()
        .stdout("s\n");
    assert_eq!(other.raw("s"), exported);
    other
        .cmd()
        .args(["session", "import", "-"])
        .write_stdin(exported.clone())
        .code(2);
    other
        .cmd()
        .args(["session", "import", "--force", "-"])
        .write_stdin(exported)
        .assert()
        .success();
    other
        .cmd()
        .args(["session", "import", "-"])
        .write_stdin(r#"{"id":"q"}"#)
        .code(6);
    other
        .cmd()
        .args(["session", "import", "-"])
        .write_stdin(r#"{"version":1,"id":"../q","created_at":"t","updated_at":"t"}"#)
        .code(6);
}

#[test]
fn ls_lists_most_recently_used_first() {
    let env = TestEnv::new();
    for (day, id) in [(1, "old"), (2, "mid"), (3, "new")] {
        new_session(&env, &["--id", id, "--title", &format!("T {id}")]);
        let at = format!("2026-01-0{day}T00:00:00.000Z");
        env.set_times(id, &at, &at);
    }
    env.cmd()
        .args(["session", "add", "old", "--role", "user", "bump"])
        .assert()
        .success();
    let out = stdout(&env.cmd().args(["session", "ls"]).output().unwrap());
    let ids: Vec<&str> = out
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(ids, ["old", "new", "mid"]);
    assert!(out.lines().next().unwrap().ends_with("T old"));
    let json: Value = serde_json::from_slice(
        &env.cmd()
            .args(["session", "ls", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(json[0]["id"], "old");
    assert_eq!(json[0]["message_count"], 1);
    assert_eq!(json.as_array().unwrap().len(), 3);
}

#[test]
fn rm_and_clear() {
    let env = TestEnv::new();
    new_session(&env, &["--id", "a", "--system", "keep me"]);
    new_session(&env, &["--id", "b"]);
    env.cmd()
        .args(["session", "add", "a", "--role", "user", "x"])
        .assert()
        .success();
    env.cmd().args(["session", "clear", "a"]).assert().success();
    let doc = env.doc("a");
    assert_eq!(
        (doc["messages"].clone(), doc["system"].clone()),
        (json!([]), json!("keep me"))
    );
    env.cmd().args(["session", "rm", "a", "missing"]).code(5);
    assert!(env.session_path("a").exists(), "a typo removes nothing");
    env.cmd()
        .args(["session", "rm", "--force", "a", "missing"])
        .assert()
        .success();
    assert!(!env.session_path("a").exists());
    env.cmd().args(["session", "rm", "b"]).assert().success();
    assert_eq!(
        stdout(&env.cmd().args(["session", "ls"]).output().unwrap()),
        ""
    );
}

#[test]
fn ls_sees_every_change_despite_its_cache() {
    let env = TestEnv::new();
    new_session(&env, &["--id", "a", "--title", "first"]);
    let ls = |env: &TestEnv| -> Value {
        serde_json::from_slice(
            &env.cmd()
                .args(["session", "ls", "--json"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
    };
    assert_eq!(ls(&env)[0]["message_count"], 0);
    assert!(env.data_dir().join("ls-cache.json").exists());
    env.cmd()
        .args(["session", "add", "a", "--role", "user", "x"])
        .assert()
        .success();
    assert_eq!(ls(&env)[0]["message_count"], 1);
    new_session(&env, &["--id", "b"]);
    assert_eq!(ls(&env).as_array().unwrap().len(), 2);
    env.cmd().args(["session", "rm", "a"]).assert().success();
    let after = ls(&env);
    assert_eq!(
        (after.as_array().unwrap().len(), after[0]["id"].clone()),
        (1, json!("b"))
    );
    // A cache that is garbage is ignored, never trusted.
    std::fs::write(env.data_dir().join("ls-cache.json"), "{garbage").unwrap();
    assert_eq!(ls(&env)[0]["id"], "b");
}

#[test]
fn ls_lists_the_valid_sessions_and_names_a_corrupt_one() {
    let env = TestEnv::new();
    new_session(&env, &["--id", "good"]);
    new_session(&env, &["--id", "bad"]);
    std::fs::write(env.session_path("bad"), b"{not json").unwrap();
    let out = env.cmd().args(["session", "ls", "--ids"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(stdout(&out), "good\n");
    let err = stderr(&out);
    assert!(
        err.contains(&env.session_path("bad").display().to_string()),
        "{err}"
    );
    assert_eq!(err.lines().count(), 2, "{err}");
    assert_eq!(
        std::fs::read(env.session_path("bad")).unwrap(),
        b"{not json"
    );
    // Fixed, it lists again: an invalid file is never cached.
    std::fs::remove_file(env.session_path("bad")).unwrap();
    new_session(&env, &["--id", "bad"]);
    let out = env.cmd().args(["session", "ls", "--ids"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(stdout(&out).lines().count(), 2);
}
