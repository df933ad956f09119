//! OpenAI Chat Completions, spoken by OpenAI and every compatible server (llama.cpp, Ollama's
//! `/v1`, vLLM, OpenRouter).
//!
//! Structured output lives here as `response_format: json_schema`; tools as `tools` /
//! `tool_calls` / `role: tool`.

use futures_util::future::BoxFuture;
use serde_json::{json, Map, Value};

use super::sse::SseDecoder;
use super::transport::{Auth, Protocol, Transport};
use super::wire::{self, head, stream_error, SseProtocol};
use super::{Endpoint, Event, EventStream, Provider, Request};
use crate::{Result, Role, ToolCall, Usage};

/// How OpenAI is reached: `Authorization: Bearer KEY`
/// (<https://platform.openai.com/docs/api-reference/authentication>).
static PROTOCOL: Protocol = Protocol {
    kind: "openai",
    auth: Auth::Bearer,
    headers: &[],
    parse_error,
};

/// The OpenAI Chat Completions protocol.
pub struct OpenAi {
    transport: Transport,
}

impl OpenAi {
    /// A provider called `name` at `endpoint`.
    pub fn new(name: &str, endpoint: Endpoint) -> Self {
        OpenAi {
            transport: Transport::new(name, endpoint, &PROTOCOL),
        }
    }

    /// Whether this is OpenAI's own API (its default base URL), not a compatible server.
    fn is_openai(&self) -> bool {
        let default = super::kind_defaults("openai").map(|(_, url, _)| url);
        Some(self.transport.base()) == default
    }
}

/// Reasoning models take `max_completion_tokens`; everything else (and every compatible
/// server) takes `max_tokens`.
fn uses_completion_tokens(model: &str) -> bool {
    let m = model.rsplit('/').next().unwrap_or(model);
    ["o1", "o3", "o4", "gpt-5"].iter().any(|p| m.starts_with(p))
}

pub(crate) fn messages(req: &Request) -> Vec<Value> {
    let mut out = Vec::with_capacity(req.messages.len() + 1);
    if let Some(system) = &req.system {
        out.push(json!({"role": "system", "content": system}));
    }
    for m in &req.messages {
        out.push(match m.role {
            Role::User => json!({"role": "user", "content": super::parts::openai_content(m)}),
            Role::Assistant if m.tool_calls.is_empty() => {
                json!({"role": "assistant", "content": m.content})
            }
            Role::Assistant => {
                let calls: Vec<Value> = m
                    .tool_calls
                    .iter()
                    .map(|c| {
                        json!({"id": c.id, "type": "function", "function": {
                            "name": c.name,
                            "arguments": c.arguments.to_string(),
                        }})
                    })
                    .collect();
                let content = if m.content.is_empty() {
                    Value::Null
                } else {
                    Value::String(m.content.clone())
                };
                json!({"role": "assistant", "content": content, "tool_calls": calls})
            }
            Role::Tool => json!({
                "role": "tool",
                "tool_call_id": m.tool_call_id,
                "content": m.content,
            }),
        });
    }
    out
}

impl Provider for OpenAi {
    fn name(&self) -> &str {
        self.transport.name()
    }

    fn check_attachment(&self, attachment: &crate::Attachment) -> Result<()> {
        super::parts::check("openai", self.transport.name(), attachment)
    }

    fn kind(&self) -> &str {
        "openai"
    }

    fn endpoint_path(&self, _request: &Request) -> String {
        "/chat/completions".into()
    }

    fn request_body(&self, req: &Request) -> Value {
        let mut body = Map::new();
        body.insert("model".into(), json!(req.model));
        body.insert("messages".into(), Value::Array(messages(req)));
        body.insert("stream".into(), json!(req.stream));
        if req.stream {
            body.insert("stream_options".into(), json!({"include_usage": true}));
        }
        if let Some(t) = req.temperature {
            body.insert("temperature".into(), json!(t));
        }
        if let Some(n) = req.max_tokens {
            let key = if uses_completion_tokens(&req.model) {
                "max_completion_tokens"
            } else {
                "max_tokens"
            };
            body.insert(key.into(), json!(n));
        }
        if let Some(f) = &req.json {
            body.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": {
                    "name": f.name, "schema": f.schema, "strict": f.strict,
                }}),
            );
        }
        if let Some(r) = &req.reasoning {
            body.insert("reasoning_effort".into(), super::reasoning::chat_effort(r));
        }
        // `prompt_cache_key` routes requests sharing a prefix to the same cache
        // (<https://platform.openai.com/docs/guides/prompt-caching>); only OpenAI's own API is
        // sent it: compatible servers do not know the field.
        if let Some(key) = req.cache_key.as_ref().filter(|_| self.is_openai()) {
            body.insert("prompt_cache_key".into(), json!(key));
        }
        if !req.tools.is_empty() {
            let tools: Vec<Value> = req
                .tools
                .iter()
                .map(|t| {
                    json!({"type": "function", "function": {
                        "name": t.name, "description": t.description, "parameters": t.parameters,
                    }})
                })
                .collect();
            body.insert("tools".into(), Value::Array(tools));
        }
        Value::Object(body)
    }

    fn stream<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<EventStream>> {
        Box::pin(self.transport.guard(async move {
            let t = &self.transport;
            let url = format!("{}/chat/completions", t.base());
            let resp = t.post(&url, &self.request_body(req)).await?;
            if req.stream {
                t.events(resp, Chunks::new(t.name()))
            } else {
                let v = t.json(resp).await?;
                Ok(wire::replay(complete_response(t.name(), &v)?))
            }
        }))
    }

    fn list_models(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(self.transport.guard(list_models(&self.transport)))
    }
}

/// `{"error": {"message", "type", "code"}}`.
/// `GET /models`, `{"data": [{"id": …}]}`: the same list for both OpenAI APIs.
pub(super) async fn list_models(t: &Transport) -> Result<Vec<String>> {
    let resp = t.get(&format!("{}/models", t.base()), &[]).await?;
    let v = t.json(resp).await?;
    Ok(v["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["id"].as_str().map(str::to_string))
        .collect())
}

pub(crate) fn parse_error(body: &str) -> Option<(Option<String>, String)> {
    let v: Value = serde_json::from_str(body).ok()?;
    error_of(&v)
}

fn error_of(v: &Value) -> Option<(Option<String>, String)> {
    let err = v.get("error")?;
    if let Some(msg) = err.as_str() {
        return Some((None, msg.to_string())); // some compatible servers send a bare string
    }
    let message = err.get("message")?.as_str()?.to_string();
    let kind = err
        .get("code")
        .and_then(Value::as_str)
        .or_else(|| err.get("type").and_then(Value::as_str))
        .map(str::to_string);
    Some((kind, message))
}

fn usage_of(u: &Value) -> Option<Usage> {
    if !u.is_object() {
        return None;
    }
    let n = |v: &Value| v.as_u64();
    Some(Usage {
        input_tokens: u.get("prompt_tokens").and_then(n).unwrap_or(0),
        output_tokens: u.get("completion_tokens").and_then(n).unwrap_or(0),
        cache_read_tokens: u
            .pointer("/prompt_tokens_details/cached_tokens")
            .and_then(n),
        reasoning_tokens: u
            .pointer("/completion_tokens_details/reasoning_tokens")
            .and_then(n),
        ..Usage::default()
    })
}

fn parse_arguments(raw: &str) -> Value {
    if raw.trim().is_empty() {
        return json!({});
    }
    // Arguments that are not JSON are passed on as a string: validation then reports it to
    // the model, which can correct itself.
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}

fn complete_response(provider: &str, v: &Value) -> Result<Vec<Event>> {
    if let Some((kind, message)) = error_of(v) {
        return Err(stream_error(provider, wire::kind_message(kind, &message)));
    }
    let choice = v
        .pointer("/choices/0")
        .ok_or_else(|| stream_error(provider, "response has no choices"))?;
    let mut events = Vec::new();
    if let Some(text) = ["reasoning_content", "reasoning"]
        .iter()
        .find_map(|k| choice["message"].get(*k).and_then(Value::as_str))
        .filter(|t| !t.is_empty())
    {
        events.push(Event::ReasoningDelta {
            text: text.to_string(),
        });
    }
    if let Some(text) = choice.pointer("/message/content").and_then(Value::as_str) {
        if !text.is_empty() {
            events.push(Event::TextDelta {
                text: text.to_string(),
            });
        }
    }
    if let Some(calls) = choice
        .pointer("/message/tool_calls")
        .and_then(Value::as_array)
    {
        for c in calls {
            events.push(Event::ToolCall {
                call: ToolCall {
                    id: c["id"].as_str().unwrap_or_default().to_string(),
                    name: c
                        .pointer("/function/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    arguments: parse_arguments(
                        c.pointer("/function/arguments")
                            .and_then(Value::as_str)
                            .unwrap_or(""),
                    ),
                },
            });
        }
    }
    if let Some(usage) = v.get("usage").and_then(usage_of) {
        events.push(Event::Usage { usage });
    }
    events.push(Event::Done {
        finish_reason: choice["finish_reason"].as_str().map(str::to_string),
        model: v["model"].as_str().map(str::to_string),
    });
    Ok(events)
}

/// Streaming decoder: `data: {chunk}` events up to `data: [DONE]`.
struct Chunks {
    provider: String,
    sse: SseDecoder,
    /// Tool calls by `index`: id, name and argument fragments arrive separately.
    calls: Vec<(String, String, String)>,
    finish_reason: Option<String>,
    model: Option<String>,
    usage: Option<Usage>,
    done: bool,
}

impl Chunks {
    fn new(provider: &str) -> Self {
        Chunks {
            provider: provider.to_string(),
            sse: SseDecoder::default(),
            calls: Vec::new(),
            finish_reason: None,
            model: None,
            usage: None,
            done: false,
        }
    }

    fn chunk(&mut self, data: &str, out: &mut Vec<Event>) -> Result<()> {
        let v: Value = serde_json::from_str(data).map_err(|e| {
            stream_error(
                &self.provider,
                format!("bad stream chunk ({e}): {}", head(data)),
            )
        })?;
        if let Some((kind, message)) = error_of(&v) {
            let kind = kind.map(|k| format!("({k}) ")).unwrap_or_default();
            return Err(stream_error(
                &self.provider,
                format!("error in stream: {kind}{message}"),
            ));
        }
        if let Some(m) = v.get("model").and_then(Value::as_str) {
            self.model = Some(m.to_string());
        }
        if let Some(u) = v.get("usage").and_then(usage_of) {
            self.usage = Some(u);
        }
        // The usage chunk has `choices: []`: never index unguarded.
        let Some(choice) = v.get("choices").and_then(|c| c.get(0)) else {
            return Ok(());
        };
        let delta = &choice["delta"];
        // OpenAI's API shows no reasoning here; compatible servers stream it as
        // `reasoning_content` (llama.cpp, vLLM, DeepSeek) or `reasoning` (OpenRouter, Ollama).
        if let Some(text) = ["reasoning_content", "reasoning"]
            .iter()
            .find_map(|k| delta.get(*k).and_then(Value::as_str))
            .filter(|t| !t.is_empty())
        {
            out.push(Event::ReasoningDelta {
                text: text.to_string(),
            });
        }
        if let Some(text) = delta.get("content").and_then(Value::as_str) {
            if !text.is_empty() {
                out.push(Event::TextDelta {
                    text: text.to_string(),
                });
            }
        }
        if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
            for c in calls {
                let index = c["index"].as_u64().unwrap_or(0) as usize;
                if index > 1024 {
                    return Err(stream_error(&self.provider, "tool call index out of range"));
                }
                if self.calls.len() <= index {
                    self.calls.resize(index + 1, Default::default());
                }
                let slot = &mut self.calls[index];
                if let Some(id) = c["id"].as_str() {
                    slot.0 = id.to_string();
                }
                if let Some(name) = c.pointer("/function/name").and_then(Value::as_str) {
                    slot.1.push_str(name);
                }
                if let Some(args) = c.pointer("/function/arguments").and_then(Value::as_str) {
                    slot.2.push_str(args);
                }
            }
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_string());
        }
        Ok(())
    }

    fn end(&mut self, out: &mut Vec<Event>) {
        self.done = true;
        for (i, (id, name, args)) in std::mem::take(&mut self.calls).into_iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            let id = if id.is_empty() {
                format!("call_{i}")
            } else {
                id
            };
            out.push(Event::ToolCall {
                call: ToolCall {
                    id,
                    name,
                    arguments: parse_arguments(&args),
                },
            });
        }
        if let Some(usage) = self.usage.take() {
            out.push(Event::Usage { usage });
        }
        out.push(Event::Done {
            finish_reason: self.finish_reason.take(),
            model: self.model.take(),
        });
    }
}

impl SseProtocol for Chunks {
    fn decoder(&mut self) -> &mut SseDecoder {
        &mut self.sse
    }

    fn provider(&self) -> &str {
        &self.provider
    }

    fn on_event(&mut self, data: &str, out: &mut Vec<Event>) -> Result<()> {
        if data == "[DONE]" {
            self.end(out);
            Ok(())
        } else {
            self.chunk(data, out)
        }
    }

    fn on_end(&mut self, _out: &mut Vec<Event>) -> Result<()> {
        if self.done {
            return Ok(());
        }
        Err(stream_error(
            &self.provider,
            "stream ended before [DONE]: the reply is incomplete",
        ))
    }

    fn finished(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::wire::WireParser;

    #[test]
    fn compatible_servers_reasoning_is_reasoning() {
        let stream = concat!(
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"Think\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"ing\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n",
            "data: [DONE]\n\n",
        );
        let mut p = Chunks::new("openai");
        let mut events = p.feed(stream.as_bytes()).unwrap();
        events.extend(p.finish().unwrap());
        assert_eq!(
            events[..3],
            [
                Event::ReasoningDelta {
                    text: "Think".into()
                },
                Event::ReasoningDelta { text: "ing".into() },
                Event::TextDelta { text: "Hi".into() },
            ]
        );
    }

    #[test]
    fn decodes_text_tool_fragments_and_usage() {
        let stream = concat!(
            "data: {\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}],\"usage\":null}\n\n",
            ": keep-alive\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\":\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"1}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n",
            "data: [DONE]\n\n",
        );
        let mut p = Chunks::new("openai");
        let mut events = Vec::new();
        for b in stream.as_bytes().chunks(7) {
            events.extend(p.feed(b).unwrap());
        }
        events.extend(p.finish().unwrap());
        assert_eq!(
            events,
            vec![
                Event::TextDelta { text: "Hel".into() },
                Event::TextDelta { text: "lo".into() },
                Event::ToolCall {
                    call: ToolCall {
                        id: "c1".into(),
                        name: "f".into(),
                        arguments: json!({"a": 1})
                    }
                },
                Event::Usage {
                    usage: Usage {
                        input_tokens: 5,
                        output_tokens: 2,
                        ..Default::default()
                    }
                },
                Event::Done {
                    finish_reason: Some("tool_calls".into()),
                    model: Some("m".into())
                },
            ]
        );
    }

    #[test]
    fn truncated_stream_fails() {
        let mut p = Chunks::new("openai");
        p.feed(b"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n")
            .unwrap();
        assert!(p.finish().is_err());
    }

    #[test]
    fn reasoning_models_take_max_completion_tokens() {
        assert!(uses_completion_tokens("o3-mini"));
        assert!(!uses_completion_tokens("gpt-4o-mini"));
    }

    #[test]
    fn cache_key_and_effort_only_where_they_belong() {
        let at = |url: &str| {
            OpenAi::new(
                "openai",
                Endpoint {
                    base_url: url.into(),
                    api_key: None,
                    headers: vec![],
                    timeout: std::time::Duration::from_secs(5),
                    retries: 0,
                },
            )
        };
        let req = Request {
            model: "gpt-5-mini".into(),
            reasoning: Some(crate::provider::Reasoning::effort(
                crate::provider::Effort::High,
            )),
            cache_key: Some("s1".into()),
            ..Request::default()
        };
        let own = at("https://api.openai.com/v1").request_body(&req);
        assert_eq!(
            (
                own["prompt_cache_key"].clone(),
                own["reasoning_effort"].clone()
            ),
            (json!("s1"), json!("high"))
        );
        let local = at("http://127.0.0.1:8080/v1").request_body(&req);
        assert!(local.get("prompt_cache_key").is_none());
        assert_eq!(local["reasoning_effort"], "high");
    }
}
