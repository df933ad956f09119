//! `agent run`, `agent session run`, `agent session retry`: the commands that call a model.

use anyhow::Result;

use agent::document::validate_id;
use agent::{store, Error};

use super::drive::{drive, Plan};
use super::{dry_run, ls, open, Ctx};
use crate::equip;
use crate::input;
use crate::settings::{Run, RunTarget, SessionRun, Turn};

fn plan(prompt: String, turn: &Turn, persist: bool) -> Plan {
    Plan {
        prompt,
        options: turn.ask.run_options(),
        json: None,
        format: turn.format,
        persist,
        usage: turn.ask.usage,
    }
}

/// `agent session run ID [PROMPT]...`
pub(crate) async fn session_run(ctx: &Ctx, args: SessionRun) -> Result<()> {
    validate_id(&args.id)?;
    let prompt = input::prompt(&args.prompt).await?;
    let tools = equip::resolve(&ctx.settings, &args.turn.ask.tools)?;
    if args.turn.dry_run {
        let session = dry_run::stored(ctx, &args.id, &args.turn.ask, args.create)?;
        let session = equip::equip(&ctx.settings, &ctx.out, session, tools)?;
        return dry_run::print(ctx, &session, &prompt, &args.turn, None);
    }
    // A session this command creates remembers its tools; an existing one uses them this turn
    // only (like --system, they are part of what a session was created as).
    let creates = args.create.is_some() && !store::exists(&ctx.store()?, &args.id).await?;
    let mut session = open::stored(ctx, &args.id, &args.turn.ask, args.create).await?;
    if creates && !tools.flags.is_empty() {
        let flags = tools.flags.clone();
        session.edit(|d| d.tools = flags).await?;
    }
    let mut session = equip::equip(&ctx.settings, &ctx.out, session, tools)?;
    drive(ctx, &mut session, plan(prompt, &args.turn, true)).await?;
    Ok(())
}

/// `agent session retry ID`: re-send the prompt of the last failed turn.
pub(crate) async fn retry(ctx: &Ctx, id: &str, turn: Turn) -> Result<()> {
    let mut session = open::equipped(ctx, id, &turn.ask).await?;
    let Some(failed) = session.data().failed_turn.clone() else {
        return Err(Error::Usage(format!("session '{id}' has no failed turn to retry")).into());
    };
    if turn.dry_run {
        return dry_run::print(ctx, &session, &failed.prompt, &turn, None);
    }
    drive(ctx, &mut session, plan(failed.prompt, &turn, true)).await?;
    Ok(())
}

/// `agent run [PROMPT]...`: an in-memory session, `--session ID`, `-c` (the session used last),
/// or `--save` (a new stored session).
pub(crate) async fn run(ctx: &Ctx, args: Run) -> Result<()> {
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
    let prompt = input::prompt(&args.prompt).await?;
    let tools = equip::resolve(&ctx.settings, &args.turn.ask.tools)?;
    if args.target == RunTarget::Save && !args.turn.dry_run {
        return save(ctx, args, prompt, tools).await;
    }
    let session = open::ephemeral(ctx, &args.turn.ask.call, args.system).await?;
    let mut session = equip::equip(&ctx.settings, &ctx.out, session, tools)?;
    if args.turn.dry_run {
        return dry_run::print(ctx, &session, &prompt, &args.turn, None);
    }
    drive(ctx, &mut session, plan(prompt, &args.turn, false)).await?;
    Ok(())
}

/// `agent run --save`: the one-shot becomes a new stored session. Its id goes to stderr before
/// the turn, so a failed turn can still be retried. Like a session that `session run --create`
/// makes, it remembers its `--tool` files.
async fn save(ctx: &Ctx, args: Run, prompt: String, tools: equip::TurnTools) -> Result<()> {
    let id = agent::time::new_session_id();
    let mut session = open::stored(ctx, &id, &args.turn.ask, Some(args.system)).await?;
    if !tools.flags.is_empty() {
        let flags = tools.flags.clone();
        session.edit(|d| d.tools = flags).await?;
    }
    let mut session = equip::equip(&ctx.settings, &ctx.out, session, tools)?;
    ctx.out
        .report(format!("saved as session {}", session.session_id()));
    drive(ctx, &mut session, plan(prompt, &args.turn, true)).await?;
    Ok(())
}
