//! Providers: the [`Provider`] trait, the provider-neutral [`Request`] and [`Event`], and the
//! wire-protocol implementations.

mod http;
mod openai;
mod scripted;
pub mod sse;

pub use http::ApiKey;
pub use openai::OpenAi;
pub use scripted::Scripted;

use std::pin::Pin;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::Stream;
use serde::Serialize;
use serde_json::Value;

use crate::{Message, Result, ToolCall, Usage};

/// One streamed event of a model reply, the same for every provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A piece of reply text.
    TextDelta {
        /// The text.
        text: String,
    },
    /// The model asked to call a tool (arguments complete).
    ToolCall {
        /// The call.
        #[serde(flatten)]
        call: ToolCall,
    },
    /// A tool finished and its result goes back to the model.
    ToolResult {
        /// The call's id.
        id: String,
        /// The tool's name.
        name: String,
        /// Whether the tool succeeded.
        ok: bool,
        /// The result text sent to the model.
        content: String,
    },
    /// Token usage of one model request.
    Usage {
        /// The counts.
        #[serde(flatten)]
        usage: Usage,
    },
    /// The model finished this request.
    Done {
        /// Why it stopped (`stop`, `length`, `tool_calls`, ...).
        finish_reason: Option<String>,
        /// The model that answered, as the provider reports it.
        model: Option<String>,
    },
}

/// A stream of events from one model request.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<Event>> + Send>>;

/// Structured output: the reply must be JSON matching `schema`.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonFormat {
    /// A name for the schema (OpenAI requires one).
    pub name: String,
    /// The JSON Schema.
    pub schema: Value,
    /// Whether the schema meets OpenAI's strict-mode rules.
    pub strict: bool,
}

/// A tool the model may call, as declared to the provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSpec {
    /// Name the model calls it by.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON Schema of its arguments.
    pub parameters: Value,
}

/// One model request, provider-neutral: each provider converts it to its own wire format.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Request {
    /// The model.
    pub model: String,
    /// The system prompt.
    pub system: Option<String>,
    /// The conversation so far, ending with the new user message.
    pub messages: Vec<Message>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Reply length limit.
    pub max_tokens: Option<u32>,
    /// Stream the reply (false: one response, replayed as events).
    pub stream: bool,
    /// Structured output.
    pub json: Option<JsonFormat>,
    /// Tools the model may call.
    pub tools: Vec<ToolSpec>,
}

/// How to reach a provider: where, with which key, how patiently.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Base URL (`https://api.openai.com/v1`).
    pub base_url: String,
    /// API key, if any (local servers need none).
    pub api_key: Option<ApiKey>,
    /// Extra headers sent with every request.
    pub headers: Vec<(String, String)>,
    /// How long to wait for the server to answer or send the next piece of a stream.
    pub timeout: Duration,
    /// Retries on connection errors, 408, 429 and 5xx, before any reply byte arrived.
    pub retries: u32,
}

/// A model provider speaking one wire protocol.
pub trait Provider: Send + Sync {
    /// The provider's name (`openai`, ...), for messages and the stored history.
    fn name(&self) -> &str;

    /// The exact JSON body [`Provider::stream`] would send (for `--dry-run` and tests).
    fn request_body(&self, request: &Request) -> Value;

    /// Send the request and return its events. Retries happen inside, before the stream starts.
    fn stream<'a>(&'a self, request: &'a Request) -> BoxFuture<'a, Result<EventStream>>;
}

/// Construct a built-in provider by kind.
pub fn by_kind(kind: &str, name: &str, endpoint: Endpoint) -> Result<Box<dyn Provider>> {
    match kind {
        "openai" => Ok(Box::new(OpenAi::new(name, endpoint)?)),
        other => Err(crate::Error::usage(format!(
            "unknown provider kind '{other}' (known: {})",
            KINDS.join(", ")
        ))),
    }
}

/// The provider kinds this build speaks.
pub const KINDS: &[&str] = &["openai"];

/// Defaults per kind: (base URL variable, default base URL, key variable).
pub fn kind_defaults(kind: &str) -> Option<(&'static str, &'static str, Option<&'static str>)> {
    match kind {
        "openai" => Some((
            "OPENAI_BASE_URL",
            "https://api.openai.com/v1",
            Some("OPENAI_API_KEY"),
        )),
        _ => None,
    }
}
