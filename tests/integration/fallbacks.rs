//! `--fallback` and `fallbacks:`: a primary that stays overloaded after its retries hands the
//! same request to the next model, with a notice; errors another model would not fix do not.

use serde_json::{json, Value};

use crate::providers::{agent, anthropic_events};
use crate::util::*;

fn overloaded() -> MockResponse {
    MockResponse::json(
        529,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    )
    .header("retry-after", "0")
}

#[test]
fn an_overloaded_primary_falls_back_to_the_next_model() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(overloaded());
    server.push(overloaded());
    server.push(MockResponse::sse_events(&anthropic_events(
        &["From Claude."],
        12,
        3,
    )));
    new_session(&env, &["--id", "s"]);
    let out = agent(&env, &server)
        .args([
            "session",
            "run",
            "s",
            "--retries",
            "1",
            "-u",
            "--format",
            "json",
        ])
        .args([
            "-m",
            "gpt-4o-mini",
            "--fallback",
            "anthropic:claude-haiku-4-5",
            "hi",
        ])
        .passes();
    let reply: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(reply["text"], "From Claude.");
    assert_eq!(reply["model"], "claude-haiku-4-5-20251001");
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[0],
        "agent: openai answered 529, retrying in 0.0 s (1 of 1)"
    );
    assert_eq!(
        lines[1],
        "agent: openai (gpt-4o-mini) failed: openai: HTTP 529 (overloaded_error): Overloaded; \
         falling back to anthropic (claude-haiku-4-5)"
    );
    assert!(
        lines[2].ends_with(" · answered by the fallback anthropic (claude-haiku-4-5)"),
        "{err}"
    );
    // The same conversation went to the fallback, in its own protocol.
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[2].json()["model"], "claude-haiku-4-5");
    assert_eq!(
        requests[2].json()["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "hi"}]}])
    );
    let answer = &env.doc("s")["messages"][1];
    assert_eq!(
        (answer["provider"].clone(), answer["model"].clone()),
        (json!("anthropic"), json!("claude-haiku-4-5-20251001"))
    );
}

#[test]
fn an_unauthorized_primary_does_not_fall_back() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.push(MockResponse::openai_error(
        401,
        "bad key",
        "invalid_api_key",
    ));
    let out = agent(&env, &server)
        .args(["run", "--fallback", "anthropic:claude-haiku-4-5", "hi"])
        .code(3);
    assert_eq!(server.requests().len(), 1);
    assert!(!stderr(&out).contains("falling back"), "{}", stderr(&out));
}

#[test]
fn a_model_alias_brings_its_fallbacks() {
    let env = TestEnv::new();
    let server = MockServer::start();
    env.write_config(
        "models:\n  main:\n    model: gpt-4o-mini\n    fallbacks: [claude-haiku-4-5]\n",
    );
    server.push(MockResponse::openai_error(503, "down", "server_error"));
    server.push(MockResponse::sse_events(&anthropic_events(&["ok"], 1, 1)));
    let out = agent(&env, &server)
        .args(["run", "--retries", "0", "-m", "main", "hi"])
        .passes();
    assert_eq!(stdout(&out), "ok\n");
    assert_eq!(server.requests()[1].json()["model"], "claude-haiku-4-5");
}
