//! Anthropic Messages (`POST {base}/v1/messages`, `x-api-key`, `anthropic-version: 2023-06-01`):
//! top-level `system`, `max_tokens` always sent, named SSE events ended by `message_stop`.
//!
//! Tools are `tools[{name, description, input_schema}]`, answered with `tool_use` blocks and
//! fed back as `tool_result` blocks in a user message. Structured output lives here too: a
//! forced call of a tool whose `input_schema` is the schema; its input is the JSON reply and is
//! emitted as text, so the engine validates it like any other provider's.

use futures_util::future::BoxFuture;
use serde_json::{json, Map, Value};

use super::sse::SseDecoder;
use super::transport::{Auth, Protocol, Transport};
use super::wire::{self, head, kind_message, stream_error, SseProtocol};
use super::{Endpoint, Event, EventStream, Provider, Request};
use crate::{Result, Role, ToolCall, Usage};

/// The API version this client speaks.
const VERSION: &str = "2023-06-01";
/// `max_tokens` is required by the API; this is sent when `--max-tokens` is not given.
pub(crate) const DEFAULT_MAX_TOKENS: u32 = 4096;

/// How Anthropic is reached: the key in `x-api-key` and the API version in `anthropic-version`
/// (<https://docs.anthropic.com/en/api/overview#authentication>, `/en/api/versioning`).
static PROTOCOL: Protocol = Protocol {
    kind: "anthropic",
    auth: Auth::Header("x-api-key"),
    headers: &[("anthropic-version", VERSION)],
    parse_error,
};

/// The Anthropic Messages protocol.
pub struct Anthropic {
    transport: Transport,
}

impl Anthropic {
    /// A provider called `name` at `endpoint` (base URL without `/v1`).
    pub fn new(name: &str, endpoint: Endpoint) -> Self {
        Anthropic {
            transport: Transport::new(name, endpoint, &PROTOCOL),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.transport.base())
    }
}

/// The structured-output tool's name: the schema's name, within the API's 64-character limit.
fn json_tool(req: &Request) -> Option<String> {
    req.json.as_ref().map(|f| f.name.chars().take(64).collect())
}

/// Tool ids must match `^[a-zA-Z0-9_-]+$`; ids made by other providers are mapped into that set
/// the same way for the call and its result, so they still pair up.
fn tool_id(id: &str) -> String {
    let id: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if id.is_empty() {
        "toolu_0".to_string()
    } else {
        id
    }
}

/// Append `block` to the conversation as `role`, merging into the previous message when it has
/// the same role (consecutive tool results become one user message, as the API requires).
fn push(out: &mut Vec<Value>, role: &str, block: Value) {
    super::push_grouped(out, role, "content", block);
}

/// The `messages` array. Anthropic rejects `tool_use` and `tool_result` blocks for tools the
/// request does not declare, so calls of undeclared tools (a turn run with `--no-tools`, or a
/// JSON turn) and their results go as text: the model still sees what happened.
pub(crate) fn messages(req: &Request) -> Vec<Value> {
    let declared: std::collections::HashSet<&str> =
        req.tools.iter().map(|t| t.name.as_str()).collect();
    let mut as_text = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        match m.role {
            Role::User => {
                // Empty text blocks are rejected.
                if !m.content.is_empty() {
                    push(&mut out, "user", json!({"type": "text", "text": m.content}));
                }
            }
            Role::Assistant => {
                if !m.content.is_empty() {
                    push(
                        &mut out,
                        "assistant",
                        json!({"type": "text", "text": m.content}),
                    );
                }
                for c in &m.tool_calls {
                    if !declared.contains(c.name.as_str()) {
                        as_text.insert(c.id.as_str());
                        let text = format!("[called tool {} with {}]", c.name, c.arguments);
                        push(&mut out, "assistant", json!({"type": "text", "text": text}));
                        continue;
                    }
                    // `input` must be an object; other providers' malformed arguments are wrapped.
                    let input = match &c.arguments {
                        Value::Object(_) => c.arguments.clone(),
                        Value::Null => json!({}),
                        other => json!({"input": other}),
                    };
                    let block = json!({"type": "tool_use", "id": tool_id(&c.id), "name": c.name, "input": input});
                    push(&mut out, "assistant", block);
                }
            }
            Role::Tool => {
                let call_id = m.tool_call_id.as_deref().unwrap_or_default();
                if as_text.contains(call_id) {
                    let name = m.name.as_deref().unwrap_or("tool");
                    let failed = if m.is_error { " (error)" } else { "" };
                    let text = format!("[result of tool {name}{failed}]\n{}", m.content);
                    push(&mut out, "user", json!({"type": "text", "text": text}));
                    continue;
                }
                let mut block = json!({
                    "type": "tool_result",
                    "tool_use_id": tool_id(call_id),
                });
                // `content` is optional; an empty text block would be rejected.
                if !m.content.is_empty() {
                    block["content"] = json!(m.content);
                }
                if m.is_error {
                    block["is_error"] = json!(true);
                }
                push(&mut out, "user", block);
            }
        }
    }
    out
}

impl Provider for Anthropic {
    fn name(&self) -> &str {
        self.transport.name()
    }

    fn kind(&self) -> &str {
        "anthropic"
    }

    fn endpoint_path(&self, _request: &Request) -> String {
        "/v1/messages".into()
    }

    fn request_body(&self, req: &Request) -> Value {
        let mut body = Map::new();
        body.insert("model".into(), json!(req.model));
        body.insert(
            "max_tokens".into(),
            json!(req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)),
        );
        if let Some(system) = &req.system {
            body.insert("system".into(), json!(system));
        }
        body.insert("messages".into(), Value::Array(messages(req)));
        if let Some(t) = req.temperature {
            body.insert("temperature".into(), json!(t));
        }
        let mut tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
            .collect();
        if let (Some(name), Some(f)) = (json_tool(req), &req.json) {
            tools.push(json!({
                "name": name,
                "description": "Give the reply as this tool's input, which must match its schema.",
                "input_schema": f.schema,
            }));
            // Force the JSON tool; with other tools present, `any` lets the model call those
            // first and still requires a tool call, the JSON one in the end.
            let choice = if req.tools.is_empty() {
                json!({"type": "tool", "name": name})
            } else {
                json!({"type": "any"})
            };
            body.insert("tool_choice".into(), choice);
        }
        if !tools.is_empty() {
            body.insert("tools".into(), Value::Array(tools));
        }
        body.insert("stream".into(), json!(req.stream));
        Value::Object(body)
    }

    fn stream<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<EventStream>> {
        Box::pin(self.transport.guard(async move {
            let t = &self.transport;
            let resp = t
                .post(&self.url("messages"), &self.request_body(req))
                .await?;
            let parser = Events::new(t.name(), json_tool(req));
            if req.stream {
                t.events(resp, parser)
            } else {
                let v = t.json(resp).await?;
                Ok(wire::replay(parser.complete(&v)?))
            }
        }))
    }

    fn list_models(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(self.transport.guard(async move {
            let t = &self.transport;
            let mut ids = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let mut query = vec![("limit", "1000".to_string())];
                query.extend(after.clone().map(|a| ("after_id", a)));
                let v = t.json(t.get(&self.url("models"), &query).await?).await?;
                let page = v["data"].as_array().cloned().unwrap_or_default();
                ids.extend(
                    page.iter()
                        .filter_map(|m| m["id"].as_str().map(str::to_string)),
                );
                after = v["last_id"].as_str().map(str::to_string);
                if v["has_more"] != json!(true) || after.is_none() || page.is_empty() {
                    return Ok(ids);
                }
            }
        }))
    }
}

/// `{"type": "error", "error": {"type", "message"}}`.
pub(crate) fn parse_error(body: &str) -> Option<(Option<String>, String)> {
    error_of(&serde_json::from_str(body).ok()?)
}

fn error_of(v: &Value) -> Option<(Option<String>, String)> {
    let err = v.get("error")?;
    let message = err.get("message")?.as_str()?.to_string();
    Some((err["type"].as_str().map(str::to_string), message))
}

/// Provider-neutral finish reasons; unknown ones pass through.
fn finish_reason(stop: &str, called_tools: bool) -> String {
    match stop {
        "end_turn" | "stop_sequence" => "stop",
        "max_tokens" => "length",
        // The forced JSON tool is the answer, not a request to run a tool.
        "tool_use" if !called_tools => "stop",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        other => other,
    }
    .to_string()
}

/// A content block being streamed.
enum Block {
    Text,
    /// A tool call whose input JSON arrives in fragments.
    Tool {
        id: String,
        name: String,
        input: String,
    },
    /// The structured-output tool: its input fragments are the reply text.
    Json,
    Other,
}

/// Streaming decoder: named events from `message_start` to `message_stop`.
struct Events {
    provider: String,
    json_tool: Option<String>,
    sse: SseDecoder,
    blocks: Vec<(u64, Block)>,
    /// Input tokens by kind (plain, cache writes, cache reads), from `message_start`.
    input: [u64; 3],
    cache_reported: bool,
    output_tokens: u64,
    stop_reason: Option<String>,
    called_tools: bool,
    model: Option<String>,
    done: bool,
}

impl Events {
    fn new(provider: &str, json_tool: Option<String>) -> Self {
        Events {
            provider: provider.to_string(),
            json_tool,
            sse: SseDecoder::default(),
            blocks: Vec::new(),
            input: [0; 3],
            cache_reported: false,
            output_tokens: 0,
            stop_reason: None,
            called_tools: false,
            model: None,
            done: false,
        }
    }

    /// Usage counts: `message_delta` repeats them cumulatively, so each replaces the last.
    fn read_usage(&mut self, u: &Value) {
        let fields = [
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
        ];
        for (slot, field) in self.input.iter_mut().zip(fields) {
            if let Some(n) = u[field].as_u64() {
                *slot = n;
            }
        }
        self.cache_reported |= u["cache_read_input_tokens"].is_u64();
        if let Some(n) = u["output_tokens"].as_u64() {
            self.output_tokens = n;
        }
    }

    fn usage(&self) -> Usage {
        // `input_tokens` excludes cached prompt tokens; other providers count them in, so the
        // sum is reported with the cache reads as `cached_tokens`.
        Usage {
            input_tokens: self.input.iter().sum(),
            output_tokens: self.output_tokens,
            cached_tokens: self.cache_reported.then_some(self.input[2]),
            reasoning_tokens: None,
        }
    }

    fn block_start(&mut self, index: u64, block: &Value, out: &mut Vec<Event>) {
        let kind = match block["type"].as_str() {
            Some("text") => {
                let text = block["text"].as_str().unwrap_or_default();
                if !text.is_empty() && self.json_tool.is_none() {
                    out.push(Event::TextDelta {
                        text: text.to_string(),
                    });
                }
                Block::Text
            }
            Some("tool_use") if block["name"].as_str() == self.json_tool.as_deref() => Block::Json,
            Some("tool_use") => Block::Tool {
                id: block["id"].as_str().unwrap_or_default().to_string(),
                name: block["name"].as_str().unwrap_or_default().to_string(),
                input: String::new(),
            },
            _ => Block::Other, // thinking, server tools: not part of the reply text
        };
        self.blocks.push((index, kind));
    }

    fn block(&mut self, index: u64) -> Option<&mut Block> {
        self.blocks
            .iter_mut()
            .find(|(i, _)| *i == index)
            .map(|(_, b)| b)
    }

    fn event(&mut self, data: &str, out: &mut Vec<Event>) -> Result<()> {
        let v: Value = serde_json::from_str(data).map_err(|e| {
            stream_error(
                &self.provider,
                format!("bad stream event ({e}): {}", head(data)),
            )
        })?;
        let index = v["index"].as_u64().unwrap_or(0);
        let in_json_mode = self.json_tool.is_some();
        match v["type"].as_str().unwrap_or_default() {
            "message_start" => {
                self.model = v
                    .pointer("/message/model")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                self.read_usage(&v["message"]["usage"]);
            }
            "content_block_start" => self.block_start(index, &v["content_block"], out),
            "content_block_delta" => {
                let delta = &v["delta"];
                let piece = delta["text"]
                    .as_str()
                    .or(delta["partial_json"].as_str())
                    .unwrap_or("");
                match self.block(index) {
                    Some(Block::Text) if !in_json_mode && !piece.is_empty() => {
                        out.push(Event::TextDelta {
                            text: piece.to_string(),
                        })
                    }
                    // The JSON reply streams as text while the model writes it.
                    Some(Block::Json) if !piece.is_empty() => out.push(Event::TextDelta {
                        text: piece.to_string(),
                    }),
                    Some(Block::Tool { input, .. }) => input.push_str(piece),
                    _ => {}
                }
            }
            "content_block_stop" => {
                if let Some(Block::Tool { id, name, input }) = self.block(index) {
                    let (id, name, input) = (
                        std::mem::take(id),
                        std::mem::take(name),
                        std::mem::take(input),
                    );
                    self.called_tools = true;
                    out.push(Event::ToolCall {
                        call: ToolCall {
                            id,
                            name,
                            arguments: parse_input(&input),
                        },
                    });
                }
            }
            "message_delta" => {
                if let Some(r) = v.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    self.stop_reason = Some(r.to_string());
                }
                self.read_usage(&v["usage"]);
            }
            "message_stop" => {
                self.done = true;
                out.push(Event::Usage {
                    usage: self.usage(),
                });
                out.push(Event::Done {
                    finish_reason: self
                        .stop_reason
                        .as_deref()
                        .map(|r| finish_reason(r, self.called_tools)),
                    model: self.model.take(),
                });
            }
            "error" => {
                let (kind, message) = error_of(&v).unwrap_or((None, data.to_string()));
                let msg = format!("error in stream: {}", kind_message(kind, &message));
                return Err(stream_error(&self.provider, msg));
            }
            _ => {} // ping, and event types added later
        }
        Ok(())
    }

    /// A non-streamed Messages response, as the same events.
    fn complete(mut self, v: &Value) -> Result<Vec<Event>> {
        if let Some((kind, message)) = error_of(v) {
            return Err(stream_error(&self.provider, kind_message(kind, &message)));
        }
        let mut out = Vec::new();
        for block in v["content"].as_array().into_iter().flatten() {
            match block["type"].as_str() {
                Some("text") if self.json_tool.is_none() => {
                    let text = block["text"].as_str().unwrap_or_default();
                    if !text.is_empty() {
                        out.push(Event::TextDelta {
                            text: text.to_string(),
                        });
                    }
                }
                Some("tool_use") if block["name"].as_str() == self.json_tool.as_deref() => {
                    out.push(Event::TextDelta {
                        text: block["input"].to_string(),
                    });
                }
                Some("tool_use") => {
                    self.called_tools = true;
                    out.push(Event::ToolCall {
                        call: ToolCall {
                            id: block["id"].as_str().unwrap_or_default().to_string(),
                            name: block["name"].as_str().unwrap_or_default().to_string(),
                            arguments: block["input"].clone(),
                        },
                    });
                }
                _ => {}
            }
        }
        self.read_usage(&v["usage"]);
        out.push(Event::Usage {
            usage: self.usage(),
        });
        out.push(Event::Done {
            finish_reason: v["stop_reason"]
                .as_str()
                .map(|r| finish_reason(r, self.called_tools)),
            model: v["model"].as_str().map(str::to_string),
        });
        Ok(out)
    }
}

fn parse_input(raw: &str) -> Value {
    if raw.trim().is_empty() {
        return json!({});
    }
    // Input that is not JSON goes on as a string: validation reports it to the model.
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}

impl SseProtocol for Events {
    fn decoder(&mut self) -> &mut SseDecoder {
        &mut self.sse
    }

    fn provider(&self) -> &str {
        &self.provider
    }

    fn on_event(&mut self, data: &str, out: &mut Vec<Event>) -> Result<()> {
        self.event(data, out)
    }

    fn on_end(&mut self, _out: &mut Vec<Event>) -> Result<()> {
        if self.done {
            return Ok(());
        }
        Err(stream_error(
            &self.provider,
            "stream ended before message_stop: the reply is incomplete",
        ))
    }

    fn finished(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
#[path = "anthropic_tests.rs"]
mod tests;
