//! Messages: the provider-neutral unit of history, as stored in the session document.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Who wrote a message. The system prompt is a field of the session, not a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The person (or script) talking to the model.
    User,
    /// The model.
    Assistant,
    /// The result of a tool call, fed back to the model.
    Tool,
}

impl Role {
    /// The role's name as stored (`user`, `assistant`, `tool`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "user" => Ok(Role::User),
            "assistant" => Ok(Role::Assistant),
            "tool" => Ok(Role::Tool),
            other => Err(crate::Error::usage(format!(
                "invalid role '{other}' (expected user or assistant)"
            ))),
        }
    }
}

/// Token counts for one model request (or the sum of a turn's requests).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Prompt tokens served from the provider's cache (part of `input_tokens`), when reported.
    /// Documents written before this name used `cached_tokens`, still read.
    #[serde(
        default,
        alias = "cached_tokens",
        skip_serializing_if = "Option::is_none"
    )]
    pub cache_read_tokens: Option<u64>,
    /// Prompt tokens written to the provider's cache (part of `input_tokens`; Anthropic only
    /// bills them apart), when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_tokens: Option<u64>,
    /// The part of `cache_write_tokens` written for one hour (billed at 2x, not 1.25x).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_1h_tokens: Option<u64>,
    /// Reasoning tokens (part of `output_tokens`), when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
}

impl Usage {
    /// Add another request's usage to this one (a turn with tool rounds or retries).
    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        fn sum(a: Option<u64>, b: Option<u64>) -> Option<u64> {
            match (a, b) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
            }
        }
        self.cache_read_tokens = sum(self.cache_read_tokens, other.cache_read_tokens);
        self.cache_write_tokens = sum(self.cache_write_tokens, other.cache_write_tokens);
        self.cache_write_1h_tokens = sum(self.cache_write_1h_tokens, other.cache_write_1h_tokens);
        self.reasoning_tokens = sum(self.reasoning_tokens, other.reasoning_tokens);
    }
}

/// A tool call the model made: which tool, with what arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's call id (generated when the provider has none, as Gemini).
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments, as a JSON value (usually an object).
    pub arguments: Value,
}

/// One message of a conversation.
///
/// Fields this version does not know are kept in `extra` and written back unchanged, so a newer
/// `agent` can add fields without an older one dropping them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its text.
    #[serde(default)]
    pub content: String,
    /// The reasoning the model showed before this reply (assistant messages): Anthropic
    /// thinking, OpenAI reasoning summaries, Gemini thoughts, Ollama `thinking`. Shown, never
    /// sent back as text; the provider's own state (signatures, encrypted items) is kept in
    /// `extra` under the provider kind (see [`crate::provider::Event::ProviderData`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// When it was added (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The provider that produced it (assistant messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The model that produced it (assistant messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Why the model stopped (`stop`, `length`, `tool_calls`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// Token usage of the request that produced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// What that usage cost in US dollars, when the model's price is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Tools the model called in this message (assistant messages).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The call this message answers (tool messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// The tool that produced this result (tool messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// True when this tool result reports a failure (tool messages).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_error: bool,
    /// Files sent with this message (user messages), in the order given: references only,
    /// the bytes are kept once in the store.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::Attachment>,
    /// Fields written by newer versions, preserved on rewrite.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Message {
    /// A message with a role and text, stamped now.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Message {
            role,
            content: content.into(),
            reasoning: None,
            created_at: Some(crate::time::now()),
            provider: None,
            model: None,
            finish_reason: None,
            usage: None,
            cost_usd: None,
            tool_calls: Vec::new(),
            tool_call_id: None,
            name: None,
            is_error: false,
            attachments: Vec::new(),
            extra: Map::new(),
        }
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }

    /// A tool result answering `call`.
    pub fn tool_result(call: &ToolCall, content: impl Into<String>) -> Self {
        let mut m = Self::new(Role::Tool, content);
        m.tool_call_id = Some(call.id.clone());
        m.name = Some(call.name.clone());
        m
    }

    /// Add an attachment, after those already there.
    pub fn attach(mut self, attachment: crate::Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }

    /// The message text (the specification's `msg.text`).
    pub fn text(&self) -> &str {
        &self.content
    }
}
