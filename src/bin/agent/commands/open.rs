//! Agents and sessions for the commands: the resolved route of a model call made into an
//! [`Agent`], and stored, new or in-memory sessions opened with it.

use std::sync::Arc;
use std::time::Duration;

use agent::document::{validate_id, SessionData};
use agent::provider::{self, Endpoint};
use agent::{store, Agent, Error, Session, SessionOptions, SessionStore};

use super::Ctx;
use crate::equip;
use crate::settings::{Ask, ModelCall};

/// The agent for a model call with `call` on `session` (its stored provider and model count),
/// keeping sessions in `store` (`None`: memory, so nothing reaches the disk).
pub(crate) fn agent(
    ctx: &Ctx,
    call: &ModelCall,
    session: Option<&SessionData>,
    store: Option<Arc<dyn SessionStore>>,
    lock_timeout: Option<Duration>,
) -> agent::Result<Agent> {
    let route = ctx.settings.routes.resolve(&call.route, session)?;
    let (_, default_url, _) =
        provider::kind_defaults(&route.kind).expect("resolved kinds are known");
    let base_url = route
        .base_url
        .clone()
        .unwrap_or_else(|| default_url.to_string());
    let configured = ctx.settings.routes.api_of(&route.provider);
    let (kind, api) = super::api::choose(&route.kind, &base_url, call.api, configured)?;
    let mut builder = Agent::builder()
        .provider(&route.provider)
        .kind(kind)
        .model(&route.model)
        .lock_timeout(lock_timeout)
        .prices(ctx.settings.prices.clone())
        .endpoint(Endpoint {
            base_url: base_url.clone(),
            api_key: route.key.clone(),
            headers: route.headers.clone(),
            timeout: call.timeout,
            retries: call.retries,
        });
    if let Some(store) = store {
        builder = builder.store_arc(store);
    }
    if let Some(cassette) = &call.cassette {
        builder = builder.cassette(cassette.clone());
    }
    for (provider, model) in fallbacks(ctx, call, session, &route)? {
        builder = builder.fallback(provider, model);
    }
    let out = ctx.out.clone();
    builder = builder.on_notice(move |n| out.notice(n));
    let agent = builder.build()?;
    ctx.out.detail(format!(
        "provider {} ({}{}{api}), model {}, base URL {}{}",
        route.provider,
        route.kind,
        route.why,
        route.model,
        agent::store::redact(&base_url),
        match &route.key_var {
            Some(var) if route.key.is_some() => format!(", key from {var}"),
            Some(var) => format!(", no key ({var} is not set)"),
            None => String::new(),
        }
    ));
    Ok(agent)
}

/// The fallback models of a call (`--fallback`, else its model alias's `fallbacks:`), each
/// with its provider: `PROVIDER:MODEL`, or a model whose name implies its provider, else the
/// call's own provider.
fn fallbacks(
    ctx: &Ctx,
    call: &ModelCall,
    session: Option<&SessionData>,
    primary: &crate::settings::Route,
) -> agent::Result<Vec<(Arc<dyn agent::provider::Provider>, String)>> {
    let routes = &ctx.settings.routes;
    let names = match call.fallbacks.is_empty() {
        true => routes.alias_fallbacks(&call.route, session),
        false => call.fallbacks.clone(),
    };
    let mut out = Vec::new();
    for name in names {
        let (provider, model) = match name.split_once(':') {
            Some((p, m)) if routes.is_provider(p) => (Some(p.to_string()), m.to_string()),
            _ => (None, name.clone()),
        };
        let provider = provider.or_else(|| {
            provider::kind_for_model(&model)
                .is_none()
                .then(|| primary.provider.clone())
        });
        let same = provider.as_deref() == Some(primary.provider.as_str());
        let choice = crate::settings::ModelChoice {
            model: Some(model),
            provider,
            base_url: same.then(|| call.route.base_url.clone()).flatten(),
        };
        let route = routes.resolve(&choice, None)?;
        let (_, default_url, _) =
            provider::kind_defaults(&route.kind).expect("resolved kinds are known");
        let built = Agent::builder()
            .provider(&route.provider)
            .kind(&route.kind)
            .model(&route.model)
            .endpoint(Endpoint {
                base_url: route.base_url.unwrap_or_else(|| default_url.to_string()),
                api_key: route.key,
                headers: route.headers,
                timeout: call.timeout,
                retries: call.retries,
            })
            .build()?;
        out.push((built.provider().clone(), route.model));
    }
    Ok(out)
}

/// The stored session `id` with an agent resolved for it; with `create`, a missing session is
/// made (with its system prompt) instead of being an error.
pub(crate) async fn stored(
    ctx: &Ctx,
    id: &str,
    ask: &Ask,
    create: Option<Option<String>>,
) -> agent::Result<Session> {
    validate_id(id)?;
    let store = ctx.store()?;
    let existing = match store::load(&store, id).await {
        Ok(data) => Some(data),
        Err(Error::SessionNotFound { .. }) if create.is_some() => None,
        Err(e) => return Err(e),
    };
    let agent = agent(
        ctx,
        &ask.call,
        existing.as_ref(),
        Some(store),
        ask.lock_timeout,
    )?;
    match existing {
        Some(data) => Ok(agent.resume(data)),
        None => {
            let mut opts = SessionOptions::new().session_id(id);
            opts.system = create.flatten();
            match agent.session_with(opts).await {
                Ok(s) => Ok(s),
                // Another process created it between our look and our create: continue it.
                Err(Error::SessionExists { .. }) => agent.load_session(id).await,
                Err(e) => Err(e),
            }
        }
    }
}

/// The stored session `id` opened for a turn with `ask`, equipped with its tools (a bad tool
/// file is reported before the session is looked up).
pub(crate) async fn equipped(ctx: &Ctx, id: &str, ask: &Ask) -> agent::Result<Session> {
    let tools = equip::resolve(&ctx.settings, &ctx.out, &ask.tools)?;
    let session = stored(ctx, id, ask, None).await?;
    equip::equip(&ctx.settings, &ctx.out, session, tools).await
}

/// An in-memory session for one-shot calls: nothing reaches the disk.
pub(crate) async fn ephemeral(
    ctx: &Ctx,
    call: &ModelCall,
    system: Option<String>,
) -> agent::Result<Session> {
    let agent = agent(ctx, call, None, None, None)?;
    let mut opts = SessionOptions::new();
    opts.system = system;
    agent.session_with(opts).await
}

/// An agent over the store for commands that call no model (its provider is never asked).
pub(crate) fn offline(ctx: &Ctx, data: Option<&SessionData>) -> agent::Result<Agent> {
    let call = ModelCall::default();
    agent(
        ctx,
        &call,
        data,
        Some(ctx.store()?),
        ctx.settings.lock_timeout,
    )
}
