//! `agent models [--provider P]`: the model ids a provider reports, one per line.

use anyhow::Result;

use crate::cli::{ModelArgs, ModelsArgs};
use crate::output::write_out;
use crate::settings::Settings;

pub(crate) async fn list(settings: &Settings, args: ModelsArgs) -> Result<()> {
    let model_args = ModelArgs {
        model: None,
        provider: args.provider,
        base_url: args.base_url,
        temperature: None,
        max_tokens: None,
        retries: None,
        timeout: None,
    };
    let agent = settings.agent(&model_args, None, None, None)?;
    let ids = agent.provider().list_models().await?;
    let text: String = ids.iter().map(|id| format!("{id}\n")).collect();
    write_out(text.as_bytes())?;
    Ok(())
}
