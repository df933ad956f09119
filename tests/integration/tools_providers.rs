//! The customer-service example on Anthropic, Gemini and Ollama through the binary: each
//! protocol's tool call, the fixture really run, the result sent back in that protocol's shape,
//! the remembered tools and history on the next turn. Plus confirmation, `--no-tools`, config
//! tools, the jsonl events and Ctrl-C during a tool call.

use serde_json::{json, Value};

use crate::providers::{anthropic_events, gemini_events, ndjson, ollama_lines};
use crate::tools::{fixture, openai_calls, orders, roles, Tools};
use crate::util::*;

const ASK: &str = "I'm user-123, what are my recent orders?";

/// Create the session on `provider`, run the calling turn and check what every provider shares:
/// the tool ran with the right stdin, stdout is the model's text only, the document is whole.
fn round_trip(t: &Tools, provider: &str, model: &str, stdout_text: &str) -> Value {
    t.new_session(&[
        "--provider",
        provider,
        "-m",
        model,
        "--tool",
        &fixture("get_user_orders.yaml"),
    ]);
    let out = t.run(&[ASK]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), stdout_text);
    assert!(stderr(&out).starts_with("tool get_user_orders {\"user_id\":\"user-123\"} → ok, "));
    let calls = t.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["stdin"], "{\"user_id\":\"user-123\"}\n");
    assert_eq!(calls[0]["env"]["AGENT_SESSION_ID"], "s");
    assert!(calls[0]["env"].get("ANTHROPIC_API_KEY").is_none());
    assert!(calls[0]["env"].get("GEMINI_API_KEY").is_none());
    let doc = t.env.doc("s");
    assert_eq!(roles(&doc), ["user", "assistant", "tool", "assistant"]);
    assert_eq!(doc["messages"][2]["content"], orders("user-123"));
    assert_eq!(doc["messages"][2]["name"], "get_user_orders");
    // The next turn, without flags, declares the remembered tool again.
    t.server.push(match provider {
        "anthropic" => MockResponse::sse_events(&anthropic_events(&["Soon."], 90, 2)),
        "gemini" => MockResponse::sse_events(&gemini_events(&["Soon."], 90, 2)),
        _ => ndjson(&ollama_lines(&["Soon."], 90, 2)),
    });
    let out = t.run(&["When will order 1 arrive?"]);
    assert_eq!(stdout(&out), "Soon.\n", "{}", stderr(&out));
    doc
}

#[test]
fn anthropic_tool_use_runs_the_tool_and_sends_a_tool_result_block() {
    let t = Tools::new();
    let ev = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    let delta = |i: u32, d: Value| {
        ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": i, "delta": d}),
        )
    };
    t.server.push(MockResponse::sse_events(&[
        ev("message_start", json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
            "content": [], "model": "claude-haiku-4-5-20251001", "usage": {"input_tokens": 50, "output_tokens": 1}}})),
        ev("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})),
        delta(0, json!({"type": "text_delta", "text": "Let me check.\n"})),
        ev("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
        ev("content_block_start", json!({"type": "content_block_start", "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_01", "name": "get_user_orders", "input": {}}})),
        delta(1, json!({"type": "input_json_delta", "partial_json": ""})),
        ev("ping", json!({"type": "ping"})),
        delta(1, json!({"type": "input_json_delta", "partial_json": "{\"user_id\": \"us"})),
        delta(1, json!({"type": "input_json_delta", "partial_json": "er-123\"}"})),
        ev("content_block_stop", json!({"type": "content_block_stop", "index": 1})),
        ev("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 30}})),
        ev("message_stop", json!({"type": "message_stop"})),
    ]));
    t.server.push(MockResponse::sse_events(&anthropic_events(
        &["You have two orders."],
        80,
        6,
    )));
    let doc = round_trip(
        &t,
        "anthropic",
        "claude-haiku-4-5",
        "Let me check.\nYou have two orders.\n",
    );
    assert_eq!(doc["messages"][1]["content"], "Let me check.\n");
    let tools = &t.server.body(0)["tools"];
    assert_eq!(tools[0]["name"], "get_user_orders");
    assert_eq!(tools[0]["input_schema"]["required"], json!(["user_id"]));
    let call = json!({"role": "assistant", "content": [{"type": "text", "text": "Let me check.\n"},
        {"type": "tool_use", "id": "toolu_01", "name": "get_user_orders", "input": {"user_id": "user-123"}}]});
    let result = json!({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01", "content": orders("user-123"), "cache_control": {"type": "ephemeral"}}]});
    let follow = &t.server.body(1)["messages"];
    assert_eq!(follow[1], call);
    assert_eq!(follow[2], result);
    let next = t.server.body(2);
    assert_eq!(next["tools"], *tools);
    assert_eq!(next["messages"][1], call);
    // The cache breakpoint moved on to the next turn's last block.
    let mut result = result;
    result["content"][0]
        .as_object_mut()
        .unwrap()
        .remove("cache_control");
    assert_eq!(next["messages"][2], result);
}

#[test]
fn gemini_function_call_runs_the_tool_and_sends_a_function_response() {
    let t = Tools::new();
    // Gemini sends arguments whole, as an object; the text and the call arrive as two chunks.
    let text = json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Checking."}]}, "index": 0}]});
    let call = json!({"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"name": "get_user_orders", "args": {"user_id": "user-123"}}}]},
        "finishReason": "STOP", "index": 0}], "usageMetadata": {"promptTokenCount": 30, "candidatesTokenCount": 5}});
    t.server.push(MockResponse::sse_events(&[
        format!("data: {text}\r\n\r\n"),
        format!("data: {call}\r\n\r\n"),
    ]));
    t.server.push(MockResponse::sse_events(&gemini_events(
        &["You have ", "two orders."],
        40,
        4,
    )));
    round_trip(
        &t,
        "gemini",
        "gemini-2.5-flash",
        "Checking.You have two orders.\n",
    );
    let decl = &t.server.body(0)["tools"][0]["functionDeclarations"][0];
    assert_eq!(decl["name"], "get_user_orders");
    let follow = &t.server.body(1)["contents"];
    assert_eq!(
        follow[1],
        json!({"role": "model", "parts": [{"text": "Checking."},
            {"functionCall": {"name": "get_user_orders", "args": {"user_id": "user-123"}}}]})
    );
    let result = json!({"role": "user", "parts": [{"functionResponse": {"name": "get_user_orders",
        "response": {"output": orders("user-123")}}}]});
    assert_eq!(follow[2], result);
    let next = t.server.body(2);
    assert_eq!(next["tools"][0]["functionDeclarations"][0], *decl);
    assert_eq!(next["contents"][2], result);
}

#[test]
fn ollama_tool_calls_run_the_tool_and_send_a_tool_message() {
    let t = Tools::new();
    let call = json!({"model": "llama3.2", "created_at": "2024-07-22T20:33:28.123648Z",
        "message": {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "get_user_orders", "arguments": {"user_id": "user-123"}}}]},
        "done": false});
    let done = json!({"model": "llama3.2", "created_at": "2024-07-22T20:33:28.2Z",
        "message": {"role": "assistant", "content": ""}, "done_reason": "stop", "done": true,
        "prompt_eval_count": 122, "eval_count": 33});
    t.server
        .push(ndjson(&[format!("{call}\n"), format!("{done}\n")]));
    t.server
        .push(ndjson(&ollama_lines(&["You have ", "two orders."], 150, 5)));
    round_trip(&t, "ollama", "llama3.2", "You have two orders.\n");
    assert_eq!(
        t.server.body(0)["tools"][0]["function"]["name"],
        "get_user_orders"
    );
    let follow = &t.server.body(1)["messages"];
    let asked = json!({"role": "assistant", "content": "", "tool_calls": [
        {"function": {"name": "get_user_orders", "arguments": {"user_id": "user-123"}}}]});
    let result =
        json!({"role": "tool", "tool_name": "get_user_orders", "content": orders("user-123")});
    assert_eq!(follow[2], asked);
    assert_eq!(follow[3], result);
    assert_eq!(t.server.body(2)["messages"][3], result);
}

const CALL: (&str, &str, &str) = ("call_1", "confirm_orders", r#"{"user_id": "user-123"}"#);

#[test]
fn confirm_tools_are_refused_without_a_terminal_unless_yes() {
    let t = Tools::new();
    let tool = fixture("confirm.yaml");
    let no_tty = t.env.path().join("no-tty");
    for _ in 0..2 {
        t.server.push(openai_calls(&[CALL]));
        t.server.push(MockResponse::openai_stream(&["ok"]));
    }
    t.agent()
        .args(["run", "--tool", &tool, ASK])
        .env("AGENT_TEST_CONFIRM_TTY", &no_tty)
        .assert()
        .success();
    assert!(t.calls().is_empty());
    let refusal = t.server.body(1)["messages"][2]["content"].clone();
    assert!(
        refusal.as_str().unwrap().contains("no terminal to ask on"),
        "{refusal}"
    );
    t.agent()
        .args(["run", "--yes", "--tool", &tool, ASK])
        .env("AGENT_TEST_CONFIRM_TTY", &no_tty)
        .assert()
        .success();
    assert_eq!(t.calls().len(), 1);
    // The tool file's `env` reaches the tool.
    assert_eq!(t.calls()[0]["env"]["KEEP_ME"], "from-the-tool-file");
}

#[test]
fn confirm_asks_on_the_terminal_and_honours_the_answer() {
    let t = Tools::new();
    let answers = t.env.path().join("answers");
    // --confirm makes even a tool without `confirm: true` ask.
    let orders_tool = fixture("get_user_orders.yaml");
    for (answer, runs) in [("n\n", 0), ("y\n", 1), ("a\n", 2)] {
        std::fs::write(&answers, answer).unwrap();
        t.server.push(openai_calls(&[(
            "call_1",
            "get_user_orders",
            r#"{"user_id": "user-123"}"#,
        )]));
        t.server.push(MockResponse::openai_stream(&["ok"]));
        let out = t
            .agent()
            .args(["run", "--confirm", "--tool", &orders_tool, ASK])
            .env("AGENT_TEST_CONFIRM_TTY", &answers)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stderr(&out).contains(
            "run tool get_user_orders {\"user_id\":\"user-123\"}? [y]es / [n]o / [a]ll: "
        ));
        assert_eq!(t.calls().len(), runs, "answer {answer:?}");
    }
    let declined = &t.server.body(1)["messages"][2]["content"];
    assert_eq!(*declined, "the user declined to run this tool call");
}

#[test]
fn no_tools_config_tools_and_jsonl_events() {
    let t = Tools::new();
    t.env.write_config(&format!(
        "tools:\n  - {}\n",
        fixture("get_user_orders.yaml")
    ));
    t.server.push(openai_calls(&[(
        "call_1",
        "get_user_orders",
        r#"{"user_id": "user-123"}"#,
    )]));
    t.server.push(MockResponse::openai_stream(&["Two orders."]));
    let out = t
        .agent()
        .args(["-q", "run", "--format", "jsonl", ASK])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "-q silences the tool line");
    let events: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let call = events.iter().find(|e| e["type"] == "tool_call").unwrap();
    assert_eq!(
        *call,
        json!({"type": "tool_call", "id": "call_1", "name": "get_user_orders", "arguments": {"user_id": "user-123"}})
    );
    let result = events.iter().find(|e| e["type"] == "tool_result").unwrap();
    assert_eq!(result["id"], "call_1");
    assert_eq!(result["ok"], true);
    assert_eq!(result["content"], orders("user-123"));
    assert!(result["duration_ms"].is_u64());

    t.server
        .push(MockResponse::openai_stream(&["No tools today."]));
    t.agent()
        .args(["run", "--no-tools", ASK])
        .assert()
        .success()
        .stdout("No tools today.\n");
    assert!(t.server.body(2).get("tools").is_none());
    assert_eq!(t.calls().len(), 1);
}

#[test]
fn ctrl_c_during_a_tool_call_kills_its_process_group_and_saves_nothing() {
    use std::io::BufRead;
    let t = Tools::new();
    // slow.sh with a timeout long enough that only the interrupt can stop it.
    let tool = t.env.path().join("slow.yaml");
    std::fs::write(
        &tool,
        format!(
            "name: slow_tool\ncommand: [{}]\ntimeout: 60\n",
            fixture("slow.sh")
        ),
    )
    .unwrap();
    t.new_session(&["--tool", tool.to_str().unwrap()]);
    let before = t.env.doc("s");
    t.server
        .push(openai_calls(&[("call_1", "slow_tool", "{}")]));
    let mut child = t
        .env
        .spawnable(&t.server)
        .args(["session", "run", "s", "--format", "jsonl", "go"])
        .env("TOOL_LOG", &t.log)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(Ok(line)) = lines.next() {
        if line.contains("\"tool_call\"") {
            break;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(500)); // the script starts its child
    let ok = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let after = t.env.doc("s");
    assert_eq!(after["messages"], before["messages"]);
    assert_eq!(after["failed_turn"]["prompt"], "go");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(!std::path::Path::new(&format!("{}.survivor", t.log.display())).exists());
}
