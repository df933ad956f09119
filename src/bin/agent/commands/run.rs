//! `agent run`, `agent session run`, `agent session retry`: the commands that call a model.

use anyhow::Result;

use agent::document::validate_id;
use agent::{store, Error};

use super::drive::{drive, Plan};
use super::thoughts::Thoughts;
use super::{dry_run, ls, naming, open, Ctx};
use crate::attach;
use crate::equip;
use crate::input;
use crate::settings::{Run, RunTarget, SessionRun, Turn};

fn plan(prompt: input::Prompt, turn: &Turn, persist: bool) -> Plan {
    let mut options = turn.ask.run_options();
    options.title = prompt.title;
    Plan {
        prompt: prompt.text,
        options,
        json: None,
        format: turn.format,
        persist,
        usage: turn.ask.usage,
        thoughts: Thoughts::of(&turn.ask),
    }
}

/// `agent session run ID [PROMPT]...`
pub(crate) async fn session_run(ctx: &Ctx, mut args: SessionRun) -> Result<()> {
    validate_id(&args.id)?;
    if args.create.is_some() {
        naming::refuse_last(&args.id)?;
    }
    let read_stdin = !ctx.settings.no_stdin;
    let prompt = attach::prompt(
        &args.prompt,
        read_stdin,
        &ctx.out,
        &mut args.turn.ask.attach,
    )
    .await?;
    let tools = equip::resolve(&ctx.settings, &ctx.out, &args.turn.ask.tools)?;
    if args.turn.dry_run {
        let session = dry_run::stored(ctx, &args.id, &args.turn.ask, args.create)?;
        let session = equip::equip(&ctx.settings, &ctx.out, session, tools).await?;
        return dry_run::print(ctx, &session, &prompt.text, &args.turn, None, true);
    }
    // A session this command creates remembers its tools; an existing one uses them this turn
    // only (like --system, they are part of what a session was created as).
    let creates = args.create.is_some() && !store::exists(&ctx.store()?, &args.id).await?;
    let mut session = open::stored(ctx, &args.id, &args.turn.ask, args.create).await?;
    if creates && tools.to_remember() {
        session.edit(tools.remember()).await?;
    }
    let mut session = equip::equip(&ctx.settings, &ctx.out, session, tools).await?;
    drive(ctx, &mut session, plan(prompt, &args.turn, true)).await?;
    Ok(())
}

/// `agent session retry ID`: re-send the prompt of the last failed turn. One older than the
/// session's last exchange would go after a newer history: that takes `--force`.
pub(crate) async fn retry(ctx: &Ctx, id: &str, mut turn: Turn, force: bool) -> Result<()> {
    // A failed turn kept its text only: files go again only when given again.
    attach::load(&mut turn.ask.attach).await?;
    let mut session = open::equipped(ctx, id, &turn.ask).await?;
    let Some(failed) = session.data().failed_turn.clone() else {
        return Err(Error::Usage(format!("session '{id}' has no failed turn to retry")).into());
    };
    let newer = session
        .data()
        .messages
        .last()
        .and_then(|m| m.created_at.as_deref())
        .is_some_and(|at| at > failed.at.as_str());
    if newer && !force {
        return Err(Error::Usage(format!(
            "the failed turn of session '{id}' ({}) is older than its last exchange: a retry would \
             send it after the newer history (use --force to send it anyway)",
            failed.at
        ))
        .into());
    }
    if turn.dry_run {
        return dry_run::print(ctx, &session, &failed.prompt, &turn, None, true);
    }
    let prompt = input::Prompt {
        text: failed.prompt,
        title: None,
    };
    drive(ctx, &mut session, plan(prompt, &turn, true)).await?;
    Ok(())
}

/// `agent run [PROMPT]...`: an in-memory session, `--session ID`, `-c` (the session used last),
/// or `--save` (a new stored session).
pub(crate) async fn run(ctx: &Ctx, mut args: Run) -> Result<()> {
    let id = match &args.target {
        RunTarget::Session(id) => Some(id.clone()),
        RunTarget::Last => Some(ls::most_recent(ctx)?.ok_or_else(|| {
            Error::Usage("no stored session to continue (-c): start one with --save".into())
        })?),
        RunTarget::Memory | RunTarget::Save => None,
    };
    if let Some(id) = id {
        if args.system.is_some() {
            return Err(Error::Usage(
                "--system cannot change a stored session's system prompt".into(),
            )
            .into());
        }
        let run = SessionRun {
            id,
            prompt: args.prompt,
            create: None,
            turn: args.turn,
        };
        return session_run(ctx, run).await;
    }
    let read_stdin = !ctx.settings.no_stdin;
    let prompt = attach::prompt(
        &args.prompt,
        read_stdin,
        &ctx.out,
        &mut args.turn.ask.attach,
    )
    .await?;
    let tools = equip::resolve(&ctx.settings, &ctx.out, &args.turn.ask.tools)?;
    if args.target == RunTarget::Save && !args.turn.dry_run {
        return save(ctx, args, prompt, tools).await;
    }
    let session = open::ephemeral(ctx, &args.turn.ask.call, args.system).await?;
    let mut session = equip::equip(&ctx.settings, &ctx.out, session, tools).await?;
    if args.turn.dry_run {
        let saved = args.target == RunTarget::Save;
        return dry_run::print(ctx, &session, &prompt.text, &args.turn, None, saved);
    }
    drive(ctx, &mut session, plan(prompt, &args.turn, false)).await?;
    Ok(())
}

/// `agent run --save`: the one-shot becomes a new stored session. Its id goes to stderr before
/// the turn, so a failed turn can still be retried. Like a session that `session run --create`
/// makes, it remembers its `--tool` files.
async fn save(ctx: &Ctx, args: Run, prompt: input::Prompt, tools: equip::TurnTools) -> Result<()> {
    let id = agent::time::new_session_id();
    let mut session = open::stored(ctx, &id, &args.turn.ask, Some(args.system)).await?;
    if tools.to_remember() {
        session.edit(tools.remember()).await?;
    }
    let mut session = equip::equip(&ctx.settings, &ctx.out, session, tools).await?;
    ctx.out
        .report(format!("saved as session {}", session.session_id()));
    drive(ctx, &mut session, plan(prompt, &args.turn, true)).await?;
    Ok(())
}
