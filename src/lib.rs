//! `agent`: multi-turn conversations with language models, for programs and the shell.
//!
//! (Crate documentation with the specification's examples follows in `docs`.)

pub mod agent;
pub mod error;
pub mod message;
pub mod provider;
pub mod schema;
pub mod session;
pub mod store;
pub mod time;
pub mod tool;

pub use crate::agent::{Agent, AgentBuilder, Notice};
pub use crate::error::{Error, ProviderError, Result};
pub use crate::message::{Message, Role, ToolCall, Usage};
pub use crate::provider::Event;
pub use crate::session::{
    JsonResponse, Response, RunOptions, Session, SessionData, SessionOptions, TurnStream,
};
pub use crate::store::{DirStore, MemoryStore, RedisStore, SessionStore, SqliteStore};
pub use crate::tool::Tool;
