//! Providers: the [`Provider`] trait, the provider-neutral [`Request`] and [`Event`], and the
//! wire-protocol implementations.

mod anthropic;
mod cassette;
mod gemini;
mod ndjson;
mod ollama;
mod openai;
mod scripted;
mod sse;
mod transport;
mod wire;

pub use anthropic::Anthropic;
pub use cassette::{canonical, hash, Cassette, CassetteMode, Recorder};
pub use gemini::Gemini;
pub use ollama::Ollama;
pub use openai::OpenAi;
pub use scripted::Scripted;
pub use transport::{ApiKey, MAX_SERVER_WAIT};

use std::pin::Pin;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::Stream;
use serde::Serialize;
use serde_json::Value;

use crate::{Message, Result, ToolCall, Usage};

/// One streamed event of a model reply, the same for every provider.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
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
        /// How long the tool ran, in milliseconds.
        duration_ms: u64,
    },
    /// Token usage of one model request.
    Usage {
        /// The counts.
        #[serde(flatten)]
        usage: Usage,
    },
    /// Provider-specific data to keep on the assistant message (in its `extra` map, under `key`)
    /// and send back on later requests, such as Gemini's thought signatures. Not shown to users.
    ProviderData {
        /// The key in the message's `extra` map.
        key: String,
        /// The data.
        value: Value,
    },
    /// Something worth telling a person happened (a retry, a lock wait, a rejected structured
    /// attempt); see [`crate::Notice`]. Providers never send it (nor is it recorded): the
    /// turn does.
    #[serde(skip_deserializing)]
    Notice {
        /// What happened.
        #[serde(flatten)]
        notice: crate::Notice,
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

    /// The wire protocol it speaks (`openai`, ...), part of a recorded request's identity.
    fn kind(&self) -> &str {
        self.name()
    }

    /// The path below the base URL that [`Provider::stream`] would send `request` to
    /// (`/chat/completions`), part of a recorded request's identity.
    fn endpoint_path(&self, _request: &Request) -> String {
        String::new()
    }

    /// Send the request and return its events. Retries happen inside, before the stream starts.
    fn stream<'a>(&'a self, request: &'a Request) -> BoxFuture<'a, Result<EventStream>>;

    /// The model ids the provider reports (`agent models`).
    fn list_models(&self) -> BoxFuture<'_, Result<Vec<String>>> {
        let name = self.name().to_string();
        Box::pin(async move {
            Err(crate::Error::usage(format!(
                "provider '{name}' cannot list its models"
            )))
        })
    }
}

/// Append `item` to the last message's `key` array when that message has `role`, else start a
/// new message: Anthropic (`content` blocks) and Gemini (`parts`) both merge consecutive turns
/// of one role, which a neutral history (say, several tool results in a row) produces.
pub(crate) fn push_grouped(out: &mut Vec<Value>, role: &str, key: &str, item: Value) {
    if let Some(last) = out.last_mut() {
        if last["role"] == role {
            if let Some(items) = last[key].as_array_mut() {
                items.push(item);
                return;
            }
        }
    }
    let mut msg = serde_json::Map::new();
    msg.insert("role".into(), Value::String(role.into()));
    msg.insert(key.into(), Value::Array(vec![item]));
    out.push(Value::Object(msg));
}

/// Construct a built-in provider by kind.
pub(crate) fn by_kind(kind: &str, name: &str, endpoint: Endpoint) -> Result<Box<dyn Provider>> {
    match kind {
        "openai" => Ok(Box::new(OpenAi::new(name, endpoint))),
        "anthropic" => Ok(Box::new(Anthropic::new(name, endpoint))),
        "gemini" => Ok(Box::new(Gemini::new(name, endpoint))),
        "ollama" => Ok(Box::new(Ollama::new(name, endpoint))),
        other => Err(crate::Error::usage(format!(
            "unknown provider kind '{other}' (known: {})",
            KINDS.join(", ")
        ))),
    }
}

/// The provider kinds this build speaks.
pub const KINDS: &[&str] = &["openai", "anthropic", "gemini", "ollama"];

/// Defaults per kind: (base URL variable, default base URL, key variable).
pub fn kind_defaults(kind: &str) -> Option<(&'static str, &'static str, Option<&'static str>)> {
    match kind {
        "openai" => Some((
            "OPENAI_BASE_URL",
            "https://api.openai.com/v1",
            Some("OPENAI_API_KEY"),
        )),
        "anthropic" => Some((
            "ANTHROPIC_BASE_URL",
            "https://api.anthropic.com",
            Some("ANTHROPIC_API_KEY"),
        )),
        "gemini" => Some((
            "GEMINI_BASE_URL",
            "https://generativelanguage.googleapis.com",
            Some("GEMINI_API_KEY"),
        )),
        // Ollama runs locally and takes no key.
        "ollama" => Some(("OLLAMA_HOST", "http://127.0.0.1:11434", None)),
        _ => None,
    }
}

/// The provider kind a model name implies (`claude-*` → anthropic, `gemini-*` → gemini, `gpt-*`,
/// `o1*`, `o3*`, `o4*` → openai), used when no provider is named. Names with `:` or `/` are
/// local tags or routed ids (`gpt-oss:20b`, `openai/gpt-4o`) and imply nothing, nor does the
/// open-weights `gpt-oss` family, which OpenAI's API does not serve.
pub fn kind_for_model(model: &str) -> Option<&'static str> {
    if model.contains([':', '/']) || model.starts_with("gpt-oss") {
        return None;
    }
    if model.starts_with("claude-") {
        Some("anthropic")
    } else if model.starts_with("gemini-") {
        Some("gemini")
    } else if model.starts_with("gpt-") || ["o1", "o3", "o4"].iter().any(|p| model.starts_with(p)) {
        Some("openai")
    } else {
        None
    }
}
