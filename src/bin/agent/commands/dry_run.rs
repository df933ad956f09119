//! `--dry-run`: print the exact request body a turn would send, built by the library's own turn
//! code, and stop before anything is sent, locked or saved.

use anyhow::Result;
use serde_json::Value;

use agent::document::{validate_id, SessionData};
use agent::store::load_data;
use agent::{Error, Session};

use super::{open, Ctx};
use crate::output::write_out;
use crate::settings::{Ask, Turn};

/// The stored session `id`, read without a lock and never written. With `create` (from
/// `session run --create`), a missing session is stood in for by an unsaved empty one.
pub(crate) fn stored(
    ctx: &Ctx,
    id: &str,
    ask: &Ask,
    create: Option<Option<String>>,
) -> agent::Result<Session> {
    validate_id(id)?;
    let store = ctx.store()?;
    let data = match load_data(&*store, id) {
        Ok(data) => data,
        Err(Error::SessionNotFound { .. }) if create.is_some() => {
            let mut data = SessionData::new(id);
            data.system = create.flatten();
            data
        }
        Err(e) => return Err(e),
    };
    // No store for the agent: nothing it does can reach the disk.
    let agent = open::agent(ctx, &ask.call, Some(&data), None, None)?;
    Ok(agent.resume(data))
}

/// Print the pretty JSON body of the next turn of `session` with `prompt` (`persist`: a stored
/// session's turn, which caches by default).
pub(crate) fn print(
    ctx: &Ctx,
    session: &Session,
    prompt: &str,
    turn: &Turn,
    schema: Option<&Value>,
    persist: bool,
) -> Result<()> {
    let mut options = turn.ask.run_options();
    super::thoughts::Thoughts::of(&turn.ask).apply(&mut options, session.data(), persist);
    let mut request = session.preview_request(prompt, &options, schema)?;
    // The preview's agent has no store: the history's attachments come from the real one.
    let unloaded = |m: &agent::Message| m.attachments.iter().any(|a| a.data().is_none());
    if request.messages.iter().any(unloaded) {
        agent::store::load_attachments(&*ctx.store()?, &mut request.messages)?;
    }
    // The key travels in a header, never in the body: the body is safe to print as it is.
    let body = session.agent().provider().request_body(&request);
    let mut bytes = serde_json::to_vec_pretty(&body)?;
    bytes.push(b'\n');
    write_out(&bytes)?;
    ctx.out.note(format!(
        "dry run: nothing sent to {} (model {}), nothing saved",
        session.agent().provider().name(),
        request.model
    ));
    Ok(())
}
