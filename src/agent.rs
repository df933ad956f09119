//! `Agent`: a provider, a model, a store and tools; the factory of sessions.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::provider::{self, ApiKey, Endpoint, Provider};
use crate::store::{MemoryStore, SessionStore};
use crate::tool::ToolApproval;
use crate::{Error, Result, Tool};

pub use crate::notice::Notice;
use crate::notice::NoticeFn;

/// Decides whether a tool call that needs confirmation may run: `Err` carries the reason the
/// model is told.
pub type ApproveFn =
    dyn Fn(ToolApproval) -> BoxFuture<'static, std::result::Result<(), String>> + Send + Sync;

/// A configured model endpoint and the store its sessions live in.
///
/// Cloning is cheap (shared state). Built from the environment with [`Agent::new`] or in full
/// with [`Agent::builder`].
#[derive(Clone)]
pub struct Agent {
    inner: Arc<Inner>,
}

struct Inner {
    provider: Arc<dyn Provider>,
    model: String,
    store: Arc<dyn SessionStore>,
    tools: Vec<Tool>,
    lock_timeout: Option<Duration>,
    notice: Option<Arc<NoticeFn>>,
    prices: crate::pricing::Prices,
    approve: Option<Arc<ApproveFn>>,
    fallbacks: Vec<(Arc<dyn Provider>, String)>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("provider", &self.inner.provider.name())
            .field("model", &self.inner.model)
            .field("store", &self.inner.store.describe())
            .finish()
    }
}

impl Agent {
    /// An agent for a built-in provider kind (`openai`), reading its key and base URL from the
    /// environment (`OPENAI_API_KEY`, `OPENAI_BASE_URL`), keeping sessions in memory.
    pub fn new(provider: &str, model: &str) -> Result<Agent> {
        Agent::builder().provider(provider).model(model).build()
    }

    /// A builder for every option.
    pub fn builder() -> AgentBuilder {
        AgentBuilder::default()
    }

    /// The provider.
    pub fn provider(&self) -> &Arc<dyn Provider> {
        &self.inner.provider
    }

    /// The default model.
    pub fn model(&self) -> &str {
        &self.inner.model
    }

    /// The store sessions are kept in.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.inner.store
    }

    /// The tools the model may call.
    pub fn tools(&self) -> &[Tool] {
        &self.inner.tools
    }

    /// Prices and context windows of models.
    pub fn prices(&self) -> &crate::pricing::Prices {
        &self.inner.prices
    }

    /// The fallback models, in order: each with the provider that serves it.
    pub fn fallbacks(&self) -> &[(Arc<dyn Provider>, String)] {
        &self.inner.fallbacks
    }

    pub(crate) fn lock_timeout(&self) -> Option<Duration> {
        self.inner.lock_timeout
    }

    /// Tell the running turn's notice sink (which calls the callback), or the callback alone
    /// outside a turn.
    pub(crate) fn notify(&self, notice: &Notice) {
        if crate::notice::emit(notice.clone()) {
            return;
        }
        if let Some(f) = &self.inner.notice {
            f(notice);
        }
    }

    /// The notice callback, for a turn's sink.
    pub(crate) fn notice_fn(&self) -> Option<Arc<NoticeFn>> {
        self.inner.notice.clone()
    }

    /// Ask the approval callback; with none, calls that need confirmation are refused.
    pub(crate) async fn approve(&self, request: ToolApproval) -> std::result::Result<(), String> {
        match &self.inner.approve {
            Some(f) => f(request).await,
            None => Err(format!(
                "tool '{}' needs confirmation and nothing can ask for it, so it was not run",
                request.call.name
            )),
        }
    }

    /// A builder that starts from this agent (same provider, model, store, tools and
    /// callbacks), to derive a variant: more tools, another approval callback.
    pub fn to_builder(&self) -> AgentBuilder {
        let inner = &self.inner;
        AgentBuilder {
            provider_impl: Some(inner.provider.clone()),
            model: Some(inner.model.clone()),
            store: Some(inner.store.clone()),
            tools: inner.tools.clone(),
            lock_timeout: Some(inner.lock_timeout),
            notice: inner.notice.clone(),
            approve: inner.approve.clone(),
            prices: inner.prices.clone(),
            fallbacks: inner.fallbacks.clone(),
            ..AgentBuilder::default()
        }
    }
}

/// Builds an [`Agent`]; unset options come from the environment and built-in defaults.
#[derive(Default)]
#[must_use]
pub struct AgentBuilder {
    provider: Option<String>,
    kind: Option<String>,
    provider_impl: Option<Arc<dyn Provider>>,
    model: Option<String>,
    base_url: Option<String>,
    api_key: Option<ApiKey>,
    endpoint: Option<Endpoint>,
    headers: Vec<(String, String)>,
    timeout: Option<Duration>,
    retries: Option<u32>,
    store: Option<Arc<dyn SessionStore>>,
    tools: Vec<Tool>,
    lock_timeout: Option<Option<Duration>>,
    notice: Option<Arc<NoticeFn>>,
    prices: crate::pricing::Prices,
    approve: Option<Arc<ApproveFn>>,
    cassette: Option<provider::Cassette>,
    fallbacks: Vec<(Arc<dyn Provider>, String)>,
}

/// Default model when nothing else names one.
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";
/// Default provider.
pub const DEFAULT_PROVIDER: &str = "openai";

impl AgentBuilder {
    /// The provider by name: a built-in kind (`openai`), or any name when [`Self::kind`] says
    /// which protocol it speaks.
    pub fn provider(mut self, name: impl Into<String>) -> Self {
        self.provider = Some(name.into());
        self
    }

    /// The protocol a named provider speaks (defaults to its name).
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Use this provider implementation instead of a built-in one.
    pub fn provider_impl(mut self, provider: impl Provider + 'static) -> Self {
        self.provider_impl = Some(Arc::new(provider));
        self
    }

    /// The model.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// The base URL (else the kind's variable, e.g. `OPENAI_BASE_URL`, for the built-in provider
    /// of that name only, else the kind's default).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The API key (else the kind's variable, e.g. `OPENAI_API_KEY`, for the built-in provider
    /// of that name only).
    pub fn api_key(mut self, key: ApiKey) -> Self {
        self.api_key = Some(key);
        self
    }

    /// Where and how to reach the provider, all at once: nothing is read from the environment,
    /// and [`Self::base_url`], [`Self::api_key`], [`Self::header`], [`Self::timeout`] and
    /// [`Self::retries`] are ignored.
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    /// An extra header for every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// How long to wait for the server to answer or send more (default 600 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retries on connection errors, 408, 429 and 5xx (default 2).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = Some(retries);
        self
    }

    /// Where sessions are kept (default: a fresh [`MemoryStore`]).
    pub fn store(mut self, store: impl SessionStore + 'static) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Where sessions are kept, shared.
    pub fn store_arc(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Tools the model may call.
    pub fn tools(mut self, tools: impl IntoIterator<Item = Tool>) -> Self {
        self.tools.extend(tools);
        self
    }

    /// How long a turn waits for another process's turn on the same session (default: 300 s;
    /// `None` waits for ever).
    pub fn lock_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.lock_timeout = Some(timeout);
        self
    }

    /// Prices and context windows beyond (or instead of) the built-in table.
    pub fn prices(mut self, prices: crate::pricing::Prices) -> Self {
        self.prices = prices;
        self
    }

    /// Called with notices (waiting for a lock, ...).
    pub fn on_notice(mut self, f: impl Fn(&Notice) + Send + Sync + 'static) -> Self {
        self.notice = Some(Arc::new(f));
        self
    }

    /// Record the provider's exchanges into, or replay them from, a directory of cassettes
    /// (see [`provider::Recorder`]): whatever provider is built or given is wrapped.
    pub fn cassette(mut self, cassette: provider::Cassette) -> Self {
        self.cassette = Some(cassette);
        self
    }

    /// A model to ask, served by `provider`, when a request fails in a way retries could not
    /// cure (overloaded, 429 or 5xx after the retries, no connection); repeatable, tried in
    /// order. Errors another model would not fix (400, 401, 403) do not fall back.
    pub fn fallback(mut self, provider: Arc<dyn Provider>, model: impl Into<String>) -> Self {
        self.fallbacks.push((provider, model.into()));
        self
    }

    /// Replace the tool list (after [`Agent::to_builder`]).
    pub fn replace_tools(mut self, tools: impl IntoIterator<Item = Tool>) -> Self {
        self.tools = tools.into_iter().collect();
        self
    }

    /// Called before each call of a tool that needs confirmation ([`Tool::confirm`]), one call
    /// at a time in call order, after its arguments validated. `Ok` runs it; `Err(reason)`
    /// returns the reason to the model as an error result. Without a callback such calls are
    /// refused.
    pub fn approve_tool<F>(mut self, f: F) -> Self
    where
        F: Fn(ToolApproval) -> BoxFuture<'static, std::result::Result<(), String>>
            + Send
            + Sync
            + 'static,
    {
        self.approve = Some(Arc::new(f));
        self
    }

    /// Build the agent.
    pub fn build(self) -> Result<Agent> {
        let mut names = std::collections::HashSet::new();
        for t in &self.tools {
            if !names.insert(t.name().to_string()) {
                return Err(Error::Usage(format!("two tools are named '{}'", t.name())));
            }
        }
        let provider = match self.provider_impl {
            Some(p) => p,
            None => {
                let name = self
                    .provider
                    .unwrap_or_else(|| DEFAULT_PROVIDER.to_string());
                let kind = self.kind.unwrap_or_else(|| name.clone());
                let endpoint = match self.endpoint {
                    Some(endpoint) => endpoint,
                    None => {
                        let (url_var, default_url, key_var) = provider::kind_defaults(&kind)
                            .ok_or_else(|| {
                                Error::Usage(format!(
                                    "unknown provider '{kind}' (known: {})",
                                    provider::KINDS.join(", ")
                                ))
                            })?;
                        // A kind's variables belong to the built-in provider of that name: a
                        // provider with a name of its own (a proxy speaking OpenAI's protocol)
                        // never gets OPENAI_API_KEY or OPENAI_BASE_URL.
                        let env = |k: &str| {
                            (name == kind)
                                .then(|| std::env::var(k).ok().filter(|v| !v.is_empty()))
                                .flatten()
                        };
                        Endpoint {
                            base_url: self
                                .base_url
                                .or_else(|| env(url_var))
                                .unwrap_or_else(|| default_url.to_string()),
                            api_key: self
                                .api_key
                                .or_else(|| key_var.and_then(env).map(ApiKey::new)),
                            headers: self.headers,
                            timeout: self.timeout.unwrap_or(Duration::from_secs(600)),
                            retries: self.retries.unwrap_or(2),
                        }
                    }
                };
                Arc::from(provider::by_kind(&kind, &name, endpoint)?)
            }
        };
        let recorded = |p: Arc<dyn Provider>| -> Arc<dyn Provider> {
            match &self.cassette {
                Some(c) => Arc::new(provider::Recorder::new(p, c.clone())),
                None => p,
            }
        };
        let provider = recorded(provider);
        let fallbacks = self
            .fallbacks
            .iter()
            .map(|(p, m)| (recorded(p.clone()), m.clone()))
            .collect();
        Ok(Agent {
            inner: Arc::new(Inner {
                provider,
                model: self.model.unwrap_or_else(|| DEFAULT_MODEL.to_string()),
                store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
                tools: self.tools,
                lock_timeout: self.lock_timeout.unwrap_or(Some(Duration::from_secs(300))),
                notice: self.notice,
                prices: self.prices,
                approve: self.approve,
                fallbacks,
            }),
        })
    }
}
