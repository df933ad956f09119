//! Anthropic Messages (`POST {base}/v1/messages`, `x-api-key`, `anthropic-version: 2023-06-01`):
//! top-level `system`, `max_tokens` always sent, named SSE events ended by `message_stop`.
//!
//! Tools are `tools[{name, description, input_schema}]`, answered with `tool_use` blocks and
//! fed back as `tool_result` blocks in a user message. Structured output lives here too: a
//! forced call of a tool whose `input_schema` is the schema; its input is the JSON reply and is
//! emitted as text, so the engine validates it like any other provider's.

use futures_util::future::BoxFuture;
use serde_json::{json, Map, Value};

pub(crate) use super::anthropic_stream::parse_error;
use super::anthropic_stream::{Events, EXTRA_KEY};
use super::transport::{Auth, Protocol, Transport};
use super::wire;
use super::{caching, reasoning};
use super::{Endpoint, EventStream, Provider, Request};
use crate::{Message, Result, Role};

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
                for block in super::parts::anthropic(m) {
                    push(&mut out, "user", block);
                }
                // Empty text blocks are rejected.
                if !m.content.is_empty() {
                    push(&mut out, "user", json!({"type": "text", "text": m.content}));
                }
            }
            Role::Assistant => {
                // Thinking blocks first, unchanged, as the API requires of a turn with tool
                // calls (<https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#preserving-thinking-blocks>).
                for block in thinking_blocks(m) {
                    push(&mut out, "assistant", block.clone());
                }
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

/// The thinking and redacted thinking blocks an Anthropic reply left on `m`, as they came.
fn thinking_blocks(m: &Message) -> impl Iterator<Item = &Value> {
    m.extra
        .get(EXTRA_KEY)
        .and_then(|k| k["thinking"].as_array())
        .into_iter()
        .flatten()
        .filter(|b| matches!(b["type"].as_str(), Some("thinking" | "redacted_thinking")))
}

impl Provider for Anthropic {
    fn name(&self) -> &str {
        self.transport.name()
    }

    fn check_attachment(&self, attachment: &crate::Attachment) -> Result<()> {
        super::parts::check("anthropic", self.transport.name(), attachment)
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
        let thinking = req
            .reasoning
            .as_ref()
            .map(|r| reasoning::anthropic_thinking(r, req.max_tokens, DEFAULT_MAX_TOKENS));
        let max_tokens = match &thinking {
            Some((_, max)) => *max,
            None => req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        };
        body.insert("max_tokens".into(), json!(max_tokens));
        if let Some(system) = &req.system {
            body.insert("system".into(), json!(system));
        }
        body.insert("messages".into(), Value::Array(messages(req)));
        let thinking_on = thinking
            .as_ref()
            .is_some_and(|(t, _)| t["type"] == "enabled");
        if let Some((config, _)) = thinking {
            body.insert("thinking".into(), config);
        }
        // Temperature cannot be changed with thinking on.
        if let Some(t) = req.temperature.filter(|_| !thinking_on) {
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
            // With thinking on only `auto` is allowed (extended-thinking docs, "tool use"):
            // the description asks for the call instead.
            let choice = if thinking_on {
                json!({"type": "auto"})
            } else if req.tools.is_empty() {
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
        if let Some(ttl) = req.cache {
            caching::anthropic_breakpoints(&mut body, ttl);
        }
        Value::Object(body)
    }

    fn stream<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<EventStream>> {
        Box::pin(self.transport.guard(async move {
            let t = &self.transport;
            let beta = caching::anthropic_beta(req.cache);
            let resp = t
                .post_with(&self.url("messages"), &self.request_body(req), beta)
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

#[cfg(test)]
#[path = "anthropic_tests.rs"]
mod tests;
