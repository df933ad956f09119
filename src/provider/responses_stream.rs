//! The OpenAI Responses reply decoder: semantic SSE events, each with its `type`
//! (<https://platform.openai.com/docs/api-reference/responses-streaming>), ended by
//! `response.completed`, `response.incomplete` or `response.failed`; there is no `[DONE]`, so
//! a stream that ends without one of them is a truncated reply.
//!
//! `response.output_text.delta` is reply text, `response.reasoning_summary_text.delta`
//! reasoning; function calls gather their `response.function_call_arguments.delta`s and are
//! complete at `response.output_item.done`, which also carries each reasoning item whole (its
//! `encrypted_content`) and the output message (its `phase`): those are kept for the next
//! request. Usage comes with the terminal event: `input_tokens_details.cached_tokens`,
//! `output_tokens_details.reasoning_tokens`.

use serde_json::{json, Map, Value};

use super::sse::SseDecoder;
use super::wire::{head, kind_message, stream_error, SseProtocol};
use super::Event;
use crate::{Result, ToolCall, Usage};

/// The key of the data kept on assistant messages (see [`Event::ProviderData`]).
pub(crate) const EXTRA_KEY: &str = "openai";

/// Streaming decoder.
pub(crate) struct Events {
    provider: String,
    sse: SseDecoder,
    /// Argument fragments by item id.
    arguments: Vec<(String, String)>,
    /// Reasoning and message items, as they came.
    items: Vec<Value>,
    called_tools: bool,
    /// A summary part was shown: the next one starts on a new paragraph.
    summarized: bool,
    done: bool,
}

fn usage_of(u: &Value) -> Option<Usage> {
    if !u.is_object() {
        return None;
    }
    let n = |p: &str| u.pointer(p).and_then(Value::as_u64);
    Some(Usage {
        input_tokens: n("/input_tokens").unwrap_or(0),
        output_tokens: n("/output_tokens").unwrap_or(0),
        cache_read_tokens: n("/input_tokens_details/cached_tokens"),
        reasoning_tokens: n("/output_tokens_details/reasoning_tokens"),
        ..Usage::default()
    })
}

/// `{"code", "message"}`, in an `error` event or a failed response's `error`.
fn failure(v: &Value) -> String {
    let kind = v["code"]
        .as_str()
        .or(v["type"].as_str())
        .map(str::to_string);
    let message = v["message"].as_str().unwrap_or("the response failed");
    kind_message(kind, message)
}

impl Events {
    pub(crate) fn new(provider: &str) -> Self {
        Events {
            provider: provider.to_string(),
            sse: SseDecoder::default(),
            arguments: Vec::new(),
            items: Vec::new(),
            called_tools: false,
            summarized: false,
            done: false,
        }
    }

    fn call(&mut self, item: &Value) -> Event {
        self.called_tools = true;
        let id = item["id"].as_str().unwrap_or_default();
        let streamed = self
            .arguments
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, a)| a.as_str());
        let raw = item["arguments"].as_str().or(streamed).unwrap_or_default();
        let arguments = if raw.trim().is_empty() {
            json!({})
        } else {
            // Arguments that are not JSON go on as a string: validation reports it.
            serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
        };
        Event::ToolCall {
            call: ToolCall {
                id: item["call_id"].as_str().unwrap_or(id).to_string(),
                name: item["name"].as_str().unwrap_or_default().to_string(),
                arguments,
            },
        }
    }

    /// An output item complete: a call to run, or state to keep.
    fn item_done(&mut self, item: &Value, out: &mut Vec<Event>) {
        match item["type"].as_str() {
            Some("function_call") => out.push(self.call(item)),
            Some("reasoning" | "message") => self.items.push(item.clone()),
            _ => {}
        }
    }

    /// The terminal events: the kept items, usage, and why the reply stopped.
    fn end(&mut self, response: &Value, out: &mut Vec<Event>) {
        self.done = true;
        if !self.items.is_empty() {
            let mut kept = Map::new();
            kept.insert(
                "items".into(),
                Value::Array(std::mem::take(&mut self.items)),
            );
            out.push(Event::ProviderData {
                key: EXTRA_KEY.into(),
                value: Value::Object(kept),
            });
        }
        if let Some(usage) = usage_of(&response["usage"]) {
            out.push(Event::Usage { usage });
        }
        let finish = match response["status"].as_str() {
            Some("incomplete") => {
                match response
                    .pointer("/incomplete_details/reason")
                    .and_then(Value::as_str)
                {
                    Some("content_filter") => "content_filter",
                    _ => "length",
                }
            }
            _ if self.called_tools => "tool_calls",
            _ => "stop",
        };
        out.push(Event::Done {
            finish_reason: Some(finish.to_string()),
            model: response["model"].as_str().map(str::to_string),
        });
    }

    fn event(&mut self, data: &str, out: &mut Vec<Event>) -> Result<()> {
        let v: Value = serde_json::from_str(data).map_err(|e| {
            stream_error(
                &self.provider,
                format!("bad stream event ({e}): {}", head(data)),
            )
        })?;
        let delta = v["delta"].as_str().unwrap_or_default();
        match v["type"].as_str().unwrap_or_default() {
            "response.output_text.delta" if !delta.is_empty() => out.push(Event::TextDelta {
                text: delta.to_string(),
            }),
            "response.reasoning_summary_part.added" if self.summarized => {
                out.push(Event::ReasoningDelta {
                    text: "\n\n".into(),
                })
            }
            "response.reasoning_summary_text.delta" if !delta.is_empty() => {
                self.summarized = true;
                out.push(Event::ReasoningDelta {
                    text: delta.to_string(),
                })
            }
            "response.function_call_arguments.delta" => {
                let id = v["item_id"].as_str().unwrap_or_default();
                match self.arguments.iter_mut().find(|(i, _)| i == id) {
                    Some((_, a)) => a.push_str(delta),
                    None => self.arguments.push((id.to_string(), delta.to_string())),
                }
            }
            "response.output_item.done" => self.item_done(&v["item"], out),
            "response.completed" | "response.incomplete" => self.end(&v["response"], out),
            "response.failed" => {
                let msg = failure(&v["response"]["error"]);
                return Err(stream_error(
                    &self.provider,
                    format!("error in stream: {msg}"),
                ));
            }
            "error" => {
                let msg = format!("error in stream: {}", failure(&v));
                return Err(stream_error(&self.provider, msg));
            }
            _ => {} // created, in_progress, content parts, *.done, and types added later
        }
        Ok(())
    }

    /// A non-streamed response object, as the same events.
    pub(crate) fn complete(mut self, v: &Value) -> Result<Vec<Event>> {
        if let Some(err) = v.get("error").filter(|e| e.is_object()) {
            return Err(stream_error(&self.provider, failure(err)));
        }
        let mut out = Vec::new();
        for item in v["output"].as_array().into_iter().flatten() {
            match item["type"].as_str() {
                Some("reasoning") => {
                    let parts: Vec<&str> = item["summary"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|s| s["text"].as_str())
                        .collect();
                    if !parts.is_empty() {
                        out.push(Event::ReasoningDelta {
                            text: parts.join("\n\n"),
                        });
                    }
                }
                Some("message") => {
                    let text: String = item["content"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|c| c["type"] == "output_text")
                        .filter_map(|c| c["text"].as_str())
                        .collect();
                    if !text.is_empty() {
                        out.push(Event::TextDelta { text });
                    }
                }
                _ => {}
            }
            self.item_done(item, &mut out);
        }
        self.end(v, &mut out);
        Ok(out)
    }
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
            "stream ended before response.completed: the reply is incomplete",
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

    fn decode(stream: &str, cut: usize) -> Result<Vec<Event>> {
        let mut p = Events::new("openai");
        let bytes = stream.as_bytes();
        let mut events = p.feed(&bytes[..cut])?;
        events.extend(p.feed(&bytes[cut..])?);
        events.extend(p.finish()?);
        Ok(events)
    }

    #[test]
    fn a_reasoning_call_decodes_the_same_at_every_split() {
        let reasoning = json!({"id": "rs_1", "type": "reasoning", "encrypted_content": "gAAA",
            "summary": [{"type": "summary_text", "text": "A"}, {"type": "summary_text", "text": "B"}]});
        let call = json!({"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "f",
            "arguments": "{\"a\":1}"});
        let events = [
            json!({"type": "response.created", "response": {"model": "gpt-5"}}),
            json!({"type": "response.reasoning_summary_part.added", "summary_index": 0}),
            json!({"type": "response.reasoning_summary_text.delta", "delta": "A"}),
            json!({"type": "response.reasoning_summary_part.added", "summary_index": 1}),
            json!({"type": "response.reasoning_summary_text.delta", "delta": "B"}),
            json!({"type": "response.output_item.done", "item": reasoning}),
            json!({"type": "response.function_call_arguments.delta", "item_id": "fc_1", "delta": "{\"a\":"}),
            json!({"type": "response.output_item.done", "item": call}),
            json!({"type": "response.completed", "response": {"status": "completed", "model": "gpt-5",
                "usage": {"input_tokens": 9, "output_tokens": 4, "input_tokens_details": {"cached_tokens": 8},
                          "output_tokens_details": {"reasoning_tokens": 3}}}}),
        ];
        let stream: String = events
            .iter()
            .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
            .collect();
        let expected = vec![
            Event::ReasoningDelta { text: "A".into() },
            Event::ReasoningDelta {
                text: "\n\n".into(),
            },
            Event::ReasoningDelta { text: "B".into() },
            Event::ToolCall {
                call: ToolCall {
                    id: "call_1".into(),
                    name: "f".into(),
                    arguments: json!({"a": 1}),
                },
            },
            Event::ProviderData {
                key: "openai".into(),
                value: json!({"items": [reasoning]}),
            },
            Event::Usage {
                usage: Usage {
                    input_tokens: 9,
                    output_tokens: 4,
                    cache_read_tokens: Some(8),
                    reasoning_tokens: Some(3),
                    ..Usage::default()
                },
            },
            Event::Done {
                finish_reason: Some("tool_calls".into()),
                model: Some("gpt-5".into()),
            },
        ];
        for cut in 0..=stream.len() {
            assert_eq!(decode(&stream, cut).unwrap(), expected, "cut at {cut}");
        }
        let truncated = &stream[..stream.rfind("event: response.completed").unwrap()];
        assert!(decode(truncated, 0).is_err());
    }
}
