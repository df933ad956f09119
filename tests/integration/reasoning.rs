//! Reasoning through the binary: Anthropic thinking streamed to stderr (never stdout), its
//! signed and redacted blocks sent back unchanged in a tool loop, kept across a provider switch
//! and back; effort mapped per protocol; `--hide-reasoning`, jsonl and json output.
//! Event sequences as in the extended-thinking streaming reference
//! (<https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#streaming-thinking>).

use serde_json::{json, Value};

use crate::providers::{agent, anthropic_events, ndjson, ollama_lines};
use crate::tools::{fixture, orders, Tools};
use crate::util::*;

fn ev(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

fn delta(i: u32, d: Value) -> String {
    ev(
        "content_block_delta",
        json!({"type": "content_block_delta", "index": i, "delta": d}),
    )
}

fn stop(i: u32) -> String {
    ev(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": i}),
    )
}

pub(crate) const SIGNATURE: &str = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds";
pub(crate) const REDACTED: &str =
    "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP";

/// A reply that thinks (two thinking deltas, a signature in two deltas of which the last is
/// the whole signature), has a redacted thinking block, then calls `get_user_orders`.
pub(crate) fn thinking_then_tool() -> Vec<String> {
    vec![
        ev(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_01", "type": "message", "role": "assistant",
                "content": [], "model": "claude-haiku-4-5-20251001", "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 50, "output_tokens": 1}}}),
        ),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
        ),
        delta(
            0,
            json!({"type": "thinking_delta", "thinking": "The user wants "}),
        ),
        ev("ping", json!({"type": "ping"})),
        delta(
            0,
            json!({"type": "thinking_delta", "thinking": "their orders."}),
        ),
        delta(0, json!({"type": "signature_delta", "signature": "EqQB"})),
        delta(
            0,
            json!({"type": "signature_delta", "signature": SIGNATURE}),
        ),
        stop(0),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "redacted_thinking", "data": REDACTED}}),
        ),
        stop(1),
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_01", "name": "get_user_orders", "input": {}}}),
        ),
        delta(2, json!({"type": "input_json_delta", "partial_json": ""})),
        delta(
            2,
            json!({"type": "input_json_delta", "partial_json": "{\"user_id\": \"user-123\"}"}),
        ),
        stop(2),
        ev(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                   "usage": {"output_tokens": 40}}),
        ),
        ev("message_stop", json!({"type": "message_stop"})),
    ]
}

/// The assistant turn as it must go back: thinking blocks first, unchanged, then the call.
fn sent_back_call() -> Value {
    json!({"role": "assistant", "content": [
        {"type": "thinking", "thinking": "The user wants their orders.", "signature": SIGNATURE},
        {"type": "redacted_thinking", "data": REDACTED},
        {"type": "tool_use", "id": "toolu_01", "name": "get_user_orders", "input": {"user_id": "user-123"}},
    ]})
}

#[test]
fn anthropic_thinking_survives_the_tool_loop_and_goes_to_stderr_only() {
    let t = Tools::new();
    t.server
        .push(MockResponse::sse_events(&thinking_then_tool()));
    t.server.push(MockResponse::sse_events(&anthropic_events(
        &["You have two orders."],
        120,
        8,
    )));
    t.new_session(&[
        "--provider",
        "anthropic",
        "-m",
        "claude-haiku-4-5",
        "--reasoning",
        "low",
        "--tool",
        &fixture("get_user_orders.yaml"),
    ]);
    let out = t.run(&["-t", "0.5", "What are my orders? I'm user-123."]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "You have two orders.\n");
    let err = stderr(&out);
    assert!(
        err.starts_with("The user wants their orders.\ntool get_user_orders"),
        "{err}"
    );

    // The session remembered `--reasoning low`: budget 4096, room for the reply on top, and no
    // temperature with thinking on.
    let first = t.server.body(0);
    assert_eq!(
        first["thinking"],
        json!({"type": "enabled", "budget_tokens": 4096})
    );
    assert_eq!(first["max_tokens"], 8192);
    assert!(first.get("temperature").is_none());
    // The next request carries the signed and redacted blocks exactly, before the call.
    let follow = t.server.body(1);
    assert_eq!(follow["messages"][1], sent_back_call());
    assert_eq!(
        follow["messages"][2]["content"][0]["content"],
        orders("user-123")
    );

    let doc = t.env.doc("s");
    assert_eq!(doc["options"]["reasoning"], "low");
    let reply = &doc["messages"][1];
    assert_eq!(reply["reasoning"], "The user wants their orders.");
    assert_eq!(
        reply["anthropic"]["thinking"],
        json!(sent_back_call()["content"].as_array().unwrap()[..2])
    );
    shown_exported_and_imported(&t);
}

/// `session show` folds the reasoning on a terminal and gives it whole elsewhere; export and
/// import keep every byte of it and of the opaque state.
fn shown_exported_and_imported(t: &Tools) {
    let show = |args: &[&str], tty: bool| {
        let mut cmd = t.agent();
        if tty {
            cmd.env("AGENT_TEST_TTY", "1").env("NO_COLOR", "1");
        }
        stdout(
            &cmd.args(["session", "show", "s"])
                .args(args)
                .output()
                .unwrap(),
        )
    };
    assert!(
        show(&[], false).contains("[reasoning]\nThe user wants their orders.\n→ get_user_orders("),
        "{}",
        show(&[], false)
    );
    assert!(show(&[], true).contains("[reasoning] The user wants their orders.\n→"));
    assert!(show(&["--format", "markdown"], false)
        .contains("### Reasoning\n\nThe user wants their orders.\n\nTool call `get_user_orders`"));
    let export = t.agent().args(["session", "export", "s"]).output().unwrap();
    let other = TestEnv::new();
    let file = other.path().join("s.json");
    std::fs::write(&file, &export.stdout).unwrap();
    let imported = other
        .cmd()
        .args(["session", "import"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(imported.status.success(), "{}", stderr(&imported));
    let again = other
        .cmd()
        .args(["session", "export", "s"])
        .output()
        .unwrap();
    assert_eq!(stdout(&again), stdout(&export));
}

#[test]
fn opaque_state_stays_home_across_a_provider_switch_and_back() {
    let t = Tools::new();
    t.server
        .push(MockResponse::sse_events(&thinking_then_tool()));
    t.server.push(MockResponse::sse_events(&anthropic_events(
        &["Two orders."],
        90,
        3,
    )));
    t.new_session(&[
        "--provider",
        "anthropic",
        "-m",
        "claude-haiku-4-5",
        "--tool",
        &fixture("get_user_orders.yaml"),
    ]);
    assert!(t.run(&["--reasoning", "high", "orders?"]).status.success());
    // A turn on OpenAI: the text of the history goes, the signed blocks do not.
    t.server.push(MockResponse::openai_stream(&["Yes."]));
    let out = t.run(&["--provider", "openai", "-m", "gpt-4o-mini", "sure?"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let openai = t.server.body(2);
    assert_eq!(openai["messages"][2]["tool_calls"][0]["id"], "toolu_01");
    let text = openai.to_string();
    assert!(
        !text.contains(SIGNATURE) && !text.contains(REDACTED),
        "{text}"
    );
    // Back on Anthropic, the blocks go again, unchanged.
    t.server.push(MockResponse::sse_events(&anthropic_events(
        &["Still two."],
        90,
        3,
    )));
    let out = t.run(&["--provider", "anthropic", "-m", "claude-haiku-4-5", "and?"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let back = t.server.body(3);
    assert_eq!(back["messages"][1], sent_back_call());
    // No `--reasoning` on this turn and none remembered: no thinking asked.
    assert!(back.get("thinking").is_none());
}

/// A one-block thinking reply with text, for the output tests.
fn thinking_reply() -> Vec<String> {
    let mut events = thinking_then_tool();
    // Keep message_start and the thinking block, then a text block and the end.
    events.truncate(8);
    events.extend([
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        ),
        delta(1, json!({"type": "text_delta", "text": "Hi."})),
        stop(1),
        ev(
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                   "usage": {"output_tokens": 12}}),
        ),
        ev("message_stop", json!({"type": "message_stop"})),
    ]);
    events
}

fn run_once(server: &MockServer, env: &TestEnv, args: &[&str]) -> std::process::Output {
    agent(env, server)
        .args(["run", "-m", "claude-haiku-4-5", "--reasoning", "minimal"])
        .args(args)
        .arg("hello")
        .output()
        .unwrap()
}

#[test]
fn reasoning_output_hidden_dimmed_jsonl_and_json() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.fallback(MockResponse::sse_events(&thinking_reply()));
    let plain = run_once(&server, &env, &[]);
    assert_eq!(stdout(&plain), "Hi.\n");
    assert_eq!(stderr(&plain), "The user wants their orders.\n");
    assert_eq!(
        server.body(0)["thinking"],
        json!({"type": "enabled", "budget_tokens": 1024})
    );
    // A one-shot turn places no cache breakpoints unless asked.
    assert_eq!(server.body(0)["system"], Value::Null);
    assert!(!server.body(0).to_string().contains("cache_control"));

    let hidden = run_once(&server, &env, &["--hide-reasoning"]);
    assert_eq!(
        (stdout(&hidden), stderr(&hidden)),
        ("Hi.\n".into(), "".into())
    );
    let quiet = run_once(&server, &env, &["-q"]);
    assert_eq!(stderr(&quiet), "");

    let dim = agent(&env, &server)
        .env("AGENT_TEST_TTY", "1")
        .args([
            "run",
            "-m",
            "claude-haiku-4-5",
            "--reasoning",
            "minimal",
            "hi",
        ])
        .output()
        .unwrap();
    assert!(
        stderr(&dim).starts_with("\x1b[2mThe user wants \x1b[0m\x1b[2mtheir orders.\x1b[0m\n"),
        "{:?}",
        stderr(&dim)
    );

    let jsonl = run_once(&server, &env, &["--format", "jsonl"]);
    let lines: Vec<Value> = stdout(&jsonl)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[..3],
        [
            json!({"type": "reasoning_delta", "text": "The user wants "}),
            json!({"type": "reasoning_delta", "text": "their orders."}),
            json!({"type": "text_delta", "text": "Hi."}),
        ]
    );
    assert_eq!(stderr(&jsonl), "");

    let one = run_once(&server, &env, &["--format", "json", "--hide-reasoning"]);
    let v: Value = serde_json::from_str(&stdout(&one)).unwrap();
    assert_eq!(
        (v["text"].clone(), v["reasoning"].clone()),
        (json!("Hi."), json!("The user wants their orders."))
    );
}

#[test]
fn effort_maps_to_each_protocol() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    let run = |args: &[&str]| {
        let out = agent(&env, &server)
            .args(["run", "--dry-run"])
            .args(args)
            .arg("q")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str::<Value>(&stdout(&out)).unwrap()
    };
    let openai = run(&["-m", "gpt-5-mini", "--reasoning", "minimal"]);
    assert_eq!(openai["reasoning_effort"], "minimal");
    let gemini = run(&["-m", "gemini-2.5-flash", "--reasoning", "none"]);
    assert_eq!(
        gemini["generationConfig"]["thinkingConfig"],
        json!({"thinkingBudget": 0})
    );
    let gemini3 = run(&["-m", "gemini-3-pro-preview", "--reasoning", "high"]);
    assert_eq!(
        gemini3["generationConfig"]["thinkingConfig"],
        json!({"thinkingLevel": "high", "includeThoughts": true})
    );
    let ollama = run(&[
        "--provider",
        "ollama",
        "-m",
        "gpt-oss:20b",
        "--reasoning",
        "medium",
    ]);
    assert_eq!(ollama["think"], "medium");
    let exact = run(&[
        "-m",
        "claude-haiku-4-5",
        "--thinking-budget",
        "2000",
        "--max-tokens",
        "3000",
    ]);
    assert_eq!(
        (exact["thinking"].clone(), exact["max_tokens"].clone()),
        (
            json!({"type": "enabled", "budget_tokens": 2000}),
            json!(3000)
        )
    );
    let bad = agent(&env, &server)
        .args(["run", "--reasoning", "max", "q"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn config_reasoning_per_alias_and_global() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    env.write_config(
        "reasoning: low\nmodels:\n  deep: {provider: anthropic, model: claude-haiku-4-5, reasoning: high}\n",
    );
    let body = |args: &[&str]| {
        let out = agent(&env, &server)
            .args(["run", "--dry-run"])
            .args(args)
            .arg("q")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str::<Value>(&stdout(&out)).unwrap()
    };
    assert_eq!(body(&["-m", "deep"])["thinking"]["budget_tokens"], 24576);
    assert_eq!(
        body(&["-m", "claude-haiku-4-5"])["thinking"]["budget_tokens"],
        4096
    );
    assert_eq!(
        body(&["-m", "deep", "--reasoning", "minimal"])["thinking"]["budget_tokens"],
        1024
    );
}

#[test]
fn gemini_thoughts_and_ollama_thinking_are_reasoning() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    // Gemini: a thought summary part (`thought: true`) and the answer, CRLF-framed.
    let chunk = json!({"candidates": [{"content": {"role": "model", "parts": [
        {"text": "Weighing it up.", "thought": true}, {"text": "Yes."}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 2, "thoughtsTokenCount": 30,
                          "cachedContentTokenCount": 6}});
    server.push(MockResponse::sse_events(&[format!(
        "data: {chunk}\r\n\r\n"
    )]));
    let out = agent(&env, &server)
        .args([
            "run",
            "-m",
            "gemini-2.5-flash",
            "--reasoning",
            "high",
            "-u",
            "q",
        ])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "Yes.\n", "{}", stderr(&out));
    assert!(
        stderr(&out)
            .starts_with("Weighing it up.\nagent: tokens 8 in, 32 out (cached 6, reasoning 30)"),
        "{}",
        stderr(&out)
    );
    // Ollama: `message.thinking` lines before the content.
    let mut lines = vec![format!(
        "{}\n",
        json!({"model": "qwen3", "created_at": "2025-05-30T10:00:00Z",
               "message": {"role": "assistant", "content": "", "thinking": "Counting r's."}, "done": false})
    )];
    lines.extend(ollama_lines(&["Three."], 5, 4));
    server.push(ndjson(&lines));
    let out = agent(&env, &server)
        .args([
            "run",
            "--provider",
            "ollama",
            "-m",
            "qwen3",
            "--reasoning",
            "low",
            "q",
        ])
        .output()
        .unwrap();
    assert_eq!(
        (stdout(&out), stderr(&out)),
        ("Three.\n".into(), "Counting r's.\n".into())
    );
    assert_eq!(server.body(1)["think"], true);
}

#[test]
fn structured_output_with_thinking_lets_the_model_choose_the_tool() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    let out = agent(&env, &server)
        .args([
            "json",
            "--dry-run",
            "-m",
            "claude-haiku-4-5",
            "--reasoning",
            "low",
        ])
        .args(["--schema", "capital str", "France?"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let body: Value = serde_json::from_str(&stdout(&out)).unwrap();
    // Extended thinking allows only `auto` tool choice.
    assert_eq!(body["tool_choice"], json!({"type": "auto"}));
    assert_eq!(body["thinking"]["type"], "enabled");
}

#[test]
fn the_library_returns_the_reasoning_and_keeps_it_on_the_reply() {
    use agent::provider::{Effort, Reasoning};
    let server = MockServer::start();
    server.push(MockResponse::sse_events(&thinking_reply()));
    let agent = agent::Agent::builder()
        .provider("anthropic")
        .model("claude-haiku-4-5")
        .base_url(server.url(""))
        .api_key(agent::provider::ApiKey::new(KEY))
        .retries(0)
        .build()
        .unwrap();
    let mut session = agent::block_on(agent.session()).unwrap();
    let options = agent::RunOptions {
        reasoning: Some(Reasoning::effort(Effort::Medium)),
        ..agent::RunOptions::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let resp = rt.block_on(session.run_with("hi", options)).unwrap();
    assert_eq!(
        (resp.text.as_str(), resp.reasoning.as_deref()),
        ("Hi.", Some("The user wants their orders."))
    );
    assert_eq!(
        server.body(0)["thinking"],
        json!({"type": "enabled", "budget_tokens": 12288})
    );
    let reply = &session.data().messages[1];
    assert_eq!(
        reply.reasoning.as_deref(),
        Some("The user wants their orders.")
    );
    assert_eq!(
        reply.extra["anthropic"]["thinking"][0]["signature"],
        SIGNATURE
    );
}
