//! The OpenAI Responses API through the binary, against a mock speaking its semantic events
//! (<https://platform.openai.com/docs/api-reference/responses-streaming>): text, reasoning
//! summaries on stderr with the encrypted reasoning item sent back before the function call it
//! produced, tools, structured output, errors, truncation, `--no-stream`, and which API is
//! chosen.

use serde_json::{json, Value};

use crate::providers::agent;
use crate::tools::{fixture, orders, Tools};
use crate::util::*;

/// One SSE event as the Responses API frames it: an `event:` line naming the type.
fn ev(data: Value) -> String {
    format!(
        "event: {}\ndata: {data}\n\n",
        data["type"].as_str().unwrap()
    )
}

fn created() -> String {
    ev(
        json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "object": "response",
        "status": "in_progress", "model": "gpt-5-mini-2025-08-07", "output": []}}),
    )
}

fn completed(status: &str, usage: Value) -> String {
    ev(
        json!({"type": format!("response.{status}"), "response": {"id": "resp_1", "object": "response",
        "status": status, "model": "gpt-5-mini-2025-08-07",
        "incomplete_details": if status == "incomplete" { json!({"reason": "max_output_tokens"}) } else { Value::Null },
        "usage": usage}}),
    )
}

fn usage(input: u64, cached: u64, output: u64, reasoning: u64) -> Value {
    json!({"input_tokens": input, "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output, "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": input + output})
}

fn message_item(text: &str) -> Value {
    json!({"id": "msg_1", "type": "message", "status": "completed", "role": "assistant", "phase": "final_answer",
        "content": [{"type": "output_text", "text": text, "annotations": []}]})
}

/// A text reply, one delta per part.
pub(crate) fn text_reply(parts: &[&str], status: &str) -> Vec<String> {
    let mut out = vec![created()];
    out.push(ev(
        json!({"type": "response.output_item.added", "output_index": 0, "item": {"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}}),
    ));
    for p in parts {
        out.push(ev(
            json!({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": p}),
        ));
    }
    out.push(ev(
        json!({"type": "response.output_item.done", "output_index": 0, "item": message_item(&parts.concat())}),
    ));
    out.push(completed(status, usage(120, 100, 30, 0)));
    out
}

const ENCRYPTED: &str = "gAAAAABpF0zbM_w==";

fn reasoning_item() -> Value {
    json!({"id": "rs_1", "type": "reasoning", "encrypted_content": ENCRYPTED,
        "summary": [{"type": "summary_text", "text": "**Looking up orders**"}]})
}

/// A reply that reasons (a summary), then calls get_user_orders.
fn reasoning_then_call() -> Vec<String> {
    vec![
        created(),
        ev(
            json!({"type": "response.output_item.added", "output_index": 0, "item": {"id": "rs_1", "type": "reasoning", "summary": []}}),
        ),
        ev(
            json!({"type": "response.reasoning_summary_part.added", "item_id": "rs_1", "output_index": 0, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}),
        ),
        ev(
            json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 0, "delta": "**Looking up "}),
        ),
        ev(
            json!({"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 0, "delta": "orders**"}),
        ),
        ev(
            json!({"type": "response.output_item.done", "output_index": 0, "item": reasoning_item()}),
        ),
        ev(
            json!({"type": "response.output_item.added", "output_index": 1, "item": {"id": "fc_1", "type": "function_call", "status": "in_progress", "call_id": "call_1", "name": "get_user_orders", "arguments": ""}}),
        ),
        ev(
            json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 1, "delta": "{\"user_id\":"}),
        ),
        ev(
            json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 1, "delta": "\"user-123\"}"}),
        ),
        ev(
            json!({"type": "response.output_item.done", "output_index": 1, "item": {"id": "fc_1", "type": "function_call", "status": "completed", "call_id": "call_1", "name": "get_user_orders", "arguments": "{\"user_id\":\"user-123\"}"}}),
        ),
        completed("completed", usage(200, 0, 60, 40)),
    ]
}

#[test]
fn tool_loop_sends_the_encrypted_reasoning_item_back_before_its_call() {
    let t = Tools::new();
    t.server
        .push(MockResponse::sse_events(&reasoning_then_call()));
    t.server.push(MockResponse::sse_events(&text_reply(
        &["Two ", "orders."],
        "completed",
    )));
    t.new_session(&[
        "-m",
        "gpt-5-mini",
        "--tool",
        &fixture("get_user_orders.yaml"),
    ]);
    let out = t.run(&[
        "--api",
        "responses",
        "--reasoning",
        "low",
        "orders? user-123",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Two orders.\n");
    assert!(
        stderr(&out).starts_with("**Looking up orders**\ntool get_user_orders"),
        "{}",
        stderr(&out)
    );
    let req = &t.server.requests()[0];
    assert_eq!(req.path, "/v1/responses");
    let first = req.json();
    assert_eq!(
        first["instructions"],
        "You are a customer service assistant."
    );
    assert_eq!(
        (
            first["store"].clone(),
            first["include"].clone(),
            first["reasoning"].clone()
        ),
        (
            json!(false),
            json!(["reasoning.encrypted_content"]),
            json!({"effort": "low", "summary": "auto"})
        )
    );
    assert_eq!(first["prompt_cache_key"], "s");
    assert_eq!(first["tools"][0]["type"], "function", "{}", first["tools"]);
    let follow = t.server.body(1);
    assert_eq!(
        follow["input"],
        json!([
            {"role": "user", "content": "orders? user-123"},
            {"type": "reasoning", "encrypted_content": ENCRYPTED,
             "summary": [{"type": "summary_text", "text": "**Looking up orders**"}]},
            {"type": "function_call", "call_id": "call_1", "name": "get_user_orders", "arguments": "{\"user_id\":\"user-123\"}"},
            {"type": "function_call_output", "call_id": "call_1", "output": orders("user-123")},
        ])
    );
    let doc = t.env.doc("s");
    let call = &doc["messages"][1];
    assert_eq!(call["reasoning"], "**Looking up orders**");
    assert_eq!(call["openai"]["items"], json!([reasoning_item()]));
    assert_eq!(
        call["usage"],
        json!({"input_tokens": 200, "output_tokens": 60, "cache_read_tokens": 0, "reasoning_tokens": 40})
    );
    // The answer's message item (with its phase) goes back on the next turn, id left out.
    t.server.push(MockResponse::sse_events(&text_reply(
        &["Yes."],
        "completed",
    )));
    assert!(t.run(&["--api", "responses", "sure?"]).status.success());
    let mut item = message_item("Two orders.");
    item.as_object_mut().unwrap().remove("id");
    item.as_object_mut().unwrap().remove("status");
    assert_eq!(t.server.body(2)["input"][4], item);
}

fn one_shot(server: &MockServer, env: &TestEnv, args: &[&str]) -> std::process::Output {
    agent(env, server)
        .args(["run", "-m", "gpt-5-mini", "--api", "responses"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn text_schema_no_stream_and_usage() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    server.push(MockResponse::sse_events(&text_reply(
        &["Hel", "lo."],
        "completed",
    )));
    let out = one_shot(&server, &env, &["-u", "hi"]);
    assert_eq!(stdout(&out), "Hello.\n", "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("agent: tokens 120 in, 30 out (cached 100, reasoning 0)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        server.body(0)["input"],
        json!([{"role": "user", "content": "hi"}])
    );

    server.push(MockResponse::sse_events(&text_reply(
        &["{\"capital\": \"Paris\"}"],
        "completed",
    )));
    let out = agent(&env, &server)
        .args([
            "json",
            "-m",
            "gpt-5-mini",
            "--api",
            "responses",
            "--schema",
            "capital str",
            "France?",
        ])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out),
        "{\"capital\":\"Paris\"}\n",
        "{}",
        stderr(&out)
    );
    let format = &server.body(1)["text"]["format"];
    assert_eq!(
        (format["type"].clone(), format["strict"].clone()),
        (json!("json_schema"), json!(true))
    );

    let whole = json!({"id": "resp_1", "object": "response", "status": "completed", "model": "gpt-5-mini-2025-08-07",
        "output": [reasoning_item(), message_item("Whole.")], "usage": usage(10, 0, 5, 2)});
    server.push(MockResponse::json(200, whole));
    let out = one_shot(&server, &env, &["--no-stream", "hi"]);
    assert_eq!(
        (stdout(&out), stderr(&out)),
        ("Whole.\n".into(), "**Looking up orders**\n".into())
    );
    assert_eq!(server.body(2)["stream"], false);
}

#[test]
fn failures_truncation_and_incomplete() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    // A stream without a terminal event is a truncated reply.
    let mut cut = text_reply(&["Par"], "completed");
    cut.pop();
    server.push(MockResponse::sse_events(&cut));
    let out = one_shot(&server, &env, &["hi"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("stream ended before response.completed"),
        "{}",
        stderr(&out)
    );
    server.push(MockResponse::sse_events(&[
        created(),
        ev(
            json!({"type": "response.failed", "response": {"id": "resp_1", "status": "failed",
            "error": {"code": "server_error", "message": "The model failed."}}}),
        ),
    ]));
    let out = one_shot(&server, &env, &["hi"]);
    assert!(
        stderr(&out).contains("The model failed."),
        "{}",
        stderr(&out)
    );
    server.push(MockResponse::sse_events(&[ev(
        json!({"type": "error", "code": "rate_limit_exceeded", "message": "Slow down.", "param": null}),
    )]));
    let out = one_shot(&server, &env, &["hi"]);
    assert!(stderr(&out).contains("Slow down."), "{}", stderr(&out));
    server.push(MockResponse::openai_error(
        400,
        "Unsupported value: 'reasoning.effort'",
        "invalid_request_error",
    ));
    let out = one_shot(&server, &env, &["--reasoning", "none", "hi"]);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("Unsupported value"), "{err}");

    server.push(MockResponse::sse_events(&text_reply(
        &["Cut"],
        "incomplete",
    )));
    let out = agent(&env, &server)
        .args([
            "run",
            "-m",
            "gpt-5-mini",
            "--api",
            "responses",
            "--format",
            "json",
            "hi",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["finish_reason"], "length");
}

#[test]
fn the_api_follows_the_url_the_flag_and_the_config() {
    let (env, server) = (TestEnv::new(), MockServer::start());
    // OpenAI's own URL: Responses (a dry run sends nothing, so no key is needed).
    let out = env
        .cmd()
        .args(["-v", "run", "--dry-run", "-m", "gpt-5-mini", "hi"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let body: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(body["input"], json!([{"role": "user", "content": "hi"}]));
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
    // gpt-4o-mini, the default model, does not reason and refuses the encrypted-content ask.
    let plain = env.cmd().args(["run", "--dry-run", "hi"]).output().unwrap();
    let body: Value = serde_json::from_str(&stdout(&plain)).unwrap();
    assert_eq!(
        (body["model"].clone(), body["store"].clone()),
        (json!("gpt-4o-mini"), json!(false))
    );
    assert!(body.get("include").is_none(), "{body}");
    assert!(
        stderr(&out).contains(
            "(openai, inferred from model 'gpt-5-mini', Responses API by OpenAI's own URL)"
        ),
        "{}",
        stderr(&out)
    );
    // Another URL: Chat Completions, unless told.
    let dry = |args: &[&str]| {
        let out = agent(&env, &server)
            .args(["run", "--dry-run", "-m", "gpt-5-mini"])
            .args(args)
            .arg("hi")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str::<Value>(&stdout(&out)).unwrap()
    };
    assert!(dry(&[]).get("messages").is_some());
    assert!(dry(&["--api", "responses"]).get("input").is_some());
    env.write_config(&format!(
        "providers:\n  mine: {{kind: openai, base_url: '{}', api: responses}}\n",
        server.url("/v1")
    ));
    assert!(dry(&["--provider", "mine"]).get("input").is_some());
    assert!(dry(&["--provider", "mine", "--api", "chat"])
        .get("messages")
        .is_some());
    let bad = agent(&env, &server)
        .args(["run", "-m", "claude-haiku-4-5", "--api", "chat", "hi"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}
