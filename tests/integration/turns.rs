//! Turns of stored and one-shot sessions against the mock OpenAI server: the request body sent,
//! the bytes on stdout, and the document afterwards.

use serde_json::{json, Value};

use crate::util::*;

#[test]
fn run_streams_the_reply_and_sends_the_whole_history() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["Hello", ", Alice", "."]));
    server.push(MockResponse::openai_stream(&["You are Alice."]));
    new_session(&env, &["--id", "s1", "--system", "Be brief."]);

    env.agent(&server)
        .args(["session", "run", "s1", "My", "name", "is", "Alice"])
        .assert()
        .success()
        .stdout("Hello, Alice.\n");
    env.agent(&server)
        .args(["session", "run", "s1", "Who am I?"])
        .assert()
        .success()
        .stdout("You are Alice.\n");

    let first = server.body(0);
    assert_eq!(first["model"], "gpt-4o-mini");
    assert_eq!(first["stream"], true);
    assert_eq!(first["stream_options"], json!({"include_usage": true}));
    assert_eq!(
        first["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "My name is Alice"}])
    );
    assert_eq!(
        server.body(1)["messages"],
        json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "My name is Alice"},
            {"role": "assistant", "content": "Hello, Alice."},
            {"role": "user", "content": "Who am I?"},
        ])
    );
    let req = &server.requests()[0];
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );

    let doc = env.doc("s1");
    assert_eq!(
        roles_and_contents(&doc),
        pairs(&[
            ("user", "My name is Alice"),
            ("assistant", "Hello, Alice."),
            ("user", "Who am I?"),
            ("assistant", "You are Alice.")
        ])
    );
    let reply = &doc["messages"][1];
    assert_eq!(reply["model"], "gpt-4o-mini-2024-07-18");
    assert_eq!(reply["finish_reason"], "stop");
    assert_eq!(
        reply["usage"],
        json!({"input_tokens": 11, "output_tokens": 3})
    );
    assert!(doc["system"] == "Be brief." && doc["messages"][0]["created_at"].is_string());
}

#[test]
fn stdin_comes_first_then_a_blank_line_then_the_arguments() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["ok"]));
    new_session(&env, &["--id", "r"]);
    env.agent(&server)
        .args(["session", "run", "r", "review", "this"])
        .write_stdin("diff --git a b\n+x\n")
        .assert()
        .success()
        .stdout("ok\n");
    assert_eq!(
        server.body(0)["messages"][0]["content"],
        "diff --git a b\n+x\n\nreview this"
    );
}

#[test]
fn no_prompt_is_a_usage_error_and_sends_nothing() {
    let env = TestEnv::new();
    let server = MockServer::start();
    new_session(&env, &["--id", "s"]);
    let out = env
        .agent(&server)
        .args(["session", "run", "s"])
        .write_stdin("")
        .code(2);
    assert!(stderr(&out).contains("no prompt"), "{}", stderr(&out));
    assert!(server.requests().is_empty());
}

#[test]
fn formats_json_and_jsonl() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["A", "B"]));
    server.push(MockResponse::openai_stream(&["C"]));
    new_session(&env, &["--id", "f"]);
    let out = env
        .agent(&server)
        .args(["session", "run", "f", "--format", "jsonl", "go"])
        .output()
        .unwrap();
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        vec![
            json!({"type": "text_delta", "text": "A"}),
            json!({"type": "text_delta", "text": "B"}),
            json!({"type": "usage", "input_tokens": 11, "output_tokens": 2}),
            json!({"type": "done", "finish_reason": "stop", "model": "gpt-4o-mini-2024-07-18", "session_id": "f"}),
        ]
    );
    let out = env
        .agent(&server)
        .args(["session", "run", "f", "--format", "json", "go"])
        .output()
        .unwrap();
    let mut v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    // 11 prompt tokens at $0.15/M and 1 completion token at $0.60/M.
    let cost = v
        .as_object_mut()
        .unwrap()
        .remove("cost_usd")
        .unwrap()
        .as_f64()
        .unwrap();
    assert!((cost - 2.25e-6).abs() < 1e-12, "{cost}");
    assert_eq!(
        v,
        json!({"session_id": "f", "text": "C", "model": "gpt-4o-mini-2024-07-18",
               "usage": {"input_tokens": 11, "output_tokens": 1}, "finish_reason": "stop"})
    );
    assert_eq!(stdout(&out).lines().count(), 1);
}

#[test]
fn no_stream_uses_the_plain_response() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_json("whole reply"));
    new_session(&env, &["--id", "n"]);
    env.agent(&server)
        .args(["session", "run", "n", "--no-stream", "hi"])
        .assert()
        .success()
        .stdout("whole reply\n");
    let body = server.body(0);
    assert_eq!(body["stream"], false);
    assert!(body.get("stream_options").is_none());
    assert_eq!(
        env.doc("n")["messages"][1]["usage"],
        json!({"input_tokens": 9, "output_tokens": 3})
    );
}

#[test]
fn temperature_max_tokens_and_model_for_one_turn() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["x"]));
    server.push(MockResponse::openai_stream(&["y"]));
    new_session(&env, &["--id", "t", "-m", "gpt-4o"]);
    env.agent(&server)
        .args([
            "session",
            "run",
            "t",
            "-t",
            "0.2",
            "--max-tokens",
            "50",
            "-m",
            "gpt-4.1",
            "q",
        ])
        .assert()
        .success();
    env.agent(&server)
        .args(["session", "run", "t", "q2"])
        .assert()
        .success();
    let first = server.body(0);
    assert_eq!(
        (
            first["temperature"].clone(),
            first["max_tokens"].clone(),
            first["model"].clone()
        ),
        (json!(0.2), json!(50), json!("gpt-4.1"))
    );
    assert_eq!(server.body(1)["model"], "gpt-4o");
    assert_eq!(env.doc("t")["model"], "gpt-4o");
}

#[test]
fn create_makes_a_missing_session() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["hi"]));
    env.agent(&server)
        .args(["session", "run", "ci", "hi"])
        .code(5);
    env.agent(&server)
        .args([
            "session",
            "run",
            "ci",
            "--create",
            "-s",
            "You are CI.",
            "hi",
        ])
        .assert()
        .success()
        .stdout("hi\n");
    assert_eq!(env.doc("ci")["system"], "You are CI.");
    assert_eq!(
        server.body(0)["messages"][0],
        json!({"role": "system", "content": "You are CI."})
    );
}

#[test]
fn one_shot_run_saves_nothing() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["4"]));
    env.agent(&server)
        .args(["run", "-s", "Answer with a number.", "2+2?"])
        .assert()
        .success()
        .stdout("4\n");
    assert_eq!(
        server.body(0)["messages"],
        json!([{"role": "system", "content": "Answer with a number."}, {"role": "user", "content": "2+2?"}])
    );
    assert!(!env.data_dir().join("sessions").exists());
}

#[test]
fn run_with_session_is_a_stored_turn() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["ok"]));
    new_session(&env, &["--id", "s"]);
    env.agent(&server)
        .args(["run", "--session", "s", "hi"])
        .assert()
        .success()
        .stdout("ok\n");
    assert_eq!(roles_and_contents(&env.doc("s")).len(), 2);
}

#[test]
fn closed_stdout_ends_quietly_and_the_turn_is_saved() {
    let env = TestEnv::new();
    let server = MockServer::start();
    let lines: Vec<String> = (0..2000).map(|i| format!("line {i}\n")).collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    server.push(MockResponse::openai_stream(&refs));
    new_session(&env, &["--id", "h"]);
    let bin = assert_cmd::cargo::cargo_bin!("agent");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; '{}' session run h go | head -1",
            bin.display()
        ))
        .env("AGENT_DATA_DIR", env.data_dir())
        .env("OPENAI_BASE_URL", server.url("/v1"))
        .env("HOME", env.path())
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "line 0\n");
    assert_eq!(stderr(&out), "");
    assert!(out.status.success());
    assert_eq!(roles_and_contents(&env.doc("h")).len(), 2);
}
