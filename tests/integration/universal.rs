//! A mock that answers whatever it is asked, in each provider's protocol, for the tests that
//! run the README's examples: OpenAI Chat Completions (streamed or not, text, a JSON instance
//! of the requested schema, or a call of the first tool offered), OpenAI Responses text,
//! Anthropic Messages, Gemini and Ollama streams, and each protocol's model list.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::providers::{anthropic_events, gemini_events, ndjson, ollama_lines};
use crate::tools::openai_calls;
use crate::util::*;

/// A server answering every protocol at once (each has its own paths; Anthropic's and
/// OpenAI's `/v1/models` are told apart by Anthropic's `x-api-key` header).
pub fn start() -> MockServer {
    let server = MockServer::start();
    server.respond_with(Arc::new(answer));
    server
}

fn answer(req: &Recorded) -> MockResponse {
    let path = req.path.split('?').next().unwrap_or("");
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    match (req.method.as_str(), path) {
        ("GET", "/v1/models") if req.header("x-api-key").is_some() => MockResponse::json(
            200,
            json!({"data": [{"type": "model", "id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5"}],
                   "has_more": false, "first_id": "claude-sonnet-4-5", "last_id": "claude-sonnet-4-5"}),
        ),
        ("GET", "/v1/models") => MockResponse::json(
            200,
            json!({"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]}),
        ),
        ("GET", "/v1beta/models") => MockResponse::json(
            200,
            json!({"models": [{"name": "models/gemini-2.5-flash"}]}),
        ),
        ("GET", "/api/tags") => MockResponse::json(
            200,
            json!({"models": [{"name": "llama3.2:latest", "model": "llama3.2:latest", "size": 1}]}),
        ),
        ("POST", "/v1/chat/completions") => openai(&body),
        ("POST", "/v1/responses") => {
            let text = reply_to(last_text(&body["input"]));
            MockResponse::sse_events(&crate::responses::text_reply(&[&text], "completed"))
        }
        ("POST", "/v1/messages") => {
            let text = reply_to(last_text(&body["messages"]));
            MockResponse::sse_events(&anthropic_events(&[&text], 12, 5))
        }
        ("POST", p) if p.starts_with("/v1beta/models/") => {
            let text = reply_to(gemini_text(&body));
            MockResponse::sse_events(&gemini_events(&[&text], 12, 5))
        }
        ("POST", "/api/chat") => {
            let text = reply_to(last_text(&body["messages"]));
            ndjson(&ollama_lines(&[&text], 12, 5))
        }
        _ => MockResponse::json(
            404,
            json!({"error": {"message": format!("universal mock: nothing at {} {}", req.method, req.path), "type": "not_found"}}),
        ),
    }
}

/// Chat Completions: a tool call when tools are offered and the user spoke last, else a JSON
/// instance of the schema asked for, else text.
fn openai(body: &Value) -> MockResponse {
    let messages = &body["messages"];
    let last_role = messages
        .as_array()
        .and_then(|m| m.last())
        .map(|m| m["role"].as_str().unwrap_or(""));
    if let (Some(tool), Some("user")) = (body["tools"].get(0), last_role) {
        let function = &tool["function"];
        let hint = last_text(messages);
        let args = instance(&function["parameters"], &hint);
        return openai_calls(&[(
            "call_1",
            function["name"].as_str().unwrap_or("tool"),
            &args.to_string(),
        )]);
    }
    let text = match body["response_format"]["json_schema"]["schema"] {
        Value::Null => reply_to(last_text(messages)),
        ref schema => instance(schema, &last_text(messages)).to_string(),
    };
    match body["stream"].as_bool() {
        Some(true) => MockResponse::openai_stream(&[&text]),
        _ => MockResponse::openai_json(&text),
    }
}

/// The reply to `prompt`: says what it answers, so a transcript can be followed.
fn reply_to(prompt: String) -> String {
    let first_line = prompt.lines().next().unwrap_or("").trim();
    let short: String = first_line.chars().take(60).collect();
    format!("(mock) A reply to \"{short}\".")
}

/// The text of the last message of a Chat Completions, Messages or Ollama list: a string, or
/// the text parts of a content array.
fn last_text(messages: &Value) -> String {
    let Some(last) = messages.as_array().and_then(|m| m.last()) else {
        return String::new();
    };
    match &last["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str().or(p["content"].as_str()))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn gemini_text(body: &Value) -> String {
    body["contents"]
        .as_array()
        .and_then(|c| c.last())
        .and_then(|c| c["parts"].as_array())
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// A value valid against `schema` (the subset agent sends: objects with all properties, arrays
/// of one item, enums, nullable types). Strings are a word of `hint` holding a digit (so "I'm
/// user-123" gives a tool `user-123`), else a word from the schema.
pub fn instance(schema: &Value, hint: &str) -> Value {
    if let Some(first) = schema["enum"].get(0) {
        return first.clone();
    }
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(first) = schema[key].get(0) {
            return instance(first, hint);
        }
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|k| *k != "null")
            .unwrap_or("null")
            .to_string(),
        Value::String(k) => k.clone(),
        _ if schema.get("properties").is_some() => "object".into(),
        _ => "string".into(),
    };
    match kind.as_str() {
        "object" => {
            let mut out = serde_json::Map::new();
            if let Some(props) = schema["properties"].as_object() {
                for (name, sub) in props {
                    out.insert(name.clone(), instance(sub, hint));
                }
            }
            Value::Object(out)
        }
        "array" => {
            let n = schema["minItems"].as_u64().unwrap_or(1).max(1);
            Value::Array((0..n).map(|_| instance(&schema["items"], hint)).collect())
        }
        "integer" => json!(schema["minimum"].as_i64().unwrap_or(3)),
        "number" => json!(schema["minimum"].as_f64().unwrap_or(3.5)),
        "boolean" => json!(true),
        "null" => Value::Null,
        _ => {
            let word = hint
                .split(|c: char| c.is_whitespace() || ",;:?!\"'()".contains(c))
                .find(|w| w.chars().any(|c| c.is_ascii_digit()));
            json!(word.unwrap_or("example"))
        }
    }
}
