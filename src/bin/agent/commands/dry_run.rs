//! `--dry-run`: print the exact request body a turn would send, built by the library's own turn
//! code, and stop before anything is sent, locked or saved.

use anyhow::Result;
use serde_json::Value;

use agent::document::{validate_id, SessionData};
use agent::store::load_data;
use agent::{Error, Session};

use super::drive::run_options;
use crate::cli::{ModelArgs, TurnArgs};
use crate::output::write_out;
use crate::settings::Settings;

/// The stored session `id`, read without a lock and never written. With `create` (from
/// `session run --create`), a missing session is stood in for by an unsaved empty one.
pub(crate) fn stored(
    settings: &Settings,
    id: &str,
    model: &ModelArgs,
    create: Option<Option<String>>,
) -> Result<Session> {
    validate_id(id)?;
    let store = settings.store()?;
    let data = match load_data(&*store, id) {
        Ok(data) => data,
        Err(Error::SessionNotFound { .. }) if create.is_some() => {
            let mut data = SessionData::new(id);
            data.system = create.flatten();
            data
        }
        Err(e) => return Err(e.into()),
    };
    // No store for the agent: nothing it does can reach the disk.
    let agent = settings.agent(model, Some(&data), None, None)?;
    Ok(agent.resume(data))
}

/// Print the pretty JSON body of the next turn of `session` with `prompt`.
pub(crate) fn print(
    settings: &Settings,
    session: &Session,
    prompt: &str,
    turn: &TurnArgs,
    schema: Option<&Value>,
) -> Result<()> {
    let request =
        session.preview_request(prompt, &run_options(&turn.exchange, settings), schema)?;
    // The key travels in a header, never in the body: the body is safe to print as it is.
    let body = session.agent().provider().request_body(&request);
    let mut bytes = serde_json::to_vec_pretty(&body)?;
    bytes.push(b'\n');
    write_out(&bytes)?;
    if !settings.quiet {
        eprintln!(
            "agent: dry run: nothing sent to {} (model {}), nothing saved",
            session.agent().provider().name(),
            request.model
        );
    }
    Ok(())
}
