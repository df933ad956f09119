//! Unit tests of the Gemini request conversion and stream decoder (CRLF-framed, as Gemini sends).

use super::*;
use crate::provider::wire::WireParser;
use crate::provider::{JsonFormat, ToolSpec};

fn decode(stream: &str, cut: usize) -> Result<Vec<Event>> {
    let mut p = Chunks::new("gemini");
    let mut events = p.feed(&stream.as_bytes()[..cut])?;
    events.extend(p.feed(&stream.as_bytes()[cut..])?);
    events.extend(p.finish()?);
    Ok(events)
}

const STREAM: &str = concat!(
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hé\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 8,\"totalTokenCount\": 8},\"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n",
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"llo ✓\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 8,\"candidatesTokenCount\": 4,\"thoughtsTokenCount\": 2,\"totalTokenCount\": 14},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"r1\"}\r\n\r\n",
);

#[test]
fn crlf_stream_decodes_the_same_at_every_split() {
    let want = vec![
        Event::TextDelta { text: "Hé".into() },
        Event::TextDelta {
            text: "llo ✓".into(),
        },
        Event::Usage {
            usage: Usage {
                input_tokens: 8,
                output_tokens: 6,
                cache_read_tokens: None,
                reasoning_tokens: Some(2),
                ..Usage::default()
            },
        },
        Event::Done {
            finish_reason: Some("stop".into()),
            model: Some("gemini-2.5-flash".into()),
        },
    ];
    for cut in 0..=STREAM.len() {
        assert_eq!(decode(STREAM, cut).unwrap(), want, "cut at {cut}");
    }
}

#[test]
fn a_stream_without_finish_reason_is_truncated() {
    let first = &STREAM[..STREAM.find("\r\n\r\n").unwrap() + 4];
    let err = decode(first, 0).unwrap_err().to_string();
    assert!(err.contains("finishReason"), "{err}");
}

#[test]
fn errors_in_stream_and_bodies() {
    let body = r#"{"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}}"#;
    assert_eq!(
        parse_error(body),
        Some((
            Some("API_KEY_INVALID".into()),
            "API key not valid. Please pass a valid API key.".into()
        ))
    );
    let overloaded = "data: {\"error\": {\"code\": 503, \"message\": \"The model is overloaded.\", \"status\": \"UNAVAILABLE\"}}\r\n\r\n";
    let err = decode(overloaded, 5).unwrap_err().to_string();
    assert!(
        err.contains("UNAVAILABLE") && err.contains("overloaded"),
        "{err}"
    );
}

#[test]
fn function_calls_get_ids_and_keep_signatures() {
    let stream = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"get_weather\",\"args\": {\"city\": \"Paris\"}},\"thoughtSignature\": \"c2lnMQ==\"},{\"functionCall\": {\"name\": \"get_time\",\"args\": {}}}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 20,\"candidatesTokenCount\": 10}}\r\n\r\n";
    let events = decode(stream, 0).unwrap();
    let calls: Vec<&ToolCall> = events
        .iter()
        .filter_map(|e| match e {
            Event::ToolCall { call } => Some(call),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].arguments, json!({"city": "Paris"}));
    assert_ne!(calls[0].id, calls[1].id);
    let kept = events.iter().find_map(|e| match e {
        Event::ProviderData { key, value } if key == "gemini" => Some(value.clone()),
        _ => None,
    });
    assert_eq!(
        kept,
        Some(json!({"signatures": {calls[0].id.clone(): "c2lnMQ=="}}))
    );
    assert_eq!(
        events.last(),
        Some(&Event::Done {
            finish_reason: Some("tool_calls".into()),
            model: None
        })
    );

    // The signature goes back with its call, on the part, unchanged.
    let mut asked = Message::assistant("");
    asked.tool_calls = calls.iter().map(|c| (*c).clone()).collect();
    asked.extra.insert("gemini".into(), kept.unwrap());
    let req = Request {
        model: "gemini-3-pro".into(),
        messages: vec![
            Message::user("weather and time?"),
            asked,
            Message::tool_result(calls[0], "sunny"),
            Message::tool_result(calls[1], "noon"),
        ],
        ..Default::default()
    };
    assert_eq!(
        contents(&req),
        json!([
            {"role": "user", "parts": [{"text": "weather and time?"}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "c2lnMQ=="},
                {"functionCall": {"name": "get_time", "args": {}}},
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"output": "sunny"}}},
                {"functionResponse": {"name": "get_time", "response": {"output": "noon"}}},
            ]},
        ])
        .as_array()
        .unwrap()
        .clone()
    );
}

#[test]
fn request_body_shape() {
    let endpoint = Endpoint {
        base_url: "http://localhost/".into(),
        api_key: None,
        headers: vec![],
        timeout: std::time::Duration::from_secs(5),
        retries: 0,
    };
    let p = Gemini::new("gemini", endpoint);
    let schema =
        json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"});
    let mut req = Request {
        model: "models/gemini-2.5-flash".into(),
        system: Some("Be brief.".into()),
        messages: vec![
            Message::user("hi"),
            Message::assistant("hello"),
            Message::user("again"),
        ],
        temperature: Some(0.5),
        max_tokens: Some(64),
        stream: true,
        json: Some(JsonFormat {
            name: "r".into(),
            schema,
            strict: false,
        }),
        tools: vec![ToolSpec {
            name: "f".into(),
            description: "d".into(),
            parameters: json!({"type": "object"}),
        }],
        reasoning: Some(crate::provider::Reasoning::effort(
            crate::provider::Effort::Low,
        )),
        ..Request::default()
    };
    assert_eq!(
        body_thinking(&p, &req),
        json!({"thinkingBudget": 4096, "includeThoughts": true})
    );
    assert_eq!(
        p.url(&req),
        "http://localhost/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
    let body = p.request_body(&req);
    assert_eq!(
        body["systemInstruction"],
        json!({"parts": [{"text": "Be brief."}]})
    );
    assert_eq!(
        body["contents"],
        json!([
            {"role": "user", "parts": [{"text": "hi"}]},
            {"role": "model", "parts": [{"text": "hello"}]},
            {"role": "user", "parts": [{"text": "again"}]},
        ])
    );
    assert_eq!(
        body["generationConfig"],
        json!({"temperature": 0.5, "maxOutputTokens": 64, "responseMimeType": "application/json", "responseJsonSchema": {"type": "object"}, "thinkingConfig": {"thinkingBudget": 4096, "includeThoughts": true}})
    );
    assert_eq!(
        body["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"],
        json!({"type": "object"})
    );
    req.stream = false;
    assert_eq!(
        p.url(&req),
        "http://localhost/v1beta/models/gemini-2.5-flash:generateContent"
    );
}

fn body_thinking(p: &Gemini, req: &Request) -> Value {
    p.request_body(req)["generationConfig"]["thinkingConfig"].clone()
}
