//! Sessions: a conversation with history, kept in the agent's store, advanced one turn at a time.

mod context;

mod preview;
mod round;
mod stats;
mod stream;
mod turn;

pub use context::{
    estimate_request, estimate_text, system_prompt, CompactOptions, ContextPolicy, SUMMARY_HEADING,
};

pub use stats::Stats;
pub use stream::TurnStream;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::document::{ForkedFrom, SessionData};
use crate::store;
use crate::{Agent, Error, Message, Result, Usage};
use turn::{JsonSpec, Turn};

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
    /// Executable tools to remember in the document ([`SessionData::tools`]).
    pub tools: Vec<crate::tool::ExecSpec>,
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
        }
    }
}

/// The result of a successful turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The session the turn belongs to.
    pub session_id: String,
    /// The reply text.
    pub text: String,
    /// Tokens used by every request of the turn, when the provider reported them.
    pub usage: Option<Usage>,
    /// The model that answered.
    pub model: Option<String>,
    /// Why the model stopped.
    pub finish_reason: Option<String>,
    /// The validated JSON value (structured turns).
    pub json: Option<Value>,
    /// Model requests made for the answer (more than 1 after JSON corrections).
    pub attempts: u32,
    /// What the turn cost in US dollars, when every model's price is known.
    pub cost_usd: Option<f64>,
}

/// The result of a structured turn: the typed output and the response it came from.
#[derive(Debug, Clone)]
pub struct JsonResponse<T> {
    /// The reply, deserialized.
    pub output: T,
    /// The reply as JSON.
    pub value: Value,
    /// The underlying response.
    pub response: Response,
}

/// A conversation: its document plus the agent that advances it.
///
/// Every change goes through the agent's store under the session's lock: a turn reloads the
/// latest document, so two processes sharing a store both get recorded, in order.
#[derive(Debug, Clone)]
pub struct Session {
    agent: Agent,
    data: SessionData,
}

impl Session {
    pub(crate) fn from_parts(agent: Agent, data: SessionData) -> Self {
        Session { agent, data }
    }

    /// The session id.
    pub fn session_id(&self) -> &str {
        &self.data.id
    }

    /// The document as last loaded or saved.
    pub fn data(&self) -> &SessionData {
        &self.data
    }

    /// The agent.
    pub fn agent(&self) -> &Agent {
        &self.agent
    }

    /// A copy of the history.
    pub fn messages(&self) -> Vec<Message> {
        self.data.messages.clone()
    }

    /// Send `prompt` with the whole history and wait for the reply.
    pub async fn run(&mut self, prompt: impl Into<String>) -> Result<Response> {
        self.run_with(prompt, RunOptions::default()).await
    }

    /// [`Session::run`] with options.
    pub async fn run_with(
        &mut self,
        prompt: impl Into<String>,
        options: RunOptions,
    ) -> Result<Response> {
        self.stream_with(prompt, options).finish().await
    }

    /// [`Session::run`] for programs without an async runtime (must not be called inside one).
    pub fn run_blocking(&mut self, prompt: impl Into<String>) -> Result<Response> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::io("cannot start a runtime", e))?;
        rt.block_on(self.run(prompt))
    }

    /// Stream the reply as events. History is updated only when the stream completes; nothing
    /// is added if it fails or is dropped early.
    pub fn stream(&mut self, prompt: impl Into<String>) -> TurnStream<'_> {
        self.stream_with(prompt, RunOptions::default())
    }

    /// [`Session::stream`] with options.
    pub fn stream_with(
        &mut self,
        prompt: impl Into<String>,
        options: RunOptions,
    ) -> TurnStream<'_> {
        self.start(prompt.into(), options, None)
    }

    /// Ask for JSON matching `T`'s schema (derived with schemars), validate it locally, and
    /// re-ask with the validation errors up to 2 times.
    pub async fn json<T: DeserializeOwned + schemars::JsonSchema>(
        &mut self,
        prompt: impl Into<String>,
    ) -> Result<JsonResponse<T>> {
        let schema = crate::schema::schema_for::<T>();
        let resp = self
            .json_value(prompt, &schema, RunOptions::default(), 2)
            .await?;
        let output =
            serde_json::from_value(resp.json.clone().unwrap_or(Value::Null)).map_err(|e| {
                Error::Validation {
                    message: e.to_string(),
                    raw: resp.text.clone(),
                }
            })?;
        Ok(JsonResponse {
            output,
            value: resp.json.clone().unwrap_or(Value::Null),
            response: resp,
        })
    }

    /// Ask for JSON matching `schema`; `retries` correction turns when it does not validate.
    /// The validated value is in [`Response::json`].
    pub async fn json_value(
        &mut self,
        prompt: impl Into<String>,
        schema: &Value,
        options: RunOptions,
        retries: u32,
    ) -> Result<Response> {
        self.stream_json(prompt, schema, options, retries)?
            .finish()
            .await
    }

    /// [`Session::json_value`] as a stream of progress events (text deltas of each attempt,
    /// usage). The schema is compiled first: an invalid schema fails before any request.
    pub fn stream_json(
        &mut self,
        prompt: impl Into<String>,
        schema: &Value,
        options: RunOptions,
        retries: u32,
    ) -> Result<TurnStream<'_>> {
        let spec = turn::json_spec(schema, retries)?;
        Ok(self.start(prompt.into(), options, Some(spec)))
    }

    fn start(
        &mut self,
        prompt: String,
        options: RunOptions,
        json: Option<JsonSpec>,
    ) -> TurnStream<'_> {
        let (tx, rx) = mpsc::channel(64);
        let (commit, committed) = oneshot::channel();
        let turn = Turn {
            agent: self.agent.clone(),
            id: self.data.id.clone(),
            prompt: prompt.clone(),
            options,
            json,
            partial: Arc::default(),
        };
        let partial = turn.partial.clone();
        let task = tokio::spawn(turn.run(tx, committed));
        TurnStream::new(self, prompt, rx, commit, task, partial)
    }

    /// Re-read the document from the store (after another process changed it).
    pub fn refresh(&mut self) -> Result<()> {
        self.data = store::load_data(&**self.agent.store(), &self.data.id)?;
        Ok(())
    }

    /// Change the document under the session's lock and save it.
    fn update(&mut self, change: impl FnOnce(&mut SessionData)) -> Result<()> {
        let store = self.agent.store();
        let id = self.data.id.clone();
        let _lock = store::lock(&**store, &id, self.agent.lock_timeout(), &mut || {
            self.agent
                .notify(&crate::agent::Notice::WaitingForLock { id: id.clone() })
        })?;
        let mut data = store::load_data(&**store, &id)?;
        change(&mut data);
        data.touch();
        store::save_data(&**store, &data)?;
        self.data = data;
        Ok(())
    }

    /// Replace all but the last `keep` messages with a summary written by the model. The
    /// replaced messages move to the document's `archive`; nothing is lost, and a failed
    /// compaction changes nothing. Returns how many messages were replaced.
    pub async fn compact(&mut self, options: CompactOptions) -> Result<usize> {
        let _lock = turn::lock(&self.agent, &self.data.id).await?;
        let mut data = store::load_data(&**self.agent.store(), &self.data.id)?;
        let replaced = context::compact(&self.agent, &mut data, &options).await?;
        if replaced > 0 {
            data.touch();
            store::save_data(&**self.agent.store(), &data)?;
        }
        self.data = data;
        Ok(replaced)
    }

    /// Remove the last `n` exchanges (each a user message and everything after it) and return
    /// the removed messages.
    pub fn undo(&mut self, n: usize) -> Result<Vec<Message>> {
        let mut removed = Vec::new();
        self.update(|d| {
            let starts: Vec<usize> = d
                .messages
                .iter()
                .enumerate()
                .filter(|(_, m)| m.role == crate::Role::User)
                .map(|(i, _)| i)
                .collect();
            let cut = match n {
                0 => d.messages.len(),
                n if n >= starts.len() => 0,
                n => starts[starts.len() - n],
            };
            removed = d.messages.split_off(cut);
        })?;
        Ok(removed)
    }

    /// Totals over the history: turns, tokens, cost, models, first and last activity.
    pub fn stats(&self) -> Stats {
        Stats::of(&self.data)
    }

    /// Drop every message; the system prompt and settings stay.
    pub fn clear(&mut self) -> Result<()> {
        self.update(|d| d.messages.clear())
    }

    /// Append a message to the history.
    pub fn add_message(&mut self, message: Message) -> Result<()> {
        self.update(|d| d.messages.push(message))
    }

    /// Change the document with any edit (title, system prompt, trimming history).
    pub fn edit(&mut self, change: impl FnOnce(&mut SessionData)) -> Result<()> {
        self.update(change)
    }

    /// Copy this session into a new one with id `new_id` (generated when `None`); this one is
    /// unchanged.
    pub fn fork(&self, new_id: Option<&str>) -> Result<Session> {
        self.fork_at(new_id, None)
    }

    /// Fork keeping only the first `at` messages.
    pub fn fork_at(&self, new_id: Option<&str>, at: Option<usize>) -> Result<Session> {
        let store = self.agent.store();
        let src = store::load_data(&**store, &self.data.id)?;
        let keep = at.unwrap_or(src.messages.len());
        if keep > src.messages.len() {
            return Err(Error::Usage(format!(
                "cannot fork session '{}' after message {keep}: it has {} messages",
                src.id,
                src.messages.len()
            )));
        }
        let options = SessionOptions {
            session_id: new_id.map(str::to_string),
            system: src.system.clone(),
            messages: src.messages[..keep].to_vec(),
            title: src.title.clone(),
            overwrite: false,
            tools: src.tools.clone(),
        };
        let mut fork = self.agent.session_with(options)?;
        let now = crate::time::now();
        fork.update(|d| {
            d.provider = src.provider.clone();
            d.model = src.model.clone();
            d.options = src.options.clone();
            d.extra = src.extra.clone();
            d.forked_from = Some(ForkedFrom {
                id: src.id.clone(),
                messages: keep,
                at: now,
            });
        })?;
        Ok(fork)
    }

    /// The document as JSON (the specification's `to_dict`).
    pub fn to_value(&self) -> Value {
        self.data.to_value()
    }

    /// Restore a session from a document (the specification's `from_dict`) and put it in the
    /// agent's store, replacing a stored session with the same id.
    pub fn from_value(value: Value, agent: &Agent) -> Result<Session> {
        let data = SessionData::from_value(value, "the given document")?;
        let store = agent.store();
        let _lock = store::lock(&**store, &data.id, agent.lock_timeout(), &mut || {})?;
        store::save_data(&**store, &data)?;
        Ok(Session::from_parts(agent.clone(), data))
    }
}

impl serde::Serialize for Session {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.data.serialize(s)
    }
}
