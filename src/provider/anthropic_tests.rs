//! Unit tests of the Anthropic request conversion and stream decoder, on the event sequences of
//! the Messages streaming reference.

use super::*;
use crate::provider::wire::WireParser;
use crate::provider::{Event, JsonFormat, ToolSpec};
use crate::{ToolCall, Usage};

fn decode(stream: &str, json_tool: Option<&str>, cut: usize) -> Result<Vec<Event>> {
    let mut p = Events::new("anthropic", json_tool.map(str::to_string));
    let bytes = stream.as_bytes();
    let mut events = p.feed(&bytes[..cut])?;
    events.extend(p.feed(&bytes[cut..])?);
    events.extend(p.finish()?);
    Ok(events)
}

const TEXT_STREAM: &str = concat!(
    "event: message_start\n",
    "data: {\"type\": \"message_start\", \"message\": {\"id\": \"msg_1\", \"type\": \"message\", \"role\": \"assistant\", \"content\": [], \"model\": \"claude-sonnet-4-5\", \"stop_reason\": null, \"stop_sequence\": null, \"usage\": {\"input_tokens\": 25, \"cache_read_input_tokens\": 5, \"output_tokens\": 1}}}\n\n",
    "event: content_block_start\n",
    "data: {\"type\": \"content_block_start\", \"index\": 0, \"content_block\": {\"type\": \"text\", \"text\": \"\"}}\n\n",
    "event: ping\n",
    "data: {\"type\": \"ping\"}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"text_delta\", \"text\": \"Héllo\"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": \"text_delta\", \"text\": \" ✓\"}}\n\n",
    "event: content_block_stop\n",
    "data: {\"type\": \"content_block_stop\", \"index\": 0}\n\n",
    "event: message_delta\n",
    "data: {\"type\": \"message_delta\", \"delta\": {\"stop_reason\": \"end_turn\", \"stop_sequence\":null}, \"usage\": {\"output_tokens\": 15}}\n\n",
    "event: message_stop\n",
    "data: {\"type\": \"message_stop\"}\n\n",
);

#[test]
fn text_stream_decodes_the_same_at_every_split() {
    let want = vec![
        Event::TextDelta {
            text: "Héllo".into(),
        },
        Event::TextDelta {
            text: " ✓".into()
        },
        Event::Usage {
            usage: Usage {
                input_tokens: 30,
                output_tokens: 15,
                cache_read_tokens: Some(5),
                cache_write_tokens: Some(0),
                ..Usage::default()
            },
        },
        Event::Done {
            finish_reason: Some("stop".into()),
            model: Some("claude-sonnet-4-5".into()),
        },
    ];
    for cut in 0..=TEXT_STREAM.len() {
        assert_eq!(
            decode(TEXT_STREAM, None, cut).unwrap(),
            want,
            "cut at {cut}"
        );
    }
}

#[test]
fn tool_input_fragments_are_joined_at_block_stop() {
    let stream = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"m\",\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Checking.\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"get_weather\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\": \\\"Par\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"is\\\"}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":40}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    let events = decode(stream, None, 100).unwrap();
    assert_eq!(
        events[0],
        Event::TextDelta {
            text: "Checking.".into()
        }
    );
    assert_eq!(
        events[1],
        Event::ToolCall {
            call: ToolCall {
                id: "toolu_01".into(),
                name: "get_weather".into(),
                arguments: json!({"location": "Paris"})
            }
        }
    );
    assert_eq!(
        events[3],
        Event::Done {
            finish_reason: Some("tool_calls".into()),
            model: Some("m".into())
        }
    );
}

#[test]
fn json_tool_input_streams_as_text() {
    let stream = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"m\",\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"response\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\": \"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"1}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":5}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    let events = decode(stream, Some("response"), 0).unwrap();
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            Event::TextDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(text, "{\"a\": 1}");
    assert!(!events.iter().any(|e| matches!(e, Event::ToolCall { .. })));
    assert_eq!(
        events.last(),
        Some(&Event::Done {
            finish_reason: Some("stop".into()),
            model: Some("m".into())
        })
    );
}

#[test]
fn error_event_and_truncation_fail() {
    let overloaded = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"m\",\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n",
        "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n",
    );
    let err = decode(overloaded, None, 10).unwrap_err().to_string();
    assert!(
        err.contains("overloaded_error") && err.contains("Overloaded"),
        "{err}"
    );
    let cut = TEXT_STREAM.find("event: message_stop").unwrap();
    let err = decode(&TEXT_STREAM[..cut], None, 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("message_stop"), "{err}");
}

#[test]
fn error_bodies_give_type_and_message() {
    let body = r#"{"type":"error","error":{"type":"not_found_error","message":"model: claude-x"},"request_id":"req_1"}"#;
    assert_eq!(
        parse_error(body),
        Some((Some("not_found_error".into()), "model: claude-x".into()))
    );
}

fn provider() -> Anthropic {
    let endpoint = Endpoint {
        base_url: "http://localhost".into(),
        api_key: None,
        headers: vec![],
        timeout: std::time::Duration::from_secs(5),
        retries: 0,
    };
    Anthropic::new("anthropic", endpoint)
}

#[test]
fn request_has_top_level_system_max_tokens_and_merged_tool_results() {
    let call = |id: &str| ToolCall {
        id: id.into(),
        name: "f".into(),
        arguments: json!({"x": 1}),
    };
    let mut asked = Message::assistant("");
    asked.tool_calls = vec![call("call_a"), call("call.b")];
    let mut failed = Message::tool_result(&call("call.b"), "boom");
    failed.is_error = true;
    let req = Request {
        model: "claude-haiku-4-5".into(),
        system: Some("Be brief.".into()),
        messages: vec![
            Message::user("hi"),
            asked,
            Message::tool_result(&call("call_a"), "1"),
            failed,
            Message::assistant("done"),
            Message::user("again"),
        ],
        stream: true,
        tools: vec![ToolSpec {
            name: "f".into(),
            description: "f".into(),
            parameters: json!({"type": "object"}),
        }],
        ..Default::default()
    };
    let body = provider().request_body(&req);
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(body["max_tokens"], 4096);
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "call_a", "name": "f", "input": {"x": 1}},
                {"type": "tool_use", "id": "call_b", "name": "f", "input": {"x": 1}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_a", "content": "1"},
                {"type": "tool_result", "tool_use_id": "call_b", "content": "boom", "is_error": true},
            ]},
            {"role": "assistant", "content": [{"type": "text", "text": "done"}]},
            {"role": "user", "content": [{"type": "text", "text": "again"}]},
        ])
    );
}

#[test]
fn calls_of_undeclared_tools_go_as_text() {
    let call = ToolCall {
        id: "call_a".into(),
        name: "lookup".into(),
        arguments: json!({"q": "x"}),
    };
    let mut asked = Message::assistant("");
    asked.tool_calls = vec![call.clone()];
    let req = Request {
        model: "claude-haiku-4-5".into(),
        messages: vec![
            Message::user("hi"),
            asked,
            Message::tool_result(&call, "42"),
            Message::assistant("It is 42."),
            Message::user("and now?"),
        ],
        ..Default::default()
    };
    let body = provider().request_body(&req);
    assert!(body.get("tools").is_none());
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "[called tool lookup with {\"q\":\"x\"}]"}]},
            {"role": "user", "content": [{"type": "text", "text": "[result of tool lookup]\n42"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "It is 42."}]},
            {"role": "user", "content": [{"type": "text", "text": "and now?"}]},
        ])
    );
}

#[test]
fn structured_output_is_a_forced_tool() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "integer"}}});
    let mut req = Request {
        model: "m".into(),
        messages: vec![Message::user("q")],
        max_tokens: Some(100),
        json: Some(JsonFormat {
            name: "answer".into(),
            schema: schema.clone(),
            strict: false,
        }),
        ..Default::default()
    };
    let body = provider().request_body(&req);
    assert_eq!(body["max_tokens"], 100);
    assert_eq!(body["tools"][0]["name"], "answer");
    assert_eq!(body["tools"][0]["input_schema"], schema);
    assert_eq!(
        body["tool_choice"],
        json!({"type": "tool", "name": "answer"})
    );
    req.tools = vec![ToolSpec {
        name: "f".into(),
        description: "d".into(),
        parameters: json!({"type": "object"}),
    }];
    let body = provider().request_body(&req);
    assert_eq!(body["tools"][0]["name"], "f");
    assert_eq!(body["tool_choice"], json!({"type": "any"}));
}

#[test]
fn non_streamed_response_replays_as_events() {
    let v = json!({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
        "content": [{"type": "text", "text": "Hi!"}],
        "stop_reason": "max_tokens", "stop_sequence": null,
        "usage": {"input_tokens": 12, "output_tokens": 6}
    });
    let events = Events::new("anthropic", None).complete(&v).unwrap();
    assert_eq!(
        events,
        vec![
            Event::TextDelta { text: "Hi!".into() },
            Event::Usage {
                usage: Usage {
                    input_tokens: 12,
                    output_tokens: 6,
                    ..Default::default()
                }
            },
            Event::Done {
                finish_reason: Some("length".into()),
                model: Some("claude-haiku-4-5".into())
            },
        ]
    );
}

#[test]
fn non_streamed_thinking_is_reasoning_and_kept() {
    let thinking = json!({"type": "thinking", "thinking": "Hmm.", "signature": "sig"});
    let redacted = json!({"type": "redacted_thinking", "data": "opaque"});
    let v = json!({"model": "claude-haiku-4-5", "stop_reason": "end_turn",
        "content": [thinking, redacted, {"type": "text", "text": "Hi."}],
        "usage": {"input_tokens": 3, "output_tokens": 9}});
    let events = Events::new("anthropic", None).complete(&v).unwrap();
    assert_eq!(
        events[..3],
        [
            Event::ReasoningDelta {
                text: "Hmm.".into()
            },
            Event::TextDelta { text: "Hi.".into() },
            Event::ProviderData {
                key: "anthropic".into(),
                value: json!({"thinking": [thinking, redacted]}),
            },
        ]
    );
}
