//! OpenAI Responses (`POST {base}/responses`, `Authorization: Bearer KEY`,
//! <https://platform.openai.com/docs/api-reference/responses/create>), spoken to OpenAI's own
//! API; compatible servers stay on Chat Completions ([`super::OpenAi`]).
//!
//! Stateless: `store: false` and, for models that reason,
//! `include: ["reasoning.encrypted_content"]`, the whole history
//! sent as `input` items every turn, the system prompt as `instructions`. The reply's reasoning
//! items (with their encrypted content) and its output message (with its `phase`) are kept on
//! the stored reply (`extra.openai.items`) and sent back as they came, before the function
//! calls they produced. Tools are `function_call` / `function_call_output` items joined by
//! `call_id`; structured output is `text.format: {type: json_schema}`.

use futures_util::future::BoxFuture;
use serde_json::{json, Map, Value};

use super::responses_stream::{Events, EXTRA_KEY};
use super::transport::{Auth, Protocol, Transport};
use super::wire;
use super::{Endpoint, EventStream, Provider, Request};
use crate::{Message, Result, Role};

/// The same key and error shape as Chat Completions.
static PROTOCOL: Protocol = Protocol {
    kind: "openai",
    auth: Auth::Bearer,
    headers: &[],
    parse_error: super::openai::parse_error,
};

/// The OpenAI Responses protocol.
pub struct Responses {
    transport: Transport,
}

impl Responses {
    /// A provider called `name` at `endpoint` (`https://api.openai.com/v1`).
    pub fn new(name: &str, endpoint: Endpoint) -> Self {
        Responses {
            transport: Transport::new(name, endpoint, &PROTOCOL),
        }
    }
}

/// A kept item as it goes back: without its `id`, since with `store: false` nothing was
/// stored under it and a request naming one is refused (reported in
/// github.com/github/copilot-sdk/issues/615), and without its output-only `status`.
fn replayed(item: &Value) -> Value {
    let mut item = item.clone();
    if let Some(obj) = item.as_object_mut() {
        obj.remove("id");
        obj.remove("status");
    }
    item
}

fn kept_items(m: &Message) -> &[Value] {
    m.extra
        .get(EXTRA_KEY)
        .and_then(|k| k["items"].as_array())
        .map_or(&[], Vec::as_slice)
}

/// The `input` items.
pub(crate) fn input(req: &Request) -> Vec<Value> {
    let mut out = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        match m.role {
            Role::User if m.attachments.is_empty() => {
                out.push(json!({"role": "user", "content": m.content}))
            }
            Role::User => out.push(json!({"role": "user",
                "content": super::parts::openai_responses_content(m)})),
            Role::Assistant => assistant(m, &mut out),
            Role::Tool => out.push(json!({
                "type": "function_call_output",
                "call_id": m.tool_call_id.as_deref().unwrap_or_default(),
                "output": m.content,
            })),
        }
    }
    out
}

fn assistant(m: &Message, out: &mut Vec<Value>) {
    let kept = kept_items(m);
    // Reasoning first, as it came, then the message (its `phase` with it), then the calls.
    out.extend(
        kept.iter()
            .filter(|i| i["type"] == "reasoning")
            .map(replayed),
    );
    if !m.content.is_empty() {
        match kept.iter().find(|i| i["type"] == "message") {
            Some(message) => out.push(replayed(message)),
            None => out.push(json!({"role": "assistant", "content": m.content})),
        }
    }
    for c in &m.tool_calls {
        let arguments = match &c.arguments {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.push(json!({"type": "function_call", "call_id": c.id, "name": c.name, "arguments": arguments}));
    }
}

impl Provider for Responses {
    fn name(&self) -> &str {
        self.transport.name()
    }

    fn check_attachment(&self, attachment: &crate::Attachment) -> Result<()> {
        super::parts::check("openai", self.transport.name(), attachment)
    }

    fn request_body(&self, req: &Request) -> Value {
        let mut body = Map::new();
        body.insert("model".into(), json!(req.model));
        if let Some(system) = &req.system {
            body.insert("instructions".into(), json!(system));
        }
        body.insert("input".into(), Value::Array(input(req)));
        body.insert("stream".into(), json!(req.stream));
        body.insert("store".into(), json!(false));
        // Reasoning state comes back only if asked for; a model that does not reason refuses
        // the ask.
        let reasons = super::reasoning::openai_reasons(&req.model)
            || req
                .reasoning
                .is_some_and(|r| r.effort != super::Effort::None);
        if reasons {
            body.insert("include".into(), json!(["reasoning.encrypted_content"]));
        }
        if let Some(t) = req.temperature {
            body.insert("temperature".into(), json!(t));
        }
        if let Some(n) = req.max_tokens {
            body.insert("max_output_tokens".into(), json!(n));
        }
        if let Some(r) = &req.reasoning {
            body.insert("reasoning".into(), super::reasoning::responses_reasoning(r));
        }
        if let Some(f) = &req.json {
            body.insert(
                "text".into(),
                json!({"format": {"type": "json_schema", "name": f.name, "schema": f.schema, "strict": f.strict}}),
            );
        }
        if !req.tools.is_empty() {
            let tools: Vec<Value> = req
                .tools
                .iter()
                .map(|t| json!({"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters, "strict": false}))
                .collect();
            body.insert("tools".into(), Value::Array(tools));
        }
        // <https://platform.openai.com/docs/guides/prompt-caching>: requests with the same key
        // and prefix go to the same cache.
        if let Some(key) = &req.cache_key {
            body.insert("prompt_cache_key".into(), json!(key));
        }
        Value::Object(body)
    }

    fn stream<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<EventStream>> {
        Box::pin(self.transport.guard(async move {
            let t = &self.transport;
            let url = format!("{}/responses", t.base());
            let resp = t.post(&url, &self.request_body(req)).await?;
            let parser = Events::new(t.name());
            if req.stream {
                t.events(resp, parser)
            } else {
                let v = t.json(resp).await?;
                Ok(wire::replay(parser.complete(&v)?))
            }
        }))
    }

    fn list_models(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(
            self.transport
                .guard(super::openai::list_models(&self.transport)),
        )
    }
}
