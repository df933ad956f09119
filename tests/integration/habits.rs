//! Habits from `llm` (`run -c`, `--cid`, `--save`), `--dry-run`, automatic titles and rename.

use serde_json::{json, Value};

use crate::util::*;

#[test]
fn continue_picks_the_most_recently_used_session_not_the_newest() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.fallback(MockResponse::openai_stream(&["ok"]));
    new_session(&env, &["--id", "old"]);
    new_session(&env, &["--id", "newer"]);
    env.set_times(
        "old",
        "2026-01-01T00:00:00.000Z",
        "2026-01-01T00:00:00.000Z",
    );
    env.set_times(
        "newer",
        "2026-01-02T00:00:00.000Z",
        "2026-01-02T00:00:00.000Z",
    );
    env.agent(&server)
        .args(["session", "run", "old", "first"])
        .assert()
        .success();

    env.agent(&server)
        .args(["run", "-c", "second"])
        .assert()
        .success()
        .stdout("ok\n");
    assert_eq!(
        contents(&server.body(1)["messages"]),
        ["first", "ok", "second"]
    );
    assert_eq!(env.doc("old")["messages"].as_array().unwrap().len(), 4);
    assert_eq!(env.doc("newer")["messages"], json!([]));
}

#[test]
fn continue_without_sessions_is_a_usage_error() {
    let env = TestEnv::new();
    let server = MockServer::start();
    env.agent(&server).args(["run", "-c", "hi"]).code(2);
    assert!(server.requests().is_empty());
}

#[test]
fn cid_is_an_alias_of_session() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["yes"]));
    new_session(&env, &["--id", "c1"]);
    env.agent(&server)
        .args(["run", "--cid", "c1", "hello"])
        .assert()
        .success()
        .stdout("yes\n");
    assert_eq!(env.doc("c1")["messages"].as_array().unwrap().len(), 2);
}

#[test]
fn save_keeps_a_one_shot_and_names_it_on_stderr() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["Paris."]));
    let out = env
        .agent(&server)
        .args(["run", "--save", "-s", "Be brief.", "Capital of France?"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Paris.\n");
    let err = stderr(&out);
    let id = err
        .split_whitespace()
        .last()
        .expect("an id on stderr")
        .to_string();
    let doc = env.doc(&id);
    assert_eq!(doc["system"], "Be brief.");
    assert_eq!(doc["title"], "Capital of France?");
    assert_eq!(doc["messages"][1]["content"], "Paris.");
}

#[test]
fn dry_run_prints_the_body_sends_nothing_and_changes_nothing() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["Hi Bob."]));
    new_session(&env, &["--id", "d", "--system", "Be brief."]);
    env.agent(&server)
        .args(["session", "run", "d", "I am Bob"])
        .assert()
        .success();
    let before = env.raw("d");

    let out = env
        .agent(&server)
        .args(["session", "run", "d", "--dry-run", "-t", "0.5", "Who am I?"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("{\n  \""), "pretty JSON: {text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        contents(&body["messages"]),
        ["Be brief.", "I am Bob", "Hi Bob.", "Who am I?"]
    );
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["stream"], true);
    assert!(!text.contains(KEY) && !stderr(&out).contains(KEY));
    assert_eq!(server.requests().len(), 1, "the dry run sent nothing");
    assert_eq!(env.raw("d"), before, "the session file is byte-identical");
}

#[test]
fn dry_run_equals_the_body_a_real_turn_sends() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["x"]));
    new_session(&env, &["--id", "e", "--system", "S."]);
    let out = env
        .agent(&server)
        .args(["session", "run", "e", "--dry-run", "hello"])
        .output()
        .unwrap();
    let dry: Value = serde_json::from_slice(&out.stdout).unwrap();
    env.agent(&server)
        .args(["session", "run", "e", "hello"])
        .assert()
        .success();
    assert_eq!(dry, server.body(0));
}

#[test]
fn dry_run_on_one_shots_json_and_create_saves_nothing() {
    let env = TestEnv::new();
    let server = MockServer::start();
    let out = env
        .agent(&server)
        .args(["run", "--dry-run", "--save", "-s", "Sys.", "hi"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(contents(&body["messages"]), ["Sys.", "hi"]);

    let out = env
        .agent(&server)
        .args([
            "json",
            "--dry-run",
            "--schema",
            "name, age int",
            "Alice is 30",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["response_format"]["type"], "json_schema");

    env.agent(&server)
        .args(["session", "run", "fresh", "--create", "--dry-run", "hi"])
        .assert()
        .success();
    assert!(server.requests().is_empty());
    assert!(!env.data_dir().join("sessions").exists(), "nothing saved");
}

#[test]
fn titles_come_from_the_first_prompt_unless_given_and_rename_changes_them() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.fallback(MockResponse::openai_stream(&["ok"]));
    new_session(&env, &["--id", "a"]);
    new_session(&env, &["--id", "b", "--title", "Mine"]);
    for id in ["a", "b"] {
        env.agent(&server)
            .args(["session", "run", id])
            .write_stdin("  Fix the flaky test\nin CI please\n")
            .assert()
            .success();
    }
    assert_eq!(env.doc("a")["title"], "Fix the flaky test");
    assert_eq!(env.doc("b")["title"], "Mine");
    env.cmd()
        .args(["session", "rename", "a", "Flaky test"])
        .assert()
        .success();
    assert_eq!(env.doc("a")["title"], "Flaky test");
    env.cmd()
        .args(["session", "rename", "nope", "x"])
        .assert()
        .code(5);
}

#[test]
fn tools_are_in_the_dry_run_body_and_a_chat_runs_them() {
    use crate::tools::{fixture, openai_calls, Tools};
    let t = Tools::new();
    t.new_session(&["--tool", &fixture("get_user_orders.yaml")]);
    let before = t.env.raw("s");
    let out = t
        .agent()
        .args(["session", "run", "s", "--dry-run", "my orders?"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["tools"][0]["function"]["name"], "get_user_orders");
    assert!(t.server.requests().is_empty() && t.calls().is_empty());
    assert_eq!(t.env.raw("s"), before);

    // The session remembers its tool, so a chat turn offers and runs it like `session run`.
    t.server.push(openai_calls(&[(
        "call_1",
        "get_user_orders",
        r#"{"user_id": "user-123"}"#,
    )]));
    t.server.push(MockResponse::openai_stream(&["Two orders."]));
    let out = t
        .agent()
        .args(["session", "chat", "s"])
        .write_stdin("I'm user-123, my orders?\n")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Two orders.\n");
    assert_eq!(t.calls().len(), 1);
    assert_eq!(
        crate::tools::roles(&t.env.doc("s")),
        ["user", "assistant", "tool", "assistant"]
    );
}

#[test]
fn dry_run_applies_the_context_policy_and_records_nothing() {
    let env = TestEnv::new();
    let server = MockServer::start();
    env.write_config("context_windows:\n  tiny-model: 400\n");
    let messages: Vec<Value> = (0..10)
        .map(|i| {
            let role = if i % 2 == 0 { "user" } else { "assistant" };
            json!({"role": role, "content": format!("{i} {}", "w".repeat(400))})
        })
        .collect();
    env.cmd()
        .args(["session", "new", "--id", "big", "--messages", "-"])
        .write_stdin(Value::from(messages).to_string())
        .assert()
        .success();
    let before = env.raw("big");

    // Too large for the model: the dry run fails as the turn would, but records no failed turn.
    env.agent(&server)
        .args([
            "session",
            "run",
            "big",
            "-m",
            "tiny-model",
            "--dry-run",
            "next",
        ])
        .assert()
        .code(3);
    assert_eq!(env.raw("big"), before);

    let out = env
        .agent(&server)
        .args([
            "session",
            "run",
            "big",
            "-m",
            "tiny-model",
            "--context",
            "trim",
        ])
        .args(["--dry-run", "next"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sent = contents(&body["messages"]);
    assert_eq!(
        sent.len(),
        3,
        "the oldest messages left out, as a turn would"
    );
    assert_eq!(sent[2], "next");
    assert!(server.requests().is_empty());
    assert_eq!(env.raw("big"), before);
}
