//! `agent`: multi-turn conversations with language models, for Rust programs and the shell.
//!
//! An [`Agent`] is a provider, a model, a [store](SessionStore) and [tools](Tool). A
//! [`Session`] is a conversation kept in that store: every turn sends the whole history, and
//! the history changes only when a turn succeeds. The `agent` command-line tool is a thin layer
//! over exactly this API.
//!
//! The examples below follow the session specification in order. They run against
//! [`provider::Scripted`], an in-process provider that answers from a script (or echoes), so
//! they need no key; swap in `Agent::new("openai", "gpt-4o")?` for the real thing.
//!
//! # Basic usage
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> agent::Result<()> {
//! use agent::{provider::Scripted, Agent};
//!
//! let model = Scripted::new()
//!     .reply("Nice to meet you, Alice.")
//!     .reply("Noted.")
//!     .reply("Your name is Alice and you are a software engineer.");
//! let agent = Agent::builder().provider_impl(model.clone()).model("gpt-4o").build()?;
//!
//! let mut session = agent.session().await?;
//! session.run("My name is Alice").await?;
//! session.run("I'm a software engineer").await?;
//! let response = session.run("What do you know about me?").await?;
//! assert_eq!(response.text, "Your name is Alice and you are a software engineer.");
//!
//! // The third request carried the whole conversation.
//! assert_eq!(model.requests()[2].messages.len(), 5);
//! # Ok(()) }
//! ```
//!
//! With a real provider (reads `OPENAI_API_KEY` and `OPENAI_BASE_URL`):
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> agent::Result<()> {
//! let agent = agent::Agent::new("openai", "gpt-4o")?;
//! let mut session = agent.session().await?;
//! println!("{}", session.run("My name is Alice").await?.text);
//! # Ok(()) }
//! ```
//!
//! Every method that waits for the store, a lock or the model is `async` and needs a Tokio
//! runtime. Programs without one use [`Session::run_blocking`] and [`block_on`]:
//!
//! ```
//! # fn main() -> agent::Result<()> {
//! # let agent = agent::Agent::builder().provider_impl(agent::provider::Scripted::new()).build()?;
//! let mut session = agent::block_on(agent.session())?;
//! assert_eq!(session.run_blocking("hi")?.text, "You said: hi");
//! # Ok(()) }
//! ```
//!
//! # Session configuration
//!
//! A custom id, a system prompt and pre-populated history:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> agent::Result<()> {
//! use agent::{provider::Scripted, Agent, Message, SessionOptions};
//! let model = Scripted::new();
//! let agent = Agent::builder().provider_impl(model.clone()).build()?;
//!
//! let session = agent.session_with(SessionOptions::new().session_id("user-123-conv-456")).await?;
//! assert_eq!(session.session_id(), "user-123-conv-456");
//!
//! let mut coder = agent
//!     .session_with(SessionOptions::new().system("You are a helpful coding assistant. Always provide code examples."))
//!     .await?;
//! coder.run("How do I read a file in Python?").await?;
//! assert_eq!(model.requests()[0].system.as_deref(), Some("You are a helpful coding assistant. Always provide code examples."));
//!
//! let history = [
//!     Message::user("What's the capital of France?"),
//!     Message::assistant("The capital of France is Paris."),
//! ];
//! let mut geo = agent.session_with(SessionOptions::new().messages(history)).await?;
//! geo.run("What about Germany?").await?;
//! assert_eq!(model.requests()[1].messages.len(), 3);
//! # Ok(()) }
//! ```
//!
//! # Session methods
//!
//! Run options, streaming and structured output:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> agent::Result<()> {
//! use agent::{provider::Scripted, Agent, Event, RunOptions, StreamExt};
//! let model = Scripted::new()
//!     .reply("A concept, explained.")
//!     .reply("Once upon a time.")
//!     .reply(r#"{"key_points": ["a story"], "conclusion": "short"}"#);
//! let agent = Agent::builder().provider_impl(model.clone()).build()?;
//! let mut session = agent.session().await?;
//!
//! let options = RunOptions { temperature: Some(0.7), max_tokens: Some(500), ..RunOptions::default() };
//! session.run_with("Explain this concept", options).await?;
//! assert_eq!(model.requests()[0].temperature, Some(0.7));
//!
//! let mut story = String::new();
//! let mut stream = session.stream("Write a story");
//! while let Some(event) = stream.next().await {
//!     if let Event::TextDelta { text } = event? {
//!         story.push_str(&text); // print!("{text}") in a real program
//!     }
//! }
//! drop(stream);
//! assert_eq!(story, "Once upon a time.");
//! assert_eq!(session.messages().len(), 4); // history is updated after the stream completes
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Summary {
//!     key_points: Vec<String>,
//!     conclusion: String,
//! }
//! let response = session.json::<Summary>("Summarize our conversation").await?;
//! assert_eq!(response.output.key_points, ["a story"]);
//! # Ok(()) }
//! ```
//!
//! # Reasoning and caching
//!
//! [`RunOptions::reasoning`] asks for an effort ([`provider::Reasoning`]), mapped to each
//! protocol's own control (OpenAI `reasoning.effort` / `reasoning_effort`, Anthropic
//! `thinking.budget_tokens`, Gemini `thinkingConfig`, Ollama `think`). The reasoning the model
//! shows streams as [`Event::ReasoningDelta`], never as reply text; the reply keeps it in
//! [`Message::reasoning`] and [`Response::reasoning`], and the provider's opaque state
//! (Anthropic thinking signatures, OpenAI encrypted reasoning items, Gemini thought signatures)
//! in the message's `extra` under the provider kind, sent back only to that kind.
//! [`RunOptions::cache`] (on by default, five minutes) places Anthropic's prompt-cache
//! breakpoints and gives OpenAI the session id as `prompt_cache_key`; cache reads and writes
//! are in [`Usage`] and priced.
//!
//! # History management
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> agent::Result<()> {
//! use agent::{provider::Scripted, Agent, Message};
//! # let agent = Agent::builder().provider_impl(Scripted::new()).build()?;
//! let mut session = agent.session().await?;
//! session.run("Hello").await?;
//!
//! let messages = session.messages(); // a copy
//! for msg in &messages {
//!     println!("[{}]: {}", msg.role.as_str(), msg.text());
//! }
//! assert_eq!(messages.len(), 2);
//!
//! session.clear().await?;
//! assert_eq!(session.messages().len(), 0);
//!
//! session.add_message(Message::user("Custom user message")).await?;
//! session.add_message(Message::assistant("Custom assistant response")).await?;
//! assert_eq!(session.messages().len(), 2);
//! # Ok(()) }
//! ```
//!
//! # Forking
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> agent::Result<()> {
//! use agent::{provider::Scripted, Agent};
//! let model = Scripted::new();
//! let agent = Agent::builder().provider_impl(model.clone()).build()?;
//! let mut session = agent.session().await?;
//! session.run("We're planning a trip to Japan").await?;
//! session.run("I want to visit Tokyo and Kyoto").await?;
//!
//! let mut alt = session.fork(Some("alternative-plan")).await?;
//! alt.run("Actually, let's focus on Osaka instead").await?;
//!
//! session.run("What cities are we visiting?").await?; // still Tokyo and Kyoto
//! alt.run("What cities are we visiting?").await?; // knows about Osaka
//! assert_eq!(session.messages().len(), 6);
//! assert_eq!(alt.messages().len(), 8);
//! # Ok(()) }
//! ```
//!
//! # Serialization
//!
//! [`Session::to_value`] is the specification's `to_dict`: the same document the CLI stores.
//! [`Session::from_value`] restores it into an agent's store.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> agent::Result<()> {
//! use agent::{provider::Scripted, Agent, Session};
//! # let agent = Agent::builder().provider_impl(Scripted::new()).build()?;
//! let mut session = agent.session().await?;
//! session.run("Remember the number 42").await?;
//! let data = session.to_value();
//! let text = serde_json::to_string(&data).unwrap(); // write it anywhere
//!
//! let other = Agent::builder().provider_impl(Scripted::new()).build()?;
//! let mut restored = Session::from_value(serde_json::from_str(&text).unwrap(), &other).await?;
//! restored.run("Where were we?").await?;
//! assert_eq!(restored.messages().len(), 4);
//! # Ok(()) }
//! ```
//!
//! # Session stores
//!
//! Every agent keeps its sessions in a [`SessionStore`]: [`MemoryStore`] by default,
//! [`DirStore`] for the CLI's data directory (atomic writes, per-session locks).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> agent::Result<()> {
//! use agent::{provider::Scripted, Agent, DirStore, MemoryStore, Session, SessionStore};
//! let store = MemoryStore::new();
//! # let agent = Agent::builder().provider_impl(Scripted::new()).build()?;
//! let session = agent.session().await?;
//! store.save("session-1", &session.to_value())?;
//! assert!(store.load("session-1")?.is_some());
//!
//! let dir = tempfile::tempdir().unwrap();
//! let agent = Agent::builder().provider_impl(Scripted::new()).store(DirStore::new(dir.path())).build()?;
//! let mut session = agent.session().await?;
//! session.run("Hello").await?;
//! // Later, in another process:
//! let mut again = agent.load_session(session.session_id()).await?;
//! assert_eq!(again.messages().len(), 2);
//! # Ok(()) }
//! ```
//!
//! A custom store implements four methods (the specification's Redis example, over a map):
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Mutex;
//! use agent::{Result, SessionStore};
//! use serde_json::Value;
//!
//! #[derive(Default)]
//! struct KvStore(Mutex<HashMap<String, String>>);
//!
//! impl SessionStore for KvStore {
//!     fn save(&self, id: &str, data: &Value) -> Result<()> {
//!         self.0.lock().unwrap().insert(format!("session:{id}"), data.to_string());
//!         Ok(())
//!     }
//!     fn load(&self, id: &str) -> Result<Option<Value>> {
//!         Ok(self.0.lock().unwrap().get(&format!("session:{id}")).map(|s| serde_json::from_str(s).unwrap()))
//!     }
//!     fn delete(&self, id: &str) -> Result<bool> {
//!         Ok(self.0.lock().unwrap().remove(&format!("session:{id}")).is_some())
//!     }
//!     fn list_sessions(&self) -> Result<Vec<String>> {
//!         Ok(self.0.lock().unwrap().keys().map(|k| k.replace("session:", "")).collect())
//!     }
//! }
//!
//! # fn main() -> agent::Result<()> {
//! let agent = agent::Agent::builder()
//!     .provider_impl(agent::provider::Scripted::new())
//!     .store(KvStore::default())
//!     .build()?;
//! let mut session = agent::block_on(agent.session())?;
//! session.run_blocking("hi")?;
//! assert_eq!(agent.store().list_sessions()?, [session.session_id()]);
//! # Ok(()) }
//! ```
//!
//! # Sessions with tools
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> agent::Result<()> {
//! use agent::{provider::Scripted, Agent, SessionOptions, Tool};
//! use serde_json::json;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct OrdersArgs {
//!     user_id: String,
//! }
//! let get_user_orders = Tool::typed("get_user_orders", "Get orders for a user.", |args: OrdersArgs| async move {
//!     assert_eq!(args.user_id, "user-123");
//!     Ok(json!([{"id": "1", "item": "Laptop", "status": "shipped"},
//!               {"id": "2", "item": "Mouse", "status": "delivered"}]).to_string())
//! })?;
//!
//! let model = Scripted::new()
//!     .tool_call("get_user_orders", json!({"user_id": "user-123"}))
//!     .reply("You have two orders: a laptop (shipped) and a mouse (delivered).")
//!     .reply("Order 1 has shipped and should arrive soon.");
//! let agent = Agent::builder().provider_impl(model.clone()).model("gpt-4o").tools([get_user_orders]).build()?;
//! let mut session = agent.session_with(SessionOptions::new().system("You are a customer service assistant.")).await?;
//!
//! session.run("I'm user-123, what are my recent orders?").await?;
//! session.run("When will order 1 arrive?").await?;
//! // The second turn's request carries the tool call and its result.
//! let second = &model.requests()[2];
//! assert!(second.messages.iter().any(|m| m.content.contains("Laptop")));
//! # Ok(()) }
//! ```
//!
//! # Handling errors
//!
//! A failed turn returns an [`Error`] and leaves the history unchanged.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> agent::Result<()> {
//! use agent::{provider::Scripted, Agent, Error};
//! let agent = Agent::builder().provider_impl(Scripted::new().fail("overloaded")).build()?;
//! let mut session = agent.session().await?;
//! match session.run("Hello").await {
//!     Err(Error::Provider(e)) => eprintln!("Error: {e}. Please try again."),
//!     other => panic!("{other:?}"),
//! }
//! assert!(session.messages().is_empty());
//! assert_eq!(session.data().failed_turn.as_ref().unwrap().prompt, "Hello");
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod agent;
pub mod attachment;
mod blocking;
pub mod document;
pub mod error;
pub mod limits;
pub mod mcp;
pub mod message;
mod notice;
pub mod pricing;
pub mod provider;
pub mod schema;
pub mod session;
pub mod store;
pub mod time;
pub mod tool;

pub use crate::agent::{Agent, AgentBuilder, Notice};
pub use crate::attachment::{Attachment, AttachmentKind};
pub use crate::blocking::block_on;
pub use crate::document::SessionData;
pub use crate::error::{Error, Oversized, ProviderError, Result};
pub use crate::message::{Message, Role, ToolCall, Usage};
pub use crate::provider::Event;
pub use crate::session::{
    JsonResponse, Response, RunOptions, Session, SessionOptions, Stats, TurnStream,
};
#[cfg(feature = "postgres")]
pub use crate::store::PostgresStore;
#[cfg(feature = "redis")]
pub use crate::store::RedisStore;
#[cfg(feature = "sqlite")]
pub use crate::store::SqliteStore;
pub use crate::store::{DirStore, EncryptionKey, MemoryStore, SessionStore};
pub use crate::tool::{ExecSpec, ExecTool, Tool, ToolApproval};
/// Re-exported so `stream.next().await` works without another dependency.
pub use futures_util::StreamExt;
