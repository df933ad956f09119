//! Sessions: a conversation with history, kept in the agent's store, advanced one turn at a time.
//!
//! A turn runs as its own task (`turn.rs`): it takes the session's lock, asks the model through
//! the named steps of `exchange.rs` (tool rounds, schema corrections, the final answer), and
//! saves the whole turn at once, or records it as failed. [`TurnStream`] is the caller's end.

mod context;
mod exchange;
mod factory;
mod fallback;
mod link;
mod lock;
mod options;
mod preview;
mod request;
mod response;
mod round;
mod spend;
mod stats;
mod stream;
mod turn;

pub use context::{CompactOptions, ContextPolicy};
pub use options::{RunOptions, SessionOptions};
pub use response::{JsonResponse, Response};
pub use stats::Stats;
pub use stream::TurnStream;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::document::{ForkedFrom, SessionData};
use crate::store::{self, StoreLock};
use crate::{Agent, Error, Message, Result};
use lock::lock;

/// A conversation: its document plus the agent that advances it.
///
/// Every change goes through the agent's store under the session's lock: a turn reloads the
/// latest document, so two processes sharing a store both get recorded, in order. Methods that
/// wait for that lock, the store or the model are `async` and need a Tokio runtime;
/// [`Session::run_blocking`] is the one for programs without one.
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
        crate::blocking::block_on(self.run(prompt))
    }

    /// Stream the reply as events. History is updated only when the stream completes; a turn
    /// that fails, is cancelled or whose stream is dropped early adds nothing to `messages` and
    /// is recorded as the session's failed turn for a retry.
    pub fn stream(&mut self, prompt: impl Into<String>) -> TurnStream<'_> {
        self.stream_with(prompt, RunOptions::default())
    }

    /// [`Session::stream`] with options.
    pub fn stream_with(
        &mut self,
        prompt: impl Into<String>,
        options: RunOptions,
    ) -> TurnStream<'_> {
        let turn = turn::Turn::new(&self.agent, &self.data.id, prompt.into(), options, None);
        TurnStream::start(&mut self.data, turn)
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
        let value = resp.json.clone().unwrap_or(Value::Null);
        let output = serde_json::from_value(value.clone()).map_err(|e| Error::Validation {
            message: e.to_string(),
            raw: resp.text.clone(),
        })?;
        Ok(JsonResponse {
            output,
            value,
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
        let spec = request::json_spec(schema, retries)?;
        let turn = turn::Turn::new(
            &self.agent,
            &self.data.id,
            prompt.into(),
            options,
            Some(spec),
        );
        Ok(TurnStream::start(&mut self.data, turn))
    }

    /// Re-read the document from the store (after another process changed it).
    pub async fn refresh(&mut self) -> Result<()> {
        self.data = store::load(self.agent.store(), &self.data.id).await?;
        Ok(())
    }

    /// The session's lock, waited for without blocking the runtime.
    async fn lock(&self) -> Result<StoreLock> {
        lock(&self.agent, &self.data.id).await
    }

    /// Change the document under the session's lock and save it.
    async fn update(&mut self, change: impl FnOnce(&mut SessionData)) -> Result<()> {
        self.data = self.agent.edit_session(&self.data.id, change).await?;
        Ok(())
    }

    /// Replace all but the last `keep` messages with a summary written by the model. The
    /// replaced messages move to the document's `archive`; nothing is lost, and a failed
    /// compaction changes nothing. Returns how many messages were replaced.
    pub async fn compact(&mut self, options: CompactOptions) -> Result<usize> {
        let _lock = self.lock().await?;
        let mut data = store::load(self.agent.store(), &self.data.id).await?;
        let replaced = match context::summarize(&self.agent, &data, &options).await? {
            Some(summary) => summary.apply(&mut data),
            None => 0,
        };
        if replaced > 0 {
            data.touch();
            data = store::save(self.agent.store(), data).await?;
        }
        self.data = data;
        Ok(replaced)
    }

    /// Remove the last `n` exchanges (each a user message and everything after it) and return
    /// the removed messages.
    pub async fn undo(&mut self, n: usize) -> Result<Vec<Message>> {
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
        })
        .await?;
        Ok(removed)
    }

    /// Totals over the history: turns, tokens, cost, models, first and last activity.
    pub fn stats(&self) -> Stats {
        Stats::of(&self.data)
    }

    /// Drop every message; the system prompt and settings stay.
    pub async fn clear(&mut self) -> Result<()> {
        self.update(|d| d.messages.clear()).await
    }

    /// Append a message to the history.
    pub async fn add_message(&mut self, message: Message) -> Result<()> {
        self.update(|d| d.messages.push(message)).await
    }

    /// Change the document with any edit (title, system prompt, trimming history).
    pub async fn edit(&mut self, change: impl FnOnce(&mut SessionData)) -> Result<()> {
        self.update(change).await
    }

    /// Copy this session into a new one with id `new_id` (generated when `None`); this one is
    /// unchanged.
    pub async fn fork(&self, new_id: Option<&str>) -> Result<Session> {
        self.fork_at(new_id, None).await
    }

    /// Fork keeping only the first `at` messages.
    pub async fn fork_at(&self, new_id: Option<&str>, at: Option<usize>) -> Result<Session> {
        let mut src = store::load(self.agent.store(), &self.data.id).await?;
        // A fork refers to its source's blobs: no garbage collection may run between reading
        // the source and saving the fork, or a source removed meanwhile takes them along.
        let with_blobs = |d: &SessionData| d.messages.iter().any(|m| !m.attachments.is_empty());
        let _blobs = match with_blobs(&src) {
            true => {
                let held = store::acquire_blobs(self.agent.store(), self.agent.lock_timeout());
                let held = held.await?;
                src = store::load(self.agent.store(), &self.data.id).await?;
                Some(held)
            }
            false => None,
        };
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
            mcp_servers: src.mcp_servers.clone(),
            ttl: None,
            budget_usd: src.budget_usd,
        };
        let forked_from = ForkedFrom {
            id: src.id.clone(),
            messages: keep,
            at: crate::time::now(),
        };
        self.agent
            .create(options, move |d| {
                d.provider = src.provider;
                d.model = src.model;
                // A fork is kept as long as its source would be.
                d.ttl = src.ttl;
                d.options = src.options;
                d.extra = src.extra;
                d.forked_from = Some(forked_from);
            })
            .await
    }

    /// The document as JSON (the specification's `to_dict`).
    pub fn to_value(&self) -> Value {
        self.data.to_value()
    }

    /// Restore a session from a document (the specification's `from_dict`) and put it in the
    /// agent's store, replacing a stored session with the same id.
    pub async fn from_value(value: Value, agent: &Agent) -> Result<Session> {
        let data = SessionData::from_value(value, "the given document")?;
        let _lock = lock(agent, &data.id).await?;
        let data = store::save(agent.store(), data).await?;
        Ok(Session::from_parts(agent.clone(), data))
    }
}

impl serde::Serialize for Session {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.data.serialize(s)
    }
}
