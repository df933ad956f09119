//! `--max-cost` and `session new --budget`: a turn stops before the request that a limit
//! forbids (exit 9), adds nothing to the history and keeps its prompt for `retry`.

use serde_json::{json, Value};

use crate::tools::fixture;
use crate::util::*;

/// A gpt-4o-mini reply calling the orders tool, reporting 100k input tokens ($0.015).
fn costly_call() -> MockResponse {
    let chunk = |delta: Value, finish: Value, usage: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": "c", "object": "chat.completion.chunk", "created": 1,
                   "model": "gpt-4o-mini-2024-07-18",
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "usage": usage})
        )
    };
    MockResponse::sse_events(&[
        chunk(
            json!({"role": "assistant", "content": null, "tool_calls": [{"index": 0, "id": "call_1",
                "type": "function", "function": {"name": "get_user_orders",
                "arguments": "{\"user_id\": \"u\"}"}}]}),
            Value::Null,
            Value::Null,
        ),
        chunk(json!({}), json!("tool_calls"), Value::Null),
        format!(
            "data: {}\n\n",
            json!({"id": "c", "object": "chat.completion.chunk", "created": 1,
                   "model": "gpt-4o-mini-2024-07-18", "choices": [],
                   "usage": {"prompt_tokens": 100_000, "completion_tokens": 0, "total_tokens": 100_000}})
        ),
        "data: [DONE]\n\n".to_string(),
    ])
}

#[test]
fn a_tool_loop_that_would_run_forever_stops_at_max_cost() {
    let env = TestEnv::new();
    let server = MockServer::start();
    server.fallback(costly_call());
    env.cmd()
        .args([
            "session",
            "new",
            "--id",
            "s",
            "--tool",
            &fixture("get_user_orders.yaml"),
        ])
        .passes();
    let out = env
        .agent(&server)
        .env("TOOL_LOG", env.path().join("tool.log"))
        .args([
            "session",
            "run",
            "s",
            "--max-cost",
            "0.04",
            "--max-steps",
            "50",
            "orders?",
        ])
        .code(9);
    // Three requests cost $0.045: the fourth is never sent.
    assert_eq!(server.requests().len(), 3);
    assert!(
        stderr(&out).ends_with(
            "agent: error: this turn's limit of $0.04 is reached: $0.045 spent; stopped before request 4 (see --max-cost)\n"
        ),
        "{}",
        stderr(&out)
    );
    let doc = env.doc("s");
    assert_eq!(doc["messages"], json!([]));
    assert_eq!(doc["failed_turn"]["prompt"], "orders?");
}

#[test]
fn a_budgeted_session_refuses_the_turn_that_would_exceed_it() {
    let env = TestEnv::new();
    let server = MockServer::start();
    env.cmd()
        .args(["session", "new", "--id", "b", "--budget", "0.04"])
        .passes();
    assert_eq!(env.doc("b")["budget_usd"], json!(0.04));
    for _ in 0..2 {
        server.push(MockResponse::sse_events(&openai_events(
            &["ok"],
            "stop",
            Some((100_000, 0)),
        )));
    }
    for prompt in ["one", "two"] {
        env.agent(&server)
            .args(["session", "run", "b", prompt])
            .passes();
    }
    // $0.03 spent of $0.04, and the history alone (100k tokens, as the provider counted it)
    // would cost $0.015 more: the third turn sends nothing.
    let out = env
        .agent(&server)
        .args(["session", "run", "b", "--format", "json", "three"])
        .code(9);
    assert_eq!(server.requests().len(), 2);
    assert!(
        stderr(&out).starts_with("agent: error: session 'b' budget of $0.04 would be passed: $0.03 spent, and the first request alone is estimated at $0.0150"),
        "{}",
        stderr(&out)
    );
    let object: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (
            object["error"]["kind"].clone(),
            object["error"]["spent_usd"].clone(),
            object["error"]["limit_usd"].clone()
        ),
        (json!("over_budget"), json!(0.03), json!(0.04))
    );
    assert_eq!(env.doc("b")["messages"].as_array().unwrap().len(), 4);
    let stats = env.cmd().args(["session", "stats", "b"]).passes();
    assert!(
        stdout(&stats).contains("cost         $0.0300 of a $0.0400 budget\n"),
        "{}",
        stdout(&stats)
    );
    assert_eq!(env.doc("b")["failed_turn"]["prompt"], "three");

    // A prompt whose input alone would pass a budget is not sent at all.
    env.cmd()
        .args(["session", "new", "--id", "tiny", "--budget", "0.001"])
        .passes();
    let long = "word ".repeat(20_000);
    let out = env
        .agent(&server)
        .args(["session", "run", "tiny", &long])
        .code(9);
    assert!(stderr(&out).contains("session 'tiny' budget of $0.001 would be passed: $0 spent, and the first request alone is estimated at $0.00"), "{}", stderr(&out));
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn a_limit_on_an_unpriced_model_is_a_usage_error() {
    let env = TestEnv::new();
    let server = MockServer::start();
    let out = env
        .agent(&server)
        .args([
            "run",
            "--provider",
            "openai",
            "-m",
            "my-local-model",
            "--max-cost",
            "1",
            "hi",
        ])
        .code(2);
    assert!(
        stderr(&out).contains("model 'my-local-model' has no known price"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.requests().len(), 0);
    env.cmd().args(["run", "--max-cost", "-1", "hi"]).code(2);
}
