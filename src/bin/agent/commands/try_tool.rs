//! `agent tool test FILE [ARGS]`: run a tool by hand exactly as a model's call would run it.

use std::io::IsTerminal;
use std::time::Instant;

use anyhow::Result;
use serde_json::Value;

use agent::tool::ExecSpec;
use agent::Error;

use super::Ctx;
use crate::calls::result_line;
use crate::equip;
use crate::input;
use crate::output::write_out;
use crate::settings::ToolTest;

/// Prints the result the model would get on stdout (an error result too) and the usual
/// per-call line on stderr; exits 1 when the result is an error. No confirmation is asked:
/// the person running it is the one who would be asked.
pub(crate) async fn test(ctx: &Ctx, args: ToolTest) -> Result<()> {
    let spec = ExecSpec::from_file(&args.file)?;
    let raw = match args.arguments.as_deref() {
        Some("-") => input::stdin().await?,
        Some(text) => text.to_string(),
        None if !std::io::stdin().is_terminal() => input::stdin().await?,
        None => String::new(),
    };
    let arguments: Value = if raw.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_str(&raw)
            .map_err(|e| Error::Usage(format!("the arguments are not JSON: {e}")))?
    };
    agent::document::validate_id(&args.session_id)?;
    let tool = equip::executable(&ctx.settings, spec)?;
    let start = Instant::now();
    let result = tool.invoke(arguments.clone(), &args.session_id).await;
    let ms = start.elapsed().as_millis() as u64;
    let (ok, content) = match result {
        Ok(text) => (true, text),
        Err(text) => (false, text),
    };
    ctx.out.plain(result_line(
        tool.name(),
        &arguments.to_string(),
        ok,
        &content,
        ms,
    ));
    let mut text = content.into_bytes();
    if !text.is_empty() && !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    write_out(&text)?;
    if ok {
        Ok(())
    } else {
        Err(Error::Other(format!("tool '{}' returned an error result", tool.name())).into())
    }
}
