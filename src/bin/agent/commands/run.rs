//! `agent run`, `agent session run`, `agent session retry`: the commands that call a model.

use anyhow::Result;

use agent::document::validate_id;
use agent::store::load_data;
use agent::{Error, Session, SessionOptions};

use super::drive::{drive, run_options, Plan};
use super::{dry_run, ls, read_prompt};
use crate::cli::{ExchangeArgs, ModelArgs, RetryArgs, RunArgs, SessionRunArgs, TurnArgs};
use crate::equip::{self, TurnTools};
use crate::output::Output;
use crate::settings::Settings;

/// The stored session `id` opened with these flags' model and lock wait, and equipped with their
/// tools (a bad tool file is reported before the session is looked up).
pub(crate) fn open_equipped(settings: &Settings, id: &str, args: &ExchangeArgs) -> Result<Session> {
    let tools = equip::resolve(settings, &args.tools)?;
    let session = open_stored(settings, id, &args.model, args.lock_timeout, None)?;
    equip::equip(settings, session, tools)
}

/// The stored session `id` with an agent resolved for it; with `create`, a missing session is
/// made (with `system`) instead of being an error.
pub(crate) fn open_stored(
    settings: &Settings,
    id: &str,
    model: &ModelArgs,
    lock_timeout: Option<f64>,
    create: Option<Option<String>>,
) -> Result<Session> {
    validate_id(id)?;
    let store = settings.store()?;
    let existing = match load_data(&*store, id) {
        Ok(data) => Some(data),
        Err(Error::SessionNotFound { .. }) if create.is_some() => None,
        Err(e) => return Err(e.into()),
    };
    let lock_timeout = settings.lock_timeout(lock_timeout)?;
    let agent = settings.agent(model, existing.as_ref(), Some(store), lock_timeout)?;
    Ok(match existing {
        Some(data) => agent.resume(data),
        None => {
            let mut opts = SessionOptions::new().session_id(id);
            opts.system = create.flatten();
            match agent.session_with(opts) {
                Ok(s) => s,
                // Another process created it between our look and our create: continue it.
                Err(Error::SessionExists { .. }) => agent.load_session(id)?,
                Err(e) => return Err(e.into()),
            }
        }
    })
}

/// An in-memory session for one-shot calls: nothing reaches the disk.
pub(crate) fn ephemeral(
    settings: &Settings,
    model: &ModelArgs,
    system: Option<String>,
) -> Result<Session> {
    let agent = settings.agent(model, None, None, None)?;
    let mut opts = SessionOptions::new();
    opts.system = system;
    Ok(agent.session_with(opts)?)
}

fn plan(settings: &Settings, prompt: String, turn: &TurnArgs, persist: bool) -> Plan {
    Plan {
        prompt,
        options: run_options(&turn.exchange, settings),
        json: None,
        format: turn.format,
        persist,
        usage: turn.exchange.usage,
    }
}

/// `agent session run ID [PROMPT]...`
pub(crate) async fn session_run(
    settings: &Settings,
    out: &Output,
    args: SessionRunArgs,
) -> Result<()> {
    validate_id(&args.id)?;
    let prompt = read_prompt(&args.prompt)?;
    let tools = equip::resolve(settings, &args.turn.exchange.tools)?;
    // A session this command creates remembers its tools; an existing one uses them this turn
    // only (like --system, they are part of what a session was created as).
    let creates = args.create && settings.store()?.load(&args.id)?.is_none();
    let create = args.create.then_some(args.system.clone());
    if args.turn.dry_run {
        let session = dry_run::stored(settings, &args.id, &args.turn.exchange.model, create)?;
        let session = equip::equip(settings, session, tools)?;
        return dry_run::print(settings, &session, &prompt, &args.turn, None);
    }
    let mut session = open_stored(
        settings,
        &args.id,
        &args.turn.exchange.model,
        args.turn.exchange.lock_timeout,
        create,
    )?;
    if creates && !tools.flags.is_empty() {
        session.edit(|d| d.tools = tools.flags.clone())?;
    }
    let mut session = equip::equip(settings, session, tools)?;
    drive(&mut session, plan(settings, prompt, &args.turn, true), out).await?;
    Ok(())
}

/// `agent session retry ID`: re-send the prompt of the last failed turn.
pub(crate) async fn retry(settings: &Settings, out: &Output, args: RetryArgs) -> Result<()> {
    let mut session = open_equipped(settings, &args.id, &args.turn.exchange)?;
    let Some(failed) = session.data().failed_turn.clone() else {
        return Err(
            Error::Usage(format!("session '{}' has no failed turn to retry", args.id)).into(),
        );
    };
    if args.turn.dry_run {
        return dry_run::print(settings, &session, &failed.prompt, &args.turn, None);
    }
    drive(
        &mut session,
        plan(settings, failed.prompt, &args.turn, true),
        out,
    )
    .await?;
    Ok(())
}

/// `agent run [PROMPT]...`: an in-memory session, `--session ID`, `-c` (the session used last),
/// or `--save` (a new stored session).
pub(crate) async fn run(settings: &Settings, out: &Output, mut args: RunArgs) -> Result<()> {
    if args.continue_last {
        let id = ls::most_recent(&*settings.store()?)?.ok_or_else(|| {
            Error::Usage("no stored session to continue (-c): start one with --save".into())
        })?;
        args.session = Some(id);
    }
    if let Some(id) = args.session {
        if args.system.is_some() {
            return Err(Error::Usage(
                "--system cannot change a stored session's system prompt".into(),
            )
            .into());
        }
        let run_args = SessionRunArgs {
            id,
            prompt: args.prompt,
            create: false,
            system: None,
            turn: args.turn,
        };
        return session_run(settings, out, run_args).await;
    }
    let prompt = read_prompt(&args.prompt)?;
    let tools = equip::resolve(settings, &args.turn.exchange.tools)?;
    if args.save && !args.turn.dry_run {
        return save(settings, out, args, prompt, tools).await;
    }
    let session = ephemeral(settings, &args.turn.exchange.model, args.system)?;
    let mut session = equip::equip(settings, session, tools)?;
    if args.turn.dry_run {
        return dry_run::print(settings, &session, &prompt, &args.turn, None);
    }
    drive(&mut session, plan(settings, prompt, &args.turn, false), out).await?;
    Ok(())
}

/// `agent run --save`: the one-shot becomes a new stored session. Its id goes to stderr before
/// the turn, so a failed turn can still be retried.
/// Like a session that `session run --create` makes, it remembers its `--tool` files.
async fn save(
    settings: &Settings,
    out: &Output,
    args: RunArgs,
    prompt: String,
    tools: TurnTools,
) -> Result<()> {
    let id = agent::time::new_session_id();
    let mut session = open_stored(
        settings,
        &id,
        &args.turn.exchange.model,
        args.turn.exchange.lock_timeout,
        Some(args.system),
    )?;
    if !tools.flags.is_empty() {
        session.edit(|d| d.tools = tools.flags.clone())?;
    }
    let mut session = equip::equip(settings, session, tools)?;
    eprintln!("agent: saved as session {}", session.session_id());
    drive(&mut session, plan(settings, prompt, &args.turn, true), out).await?;
    Ok(())
}
