//! `agent session new|fork|rename|rm|clear|add|import`: changing sessions without a model call.

use std::path::Path;

use anyhow::Result;
use serde_json::Value;

use agent::document::{validate_id, SessionData};
use agent::{store, Error, Message, Role, SessionOptions};

use super::{history, naming, open, Ctx};
use crate::equip;
use crate::input;
use crate::output::write_out;
use crate::settings::{ModelCall, New, Rm};

fn print_id(id: &str) -> Result<()> {
    write_out(format!("{id}\n").as_bytes())?;
    Ok(())
}

/// `session new`: create and print only the id, so `id=$(agent session new)` works.
pub(crate) async fn new(ctx: &Ctx, args: New) -> Result<()> {
    if let Some(id) = &args.id {
        validate_id(id)?;
        naming::refuse_last(id)?;
    }
    let system = match &args.system_file {
        Some(path) => Some(input::file_or_stdin(path).await?),
        None => args.system.clone(),
    };
    let messages = match &args.messages {
        Some(path) => parse_messages(
            &input::file_or_stdin(path).await?,
            &path.display().to_string(),
        )?,
        None => Vec::new(),
    };
    let tools = equip::load_files(&args.tools)?;
    let servers = crate::mcp_pool::from_flags(&ctx.settings, &args.tools.mcp)?;
    let call = ModelCall {
        route: args.route.clone(),
        ..ModelCall::default()
    };
    let agent = open::agent(
        ctx,
        &call,
        None,
        Some(ctx.store()?),
        ctx.settings.lock_timeout,
    )?;
    let mut opts = SessionOptions::new()
        .messages(messages)
        .overwrite(args.force);
    opts.session_id = args.id;
    opts.system = system;
    opts.title = args.title;
    opts.tools = tools;
    opts.mcp_servers = servers;
    opts.ttl = args.ttl;
    opts.budget_usd = args.budget;
    let mut session = agent.session_with(opts).await?;
    if let Some(reasoning) = args.reasoning {
        session
            .edit(|d| super::thoughts::remember(&mut d.options, reasoning))
            .await?;
    }
    print_id(session.session_id())
}

/// A JSON array of `{"role": "user"|"assistant", "content": "..."}`.
fn parse_messages(text: &str, origin: &str) -> agent::Result<Vec<Message>> {
    let items: Vec<Value> = serde_json::from_str(text)
        .map_err(|e| Error::Usage(format!("{origin}: expected a JSON array of messages: {e}")))?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let bad = |why: &str| Error::Usage(format!("{origin}: message {i}: {why}"));
        let role = item
            .get("role")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no \"role\""))?;
        let content = item
            .get("content")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("\"content\" must be a string"))?;
        let role: Role = role
            .parse()
            .map_err(|_| bad("role must be user or assistant"))?;
        if role == Role::Tool {
            return Err(bad("role must be user or assistant"));
        }
        out.push(Message::new(role, content));
    }
    Ok(out)
}

/// `session fork SRC [--id NEW] [--at N]`
pub(crate) async fn fork(ctx: &Ctx, src: &str, id: Option<&str>, at: Option<usize>) -> Result<()> {
    validate_id(src)?;
    if let Some(id) = id {
        validate_id(id)?;
        naming::refuse_last(id)?;
    }
    let agent = open::offline(ctx, None)?;
    let src = agent.load_session(src).await?;
    let fork = src.fork_at(id, at).await?;
    print_id(fork.session_id())
}

/// `session rename ID TITLE`
pub(crate) async fn rename(ctx: &Ctx, id: &str, title: &str) -> Result<()> {
    validate_id(id)?;
    let agent = open::offline(ctx, None)?;
    let title = title.trim().to_string();
    agent
        .edit_session(id, |d| d.title = (!title.is_empty()).then_some(title))
        .await?;
    Ok(())
}

/// `session rm ID...`: all ids are checked first, so a typo removes nothing.
pub(crate) async fn rm(ctx: &Ctx, args: Rm) -> Result<()> {
    let store = ctx.store()?;
    if let Some(age) = args.older_than {
        return history::rm_older_than(ctx, &store, age, args.dry_run).await;
    }
    for id in &args.ids {
        validate_id(id)?;
        if !args.force && !store::exists(&store, id).await? {
            return Err(Error::SessionNotFound { id: id.clone() }.into());
        }
    }
    for id in &args.ids {
        let _lock = store::acquire(&store, id, ctx.settings.lock_timeout, &mut || {}).await?;
        if store::delete(&store, id).await? {
            ctx.out.note(format!("removed session {id}"));
        }
    }
    super::garbage::collect(ctx, &store).await?;
    Ok(())
}

/// `session clear ID`
pub(crate) async fn clear(ctx: &Ctx, id: &str) -> Result<()> {
    let agent = open::offline(ctx, None)?;
    let mut dropped = 0;
    agent
        .edit_session(id, |d| {
            dropped = d.messages.len();
            d.messages.clear();
        })
        .await?;
    ctx.out.note(format!(
        "cleared session {id}: {dropped} messages dropped, its system prompt and settings kept"
    ));
    super::garbage::collect(ctx, agent.store()).await?;
    Ok(())
}

/// `session add ID --role R [TEXT]`
pub(crate) async fn add(ctx: &Ctx, id: &str, role: Role, text: Option<String>) -> Result<()> {
    validate_id(id)?;
    let text = match text {
        Some(t) => t,
        None => input::stdin().await?,
    };
    let agent = open::offline(ctx, None)?;
    agent
        .edit_session(id, |d| d.messages.push(Message::new(role, text)))
        .await?;
    Ok(())
}

/// `session import FILE|-`: validate, refuse to replace unless `--force`, print the id.
pub(crate) async fn import(ctx: &Ctx, file: &Path, force: bool) -> Result<()> {
    let text = input::document(file).await?;
    let origin = file.display().to_string();
    let mut value: Value = serde_json::from_str(&text).map_err(|e| Error::InvalidSession {
        location: origin.clone(),
        reason: format!("not valid JSON: {e}"),
    })?;
    let blobs = super::garbage::take_embedded(&mut value)?;
    let data = SessionData::from_value(value, &origin)?;
    naming::refuse_last(&data.id)?;
    let store = ctx.store()?;
    let _lock = store::acquire(&store, &data.id, ctx.settings.lock_timeout, &mut || {}).await?;
    if !force && store::exists(&store, &data.id).await? {
        return Err(Error::SessionExists { id: data.id }.into());
    }
    // The attachments first: the document never refers to bytes the store lacks, and no
    // garbage collection runs between the two saves.
    let _blobs = store::acquire_blobs(&store, ctx.settings.lock_timeout).await?;
    let (s, d) = (store.clone(), data.clone());
    tokio::task::spawn_blocking(move || super::garbage::save_restored(&*s, &blobs, &d))
        .await
        .map_err(|e| Error::Other(format!("a store call failed to finish: {e}")))??;
    let data = store::save(&store, data).await?;
    if !data.tools.is_empty() {
        // A document from elsewhere can declare commands that later turns will run.
        let commands: Vec<String> = data
            .tools
            .iter()
            .map(|t| format!("{} ({})", t.name, t.command.join(" ")))
            .collect();
        ctx.out.note(format!(
            "note: session '{}' declares tools that run local commands: {}",
            data.id,
            commands.join(", ")
        ));
    }
    if !data.mcp_servers.is_empty() {
        // Servers too: later turns start them (or send them the conversation's tool calls).
        let servers: Vec<String> = data
            .mcp_servers
            .iter()
            .map(|m| format!("{} ({})", m.name, m.describe()))
            .collect();
        ctx.out.note(format!(
            "note: session '{}' declares MCP servers that later turns start or contact: {}",
            data.id,
            servers.join(", ")
        ));
    }
    print_id(&data.id)
}
