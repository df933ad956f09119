//! `Scripted`: an in-process provider with canned replies, for tests and examples.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use serde_json::{json, Value};

use super::{Event, EventStream, Provider, Request};
use crate::error::ProviderError;
use crate::{Error, Result, Role, ToolCall, Usage};

/// One canned reply.
#[derive(Debug, Clone)]
enum Reply {
    Text(String),
    Tools(Vec<ToolCall>),
    Fail(String),
}

/// A provider that answers from a script, records every request, and otherwise echoes.
///
/// With no scripted reply left it answers `You said: <last user message>`, so examples show
/// real multi-turn behaviour without a network. Clones share the script and the record.
///
/// ```
/// use agent::provider::{Provider, Scripted};
/// let p = Scripted::new().reply("Paris.");
/// assert_eq!(p.requests().len(), 0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Scripted {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Scripted {
    /// An echoing provider with an empty script.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queue a text reply.
    pub fn reply(self, text: impl Into<String>) -> Self {
        self.replies
            .lock()
            .unwrap()
            .push_back(Reply::Text(text.into()));
        self
    }

    /// Queue a reply that calls one tool.
    pub fn tool_call(self, name: &str, arguments: Value) -> Self {
        let n = self.replies.lock().unwrap().len();
        let call = ToolCall {
            id: format!("call_{n}"),
            name: name.to_string(),
            arguments,
        };
        self.replies
            .lock()
            .unwrap()
            .push_back(Reply::Tools(vec![call]));
        self
    }

    /// Queue a failure (a provider error with this message).
    pub fn fail(self, message: impl Into<String>) -> Self {
        self.replies
            .lock()
            .unwrap()
            .push_back(Reply::Fail(message.into()));
        self
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Provider for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }

    fn request_body(&self, request: &Request) -> Value {
        json!({
            "model": request.model,
            "system": request.system,
            "messages": request.messages.iter().map(|m| json!({"role": m.role.as_str(), "content": m.content})).collect::<Vec<_>>(),
        })
    }

    fn stream<'a>(&'a self, request: &'a Request) -> BoxFuture<'a, Result<EventStream>> {
        self.requests.lock().unwrap().push(request.clone());
        let next = self.replies.lock().unwrap().pop_front();
        let usage = Usage {
            input_tokens: request
                .messages
                .iter()
                .map(|m| m.content.split_whitespace().count() as u64)
                .sum(),
            output_tokens: 0,
            ..Default::default()
        };
        let mut events: Vec<Result<Event>> = Vec::new();
        let finish = match next {
            Some(Reply::Fail(message)) => {
                let err = ProviderError::network("scripted", message, false);
                return Box::pin(async move { Err(Error::Provider(err)) });
            }
            Some(Reply::Tools(calls)) => {
                events.extend(calls.into_iter().map(|call| Ok(Event::ToolCall { call })));
                "tool_calls"
            }
            Some(Reply::Text(text)) => {
                events.extend(words(&text));
                "stop"
            }
            None => {
                let last = request
                    .messages
                    .iter()
                    .rev()
                    .find(|m| m.role == Role::User)
                    .map(|m| m.content.as_str())
                    .unwrap_or("");
                events.extend(words(&format!("You said: {last}")));
                "stop"
            }
        };
        let output = events.len() as u64;
        events.push(Ok(Event::Usage {
            usage: Usage {
                output_tokens: output,
                ..usage
            },
        }));
        events.push(Ok(Event::Done {
            finish_reason: Some(finish.to_string()),
            model: Some(request.model.clone()),
        }));
        Box::pin(async move { Ok(Box::pin(futures_util::stream::iter(events)) as EventStream) })
    }
}

/// Split text into word-sized deltas, as a streaming model would send it.
fn words(text: &str) -> Vec<Result<Event>> {
    text.split_inclusive(' ')
        .map(|w| {
            Ok(Event::TextDelta {
                text: w.to_string(),
            })
        })
        .collect()
}
