//! The Anthropic Messages reply decoder: named SSE events from `message_start` to
//! `message_stop`, or a whole non-streamed response, as provider-neutral events.
//!
//! Thinking (<https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking>):
//! a `thinking` block streams its text as `thinking_delta`s and its signature as a
//! `signature_delta` (which sets the signature, it does not append); a `redacted_thinking`
//! block arrives whole in `content_block_start` with only `data`. The text is shown as
//! reasoning; every block is kept, unchanged and in order, on the stored reply
//! (`extra.anthropic.thinking`) to go back before the reply's `tool_use` blocks, which the API
//! requires in a tool loop with thinking on.

use serde_json::{json, Map, Value};

use super::sse::SseDecoder;
use super::wire::{head, kind_message, stream_error, SseProtocol};
use super::Event;
use crate::{Result, ToolCall, Usage};

/// The key of the data kept on assistant messages (see [`Event::ProviderData`]).
pub(crate) const EXTRA_KEY: &str = "anthropic";

/// `{"type": "error", "error": {"type", "message"}}`.
pub(crate) fn parse_error(body: &str) -> Option<(Option<String>, String)> {
    error_of(&serde_json::from_str(body).ok()?)
}

pub(crate) fn error_of(v: &Value) -> Option<(Option<String>, String)> {
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
    /// Thinking text and its signature.
    Thinking {
        text: String,
        signature: String,
    },
    /// A redacted thinking block, whole from its start.
    Redacted(Value),
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
pub(crate) struct Events {
    provider: String,
    json_tool: Option<String>,
    sse: SseDecoder,
    blocks: Vec<(u64, Block)>,
    /// Input tokens by kind (plain, cache writes, cache reads), from `message_start`.
    input: [u64; 3],
    /// Cache writes for one hour (`cache_creation.ephemeral_1h_input_tokens`).
    written_1h: Option<u64>,
    /// Thinking and redacted thinking blocks, as they go back.
    thinking: Vec<Value>,
    cache_reported: bool,
    output_tokens: u64,
    stop_reason: Option<String>,
    called_tools: bool,
    model: Option<String>,
    done: bool,
}

impl Events {
    pub(crate) fn new(provider: &str, json_tool: Option<String>) -> Self {
        Events {
            provider: provider.to_string(),
            json_tool,
            sse: SseDecoder::default(),
            blocks: Vec::new(),
            input: [0; 3],
            written_1h: None,
            thinking: Vec::new(),
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
        // <https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#1-hour-cache-duration>:
        // `usage.cache_creation` splits the writes by lifetime.
        if let Some(n) = u
            .pointer("/cache_creation/ephemeral_1h_input_tokens")
            .and_then(Value::as_u64)
        {
            self.written_1h = Some(n);
        }
        if let Some(n) = u["output_tokens"].as_u64() {
            self.output_tokens = n;
        }
    }

    fn usage(&self) -> Usage {
        // `input_tokens` excludes cached prompt tokens; other providers count them in, so the
        // sum is reported, with the cache reads and writes named apart.
        Usage {
            input_tokens: self.input.iter().sum(),
            output_tokens: self.output_tokens,
            cache_read_tokens: self.cache_reported.then_some(self.input[2]),
            cache_write_tokens: self.cache_reported.then_some(self.input[1]),
            cache_write_1h_tokens: self.written_1h.filter(|n| *n > 0),
            reasoning_tokens: None,
        }
    }

    /// The kept thinking blocks, as one [`Event::ProviderData`].
    fn kept(&mut self, out: &mut Vec<Event>) {
        if self.thinking.is_empty() {
            return;
        }
        let mut kept = Map::new();
        kept.insert(
            "thinking".into(),
            Value::Array(std::mem::take(&mut self.thinking)),
        );
        out.push(Event::ProviderData {
            key: EXTRA_KEY.into(),
            value: Value::Object(kept),
        });
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
            Some("thinking") => {
                let text = block["thinking"].as_str().unwrap_or_default();
                if !text.is_empty() {
                    out.push(Event::ReasoningDelta {
                        text: text.to_string(),
                    });
                }
                Block::Thinking {
                    text: text.to_string(),
                    signature: block["signature"].as_str().unwrap_or_default().to_string(),
                }
            }
            Some("redacted_thinking") => Block::Redacted(block.clone()),
            Some("tool_use") if block["name"].as_str() == self.json_tool.as_deref() => Block::Json,
            Some("tool_use") => Block::Tool {
                id: block["id"].as_str().unwrap_or_default().to_string(),
                name: block["name"].as_str().unwrap_or_default().to_string(),
                input: String::new(),
            },
            _ => Block::Other, // server tools: not part of the reply text
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
                    Some(Block::Thinking { text, signature }) => {
                        if let Some(t) = delta["thinking"].as_str().filter(|t| !t.is_empty()) {
                            text.push_str(t);
                            out.push(Event::ReasoningDelta {
                                text: t.to_string(),
                            });
                        }
                        // A signature delta replaces: it is the whole signature.
                        if let Some(sig) = delta["signature"].as_str() {
                            *signature = sig.to_string();
                        }
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                match self.block(index) {
                    Some(Block::Thinking { text, signature }) => {
                        let block = json!({
                            "type": "thinking",
                            "thinking": std::mem::take(text),
                            "signature": std::mem::take(signature),
                        });
                        self.thinking.push(block);
                    }
                    Some(Block::Redacted(block)) => {
                        let block = std::mem::take(block);
                        self.thinking.push(block);
                    }
                    _ => {}
                }
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
                self.kept(out);
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
    pub(crate) fn complete(mut self, v: &Value) -> Result<Vec<Event>> {
        if let Some((kind, message)) = error_of(v) {
            return Err(stream_error(&self.provider, kind_message(kind, &message)));
        }
        let mut out = Vec::new();
        for block in v["content"].as_array().into_iter().flatten() {
            match block["type"].as_str() {
                Some("thinking") => {
                    let text = block["thinking"].as_str().unwrap_or_default();
                    if !text.is_empty() {
                        out.push(Event::ReasoningDelta {
                            text: text.to_string(),
                        });
                    }
                    self.thinking.push(block.clone());
                }
                Some("redacted_thinking") => self.thinking.push(block.clone()),
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
        self.kept(&mut out);
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
