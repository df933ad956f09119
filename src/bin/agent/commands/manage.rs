//! `agent session new|fork|show|ls|rm|clear|add|export|import`: sessions without a model call.

use std::io::Write;

use anyhow::Result;
use serde_json::Value;

use agent::document::{validate_id, SessionData};
use agent::store::{self, load_data, save_data};
use agent::{Error, Message, Role, SessionOptions};

use super::ls;
use super::{read_input, read_stdin};
use crate::cli::ModelArgs;
use crate::cli::{AddArgs, ForkArgs, ImportArgs, LsArgs, NewArgs, RmArgs, ShowArgs, ShowFormat};
use crate::output::{write_out, Output};
use crate::settings::Settings;
use crate::transcript::{self, Look};

fn print_id(id: &str) -> Result<()> {
    write_out(format!("{id}\n").as_bytes())?;
    Ok(())
}

/// An agent over the data dir for commands that call no model.
fn offline_agent(
    settings: &Settings,
    provider: Option<String>,
    model: Option<String>,
) -> Result<agent::Agent> {
    let args = ModelArgs {
        model,
        provider,
        base_url: None,
        temperature: None,
        max_tokens: None,
        retries: None,
        timeout: None,
    };
    let lock_timeout = settings.lock_timeout(None)?;
    settings.agent(&args, None, Some(settings.store()?), lock_timeout)
}

/// `session new`: create and print only the id, so `id=$(agent session new)` works.
pub(crate) fn new(settings: &Settings, args: NewArgs) -> Result<()> {
    if let Some(id) = &args.id {
        validate_id(id)?;
    }
    let system = match &args.system_file {
        Some(path) => Some(read_input(path)?),
        None => args.system.clone(),
    };
    let messages = match &args.messages {
        Some(path) => parse_messages(&read_input(path)?, &path.display().to_string())?,
        None => Vec::new(),
    };
    let tools = crate::equip::load_files(&args.tools)?;
    let agent = offline_agent(settings, args.provider, args.model)?;
    let mut opts = SessionOptions::new()
        .messages(messages)
        .overwrite(args.force);
    opts.session_id = args.id;
    opts.system = system;
    opts.title = args.title;
    opts.tools = tools;
    let session = agent.session_with(opts)?;
    print_id(session.session_id())
}

/// A JSON array of `{"role": "user"|"assistant", "content": "..."}`.
fn parse_messages(text: &str, origin: &str) -> Result<Vec<Message>> {
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
            return Err(bad("role must be user or assistant").into());
        }
        out.push(Message::new(role, content));
    }
    Ok(out)
}

/// `session fork SRC [--id NEW] [--at N]`
pub(crate) fn fork(settings: &Settings, args: ForkArgs) -> Result<()> {
    validate_id(&args.src)?;
    if let Some(id) = &args.id {
        validate_id(id)?;
    }
    let agent = offline_agent(settings, None, None)?;
    let src = agent.load_session(&args.src)?;
    let fork = src.fork_at(args.id.as_deref(), args.at)?;
    print_id(fork.session_id())
}

/// `session show ID [--json] [--last N] [--format text|markdown|json]`
pub(crate) fn show(settings: &Settings, out: &Output, args: ShowArgs) -> Result<()> {
    if args.json || args.format == ShowFormat::Json {
        return export(settings, &args.id);
    }
    let data = load_data(&*settings.store()?, &args.id)?;
    let mut text = String::new();
    if args.all {
        text.push_str(&super::history::compacted(&data));
    }
    text.push_str(&match args.format {
        ShowFormat::Markdown => transcript::markdown(&data, args.last),
        _ => transcript::text(
            &data,
            args.last,
            Look {
                color: out.color,
                fold: out.stdout_tty,
            },
        ),
    });
    write_out(text.as_bytes())?;
    Ok(())
}

/// `session ls`: most recently used first; a table on a terminal, `--json` or `--ids` for scripts.
pub(crate) fn ls(settings: &Settings, out: &Output, args: LsArgs) -> Result<()> {
    let store = settings.store()?;
    let (sessions, invalid) = ls::select(&*store, &args)?;
    let mut text = Vec::new();
    if args.usage {
        text = super::history::ls_usage(&*store, &sessions, args.json)?;
    } else if args.json {
        serde_json::to_writer(&mut text, &sessions)?;
        text.push(b'\n');
    } else if args.ids {
        for s in &sessions {
            writeln!(text, "{}", s.id)?;
        }
    } else if out.stdout_tty {
        text.extend(transcript::table(&sessions, out.color).into_bytes());
    } else {
        let width = sessions
            .iter()
            .map(|s| s.id.len())
            .max()
            .unwrap_or(2)
            .max(2);
        for s in &sessions {
            let model = match (&s.provider, &s.model) {
                (Some(p), Some(m)) => format!("{p}/{m}"),
                (None, Some(m)) => m.clone(),
                _ => "-".to_string(),
            };
            writeln!(
                text,
                "{:width$}  {}  {:>5}  {}  {}",
                s.id,
                s.updated_at,
                s.message_count,
                model,
                s.title.as_deref().unwrap_or(""),
            )?;
        }
    }
    write_out(&text)?;
    match invalid {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// `session rename ID TITLE`
pub(crate) fn rename(settings: &Settings, id: &str, title: &str) -> Result<()> {
    validate_id(id)?;
    let agent = offline_agent(settings, None, None)?;
    let title = title.trim().to_string();
    agent
        .load_session(id)?
        .edit(|d| d.title = (!title.is_empty()).then_some(title))?;
    Ok(())
}

/// `session rm ID...`: all ids are checked first, so a typo removes nothing.
pub(crate) fn rm(settings: &Settings, args: RmArgs) -> Result<()> {
    let store = settings.store()?;
    if let Some(age) = args.older_than {
        return super::history::rm_older_than(settings, &*store, age);
    }
    for id in &args.ids {
        validate_id(id)?;
        if !args.force && store.load(id)?.is_none() {
            return Err(Error::SessionNotFound { id: id.clone() }.into());
        }
    }
    for id in &args.ids {
        let _lock = store::lock(&*store, id, settings.lock_timeout(None)?, &mut || {})?;
        store.delete(id)?;
    }
    Ok(())
}

/// `session clear ID`
pub(crate) fn clear(settings: &Settings, id: &str) -> Result<()> {
    let agent = offline_agent(settings, None, None)?;
    agent.load_session(id)?.clear()?;
    Ok(())
}

/// `session add ID --role R [TEXT]`
pub(crate) fn add(settings: &Settings, args: AddArgs) -> Result<()> {
    validate_id(&args.id)?;
    let role: Role = args.role.parse()?;
    let text = match args.text {
        Some(t) => t,
        None => read_stdin()?,
    };
    let agent = offline_agent(settings, None, None)?;
    agent
        .load_session(&args.id)?
        .add_message(Message::new(role, text))?;
    Ok(())
}

/// `session export ID`: the stored document, as stored.
pub(crate) fn export(settings: &Settings, id: &str) -> Result<()> {
    let data = load_data(&*settings.store()?, id)?;
    let mut bytes = serde_json::to_vec_pretty(&data)?;
    bytes.push(b'\n');
    write_out(&bytes)?;
    Ok(())
}

/// `session import FILE|-`: validate, refuse to replace unless `--force`, print the id.
pub(crate) fn import(settings: &Settings, args: ImportArgs) -> Result<()> {
    let text = read_input(&args.file)?;
    let origin = args.file.display().to_string();
    let value: Value = serde_json::from_str(&text).map_err(|e| Error::InvalidSession {
        location: origin.clone(),
        reason: format!("not valid JSON: {e}"),
    })?;
    let data = SessionData::from_value(value, &origin)?;
    let store = settings.store()?;
    let _lock = store::lock(&*store, &data.id, settings.lock_timeout(None)?, &mut || {})?;
    if !args.force && store.load(&data.id)?.is_some() {
        return Err(Error::Usage(format!(
            "session '{}' already exists (use --force to replace it)",
            data.id
        ))
        .into());
    }
    save_data(&*store, &data)?;
    if !data.tools.is_empty() && !settings.quiet {
        // A document from elsewhere can declare commands that later turns will run.
        let commands: Vec<String> = data
            .tools
            .iter()
            .map(|t| format!("{} ({})", t.name, t.command.join(" ")))
            .collect();
        eprintln!(
            "agent: note: session '{}' declares tools that run local commands: {}",
            data.id,
            commands.join(", ")
        );
    }
    print_id(&data.id)
}
