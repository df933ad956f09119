//! Ollama's native chat API (`POST {base}/api/chat`): NDJSON streaming closed by an object with
//! `"done": true` carrying `prompt_eval_count` / `eval_count`; no key.
//!
//! Tools are `tools[{type: function, function}]` with `tool_calls` whose arguments are objects,
//! fed back as `{"role": "tool", "tool_name", "content"}`. Structured output lives here as
//! `format: <schema>`. (Ollama's OpenAI-compatible `/v1` is reached with `--provider openai`.)

use futures_util::future::BoxFuture;
use serde_json::{json, Map, Value};

use super::ndjson::LineDecoder;
use super::transport::{Auth, Protocol, Transport};
use super::wire::{self, stream_error, WireParser};
use super::{Endpoint, Event, EventStream, Provider, Request};
use crate::{Result, Role, ToolCall, Usage};

/// How Ollama is reached: no key locally; one set for a proxy in front of it goes as a bearer
/// token (<https://github.com/ollama/ollama/blob/main/docs/api.md>).
static PROTOCOL: Protocol = Protocol {
    kind: "ollama",
    auth: Auth::Bearer,
    headers: &[],
    parse_error,
};

/// The Ollama native protocol.
pub struct Ollama {
    transport: Transport,
}

impl Ollama {
    /// A provider called `name` at `endpoint`. Like Ollama's own client, a bare host
    /// (`OLLAMA_HOST=0.0.0.0` or `127.0.0.1:11434`) means `http://` and port 11434.
    pub fn new(name: &str, mut endpoint: Endpoint) -> Self {
        if !endpoint.base_url.contains("://") {
            let host = endpoint.base_url.trim_end_matches('/');
            let has_port = host
                .rsplit_once(':')
                .is_some_and(|(_, p)| p.parse::<u16>().is_ok());
            endpoint.base_url = if has_port {
                format!("http://{host}")
            } else {
                format!("http://{host}:11434")
            };
        }
        Ollama {
            transport: Transport::new(name, endpoint, &PROTOCOL),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/{path}", self.transport.base())
    }
}

pub(crate) fn messages(req: &Request) -> Vec<Value> {
    let mut out = Vec::with_capacity(req.messages.len() + 1);
    if let Some(system) = &req.system {
        out.push(json!({"role": "system", "content": system}));
    }
    for m in &req.messages {
        out.push(match m.role {
            Role::User => json!({"role": "user", "content": m.content}),
            Role::Assistant if m.tool_calls.is_empty() => {
                json!({"role": "assistant", "content": m.content})
            }
            Role::Assistant => {
                let calls: Vec<Value> = m
                    .tool_calls
                    .iter()
                    .map(|c| json!({"function": {"name": c.name, "arguments": c.arguments}}))
                    .collect();
                json!({"role": "assistant", "content": m.content, "tool_calls": calls})
            }
            Role::Tool => json!({
                "role": "tool",
                "tool_name": m.name.as_deref().unwrap_or_default(),
                "content": m.content,
            }),
        });
    }
    out
}

impl Provider for Ollama {
    fn name(&self) -> &str {
        self.transport.name()
    }

    fn kind(&self) -> &str {
        "ollama"
    }

    fn endpoint_path(&self, _request: &Request) -> String {
        "/api/chat".into()
    }

    fn request_body(&self, req: &Request) -> Value {
        let mut body = Map::new();
        body.insert("model".into(), json!(req.model));
        body.insert("messages".into(), Value::Array(messages(req)));
        // Streaming is Ollama's default; only an explicit false turns it off.
        body.insert("stream".into(), json!(req.stream));
        let mut options = Map::new();
        if let Some(t) = req.temperature {
            options.insert("temperature".into(), json!(t));
        }
        if let Some(n) = req.max_tokens {
            options.insert("num_predict".into(), json!(n));
        }
        if !options.is_empty() {
            body.insert("options".into(), Value::Object(options));
        }
        if let Some(f) = &req.json {
            body.insert("format".into(), f.schema.clone());
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
            let resp = t.post(&self.url("chat"), &self.request_body(req)).await?;
            let mut parser = Lines::new(t.name());
            if req.stream {
                t.events(resp, parser)
            } else {
                let v = t.json(resp).await?;
                let mut out = Vec::new();
                parser.object(v, &mut out)?;
                if !parser.done {
                    return Err(stream_error(t.name(), "response has no \"done\": true"));
                }
                Ok(wire::replay(out))
            }
        }))
    }

    fn list_models(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        Box::pin(self.transport.guard(async move {
            let t = &self.transport;
            let v = t.json(t.get(&self.url("tags"), &[]).await?).await?;
            Ok(v["models"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| {
                    m["name"]
                        .as_str()
                        .or(m["model"].as_str())
                        .map(str::to_string)
                })
                .collect())
        }))
    }
}

/// `{"error": "..."}`.
pub(crate) fn parse_error(body: &str) -> Option<(Option<String>, String)> {
    let v: Value = serde_json::from_str(body).ok()?;
    Some((None, v.get("error")?.as_str()?.to_string()))
}

/// Streaming decoder: one JSON object per line, up to the one with `"done": true`.
struct Lines {
    provider: String,
    lines: LineDecoder,
    called_tools: bool,
    done: bool,
}

impl Lines {
    fn new(provider: &str) -> Self {
        Lines {
            provider: provider.to_string(),
            lines: LineDecoder::default(),
            called_tools: false,
            done: false,
        }
    }

    fn line(&mut self, line: &str, out: &mut Vec<Event>) -> Result<()> {
        let v: Value = serde_json::from_str(line).map_err(|e| {
            let head: String = line.chars().take(80).collect();
            stream_error(&self.provider, format!("bad stream line ({e}): {head}"))
        })?;
        self.object(v, out)
    }

    fn object(&mut self, v: Value, out: &mut Vec<Event>) -> Result<()> {
        // An error can arrive as a line after a 200.
        if let Some(msg) = v.get("error").and_then(Value::as_str) {
            return Err(stream_error(
                &self.provider,
                format!("error in stream: {msg}"),
            ));
        }
        let message = &v["message"];
        if let Some(text) = message["content"].as_str() {
            if !text.is_empty() {
                out.push(Event::TextDelta {
                    text: text.to_string(),
                });
            }
        }
        for c in message["tool_calls"].as_array().into_iter().flatten() {
            self.called_tools = true;
            let id = c["id"]
                .as_str()
                .map_or_else(wire::generated_call_id, str::to_string);
            let arguments = match &c["function"]["arguments"] {
                Value::Null => json!({}),
                args => args.clone(),
            };
            let name = c["function"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            out.push(Event::ToolCall {
                call: ToolCall {
                    id,
                    name,
                    arguments,
                },
            });
        }
        if v["done"] == json!(true) {
            self.done = true;
            let n = |k: &str| v[k].as_u64().unwrap_or(0);
            out.push(Event::Usage {
                usage: Usage {
                    input_tokens: n("prompt_eval_count"),
                    output_tokens: n("eval_count"),
                    ..Default::default()
                },
            });
            // Ollama reports `stop` even when the model called tools.
            let reason = match v["done_reason"].as_str() {
                Some("stop") | None if self.called_tools => Some("tool_calls".to_string()),
                other => other.map(str::to_string),
            };
            out.push(Event::Done {
                finish_reason: reason,
                model: v["model"].as_str().map(str::to_string),
            });
        }
        Ok(())
    }
}

impl WireParser for Lines {
    fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Event>> {
        let lines = self.lines.push(chunk).map_err(|e| {
            stream_error(
                &self.provider,
                format!("stream line of {} bytes is over the limit", e.0),
            )
        })?;
        let mut out = Vec::new();
        for line in lines {
            if self.done {
                break;
            }
            self.line(&line, &mut out)?;
        }
        Ok(out)
    }

    fn finish(&mut self) -> Result<Vec<Event>> {
        let mut out = Vec::new();
        if let Some(line) = self.lines.finish() {
            if !self.done {
                self.line(&line, &mut out)?;
            }
        }
        if !self.done {
            return Err(stream_error(
                &self.provider,
                "stream ended before \"done\": true: the reply is incomplete",
            ));
        }
        Ok(out)
    }

    fn done(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::JsonFormat;
    use crate::Message;

    const STREAM: &str = concat!(
        "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.385406455-07:00\",\"message\":{\"role\":\"assistant\",\"content\":\"The\"},\"done\":false}\n",
        "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.5Z\",\"message\":{\"role\":\"assistant\",\"content\":\" sky ✓\"},\"done\":false}\n",
        "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T19:22:45.499127Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done_reason\":\"stop\",\"done\":true,\"total_duration\":4883583458,\"load_duration\":1334875,\"prompt_eval_count\":26,\"prompt_eval_duration\":342546000,\"eval_count\":282,\"eval_duration\":4535599000}\n",
    );

    fn decode(stream: &str, cut: usize) -> Result<Vec<Event>> {
        let mut p = Lines::new("ollama");
        let mut events = p.feed(&stream.as_bytes()[..cut])?;
        events.extend(p.feed(&stream.as_bytes()[cut..])?);
        events.extend(p.finish()?);
        Ok(events)
    }

    #[test]
    fn stream_decodes_the_same_at_every_split() {
        let want = vec![
            Event::TextDelta { text: "The".into() },
            Event::TextDelta {
                text: " sky ✓".into(),
            },
            Event::Usage {
                usage: Usage {
                    input_tokens: 26,
                    output_tokens: 282,
                    ..Default::default()
                },
            },
            Event::Done {
                finish_reason: Some("stop".into()),
                model: Some("llama3.2".into()),
            },
        ];
        for cut in 0..=STREAM.len() {
            assert_eq!(decode(STREAM, cut).unwrap(), want, "cut at {cut}");
        }
    }

    #[test]
    fn error_lines_and_truncation_fail() {
        let err = decode(
            "{\"message\":{\"content\":\"a\"},\"done\":false}\n{\"error\":\"out of memory\"}\n",
            3,
        );
        assert!(err.unwrap_err().to_string().contains("out of memory"));
        let cut = STREAM.rfind("{\"model\"").unwrap();
        let err = decode(&STREAM[..cut], 0).unwrap_err().to_string();
        assert!(err.contains("done"), "{err}");
    }

    #[test]
    fn tool_call_arguments_are_objects() {
        let line = "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"get_current_weather\",\"arguments\":{\"format\":\"celsius\",\"location\":\"Paris, FR\"}}}]},\"done_reason\":\"stop\",\"done\":true,\"prompt_eval_count\":122,\"eval_count\":33}\n";
        let events = decode(line, 7).unwrap();
        let Event::ToolCall { call } = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(call.name, "get_current_weather");
        assert_eq!(
            call.arguments,
            json!({"format": "celsius", "location": "Paris, FR"})
        );
        assert!(call.id.starts_with("call_"));
        assert_eq!(
            events[2],
            Event::Done {
                finish_reason: Some("tool_calls".into()),
                model: Some("llama3.2".into())
            }
        );
    }

    #[test]
    fn request_body_shape() {
        let endpoint = Endpoint {
            base_url: "127.0.0.1:11434".into(),
            api_key: None,
            headers: vec![],
            timeout: std::time::Duration::from_secs(5),
            retries: 0,
        };
        let bare = Endpoint {
            base_url: "0.0.0.0".into(),
            ..endpoint.clone()
        };
        let p = Ollama::new("ollama", endpoint);
        assert_eq!(p.url("chat"), "http://127.0.0.1:11434/api/chat");
        assert_eq!(
            Ollama::new("ollama", bare).url("tags"),
            "http://0.0.0.0:11434/api/tags"
        );
        let call = ToolCall {
            id: "c1".into(),
            name: "f".into(),
            arguments: json!({"x": 1}),
        };
        let mut asked = Message::assistant("");
        asked.tool_calls = vec![call.clone()];
        let schema = json!({"type": "object"});
        let req = Request {
            model: "llama3.2".into(),
            system: Some("S".into()),
            messages: vec![Message::user("q"), asked, Message::tool_result(&call, "42")],
            temperature: Some(0.0),
            max_tokens: Some(50),
            stream: false,
            json: Some(JsonFormat {
                name: "r".into(),
                schema: schema.clone(),
                strict: false,
            }),
            tools: vec![],
        };
        let body = p.request_body(&req);
        assert_eq!(body["stream"], false);
        assert_eq!(body["format"], schema);
        assert_eq!(
            body["options"],
            json!({"temperature": 0.0, "num_predict": 50})
        );
        assert_eq!(
            body["messages"],
            json!([
                {"role": "system", "content": "S"},
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}}]},
                {"role": "tool", "tool_name": "f", "content": "42"},
            ])
        );
    }
}
