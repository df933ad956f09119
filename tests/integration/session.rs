//! The `agent session` commands against the mock OpenAI server: request bodies, stdout bytes,
//! the document after each command, failures that change nothing.

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

fn roles_and_contents(doc: &Value) -> Vec<(String, String)> {
    doc["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_string(),
                m["content"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

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
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no prompt"), "{}", stderr(&out));
    assert!(server.requests().is_empty());
}

#[test]
fn an_http_error_adds_nothing_and_keeps_the_prompt_for_retry() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_error(
        400,
        "This model's maximum context length is exceeded",
        "context_length_exceeded",
    ));
    new_session(&env, &["--id", "s"]);
    let before = env.doc("s");
    let out = env
        .agent(&server)
        .args(["session", "run", "s", "hello there"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("HTTP 400") && err.contains("maximum context length"),
        "{err}"
    );
    assert_eq!(stdout(&out), "");
    let after = env.doc("s");
    assert_eq!(after["messages"], before["messages"]);
    assert_eq!(after["failed_turn"]["prompt"], "hello there");

    // `retry` re-sends it; success clears the failed turn.
    server.push(MockResponse::openai_stream(&["hi"]));
    env.agent(&server)
        .args(["session", "retry", "s"])
        .assert()
        .success()
        .stdout("hi\n");
    let doc = env.doc("s");
    assert_eq!(
        roles_and_contents(&doc),
        pairs(&[("user", "hello there"), ("assistant", "hi")])
    );
    assert!(doc.get("failed_turn").is_none());
    assert_eq!(server.body(1)["messages"][0]["content"], "hello there");
}

#[test]
fn a_stream_broken_midway_fails_the_turn_and_saves_nothing() {
    let env = TestEnv::new();
    let server = MockServer::start();
    // Role chunk and two deltas arrive, then the connection drops before [DONE].
    server.push(MockResponse::openai_stream(&["Once", " upon", " a time"]).break_after(3));
    new_session(&env, &["--id", "s"]);
    let before = env.raw("s");
    let out = env
        .agent(&server)
        .args(["session", "run", "s", "story"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Once upon");
    let doc = env.doc("s");
    assert_eq!(doc["messages"], json!([]));
    assert_eq!(doc["failed_turn"]["partial"], "Once upon");
    assert_ne!(env.raw("s"), before);
}

#[test]
fn a_stream_without_done_is_truncated() {
    let env = TestEnv::new();
    let server = MockServer::start();
    let mut events = openai_events(&["partial"], "stop", None);
    events.pop(); // no [DONE]
    server.push(MockResponse::sse_events(&events));
    new_session(&env, &["--id", "s"]);
    let out = env
        .agent(&server)
        .args(["session", "run", "s", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("[DONE]"), "{}", stderr(&out));
    assert_eq!(env.doc("s")["messages"], json!([]));
}

#[test]
fn kill_9_mid_stream_leaves_the_file_byte_for_byte_unchanged() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["a"; 50]).slow(std::time::Duration::from_millis(40)));
    new_session(&env, &["--id", "s", "--system", "sys"]);
    let before = env.raw("s");
    let mut child = env
        .spawnable(&server)
        .args(["session", "run", "s", "go"])
        .stdout(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(env.raw("s"), before);
    let leftovers: Vec<_> = std::fs::read_dir(env.data_dir().join("sessions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(leftovers, vec!["s.json".to_string()]);
}

#[test]
fn sigint_mid_stream_exits_130_and_records_the_partial_reply() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(
        MockResponse::openai_stream(&["chunk "; 100]).slow(std::time::Duration::from_millis(30)),
    );
    new_session(&env, &["--id", "s"]);
    let mut child = env
        .spawnable(&server)
        .args(["session", "run", "s", "long story"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = [0u8; 6];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    assert_eq!(&first, b"chunk ");
    unsafe_kill(child.id(), "INT");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let doc = env.doc("s");
    assert_eq!(doc["messages"], json!([]));
    assert_eq!(doc["failed_turn"]["prompt"], "long story");
    assert!(doc["failed_turn"]["partial"]
        .as_str()
        .unwrap()
        .starts_with("chunk "));
}

#[test]
fn sigterm_is_an_interrupt_too() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server
        .push(MockResponse::openai_stream(&["x"; 100]).slow(std::time::Duration::from_millis(30)));
    new_session(&env, &["--id", "s"]);
    let mut child = env
        .spawnable(&server)
        .args(["session", "run", "s", "q"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    unsafe_kill(child.id(), "TERM");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert_eq!(env.doc("s")["messages"], json!([]));
}

fn unsafe_kill(pid: u32, signal: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn parallel_turns_are_all_recorded_in_pairs() {
    let env = TestEnv::new();
    let server = MockServer::start();
    // The reply echoes nothing, so pair each reply to its prompt through the request bodies.
    server.fallback(MockResponse::openai_stream(&["ok"]).slow(std::time::Duration::from_millis(5)));
    new_session(&env, &["--id", "p"]);
    let n = 20;
    let children: Vec<_> = (0..n)
        .map(|i| {
            env.spawnable(&server)
                .args(["-q", "session", "run", "p", &format!("q{i}")])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let doc = env.doc("p");
    let msgs = roles_and_contents(&doc);
    assert_eq!(msgs.len(), 2 * n);
    let mut prompts = std::collections::HashSet::new();
    for (i, pair) in msgs.chunks(2).enumerate() {
        assert_eq!(pair[0].0, "user");
        assert_eq!(pair[1], ("assistant".to_string(), "ok".to_string()));
        prompts.insert(pair[0].1.clone());
        // Each request carried exactly the history before it: the turns were serialized.
        let req = server
            .requests()
            .into_iter()
            .map(|r| r.json())
            .find(|b| b["messages"].as_array().unwrap().last().unwrap()["content"] == pair[0].1)
            .unwrap();
        assert_eq!(req["messages"].as_array().unwrap().len(), 2 * i + 1);
    }
    assert_eq!(prompts.len(), n);
}

#[test]
fn a_busy_session_times_out_with_exit_7() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["x"; 40]).slow(std::time::Duration::from_millis(50)));
    new_session(&env, &["--id", "b"]);
    let mut holder = env
        .spawnable(&server)
        .args(["session", "run", "b", "slow"])
        .stdout(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    std::io::Read::read_exact(holder.stdout.as_mut().unwrap(), &mut first).unwrap();
    let out = env
        .agent(&server)
        .args(["session", "run", "b", "--lock-timeout", "0.2", "other"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("waiting for session 'b'") && err.contains("busy"),
        "{err}"
    );
    assert!(holder.wait().unwrap().success());
    assert_eq!(roles_and_contents(&env.doc("b")).len(), 2);
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
fn the_api_key_appears_nowhere_on_disk_or_in_errors() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_error(
        401,
        &format!("Incorrect API key provided: {KEY}"),
        "invalid_api_key",
    ));
    server.push(MockResponse::openai_stream(&["fine"]));
    new_session(&env, &["--id", "k"]);
    let out = env
        .agent(&server)
        .args(["session", "run", "k", "one"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        !stderr(&out).contains(KEY) && stderr(&out).contains("(redacted)"),
        "{}",
        stderr(&out)
    );
    env.agent(&server)
        .args(["session", "run", "k", "two"])
        .assert()
        .success();
    for file in env.all_files() {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(KEY),
            "key in {}",
            file.display()
        );
    }
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
fn server_errors_are_retried_before_any_output() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_error(500, "boom", "server_error"));
    server.push(
        MockResponse::openai_error(429, "slow down", "rate_limit_exceeded")
            .header("retry-after", "0"),
    );
    server.push(MockResponse::openai_stream(&["third time"]));
    new_session(&env, &["--id", "r"]);
    env.agent(&server)
        .args(["session", "run", "r", "hi"])
        .assert()
        .success()
        .stdout("third time\n");
    assert_eq!(server.requests().len(), 3);
    assert_eq!(roles_and_contents(&env.doc("r")).len(), 2);

    server.push(MockResponse::openai_error(503, "down", "server_error"));
    let out = env
        .agent(&server)
        .args(["session", "run", "r", "--retries", "0", "again"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(server.requests().len(), 4);
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
    let out = env
        .agent(&server)
        .args(["session", "run", "ci", "hi"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
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
    let out = env
        .cmd()
        .args(["session", "fork", "trip", "--at", "9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn new_refuses_an_existing_id_unless_forced_and_validates_messages() {
    let env = TestEnv::new();
    new_session(&env, &["--id", "x", "--title", "first"]);
    let out = env
        .cmd()
        .args(["session", "new", "--id", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(env.doc("x")["title"], "first");
    new_session(&env, &["--id", "x", "--force", "--title", "second"]);
    assert_eq!(env.doc("x")["title"], "second");
    let out = env
        .cmd()
        .args(["session", "new", "--messages", "-"])
        .write_stdin(r#"[{"role":"system","content":"x"}]"#)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
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
    let out = other
        .cmd()
        .args(["session", "import", "-"])
        .write_stdin(exported.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    other
        .cmd()
        .args(["session", "import", "--force", "-"])
        .write_stdin(exported)
        .assert()
        .success();
    let out = other
        .cmd()
        .args(["session", "import", "-"])
        .write_stdin(r#"{"id":"q"}"#)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    let out = other
        .cmd()
        .args(["session", "import", "-"])
        .write_stdin(r#"{"version":1,"id":"../q","created_at":"t","updated_at":"t"}"#)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
}

#[test]
fn ls_lists_most_recently_used_first() {
    let env = TestEnv::new();
    for id in ["old", "mid", "new"] {
        new_session(&env, &["--id", id, "--title", &format!("T {id}")]);
        std::thread::sleep(std::time::Duration::from_millis(5));
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
    let out = env
        .cmd()
        .args(["session", "rm", "a", "missing"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
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
