//! How an [`Agent`] makes and opens sessions: new ones (saved at once, under the lock, never
//! over an existing id unless asked), stored ones, and documents already loaded.

use super::lock::lock;
use super::{Session, SessionOptions};
use crate::document::{validate_id, SessionData};
use crate::store;
use crate::{Agent, Error, Result};

impl Agent {
    /// A new session with a generated id, saved in the store.
    pub async fn session(&self) -> Result<Session> {
        self.session_with(SessionOptions::default()).await
    }

    /// A new session with options (id, system prompt, history, title), saved in the store.
    /// An id that already exists is [`Error::SessionExists`] unless
    /// [`SessionOptions::overwrite`] is set.
    pub async fn session_with(&self, options: SessionOptions) -> Result<Session> {
        self.create(options, |_| {}).await
    }

    /// Create and save a session from `options`, with `finish` applied to the document first.
    pub(crate) async fn create(
        &self,
        options: SessionOptions,
        finish: impl FnOnce(&mut SessionData),
    ) -> Result<Session> {
        let id = match options.session_id {
            Some(id) => {
                validate_id(&id)?;
                id
            }
            None => crate::time::new_session_id(),
        };
        let _lock = lock(self, &id).await?;
        if !options.overwrite && store::exists(self.store(), &id).await? {
            return Err(Error::SessionExists { id });
        }
        let mut data = SessionData::new(&id);
        data.title = options.title;
        data.system = options.system;
        data.provider = Some(self.provider().name().to_string());
        data.model = Some(self.model().to_string());
        data.messages = options.messages;
        data.tools = options.tools;
        data.mcp_servers = options.mcp_servers;
        data.budget_usd = options.budget_usd;
        data.ttl = options
            .ttl
            .map(|ttl| humantime::format_duration(ttl).to_string());
        finish(&mut data);
        let data = store::save(self.store(), data).await?;
        Ok(Session::from_parts(self.clone(), data))
    }

    /// A session from a document already loaded from this agent's store (saves a second read).
    pub fn resume(&self, data: SessionData) -> Session {
        Session::from_parts(self.clone(), data)
    }

    /// Change the stored session `id` under its lock and save it, reading it once: what
    /// [`Session::edit`] does, for a session not loaded yet. Returns the saved document.
    pub async fn edit_session(
        &self,
        id: &str,
        change: impl FnOnce(&mut SessionData),
    ) -> Result<SessionData> {
        validate_id(id)?;
        let _lock = lock(self, id).await?;
        let mut data = store::load(self.store(), id).await?;
        change(&mut data);
        data.touch();
        store::save(self.store(), data).await
    }

    /// The stored session `id`.
    pub async fn load_session(&self, id: &str) -> Result<Session> {
        let data = store::load(self.store(), id).await?;
        Ok(Session::from_parts(self.clone(), data))
    }
}
