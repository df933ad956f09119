//! `agent run`, `agent session run`, `agent session retry`: the commands that call a model.

use anyhow::Result;

use agent::session::{validate_id, SessionData};
use agent::store::load_data;
use agent::{Error, SessionOptions};

use super::read_prompt;
use super::turn::{drive, run_options};
use crate::cli::{RetryArgs, RunArgs, SessionRunArgs};
use crate::output::Output;
use crate::settings::Settings;

/// `agent session run ID [PROMPT]...`
pub(crate) async fn session_run(settings: &Settings, out: &Output, args: SessionRunArgs) -> Result<()> {
    validate_id(&args.id)?;
    let prompt = read_prompt(&args.prompt)?;
    let store = settings.store()?;
    let existing = match load_data(&*store, &args.id) {
        Ok(data) => Some(data),
        Err(Error::SessionNotFound { .. }) if args.create => None,
        Err(e) => return Err(e.into()),
    };
    let lock_timeout = settings.lock_timeout(args.turn.lock_timeout)?;
    let (agent, _) = settings.agent(&args.turn.model, existing.as_ref(), Some(store), lock_timeout)?;
    let mut session = match existing {
        Some(data) => agent.resume(data),
        None => {
            let mut opts = SessionOptions::new().session_id(&args.id);
            opts.system = args.system.clone();
            match agent.session_with(opts) {
                Ok(s) => s,
                // Another process created it between our look and our create: continue it.
                Err(Error::Usage(_)) => agent.load_session(&args.id)?,
                Err(e) => return Err(e.into()),
            }
        }
    };
    drive(&mut session, prompt, run_options(&args.turn), args.turn.format, out, true).await
}

/// `agent session retry ID`: re-send the prompt of the last failed turn.
pub(crate) async fn retry(settings: &Settings, out: &Output, args: RetryArgs) -> Result<()> {
    let store = settings.store()?;
    let data: SessionData = load_data(&*store, &args.id)?;
    let Some(failed) = data.failed_turn.clone() else {
        return Err(Error::Usage(format!("session '{}' has no failed turn to retry", args.id)).into());
    };
    let lock_timeout = settings.lock_timeout(args.turn.lock_timeout)?;
    let (agent, _) = settings.agent(&args.turn.model, Some(&data), Some(store), lock_timeout)?;
    let mut session = agent.resume(data);
    drive(&mut session, failed.prompt, run_options(&args.turn), args.turn.format, out, true).await
}

/// `agent run [PROMPT]...`: an in-memory session, or `--session ID`.
pub(crate) async fn run(settings: &Settings, out: &Output, args: RunArgs) -> Result<()> {
    if let Some(id) = args.session {
        if args.system.is_some() {
            return Err(Error::Usage("--system cannot change a stored session's system prompt".into()).into());
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
    let (agent, _) = settings.agent(&args.turn.model, None, None, None)?;
    let mut opts = SessionOptions::new();
    opts.system = args.system;
    let mut session = agent.session_with(opts)?;
    drive(&mut session, prompt, run_options(&args.turn), args.turn.format, out, false).await
}
