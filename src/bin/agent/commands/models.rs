//! `agent models [--provider P]`: the model ids a provider reports, one per line.

use anyhow::Result;

use super::{open, Ctx};
use crate::output::write_out;
use crate::settings::ModelCall;

pub(crate) async fn list(ctx: &Ctx, call: &ModelCall) -> Result<()> {
    let agent = open::agent(ctx, call, None, None, None)?;
    let ids = agent.provider().list_models().await?;
    let text: String = ids.iter().map(|id| format!("{id}\n")).collect();
    write_out(text.as_bytes())?;
    Ok(())
}
