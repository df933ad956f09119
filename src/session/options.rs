//! What a caller chooses: options of a new session and of one turn.

use super::context::ContextPolicy;
use crate::Message;

/// Options for a new session (the specification's `agent.session(...)` keywords).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct SessionOptions {
    /// The id (generated when `None`).
    pub session_id: Option<String>,
    /// The system prompt.
    pub system: Option<String>,
    /// Pre-populated history.
    pub messages: Vec<Message>,
    /// A title for listings.
    pub title: Option<String>,
    /// Replace a stored session with the same id.
    pub overwrite: bool,
    /// Executable tools to remember in the document ([`crate::SessionData::tools`]).
    pub tools: Vec<crate::tool::ExecSpec>,
    /// MCP servers to remember in the document ([`crate::SessionData::mcp_servers`]).
    pub mcp_servers: Vec<crate::mcp::McpSpec>,
    /// How long the session is kept after its last update ([`crate::SessionData::ttl`]).
    pub ttl: Option<std::time::Duration>,
    /// A lifetime spending limit in US dollars ([`crate::SessionData::budget_usd`]).
    pub budget_usd: Option<f64>,
}

impl SessionOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }
    /// Set the id.
    pub fn session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = Some(id.into());
        self
    }
    /// Set the system prompt.
    pub fn system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }
    /// Set the history.
    pub fn messages(mut self, messages: impl IntoIterator<Item = Message>) -> Self {
        self.messages = messages.into_iter().collect();
        self
    }
    /// Set the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }
    /// Replace an existing session with the same id.
    pub fn overwrite(mut self, yes: bool) -> Self {
        self.overwrite = yes;
        self
    }
    /// Keep the session for `ttl` after its last update, then let the store drop it.
    pub fn ttl(mut self, ttl: std::time::Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }
}

/// Per-turn options (the specification's `run(..., temperature=, max_tokens=)`).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Reply length limit.
    pub max_tokens: Option<u32>,
    /// A model for this turn only.
    pub model: Option<String>,
    /// Stream the reply (default true).
    pub stream: bool,
    /// Let the model call the agent's tools (default true).
    pub tools: bool,
    /// Most model requests in one turn, tool rounds included (default 10).
    pub max_steps: u32,
    /// What to do when the request would not fit the model's context window.
    pub context: ContextPolicy,
    /// Compact the history first when it is estimated above this many tokens.
    pub auto_compact: Option<u64>,
    /// The most bytes of reply (text and tool-call arguments, every step) the turn accepts
    /// (default [`crate::limits::DEFAULT_MAX_REPLY_BYTES`]); beyond it the turn fails.
    pub max_reply_bytes: usize,
    /// The title a session without one gets from this turn (default: the prompt's first line).
    pub title: Option<String>,
    /// Reasoning effort (and budget) to ask for (`None`: the model's default).
    pub reasoning: Option<crate::provider::Reasoning>,
    /// Prompt caching: breakpoints with this lifetime where the protocol takes them, and the
    /// session id as the cache key where one is used (default: on, five minutes; `None`: off).
    pub cache: Option<crate::provider::CacheTtl>,
    /// The most this turn may cost, in US dollars, every request of it together: it stops
    /// before a request once its cost so far reaches this, or before the first when that
    /// request's input alone is estimated above it.
    pub max_cost_usd: Option<f64>,
    /// Files sent with the prompt, in order, before its text ([`crate::Attachment`]). Their
    /// bytes are stored once, with the turn, only when it succeeds.
    pub attachments: Vec<crate::Attachment>,
}

impl RunOptions {
    /// Send `attachment` with the prompt, after those already added.
    pub fn attach(mut self, attachment: crate::Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            temperature: None,
            max_tokens: None,
            model: None,
            stream: true,
            tools: true,
            max_steps: 10,
            context: ContextPolicy::Error,
            auto_compact: None,
            max_reply_bytes: crate::limits::DEFAULT_MAX_REPLY_BYTES,
            title: None,
            attachments: Vec::new(),
            reasoning: None,
            cache: Some(crate::provider::CacheTtl::FiveMinutes),
            max_cost_usd: None,
        }
    }
}
