//! Google Gemini (`POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse`, and
//! `:generateContent` without streaming; key in `x-goog-api-key`): `contents` with roles
//! `user` / `model`, `systemInstruction`, `generationConfig`, `usageMetadata`.
//!
//! Tools are `functionDeclarations`, answered by `functionCall` parts (arguments already an
//! object, ids often absent and then generated) and fed back as `functionResponse` parts.
//! Thought signatures that come with a reply are kept on the stored message (`extra.gemini`)
//! and sent back unchanged, as Gemini 3 requires during function calling. Structured output
//! lives here as `responseMimeType: application/json` plus `responseJsonSchema`.

use std::collections::HashSet;

use futures_util::future::BoxFuture;
use serde_json::{json, Map, Value};

use super::sse::SseDecoder;
use super::transport::{Auth, Protocol, Transport};
use super::wire::{self, head, kind_message, stream_error, SseProtocol};
use super::{Endpoint, Event, EventStream, Provider, Request};
use crate::{Message, Result, Role, ToolCall, Usage};

/// The key of the data kept on assistant messages (see [`Event::ProviderData`]).
const EXTRA_KEY: &str = "gemini";

/// How Gemini is reached: the key in `x-goog-api-key`
/// (<https://ai.google.dev/gemini-api/docs/api-key>).
static PROTOCOL: Protocol = Protocol {
    kind: "gemini",
    auth: Auth::Header("x-goog-api-key"),
    headers: &[],
    parse_error,
};

/// The Gemini API protocol.
pub struct Gemini {
    transport: Transport,
}

impl Gemini {
    /// A provider called `name` at `endpoint` (base URL without `/v1beta`).
    pub fn new(name: &str, endpoint: Endpoint) -> Self {
        Gemini {
            transport: Transport::new(name, endpoint, &PROTOCOL),
        }
    }

    fn url(&self, req: &Request) -> String {
        format!("{}{}", self.transport.base(), self.endpoint_path(req))
    }
}

/// A JSON Schema without its `$schema` tag, which describes the document and not the value.
fn schema(s: &Value) -> Value {
    let mut s = s.clone();
    if let Some(obj) = s.as_object_mut() {
        obj.remove("$schema");
    }
    s
}

/// Append `part` as `role`, merging into the previous content of the same role (the results of
/// parallel calls go back together in one content).
fn push(out: &mut Vec<Value>, role: &str, part: Value) {
    super::push_grouped(out, role, "parts", part);
}

/// The `contents` array. `issued` tracks the call ids Gemini itself sent, the only ones it is
/// sent back (ids generated here mean nothing to it).
pub(crate) fn contents(req: &Request) -> Vec<Value> {
    let mut out = Vec::with_capacity(req.messages.len());
    let mut issued: HashSet<String> = HashSet::new();
    for m in &req.messages {
        match m.role {
            Role::User => push(&mut out, "user", json!({"text": m.content})),
            Role::Assistant => assistant(m, &mut out, &mut issued),
            Role::Tool => {
                let name = m.name.as_deref().unwrap_or_default();
                let key = if m.is_error { "error" } else { "output" };
                let mut response = json!({"name": name, "response": {key: m.content}});
                if let Some(id) = m.tool_call_id.as_deref().filter(|id| issued.contains(*id)) {
                    response["id"] = json!(id);
                }
                push(&mut out, "user", json!({"functionResponse": response}));
            }
        }
    }
    out
}

fn assistant(m: &Message, out: &mut Vec<Value>, issued: &mut HashSet<String>) {
    let kept = m.extra.get(EXTRA_KEY);
    let signature = |id: &str| kept.and_then(|k| k["signatures"][id].as_str());
    if !m.content.is_empty() {
        let mut part = json!({"text": m.content});
        if let Some(sig) = kept.and_then(|k| k["text_signature"].as_str()) {
            part["thoughtSignature"] = json!(sig);
        }
        push(out, "model", part);
    }
    let ids: Vec<&str> = kept
        .and_then(|k| k["ids"].as_array())
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for c in &m.tool_calls {
        let args = if c.arguments.is_object() {
            c.arguments.clone()
        } else {
            json!({})
        };
        let mut call = json!({"name": c.name, "args": args});
        if ids.contains(&c.id.as_str()) {
            call["id"] = json!(c.id);
            issued.insert(c.id.clone());
        }
        let mut part = json!({"functionCall": call});
        if let Some(sig) = signature(&c.id) {
            part["thoughtSignature"] = json!(sig);
        }
        push(out, "model", part);
    }
}

impl Provider for Gemini {
    fn name(&self) -> &str {
        self.transport.name()
    }

    fn kind(&self) -> &str {
        "gemini"
    }

    fn endpoint_path(&self, req: &Request) -> String {
        let model = req.model.strip_prefix("models/").unwrap_or(&req.model);
        if req.stream {
            format!("/v1beta/models/{model}:streamGenerateContent?alt=sse")
        } else {
            format!("/v1beta/models/{model}:generateContent")
        }
    }

    fn request_body(&self, req: &Request) -> Value {
        let mut body = Map::new();
        body.insert("contents".into(), Value::Array(contents(req)));
        if let Some(system) = &req.system {
            body.insert(
                "systemInstruction".into(),
                json!({"parts": [{"text": system}]}),
            );
        }
        let mut config = Map::new();
        if let Some(t) = req.temperature {
            config.insert("temperature".into(), json!(t));
        }
        if let Some(n) = req.max_tokens {
            config.insert("maxOutputTokens".into(), json!(n));
        }
        if let Some(f) = &req.json {
            config.insert("responseMimeType".into(), json!("application/json"));
            config.insert("responseJsonSchema".into(), schema(&f.schema));
        }
        if !config.is_empty() {
            body.insert("generationConfig".into(), Value::Object(config));
        }
        if !req.tools.is_empty() {
            // `parametersJsonSchema` takes JSON Schema as is; `parameters` only an OpenAPI subset.
            let decls: Vec<Value> = req
                .tools
                .iter()
                .map(|t| json!({"name": t.name, "description": t.description, "parametersJsonSchema": schema(&t.parameters)}))
                .collect();
            body.insert("tools".into(), json!([{"functionDeclarations": decls}]));
        }
        Value::Object(body)
    }

    fn stream<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<EventStream>> {
        Box::pin(self.transport.guard(async move {
            let t = &self.transport;
            let resp = t.post(&self.url(req), &self.request_body(req)).await?;
            let mut parser = Chunks::new(t.name());
            if req.stream {
                t.events(resp, parser)
            } else {
                let v = t.json(resp).await?;
                let mut out = Vec::new();
                parser.chunk(&v, &mut out)?;
                parser.on_end(&mut out)?;
                Ok(wire::replay(out))
            }
        }))
    }

    fn list_models(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(self.transport.guard(async move {
            let t = &self.transport;
            let url = format!("{}/v1beta/models", t.base());
            let mut ids = Vec::new();
            let mut token: Option<String> = None;
            loop {
                // Page tokens are opaque and may hold `=` or `+`: let the query encoder quote them.
                let mut query = vec![("pageSize", "1000".to_string())];
                query.extend(token.clone().map(|t| ("pageToken", t)));
                let v = t.json(t.get(&url, &query).await?).await?;
                let page = v["models"].as_array().cloned().unwrap_or_default();
                ids.extend(page.iter().filter_map(|m| {
                    let name = m["name"].as_str()?;
                    Some(name.strip_prefix("models/").unwrap_or(name).to_string())
                }));
                token = v["nextPageToken"]
                    .as_str()
                    .filter(|t| !t.is_empty())
                    .map(str::to_string);
                if token.is_none() || page.is_empty() {
                    return Ok(ids);
                }
            }
        }))
    }
}

/// `{"error": {"code", "message", "status", "details": [{"reason"}]}}`. The reason
/// (`API_KEY_INVALID`) says more than the status (`INVALID_ARGUMENT`) when present.
pub(crate) fn parse_error(body: &str) -> Option<(Option<String>, String)> {
    // Some proxies wrap the error object in a one-element array.
    let v: Value = serde_json::from_str(body).ok()?;
    error_of(v.get(0).unwrap_or(&v))
}

fn error_of(v: &Value) -> Option<(Option<String>, String)> {
    let err = v.get("error")?;
    let message = err.get("message")?.as_str()?.to_string();
    let reason = err["details"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|d| d["reason"].as_str());
    let kind = reason.or(err["status"].as_str()).map(str::to_string);
    Some((kind, message))
}

/// Provider-neutral finish reasons; others are passed on in lower case.
fn finish_reason(reason: &str, called_tools: bool) -> String {
    match reason {
        // Gemini says STOP after function calls too.
        "STOP" if called_tools => "tool_calls".into(),
        "STOP" => "stop".into(),
        "MAX_TOKENS" => "length".into(),
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" => {
            "content_filter".into()
        }
        other => other.to_ascii_lowercase(),
    }
}

/// Streaming decoder: `data: {GenerateContentResponse}` events. There is no end marker: the
/// body ends, and a reply whose last chunk carried no `finishReason` is a truncated one.
struct Chunks {
    provider: String,
    sse: SseDecoder,
    finish: Option<String>,
    called_tools: bool,
    usage: Option<Usage>,
    model: Option<String>,
    /// Thought signatures and Gemini-issued call ids, kept on the stored reply.
    signatures: Map<String, Value>,
    text_signature: Option<String>,
    ids: Vec<Value>,
    done: bool,
}

impl Chunks {
    fn new(provider: &str) -> Self {
        Chunks {
            provider: provider.to_string(),
            sse: SseDecoder::default(),
            finish: None,
            called_tools: false,
            usage: None,
            model: None,
            signatures: Map::new(),
            text_signature: None,
            ids: Vec::new(),
            done: false,
        }
    }

    fn data(&mut self, data: &str, out: &mut Vec<Event>) -> Result<()> {
        let v: Value = serde_json::from_str(data).map_err(|e| {
            stream_error(
                &self.provider,
                format!("bad stream chunk ({e}): {}", head(data)),
            )
        })?;
        self.chunk(&v, out)
    }

    fn chunk(&mut self, v: &Value, out: &mut Vec<Event>) -> Result<()> {
        if let Some((kind, message)) = error_of(v) {
            let msg = format!("error in stream: {}", kind_message(kind, &message));
            return Err(stream_error(&self.provider, msg));
        }
        if let Some(m) = v["modelVersion"].as_str() {
            self.model = Some(m.to_string());
        }
        if let Some(u) = v.get("usageMetadata").filter(|u| u.is_object()) {
            let n = |k: &str| u[k].as_u64();
            let thoughts = n("thoughtsTokenCount");
            self.usage = Some(Usage {
                input_tokens: n("promptTokenCount").unwrap_or(0),
                // Thinking tokens are billed as output, as OpenAI counts reasoning tokens.
                output_tokens: n("candidatesTokenCount").unwrap_or(0) + thoughts.unwrap_or(0),
                cached_tokens: n("cachedContentTokenCount"),
                reasoning_tokens: thoughts,
            });
        }
        let Some(candidate) = v["candidates"].get(0) else {
            if let Some(reason) = v
                .pointer("/promptFeedback/blockReason")
                .and_then(Value::as_str)
            {
                return Err(stream_error(
                    &self.provider,
                    format!("the prompt was blocked ({reason})"),
                ));
            }
            return Ok(());
        };
        for part in candidate
            .pointer("/content/parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let signature = part["thoughtSignature"].as_str();
            if let Some(call) = part.get("functionCall") {
                self.called_tools = true;
                let id = match call["id"].as_str() {
                    Some(id) => {
                        self.ids.push(json!(id));
                        id.to_string()
                    }
                    None => wire::generated_call_id(),
                };
                if let Some(sig) = signature {
                    self.signatures.insert(id.clone(), json!(sig));
                }
                let arguments = match &call["args"] {
                    Value::Null => json!({}),
                    args => args.clone(),
                };
                let name = call["name"].as_str().unwrap_or_default().to_string();
                out.push(Event::ToolCall {
                    call: ToolCall {
                        id,
                        name,
                        arguments,
                    },
                });
                continue;
            }
            if let Some(sig) = signature {
                self.text_signature = Some(sig.to_string());
            }
            // Thought summaries (`thought: true`) are not part of the reply.
            if part["thought"] == json!(true) {
                continue;
            }
            if let Some(text) = part["text"].as_str().filter(|t| !t.is_empty()) {
                out.push(Event::TextDelta {
                    text: text.to_string(),
                });
            }
        }
        if let Some(r) = candidate["finishReason"].as_str() {
            self.finish = Some(r.to_string());
        }
        Ok(())
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
        self.data(data, out)
    }

    /// Gemini has no end marker: a last chunk with a `finishReason` ends the reply.
    fn on_end(&mut self, out: &mut Vec<Event>) -> Result<()> {
        let Some(reason) = self.finish.take() else {
            return Err(stream_error(
                &self.provider,
                "stream ended without a finishReason: the reply is incomplete",
            ));
        };
        self.done = true;
        if !self.signatures.is_empty() || self.text_signature.is_some() || !self.ids.is_empty() {
            let mut kept = Map::new();
            if !self.signatures.is_empty() {
                kept.insert(
                    "signatures".into(),
                    Value::Object(std::mem::take(&mut self.signatures)),
                );
            }
            if let Some(sig) = self.text_signature.take() {
                kept.insert("text_signature".into(), json!(sig));
            }
            if !self.ids.is_empty() {
                kept.insert("ids".into(), Value::Array(std::mem::take(&mut self.ids)));
            }
            out.push(Event::ProviderData {
                key: EXTRA_KEY.into(),
                value: Value::Object(kept),
            });
        }
        if let Some(usage) = self.usage.take() {
            out.push(Event::Usage { usage });
        }
        out.push(Event::Done {
            finish_reason: Some(finish_reason(&reason, self.called_tools)),
            model: self.model.take(),
        });
        Ok(())
    }

    fn finished(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
#[path = "gemini_tests.rs"]
mod tests;
