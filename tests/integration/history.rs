//! History management: cost, stats, compaction, context limits, undo, age filters.

use serde_json::{json, Value};

use crate::util::*;

fn new_with(env: &TestEnv, id: &str, messages: &[(&str, &str)], system: Option<&str>) {
    let list: Vec<Value> = messages
        .iter()
        .map(|(r, c)| json!({"role": r, "content": c}))
        .collect();
    let mut cmd = env.cmd();
    cmd.args(["session", "new", "--id", id, "--messages", "-"]);
    if let Some(s) = system {
        cmd.args(["--system", s]);
    }
    cmd.write_stdin(Value::Array(list).to_string())
        .assert()
        .success();
}

#[test]
fn usage_line_and_cost_on_every_reply() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["a", "b", "c"]));
    env.cmd()
        .args(["session", "new", "--id", "u"])
        .assert()
        .success();
    let out = env
        .agent(&server)
        .args(["session", "run", "u", "-u", "hi"])
        .output()
        .unwrap();
    let err = stderr(&out);
    // 11 prompt tokens at $0.15/M + 3 completion tokens at $0.60/M = $0.00000345.
    assert!(
        err.starts_with("agent: tokens 11 in, 3 out · $0.000003 · first token "),
        "{err}"
    );
    assert!(
        err.trim_end().ends_with('s') && err.contains(" · total "),
        "{err}"
    );
    // Rounded to 6 significant digits: exactly 3.45e-6, not binary arithmetic's
    // 3.4499999999999996e-6.
    let reply = &env.doc("u")["messages"][1];
    assert_eq!(reply["cost_usd"], json!(3.45e-6), "{reply}");
}

#[test]
fn unknown_models_have_no_cost_and_config_prices_apply() {
    let env = TestEnv::new();
    let server = MockServer::start();
    let mut events = openai_events(&["x"], "stop", Some((1_000_000, 0)));
    for e in &mut events {
        *e = e.replace("gpt-4o-mini-2024-07-18", "my-local-model");
    }
    server.push(MockResponse::sse_events(&events));
    server.push(MockResponse::sse_events(&events));
    env.cmd()
        .args(["session", "new", "--id", "p"])
        .assert()
        .success();
    env.agent(&server)
        .args(["session", "run", "p", "-m", "my-local-model", "one"])
        .assert()
        .success();
    assert!(env.doc("p")["messages"][1].get("cost_usd").is_none());
    env.write_config("prices:\n  my-local-model: {input: 2.0, output: 8.0}\n");
    env.agent(&server)
        .args(["session", "run", "p", "-m", "my-local-model", "two"])
        .assert()
        .success();
    assert_eq!(env.doc("p")["messages"][3]["cost_usd"], 2.0);
}

#[test]
fn stats_totals() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_stream(&["one"]));
    server.push(MockResponse::openai_stream(&["two", "!"]));
    env.cmd()
        .args(["session", "new", "--id", "s"])
        .assert()
        .success();
    env.agent(&server)
        .args(["session", "run", "s", "a"])
        .assert()
        .success();
    env.agent(&server)
        .args(["session", "run", "s", "b"])
        .assert()
        .success();
    let out = env
        .cmd()
        .args(["session", "stats", "s", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["turns"].clone(), v["messages"].clone()),
        (json!(2), json!(4))
    );
    assert_eq!(
        (v["input_tokens"].clone(), v["output_tokens"].clone()),
        (json!(22), json!(3))
    );
    // (22 × 0.15 + 3 × 0.60) / 1e6 is 5.0999999999999995e-6 in binary; printed, 5.1e-6.
    assert_eq!(v["cost_usd"], json!(5.1e-6));
    assert!(
        stdout(&out).contains(r#""cost_usd":5.1e-6"#),
        "{}",
        stdout(&out)
    );
    assert_eq!(v["models"], json!(["gpt-4o-mini-2024-07-18"]));
    let text = stdout(&env.cmd().args(["session", "stats", "s"]).output().unwrap());
    assert!(
        text.contains("turns        2\n") && text.contains("tokens       22 in, 3 out\n"),
        "{text}"
    );
    let ls = stdout(
        &env.cmd()
            .args(["session", "ls", "--usage"])
            .output()
            .unwrap(),
    );
    assert!(ls.contains(" 22 in ") && ls.contains(" 3 out "), "{ls}");
}

#[test]
fn compact_summarizes_all_but_the_tail_and_the_next_turn_sends_the_summary() {
    let env = TestEnv::new();
    let server = MockServer::start();
    new_with(
        &env,
        "c",
        &[
            ("user", "I am Alice"),
            ("assistant", "Hi Alice"),
            ("user", "I like tea"),
            ("assistant", "Noted"),
            ("user", "And cats?"),
            ("assistant", "Cats too"),
        ],
        Some("Be brief."),
    );
    server.push(MockResponse::openai_stream(&["Alice likes tea."]));
    env.agent(&server)
        .args(["session", "compact", "c", "--keep", "2"])
        .assert()
        .success();
    let req = server.body(0);
    let ask = req["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        ask.contains("[user]\nI am Alice")
            && ask.contains("[assistant]\nNoted")
            && !ask.contains("Cats too"),
        "{ask}"
    );
    let doc = env.doc("c");
    assert_eq!(doc["summary"], "Alice likes tea.");
    assert_eq!(contents(&doc["messages"]), ["And cats?", "Cats too"]);
    assert_eq!(
        contents(&doc["archive"]),
        ["I am Alice", "Hi Alice", "I like tea", "Noted"]
    );

    server.push(MockResponse::openai_stream(&["Yes"]));
    env.agent(&server)
        .args(["session", "run", "c", "Do I like tea?"])
        .assert()
        .success();
    let next = server.body(1);
    assert_eq!(
        next["messages"],
        json!([
            {"role": "system", "content": "Be brief.\n\nSummary of the earlier conversation:\nAlice likes tea."},
            {"role": "user", "content": "And cats?"},
            {"role": "assistant", "content": "Cats too"},
            {"role": "user", "content": "Do I like tea?"},
        ])
    );
    let all = stdout(
        &env.cmd()
            .args(["session", "show", "c", "--all"])
            .output()
            .unwrap(),
    );
    assert!(
        all.contains("Alice likes tea.") && all.contains("I am Alice"),
        "{all}"
    );
}

#[test]
fn a_failed_compaction_changes_nothing() {
    let env = TestEnv::new();
    let server = MockServer::start();
    new_with(
        &env,
        "f",
        &[
            ("user", "a"),
            ("assistant", "b"),
            ("user", "c"),
            ("assistant", "d"),
            ("user", "e"),
            ("assistant", "f"),
        ],
        None,
    );
    let before = env.raw("f");
    server.push(MockResponse::openai_error(
        400,
        "bad request",
        "invalid_request_error",
    ));
    env.agent(&server)
        .args(["session", "compact", "f", "--keep", "2"])
        .code(3);
    assert_eq!(env.raw("f"), before);
}

fn long_session(env: &TestEnv, id: &str) {
    let msgs: Vec<(String, String)> = (0..10)
        .map(|i| {
            (
                if i % 2 == 0 { "user" } else { "assistant" }.to_string(),
                format!("{i} {}", "w".repeat(400)),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = msgs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    new_with(env, id, &refs, None);
}

#[test]
fn context_limits_error_trim_and_compact() {
    let env = TestEnv::new();
    let server = MockServer::start();
    env.write_config("context_windows:\n  tiny-model: 400\n");
    long_session(&env, "big");
    let before = env.doc("big")["messages"].clone();

    let out = env
        .agent(&server)
        .args(["session", "run", "big", "-m", "tiny-model", "next"])
        .code(3);
    let err = stderr(&out);
    assert!(
        err.contains("context window of 400") && err.contains("agent session compact big"),
        "{err}"
    );
    assert!(server.requests().is_empty());
    assert!(env.doc("big")["messages"] == before, "history changed");
    assert_eq!(env.doc("big")["failed_turn"]["prompt"], "next");

    server.push(MockResponse::openai_stream(&["ok"]));
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
            "next",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the oldest 8 messages were left out"),
        "{}",
        stderr(&out)
    );
    let sent = contents(&server.body(0)["messages"]);
    assert_eq!(sent.len(), 3);
    assert!(sent[0].starts_with("8 ") && sent[2] == "next");
    assert_eq!(
        env.doc("big")["messages"].as_array().unwrap().len(),
        12,
        "trimming never touches the session"
    );

    server.push(MockResponse::openai_stream(&["Summary."]));
    server.push(MockResponse::openai_stream(&["fine"]));
    env.agent(&server)
        .args([
            "session",
            "run",
            "big",
            "-m",
            "tiny-model",
            "--context",
            "compact",
            "again",
        ])
        .assert()
        .success();
    let doc = env.doc("big");
    assert_eq!(doc["summary"], "Summary.");
    assert_eq!(
        server.body(2)["messages"][0]["content"].as_str().unwrap(),
        "Summary of the earlier conversation:\nSummary."
    );
}

#[test]
fn auto_compact_before_a_turn() {
    let env = TestEnv::new();
    let server = MockServer::start();
    long_session(&env, "a");
    server.push(MockResponse::openai_stream(&["Short summary."]));
    server.push(MockResponse::openai_stream(&["reply"]));
    let out = env
        .agent(&server)
        .args(["session", "run", "a", "--auto-compact", "500", "go"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("compacted session 'a'"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.doc("a")["summary"], "Short summary.");
    assert_eq!(env.doc("a")["messages"].as_array().unwrap().len(), 6);
}

#[test]
fn a_providers_context_error_gets_the_same_advice() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_error(
        400,
        "This model's maximum context length is 128000 tokens.",
        "context_length_exceeded",
    ));
    env.cmd()
        .args(["session", "new", "--id", "x"])
        .assert()
        .success();
    let out = env
        .agent(&server)
        .args(["session", "run", "x", "hi"])
        .code(3);
    assert!(
        stderr(&out).contains("agent session compact x"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn undo_removes_exchanges_and_says_what() {
    let env = TestEnv::new();
    new_with(
        &env,
        "u",
        &[
            ("user", "one"),
            ("assistant", "1"),
            ("user", "two"),
            ("assistant", "2"),
        ],
        None,
    );
    let out = env.cmd().args(["session", "undo", "u"]).output().unwrap();
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("removed 2 messages") && stderr(&out).contains("[user] two"),
        "{}",
        stderr(&out)
    );
    assert_eq!(contents(&env.doc("u")["messages"]), ["one", "1"]);
    env.cmd()
        .args(["session", "undo", "u", "5"])
        .assert()
        .success();
    assert_eq!(env.doc("u")["messages"], json!([]));
    assert_eq!(
        env.cmd()
            .args(["session", "undo", "u"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn rm_older_than_and_ls_since() {
    let env = TestEnv::new();
    env.cmd()
        .args(["session", "new", "--id", "fresh"])
        .assert()
        .success();
    for (id, when) in [
        ("old", "2020-01-01T00:00:00.000Z"),
        ("older", "2019-06-01T00:00:00.000Z"),
    ] {
        let doc =
            json!({"version": 1, "id": id, "created_at": when, "updated_at": when, "messages": []});
        env.cmd()
            .args(["session", "import", "-"])
            .write_stdin(doc.to_string())
            .assert()
            .success();
    }
    let ids = |args: &[&str]| -> Vec<String> {
        let v: Value =
            serde_json::from_slice(&env.cmd().args(args).output().unwrap().stdout).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids(&["session", "ls", "--json", "--since", "7d"]),
        ["fresh"]
    );
    let out = env
        .cmd()
        .args(["session", "rm", "--older-than", "30d"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("removed old") && stderr(&out).contains("removed older"),
        "{}",
        stderr(&out)
    );
    assert_eq!(ids(&["session", "ls", "--json"]), ["fresh"]);
}

/// The rule for a paid compaction followed by a failed turn: the compaction is kept, whatever
/// the failure, and the prompt is recorded for `retry`.
#[test]
fn a_paid_compaction_is_kept_when_the_turn_then_fails() {
    // An error answer.
    let env = TestEnv::new();
    let server = MockServer::start();
    long_session(&env, "e");
    server.push(MockResponse::openai_stream(&["Short summary."]));
    server.push(MockResponse::openai_error(500, "boom", "server_error"));
    env.agent(&server)
        .args([
            "session",
            "run",
            "e",
            "--retries",
            "0",
            "--auto-compact",
            "500",
            "go",
        ])
        .code(3);
    let doc = env.doc("e");
    assert_eq!(doc["summary"], "Short summary.");
    assert_eq!(
        doc["messages"].as_array().unwrap().len(),
        4,
        "the 4 kept, nothing added"
    );
    assert_eq!(doc["failed_turn"]["prompt"], "go");

    // Ctrl-C while the reply streams.
    long_session(&env, "c");
    server.push(MockResponse::openai_stream(&["Short summary."]));
    server.push(
        MockResponse::openai_stream(&["slow "; 200]).slow(std::time::Duration::from_millis(20)),
    );
    let mut child = env
        .spawnable(&server)
        .args(["session", "run", "c", "--auto-compact", "500", "go"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = [0u8; 5];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    signal(child.id(), "INT");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let doc = env.doc("c");
    assert_eq!(doc["summary"], "Short summary.");
    assert_eq!(
        doc["messages"].as_array().unwrap().len(),
        4,
        "the 4 kept, nothing added"
    );
    assert_eq!(doc["failed_turn"]["prompt"], "go");
    assert!(doc["failed_turn"]["partial"]
        .as_str()
        .unwrap()
        .starts_with("slow "));
}
