//! Tool round trips and structured output on each protocol, through the library (the CLI has no
//! tool flag yet): the wire shape of declarations, calls and results, and of the JSON request.

use serde_json::{json, Value};

use agent::{Agent, RunOptions, Tool};

use crate::providers::{anthropic_events, gemini_events, ollama_lines};
use crate::util::*;

fn weather() -> Tool {
    let params =
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    Tool::new("get_weather", "Weather in a city", params, |args: Value| async move {
        Ok(format!("sunny in {}", args["city"].as_str().unwrap_or("?")))
    })
    .unwrap()
}

fn agent(kind: &str, model: &str, server: &MockServer) -> Agent {
    Agent::builder()
        .provider(kind)
        .model(model)
        .base_url(server.url(""))
        .api_key(agent::provider::ApiKey::new(KEY))
        .retries(0)
        .tools([weather()])
        .build()
        .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn anthropic_tool_use_and_tool_result_blocks() {
    let server = MockServer::start();
    let ev = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    server.push(MockResponse::sse_events(&[
        ev("message_start", json!({"type": "message_start", "message": {"model": "claude-haiku-4-5", "usage": {"input_tokens": 50, "output_tokens": 1}}})),
        ev("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {}}})),
        ev("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": ""}})),
        ev("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": \"Pa"}})),
        ev("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "ris\"}"}})),
        ev("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
        ev("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 20}})),
        ev("message_stop", json!({"type": "message_stop"})),
    ]));
    server.push(MockResponse::sse_events(&anthropic_events(
        &["Sunny."],
        80,
        3,
    )));
    let agent = agent("anthropic", "claude-haiku-4-5", &server);
    let mut session = agent::block_on(agent.session()).unwrap();
    let resp = runtime()
        .block_on(session.run("weather in Paris?"))
        .unwrap();
    assert_eq!(resp.text, "Sunny.");
    assert_eq!(
        server.body(0)["tools"],
        json!([{"name": "get_weather", "description": "Weather in a city", "input_schema": weather().spec().parameters, "cache_control": {"type": "ephemeral"}}])
    );
    // The cache breakpoint sits on the last block of the last message, the tool result.
    assert_eq!(
        server.body(1)["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "weather in Paris?"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01A", "content": "sunny in Paris", "cache_control": {"type": "ephemeral"}}]},
        ])
    );
}

#[test]
fn gemini_function_call_keeps_its_thought_signature() {
    let server = MockServer::start();
    let call = json!({"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "U0lHTkFUVVJF"}]},
        "finishReason": "STOP", "index": 0}], "usageMetadata": {"promptTokenCount": 30, "candidatesTokenCount": 5}});
    server.push(MockResponse::sse_events(&[format!("data: {call}\r\n\r\n")]));
    server.push(MockResponse::sse_events(&gemini_events(&["Sunny."], 40, 2)));
    let agent = agent("gemini", "gemini-3-pro-preview", &server);
    let mut session = agent::block_on(agent.session()).unwrap();
    runtime()
        .block_on(session.run("weather in Paris?"))
        .unwrap();
    let decl = &server.body(0)["tools"][0]["functionDeclarations"][0];
    assert_eq!(decl["name"], "get_weather");
    assert_eq!(decl["parametersJsonSchema"], weather().spec().parameters);
    assert_eq!(
        server.body(1)["contents"],
        json!([
            {"role": "user", "parts": [{"text": "weather in Paris?"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "U0lHTkFUVVJF"}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"output": "sunny in Paris"}}}]},
        ])
    );
    // The signature is stored with the call, so a later turn sends it back too.
    let stored = &session.messages()[1];
    let id = &stored.tool_calls[0].id;
    assert_eq!(stored.extra["gemini"]["signatures"][id], "U0lHTkFUVVJF");
}

#[test]
fn ollama_tool_calls_and_tool_name_results() {
    let server = MockServer::start();
    let call = json!({"model": "llama3.2", "created_at": "2024-07-22T20:33:28.123648Z",
        "message": {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
        "done_reason": "stop", "done": true, "prompt_eval_count": 122, "eval_count": 33});
    server.push(MockResponse::new(
        200,
        "application/x-ndjson",
        vec![Part::Bytes(format!("{call}\n").into_bytes())],
    ));
    let lines: Vec<Part> = ollama_lines(&["Sunny."], 150, 3)
        .into_iter()
        .map(|l| Part::Bytes(l.into_bytes()))
        .collect();
    server.push(MockResponse::new(200, "application/x-ndjson", lines));
    let agent = agent("ollama", "llama3.2", &server);
    let mut session = agent::block_on(agent.session()).unwrap();
    let resp = runtime()
        .block_on(session.run("weather in Paris?"))
        .unwrap();
    assert_eq!(resp.text, "Sunny.");
    assert_eq!(
        server.body(0)["tools"][0]["function"]["name"],
        "get_weather"
    );
    let messages = &server.body(1)["messages"];
    assert_eq!(
        messages[1],
        json!({"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]})
    );
    assert_eq!(
        messages[2],
        json!({"role": "tool", "tool_name": "get_weather", "content": "sunny in Paris"})
    );
}

fn schema() -> Value {
    json!({"type": "object", "properties": {"capital": {"type": "string"}}, "required": ["capital"]})
}

#[test]
fn structured_output_request_shape_per_provider() {
    let server = MockServer::start();
    let ev = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    // Anthropic: the forced tool's input streams back as the JSON text.
    server.push(MockResponse::sse_events(&[
        ev("message_start", json!({"type": "message_start", "message": {"model": "claude-haiku-4-5", "usage": {"input_tokens": 20, "output_tokens": 1}}})),
        ev("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_9", "name": "response", "input": {}}})),
        ev("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"capital\": "}})),
        ev("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}})),
        ev("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
        ev("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}})),
        ev("message_stop", json!({"type": "message_stop"})),
    ]));
    server.push(MockResponse::sse_events(&gemini_events(
        &["{\"capital\":", " \"Paris\"}"],
        10,
        5,
    )));
    let rt = runtime();
    let ask = |kind: &str, model: &str| {
        let a = Agent::builder()
            .provider(kind)
            .model(model)
            .base_url(server.url(""))
            .retries(0)
            .build()
            .unwrap();
        let mut s = agent::block_on(a.session()).unwrap();
        rt.block_on(s.json_value("capital of France?", &schema(), RunOptions::default(), 0))
    };
    assert_eq!(
        ask("anthropic", "claude-haiku-4-5").unwrap().json,
        Some(json!({"capital": "Paris"}))
    );
    assert_eq!(
        ask("gemini", "gemini-2.5-flash").unwrap().json,
        Some(json!({"capital": "Paris"}))
    );
    let a = server.body(0);
    assert_eq!(
        a["tools"],
        json!([{"name": "response", "description": "Give the reply as this tool's input, which must match its schema.", "input_schema": schema(), "cache_control": {"type": "ephemeral"}}])
    );
    assert_eq!(
        a["tool_choice"],
        json!({"type": "tool", "name": "response"})
    );
    let g = server.body(1);
    assert_eq!(
        g["generationConfig"],
        json!({"responseMimeType": "application/json", "responseJsonSchema": schema()})
    );

    // Ollama: `format` is the schema.
    let server2 = MockServer::start();
    let lines: Vec<Part> = ollama_lines(&["{\"capital\": \"Paris\"}"], 10, 5)
        .into_iter()
        .map(|l| Part::Bytes(l.into_bytes()))
        .collect();
    server2.push(MockResponse::new(200, "application/x-ndjson", lines));
    let a = Agent::builder()
        .provider("ollama")
        .model("llama3.2")
        .base_url(server2.url(""))
        .build()
        .unwrap();
    let mut s = agent::block_on(a.session()).unwrap();
    let resp = rt
        .block_on(s.json_value("capital of France?", &schema(), RunOptions::default(), 0))
        .unwrap();
    assert_eq!(resp.json, Some(json!({"capital": "Paris"})));
    assert_eq!(server2.body(0)["format"], schema());
}
